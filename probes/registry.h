/* registry.h -- every check preflight knows, and the runner that orders them.
 *
 * How to add a check (the way git's builtin.h explains adding a command):
 *
 *   1. Write the probe in its area folder, probes/<area>/<thing>.c/.h:
 *      collectors that gather facts, a pure decider from a facts struct to a
 *      verdict (table-tested in tests/), and the probe function gluing them:
 *          void pf_probe_<area>_<thing>(pf_probe_ctx *ctx)
 *          {
 *              pf_check *c = pf_probe_check_add(ctx, pf_probe_<area>_<thing>);
 *              ... collect (environment only through ctx->env) ...
 *              pf_check_set(c, verdict, "...");
 *          }
 *      The check id is NOT written in the probe: pf_probe_check_add takes it
 *      from the registry row.  Facts other checks may read go into
 *      pf_node_facts(ctx->node) under a key documented in
 *      docs/run-record.schema.json and docs/RUN-RECORD.md.
 *   2. Add one row to the table in probes/registry.c:
 *          {.id = "area.thing", .what = "one line for --list",
 *           .fn = pf_probe_area_thing,
 *           .needs = {"env.fingerprint"}},   // the checks whose facts it reads
 *      Pair and cluster checks (cluster/) set .scope = PF_SCOPE_PAIR /
 *      PF_SCOPE_CLUSTER and .pair / .cluster instead of fn.
 *   3. Document it: the README's table and docs/<area>.md.
 *   4. Tests in tests/<area>/ with a fragment tests/<area>/<area>.cmake.
 *   Nothing else: `check --list`, --only, the record and every renderer pick
 *   the row up; test_registry checks the table (ids unique and dotted, every
 *   need exists and has a scope that can feed this one, no cycle).
 *
 * Order: the runner orders checks by their needs (a stable topological sort,
 * so among independent checks the table order is kept and the output of
 * `check` does not depend on how needs are written).  Never rely on table
 * order for facts: declare the need.
 *
 * --only and needs: when --only selects a check but not one it needs, the
 * runner runs the needed check first as a PREREQUISITE: its facts land in the
 * node facts as usual, but its verdicts are dropped from the record (the
 * user did not ask for them), and the facts key "prerequisites" lists what
 * ran that way.  We prefer this to skipping the dependent check, because a
 * user who asks for `--only net.` wants the net verdicts, and they are only
 * right with the facts they depend on.
 */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include <stddef.h>

#include "probes/context.h"

/* The whole table (every scope), in table order. */
const pf_probe_def *pf_probe_registry(size_t *count);
/* The row with this id, or NULL. */
const pf_probe_def *pf_probe_find(const char *id);
/* The row whose node probe function is fn, or NULL. */
const pf_probe_def *pf_probe_find_fn(pf_probe_fn fn);

/* Does id match --only's comma-separated prefixes ("gpu.,net.gloo")?
 * NULL only matches everything. */
bool pf_probe_selected(const char *id, const char *only);

/* The plan for one scope: the rows to run, in dependency order, each marked
 * as reported (selected by --only) or a prerequisite.  Checks a table
 * (defs/n) so tests can plan over a table of their own; the real table is
 * pf_probe_registry().  -1 with err naming the check on an unknown need or a
 * cycle; 0 rows selected is not an error (the caller says "no check
 * matches"). */
typedef struct pf_probe_plan {
    const pf_probe_def **defs;
    bool *reported;
    size_t n;
} pf_probe_plan;
int pf_probe_plan_make(const pf_probe_def *defs, size_t n, pf_scope scope, const char *only,
                       pf_probe_plan *plan, pf_err *err);
void pf_probe_plan_free(pf_probe_plan *plan);
/* Whether any row of the plan is reported. */
size_t pf_probe_plan_reported(const pf_probe_plan *plan);

/* Run a node plan on ctx->node: each probe timed (its checks get the wall
 * time as duration unless they set one), prerequisites' checks dropped and
 * listed in the node facts under "prerequisites". */
void pf_probe_run_node(pf_probe_ctx *ctx, const pf_probe_plan *plan);
/* Run a pair/cluster plan over a merged run: cluster checks once, pair
 * checks for every ordered pair of distinct nodes.  base gives opts, the
 * deadline and coord; def is filled per row. */
void pf_probe_run_cluster(pf_run *merged, const pf_cluster_ctx *base, const pf_probe_plan *plan);

/* Check a table: ids unique and dotted, every need exists, a node check
 * needs only node checks, no cycles.  -1 with err on the first problem. */
int pf_probe_registry_validate(const pf_probe_def *defs, size_t n, pf_err *err);

#endif

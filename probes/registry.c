/* registry.c -- the table of checks and the runner (see registry.h).
 *
 * The table order is the order of `--list` and, among checks that do not
 * depend on each other, the order they run and appear in the record: cheap,
 * foundational facts first (the driver).  Dependencies are declared with
 * .needs; the runner never relies on the order for facts.
 */
#include "probes/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sig.h"
#include "probes/gpu/gpu_driver.h"
#include "probes/kernels/kernels.h"
#include "probes/toolchain/ptxas.h"
#include "probes/mem/mem_headroom.h"
#include "probes/env/fingerprint.h"
#include "probes/net/net_checks.h"

static const pf_probe_def probes[] = {
    {.id = "gpu.driver", .what = "CUDA driver loads; GPUs, compute capability, unified memory", .fn = pf_probe_gpu_driver},
    {.id = "gpu.kernels", .what = "CUDA kernels of the serving stack run on the GPU (SASS / PTX JIT / none)", .fn = pf_probe_gpu_kernels},
    {.id = "toolchain.ptxas", .what = "the ptxas Triton (or nvcc) will run assembles code for the GPU", .fn = pf_probe_toolchain_ptxas},
    {.id = "mem.headroom", .what = "GPU free memory vs the --mem-fraction-static pool, model share per node, page cache, other GPU processes", .fn = pf_probe_mem_headroom},
    {.id = "env.fingerprint", .what = "kernel, driver, the libnccl the server loads, package versions, NCCL/Gloo/Ray env, nccl.conf, hostHash inputs", .fn = pf_probe_env_fingerprint},
    {.id = "net.interfaces", .what = "network interfaces, addresses, kinds, RDMA devices", .fn = pf_probe_net_interfaces},
    /* The interface rules depend on the NCCL version: the libnccl that
     * env.fingerprint located (facts.fingerprint.libnccl). */
    {.id = "net.nccl_ifname", .what = "which interfaces NCCL bootstrap and NET/Socket will use", .fn = pf_probe_net_nccl_ifname,
     .needs = {"env.fingerprint"}},
    {.id = "net.gloo", .what = "the address Gloo will advertise (GLOO_SOCKET_IFNAME / hostname, 127.0.1.1 trap)", .fn = pf_probe_net_gloo},
    {.id = "net.transport", .what = "NCCL network transport: Socket, IB or an external plugin", .fn = pf_probe_net_transport,
     .needs = {"env.fingerprint"}},
};

const pf_probe_def *pf_probe_registry(size_t *count)
{
    *count = sizeof probes / sizeof probes[0];
    return probes;
}

static const pf_probe_def *find_in(const pf_probe_def *defs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].id, id) == 0)
            return &defs[i];
    return NULL;
}

const pf_probe_def *pf_probe_find(const char *id)
{
    return find_in(probes, sizeof probes / sizeof probes[0], id);
}

const pf_probe_def *pf_probe_find_fn(pf_probe_fn fn)
{
    for (size_t i = 0; fn && i < sizeof probes / sizeof probes[0]; i++)
        if (probes[i].fn == fn)
            return &probes[i];
    return NULL;
}

const char *pf_scope_name(pf_scope s)
{
    switch (s) {
    case PF_SCOPE_NODE: return "node";
    case PF_SCOPE_PAIR: return "pair";
    case PF_SCOPE_CLUSTER: return "cluster";
    }
    return "unknown";
}

pf_check *pf_probe_check_add(pf_probe_ctx *ctx, pf_probe_fn self)
{
    const pf_probe_def *d = pf_probe_find_fn(self);
    if (!d) {
        /* Only a programmer can get here (a probe that is not in the table);
         * say so loudly rather than write a check without an id. */
        fprintf(stderr, "preflight: internal error: a probe function is not in probes/registry.c\n");
        abort();
    }
    return pf_check_add(ctx->run, ctx->node, d->id);
}

pf_check *pf_cluster_check_add(pf_run *merged, const pf_cluster_ctx *ctx, pf_node *node, pf_node *peer)
{
    pf_check *c = pf_check_add(merged, node, ctx->def->id);
    if (peer)
        pf_check_set_peer(c, peer);
    return c;
}

bool pf_probe_selected(const char *id, const char *only)
{
    if (!only)
        return true;
    char *copy = pf_xstrdup(only), *save = NULL;
    bool hit = false;
    for (char *p = strtok_r(copy, ",", &save); p && !hit; p = strtok_r(NULL, ",", &save))
        hit = *p && pf_str_startswith(id, p);
    free(copy);
    return hit;
}

/* ---- validation ---- */

static bool id_valid(const char *id)
{
    /* lower-case dotted: area.thing (same rule as the record schema) */
    if (!id || !(*id >= 'a' && *id <= 'z'))
        return false;
    bool dot = false, empty = false;
    for (const char *p = id + 1; *p; p++) {
        if (*p == '.') {
            if (empty)
                return false;
            dot = empty = true;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
            empty = false;
        } else {
            return false;
        }
    }
    return dot && !empty;
}

/* Depth-first search for a cycle through defs[i]; state 0 new, 1 on the
 * stack, 2 done. */
static int cycle_from(const pf_probe_def *defs, size_t n, size_t i, unsigned char *state, pf_err *err)
{
    state[i] = 1;
    for (size_t k = 0; defs[i].needs[k] && k < PF_PROBE_MAX_NEEDS; k++) {
        const pf_probe_def *d = find_in(defs, n, defs[i].needs[k]);
        size_t j = (size_t)(d - defs);
        if (state[j] == 1)
            return pf_err_set(err, "check %s: its needs form a cycle through %s", defs[i].id, d->id);
        if (state[j] == 0 && cycle_from(defs, n, j, state, err) != 0)
            return -1;
    }
    state[i] = 2;
    return 0;
}

int pf_probe_registry_validate(const pf_probe_def *defs, size_t n, pf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const pf_probe_def *d = &defs[i];
        if (!id_valid(d->id))
            return pf_err_set(err, "check id '%s' is not a dotted lower-case id (area.thing)", d->id ? d->id : "");
        if (find_in(defs, i, d->id))
            return pf_err_set(err, "check id %s is registered twice", d->id);
        bool has_fn = d->scope == PF_SCOPE_NODE ? d->fn != NULL
                      : d->scope == PF_SCOPE_PAIR ? d->pair != NULL : d->cluster != NULL;
        if (!has_fn)
            return pf_err_set(err, "check %s (scope %s) has no function for its scope", d->id,
                              pf_scope_name(d->scope));
        if (!d->what || !*d->what)
            return pf_err_set(err, "check %s has no description for --list", d->id);
        for (size_t k = 0; k < PF_PROBE_MAX_NEEDS && d->needs[k]; k++) {
            const pf_probe_def *need = find_in(defs, n, d->needs[k]);
            if (!need)
                return pf_err_set(err, "check %s needs '%s', which is not registered", d->id, d->needs[k]);
            if (need == d)
                return pf_err_set(err, "check %s needs itself", d->id);
            /* A node check runs on a node, before any merge: it can only read
             * what node checks found there. */
            if (d->scope == PF_SCOPE_NODE && need->scope != PF_SCOPE_NODE)
                return pf_err_set(err, "node check %s needs %s, a %s check that only runs on the coordinator",
                                  d->id, need->id, pf_scope_name(need->scope));
        }
    }
    unsigned char *state = pf_xcalloc(n ? n : 1, 1);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (state[i] == 0)
            rc = cycle_from(defs, n, i, state, err);
    free(state);
    return rc;
}

/* ---- planning ---- */

/* Which rows a plan for `scope` covers: a node plan the node rows; a
 * cluster plan everything the coordinator runs (pair and cluster rows); a
 * pair plan the pair rows. */
static bool in_plan(const pf_probe_def *d, pf_scope scope)
{
    if (scope == PF_SCOPE_CLUSTER)
        return d->scope != PF_SCOPE_NODE;
    return d->scope == scope;
}

int pf_probe_plan_make(const pf_probe_def *defs, size_t n, pf_scope scope, const char *only,
                       pf_probe_plan *plan, pf_err *err)
{
    memset(plan, 0, sizeof *plan);
    if (pf_probe_registry_validate(defs, n, err) != 0)
        return -1;
    /* wanted[i]: 0 not run, 1 prerequisite, 2 reported.  Rows of this scope
     * that --only selects are reported; their needs of the same scope, and
     * the needs' needs, are prerequisites unless selected too.  Needs
     * outside the plan (a cluster check's node needs) are already in the
     * merged record, so they are not run here. */
    unsigned char *wanted = pf_xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++)
        if (in_plan(&defs[i], scope) && pf_probe_selected(defs[i].id, only))
            wanted[i] = 2;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (!wanted[i])
                continue;
            for (size_t k = 0; k < PF_PROBE_MAX_NEEDS && defs[i].needs[k]; k++) {
                size_t j = (size_t)(find_in(defs, n, defs[i].needs[k]) - defs);
                if (in_plan(&defs[j], scope) && !wanted[j]) {
                    wanted[j] = 1;
                    grew = true;
                }
            }
        }
    }
    /* Kahn's algorithm, always taking the first ready row in table order:
     * a stable topological sort. */
    plan->defs = pf_xcalloc(n ? n : 1, sizeof *plan->defs);
    plan->reported = pf_xcalloc(n ? n : 1, sizeof *plan->reported);
    unsigned char *done = pf_xcalloc(n ? n : 1, 1);
    for (;;) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (!wanted[i] || done[i])
                continue;
            bool ready = true;
            for (size_t k = 0; k < PF_PROBE_MAX_NEEDS && defs[i].needs[k] && ready; k++) {
                size_t j = (size_t)(find_in(defs, n, defs[i].needs[k]) - defs);
                ready = !wanted[j] || done[j];
            }
            if (ready)
                pick = i;
        }
        if (pick == n)
            break; /* validate() excluded cycles, so everything wanted is done */
        done[pick] = 1;
        plan->defs[plan->n] = &defs[pick];
        plan->reported[plan->n] = wanted[pick] == 2;
        plan->n++;
    }
    free(done);
    free(wanted);
    return 0;
}

void pf_probe_plan_free(pf_probe_plan *plan)
{
    free(plan->defs);
    free(plan->reported);
    memset(plan, 0, sizeof *plan);
}

size_t pf_probe_plan_reported(const pf_probe_plan *plan)
{
    size_t k = 0;
    for (size_t i = 0; i < plan->n; i++)
        k += plan->reported[i];
    return k;
}

/* ---- running ---- */

static void stamp_durations(pf_run *run, size_t before, double dt)
{
    for (size_t k = before; k < pf_run_check_count(run); k++) {
        pf_check *c = pf_run_check(run, k);
        if (pf_check_duration(c) < 0)
            pf_check_set_duration(c, dt);
    }
}

void pf_probe_run_node(pf_probe_ctx *ctx, const pf_probe_plan *plan)
{
    json_t *prereq = NULL;
    /* which environment the checks judged (process, an env file, ...) */
    json_object_set_new(pf_node_facts(ctx->node), "env_source",
                        json_string(ctx->env ? pf_env_source(ctx->env) : "process"));
    for (size_t i = 0; i < plan->n; i++) {
        const pf_probe_def *d = plan->defs[i];
        /* One read of the counter for both questions: a signal that lands
         * after this line is "during the check", never lost between two
         * reads (found by 20 consecutive ctest runs: a SIGINT between the
         * two old reads made the check's tools stop at once while its
         * verdict was kept and the run said exit 0, not interrupted). */
        int sigs = pf_sig_count();
        if (sigs) {
            /* Stopped (core/sig.h): the rest are not run, the record of
             * what ran is still written, exit 3. */
            pf_run_set_incomplete(ctx->run, "interrupted by %s before %s", pf_sig_name(pf_sig_last()), d->id);
            break;
        }
        size_t before = pf_run_check_count(ctx->run);
        double t0 = pf_now();
        d->fn(ctx);
        /* a signal during the check killed its tools: its verdict means nothing */
        bool cut = pf_sig_count() != sigs;
        if (!plan->reported[i]) {
            pf_run_drop_checks(ctx->run, before);
            if (!prereq)
                prereq = json_array();
            json_array_append_new(prereq, json_string(d->id));
        } else {
            stamp_durations(ctx->run, before, pf_now() - t0);
            for (size_t k = before; cut && k < pf_run_check_count(ctx->run); k++) {
                pf_check *c = pf_run_check(ctx->run, k);
                pf_check_set(c, PF_ERROR, "interrupted by %s while this check ran; not judged",
                             pf_sig_name(pf_sig_last()));
                pf_check_remedy(c, "run the check again and let it finish");
            }
        }
        if (cut) {
            pf_run_set_incomplete(ctx->run, "interrupted by %s during %s", pf_sig_name(pf_sig_last()), d->id);
            break;
        }
    }
    if (prereq)
        json_object_set_new(pf_node_facts(ctx->node), "prerequisites", prereq);
}

void pf_probe_run_cluster(pf_run *merged, const pf_cluster_ctx *base, const pf_probe_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        pf_cluster_ctx cx = *base;
        cx.def = plan->defs[i];
        size_t before = pf_run_check_count(merged);
        double t0 = pf_now();
        if (cx.def->scope == PF_SCOPE_CLUSTER) {
            cx.def->cluster(merged, &cx);
        } else {
            /* the node list is fixed before the loop: a pair check adds
             * checks, never nodes */
            size_t nn = pf_run_node_count(merged);
            for (size_t a = 0; a < nn; a++)
                for (size_t b = 0; b < nn; b++) {
                    if (a == b)
                        continue;
                    size_t pb = pf_run_check_count(merged);
                    double pt = pf_now();
                    cx.def->pair(merged, pf_run_node(merged, a), pf_run_node(merged, b), &cx);
                    stamp_durations(merged, pb, pf_now() - pt);
                }
        }
        if (!plan->reported[i])
            pf_run_drop_checks(merged, before);
        else
            stamp_durations(merged, before, pf_now() - t0);
    }
}

/* record.h -- the run record, the one data model every part of preflight
 * writes into and every renderer reads from.
 *
 * A run has nodes and checks.  A node is a machine (name, address, free-form
 * facts).  A check is one verdict with a stable dotted id ("gpu.kernels"),
 * the node it concerns (NULL for cluster-wide checks) and optionally a peer
 * node (pairwise checks such as reachability between two nodes).  Results
 * of other kinds -- the serving benchmark, NCCL measurements -- are named
 * sections holding JSON.  Renderers (console, JSON, later HTML and JUnit)
 * only read this structure, so adding a probe never touches a renderer.
 *
 * Ownership: the run owns its nodes and checks; pointers stay valid until
 * pf_run_free().  json_t arguments documented as "steals" are owned by the
 * record afterwards.
 *
 * Invariants: node names are unique within a run (a check names its node and
 * peer by name in the JSON, so two nodes with one name would make a record
 * ambiguous); every check's node and peer belong to the same run.
 *
 * Reading back: pf_run_load / pf_run_from_json rebuild a run from the JSON
 * written by pf_run_write_json, so that the coordinator can merge the
 * records its agents send and renderers can work from a file.  Writing a
 * loaded run with its own strict flag (pf_run_strict) gives the same bytes
 * back.  pf_run_merge folds the nodes and checks of one run into another.
 */
#ifndef PF_RECORD_H
#define PF_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PF_RECORD_SCHEMA "preflight.run/1"

typedef enum pf_status {
    PF_PASS = 0,
    PF_WARN,
    PF_FAIL,
    PF_SKIP,  /* not applicable here (no GPU, nothing to scan) */
    PF_ERROR, /* the check itself could not run */
    PF_STATUS_COUNT
} pf_status;

const char *pf_status_name(pf_status st);       /* "pass", "warn", ... */
/* The worse of two statuses for aggregation: fail > error > warn > pass > skip. */
pf_status pf_status_worst(pf_status a, pf_status b);

/* Exit-code contract (docs/EXIT-CODES.md). */
enum {
    PF_EXIT_OK = 0,         /* no failures (warnings allowed unless --strict) */
    PF_EXIT_FAILED = 1,     /* at least one check failed */
    PF_EXIT_USAGE = 2,      /* bad flags or configuration */
    PF_EXIT_INCOMPLETE = 3, /* the run could not complete (a check errored, I/O failed) */
};

typedef struct pf_run pf_run;
typedef struct pf_node pf_node;
typedef struct pf_check pf_check;

pf_run *pf_run_new(int argc, char *const argv[]);
void pf_run_free(pf_run *run);

/* Rebuild a run from a record's JSON (preflight.run/1).  Validates the shape:
 * required keys and their types, statuses, that every check's node and peer
 * are nodes of the run, unique node names.  Unknown top-level keys become
 * run sections and unknown node keys node sections (that is how sections
 * are written).  `what` names the source in errors ("thor1.json", "the
 * agent on thor1"); NULL reads "the record".  NULL + err on any problem. */
pf_run *pf_run_from_json_named(const json_t *root, const char *what, pf_err *err);
pf_run *pf_run_from_json(const json_t *root, pf_err *err);
/* Read and validate a record file (at most PF_RECORD_FILE_MAX bytes).
 * Errors name the file: not JSON (with line and column), truncated (a run
 * that crashed or is still writing), not a preflight record (no or another
 * schema), a missing key or a key of the wrong type (with its JSON path). */
#define PF_RECORD_FILE_MAX (256u * 1024 * 1024)
pf_run *pf_run_load(const char *path, pf_err *err);
/* The strict flag a loaded run was written with (false for a new run), so
 * that pf_run_to_json(run, pf_run_strict(run)) reproduces the file. */
bool pf_run_strict(const pf_run *run);

/* Fold src's nodes, checks, node sections and run sections into dst (src is
 * not changed; everything is copied).  Checks keep their node and peer by
 * name: a peer that names a node of dst is linked to it.  Errors (dst
 * unchanged): a node name present in both runs (named in err), a run section
 * present in both with different content (an equal one is kept once).  dst
 * keeps its own command and times.  If src is incomplete, dst becomes
 * incomplete with src's reason prefixed by src's first node name. */
int pf_run_merge(pf_run *dst, const pf_run *src, pf_err *err);
/* Stamp the finish time (done by the renderers' callers before output). */
void pf_run_finish(pf_run *run);
/* Mark the run incomplete (exit 3) with a reason; the first reason sticks. */
void pf_run_set_incomplete(pf_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *pf_run_incomplete_reason(const pf_run *run);

/* Add a node.  Names are unique: adding a name that exists returns the
 * existing node (its address is set if it had none, else kept), so a
 * collector that adds "this host" twice cannot split its facts in two. */
pf_node *pf_run_add_node(pf_run *run, const char *name, const char *address);
size_t pf_run_node_count(const pf_run *run);
pf_node *pf_run_node(const pf_run *run, size_t i);
pf_node *pf_run_find_node(const pf_run *run, const char *name); /* NULL if none */
const char *pf_node_name(const pf_node *node);
const char *pf_node_address(const pf_node *node);
/* Facts collected on the node (kernel, driver, GPUs, interfaces...); a JSON
 * object owned by the node, to which collectors add keys. */
json_t *pf_node_facts(pf_node *node);
/* Named sections of a node (an NCCL probe's results measured on it, ...):
 * written as keys of the node object beside name/address/facts.  Steals
 * value (NULL stores null), replaces.  The key may not be one of "name",
 * "address", "facts" (ignored with the value freed). */
void pf_node_set_section(pf_node *n, const char *key, json_t *steal);
json_t *pf_node_section(const pf_node *n, const char *key); /* borrowed, NULL if none */
/* All of a node's sections as one object (borrowed; iterate, don't modify). */
json_t *pf_node_sections(const pf_node *n);

/* Add a check; its status starts as PF_ERROR with summary "not evaluated" so
 * that a probe that forgets to decide can never read as a pass. */
pf_check *pf_check_add(pf_run *run, pf_node *node, const char *id);
void pf_check_set(pf_check *c, pf_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pf_check_remedy(pf_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pf_check_measure(pf_check *c, double measured, double threshold, const char *unit);
void pf_check_set_peer(pf_check *c, pf_node *peer);
void pf_check_set_duration(pf_check *c, double seconds);
/* Structured evidence: a JSON object owned by the check, to which the probe
 * adds keys (json_object_set_new). */
json_t *pf_check_evidence(pf_check *c);

const char *pf_check_id(const pf_check *c);
pf_status pf_check_status(const pf_check *c);
const char *pf_check_summary(const pf_check *c);
const char *pf_check_remedy_text(const pf_check *c); /* NULL when none */
const pf_node *pf_check_node(const pf_check *c);
const pf_node *pf_check_peer(const pf_check *c);
double pf_check_duration(const pf_check *c);        /* < 0 when unset */
bool pf_check_has_measure(const pf_check *c);
double pf_check_measured(const pf_check *c);
double pf_check_threshold(const pf_check *c);
const char *pf_check_unit(const pf_check *c);

size_t pf_run_check_count(const pf_run *run);
pf_check *pf_run_check(const pf_run *run, size_t i);
/* Remove and free the checks from index `from` on (the verdicts of a
 * prerequisite the user did not ask for; see probes/registry.h).  Pointers
 * to those checks become invalid. */
void pf_run_drop_checks(pf_run *run, size_t from);
/* counts[st] = number of checks with that status. */
void pf_run_counts(const pf_run *run, size_t counts[PF_STATUS_COUNT]);

/* Named top-level sections ("bench", "nccl", ...); steals value, replaces.
 * A key that is one of the record's own top-level keys ("nodes", "checks",
 * "schema", ...) is ignored (value freed): it would shadow the record. */
void pf_run_set_section(pf_run *run, const char *key, json_t *value);
json_t *pf_run_section(const pf_run *run, const char *key); /* borrowed */
/* All run sections as one object (borrowed; iterate, don't modify). */
json_t *pf_run_sections(const pf_run *run);

/* Exit code by the contract: 1 if any check failed (or warned, when strict);
 * else 3 if any check errored or the run is incomplete; else 0. */
int pf_run_exit_code(const pf_run *run, bool strict);

/* The whole record as JSON (new reference); exit_code uses `strict`. */
json_t *pf_run_to_json(const pf_run *run, bool strict);
/* Write the record to path ("-" = stdout) atomically (temp file + rename). */
int pf_run_write_json(const pf_run *run, bool strict, const char *path, pf_err *err);

#endif

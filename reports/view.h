/* view.h -- read-side helpers every renderer shares over a record's JSON
 * (schema preflight.run/1, see docs/RUN-RECORD.md): statuses, the node
 * list, which checks are per node and which are pairwise, a node's class.
 *
 * Pure functions of the JSON: nothing here allocates except where a pf_strv
 * is filled (the caller frees it), and nothing prints.
 */
#ifndef PF_VIEW_H
#define PF_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/record.h"
#include "core/util.h"

/* The label of checks with node null (cluster-wide checks). */
#define PF_VIEW_CLUSTER "cluster"

/* A check's status; PF_ERROR for anything unknown (never a pass). */
pf_status pf_view_status(const json_t *check);
/* String member or NULL. */
const char *pf_view_str(const json_t *o, const char *key);
/* The node a check concerns, or PF_VIEW_CLUSTER for node null. */
const char *pf_view_node(const json_t *check);
/* The peer of a pairwise check, or NULL. */
const char *pf_view_peer(const json_t *check);
/* Node names in record order: "nodes" first, then any name only checks
 * mention; PF_VIEW_CLUSTER last when a cluster-wide check exists. */
void pf_view_nodes(const json_t *run, pf_strv *out);
/* Ids of non-pairwise checks (pair = false) or of pairwise checks
 * (pair = true), in order of first appearance. */
void pf_view_check_ids(const json_t *run, bool pair, pf_strv *out);
/* The check with this id on this node (peer NULL: a non-pair check). */
const json_t *pf_view_find(const json_t *run, const char *node, const char *id, const char *peer);
/* An index for fast lookups in big records (32 nodes have ~1,000 pair
 * checks): an object from "node\x1fid\x1fpeer" to the check.  New
 * reference; valid while run is.  pf_view_lookup is pf_view_find through it. */
json_t *pf_view_index(const json_t *run);
const json_t *pf_view_lookup(const json_t *index, const char *node, const char *id, const char *peer);
/* The node object with this name, or NULL. */
const json_t *pf_view_node_obj(const json_t *run, const char *name);
/* A node's class for matching replaced nodes: "<GPU name> CC <x.y> <transport>
 * <NIC speed>" from its facts (cuda.gpus[0], nccl_transport.transport, the
 * fastest non-virtual interface's speed_mbps: "100G"); "no-GPU", "-" or
 * "unknown" where facts are missing.  Writes into buf. */
void pf_view_node_class(const json_t *run, const char *node, char *buf, size_t len);
/* Counts per status over the record's checks (recomputed, not trusted). */
void pf_view_counts(const json_t *run, size_t counts[PF_STATUS_COUNT]);
/* The record's exit code, or -1 when absent. */
int pf_view_exit_code(const json_t *run);
/* A short verdict: "FAIL", "WARN", "PASS", "ERROR", "INCOMPLETE". */
const char *pf_view_verdict(const json_t *run, bool incomplete);
/* A number member (integer or real), or NAN. */
double pf_view_num(const json_t *o, const char *key);

#endif

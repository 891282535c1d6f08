/* judge.h -- the cross-node checks: pure functions from a merged run (every
 * node's facts and node checks, plus the pair-test results) to cluster.*
 * verdicts.  Nothing here touches the system; the same merged record gives
 * the same verdicts on any machine, which is what the table tests rely on.
 *
 * Inputs, all read from the run unless opts override them:
 *   - nodes, in pipeline order (stage 0 first), with the facts `preflight
 *     check` writes: facts.cuda.gpus, facts.fingerprint (libnccl, packages,
 *     python, env, hostname, boot_id, nccl_host_hash_input),
 *     facts.interfaces, facts.nccl_socket, facts.gloo, facts.nccl_transport;
 *     and each node's mem.headroom check (evidence.devices, evidence.model).
 *   - run section "pairs" (written by the coordinator):
 *       {"listen":{"<node>":<pf_pair_listen reply>, ...},
 *        "probes":[<pf_pair_probe result, with "node" and "peer">, ...]}
 *   - run section "ray" (when Ray runs): {"nodes":[<ray.nodes() dicts>]} or
 *     {"error":"..."} when Ray could not be asked.
 *   - run section "cluster": {"expected":["spark1",...],
 *                             "join_errors":{"thor2":"did not join within 20 s: ..."}}
 *
 * Checks added (docs/cluster.md "## Checks" has what each measures and the
 * severity table):
 *   cluster.nodes, cluster.transport, cluster.drift, cluster.hosthash,
 *   cluster.memory, cluster.ray                      node = NULL (cluster-wide)
 *   cluster.reach, cluster.bandwidth, cluster.mtu,
 *   cluster.ports                                    node -> peer, one per probe
 *   cluster.gloo                                     connecting node -> peer
 */
#ifndef PF_JUDGE_H
#define PF_JUDGE_H

#include <jansson.h>

#include "core/record.h"

typedef struct pf_cluster_judge_opts {
    const json_t *pairs;      /* NULL: the run's "pairs" section */
    const json_t *ray;        /* NULL: the run's "ray" section (absent: cluster.ray skips) */
    const json_t *cluster;    /* NULL: the run's "cluster" section */
    double bw_warn_fraction;  /* warn below this share of the slower link; 0: 0.5 */
} pf_cluster_judge_opts;

/* Add every cluster.* check to `merged`.  opts may be NULL. */
void pf_cluster_judge(pf_run *merged, const pf_cluster_judge_opts *o);

/* Severity of a difference in one fingerprint field across nodes, as the
 * table in docs/cluster.md says (exposed for the table test):
 * PF_FAIL, PF_WARN or PF_PASS (informational).  `a` and `b` are the two
 * values (versions compare by major.minor for the warn-only fields). */
pf_status pf_cluster_drift_severity(const char *field, const char *a, const char *b);

#endif

/* nccl_judge.h -- the coordinator side of the NCCL probe: from every rank's
 * results to the record's "nccl" section and its checks.
 *
 * Works the same for `preflight nccl` (ranks are local processes) and for
 * `preflight cluster` (ranks are agents on other nodes, their results sent
 * over the control plane): the input is the array of per-rank result
 * objects of nccl_rank.h, each annotated on its own node with
 * pf_nccljudge_annotate (the parsed NCCL log and the failure's diagnosis),
 * so the judge itself never reads files.
 *
 * Checks (each only says pass when it saw the evidence):
 *   nccl.init       every rank formed the communicator; else the root cause:
 *                   a rank that never joined or died first, then the first
 *                   rank whose failure is not "a peer went away"
 *   nccl.p2p        the pipeline hand-offs, every link, data checked
 *   nccl.allreduce  the sweep, every size checked (#wrong 0); busbw at the
 *   nccl.allgather  largest size is the measurement
 *   nccl.transport  the transport and interfaces NCCL really used (from the
 *                   logs' channel and NET/Socket lines, and the packet
 *                   capture when there is one) against the plan
 * Merging: per size, the slowest rank's time bounds the collective
 * (time = max over ranks; algbw and busbw from it; #wrong summed).
 */
#ifndef PF_NCCL_JUDGE_H
#define PF_NCCL_JUDGE_H

#include <stdbool.h>

#include <jansson.h>

#include "core/record.h"

typedef struct pf_nccljudge_plan {
    const char *ifnames;   /* comma list net.nccl_ifname predicted; NULL = no prediction */
    const char *transport; /* "NET/Socket", "NET/IB", "P2P", "SHM"; NULL = no prediction */
    double min_busbw;      /* GB/s at the largest all-reduce size; 0 = no threshold */
} pf_nccljudge_plan;

/* Add "nccl_log" (parsed log_text, may be NULL) and, when the rank failed,
 * "diagnosis" (nccl_class.h) to one rank's results. */
void pf_nccljudge_annotate(json_t *rank_result, const char *log_text);

/* Build the section: {"nranks", "ranks": [...], "all_reduce": [merged rows],
 * "all_gather": [...], "p2p": [...]}.  Takes a reference to ranks. */
json_t *pf_nccljudge_section(json_t *ranks);

/* Add the checks to run for node (NULL: cluster-wide).  capture may be NULL
 * (no packet capture) or the object of nccl_pcap.h. */
void pf_nccljudge_checks(pf_run *run, pf_node *node, const json_t *section, const json_t *capture,
                         const pf_nccljudge_plan *plan);

/* Different NCCL versions across ranks (each rank's "nccl_version" code,
 * else its log's version): false when all agree or none is known; true
 * with out = "2.28.9 on n0, n2 vs 2.27.7 on n1" (ranks named by "host").
 * Pure.  pf_nccljudge_checks fails nccl.init with it. */
bool pf_nccljudge_versions(const json_t *ranks, char *out, size_t len);

/* One rank against its own node's prediction (cluster runs: the node's
 * net.nccl_ifname and net.transport checks).  pred_if is the bootstrap
 * interface net.nccl_ifname predicted, pred_transport net.transport's
 * "Socket"/"IB"/...; either NULL when that check did not run there.
 * Pure.  Returns PF_PASS (NCCL did as predicted), PF_WARN (it did not: out
 * says "predicted NET/IB over X, NCCL used NET/Socket over Y"), or PF_SKIP
 * (nothing to compare: no prediction or no parsed log; out says which). */
pf_status pf_nccljudge_predicted(const json_t *rank_result, const char *pred_if, const char *pred_transport,
                                 char *out, size_t len);

/* The cluster-wide plan from the nodes' own predictions (cluster runs:
 * each node's net.transport and net.nccl_ifname).  nodes is an array of
 * {"node": name, "transport": "Socket"|"IB"|... or absent (net.transport
 * did not run there, or predicted "none"), "ifname": bootstrap interface
 * or absent}.  Pure.  Fills
 *   transport: "NET/<t>" when every node that predicted one predicts the
 *              same, else "" (none predicted, or they disagree);
 *   ifnames:   the union of the predicted interfaces, comma list in node
 *              order without repeats ("" when none);
 *   conflict:  "" or, when nodes disagree, "NET/IB on n0 vs NET/Socket on
 *              n1, n2" (each transport with its nodes, first seen first).
 * Returns 1 when the nodes disagree on the transport, else 0. */
int pf_nccljudge_plan_nodes(const json_t *nodes, char *transport, size_t tlen, char *ifnames, size_t ilen,
                            char *conflict, size_t clen);

/* The nodes predict different transports (conflict from
 * pf_nccljudge_plan_nodes): fail nccl.transport (the check
 * pf_nccljudge_checks added) with it, whatever the logs said -- NCCL needs
 * one network transport on every rank. */
void pf_nccljudge_conflict(pf_check *transport_check, const char *conflict);

/* The verdict of the fallback run (`--fallback-env`: the same ranks again,
 * all-reduce 1K..4M, with the fallback's variables added): section is
 * pf_nccljudge_section of its ranks.  Pure.  PF_PASS (every rank ok, no
 * wrong element: "the fallback works: all-reduce correct up to 4 MiB over
 * NET/Socket (busbw X GB/s)"), PF_FAIL (a rank failed: its diagnosis, with
 * its remedy; or wrong results), PF_SKIP (every rank skipped: no GPU),
 * PF_ERROR (no rank reported).  msg and remedy are always set (remedy ""
 * when there is none). */
pf_status pf_nccljudge_fallback(const json_t *section, char *msg, size_t mlen, char *remedy, size_t rlen);

/* One node's packet capture (nccl_pcap.h's object, from its agent) against
 * that node's predicted bootstrap interface (NULL: no prediction).  Pure.
 *   PF_SKIP  capture is NULL or {"skipped": why} (no libpcap, no
 *            CAP_NET_RAW: the agent could not start it)
 *   PF_ERROR capture is {"error": why}, or an interface has an "error"
 *            (the traffic asked for was not counted)
 *   PF_WARN  the busiest interface is not the predicted one ("NCCL moved
 *            X MB over eth1, but this node's prediction is eth0")
 *            -- or no byte was seen on any captured interface (the
 *            ranks' traffic went over one that was not captured)
 *   PF_PASS  "NCCL moved 12.3 MB over eth0 (as predicted)"
 * msg and remedy are always set (remedy "" when there is none). */
pf_status pf_nccljudge_capture(const json_t *capture, const char *pred_if, char *msg, size_t mlen, char *remedy,
                               size_t rlen);

#endif

/* ncclop.h -- the agent's side of cluster.nccl: one NCCL rank of the
 * cluster run, in a child process of the agent (docs/cluster.md, "NCCL").
 *
 * Two fixed operations of the agent (agent.h) drive it:
 *
 *   nccl_start {rank, nranks, sizes, p2p, allgather, iters, warmup,
 *               init_timeout_s, op_timeout_s, deadline_s, libnccl?,
 *               libcuda?, venv?, env?, uid?, capture?, fallback_env?}
 *       validates every field (types, ranges, library paths: absolute,
 *       named libnccl* / libcuda*), forks the rank (pf_ncclagent_run) and
 *       answers at once -- except rank 0, which answers once NCCL gave it
 *       its unique id: {ok, uid: 256 hex digits | null}.  The coordinator
 *       relays that id to the other ranks in their nccl_start ("uid").
 *   nccl_wait
 *       waits for the rank's result until the deadline_s of nccl_start;
 *       a rank still running then is SIGKILLed and its result says so
 *       ("still in 'all_reduce 1 MiB' at the 30 s deadline: killed"); one
 *       that died says by which signal and in which phase.  Answers
 *       {ok, result: the rank's JSON (nccl_rank.h), annotated,
 *        capture?: the packet capture's object when nccl_start asked}.
 *
 * capture: "auto" or "IF[,IF...]" -- at most PF_NCCLOP_MAX_CAPTURE names,
 *   each [A-Za-z0-9_.:@-] and shorter than IFNAMSIZ (anything else is
 *   refused).  "auto" is every interface that is up on this node
 *   (getifaddrs, lo included, the first 16 in the kernel's order): NIC
 *   names differ between nodes (a Spark's enP7s7 and a Thor's mgbe0_0), so
 *   the coordinator cannot name them for all.  The capture (nccl_pcap.h,
 *   a process of its own) starts before the rank is forked and stops once
 *   the rank's result is in; a named interface this node lacks is reported
 *   as {"interfaces": {IF: {"error": "no such interface on this node"}}},
 *   a capture that cannot start (no libpcap, no CAP_NET_RAW) as
 *   {"skipped": why}; the object is at most PF_NCCLOP_MAX_CAPTURE_JSON
 *   bytes of JSON.
 *
 * fallback_env: ["NAME=VALUE", ...], added after the node's env file (so
 *   it wins).  Nothing received over the network may make the agent load
 *   or run something, or write a file, so the agent accepts at most
 *   PF_NCCLOP_MAX_FALLBACK entries and only
 *     NAME   NCCL_[A-Z0-9_]+ (64 characters at most), and not one that
 *            contains PLUGIN, FILE, PATH, DIR or LIB: NCCL_NET_PLUGIN,
 *            NCCL_TUNER_PLUGIN and NCCL_PROFILER_PLUGIN load a library,
 *            NCCL_CONF_FILE, NCCL_TOPO_FILE and NCCL_GRAPH_FILE read a
 *            file, NCCL_DEBUG_FILE and NCCL_*_DUMP_FILE write one;
 *     VALUE  [A-Za-z0-9_.,:=^+/-], PF_NCCLOP_MAX_VALUE characters at most
 *            (interface lists, numbers, NCCL's ^/= prefixes).
 *   Anything else refuses the whole nccl_start (ok false, the variable
 *   named), nothing started.  A node that needs such a variable sets it in
 *   its own env file (hostfile env=FILE, read on the node).
 *
 * The rank runs in a child so that a hung NCCL (or one that crashes the
 * process) cannot wedge the agent's control loop: the agent stays
 * responsive, enforces the deadline and kills the child.  Child -> agent:
 * one line each on a pipe, "phase <name>", "uid <hex>|none",
 * "result <json>" (at most PF_NCCLOP_MAX_RESULT bytes).  Its NCCL log and
 * stdout/stderr go to a fresh /tmp/preflight-agent-nccl.XXXXXX directory
 * on the node (named in the result's log_file).
 *
 * The environment of the rank: the node's env file when the coordinator
 * names one (hostfile env=FILE, read here on the node), on top of the
 * agent's own environment.
 */
#ifndef PF_NCCLOP_H
#define PF_NCCLOP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define PF_NCCLOP_MAX_RESULT (3u << 20)
#define PF_NCCLOP_MAX_CAPTURE 16          /* interfaces in "capture" */
#define PF_NCCLOP_MAX_CAPTURE_JSON 16384  /* bytes of the capture object sent back */
#define PF_NCCLOP_MAX_FALLBACK 32         /* entries of "fallback_env" */
#define PF_NCCLOP_MAX_VALUE 256           /* characters of one fallback value */

typedef struct pf_ncclop pf_ncclop;

/* Start the rank described by msg.  Always sets *reply (caller owns);
 * returns the running op, or NULL when nothing was started (the reply
 * says why, ok false).  close_fd: the agent's socket, closed in the child. */
pf_ncclop *pf_ncclop_start(const json_t *msg, int close_fd, json_t **reply);
/* Wait for the result (deadline-bounded), reap, clean up; frees op and
 * returns the reply.  NULL op: a reply saying no rank was started.
 * ctrl_fd (-1: none) is the coordinator's socket, watched meanwhile: an
 * `nccl_abort {peer}` frame (another rank failed, so this one would only
 * wait out its deadline) kills the rank at once and its result says so
 * (cause "aborted", naming peer); ping is ignored; anything else or the
 * connection gone kills the rank too and sets *ctrl_lost (may be NULL). */
json_t *pf_ncclop_wait(pf_ncclop *op, int ctrl_fd, bool *ctrl_lost);
/* Kill and reap without a result (session end). NULL is fine. */
void pf_ncclop_kill(pf_ncclop *op);

/* The rules above, pure (the coordinator may check before sending): 0, or
 * -1 with why (naming the interface or the variable). */
int pf_ncclop_capture_ok(const char *spec, char *why, size_t wlen);
int pf_ncclop_fallback_ok(const char *name_value, char *why, size_t wlen);

#endif

/* nccl_local.h -- several NCCL ranks on this node, one forked process each
 * (`preflight nccl`): the same rank code the cluster agent runs
 * (nccl_rank.h), with the unique id passed from rank 0 through the parent
 * instead of the control plane.
 *
 * Each rank process runs pf_ncclagent_run (nccl_agent.h) -- the same entry
 * point the cluster agent uses -- with the user's environment (--env-file)
 * and its log at <log_dir>/nccl.rank<r>.log; the environment is set in the
 * child, never in this process.  Results come back annotated (parsed log,
 * diagnosis).  With hostid_per_rank each rank also gets its own
 * NCCL_HOSTID, so ranks sharing one GPU act as separate hosts and talk over
 * the network transport (what a multi-node pipeline does).
 *
 * The parent only relays and watches: each rank enforces its own phase
 * deadlines (and aborts its communicator); the parent's deadline is a
 * backstop that SIGKILLs whatever is left and names the phase each rank
 * last reported.  Fault injection for verification (docs/nccl.md):
 * absent_rank is never started (a node that never joins); kill_rank is
 * SIGKILLed kill_after_s into its first all-reduce phase (a node that dies
 * mid-collective).
 *
 * Wire between parent and rank (pipes, one line each):
 *   rank -> parent: "phase <name>", "uid <256 hex>" (rank 0), "result <json>"
 *   parent -> rank: "uid <256 hex>" or "none"
 */
#ifndef PF_NCCL_LOCAL_H
#define PF_NCCL_LOCAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/util.h"
#include "probes/nccl/nccl_rank.h"

typedef struct pf_nccllocal_opts {
    pf_ncclrank_opts rank;   /* template: libraries, sizes, timeouts (rank, nranks, env ignored) */
    int nranks;
    const char *const *env;  /* NULL-terminated NAME=value list for every rank; may be NULL */
    bool hostid_per_rank;
    const char *log_dir;     /* must exist; per-rank NCCL logs and stdout go here */
    double deadline_s;       /* backstop for the whole run (default 120) */
    int absent_rank;         /* -1: none */
    int kill_rank;           /* -1: none */
    double kill_after_s;
    /* Called in this process right after rank `rank` was forked as `pid`
     * (before it opens any socket), e.g. to tell the packet capture whose
     * ports are the probe's (nccl_pcap.h).  NULL: nobody is told.  ud is
     * the caller's; it must outlive pf_nccllocal_run. */
    void (*on_rank_started)(void *ud, int rank, pid_t pid);
    void *on_rank_ud;
} pf_nccllocal_opts;

/* Run the ranks; returns {"ranks": [per-rank results, see nccl_rank.h, each
 * with "log_file"], "wall_s", "backstop_hit"}.  NULL with err only when
 * nothing could be started (bad options, fork failure). */
json_t *pf_nccllocal_run(const pf_nccllocal_opts *o, pf_err *err);

/* 128 bytes <-> 256 hex digits (the wire form of a unique id). */
void pf_nccllocal_uid_hex(const pf_nccl_uid *uid, char out[257]);
int pf_nccllocal_uid_parse(const char *hex, pf_nccl_uid *uid);

#endif

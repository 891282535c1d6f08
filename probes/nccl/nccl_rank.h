/* nccl_rank.h -- one NCCL rank of the probe: load the library the server
 * will load, form a communicator without ever blocking, move data in the
 * pipeline's order and as nccl-tests does, check every result, tear down.
 *
 * This is the entry point both callers use: `preflight nccl` runs one per
 * forked local process (nccl_local.c), and the cluster agent runs one per
 * node with the unique id it got from rank 0's agent over the control plane.
 *
 *   r = pf_ncclrank_open(&opts, &err)       sets opts.env in THIS process,
 *                                           loads libcuda + libnccl, cuInit,
 *                                           primary context, buffers
 *   rank 0: pf_ncclrank_unique_id(r, &uid)  (starts NCCL's root listener in
 *                                           this process; ship the 128 bytes)
 *   json = pf_ncclrank_run(r, &uid)         the results (never NULL)
 *   pf_ncclrank_close(r)
 *
 * Because it sets the environment NCCL reads (once, at first use), it must
 * run in a process of its own -- the caller forks -- never in a process
 * that has NCCL loaded already.  NCCL_COMM_BLOCKING is always removed: it
 * would override the non-blocking config.
 *
 * Never hangs: the communicator is created with config.blocking = 0; every
 * wait polls ncclCommGetAsyncError and cuStreamQuery against a deadline,
 * and at the deadline (or on an error) calls ncclCommAbort and stops.  The
 * results name the phase that failed ("init", "connect all_reduce",
 * "all_reduce 64 MiB", "p2p prefill", "teardown") and how (error/timeout).
 *
 * Results JSON (one rank):
 *   {rank, nranks, host, pid, nccl_version, libnccl, ok, phase,
 *    failure: {phase, kind: "error"|"timeout", nccl_result, nccl_result_name,
 *              last_error, cuda_result, message, after_s} | null,
 *    init_s, teardown_s,
 *    p2p: [{name, bytes, direction, peer, time_us, gbps, wrong}],
 *    all_reduce|all_gather: [{bytes, count, iters, time_us, algbw, busbw, wrong}]}
 * Timing is nccl-tests': warm-up calls, then `iters` back-to-back launches
 * and one wait; time = wall time / iters.  Iterations are capped (-n, and
 * bytes_budget / size, at least 3) and further cut to what fits
 * time_budget_s at the warm-up's pace, so 256 MiB over a slow link stays
 * within the phase's time; the ranks agree on the count (the minimum, by a
 * one-float ncclMin all-reduce) so every rank issues the same calls.
 */
#ifndef PF_NCCL_RANK_H
#define PF_NCCL_RANK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "probes/nccl/nccl_api.h"

#define PF_NCCL_MAX_P2P 4

typedef struct pf_ncclrank_opts {
    int rank, nranks;
    const char *libnccl;      /* required */
    const char *libcuda;      /* NULL: libcuda.so.1 */
    int device;               /* CUDA ordinal */
    const char *const *env;   /* NULL-terminated "NAME=value" list set before NCCL loads; may be NULL */
    double init_timeout_s;    /* bootstrap + communicator init (default 20) */
    double op_timeout_s;      /* one step of the sweep (default 20) */
    double teardown_timeout_s;/* finalize + destroy (default 10) */
    const uint64_t *sizes;    /* collective sweep, bytes (see nccl_sweep.h) */
    int n_sizes;
    bool allreduce, allgather;
    uint64_t p2p_bytes[PF_NCCL_MAX_P2P]; /* pipeline hand-offs (prefill chunk, decode step) */
    const char *p2p_name[PF_NCCL_MAX_P2P];
    int n_p2p;
    int iters, warmup;        /* nccl-tests -n / -w (defaults 20 / 2) */
    uint64_t bytes_budget;    /* per size, see above (default 1 GiB) */
    double time_budget_s;     /* per size: timed iterations that fit (default 0.25 s; at least 2) */
    /* Called with each phase name as it starts (for a parent watching a
     * hung rank); may be NULL. */
    void (*phase_cb)(void *arg, const char *phase);
    void *cb_arg;
} pf_ncclrank_opts;

typedef struct pf_ncclrank pf_ncclrank;

/* NULL with err when the libraries cannot be loaded or the device cannot
 * be used ("no CUDA driver", "libnccl ... too old"); the caller reports
 * that as the rank's failure in phase "load" (pf_ncclrank_load_failure). */
pf_ncclrank *pf_ncclrank_open(const pf_ncclrank_opts *o, pf_err *err);
/* Rank 0 only.  -1 on failure, which is then also the result of run(). */
int pf_ncclrank_unique_id(pf_ncclrank *r, pf_nccl_uid *uid, pf_err *err);
/* Run every phase; returns the results object (caller owns).  uid NULL
 * means "no id arrived": the failure is recorded as such. */
json_t *pf_ncclrank_run(pf_ncclrank *r, const pf_nccl_uid *uid);
void pf_ncclrank_close(pf_ncclrank *r);

/* The results object of a rank that could not even load ("load" phase). */
json_t *pf_ncclrank_load_failure(const pf_ncclrank_opts *o, const char *phase, const char *msg);
/* Iterations and warm-up calls for one size (the rule above). */
void pf_ncclrank_iters(const pf_ncclrank_opts *o, uint64_t bytes, int *iters, int *warmup);

#endif

/* nccl_flags.h -- the NCCL probe's flags that `preflight nccl` and
 * `preflight cluster --nccl` share: the libraries, the sizes (nccl-tests'
 * -b/-e/-f/-n/-w, the pipeline hand-offs) and the per-rank deadlines.
 *
 * One table of rows (nccl_flags.c) parses them and writes their help, so
 * the two commands cannot drift apart:
 *
 *   pf_ncclflags f;  pf_ncclflags_init(&f);
 *   for each argv[i]: r = pf_ncclflags_take("nccl", &f, argc, argv, &i);
 *                     r > 0 taken (i advanced past its value), 0 not ours,
 *                     r < 0 bad value (message on stderr; usage error)
 *   n = pf_ncclflags_apply(&f, nranks, &rank_opts, sizes, &err);
 *
 * The strings in f point into argv (borrowed).
 */
#ifndef PF_NCCL_FLAGS_H
#define PF_NCCL_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "probes/nccl/nccl_rank.h"
#include "probes/nccl/nccl_sweep.h"

typedef struct pf_ncclflags {
    const char *libnccl, *libcuda; /* NULL: found in the venv / libcuda.so.1 */
    uint64_t bmin, bmax;           /* -b / -e (1K, 256M) */
    double factor, iters, warmup;  /* -f -n -w (4, 20, 2) */
    double hidden, dtype_bytes, prefill, decode; /* 4096, 2, 8192, 1 */
    double init_timeout_s, op_timeout_s;         /* 20, 20 */
    bool allgather;                /* --no-allgather clears it */
} pf_ncclflags;

void pf_ncclflags_init(pf_ncclflags *f);
int pf_ncclflags_take(const char *cmd, pf_ncclflags *f, int argc, char **argv, int *i);
/* The help lines of the shared flags (static text). */
const char *pf_ncclflags_help(void);
/* Fill sizes, p2p hand-offs, iterations, deadlines and libraries of ro from
 * f for nranks; sizes (PF_NCCL_MAX_SIZES) is where ro->sizes points.
 * Returns the number of sizes, -1 with err on an empty -b/-e range. */
int pf_ncclflags_apply(const pf_ncclflags *f, int nranks, pf_ncclrank_opts *ro, uint64_t *sizes, pf_err *err);

#endif

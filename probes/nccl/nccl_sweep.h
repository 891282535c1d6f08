/* nccl_sweep.h -- the sizes the NCCL probe moves and the arithmetic that
 * turns times into nccl-tests' numbers.  Pure functions, no I/O.
 *
 * Sizes follow nccl-tests' -b/-e/-f: from min to max bytes, each size the
 * previous times factor (factor 1 is not allowed here: nccl-tests then
 * steps additively, which a probe has no use for).  Sizes are rounded down
 * to a multiple of 4 bytes x nranks so every rank's share is whole floats.
 *
 * Bandwidth (nccl-tests doc/PERFORMANCE.md; GB = 1e9 B, n ranks):
 *   algbw = bytes / seconds, where bytes is the buffer size (all-reduce)
 *           or the gathered total (all-gather);
 *   busbw = algbw x 2(n-1)/n (all-reduce), x (n-1)/n (all-gather), x 1 (send/recv).
 *
 * Pipeline point-to-point sizes: a stage hands the next one its hidden
 * states, hidden x tokens x dtype bytes: tokens = the chunked-prefill size
 * (8192 by default in SGLang) for a prefill chunk, and the decode batch for
 * a decode step.
 */
#ifndef PF_NCCL_SWEEP_H
#define PF_NCCL_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PF_NCCL_MAX_SIZES 48

typedef enum pf_ncclcoll { PF_NCCL_ALLREDUCE, PF_NCCL_ALLGATHER, PF_NCCL_SENDRECV } pf_ncclcoll;

/* Parse "64", "8K", "32M", "1G" (powers of 1024, as nccl-tests). -1 on junk. */
int pf_ncclsweep_parse_size(const char *s, uint64_t *out, pf_err *err);
/* The size list; returns how many (<= cap), -1 with err on a bad range. */
int pf_ncclsweep_sizes(uint64_t min, uint64_t max, unsigned factor, int nranks, uint64_t *out, int cap,
                       pf_err *err);
double pf_ncclsweep_busbw_factor(pf_ncclcoll c, int nranks);
/* GB/s from bytes and seconds; 0 when seconds <= 0. */
double pf_ncclsweep_algbw(uint64_t bytes, double seconds);
/* Hidden-state bytes a pipeline stage sends: hidden x tokens x dtype_bytes. */
uint64_t pf_ncclsweep_stage_bytes(uint64_t hidden, uint64_t tokens, unsigned dtype_bytes);
/* "64 MiB", "8 KiB", "300 B". */
void pf_ncclsweep_size_str(uint64_t bytes, char *buf, size_t len);
const char *pf_ncclsweep_coll_name(pf_ncclcoll c); /* "all_reduce", "all_gather", "sendrecv" */

#endif

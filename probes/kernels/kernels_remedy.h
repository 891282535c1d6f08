/* kernels_remedy.h -- the "what to do" text of gpu.kernels.
 *
 * One sentence per (package, problem, target), deduplicated, in the order
 * found; specific to what is wrong: which wheel to install for Thor or
 * GB10, which TORCH_CUDA_ARCH_LIST to rebuild an extension with, when PTX
 * JIT is the only way in, when the driver is too old for the PTX.
 */
#ifndef PF_KERNELS_REMEDY_H
#define PF_KERNELS_REMEDY_H

#include <stdbool.h>
#include <stddef.h>

#include "probes/kernels/kernels.h"

typedef struct pf_kremedy pf_kremedy;

pf_kremedy *pf_kremedy_new(void);
void pf_kremedy_free(pf_kremedy *r);

void pf_kremedy_unit(pf_kremedy *r, const char *path, const char *package, bool collection, pf_lib_verdict v,
                     const pf_lib_coverage *cov, const pf_fatbin *const *fbs, size_t nfb, const pf_target *t,
                     const char *torch_version);
/* error: torch's parse error, or NULL when the list is valid but misses a target. */
void pf_kremedy_torch_list(pf_kremedy *r, const char *value, const char *error, const pf_target *t, size_t nt);

/* All sentences so far ("" when none). */
const char *pf_kremedy_text(const pf_kremedy *r);

/* Pure helpers, exported for tests. */
/* First CUDA release that can build for CC dev (12.1 -> "12.9"); NULL if unknown. */
const char *pf_kremedy_min_cuda(int dev);
/* TORCH_CUDA_ARCH_LIST item to suggest for dev ("11.0a", "8.6"). */
void pf_kremedy_torch_item(int dev, char *buf, size_t len);

#endif

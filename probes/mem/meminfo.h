/* meminfo.h -- /proc/meminfo as numbers.
 *
 * On integrated GPUs (GB10, Thor) the GPU allocates from the same pool as
 * the CPU, and cuMemGetInfo's "free" is the kernel's MemFree, which counts
 * the page cache as used.  The memory check therefore needs MemAvailable,
 * Cached, SwapFree, CMA and huge-page figures next to the driver's numbers.
 * The parser is pure (text in, struct out) so recorded samples from real
 * machines can be replayed in tests.
 */
#ifndef PF_MEMINFO_H
#define PF_MEMINFO_H

#include <jansson.h>
#include <stdint.h>

#include "core/util.h"

/* Every field in bytes (huge-page counts are pages); -1 when the line is absent. */
typedef struct pf_meminfo {
    int64_t mem_total, mem_free, mem_available;
    int64_t buffers, cached, swap_cached, shmem;
    int64_t sreclaimable;
    int64_t swap_total, swap_free;
    int64_t cma_total, cma_free;
    int64_t hugepages_total, hugepages_free; /* pages */
    int64_t hugepagesize;                    /* bytes */
    int64_t hugetlb;                         /* bytes (all huge-page sizes) */
    int64_t nvmap_mem_used;                  /* Jetson nvmap stacks only */
} pf_meminfo;

/* Parse /proc/meminfo text.  Unknown keys are ignored; a known key whose
 * value is not "<digits>[ kB]", a text that ends mid-line (truncated read),
 * or a text without MemTotal/MemFree is an error naming `source` (the file
 * name used in the message) and the line. */
int pf_meminfo_parse(const char *text, const char *source, pf_meminfo *out, pf_err *err);
/* Read and parse a file (normally "/proc/meminfo"). */
int pf_meminfo_read(const char *path, pf_meminfo *out, pf_err *err);

/* Memory the kernel can hand out after dropping clean caches: MemAvailable
 * minus MemFree (0 when MemAvailable is absent or smaller). */
int64_t pf_meminfo_reclaimable(const pf_meminfo *m);

/* Object with the fields that are present, in bytes ("mem_total_bytes"...). */
json_t *pf_meminfo_to_json(const pf_meminfo *m);

#endif

/* mem_headroom.h -- the `mem.headroom` check: will the server's static
 * memory pool (weights + KV cache, --mem-fraction-static of the free GPU
 * memory) fit on this node?
 *
 * Collection (driver free/total, /proc/meminfo, other GPU processes, model
 * weight bytes) happens in pf_probe_mem_headroom; the verdict comes from the
 * pure pf_mem_decide so that the rules are tested table-driven.
 */
#ifndef PF_MEM_HEADROOM_H
#define PF_MEM_HEADROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/record.h"
#include "probes/context.h"
#include "probes/mem/meminfo.h"

/* Room the KV cache needs beyond the weights for the server to be useful:
 * SGLang raises "Not enough memory" only when none is left, but a pool of
 * less than 1 GiB holds a few thousand tokens at best. */
#define PF_MEM_KV_ALLOWANCE ((uint64_t)1 << 30)

/* Everything the decision looks at, for one device. */
typedef struct pf_mem_facts {
    char label[160];           /* "GPU 0 NVIDIA GB10" */
    int integrated;            /* 1 unified memory (GB10, Thor), 0 discrete, -1 unknown */
    uint64_t free_b, total_b;  /* cuMemGetInfo through the primary context */
    bool have_meminfo;
    pf_meminfo mi;             /* host /proc/meminfo */
    double fraction;           /* --mem-fraction-static */
    bool procs_known;          /* NVML or the /proc scan answered */
    size_t nprocs;             /* other processes on the GPU */
    int64_t procs_bytes;       /* their memory by NVML; -1 unknown */
    char procs_list[200];      /* "1234 python3, 99 Xorg" for the message */
    bool have_model;
    int pp;                    /* stages (1 when --pp was not given) */
    uint64_t weight_bytes;     /* the whole model */
    uint64_t stage_max;        /* bytes of the largest stage */
    int stage_max_index;
    uint64_t allowance;        /* KV room demanded beyond the weights */
} pf_mem_facts;

typedef struct pf_mem_verdict {
    pf_status status;
    char summary[700];
    char remedy[400];          /* "" when none */
    double budget_b;           /* free * fraction: SGLang's static pool */
    double free_after_drop_b;  /* integrated: free + reclaimable cache (capped at total); else free */
    double kv_room_b;          /* budget - largest stage (model only; may be negative) */
    bool vllm_would_refuse;    /* free < total * fraction */
    bool cache_is_the_problem; /* integrated, and dropping the page cache fixes the worst finding */
} pf_mem_verdict;

/* Pure: facts -> verdict. */
void pf_mem_decide(const pf_mem_facts *f, pf_mem_verdict *v);

/* Adds the `mem.headroom` check for ctx->node. */
void pf_probe_mem_headroom(pf_probe_ctx *ctx);

#endif

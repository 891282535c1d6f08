/* context.h -- what a probe gets: the options, the record to write into,
 * the node it runs on, and facts shared between probes, collected once.
 *
 * Several checks need the same facts (the device list feeds gpu.driver,
 * gpu.kernels, toolchain.ptxas and mem.headroom; the Python environment feeds
 * gpu.kernels, toolchain.ptxas and env.fingerprint).  The context collects
 * them lazily on first use and caches them -- explicitly, in this struct,
 * not in globals -- so a probe that runs alone still works.
 */
#ifndef PF_CONTEXT_H
#define PF_CONTEXT_H

#include <stdbool.h>

#include "core/record.h"
#include "probes/gpu/cuda.h"
#include "probes/env/pyenv.h"

typedef struct pf_probe_opts {
    const char *arch;          /* --arch X.Y: evaluate for this CC instead of local devices */
    const char *venv;          /* --venv DIR */
    pf_strv scan;              /* --scan PATH (repeatable): extra files/dirs for gpu.kernels */
    const char *model_dir;     /* --model DIR */
    int pp;                    /* --pp N (0 = not given) */
    double mem_fraction;       /* --mem-fraction-static (default 0.85) */
    double tool_timeout_s;     /* deadline for each external tool run (default 10 s) */
    const char *cuda_lib;      /* libcuda path override (tests); NULL = libcuda.so.1 */
    bool verbose;
} pf_probe_opts;

void pf_probe_opts_init(pf_probe_opts *o);
void pf_probe_opts_free(pf_probe_opts *o);

/* A target architecture that checks evaluate against: a local device or the
 * --arch value. */
typedef struct pf_target {
    int cc_major, cc_minor;
    int ordinal;               /* device ordinal, -1 for --arch */
    char label[300];           /* "GPU 0 NVIDIA H100 80GB HBM3 (9.0)" or "--arch 11.0" */
    int integrated;            /* -1 unknown */
} pf_target;

struct pf_netif_set;

typedef struct pf_probe_ctx {
    const pf_probe_opts *opts;
    pf_run *run;
    pf_node *node;
    /* lazily collected; use the accessors */
    pf_cuda *cuda;
    bool cuda_tried;
    pf_pyenv *pyenv;
    bool pyenv_tried;
    pf_err pyenv_err;
    /* the interface inventory, collected once so that every net.* check
     * judges the same interfaces (they can change between two scans) */
    struct pf_netif_set *netif;
    bool netif_tried;
    pf_err netif_err;
    pf_target targets[PF_CUDA_MAX_DEVICES];
    size_t ntargets;
    bool targets_done;
} pf_probe_ctx;

void pf_ctx_init(pf_probe_ctx *ctx, const pf_probe_opts *opts, pf_run *run, pf_node *node);
void pf_ctx_free(pf_probe_ctx *ctx);
pf_cuda *pf_ctx_cuda(pf_probe_ctx *ctx);                   /* never NULL */
const pf_cuda_facts *pf_ctx_cuda_facts(pf_probe_ctx *ctx); /* never NULL */
/* NULL when no environment could be found; *why (if non-NULL) says why. */
pf_pyenv *pf_ctx_pyenv(pf_probe_ctx *ctx, const char **why);
/* NULL when the interfaces could not be listed; *why (if non-NULL) says why. */
const struct pf_netif_set *pf_ctx_netif(pf_probe_ctx *ctx, const char **why);
/* Parse "X.Y" (also "sm_XY", "XY", "X.Ya"); returns 0 and fills major/minor. */
int pf_parse_arch(const char *s, int *major, int *minor);
/* Targets: the --arch value if given, else every local device.  Returns the
 * count (0 when no GPU and no --arch); *out points into ctx-owned storage. */
size_t pf_ctx_targets(pf_probe_ctx *ctx, const pf_target **out);

/* A probe adds one or more checks for ctx->node. */
typedef void (*pf_probe_fn)(pf_probe_ctx *ctx);

typedef struct pf_probe_def {
    const char *id;            /* the check id it produces (or its prefix) */
    const char *what;          /* one line for --list */
    pf_probe_fn fn;
} pf_probe_def;

#endif

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

#include "core/env.h"
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
    const char *env_file;      /* --env-file FILE: judge this environment, not the process's */
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
    /* The environment under judgement (core/env.h).  Every probe reads
     * variables through it -- never getenv() -- so that a check judges the
     * environment the server will start with: by default a snapshot of this
     * process's environ taken by pf_ctx_init (env_own), or what the caller
     * sets with pf_ctx_set_env (--env-file, a launcher's env). */
    const pf_env *env;
    pf_env *env_own;
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
/* Judge `env` instead of the process snapshot.  Borrowed: the caller keeps
 * it alive until pf_ctx_free.  Call before the first probe runs (facts
 * cached from another environment would mix two environments). */
void pf_ctx_set_env(pf_probe_ctx *ctx, const pf_env *env);
/* A variable of the judged environment; NULL when unset. */
const char *pf_ctx_getenv(const pf_probe_ctx *ctx, const char *name);
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

/* ---- what defines a check (the registry's rows, probes/registry.c) ----
 *
 * A check runs at one of three scopes:
 *   PF_SCOPE_NODE     on each node, by `preflight check` (or an agent), over
 *                     that node's facts: fn(pf_probe_ctx *)
 *   PF_SCOPE_PAIR     on the coordinator, once per ordered pair of nodes of
 *                     the merged run (reachability a -> b): pair(...)
 *   PF_SCOPE_CLUSTER  on the coordinator, once, over the merged run (NCCL
 *                     version agreement, hostHash collisions): cluster(...)
 * Pair and cluster checks judge a merged pf_run (record.h: every node's
 * facts, and the node checks' verdicts) -- never the coordinator's own
 * machine -- so they also run offline on saved records.
 */
typedef enum pf_scope {
    PF_SCOPE_NODE = 0, /* the default, so a row {id, what, fn} is a node check */
    PF_SCOPE_PAIR,
    PF_SCOPE_CLUSTER,
} pf_scope;

const char *pf_scope_name(pf_scope s); /* "node", "pair", "cluster" */

struct pf_probe_def;
struct pf_coord; /* the coordinator's connections (cluster/); opaque here */

/* What a pair or cluster check gets besides the merged run. */
typedef struct pf_cluster_ctx {
    const struct pf_probe_def *def; /* this check's row: its id comes from here */
    const pf_probe_opts *opts;      /* the coordinator's flags (--pp, --timeout, ...) */
    double deadline;                /* pf_now() by which the check must be done; 0 = none */
    struct pf_coord *coord;         /* live agents to ask for active tests (a TCP connect
                                     * from a to b); NULL when judging saved records */
} pf_cluster_ctx;

/* A node probe adds one or more checks for ctx->node (pf_probe_check_add). */
typedef void (*pf_probe_fn)(pf_probe_ctx *ctx);
/* A cluster check adds checks to `merged` with node NULL (or the node it
 * blames) via pf_cluster_check_add. */
typedef void (*pf_cluster_fn)(pf_run *merged, const pf_cluster_ctx *ctx);
/* A pair check judges a -> b and adds checks with node a, peer b. */
typedef void (*pf_pair_fn)(pf_run *merged, pf_node *a, pf_node *b, const pf_cluster_ctx *ctx);

#define PF_PROBE_MAX_NEEDS 4

typedef struct pf_probe_def {
    const char *id;            /* the check id it produces, written only here */
    const char *what;          /* one line for --list */
    pf_probe_fn fn;            /* PF_SCOPE_NODE */
    pf_scope scope;
    /* Checks whose facts this one reads (node facts they write, verdicts
     * they make), by id, NULL-terminated.  The runner runs those first; a
     * need that --only left out runs as an unreported prerequisite. */
    const char *needs[PF_PROBE_MAX_NEEDS + 1];
    pf_cluster_fn cluster;     /* PF_SCOPE_CLUSTER */
    pf_pair_fn pair;           /* PF_SCOPE_PAIR */
} pf_probe_def;

/* Add the check a node probe produces, with the id from its registry row
 * (found by the probe's own function), for ctx->node.  Aborts when `self` is
 * not registered: a programming error, caught by every test that runs it. */
pf_check *pf_probe_check_add(pf_probe_ctx *ctx, pf_probe_fn self);
/* Same for pair and cluster checks: id from ctx->def; node/peer may be NULL. */
pf_check *pf_cluster_check_add(pf_run *merged, const pf_cluster_ctx *ctx, pf_node *node, pf_node *peer);

#endif

/* kernels.h -- will the CUDA device code the server loads run on this GPU?
 *
 * The deciding half of gpu.kernels (docs/kernels.md has the reasoning).
 * For one library (or one collection of bare cubins) and one target
 * compute capability, every fatbin container is classified:
 *   native    SASS that runs on the target (arch.h rules)
 *   jit       no such SASS, but PTX the driver can JIT for the target
 *   missing   portable code built *around* the target that skips it: plain
 *             code for an older GPU and some code for the target's family
 *             or newer, nothing loadable here (x86 libtorch on Thor: every
 *             container has sm_75..sm_120 but no sm_110)
 *   other     everything else: kernels specialised for other GPUs that a
 *             dispatching library only launches there (cuBLASLt's sm_90a-only
 *             containers on a 12.1 device)
 * Containers without kernels (device-link stubs) and LTO-IR-only containers
 * (inputs for nvJitLink) are not counted.  The verdict compares what runs
 * with what is missing, so a library built for other GPUs is caught while a
 * library with many arch-specialised kernels is not flagged.
 */
#ifndef PF_KERNELS_H
#define PF_KERNELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/record.h"
#include "probes/context.h"
#include "probes/kernels/fatbin.h"
#include "probes/kernels/kernels_scan.h"

/* missing / (native + jit + missing + driver_old): above FAIL_SHARE the
 * library is called unusable, above WARN_SHARE partial.  Working CUDA 13.0
 * libraries peak at 17% (cuDNN precompiled engines on 9.0), libraries built
 * without the target start at 72% (docs/kernels.md, table). */
#define PF_KERNELS_FAIL_SHARE 0.50
#define PF_KERNELS_WARN_SHARE 0.25

typedef enum pf_lib_verdict {
    PF_LIB_NO_DEVICE_CODE = 0, /* nothing loadable at all: not judged */
    PF_LIB_NATIVE,             /* pass */
    PF_LIB_JIT_ONLY,           /* warn: runs only through PTX JIT */
    PF_LIB_PARTIAL,            /* warn: a sizeable share of portable kernels lack the target */
    PF_LIB_MISSING,            /* fail: nothing (or mostly nothing) for the target */
    PF_LIB_DRIVER_TOO_OLD,     /* fail: only PTX newer than the driver */
    PF_LIB_OTHER_GPU_ONLY,     /* not judged: only 'a' code for other GPU families (FA3's sm_90a) */
} pf_lib_verdict;

/* Compute capabilities the "best covered" search tries. */
#define PF_KERNELS_NCAND 21

typedef struct pf_lib_coverage {
    int dev;                  /* target, 10*major+minor */
    int driver_version;       /* 1000*major+10*minor; 0 = unknown, assumed new enough */
    size_t containers;        /* counted containers (SASS or PTX with kernels) */
    size_t empty_stubs;       /* containers whose cubins hold no kernels */
    size_t lto_only;          /* containers with only LTO-IR */
    size_t native, jit, missing, driver_old, other;
    size_t other_gpu_specific;/* of `other`: only 'a' code for other GPU families */
    size_t sibling_specific;  /* only 'a' code for another GPU of the target's family (12.0a vs 12.1) */
    size_t thor_renamed;      /* code for Thor under the other numbering (sm_101 on 11.0, sm_110 on 10.1) */
    size_t at[PF_KERNELS_NCAND]; /* loadable containers per candidate CC (best-covered search) */
} pf_lib_coverage;

void pf_kernels_coverage_init(pf_lib_coverage *c, int dev, int driver_version);
/* Classify every container of fb and add it to c (several fatbins may be
 * added: a collection of cubins is judged as one unit). */
void pf_kernels_coverage_add(pf_lib_coverage *c, const pf_fatbin *fb);
/* Whether fb has any container the runtime could load (SASS or PTX with
 * kernels), for any GPU. */
bool pf_kernels_has_device_code(const pf_fatbin *fb);
/* The CC with the most loadable containers and how many (0, 0 when none). */
int pf_kernels_best(const pf_lib_coverage *c, size_t *count);
/* Pure on the counts. */
pf_lib_verdict pf_kernels_verdict(const pf_lib_coverage *c);
double pf_kernels_missing_share(const pf_lib_coverage *c);
const char *pf_lib_verdict_name(pf_lib_verdict v);
/* PASS / WARN / FAIL; SKIP for the verdicts that are not judged.  A
 * collection of bare cubins is loaded by the application's own code, which
 * can fall back to other kernels, so its failures are warnings. */
pf_status pf_lib_verdict_status(pf_lib_verdict v, bool collection);

/* {"containers": N, "entries": M, "archs": {"sm_90": 444, ...},
 *  "sections": {".nv_fatbin": 444}, "problems": [...]} */
json_t *pf_kernels_inventory_json(const pf_fatbin *const *fbs, size_t n);
/* "sm_75 sm_80 sm_90 compute_120" (distinct, sorted), into buf; names that
 * do not fit are counted in a closing "… (N more)". */
void pf_kernels_arch_list(const pf_fatbin *const *fbs, size_t n, char *buf, size_t len);

/* What the check evaluates. */
typedef struct pf_kernels_input {
    const pf_kscan *scan;
    const pf_target *targets;
    size_t ntargets;
    int driver_version;            /* 0: unknown (no driver, or --arch) */
    const char *torch_arch_list;   /* $TORCH_CUDA_ARCH_LIST, NULL when unset */
    const char *torch_version;     /* "2.11.0+cu130" or NULL */
    const char *where;             /* what was scanned, for the summary ("/opt/torch/.venv") */
} pf_kernels_input;

/* Judge every scanned unit for every target; set status, summary, remedy
 * and evidence of c. */
void pf_kernels_evaluate(const pf_kernels_input *in, pf_check *c);

/* One unit judged on its own (preflight kernels: one check per library or
 * cubin collection).  nt == 0 gives an inventory-only skip. */
typedef struct pf_kernels_unit {
    const char *path;
    const char *package;
    bool collection;
    const pf_fatbin *const *fbs;
    size_t nfb;
} pf_kernels_unit;
void pf_kernels_evaluate_unit(const pf_kernels_unit *u, const pf_target *targets, size_t nt, int driver_version,
                              pf_check *c);

/* The gpu.kernels probe (register in probes/registry.c). */
void pf_probe_gpu_kernels(pf_probe_ctx *ctx);

#endif

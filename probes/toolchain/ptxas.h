/* ptxas.h -- toolchain.ptxas: will the ptxas that Triton (or nvcc) runs on
 * this node assemble code for the target GPU?
 *
 * Triton compiles every kernel to PTX and hands it to a ptxas it picks at
 * run time; a ptxas that does not know the target fails only when the first
 * kernel is compiled, deep inside the server's warm-up.  Thor (sm_110a) needs
 * a CUDA >= 13.0 ptxas and GB10 (sm_121a) a CUDA >= 12.9 one, while Triton
 * 3.6 bundles 12.8 (`ptxas`) and 12.9 (`ptxas-blackwell`).
 *
 * The module has three layers (docs/ptxas.md gives the rules and sources):
 *   - DECISION (ptxas.c: pf_ptxas_decide): pure; plain facts in, verdict
 *     out -- which binary Triton uses, whether it works, what to export;
 *   - COLLECTOR (ptxas_collect.c: pf_ptxas_collect, pf_ptxas_assemble): find
 *     every candidate binary, run `--version` and assemble a one-instruction
 *     stub per target, each with a deadline, each binary once per arch;
 *   - the probe pf_probe_toolchain_ptxas (ptxas_collect.c), which joins
 *     both to the run record.
 */
#ifndef PF_PTXAS_H
#define PF_PTXAS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/record.h"
#include "core/util.h"
#include "probes/context.h"
#include "probes/env/pyenv.h"

#define PF_PTXAS_MAX_CAND 12
#define PF_PTXAS_PATH_MAX 1024
#define PF_PTXAS_DETAIL_MAX 256

/* Where a candidate came from.  The order is also the preference order for
 * the binary a remedy recommends (a toolkit first: it is what users keep
 * up to date; Triton's bundled binaries last). */
typedef enum pf_ptxas_source {
    PF_PTXAS_SRC_CUDA_HOME,   /* $CUDA_HOME/bin/ptxas */
    PF_PTXAS_SRC_CUDA_PATH,   /* $CUDA_PATH/bin/ptxas */
    PF_PTXAS_SRC_PATH,        /* ptxas found on $PATH */
    PF_PTXAS_SRC_CUDA_DEFAULT,/* /usr/local/cuda/bin/ptxas */
    PF_PTXAS_SRC_TORCH,       /* <site>/torch/bin/ptxas */
    PF_PTXAS_SRC_ENV_BW,      /* $TRITON_PTXAS_BLACKWELL_PATH */
    PF_PTXAS_SRC_ENV,         /* $TRITON_PTXAS_PATH */
    PF_PTXAS_SRC_BUNDLED_BW,  /* <site>/triton/backends/nvidia/bin/ptxas-blackwell */
    PF_PTXAS_SRC_BUNDLED,     /* <site>/triton/backends/nvidia/bin/ptxas */
    PF_PTXAS_SRC_COUNT
} pf_ptxas_source;

/* "bundled", "env", "torch", "cuda", "PATH" (the evidence's `source`). */
const char *pf_ptxas_source_kind(pf_ptxas_source s);
/* "$TRITON_PTXAS_BLACKWELL_PATH", "triton bundled ptxas-blackwell", ... */
const char *pf_ptxas_source_label(pf_ptxas_source s);

/* What `<path> --version` did; the states map onto what Triton's
 * NvidiaTool.from_path does with the same binary (docs/ptxas.md). */
typedef enum pf_ptxas_state {
    PF_PTXAS_ABSENT,       /* no file there: Triton moves on to the next path */
    PF_PTXAS_NOT_EXEC,     /* exists but not an executable file: Triton raises PermissionError */
    PF_PTXAS_START_FAILED, /* exec failed otherwise (ENOEXEC...): Triton raises OSError */
    PF_PTXAS_HUNG,         /* --version ran past the deadline: Triton waits forever */
    PF_PTXAS_BAD_VERSION,  /* exit != 0 or no "release X.Y": Triton moves on */
    PF_PTXAS_OK,           /* printed "release X.Y" */
} pf_ptxas_state;
const char *pf_ptxas_state_name(pf_ptxas_state s);

/* What assembling the stub for one target did. */
typedef enum pf_ptxas_asm {
    PF_PTXAS_ASM_NOT_RUN,     /* the binary is unusable (see state) */
    PF_PTXAS_ASM_OK,
    PF_PTXAS_ASM_NO_TARGET,   /* "is not defined for option 'gpu-name'" */
    PF_PTXAS_ASM_ISA_TOO_OLD, /* "does not support .target" */
    PF_PTXAS_ASM_ISA_TOO_NEW, /* "Unsupported .version" */
    PF_PTXAS_ASM_HUNG,        /* killed at the deadline */
    PF_PTXAS_ASM_FAILED,      /* any other failure (crash, unknown message) */
} pf_ptxas_asm;
const char *pf_ptxas_asm_name(pf_ptxas_asm a);

/* One candidate binary and what it did for the target under decision. */
typedef struct pf_ptxas_cand {
    pf_ptxas_source source;
    char path[PF_PTXAS_PATH_MAX];
    pf_ptxas_state state;
    char state_detail[PF_PTXAS_DETAIL_MAX]; /* why not OK, or "" */
    int cuda_major, cuda_minor;             /* "release 13.0" (state OK) */
    char version_full[32];                  /* "V13.0.88" or "" */
    int isa;                                /* PTX ISA used for the stub, x10 (90 = 9.0) */
    pf_ptxas_asm asm_rc;
    char asm_detail[PF_PTXAS_DETAIL_MAX];   /* the ptxas error line, or "" */
} pf_ptxas_cand;

/* Everything the decision needs for one target.  Tests fill it by hand. */
typedef struct pf_ptxas_facts {
    int arch;                  /* 10*major + minor, e.g. 110 */
    bool pyenv_found;          /* a Python environment was found */
    char pyenv_why[256];       /* if not, why */
    bool triton_present;       /* triton package dir or dist-info found */
    char triton_version[32];   /* "3.6.0" from the dist-info, or "" */
    int triton_major, triton_minor; /* -1 when the version is unknown */
    size_t ncand;
    pf_ptxas_cand cand[PF_PTXAS_MAX_CAND];
} pf_ptxas_facts;

/* ---- pure rules (no I/O) ---- */

/* Triton's sm_arch_from_capability: "sm_110a" for arch >= 90, else "sm_80". */
void pf_ptxas_gpu_name(int arch, char *buf, size_t len);
/* Triton's ptx_get_version: the PTX ISA (x10) Triton writes into `.version`
 * for a ptxas of this CUDA release; -1 for releases Triton rejects (< 10). */
int pf_ptxas_triton_isa(int cuda_major, int cuda_minor);
/* What a target needs.  Values x10 for ISA (90 = 9.0), x100 for CUDA
 * (1300 = 13.0); 0 = not known; max_cuda 0 = no upper limit. */
typedef struct pf_ptxas_req {
    int min_isa;
    int min_cuda;
    int max_cuda;
} pf_ptxas_req;
pf_ptxas_req pf_ptxas_arch_req(int arch);
/* Classify ptxas output (first line that matters into line, may be NULL). */
pf_ptxas_asm pf_ptxas_classify(int exit_code, bool ran, const char *out, char *line, size_t len);
/* The first non-empty line of out, trimmed ("" when none). */
void pf_ptxas_first_line(const char *out, char *line, size_t len);
/* Parse `ptxas --version` text the way Triton does ("release (\d+\.\d+)");
 * also fills full ("V13.0.88") when present.  0 on success, -1 otherwise. */
int pf_ptxas_parse_version(const char *out, int *major, int *minor, char *full, size_t full_len);

/* Which knob Triton consults for a target. */
typedef enum pf_ptxas_role {
    PF_PTXAS_ROLE_NONE,      /* no Triton: only the CUDA toolkit (nvcc JIT) matters */
    PF_PTXAS_ROLE_PTXAS,     /* TRITON_PTXAS_PATH, bundled ptxas */
    PF_PTXAS_ROLE_BLACKWELL, /* TRITON_PTXAS_BLACKWELL_PATH, bundled ptxas-blackwell */
} pf_ptxas_role;

typedef struct pf_ptxas_verdict {
    pf_status status;
    char gpu_name[16];          /* "sm_110a" */
    pf_ptxas_role role;
    const char *variable;       /* "TRITON_PTXAS_BLACKWELL_PATH"; NULL for ROLE_NONE */
    int winner;                 /* cand index Triton uses; -1 = none (Triton raises/hangs) */
    char *winner_why;           /* how Triton got there (or why none) */
    bool inductor_applies;      /* torch inductor sets TRITON_PTXAS_PATH=torch/bin/ptxas */
    int inductor_winner;        /* cand index Triton uses in inductor's workers; -1 none */
    char *inductor_why;
    int skipped_override;       /* env cand Triton silently skipped; -1 none */
    int toolkit;                /* the CUDA toolkit ptxas nvcc would run; -1 none */
    int good;                   /* a cand verified to assemble the target; -1 none */
    char *summary;
    char *remedy;               /* NULL when none */
} pf_ptxas_verdict;

/* Does Triton (at this version/layout) use ptxas-blackwell for arch >= 100? */
bool pf_ptxas_triton_splits(const pf_ptxas_facts *f);
/* Fills v (heap strings: release with pf_ptxas_verdict_free). */
void pf_ptxas_decide(const pf_ptxas_facts *f, pf_ptxas_verdict *v);
void pf_ptxas_verdict_free(pf_ptxas_verdict *v);
/* Evidence object for one target (new reference). */
json_t *pf_ptxas_evidence(const pf_ptxas_facts *f, const pf_ptxas_verdict *v);

/* ---- collector ---- */

/* Inputs of the collector: the environment, passed in so that tests can
 * describe one without touching the process's own. */
typedef struct pf_ptxas_inputs {
    const pf_pyenv *pyenv;      /* NULL: no Python environment */
    const char *pyenv_why;      /* why not (for the evidence) */
    const char *env_ptxas;      /* $TRITON_PTXAS_PATH or NULL when unset */
    const char *env_ptxas_bw;   /* $TRITON_PTXAS_BLACKWELL_PATH or NULL */
    const char *cuda_home;      /* $CUDA_HOME or NULL */
    const char *cuda_path;      /* $CUDA_PATH or NULL */
    const char *path_env;       /* $PATH or NULL */
    const char *tmpdir;         /* preflight's own $TMPDIR for scratch files; NULL: /tmp */
    const char *default_cuda;   /* NULL: "/usr/local/cuda" */
    double timeout_s;           /* per tool run; <= 0: 10 s */
} pf_ptxas_inputs;

typedef struct pf_ptxas_probe pf_ptxas_probe;

/* Find the candidates and run `--version` on each distinct binary.  NULL
 * only when the scratch directory cannot be created (err says why). */
pf_ptxas_probe *pf_ptxas_collect(const pf_ptxas_inputs *in, pf_err *err);
/* Assemble the stub for arch with every usable candidate (each distinct
 * binary once per arch; repeated calls are answered from the cache) and fill
 * facts.  -1 only when the stub cannot be written (err says why). */
int pf_ptxas_assemble(pf_ptxas_probe *p, int arch, pf_ptxas_facts *facts, pf_err *err);
/* How many times a binary was executed so far (tests check the cache). */
size_t pf_ptxas_runs(const pf_ptxas_probe *p);
void pf_ptxas_probe_free(pf_ptxas_probe *p);

/* ---- the probe ---- */
void pf_probe_toolchain_ptxas(pf_probe_ctx *ctx);

#endif

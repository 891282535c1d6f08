/* libnccl.h -- which libnccl.so.2 the server process will load, and which
 * build it is.
 *
 * NCCL refuses to form a communicator across ranks whose NCCL_VERSION_CODE
 * differs ("Mismatched NCCL version detected", since 2.23; the patch level
 * counts), and interface selection rules changed between releases, so other
 * probes need the version too: pf_libnccl_version() is the shared entry.
 *
 * Which copy is loaded: torch's libtorch_cuda.so has DT_NEEDED libnccl.so.2
 * and a search path into the nvidia-nccl wheel.  The dynamic loader looks
 * in DT_RPATH (only when there is no DT_RUNPATH), then LD_LIBRARY_PATH, then
 * DT_RUNPATH, then ld.so.cache, then the default directories; we replay that
 * order on torch's own library.  Without torch the order is: the wheel,
 * torch/lib, LD_LIBRARY_PATH, ld.so.cache, default directories, and
 * /usr/local/cuda/lib64.
 */
#ifndef PF_LIBNCCL_H
#define PF_LIBNCCL_H

#include <jansson.h>
#include <stdbool.h>

#include "core/util.h"
#include "probes/context.h"
#include "probes/env/pyenv.h"

typedef struct pf_libnccl_info {
    char path[1024];         /* the library the server will load ("" when none found) */
    char origin[96];         /* why this one: "LD_LIBRARY_PATH", "torch RUNPATH", ... */
    int version_code;        /* ncclGetVersion when it answered, else the embedded string; 0 unknown */
    char version[24];        /* "2.28.9" */
    char cuda[16];           /* "13.0" from "+cuda13.0"; "" unknown */
    char banner[128];        /* the embedded "NCCL version ..." string */
    int string_code;         /* from the banner; 0 when absent */
    int dlopen_code;         /* ncclGetVersion; 0 when not tried or failed */
    char dlopen_error[256];
    char build_id[65];
    bool static_in_torch;    /* NCCL is linked into libtorch_cuda.so itself */
    /* the nvidia-nccl wheel's copy in the venv, for comparison */
    char wheel_path[1024];
    char wheel_dist[32];     /* "nvidia-nccl-cu13" */
    char wheel_dist_version[32];
    int wheel_code;
    char wheel_build_id[65];
    bool differs_from_wheel; /* loaded copy is another build than the wheel's */
    char searched[2048];     /* "dir (why); dir (why); ..." in search order */
} pf_libnccl_info;

/* "NCCL version 2.28.9+cuda13.0" (or "... 2.28.9 compiled with CUDA 13.0")
 * -> code 22809, "2.28.9", "13.0".  Pure; -1 when not a banner. */
int pf_libnccl_parse_banner(const char *s, int *code, char *ver, size_t vlen, char *cuda, size_t clen);
/* NCCL_VERSION(X,Y,Z): X*1000+Y*100+Z before 2.9, X*10000+Y*100+Z since. */
int pf_libnccl_code(int major, int minor, int patch);
/* 22809 -> "2.28.9". */
void pf_libnccl_code_str(int code, char *buf, size_t len);

/* Version (banner; ncclGetVersion when try_dlopen) and build-id of one file. */
int pf_libnccl_inspect(const char *path, bool try_dlopen, pf_libnccl_info *out, pf_err *err);
/* ncclGetVersion of the library at path, loaded RTLD_LOCAL and closed again. */
int pf_libnccl_dlopen_version(const char *path, int *code, pf_err *err);

/* Locate with an explicit environment (tests): env may be NULL (no venv),
 * ld_library_path may be NULL, ldconfig_p is the text of `ldconfig -p` (NULL
 * = do not consult the cache). */
int pf_libnccl_locate_in(const pf_pyenv *env, const char *ld_library_path, const char *ldconfig_p,
                         bool try_dlopen, pf_libnccl_info *out, pf_err *err);
/* Locate for this node: ctx's Python environment, $LD_LIBRARY_PATH, and
 * `ldconfig -p` (with the tool deadline).  -1 with err when no libnccl.so.2
 * is found or the one found cannot be read. */
int pf_libnccl_locate(pf_probe_ctx *ctx, pf_libnccl_info *out, pf_err *err);
/* The NCCL_VERSION_CODE the server will run (e.g. 22809), 0 when unknown. */
int pf_libnccl_version(pf_probe_ctx *ctx);

json_t *pf_libnccl_to_json(const pf_libnccl_info *info);

#endif

/* dl.h -- loading a shared library at run time and binding a table of its
 * symbols, the one way every dlopen'ed library is used here (the CUDA
 * driver, NVML, libnccl, NCCL net plugins).
 *
 * Why dlopen at all: one preflight binary must run on a CPU-only CI runner,
 * a DGX Spark and a Jetson Thor, and must test the very library the server
 * will load, so nothing vendor-specific is linked at build time.
 *
 * A user declares its functions as slots and a table that names them:
 *
 *     static const char *const cands[] = {"libnvidia-ml.so.1"};
 *     void *h = pf_dl_open(cands, 1, 0, path, sizeof path, &err);
 *     const pf_dl_sym syms[] = {
 *         PF_DL_REQ("nvmlInit_v2", &init),
 *         PF_DL_ALT("nvmlDeviceGetComputeRunningProcesses_v3",
 *                   "nvmlDeviceGetComputeRunningProcesses_v2", &procs),
 *         PF_DL_OPT("nvmlErrorString", &errstr),
 *     };
 *     if (!h || pf_dl_bind(h, path, syms, 3, &err) != 0) ...
 *
 * Ownership: the handle belongs to the caller (dlclose it when done; bound
 * slots are dangling after that).  Nothing here keeps state; dlerror() is
 * per thread, so both functions are as thread-safe as the loader. */
#ifndef PF_DL_H
#define PF_DL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

typedef struct pf_dl_sym {
    const char *name;   /* the symbol, e.g. "cuMemGetInfo_v2" */
    void **slot;        /* where its address goes (NULL when not found) */
    bool optional;      /* missing is not an error; the slot is NULL */
    const char *alt;    /* tried when `name` is missing: an older versioned
                         * name ("..._v2" for "..._v3"); NULL for none */
} pf_dl_sym;

/* Table rows: a required symbol, an optional one, a required one with an
 * older name to fall back on.  `slot` is the address of a pointer (usually a
 * function pointer; POSIX guarantees the conversion). */
#define PF_DL_REQ(name, slot) {(name), (void **)(slot), false, NULL}
#define PF_DL_OPT(name, slot) {(name), (void **)(slot), true, NULL}
#define PF_DL_ALT(name, alt, slot) {(name), (void **)(slot), false, (alt)}

/* dlopen the first of candidates[0..n) that loads, with `flags`
 * (0 means RTLD_NOW | RTLD_LOCAL).  A candidate is a bare soname
 * ("libcuda.so.1", searched the loader's way) or a path.  path_out (cap
 * bytes; may be NULL) gets the file that actually loaded as the loader
 * resolved it (the link map's name), else the candidate as given.
 * Returns the handle, or NULL with err naming every candidate tried and
 * dlerror() for each. */
void *pf_dl_open(const char *const *candidates, size_t n, int flags, char *path_out, size_t cap,
                 pf_err *err);

/* Bind every symbol of syms[0..n) from handle.  A required symbol that is
 * missing (and whose alt is missing too) is an error naming each such
 * symbol and `libname` ("libcuda.so.1 has no symbol cuFoo, cuBar"); then
 * every slot is set to NULL, so no half-bound table is ever used.  An
 * optional missing symbol leaves its slot NULL.  0 or -1. */
int pf_dl_bind(void *handle, const char *libname, const pf_dl_sym *syms, size_t n, pf_err *err);

#endif

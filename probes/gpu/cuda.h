/* cuda.h -- the CUDA driver API, loaded at run time.
 *
 * preflight never links libcuda: one binary must run on a CPU-only CI
 * machine, a DGX Spark and a Jetson Thor.  We dlopen libcuda.so.1 and look up
 * the versioned symbols that cuda.h 13.0 #defines the API names to
 * (cuDeviceTotalMem_v2, cuMemGetInfo_v2, cuDevicePrimaryCtxRelease_v2).
 * This module only collects facts; checks decide elsewhere.
 */
#ifndef PF_CUDA_H
#define PF_CUDA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

#define PF_CUDA_MAX_DEVICES 64

typedef struct pf_cuda_device {
    int ordinal;
    char name[256];
    int cc_major, cc_minor;
    int integrated;            /* 1 on GB10 / Thor (unified memory), 0 discrete, -1 unknown */
    int sm_count;
    uint64_t total_bytes;      /* cuDeviceTotalMem_v2 (no context needed) */
    char pci_bus_id[32];       /* "0000:01:00.0" or "" */
} pf_cuda_device;

/* Facts as collected; plain data so decisions and tests can build it by hand. */
typedef struct pf_cuda_facts {
    bool loaded;               /* libcuda.so.1 was found and its symbols resolved */
    char load_error[256];      /* why not (dlerror text) */
    char lib_path[512];        /* the library actually loaded */
    int init_rc;               /* cuInit's CUresult (0 = success) */
    char init_error[128];      /* cuGetErrorName text for init_rc, if any */
    int driver_version;        /* 1000*major + 10*minor, e.g. 13000; 0 unknown */
    int device_count;
    pf_cuda_device dev[PF_CUDA_MAX_DEVICES];
} pf_cuda_facts;

typedef struct pf_cuda pf_cuda;

/* Open the driver library (NULL path = "libcuda.so.1").  Never fails hard:
 * the returned handle's facts say loaded=false and why.  Returns NULL only
 * when out of memory (which aborts anyway). */
pf_cuda *pf_cuda_open(const char *lib_path);
const pf_cuda_facts *pf_cuda_facts_get(const pf_cuda *cu);
/* Free/total bytes of a device.  Retains the primary context, queries, and
 * releases it again, so no context outlives the call. */
int pf_cuda_mem_info(pf_cuda *cu, int ordinal, uint64_t *free_b, uint64_t *total_b, pf_err *err);
void pf_cuda_close(pf_cuda *cu);

/* "13.0" from 13000. */
void pf_cuda_version_str(int v, char *buf, size_t len);

#endif

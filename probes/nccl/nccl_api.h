/* nccl_api.h -- the part of libnccl and of the CUDA driver the NCCL probe
 * calls, loaded at run time.
 *
 * preflight never links NCCL or CUDA: the probe must load the very
 * libnccl.so.2 the server will load (the venv's, found by libnccl.c, or
 * --libnccl), on a node that may have no CUDA toolkit at all.  NCCL links
 * cudart statically and reaches the driver itself, so the probe needs only
 * libcuda.so.1 for device memory and streams (a CUstream *is* a
 * cudaStream_t, and a CUdeviceptr cast to void* is a valid NCCL buffer).
 *
 * The types below are NCCL's ABI, written out so no nccl.h is needed to
 * build: ncclUniqueId is 128 opaque bytes passed by value; ncclConfig_t is
 * the 2.28 layout (fields are only ever appended, and a library copies
 * min(config.size, its own size), so older libraries ignore the tail);
 * results, data types and reduction ops are ints.
 *
 * Symbols are bound with core/dl.h (pf_dl_open, pf_dl_bind).
 *
 * Ownership: pf_ncclapi_open returns a table that owns both dlopen handles;
 * pf_ncclapi_close unloads them.  Calls through the table follow NCCL's
 * threading rules (one thread per communicator here).
 */
#ifndef PF_NCCL_API_H
#define PF_NCCL_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* ncclResult_t */
enum {
    PF_NCCL_SUCCESS = 0,
    PF_NCCL_UNHANDLED_CUDA = 1,
    PF_NCCL_SYSTEM = 2,
    PF_NCCL_INTERNAL = 3,
    PF_NCCL_INVALID_ARGUMENT = 4,
    PF_NCCL_INVALID_USAGE = 5,
    PF_NCCL_REMOTE = 6,
    PF_NCCL_IN_PROGRESS = 7,
};
enum { PF_NCCL_FLOAT32 = 7, PF_NCCL_SUM = 0 };
/* CUresult values the probe looks at. */
enum { PF_CU_SUCCESS = 0, PF_CU_NOT_READY = 600 };

/* Non-blocking init (ncclCommInitRankConfig + blocking=0) appeared in 2.14. */
#define PF_NCCL_MIN_NONBLOCKING 21400

typedef struct pf_nccl_uid {
    char internal[128];
} pf_nccl_uid;

typedef void *pf_nccl_comm; /* ncclComm_t */
typedef void *pf_cu_stream; /* CUstream == cudaStream_t */
typedef unsigned long long pf_cu_ptr; /* CUdeviceptr */

/* ncclConfig_t as of 2.28 (ncclConfig_v22800). */
typedef struct pf_nccl_config {
    size_t size;
    unsigned int magic;
    unsigned int version;
    int blocking;
    int cgaClusterSize;
    int minCTAs;
    int maxCTAs;
    const char *netName;
    int splitShare;
    int trafficClass;
    const char *commName;
    int collnetEnable;
    int CTAPolicy;
    int shrinkShare;
    int nvlsCTAs;
    int nChannelsPerNetPeer;
    int nvlinkCentricSched;
} pf_nccl_config;

/* NCCL_CONFIG_INITIALIZER: every field "unset" (INT_MIN / NULL). */
void pf_ncclapi_config_init(pf_nccl_config *c);

typedef struct pf_ncclapi {
    void *nccl_dl, *cuda_dl;
    char nccl_path[1024], cuda_path[512];
    int version; /* ncclGetVersion, e.g. 22809 */
    int keep_loaded; /* set when a communicator could not be torn down */

    int (*GetVersion)(int *);
    int (*GetUniqueId)(pf_nccl_uid *);
    int (*CommInitRankConfig)(pf_nccl_comm *, int nranks, pf_nccl_uid id, int rank, pf_nccl_config *);
    int (*CommGetAsyncError)(pf_nccl_comm, int *);
    int (*CommFinalize)(pf_nccl_comm);
    int (*CommDestroy)(pf_nccl_comm);
    int (*CommAbort)(pf_nccl_comm);
    const char *(*GetErrorString)(int);
    const char *(*GetLastError)(pf_nccl_comm); /* optional (2.13+) */
    int (*GroupStart)(void);
    int (*GroupEnd)(void);
    int (*Send)(const void *, size_t, int dtype, int peer, pf_nccl_comm, pf_cu_stream);
    int (*Recv)(void *, size_t, int dtype, int peer, pf_nccl_comm, pf_cu_stream);
    int (*AllReduce)(const void *, void *, size_t, int dtype, int op, pf_nccl_comm, pf_cu_stream);
    int (*AllGather)(const void *, void *, size_t sendcount, int dtype, pf_nccl_comm, pf_cu_stream);

    int (*cuInit)(unsigned);
    int (*cuDeviceGetCount)(int *);
    int (*cuDeviceGet)(int *, int ordinal);
    int (*cuDevicePrimaryCtxRetain)(void **ctx, int dev);
    int (*cuDevicePrimaryCtxRelease)(int dev);
    int (*cuCtxSetCurrent)(void *ctx);
    int (*cuMemAlloc)(pf_cu_ptr *, size_t);
    int (*cuMemFree)(pf_cu_ptr);
    int (*cuMemcpyHtoD)(pf_cu_ptr, const void *, size_t);
    int (*cuMemcpyDtoH)(void *, pf_cu_ptr, size_t);
    int (*cuStreamCreate)(pf_cu_stream *, unsigned flags);
    int (*cuStreamQuery)(pf_cu_stream);
    int (*cuStreamDestroy)(pf_cu_stream);
    int (*cuGetErrorName)(int, const char **);
} pf_ncclapi;

/* Load libnccl (nccl_path, required) and the CUDA driver (cuda_path, NULL =
 * "libcuda.so.1"), bind every symbol, and read the NCCL version.  Fails with
 * a sentence naming the library and the missing symbol, or the version when
 * it is older than non-blocking init (2.14).  RTLD_LOCAL, so two libnccl
 * builds never mix in one process.  *api is zeroed first. */
int pf_ncclapi_open(pf_ncclapi *api, const char *nccl_path, const char *cuda_path, pf_err *err);
void pf_ncclapi_close(pf_ncclapi *api);

/* ncclGetErrorString when loaded, else a fixed name ("ncclRemoteError"). */
const char *pf_ncclapi_result_name(int res);
/* "CUDA_ERROR_..." for a CUresult (through cuGetErrorName when bound). */
const char *pf_ncclapi_cu_name(const pf_ncclapi *api, int res);

#endif

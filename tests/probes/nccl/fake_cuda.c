/* fake_cuda.c -- a stand-in libcuda.so.1 for the NCCL probe's CI tests:
 * "device" memory is host memory, a stream is a counter of pending work
 * (fake_stream.h).  FAKE_CUDA_NO_DEVICE=1 makes cuInit fail as on a node
 * without a GPU.  Like the real driver, a process forked after its parent
 * called cuInit cannot initialise CUDA (CUDA_ERROR_NOT_INITIALIZED, seen
 * on the H100: docs/GPU-VERIFICATION.md run 4).  Test fixture only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fake_stream.h"

#define API __attribute__((visibility("default")))
typedef unsigned long long dptr;

API int cuInit(unsigned f);
API int cuDeviceGetCount(int *n);
API int cuDeviceGet(int *d, int o);
API int cuDevicePrimaryCtxRetain(void **c, int d);
API int cuDevicePrimaryCtxRelease_v2(int d);
API int cuCtxSetCurrent(void *c);
API int cuMemAlloc_v2(dptr *p, size_t n);
API int cuMemFree_v2(dptr p);
API int cuMemcpyHtoD_v2(dptr d, const void *h, size_t n);
API int cuMemcpyDtoH_v2(void *h, dptr d, size_t n);
API int cuStreamCreate(void **s, unsigned f);
API int cuStreamQuery(void *s);
API int cuStreamDestroy_v2(void *s);
API int cuGetErrorName(int e, const char **s);
/* what gpu.driver asks (a node check run before the ranks) */
API int cuDriverGetVersion(int *v);
API int cuDeviceGetName(char *name, int len, int d);
API int cuDeviceGetAttribute(int *v, int attr, int d);
API int cuDeviceTotalMem_v2(size_t *b, int d);
API int cuMemGetInfo_v2(size_t *free_b, size_t *total_b);
API int cuCtxGetCurrent(void **c);

int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
int cuDeviceGetName(char *name, int len, int d)
{
    (void)d;
    snprintf(name, (size_t)len, "Stand-in GPU");
    return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int d)
{
    (void)d;
    *v = attr == 75 ? 9 : attr == 76 ? 0 : 1; /* compute capability 9.0; 1 for the rest */
    return 0;
}
int cuDeviceTotalMem_v2(size_t *b, int d) { (void)d; *b = (size_t)80 << 30; return 0; }
int cuMemGetInfo_v2(size_t *free_b, size_t *total_b) { *free_b = (size_t)79 << 30; *total_b = (size_t)80 << 30; return 0; }
int cuCtxGetCurrent(void **c) { *c = (void *)0x1; return 0; }

static pid_t inited_by; /* the process that called cuInit first */

int cuInit(unsigned f)
{
    (void)f;
    const char *e = getenv("FAKE_CUDA_NO_DEVICE");
    if (e && *e == '1')
        return 100; /* CUDA_ERROR_NO_DEVICE */
    if (inited_by && inited_by != getpid())
        return 3; /* CUDA_ERROR_NOT_INITIALIZED: CUDA does not survive fork() */
    inited_by = getpid();
    return 0;
}
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int o) { *d = o; return 0; }
int cuDevicePrimaryCtxRetain(void **c, int d) { (void)d; *c = (void *)0x1; return 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { (void)d; return 0; }
int cuCtxSetCurrent(void *c) { (void)c; return 0; }
int cuMemAlloc_v2(dptr *p, size_t n)
{
    void *m = calloc(1, n);
    if (!m)
        return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    *p = (dptr)(uintptr_t)m;
    return 0;
}
int cuMemFree_v2(dptr p) { free((void *)(uintptr_t)p); return 0; }
int cuMemcpyHtoD_v2(dptr d, const void *h, size_t n) { memcpy((void *)(uintptr_t)d, h, n); return 0; }
int cuMemcpyDtoH_v2(void *h, dptr d, size_t n) { memcpy(h, (void *)(uintptr_t)d, n); return 0; }
int cuStreamCreate(void **s, unsigned f) { (void)f; *s = calloc(1, sizeof(fake_stream)); return 0; }
int cuStreamQuery(void *s) { return atomic_load(&((fake_stream *)s)->pending) > 0 ? 600 : 0; }
int cuStreamDestroy_v2(void *s) { free(s); return 0; }
int cuGetErrorName(int e, const char **s)
{
    *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : e == 600 ? "CUDA_ERROR_NOT_READY" : e == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : e == 3 ? "CUDA_ERROR_NOT_INITIALIZED"
                                                                                           : "CUDA_ERROR_UNKNOWN";
    return 0;
}

/* nccl_api.c -- dlopen libnccl and libcuda, bind the probe's symbol table. */
#include "probes/nccl/nccl_api.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

void pf_ncclapi_config_init(pf_nccl_config *c)
{
    memset(c, 0, sizeof *c);
    c->size = sizeof *c;
    c->magic = 0xcafebeef;
    c->version = 22809; /* the layout above is 2.28's */
    c->blocking = c->cgaClusterSize = c->minCTAs = c->maxCTAs = INT_MIN;
    c->splitShare = c->trafficClass = c->collnetEnable = c->CTAPolicy = INT_MIN;
    c->shrinkShare = c->nvlsCTAs = c->nChannelsPerNetPeer = c->nvlinkCentricSched = INT_MIN;
}

/* Bind a table; the first missing required symbol is the error. */
static int bind(void *dl, const char *lib, const pf_ncclapi_sym *t, size_t n, pf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        dlerror();
        void *p = dlsym(dl, t[i].name);
        if (!p && !t[i].optional)
            return pf_err_set(err, "%s has no symbol %s: not a usable %s", lib, t[i].name,
                              strstr(lib, "nccl") ? "libnccl" : "CUDA driver");
        *t[i].slot = p;
    }
    return 0;
}

int pf_ncclapi_open(pf_ncclapi *api, const char *nccl_path, const char *cuda_path, pf_err *err)
{
    memset(api, 0, sizeof *api);
    if (!nccl_path || !*nccl_path)
        return pf_err_set(err, "no libnccl.so.2 to load (give --libnccl PATH)");
    if (!cuda_path || !*cuda_path)
        cuda_path = "libcuda.so.1";
    pf_strlcpy(api->nccl_path, nccl_path, sizeof api->nccl_path);
    pf_strlcpy(api->cuda_path, cuda_path, sizeof api->cuda_path);

    /* The driver first: NCCL finds it through cudart's entry points, and a
     * node without one is a skip, not an NCCL error. */
    api->cuda_dl = dlopen(cuda_path, RTLD_NOW | RTLD_LOCAL);
    if (!api->cuda_dl)
        return pf_err_set(err, "no CUDA driver: dlopen %s: %s", cuda_path, dlerror());
    const pf_ncclapi_sym cu[] = {
        {"cuInit", (void **)&api->cuInit, 0},
        {"cuDeviceGetCount", (void **)&api->cuDeviceGetCount, 0},
        {"cuDeviceGet", (void **)&api->cuDeviceGet, 0},
        {"cuDevicePrimaryCtxRetain", (void **)&api->cuDevicePrimaryCtxRetain, 0},
        {"cuDevicePrimaryCtxRelease_v2", (void **)&api->cuDevicePrimaryCtxRelease, 0},
        {"cuCtxSetCurrent", (void **)&api->cuCtxSetCurrent, 0},
        {"cuMemAlloc_v2", (void **)&api->cuMemAlloc, 0},
        {"cuMemFree_v2", (void **)&api->cuMemFree, 0},
        {"cuMemcpyHtoD_v2", (void **)&api->cuMemcpyHtoD, 0},
        {"cuMemcpyDtoH_v2", (void **)&api->cuMemcpyDtoH, 0},
        {"cuStreamCreate", (void **)&api->cuStreamCreate, 0},
        {"cuStreamQuery", (void **)&api->cuStreamQuery, 0},
        {"cuStreamDestroy_v2", (void **)&api->cuStreamDestroy, 0},
        {"cuGetErrorName", (void **)&api->cuGetErrorName, 1},
    };
    if (bind(api->cuda_dl, cuda_path, cu, sizeof cu / sizeof cu[0], err) != 0) {
        pf_ncclapi_close(api);
        return -1;
    }

    api->nccl_dl = dlopen(nccl_path, RTLD_NOW | RTLD_LOCAL);
    if (!api->nccl_dl) {
        pf_err_set(err, "libnccl failed to load: dlopen %s: %s", nccl_path, dlerror());
        pf_ncclapi_close(api);
        return -1;
    }
    const pf_ncclapi_sym nc[] = {
        {"ncclGetVersion", (void **)&api->GetVersion, 0},
        {"ncclGetUniqueId", (void **)&api->GetUniqueId, 0},
        {"ncclCommInitRankConfig", (void **)&api->CommInitRankConfig, 1},
        {"ncclCommGetAsyncError", (void **)&api->CommGetAsyncError, 0},
        {"ncclCommFinalize", (void **)&api->CommFinalize, 1},
        {"ncclCommDestroy", (void **)&api->CommDestroy, 0},
        {"ncclCommAbort", (void **)&api->CommAbort, 0},
        {"ncclGetErrorString", (void **)&api->GetErrorString, 0},
        {"ncclGetLastError", (void **)&api->GetLastError, 1},
        {"ncclGroupStart", (void **)&api->GroupStart, 0},
        {"ncclGroupEnd", (void **)&api->GroupEnd, 0},
        {"ncclSend", (void **)&api->Send, 0},
        {"ncclRecv", (void **)&api->Recv, 0},
        {"ncclAllReduce", (void **)&api->AllReduce, 0},
        {"ncclAllGather", (void **)&api->AllGather, 0},
    };
    if (bind(api->nccl_dl, nccl_path, nc, sizeof nc / sizeof nc[0], err) != 0) {
        pf_ncclapi_close(api);
        return -1;
    }
    int v = 0;
    if (api->GetVersion(&v) != 0 || v <= 0) {
        pf_err_set(err, "%s: ncclGetVersion failed", nccl_path);
        pf_ncclapi_close(api);
        return -1;
    }
    api->version = v;
    if (v < PF_NCCL_MIN_NONBLOCKING || !api->CommInitRankConfig || !api->CommFinalize) {
        char have[24];
        snprintf(have, sizeof have, "%d.%d.%d", v >= 20900 ? v / 10000 : v / 1000,
                 v >= 20900 ? v / 100 % 100 : v / 100 % 10, v % 100);
        pf_err_set(err, "%s is NCCL %s, too old for non-blocking init (ncclCommInitRankConfig, "
                        "ncclCommFinalize): NCCL 2.14 or newer is needed", nccl_path, have);
        pf_ncclapi_close(api);
        return -1;
    }
    return 0;
}

void pf_ncclapi_close(pf_ncclapi *api)
{
    /* libnccl keeps threads (proxy, bootstrap root) until its comms are gone;
     * unloading it under a live thread would crash, so it stays mapped when
     * a communicator could not be torn down (keep_loaded) -- the rank
     * process exits soon after anyway. */
    if (api->nccl_dl && !api->keep_loaded)
        dlclose(api->nccl_dl);
    if (api->cuda_dl)
        dlclose(api->cuda_dl);
    api->nccl_dl = api->cuda_dl = NULL;
}

const char *pf_ncclapi_result_name(int res)
{
    static const char *const names[] = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError",
                                        "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage",
                                        "ncclRemoteError", "ncclInProgress"};
    return res >= 0 && res < 8 ? names[res] : "ncclUnknownResult";
}

const char *pf_ncclapi_cu_name(const pf_ncclapi *api, int res)
{
    const char *s = NULL;
    if (api && api->cuGetErrorName && api->cuGetErrorName(res, &s) == 0 && s)
        return s;
    return res == PF_CU_NOT_READY ? "CUDA_ERROR_NOT_READY" : "CUDA error";
}

/* nccl_api.c -- dlopen libnccl and libcuda, bind the probe's symbol table. */
#include "probes/nccl/nccl_api.h"

#include "core/dl.h"

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
    pf_err e = {{0}};
    const char *cc[] = {cuda_path};
    api->cuda_dl = pf_dl_open(cc, 1, 0, api->cuda_path, sizeof api->cuda_path, &e);
    if (!api->cuda_dl)
        return pf_err_set(err, "no CUDA driver: %s", e.msg);
    const pf_dl_sym cu[] = {
        PF_DL_REQ("cuInit", &api->cuInit),
        PF_DL_REQ("cuDeviceGetCount", &api->cuDeviceGetCount),
        PF_DL_REQ("cuDeviceGet", &api->cuDeviceGet),
        PF_DL_REQ("cuDevicePrimaryCtxRetain", &api->cuDevicePrimaryCtxRetain),
        PF_DL_REQ("cuDevicePrimaryCtxRelease_v2", &api->cuDevicePrimaryCtxRelease),
        PF_DL_REQ("cuCtxSetCurrent", &api->cuCtxSetCurrent),
        PF_DL_REQ("cuMemAlloc_v2", &api->cuMemAlloc),
        PF_DL_REQ("cuMemFree_v2", &api->cuMemFree),
        PF_DL_REQ("cuMemcpyHtoD_v2", &api->cuMemcpyHtoD),
        PF_DL_REQ("cuMemcpyDtoH_v2", &api->cuMemcpyDtoH),
        PF_DL_REQ("cuStreamCreate", &api->cuStreamCreate),
        PF_DL_REQ("cuStreamQuery", &api->cuStreamQuery),
        PF_DL_REQ("cuStreamDestroy_v2", &api->cuStreamDestroy),
        PF_DL_OPT("cuGetErrorName", &api->cuGetErrorName),
    };
    if (pf_dl_bind(api->cuda_dl, api->cuda_path, cu, sizeof cu / sizeof cu[0], err) != 0) {
        pf_ncclapi_close(api);
        return -1;
    }

    const char *nn[] = {nccl_path};
    api->nccl_dl = pf_dl_open(nn, 1, 0, api->nccl_path, sizeof api->nccl_path, &e);
    if (!api->nccl_dl) {
        pf_err_set(err, "libnccl failed to load: %s", e.msg);
        pf_ncclapi_close(api);
        return -1;
    }
    const pf_dl_sym nc[] = {
        PF_DL_REQ("ncclGetVersion", &api->GetVersion),
        PF_DL_REQ("ncclGetUniqueId", &api->GetUniqueId),
        PF_DL_OPT("ncclCommInitRankConfig", &api->CommInitRankConfig),
        PF_DL_REQ("ncclCommGetAsyncError", &api->CommGetAsyncError),
        PF_DL_OPT("ncclCommFinalize", &api->CommFinalize),
        PF_DL_REQ("ncclCommDestroy", &api->CommDestroy),
        PF_DL_REQ("ncclCommAbort", &api->CommAbort),
        PF_DL_REQ("ncclGetErrorString", &api->GetErrorString),
        PF_DL_OPT("ncclGetLastError", &api->GetLastError),
        PF_DL_REQ("ncclGroupStart", &api->GroupStart),
        PF_DL_REQ("ncclGroupEnd", &api->GroupEnd),
        PF_DL_REQ("ncclSend", &api->Send),
        PF_DL_REQ("ncclRecv", &api->Recv),
        PF_DL_REQ("ncclAllReduce", &api->AllReduce),
        PF_DL_REQ("ncclAllGather", &api->AllGather),
    };
    if (pf_dl_bind(api->nccl_dl, api->nccl_path, nc, sizeof nc / sizeof nc[0], err) != 0) {
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

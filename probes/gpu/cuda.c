/* cuda.c -- see cuda.h.
 *
 * Only the handful of driver entry points preflight needs are resolved.  The
 * types are declared here rather than taken from cuda.h so that the build
 * needs no CUDA headers either: CUresult and CUdevice are ints, CUcontext a
 * pointer -- stable ABI since CUDA 4.
 */
#include "probes/gpu/cuda.h"

#include "core/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;

enum {
    ATTR_MULTIPROCESSOR_COUNT = 16,
    ATTR_INTEGRATED = 18,
    ATTR_PCI_BUS_ID = 33,
    ATTR_PCI_DEVICE_ID = 34,
    ATTR_PCI_DOMAIN_ID = 50,
    ATTR_CC_MAJOR = 75,
    ATTR_CC_MINOR = 76,
};

struct pf_cuda {
    void *dl;
    pf_cuda_facts facts;
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDriverGetVersion)(int *);
    CUresult (*cuDeviceGetCount)(int *);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDeviceGetName)(char *, int, CUdevice);
    CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*cuDeviceTotalMem)(size_t *, CUdevice);
    CUresult (*cuMemGetInfo)(size_t *, size_t *);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
    CUresult (*cuCtxSetCurrent)(CUcontext);
    CUresult (*cuCtxGetCurrent)(CUcontext *);
    CUresult (*cuGetErrorName)(CUresult, const char **);
};

static void err_name(const pf_cuda *cu, CUresult rc, char *buf, size_t len)
{
    const char *name = NULL;
    if (cu->cuGetErrorName && cu->cuGetErrorName(rc, &name) == 0 && name)
        snprintf(buf, len, "%s (%d)", name, rc);
    else
        snprintf(buf, len, "CUresult %d", rc);
}

static void load(pf_cuda *cu, const char *lib_path)
{
    pf_cuda_facts *f = &cu->facts;
    const char *want = lib_path ? lib_path : "libcuda.so.1";
    pf_strlcpy(f->lib_path, want, sizeof f->lib_path);
    pf_err err = {{0}};
    cu->dl = pf_dl_open(&want, 1, 0, f->lib_path, sizeof f->lib_path, &err);
    if (!cu->dl) {
        pf_strlcpy(f->lib_path, want, sizeof f->lib_path);
        pf_strlcpy(f->load_error, err.msg, sizeof f->load_error);
        return;
    }
    /* The versioned names are the ones current drivers keep compatible; the
     * unversioned cuDeviceTotalMem/cuMemGetInfo are the 32-bit-size ABI. */
    const pf_dl_sym syms[] = {
        PF_DL_REQ("cuInit", &cu->cuInit),
        PF_DL_REQ("cuDriverGetVersion", &cu->cuDriverGetVersion),
        PF_DL_REQ("cuDeviceGetCount", &cu->cuDeviceGetCount),
        PF_DL_REQ("cuDeviceGet", &cu->cuDeviceGet),
        PF_DL_REQ("cuDeviceGetName", &cu->cuDeviceGetName),
        PF_DL_REQ("cuDeviceGetAttribute", &cu->cuDeviceGetAttribute),
        PF_DL_REQ("cuDeviceTotalMem_v2", &cu->cuDeviceTotalMem),
        PF_DL_REQ("cuMemGetInfo_v2", &cu->cuMemGetInfo),
        PF_DL_REQ("cuDevicePrimaryCtxRetain", &cu->cuDevicePrimaryCtxRetain),
        PF_DL_REQ("cuDevicePrimaryCtxRelease_v2", &cu->cuDevicePrimaryCtxRelease),
        PF_DL_REQ("cuCtxSetCurrent", &cu->cuCtxSetCurrent),
        PF_DL_REQ("cuCtxGetCurrent", &cu->cuCtxGetCurrent),
        PF_DL_OPT("cuGetErrorName", &cu->cuGetErrorName),
    };
    if (pf_dl_bind(cu->dl, f->lib_path, syms, sizeof syms / sizeof syms[0], &err) != 0) {
        snprintf(f->load_error, sizeof f->load_error, "%s (driver too old?)", err.msg);
        return;
    }
    f->loaded = true;

    /* The version is readable even when cuInit fails (e.g. no device). */
    cu->cuDriverGetVersion(&f->driver_version);
    f->init_rc = cu->cuInit(0);
    if (f->init_rc != 0) {
        err_name(cu, f->init_rc, f->init_error, sizeof f->init_error);
        return;
    }
    int n = 0;
    if (cu->cuDeviceGetCount(&n) != 0)
        n = 0;
    if (n > PF_CUDA_MAX_DEVICES)
        n = PF_CUDA_MAX_DEVICES;
    for (int i = 0; i < n; i++) {
        pf_cuda_device *d = &f->dev[f->device_count];
        CUdevice dev;
        memset(d, 0, sizeof *d);
        d->ordinal = i;
        d->integrated = -1;
        if (cu->cuDeviceGet(&dev, i) != 0)
            continue;
        if (cu->cuDeviceGetName(d->name, (int)sizeof d->name, dev) != 0)
            pf_strlcpy(d->name, "unknown", sizeof d->name);
        cu->cuDeviceGetAttribute(&d->cc_major, ATTR_CC_MAJOR, dev);
        cu->cuDeviceGetAttribute(&d->cc_minor, ATTR_CC_MINOR, dev);
        if (cu->cuDeviceGetAttribute(&d->integrated, ATTR_INTEGRATED, dev) != 0)
            d->integrated = -1;
        cu->cuDeviceGetAttribute(&d->sm_count, ATTR_MULTIPROCESSOR_COUNT, dev);
        size_t total = 0;
        if (cu->cuDeviceTotalMem(&total, dev) == 0)
            d->total_bytes = total;
        int dom = 0, bus = 0, slot = 0;
        if (cu->cuDeviceGetAttribute(&dom, ATTR_PCI_DOMAIN_ID, dev) == 0 &&
            cu->cuDeviceGetAttribute(&bus, ATTR_PCI_BUS_ID, dev) == 0 &&
            cu->cuDeviceGetAttribute(&slot, ATTR_PCI_DEVICE_ID, dev) == 0)
            snprintf(d->pci_bus_id, sizeof d->pci_bus_id, "%04x:%02x:%02x.0", dom, bus, slot);
        f->device_count++;
    }
}

pf_cuda *pf_cuda_open(const char *lib_path)
{
    pf_cuda *cu = pf_xcalloc(1, sizeof *cu);
    load(cu, lib_path);
    return cu;
}

const pf_cuda_facts *pf_cuda_facts_get(const pf_cuda *cu)
{
    return &cu->facts;
}

int pf_cuda_mem_info(pf_cuda *cu, int ordinal, uint64_t *free_b, uint64_t *total_b, pf_err *err)
{
    const pf_cuda_facts *f = &cu->facts;
    if (!f->loaded)
        return pf_err_set(err, "CUDA driver not loaded: %s", f->load_error);
    if (f->init_rc != 0)
        return pf_err_set(err, "cuInit failed: %s", f->init_error);
    CUdevice dev;
    char en[128];
    CUresult rc = cu->cuDeviceGet(&dev, ordinal);
    if (rc != 0) {
        err_name(cu, rc, en, sizeof en);
        return pf_err_set(err, "cuDeviceGet(%d): %s", ordinal, en);
    }
    /* cuMemGetInfo needs a current context (201 without one).  The primary
     * context is the one the server itself will use, and retaining it does not
     * allocate a second context; we restore whatever was current before. */
    CUcontext prev = NULL, ctx = NULL;
    cu->cuCtxGetCurrent(&prev);
    rc = cu->cuDevicePrimaryCtxRetain(&ctx, dev);
    if (rc != 0) {
        err_name(cu, rc, en, sizeof en);
        return pf_err_set(err, "cuDevicePrimaryCtxRetain(GPU %d): %s", ordinal, en);
    }
    int ret = 0;
    rc = cu->cuCtxSetCurrent(ctx);
    if (rc == 0) {
        size_t fr = 0, to = 0;
        rc = cu->cuMemGetInfo(&fr, &to);
        if (rc == 0) {
            *free_b = fr;
            *total_b = to;
        } else {
            err_name(cu, rc, en, sizeof en);
            ret = pf_err_set(err, "cuMemGetInfo(GPU %d): %s", ordinal, en);
        }
    } else {
        err_name(cu, rc, en, sizeof en);
        ret = pf_err_set(err, "cuCtxSetCurrent(GPU %d): %s", ordinal, en);
    }
    cu->cuCtxSetCurrent(prev);
    cu->cuDevicePrimaryCtxRelease(dev);
    return ret;
}

void pf_cuda_close(pf_cuda *cu)
{
    if (!cu)
        return;
    /* Never dlclose the driver: it keeps threads and atexit state that do not
     * survive being unmapped.  The process is about to end anyway. */
    free(cu);
}

void pf_cuda_version_str(int v, char *buf, size_t len)
{
    if (v <= 0)
        snprintf(buf, len, "unknown");
    else
        snprintf(buf, len, "%d.%d", v / 1000, (v % 1000) / 10);
}

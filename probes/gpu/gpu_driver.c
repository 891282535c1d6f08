/* gpu_driver.c -- see gpu_driver.h.
 *
 * No driver or no GPU is a skip, not a failure: the same `preflight check`
 * runs on CPU-only CI machines (with --arch) and there is nothing to fix.  A
 * driver that is installed but cannot initialise is a failure, because the
 * server will die the same way.
 */
#include "probes/gpu/gpu_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CUresult values from cuda.h 13.0 that have a specific remedy. */
enum {
    CU_NO_DEVICE = 100,
    CU_INSUFFICIENT_DRIVER = 35,
    CU_SYSTEM_DRIVER_MISMATCH = 803,
    CU_COMPAT_NOT_SUPPORTED = 804,
    CU_NOT_INITIALIZED = 3,
    CU_UNKNOWN = 999,
};

static const char *init_remedy(int rc)
{
    switch (rc) {
    case CU_SYSTEM_DRIVER_MISMATCH:
        return "The kernel module and the user-space driver (libcuda) have different versions, usually "
               "after a driver upgrade without a reboot: reboot, or reload the nvidia modules "
               "(`sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia`).";
    case CU_COMPAT_NOT_SUPPORTED:
        return "A CUDA forward-compatibility libcuda is on the library path but this GPU does not "
               "support forward compatibility: remove the cuda-compat directory from LD_LIBRARY_PATH "
               "(or /etc/ld.so.conf.d) so the system driver's libcuda is used.";
    case CU_INSUFFICIENT_DRIVER:
        return "The installed driver is older than the CUDA runtime requires: install driver >= 580 for "
               "CUDA 13.x (>= 570 for 12.8).";
    default:
        return "Check `nvidia-smi` and `sudo dmesg | grep -i -E 'nvrm|xid'` on this node; the driver "
               "loaded but could not initialise the GPU.";
    }
}

static double gib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

json_t *pf_gpu_driver_facts_json(const pf_cuda_facts *f)
{
    char ver[32];
    pf_cuda_version_str(f->driver_version, ver, sizeof ver);
    json_t *gpus = json_array();
    for (int i = 0; i < f->device_count; i++) {
        const pf_cuda_device *d = &f->dev[i];
        char cc[16];
        snprintf(cc, sizeof cc, "%d.%d", d->cc_major, d->cc_minor);
        json_t *g = json_pack("{s:i,s:s,s:s,s:I,s:i}", "ordinal", d->ordinal, "name", d->name,
                              "compute_capability", cc, "total_bytes", (json_int_t)d->total_bytes,
                              "sm_count", d->sm_count);
        json_object_set_new(g, "integrated", d->integrated < 0 ? json_null() : json_boolean(d->integrated));
        json_object_set_new(g, "pci_bus_id", d->pci_bus_id[0] ? json_string(d->pci_bus_id) : json_null());
        json_array_append_new(gpus, g);
    }
    json_t *o = json_object();
    json_object_set_new(o, "library", f->loaded ? json_string(f->lib_path) : json_null());
    json_object_set_new(o, "load_error", f->loaded ? json_null() : json_string(f->load_error));
    json_object_set_new(o, "cuda_driver_api", f->driver_version ? json_string(ver) : json_null());
    json_object_set_new(o, "cuda_driver_api_code", json_integer(f->driver_version));
    json_object_set_new(o, "init_result", f->loaded ? json_integer(f->init_rc) : json_null());
    json_object_set_new(o, "init_error", f->init_error[0] ? json_string(f->init_error) : json_null());
    json_object_set_new(o, "gpus", gpus);
    return o;
}

void pf_gpu_driver_evaluate(const pf_cuda_facts *f, const char *cvd, pf_check *c)
{
    json_t *ev = pf_check_evidence(c);
    json_object_update_new(ev, pf_gpu_driver_facts_json(f));
    if (!f->loaded) {
        pf_check_set(c, PF_SKIP, "no CUDA driver on this node (%s)", f->load_error);
        return;
    }
    char ver[32];
    pf_cuda_version_str(f->driver_version, ver, sizeof ver);
    if (f->init_rc == CU_NO_DEVICE) {
        pf_check_set(c, PF_SKIP, "CUDA driver %s loaded but no GPU is visible%s%s%s", ver,
                     cvd ? " (CUDA_VISIBLE_DEVICES=" : "", cvd ? cvd : "", cvd ? ")" : "");
        return;
    }
    if (f->init_rc != 0) {
        pf_check_set(c, PF_FAIL, "CUDA driver %s loaded from %s but cuInit failed: %s", ver, f->lib_path,
                     f->init_error);
        pf_check_remedy(c, "%s", init_remedy(f->init_rc));
        return;
    }
    if (f->device_count == 0) {
        pf_check_set(c, PF_SKIP, "CUDA driver %s initialised but reports no devices", ver);
        return;
    }

    char list[1024] = "";
    bool legacy_thor = false;
    for (int i = 0; i < f->device_count; i++) {
        const pf_cuda_device *d = &f->dev[i];
        char one[400];
        snprintf(one, sizeof one, "%s%s (%d.%d, %.1f GiB%s)", i ? "; " : "", d->name, d->cc_major,
                 d->cc_minor, gib(d->total_bytes), d->integrated == 1 ? ", unified memory" : "");
        strncat(list, one, sizeof list - strlen(list) - 1);
        if (d->cc_major == 10 && d->cc_minor == 1)
            legacy_thor = true;
    }
    if (legacy_thor) {
        /* CUDA 13.0 renamed sm_101 to sm_110: a Thor that reports 10.1 runs
         * the pre-CUDA-13 (nvgpu) driver stack, so cu13x wheels built for
         * sm_110 will not load on it and vice versa. */
        pf_check_set(c, PF_WARN,
                     "driver %s, %d GPU%s: %s -- compute capability 10.1 is Jetson Thor under the "
                     "pre-CUDA-13 numbering (sm_101); CUDA 13 calls the same GPU 11.0 (sm_110)",
                     ver, f->device_count, f->device_count == 1 ? "" : "s", list);
        pf_check_remedy(c, "Either upgrade the Thor to JetPack 7 / L4T r38+ with CUDA 13 (it then reports "
                           "CC 11.0 and runs sm_110 wheels), or use CUDA 12.8/12.9 builds that contain "
                           "sm_101 on every package of the serving stack. Do not mix the two numberings "
                           "across nodes.");
        return;
    }
    pf_check_set(c, PF_PASS, "driver %s, %d GPU%s: %s", ver, f->device_count,
                 f->device_count == 1 ? "" : "s", list);
}

int pf_gpu_kernel_module_version(const char *proc_text, char *buf, size_t len)
{
    if (len)
        buf[0] = '\0';
    const char *p = proc_text ? strstr(proc_text, "Kernel Module") : NULL;
    if (!p)
        return -1;
    p += strlen("Kernel Module");
    while (*p == ' ' || *p == '\t')
        p++;
    /* Jetson's open driver prints "for aarch64" before the version. */
    if (strncmp(p, "for ", 4) == 0) {
        p = strchr(p + 4, ' ');
        while (p && *p == ' ')
            p++;
    }
    size_t n = 0;
    while (p && p[n] && ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'))
        n++;
    if (n == 0)
        return -1;
    snprintf(buf, len, "%.*s", (int)n, p);
    return 0;
}

void pf_probe_gpu_driver(pf_probe_ctx *ctx)
{
    const pf_cuda_facts *f = pf_ctx_cuda_facts(ctx);
    pf_check *c = pf_probe_check_add(ctx, pf_probe_gpu_driver);
    /* The driver was initialised in THIS process, so the devices it saw are
     * filtered by this process's CUDA_VISIBLE_DEVICES (ctx->env_own), not
     * by the judged environment's. */
    pf_gpu_driver_evaluate(f, pf_env_get(ctx->env_own, "CUDA_VISIBLE_DEVICES"), c);
    json_t *facts = pf_gpu_driver_facts_json(f);
    char *text = pf_read_file("/proc/driver/nvidia/version", 1 << 16, NULL, NULL);
    char kver[64];
    json_t *kv = pf_gpu_kernel_module_version(text, kver, sizeof kver) == 0 ? json_string(kver) : json_null();
    json_object_set(facts, "kernel_module", kv);
    json_object_set_new(pf_check_evidence(c), "kernel_module", kv);
    free(text);
    json_object_set_new(pf_node_facts(ctx->node), "cuda", facts);
}

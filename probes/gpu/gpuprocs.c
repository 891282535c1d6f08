/* gpuprocs.c -- other processes on the GPU: NVML, else a /proc scan (see gpuprocs.h). */
#include "probes/gpu/gpuprocs.h"

#include "core/dl.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* nvml.h (CUDA 12/13): nvmlProcessInfo_t as taken by
 * nvmlDeviceGetComputeRunningProcesses_v3 (and _v2). */
typedef struct nvml_proc_info {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvml_proc_info;

#define NVML_SUCCESS 0
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)

typedef int (*nvml_init_fn)(void);
typedef int (*nvml_shutdown_fn)(void);
typedef const char *(*nvml_errstr_fn)(int);
typedef int (*nvml_by_pci_fn)(const char *, void **);
typedef int (*nvml_by_index_fn)(unsigned int, void **);
typedef int (*nvml_procs_fn)(void *, unsigned int *, nvml_proc_info *);

static void read_comm(const char *proc_root, int pid, char *buf, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%d/comm", proc_root, pid);
    char *line = pf_read_line(path);
    pf_strlcpy(buf, line ? line : "", len);
    free(line);
}

static void push_proc(pf_gpu_procs *g, const pf_gpu_proc *p)
{
    g->p = pf_xrealloc(g->p, (g->n + 1) * sizeof g->p[0]);
    g->p[g->n++] = *p;
}

static const char *nvml_err(nvml_errstr_fn f, int rc)
{
    const char *s = f ? f(rc) : NULL;
    return s ? s : "unknown NVML error";
}

int pf_gpuprocs_nvml(const char *lib_path, const char *pci_bus_id, int ordinal, pid_t self,
                     pf_gpu_procs *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    const char *lib = lib_path ? lib_path : "libnvidia-ml.so.1";
    void *h = pf_dl_open(&lib, 1, 0, NULL, 0, err);
    if (!h) {
        char why[sizeof err->msg];
        pf_strlcpy(why, err ? err->msg : "", sizeof why);
        return pf_err_set(err, "NVML not available: %s", why);
    }
    nvml_init_fn init;
    nvml_shutdown_fn shutdown;
    nvml_errstr_fn errstr;
    nvml_by_pci_fn by_pci;
    nvml_by_index_fn by_index;
    nvml_procs_fn procs;
    const pf_dl_sym syms[] = {
        PF_DL_REQ("nvmlInit_v2", &init),
        PF_DL_REQ("nvmlShutdown", &shutdown),
        PF_DL_OPT("nvmlErrorString", &errstr),
        PF_DL_OPT("nvmlDeviceGetHandleByPciBusId_v2", &by_pci),
        PF_DL_REQ("nvmlDeviceGetHandleByIndex_v2", &by_index),
        /* _v3 since driver 510; older drivers only have _v2 (same layout
         * up to the fields we read). */
        PF_DL_ALT("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2", &procs),
    };
    if (pf_dl_bind(h, lib, syms, sizeof syms / sizeof syms[0], err) != 0) {
        dlclose(h);
        return -1;
    }
    int rc = init();
    if (rc != NVML_SUCCESS) {
        pf_err_set(err, "nvmlInit_v2 failed: %s (%d)", nvml_err(errstr, rc), rc);
        dlclose(h);
        return -1;
    }
    void *dev = NULL;
    rc = -1;
    if (by_pci && pci_bus_id && *pci_bus_id)
        rc = by_pci(pci_bus_id, &dev);
    if (rc != NVML_SUCCESS)
        rc = by_index((unsigned int)(ordinal < 0 ? 0 : ordinal), &dev);
    if (rc != NVML_SUCCESS) {
        pf_err_set(err, "NVML has no device %s (index %d): %s (%d)", pci_bus_id ? pci_bus_id : "", ordinal,
                   nvml_err(errstr, rc), rc);
        goto fail;
    }

    /* The process list can grow between the sizing call and the real one. */
    nvml_proc_info *info = NULL;
    unsigned int count = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        unsigned int cap = count;
        rc = procs(dev, &count, info);
        if (rc == NVML_SUCCESS)
            break;
        if (rc != NVML_ERROR_INSUFFICIENT_SIZE)
            break;
        if (count < cap)
            count = cap;
        count += 8;
        free(info);
        info = pf_xcalloc(count, sizeof *info);
    }
    if (rc != NVML_SUCCESS) {
        free(info);
        pf_err_set(err, "nvmlDeviceGetComputeRunningProcesses: %s (%d)", nvml_err(errstr, rc), rc);
        goto fail;
    }
    pf_strlcpy(out->source, "nvml", sizeof out->source);
    for (unsigned int i = 0; info && i < count; i++) {
        if ((pid_t)info[i].pid == self)
            continue;
        pf_gpu_proc p = {.pid = (int)info[i].pid, .used_bytes = -1};
        if (info[i].usedGpuMemory != NVML_VALUE_NOT_AVAILABLE_ULL && info[i].usedGpuMemory <= INT64_MAX)
            p.used_bytes = (int64_t)info[i].usedGpuMemory;
        read_comm("/proc", p.pid, p.comm, sizeof p.comm);
        push_proc(out, &p);
    }
    free(info);
    shutdown();
    dlclose(h);
    return 0;
fail:
    shutdown();
    dlclose(h);
    return -1;
}

/* Driver daemons and monitors hold /dev/nvidia* without allocating
 * memory for compute; listing them would cry wolf on every healthy box. */
static bool is_helper(const char *comm)
{
    static const char *const helpers[] = {"nvidia-persistenced", "nvidia-smi", "nv-hostengine",
                                          "nv-fabricmanager", "nvidia-powerd"};
    for (size_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++)
        if (strncmp(comm, helpers[i], strlen(helpers[i])) == 0)
            return true;
    return false;
}

/* "nvidia0", "nvidia-uvm", "nvgpu/igpu0/ctrl" for a device node we count, else NULL. */
static const char *gpu_node(const char *target)
{
    if (!pf_str_startswith(target, "/dev/"))
        return NULL;
    const char *n = target + 5;
    if (strcmp(n, "nvidia-uvm") == 0 || pf_str_startswith(n, "nvgpu/"))
        return n;
    if (pf_str_startswith(n, "nvidia")) {
        const char *d = n + 6;
        if (*d < '0' || *d > '9')
            return NULL;
        while (*d >= '0' && *d <= '9')
            d++;
        return *d == '\0' ? n : NULL;
    }
    return NULL;
}

static void add_node(char *nodes, size_t len, const char *n)
{
    /* de-duplicate: a process often holds several fds on one node */
    size_t nl = strlen(n);
    for (const char *p = nodes; (p = strstr(p, n)) != NULL; p += nl)
        if ((p == nodes || p[-1] == ',') && (p[nl] == ',' || p[nl] == '\0'))
            return;
    size_t used = strlen(nodes);
    if (used + nl + 2 > len)
        return;
    if (used)
        nodes[used++] = ',';
    memcpy(nodes + used, n, nl + 1);
}

int pf_gpuprocs_scan(const char *proc_root, pid_t self, pf_gpu_procs *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(proc_root);
    if (!d)
        return pf_err_errno(err, errno, "cannot list %s", proc_root);
    pf_strlcpy(out->source, "proc", sizeof out->source);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)self)
            continue;
        char fddir[300];
        snprintf(fddir, sizeof fddir, "%s/%ld/fd", proc_root, pid);
        DIR *fd = opendir(fddir);
        if (!fd) {
            if (errno == EACCES || errno == EPERM)
                out->unreadable++;
            continue; /* ENOENT: the process exited meanwhile */
        }
        pf_gpu_proc p = {.pid = (int)pid, .used_bytes = -1};
        struct dirent *fe;
        while ((fe = readdir(fd)) != NULL) {
            if (fe->d_name[0] == '.')
                continue;
            char link[600], target[256];
            snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            const char *node = gpu_node(target);
            if (node)
                add_node(p.nodes, sizeof p.nodes, node);
        }
        closedir(fd);
        if (!p.nodes[0])
            continue;
        read_comm(proc_root, p.pid, p.comm, sizeof p.comm);
        if (is_helper(p.comm)) {
            out->ignored++;
            continue;
        }
        push_proc(out, &p);
    }
    closedir(d);
    return 0;
}

void pf_gpuprocs_free(pf_gpu_procs *g)
{
    if (!g)
        return;
    free(g->p);
    memset(g, 0, sizeof *g);
}

json_t *pf_gpuprocs_to_json(const pf_gpu_procs *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(g->source));
    json_t *a = json_array();
    for (size_t i = 0; i < g->n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "pid", json_integer(g->p[i].pid));
        json_object_set_new(p, "comm", json_string(g->p[i].comm));
        if (g->p[i].used_bytes >= 0)
            json_object_set_new(p, "used_bytes", json_integer((json_int_t)g->p[i].used_bytes));
        if (g->p[i].nodes[0])
            json_object_set_new(p, "device_nodes", json_string(g->p[i].nodes));
        json_array_append_new(a, p);
    }
    json_object_set_new(o, "processes", a);
    if (!strcmp(g->source, "proc")) {
        json_object_set_new(o, "uninspectable_processes", json_integer((json_int_t)g->unreadable));
        json_object_set_new(o, "ignored_driver_helpers", json_integer((json_int_t)g->ignored));
    }
    return o;
}

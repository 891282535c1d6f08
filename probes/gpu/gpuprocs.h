/* gpuprocs.h -- which other processes are using the GPU.
 *
 * Another process holding GPU memory shrinks what the server can take, and
 * SGLang reports it only later as "The memory capacity is unbalanced".  NVML
 * (dlopen'ed libnvidia-ml.so.1) gives per-device compute processes with
 * their memory; on GB10 and Thor it answers "Not Supported", so the fallback
 * scans /proc/<pid>/fd for links to /dev/nvidia* device nodes.
 */
#ifndef PF_GPUPROCS_H
#define PF_GPUPROCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util.h"

typedef struct pf_gpu_proc {
    int pid;
    char comm[64];          /* /proc/<pid>/comm, "" when unreadable (other pid namespace) */
    int64_t used_bytes;     /* NVML usedGpuMemory; -1 unknown (and always for the /proc scan) */
    char nodes[160];        /* /proc scan: device nodes held, "nvidia0,nvidia-uvm" */
} pf_gpu_proc;

typedef struct pf_gpu_procs {
    char source[8];         /* "nvml" or "proc" */
    pf_gpu_proc *p;
    size_t n;
    size_t unreadable;      /* /proc scan: processes whose fds we may not read (not root) */
    size_t ignored;         /* /proc scan: driver helpers skipped (nvidia-persistenced...) */
} pf_gpu_procs;

/* NVML: compute processes of the device with this PCI bus id (falls back to
 * NVML index `ordinal` when the id is empty or unknown to NVML).  lib_path
 * NULL means "libnvidia-ml.so.1".  `self` is left out.  -1 with err when
 * NVML is absent or does not answer (the caller then scans /proc). */
int pf_gpuprocs_nvml(const char *lib_path, const char *pci_bus_id, int ordinal, pid_t self,
                     pf_gpu_procs *out, pf_err *err);
/* /proc scan under proc_root (normally "/proc"): processes with an open fd
 * on /dev/nvidia<N> or /dev/nvidia-uvm, except `self` and driver helpers.
 * The result is per machine, not per device.  -1 only when proc_root is
 * unreadable. */
int pf_gpuprocs_scan(const char *proc_root, pid_t self, pf_gpu_procs *out, pf_err *err);
void pf_gpuprocs_free(pf_gpu_procs *g);

json_t *pf_gpuprocs_to_json(const pf_gpu_procs *g);

#endif

/* registry.c -- the order matters: cheap, foundational facts first (the
 * driver), so that later checks' evidence can refer to them. */
#include "probes/registry.h"

#include "probes/gpu_driver.h"
#include "probes/ptxas.h"
#include "probes/mem_headroom.h"
#include "probes/fingerprint.h"

static const pf_probe_def probes[] = {
    {"gpu.driver", "CUDA driver loads; GPUs, compute capability, unified memory", pf_probe_gpu_driver},
    {"toolchain.ptxas", "the ptxas Triton (or nvcc) will run assembles code for the GPU", pf_probe_toolchain_ptxas},
    {"mem.headroom", "GPU free memory vs the --mem-fraction-static pool, model share per node, page cache, other GPU processes", pf_probe_mem_headroom},
    {"env.fingerprint", "kernel, driver, the libnccl the server loads, package versions, NCCL/Gloo/Ray env, nccl.conf, hostHash inputs", pf_probe_env_fingerprint},
};

const pf_probe_def *pf_probe_registry(size_t *count)
{
    *count = sizeof probes / sizeof probes[0];
    return probes;
}

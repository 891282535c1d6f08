/* registry.c -- the order matters: cheap, foundational facts first (the
 * driver), so that later checks' evidence can refer to them. */
#include "probes/registry.h"

#include "probes/gpu/gpu_driver.h"
#include "probes/kernels/kernels.h"
#include "probes/toolchain/ptxas.h"
#include "probes/mem/mem_headroom.h"
#include "probes/env/fingerprint.h"
#include "probes/net/net_checks.h"

static const pf_probe_def probes[] = {
    {"gpu.driver", "CUDA driver loads; GPUs, compute capability, unified memory", pf_probe_gpu_driver},
    {"gpu.kernels", "CUDA kernels of the serving stack run on the GPU (SASS / PTX JIT / none)", pf_probe_gpu_kernels},
    {"toolchain.ptxas", "the ptxas Triton (or nvcc) will run assembles code for the GPU", pf_probe_toolchain_ptxas},
    {"mem.headroom", "GPU free memory vs the --mem-fraction-static pool, model share per node, page cache, other GPU processes", pf_probe_mem_headroom},
    {"env.fingerprint", "kernel, driver, the libnccl the server loads, package versions, NCCL/Gloo/Ray env, nccl.conf, hostHash inputs", pf_probe_env_fingerprint},
    /* after env.fingerprint: the interface rules depend on the NCCL version it found */
    {"net.interfaces", "network interfaces, addresses, kinds, RDMA devices", pf_probe_net_interfaces},
    {"net.nccl_ifname", "which interfaces NCCL bootstrap and NET/Socket will use", pf_probe_net_nccl_ifname},
    {"net.gloo", "the address Gloo will advertise (GLOO_SOCKET_IFNAME / hostname, 127.0.1.1 trap)", pf_probe_net_gloo},
    {"net.transport", "NCCL network transport: Socket, IB or an external plugin", pf_probe_net_transport},
};

const pf_probe_def *pf_probe_registry(size_t *count)
{
    *count = sizeof probes / sizeof probes[0];
    return probes;
}

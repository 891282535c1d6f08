/* registry.c -- the order matters: cheap, foundational facts first (the
 * driver), so that later checks' evidence can refer to them. */
#include "probes/registry.h"

#include "probes/gpu_driver.h"

static const pf_probe_def probes[] = {
    {"gpu.driver", "CUDA driver loads; GPUs, compute capability, unified memory", pf_probe_gpu_driver},
};

const pf_probe_def *pf_probe_registry(size_t *count)
{
    *count = sizeof probes / sizeof probes[0];
    return probes;
}

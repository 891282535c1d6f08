/* gpu_driver.h -- the gpu.driver check: is there a working CUDA driver, and
 * which GPUs (name, compute capability, unified memory) does it see. */
#ifndef PF_GPU_DRIVER_H
#define PF_GPU_DRIVER_H

#include "core/record.h"
#include "probes/context.h"

/* Decide from collected facts (pure: tests build the facts by hand). */
void pf_gpu_driver_evaluate(const pf_cuda_facts *f, const char *cvd, pf_check *c);
/* Node facts {"cuda_driver": ..., "gpus": [...]} from the same facts. */
json_t *pf_gpu_driver_facts_json(const pf_cuda_facts *f);

/* "580.159.04" from the text of /proc/driver/nvidia/version ("NVRM version:
 * NVIDIA UNIX x86_64 Kernel Module  580.159.04  ..."); 0 and buf="" if absent. */
int pf_gpu_kernel_module_version(const char *proc_text, char *buf, size_t len);

void pf_probe_gpu_driver(pf_probe_ctx *ctx);

#endif

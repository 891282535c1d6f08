/* fingerprint.h -- the `env.fingerprint` check: the software facts of this
 * node that must agree across the cluster (kernel, driver, libnccl build,
 * Python packages, NCCL/Gloo/Triton/CUDA/Torch/Ray variables, nccl.conf,
 * NCCL's hostHash inputs).  The facts also go to the node's facts under
 * "fingerprint" so the cluster phase can diff them node against node.
 */
#ifndef PF_FINGERPRINT_H
#define PF_FINGERPRINT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/record.h"
#include "probes/context.h"

/* Distributions whose versions are fingerprinted, in report order. */
extern const char *const pf_fingerprint_dists[];

/* True for environment variables recorded (NCCL_*, GLOO_*, ...). */
bool pf_fingerprint_env_wanted(const char *name);
/* True when the value must not leave the machine (…TOKEN, …PASSWORD, …KEY). */
bool pf_fingerprint_env_secret(const char *name);

/* Collect the facts object (never NULL).  Facts that could not be read are
 * listed in its "errors" array. */
json_t *pf_fingerprint_collect(pf_probe_ctx *ctx);
/* Pure: decide the check from a facts object as collected (or built by a test). */
void pf_fingerprint_evaluate(const json_t *facts, pf_check *c);

void pf_probe_env_fingerprint(pf_probe_ctx *ctx);

#endif

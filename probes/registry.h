/* registry.h -- the node probes `preflight check` runs, in order. */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include <stddef.h>

#include "probes/context.h"

const pf_probe_def *pf_probe_registry(size_t *count);

#endif

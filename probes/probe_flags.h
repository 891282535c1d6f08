/* probe_flags.h -- the node-probe flags that `check` and `kernels` (and,
 * later, the cluster agent) share, parsed in one place so that --arch 11.0
 * means the same thing and fails with the same message everywhere.
 *
 * Same calling convention as pf_output_parse_flag: a subcommand's loop
 * offers each argv[i]; the flag (and its value) is consumed when it is one
 * this subcommand accepts.
 */
#ifndef PF_PROBE_FLAGS_H
#define PF_PROBE_FLAGS_H

#include "reports/output.h"
#include "core/util.h"
#include "probes/context.h"

enum {
    PF_PF_ARCH = 1u << 0,     /* --arch X.Y */
    PF_PF_VENV = 1u << 1,     /* --venv DIR */
    PF_PF_SCAN = 1u << 2,     /* --scan PATH (repeatable) */
    PF_PF_MODEL = 1u << 3,    /* --model DIR */
    PF_PF_PP = 1u << 4,       /* --pp N */
    PF_PF_MEMFRAC = 1u << 5,  /* --mem-fraction-static F */
    PF_PF_TIMEOUT = 1u << 6,  /* --timeout S */
    PF_PF_ENVFILE = 1u << 7,  /* --env-file FILE */
    PF_PF_ALL = 0xffu
};

/* If argv[*i] is a flag in `accept`, store it in o, advance *i past its
 * value and return 1; 0 if it is not one of them; -1 with err set on a
 * missing or invalid value (the caller prints it and exits 2). */
int pf_probe_parse_flag(pf_probe_opts *o, unsigned accept, int argc, char **argv, int *i,
                        pf_err *err);

/* What a subcommand's loop calls first: the shared output flags, then the
 * probe flags in `accept`.  1: consumed; 0: not one of them; -1: a usage
 * error, already printed as "preflight CMD: message" on stderr. */
int pf_probe_take_flag(const char *cmd, pf_output_opts *oo, pf_probe_opts *po, unsigned accept,
                       int argc, char **argv, int *i);

#endif

/* nodelist.h -- the nodes of a cluster run, in pipeline order.
 *
 * Sources: --hosts a,b,c; --hostfile FILE; Slurm's SLURM_JOB_NODELIST
 * (expanded by `scontrol show hostnames`, never parsed here); a Ray
 * cluster's alive nodes (filled by the ray launcher's helper).
 *
 * Hostfile, one node per line ('#' starts a comment, blank lines skipped):
 *
 *     [user@]host[:sshport] [key=value ...]
 *
 * keys: name= (the node's name in the record; default the host), stage=
 * (pipeline stage: when any line has it, every line must, 0..N-1 once
 * each), venv=, arch=, model=, env=FILE (the env file judged on that node,
 * the format `preflight plan` writes), bin= (path of preflight there).
 * Errors name the file, the line and the reason.  Node names and hosts are
 * restricted to [A-Za-z0-9._-] (hosts also ':' inside [..] for IPv6 is not
 * supported) because they travel on a remote command line.
 *
 * Ownership: the list owns every string in its entries.
 */
#ifndef PF_NODELIST_H
#define PF_NODELIST_H

#include <stddef.h>

#include "core/util.h"

typedef struct pf_nodespec {
    char *name;     /* unique */
    char *host;     /* what the launcher connects to ({host} in templates) */
    char *user;     /* NULL: the launcher's default */
    int port;       /* ssh port, 0: default */
    int stage;      /* pipeline stage (= index after sorting) */
    char *venv, *arch, *model, *env_file, *bin; /* NULL when not given */
} pf_nodespec;

typedef struct pf_nodelist {
    pf_nodespec *v;
    size_t n;
    char *source;   /* "--hosts", "hostfile FILE", "SLURM_JOB_NODELIST", "ray" */
} pf_nodelist;

void pf_nodelist_init(pf_nodelist *nl);
void pf_nodelist_free(pf_nodelist *nl);
/* Parse "a,b,c" (each [user@]host[:port]).  -1 with err on bad input. */
int pf_nodelist_from_hosts(pf_nodelist *nl, const char *hosts, pf_err *err);
/* Parse hostfile text (path only names it in messages). */
int pf_nodelist_parse_hostfile(pf_nodelist *nl, const char *text, const char *path, pf_err *err);
int pf_nodelist_from_hostfile(pf_nodelist *nl, const char *path, pf_err *err);
/* Add one node (name may be NULL: the host).  Checks characters and
 * uniqueness; -1 with err. */
int pf_nodelist_add(pf_nodelist *nl, const char *spec, pf_err *err);
/* Expand SLURM_JOB_NODELIST through `scontrol show hostnames`. */
int pf_nodelist_from_slurm(pf_nodelist *nl, double timeout_s, pf_err *err);
/* Index of the node called name, or -1. */
int pf_nodelist_find(const pf_nodelist *nl, const char *name);
/* True when s is a safe name/host: 1..63 of [A-Za-z0-9._-], not starting with '-'. */
int pf_nodelist_name_ok(const char *s);

#endif

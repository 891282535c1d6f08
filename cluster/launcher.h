/* launcher.h -- starting `preflight agent` on every node through an existing
 * engine (ssh, a command template, mpirun, srun, Ray, or the user's hands).
 *
 * One vtable per launcher (curl's vtls/ is the model): launch.c holds what
 * they share -- spawning a local child in its own process group with the
 * secret on its stdin or in its environment, collecting the tail of its
 * output, reaping it, and explaining why a node's launch ended -- and each
 * launcher_<name>.c only says which children to start and how to read their
 * failures.  A launcher that needs one child per node (ssh, exec) starts
 * one per node; one that places all agents itself (mpirun, srun, ray)
 * starts one child for every node.
 *
 * The secret never goes on a command line: the child gets it on stdin
 * (ssh, exec, srun: they forward stdin to the agent) or in the environment
 * variable PF_AUTH_ENV (mpirun exports it by name with -x).
 *
 * Children are supervised by the coordinator's event loop (pollfds +
 * service), so they cannot go through the blocking pf_proc_run; every one
 * is killed (its whole process group) by pf_launcher_stop, which the
 * coordinator always calls, so nothing outlives the run here.
 */
#ifndef PF_LAUNCHER_H
#define PF_LAUNCHER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster/nodelist.h"
#include "core/util.h"

typedef struct pf_launcher_cfg {
    const pf_nodelist *nodes;
    const char *join;          /* HOST:PORT the agents connect back to */
    const char *secret_hex;    /* 64 hex digits; stdin or environment only */
    const char *agent_bin;     /* preflight on the nodes (default "preflight"; per node bin=) */
    const char *exec_template; /* --exec-template: '... {host} ... {cmd}' */
    const pf_strv *ssh_opts;   /* -o passthrough, each "Key=Value" */
    double connect_timeout_s;  /* ssh ConnectTimeout and the like */
    const char *ray_address;   /* --ray ADDRESS (NULL: auto) */
    const char *ray_helper;    /* path of the Python helper (ray launcher) */
    const char *python;        /* python3 that has ray (ray launcher) */
    const char *secret_file;   /* manual: where the secret was written (0600) */
    const pf_strv *agent_args; /* extra agent flags (--env ..., --keepalive ...) */
} pf_launcher_cfg;

typedef struct pf_launcher pf_launcher;

typedef struct pf_launcher_vt {
    const char *name;
    /* Start the children (pf_launcher_spawn).  -1 with err when nothing could
     * be started (e.g. the tool is not installed: the message says how to
     * install it). */
    int (*start)(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err);
    /* Turn a child's ended state + output tail into one sentence for the
     * node's failure ("ssh: Permission denied (publickey) -- BatchMode is on,
     * so no password is asked: install your key with ssh-copy-id HOST").
     * NULL: the generic "<tool> exited N: <last line>". */
    void (*explain)(const char *node, const char *status, const char *tail, char *buf, size_t len);
} pf_launcher_vt;

/* The launchers, by --launcher name: ssh, exec, mpirun, srun, ray, manual. */
const pf_launcher_vt *pf_launcher_find(const char *name);
extern const pf_launcher_vt pf_launcher_ssh, pf_launcher_exec, pf_launcher_mpirun, pf_launcher_srun,
    pf_launcher_ray, pf_launcher_manual;

pf_launcher *pf_launcher_start(const pf_launcher_vt *vt, const pf_launcher_cfg *cfg, pf_err *err);
/* For launchers: start argv as a child serving node index `node` (-1: all
 * nodes).  stdin_data (may be NULL) is written to its stdin, which is then
 * kept open (an agent reads its secret line from it; ssh must not see EOF
 * early); env_set entries ("K=V") are added to its environment. */
int pf_launcher_spawn(pf_launcher *l, int node, char *const argv[], const char *stdin_data,
                    const char *const *env_set, pf_err *err);
/* The agent command line for node i: agent_bin agent --join J --node-name N
 * plus cfg->agent_args (no secret). */
void pf_launcher_agent_argv(const pf_launcher_cfg *cfg, int node, pf_strv *out);
/* The same words joined for a remote shell (safe: every word is checked to
 * be made of [A-Za-z0-9._:/=,@+-]; others are single-quoted). */
char *pf_launcher_agent_cmdline(const pf_launcher_cfg *cfg, int node);

/* exec launcher: the argv for node i from a template (exposed for tests). */
int pf_launcher_exec_argv(const char *tmpl, const pf_launcher_cfg *cfg, int node, pf_strv *argv,
                        pf_err *err);
/* ssh launcher: the argv for node i (exposed for tests). */
void pf_launcher_ssh_argv(const pf_launcher_cfg *cfg, int node, pf_strv *argv);

/* Event-loop integration: fill up to max pollfds (output pipes); returns the
 * count.  service() reads output and reaps children that ended. */
size_t pf_launcher_pollfds(pf_launcher *l, struct pollfd *fds, size_t max);
void pf_launcher_service(pf_launcher *l);
/* True when the child serving node i (or all nodes) has ended; why gets the
 * explanation.  A launcher with no child (manual) never ends. */
bool pf_launcher_node_ended(pf_launcher *l, int node, char *why, size_t len);
/* The last output lines of the child serving node i ("" if none). */
const char *pf_launcher_node_tail(pf_launcher *l, int node);
/* SIGTERM every child's process group, wait up to grace_s, then SIGKILL. */
void pf_launcher_stop(pf_launcher *l, double grace_s);
void pf_launcher_free(pf_launcher *l);
const char *pf_launcher_name(const pf_launcher *l);

#endif

/* env.h -- the environment under judgement, as data.
 *
 * Most of what breaks a launch is decided by environment variables
 * (NCCL_SOCKET_IFNAME, TORCH_CUDA_ARCH_LIST, TRITON_PTXAS_PATH, ...).  The
 * environment that matters is the one the *server* will start with, which
 * is often not the one preflight runs in: a systemd unit's EnvironmentFile,
 * a Ray runtime_env, the login shell of the ssh session that starts the
 * node.  So a check never calls getenv(): it reads a pf_env handed to it in
 * the probe context, and the same check judges the process environment, an
 * env file written by `preflight plan`, or what a launcher reported.
 *
 * A pf_env is an ordered list of NAME=VALUE pairs plus a word saying where it
 * came from (pf_env_source: "process", "file:/etc/preflight.env", "ray"...).
 * Order is the order of the source (environ order, file order), so renderers
 * that list variables stay stable; a name set twice keeps its first position
 * and its last value, as the shell and systemd do.
 *
 * Ownership: whoever builds a pf_env owns it and frees it with pf_env_free.
 * It is immutable once handed out: pf_env_set is for the builder only, and
 * strings returned by the accessors stay valid until pf_env_free (or, for
 * the builder, until the next pf_env_set of the same name).  No global state: pf_env_from_process copies
 * environ once; later setenv() calls in the process do not change it.
 *
 * The env-file format (what `preflight plan` writes; also valid for systemd's
 * EnvironmentFile= and for `set -a; . FILE` in sh, with the same meaning in
 * all three -- anything where they would differ is rejected):
 *
 *     # comment                      blank lines are ignored
 *     NCCL_SOCKET_IFNAME=enp1s0f0np0  unquoted: no spaces, quotes, $ ` \ ; & | < > ( ) # ~
 *     export GLOO_SOCKET_IFNAME=eth0  an optional "export " prefix
 *     NCCL_DEBUG='INFO'               single quotes: taken literally
 *     TORCH_CUDA_ARCH_LIST="12.1 11.0" double quotes: \" \\ \$ \` are escapes;
 *                                      a bare $ or ` is rejected (the shell
 *                                      would expand it, systemd would not)
 *
 * NAME is [A-Za-z_][A-Za-z0-9_]*; leading blanks and blanks after a closing
 * quote are allowed; a value spans one line.  A line that is anything else is
 * an error "FILE:LINE: reason".  The file must be a regular file of at most
 * PF_ENV_FILE_MAX bytes (opened O_NONBLOCK, so a FIFO cannot hang us).
 */
#ifndef PF_ENV_H
#define PF_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PF_ENV_FILE_MAX (1024 * 1024)

typedef struct pf_env pf_env;

/* An empty environment; source is copied ("ray", "login-shell", "test"). */
pf_env *pf_env_new(const char *source);
/* Builder only (see above).  Replaces the value of an existing name.  -1 with
 * err set when name is not a valid variable name or value is NULL. */
int pf_env_set(pf_env *e, const char *name, const char *value, pf_err *err);

/* A snapshot of this process's environ; source "process".  Entries without
 * '=' (possible with execve) are skipped. */
pf_env *pf_env_from_process(void);
/* Parse an env file (format above); source "file:PATH".  NULL + err naming
 * PATH (and the line) on any error. */
pf_env *pf_env_from_file(const char *path, pf_err *err);
/* {"NAME":"VALUE",...} as launchers report it (Ray's runtime_env env_vars);
 * source "json" -- rename it with pf_env_set_source.  Non-string values and
 * invalid names are errors naming the key. */
pf_env *pf_env_from_json(const json_t *obj, pf_err *err);
void pf_env_set_source(pf_env *e, const char *source);

const char *pf_env_get(const pf_env *e, const char *name); /* NULL when unset */
size_t pf_env_count(const pf_env *e);
const char *pf_env_name(const pf_env *e, size_t i);
const char *pf_env_value(const pf_env *e, size_t i);
const char *pf_env_source(const pf_env *e);
/* A NULL-terminated "NAME=VALUE" array (like environ), owned by e; for code
 * that takes an envp (the nccl.conf model, execve). */
char *const *pf_env_envp(const pf_env *e);
/* {"NAME":"VALUE",...} in order (new reference). */
json_t *pf_env_to_json(const pf_env *e);
/* Resolve an executable name through this environment's PATH (a name with
 * '/' is taken as is): the program the server would run.  Heap string or
 * NULL.  An unset or empty PATH searches /usr/local/bin:/usr/bin:/bin. */
char *pf_env_which(const pf_env *e, const char *name);
/* true when name is [A-Za-z_][A-Za-z0-9_]* */
bool pf_env_name_valid(const char *name);

void pf_env_free(pf_env *e);

#endif

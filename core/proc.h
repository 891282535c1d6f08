/* proc.h -- run an external tool with a deadline and capture its output.
 *
 * Every external program preflight runs (ptxas, python3, nvidia-smi) goes
 * through here, so that a tool that hangs costs at most its deadline and a
 * tool that floods output costs at most max_out bytes.  The child runs in its
 * own process group; on timeout the whole group gets SIGKILL.
 */
#ifndef PF_PROC_H
#define PF_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

typedef struct pf_proc_result {
    int exit_code;     /* valid when exited */
    int term_signal;   /* valid when signalled */
    bool exited;
    bool signalled;
    bool timed_out;
    bool interrupted;      /* preflight got SIGINT/SIGTERM/SIGHUP (core/sig.h): killed early; timed_out is set too */
    char *out;         /* stdout+stderr interleaved, NUL-terminated, maybe truncated */
    size_t out_len;
    bool out_truncated;
    double elapsed_s;
} pf_proc_result;

typedef struct pf_proc_opts {
    double timeout_s;          /* <= 0 means 10 s */
    size_t max_out;            /* 0 means 1 MiB */
    const char *cwd;           /* NULL: inherit */
    const char *const *env_set;   /* "NAME=value" entries added to the environment */
    const char *const *env_unset; /* names removed from the environment */
    const char *stdin_path;    /* NULL: /dev/null */
} pf_proc_opts;

/* Run argv[0] (looked up in PATH when it has no '/').  Returns 0 when the
 * program ran (whatever its exit status -- inspect res), -1 when it could not
 * be started (not found, not executable: err says which). */
int pf_proc_run(char *const argv[], const pf_proc_opts *opts, pf_proc_result *res, pf_err *err);
void pf_proc_result_free(pf_proc_result *res);
/* "exit 1", "killed by signal 9", "timed out after 5.0 s". */
void pf_proc_describe(const pf_proc_result *res, char *buf, size_t len);

#endif

/* sig.h -- the one signal policy of every preflight command.
 *
 * preflight is stopped by people (Ctrl-C: SIGINT), by `timeout`, Slurm and
 * Kubernetes (SIGTERM) and by a closing terminal or ssh session (SIGHUP).
 * All three mean the same here:
 *
 *   first signal   a flag is raised, nothing else.  The command notices it
 *                  between units of work (a check, a library, a request),
 *                  stops starting new ones, stops a launched server with the
 *                  usual ladder (bench/launch.c: SIGINT, grace, SIGTERM,
 *                  SIGKILL, the whole tree), and still writes its record and
 *                  partial outputs, marked incomplete ("interrupted by
 *                  SIGTERM"), exit 3.
 *   second signal  (not the same signal re-sent by the same process within
 *                  1 s: GNU `timeout` delivers its SIGTERM twice, to us and
 *                  to our process group) exit at once (exit status 128 + signal number): the
 *                  process group registered with pf_sig_watch_group (the
 *                  launched server) is sent SIGKILL first, so nothing we
 *                  started keeps running.  For the user whose clean stop is
 *                  itself stuck.
 *
 * pf_sig_install is called once, by main(), before any command runs.  The
 * handler only touches sig_atomic_t variables, kill() and _exit(), all
 * async-signal-safe.  SA_RESTART is set so that stdio and libraries never see
 * EINTR; code that sleeps in poll() with a timeout checks pf_sig_count()
 * when it wakes.
 *
 * Exception to "no hidden global state": a signal handler has no user
 * pointer, so the counters live in sig.c.  They are process-wide by nature.
 */
#ifndef PF_SIG_H
#define PF_SIG_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/util.h"

/* Install the handler for SIGINT, SIGTERM and SIGHUP (counts reset to 0). */
int pf_sig_install(pf_err *err);
/* For a command that does not yet poll pf_sig_count() (it could not stop
 * cleanly on the flag): the first signal already exits at once, as the
 * second does.  main() sets it per command; a command joins the policy by
 * polling the flag and dropping this (docs/RELIABILITY.md). */
void pf_sig_set_immediate(bool immediate);
/* Put the previous dispositions back. */
void pf_sig_restore(void);

/* Signals received since install; a pointer for loops that watch a flag
 * (bench's driver, launch's waits).  Never NULL. */
volatile sig_atomic_t *pf_sig_counter(void);
int pf_sig_count(void);
/* The last signal received (0: none) and its name for messages ("Ctrl-C", "SIGTERM", "SIGHUP"). */
int pf_sig_last(void);
const char *pf_sig_name(int signo);

/* The process group to SIGKILL if a second signal forces the exit (the
 * launched server's; its leader is our child).  0: none. */
void pf_sig_watch_group(pid_t pgid);
/* More groups for the same forced exit: `preflight cluster` starts one
 * launcher child per node, each in its own process group (cluster/
 * launcher.c), and adds each here.  At most PF_SIG_MAX_GROUPS at once
 * (past that a group is not watched and add returns -1: it still ends when
 * its control connection closes).  Remove a group once it is reaped, so a
 * recycled pid is never killed. */
#define PF_SIG_MAX_GROUPS 256
int pf_sig_watch_add(pid_t pgid);
void pf_sig_watch_remove(pid_t pgid);

#endif

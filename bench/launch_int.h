/* launch_int.h -- the pf_launch state shared by launch.c (process, log,
 * stop) and launch_ready.c (HTTP readiness, JSON).  Not a public header. */
#ifndef PF_LAUNCH_INT_H
#define PF_LAUNCH_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "bench/launch.h"
#include "bench/logwatch.h"

/* Descendants ever seen, so one that left the process group (setsid) and
 * lost its parent can still be found at stop time. */
#define PF_LAUNCH_KNOWN_MAX 512

typedef struct pf_launch_known {
    pid_t pid;
    unsigned long long starttime; /* /proc/PID/stat field 22: guards against pid reuse */
} pf_launch_known;

struct pf_launch {
    pid_t pid;                  /* server main process = process group id = session id */
    char **argv;                /* copy of the command */
    int argc;
    char *log_path;
    int log_rfd;                /* our read side of the log */
    bool tee;
    double t0;                  /* pf_now() at fork */
    char started_at[40];        /* wall clock, ISO 8601 */
    pf_logwatch *watch;
    const volatile sig_atomic_t *stop_counter; /* Ctrl-C count or flag; NULL: none */

    /* main process status */
    bool reaped, exited, signalled;
    int exit_code, term_signal;
    double t_exit;              /* since start */

    pf_launch_known known[PF_LAUNCH_KNOWN_MAX];
    size_t nknown;
    double t_last_scan;

    /* progress line currently drawn on stderr (tee must clear it first) */
    bool progress_drawn;

    /* results kept for pf_launch_to_json */
    bool have_ready;
    pf_ready_result ready;
    bool have_stop;
    pf_launch_stop_result stop;
};

/* Read new log bytes into the watcher (and tee them); reap what exited.
 * Cheap; called from every wait loop and from curl's progress callback. */
void pf_launch_pump(pf_launch *l);
/* Erase the progress line if one is drawn. */
void pf_launch_clear_progress(pf_launch *l);
/* "exit 2", "killed by signal 9 (Killed)". */
void pf_launch_describe_exit(const pf_launch *l, char *buf, size_t len);
/* The last few log lines joined with newlines and "  | " prefixes. */
void pf_launch_tail_text(pf_launch *l, size_t nlines, char *buf, size_t len);

#endif

/* launch.h -- start an LLM server, know when it is really ready (or why it
 * died), watch it while it is under load, and stop it with no orphans.
 *
 * Lifecycle (what `preflight bench --launch -- CMD ARGS...` does):
 *
 *     pf_launch_sigs sigs = {0};
 *     pf_launch_sigs_install(&sigs, &err);        // Ctrl-C sets a flag, nothing else
 *     pf_launch *l = pf_launch_start(argv, &lo, &err);
 *     pf_launch_watch_signals(l, &sigs);          // waits below return early on Ctrl-C
 *     pf_launch_wait_ready(l, &ro, &ready, &err); // ready.status says OK or why not
 *     while (load runs) { ...; if (pf_launch_poll(l, &st) != 0) break; }
 *     pf_launch_stop(l, 10.0, &stop);             // always, whatever happened
 *     json_t *j = pf_launch_to_json(l);           // for the run record
 *     pf_launch_free(l);
 *
 * The process: fork, setsid (a new session and process group, no
 * controlling terminal, so a terminal Ctrl-C reaches only preflight, which
 * then stops the server in order), stdin from /dev/null, stdout and stderr
 * appended straight to the log file.  The server never writes into a pipe we
 * must drain, so a busy benchmark loop can never stall it; the log is read
 * back incrementally from the file and fed to a pf_logwatch.
 *
 * Process-wide effects, on purpose: pf_launch_start makes the calling
 * process a child subreaper (prctl PR_SET_CHILD_SUBREAPER) unless
 * opts.no_subreaper, so that server processes orphaned by their parent are
 * re-parented to us and can still be found and killed; and the server gets
 * PR_SET_PDEATHSIG(SIGTERM), which fires when the *thread* that called
 * pf_launch_start exits -- call it from the main thread.
 *
 * Nothing here prints, except the optional progress line / tee output on
 * stderr that the options ask for.
 */
#ifndef PF_LAUNCH_H
#define PF_LAUNCH_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/logwatch.h"
#include "core/record.h"
#include "core/util.h"

typedef struct pf_launch pf_launch;

/* ---- Ctrl-C ---- */

/* The caller owns this struct (typically on main's stack).  The handler
 * only increments `count` and stores `last_signo`.  Exception to "no hidden
 * globals": a signal handler cannot take a user pointer, so launch.c keeps
 * one static pointer to the installed struct while it is installed (one
 * installation at a time; a second install fails). */
typedef struct pf_launch_sigs {
    volatile sig_atomic_t count;      /* SIGINT/SIGTERM received since install */
    volatile sig_atomic_t last_signo;
    struct sigaction old_int, old_term;
    bool installed;
} pf_launch_sigs;

int pf_launch_sigs_install(pf_launch_sigs *s, pf_err *err);
void pf_launch_sigs_restore(pf_launch_sigs *s);

/* ---- start ---- */

typedef struct pf_launch_opts {
    const char *log_path;        /* created/truncated; NULL: a new /tmp/preflight-server-XXXXXX.log */
    bool tee;                    /* also copy the server's output to our stderr as it is read */
    const char *cwd;             /* NULL: inherit */
    const char *const *env_set;  /* "NAME=value" entries added to the server's environment */
    size_t keep_lines;           /* log lines kept for reports; 0: 20 */
    bool no_subreaper;           /* leave the subreaper attribute alone (see above) */
} pf_launch_opts;

/* argv[0] is looked up in PATH.  Returns NULL (err says why, naming the
 * program or the log file) when the log cannot be created or the program
 * cannot be executed; a program that starts and then exits at once is a
 * successful start whose wait_ready reports PF_READY_DIED with the log tail. */
pf_launch *pf_launch_start(char *const argv[], const pf_launch_opts *opts, pf_err *err);

/* Make waits (wait_ready, stop) observe these flags: wait_ready returns
 * PF_READY_INTERRUPTED once s->count > 0; a further signal during stop skips
 * the remaining grace and goes to SIGKILL.  NULL detaches. */
void pf_launch_watch_signals(pf_launch *l, const pf_launch_sigs *s);
/* The same for a caller that has its own SIGINT handler: the waits treat an
 * increase of *flag (e.g. from 0 to 1) since they began as a Ctrl-C.  The
 * flag must outlive the launch.  NULL detaches. */
void pf_launch_watch_flag(pf_launch *l, const volatile sig_atomic_t *flag);

/* ---- readiness ---- */

typedef enum pf_launch_api {
    PF_LAUNCH_API_CHAT = 0,      /* POST /v1/chat/completions */
    PF_LAUNCH_API_COMPLETIONS,   /* POST /v1/completions */
    PF_LAUNCH_API_NONE,          /* no warm-up request */
} pf_launch_api;

/* phase: "starting", "health", "models", "warm-up", "ready line". */
typedef void (*pf_launch_progress_fn)(void *ud, const char *phase, double elapsed_s,
                                      const char *last_log_line);

typedef struct pf_ready_opts {
    const char *base_url;        /* required: "http://127.0.0.1:30000" */
    double deadline_s;           /* whole wait; 0: 1800 */
    double poll_interval_s;      /* between HTTP probes; 0: 1.0 */
    double http_timeout_s;       /* per probe; 0: 5 */
    const char *health_path;     /* 0: "/health" (SGLang: "/health_generate"); "" skips the step */
    bool skip_models;            /* don't GET /v1/models */
    const char *model;           /* warm-up model; NULL: data[0].id of /v1/models */
    pf_launch_api warmup_api;    /* default chat */
    int warmup_max_tokens;       /* 0: 8 */
    double warmup_timeout_s;     /* 0: 600 (a first request may compile kernels) */
    const pf_strv *headers;      /* "K: V" lines every probe and the warm-up send (the
                                  * Authorization one among them; never shown); NULL: none */
    bool require_ready_line;     /* also wait for the server's own ready line (SGLang's) */
    int progress;                /* -1 never, 0 when stderr is a TTY, 1 always */
    pf_launch_progress_fn progress_fn; /* replaces the built-in progress line */
    void *progress_ud;
} pf_ready_opts;

void pf_ready_opts_init(pf_ready_opts *o);

typedef enum pf_ready_status {
    PF_READY_OK = 0,
    PF_READY_DIED,           /* the server process exited (exit status and log tail in the launch) */
    PF_READY_FATAL,          /* a FATAL log signature appeared (check id + remedy) */
    PF_READY_TIMEOUT,        /* deadline passed */
    PF_READY_INTERRUPTED,    /* SIGINT/SIGTERM to preflight */
    PF_READY_WARMUP_FAILED,  /* the server answered the warm-up with a 4xx or a non-completion */
} pf_ready_status;

const char *pf_ready_status_name(pf_ready_status st); /* "ready", "died", "fatal", ... */

typedef struct pf_ready_result {
    pf_ready_status status;
    double load_time_s;          /* start -> all readiness steps passed; on failure: time of the verdict */
    /* seconds since start when each signal was first seen; < 0: not seen */
    double t_health_s, t_models_s, t_warmup_s, t_ready_line_s;
    double warmup_latency_s;     /* < 0 when no warm-up ran */
    int last_http_status;        /* of the last probe; 0: no HTTP answer */
    char last_probe[160];        /* "GET /health -> 503", "GET /health -> Connection refused" */
    char model[256];             /* from opts or /v1/models; "" when unknown */
    pf_logwatch_hit fatal;       /* PF_READY_FATAL (also DIED when the log explains it); sig NULL: none */
    bool exited, signalled;      /* DIED (and FATAL when the process is gone too): how it ended */
    int exit_code, term_signal;
    char message[1024];          /* human sentence(s) for the console */
} pf_ready_result;

/* Blocks until ready or a verdict.  Returns 0 with out->status set, -1 only
 * for bad options (err says which).  On any status but OK the server may
 * still be running: call pf_launch_stop. */
int pf_launch_wait_ready(pf_launch *l, const pf_ready_opts *o, pf_ready_result *out, pf_err *err);

/* ---- during load ---- */

typedef struct pf_launch_status {
    bool running;
    bool exited, signalled;      /* the server's main process */
    int exit_code, term_signal;
    pf_logwatch_hit fatal;       /* first fatal signature so far; sig NULL: none */
    char message[1024];
} pf_launch_status;

/* Non-blocking (reads the new log bytes, reaps): 0 = running and no fatal
 * signature; 1 = died or a fatal line appeared (out says which).  Call it
 * every few hundred ms from the load loop. */
int pf_launch_poll(pf_launch *l, pf_launch_status *out);

/* ---- stop ---- */

typedef struct pf_launch_stop_result {
    const char *stage;           /* last step needed: "not running", "SIGINT", "SIGTERM", "SIGKILL" */
    double elapsed_s;
    bool graceful;               /* everything was gone after SIGINT */
    bool all_gone;               /* verified: kill(-pgid, 0) == ESRCH and no stray descendant alive */
    unsigned survivors;          /* processes still alive at the end (0 unless something is unkillable) */
    unsigned strays;             /* descendants outside the process group that were signalled too */
    bool hurried;                /* a Ctrl-C during the stop cut the grace short */
    bool exited, signalled;      /* the server's main process */
    int exit_code, term_signal;
    char message[512];
} pf_launch_stop_result;

/* SIGINT to the process group (and stray descendants), wait up to grace_s
 * for all of them to go; SIGTERM, wait grace_s; SIGKILL, wait up to 5 s;
 * reap; verify.  grace_s <= 0 means 10.  Returns 0 when nothing of the
 * server remains, -1 otherwise (out says what survived). */
int pf_launch_stop(pf_launch *l, double grace_s, pf_launch_stop_result *out);

void pf_launch_free(pf_launch *l); /* stops first (grace 2 s) if still running */

/* ---- facts ---- */

int pf_launch_pid(const pf_launch *l);        /* also the process group id */
const char *pf_launch_log_path(const pf_launch *l);
double pf_launch_elapsed(const pf_launch *l); /* seconds since start */
/* The last lines of the server log, oldest first (see pf_logwatch_tail);
 * reads what the server wrote since the last call first. */
size_t pf_launch_tail(pf_launch *l, const char **lines, size_t max);

/* Everything known, for the run record: command, log_path, pid, started_at,
 * ready {status, load_time_s, signals[{name, t_s, detail}], model, message},
 * fatal {signature, check_id, remedy, line, line_no, t_s}, hints[...],
 * exit {...}, stop {...}, log_tail [...] (when it did not end well).
 * New reference. */
json_t *pf_launch_to_json(const pf_launch *l);

/* One check "bench.launch" for the record: pass with the load time, or fail
 * naming the fatal signature's check id and remedy, the exit status or the
 * timeout. */
pf_check *pf_launch_add_check(pf_run *run, pf_node *node, const pf_launch *l);

#endif

/* launch.c -- the server process: start it in its own session, read its log
 * back, notice when it dies, and stop its whole tree (see launch.h).
 *
 * Finding "the whole tree" is the hard part.  The process group covers
 * everything that stays in it; a descendant that calls setsid() (daemons,
 * some Ray/multiprocessing helpers) leaves it, so we also walk /proc: every
 * process whose parent chain reaches the server or a known descendant
 * belongs to it.  Orphans are re-parented to us (we are a child subreaper),
 * and descendants seen earlier are remembered with their start time, so one
 * whose parent already died is still found.
 */
#include "bench/launch_int.h"
#include "core/file.h"
#include "reports/console.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- Ctrl-C ---- */

/* The one piece of global state (see launch.h): the installed flags. */
static pf_launch_sigs *g_sigs;

static void on_signal(int signo)
{
    pf_launch_sigs *s = g_sigs;
    if (s) {
        s->count = s->count + 1;
        s->last_signo = signo;
    }
}

int pf_launch_sigs_install(pf_launch_sigs *s, pf_err *err)
{
    if (g_sigs)
        return pf_err_set(err, "a Ctrl-C handler is already installed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = SA_RESTART; /* other code's stdio must not see EINTR */
    s->count = 0;
    s->last_signo = 0;
    g_sigs = s;
    if (sigaction(SIGINT, &sa, &s->old_int) != 0 || sigaction(SIGTERM, &sa, &s->old_term) != 0) {
        int e = errno;
        g_sigs = NULL;
        return pf_err_errno(err, e, "cannot install the SIGINT/SIGTERM handler");
    }
    s->installed = true;
    return 0;
}

void pf_launch_sigs_restore(pf_launch_sigs *s)
{
    if (!s || !s->installed)
        return;
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    s->installed = false;
    if (g_sigs == s)
        g_sigs = NULL;
}

void pf_launch_watch_signals(pf_launch *l, const pf_launch_sigs *s) { l->stop_counter = s ? &s->count : NULL; }

void pf_launch_watch_flag(pf_launch *l, const volatile sig_atomic_t *flag) { l->stop_counter = flag; }

/* ---- start ---- */

/* environ plus the overrides, built before fork: the child of a process
 * that may have threads (curl's resolver) must not call setenv. */
static char **build_env(const char *const *set)
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (set && set[m])
        m++;
    char **env = pf_xcalloc(n + m + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < m && !overridden; j++)
            overridden = strncmp(set[j], environ[i], nl) == 0 && set[j][nl] == '=';
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = (char *)set[j];
    return env;
}

static _Noreturn void child_exec(char *const argv[], char **envp, const char *cwd, int logfd,
                                 int statusfd, pid_t parent)
{
    setsid();
    /* If preflight is killed outright the server is told to go too. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    /* Handlers are reset by exec, but ignored signals and the mask are
     * inherited: give the server a clean slate (curl ignores SIGPIPE). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0 && in != STDIN_FILENO) {
        dup2(in, STDIN_FILENO);
        close(in);
    }
    dup2(logfd, STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    if (cwd && chdir(cwd) != 0) {
        int e = errno;
        (void)!write(statusfd, &e, sizeof e);
        _exit(127);
    }
    execvpe(argv[0], argv, envp);
    int e = errno;
    (void)!write(statusfd, &e, sizeof e);
    _exit(127);
}

pf_launch *pf_launch_start(char *const argv[], const pf_launch_opts *opts, pf_err *err)
{
    pf_launch_opts o = {0};
    if (opts)
        o = *opts;
    if (!argv || !argv[0] || !argv[0][0]) {
        pf_err_set(err, "no server command given (expected: --launch -- CMD ARGS...)");
        return NULL;
    }
    char *log_path;
    int wfd;
    if (o.log_path) {
        log_path = pf_xstrdup(o.log_path);
        /* O_NONBLOCK: a FIFO here must not hang us; the log is read back, so
         * it has to be a regular file (checked below). */
        wfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
        struct stat lst = {0};
        if (wfd >= 0 && (fstat(wfd, &lst) != 0 || !S_ISREG(lst.st_mode))) {
            pf_err_set(err, "the server log %s is %s; it must be a regular file (preflight reads it back)",
                       log_path, pf_file_type_name(lst.st_mode));
            close(wfd);
            free(log_path);
            return NULL;
        }
        if (wfd >= 0 && (ftruncate(wfd, 0) != 0 || fcntl(wfd, F_SETFL, O_APPEND) != 0)) {
            pf_err_errno(err, errno, "cannot truncate the server log %s", log_path);
            close(wfd);
            free(log_path);
            return NULL;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        log_path = pf_xasprintf("%s/preflight-server-XXXXXX.log", tmp && *tmp ? tmp : "/tmp");
        wfd = mkostemps(log_path, 4, O_APPEND | O_CLOEXEC);
    }
    if (wfd < 0) {
        pf_err_errno(err, errno, "cannot create the server log %s", log_path);
        free(log_path);
        return NULL;
    }
    int rfd = open(log_path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) {
        pf_err_errno(err, errno, "cannot read back the server log %s", log_path);
        close(wfd);
        free(log_path);
        return NULL;
    }
    int statp[2];
    if (pipe2(statp, O_CLOEXEC) != 0) {
        pf_err_errno(err, errno, "cannot start %s: pipe", argv[0]);
        close(wfd);
        close(rfd);
        free(log_path);
        return NULL;
    }
    if (!o.no_subreaper)
        prctl(PR_SET_CHILD_SUBREAPER, 1);

    pf_launch *l = pf_xcalloc(1, sizeof *l);
    l->log_path = log_path;
    l->log_rfd = rfd;
    l->tee = o.tee;
    l->watch = pf_logwatch_new(o.keep_lines);
    while (argv[l->argc])
        l->argc++;
    l->argv = pf_xcalloc((size_t)l->argc + 1, sizeof *l->argv);
    for (int i = 0; i < l->argc; i++)
        l->argv[i] = pf_xstrdup(argv[i]);
    l->t_last_scan = -1;

    char **envp = build_env(o.env_set);
    pid_t parent = getpid();
    pf_wall_iso8601(l->started_at, sizeof l->started_at);
    l->t0 = pf_now();
    pid_t pid = fork();
    if (pid == 0)
        child_exec(l->argv, envp, o.cwd, wfd, statp[1], parent);
    int fork_errno = errno;
    free(envp);
    close(wfd);
    close(statp[1]);
    if (pid < 0) {
        close(statp[0]);
        pf_err_errno(err, fork_errno, "cannot start %s: fork", argv[0]);
        pf_launch_free(l);
        return NULL;
    }
    l->pid = pid;
    int child_errno = 0;
    ssize_t r;
    do
        r = read(statp[0], &child_errno, sizeof child_errno);
    while (r < 0 && errno == EINTR);
    close(statp[0]);
    if (r == (ssize_t)sizeof child_errno) {
        waitpid(pid, NULL, 0);
        l->pid = 0; /* nothing to stop */
        if (o.cwd && child_errno == ENOENT && access(o.cwd, X_OK) != 0)
            pf_err_errno(err, child_errno, "cannot start %s: working directory %s", argv[0], o.cwd);
        else
            pf_err_errno(err, child_errno, "cannot execute %s", argv[0]);
        pf_launch_free(l);
        return NULL;
    }
    return l;
}

/* ---- the process tree ---- */

typedef struct procinfo {
    pid_t pid, ppid, pgrp;
    char state;
    unsigned long long start;
    bool mark;
} procinfo;

static bool read_stat(pid_t pid, procinfo *pi)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
    if (!p)
        return false;
    int ppid, pgrp;
    unsigned long long start;
    if (sscanf(p + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &pi->state, &ppid, &pgrp, &start) != 4)
        return false;
    pi->pid = pid;
    pi->ppid = ppid;
    pi->pgrp = pgrp;
    pi->start = start;
    pi->mark = false;
    return true;
}

/* All processes, with the server's tree marked.  Caller frees. */
static procinfo *scan_tree(pf_launch *l, size_t *count)
{
    size_t n = 0, cap = 256;
    procinfo *v = pf_xmalloc(cap * sizeof *v);
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t self = getpid();
    while (d && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == self)
            continue;
        if (n == cap)
            v = pf_xrealloc(v, (cap *= 2) * sizeof *v);
        if (read_stat(pid, &v[n]))
            n++;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++) {
        v[i].mark = v[i].pid == l->pid || v[i].pgrp == l->pid;
        for (size_t k = 0; k < l->nknown && !v[i].mark; k++)
            v[i].mark = l->known[k].pid == v[i].pid && l->known[k].starttime == v[i].start;
    }
    for (bool grew = true; grew;) { /* children of marked processes, to a fixpoint */
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (v[i].mark)
                continue;
            for (size_t j = 0; j < n; j++) {
                if (v[j].mark && v[j].pid == v[i].ppid) {
                    v[i].mark = grew = true;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i].mark || v[i].state == 'Z')
            continue;
        bool have = false;
        for (size_t k = 0; k < l->nknown && !have; k++)
            have = l->known[k].pid == v[i].pid && l->known[k].starttime == v[i].start;
        if (!have && l->nknown < PF_LAUNCH_KNOWN_MAX)
            l->known[l->nknown++] = (pf_launch_known){v[i].pid, v[i].start};
    }
    *count = n;
    return v;
}

static void record_exit(pf_launch *l, int st)
{
    l->reaped = true;
    l->t_exit = pf_now() - l->t0;
    if (WIFEXITED(st)) {
        l->exited = true;
        l->exit_code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        l->signalled = true;
        l->term_signal = WTERMSIG(st);
    }
}

/* Reap our children in the server's group (the server itself and orphans
 * re-parented to us). */
static void reap(pf_launch *l)
{
    int st;
    pid_t r;
    if (l->pid <= 0)
        return;
    while ((r = waitpid(-l->pid, &st, WNOHANG)) > 0)
        if (r == l->pid)
            record_exit(l, st);
}

/* ---- log ---- */

void pf_launch_clear_progress(pf_launch *l)
{
    if (l->progress_drawn) {
        (void)!write(STDERR_FILENO, "\r\033[K", 4);
        l->progress_drawn = false;
    }
}

void pf_launch_pump(pf_launch *l)
{
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    /* bounded per call, so a flooding server cannot starve the caller */
    while (total < (4u << 20) && (n = read(l->log_rfd, buf, sizeof buf)) > 0) {
        total += (size_t)n;
        pf_logwatch_feed(l->watch, buf, (size_t)n, pf_now() - l->t0);
        if (l->tee) {
            /* the server's bytes, control characters escaped (reports/console.h) */
            pf_launch_clear_progress(l);
            for (ssize_t a = 0; a < n;) {
                const char *nl = memchr(buf + a, '\n', (size_t)(n - a));
                ssize_t e = nl ? (ssize_t)(nl - buf) : n;
                pf_console_put(stderr, buf + a, (size_t)(e - a));
                if (nl)
                    fputc('\n', stderr);
                a = e + (nl ? 1 : 0);
            }
            fflush(stderr);
        }
    }
    if (!l->reaped)
        reap(l);
    double now = pf_now() - l->t0;
    if (!l->reaped && now - l->t_last_scan >= 0.5) {
        size_t cnt;
        free(scan_tree(l, &cnt));
        l->t_last_scan = now;
    }
}

/* ---- poll ---- */

void pf_launch_describe_exit(const pf_launch *l, char *buf, size_t len)
{
    if (l->exited)
        snprintf(buf, len, "exited with status %d", l->exit_code);
    else if (l->signalled)
        snprintf(buf, len, "was killed by signal %d (%s)", l->term_signal, strsignal(l->term_signal));
    else
        snprintf(buf, len, "is running");
}

void pf_launch_tail_text(pf_launch *l, size_t nlines, char *buf, size_t len)
{
    const char *lines[64];
    if (nlines > 64)
        nlines = 64;
    size_t n = pf_launch_tail(l, lines, nlines);
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off + 1 < len; i++) {
        int w = snprintf(buf + off, len - off, "%s  | %s", i ? "\n" : "", lines[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

int pf_launch_poll(pf_launch *l, pf_launch_status *out)
{
    memset(out, 0, sizeof *out);
    pf_launch_pump(l);
    if (l->reaped) { /* the last words may have been written just before exit */
        pf_launch_pump(l);
        pf_logwatch_finish(l->watch, pf_now() - l->t0);
    }
    out->running = !l->reaped;
    out->exited = l->exited;
    out->signalled = l->signalled;
    out->exit_code = l->exit_code;
    out->term_signal = l->term_signal;
    const pf_logwatch_hit *h = pf_logwatch_first(l->watch, PF_LOGWATCH_FATAL);
    if (h)
        out->fatal = *h;
    if (out->running && !h)
        return 0;
    char how[128];
    pf_launch_describe_exit(l, how, sizeof how);
    if (h)
        snprintf(out->message, sizeof out->message,
                 "the server log shows a known fatal error (%s, check %s) at %.1f s: %s; the server %s",
                 h->sig->name, h->sig->check_id, h->t, h->line, how);
    else
        snprintf(out->message, sizeof out->message, "the server %s after %.1f s", how, l->t_exit);
    return 1;
}

/* ---- stop ---- */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Count the tree's live processes; signal them when sig != 0.  Also reaps
 * marked zombies that are our children. */
static unsigned tree_signal(pf_launch *l, int sig, unsigned *strays)
{
    if (l->pid <= 0) /* never started: kill(-0) would hit our own group */
        return 0;
    size_t n;
    procinfo *v = scan_tree(l, &n);
    unsigned alive = 0;
    pid_t self = getpid();
    if (sig)
        kill(-l->pid, sig);
    for (size_t i = 0; i < n; i++) {
        if (!v[i].mark)
            continue;
        if (v[i].state == 'Z') {
            int st; /* the main process's status must not be lost here */
            if (v[i].ppid == self && waitpid(v[i].pid, &st, WNOHANG) == l->pid && !l->reaped)
                record_exit(l, st);
            continue;
        }
        alive++;
        if (v[i].pgrp != l->pid) {
            if (sig)
                kill(v[i].pid, sig);
            if (strays)
                (*strays)++;
        }
    }
    free(v);
    return alive;
}

int pf_launch_stop(pf_launch *l, double grace_s, pf_launch_stop_result *out)
{
    static const int SIGS[3] = {SIGINT, SIGTERM, SIGKILL};
    static const char *const NAMES[3] = {"SIGINT", "SIGTERM", "SIGKILL"};
    memset(out, 0, sizeof *out);
    if (grace_s <= 0)
        grace_s = 10.0;
    double t0 = pf_now();
    out->stage = "not running";
    pf_launch_pump(l);
    int stage = -1;
    int seen = l->stop_counter ? *l->stop_counter : 0;
    for (int s = 0; s < 3; s++) {
        unsigned strays = 0;
        if (tree_signal(l, 0, NULL) == 0)
            break;
        tree_signal(l, SIGS[s], &strays);
        if (strays > out->strays)
            out->strays = strays;
        stage = s;
        out->stage = NAMES[s];
        double until = pf_now() + (s < 2 ? grace_s : 5.0);
        while (pf_now() < until) {
            sleep_s(0.05);
            pf_launch_pump(l);
            if (tree_signal(l, 0, NULL) == 0)
                break;
            if (s < 2 && l->stop_counter && *l->stop_counter > seen) {
                s = 1; /* another Ctrl-C: no more patience, SIGKILL next */
                out->hurried = true;
                break;
            }
        }
    }
    pf_launch_pump(l);
    out->survivors = tree_signal(l, 0, NULL);
    /* zombies of the group whose parent is init may take a moment to go */
    bool group_gone = l->pid <= 0;
    for (double until = pf_now() + 2.0;;) {
        if (group_gone)
            break;
        reap(l);
        tree_signal(l, 0, NULL);
        group_gone = kill(-l->pid, 0) != 0 && errno == ESRCH;
        if (group_gone || out->survivors > 0 || pf_now() >= until)
            break;
        sleep_s(0.02);
    }
    out->all_gone = out->survivors == 0 && group_gone;
    out->graceful = stage == 0 && out->all_gone;
    out->elapsed_s = pf_now() - t0;
    out->exited = l->exited;
    out->signalled = l->signalled;
    out->exit_code = l->exit_code;
    out->term_signal = l->term_signal;
    char how[128];
    pf_launch_describe_exit(l, how, sizeof how);
    if (!out->all_gone)
        snprintf(out->message, sizeof out->message,
                 "%u process(es) of the server (group %d) still alive after SIGKILL", out->survivors,
                 (int)l->pid);
    else if (stage < 0)
        snprintf(out->message, sizeof out->message, "the server had already stopped (it %s)", how);
    else
        snprintf(out->message, sizeof out->message, "stopped with %s in %.1f s (server %s%s)",
                 out->stage, out->elapsed_s, how,
                 out->strays ? ", plus descendants outside its process group" : "");
    l->stop = *out;
    l->have_stop = true;
    return out->all_gone ? 0 : -1;
}

/* ---- facts ---- */

int pf_launch_pid(const pf_launch *l) { return (int)l->pid; }
const char *pf_launch_log_path(const pf_launch *l) { return l->log_path; }

double pf_launch_elapsed(const pf_launch *l) { return pf_now() - l->t0; }

size_t pf_launch_tail(pf_launch *l, const char **lines, size_t max)
{
    pf_launch_pump(l);
    if (l->reaped)
        pf_logwatch_finish(l->watch, pf_now() - l->t0);
    return pf_logwatch_tail(l->watch, lines, max);
}

void pf_launch_free(pf_launch *l)
{
    if (!l)
        return;
    if (l->pid > 0 && !l->have_stop) {
        pf_launch_stop_result r;
        pf_launch_stop(l, 2.0, &r);
    }
    if (l->log_rfd >= 0)
        close(l->log_rfd);
    for (int i = 0; i < l->argc; i++)
        free(l->argv[i]);
    free(l->argv);
    free(l->log_path);
    pf_logwatch_free(l->watch);
    free(l);
}

/* sig.c -- see sig.h. */
#include "core/sig.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const int SIGS[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGS (sizeof SIGS / sizeof SIGS[0])

static volatile sig_atomic_t g_count;
static volatile sig_atomic_t g_last;
static volatile sig_atomic_t g_group;
static volatile sig_atomic_t g_groups[PF_SIG_MAX_GROUPS]; /* 0: free slot */
static volatile sig_atomic_t g_immediate;
static struct sigaction g_old[NSIGS];
static int g_installed;

static volatile sig_atomic_t g_first_pid;   /* sender of the first signal (0: the kernel, a terminal) */
static volatile sig_atomic_t g_first_signo;
static struct timespec g_first_at;

/* One request to stop can arrive as two signals: GNU `timeout` sends its
 * signal to the child and then to the whole process group, so preflight
 * under `timeout` gets SIGTERM twice within microseconds.  That is not the
 * user asking twice.  The same signal from the same sending process within
 * a second counts once; a terminal's Ctrl-C (sent by the kernel, pid 0)
 * always counts. */
static int same_request(int signo, const siginfo_t *si)
{
    if (g_count == 0 || !si || si->si_pid == 0 || si->si_pid != g_first_pid || signo != g_first_signo)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    double dt = (double)(now.tv_sec - g_first_at.tv_sec) + (double)(now.tv_nsec - g_first_at.tv_nsec) / 1e9;
    return dt < 1.0;
}

static void on_signal(int signo, siginfo_t *si, void *uctx)
{
    (void)uctx;
    if (same_request(signo, si))
        return;
    g_last = signo;
    if (g_count >= 1 || g_immediate) {
        /* Second signal: the user wants out now.  Take the server with us. */
        int saved = errno;
        if (g_group > 0)
            kill(-(pid_t)g_group, SIGKILL);
        for (size_t i = 0; i < PF_SIG_MAX_GROUPS; i++)
            if (g_groups[i] > 0)
                kill(-(pid_t)g_groups[i], SIGKILL);
        static const char msg[] = "\npreflight: exiting now\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        errno = saved;
        _exit(128 + signo);
    }
    g_first_pid = si ? si->si_pid : 0;
    g_first_signo = signo;
    clock_gettime(CLOCK_MONOTONIC, &g_first_at);
    g_count = g_count + 1;
    static const char msg[] = "\npreflight: stopping (the record is still written; a second signal exits at once)\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
}

int pf_sig_install(pf_err *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGS; i++)
        sigaddset(&sa.sa_mask, SIGS[i]); /* one handler runs at a time */
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    g_count = 0;
    g_last = 0;
    g_group = 0;
    for (size_t i = 0; i < PF_SIG_MAX_GROUPS; i++)
        g_groups[i] = 0;
    for (size_t i = 0; i < NSIGS; i++)
        if (sigaction(SIGS[i], &sa, &g_old[i]) != 0) {
            int e = errno, failed = SIGS[i];
            while (i-- > 0)
                sigaction(SIGS[i], &g_old[i], NULL);
            return pf_err_errno(err, e, "cannot install the handler for %s", pf_sig_name(failed));
        }
    g_installed = 1;
    return 0;
}

void pf_sig_restore(void)
{
    if (!g_installed)
        return;
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(SIGS[i], &g_old[i], NULL);
    g_installed = 0;
}

volatile sig_atomic_t *pf_sig_counter(void) { return &g_count; }
int pf_sig_count(void) { return g_count; }
int pf_sig_last(void) { return g_last; }
void pf_sig_set_immediate(bool immediate) { g_immediate = immediate; }
void pf_sig_watch_group(pid_t pgid) { g_group = pgid > 0 ? pgid : 0; }

/* A slot is written whole (sig_atomic_t), so the handler sees either the
 * group or 0, never half of one. */
int pf_sig_watch_add(pid_t pgid)
{
    if (pgid <= 0)
        return -1;
    for (size_t i = 0; i < PF_SIG_MAX_GROUPS; i++)
        if (g_groups[i] == 0) {
            g_groups[i] = pgid;
            return 0;
        }
    return -1;
}

void pf_sig_watch_remove(pid_t pgid)
{
    for (size_t i = 0; i < PF_SIG_MAX_GROUPS; i++)
        if (pgid > 0 && g_groups[i] == pgid)
            g_groups[i] = 0;
}

const char *pf_sig_name(int signo)
{
    switch (signo) {
    case SIGINT: return "Ctrl-C";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case 0: return "no signal";
    default: return "a signal";
    }
}

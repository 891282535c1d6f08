/* proc.c -- see proc.h.
 *
 * A CLOEXEC "status pipe" tells the parent whether exec succeeded: if the
 * child writes an errno into it, exec failed; if it closes with nothing
 * written, the program is running.  This is how "not found" is told apart
 * from "ran and exited 127".
 */
#include "core/proc.h"
#include "core/file.h"
#include "core/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_exec(char *const argv[], const pf_proc_opts *o, int outfd, int statusfd, pid_t parent)
{
    setpgid(0, 0);
    /* A tool never outlives the process that runs it: if that one is
     * SIGKILLed (a launcher's stop, the agent's checks child killed at its
     * deadline), the kernel kills the tool too -- kill(-pgid) below cannot
     * run then.  Kept across exec; checked against the race where the
     * parent died before prctl. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int in = open(o->stdin_path ? o->stdin_path : "/dev/null", O_RDONLY);
    if (in >= 0) {
        dup2(in, STDIN_FILENO);
        if (in != STDIN_FILENO)
            close(in);
    }
    dup2(outfd, STDOUT_FILENO);
    dup2(outfd, STDERR_FILENO);
    if (outfd > STDERR_FILENO)
        close(outfd);
    for (const char *const *u = o->env_unset; u && *u; u++)
        unsetenv(*u);
    for (const char *const *s = o->env_set; s && *s; s++)
        putenv((char *)*s);
    signal(SIGPIPE, SIG_DFL);
    if (o->cwd && chdir(o->cwd) != 0) {
        int e = errno;
        (void)!write(statusfd, &e, sizeof e);
        _exit(127);
    }
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(statusfd, &e, sizeof e);
    _exit(127);
}

int pf_proc_run(char *const argv[], const pf_proc_opts *opts, pf_proc_result *res, pf_err *err)
{
    pf_proc_opts o = {0};
    if (opts)
        o = *opts;
    double timeout = o.timeout_s > 0 ? o.timeout_s : 10.0;
    size_t max_out = o.max_out ? o.max_out : (1u << 20);
    memset(res, 0, sizeof *res);

    int outp[2], statp[2];
    if (pipe2(outp, O_CLOEXEC) != 0)
        return pf_err_errno(err, errno, "cannot run %s: pipe", argv[0]);
    if (pipe2(statp, O_CLOEXEC) != 0) {
        close(outp[0]);
        close(outp[1]);
        return pf_err_errno(err, errno, "cannot run %s: pipe", argv[0]);
    }
    double t0 = pf_now();
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(outp[0]); close(outp[1]); close(statp[0]); close(statp[1]);
        return pf_err_errno(err, e, "cannot run %s: fork", argv[0]);
    }
    if (pid == 0)
        child_exec(argv, &o, outp[1], statp[1], self);
    setpgid(pid, pid); /* both sides set it, so there is no race with kill(-pid) */
    close(outp[1]);
    close(statp[1]);

    int child_errno = 0;
    ssize_t sr;
    do
        sr = read(statp[0], &child_errno, sizeof child_errno);
    while (sr < 0 && errno == EINTR);
    close(statp[0]);
    if (sr == (ssize_t)sizeof child_errno) {
        close(outp[0]);
        waitpid(pid, NULL, 0);
        return pf_err_errno(err, child_errno, "cannot run %s", argv[0]);
    }

    /* Once preflight is being stopped (core/sig.h), no tool gets its full
     * deadline: it is killed at once, even if the signal came just before
     * it started (a loaded machine makes that window wide). */
    size_t n = 0;
    pf_drain_end end;
    char *buf = pf_file_drain_fd(outp[0], max_out, true, t0 + timeout, true, &n, &res->out_truncated, &end);
    if (end == PF_DRAIN_SIGNAL)
        res->timed_out = res->interrupted = true;
    else if (end == PF_DRAIN_DEADLINE)
        res->timed_out = true;
    close(outp[0]);

    int status = 0;
    if (res->timed_out) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    } else {
        /* Output closed; the program may still be running (it closed its
         * stdout).  Give it the rest of the deadline to exit. */
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                break;
            if (w < 0 && errno != EINTR)
                break;
            if (pf_now() - t0 > timeout || pf_sig_count() > 0) {
                res->timed_out = true;
                res->interrupted = pf_sig_count() > 0;
                kill(-pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            usleep(2000);
        }
    }
    /* Reap nothing else, but make sure no stray grandchild keeps running. */
    kill(-pid, SIGKILL);

    res->elapsed_s = pf_now() - t0;
    buf[n] = '\0';
    res->out = buf;
    res->out_len = n;
    if (WIFEXITED(status)) {
        res->exited = !res->timed_out;
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signalled = !res->timed_out;
        res->term_signal = WTERMSIG(status);
    }
    return 0;
}

void pf_proc_result_free(pf_proc_result *res)
{
    free(res->out);
    res->out = NULL;
}

void pf_proc_describe(const pf_proc_result *res, char *buf, size_t len)
{
    if (res->interrupted)
        snprintf(buf, len, "stopped after %.1f s: preflight was interrupted", res->elapsed_s);
    else if (res->timed_out)
        snprintf(buf, len, "timed out after %.1f s (killed)", res->elapsed_s);
    else if (res->signalled)
        snprintf(buf, len, "killed by signal %d (%s)", res->term_signal, strsignal(res->term_signal));
    else
        snprintf(buf, len, "exit %d", res->exit_code);
}

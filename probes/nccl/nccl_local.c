/* nccl_local.c -- fork the ranks of `preflight nccl`, relay the unique id,
 * watch phases and deadlines, collect results (see nccl_local.h). */
#include "probes/nccl/nccl_local.h"
#include "core/file.h"
#include "core/sig.h"

#include "probes/nccl/nccl_agent.h"

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

#define MAX_RANKS 64
#define MAX_LINE (1 << 20)

void pf_nccllocal_uid_hex(const pf_nccl_uid *uid, char out[257])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 128; i++) {
        unsigned char b = (unsigned char)uid->internal[i];
        out[2 * i] = hx[b >> 4];
        out[2 * i + 1] = hx[b & 15];
    }
    out[256] = 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int pf_nccllocal_uid_parse(const char *hex, pf_nccl_uid *uid)
{
    for (int i = 0; i < 128; i++) {
        int a = hexval(hex[2 * i]), b = a < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        uid->internal[i] = (char)(a << 4 | b);
    }
    return hex[256] == 0 || hex[256] == '\n' ? 0 : -1;
}

/* ---- the rank process ---- */

static void send_line(int fd, const char *kind, const char *text)
{
    char *l = pf_xasprintf("%s %s\n", kind, text);
    (void)pf_file_write_fd(fd, l, strlen(l)); /* a parent gone away reads nothing */
    free(l);
}

static void on_phase(void *arg, const char *ph)
{
    send_line(*(int *)arg, "phase", ph);
}

/* Read one line from fd before the deadline ("" on timeout or EOF). */
static void read_line_deadline(int fd, char *buf, size_t cap, double deadline)
{
    size_t n = 0;
    buf[0] = 0;
    while (n + 1 < cap) {
        double left = deadline - pf_now();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            break;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
}

typedef struct rank_io {
    int up, down;
} rank_io;

static int publish(void *arg, const pf_nccl_uid *uid)
{
    rank_io *io = arg;
    char hex[257];
    if (uid)
        pf_nccllocal_uid_hex(uid, hex);
    send_line(io->up, "uid", uid ? hex : "none");
    return 0;
}

static int fetch(void *arg, pf_nccl_uid *uid, double deadline)
{
    rank_io *io = arg;
    char line[300];
    read_line_deadline(io->down, line, sizeof line, deadline);
    return pf_str_startswith(line, "uid ") && pf_nccllocal_uid_parse(line + 4, uid) == 0 ? 0 : -1;
}

/* The rank process: the agent entry point with pipes as control plane. */
static void rank_main(const pf_nccllocal_opts *o, int r, int up, int down, const char *log_file)
{
    /* stdout/stderr of NCCL (anything it prints before NCCL_DEBUG_FILE
     * opens) go to a file beside the log. */
    char *outp = pf_xasprintf("%s/rank%d.out", o->log_dir, r);
    int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    free(outp);

    pf_strv env = {0};
    for (const char *const *e = o->env; e && *e; e++)
        pf_strv_push(&env, *e);
    if (o->hostid_per_rank) {
        char host[200] = "";
        gethostname(host, sizeof host - 1);
        pf_strv_push_owned(&env, pf_xasprintf("NCCL_HOSTID=%s-pf%d", host, r));
    }
    pf_strv_push_owned(&env, NULL);
    env.n--;

    pf_ncclrank_opts ro = o->rank;
    ro.rank = r;
    ro.nranks = o->nranks;
    ro.env = (const char *const *)env.v;
    ro.phase_cb = on_phase;
    ro.cb_arg = &up;
    rank_io rio = {up, down};
    pf_ncclagent_io io = {publish, fetch, &rio};
    json_t *res = pf_ncclagent_run(&ro, log_file, &io);
    char *js = json_dumps(res, JSON_COMPACT);
    send_line(up, "result", js ? js : "{}");
    free(js);
    json_decref(res);
    pf_strv_free(&env);
    _exit(0);
}

/* ---- the parent ---- */

typedef struct rank_slot {
    pid_t pid;
    int up, down;       /* -1 when closed */
    char *buf;          /* partial line from up */
    size_t len, cap;
    char phase[96];
    double phase_since;
    json_t *result;
    bool exited;
    int status;
    bool killed_by_us;
    char log_file[1024];
} rank_slot;

static void forward_uid(rank_slot *s, int n, const char *line)
{
    for (int i = 1; i < n; i++)
        if (s[i].down >= 0) {
            (void)pf_file_write_fd(s[i].down, line, strlen(line));
            (void)pf_file_write_fd(s[i].down, "\n", 1);
        }
}

static void handle_line(rank_slot *s, int n, int r, char *line)
{
    if (pf_str_startswith(line, "phase ")) {
        pf_strlcpy(s[r].phase, line + 6, sizeof s[r].phase);
        s[r].phase_since = pf_now();
    } else if (pf_str_startswith(line, "uid ") && r == 0) {
        forward_uid(s, n, line);
    } else if (pf_str_startswith(line, "result ")) {
        json_error_t je;
        json_t *j = json_loads(line + 7, 0, &je);
        if (j && json_is_object(j)) {
            json_decref(s[r].result);
            s[r].result = j;
        } else {
            json_decref(j);
        }
    }
}

static void drain(rank_slot *s, int n, int r)
{
    char tmp[65536];
    ssize_t got = read(s[r].up, tmp, sizeof tmp);
    if (got <= 0) {
        if (got < 0 && errno == EINTR)
            return;
        close(s[r].up);
        s[r].up = -1;
        return;
    }
    if (s[r].len + (size_t)got + 1 > s[r].cap) {
        s[r].cap = (s[r].len + (size_t)got + 1) * 2;
        s[r].buf = pf_xrealloc(s[r].buf, s[r].cap);
    }
    memcpy(s[r].buf + s[r].len, tmp, (size_t)got);
    s[r].len += (size_t)got;
    s[r].buf[s[r].len] = 0;
    char *nl;
    while ((nl = memchr(s[r].buf, '\n', s[r].len))) {
        *nl = 0;
        handle_line(s, n, r, s[r].buf);
        size_t used = (size_t)(nl - s[r].buf) + 1;
        memmove(s[r].buf, nl + 1, s[r].len - used);
        s[r].len -= used;
    }
    if (s[r].len > MAX_LINE) { /* a rank talking nonsense: stop listening */
        close(s[r].up);
        s[r].up = -1;
    }
}

/* The result of a rank that left no result line. */
static json_t *synth_result(const pf_nccllocal_opts *o, int r, rank_slot *s, const char *kind, const char *msg)
{
    pf_ncclrank_opts ro = o->rank;
    ro.rank = r;
    ro.nranks = o->nranks;
    const char *ph = s->phase[0] ? s->phase : "load";
    json_t *j = pf_ncclrank_load_failure(&ro, ph, msg);
    json_object_set_new(json_object_get(j, "failure"), "kind", json_string(kind));
    json_object_set_new(j, "pid", json_integer(s->pid));
    return j;
}

json_t *pf_nccllocal_run(const pf_nccllocal_opts *o, pf_err *err)
{
    int n = o->nranks;
    if (n < 1 || n > MAX_RANKS) {
        pf_err_set(err, "%d ranks: preflight nccl runs 1 to %d local ranks", n, MAX_RANKS);
        return NULL;
    }
    if (!o->log_dir || !pf_is_dir(o->log_dir)) {
        pf_err_set(err, "NCCL log directory %s does not exist", o->log_dir ? o->log_dir : "(none)");
        return NULL;
    }
    rank_slot *s = pf_xcalloc((size_t)n, sizeof *s);
    double t0 = pf_now();
    fflush(NULL);
    pid_t parent = getpid();
    /* All ranks share one process group (the first started rank leads it),
     * so a signal stops every one of them with one kill(-pgid) and a second
     * signal SIGKILLs the group from the handler (core/sig.h). */
    pid_t pgid = 0;
    for (int r = 0; r < n; r++) {
        s[r].up = s[r].down = -1;
        snprintf(s[r].log_file, sizeof s[r].log_file, "%s/nccl.rank%d.log", o->log_dir, r);
        unlink(s[r].log_file);
        if (r == o->absent_rank)
            continue;
        int up[2], down[2];
        if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
            pf_err_errno(err, errno, "pipe for NCCL rank %d", r);
            n = r;
            goto fail;
        }
        pid_t pid = fork();
        if (pid < 0) {
            pf_err_errno(err, errno, "fork for NCCL rank %d", r);
            close(up[0]), close(up[1]), close(down[0]), close(down[1]);
            n = r;
            goto fail;
        }
        if (pid == 0) {
            /* A rank never outlives preflight: on SIGINT/SIGTERM/SIGHUP the
             * parent stops the ranks' group itself, but it may be SIGKILLed
             * (or exit at a second signal); a rank stuck in NCCL
             * would otherwise keep running, holding the GPU and its ports. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            setpgid(0, pgid);
            /* the parent's handler only raises a flag: a rank told to stop
             * must stop */
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            close(up[0]);
            close(down[1]);
            for (int k = 0; k < r; k++) { /* siblings' pipes are not ours */
                if (s[k].up >= 0)
                    close(s[k].up);
                if (s[k].down >= 0)
                    close(s[k].down);
            }
            signal(SIGPIPE, SIG_IGN);
            rank_main(o, r, up[1], down[0], s[r].log_file);
        }
        setpgid(pid, pgid); /* both sides: whichever runs first wins the race */
        if (pgid == 0) {
            pgid = pid;
            pf_sig_watch_group(pgid);
        }
        close(up[1]);
        close(down[0]);
        s[r].pid = pid;
        if (o->on_rank_started)
            o->on_rank_started(o->on_rank_ud, r, pid);
        s[r].up = up[0];
        s[r].down = down[1];
        s[r].phase_since = pf_now();
    }

    double deadline = t0 + (o->deadline_s > 0 ? o->deadline_s : 120);
    bool backstop = false;
    /* SIGINT/SIGTERM/SIGHUP (core/sig.h): SIGTERM to the ranks' group, what
     * they already reported is kept, SIGKILL after a short grace. */
    bool interrupted = false;
    double grace_until = 0;
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct pollfd pf[MAX_RANKS];
        int idx[MAX_RANKS], np = 0;
        for (int r = 0; r < n; r++)
            if (s[r].up >= 0) {
                pf[np] = (struct pollfd){s[r].up, POLLIN, 0};
                idx[np++] = r;
            }
        if (np == 0)
            break;
        /* fault injection: a rank that dies mid-collective */
        if (o->kill_rank >= 0 && o->kill_rank < n && s[o->kill_rank].pid > 0 && !s[o->kill_rank].killed_by_us &&
            pf_str_startswith(s[o->kill_rank].phase, "all_reduce") &&
            pf_now() - s[o->kill_rank].phase_since >= o->kill_after_s) {
            kill(s[o->kill_rank].pid, SIGKILL);
            s[o->kill_rank].killed_by_us = true;
        }
        if (!interrupted && pf_sig_count() > 0) {
            interrupted = true;
            grace_until = pf_now() + 2;
            if (pgid > 0)
                kill(-pgid, SIGTERM);
        }
        if (interrupted && pf_now() >= grace_until) {
            if (pgid > 0)
                kill(-pgid, SIGKILL);
            break;
        }
        double left = deadline - pf_now();
        if (left <= 0) {
            backstop = true;
            for (int r = 0; r < n; r++)
                if (s[r].pid > 0 && s[r].up >= 0)
                    kill(s[r].pid, SIGKILL);
            break;
        }
        int ms = (int)(left * 1000) + 1;
        if (ms > 100)
            ms = 100;
        int pr = poll(pf, (nfds_t)np, ms);
        if (pr < 0 && errno != EINTR)
            break;
        for (int i = 0; i < np && pr > 0; i++)
            if (pf[i].revents)
                drain(s, n, idx[i]);
    }
    signal(SIGPIPE, old_pipe);

    json_t *ranks = json_array();
    for (int r = 0; r < n; r++) {
        if (s[r].pid > 0) {
            /* a rank whose pipe closed exits at once; a hung one was killed */
            double until = pf_now() + 5;
            while (waitpid(s[r].pid, &s[r].status, WNOHANG) == 0) {
                if (pf_now() > until) {
                    kill(s[r].pid, SIGKILL);
                    waitpid(s[r].pid, &s[r].status, 0);
                    break;
                }
                usleep(2000);
            }
            s[r].exited = true;
        }
        json_t *j = s[r].result;
        s[r].result = NULL;
        if (r == o->absent_rank) {
            j = synth_result(o, r, &s[r], "absent", "this rank was never started (a node that never joins)");
        } else if (!j) {
            char msg[256];
            if (interrupted)
                snprintf(msg, sizeof msg, "stopped in '%s': preflight was interrupted by %s", s[r].phase[0] ? s[r].phase : "load",
                         pf_sig_name(pf_sig_last()));
            else if (backstop)
                snprintf(msg, sizeof msg, "still in '%s' at the %.0f s deadline: killed", s[r].phase[0] ? s[r].phase : "load",
                         o->deadline_s > 0 ? o->deadline_s : 120);
            else if (WIFSIGNALED(s[r].status))
                snprintf(msg, sizeof msg, "the rank process died (signal %d%s) during '%s'", WTERMSIG(s[r].status),
                         s[r].killed_by_us ? ", injected" : "", s[r].phase[0] ? s[r].phase : "load");
            else
                snprintf(msg, sizeof msg, "the rank process exited (status %d) during '%s' without a result",
                         WIFEXITED(s[r].status) ? WEXITSTATUS(s[r].status) : -1, s[r].phase[0] ? s[r].phase : "load");
            j = synth_result(o, r, &s[r], interrupted ? "interrupted" : backstop ? "timeout" : "died", msg);
        }
        json_object_set_new(j, "log_file", json_string(s[r].log_file));
        json_array_append_new(ranks, j);
    }
    pf_sig_watch_group(0); /* every rank has been reaped: the group is gone */
    json_t *out = json_pack("{s:o, s:f, s:b, s:b}", "ranks", ranks, "wall_s", pf_now() - t0, "backstop_hit", backstop,
                            "interrupted", interrupted);
    for (int r = 0; r < n; r++) {
        if (s[r].up >= 0)
            close(s[r].up);
        if (s[r].down >= 0)
            close(s[r].down);
        free(s[r].buf);
    }
    free(s);
    return out;
fail:
    pf_sig_watch_group(0);
    for (int r = 0; r < n; r++)
        if (s[r].pid > 0) {
            kill(s[r].pid, SIGKILL);
            waitpid(s[r].pid, NULL, 0);
            close(s[r].up);
            close(s[r].down);
        }
    free(s);
    return NULL;
}

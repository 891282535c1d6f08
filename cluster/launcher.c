/* launcher.c -- what every launcher shares: children, their output, their end.
 *
 * Each child runs in its own process group (setpgid), so pf_launcher_stop can
 * kill what it started -- ssh and its ControlMaster, mpirun and its orted,
 * the Ray helper -- and nothing else.  Output (stdout and stderr together)
 * is kept as a ring of the last 4 KiB: enough for "ssh: connect to host ...
 * timed out" and never unbounded.
 */
#include "cluster/launcher.h"
#include "core/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL_MAX 4096

typedef struct child {
    pid_t pid;
    int node;          /* -1: serves every node */
    int outfd, infd;   /* -1 when closed */
    char tail[TAIL_MAX + 1];
    size_t tail_len;
    bool ended;
    int status;        /* waitpid status */
    char tool[64];
} child;

struct pf_launcher {
    const pf_launcher_vt *vt;
    const pf_launcher_cfg *cfg;
    child *c;
    size_t n;
};

const pf_launcher_vt *pf_launcher_find(const char *name)
{
    static const pf_launcher_vt *const all[] = {&pf_launcher_ssh, &pf_launcher_exec, &pf_launcher_mpirun,
                                              &pf_launcher_srun, &pf_launcher_ray, &pf_launcher_manual};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

const char *pf_launcher_name(const pf_launcher *l) { return l->vt->name; }

pf_launcher *pf_launcher_start(const pf_launcher_vt *vt, const pf_launcher_cfg *cfg, pf_err *err)
{
    pf_launcher *l = pf_xcalloc(1, sizeof *l);
    l->vt = vt;
    l->cfg = cfg;
    if (vt->start(l, cfg, err) < 0) {
        pf_launcher_stop(l, 0.5);
        pf_launcher_free(l);
        return NULL;
    }
    return l;
}

static bool word_safe(const char *w)
{
    if (!*w)
        return false;
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/=,@+-", *p))
            return false;
    return true;
}

void pf_launcher_agent_argv(const pf_launcher_cfg *cfg, int node, pf_strv *out)
{
    const pf_nodespec *s = node >= 0 ? &cfg->nodes->v[node] : NULL;
    pf_strv_push(out, s && s->bin ? s->bin : cfg->agent_bin ? cfg->agent_bin : "preflight");
    pf_strv_push(out, "agent");
    pf_strv_push(out, "--join");
    pf_strv_push(out, cfg->join);
    if (s) {
        pf_strv_push(out, "--node-name");
        pf_strv_push(out, s->name);
    } else {
        /* One command for all: the agent picks its name by rank. */
        size_t len = 0;
        for (size_t i = 0; i < cfg->nodes->n; i++)
            len += strlen(cfg->nodes->v[i].name) + 1;
        char *names = pf_xcalloc(len + 1, 1);
        for (size_t i = 0; i < cfg->nodes->n; i++) {
            if (i)
                strcat(names, ",");
            strcat(names, cfg->nodes->v[i].name);
        }
        pf_strv_push(out, "--node-names");
        pf_strv_push_owned(out, names);
    }
    for (size_t i = 0; cfg->agent_args && i < cfg->agent_args->n; i++)
        pf_strv_push(out, cfg->agent_args->v[i]);
}

char *pf_launcher_agent_cmdline(const pf_launcher_cfg *cfg, int node)
{
    pf_strv a = {0};
    pf_launcher_agent_argv(cfg, node, &a);
    size_t cap = 16;
    for (size_t i = 0; i < a.n; i++)
        cap += 4 * strlen(a.v[i]) + 4;
    char *s = pf_xcalloc(cap, 1), *p = s;
    for (size_t i = 0; i < a.n; i++) {
        if (i)
            *p++ = ' ';
        if (word_safe(a.v[i])) {
            p += sprintf(p, "%s", a.v[i]);
        } else {
            *p++ = '\'';
            for (const char *c = a.v[i]; *c; c++) {
                if (*c == '\'')
                    p += sprintf(p, "'\\''");
                else
                    *p++ = *c;
            }
            *p++ = '\'';
        }
    }
    *p = 0;
    pf_strv_free(&a);
    return s;
}

int pf_launcher_spawn(pf_launcher *l, int node, char *const argv[], const char *stdin_data,
                    const char *const *env_set, pf_err *err)
{
    int out[2], in[2], st[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return pf_err_errno(err, errno, "pipe");
    if (pipe2(in, O_CLOEXEC) < 0) {
        close(out[0]), close(out[1]);
        return pf_err_errno(err, errno, "pipe");
    }
    if (pipe2(st, O_CLOEXEC) < 0) {
        close(out[0]), close(out[1]), close(in[0]), close(in[1]);
        return pf_err_errno(err, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]), close(out[1]), close(in[0]), close(in[1]), close(st[0]), close(st[1]);
        return pf_err_errno(err, e, "fork");
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        for (const char *const *e = env_set; e && *e; e++)
            putenv((char *)*e);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(st[1], &e, sizeof e);
        _exit(127);
    }
    setpgid(pid, pid);
    /* A second Ctrl-C/SIGTERM exits at once (core/sig.h): this node's
     * launcher (ssh, srun, the agent itself) goes with us. */
    pf_sig_watch_add(pid);
    close(out[1]), close(in[0]), close(st[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(st[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(st[0]);
    if (r == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        pf_sig_watch_remove(pid);
        close(out[0]), close(in[1]);
        if (e == ENOENT)
            return pf_err_set(err, "%s is not installed here (not found on PATH)", argv[0]);
        return pf_err_errno(err, e, "cannot run %s", argv[0]);
    }
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    if (stdin_data) {
        /* A 65-byte secret line fits any pipe buffer: this cannot block. */
        (void)!write(in[1], stdin_data, strlen(stdin_data));
    }
    l->c = pf_xrealloc(l->c, (l->n + 1) * sizeof *l->c);
    child *c = &l->c[l->n++];
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->node = node;
    c->outfd = out[0];
    c->infd = in[1];
    const char *base = strrchr(argv[0], '/');
    pf_strlcpy(c->tool, base ? base + 1 : argv[0], sizeof c->tool);
    return 0;
}

size_t pf_launcher_pollfds(pf_launcher *l, struct pollfd *fds, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; l && i < l->n && k < max; i++)
        if (l->c[i].outfd >= 0)
            fds[k++] = (struct pollfd){.fd = l->c[i].outfd, .events = POLLIN};
    return k;
}

static void tail_add(child *c, const char *buf, size_t n)
{
    if (n >= TAIL_MAX) {
        memcpy(c->tail, buf + n - TAIL_MAX, TAIL_MAX);
        c->tail_len = TAIL_MAX;
    } else {
        if (c->tail_len + n > TAIL_MAX) {
            size_t drop = c->tail_len + n - TAIL_MAX;
            memmove(c->tail, c->tail + drop, c->tail_len - drop);
            c->tail_len -= drop;
        }
        memcpy(c->tail + c->tail_len, buf, n);
        c->tail_len += n;
    }
    c->tail[c->tail_len] = 0;
}

void pf_launcher_service(pf_launcher *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        child *c = &l->c[i];
        while (c->outfd >= 0) {
            char buf[4096];
            ssize_t r = read(c->outfd, buf, sizeof buf);
            if (r > 0) {
                tail_add(c, buf, (size_t)r);
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            close(c->outfd);
            c->outfd = -1;
        }
        if (!c->ended && c->pid > 0) {
            int st;
            if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
                c->ended = true;
                c->status = st;
                /* Drain what the child wrote before it ended. */
                while (c->outfd >= 0) {
                    char buf[4096];
                    ssize_t r = read(c->outfd, buf, sizeof buf);
                    if (r > 0) {
                        tail_add(c, buf, (size_t)r);
                        continue;
                    }
                    if (r < 0 && errno == EINTR)
                        continue;
                    break;
                }
            }
        }
    }
}

static child *child_for(pf_launcher *l, int node)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (l->c[i].node == node || l->c[i].node < 0)
            return &l->c[i];
    return NULL;
}

const char *pf_launcher_node_tail(pf_launcher *l, int node)
{
    child *c = child_for(l, node);
    return c ? c->tail : "";
}

/* The last non-empty lines of the tail, at most len bytes, on one line. */
static void last_lines(const char *tail, char *buf, size_t len)
{
    size_t n = strlen(tail);
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
        n--;
    size_t start = n;
    int lines = 0;
    while (start > 0 && lines < 3) {
        start--;
        if (tail[start] == '\n')
            lines++;
    }
    if (tail[start] == '\n')
        start++;
    size_t k = 0;
    for (size_t i = start; i < n && k + 1 < len; i++)
        buf[k++] = tail[i] == '\n' || tail[i] == '\r' ? ' ' : tail[i];
    buf[k] = 0;
    if (k == 0)
        pf_strlcpy(buf, "(no output)", len);
}

bool pf_launcher_node_ended(pf_launcher *l, int node, char *why, size_t len)
{
    child *c = child_for(l, node);
    if (!c || !c->ended)
        return false;
    char status[64];
    if (WIFEXITED(c->status))
        snprintf(status, sizeof status, "exited %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(status, sizeof status, "killed by signal %d", WTERMSIG(c->status));
    else
        snprintf(status, sizeof status, "ended");
    char lines[600];
    last_lines(c->tail, lines, sizeof lines);
    const char *name = node >= 0 && l->cfg && (size_t)node < l->cfg->nodes->n
                           ? l->cfg->nodes->v[node].name : "";
    if (l->vt->explain) {
        l->vt->explain(node >= 0 && l->cfg && (size_t)node < l->cfg->nodes->n ? &l->cfg->nodes->v[node] : NULL,
                       status, lines, why, len);
    } else if ((WIFEXITED(c->status) && (WEXITSTATUS(c->status) == 127 || WEXITSTATUS(c->status) == 126)) ||
               (strstr(lines, "execve()") && strstr(lines, "No such file"))) {
        /* 127/126: the shell or exec-style tool did not find (or could
         * not run) the agent binary; slurmstepd says "execve(): ...". */
        snprintf(why, len,
                 "%s %s: %s -- preflight is missing or not executable on %s: build it there "
                 "(scripts/setup.sh) or give its path (--agent-path, bin= in the hostfile); never copy a "
                 "binary built for another CPU architecture (check `uname -m` there)",
                 c->tool, status, lines, *name ? name : "the node");
    } else {
        snprintf(why, len, "%s %s: %s", c->tool, status, lines);
    }
    return true;
}

void pf_launcher_stop(pf_launcher *l, double grace_s)
{
    if (!l)
        return;
    bool any = false;
    for (size_t i = 0; i < l->n; i++) {
        child *c = &l->c[i];
        if (c->infd >= 0) {
            close(c->infd);
            c->infd = -1;
        }
        if (!c->ended && c->pid > 0) {
            kill(-c->pid, SIGTERM);
            any = true;
        }
    }
    double end = pf_now() + grace_s;
    while (any && pf_now() < end) {
        pf_launcher_service(l);
        any = false;
        for (size_t i = 0; i < l->n; i++)
            any |= !l->c[i].ended;
        if (any)
            usleep(10000);
    }
    for (size_t i = 0; i < l->n; i++) {
        child *c = &l->c[i];
        if (!c->ended && c->pid > 0) {
            kill(-c->pid, SIGKILL);
            int st;
            if (waitpid(c->pid, &st, 0) == c->pid) {
                c->ended = true;
                c->status = st;
            }
        } else if (c->pid > 0) {
            /* The leader is gone; anything left in its group goes too. */
            kill(-c->pid, SIGKILL);
        }
        pf_sig_watch_remove(c->pid);
    }
}

void pf_launcher_free(pf_launcher *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->c[i].outfd >= 0)
            close(l->c[i].outfd);
        if (l->c[i].infd >= 0)
            close(l->c[i].infd);
    }
    free(l->c);
    free(l);
}

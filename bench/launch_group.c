/* launch_group.c -- several launched processes as one launch (see
 * launch_group.h).
 *
 * The group is deliberately thin: every process is a pf_launch with its own
 * session, log and stop ladder, so whatever launch.c learns about stopping a
 * process tree applies to each node's process unchanged.  What lives here is
 * what only the list knows:
 *
 *   - readiness of helpers that have no HTTP API: a TCP connect to the port
 *     the helper serves (llama.cpp's rpc-server accepts, reads nothing from
 *     a connection that closes at once, and goes back to accept);
 *   - the order in which processes ended, stamped when a poll first sees it
 *     (so within one poll interval, 0.2-0.25 s), and which ended first:
 *     when one RPC node dies, the front server dies a moment later, and the
 *     record must name the node, not the symptom;
 *   - the stop order: the front server first, so no new work reaches the
 *     helpers while they are being stopped, then helpers newest first.
 */
#include "bench/launch_group.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct member {
    char name[64];
    bool front;
    char *ready_addr;          /* NULL: none */
    pf_launch *l;
    double t_start;            /* since group creation */
    double t_ready;            /* < 0: not (yet) ready */
    double t_ended;            /* < 0: running (as last polled) */
    char how[160];             /* how it ended, when it did */
    bool ended_in_stop;        /* ended because we stopped it */
    bool fatal;                /* a fatal log line was seen */
} member;

struct pf_launch_group {
    member m[PF_LAUNCH_GROUP_MAX];
    size_t n;
    double t0;
    const volatile sig_atomic_t *flag;
    sig_atomic_t flag_seen;
    bool all_ready;            /* wait() succeeded: every helper was ready */
    bool serving;              /* pf_launch_group_serving: later ends happen "during load" */
    bool stopping;
    bool stopped;
    int first;                 /* index of the first unexpected end; -1: none */
    char first_during[16];     /* "start-up" | "load" */
    int order[PF_LAUNCH_GROUP_MAX];
    size_t norder;
    bool wait_failed;
    char wait_msg[512];
};

/* ---- pure helpers ---- */

bool pf_launch_group_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

int pf_launch_group_parse_addr(const char *addr, char *host, size_t hostlen, int *port, pf_err *err)
{
    if (!addr || !*addr)
        return pf_err_set(err, "empty address (expected HOST:PORT)");
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return pf_err_set(err, "bad address '%s' (expected [IPV6]:PORT)", addr);
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon)
            return pf_err_set(err, "bad address '%s' (expected HOST:PORT; IPv6 as [ADDR]:PORT)", addr);
        hl = (size_t)(colon - addr);
    }
    if (hl == 0 || hl >= hostlen)
        return pf_err_set(err, "bad address '%s': no host or a host too long", addr);
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
        return pf_err_set(err, "bad address '%s': the port must be 1-65535", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* ---- the list ---- */

pf_launch_group *pf_launch_group_new(const volatile sig_atomic_t *stop_flag)
{
    pf_launch_group *g = pf_xcalloc(1, sizeof *g);
    g->t0 = pf_now();
    g->flag = stop_flag;
    g->flag_seen = stop_flag ? *stop_flag : 0;
    g->first = -1;
    return g;
}

static bool name_taken(const pf_launch_group *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->m[i].name, name) == 0)
            return true;
    return false;
}

int pf_launch_group_start(pf_launch_group *g, const pf_launch_node_spec *spec, const pf_launch_opts *opts,
                          pf_err *err)
{
    if (!pf_launch_group_name_ok(spec->name))
        return pf_err_set(err, "bad node name '%s' (1-63 of letters, digits, '.', '_', '-')",
                          spec->name ? spec->name : "");
    if (name_taken(g, spec->name))
        return pf_err_set(err, "node name '%s' given twice", spec->name);
    if (g->n >= PF_LAUNCH_GROUP_MAX)
        return pf_err_set(err, "node %s: more than %d processes in one launch", spec->name, PF_LAUNCH_GROUP_MAX);
    if (spec->ready_addr) {
        char host[256];
        int port;
        pf_err e = {{0}};
        if (pf_launch_group_parse_addr(spec->ready_addr, host, sizeof host, &port, &e) < 0)
            return pf_err_set(err, "node %s: %s", spec->name, e.msg);
    }
    pf_err e = {{0}};
    pf_launch *l = pf_launch_start(spec->argv, opts, &e);
    if (!l)
        return pf_err_set(err, "node %s: %s", spec->name, e.msg);
    pf_launch_watch_flag(l, g->flag);
    member *m = &g->m[g->n++];
    memset(m, 0, sizeof *m);
    pf_strlcpy(m->name, spec->name, sizeof m->name);
    m->ready_addr = spec->ready_addr ? pf_xstrdup(spec->ready_addr) : NULL;
    m->l = l;
    m->t_start = pf_now() - g->t0;
    m->t_ready = m->t_ended = -1;
    return 0;
}

void pf_launch_group_adopt(pf_launch_group *g, const char *name, pf_launch *front)
{
    if (!front)
        return;
    if (g->n >= PF_LAUNCH_GROUP_MAX) { /* cannot happen with the CLI's limits; never leak it */
        pf_launch_free(front);
        return;
    }
    if (!pf_launch_group_name_ok(name) || name_taken(g, name))
        name = name_taken(g, "front") ? "front-server" : "front";
    member *m = &g->m[g->n++];
    memset(m, 0, sizeof *m);
    pf_strlcpy(m->name, name, sizeof m->name);
    m->front = true;
    m->l = front;
    m->t_start = pf_now() - g->t0 - pf_launch_elapsed(front);
    m->t_ready = m->t_ended = -1;
}

pf_launch *pf_launch_group_front(const pf_launch_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->m[i].front)
            return g->m[i].l;
    return NULL;
}

size_t pf_launch_group_count(const pf_launch_group *g) { return g->n; }

/* The command, shortened for a message: "ip netns exec n2 /opt/x/rpc-server -H ..." */
static const char *command_text(const pf_launch *l, char *buf, size_t len)
{
    json_t *j = pf_launch_to_json(l);
    size_t off = 0, i;
    json_t *a;
    buf[0] = '\0';
    json_array_foreach(json_object_get(j, "command"), i, a)
    {
        int w = snprintf(buf + off, len - off, "%s%s", i ? " " : "", json_string_value(a));
        if (w < 0 || (size_t)w >= len - off) {
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            break;
        }
        off += (size_t)w;
    }
    json_decref(j);
    return buf;
}

/* Poll one member; stamp its end the first time it is seen.  Returns true
 * when it has ended or logged a fatal line. */
static bool poll_member(pf_launch_group *g, size_t i)
{
    member *m = &g->m[i];
    pf_launch_status st;
    if (pf_launch_poll(m->l, &st) == 0)
        return false;
    if (st.fatal.sig)
        m->fatal = true;
    if (!st.running && m->t_ended < 0) {
        m->t_ended = pf_now() - g->t0;
        m->ended_in_stop = g->stopping;
        char how[128];
        if (st.exited)
            snprintf(how, sizeof how, "exited with status %d", st.exit_code);
        else if (st.signalled)
            snprintf(how, sizeof how, "was killed by signal %d (%s)", st.term_signal, strsignal(st.term_signal));
        else
            snprintf(how, sizeof how, "ended");
        pf_strlcpy(m->how, how, sizeof m->how);
        if (g->norder < PF_LAUNCH_GROUP_MAX)
            g->order[g->norder++] = (int)i;
    }
    if (!g->stopping && g->first < 0) {
        g->first = (int)i;
        pf_strlcpy(g->first_during, g->serving ? "load" : "start-up", sizeof g->first_during);
        if (m->t_ended < 0) /* fatal line while still running */
            snprintf(m->how, sizeof m->how, "logged a fatal error: %.120s", st.fatal.line);
    }
    return true;
}

static void describe(const pf_launch_group *g, size_t i, char *buf, size_t len)
{
    const member *m = &g->m[i];
    char cmd[104];
    double t = m->t_ended >= 0 ? m->t_ended : pf_now() - g->t0;
    snprintf(buf, len, "node %s (pid %d: %s) %s at %.1f s", m->name, pf_launch_pid(m->l),
             command_text(m->l, cmd, sizeof cmd), m->how[0] ? m->how : "ended", t);
}

/* ---- readiness ---- */

/* One bounded TCP connect: 1 = accepted, 0 = not (yet). */
static int tcp_probe(const char *addr)
{
    char host[256];
    int port;
    pf_err e = {{0}};
    if (pf_launch_group_parse_addr(addr, host, sizeof host, &port, &e) < 0)
        return 0;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
        return 0;
    int ok = 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r == 0) {
            ok = 1;
        } else if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, 1000) == 1) {
                int so = 0;
                socklen_t sl = sizeof so;
                ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0;
            }
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return ok;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int pf_launch_group_wait(pf_launch_group *g, double deadline_s, pf_err *err)
{
    if (deadline_s <= 0)
        deadline_s = 120;
    double until = pf_now() + deadline_s;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < g->n; i++) {
            member *m = &g->m[i];
            if (m->front)
                continue;
            if (poll_member(g, i)) {
                char d[400];
                describe(g, i, d, sizeof d);
                const char *lines[1];
                size_t nl = pf_launch_tail(m->l, lines, 1);
                snprintf(g->wait_msg, sizeof g->wait_msg, "%s before it was ready%s%.200s", d,
                         nl ? "; its last log line: " : "", nl ? lines[0] : "");
                g->wait_failed = true;
                return pf_err_set(err, "%s", g->wait_msg);
            }
            if (m->t_ready >= 0)
                continue;
            bool ready = m->ready_addr ? tcp_probe(m->ready_addr) == 1 : pf_now() - g->t0 - m->t_start >= 0.5;
            if (ready)
                m->t_ready = pf_now() - g->t0;
            else
                pending++;
        }
        if (pending == 0) {
            g->all_ready = true;
            return 0;
        }
        if (g->flag && *g->flag != g->flag_seen) {
            snprintf(g->wait_msg, sizeof g->wait_msg, "interrupted while waiting for the launch's nodes");
            g->wait_failed = true;
            return pf_err_set(err, "%s", g->wait_msg);
        }
        if (pf_now() >= until) {
            for (size_t i = 0; i < g->n; i++) {
                member *m = &g->m[i];
                if (!m->front && m->t_ready < 0) {
                    snprintf(g->wait_msg, sizeof g->wait_msg,
                             "node %s (pid %d) is running but did not accept a TCP connection on %s within %.0f s",
                             m->name, pf_launch_pid(m->l), m->ready_addr ? m->ready_addr : "?", deadline_s);
                    break;
                }
            }
            g->wait_failed = true;
            return pf_err_set(err, "%s", g->wait_msg);
        }
        sleep_s(0.2);
    }
}

/* ---- during load ---- */

void pf_launch_group_serving(pf_launch_group *g) { g->serving = true; }

int pf_launch_group_poll(pf_launch_group *g, char *why, size_t whylen)
{
    bool any = false;
    for (size_t i = 0; i < g->n; i++)
        any = poll_member(g, i) || any;
    if (!any)
        return 0;
    if (why && whylen) {
        char d[400];
        describe(g, (size_t)g->first, d, sizeof d);
        size_t off = (size_t)snprintf(why, whylen, "%s", d);
        for (size_t i = 0; i < g->n && off < whylen; i++) {
            if (!g->m[i].front || (int)i == g->first || g->m[i].t_ended < 0)
                continue;
            off += (size_t)snprintf(why + off, whylen - off, "; then the front server (node %s) %s at %.1f s",
                                    g->m[i].name, g->m[i].how, g->m[i].t_ended);
        }
    }
    return 1;
}

/* ---- stop ---- */

int pf_launch_group_stop(pf_launch_group *g, double grace_s)
{
    /* the last state before the stop decides what ended on its own */
    for (size_t i = 0; i < g->n; i++)
        poll_member(g, i);
    g->stopping = true;
    bool ok = true;
    pf_launch_stop_result r;
    /* each is polled right after its own stop, so order_ended is the real order */
    for (size_t i = 0; i < g->n; i++)
        if (g->m[i].front) {
            ok = pf_launch_stop(g->m[i].l, grace_s, &r) == 0 && ok;
            poll_member(g, i);
        }
    for (size_t i = g->n; i-- > 0;)
        if (!g->m[i].front) {
            ok = pf_launch_stop(g->m[i].l, grace_s, &r) == 0 && ok;
            poll_member(g, i);
        }
    g->stopped = true;
    return ok ? 0 : -1;
}

/* ---- record ---- */

json_t *pf_launch_group_to_json(const pf_launch_group *g)
{
    json_t *j = json_object();
    json_t *procs = json_array();
    for (size_t i = 0; i < g->n; i++) {
        const member *m = &g->m[i];
        json_t *p = pf_launch_to_json(m->l);
        json_object_set_new(p, "node", json_string(m->name));
        json_object_set_new(p, "role", json_string(m->front ? "front" : "helper"));
        if (m->ready_addr)
            json_object_set_new(p, "ready_addr", json_string(m->ready_addr));
        json_object_set_new(p, "started_s", json_real(m->t_start));
        if (m->t_ready >= 0)
            json_object_set_new(p, "ready_s", json_real(m->t_ready));
        if (m->t_ended >= 0) {
            json_object_set_new(p, "ended_s", json_real(m->t_ended));
            json_object_set_new(p, "ended", json_string(m->how));
            json_object_set_new(p, "ended_by_stop", json_boolean(m->ended_in_stop));
        }
        json_array_append_new(procs, p);
    }
    json_object_set_new(j, "processes", procs);
    json_t *order = json_array();
    for (size_t k = 0; k < g->norder; k++)
        json_array_append_new(order, json_string(g->m[g->order[k]].name));
    json_object_set_new(j, "order_ended", order);
    if (g->first >= 0) {
        const member *m = &g->m[g->first];
        json_t *f = json_pack("{s:s, s:s, s:i, s:s, s:s}", "node", m->name, "role", m->front ? "front" : "helper",
                              "pid", pf_launch_pid(m->l), "how", m->how, "during", g->first_during);
        /* a fatal log line from a process still running has no end time */
        json_object_set_new(f, "t_s", m->t_ended >= 0 ? json_real(m->t_ended) : json_null());
        json_object_set_new(j, "first_ended", f);
    }
    if (g->wait_failed)
        json_object_set_new(j, "wait", json_string(g->wait_msg));
    return j;
}

pf_check *pf_launch_group_add_check(pf_run *run, const pf_launch_group *g)
{
    pf_check *c = pf_check_add(run, NULL, "bench.launch_nodes");
    json_object_set_new(pf_check_evidence(c), "launch_nodes", pf_launch_group_to_json(g));
    size_t helpers = 0;
    for (size_t i = 0; i < g->n; i++)
        helpers += !g->m[i].front;
    if (g->wait_failed) {
        pf_check_set(c, PF_FAIL, "%s", g->wait_msg);
        pf_check_remedy(c, "read that node's log (bench.launch_nodes.processes[].log_path); check its command, "
                           "that the binary exists on the node and that the port is free and reachable");
        return c;
    }
    if (g->first >= 0) {
        char d[400];
        describe(g, (size_t)g->first, d, sizeof d);
        const member *m = &g->m[g->first];
        pf_check_set(c, PF_FAIL, "%s, during %s; the launch needs every node", d, g->first_during);
        pf_check_remedy(c, "read node %s's log %s; the requests that failed after it are counted in "
                           "bench.requests",
                        m->name, pf_launch_log_path(m->l));
        return c;
    }
    if (!g->all_ready) {
        pf_check_set(c, PF_ERROR, "the nodes' readiness was never waited for");
        return c;
    }
    pf_check_set(c, PF_PASS, "all %zu processes of the launch (%zu helper(s)%s) were ready and ran until the stop",
                 g->n, helpers, pf_launch_group_front(g) ? " and the front server" : "");
    return c;
}

void pf_launch_group_free(pf_launch_group *g)
{
    if (!g)
        return;
    if (!g->stopped)
        pf_launch_group_stop(g, 2.0);
    for (size_t i = 0; i < g->n; i++) {
        pf_launch_free(g->m[i].l);
        free(g->m[i].ready_addr);
    }
    free(g);
}

/* coord.c -- see coord.h.
 *
 * One thread, one poll loop (pump) that every phase runs until its own
 * condition or deadline.  pump serves, whatever the phase: the listening
 * socket (new connections get a hello and auth_s to answer), every
 * connection's frames, the launcher's children (their output and exit), and
 * keepalive pings.  A phase sends its requests and calls pump until every
 * node it waits on has answered or failed.
 *
 * Per-node states: WAITING (launched, not joined) -> JOINED -> DONE (bye),
 * or FAILED with a reason at any point.  At most one request is in flight
 * per node (the agent serves one at a time); req_id ties the reply to it,
 * so a late reply to an abandoned request is recognised and dropped.
 */
#include "cluster/coord.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/auth.h"
#include "cluster/proto.h"
#include "core/sig.h"

#include "cluster/judge.h"
#include "reports/console.h"
#include "probes/nccl/nccl_judge.h"
#include "probes/nccl/nccl_sweep.h"

enum nstate { N_WAITING, N_JOINED, N_FAILED, N_DONE };

/* Connections that have not authenticated yet, at most: more are closed at
 * once (a flood cannot exhaust descriptors or the poll set). */
#define PF_COORD_MAX_PREAUTH 64
#define PF_COORD_MAX_REFUSED_LISTED 100
/* Pair probes aimed at one node at the same time, at most. */
#define PF_COORD_PROBERS_PER_TARGET 4

typedef struct cnode {
    const pf_nodespec *spec;
    pf_node *rn;
    enum nstate st;
    char why[900];
    int conn;           /* index in c->conns, -1 none */
    long req_id;        /* in flight, 0 none */
    char req_type[32];  /* of the request in flight */
    json_t *reply;      /* last reply (owned) */
    json_t *listen;     /* listen reply result (owned) */
    double joined_at;
    bool checks_sent;   /* run_checks went out (at join, or at the phase) */
    bool stopped;       /* failed because a signal stopped the run, not by its own fault */
    char peer_ip[64], hostname[128], machine[32], version[32];
} cnode;

typedef struct conn {
    int fd;
    pf_proto_rd *rd;
    bool authed;
    unsigned char nc[PF_AUTH_NONCE_LEN];
    double deadline;    /* pre-auth deadline */
    int node;           /* after auth */
    char peer[64];
} conn;

typedef struct coord {
    const pf_coord_opts *o;
    pf_run *run;
    const pf_nodelist *nl;
    cnode *n;
    size_t nn;
    conn *conns;
    size_t nconns;
    int lfd;
    unsigned char key[PF_AUTH_KEY_LEN];
    pf_launcher *launch;
    long seq;
    const char *phase;
    double phase_deadline;
    double next_ping;
    json_t *refused;    /* [{peer, reason}], the first PF_COORD_MAX_REFUSED_LISTED */
    size_t nrefused;    /* all of them */
    json_t *phases;     /* [{name, seconds}] */
    double t0, phase_start;
    const char *join;   /* HOST:PORT the agents dial */
    int *running;       /* run_jobs: job index + 1 per source node */
    bool eager_checks;  /* during join: a node gets run_checks as it joins */
    int stop_sig;       /* the signal that stopped the run (core/sig.h); 0: none */
    const char *stop_phase;
} coord;

void pf_coord_opts_init(pf_coord_opts *o)
{
    memset(o, 0, sizeof *o);
    o->join_s = 20;
    o->auth_s = 3;
    o->checks_s = 120;
    o->pairs_s = 30;
    o->keepalive_s = 5;
    o->pairs = true;
    o->bw_seconds = 0.5;
    o->bw_bytes = 512.0 * 1024 * 1024;
    o->bw_streams = 1;
    pf_ncclflags_init(&o->nccl_flags);
    o->nccl_s = 60;
}

static void logf_(coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(coord *c, const char *fmt, ...)
{
    if (!c->o->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = pf_xvasprintf(fmt, ap);
    va_end(ap);
    /* Node names, launcher output and agents' words come from outside:
     * control characters are escaped before they reach a terminal. */
    fprintf(c->o->log, "preflight cluster: [%5.2f s] ", pf_now() - c->t0);
    pf_console_put(c->o->log, m, strlen(m));
    fputc('\n', c->o->log);
    fflush(c->o->log);
    free(m);
}

/* ---- importing an agent's record --------------------------------------- */

static pf_status status_by_name(const char *s)
{
    for (int i = 0; i < PF_STATUS_COUNT; i++)
        if (s && strcmp(s, pf_status_name((pf_status)i)) == 0)
            return (pf_status)i;
    return PF_ERROR;
}

static pf_node *node_by_name(pf_run *run, const char *name)
{
    for (size_t i = 0; name && i < pf_run_node_count(run); i++)
        if (strcmp(pf_node_name(pf_run_node(run, i)), name) == 0)
            return pf_run_node(run, i);
    return NULL;
}

int pf_coord_import(pf_run *run, pf_node *rn, const json_t *rec, pf_err *err)
{
    const json_t *nodes = json_object_get(rec, "nodes"), *checks = json_object_get(rec, "checks");
    if (!json_is_array(nodes) || json_array_size(nodes) != 1 || !json_is_array(checks))
        return pf_err_set(err, "the agent's record of %s has no single node or no checks", pf_node_name(rn));
    const json_t *facts = json_object_get(json_array_get(nodes, 0), "facts");
    if (json_is_object(facts))
        json_object_update(pf_node_facts(rn), (json_t *)facts);
    size_t i;
    const json_t *jc;
    json_array_foreach(checks, i, jc)
    {
        const char *id = json_string_value(json_object_get(jc, "id"));
        if (!id || !*id)
            continue;
        pf_check *c = pf_check_add(run, rn, id);
        const char *summary = json_string_value(json_object_get(jc, "summary"));
        pf_check_set(c, status_by_name(json_string_value(json_object_get(jc, "status"))), "%s",
                     summary ? summary : "");
        const char *remedy = json_string_value(json_object_get(jc, "remedy"));
        if (remedy)
            pf_check_remedy(c, "%s", remedy);
        const json_t *ev = json_object_get(jc, "evidence");
        if (json_is_object(ev))
            json_object_update(pf_check_evidence(c), (json_t *)ev);
        const json_t *m = json_object_get(jc, "measured");
        if (json_is_number(m)) {
            const json_t *t = json_object_get(jc, "threshold");
            pf_check_measure(c, json_number_value(m), json_is_number(t) ? json_number_value(t) : 0,
                             json_string_value(json_object_get(jc, "unit")));
        }
        const json_t *d = json_object_get(jc, "duration_s");
        if (json_is_number(d))
            pf_check_set_duration(c, json_number_value(d));
        pf_node *peer = node_by_name(run, json_string_value(json_object_get(jc, "peer")));
        if (peer)
            pf_check_set_peer(c, peer);
    }
    return 0;
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(coord *c, size_t i)
{
    conn *k = &c->conns[i];
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    pf_proto_rd_free(k->rd);
    k->rd = NULL;
    if (k->authed && k->node >= 0 && c->n[k->node].conn == (int)i)
        c->n[k->node].conn = -1;
}

static void refuse(coord *c, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(coord *c, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = pf_xvasprintf(fmt, ap);
    va_end(ap);
    /* A flood must not grow the record or the log without bound. */
    c->nrefused++;
    if (c->nrefused <= PF_COORD_MAX_REFUSED_LISTED) {
        logf_(c, "refused a connection from %s: %s", c->conns[i].peer, m);
        json_array_append_new(c->refused, json_pack("{s:s,s:s,s:s,s:f}", "peer", c->conns[i].peer, "reason", m,
                                                    "phase", c->phase, "at_s", pf_now() - c->t0));
    }
    free(m);
    conn_close(c, i);
}

static void node_fail(coord *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void node_fail(coord *c, int i, const char *fmt, ...)
{
    cnode *n = &c->n[i];
    if (n->st == N_FAILED || n->st == N_DONE)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->why, sizeof n->why, fmt, ap);
    va_end(ap);
    n->st = N_FAILED;
    n->req_id = 0;
    logf_(c, "node %s failed: %s", n->spec->name, n->why);
    if (n->conn >= 0) {
        int k = n->conn;
        n->conn = -1;
        conn_close(c, (size_t)k);
    }
}

static int send_to(coord *c, int i, json_t *msg)
{
    cnode *n = &c->n[i];
    pf_err e;
    if (n->conn < 0 || pf_proto_send(c->conns[n->conn].fd, msg, pf_now() + 5, &e) < 0) {
        if (n->conn >= 0)
            node_fail(c, i, "sending %s to the agent failed: %s", json_string_value(json_object_get(msg, "type")), e.msg);
        json_decref(msg);
        return -1;
    }
    json_decref(msg);
    return 0;
}

/* Send a request (steals msg) and remember it as in flight. */
static int request(coord *c, int i, json_t *msg)
{
    cnode *n = &c->n[i];
    json_decref(n->reply);
    n->reply = NULL;
    n->req_id = ++c->seq;
    pf_strlcpy(n->req_type, json_string_value(json_object_get(msg, "type")), sizeof n->req_type);
    json_object_set_new(msg, "id", json_integer(n->req_id));
    return send_to(c, i, msg);
}

static void on_accept(coord *c)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(c->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        size_t preauth = 0;
        for (size_t i = 0; i < c->nconns; i++)
            preauth += c->conns[i].fd >= 0 && !c->conns[i].authed;
        c->conns = pf_xrealloc(c->conns, (c->nconns + 1) * sizeof *c->conns);
        conn *k = &c->conns[c->nconns++];
        memset(k, 0, sizeof *k);
        k->fd = fd;
        k->node = -1;
        k->rd = pf_proto_rd_new(PF_PROTO_MAX_PREAUTH);
        k->deadline = pf_now() + c->o->auth_s;
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
        snprintf(k->peer, sizeof k->peer, "%s:%d", host, port);
        if (preauth >= PF_COORD_MAX_PREAUTH) {
            refuse(c, c->nconns - 1, "%d connections are already authenticating", PF_COORD_MAX_PREAUTH);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pf_auth_random(k->nc, sizeof k->nc, NULL);
        char nch[2 * PF_AUTH_NONCE_LEN + 1];
        pf_auth_hex(k->nc, sizeof k->nc, nch);
        json_t *hello = json_pack("{s:s,s:i,s:s,s:f}", "type", "hello", "v", PF_PROTO_VERSION, "nonce", nch,
                                  "keepalive_s", c->o->keepalive_s);
        pf_err e;
        if (pf_proto_send(fd, hello, pf_now() + 1, &e) < 0)
            refuse(c, c->nconns - 1, "hello could not be sent: %s", e.msg);
        json_decref(hello);
    }
}

static void send_checks(coord *c, int i);

static void on_auth(coord *c, size_t ki, json_t *m)
{
    conn *k = &c->conns[ki];
    const char *t = json_string_value(json_object_get(m, "type"));
    if (strcmp(t, "auth") != 0) {
        refuse(c, ki, "sent '%s' before authenticating", t);
        return;
    }
    const char *name = json_string_value(json_object_get(m, "node"));
    unsigned char na[PF_AUTH_NONCE_LEN];
    if (!name || !pf_nodelist_name_ok(name) ||
        pf_auth_unhex(json_string_value(json_object_get(m, "nonce")), na, sizeof na) < 0) {
        refuse(c, ki, "malformed auth frame");
        return;
    }
    if (!pf_auth_check(c->key, "agent", name, k->nc, na, json_string_value(json_object_get(m, "mac")))) {
        refuse(c, ki, "wrong secret (HMAC mismatch) for node name '%s'", name);
        return;
    }
    int i = pf_nodelist_find(c->nl, name);
    if (i < 0) {
        refuse(c, ki, "node '%s' holds the secret but is not in the node list", name);
        return;
    }
    cnode *n = &c->n[i];
    if (n->st != N_WAITING) {
        refuse(c, ki, "node '%s' is already %s (a duplicate agent?)", name,
               n->st == N_JOINED ? "joined" : "marked failed");
        return;
    }
    unsigned char mac[PF_AUTH_MAC_LEN];
    char mach[2 * PF_AUTH_MAC_LEN + 1];
    pf_auth_mac(c->key, "coord", "", k->nc, na, mac, NULL);
    pf_auth_hex(mac, sizeof mac, mach);
    json_t *ok = json_pack("{s:s,s:s}", "type", "auth_ok", "mac", mach);
    pf_err e;
    int rc = pf_proto_send(k->fd, ok, pf_now() + 2, &e);
    json_decref(ok);
    if (rc < 0) {
        refuse(c, ki, "auth_ok could not be sent: %s", e.msg);
        return;
    }
    k->authed = true;
    k->node = i;
    pf_proto_rd_set_max(k->rd, PF_PROTO_MAX_FRAME);
    n->st = N_JOINED;
    n->conn = (int)ki;
    n->joined_at = pf_now() - c->t0;
    pf_strlcpy(n->peer_ip, k->peer, sizeof n->peer_ip);
    char *colon = strrchr(n->peer_ip, ':');
    if (colon)
        *colon = 0;
    const char *s;
    if ((s = json_string_value(json_object_get(m, "hostname"))))
        pf_strlcpy(n->hostname, s, sizeof n->hostname);
    if ((s = json_string_value(json_object_get(m, "machine"))))
        pf_strlcpy(n->machine, s, sizeof n->machine);
    if ((s = json_string_value(json_object_get(m, "version"))))
        pf_strlcpy(n->version, s, sizeof n->version);
    logf_(c, "%s joined from %s (%s, %s)", name, k->peer, n->machine, n->hostname);
    if (c->eager_checks)
        send_checks(c, i);
}

static void on_frame(coord *c, size_t ki, json_t *m)
{
    conn *k = &c->conns[ki];
    if (!k->authed) {
        on_auth(c, ki, m);
        return;
    }
    int i = k->node;
    cnode *n = &c->n[i];
    const char *t = json_string_value(json_object_get(m, "type"));
    if (strcmp(t, "reply") == 0) {
        json_t *id = json_object_get(m, "id");
        if (n->req_id && json_is_integer(id) && json_integer_value(id) == n->req_id) {
            n->reply = json_incref(m);
            n->req_id = 0;
        }
        return; /* a late reply to an abandoned request: dropped */
    }
    if (strcmp(t, "stopped") == 0) {
        /* The agent was stopped on its node (Slurm, its launcher, a user):
         * name the signal, from a fixed list -- never text from the wire. */
        static const char *const sigs[] = {"Ctrl-C", "SIGTERM", "SIGHUP"};
        const char *got = json_string_value(json_object_get(m, "signal")), *name = "a signal";
        for (size_t q = 0; got && q < sizeof sigs / sizeof sigs[0]; q++)
            if (strcmp(got, sigs[q]) == 0)
                name = sigs[q];
        node_fail(c, i, "the agent was stopped by %s on the node%s%s", name, n->req_id ? " during " : "",
                  n->req_id ? n->req_type : "");
        return;
    }
    node_fail(c, i, "the agent sent '%s', which is not a reply", t);
}

static void on_readable(coord *c, size_t ki)
{
    for (;;) {
        conn *k = &c->conns[ki];
        if (k->fd < 0)
            return;
        json_t *m = NULL;
        bool eof = false;
        pf_err e;
        int r = pf_proto_rd_pump(k->rd, k->fd, &m, &eof, &e);
        if (r == 0)
            return;
        if (r < 0) {
            if (!k->authed) {
                refuse(c, ki, "%s", e.msg);
            } else {
                int i = k->node;
                char why[600] = "";
                /* The socket closes a moment before the process is
                 * reapable: wait briefly, so the launcher's own words
                 * ("killed by signal 9", ssh's message) name the cause. */
                bool ended = false;
                for (double end = pf_now() + 0.5; !ended && pf_now() < end;) {
                    pf_launcher_service(c->launch);
                    ended = pf_launcher_node_ended(c->launch, i, why, sizeof why);
                    if (!ended)
                        usleep(10000);
                }
                if (ended)
                    node_fail(c, i, "the agent's connection closed during %s: %s", c->phase, why);
                else
                    node_fail(c, i, "the agent's connection broke during %s (%s)", c->phase,
                              eof ? "closed by the agent" : e.msg);
            }
            return;
        }
        on_frame(c, ki, m);
        json_decref(m);
    }
}

/* Compact the connection array (closed entries out), fixing node indexes. */
static void conns_compact(coord *c)
{
    size_t w = 0;
    for (size_t r = 0; r < c->nconns; r++) {
        if (c->conns[r].fd < 0)
            continue;
        if (w != r) {
            c->conns[w] = c->conns[r];
            if (c->conns[w].authed && c->conns[w].node >= 0)
                c->n[c->conns[w].node].conn = (int)w;
        }
        w++;
    }
    c->nconns = w;
}

/* The signal policy (core/sig.h): the first SIGINT/SIGTERM/SIGHUP raises a
 * flag; the coordinator notices it here, in every wait (pump wakes at
 * least 5x/s, and poll returns early on the signal), and from then on
 * starts nothing new: the phase in progress returns at once, nodes still
 * answering are named as interrupted (not as hung), the later phases are
 * skipped, the agents get bye and their launchers are stopped, and the
 * record is still written -- marked incomplete, exit 3. */
static bool stopping(coord *c)
{
    if (!c->stop_sig && pf_sig_count() > 0) {
        c->stop_sig = pf_sig_last() ? pf_sig_last() : SIGINT;
        c->stop_phase = c->phase;
        logf_(c, "stopping: %s during the %s phase", pf_sig_name(c->stop_sig), c->phase);
    }
    return c->stop_sig != 0;
}

/* The loop every phase runs: until done(c), the deadline or a signal. */
static void pump(coord *c, double deadline, bool (*done)(coord *))
{
    while (!done(c) && !stopping(c)) {
        double now = pf_now();
        if (now >= deadline)
            return;
        /* Deadlines of connections that have not authenticated. */
        for (size_t i = 0; i < c->nconns; i++)
            if (c->conns[i].fd >= 0 && !c->conns[i].authed && now >= c->conns[i].deadline)
                refuse(c, i, "did not authenticate within %.0f s (%zu bytes sent)", c->o->auth_s,
                       pf_proto_rd_pending(c->conns[i].rd));
        /* Launched nodes whose launcher ended before they joined. */
        pf_launcher_service(c->launch);
        for (size_t i = 0; i < c->nn; i++) {
            char why[600];
            if (c->n[i].st == N_WAITING && pf_launcher_node_ended(c->launch, (int)i, why, sizeof why))
                node_fail(c, (int)i, "did not join: %s", why);
        }
        if (now >= c->next_ping) {
            for (size_t i = 0; i < c->nn; i++)
                if (c->n[i].st == N_JOINED && c->n[i].conn >= 0)
                    send_to(c, (int)i, json_pack("{s:s}", "type", "ping"));
            c->next_ping = now + c->o->keepalive_s;
        }
        conns_compact(c);
        if (done(c))
            return;

        size_t cap = 1 + c->nconns + 64;
        struct pollfd *fds = pf_xcalloc(cap, sizeof *fds);
        size_t nf = 0;
        fds[nf++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
        for (size_t i = 0; i < c->nconns; i++)
            fds[nf++] = (struct pollfd){.fd = c->conns[i].fd, .events = POLLIN};
        size_t nl = pf_launcher_pollfds(c->launch, fds + nf, cap - nf);
        nf += nl;
        double wake = deadline < c->next_ping ? deadline : c->next_ping;
        for (size_t i = 0; i < c->nconns; i++)
            if (!c->conns[i].authed && c->conns[i].deadline < wake)
                wake = c->conns[i].deadline;
        double left = wake - pf_now();
        int ms = left <= 0 ? 0 : left > 0.2 ? 200 : (int)(left * 1000) + 1; /* children: reaped at least 5x/s */
        int r = poll(fds, nf, ms);
        if (r > 0) {
            if (fds[0].revents)
                on_accept(c);
            size_t nc = c->nconns < nf - 1 - nl ? c->nconns : nf - 1 - nl;
            for (size_t i = 0; i < nc; i++)
                if (fds[1 + i].revents)
                    on_readable(c, i);
        }
        free(fds);
    }
}

/* ---- phases ------------------------------------------------------------- */

static bool all_joined(coord *c)
{
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_WAITING)
            return false;
    return true;
}

static bool none_in_flight(coord *c)
{
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED && c->n[i].req_id)
            return false;
    return true;
}

static void phase_begin(coord *c, const char *name, double seconds)
{
    c->phase = name;
    c->phase_start = pf_now();
    c->phase_deadline = pf_now() + seconds;
    logf_(c, "phase %s (deadline %.0f s)", name, seconds);
}

static void phase_end(coord *c, double t_start)
{
    json_array_append_new(c->phases, json_pack("{s:s,s:f}", "name", c->phase, "seconds", pf_now() - t_start));
}

/* Nodes still in flight at a deadline are hung: name them and drop them.
 * After a signal they are not hung: say what stopped the wait. */
static void fail_in_flight(coord *c, double seconds)
{
    for (size_t i = 0; i < c->nn; i++) {
        if (c->n[i].st != N_JOINED || !c->n[i].req_id)
            continue;
        const char *what = c->n[i].req_type[0] ? c->n[i].req_type : c->phase;
        if (stopping(c)) {
            node_fail(c, (int)i, "was still answering %s when %s stopped the run", what, pf_sig_name(c->stop_sig));
            c->n[i].stopped = true;
        } else
            node_fail(c, (int)i, "did not answer %s within %.0f s (the agent hangs or the node is overloaded)", what,
                      seconds);
    }
}

static bool reply_ok(cnode *n, const char **error)
{
    if (!n->reply) {
        *error = "no reply";
        return false;
    }
    if (json_is_true(json_object_get(n->reply, "ok")))
        return true;
    *error = json_string_value(json_object_get(n->reply, "error"));
    if (!*error)
        *error = "the agent answered without ok";
    return false;
}

static void phase_join(coord *c)
{
    double t = pf_now();
    phase_begin(c, "join", c->o->join_s);
    pump(c, c->phase_deadline, all_joined);
    for (size_t i = 0; i < c->nn; i++) {
        if (c->n[i].st != N_WAITING)
            continue;
        char why[600];
        const char *tail = pf_launcher_node_tail(c->launch, (int)i);
        if (stopping(c)) {
            node_fail(c, (int)i, "had not joined when %s stopped the run", pf_sig_name(c->stop_sig));
            c->n[i].stopped = true;
        } else if (pf_launcher_node_ended(c->launch, (int)i, why, sizeof why))
            node_fail(c, (int)i, "did not join within %.0f s: %s", c->o->join_s, why);
        else if (tail && *tail)
            node_fail(c, (int)i, "did not join within %.0f s (the launcher still runs; its last output: %.300s)",
                      c->o->join_s, tail);
        else
            node_fail(c, (int)i, "did not join within %.0f s (no connection came from it; can it reach %s?)",
                      c->o->join_s, c->join);
    }
    /* The record holds the nodes that joined, in pipeline order (the judge
     * reads stage order from node order); the others are named in the
     * "cluster" section's join_errors. */
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED)
            c->n[i].rn = pf_run_add_node(c->run, c->n[i].spec->name, c->n[i].spec->host);
    phase_end(c, t);
}

/* run_checks to node i: the common flags, the hostfile's per-node keys,
 * the environment to judge there. */
static void send_checks(coord *c, int i)
{
    cnode *n = &c->n[i];
    json_t *flags = c->o->flags ? json_deep_copy(c->o->flags) : json_object();
    if (n->spec->venv)
        json_object_set_new(flags, "venv", json_string(n->spec->venv));
    if (n->spec->arch)
        json_object_set_new(flags, "arch", json_string(n->spec->arch));
    if (n->spec->model)
        json_object_set_new(flags, "model", json_string(n->spec->model));
    char *env = n->spec->env_file ? pf_xasprintf("file:%s", n->spec->env_file)
                                  : pf_xstrdup(c->o->env_mode ? c->o->env_mode : "login");
    n->checks_sent = true;
    request(c, i, json_pack("{s:s,s:o,s:s}", "type", "run_checks", "flags", flags, "env", env));
    free(env);
}

static void phase_checks(coord *c)
{
    double t = pf_now();
    phase_begin(c, "run_checks", c->o->checks_s);
    /* Nodes that joined early got run_checks when they joined (on_auth):
     * their checks overlap the others' launch. */
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED && !c->n[i].checks_sent)
            send_checks(c, (int)i);
    pump(c, c->phase_deadline, none_in_flight);
    fail_in_flight(c, c->o->checks_s);
    for (size_t i = 0; i < c->nn; i++) {
        cnode *n = &c->n[i];
        if (n->st != N_JOINED)
            continue;
        const char *e;
        pf_err pe;
        if (!reply_ok(n, &e))
            node_fail(c, (int)i, "run_checks failed on the node: %s", e);
        else if (pf_coord_import(c->run, n->rn, json_object_get(n->reply, "record"), &pe) < 0)
            node_fail(c, (int)i, "%s", pe.msg);
    }
    phase_end(c, t);
}

/* The IPv4 addresses a peer would use to reach this node: every address
 * of an interface that is up and running (link present), loopback
 * excluded (facts.interfaces).  A docker0 bridge without containers is
 * not running, and every node has the same 172.17.0.1 there anyway. */
static json_t *node_addresses(pf_node *rn)
{
    json_t *out = json_array();
    const json_t *ifs = json_object_get(pf_node_facts(rn), "interfaces");
    size_t i, j;
    const json_t *nif, *a;
    json_array_foreach(ifs, i, nif)
    {
        if (!json_is_true(json_object_get(nif, "up")) || json_is_false(json_object_get(nif, "running")) ||
            strcmp(json_string_value(json_object_get(nif, "kind")) ? json_string_value(json_object_get(nif, "kind")) : "", "loopback") == 0)
            continue;
        json_array_foreach(json_object_get(nif, "addresses"), j, a)
        {
            const char *fam = json_string_value(json_object_get(a, "family"));
            const char *ip = json_string_value(json_object_get(a, "address"));
            if (fam && ip && strcmp(fam, "ipv4") == 0 && !json_is_true(json_object_get(a, "loopback")) &&
                json_array_size(out) < 32)
                json_array_append_new(out, json_string(ip));
        }
    }
    return out;
}

static const char *gloo_address(pf_node *rn)
{
    const json_t *devs = json_object_get(json_object_get(pf_node_facts(rn), "gloo"), "devices");
    return json_string_value(json_object_get(json_array_get(devs, 0), "address"));
}

static void phase_listen(coord *c)
{
    double t = pf_now();
    phase_begin(c, "listen", 10);
    for (size_t i = 0; i < c->nn; i++) {
        cnode *n = &c->n[i];
        if (n->st != N_JOINED)
            continue;
        json_t *req = json_pack("{s:s,s:o,s:[ssss]}", "node", n->spec->name, "addresses", node_addresses(n->rn),
                                "tests", "reach", "bandwidth", "mtu", "gloo");
        const char *g = gloo_address(n->rn);
        if (g)
            json_object_set_new(req, "gloo_address", json_string(g));
        if (c->o->nports) {
            json_t *ports = json_array();
            for (size_t k = 0; k < c->o->nports; k++)
                json_array_append_new(ports, json_integer(c->o->ports[k]));
            json_object_set_new(req, "ports", ports);
            json_array_append_new(json_object_get(req, "tests"), json_string("ports"));
        }
        request(c, (int)i, json_pack("{s:s,s:o}", "type", "listen", "req", req));
    }
    pump(c, c->phase_deadline, none_in_flight);
    fail_in_flight(c, 10);
    for (size_t i = 0; i < c->nn; i++) {
        cnode *n = &c->n[i];
        const char *e;
        if (n->st != N_JOINED)
            continue;
        if (reply_ok(n, &e)) {
            n->listen = json_incref(json_object_get(n->reply, "result"));
        } else {
            logf_(c, "%s: no listeners: %s", n->spec->name, e);
            n->listen = json_pack("{s:s}", "error", e);
        }
    }
    phase_end(c, t);
}

typedef struct probe_job {
    int from, to;
    bool bandwidth;
    bool started, done;
} probe_job;

static json_t *probe_req(coord *c, const probe_job *j)
{
    cnode *a = &c->n[j->from], *b = &c->n[j->to];
    json_t *req = json_pack("{s:s,s:s,s:O,s:f,s:f,s:i}", "node", a->spec->name, "peer", b->spec->name,
                            "endpoints", json_object_get(b->listen, "endpoints"), "deadline_s",
                            j->bandwidth ? c->o->bw_seconds + 5 : 8.0, "connect_timeout_s", 1.0, "connects", 3);
    json_t *tests = json_array();
    if (j->bandwidth) {
        json_array_append_new(tests, json_string("bandwidth"));
        json_object_set_new(req, "bandwidth", json_pack("{s:f,s:f,s:i}", "bytes", c->o->bw_bytes, "seconds",
                                                        c->o->bw_seconds, "streams", c->o->bw_streams));
    } else {
        json_array_append_new(tests, json_string("reach"));
        json_array_append_new(tests, json_string("mtu"));
        if (c->o->nports) {
            json_t *ports = json_array();
            for (size_t k = 0; k < c->o->nports; k++) {
                int p = c->o->ports[k];
                const char *name = p == 6379 ? "ray-gcs" : p == 8265 ? "ray-dashboard" : p == 10001 ? "ray-client" : NULL;
                json_t *po = json_pack("{s:i}", "port", p);
                json_object_set_new(po, "name", name ? json_string(name) : json_sprintf("port %d", p));
                json_array_append_new(ports, po);
            }
            json_array_append_new(tests, json_string("ports"));
            json_object_set_new(req, "ports", ports);
        }
        const json_t *g = json_object_get(b->listen, "gloo");
        const char *self = gloo_address(a->rn);
        if (json_is_object(g) && json_object_get(g, "port") && self) {
            json_array_append_new(tests, json_string("gloo"));
            json_object_set_new(req, "gloo", json_pack("{s:s,s:O,s:s}", "self", self, "peer", g, "peer_node",
                                                       b->spec->name));
        }
    }
    json_object_set_new(req, "tests", tests);
    return req;
}

static bool busy(coord *c, int i) { return c->n[i].st == N_JOINED && c->n[i].req_id; }

/* pump's predicate while jobs run: return as soon as a node that runs a
 * job has answered (or failed), so the next job starts at once. */
static bool job_answered(coord *c)
{
    for (size_t i = 0; i < c->nn; i++)
        if (c->running[i] && !busy(c, (int)i))
            return true;
    return false;
}

/* Run jobs with at most `par` in flight and one per source node (an agent
 * serves one request at a time).  With `disjoint`, no node takes part in two
 * jobs at once, as sender or receiver: bandwidth transfers between disjoint
 * pairs run together (on a real cluster they share no NIC), a node's own
 * transfers never overlap. */
static void run_jobs(coord *c, probe_job *jobs, size_t nj, size_t par, bool disjoint, double deadline,
                     json_t *results)
{
    c->running = pf_xcalloc(c->nn, sizeof *c->running); /* job index + 1 per source */
    size_t inflight = 0, left = nj;
    while (left) {
        /* Collect finished ones. */
        for (size_t i = 0; i < c->nn; i++) {
            if (!c->running[i] || busy(c, (int)i))
                continue;
            probe_job *j = &jobs[c->running[i] - 1];
            cnode *n = &c->n[i];
            const char *e = NULL;
            json_t *res;
            if (n->st == N_JOINED && reply_ok(n, &e))
                res = json_incref(json_object_get(n->reply, "result"));
            else
                res = json_pack("{s:s,s:s,s:s}", "node", n->spec->name, "peer", c->n[j->to].spec->name, "error",
                                n->st == N_JOINED ? e : n->why);
            json_array_append_new(results, res);
            j->done = true;
            c->running[i] = 0;
            inflight--;
            left--;
        }
        /* Start new ones. */
        for (size_t k = 0; k < nj && inflight < par && !c->stop_sig; k++) {
            probe_job *j = &jobs[k];
            if (j->started || c->running[j->from])
                continue;
            /* Probers per target at once: 1 for bandwidth (disjoint pairs),
             * PF_COORD_PROBERS_PER_TARGET otherwise, so that a node's
             * listener is not hit by every peer at the same moment. */
            size_t at_target = disjoint && c->running[j->to] ? 1 : 0;
            for (size_t r = 0; r < c->nn; r++)
                if (c->running[r] && jobs[c->running[r] - 1].to == j->to)
                    at_target++;
            if (at_target >= (disjoint ? 1 : PF_COORD_PROBERS_PER_TARGET))
                continue;
            cnode *a = &c->n[j->from], *b = &c->n[j->to];
            if (a->st != N_JOINED || b->st != N_JOINED || !b->listen || !json_object_get(b->listen, "endpoints")) {
                const char *why = a->st != N_JOINED ? a->why : b->st != N_JOINED ? b->why : "the peer has no listeners";
                json_array_append_new(results, json_pack("{s:s,s:s,s:s}", "node", a->spec->name, "peer",
                                                         b->spec->name, "error", why));
                j->started = j->done = true;
                left--;
                continue;
            }
            j->started = true;
            if (request(c, j->from, json_pack("{s:s,s:o}", "type", "probe", "req", probe_req(c, j))) == 0) {
                c->running[j->from] = (int)k + 1;
                inflight++;
            } else {
                json_array_append_new(results, json_pack("{s:s,s:s,s:s}", "node", a->spec->name, "peer",
                                                         b->spec->name, "error", a->why));
                j->done = true;
                left--;
            }
        }
        if (!left)
            break;
        if (pf_now() >= deadline || stopping(c)) {
            fail_in_flight(c, deadline - c->phase_start);
            /* Jobs never started are reported as such. */
            char why[96] = "not run: the phase deadline passed first";
            if (c->stop_sig)
                snprintf(why, sizeof why, "not run: %s stopped the run first", pf_sig_name(c->stop_sig));
            for (size_t k = 0; k < nj; k++)
                if (!jobs[k].started) {
                    jobs[k].started = true;
                    json_array_append_new(results, json_pack("{s:s,s:s,s:s}", "node", c->n[jobs[k].from].spec->name,
                                                             "peer", c->n[jobs[k].to].spec->name, "error", why));
                    left--;
                }
            continue; /* the collect step records the failed ones */
        }
        pump(c, deadline, job_answered);
    }
    free(c->running);
    c->running = NULL;
}

static void phase_pairs(coord *c, json_t *results)
{
    double t = pf_now();
    phase_begin(c, "probe", c->o->pairs_s);
    size_t nj = 0;
    probe_job *jobs = pf_xcalloc(c->nn * c->nn + 1, sizeof *jobs);
    /* In rounds: in round r node i probes node i+r, so every round spreads
     * the probes over all targets instead of piling them on node 0. */
    for (size_t r = 1; r < c->nn; r++)
        for (size_t i = 0; i < c->nn; i++)
            jobs[nj++] = (probe_job){.from = (int)i, .to = (int)((i + r) % c->nn)};
    run_jobs(c, jobs, nj, c->nn, false, c->phase_deadline, results);
    phase_end(c, t);

    /* Bandwidth on disjoint pairs at once (i->i+1 for even i, then odd):
     * a node is never in two transfers, so each reads its own link. */
    t = pf_now();
    phase_begin(c, "bandwidth", (c->o->bw_seconds + 6) * (c->o->all_pairs_bandwidth ? (double)c->nn * 2 : 2));
    nj = 0;
    for (size_t i = 0; i < c->nn; i++)
        for (size_t j = 0; j < c->nn; j++)
            if (i != j && (c->o->all_pairs_bandwidth || j == i + 1))
                jobs[nj++] = (probe_job){.from = (int)i, .to = (int)j, .bandwidth = true};
    run_jobs(c, jobs, nj, c->nn, true, c->phase_deadline, results);
    free(jobs);
    phase_end(c, t);

    if (stopping(c))
        return; /* the agents close their listeners when they go */
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED)
            request(c, (int)i, json_pack("{s:s}", "type", "unlisten"));
    pump(c, pf_now() + 5, none_in_flight);
    fail_in_flight(c, 5);
}

/* cluster.nccl: one NCCL rank per joined node, ranks in pipeline order
 * (stage 0 = rank 0), run by each agent in a child process (ncclop.h).
 *
 *   nccl_start to rank 0 -> its unique id comes back in the reply
 *   nccl_start {uid} to ranks 1..n-1 (the id relayed, never interpreted)
 *   nccl_wait to every started rank -> one result each
 *
 * Each agent enforces the rank's deadline (nccl_s) and kills its child; the
 * phase's own deadline is nccl_s + 10 s, after which an agent that has not
 * answered is failed like in any phase.  A rank that could not take part
 * (refused, its agent died, rank 0 had no id for it) gets a result that
 * says so, so the judge (nccl_judge.h) names it: the section "nccl" and the
 * checks nccl.* (cluster-wide), nccl.rank (per node) and cluster.nccl. */
static json_t *nccl_start_msg(coord *c, int i, int rank, int nranks, const uint64_t *sizes, int nsizes,
                              const pf_ncclrank_opts *ro)
{
    const pf_ncclflags *f = &c->o->nccl_flags;
    const cnode *n = &c->n[i];
    json_t *sz = json_array(), *p2p = json_array();
    for (int k = 0; k < nsizes; k++)
        json_array_append_new(sz, json_integer((json_int_t)sizes[k]));
    for (int k = 0; k < ro->n_p2p; k++)
        json_array_append_new(p2p, json_pack("{s:s,s:I}", "name", ro->p2p_name[k], "bytes", (json_int_t)ro->p2p_bytes[k]));
    json_t *m = json_pack("{s:s,s:i,s:i,s:o,s:o,s:b,s:i,s:i,s:f,s:f,s:f}", "type", "nccl_start", "rank", rank, "nranks",
                          nranks, "sizes", sz, "p2p", p2p, "allgather", ro->allgather, "iters", ro->iters, "warmup",
                          ro->warmup, "init_timeout_s", f->init_timeout_s, "op_timeout_s", f->op_timeout_s, "deadline_s",
                          c->o->nccl_s);
    if (f->libnccl)
        json_object_set_new(m, "libnccl", json_string(f->libnccl));
    if (f->libcuda)
        json_object_set_new(m, "libcuda", json_string(f->libcuda));
    const char *venv = n->spec->venv ? n->spec->venv : json_string_value(json_object_get(c->o->flags, "venv"));
    if (venv)
        json_object_set_new(m, "venv", json_string(venv));
    if (n->spec->env_file) {
        char *e = pf_xasprintf("file:%s", n->spec->env_file);
        json_object_set_new(m, "env", json_string(e));
        free(e);
    }
    return m;
}

/* The result of a rank that could not report one itself. */
static json_t *nccl_missing(int rank, int nranks, const char *phase, const char *kind, const char *msg)
{
    pf_ncclrank_opts ro = {.rank = rank, .nranks = nranks};
    json_t *j = pf_ncclrank_load_failure(&ro, phase, msg);
    json_object_set_new(json_object_get(j, "failure"), "kind", json_string(kind));
    pf_nccljudge_annotate(j, NULL);
    return j;
}

/* The evidence of the node check id that node ran, or NULL. */
static json_t *node_check_evidence(coord *c, pf_node *node, const char *id)
{
    for (size_t k = 0; k < pf_run_check_count(c->run); k++) {
        pf_check *ck = pf_run_check(c->run, k);
        if (pf_check_node(ck) == node && strcmp(pf_check_id(ck), id) == 0)
            return pf_check_evidence(ck);
    }
    return NULL;
}

static void node_prediction(coord *c, int i, const char **pred_if, const char **pred_tr);

static void nccl_rank_check(coord *c, int i, const json_t *r)
{
    pf_check *ck = pf_check_add(c->run, c->n[i].rn, "nccl.rank");
    json_int_t rank = json_integer_value(json_object_get(r, "rank"));
    json_object_set_new(pf_check_evidence(ck), "rank", json_integer(rank));
    json_object_set(pf_check_evidence(ck), "log_file", json_object_get(r, "log_file") ? json_object_get(r, "log_file")
                                                                                       : json_null());
    /* What this node's own checks predicted NCCL would pick, against what
     * its rank's NCCL log says it picked (the judge compares). */
    const char *pred_if, *pred_tr;
    node_prediction(c, i, &pred_if, &pred_tr);
    char cmp[320];
    pf_status pst = pf_nccljudge_predicted(r, pred_if, pred_tr, cmp, sizeof cmp);
    json_object_set_new(pf_check_evidence(ck), "prediction",
                        json_pack("{s:s, s:s}", "verdict", pf_status_name(pst), "text", cmp));
    if (json_is_true(json_object_get(r, "ok"))) {
        if (pst == PF_WARN) {
            pf_check_set(ck, PF_WARN, "rank %lld of %lld passed, but not as this node's checks predicted: %s",
                         (long long)rank, (long long)json_integer_value(json_object_get(r, "nranks")), cmp);
            pf_check_remedy(ck, "The server will pick what NCCL picked here; compare net.nccl_ifname and "
                                "net.transport on this node with the NCCL log (log_file), and pin the choice "
                                "(NCCL_SOCKET_IFNAME, NCCL_IB_DISABLE / NCCL_NET) in the env file from `preflight plan`.");
            return;
        }
        pf_check_set(ck, PF_PASS, "rank %lld of %lld: every step done and checked (init %.2f s); %s", (long long)rank,
                     (long long)json_integer_value(json_object_get(r, "nranks")),
                     json_number_value(json_object_get(r, "init_s")), cmp);
        return;
    }
    const json_t *d = json_object_get(r, "diagnosis");
    const json_t *f = json_object_get(r, "failure");
    const char *cause = json_string_value(json_object_get(d, "cause"));
    if (cause && !strcmp(cause, "aborted")) {
        /* stopped because another rank failed first: not this node's finding */
        pf_check_set(ck, PF_SKIP, "rank %lld not judged: %s (nccl.init names the cause)", (long long)rank,
                     json_string_value(json_object_get(d, "what")) ? json_string_value(json_object_get(d, "what"))
                                                                     : "stopped by the coordinator");
        return;
    }
    const char *ev = json_string_value(json_object_get(d, "evidence"));
    if (!ev || !*ev)
        ev = json_string_value(json_object_get(f, "message"));
    pf_check_set(ck, json_is_true(json_object_get(d, "skip")) ? PF_SKIP : PF_FAIL, "rank %lld failed in %s: %s%s%s%s",
                 (long long)rank, json_string_value(json_object_get(r, "phase")),
                 json_string_value(json_object_get(d, "what")) ? json_string_value(json_object_get(d, "what")) : "failed",
                 ev ? " -- \"" : "", ev ? ev : "", ev ? "\"" : "");
    if (json_string_value(json_object_get(d, "remedy")))
        pf_check_remedy(ck, "%s", json_string_value(json_object_get(d, "remedy")));
    json_object_set(pf_check_evidence(ck), "diagnosis", d ? (json_t *)d : json_null());
}

/* cluster.nccl: the verdict over the nccl.* checks just added. */
static void nccl_summary(coord *c, size_t first_check, const json_t *section, int nranks)
{
    pf_check *s = pf_check_add(c->run, NULL, "cluster.nccl");
    const pf_check *bad = NULL, *skip = NULL, *warn = NULL;
    size_t n = pf_run_check_count(c->run);
    /* the cluster-wide nccl.* first (they name the root cause), then a
     * node's nccl.rank: any failure fails cluster.nccl */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = first_check; k < n; k++) {
            const pf_check *ck = pf_run_check(c->run, k);
            if (ck == s || (pf_check_node(ck) != NULL) != (pass == 1))
                continue;
            pf_status st = pf_check_status(ck);
            /* a capture that could not count is its own error, not NCCL's */
            bool capture_error = st == PF_ERROR && strcmp(pf_check_id(ck), "nccl.capture") == 0;
            if (!bad && (st == PF_FAIL || st == PF_ERROR) && !capture_error)
                bad = ck;
            if (!warn && st == PF_WARN && pass == 1)
                warn = ck; /* a node's rank ran, but not as predicted */
            if (!skip && st == PF_SKIP && pass == 0 && strcmp(pf_check_id(ck), "nccl.transport") != 0)
                skip = ck;
        }
    json_object_set_new(pf_check_evidence(s), "nranks", json_integer(nranks));
    if (bad) {
        pf_check_set(s, PF_FAIL, "%s: %s", pf_check_id(bad), pf_check_summary(bad));
        if (pf_check_remedy_text(bad))
            pf_check_remedy(s, "%s", pf_check_remedy_text(bad));
        return;
    }
    if (skip) {
        pf_check_set(s, PF_SKIP, "%s: %s", pf_check_id(skip), pf_check_summary(skip));
        return;
    }
    const json_t *p2p = json_object_get(section, "p2p"), *ar = json_object_get(section, "all_reduce");
    const json_t *last = json_array_get(ar, json_array_size(ar) ? json_array_size(ar) - 1 : 0);
    double p2p_min = -1;
    size_t k;
    const json_t *row;
    json_array_foreach(p2p, k, row) {
        double g = json_number_value(json_object_get(row, "gbps"));
        if (p2p_min < 0 || g < p2p_min)
            p2p_min = g;
    }
    char sz[32] = "?";
    pf_ncclsweep_size_str((uint64_t)json_integer_value(json_object_get(last, "bytes")), sz, sizeof sz);
    pf_check_set(s, PF_PASS,
                 "NCCL ran across %d node%s in pipeline order: %zu hand-off%s checked (slowest %.2f GB/s), "
                 "all-reduce busbw %.2f GB/s at %s",
                 nranks, nranks == 1 ? "" : "s", json_array_size(p2p), json_array_size(p2p) == 1 ? "" : "s",
                 p2p_min < 0 ? 0 : p2p_min, json_number_value(json_object_get(last, "busbw")), sz);
    if (warn) {
        char *m = pf_xasprintf("%s; %s on %s: %s", pf_check_summary(s), pf_check_id(warn),
                               pf_node_name(pf_check_node(warn)), pf_check_summary(warn));
        pf_check_set(s, PF_WARN, "%s", m);
        free(m);
        if (pf_check_remedy_text(warn))
            pf_check_remedy(s, "%s", pf_check_remedy_text(warn));
    }
}

/* Wait for every started rank's nccl_wait reply.  Each agent's deadline
 * runs from its own nccl_start: wait that long from the last one, plus a
 * margin for the kill and the reply.  The first rank that comes back
 * failed makes the others pointless -- they would wait in NCCL until their
 * own deadline (a bad interface on one node held the others 20 s on the
 * GPU, run 6a) -- so the agents still waiting get nccl_abort {peer} and
 * answer at once; their results say they were stopped because of it. */
static void nccl_wait_all(coord *c, const int *idx, const bool *started, int nr)
{
    c->phase_deadline = pf_now() + c->o->nccl_s + 10;
    bool aborted = false;
    while (!none_in_flight(c) && pf_now() < c->phase_deadline && !stopping(c)) {
        double slice = pf_now() + 0.2;
        pump(c, slice < c->phase_deadline ? slice : c->phase_deadline, none_in_flight);
        const cnode *first = NULL;
        for (int r = 0; r < nr && !aborted && !first; r++) {
            const cnode *n = &c->n[idx[r]];
            const json_t *res = n->reply ? json_object_get(n->reply, "result") : NULL;
            if (started[r] && !n->req_id && json_is_object(res) && !json_is_true(json_object_get(res, "ok")))
                first = n;
        }
        if (!first)
            continue;
        aborted = true;
        logf_(c, "nccl: the rank on %s failed; stopping the others", first->spec->name);
        for (int r = 0; r < nr; r++) {
            cnode *n = &c->n[idx[r]];
            if (n != first && n->st == N_JOINED && n->req_id && strcmp(n->req_type, "nccl_wait") == 0)
                send_to(c, idx[r], json_pack("{s:s,s:s}", "type", "nccl_abort", "peer", first->spec->name));
        }
    }
    fail_in_flight(c, c->o->nccl_s + 10);
}

/* One round of cluster.nccl: the same nodes, one rank each in pipeline
 * order, started as the comment above nccl_start_msg says, every result
 * collected.  phase_nccl runs it once, and again with the fallback's
 * variables (--fallback-env). */
typedef struct nccl_round {
    const char *name;          /* "nccl" or "nccl fallback", in progress lines */
    const uint64_t *sizes;
    int nsizes;
    const pf_ncclrank_opts *ro; /* hand-offs, all-gather, iterations */
    const char *capture;       /* sent as "capture"; NULL: none */
    const pf_strv *fallback;   /* sent as "fallback_env"; NULL: none */
    /* out */
    json_t *ranks;             /* one result per rank (caller owns) */
    json_t *nodes;             /* the node of each rank (caller owns) */
    json_t *captures;          /* per rank: the agent's capture object or null (caller owns) */
    bool rank0_started;        /* rank 0's agent accepted nccl_start */
    char refused[640];         /* the first agent that refused nccl_start: "n0: why"; "" none */
} nccl_round;

static json_t *round_start_msg(coord *c, int i, int rank, int nr, const nccl_round *rd)
{
    json_t *m = nccl_start_msg(c, i, rank, nr, rd->sizes, rd->nsizes, rd->ro);
    if (rd->capture)
        json_object_set_new(m, "capture", json_string(rd->capture));
    if (rd->fallback) {
        json_t *fe = json_array();
        for (size_t k = 0; k < rd->fallback->n; k++)
            json_array_append_new(fe, json_string(rd->fallback->v[k]));
        json_object_set_new(m, "fallback_env", fe);
    }
    return m;
}

static void round_refused(coord *c, nccl_round *rd, int i, const char *why)
{
    if (!rd->refused[0])
        snprintf(rd->refused, sizeof rd->refused, "%s: %s", c->n[i].spec->name, why);
}

static void nccl_round_run(coord *c, const int *idx, int nr, nccl_round *rd)
{
    json_t **res = pf_xcalloc((size_t)nr, sizeof *res);
    bool *started = pf_xcalloc((size_t)nr, sizeof *started), no_uid = false;
    rd->refused[0] = 0;

    /* rank 0 first: its reply carries the unique id */
    logf_(c, "%s: %d rank%s, rank 0 on %s", rd->name, nr, nr == 1 ? "" : "s", c->n[idx[0]].spec->name);
    request(c, idx[0], round_start_msg(c, idx[0], 0, nr, rd));
    pump(c, pf_now() + c->o->nccl_flags.init_timeout_s + 15, none_in_flight);
    fail_in_flight(c, c->o->nccl_flags.init_timeout_s + 15);
    char *uid = NULL;
    const char *e0 = NULL;
    if (c->n[idx[0]].st == N_JOINED && reply_ok(&c->n[idx[0]], &e0)) {
        started[0] = true;
        const char *u = json_string_value(json_object_get(c->n[idx[0]].reply, "uid"));
        if (u && strlen(u) == 256)
            uid = pf_xstrdup(u);
    } else {
        if (c->n[idx[0]].st == N_JOINED)
            round_refused(c, rd, idx[0], e0);
        char *m = pf_xasprintf("rank 0's agent could not start it: %s",
                               c->n[idx[0]].st == N_JOINED ? e0 : c->n[idx[0]].why);
        res[0] = nccl_missing(0, nr, "load", "error", m);
        free(m);
    }
    rd->rank0_started = started[0];
    no_uid = !uid;
    for (int r = 1; r < nr; r++) {
        if (!uid) {
            char *m = pf_xasprintf("not started: rank 0 (%s) has no NCCL unique id to share",
                                   c->n[idx[0]].spec->name);
            res[r] = nccl_missing(r, nr, "bootstrap", "error", m);
            free(m);
            continue;
        }
        json_t *m = round_start_msg(c, idx[r], r, nr, rd);
        json_object_set_new(m, "uid", json_string(uid));
        request(c, idx[r], m);
    }
    free(uid);
    pump(c, pf_now() + 15, none_in_flight);
    fail_in_flight(c, 15);
    for (int r = 1; r < nr; r++) {
        const char *e = NULL;
        if (res[r])
            continue;
        if (c->n[idx[r]].st == N_JOINED && reply_ok(&c->n[idx[r]], &e)) {
            started[r] = true;
        } else {
            if (c->n[idx[r]].st == N_JOINED)
                round_refused(c, rd, idx[r], e);
            char *m = pf_xasprintf("the agent could not start this rank: %s",
                                   c->n[idx[r]].st == N_JOINED ? e : c->n[idx[r]].why);
            res[r] = nccl_missing(r, nr, "load", "error", m);
            free(m);
        }
    }
    /* every started rank: its result, by the deadline its agent enforces */
    for (int r = 0; r < nr; r++)
        if (started[r] && c->n[idx[r]].st == N_JOINED)
            request(c, idx[r], json_pack("{s:s}", "type", "nccl_wait"));
    nccl_wait_all(c, idx, started, nr);
    rd->ranks = json_array();
    rd->nodes = json_array();
    rd->captures = json_array();
    for (int r = 0; r < nr; r++) {
        cnode *n = &c->n[idx[r]];
        const char *e = NULL;
        json_t *j = res[r];
        bool replied = !j && n->st == N_JOINED && reply_ok(n, &e);
        if (replied && json_is_object(json_object_get(n->reply, "result")))
            j = json_incref(json_object_get(n->reply, "result"));
        const json_t *cap = replied ? json_object_get(n->reply, "capture") : NULL;
        json_array_append_new(rd->captures, json_is_object(cap) ? json_incref((json_t *)cap) : json_null());
        if (!j && n->stopped) {
            /* the user stopped the run while this rank ran: not a death */
            char *m = pf_xasprintf("not reported: %s stopped the run while this rank ran", pf_sig_name(c->stop_sig));
            j = nccl_missing(r, nr, "interrupted", "interrupted", m);
            json_t *d = json_object_get(j, "diagnosis");
            if (json_is_object(d)) {
                json_object_set_new(d, "cause", json_string("interrupted"));
                json_object_set_new(d, "stage", json_string("interrupted"));
                json_object_set_new(d, "what", json_string(m));
                json_object_set_new(d, "remedy", json_string("Run again and let it finish."));
            }
            free(m);
        } else if (!j) {
            char *m = pf_xasprintf("no result from this rank's agent: %s", n->st == N_JOINED ? (e ? e : "no reply") : n->why);
            j = nccl_missing(r, nr, "load", "died", m);
            free(m);
        }
        /* the judge names ranks by "host": the node's name in this run */
        if (json_is_string(json_object_get(j, "host")))
            json_object_set(j, "hostname", json_object_get(j, "host"));
        json_object_set_new(j, "host", json_string(n->spec->name));
        json_object_set_new(j, "node", json_string(n->spec->name));
        json_array_append_new(rd->ranks, j);
        json_array_append_new(rd->nodes, json_string(n->spec->name));
    }
    if (no_uid) {
        /* The others never ran: rank 0's failure is the one to read, and
         * when rank 0 skips (no GPU there) so do they. */
        const json_t *d0 = json_object_get(json_array_get(rd->ranks, 0), "diagnosis");
        for (int r = 1; r < nr; r++) {
            json_t *d = json_object_get(json_array_get(rd->ranks, (size_t)r), "diagnosis");
            if (!json_is_object(d))
                continue;
            json_object_set_new(d, "cause", json_string("not_started"));
            json_object_set_new(d, "stage", json_string("bootstrap"));
            json_object_set_new(d, "what", json_string("not started: rank 0 produced no NCCL unique id"));
            json_object_set_new(d, "remedy", json_string("Fix rank 0's failure first (nccl.init names it)."));
            json_object_set_new(d, "skip", json_boolean(json_is_true(json_object_get(d0, "skip"))));
        }
    }
    free(res);
    free(started);
}

/* What node i's own checks predicted NCCL would pick: net.nccl_ifname's
 * bootstrap interface, net.transport's transport (each NULL when that
 * check did not run there). */
static void node_prediction(coord *c, int i, const char **pred_if, const char **pred_tr)
{
    const json_t *ife = node_check_evidence(c, c->n[i].rn, "net.nccl_ifname");
    const json_t *tre = node_check_evidence(c, c->n[i].rn, "net.transport");
    *pred_if = json_string_value(
        json_object_get(json_object_get(json_object_get(ife, "selection"), "bootstrap"), "interface"));
    *pred_tr = json_string_value(json_object_get(json_object_get(tre, "prediction"), "transport"));
}

/* nccl.capture on node i: what its agent's capture saw, against the
 * node's predicted interface (nccl_judge.h decides). */
static void nccl_capture_check(coord *c, int i, const json_t *cap)
{
    pf_check *ck = pf_check_add(c->run, c->n[i].rn, "nccl.capture");
    const char *pred_if, *pred_tr;
    node_prediction(c, i, &pred_if, &pred_tr);
    char msg[512], remedy[512];
    pf_status st = pf_nccljudge_capture(json_is_object(cap) ? cap : NULL, pred_if, msg, sizeof msg, remedy,
                                        sizeof remedy);
    pf_check_set(ck, st, "%s", msg);
    if (remedy[0])
        pf_check_remedy(ck, "%s", remedy);
    json_object_set(pf_check_evidence(ck), "capture", json_is_object(cap) ? (json_t *)cap : json_null());
    if (pred_if)
        json_object_set_new(pf_check_evidence(ck), "predicted_ifname", json_string(pred_if));
}

/* Every node's capture in one object for nccl.transport: bytes per
 * interface name summed over the nodes that captured without error. */
static json_t *merge_captures(const json_t *caps)
{
    json_t *ifs = json_object();
    size_t i;
    const json_t *cap;
    json_array_foreach(caps, i, cap) {
        if (!json_is_object(cap) || json_is_string(json_object_get(cap, "error")) ||
            json_is_string(json_object_get(cap, "skipped")))
            continue;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)json_object_get(cap, "interfaces"), k, v) {
            if (json_is_string(json_object_get(v, "error")))
                continue;
            json_t *o = json_object_get(ifs, k);
            if (!o) {
                o = json_pack("{s:I}", "bytes", (json_int_t)0);
                json_object_set_new(ifs, k, o);
            }
            json_object_set_new(o, "bytes", json_integer(json_integer_value(json_object_get(o, "bytes")) +
                                                         json_integer_value(json_object_get(v, "bytes"))));
        }
    }
    if (json_object_size(ifs) == 0) {
        json_decref(ifs);
        return NULL;
    }
    return json_pack("{s:o}", "interfaces", ifs);
}

/* nccl.fallback: the second round, with the fallback's variables. */
static void nccl_fallback(coord *c, const int *idx, int nr, json_t *section)
{
    pf_check *fc = pf_check_add(c->run, NULL, "nccl.fallback");
    json_t *added = json_array();
    for (size_t k = 0; k < c->o->nccl_fallback->n; k++)
        json_array_append_new(added, json_string(c->o->nccl_fallback->v[k]));
    json_object_set_new(pf_check_evidence(fc), "added", added);
    json_object_set_new(pf_check_evidence(fc), "file",
                        json_string(c->o->nccl_fallback_file ? c->o->nccl_fallback_file : "?"));
    /* as preflight nccl: all-reduce 1K .. 4M only, no hand-off, no all-gather */
    pf_ncclrank_opts ro = {0};
    uint64_t sizes[PF_NCCL_MAX_SIZES];
    pf_err err = {{0}};
    int n = pf_ncclsweep_sizes(1024, 4u << 20, 4, nr, sizes, PF_NCCL_MAX_SIZES, &err);
    ro.iters = (int)c->o->nccl_flags.iters;
    ro.warmup = (int)c->o->nccl_flags.warmup;
    ro.allgather = false;
    ro.n_p2p = 0;
    nccl_round rd = {.name = "nccl fallback", .sizes = sizes, .nsizes = n > 0 ? n : 0, .ro = &ro,
                     .fallback = c->o->nccl_fallback};
    nccl_round_run(c, idx, nr, &rd);
    json_t *fs = pf_nccljudge_section(rd.ranks);
    json_object_set_new(fs, "nodes", json_incref(rd.nodes));
    json_object_set(fs, "added", json_object_get(pf_check_evidence(fc), "added"));
    if (rd.refused[0]) {
        /* the agent's own words: it names the variable it refused */
        json_object_set_new(pf_check_evidence(fc), "refused", json_string(rd.refused));
        pf_check_set(fc, PF_ERROR, "the fallback environment was refused by %s", rd.refused);
        pf_check_remedy(fc, "Over the network the agents accept only NCCL_ variables that name no file or library, "
                            "values of [A-Za-z0-9_.,:=^+/-] (docs/cluster.md, \"NCCL\"): put the others in each "
                            "node's env file (hostfile env=FILE).");
    } else {
        char msg[1024], remedy[512];
        pf_status st = pf_nccljudge_fallback(fs, msg, sizeof msg, remedy, sizeof remedy);
        pf_check_set(fc, st, "%s", msg);
        if (remedy[0])
            pf_check_remedy(fc, "%s", remedy);
    }
    json_object_set_new(section, "fallback", fs);
    json_decref(rd.ranks);
    json_decref(rd.nodes);
    json_decref(rd.captures);
}

static void phase_nccl(coord *c)
{
    if (!c->o->nccl)
        return;
    double t = pf_now();
    int *idx = pf_xcalloc(c->nn + 1, sizeof *idx);
    int nr = 0;
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED)
            idx[nr++] = (int)i;
    phase_begin(c, "nccl", c->o->nccl_s + 10);
    size_t first_check = pf_run_check_count(c->run);
    if (nr == 0) {
        pf_check *s = pf_check_add(c->run, NULL, "cluster.nccl");
        pf_check_set(s, PF_SKIP, "no node is left to run NCCL on");
        free(idx);
        phase_end(c, t);
        return;
    }
    pf_ncclrank_opts ro = {0};
    uint64_t sizes[PF_NCCL_MAX_SIZES];
    pf_err err = {{0}};
    int nsizes = pf_ncclflags_apply(&c->o->nccl_flags, nr, &ro, sizes, &err);
    if (nsizes < 0)
        nsizes = 0; /* the command line was checked for the node count; fewer joined */
    nccl_round rd = {.name = "nccl", .sizes = sizes, .nsizes = nsizes, .ro = &ro, .capture = c->o->nccl_capture};
    nccl_round_run(c, idx, nr, &rd);
    json_t *ranks = rd.ranks;
    json_t *section = pf_nccljudge_section(ranks);
    json_object_set_new(section, "nodes", rd.nodes);
    json_object_set_new(section, "wall_s", json_real(pf_now() - t));
    json_object_set_new(section, "deadline_s", json_real(c->o->nccl_s));

    /* The plan nccl.transport judges against: what the nodes themselves
     * predicted (net.transport, net.nccl_ifname), when they agree. */
    json_t *preds = json_array();
    for (int r = 0; r < nr; r++) {
        const char *pi = NULL, *pt = NULL;
        if (c->n[idx[r]].rn)
            node_prediction(c, idx[r], &pi, &pt);
        json_t *o = json_pack("{s:s}", "node", c->n[idx[r]].spec->name);
        if (pi)
            json_object_set_new(o, "ifname", json_string(pi));
        if (pt)
            json_object_set_new(o, "transport", json_string(pt));
        json_array_append_new(preds, o);
    }
    char ptr[64], pifs[1024], conflict[1024];
    int disagree = pf_nccljudge_plan_nodes(preds, ptr, sizeof ptr, pifs, sizeof pifs, conflict, sizeof conflict);
    json_object_set_new(section, "predictions", preds);
    pf_nccljudge_plan plan = {pifs[0] ? pifs : NULL, ptr[0] ? ptr : NULL, 0};
    json_t *capall = c->o->nccl_capture ? merge_captures(rd.captures) : NULL;
    size_t before = pf_run_check_count(c->run);
    pf_nccljudge_checks(c->run, NULL, section, capall, &plan);
    json_decref(capall);
    for (size_t k = before; disagree && k < pf_run_check_count(c->run); k++)
        if (!strcmp(pf_check_id(pf_run_check(c->run, k)), "nccl.transport"))
            pf_nccljudge_conflict(pf_run_check(c->run, k), conflict);
    if (c->o->nccl_capture) {
        json_t *bynode = json_object();
        for (int r = 0; r < nr; r++)
            json_object_set(bynode, c->n[idx[r]].spec->name, json_array_get(rd.captures, (size_t)r));
        json_object_set_new(section, "capture", bynode);
    }
    for (int r = 0; r < nr; r++)
        if (c->n[idx[r]].rn) {
            nccl_rank_check(c, idx[r], json_array_get(ranks, (size_t)r));
            if (c->o->nccl_capture)
                nccl_capture_check(c, idx[r], json_array_get(rd.captures, (size_t)r));
        }
    /* the fallback round: only when the first one got going */
    if (c->o->nccl_fallback && rd.rank0_started && !stopping(c))
        nccl_fallback(c, idx, nr, section);
    else if (c->o->nccl_fallback && stopping(c))
        pf_check_set(pf_check_add(c->run, NULL, "nccl.fallback"), PF_ERROR, "not run: %s stopped the run first",
                     pf_sig_name(c->stop_sig));
    else if (c->o->nccl_fallback)
        pf_check_set(pf_check_add(c->run, NULL, "nccl.fallback"), PF_SKIP,
                     "not run: the first round never started (rank 0's agent could not start it)");
    nccl_summary(c, first_check, section, nr);
    /* Ranks stopped by the user did not fail: a verdict built on them is
     * not a finding (the rule of preflight nccl and check's registry). */
    for (size_t i = first_check; stopping(c) && i < pf_run_check_count(c->run); i++) {
        pf_check *jc = pf_run_check(c->run, i);
        if (pf_check_status(jc) == PF_FAIL || pf_check_status(jc) == PF_WARN) {
            char *was = pf_xstrdup(pf_check_summary(jc));
            pf_check_set(jc, PF_ERROR, "interrupted by %s while the ranks ran; not judged (%s)",
                         pf_sig_name(c->stop_sig), was);
            free(was);
        }
    }
    if (c->stop_sig)
        json_object_set_new(section, "interrupted", json_true());
    pf_run_set_section(c->run, "nccl", section);
    json_decref(ranks);
    json_decref(rd.captures);
    free(idx);
    logf_(c, "nccl: done in %.2f s", pf_now() - t);
    phase_end(c, t);
}


/* ---- the run ------------------------------------------------------------ */

/* The local address the kernel would use towards host (no packet sent). */
static void route_source(const char *host, char *out, size_t len)
{
    out[0] = 0;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    if (getaddrinfo(host, "9", &hints, &ai) != 0 || !ai)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
            inet_ntop(AF_INET, &sa.sin_addr, out, (socklen_t)len);
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
}

static int open_listener(coord *c, char *advertise, size_t alen, int *port, pf_err *err)
{
    const pf_coord_opts *o = c->o;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return pf_err_errno(err, errno, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (o->bind_addr && inet_pton(AF_INET, o->bind_addr, &sa.sin_addr) != 1) {
        close(fd);
        return pf_err_set(err, "--listen '%s' is not an IPv4 address of this machine", o->bind_addr);
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            return pf_err_set(err, "port %d is already taken on %s: pick another with --listen ADDR:PORT (or port 0)",
                              o->port, o->bind_addr ? o->bind_addr : "this machine");
        return pf_err_errno(err, e, "cannot listen on %s:%d", o->bind_addr ? o->bind_addr : "0.0.0.0", o->port);
    }
    if (listen(fd, 128) < 0) {
        int e = errno;
        close(fd);
        return pf_err_errno(err, e, "listen");
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    if (o->advertise)
        pf_strlcpy(advertise, o->advertise, alen);
    else if (o->bind_addr && strcmp(o->bind_addr, "0.0.0.0") != 0)
        pf_strlcpy(advertise, o->bind_addr, alen);
    else {
        route_source(c->nl->v[0].host, advertise, alen);
        if (!advertise[0] || strcmp(advertise, "127.0.0.1") == 0) {
            char h[256] = "localhost";
            gethostname(h, sizeof h - 1);
            if (!advertise[0])
                pf_strlcpy(advertise, h, alen);
        }
    }
    c->lfd = fd;
    return 0;
}

static void bye_all(coord *c)
{
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].st == N_JOINED) {
            send_to(c, (int)i, json_pack("{s:s}", "type", "bye"));
            c->n[i].st = N_DONE;
        }
}

/* cluster.nodes as far as the runtime knows it: who joined, who did not
 * and why.  The judge (cluster/judge.c) adds what the facts say (GPUs,
 * architectures); a join failure makes the check fail whatever it says. */
static void judge_join(coord *c)
{
    /* Nodes that failed after joining are in the record (with what they
     * sent so far), so the judge counts them as present: say it here. */
    size_t ok = 0, late = 0, nstopped = 0;
    char failed[2000] = "", late_failed[2000] = "", stopped[2000] = "";
    for (size_t i = 0; i < c->nn; i++) {
        cnode *n = &c->n[i];
        if (n->st != N_FAILED) {
            ok++;
            continue;
        }
        if (n->stopped) { /* not the node's fault: said apart, as an error */
            size_t l = strlen(stopped);
            snprintf(stopped + l, sizeof stopped - l, "%s%s %s", l ? "; " : "", n->spec->name, n->why);
            nstopped++;
            continue;
        }
        char *buf = n->rn ? late_failed : failed;
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof failed - l, "%s%s %s", l ? "; " : "", n->spec->name, n->why);
        late += n->rn != NULL;
    }
    pf_check *nc = NULL;
    for (size_t i = 0; i < pf_run_check_count(c->run); i++) {
        pf_check *k = pf_run_check(c->run, i);
        if (strcmp(pf_check_id(k), "cluster.nodes") == 0 && !pf_check_node(k))
            nc = k;
    }
    if (nstopped && !*failed && !*late_failed) {
        /* Every node missing from the results is missing because the user
         * stopped the run: that is not a finding about the cluster. */
        char *prev = nc ? pf_xstrdup(pf_check_summary(nc)) : NULL;
        if (!nc)
            nc = pf_check_add(c->run, NULL, "cluster.nodes");
        pf_check_set(nc, PF_ERROR, "not judged: %s stopped the run (%s)%s%s", pf_sig_name(c->stop_sig), stopped,
                     prev ? "; before that: " : "", prev ? prev : "");
        pf_check_remedy(nc, "run again and let it finish; the nodes' results so far are kept in this record");
        free(prev);
        return;
    }
    if (nc && !late)
        return; /* the judge named the nodes that never joined */
    if (!nc) {
        nc = pf_check_add(c->run, NULL, "cluster.nodes");
        if (ok == c->nn) {
            char list[1200] = "";
            for (size_t i = 0; i < c->nn; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s (%s)", i ? ", " : "", c->n[i].spec->name,
                         c->n[i].machine[0] ? c->n[i].machine : "?");
            }
            pf_check_set(nc, PF_PASS, "all %zu nodes joined: %s", c->nn, list);
            return;
        }
        pf_check_set(nc, PF_FAIL, "%zu of %zu nodes completed the run: %s%s%s", ok, c->nn, failed,
                     *failed && *late_failed ? "; " : "", late_failed);
    } else {
        char *prev = pf_xstrdup(pf_check_summary(nc));
        pf_check_set(nc, PF_FAIL, "%zu of %zu nodes completed the run: %s (%s)", ok, c->nn, late_failed, prev);
        free(prev);
    }
    pf_check_remedy(nc, "fix the named nodes (the reason is the launcher's or the agent's own words) and run "
                        "again; the results of the other nodes are kept in this record");
}

static json_t *cluster_section(coord *c, const char *advertise, int port, const char *launcher)
{
    json_t *nodes = json_array(), *expected = json_array(), *join_errors = json_object();
    for (size_t i = 0; i < c->nn; i++) {
        cnode *n = &c->n[i];
        json_array_append_new(expected, json_string(n->spec->name));
        json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "name", n->spec->name, "host", n->spec->host, "stage",
                              n->spec->stage, "state", n->st == N_FAILED ? "failed" : "joined");
        if (n->st == N_FAILED) {
            json_object_set_new(o, "why", json_string(n->why));
            json_object_set_new(join_errors, n->spec->name, json_string(n->why));
        }
        if (n->joined_at > 0)
            json_object_set_new(o, "joined_at_s", json_real(n->joined_at));
        if (n->peer_ip[0])
            json_object_set_new(o, "control_address", json_string(n->peer_ip));
        if (n->machine[0])
            json_object_set_new(o, "machine", json_string(n->machine));
        if (n->hostname[0])
            json_object_set_new(o, "hostname", json_string(n->hostname));
        if (n->version[0])
            json_object_set_new(o, "agent_version", json_string(n->version));
        json_array_append_new(nodes, o);
    }
    return json_pack("{s:s,s:s,s:i,s:s,s:o,s:o,s:o,s:O,s:O,s:I}", "launcher", launcher, "coordinator", advertise,
                     "port", port, "node_source", c->nl->source ? c->nl->source : "", "expected", expected,
                     "join_errors", join_errors, "nodes", nodes, "phases", c->phases, "refused", c->refused,
                     "refused_total", (json_int_t)c->nrefused);
}

/* The pair-test results as the judge reads them (cluster/judge.h). */
static json_t *pairs_section(coord *c, json_t *probes)
{
    json_t *listen = json_object();
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].listen)
            json_object_set(listen, c->n[i].spec->name, c->n[i].listen);
    return json_pack("{s:o,s:O}", "listen", listen, "probes", probes);
}

int pf_coord_run(pf_run *run, const pf_nodelist *nl, const pf_launcher_vt *vt, pf_launcher_cfg *lc,
                 const pf_coord_opts *o, pf_err *err)
{
    coord c = {.o = o, .run = run, .nl = nl, .lfd = -1, .t0 = pf_now(), .phase = "start"};
    if (nl->n == 0)
        return pf_err_set(err, "no nodes to check");
    if (pf_auth_random(c.key, sizeof c.key, err) < 0)
        return -1;
    char advertise[256];
    int port = 0;
    if (open_listener(&c, advertise, sizeof advertise, &port, err) < 0)
        return -1;
    char join[300], secret[2 * PF_AUTH_KEY_LEN + 1];
    snprintf(join, sizeof join, strchr(advertise, ':') ? "[%s]:%d" : "%s:%d", advertise, port);
    pf_auth_hex(c.key, sizeof c.key, secret);
    if (o->secret_file) {
        int fd = open(o->secret_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, secret, strlen(secret)) < 0 || write(fd, "\n", 1) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            close(c.lfd);
            return pf_err_errno(err, e, "cannot write the secret file %s", o->secret_file);
        }
        fchmod(fd, 0600);
        close(fd);
    }
    lc->join = join;
    c.join = join;
    lc->secret_hex = secret;
    lc->nodes = nl;
    lc->secret_file = o->secret_file;

    c.nn = nl->n;
    c.n = pf_xcalloc(c.nn, sizeof *c.n);
    for (size_t i = 0; i < c.nn; i++) {
        c.n[i].spec = &nl->v[i];
        c.n[i].conn = -1;
    }
    c.refused = json_array();
    c.phases = json_array();
    c.next_ping = pf_now() + o->keepalive_s;
    logf_(&c, "coordinator on %s, %zu nodes, launcher %s", join, c.nn, vt->name);

    int rc = 0;
    if (pf_sig_count() > 0) { /* stopped before anything was launched */
        stopping(&c);
        pf_run_set_incomplete(run, "interrupted by %s before the agents were launched", pf_sig_name(c.stop_sig));
        memset(secret, 0, sizeof secret);
        close(c.lfd);
        free(c.n);
        json_decref(c.refused);
        json_decref(c.phases);
        return 0;
    }
    c.launch = pf_launcher_start(vt, lc, err);
    /* The secret is not needed past the launch: wipe our copies. */
    memset(secret, 0, sizeof secret);
    lc->secret_hex = NULL;
    if (!c.launch) {
        rc = -1;
    } else {
        json_t *probes = json_array();
        c.eager_checks = true;
        phase_join(&c);
        c.eager_checks = false;
        if (!stopping(&c))
            phase_checks(&c);
        if (o->pairs && !stopping(&c)) {
            phase_listen(&c);
            phase_pairs(&c, probes);
        }
        if (!stopping(&c))
            phase_nccl(&c);
        bye_all(&c);
        pf_run_set_section(run, "cluster", cluster_section(&c, advertise, port, vt->name));
        if (o->pairs)
            pf_run_set_section(run, "pairs", pairs_section(&c, probes));
        json_decref(probes);
        double t = pf_now();
        c.phase = "judge";
        pf_cluster_judge_opts jo;
        memset(&jo, 0, sizeof jo);
        pf_cluster_judge(run, &jo);
        judge_join(&c);
        phase_end(&c, t);
        if (c.stop_sig)
            pf_run_set_incomplete(run, "interrupted by %s during the %s phase: the agents were stopped; the record "
                                       "holds what the nodes reported before",
                                  pf_sig_name(c.stop_sig), c.stop_phase);
        /* Give the agents a moment to read bye and exit by themselves
         * before their launchers are stopped (not after a signal: the
         * user asked to stop, and a busy agent would not read bye). */
        double end = c.stop_sig ? 0 : pf_now() + 2;
        bool any = true;
        while (any && pf_now() < end) {
            pf_launcher_service(c.launch);
            any = false;
            for (size_t i = 0; i < c.nn; i++) {
                char why[8];
                if (c.n[i].st == N_DONE && !pf_launcher_node_ended(c.launch, (int)i, why, sizeof why) &&
                    strcmp(vt->name, "manual") != 0)
                    any = true;
            }
            if (any)
                usleep(10000);
        }
    }
    for (size_t i = 0; i < c.nconns; i++)
        conn_close(&c, i);
    pf_launcher_stop(c.launch, 1.0);
    pf_launcher_free(c.launch);
    close(c.lfd);
    for (size_t i = 0; i < c.nn; i++) {
        json_decref(c.n[i].reply);
        json_decref(c.n[i].listen);
    }
    free(c.n);
    free(c.conns);
    json_decref(c.refused);
    json_decref(c.phases);
    memset(c.key, 0, sizeof c.key);
    return rc;
}

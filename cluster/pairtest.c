/* pairtest.c -- listener and probe dispatcher of the pair tests (see
 * pairtest.h for the JSON and wire formats).
 *
 * The listener is deliberately dumb: it accepts, reads a 4-byte tag, and
 * either counts bytes (bandwidth), answers its name (gloo) or closes (reach,
 * ports).  It never interprets anything else a peer sends, and every read
 * has a timeout, so a stranger that connects and stays silent costs one
 * connection slot for at most PF_PAIR_TAG_TIMEOUT_S.
 */
#include "cluster/pairtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/bandwidth.h"
#include "cluster/gloomesh.h"
#include "cluster/mtu.h"
#include "cluster/reach.h"

#define PF_PAIR_TAG_TIMEOUT_S 2
#define PF_PAIR_BULK_TIMEOUT_S 30 /* a bandwidth stream silent this long is dropped */
#define PF_PAIR_MAX_SOCKS (2 * PF_PAIR_MAX_ADDRS + PF_PAIR_MAX_PORTS + 1)

enum sock_kind { SK_TCP, SK_UDP };

typedef struct conn {
    pthread_t thr;
    int fd;
    atomic_bool done;
    bool used;
    struct pf_pair_listener *owner;
} conn;

struct pf_pair_listener {
    pthread_t thr;
    bool thr_started;
    int wake[2];
    atomic_bool stop;
    char node[PF_PAIR_NAME_LEN];
    size_t nsock;
    int fds[PF_PAIR_MAX_SOCKS];
    enum sock_kind kinds[PF_PAIR_MAX_SOCKS];
    pthread_mutex_t mu; /* guards conns[] */
    conn conns[PF_PAIR_MAX_CONN];
};

/* ---- small socket helpers ------------------------------------------------ */

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t w = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        put += (size_t)w;
    }
    return 0;
}

static void set_rcvtimeo(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Bind a socket of `type` to addr:port; returns the fd or -1 with err. */
static int bind_on(const char *addr, int port, int type, int *bound_port, pf_err *err)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (pf_reach_sockaddr(addr, port, &ss, &sl, err) != 0)
        return -1;
    int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pf_err_errno(err, errno, "socket for %s", addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return pf_err_errno(err, e, "bind %s port %d", addr, port);
    }
    if (type == SOCK_STREAM && listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        return pf_err_errno(err, e, "listen on %s port %d", addr, port);
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(fd, (struct sockaddr *)&got, &gl);
    *bound_port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                 : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

/* ---- listener: connection threads --------------------------------------- */

static void *conn_main(void *arg)
{
    conn *c = arg;
    int fd = c->fd;
    char tag[PF_PAIR_TAG_LEN];
    set_rcvtimeo(fd, PF_PAIR_TAG_TIMEOUT_S);
    if (read_full(fd, tag, sizeof tag) == 0) {
        if (memcmp(tag, "PFB2", 4) == 0) {
            set_rcvtimeo(fd, PF_PAIR_BULK_TIMEOUT_S);
            (void)pf_bw_serve(fd);
        } else if (memcmp(tag, "PFG1", 4) == 0) {
            uint8_t seq[8];
            if (read_full(fd, seq, sizeof seq) == 0) {
                char out[PF_PAIR_TAG_LEN + PF_PAIR_NAME_LEN] = "PFG1";
                memcpy(out + 4, c->owner->node, PF_PAIR_NAME_LEN);
                (void)write_full(fd, out, sizeof out);
            }
        }
    }
    shutdown(fd, SHUT_WR);
    atomic_store(&c->done, true);
    return NULL; /* the fd is closed by whoever joins this thread */
}

/* Join finished connection threads (all of them when `all`). */
static void reap(pf_pair_listener *l, bool all)
{
    for (size_t i = 0; i < PF_PAIR_MAX_CONN; i++) {
        pthread_mutex_lock(&l->mu);
        conn *c = &l->conns[i];
        bool take = c->used && (all || atomic_load(&c->done));
        if (take && all)
            shutdown(c->fd, SHUT_RDWR); /* wakes a blocked recv at once */
        pthread_mutex_unlock(&l->mu);
        if (!take)
            continue;
        pthread_join(c->thr, NULL);
        close(c->fd);
        pthread_mutex_lock(&l->mu);
        c->used = false;
        pthread_mutex_unlock(&l->mu);
    }
}

static void accept_one(pf_pair_listener *l, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    reap(l, false);
    pthread_mutex_lock(&l->mu);
    conn *slot = NULL;
    for (size_t i = 0; i < PF_PAIR_MAX_CONN && !slot; i++)
        if (!l->conns[i].used)
            slot = &l->conns[i];
    if (slot) {
        slot->fd = fd;
        slot->owner = l;
        atomic_store(&slot->done, false);
        if (pthread_create(&slot->thr, NULL, conn_main, slot) == 0)
            slot->used = true;
        else
            slot = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    if (!slot)
        close(fd); /* every slot busy: the peer sees a closed connection */
}

static void echo_one(int fd)
{
    static const size_t cap = 65536;
    char *buf = pf_xmalloc(cap);
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n >= 4 && memcmp(buf, "PFM1", 4) == 0)
        (void)sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
    free(buf);
}

static void *serve_main(void *arg)
{
    pf_pair_listener *l = arg;
    struct pollfd p[PF_PAIR_MAX_SOCKS + 1];
    while (!atomic_load(&l->stop)) {
        p[0] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
        for (size_t i = 0; i < l->nsock; i++)
            p[i + 1] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
        int n = poll(p, l->nsock + 1, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0) {
            reap(l, false);
            continue;
        }
        if (p[0].revents)
            break;
        for (size_t i = 0; i < l->nsock; i++) {
            if (!(p[i + 1].revents & POLLIN))
                continue;
            if (l->kinds[i] == SK_TCP)
                accept_one(l, l->fds[i]);
            else
                echo_one(l->fds[i]);
        }
    }
    return NULL;
}

/* ---- listener: set-up ---------------------------------------------------- */

static bool wants(const json_t *tests, const char *name)
{
    if (!json_is_array(tests))
        return true; /* no list: everything */
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
        if (json_is_string(t) && strcmp(json_string_value(t), name) == 0)
            return true;
    return false;
}

static int add_sock(pf_pair_listener *l, int fd, enum sock_kind k)
{
    if (l->nsock >= PF_PAIR_MAX_SOCKS) {
        close(fd);
        return -1;
    }
    l->fds[l->nsock] = fd;
    l->kinds[l->nsock++] = k;
    return 0;
}

static void listener_free(pf_pair_listener *l)
{
    for (size_t i = 0; i < l->nsock; i++)
        close(l->fds[i]);
    close(l->wake[0]);
    close(l->wake[1]);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

pf_pair_listener *pf_pair_listen(const json_t *req, json_t **reply, pf_err *err)
{
    *reply = NULL;
    json_t *addrs = json_object_get(req, "addresses");
    if (!json_is_array(addrs) || json_array_size(addrs) == 0) {
        pf_err_set(err, "pair listen request: \"addresses\" must be a non-empty array");
        return NULL;
    }
    if (json_array_size(addrs) > PF_PAIR_MAX_ADDRS) {
        pf_err_set(err, "pair listen request: %zu addresses, at most %d", json_array_size(addrs),
                   PF_PAIR_MAX_ADDRS);
        return NULL;
    }
    json_t *ports = json_object_get(req, "ports");
    if (ports && (!json_is_array(ports) || json_array_size(ports) > PF_PAIR_MAX_PORTS)) {
        pf_err_set(err, "pair listen request: \"ports\" must be an array of at most %d ports",
                   PF_PAIR_MAX_PORTS);
        return NULL;
    }
    json_t *tests = json_object_get(req, "tests");
    pf_pair_listener *l = pf_xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    if (pipe2(l->wake, O_CLOEXEC) != 0) {
        pf_err_errno(err, errno, "pipe for the pair listener");
        l->wake[0] = l->wake[1] = -1;
        listener_free(l);
        return NULL;
    }
    const char *node = json_string_value(json_object_get(req, "node"));
    pf_strlcpy(l->node, node ? node : "", sizeof l->node);

    json_t *out = json_object();
    json_t *eps = json_array(), *errs = json_array();
    json_object_set_new(out, "node", json_string(l->node));
    size_t i;
    json_t *a;
    json_array_foreach(addrs, i, a) {
        const char *addr = json_string_value(a);
        pf_err e = {{0}};
        int tport = 0, uport = 0;
        int tfd = addr ? bind_on(addr, 0, SOCK_STREAM, &tport, &e) : -1;
        int ufd = -1;
        if (!addr)
            pf_err_set(&e, "addresses[%zu] is not a string", i);
        if (tfd >= 0 && wants(tests, "mtu")) {
            ufd = bind_on(addr, 0, SOCK_DGRAM, &uport, &e);
            if (ufd < 0) {
                close(tfd);
                tfd = -1;
            }
        }
        if (tfd < 0) {
            json_array_append_new(errs, json_pack("{s:s?,s:s}", "addr", addr, "error", e.msg));
            continue;
        }
        add_sock(l, tfd, SK_TCP);
        if (ufd >= 0)
            add_sock(l, ufd, SK_UDP);
        char ifn[64];
        int mtu, speed;
        pf_reach_local_iface(addr, ifn, sizeof ifn, &mtu, &speed);
        json_t *ep = json_pack("{s:s,s:i}", "addr", addr, "tcp", tport);
        if (ufd >= 0)
            json_object_set_new(ep, "udp", json_integer(uport));
        if (ifn[0])
            json_object_set_new(ep, "ifname", json_string(ifn));
        if (mtu > 0)
            json_object_set_new(ep, "mtu", json_integer(mtu));
        if (speed > 0)
            json_object_set_new(ep, "speed_mbps", json_integer(speed));
        json_array_append_new(eps, ep);
    }
    json_object_set_new(out, "endpoints", eps);
    json_object_set_new(out, "errors", errs);

    if (ports && wants(tests, "ports")) {
        json_t *pst = json_array(), *p;
        json_array_foreach(ports, i, p) {
            json_int_t port = json_integer_value(p);
            if (!json_is_integer(p) || port < 1 || port > 65535) {
                json_array_append_new(pst, json_pack("{s:O,s:s,s:s}", "port", p, "state", "error",
                                                     "error", "not a port number 1-65535"));
                continue;
            }
            pf_err e = {{0}};
            int bp;
            int fd = bind_on("0.0.0.0", (int)port, SOCK_STREAM, &bp, &e);
            if (fd >= 0) {
                add_sock(l, fd, SK_TCP);
                json_array_append_new(pst, json_pack("{s:I,s:s}", "port", port, "state", "listening"));
            } else if (errno == EADDRINUSE) {
                json_array_append_new(pst, json_pack("{s:I,s:s}", "port", port, "state", "in_use"));
            } else {
                json_array_append_new(pst, json_pack("{s:I,s:s,s:s}", "port", port, "state", "error",
                                                     "error", e.msg));
            }
        }
        json_object_set_new(out, "ports", pst);
    }

    const char *gaddr = json_string_value(json_object_get(req, "gloo_address"));
    if (gaddr && wants(tests, "gloo")) {
        pf_err e = {{0}};
        int gp;
        int fd = bind_on(gaddr, 0, SOCK_STREAM, &gp, &e);
        if (fd >= 0) {
            add_sock(l, fd, SK_TCP);
            json_object_set_new(out, "gloo", json_pack("{s:s,s:i}", "addr", gaddr, "port", gp));
        } else {
            json_object_set_new(out, "gloo", json_pack("{s:s,s:s}", "addr", gaddr, "error", e.msg));
        }
    }

    if (json_array_size(eps) == 0) {
        pf_err_set(err, "pair listener: no address could be bound (first: %s)",
                   json_string_value(json_object_get(json_array_get(errs, 0), "error")));
        json_decref(out);
        listener_free(l);
        return NULL;
    }
    if (pthread_create(&l->thr, NULL, serve_main, l) != 0) {
        pf_err_set(err, "pair listener: cannot start its thread");
        json_decref(out);
        listener_free(l);
        return NULL;
    }
    l->thr_started = true;
    *reply = out;
    return l;
}

void pf_pair_listener_close(pf_pair_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    if (l->thr_started) {
        (void)!write(l->wake[1], "x", 1);
        pthread_join(l->thr, NULL);
    }
    reap(l, true);
    listener_free(l);
}

/* ---- probe ---------------------------------------------------------------- */

static double clamp_left(double t_end, double want)
{
    double left = t_end - pf_now();
    return left < want ? left : want;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One address: up to `connects` connects, stopping at the first failure. */
static json_t *reach_one(const char *addr, int port, int connects, double ctimeout, double t_end)
{
    json_t *o = json_pack("{s:s,s:i}", "addr", addr, "port", port);
    double rtts[16];
    int nok = 0;
    pf_reach_result r = {0};
    if (connects < 1)
        connects = 1;
    if (connects > 16)
        connects = 16;
    for (int k = 0; k < connects; k++) {
        double t = clamp_left(t_end, ctimeout);
        if (t <= 0.01) {
            if (nok == 0) {
                json_object_set_new(o, "result", json_string("error"));
                json_object_set_new(o, "error",
                                    json_string("the probe's deadline passed before this connect"));
                return o;
            }
            break;
        }
        pf_err e = {{0}};
        if (pf_reach_connect(addr, port, t, &r, NULL, &e) != 0) {
            json_object_set_new(o, "result", json_string("error"));
            json_object_set_new(o, "error", json_string(e.msg));
            return o;
        }
        if (r.cls != PF_REACH_OK)
            break;
        rtts[nok++] = r.rtt_ms;
        json_object_set_new(o, "src", json_string(r.src));
    }
    if (nok == 0 || r.cls != PF_REACH_OK) {
        json_object_set_new(o, "result", json_string(pf_reach_class_name(r.cls)));
        json_object_set_new(o, "errno", json_integer(r.err));
        json_object_set_new(o, "error", json_string(r.cls == PF_REACH_FILTERED
                                                        ? "no answer before the deadline"
                                                        : strerror(r.err)));
        if (r.cls == PF_REACH_FILTERED)
            json_object_set_new(o, "waited_s", json_real(clamp_left(1e18, ctimeout)));
    } else {
        json_object_set_new(o, "result", json_string("ok"));
    }
    if (nok > 0) {
        qsort(rtts, (size_t)nok, sizeof rtts[0], cmp_double);
        json_object_set_new(o, "rtt_ms", json_pack("{s:f,s:f}", "min", rtts[0], "median",
                                                   rtts[nok / 2]));
        json_object_set_new(o, "connects", json_integer(nok));
    }
    /* The local interface the kernel used (or would use) towards the peer. */
    char src[64], ifn[64];
    int mtu, speed;
    pf_reach_source_for(addr, src, sizeof src);
    if (src[0]) {
        if (!json_object_get(o, "src"))
            json_object_set_new(o, "src", json_string(src));
        if (pf_reach_local_iface(src, ifn, sizeof ifn, &mtu, &speed) == 0)
            json_object_set_new(o, "ifname", json_string(ifn));
    }
    return o;
}

static double num(const json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

json_t *pf_pair_probe(const json_t *req, pf_err *err)
{
    double t0 = pf_now();
    if (!json_is_object(req)) {
        pf_err_set(err, "pair probe request is not a JSON object");
        return NULL;
    }
    json_t *eps = json_object_get(req, "endpoints");
    if (!json_is_array(eps) || json_array_size(eps) > PF_PAIR_MAX_ADDRS) {
        pf_err_set(err, "pair probe request: \"endpoints\" must be an array of at most %d",
                   PF_PAIR_MAX_ADDRS);
        return NULL;
    }
    size_t i;
    json_t *ep;
    json_array_foreach(eps, i, ep) {
        json_int_t tp = json_integer_value(json_object_get(ep, "tcp"));
        if (!json_is_string(json_object_get(ep, "addr")) || tp < 1 || tp > 65535) {
            pf_err_set(err, "pair probe request: endpoints[%zu] needs \"addr\" and a \"tcp\" port", i);
            return NULL;
        }
    }
    json_t *tests = json_object_get(req, "tests");
    double deadline = num(req, "deadline_s", 10);
    if (deadline <= 0 || deadline > 600) {
        pf_err_set(err, "pair probe request: deadline_s %.1f out of range (0, 600]", deadline);
        return NULL;
    }
    double t_end = t0 + deadline;
    double ctimeout = num(req, "connect_timeout_s", 1.0);
    int connects = (int)num(req, "connects", 3);

    json_t *out = json_object();
    json_object_set(out, "node", json_object_get(req, "node") ? json_object_get(req, "node") : json_null());
    json_object_set(out, "peer", json_object_get(req, "peer") ? json_object_get(req, "peer") : json_null());

    if (wants(tests, "reach")) {
        json_t *arr = json_array();
        json_array_foreach(eps, i, ep)
            json_array_append_new(arr, reach_one(json_string_value(json_object_get(ep, "addr")),
                                                 (int)json_integer_value(json_object_get(ep, "tcp")),
                                                 connects, ctimeout, t_end));
        json_object_set_new(out, "reach", arr);
    }
    json_t *ports = json_object_get(req, "ports");
    if (wants(tests, "ports") && json_is_array(ports)) {
        json_t *arr = json_array(), *p;
        const char *dflt = json_string_value(json_object_get(json_array_get(eps, 0), "addr"));
        json_array_foreach(ports, i, p) {
            if (i >= PF_PAIR_MAX_PORTS)
                break;
            const char *addr = json_string_value(json_object_get(p, "addr"));
            json_t *r = reach_one(addr ? addr : dflt ? dflt : "",
                                  (int)json_integer_value(json_object_get(p, "port")), 1, ctimeout, t_end);
            if (json_object_get(p, "name"))
                json_object_set(r, "name", json_object_get(p, "name"));
            json_array_append_new(arr, r);
        }
        json_object_set_new(out, "ports", arr);
    }
    if (wants(tests, "mtu") && json_array_size(eps) > 0) {
        json_t *arr = json_array();
        json_array_foreach(eps, i, ep)
            json_array_append_new(arr, pf_mtu_probe(ep, clamp_left(t_end, num(req, "mtu_timeout_s", 1.0))));
        json_object_set_new(out, "mtu", arr);
    }
    if (wants(tests, "gloo") && json_object_get(req, "gloo"))
        json_object_set_new(out, "gloo", pf_gloo_mesh_probe(json_object_get(req, "gloo"),
                                                            clamp_left(t_end, ctimeout)));
    if (wants(tests, "bandwidth") && json_array_size(eps) > 0) {
        json_t *bw = json_object_get(req, "bandwidth");
        json_object_set_new(out, "bandwidth", pf_bw_probe(bw, eps, t_end));
    }
    json_object_set_new(out, "elapsed_s", json_real(pf_now() - t0));
    return out;
}

/* ---- request builders ------------------------------------------------------ */

json_t *pf_pair_listen_request(const char *node, const json_t *facts, const json_t *ports)
{
    json_t *addrs = json_array();
    size_t i, k;
    json_t *itf, *a;
    json_array_foreach(json_object_get(facts, "interfaces"), i, itf) {
        const char *kind = json_string_value(json_object_get(itf, "kind"));
        if (!json_is_true(json_object_get(itf, "running")) || (kind && !strcmp(kind, "loopback")))
            continue;
        json_array_foreach(json_object_get(itf, "addresses"), k, a) {
            if (json_is_true(json_object_get(a, "link_local")) || json_is_true(json_object_get(a, "loopback")))
                continue;
            const char *ip = json_string_value(json_object_get(a, "address"));
            if (ip && json_array_size(addrs) < PF_PAIR_MAX_ADDRS)
                json_array_append_new(addrs, json_string(ip));
        }
    }
    json_t *req = json_pack("{s:s,s:o}", "node", node ? node : "", "addresses", addrs);
    const json_t *g = json_array_get(json_object_get(json_object_get(facts, "gloo"), "devices"), 0);
    if (json_is_string(json_object_get(g, "address")))
        json_object_set(req, "gloo_address", json_object_get(g, "address"));
    if (json_is_array(ports))
        json_object_set_new(req, "ports", json_deep_copy(ports));
    return req;
}

json_t *pf_pair_probe_request(const char *node, const json_t *self_facts, const char *peer,
                              const json_t *reply, const json_t *opts)
{
    const json_t *eps = json_object_get(reply, "endpoints");
    json_t *req = json_pack("{s:s,s:s,s:o}", "node", node ? node : "", "peer", peer ? peer : "", "endpoints",
                            json_is_array(eps) ? json_deep_copy(eps) : json_array());
    const json_t *g = json_array_get(json_object_get(json_object_get(self_facts, "gloo"), "devices"), 0);
    const json_t *pg = json_object_get(reply, "gloo");
    if (json_is_string(json_object_get(g, "address")) && pg)
        json_object_set_new(req, "gloo", json_pack("{s:O,s:O,s:s}", "self", json_object_get(g, "address"), "peer", pg,
                                                   "peer_node", peer ? peer : ""));
    if (json_is_object(opts))
        json_object_update(req, (json_t *)opts);
    return req;
}

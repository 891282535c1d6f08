/* gloomesh.c -- Gloo's pair handshake, one direction (gloomesh.h). */
#include "cluster/gloomesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/pairtest.h"
#include "cluster/reach.h"
#include "core/util.h"

/* Compare two advertised addresses the way Gloo's Device::isInitiator
 * orders them: family, then IP bytes (network order), then the port field
 * as stored (network order). */
static int cmp_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return a->ss_family < b->ss_family ? -1 : 1;
    int c;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        c = memcmp(&x->sin_addr, &y->sin_addr, 4);
        if (!c)
            c = memcmp(&x->sin_port, &y->sin_port, 2);
    } else {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        c = memcmp(&x->sin6_addr, &y->sin6_addr, 16);
        if (!c)
            c = memcmp(&x->sin6_port, &y->sin6_port, 2);
    }
    return c;
}

bool pf_gloo_mesh_initiates(const char *a, int aport, const char *b, int bport)
{
    struct sockaddr_storage x, y;
    socklen_t l;
    if (pf_reach_sockaddr(a, aport, &x, &l, NULL) != 0 || pf_reach_sockaddr(b, bport, &y, &l, NULL) != 0)
        return false;
    return cmp_addr(&x, &y) > 0;
}

bool pf_gloo_mesh_is_loopback(const char *addr)
{
    struct sockaddr_storage x;
    socklen_t l;
    if (!addr || pf_reach_sockaddr(addr, 0, &x, &l, NULL) != 0)
        return false;
    if (x.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&x)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&x)->sin6_addr);
}

static json_t *handshake(const char *addr, int port, double timeout_s, json_t *out)
{
    /* Gloo's connector: retry at once on error, at most 3 tries, within the timeout. */
    double t_end = pf_now() + timeout_s;
    pf_reach_result r = {0};
    int fd = -1, tries = 0;
    while (tries < 3 && pf_now() < t_end) {
        tries++;
        pf_err err = {{0}};
        if (pf_reach_connect(addr, port, t_end - pf_now(), &r, &fd, &err) != 0) {
            json_object_set_new(out, "result", json_string("error"));
            json_object_set_new(out, "error", json_string(err.msg));
            return out;
        }
        if (r.cls == PF_REACH_OK)
            break;
    }
    json_object_set_new(out, "tries", json_integer(tries));
    if (fd < 0) {
        json_object_set_new(out, "result", json_string(pf_reach_class_name(r.cls)));
        json_object_set_new(out, "errno", json_integer(r.err));
        json_object_set_new(out, "error", json_string(r.cls == PF_REACH_FILTERED
                                                          ? "no answer before the deadline"
                                                          : strerror(r.err)));
        return out;
    }
    json_object_set_new(out, "rtt_ms", json_real(r.rtt_ms));
    double left = t_end - pf_now();
    struct timeval tv = {.tv_sec = left > 1 ? (time_t)left : 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char msg[4 + 8] = "PFG1";
    char rep[PF_PAIR_TAG_LEN + PF_PAIR_NAME_LEN];
    size_t got = 0;
    if (send(fd, msg, sizeof msg, MSG_NOSIGNAL) == (ssize_t)sizeof msg) {
        while (got < sizeof rep) {
            ssize_t n = recv(fd, rep + got, sizeof rep - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    close(fd);
    if (got != sizeof rep || memcmp(rep, "PFG1", 4) != 0) {
        /* Something accepted the connection but it is not a preflight
         * listener: whatever owns that port on the connector's side. */
        json_object_set_new(out, "result", json_string("wrong_node"));
        json_object_set_new(out, "error", json_string("connected, but what answered is not the peer's "
                                                      "Gloo test listener"));
        return out;
    }
    char name[PF_PAIR_NAME_LEN + 1];
    memcpy(name, rep + 4, PF_PAIR_NAME_LEN);
    name[PF_PAIR_NAME_LEN] = '\0';
    json_object_set_new(out, "reached_node", json_string(name));
    json_object_set_new(out, "result", json_string("ok"));
    return out;
}

json_t *pf_gloo_mesh_probe(const json_t *g, double timeout_s)
{
    const char *self = json_string_value(json_object_get(g, "self"));
    int self_port = (int)json_integer_value(json_object_get(g, "self_port"));
    const json_t *peer = json_object_get(g, "peer");
    const char *paddr = json_string_value(json_object_get(peer, "addr"));
    int pport = (int)json_integer_value(json_object_get(peer, "port"));
    const char *pnode = json_string_value(json_object_get(g, "peer_node"));
    json_t *out = json_pack("{s:s?,s:s?,s:i}", "self", self, "peer", paddr, "peer_port", pport);
    json_object_set_new(out, "self_loopback", json_boolean(pf_gloo_mesh_is_loopback(self)));
    json_object_set_new(out, "peer_loopback", json_boolean(pf_gloo_mesh_is_loopback(paddr)));
    const char *perr = json_string_value(json_object_get(peer, "error"));
    if (!self || !paddr || perr || pport < 1 || pport > 65535) {
        json_object_set_new(out, "result", json_string("error"));
        json_object_set_new(out, "error",
                            json_string(perr ? perr : "the request lacks this node's or the peer's Gloo address"));
        return out;
    }
    if (!pf_gloo_mesh_initiates(self, self_port, paddr, pport)) {
        json_object_set_new(out, "role", json_string("accept"));
        json_object_set_new(out, "result", json_string("peer_connects"));
        return out;
    }
    json_object_set_new(out, "role", json_string("connect"));
    handshake(paddr, pport, timeout_s, out);
    const char *reached = json_string_value(json_object_get(out, "reached_node"));
    if (reached && pnode && strcmp(reached, pnode) != 0) {
        json_object_set_new(out, "result", json_string("wrong_node"));
        json_object_set_new(out, "error", json_string("the address the peer advertises led to another node"));
    }
    return out;
}

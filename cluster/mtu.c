/* mtu.c -- DF UDP probes echoed by the peer (mtu.h). */
#include "cluster/mtu.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/reach.h"
#include "core/util.h"

int pf_mtu_sizes(int local_mtu, int peer_mtu, int sizes[PF_MTU_MAX_SIZES])
{
    int cand[] = {local_mtu, peer_mtu, 9000, 1500, 1280};
    int n = 0;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        int c = cand[i];
        if (c < 1280 || c > 65535)
            continue;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup |= sizes[k] == c;
        if (!dup && n < PF_MTU_MAX_SIZES)
            sizes[n++] = c;
    }
    /* largest first (insertion sort; n <= 5) */
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && sizes[k] > sizes[k - 1]; k--) {
            int t = sizes[k];
            sizes[k] = sizes[k - 1];
            sizes[k - 1] = t;
        }
    return n;
}

json_t *pf_mtu_probe(const json_t *ep, double timeout_s)
{
    const char *addr = json_string_value(json_object_get(ep, "addr"));
    json_int_t uport = json_integer_value(json_object_get(ep, "udp"));
    json_t *out = json_pack("{s:s?}", "addr", addr);
    json_t *pm = json_object_get(ep, "mtu"), *pi = json_object_get(ep, "ifname");
    int peer_mtu = json_is_integer(pm) ? (int)json_integer_value(pm) : -1;
    json_object_set_new(out, "peer_ifname", pi ? json_copy(pi) : json_null());
    json_object_set_new(out, "peer_mtu", peer_mtu > 0 ? json_integer(peer_mtu) : json_null());

    char src[64], ifn[64] = "";
    int local_mtu = -1, speed;
    pf_reach_source_for(addr ? addr : "", src, sizeof src);
    if (src[0])
        pf_reach_local_iface(src, ifn, sizeof ifn, &local_mtu, &speed);
    json_object_set_new(out, "local_ifname", ifn[0] ? json_string(ifn) : json_null());
    json_object_set_new(out, "local_mtu", local_mtu > 0 ? json_integer(local_mtu) : json_null());

    if (!addr || uport < 1 || uport > 65535) {
        json_object_set_new(out, "error", json_string("the peer's listener has no UDP echo port"));
        return out;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    pf_err err = {{0}};
    if (pf_reach_sockaddr(addr, (int)uport, &ss, &sl, &err) != 0) {
        json_object_set_new(out, "error", json_string(err.msg));
        return out;
    }
    int v6 = ss.ss_family == AF_INET6;
    int hdr = v6 ? 48 : 28; /* IP + UDP headers */
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int probe = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
    if (fd < 0 ||
        setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
                   &probe, sizeof probe) != 0 ||
        connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        json_object_set_new(out, "error", json_string(strerror(errno)));
        if (fd >= 0)
            close(fd);
        return out;
    }
    int sizes[PF_MTU_MAX_SIZES];
    int n = pf_mtu_sizes(local_mtu, peer_mtu, sizes);
    bool echoed[PF_MTU_MAX_SIZES] = {0};
    int send_err[PF_MTU_MAX_SIZES] = {0};
    uint64_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != sizeof nonce)
        nonce = (uint64_t)(pf_now() * 1e9);
    size_t cap = 65536;
    char *buf = pf_xcalloc(1, cap), *rbuf = pf_xmalloc(cap);
    double t0 = pf_now();
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < n; k++) {
            if (echoed[k] || send_err[k])
                continue;
            size_t len = (size_t)(sizes[k] - hdr);
            memcpy(buf, "PFM1", 4);
            buf[4] = (char)k;
            memcpy(buf + 5, &nonce, sizeof nonce);
            if (send(fd, buf, len, 0) < 0)
                send_err[k] = errno; /* EMSGSIZE: above the local interface MTU */
        }
        /* First round waits a third of the time, the resend as much again;
         * the last third is for the bisection below. */
        double until = t0 + timeout_s * (round == 0 ? 0.3 : 0.6);
        for (;;) {
            bool all = true;
            for (int k = 0; k < n; k++)
                all &= echoed[k] || send_err[k];
            double left = until - pf_now();
            if (all || left <= 0)
                break;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
                continue;
            ssize_t r = recv(fd, rbuf, cap, MSG_DONTWAIT);
            if (r < 0) {
                /* ECONNREFUSED from an ICMP port unreachable: nobody echoes. */
                continue;
            }
            int k = r >= 13 ? (unsigned char)rbuf[4] : -1;
            if (k >= 0 && k < n && memcmp(rbuf, "PFM1", 4) == 0 &&
                memcmp(rbuf + 5, &nonce, sizeof nonce) == 0 && (size_t)r == (size_t)(sizes[k] - hdr))
                echoed[k] = true;
        }
        bool all = true;
        for (int k = 0; k < n; k++)
            all &= echoed[k] || send_err[k];
        if (all)
            break;
    }
    /* Bisection between the largest size echoed and the smallest lost one
     * (a hop of, say, 4000 between two 9000 ends): one size at a time, two
     * copies, a short wait -- on a LAN an echo takes well under a
     * millisecond, so a lost probe costs the wait, an echoed one nothing. */
    int lo = -1, hi = -1;
    for (int k = 0; k < n; k++) {
        if (echoed[k] && sizes[k] > lo)
            lo = sizes[k];
    }
    for (int k = 0; k < n; k++)
        if (!echoed[k] && !send_err[k] && sizes[k] > lo && (hi < 0 || sizes[k] < hi))
            hi = sizes[k];
    json_t *steps = json_array();
    double t_bis = t0 + timeout_s;
    while (lo > 0 && hi > 0 && hi - lo > 8 && pf_now() < t_bis) {
        int mid = lo + (hi - lo) / 2;
        size_t len = (size_t)(mid - hdr);
        memcpy(buf, "PFM1", 4);
        buf[4] = (char)0xB0;
        memcpy(buf + 5, &nonce, sizeof nonce);
        bool ok = false;
        for (int c = 0; c < 2; c++)
            (void)send(fd, buf, len, 0);
        double until = pf_now() + 0.05;
        if (until > t_bis)
            until = t_bis;
        for (;;) {
            double left = until - pf_now();
            if (ok || left <= 0)
                break;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
                continue;
            ssize_t r = recv(fd, rbuf, cap, MSG_DONTWAIT);
            if (r == (ssize_t)len && (unsigned char)rbuf[4] == 0xB0 && memcmp(rbuf, "PFM1", 4) == 0 &&
                memcmp(rbuf + 5, &nonce, sizeof nonce) == 0)
                ok = true;
        }
        if (pf_now() >= t_bis && !ok)
            break; /* out of time: a loss now may just be the deadline */
        json_array_append_new(steps, json_pack("{s:i,s:b}", "size", mid, "echoed", ok));
        if (ok)
            lo = mid;
        else
            hi = mid;
    }
    free(buf);
    free(rbuf);
    close(fd);
    json_t *arr = json_array();
    int best = -1;
    for (int k = 0; k < n; k++) {
        json_t *o = json_pack("{s:i,s:b}", "size", sizes[k], "echoed", echoed[k]);
        if (send_err[k])
            json_object_set_new(o, "send_error", json_string(strerror(send_err[k])));
        json_array_append_new(arr, o);
        if (echoed[k] && sizes[k] > best)
            best = sizes[k];
    }
    json_object_set_new(out, "probes", arr);
    json_object_set_new(out, "bisection", steps);
    if (lo > best)
        best = lo;
    json_object_set_new(out, "path_mtu", best > 0 ? json_integer(best) : json_null());
    /* exact to within 8 bytes, or just the largest size of the list that passed */
    json_object_set_new(out, "path_mtu_exact", json_boolean(best > 0 && (hi < 0 || hi - best <= 8)));
    if (best < 0)
        json_object_set_new(out, "error", json_string("no probe was echoed, not even 1280 bytes: "
                                                      "UDP to the peer is blocked or its listener is gone"));
    return out;
}

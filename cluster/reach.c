/* reach.c -- bounded, classified TCP connects (see reach.h). */
#include "cluster/reach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *pf_reach_class_name(pf_reach_class c)
{
    switch (c) {
    case PF_REACH_OK: return "ok";
    case PF_REACH_REFUSED: return "refused";
    case PF_REACH_FILTERED: return "filtered";
    case PF_REACH_UNREACHABLE: return "unreachable";
    case PF_REACH_ERROR: break;
    }
    return "error";
}

int pf_reach_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len,
                      pf_err *err)
{
    memset(ss, 0, sizeof *ss);
    if (!addr || !*addr)
        return pf_err_set(err, "empty address");
    if (port < 0 || port > 65535)
        return pf_err_set(err, "port %d out of range", port);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    /* fe80::1%eth0: the scope names the interface, as NCCL needs for link-local. */
    char buf[128];
    pf_strlcpy(buf, addr, sizeof buf);
    char *pct = strchr(buf, '%');
    if (pct)
        *pct++ = '\0';
    if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (pct) {
            v6->sin6_scope_id = if_nametoindex(pct);
            if (!v6->sin6_scope_id)
                return pf_err_set(err, "address %s: no interface named %s", addr, pct);
        }
        *len = sizeof *v6;
        return 0;
    }
    return pf_err_set(err, "'%s' is not a numeric IPv4 or IPv6 address", addr);
}

static void sockname(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    out[0] = '\0';
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)outlen);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)outlen);
}

static pf_reach_class classify(int e)
{
    switch (e) {
    case 0: return PF_REACH_OK;
    case ECONNREFUSED: return PF_REACH_REFUSED;
    case ETIMEDOUT: return PF_REACH_FILTERED;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL: return PF_REACH_UNREACHABLE;
    default: return PF_REACH_ERROR;
    }
}

int pf_reach_connect(const char *addr, int port, double timeout_s, pf_reach_result *r, int *fd_out,
                     pf_err *err)
{
    memset(r, 0, sizeof *r);
    if (fd_out)
        *fd_out = -1;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (pf_reach_sockaddr(addr, port, &ss, &sl, err) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r->cls = PF_REACH_ERROR;
        r->err = errno;
        return 0;
    }
    double t0 = pf_now();
    int rc = connect(fd, (struct sockaddr *)&ss, sl);
    int e = rc == 0 ? 0 : errno;
    if (rc != 0 && e == EINPROGRESS) {
        /* Wait for the handshake; poll again after EINTR with what is left. */
        e = ETIMEDOUT;
        for (;;) {
            double left = timeout_s - (pf_now() - t0);
            if (left <= 0)
                break;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n = poll(&p, 1, (int)(left * 1000.0) + 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            int soerr = 0;
            socklen_t el = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
            e = soerr;
            break;
        }
    }
    r->cls = classify(e);
    r->err = e;
    if (r->cls == PF_REACH_OK) {
        r->rtt_ms = (pf_now() - t0) * 1000.0;
        sockname(fd, r->src, sizeof r->src);
        if (fd_out) {
            int fl = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
            *fd_out = fd;
            return 0;
        }
    }
    close(fd);
    return 0;
}

void pf_reach_source_for(const char *addr, char *src, size_t srclen)
{
    src[0] = '\0';
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (pf_reach_sockaddr(addr, 9, &ss, &sl, NULL) != 0)
        return;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
        sockname(fd, src, srclen);
    close(fd);
}

int pf_reach_local_iface(const char *addr, char *name, size_t namelen, int *mtu, int *speed_mbps)
{
    struct sockaddr_storage want;
    socklen_t wl;
    name[0] = '\0';
    *mtu = -1;
    *speed_mbps = -1;
    if (pf_reach_sockaddr(addr, 0, &want, &wl, NULL) != 0)
        return -1;
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0)
        return -1;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != want.ss_family)
            continue;
        bool same;
        if (want.ss_family == AF_INET)
            same = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
                   ((struct sockaddr_in *)&want)->sin_addr.s_addr;
        else
            same = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                          &((struct sockaddr_in6 *)&want)->sin6_addr, 16) == 0;
        if (same) {
            pf_strlcpy(name, i->ifa_name, namelen);
            break;
        }
    }
    freeifaddrs(ifa);
    if (!name[0])
        return -1;
    char path[128];
    snprintf(path, sizeof path, "/sys/class/net/%s/mtu", name);
    char *s = pf_read_line(path);
    if (s) {
        *mtu = atoi(s);
        free(s);
    }
    snprintf(path, sizeof path, "/sys/class/net/%s/speed", name);
    s = pf_read_line(path); /* EINVAL on veth/Wi-Fi: stays -1 */
    if (s) {
        int v = atoi(s);
        *speed_mbps = v > 0 ? v : -1;
        free(s);
    }
    return 0;
}

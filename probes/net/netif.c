/* netif.c -- see netif.h. */
#include "probes/net/netif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "probes/net/net_verdict.h"
#include "probes/net/rdma.h"

/* ---- set management ---------------------------------------------------- */

pf_netif *pf_netif_set_add(pf_netif_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ifs[i].name, name) == 0)
            return &s->ifs[i];
    s->ifs = pf_xrealloc(s->ifs, (s->n + 1) * sizeof *s->ifs);
    pf_netif *nif = &s->ifs[s->n++];
    memset(nif, 0, sizeof *nif);
    pf_strlcpy(nif->name, name, sizeof nif->name);
    nif->carrier = -1;
    nif->speed_mbps = -1;
    nif->mtu = -1;
    nif->arphrd = -1;
    nif->kind = "virtual";
    return nif;
}

void pf_netif_set_add_addr(pf_netif_set *s, const char *name, unsigned flags, const pf_netif_addr *a)
{
    s->entries = pf_xrealloc(s->entries, (s->nentries + 1) * sizeof *s->entries);
    pf_ifaddr_entry *e = &s->entries[s->nentries++];
    memset(e, 0, sizeof *e);
    pf_strlcpy(e->name, name, sizeof e->name);
    e->flags = flags;
    e->addr = *a;
    pf_netif *nif = pf_netif_set_add(s, name);
    nif->flags = flags;
    if (nif->naddrs < PF_NETIF_MAX_ADDRS)
        nif->addrs[nif->naddrs++] = *a;
    else
        nif->addrs_dropped++;
}

void pf_netif_set_free(pf_netif_set *s)
{
    if (!s)
        return;
    free(s->ifs);
    free(s->entries);
    pf_strv_free(&s->notes);
    memset(s, 0, sizeof *s);
}

/* ---- addresses (pure) -------------------------------------------------- */

static int mask_prefix(const uint8_t *mask, int nbytes)
{
    int bits = 0;
    for (int i = 0; i < nbytes; i++) {
        uint8_t b = mask[i];
        while (b & 0x80) {
            bits++;
            b = (uint8_t)(b << 1);
        }
        if (b)
            return -1; /* not contiguous */
        if (mask[i] != 0xff)
            break;
    }
    return bits;
}

static void addr_flags(pf_netif_addr *a)
{
    if (a->family == 4) {
        a->link_local = a->bytes[0] == 169 && a->bytes[1] == 254;
        a->loopback = a->bytes[0] == 127;
    } else {
        a->link_local = a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
        static const uint8_t one[16] = {[15] = 1};
        a->loopback = memcmp(a->bytes, one, 16) == 0;
    }
}

int pf_netif_addr_parse(const char *text, pf_netif_addr *a)
{
    memset(a, 0, sizeof *a);
    a->prefix_len = -1;
    if (inet_pton(AF_INET, text, a->bytes) == 1)
        a->family = 4;
    else if (inet_pton(AF_INET6, text, a->bytes) == 1)
        a->family = 6;
    else
        return -1;
    pf_strlcpy(a->ip, text, sizeof a->ip);
    addr_flags(a);
    return 0;
}

bool pf_netif_addr_same_subnet(const pf_netif_addr *local, const pf_netif_addr *remote)
{
    if (local->family != remote->family)
        return false;
    int n = local->family == 4 ? 4 : 16;
    for (int i = 0; i < n; i++)
        if ((local->bytes[i] & local->mask[i]) != (remote->bytes[i] & local->mask[i]))
            return false;
    /* NCCL compares the scope id too: two link-local subnets on different
     * links look identical otherwise.  Global addresses carry scope 0. */
    if (local->family == 6 && local->scope_id != remote->scope_id)
        return false;
    return true;
}

static bool addr_from_sockaddr(const struct sockaddr *sa, const struct sockaddr *mask, pf_netif_addr *a)
{
    memset(a, 0, sizeof *a);
    a->prefix_len = -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        a->family = 4;
        memcpy(a->bytes, &s4->sin_addr, 4);
        if (mask && mask->sa_family == AF_INET) {
            memcpy(a->mask, &((const struct sockaddr_in *)(const void *)mask)->sin_addr, 4);
            a->prefix_len = mask_prefix(a->mask, 4);
        }
        inet_ntop(AF_INET, &s4->sin_addr, a->ip, sizeof a->ip);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        a->family = 6;
        memcpy(a->bytes, &s6->sin6_addr, 16);
        a->scope_id = s6->sin6_scope_id;
        if (mask && mask->sa_family == AF_INET6) {
            memcpy(a->mask, &((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr, 16);
            a->prefix_len = mask_prefix(a->mask, 16);
        }
        inet_ntop(AF_INET6, &s6->sin6_addr, a->ip, sizeof a->ip);
    } else {
        return false;
    }
    addr_flags(a);
    return true;
}

/* ---- sysfs ------------------------------------------------------------- */

static char *if_path(const char *root, const char *ifname, const char *attr)
{
    char *rel = attr ? pf_xasprintf("class/net/%s/%s", ifname, attr) : pf_xasprintf("class/net/%s", ifname);
    char *p = pf_path_join(root, rel);
    free(rel);
    return p;
}

static char *if_line(const char *root, const char *ifname, const char *attr)
{
    char *p = if_path(root, ifname, attr);
    char *line = pf_read_line(p);
    free(p);
    return line;
}

static bool if_exists(const char *root, const char *ifname, const char *attr)
{
    char *p = if_path(root, ifname, attr);
    struct stat st;
    bool ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

static long if_long(const char *root, const char *ifname, const char *attr, long dflt)
{
    char *line = if_line(root, ifname, attr);
    if (!line)
        return dflt;
    char *end = NULL;
    errno = 0;
    long v = strtol(line, &end, 0);
    bool ok = errno == 0 && end != line;
    free(line);
    return ok ? v : dflt;
}

static void if_link_basename(const char *root, const char *ifname, const char *attr, char *out, size_t len)
{
    char *p = if_path(root, ifname, attr);
    char buf[PATH_MAX];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    free(p);
    out[0] = '\0';
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *slash = strrchr(buf, '/');
    pf_strlcpy(out, slash ? slash + 1 : buf, len);
}

/* The driver of a software device has no sysfs link; ethtool names it
 * ("veth", "bridge", "tun", "wireguard", "dummy").  Live system only. */
static void ethtool_driver(const char *ifname, char *out, size_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct ethtool_drvinfo info;
    memset(&info, 0, sizeof info);
    info.cmd = ETHTOOL_GDRVINFO;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    pf_strlcpy(ifr.ifr_name, ifname, sizeof ifr.ifr_name);
    ifr.ifr_data = (char *)&info;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
        info.driver[sizeof info.driver - 1] = '\0';
        pf_strlcpy(out, info.driver, len);
    }
    close(fd);
}

void pf_netif_read_sysfs(const char *sysfs_root, pf_netif *nif, pf_strv *notes)
{
    const char *root = sysfs_root ? sysfs_root : "/sys";
    /* getifaddrs names an IPv4 alias by its label ("eth0:1"), and NCCL treats
     * that label as an interface of its own; its sysfs entry is the base
     * device's. */
    char name[PF_NETIF_NAME_MAX];
    pf_strlcpy(name, nif->name, sizeof name);
    char *colon = strchr(name, ':');
    if (colon)
        *colon = '\0';
    if (!if_exists(root, name, NULL)) {
        pf_strv_push_owned(notes, pf_xasprintf("%s/class/net/%s is missing (the interface vanished during the scan, "
                                               "or sysfs is not this network namespace's)", root, name));
        return;
    }
    char *line = if_line(root, name, "operstate");
    if (line) {
        pf_strlcpy(nif->operstate, line, sizeof nif->operstate);
        free(line);
    } else {
        pf_strv_push_owned(notes, pf_xasprintf("could not read %s/class/net/%s/operstate", root, name));
    }
    /* carrier and speed are refused (EINVAL) while the link is down and by
     * most virtual drivers: unknown, not a collection problem. */
    nif->carrier = (int)if_long(root, name, "carrier", -1);
    nif->speed_mbps = if_long(root, name, "speed", -1);
    if (nif->speed_mbps < 0 || nif->speed_mbps == (long)UINT32_MAX)
        nif->speed_mbps = -1;
    nif->mtu = (int)if_long(root, name, "mtu", -1);
    nif->arphrd = (int)if_long(root, name, "type", -1);
    if (nif->ifindex <= 0)
        nif->ifindex = (int)if_long(root, name, "ifindex", 0);
    line = if_line(root, name, "address");
    if (line) {
        pf_strlcpy(nif->mac, line, sizeof nif->mac);
        free(line);
    }
    nif->has_device = if_exists(root, name, "device");
    if (nif->has_device)
        if_link_basename(root, name, "device/driver", nif->driver, sizeof nif->driver);
    nif->sys_wireless = if_exists(root, name, "wireless") || if_exists(root, name, "phy80211");
    nif->sys_bridge = if_exists(root, name, "bridge");
    nif->sys_bond = if_exists(root, name, "bonding");
    nif->sys_tun = if_exists(root, name, "tun_flags");

    char *ue_path = if_path(root, name, "uevent");
    char *ue = pf_read_file(ue_path, 1 << 16, NULL, NULL);
    free(ue_path);
    if (ue) {
        for (char *save = NULL, *ln = strtok_r(ue, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
            if (pf_str_startswith(ln, "DEVTYPE="))
                pf_strlcpy(nif->devtype, ln + 8, sizeof nif->devtype);
        free(ue);
    }
    if (!nif->driver[0] && strcmp(root, "/sys") == 0)
        ethtool_driver(name, nif->driver, sizeof nif->driver);
}

void pf_netif_map_rdma(const char *sysfs_root, pf_netif_set *s, pf_strv *notes)
{
    pf_rdma_set rs;
    pf_rdma_scan(sysfs_root, &rs);
    for (size_t i = 0; i < rs.notes.n; i++)
        pf_strv_push(notes, rs.notes.v[i]);
    for (size_t d = 0; d < rs.n; d++)
        for (size_t k = 0; k < rs.v[d].netdevs.n; k++)
            for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->ifs[i].name, rs.v[d].netdevs.v[k]) == 0 && !s->ifs[i].rdma_dev[0])
                    pf_strlcpy(s->ifs[i].rdma_dev, rs.v[d].name, sizeof s->ifs[i].rdma_dev);
    pf_rdma_set_free(&rs);
}

/* ---- classification (pure) --------------------------------------------- */

static bool is_docker_bridge_name(const char *n)
{
    if (strcmp(n, "docker0") == 0 || pf_str_startswith(n, "docker"))
        return true;
    /* docker user networks: "br-" + 12 hex digits of the network id */
    if (!pf_str_startswith(n, "br-") || strlen(n) != 15)
        return false;
    for (const char *p = n + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

void pf_netif_classify(pf_netif *nif)
{
    const char *n = nif->name, *drv = nif->driver, *dt = nif->devtype;
    const char *kind;
    bool virt = true;
    if (nif->arphrd == 772 || (nif->flags & PF_IFF_LOOPBACK)) {
        kind = "loopback";
    } else if (nif->sys_wireless || strcmp(dt, "wlan") == 0) {
        kind = "wireless";
        virt = false;
    } else if (nif->arphrd == 32) {
        kind = "ipoib";
        virt = false;
    } else if (nif->sys_bridge || strcmp(dt, "bridge") == 0 || strcmp(drv, "bridge") == 0) {
        if (is_docker_bridge_name(n))
            kind = "docker";
        else if (pf_str_startswith(n, "virbr"))
            kind = "virbr";
        else if (pf_str_startswith(n, "l4tbr"))
            kind = "l4tbr";
        else
            kind = "bridge";
    } else if (strcmp(drv, "veth") == 0 || (!drv[0] && pf_str_startswith(n, "veth"))) {
        kind = "veth";
    } else if (strcmp(dt, "wireguard") == 0 || strcmp(drv, "wireguard") == 0) {
        kind = "wireguard";
    } else if (pf_str_startswith(n, "tailscale")) {
        kind = "tailscale";
    } else if (nif->sys_tun || strcmp(drv, "tun") == 0) {
        kind = "tun";
    } else if (strcmp(dt, "vlan") == 0 || strcmp(drv, "802.1Q VLAN Support") == 0) {
        kind = "vlan";
        virt = false; /* a VLAN on a real NIC is a real cluster network */
    } else if (nif->sys_bond || strcmp(dt, "bond") == 0 || strcmp(drv, "bonding") == 0) {
        kind = "bond";
        virt = false;
    } else if (strcmp(dt, "macvlan") == 0 || strcmp(drv, "macvlan") == 0) {
        kind = "macvlan";
    } else if (pf_str_startswith(n, "docker")) {
        kind = "docker";
    } else if (nif->has_device) {
        kind = "physical";
        virt = false;
    } else {
        kind = "virtual";
    }
    nif->kind = kind;
    nif->is_virtual = virt;
}

/* ---- queries ----------------------------------------------------------- */

const pf_netif *pf_netif_find(const pf_netif_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ifs[i].name, name) == 0)
            return &s->ifs[i];
    return NULL;
}

const pf_netif_addr *pf_netif_ipv4(const pf_netif *nif)
{
    for (size_t i = 0; i < nif->naddrs; i++)
        if (nif->addrs[i].family == 4 && !nif->addrs[i].link_local)
            return &nif->addrs[i];
    return NULL;
}

bool pf_netif_has_routable(const pf_netif *nif)
{
    for (size_t i = 0; i < nif->naddrs; i++)
        if (!nif->addrs[i].link_local && !nif->addrs[i].loopback)
            return true;
    return false;
}

bool pf_netif_link_local_only(const pf_netif *nif)
{
    if (nif->naddrs == 0)
        return false;
    for (size_t i = 0; i < nif->naddrs; i++)
        if (!nif->addrs[i].link_local)
            return false;
    return true;
}

/* ---- collection -------------------------------------------------------- */

int pf_netif_collect(const char *sysfs_root, pf_netif_set *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    struct ifaddrs *ifap = NULL;
    if (getifaddrs(&ifap) != 0)
        return pf_err_errno(err, errno, "getifaddrs failed");
    for (struct ifaddrs *ifa = ifap; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_name)
            continue;
        unsigned flags = ifa->ifa_flags & (PF_IFF_UP | PF_IFF_LOOPBACK | PF_IFF_RUNNING);
        pf_netif_addr a;
        if (ifa->ifa_addr && addr_from_sockaddr(ifa->ifa_addr, ifa->ifa_netmask, &a)) {
            pf_netif_set_add_addr(out, ifa->ifa_name, flags, &a);
            continue;
        }
        pf_netif *nif = pf_netif_set_add(out, ifa->ifa_name);
        nif->flags = flags;
        if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_PACKET)
            nif->ifindex = ((const struct sockaddr_ll *)(const void *)ifa->ifa_addr)->sll_ifindex;
    }
    freeifaddrs(ifap);
    for (size_t i = 0; i < out->n; i++)
        pf_netif_read_sysfs(sysfs_root, &out->ifs[i], &out->notes);
    pf_netif_map_rdma(sysfs_root, out, &out->notes);
    for (size_t i = 0; i < out->n; i++)
        pf_netif_classify(&out->ifs[i]);
    return 0;
}

/* ---- name resolution with a deadline ------------------------------------ */

int pf_netif_resolve(const char *host, double timeout_s, struct addrinfo **res, bool *timed_out)
{
    *res = NULL;
    *timed_out = false;
    /* Heap, because on timeout the resolver thread may still use them. */
    struct addrinfo *hints = pf_xcalloc(1, sizeof *hints);
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    struct gaicb *req = pf_xcalloc(1, sizeof *req);
    req->ar_name = pf_xstrdup(host);
    req->ar_request = hints;
    struct gaicb *list[1] = {req};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (rc != 0) {
        free((char *)req->ar_name);
        free(req);
        free(hints);
        return rc;
    }
    double deadline = pf_now() + (timeout_s > 0 ? timeout_s : 10);
    for (;;) {
        rc = gai_error(req);
        if (rc != EAI_INPROGRESS)
            break;
        double left = deadline - pf_now();
        if (left <= 0) {
            if (gai_cancel(req) == EAI_CANCELED) {
                free((char *)req->ar_name);
                free(req);
                free(hints);
            } /* else still running: leave it to the resolver thread (a bounded, rare leak) */
            *timed_out = true;
            return EAI_AGAIN;
        }
        struct timespec ts = {.tv_sec = (time_t)left, .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        gai_suspend((const struct gaicb *const *)list, 1, &ts);
    }
    if (rc == 0)
        *res = req->ar_result;
    free((char *)req->ar_name);
    free(req);
    free(hints);
    return rc;
}

/* ---- JSON -------------------------------------------------------------- */

json_t *pf_netif_addr_to_json(const pf_netif_addr *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "family", json_string(a->family == 4 ? "ipv4" : "ipv6"));
    json_object_set_new(o, "address", json_string(a->ip));
    json_object_set_new(o, "prefix", a->prefix_len >= 0 ? json_integer(a->prefix_len) : json_null());
    json_object_set_new(o, "link_local", json_boolean(a->link_local));
    json_object_set_new(o, "loopback", json_boolean(a->loopback));
    return o;
}

json_t *pf_netif_to_json(const pf_netif *nif)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", pf_net_jstr(nif->name));
    json_object_set_new(o, "ifindex", json_integer(nif->ifindex));
    json_object_set_new(o, "kind", json_string(nif->kind));
    json_object_set_new(o, "virtual", json_boolean(nif->is_virtual));
    json_object_set_new(o, "up", json_boolean(nif->flags & PF_IFF_UP));
    json_object_set_new(o, "running", json_boolean(nif->flags & PF_IFF_RUNNING));
    json_object_set_new(o, "operstate", nif->operstate[0] ? pf_net_jstr(nif->operstate) : json_null());
    json_object_set_new(o, "carrier", nif->carrier < 0 ? json_null() : json_boolean(nif->carrier));
    json_object_set_new(o, "speed_mbps", nif->speed_mbps < 0 ? json_null() : json_integer(nif->speed_mbps));
    json_object_set_new(o, "mtu", nif->mtu < 0 ? json_null() : json_integer(nif->mtu));
    json_object_set_new(o, "arphrd_type", nif->arphrd < 0 ? json_null() : json_integer(nif->arphrd));
    json_object_set_new(o, "driver", nif->driver[0] ? pf_net_jstr(nif->driver) : json_null());
    json_object_set_new(o, "devtype", nif->devtype[0] ? pf_net_jstr(nif->devtype) : json_null());
    json_object_set_new(o, "mac", nif->mac[0] ? pf_net_jstr(nif->mac) : json_null());
    json_object_set_new(o, "hardware", json_boolean(nif->has_device));
    json_object_set_new(o, "rdma_device", nif->rdma_dev[0] ? pf_net_jstr(nif->rdma_dev) : json_null());
    json_object_set_new(o, "link_local_only", json_boolean(pf_netif_link_local_only(nif)));
    json_t *arr = json_array();
    for (size_t i = 0; i < nif->naddrs; i++)
        json_array_append_new(arr, pf_netif_addr_to_json(&nif->addrs[i]));
    json_object_set_new(o, "addresses", arr);
    if (nif->addrs_dropped)
        json_object_set_new(o, "addresses_dropped", json_integer((json_int_t)nif->addrs_dropped));
    return o;
}

json_t *pf_netif_set_to_json(const pf_netif_set *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(arr, pf_netif_to_json(&s->ifs[i]));
    return arr;
}

/* gloo.c -- see gloo.h. */
#include "probes/net/gloo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probes/nccl/nccl_ifsel.h"

/* ---- collecting --------------------------------------------------------- */

static void hosts_evidence(const char *path, pf_gloo_facts *f)
{
    pf_strlcpy(f->hosts_path, path, sizeof f->hosts_path);
    char *text = pf_read_file(path, 1 << 20, NULL, NULL);
    if (!text || !f->hostname[0]) {
        free(text);
        return;
    }
    /* The short name too: "spark1.lan" is often listed as "spark1". */
    char shortname[256];
    pf_strlcpy(shortname, f->hostname, sizeof shortname);
    char *dot = strchr(shortname, '.');
    if (dot)
        *dot = '\0';
    for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char *copy = pf_xstrdup(ln);
        char *hash = strchr(copy, '#');
        if (hash)
            *hash = '\0';
        bool hit = false;
        char *s2 = NULL;
        char *tok = strtok_r(copy, " \t", &s2); /* the address */
        while (tok && (tok = strtok_r(NULL, " \t", &s2)) != NULL)
            if (strcasecmp(tok, f->hostname) == 0 || strcasecmp(tok, shortname) == 0)
                hit = true;
        free(copy);
        if (hit && f->hosts_lines.n < 16)
            pf_strv_push(&f->hosts_lines, pf_str_trim(ln));
    }
    free(text);
}

void pf_gloo_collect(const char *hosts_path, double timeout_s, pf_gloo_facts *f)
{
    memset(f, 0, sizeof *f);
    if (gethostname(f->hostname, sizeof f->hostname - 1) != 0) {
        f->hostname_errno = errno;
        f->hostname[0] = '\0';
        return;
    }
    struct addrinfo *result = NULL;
    f->gai_rc = pf_netif_resolve(f->hostname, timeout_s, &result, &f->gai_timed_out);
    if (f->gai_timed_out) {
        snprintf(f->gai_error, sizeof f->gai_error, "no answer within %.0f s", timeout_s > 0 ? timeout_s : 10);
    } else if (f->gai_rc != 0) {
        pf_strlcpy(f->gai_error, f->gai_rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(f->gai_rc),
                   sizeof f->gai_error);
    } else {
        for (struct addrinfo *rp = result; rp && f->nres < PF_GLOO_MAX_RESULTS; rp = rp->ai_next) {
            pf_gloo_result *r = &f->res[f->nres];
            char ip[INET6_ADDRSTRLEN] = "";
            if (rp->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)rp->ai_addr)->sin_addr, ip, sizeof ip);
            else if (rp->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)rp->ai_addr)->sin6_addr, ip, sizeof ip);
            else
                continue;
            if (pf_netif_addr_parse(ip, &r->addr) != 0)
                continue;
            if (rp->ai_family == AF_INET6)
                r->addr.scope_id = ((struct sockaddr_in6 *)(void *)rp->ai_addr)->sin6_scope_id;
            /* The same test Gloo makes: can this process bind it?  Port 0 and
             * closed at once, so nothing stays open. */
            int fd = socket(rp->ai_family, rp->ai_socktype | SOCK_CLOEXEC, rp->ai_protocol);
            if (fd < 0) {
                r->bind_errno = errno;
            } else {
                int on = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
                if (bind(fd, rp->ai_addr, rp->ai_addrlen) == 0)
                    r->bindable = true;
                else
                    r->bind_errno = errno;
                close(fd);
            }
            f->nres++;
        }
        freeaddrinfo(result);
    }
    hosts_evidence(hosts_path ? hosts_path : "/etc/hosts", f);
}

void pf_gloo_facts_free(pf_gloo_facts *f)
{
    if (f)
        pf_strv_free(&f->hosts_lines);
}

/* ---- deciding ----------------------------------------------------------- */

static const pf_ifaddr_entry *first_entry(const pf_netif_set *ifs, const char *name)
{
    for (size_t i = 0; i < ifs->nentries; i++)
        if (strcmp(ifs->entries[i].name, name) == 0)
            return &ifs->entries[i];
    return NULL;
}

static const pf_netif *owner_of(const pf_netif_set *ifs, const pf_netif_addr *a)
{
    for (size_t i = 0; i < ifs->nentries; i++)
        if (ifs->entries[i].addr.family == a->family &&
            memcmp(ifs->entries[i].addr.bytes, a->bytes, a->family == 4 ? 4 : 16) == 0)
            return pf_netif_find(ifs, ifs->entries[i].name);
    return NULL;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

/* Quality of the address a Gloo device will use, wherever it came from. */
static void judge_address(const char *who, const pf_netif *nif, const pf_netif_addr *a, pf_net_verdict *vd)
{
    if (a->loopback) {
        pf_net_verdict_add(vd, PF_WARN, "loopback",
                           "%s uses the loopback address %s: peers on other hosts cannot reach it", who, a->ip);
        return;
    }
    if (nif && !(nif->flags & PF_IFF_RUNNING))
        pf_net_verdict_add(vd, PF_FAIL, "not_running",
                           "%s is on %s, which is not running (operstate %s): Gloo binds anyway, and "
                           "connectFullMesh times out", who, nif->name, nif->operstate[0] ? nif->operstate : "unknown");
    if (a->link_local && a->family == 6)
        pf_net_verdict_add(vd, PF_FAIL, "link_local",
                           "%s gets only the IPv6 link-local address %s (no IPv4): its scope id is local to this "
                           "host, so peers cannot connect", who, a->ip);
    else if (a->link_local)
        pf_net_verdict_add(vd, PF_WARN, "link_local",
                           "%s uses the link-local address %s: reachable only from nodes on the same cable/link",
                           who, a->ip);
    else if (a->family == 6)
        pf_net_verdict_add(vd, PF_WARN, "ipv6",
                           "%s uses the IPv6 address %s (no IPv4 address): every peer must route IPv6", who, a->ip);
    /* Gloo only needs an address peers can reach; a veth is normal inside
     * a Kubernetes pod, so the kind alone is a note.  Host-local bridges
     * with addresses every host carries are flagged below. */
    if (nif && nif->is_virtual)
        pf_net_verdict_add(vd, PF_PASS, "virtual",
                           "%s is on %s, a virtual interface (%s): fine if peers can route to it", who, nif->name,
                           nif->kind);
    if (nif && (strcmp(nif->kind, "docker") == 0 || strcmp(a->ip, "172.17.0.1") == 0 ||
                strcmp(a->ip, "192.168.55.1") == 0 || strcmp(nif->kind, "l4tbr") == 0))
        pf_net_verdict_add(vd, PF_WARN, "shared_address",
                           "%s uses %s, an address other hosts carry too: peers would connect to themselves",
                           who, a->ip);
}

static void decide_name(const char *var, const char *name, const pf_netif_set *ifs, bool tp,
                        pf_gloo_device *dev, pf_net_verdict *vd)
{
    pf_strlcpy(dev->iface, name, sizeof dev->iface);
    const char *code_missing = tp ? "tp_missing" : "missing";
    const char *code_noaddr = tp ? "tp_no_address" : "no_address";
    if (!*name) {
        pf_net_verdict_add(vd, PF_FAIL, "empty_entry",
                           "%s has an empty entry (a doubled or leading comma): Gloo fails with "
                           "'Unable to find address for: '", var);
        return;
    }
    const pf_ifaddr_entry *e = first_entry(ifs, name);
    if (e) {
        dev->found = true;
        dev->addr = e->addr;
        char who[256];
        snprintf(who, sizeof who, "%s=%s", var, name);
        judge_address(who, pf_netif_find(ifs, name), &e->addr, vd);
        return;
    }
    const char *hint = "";
    if (name[0] == '^' || name[0] == '=')
        hint = " (Gloo takes exact interface names, not NCCL's '^'/'=' syntax)";
    else if (has_space(name))
        hint = " (Gloo does not trim whitespace)";
    if (pf_netif_find(ifs, name))
        pf_net_verdict_add(vd, PF_FAIL, code_noaddr,
                           "%s=%s: the interface exists but has no IPv4/IPv6 address: %s fails with "
                           "'Unable to find address for: %s'", var, name, tp ? "TensorPipe" : "Gloo", name);
    else
        pf_net_verdict_add(vd, PF_FAIL, code_missing,
                           "%s names '%s', which does not exist on this node%s: %s fails with "
                           "'Unable to find address for: %s'", var, name, hint, tp ? "TensorPipe" : "Gloo", name);
    if (hint[0] && name[0] != ' ')
        pf_net_verdict_add(vd, PF_FAIL, "nccl_syntax", "%s uses NCCL syntax%s", var, hint);
    else if (hint[0])
        pf_net_verdict_add(vd, PF_FAIL, "whitespace", "%s entry '%s'%s", var, name, hint);
}

static void decide_hostname(const pf_gloo_in *in, pf_gloo_out *out, pf_net_verdict *vd)
{
    const pf_gloo_facts *h = in->host;
    out->ndev = 1;
    pf_gloo_device *dev = &out->dev[0];
    if (!h || h->hostname_errno) {
        pf_net_verdict_add(vd, PF_FAIL, "hostname_error", "gethostname() failed (%s): torch falls back to 127.0.0.1",
                           h ? strerror(h->hostname_errno) : "not collected");
        out->loopback_fallback = true;
        return;
    }
    if (h->gai_rc != 0) {
        pf_net_verdict_add(vd, PF_FAIL, "unresolvable",
                           "hostname '%s' does not resolve (getaddrinfo: %s): torch warns 'Unable to resolve "
                           "hostname to a (local) address' and uses 127.0.0.1, which peers cannot reach",
                           h->hostname, h->gai_error);
        out->loopback_fallback = true;
        return;
    }
    const pf_gloo_result *chosen = NULL;
    for (size_t i = 0; i < h->nres && !chosen; i++)
        if (h->res[i].bindable)
            chosen = &h->res[i];
    if (!chosen) {
        pf_net_verdict_add(vd, PF_FAIL, "unbindable",
                           "none of the %zu addresses hostname '%s' resolves to can be bound here (first: %s): "
                           "torch falls back to 127.0.0.1", h->nres, h->hostname, h->nres ? h->res[0].addr.ip : "-");
        out->loopback_fallback = true;
        return;
    }
    dev->found = true;
    dev->addr = chosen->addr;
    const pf_netif *nif = owner_of(in->ifs, &chosen->addr);
    if (nif)
        pf_strlcpy(dev->iface, nif->name, sizeof dev->iface);
    if (chosen->addr.loopback) {
        pf_net_verdict_add(vd, PF_FAIL, "hostname_loopback",
                           "GLOO_SOCKET_IFNAME is unset and hostname '%s' resolves first to %s (%s): Gloo advertises "
                           "that loopback address and peers connect to their own host ('Gloo connectFullMesh failed "
                           "... Connection refused, remote=[%s]')", h->hostname, chosen->addr.ip,
                           h->hosts_lines.n ? h->hosts_lines.v[0] : "resolver result", chosen->addr.ip);
        return;
    }
    char who[400];
    snprintf(who, sizeof who, "Gloo (hostname '%s' -> %s)", h->hostname, chosen->addr.ip);
    judge_address(who, nif, &chosen->addr, vd);
}

void pf_gloo_decide(const pf_gloo_in *in, pf_gloo_out *out, pf_net_verdict *vd)
{
    memset(out, 0, sizeof *out);
    const char *g = in->gloo_ifname;
    if (g && strlen(g) > 1) {
        out->by_ifname = true;
        /* std::getline on ',': "a,,b" -> a, "", b; a trailing comma adds nothing. */
        const char *p = g;
        while (*p && out->ndev < PF_GLOO_MAX_DEVICES) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)n, p);
            decide_name("GLOO_SOCKET_IFNAME", name, in->ifs, false, &out->dev[out->ndev++], vd);
            if (!comma)
                break;
            p = comma + 1;
        }
    } else {
        if (g)
            pf_net_verdict_add(vd, PF_WARN, "short_value",
                               "GLOO_SOCKET_IFNAME='%s' is ignored (torch uses it only when longer than 1 character)", g);
        decide_hostname(in, out, vd);
    }
    if (in->tp_ifname && *in->tp_ifname) {
        pf_gloo_device tp;
        memset(&tp, 0, sizeof tp);
        decide_name("TP_SOCKET_IFNAME", in->tp_ifname, in->ifs, true, &tp, vd);
    }
    if (vd->status == PF_PASS)
        return;
    const pf_netif *sug = pf_nccl_suggest_iface(in->ifs);
    if (sug)
        pf_net_verdict_remedy(vd, "export GLOO_SOCKET_IFNAME=%s (an exact name that exists on this node; set it "
                              "per node before `ray start`)", sug->name);
    else
        pf_net_verdict_remedy(vd, "export GLOO_SOCKET_IFNAME=<iface> naming this node's cluster-network interface");
    bool host_problem = pf_net_verdict_has(vd, "hostname_loopback") || pf_net_verdict_has(vd, "unresolvable") ||
                        pf_net_verdict_has(vd, "unbindable");
    if (!out->by_ifname && host_problem && in->host && in->host->hostname[0]) {
        const pf_netif_addr *a = sug ? pf_netif_ipv4(sug) : NULL;
        pf_net_verdict_remedy(vd, "or fix /etc/hosts so that '%s' maps to %s instead of a 127.x address",
                              in->host->hostname, a ? a->ip : "this node's cluster-network IPv4 address");
    }
}

json_t *pf_gloo_facts_to_json(const pf_gloo_facts *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "hostname", pf_net_jstr(f->hostname));
    if (f->gai_rc)
        json_object_set_new(o, "getaddrinfo_error", pf_net_jstr(f->gai_error));
    json_t *arr = json_array();
    for (size_t i = 0; i < f->nres; i++) {
        json_t *r = pf_netif_addr_to_json(&f->res[i].addr);
        json_object_set_new(r, "bindable", json_boolean(f->res[i].bindable));
        if (!f->res[i].bindable)
            json_object_set_new(r, "bind_error", json_string(strerror(f->res[i].bind_errno)));
        json_array_append_new(arr, r);
    }
    json_object_set_new(o, "resolved", arr);
    json_object_set_new(o, "hosts_file", pf_net_jstr(f->hosts_path));
    json_t *lines = json_array();
    for (size_t i = 0; i < f->hosts_lines.n; i++)
        json_array_append_new(lines, pf_net_jstr(f->hosts_lines.v[i]));
    json_object_set_new(o, "hosts_lines", lines);
    return o;
}

json_t *pf_gloo_out_to_json(const pf_gloo_out *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "source", json_string(o->by_ifname ? "GLOO_SOCKET_IFNAME" : "hostname"));
    json_object_set_new(j, "loopback_fallback", json_boolean(o->loopback_fallback));
    json_t *arr = json_array();
    for (size_t i = 0; i < o->ndev; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "interface", o->dev[i].iface[0] ? pf_net_jstr(o->dev[i].iface) : json_null());
        json_object_set_new(d, "address", o->dev[i].found ? json_string(o->dev[i].addr.ip) : json_null());
        json_array_append_new(arr, d);
    }
    json_object_set_new(j, "devices", arr);
    return j;
}

/* nccl_ifsel.c -- see nccl_ifsel.h.  Pure: no system calls. */
#include "probes/nccl/nccl_ifsel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the list syntax ---------------------------------------------------- */

/* parseStringList: entries end at ',' or NUL; ':' ends the name and the rest
 * up to ',' is a port; empty names are dropped; stops after 16 entries.
 * Entries past 16 are only counted, to report truncation. */
static void parse_entries(const char *s, pf_nccl_iflist *l)
{
    size_t total = 0, c = 0;
    char cur[PF_NCCL_PREFIX_MAX];
    const char *p = s;
    char ch;
    if (!s)
        return;
    do {
        ch = *p;
        if (ch == ':' || ch == ',' || ch == '\0') {
            if (c > 0) {
                cur[c < PF_NCCL_PREFIX_MAX ? c : PF_NCCL_PREFIX_MAX - 1] = '\0';
                if (l->n < PF_NCCL_MAX_IFS) {
                    memcpy(l->prefix[l->n], cur, sizeof cur);
                    l->port[l->n] = ch == ':' ? atoi(p + 1) : -1;
                    l->n++;
                }
                total++;
                c = 0;
            }
            if (ch == ':')
                while (ch != ',' && ch != '\0')
                    ch = *++p;
        } else {
            if (c < PF_NCCL_PREFIX_MAX - 1)
                cur[c] = ch;
            else
                l->entry_too_long = true;
            c++;
        }
        p++;
    } while (ch);
    l->truncated = total > PF_NCCL_MAX_IFS;
}

void pf_nccl_iflist_parse(const char *spec, pf_nccl_iflist *out)
{
    memset(out, 0, sizeof *out);
    if (!spec)
        return;
    if (spec[0] == '^') {
        out->search_not = true;
        spec++;
    }
    if (spec[0] == '=') {
        out->search_exact = true;
        spec++;
    }
    parse_entries(spec, out);
}

static bool match_one(const char *name, const char *ref, bool exact)
{
    /* matchIf: exact compares strlen(name)+1 bytes (the NUL included). */
    size_t n = exact ? strlen(name) + 1 : strlen(ref);
    return strncmp(name, ref, n) == 0;
}

bool pf_nccl_iflist_matches(const pf_nccl_iflist *l, const char *name, int port)
{
    if (l->n == 0)
        return true; /* NCCL: "an exception for the case where no user list is defined" */
    for (size_t i = 0; i < l->n; i++) {
        bool port_ok = port == -1 || l->port[i] == -1 || port == l->port[i];
        if (match_one(name, l->prefix[i], l->search_exact) && port_ok)
            return true;
    }
    return false;
}

bool pf_nccl_iflist_keeps(const pf_nccl_iflist *l, const char *name, int port)
{
    return pf_nccl_iflist_matches(l, name, port) != l->search_not;
}

int pf_nccl_version_parse(const char *s)
{
    if (!s)
        return 0;
    long nums[3];
    int n = 0;
    for (const char *p = s; *p && n < 3;) {
        if (isdigit((unsigned char)*p)) {
            char *end;
            nums[n++] = strtol(p, &end, 10);
            p = end;
        } else if (n > 0 && *p != '.' && *p != ',' && *p != ' ') {
            break; /* "2.28.9+cuda12.9": stop at the suffix */
        } else {
            p++;
        }
    }
    if (n == 1 && nums[0] >= 10000 && nums[0] < 1000000)
        return (int)nums[0];
    if (n == 3 && nums[0] >= 2 && nums[0] < 100 && nums[1] >= 0 && nums[1] < 100 && nums[2] >= 0 && nums[2] < 100)
        return (int)(nums[0] * 10000 + nums[1] * 100 + nums[2]);
    return 0;
}

int pf_nccl_comm_id_parse(const char *id, char *host, size_t hostlen, int *port, char *scope_if, size_t scopelen)
{
    host[0] = '\0';
    scope_if[0] = '\0';
    *port = -1;
    if (!id || strlen(id) <= 1)
        return -1;
    if (id[0] != '[') {
        pf_nccl_iflist l;
        memset(&l, 0, sizeof l);
        parse_entries(id, &l);
        if (l.n < 1)
            return -1;
        pf_strlcpy(host, l.prefix[0], hostlen);
        *port = l.port[0];
        return 0;
    }
    const char *close = strchr(id, ']');
    if (!close)
        return -1;
    const char *pct = memchr(id, '%', (size_t)(close - id));
    const char *hend = pct ? pct : close;
    snprintf(host, hostlen, "%.*s", (int)(hend - id - 1), id + 1);
    if (pct)
        snprintf(scope_if, scopelen, "%.*s", (int)(close - pct - 1), pct + 1);
    *port = close[1] == ':' ? atoi(close + 2) : 0;
    return 0;
}

/* ---- selection ---------------------------------------------------------- */

typedef struct stage_ctx {
    const pf_nccl_ifsel_in *in;
    int family;                /* 0, 4, 6 */
    bool check_running;
} stage_ctx;

static void add_skip(pf_nccl_ifsel_out *out, const pf_ifaddr_entry *e, const char *reason)
{
    for (size_t i = 0; i < out->nskips; i++)
        if (strcmp(out->skips[i].name, e->name) == 0 && strcmp(out->skips[i].reason, reason) == 0)
            return;
    if (out->nskips >= PF_NCCL_MAX_SKIPS)
        return;
    pf_nccl_skip *s = &out->skips[out->nskips++];
    pf_strlcpy(s->name, e->name, sizeof s->name);
    pf_strlcpy(s->ip, e->addr.ip, sizeof s->ip);
    s->reason = reason;
}

/* findInterfaces(spec, maxIfs) on the snapshot; skips recorded in out. */
static size_t find_ifs(const stage_ctx *sc, const char *spec, size_t max, pf_nccl_pick *picks,
                       pf_nccl_ifsel_out *out)
{
    pf_nccl_iflist l;
    pf_nccl_iflist_parse(spec, &l);
    size_t found = 0;
    out->nskips = 0;
    for (size_t i = 0; i < sc->in->nentries; i++) {
        const pf_ifaddr_entry *e = &sc->in->entries[i];
        if (e->addr.family != 4 && e->addr.family != 6)
            continue;
        if (found >= max) {
            bool known = false;
            for (size_t k = 0; k < found; k++)
                known |= strcmp(picks[k].name, e->name) == 0;
            if (!known)
                add_skip(out, e, "beyond NCCL's limit of interfaces");
            continue;
        }
        if (sc->check_running && !(e->flags & PF_IFF_RUNNING)) {
            add_skip(out, e, "not running (no IFF_RUNNING: down or no carrier); NCCL 2.28+ skips it");
            continue;
        }
        if (sc->family && e->addr.family != sc->family) {
            add_skip(out, e, "address family differs from NCCL_SOCKET_FAMILY");
            continue;
        }
        if (e->addr.family == 6 && e->addr.loopback)
            continue; /* ::1, always skipped */
        if (!pf_nccl_iflist_keeps(&l, e->name, -1)) {
            add_skip(out, e, l.search_not ? "excluded by the list" : "does not match the list");
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < found; k++)
            dup |= strcmp(picks[k].name, e->name) == 0;
        if (dup)
            continue; /* first address per interface wins */
        pf_strlcpy(picks[found].name, e->name, sizeof picks[found].name);
        picks[found].addr = e->addr;
        found++;
    }
    return found;
}

/* ncclFindInterfaceMatchSubnet: first entry in the subnet, no other filter. */
static bool find_subnet(const pf_nccl_ifsel_in *in, pf_nccl_pick *pick)
{
    for (size_t i = 0; i < in->nentries; i++) {
        const pf_ifaddr_entry *e = &in->entries[i];
        if (pf_netif_addr_same_subnet(&e->addr, in->comm_id_addr)) {
            pf_strlcpy(pick->name, e->name, sizeof pick->name);
            pick->addr = e->addr;
            return true;
        }
    }
    return false;
}

void pf_nccl_ifsel(const pf_nccl_ifsel_in *in, pf_nccl_ifsel_out *out)
{
    memset(out, 0, sizeof *out);
    out->rules_version = in->nccl_version;
    out->assumed_newest = in->nccl_version == 0;
    bool v228 = in->nccl_version == 0 || in->nccl_version >= PF_NCCL_V228;

    if (in->socket_family) {
        if (strcmp(in->socket_family, "AF_INET") == 0)
            out->family = 4;
        else if (strcmp(in->socket_family, "AF_INET6") == 0)
            out->family = 6;
        else
            out->family_invalid = true;
    }
    stage_ctx sc = {.in = in, .family = out->family, .check_running = v228};

    if (in->socket_ifname && strlen(in->socket_ifname) > 1) {
        out->ifname_used = true;
        pf_nccl_iflist_parse(in->socket_ifname, &out->list);
        snprintf(out->stage, sizeof out->stage, "NCCL_SOCKET_IFNAME=%s", in->socket_ifname);
        out->nsocket = find_ifs(&sc, in->socket_ifname, PF_NCCL_MAX_IFS, out->socket, out);
    } else {
        out->ifname_too_short = in->socket_ifname != NULL;
        const char *rest = v228 ? "^docker,lo,virbr" : "^docker,lo";
        pf_nccl_skip saved[PF_NCCL_MAX_SKIPS];
        size_t nsaved = 0;
        out->nsocket = find_ifs(&sc, "ib", PF_NCCL_MAX_IFS, out->socket, out);
        if (out->nsocket) {
            pf_strlcpy(out->stage, "ib", sizeof out->stage);
        } else if (in->comm_id && strlen(in->comm_id) > 1) {
            if (!in->comm_id_addr) {
                out->comm_id_invalid = true; /* NCCLCHECK fails the whole search */
                return;
            }
            out->nskips = 0;
            if (find_subnet(in, &out->socket[0])) {
                out->nsocket = 1;
                pf_strlcpy(out->stage, "NCCL_COMM_ID subnet", sizeof out->stage);
            }
        }
        if (!out->nsocket) {
            out->nsocket = find_ifs(&sc, rest, PF_NCCL_MAX_IFS, out->socket, out);
            nsaved = out->nskips;
            memcpy(saved, out->skips, nsaved * sizeof *saved);
            if (out->nsocket)
                pf_strlcpy(out->stage, rest, sizeof out->stage);
        }
        static const char *const tail[] = {"docker", "lo", "virbr"};
        for (size_t t = 0; t < (v228 ? 3u : 2u) && !out->nsocket; t++) {
            out->nsocket = find_ifs(&sc, tail[t], PF_NCCL_MAX_IFS, out->socket, out);
            if (out->nsocket)
                pf_strlcpy(out->stage, tail[t], sizeof out->stage);
        }
        if (!out->nsocket) {
            memcpy(out->skips, saved, nsaved * sizeof *saved);
            out->nskips = nsaved;
        }
    }

    /* bootstrapNetInit: any NCCL_COMM_ID (even empty) switches to the
     * subnet search, which ignores NCCL_SOCKET_IFNAME entirely. */
    if (in->comm_id) {
        if (!in->comm_id_addr || strlen(in->comm_id) <= 1) {
            out->comm_id_invalid = true;
            return;
        }
        out->bootstrap_by_comm_id = true;
        out->has_bootstrap = find_subnet(in, &out->bootstrap);
    } else if (out->nsocket) {
        out->has_bootstrap = true;
        out->bootstrap = out->socket[0];
    }
}

/* ---- judging ------------------------------------------------------------ */

static const pf_netif *iface_of(const pf_netif_set *ifs, const char *name)
{
    const pf_netif *nif = pf_netif_find(ifs, name);
    if (nif || !strchr(name, ':'))
        return nif;
    char base[PF_NETIF_NAME_MAX];
    pf_strlcpy(base, name, sizeof base);
    *strchr(base, ':') = '\0';
    return pf_netif_find(ifs, base);
}

/* Addresses that sit on every host of their kind: a peer that connects to
 * one reaches its own machine. */
static const char *shared_address(const pf_netif *nif, const pf_netif_addr *a)
{
    static const struct { const char *ip, *what; } known[] = {
        {"172.17.0.1", "Docker's default bridge address"},
        {"192.168.55.1", "the Jetson USB device-mode bridge (l4tbr0) address"},
        {"192.168.122.1", "libvirt's default network address"},
        {"10.88.0.1", "Podman's default bridge address"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(a->ip, known[i].ip) == 0)
            return known[i].what;
    if (nif && strcmp(nif->kind, "docker") == 0)
        return "a Docker bridge address (the same subnets are allocated on every Docker host)";
    if (nif && (strcmp(nif->kind, "virbr") == 0 || strcmp(nif->kind, "l4tbr") == 0))
        return "a host-local bridge address that other hosts carry too";
    return NULL;
}

static bool good_iface(const pf_netif *nif)
{
    if (!nif || nif->is_virtual || !(nif->flags & PF_IFF_RUNNING))
        return false;
    if (strcmp(nif->kind, "wireless") == 0 || strcmp(nif->kind, "loopback") == 0)
        return false;
    const pf_netif_addr *a = pf_netif_ipv4(nif);
    return a && !shared_address(nif, a);
}

const pf_netif *pf_nccl_suggest_iface(const pf_netif_set *ifs)
{
    for (size_t i = 0; i < ifs->n; i++)
        if (good_iface(&ifs->ifs[i]) && !strchr(ifs->ifs[i].name, ':'))
            return &ifs->ifs[i];
    return NULL;
}

static void judge_list_syntax(const pf_nccl_ifsel_in *in, const pf_nccl_ifsel_out *out,
                              const pf_netif_set *ifs, pf_net_verdict *vd)
{
    const pf_nccl_iflist *l = &out->list;
    const char *body = in->socket_ifname + (l->search_not ? 1 : 0) + (l->search_exact ? 1 : 0);
    /* Look at the raw pieces: what NCCL's parser silently keeps. */
    char *copy = pf_xstrdup(body);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (colon) {
            pf_net_verdict_add(vd, PF_PASS, "port_ignored",
                               "'%s': the ':%s' suffix is accepted but ignored for interface matching", tok, colon + 1);
            *colon = '\0';
        }
        size_t n = strlen(tok);
        if (n && (isspace((unsigned char)tok[0]) || isspace((unsigned char)tok[n - 1])))
            pf_net_verdict_add(vd, PF_WARN, "whitespace",
                               "entry '%s' has surrounding whitespace: NCCL does not trim, so it matches no interface", tok);
        if (tok[0] == '^')
            pf_net_verdict_add(vd, PF_WARN, "literal_caret",
                               "entry '%s': '^' only means 'exclude' as the first character of the whole value; "
                               "here it is part of a literal name", tok);
        if (tok[0] == '=')
            pf_net_verdict_add(vd, PF_WARN, "literal_equals",
                               "entry '%s': '=' only means 'exact' at the start of the value (after an optional '^'); "
                               "here it is part of a literal name", tok);
    }
    free(copy);
    if (l->truncated)
        pf_net_verdict_add(vd, PF_WARN, "truncated",
                           "NCCL_SOCKET_IFNAME has more than %d entries: NCCL reads only the first %d",
                           PF_NCCL_MAX_IFS, PF_NCCL_MAX_IFS);
    if (l->entry_too_long)
        pf_net_verdict_add(vd, PF_WARN, "long_entry",
                           "an entry of NCCL_SOCKET_IFNAME is 64 bytes or longer: NCCL overruns its buffer");
    char unmatched[512] = "";
    size_t nun = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t hits = 0, used = 0;
        const char *ci_hit = NULL, *hit = NULL;
        for (size_t k = 0; k < ifs->n; k++) {
            const char *nm = ifs->ifs[k].name;
            if (match_one(nm, l->prefix[i], l->search_exact)) {
                hits++;
                hit = nm;
                for (size_t j = 0; j < out->nsocket; j++)
                    used += strcmp(out->socket[j].name, nm) == 0;
            } else if (l->search_exact ? strcasecmp(nm, l->prefix[i]) == 0
                                       : strncasecmp(nm, l->prefix[i], strlen(l->prefix[i])) == 0) {
                ci_hit = nm;
            }
        }
        if (hits && !used && !l->search_not) {
            /* It names an interface, but NCCL passes over it: say why. */
            const pf_netif *nif = pf_netif_find(ifs, hit);
            const char *why = !nif || nif->naddrs == 0 ? "has no IPv4/IPv6 address"
                              : !(nif->flags & PF_IFF_RUNNING) ? "is not running (down or no carrier)"
                              : out->family ? "has no address of the forced NCCL_SOCKET_FAMILY"
                                            : "is beyond the 16-interface limit";
            pf_net_verdict_add(vd, PF_WARN, "matched_unusable",
                               "entry '%s' names %s, which %s, so NCCL does not use it", l->prefix[i], hit, why);
        }
        if (hits)
            continue;
        if (ci_hit) {
            pf_net_verdict_add(vd, PF_WARN, "case_mismatch",
                               "entry '%s' matches no interface: matching is case-sensitive ('%s' exists)",
                               l->prefix[i], ci_hit);
        } else if (!l->search_not) {
            size_t len = strlen(unmatched);
            if (nun < 6)
                snprintf(unmatched + len, sizeof unmatched - len, "%s'%s'", nun ? ", " : "", l->prefix[i]);
            nun++;
        }
    }
    if (nun)
        pf_net_verdict_add(vd, PF_WARN, "unmatched_entry", "%s%s match%s no interface on this node", unmatched,
                           nun > 6 ? " and more" : "", nun == 1 ? "es" : "");
}

static const char *virtual_why(const char *kind)
{
    if (!strcmp(kind, "docker") || !strcmp(kind, "bridge") || !strcmp(kind, "virbr") || !strcmp(kind, "l4tbr"))
        return "a host-local bridge; other hosts cannot reach it, or reach their own copy of it";
    if (!strcmp(kind, "veth"))
        return "one end of a container link; other hosts reach it only if the container network routes it";
    if (!strcmp(kind, "tailscale") || !strcmp(kind, "wireguard") || !strcmp(kind, "tun"))
        return "a VPN/tunnel; only peers on the VPN reach it, and NCCL traffic would crawl through the tunnel";
    return "a software device, not the cluster network";
}

/* A container-network kind (not a VPN/tunnel) on a node where no running
 * hardware NIC with a routable, unshared IPv4 address exists. */
static bool container_only(const pf_netif_set *ifs, const char *kind)
{
    static const char *const kinds[] = {"veth", "bridge", "docker", "macvlan", "ipvlan"};
    bool container = false;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        container |= strcmp(kind, kinds[i]) == 0;
    return container && pf_nccl_suggest_iface(ifs) == NULL;
}

static void judge_pick(const pf_nccl_ifsel_out *out, const pf_nccl_pick *p, const char *role,
                       const pf_netif_set *ifs, pf_net_verdict *vd, bool *want_af_inet)
{
    const pf_netif *nif = iface_of(ifs, p->name);
    const char *kind = nif ? nif->kind : "unknown";
    if (nif && !(nif->flags & PF_IFF_RUNNING))
        pf_net_verdict_add(vd, PF_WARN, "not_running",
                           "%s %s is not running (operstate %s)%s", role, p->name,
                           nif->operstate[0] ? nif->operstate : "unknown",
                           out->bootstrap_by_comm_id ? "; the NCCL_COMM_ID subnet search does not check that"
                                                     : "; NCCL before 2.28 still uses it");
    if (strcmp(kind, "loopback") == 0)
        pf_net_verdict_add(vd, PF_WARN, "loopback",
                           "%s %s (%s) is loopback: other nodes cannot reach it (single-node use only)",
                           role, p->name, p->addr.ip);
    else if (strcmp(kind, "wireless") == 0)
        pf_net_verdict_add(vd, PF_WARN, "wireless",
                           "%s %s is a wireless interface: slow and usually not the cluster network", role, p->name);
    else if (nif && nif->is_virtual && container_only(ifs, kind))
        /* In a pod or a container every interface is a veth (or a bridge):
         * with nothing better on this node, one node cannot tell whether
         * peers reach it -- the pair tests (cluster.reach) measure that. */
        pf_net_verdict_add(vd, PF_PASS, "virtual", "%s %s is a virtual interface (%s%s%s), the best this node has (a "
                           "container or pod network); whether peers reach it is measured by `preflight cluster` "
                           "(cluster.reach)", role, p->name, kind, nif->driver[0] ? ", driver " : "", nif->driver);
    else if (nif && nif->is_virtual)
        pf_net_verdict_add(vd, PF_WARN, "virtual", "%s %s is a virtual interface (%s%s%s): %s", role, p->name, kind,
                           nif->driver[0] ? ", driver " : "", nif->driver, virtual_why(kind));
    if (p->addr.link_local) {
        if (p->addr.family == 6) {
            pf_net_verdict_add(vd, PF_WARN, "link_local",
                               "%s %s has only the IPv6 link-local address %s: it carries this host's scope id, "
                               "so peers fail with 'Network is unreachable' or time out", role, p->name, p->addr.ip);
            *want_af_inet = true;
        } else {
            pf_net_verdict_add(vd, PF_WARN, "link_local",
                               "%s %s uses the link-local address %s: reachable only from nodes cabled to the same "
                               "link (e.g. a Spark-to-Spark direct cable), not from the rest of the cluster",
                               role, p->name, p->addr.ip);
        }
    } else if (p->addr.family == 6) {
        pf_net_verdict_add(vd, PF_PASS, "ipv6", "%s %s uses the IPv6 address %s (the interface has no IPv4 "
                           "address, or the family is forced)", role, p->name, p->addr.ip);
    }
    const char *shared = shared_address(nif, &p->addr);
    if (shared)
        pf_net_verdict_add(vd, PF_WARN, "shared_address",
                           "%s %s has %s (%s), which other hosts carry too: a peer connecting to it reaches "
                           "itself (refused or hung connections)", role, p->name, p->addr.ip, shared);
}

void pf_nccl_ifsel_judge(const pf_nccl_ifsel_in *in, const pf_nccl_ifsel_out *out,
                         const pf_netif_set *ifs, pf_net_verdict *vd)
{
    bool want_af_inet = false;
    if (out->assumed_newest)
        pf_net_verdict_add(vd, PF_PASS, "version_unknown",
                           "NCCL version unknown: applied the newest rules (2.28+: skip interfaces that are not "
                           "running; default order ib, NCCL_COMM_ID subnet, ^docker,lo,virbr, docker, lo, virbr)");
    if (out->comm_id_invalid) {
        pf_net_verdict_add(vd, PF_FAIL, "comm_id_invalid",
                           "NCCL_COMM_ID='%s' cannot be parsed or resolved: NCCL fails with 'Invalid NCCL_COMM_ID, "
                           "please use format: <ipv4>:<port> or [<ipv6>]:<port> or <hostname>:<port>'",
                           in->comm_id ? in->comm_id : "");
        pf_net_verdict_remedy(vd, "set NCCL_COMM_ID to <ipv4>:<port> of rank 0, or unset it");
        return;
    }
    if (out->ifname_too_short)
        pf_net_verdict_add(vd, PF_WARN, "short_value",
                           "NCCL_SOCKET_IFNAME='%s' is ignored: NCCL only uses values longer than 1 character, "
                           "so it selects automatically", in->socket_ifname);
    if (out->family_invalid) {
        pf_net_verdict_add(vd, PF_WARN, "bad_family",
                           "NCCL_SOCKET_FAMILY='%s' is neither AF_INET nor AF_INET6: NCCL silently ignores it",
                           in->socket_family);
        pf_net_verdict_remedy(vd, "export NCCL_SOCKET_FAMILY=AF_INET (exact spelling)");
    }
    if (out->ifname_used)
        judge_list_syntax(in, out, ifs, vd);
    else
        pf_net_verdict_add(vd, PF_PASS, "automatic",
                           "NCCL_SOCKET_IFNAME is unset: NCCL's automatic order decides (stage '%s')",
                           out->stage[0] ? out->stage : "none matched");

    if (out->nsocket == 0) {
        char why[512] = "";
        for (size_t i = 0; i < out->nskips && i < 6; i++) {
            size_t len = strlen(why);
            snprintf(why + len, sizeof why - len, "%s%s: %s", i ? "; " : " (", out->skips[i].name, out->skips[i].reason);
        }
        if (why[0])
            strncat(why, ")", sizeof why - strlen(why) - 1);
        pf_net_verdict_add(vd, PF_FAIL, "no_interface",
                           "no interface matches%s: NCCL fails with 'Bootstrap : no socket interface found' "
                           "(NET/Socket: 'no interface found')", why);
    } else if (out->bootstrap_by_comm_id && !out->has_bootstrap) {
        pf_net_verdict_add(vd, PF_FAIL, "no_interface",
                           "no local address is in the subnet of NCCL_COMM_ID's host %s: NCCL fails with "
                           "'NET/Socket : No usable listening interface found'", in->comm_id_addr->ip);
    }

    bool boot_listed = false;
    for (size_t i = 0; i < out->nsocket; i++) {
        bool is_boot = out->has_bootstrap && strcmp(out->socket[i].name, out->bootstrap.name) == 0;
        boot_listed |= is_boot;
        judge_pick(out, &out->socket[i], is_boot ? "bootstrap/NET interface" : "NET interface", ifs, vd, &want_af_inet);
    }
    if (out->has_bootstrap && !boot_listed)
        judge_pick(out, &out->bootstrap, "bootstrap interface", ifs, vd, &want_af_inet);
    if (out->bootstrap_by_comm_id && out->has_bootstrap) {
        pf_net_verdict_add(vd, PF_PASS, "comm_id_bootstrap",
                           "NCCL_COMM_ID is set: bootstrap uses %s, the first address in its subnet "
                           "(NCCL_SOCKET_IFNAME does not apply to bootstrap then)", out->bootstrap.name);
        if (!boot_listed && out->nsocket)
            pf_net_verdict_add(vd, PF_PASS, "bootstrap_not_in_list",
                               "bootstrap interface %s is not among the NET/Socket interfaces", out->bootstrap.name);
    }
    if (out->nsocket > 1) {
        bool exact_list = out->ifname_used && out->list.search_exact && !out->list.search_not;
        pf_net_verdict_add(vd, exact_list ? PF_PASS : PF_WARN, "multiple",
                           "NET/Socket will use %zu interfaces and may put a channel on any of them: each one's "
                           "address must be reachable from every peer", out->nsocket);
    }
    if (out->ifname_used && out->list.search_not)
        pf_net_verdict_add(vd, out->nsocket > 1 ? PF_WARN : PF_PASS, "exclusion_list",
                           "NCCL_SOCKET_IFNAME is an exclusion list: NCCL uses every other interface with an "
                           "address, including ones added later (wifi, docker networks, VPNs)");

    if (vd->status != PF_PASS) {
        const pf_netif *sug = NULL;
        if (out->has_bootstrap && good_iface(iface_of(ifs, out->bootstrap.name)) && !strchr(out->bootstrap.name, ':'))
            sug = iface_of(ifs, out->bootstrap.name);
        if (!sug)
            sug = pf_nccl_suggest_iface(ifs);
        if (sug)
            pf_net_verdict_remedy(vd, "export NCCL_SOCKET_IFNAME==%s (exact name; set it on every node with that "
                                  "node's own interface name, in the environment `ray start` runs in)", sug->name);
        else
            pf_net_verdict_remedy(vd, "export NCCL_SOCKET_IFNAME==<iface> naming this node's cluster-network "
                                  "interface (none here is a running hardware NIC with an IPv4 address)");
        if (want_af_inet)
            pf_net_verdict_remedy(vd, "export NCCL_SOCKET_FAMILY=AF_INET");
    }
}

/* net_checks.c -- see net_checks.h.  Glue: collect facts, call the pure
 * decisions, write checks, evidence and node facts. */
#include "probes/net/net_checks.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "probes/net/gloo.h"
#include "probes/nccl/libnccl.h"
#include "probes/nccl/nccl_ifsel.h"
#include "probes/nccl/nccl_net.h"
#include "probes/nccl/ncclconf.h"
#include "probes/nccl/netplugin.h"

/* ---- shared helpers ---------------------------------------------------- */

static double tool_timeout(const pf_probe_ctx *ctx)
{
    return ctx->opts && ctx->opts->tool_timeout_s > 0 ? ctx->opts->tool_timeout_s : 10;
}

static void finish_check(pf_check *c, const pf_net_verdict *vd, const char *summary)
{
    pf_check_set(c, vd->status, "%s", summary);
    char *rem = pf_net_verdict_remedy_text(vd);
    if (rem)
        pf_check_remedy(c, "%s", rem);
    free(rem);
    json_object_set_new(pf_check_evidence(c), "findings", pf_net_verdict_findings_json(vd));
}

/* The first warn/fail message, for the one-line summary. */
static const char *worst_msg(const pf_net_verdict *vd)
{
    for (size_t i = 0; i < vd->n; i++)
        if (vd->v[i].sev == PF_FAIL)
            return vd->v[i].msg;
    for (size_t i = 0; i < vd->n; i++)
        if (vd->v[i].sev == PF_WARN)
            return vd->v[i].msg;
    return NULL;
}

static json_t *env_json(const pf_nccl_env *env, const char *name)
{
    const char *src = NULL;
    const char *v = env ? pf_nccl_env_get(env, name, &src) : NULL;
    if (!v)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "value", pf_net_jstr(v));
    json_object_set_new(o, "source", pf_net_jstr(src));
    return o;
}

int pf_net_nccl_version(pf_probe_ctx *ctx, char *text, size_t textlen, char *source, size_t srclen)
{
    text[0] = '\0';
    pf_strlcpy(source, "unknown", srclen);
    /* env.fingerprint may have located libnccl already. */
    json_t *lib = json_object_get(json_object_get(pf_node_facts(ctx->node), "fingerprint"), "libnccl");
    int code = (int)json_integer_value(json_object_get(lib, "version_code"));
    if (code > 0) {
        pf_libnccl_code_str(code, text, textlen);
        snprintf(source, srclen, "%s (%s; env.fingerprint)", json_string_value(json_object_get(lib, "path")),
                 json_string_value(json_object_get(lib, "origin")));
        return code;
    }
    pf_libnccl_info info;
    pf_err err;
    if (pf_libnccl_locate(ctx, &info, &err) == 0 && info.version_code > 0) {
        pf_strlcpy(text, info.version, textlen);
        snprintf(source, srclen, "%s (%s)", info.path, info.origin);
        return info.version_code;
    }
    /* The library is unreadable or absent: the wheel's metadata still says
     * which NCCL torch was built to load. */
    pf_pyenv *py = pf_ctx_pyenv(ctx, NULL);
    static const char *const wheels[] = {"nvidia-nccl-cu13", "nvidia-nccl-cu12", "nvidia-nccl-cu11"};
    for (size_t i = 0; py && i < sizeof wheels / sizeof wheels[0]; i++) {
        char *v = pf_pyenv_dist_version(py, wheels[i]);
        code = pf_nccl_version_parse(v);
        if (code) {
            pf_strlcpy(text, v, textlen);
            snprintf(source, srclen, "%s wheel metadata in %s", wheels[i], pf_pyenv_prefix(py));
            free(v);
            return code;
        }
        free(v);
    }
    return 0;
}

/* ncclSocketToString: numeric host (with %ifname for link-local v6), <port>. */
static void nccl_addr_str(const pf_nccl_pick *p, char *buf, size_t len)
{
    if (p->addr.family == 6 && p->addr.link_local)
        snprintf(buf, len, "%s%%%s<0>", p->addr.ip, p->name);
    else
        snprintf(buf, len, "%s<0>", p->addr.ip);
}

static json_t *pick_json(const pf_nccl_pick *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "interface", pf_net_jstr(p->name));
    json_object_set_new(o, "address", json_string(p->addr.ip));
    json_object_set_new(o, "family", json_string(p->addr.family == 4 ? "ipv4" : "ipv6"));
    json_object_set_new(o, "link_local", json_boolean(p->addr.link_local));
    return o;
}

/* ---- net.interfaces ---------------------------------------------------- */

void pf_net_interfaces_judge(const pf_netif_set *s, const pf_rdma_set *r, pf_net_verdict *vd)
{
    size_t usable = 0, hw = 0;
    for (size_t i = 0; i < s->n; i++) {
        const pf_netif *nif = &s->ifs[i];
        if (strcmp(nif->kind, "loopback") == 0 || !(nif->flags & PF_IFF_RUNNING) || !pf_netif_has_routable(nif))
            continue;
        usable++;
        if (!nif->is_virtual && strcmp(nif->kind, "wireless") != 0 && pf_netif_ipv4(nif))
            hw++;
    }
    if (usable == 0)
        pf_net_verdict_add(vd, PF_FAIL, "no_network",
                           "no interface other than loopback is running with a routable address: this node cannot "
                           "talk to other nodes");
    else if (hw == 0)
        pf_net_verdict_add(vd, PF_WARN, "no_hardware_nic",
                           "no running hardware NIC has a routable IPv4 address; only virtual, wireless or "
                           "IPv6/link-local interfaces are up");
    /* Two interfaces in one IPv4 subnet: the kernel routes replies out of
     * either, and the DGX Spark playbook reports NCCL failures from it. */
    for (size_t i = 0; i < s->n; i++) {
        const pf_netif *a = &s->ifs[i];
        if (strcmp(a->kind, "loopback") == 0 || !(a->flags & PF_IFF_UP))
            continue;
        for (size_t j = i + 1; j < s->n; j++) {
            const pf_netif *b = &s->ifs[j];
            if (strcmp(b->kind, "loopback") == 0 || !(b->flags & PF_IFF_UP) || strchr(b->name, ':') || strchr(a->name, ':'))
                continue;
            for (size_t x = 0; x < a->naddrs; x++)
                for (size_t y = 0; y < b->naddrs; y++) {
                    const pf_netif_addr *p = &a->addrs[x], *q = &b->addrs[y];
                    if (p->family != 4 || q->family != 4 || p->prefix_len < 0 || q->prefix_len < 0)
                        continue;
                    int pl = p->prefix_len < q->prefix_len ? p->prefix_len : q->prefix_len;
                    pf_netif_addr m = *p;
                    memset(m.mask, 0, sizeof m.mask);
                    for (int bit = 0; bit < pl; bit++)
                        m.mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
                    if (pf_netif_addr_same_subnet(&m, q))
                        pf_net_verdict_add(vd, PF_WARN, "same_subnet",
                                           "%s (%s/%d) and %s (%s/%d) are in the same IPv4 subnet: replies may leave by "
                                           "the other interface; give each interface its own subnet",
                                           a->name, p->ip, p->prefix_len, b->name, q->ip, q->prefix_len);
                }
        }
    }
    for (size_t i = 0; i < s->notes.n; i++)
        pf_net_verdict_add(vd, PF_PASS, "collection_note", "%s", s->notes.v[i]);
    for (size_t i = 0; r && i < r->notes.n; i++)
        pf_net_verdict_add(vd, PF_PASS, "collection_note", "%s", r->notes.v[i]);
}

void pf_probe_net_interfaces(pf_probe_ctx *ctx)
{
    pf_check *c = pf_probe_check_add(ctx, pf_probe_net_interfaces);
    const char *why = NULL;
    const pf_netif_set *s = pf_ctx_netif(ctx, &why);
    if (!s) {
        pf_check_set(c, PF_ERROR, "could not list interfaces: %s", why);
        return;
    }
    pf_rdma_set r;
    pf_rdma_scan(NULL, &r);
    pf_net_verdict vd;
    pf_net_verdict_init(&vd);
    pf_net_interfaces_judge(s, &r, &vd);

    json_t *ifs = pf_netif_set_to_json(s);
    json_t *rd = pf_rdma_to_json(&r);
    json_t *ev = pf_check_evidence(c);
    json_object_set_new(ev, "interfaces", json_deep_copy(ifs));
    json_object_set_new(ev, "rdma", json_deep_copy(rd));
    json_object_set_new(ev, "rdma_class_present", json_boolean(r.class_present));
    json_object_set_new(pf_node_facts(ctx->node), "interfaces", ifs);
    json_object_set_new(pf_node_facts(ctx->node), "rdma", rd);

    char line[1024] = "";
    size_t up = 0;
    for (size_t i = 0; i < s->n; i++) {
        const pf_netif *nif = &s->ifs[i];
        if (!(nif->flags & PF_IFF_RUNNING) || strcmp(nif->kind, "loopback") == 0 || nif->naddrs == 0)
            continue;
        up++;
        size_t len = strlen(line);
        if (len < sizeof line - 100)
            snprintf(line + len, sizeof line - len, "%s%s %s (%s)", up > 1 ? ", " : "", nif->name,
                     nif->addrs[0].ip, nif->kind);
    }
    const char *w = worst_msg(&vd);
    char summary[1400];
    snprintf(summary, sizeof summary, "%zu interfaces, %zu running with addresses%s%s; %zu RDMA device(s), %zu "
             "active port(s)%s%s", s->n, up, up ? ": " : "", line, r.n, pf_rdma_usable_ports(&r),
             w ? " -- " : "", w ? w : "");
    finish_check(c, &vd, summary);
    pf_net_verdict_free(&vd);
    pf_rdma_set_free(&r);
}

/* ---- net.nccl_ifname --------------------------------------------------- */

/* Resolve NCCL_COMM_ID's host like ncclSocketGetAddrFromString. */
static bool resolve_comm_id(const char *id, double timeout_s, pf_netif_addr *out)
{
    char host[256], scope[IF_NAMESIZE + 1];
    int port;
    if (pf_nccl_comm_id_parse(id, host, sizeof host, &port, scope, sizeof scope) != 0)
        return false;
    if (id[0] == '[') {
        if (pf_netif_addr_parse(host, out) != 0 || out->family != 6)
            return false;
        out->scope_id = scope[0] ? if_nametoindex(scope) : 0;
        return true;
    }
    struct addrinfo *res = NULL;
    bool timed_out;
    if (pf_netif_resolve(host, timeout_s, &res, &timed_out) != 0 || !res)
        return false;
    char ip[INET6_ADDRSTRLEN] = "";
    if (res->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, ip, sizeof ip);
    else if (res->ai_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, ip, sizeof ip);
    freeaddrinfo(res);
    return ip[0] && pf_netif_addr_parse(ip, out) == 0; /* scope 0: NCCL assumes global */
}

/* The interfaces NCCL will pick on this node under its effective
 * environment: shared by net.nccl_ifname and net.transport (which needs to
 * know whether NET/Socket has any interface at all). */
static void nccl_select(const pf_probe_ctx *ctx, const pf_nccl_env *env, int ver, const pf_netif_set *s,
                        pf_nccl_ifsel_in *in, pf_netif_addr *comm_addr, pf_nccl_ifsel_out *out)
{
    memset(in, 0, sizeof *in);
    in->socket_ifname = pf_nccl_env_get(env, "NCCL_SOCKET_IFNAME", NULL);
    in->socket_family = pf_nccl_env_get(env, "NCCL_SOCKET_FAMILY", NULL);
    in->comm_id = pf_nccl_env_get(env, "NCCL_COMM_ID", NULL);
    in->nccl_version = ver;
    in->entries = s->entries;
    in->nentries = s->nentries;
    if (in->comm_id && resolve_comm_id(in->comm_id, tool_timeout(ctx), comm_addr))
        in->comm_id_addr = comm_addr;
    pf_nccl_ifsel(in, out);
}

static void conf_findings(const pf_nccl_env *env, pf_net_verdict *vd)
{
    for (size_t f = 0; f < pf_nccl_env_file_count(env); f++) {
        const pf_nccl_conf_file *cf = pf_nccl_env_file(env, f);
        if (cf->error)
            pf_net_verdict_add(vd, PF_WARN, "conf_unreadable",
                               "%s exists but cannot be read (%s): NCCL skips it silently too, but its settings "
                               "are then missing", cf->path, cf->error);
        for (size_t i = 0; i < cf->nissues; i++)
            pf_net_verdict_add(vd, cf->issues[i].affects_nccl ? PF_WARN : PF_PASS, "conf_line",
                               "%s line %d '%s': %s", cf->path, cf->issues[i].line, cf->issues[i].text,
                               cf->issues[i].problem);
    }
}

void pf_probe_net_nccl_ifname(pf_probe_ctx *ctx)
{
    pf_check *c = pf_probe_check_add(ctx, pf_probe_net_nccl_ifname);
    char vtext[64], vsrc[512];
    int ver = pf_net_nccl_version(ctx, vtext, sizeof vtext, vsrc, sizeof vsrc);
    char *home = pf_nccl_home_dir();
    pf_nccl_env *env = pf_nccl_env_load(pf_env_envp(ctx->env), home, NULL, ver);
    free(home);
    const char *why = NULL;
    const pf_netif_set *s = pf_ctx_netif(ctx, &why);
    if (!s) {
        pf_check_set(c, PF_ERROR, "could not list interfaces: %s", why);
        pf_nccl_env_free(env);
        return;
    }
    pf_nccl_ifsel_in in;
    pf_netif_addr comm_addr;
    pf_nccl_ifsel_out out;
    nccl_select(ctx, env, ver, s, &in, &comm_addr, &out);
    pf_net_verdict vd;
    pf_net_verdict_init(&vd);
    pf_nccl_ifsel_judge(&in, &out, s, &vd);
    conf_findings(env, &vd);

    json_t *ev = pf_check_evidence(c);
    json_t *vj = json_object();
    json_object_set_new(vj, "value", vtext[0] ? json_string(vtext) : json_null());
    json_object_set_new(vj, "source", pf_net_jstr(vsrc));
    json_object_set_new(vj, "rules", json_string(ver == 0 || ver >= PF_NCCL_V228 ? "2.28+" : "before 2.28"));
    json_object_set_new(ev, "nccl_version", vj);
    json_t *envj = json_object();
    json_object_set_new(envj, "NCCL_SOCKET_IFNAME", env_json(env, "NCCL_SOCKET_IFNAME"));
    json_object_set_new(envj, "NCCL_SOCKET_FAMILY", env_json(env, "NCCL_SOCKET_FAMILY"));
    json_object_set_new(envj, "NCCL_COMM_ID", env_json(env, "NCCL_COMM_ID"));
    json_object_set_new(ev, "env", envj);
    json_object_set_new(ev, "nccl_conf", pf_nccl_env_to_json(env));

    json_t *sel = json_object();
    json_object_set_new(sel, "stage", out.stage[0] ? pf_net_jstr(out.stage) : json_null());
    json_object_set_new(sel, "bootstrap", out.has_bootstrap ? pick_json(&out.bootstrap) : json_null());
    json_object_set_new(sel, "bootstrap_by_comm_id", json_boolean(out.bootstrap_by_comm_id));
    json_t *socks = json_array();
    char netline[2048] = "NET/Socket : Using";
    for (size_t i = 0; i < out.nsocket; i++) {
        json_array_append_new(socks, pick_json(&out.socket[i]));
        char a[128];
        nccl_addr_str(&out.socket[i], a, sizeof a);
        size_t len = strlen(netline);
        snprintf(netline + len, sizeof netline - len, " [%zu]%s:%s", i, out.socket[i].name, a);
    }
    json_object_set_new(sel, "socket", socks);
    json_t *skips = json_array();
    for (size_t i = 0; i < out.nskips; i++) {
        json_t *k = json_object();
        json_object_set_new(k, "interface", pf_net_jstr(out.skips[i].name));
        json_object_set_new(k, "address", json_string(out.skips[i].ip));
        json_object_set_new(k, "reason", json_string(out.skips[i].reason));
        json_array_append_new(skips, k);
    }
    json_object_set_new(sel, "skipped", skips);
    json_t *logs = json_array();
    if (out.has_bootstrap) {
        char a[128];
        nccl_addr_str(&out.bootstrap, a, sizeof a);
        char *bl = pf_xasprintf("Bootstrap: Using %s:%s", out.bootstrap.name, a);
        json_array_append_new(logs, pf_net_jstr(bl));
        free(bl);
    }
    if (out.nsocket)
        json_array_append_new(logs, pf_net_jstr(netline));
    json_object_set_new(sel, "expected_log", logs);
    json_object_set_new(ev, "selection", json_deep_copy(sel));
    json_object_set_new(pf_node_facts(ctx->node), "nccl_socket", sel);

    char summary[1200];
    if (out.nsocket || out.has_bootstrap) {
        char list[600] = "";
        for (size_t i = 0; i < out.nsocket; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s %s", i ? ", " : "", out.socket[i].name, out.socket[i].addr.ip);
        }
        const char *w = worst_msg(&vd);
        snprintf(summary, sizeof summary, "bootstrap %s %s; NET/Socket: %s (%s)%s%s",
                 out.has_bootstrap ? out.bootstrap.name : "none", out.has_bootstrap ? out.bootstrap.addr.ip : "",
                 out.nsocket ? list : "none", out.ifname_used ? "NCCL_SOCKET_IFNAME" : "automatic",
                 w ? " -- " : "", w ? w : "");
    } else {
        const char *w = worst_msg(&vd);
        snprintf(summary, sizeof summary, "%s", w ? w : "NCCL would find no interface");
    }
    finish_check(c, &vd, summary);
    pf_net_verdict_free(&vd);
    pf_nccl_env_free(env);
}

/* ---- net.gloo ---------------------------------------------------------- */

void pf_probe_net_gloo(pf_probe_ctx *ctx)
{
    pf_check *c = pf_probe_check_add(ctx, pf_probe_net_gloo);
    const char *why = NULL;
    const pf_netif_set *s = pf_ctx_netif(ctx, &why);
    if (!s) {
        pf_check_set(c, PF_ERROR, "could not list interfaces: %s", why);
        return;
    }
    pf_gloo_facts host;
    pf_gloo_collect(NULL, tool_timeout(ctx), &host);
    pf_gloo_in in = {
        .gloo_ifname = pf_ctx_getenv(ctx, "GLOO_SOCKET_IFNAME"),
        .tp_ifname = pf_ctx_getenv(ctx, "TP_SOCKET_IFNAME"),
        .host = &host,
        .ifs = s,
    };
    pf_gloo_out out;
    pf_net_verdict vd;
    pf_net_verdict_init(&vd);
    pf_gloo_decide(&in, &out, &vd);

    json_t *ev = pf_check_evidence(c);
    json_t *envj = json_object();
    json_object_set_new(envj, "GLOO_SOCKET_IFNAME", pf_net_jstr(in.gloo_ifname));
    json_object_set_new(envj, "TP_SOCKET_IFNAME", pf_net_jstr(in.tp_ifname));
    json_object_set_new(ev, "env", envj);
    json_object_set_new(ev, "hostname_resolution", pf_gloo_facts_to_json(&host));
    json_t *oj = pf_gloo_out_to_json(&out);
    json_object_set_new(ev, "gloo", json_deep_copy(oj));
    json_object_set_new(pf_node_facts(ctx->node), "gloo", oj);

    char devs[600] = "";
    for (size_t i = 0; i < out.ndev; i++) {
        size_t len = strlen(devs);
        snprintf(devs + len, sizeof devs - len, "%s%s%s%s", i ? ", " : "", out.dev[i].iface[0] ? out.dev[i].iface : "?",
                 out.dev[i].found ? " " : "", out.dev[i].found ? out.dev[i].addr.ip : "");
    }
    const char *w = worst_msg(&vd);
    char summary[1400];
    if (out.loopback_fallback)
        snprintf(summary, sizeof summary, "%s", w ? w : "Gloo falls back to 127.0.0.1");
    else
        snprintf(summary, sizeof summary, "Gloo uses %s (%s)%s%s", devs,
                 out.by_ifname ? "GLOO_SOCKET_IFNAME" : "hostname resolution", w ? " -- " : "", w ? w : "");
    finish_check(c, &vd, summary);
    pf_net_verdict_free(&vd);
    pf_gloo_facts_free(&host);
}

/* ---- net.transport ----------------------------------------------------- */

void pf_probe_net_transport(pf_probe_ctx *ctx)
{
    pf_check *c = pf_probe_check_add(ctx, pf_probe_net_transport);
    char vtext[64], vsrc[512];
    int ver = pf_net_nccl_version(ctx, vtext, sizeof vtext, vsrc, sizeof vsrc);
    char *home = pf_nccl_home_dir();
    pf_nccl_env *env = pf_nccl_env_load(pf_env_envp(ctx->env), home, NULL, ver);
    free(home);

    /* Does NET/Socket (and IB's out-of-band socket) find an interface? */
    const char *why = NULL;
    const pf_netif_set *s = pf_ctx_netif(ctx, &why);
    bool have_ifs = s != NULL;
    pf_nccl_ifsel_out sel;
    memset(&sel, 0, sizeof sel);
    if (have_ifs) {
        pf_nccl_ifsel_in si;
        pf_netif_addr comm_addr;
        nccl_select(ctx, env, ver, s, &si, &comm_addr, &sel);
    }

    pf_rdma_set rdma;
    pf_rdma_scan(NULL, &rdma);
    pf_netplugin_opts po = {
        .ld_library_path = pf_ctx_getenv(ctx, "LD_LIBRARY_PATH"),
        .timeout_s = tool_timeout(ctx),
        .read_names = true,
    };
    pf_netplugin_facts pl;
    pf_netplugin_collect(&po, &pl);

    pf_nccl_net_in in = {
        .net = pf_nccl_env_get(env, "NCCL_NET", NULL),
        .net_plugin = pf_nccl_env_get(env, "NCCL_NET_PLUGIN", NULL),
        .ib_disable = pf_nccl_env_get(env, "NCCL_IB_DISABLE", NULL),
        .ibext_disable = pf_nccl_env_get(env, "NCCL_IBEXT_DISABLE", NULL),
        .ib_hca = pf_nccl_env_get(env, "NCCL_IB_HCA", NULL),
        .p2p_disable = pf_nccl_env_get(env, "NCCL_P2P_DISABLE", NULL),
        .shm_disable = pf_nccl_env_get(env, "NCCL_SHM_DISABLE", NULL),
        .proto = pf_nccl_env_get(env, "NCCL_PROTO", NULL),
        .rdma = &rdma,
        .ibverbs_found = pl.libibverbs != NULL,
        .socket_has_interface = sel.nsocket > 0,
    };
    pf_nccl_plugin_req reqs[PF_NCCL_NET_MAX_EXT];
    size_t nreq = pf_nccl_plugin_requests(in.net_plugin, reqs, PF_NCCL_NET_MAX_EXT);
    char *paths[PF_NCCL_NET_MAX_EXT] = {0}, *names[PF_NCCL_NET_MAX_EXT] = {0}, *errs[PF_NCCL_NET_MAX_EXT] = {0};
    for (size_t i = 0; i < nreq; i++) {
        pf_nccl_ext_plugin *e = &in.ext[in.next++];
        e->requested = reqs[i].token;
        for (int k = 0; k < reqs[i].nnames && !paths[i]; k++)
            paths[i] = pf_netplugin_resolve(&pl, reqs[i].names[k]);
        if (!paths[i]) {
            e->requested = reqs[i].names[0];
            continue;
        }
        e->path = paths[i];
        const pf_netplugin_lib *lib = pf_netplugin_find(&pl, paths[i]);
        if (lib) {
            e->name = lib->name;
            e->load_error = lib->load_error;
        } else {
            char *sym = NULL;
            pf_err perr;
            if (pf_netplugin_read_name(paths[i], po.timeout_s, &names[i], &sym, &perr) != 0)
                errs[i] = pf_xstrdup(perr.msg);
            free(sym);
            e->name = names[i];
            e->load_error = errs[i];
        }
    }
    pf_nccl_net_out out;
    pf_net_verdict vd;
    pf_net_verdict_init(&vd);
    pf_nccl_net_decide(&in, &out, &vd);
    if (!have_ifs)
        pf_net_verdict_add(&vd, PF_PASS, "interfaces_unknown", "could not list interfaces: %s", why);
    for (size_t i = 0; i < pl.notes.n; i++)
        pf_net_verdict_add(&vd, PF_PASS, "collection_note", "%s", pl.notes.v[i]);

    json_t *ev = pf_check_evidence(c);
    json_t *envj = json_object();
    static const char *const vars[] = {"NCCL_NET", "NCCL_NET_PLUGIN", "NCCL_IB_DISABLE", "NCCL_IBEXT_DISABLE",
                                       "NCCL_IB_HCA", "NCCL_P2P_DISABLE", "NCCL_SHM_DISABLE", "NCCL_PROTO"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        json_object_set_new(envj, vars[i], env_json(env, vars[i]));
    json_object_set_new(ev, "env", envj);
    json_object_set_new(ev, "rdma", pf_rdma_to_json(&rdma));
    json_object_set_new(ev, "loader", pf_netplugin_to_json(&pl));
    json_t *fact = pf_nccl_net_fact(&in, &out);
    json_object_set_new(ev, "prediction", json_deep_copy(fact));
    json_object_set_new(pf_node_facts(ctx->node), "nccl_transport", fact);

    char summary[1200];
    const char *w = worst_msg(&vd);
    if (out.external)
        snprintf(summary, sizeof summary, "NCCL will use the external net plugin '%s' (%s)%s%s", out.transport,
                 out.ext_path, w ? " -- " : "", w ? w : "");
    else if (strcmp(out.transport, "none") == 0)
        snprintf(summary, sizeof summary, "%s", w ? w : "NCCL finds no usable network");
    else
        snprintf(summary, sizeof summary, "NCCL will use NET/%s (socket type %d)%s%s", out.transport, out.socket_type,
                 w ? " -- " : "", w ? w : "");
    finish_check(c, &vd, summary);

    pf_net_verdict_free(&vd);
    for (size_t i = 0; i < PF_NCCL_NET_MAX_EXT; i++) {
        free(paths[i]);
        free(names[i]);
        free(errs[i]);
    }
    pf_netplugin_facts_free(&pl);
    pf_rdma_set_free(&rdma);
    pf_nccl_env_free(env);
}

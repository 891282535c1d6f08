/* nccl_net.c -- see nccl_net.h.  Pure: no system calls. */
#include "probes/nccl/nccl_net.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probes/nccl/nccl_ifsel.h"

long long pf_nccl_param_int(const char *s, long long dflt, bool *ok)
{
    *ok = true;
    if (!s || !*s)
        return dflt;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno) {
        *ok = false;
        return dflt; /* NCCL: "Invalid value ..., using default" */
    }
    if (end == s || *end)
        *ok = false; /* NCCL keeps the partial (often 0) value without a word */
    return v;
}

size_t pf_nccl_plugin_requests(const char *net_plugin, pf_nccl_plugin_req *out, size_t max)
{
    size_t n = 0;
    if (!net_plugin) {
        memset(&out[0], 0, sizeof out[0]);
        snprintf(out[0].token, sizeof out[0].token, "(default)");
        snprintf(out[0].names[0], sizeof out[0].names[0], "libnccl-net.so");
        out[0].nnames = 1;
        return max ? 1 : 0;
    }
    if (strcasecmp(net_plugin, "none") == 0)
        return 0;
    char *copy = pf_xstrdup(net_plugin);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        pf_nccl_plugin_req *r = &out[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->token, sizeof r->token, "%s", tok);
        snprintf(r->names[r->nnames++], sizeof r->names[0], "%s", tok);
        /* openPluginLib also tries libnccl-net-<X>.so unless X is a path or
         * already looks like "lib*.so". */
        size_t len = strlen(tok);
        bool libso = pf_str_startswith(tok, "lib") && len >= 3 && strcmp(tok + len - 3, ".so") == 0;
        if (!strchr(tok, '/') && !libso)
            snprintf(r->names[r->nnames++], sizeof r->names[0], "libnccl-net-%s.so", tok);
    }
    free(copy);
    return n;
}

static bool looks_rdma(const char *name)
{
    return name && (strstr(name, "IB") || strstr(name, "RDMA") || strstr(name, "UCX") ||
                    strcasestr(name, "verbs") != NULL);
}

static void check_int_param(pf_net_verdict *vd, const char *var, const char *val, const char *code)
{
    bool ok;
    if (!val)
        return;
    long long v = pf_nccl_param_int(val, 0, &ok);
    if (!ok)
        pf_net_verdict_add(vd, PF_WARN, code,
                           "%s='%s' is not a plain integer: NCCL reads it as %lld (strtoll), which may not be "
                           "what was meant", var, val, v);
}

static void check_proto(pf_net_verdict *vd, const char *proto)
{
    if (!proto)
        return;
    const char *p = proto[0] == '^' ? proto + 1 : proto;
    char *copy = pf_xstrdup(p);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (strcasecmp(tok, "LL") && strcasecmp(tok, "LL128") && strcasecmp(tok, "Simple"))
            pf_net_verdict_add(vd, PF_WARN, "proto_value",
                               "NCCL_PROTO entry '%s' is not one of LL, LL128, Simple", tok);
    free(copy);
}

static void set_transport(pf_nccl_net_out *out, const char *t, int type)
{
    pf_strlcpy(out->transport, t, sizeof out->transport);
    out->socket_type = type;
}

void pf_nccl_net_decide(const pf_nccl_net_in *in, pf_nccl_net_out *out, pf_net_verdict *vd)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    out->ib_disabled = pf_nccl_param_int(in->ib_disable, 0, &ok) != 0;
    if (in->ib_disable && !ok)
        pf_net_verdict_add(vd, PF_WARN, "ib_disable_value",
                           "NCCL_IB_DISABLE='%s' is not a number: NCCL reads %s, so IB is %s", in->ib_disable,
                           out->ib_disabled ? "non-zero" : "0", out->ib_disabled ? "disabled" : "NOT disabled");

    pf_nccl_iflist hca;
    pf_nccl_iflist_parse(in->ib_hca, &hca);
    for (size_t d = 0; in->rdma && d < in->rdma->n; d++)
        for (size_t p = 0; p < in->rdma->v[d].nports; p++) {
            const pf_rdma_port *port = &in->rdma->v[d].ports[p];
            if (!pf_rdma_port_usable(port))
                continue;
            out->rdma_ports++;
            if (!in->ib_hca || pf_nccl_iflist_keeps(&hca, in->rdma->v[d].name, port->num))
                out->ib_ports++;
        }
    const char *net = in->net && *in->net ? in->net : NULL;
    bool decided = false;

    /* 1. external plugins, in NCCL's order */
    for (size_t i = 0; i < in->next && !decided; i++) {
        const pf_nccl_ext_plugin *e = &in->ext[i];
        if (!e->path) {
            if (in->net_plugin)
                pf_net_verdict_add(vd, PF_WARN, "plugin_missing",
                                   "NCCL_NET_PLUGIN asks for '%s', which the loader does not find here: NCCL goes on "
                                   "without it (INFO 'NET/Plugin: Could not find')", e->requested);
            continue;
        }
        if (e->load_error) {
            pf_net_verdict_add(vd, PF_WARN, "plugin_load_error",
                               "net plugin %s is on the loader path but does not load (%s): NCCL skips it", e->path,
                               e->load_error);
            continue;
        }
        const char *name = e->name && *e->name ? e->name : "external plugin";
        if (net && e->name && strcasecmp(net, e->name) != 0) {
            if (strcasecmp(net, "Socket") == 0 || strcasecmp(net, "IB") == 0) {
                pf_net_verdict_add(vd, PF_PASS, "plugin_not_named",
                                   "net plugin %s ('%s') loads but NCCL_NET=%s selects an internal transport",
                                   e->path, name, net);
                continue;
            }
            /* Plugins may rename themselves in init (the sharp plugin exports
             * "NCCL RDMA Plugin vN" and becomes "IBext_vN"), so a different
             * NCCL_NET does not rule this one out. */
            pf_net_verdict_add(vd, PF_PASS, "plugin_name_differs",
                               "NCCL_NET=%s differs from the name net plugin %s exports ('%s'); plugins may rename "
                               "themselves at init, so it may still be the one selected", net, e->path, name);
        }
        bool ok_ext = true;
        if (looks_rdma(e->name) && pf_nccl_param_int(in->ibext_disable, 0, &ok_ext) != 0) {
            pf_net_verdict_add(vd, PF_PASS, "plugin_disabled",
                               "net plugin %s ('%s') loads, but NCCL_IBEXT_DISABLE=%s makes its init fail, so NCCL "
                               "falls through to the internal transports", e->path, name, in->ibext_disable);
            continue;
        }
        if (looks_rdma(e->name) && out->rdma_ports == 0) {
            pf_net_verdict_add(vd, PF_PASS, "plugin_no_devices",
                               "net plugin %s ('%s') loads, but this node has no active RDMA port, so its init finds "
                               "no device and NCCL falls through to the internal transports", e->path, name);
            continue;
        }
        set_transport(out, name, 0);
        out->external = true;
        out->uncertain = true;
        pf_strlcpy(out->ext_path, e->path, sizeof out->ext_path);
        decided = true;
        pf_net_verdict_add(vd, PF_WARN, "external_plugin",
                           "NCCL will load the external net plugin %s ('%s') before its own transports; nodes without "
                           "it run NET/Socket or NET/IB, and a mixed pair fails ('wrong type' / hang)", e->path, name);
        if (out->ib_disabled && looks_rdma(e->name))
            pf_net_verdict_add(vd, PF_WARN, "ib_disable_ignored_by_plugin",
                               "NCCL_IB_DISABLE=%s does not stop this plugin: it is NCCL's own switch (the HPC-X "
                               "nccl-rdma-sharp plugin reads NCCL_IBEXT_DISABLE instead)", in->ib_disable);
        pf_net_verdict_remedy(vd, "to run over sockets everywhere: export NCCL_NET=Socket NCCL_NET_PLUGIN=none "
                              "(and NCCL_IB_DISABLE=1) on every node");
    }

    /* 2. internal IB */
    bool ib_wanted = !net || strcasecmp(net, "IB") == 0;
    if (!decided && ib_wanted && !out->ib_disabled) {
        if (out->rdma_ports > 0 && !in->ibverbs_found)
            pf_net_verdict_add(vd, PF_WARN, "no_ibverbs",
                               "RDMA ports are active but libibverbs is not on the loader path: NCCL's IB transport "
                               "cannot start here and it uses Socket");
        else if (out->rdma_ports > 0 && out->ib_ports == 0)
            pf_net_verdict_add(vd, PF_WARN, "ib_hca_nomatch",
                               "NCCL_IB_HCA='%s' matches none of the %zu active RDMA ports: this node falls back to "
                               "Socket while nodes where it matches use IB", in->ib_hca, out->rdma_ports);
        else if (out->ib_ports > 0 && in->ibverbs_found && in->socket_has_interface) {
            set_transport(out, "IB", 4);
            decided = true;
            pf_net_verdict_add(vd, PF_WARN, "ib_selected",
                               "NCCL will use its IB transport here (%zu active RDMA port(s); NCCL_IB_DISABLE and "
                               "NCCL_NET are not set to avoid it). A node without RDMA (e.g. a Jetson) uses Socket, "
                               "and an IB node and a Socket node fail with 'socketFinalizeAccept: wrong type 3 != 4' "
                               "(NCCL 2.30.7+: hang). Fine only if every node runs IB", out->ib_ports);
            pf_net_verdict_remedy(vd, "if the cluster is meant to use sockets: export NCCL_IB_DISABLE=1 NCCL_NET=Socket "
                                  "on every node, before `ray start`");
        }
    }
    if (!decided && net && strcasecmp(net, "IB") == 0) {
        set_transport(out, "none", 0);
        pf_net_verdict_add(vd, PF_FAIL, "net_invalid",
                           "NCCL_NET=IB but the IB transport cannot start here (%s): NCCL fails with 'Failed to "
                           "initialize any NET plugin'",
                           out->ib_disabled ? "NCCL_IB_DISABLE is set" : out->ib_ports == 0 ? "no usable RDMA port"
                           : !in->ibverbs_found ? "no libibverbs" : "no IP interface");
        pf_net_verdict_remedy(vd, "unset NCCL_NET, or export NCCL_NET=Socket");
        return;
    }

    /* 3. internal Socket */
    if (!decided) {
        if (net && strcasecmp(net, "Socket") != 0) {
            set_transport(out, "none", 0);
            pf_net_verdict_add(vd, PF_FAIL, "net_invalid",
                               "NCCL_NET='%s' names no network available here (internal: IB, Socket; no loaded "
                               "plugin has that name): NCCL fails with 'Failed to initialize any NET plugin'", net);
            pf_net_verdict_remedy(vd, "export NCCL_NET=Socket (or IB), spelled as NCCL names it");
            return;
        }
        set_transport(out, "Socket", 3);
        if (!in->socket_has_interface)
            pf_net_verdict_add(vd, PF_FAIL, "no_socket_interface",
                               "NET/Socket has no interface (see net.nccl_ifname): NCCL fails with "
                               "'NET/Socket : no interface found'");
        if (out->rdma_ports == 0 && in->rdma && in->rdma->n > 0 && !out->ib_disabled && !net)
            pf_net_verdict_add(vd, PF_PASS, "rdma_inactive",
                               "RDMA devices exist but no port is ACTIVE, so NCCL uses Socket now; if a port comes "
                               "up later this node switches to IB (pin it with NCCL_IB_DISABLE=1 NCCL_NET=Socket)");
    }

    check_int_param(vd, "NCCL_P2P_DISABLE", in->p2p_disable, "p2p_value");
    check_int_param(vd, "NCCL_SHM_DISABLE", in->shm_disable, "shm_value");
    check_proto(vd, in->proto);
    if (in->p2p_disable || in->shm_disable)
        pf_net_verdict_add(vd, PF_PASS, "intra_node",
                           "NCCL_P2P_DISABLE / NCCL_SHM_DISABLE only affect ranks on the same host; the cross-node "
                           "transport is the one above");
}

json_t *pf_nccl_net_fact(const pf_nccl_net_in *in, const pf_nccl_net_out *out)
{
    json_t *o = json_object();
    json_object_set_new(o, "transport", pf_net_jstr(out->transport));
    json_object_set_new(o, "socket_type", out->socket_type ? json_integer(out->socket_type) : json_null());
    json_object_set_new(o, "external", json_boolean(out->external));
    json_object_set_new(o, "uncertain", json_boolean(out->uncertain));
    json_object_set_new(o, "plugin_path", out->ext_path[0] ? pf_net_jstr(out->ext_path) : json_null());
    json_object_set_new(o, "ib_disabled", json_boolean(out->ib_disabled));
    json_object_set_new(o, "rdma_active_ports", json_integer((json_int_t)out->rdma_ports));
    json_object_set_new(o, "ib_ports_after_hca", json_integer((json_int_t)out->ib_ports));
    json_object_set_new(o, "NCCL_NET", pf_net_jstr(in->net));
    json_object_set_new(o, "NCCL_NET_PLUGIN", pf_net_jstr(in->net_plugin));
    json_object_set_new(o, "NCCL_IB_DISABLE", pf_net_jstr(in->ib_disable));
    json_object_set_new(o, "NCCL_IB_HCA", pf_net_jstr(in->ib_hca));
    return o;
}

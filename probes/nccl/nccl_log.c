/* nccl_log.c -- NCCL_DEBUG=INFO log parser (see nccl_log.h). */
#include "probes/nccl/nccl_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "core/util.h"
#include "probes/nccl/libnccl.h"

void pf_nccllog_init(pf_nccllog *l)
{
    memset(l, 0, sizeof *l);
    l->socket_threads = l->socket_socks = -1;
    l->rank = l->nranks = l->nnodes = l->local_ranks = -1;
}

void pf_nccllog_transport_family(const char *t, char *out, size_t len)
{
    size_t n = strcspn(t, "/");
    if (strncmp(t, "NET/", 4) == 0)
        n = 4 + strcspn(t + 4, "/(");
    if (n >= len)
        n = len - 1;
    memcpy(out, t, n);
    out[n] = 0;
}

/* "lo:127.0.0.1<0>" -> name "lo", addr "127.0.0.1" (IPv6 addresses keep their colons). */
static void split_ifaddr(const char *s, char *name, size_t nl, char *addr, size_t al)
{
    if (s[0] == '[') { /* "[0]eno1:..." as NCCL <= 2.23 listed bootstrap candidates */
        const char *e = strchr(s, ']');
        if (e)
            s = e + 1;
    }
    size_t n = strcspn(s, ":");
    snprintf(name, nl, "%.*s", (int)n, s);
    const char *a = s[n] ? s + n + 1 : "";
    size_t m = strcspn(a, "<");
    snprintf(addr, al, "%.*s", (int)m, a);
}

static void add_transport(pf_nccllog *l, const char *t)
{
    char fam[32];
    pf_nccllog_transport_family(t, fam, sizeof fam);
    for (int i = 0; i < l->n_transports; i++)
        if (strcmp(l->transports[i], fam) == 0)
            return;
    if (l->n_transports < PF_NCCLLOG_MAX_TRANSPORTS)
        pf_strlcpy(l->transports[l->n_transports++], fam, sizeof l->transports[0]);
}

/* "Channel 00/0 : 0[0] -> 1[0] [send] via NET/Socket/0" (also without
 * "/x", without [send], with "(PCI)"-style suffixes kept in the transport). */
static void parse_channel(pf_nccllog *l, const char *m)
{
    int ch, from, to, fd, td;
    const char *p = m + 8; /* after "Channel " */
    ch = atoi(p);
    p = strstr(p, " : ");
    if (!p || sscanf(p, " : %d[%d] -> %d[%d]", &from, &fd, &to, &td) != 4)
        return;
    const char *via = strstr(p, " via ");
    if (!via)
        return;
    if (l->n_channels >= PF_NCCLLOG_MAX_CHANNELS)
        return;
    pf_nccllog_channel *c = &l->channels[l->n_channels++];
    c->channel = ch;
    c->from = from;
    c->to = to;
    c->dir[0] = 0;
    if (strstr(p, "[send]") && strstr(p, "[send]") < via)
        pf_strlcpy(c->dir, "send", sizeof c->dir);
    else if (strstr(p, "[receive]") && strstr(p, "[receive]") < via)
        pf_strlcpy(c->dir, "receive", sizeof c->dir);
    pf_strlcpy(c->transport, via + 5, sizeof c->transport);
    pf_str_trim(c->transport);
    add_transport(l, c->transport);
}

static void parse_socket_ifs(pf_nccllog *l, const char *s)
{
    /* " [0]lo:127.0.0.1<0> [1]eth0:10.0.0.2<0>" */
    l->n_socket_ifs = 0;
    const char *p = s;
    while ((p = strchr(p, '[')) && l->n_socket_ifs < PF_NCCLLOG_MAX_IFS) {
        const char *q = strchr(p, ']');
        if (!q)
            break;
        q++;
        char tok[160];
        size_t n = strcspn(q, " ");
        snprintf(tok, sizeof tok, "%.*s", (int)n, q);
        pf_nccllog_if *f = &l->socket_ifs[l->n_socket_ifs++];
        split_ifaddr(tok, f->name, sizeof f->name, f->addr, sizeof f->addr);
        p = q + n;
    }
}

static void info(pf_nccllog *l, const char *m)
{
    const char *v;
    if (pf_str_startswith(m, "NCCL version ")) {
        int code;
        if (pf_libnccl_parse_banner(m, &code, l->version, sizeof l->version, l->cuda, sizeof l->cuda) == 0)
            l->version_code = code;
    } else if (pf_str_startswith(m, "Bootstrap : Using ") || pf_str_startswith(m, "Bootstrap: Using ")) {
        v = strstr(m, "Using ") + 6;
        char tok[128];
        snprintf(tok, sizeof tok, "%.*s", (int)strcspn(v, " "), v);
        split_ifaddr(tok, l->bootstrap_if, sizeof l->bootstrap_if, l->bootstrap_addr, sizeof l->bootstrap_addr);
    } else if ((pf_str_startswith(m, "NET/Socket : Using") || pf_str_startswith(m, "NET/Socket: Using")) &&
               strstr(m, "threads")) {
        sscanf(strstr(m, "Using"), "Using %d threads and %d sockets", &l->socket_threads, &l->socket_socks);
    } else if (pf_str_startswith(m, "NET/Socket : Using") || pf_str_startswith(m, "NET/Socket: Using")) {
        parse_socket_ifs(l, strstr(m, "Using") + 5);
    } else if (pf_str_startswith(m, "Using network ")) {
        pf_strlcpy(l->network, m + 14, sizeof l->network);
        pf_str_trim(l->network);
    } else if (pf_str_startswith(m, "NET/IB : No device found")) {
        l->ib_no_device = true;
    } else if (pf_str_startswith(m, "NET/IB : Using")) {
        pf_strlcpy(l->ib_devices, m + 14, sizeof l->ib_devices);
        pf_str_trim(l->ib_devices);
    } else if (pf_str_startswith(m, "NET/Plugin") && (strstr(m, "Could not find") || strstr(m, "No plugin found"))) {
        if (!l->plugin[0])
            pf_strlcpy(l->plugin, "internal", sizeof l->plugin);
    } else if ((v = strstr(m, "Loaded net plugin ")) || (v = strstr(m, "Assigned NET plugin "))) {
        /* 2.27+ treats the internal IB and Socket transports as plugins too:
         * "Assigned NET plugin Socket to comm" names the one this comm uses */
        v = strstr(v, "plugin ") + 7;
        snprintf(l->plugin, sizeof l->plugin, "%.*s", (int)strcspn(v, " "), v);
        l->plugin_ok = true;
    } else if (strstr(m, "Initialized NET plugin ")) {
        l->plugin_ok = true;
    } else if (strstr(m, "Failed to initialize NET plugin") || strstr(m, "Failed to initialize any NET plugin")) {
        /* "Failed to initialize NET plugin IB" is normal with NCCL_IB_DISABLE=1 or
         * no HCA: a failure only when no plugin came up at all (see to_json) */
        snprintf(l->plugin_detail + strlen(l->plugin_detail), sizeof l->plugin_detail - strlen(l->plugin_detail),
                 "%s%s", l->plugin_detail[0] ? "; " : "", m);
        if (strstr(m, "any NET plugin"))
            l->plugin_failed = true;
        l->plugin_tried_fail = true;
    } else if (pf_str_startswith(m, "Channel ")) {
        parse_channel(l, m);
    } else if (pf_str_startswith(m, "Connected all rings")) {
        l->rings_connected = true;
    } else if (strstr(m, "Init COMPLETE")) {
        l->init_complete = true;
    } else if ((v = strstr(m, " nRanks ")) && strstr(m, " nNodes ")) {
        const char *rk = strstr(m, "rank ");
        if (rk)
            l->rank = atoi(rk + 5);
        l->nranks = atoi(v + 8);
        l->nnodes = atoi(strstr(m, " nNodes ") + 8);
        const char *lr = strstr(m, " localRanks ");
        if (lr)
            l->local_ranks = atoi(lr + 12);
        l->bootstrap_done = true;
    } else if ((v = strstr(m, " set by environment to "))) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(v - m), m);
        const char *val = v + 23;
        size_t n = strlen(val);
        if (n && val[n - 1] == '.') /* integer parameters end with '.' */
            n--;
        if (strcmp(name, "NCCL_HOSTID") == 0)
            snprintf(l->hostid, sizeof l->hostid, "%.*s", (int)n, val);
        if (l->n_env < PF_NCCLLOG_MAX_ENV && !strchr(name, ' '))
            snprintf(l->env[l->n_env++], sizeof l->env[0], "%s=%.*s", name, (int)n, val);
    }
}

/* "host:pid:tid [dev] " -> host, pid; returns the rest or NULL. */
static const char *header(pf_nccllog *l, const char *s)
{
    const char *c1 = strchr(s, ':');
    if (!c1 || c1 == s || memchr(s, ' ', (size_t)(c1 - s)))
        return NULL;
    if (!isdigit((unsigned char)c1[1]))
        return NULL;
    const char *br = strstr(c1, " [");
    if (!br)
        return NULL;
    const char *end = strchr(br, ']');
    if (!end)
        return NULL;
    if (!l->host[0]) {
        snprintf(l->host, sizeof l->host, "%.*s", (int)(c1 - s), s);
        l->pid = atoi(c1 + 1);
    }
    return end[1] == ' ' ? end + 2 : end + 1;
}

void pf_nccllog_line(pf_nccllog *l, const char *line)
{
    char buf[1024];
    pf_strlcpy(buf, line, sizeof buf);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    l->lines++;
    const char *s = buf;
    /* 2.26+ WARN timestamp "[2026-12-05 07:51:23] " */
    if (s[0] == '[' && isdigit((unsigned char)s[1])) {
        const char *e = strstr(s, "] ");
        if (e && e - s < 40)
            s = e + 2;
    }
    if (pf_str_startswith(s, "NCCL version ")) {
        info(l, s);
        return;
    }
    const char *rest = header(l, s);
    if (!rest)
        return;
    const char *w = strstr(rest, "NCCL WARN ");
    if (w) {
        if (l->n_warns < PF_NCCLLOG_MAX_WARNS) {
            pf_nccllog_warn *x = &l->warns[l->n_warns++];
            snprintf(x->where, sizeof x->where, "%.*s", (int)(w > rest ? w - rest - 1 : 0), rest);
            pf_strlcpy(x->text, w + 10, sizeof x->text);
            pf_str_trim(x->text);
        }
        return;
    }
    if (pf_str_startswith(rest, "NCCL INFO "))
        info(l, rest + 10);
}

bool pf_nccllog_plugin_failed(const pf_nccllog *l)
{
    return l->plugin_failed || (l->plugin_tried_fail && !l->plugin_ok);
}

void pf_nccllog_parse(const char *text, pf_nccllog *l)
{
    pf_nccllog_init(l);
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        if (n)
            pf_nccllog_line(l, line);
        p = nl ? nl + 1 : NULL;
    }
}

json_t *pf_nccllog_to_json(const pf_nccllog *l)
{
    json_t *j = json_object();
    json_object_set_new(j, "version", l->version[0] ? pf_json_text(l->version) : json_null());
    json_object_set_new(j, "cuda", l->cuda[0] ? pf_json_text(l->cuda) : json_null());
    json_object_set_new(j, "host", l->host[0] ? pf_json_text(l->host) : json_null());
    json_object_set_new(j, "pid", l->pid ? json_integer(l->pid) : json_null());
    json_object_set_new(j, "bootstrap", l->bootstrap_if[0] ? json_pack("{s:o, s:o}", "ifname", pf_json_text(l->bootstrap_if),
                                                                        "address", pf_json_text(l->bootstrap_addr))
                                                            : json_null());
    json_t *ifs = json_array();
    for (int i = 0; i < l->n_socket_ifs; i++)
        json_array_append_new(ifs, json_pack("{s:o, s:o}", "ifname", pf_json_text(l->socket_ifs[i].name), "address",
                                             pf_json_text(l->socket_ifs[i].addr)));
    json_object_set_new(j, "socket_interfaces", ifs);
    json_object_set_new(j, "socket_threads", l->socket_threads >= 0 ? json_integer(l->socket_threads) : json_null());
    json_object_set_new(j, "socket_socks_per_thread", l->socket_socks >= 0 ? json_integer(l->socket_socks) : json_null());
    json_object_set_new(j, "network", l->network[0] ? pf_json_text(l->network) : json_null());
    json_object_set_new(j, "ib", l->ib_devices[0] ? pf_json_text(l->ib_devices)
                                 : l->ib_no_device ? json_string("no device") : json_null());
    json_object_set_new(j, "plugin", l->plugin[0] ? pf_json_text(l->plugin) : json_null());
    json_object_set_new(j, "plugin_failed", json_boolean(pf_nccllog_plugin_failed(l)));
    if (l->plugin_detail[0])
        json_object_set_new(j, "plugin_detail", pf_json_text(l->plugin_detail));
    json_object_set_new(j, "nnodes", l->nnodes >= 0 ? json_integer(l->nnodes) : json_null());
    json_object_set_new(j, "nranks", l->nranks >= 0 ? json_integer(l->nranks) : json_null());
    json_object_set_new(j, "bootstrap_done", json_boolean(l->bootstrap_done));
    json_object_set_new(j, "init_complete", json_boolean(l->init_complete));
    json_object_set_new(j, "hostid", l->hostid[0] ? pf_json_text(l->hostid) : json_null());
    json_t *tr = json_array();
    for (int i = 0; i < l->n_transports; i++)
        json_array_append_new(tr, pf_json_text(l->transports[i]));
    json_object_set_new(j, "transports", tr);
    json_t *ch = json_array();
    for (int i = 0; i < l->n_channels && i < 32; i++) {
        const pf_nccllog_channel *c = &l->channels[i];
        json_array_append_new(ch, json_pack("{s:i, s:i, s:i, s:o, s:o}", "channel", c->channel, "from", c->from, "to",
                                            c->to, "dir", pf_json_text(c->dir), "via", pf_json_text(c->transport)));
    }
    json_object_set_new(j, "channels", ch);
    json_object_set_new(j, "n_channel_lines", json_integer(l->n_channels));
    json_t *w = json_array();
    for (int i = 0; i < l->n_warns; i++)
        json_array_append_new(w, json_pack("{s:o, s:o}", "where", pf_json_text(l->warns[i].where), "text", pf_json_text(l->warns[i].text)));
    json_object_set_new(j, "warnings", w);
    json_t *e = json_array();
    for (int i = 0; i < l->n_env; i++)
        json_array_append_new(e, pf_json_text(l->env[i]));
    json_object_set_new(j, "env", e);
    return j;
}

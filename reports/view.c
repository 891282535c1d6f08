/* view.c -- see view.h. */
#include "reports/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pf_status pf_view_status(const json_t *check)
{
    const char *s = json_string_value(json_object_get(check, "status"));
    for (int i = 0; s && i < PF_STATUS_COUNT; i++)
        if (strcmp(s, pf_status_name((pf_status)i)) == 0)
            return (pf_status)i;
    return PF_ERROR;
}

const char *pf_view_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

const char *pf_view_node(const json_t *check)
{
    const char *n = pf_view_str(check, "node");
    return n ? n : PF_VIEW_CLUSTER;
}

const char *pf_view_peer(const json_t *check)
{
    return pf_view_str(check, "peer");
}

void pf_view_nodes(const json_t *run, pf_strv *out)
{
    json_t *nodes = json_object_get(run, "nodes"), *checks = json_object_get(run, "checks");
    size_t i;
    json_t *v;
    json_array_foreach(nodes, i, v) {
        const char *n = pf_view_str(v, "name");
        if (n && !pf_strv_contains(out, n))
            pf_strv_push(out, n);
    }
    bool cluster = false;
    json_array_foreach(checks, i, v) {
        const char *n = pf_view_str(v, "node");
        if (!n)
            cluster = true;
        else if (!pf_strv_contains(out, n))
            pf_strv_push(out, n);
    }
    if (cluster && !pf_strv_contains(out, PF_VIEW_CLUSTER))
        pf_strv_push(out, PF_VIEW_CLUSTER);
}

void pf_view_check_ids(const json_t *run, bool pair, pf_strv *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "checks"), i, v) {
        const char *id = pf_view_str(v, "id");
        if (id && (pf_view_peer(v) != NULL) == pair && !pf_strv_contains(out, id))
            pf_strv_push(out, id);
    }
}

const json_t *pf_view_find(const json_t *run, const char *node, const char *id, const char *peer)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "checks"), i, v) {
        const char *p = pf_view_peer(v);
        if (strcmp(pf_view_node(v), node) == 0 && strcmp(pf_view_str(v, "id"), id) == 0 &&
            ((!p && !peer) || (p && peer && strcmp(p, peer) == 0)))
            return v;
    }
    return NULL;
}

static char *ix_key(const char *node, const char *id, const char *peer)
{
    return pf_xasprintf("%s\x1f%s\x1f%s", node, id, peer ? peer : "");
}

json_t *pf_view_index(const json_t *run)
{
    json_t *ix = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "checks"), i, v) {
        char *k = ix_key(pf_view_node(v), pf_view_str(v, "id"), pf_view_peer(v));
        if (!json_object_get(ix, k)) /* the first one wins, as pf_view_find */
            json_object_set(ix, k, v);
        free(k);
    }
    return ix;
}

const json_t *pf_view_lookup(const json_t *index, const char *node, const char *id, const char *peer)
{
    char *k = ix_key(node, id, peer);
    const json_t *c = json_object_get(index, k);
    free(k);
    return c;
}

const json_t *pf_view_node_obj(const json_t *run, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "nodes"), i, v) {
        const char *n = pf_view_str(v, "name");
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

void pf_view_node_class(const json_t *run, const char *node, char *buf, size_t len)
{
    const json_t *facts = json_object_get(pf_view_node_obj(run, node), "facts");
    const json_t *gpu = json_array_get(json_object_get(json_object_get(facts, "cuda"), "gpus"), 0);
    const char *gname = pf_view_str(gpu, "name");
    const char *cc = pf_view_str(gpu, "compute_capability");
    const char *tr = pf_view_str(json_object_get(facts, "nccl_transport"), "transport");
    /* NIC class: the fastest physical interface (loopback and virtual ones skipped) */
    double best = 0;
    size_t i;
    json_t *ifc;
    json_array_foreach(json_object_get(facts, "interfaces"), i, ifc) {
        const char *kind = pf_view_str(ifc, "kind"), *name = pf_view_str(ifc, "name");
        if (json_is_true(json_object_get(ifc, "virtual")) || (kind && strcmp(kind, "loopback") == 0) ||
            (name && strcmp(name, "lo") == 0))
            continue;
        double sp = pf_view_num(ifc, "speed_mbps");
        if (!isnan(sp) && sp > best)
            best = sp;
    }
    char nic[32] = "";
    if (best > 0)
        snprintf(nic, sizeof nic, " %gG", best / 1000);
    snprintf(buf, len, "%s CC %s %s%s", gname ? gname : "no-GPU", cc ? cc : "-", tr ? tr : "unknown", nic);
}

void pf_view_counts(const json_t *run, size_t counts[PF_STATUS_COUNT])
{
    memset(counts, 0, sizeof(size_t) * PF_STATUS_COUNT);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run, "checks"), i, v) counts[pf_view_status(v)]++;
}

int pf_view_exit_code(const json_t *run)
{
    json_t *e = json_object_get(run, "exit_code");
    return json_is_integer(e) ? (int)json_integer_value(e) : -1;
}

const char *pf_view_verdict(const json_t *run, bool incomplete)
{
    size_t c[PF_STATUS_COUNT];
    pf_view_counts(run, c);
    if (c[PF_FAIL])
        return "FAIL";
    if (c[PF_ERROR])
        return "ERROR";
    if (incomplete)
        return "INCOMPLETE";
    if (c[PF_WARN])
        return "WARN";
    return "PASS";
}

double pf_view_num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

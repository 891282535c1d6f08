/* benchjson.c -- see benchjson.h. */
#include "reports/benchjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/view.h"

char *pf_benchjson_smaller_path(const char *path)
{
    if (pf_str_endswith(path, ".json"))
        return pf_xasprintf("%.*s.smaller.json", (int)(strlen(path) - 5), path);
    return pf_xasprintf("%s.smaller.json", path);
}

static void add(json_t *arr, const char *name, const char *unit, double v, const char *extra)
{
    if (isnan(v) || isinf(v))
        return;
    json_t *e = json_pack("{s:s,s:s,s:f}", "name", name, "unit", unit, "value", v);
    if (extra)
        json_object_set_new(e, "extra", json_string(extra));
    json_array_append_new(arr, e);
}

static bool smaller_unit(const char *unit, const char *id)
{
    if (unit && (!strcmp(unit, "ms") || !strcmp(unit, "us") || !strcmp(unit, "s") || !strcmp(unit, "ns")))
        return true;
    return strstr(id, "rtt") || strstr(id, "latency");
}

int pf_benchjson_render(FILE *f, const pf_loaded *l, bool bigger)
{
    const json_t *r = l->root;
    json_t *arr = json_array();
    /* Numeric checks: per node (with its class as extra). */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        double m = pf_view_num(c, "measured");
        if (isnan(m))
            continue;
        const char *unit = pf_view_str(c, "unit"), *id = pf_view_str(c, "id"), *peer = pf_view_peer(c);
        if (smaller_unit(unit, id) == bigger)
            continue;
        char cls[256];
        pf_view_node_class(r, pf_view_node(c), cls, sizeof cls);
        char *name = peer ? pf_xasprintf("%s %s -> %s", id, pf_view_node(c), peer)
                          : pf_xasprintf("%s %s", id, pf_view_node(c));
        add(arr, name, unit ? unit : "", m, cls);
        free(name);
    }
    /* Benchmark levels. */
    static const struct {
        const char *key, *unit;
        bool bigger;
    } bk[] = {{"request_throughput", "req/s", true},   {"output_throughput", "tok/s", true},
              {"total_throughput", "tok/s", true},     {"request_goodput", "req/s", true},
              {"median_ttft_ms", "ms", false},         {"p99_ttft_ms", "ms", false},
              {"median_itl_ms", "ms", false},          {"p99_itl_ms", "ms", false},
              {"median_tpot_ms", "ms", false},         {"p99_tpot_ms", "ms", false},
              {"median_e2e_latency_ms", "ms", false},  {"p99_e2e_latency_ms", "ms", false}};
    const json_t *b = json_object_get(r, "bench");
    const char *model = pf_view_str(json_object_get(b, "server"), "model");
    json_t *lv;
    json_array_foreach(json_object_get(b, "levels"), i, lv) {
        double cc = pf_view_num(lv, "max_concurrency");
        char lev[64];
        if (isnan(cc))
            snprintf(lev, sizeof lev, "unlimited");
        else
            snprintf(lev, sizeof lev, "c=%.0f", cc);
        for (size_t k = 0; k < sizeof bk / sizeof bk[0]; k++) {
            if (bk[k].bigger != bigger)
                continue;
            char *name = pf_xasprintf("bench %s %s", lev, bk[k].key);
            add(arr, name, bk[k].unit, pf_view_num(json_object_get(lv, "metrics"), bk[k].key), model);
            free(name);
        }
    }
    /* NCCL point-to-point bandwidths. */
    if (bigger) {
        json_t *e;
        json_array_foreach(json_object_get(json_object_get(r, "nccl"), "p2p"), i, e) {
            const char *a = pf_view_str(e, "from"), *bb = pf_view_str(e, "to");
            if (!a || !bb)
                continue;
            char *name = pf_xasprintf("nccl p2p %s > %s", a, bb);
            add(arr, name, "GB/s", pf_view_num(e, "gbytes_s"), NULL);
            free(name);
        }
    }
    int n = (int)json_array_size(arr);
    int rc = json_dumpf(arr, f, JSON_INDENT(2)) == 0 && fputc('\n', f) != EOF ? n : -1;
    json_decref(arr);
    return rc;
}

/* compare.c -- see compare.h.
 *
 * Which direction is worse.  A metric is "smaller is better" when its unit
 * is a time (ns, us, ms, s) or its name says latency (ttft, itl, tpot, e2e,
 * rtt, latency); everything else that preflight measures -- free memory
 * against need, throughput, goodput, bandwidth -- is "bigger is better".
 * The change is (cur - base) / |base|, sign-flipped for bigger-is-better, so
 * that a positive change always means worse.
 */
#include "reports/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/view.h"

int pf_compare_parse_pct(const char *s, double *out, pf_err *err)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || (*end && strcmp(end, "%") != 0) || !isfinite(v) || v < 0 || v > 1000)
        return pf_err_set(err, "--max-regress '%s': expected a percentage such as 10%% (0 to 1000)", s);
    *out = v / 100.0;
    return 0;
}

static bool smaller_is_better(const char *metric, const char *unit)
{
    static const char *const times[] = {"ns", "us", "\xc2\xb5s", "ms", "s"};
    for (size_t i = 0; unit && i < sizeof times / sizeof times[0]; i++)
        if (strcmp(unit, times[i]) == 0)
            return true;
    static const char *const lat[] = {"ttft", "itl", "tpot", "e2e", "rtt", "latency", "_ms", "_us"};
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        if (strstr(metric, lat[i]))
            return true;
    return false;
}

static bool wanted(const pf_compare_opts *o, const char *metric)
{
    if (!o->metrics || !o->metrics->n)
        return true;
    for (size_t i = 0; i < o->metrics->n; i++)
        if (strstr(metric, o->metrics->v[i]))
            return true;
    return false;
}

static pf_compare_row *push(pf_compare *c, const char *where, const char *matched_by, const char *metric)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->rows = pf_xrealloc(c->rows, c->cap * sizeof *c->rows);
    }
    pf_compare_row *r = &c->rows[c->n++];
    memset(r, 0, sizeof *r);
    r->where = pf_xstrdup(where);
    r->matched_by = pf_xstrdup(matched_by);
    r->metric = pf_xstrdup(metric);
    r->unit = pf_xstrdup("");
    r->change = NAN;
    return r;
}

static void metric(pf_compare *c, const pf_compare_opts *o, const char *where, const char *matched_by,
                   const char *name, const char *unit, double base, double cur)
{
    if (isnan(base) || isnan(cur) || !wanted(o, name))
        return;
    pf_compare_row *r = push(c, where, matched_by, name);
    free(r->unit);
    r->unit = pf_xstrdup(unit ? unit : "");
    r->base = base;
    r->cur = cur;
    r->bigger_better = !smaller_is_better(name, unit);
    if (base != 0)
        r->change = (cur - base) / fabs(base) * (r->bigger_better ? -1 : 1);
    else if (cur == 0)
        r->change = 0;
    if (!isnan(r->change)) {
        r->regress = r->change > o->max_regress + 1e-12;
        r->improved = r->change < -o->max_regress - 1e-12;
    }
    if (r->regress)
        c->regressions++;
}

/* Rank for "became worse": skip/pass < warn < error < fail. */
static int badness(pf_status s)
{
    switch (s) {
    case PF_FAIL: return 3;
    case PF_ERROR: return 2;
    case PF_WARN: return 1;
    default: return 0;
    }
}

/* The baseline node for a node of the new run: same name, else an unused
 * baseline node of the same class. */
static const char *match_node(const json_t *base, const json_t *run, const char *node, pf_strv *used,
                              char *how, size_t howlen)
{
    pf_strv bn = {0};
    pf_view_nodes(base, &bn);
    const char *hit = NULL;
    for (size_t i = 0; i < bn.n && !hit; i++)
        if (strcmp(bn.v[i], node) == 0) {
            hit = node;
            snprintf(how, howlen, "name");
        }
    if (!hit) {
        char want[256], have[256];
        pf_view_node_class(run, node, want, sizeof want);
        pf_strv rn = {0};
        pf_view_nodes(run, &rn);
        for (size_t i = 0; i < bn.n && !hit; i++) {
            if (pf_strv_contains(used, bn.v[i]) || pf_strv_contains(&rn, bn.v[i]))
                continue; /* taken by name or already matched */
            pf_view_node_class(base, bn.v[i], have, sizeof have);
            if (strcmp(want, have) == 0) {
                pf_strv_push(used, bn.v[i]);
                snprintf(how, howlen, "class %s, baseline %s", want, bn.v[i]);
                hit = json_string_value(json_object_get(pf_view_node_obj(base, bn.v[i]), "name"));
            }
        }
        pf_strv_free(&rn);
    }
    pf_strv_free(&bn);
    return hit;
}

static void level_key(const json_t *lv, char *buf, size_t len)
{
    double cc = pf_view_num(lv, "max_concurrency"), rr = pf_view_num(lv, "request_rate");
    if (!isnan(cc))
        snprintf(buf, len, "c=%.0f", cc);
    else if (!isnan(rr))
        snprintf(buf, len, "rate=%g", rr);
    else
        snprintf(buf, len, "unlimited");
}

static const json_t *find_level(const json_t *bench, const char *key)
{
    size_t i;
    json_t *lv;
    json_array_foreach(json_object_get(bench, "levels"), i, lv) {
        char k[64];
        level_key(lv, k, sizeof k);
        if (strcmp(k, key) == 0)
            return lv;
    }
    return NULL;
}

static void compare_bench(const json_t *b0, const json_t *b1, const pf_compare_opts *o, pf_compare *c)
{
    static const char *const keys[] = {"request_throughput", "output_throughput", "total_throughput",
                                       "median_ttft_ms", "p99_ttft_ms", "median_itl_ms", "p99_itl_ms",
                                       "median_tpot_ms", "p99_tpot_ms", "median_e2e_latency_ms",
                                       "p99_e2e_latency_ms", "request_goodput", "goodput_ratio"};
    size_t i;
    json_t *lv;
    json_array_foreach(json_object_get(b1, "levels"), i, lv) {
        char k[64];
        level_key(lv, k, sizeof k);
        const json_t *l0 = find_level(b0, k);
        if (!l0)
            continue;
        for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++) {
            char *name = pf_xasprintf("%s %s", k, keys[q]);
            metric(c, o, "bench", "name", name, strstr(keys[q], "_ms") ? "ms" : "",
                   pf_view_num(json_object_get(l0, "metrics"), keys[q]),
                   pf_view_num(json_object_get(lv, "metrics"), keys[q]));
            free(name);
        }
    }
}

static void compare_nccl(const json_t *n0, const json_t *n1, const pf_compare_opts *o, pf_compare *c)
{
    size_t i, j;
    json_t *e, *e0;
    json_array_foreach(json_object_get(n1, "p2p"), i, e) {
        const char *a = pf_view_str(e, "from"), *b = pf_view_str(e, "to");
        if (!a || !b)
            continue;
        json_array_foreach(json_object_get(n0, "p2p"), j, e0) {
            const char *a0 = pf_view_str(e0, "from"), *b0 = pf_view_str(e0, "to");
            if (a0 && b0 && strcmp(a, a0) == 0 && strcmp(b, b0) == 0) {
                char *name = pf_xasprintf("p2p %s>%s gbytes_s", a, b);
                metric(c, o, "nccl", "name", name, "GB/s", pf_view_num(e0, "gbytes_s"), pf_view_num(e, "gbytes_s"));
                free(name);
            }
        }
    }
}

void pf_compare_runs(const json_t *base, const json_t *run, const pf_compare_opts *o, pf_compare *out)
{
    memset(out, 0, sizeof *out);
    pf_strv used = {0}, nodes = {0};
    pf_view_nodes(run, &nodes);
    json_t *bix = pf_view_index(base);
    for (size_t ni = 0; ni < nodes.n; ni++) {
        const char *node = nodes.v[ni];
        char how[400];
        const char *bnode = match_node(base, run, node, &used, how, sizeof how);
        if (!bnode) {
            pf_strv_push(&out->unmatched, node);
            continue;
        }
        size_t i;
        json_t *chk;
        json_array_foreach(json_object_get(run, "checks"), i, chk) {
            if (strcmp(pf_view_node(chk), node) != 0)
                continue;
            const char *id = pf_view_str(chk, "id"), *peer = pf_view_peer(chk);
            /* a peer of a replaced node is matched by name only */
            const json_t *c0 = pf_view_lookup(bix, bnode, id, peer);
            if (!c0)
                continue;
            char *what = peer ? pf_xasprintf("%s -> %s", id, peer) : pf_xstrdup(id);
            metric(out, o, node, how, what, pf_view_str(chk, "unit"), pf_view_num(c0, "measured"),
                   pf_view_num(chk, "measured"));
            pf_status s0 = pf_view_status(c0), s1 = pf_view_status(chk);
            if (s0 != s1) {
                char *sw = pf_xasprintf("status %s", what);
                if (wanted(o, sw) || wanted(o, what)) {
                    pf_compare_row *r = push(out, node, how, sw);
                    r->is_status = true;
                    r->base_status = pf_status_name(s0);
                    r->cur_status = pf_status_name(s1);
                    r->base = r->cur = NAN;
                    r->regress = badness(s1) > badness(s0) && badness(s1) >= 2;
                    r->improved = badness(s1) < badness(s0);
                    if (r->regress)
                        out->regressions++;
                }
                free(sw);
            }
            free(what);
        }
    }
    const json_t *b0 = json_object_get(base, "bench"), *b1 = json_object_get(run, "bench");
    if (b0 && b1)
        compare_bench(b0, b1, o, out);
    const json_t *n0 = json_object_get(base, "nccl"), *n1 = json_object_get(run, "nccl");
    if (n0 && n1)
        compare_nccl(n0, n1, o, out);
    json_decref(bix);
    pf_strv_free(&used);
    pf_strv_free(&nodes);
}

void pf_compare_free(pf_compare *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->rows[i].where);
        free(c->rows[i].matched_by);
        free(c->rows[i].metric);
        free(c->rows[i].unit);
    }
    free(c->rows);
    pf_strv_free(&c->unmatched);
    memset(c, 0, sizeof *c);
}

void pf_compare_print(FILE *f, const pf_compare *c, const pf_compare_opts *o, bool all)
{
    size_t shown = 0;
    fprintf(f, "  %-10s %-16s %-40s %12s %12s %9s\n", "verdict", "where", "metric", "baseline", "this run",
            "change");
    for (size_t i = 0; i < c->n; i++) {
        const pf_compare_row *r = &c->rows[i];
        if (!all && !r->regress && !r->improved)
            continue;
        shown++;
        const char *v = r->regress ? "REGRESS" : r->improved ? "better" : "ok";
        if (r->is_status) {
            fprintf(f, "  %-10s %-16.16s %-40.40s %12s %12s %9s\n", v, r->where, r->metric, r->base_status,
                    r->cur_status, "");
        } else {
            char ch[32] = "-";
            if (!isnan(r->change))
                snprintf(ch, sizeof ch, "%+.1f%%", r->base != 0 ? (r->cur - r->base) / fabs(r->base) * 100 : 0.0);
            fprintf(f, "  %-10s %-16.16s %-40.40s %12.4g %12.4g %9s\n", v, r->where, r->metric, r->base, r->cur, ch);
        }
        if (strcmp(r->matched_by, "name") != 0)
            fprintf(f, "             matched by %s\n", r->matched_by);
    }
    if (!shown)
        fprintf(f, "  (no metric changed by more than %.0f%%; %zu compared)\n", o->max_regress * 100, c->n);
    for (size_t i = 0; i < c->unmatched.n; i++)
        fprintf(f, "  node %s has no baseline counterpart (no node of that name or class)\n", c->unmatched.v[i]);
    fprintf(f, "\n%zu compared, %zu regression%s beyond %.0f%%\n", c->n, c->regressions,
            c->regressions == 1 ? "" : "s", o->max_regress * 100);
}

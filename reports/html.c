/* html.c -- see html.h.
 *
 * How the page is put together.  The C code writes plain HTML for every
 * number and verdict (tables, <details> for evidence), and collects chart
 * specifications as JSON (Chart.js's own config format).  At the end the
 * specs go into a <script type="application/json"> block -- data, never
 * executed -- followed by Chart.js itself and twenty lines of start-up code
 * that draw each chart into its placeholder.  Without JavaScript the
 * placeholders say so and the tables next to them hold the same numbers.
 *
 * Escaping.  Text from the record goes through esc() (the five HTML
 * specials; control characters dropped) and is cut at a bound so that a
 * hostile or huge string cannot blow up the page.  JSON inside <script> has
 * '<', '>' and '&' written as \u003c etc., so no string can close the
 * script element.
 *
 * Colours: the Okabe-Ito palette (safe for the common colour-vision
 * deficiencies), and every status is also written as a word and a symbol.
 */
#include "reports/html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/compare.h"
#include "reports/view.h"

/* Built from Debian's chart.min.js by cmake/embed.cmake (empty without it). */
extern const unsigned char pf_chartjs[];
extern const size_t pf_chartjs_len;
extern const char pf_chartjs_version[];

#define TEXT_MAX 4000     /* bytes of a summary or remedy shown */
#define EVIDENCE_MAX 3000 /* bytes of pretty-printed evidence per cell */
#define DRIFT_VAL_MAX 160 /* bytes of one fact value in the drift table */

bool pf_html_have_charts(void)
{
    return pf_chartjs_len > 0;
}

typedef struct page {
    FILE *f;
    json_t *charts; /* array of {id, config} */
    json_t *ix;     /* pf_view_index of the run being rendered */
    int next_chart;
    bool strict;
} page;

/* ---- escaping ---------------------------------------------------------- */

/* Length of s cut to at most max bytes on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void esc_n(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (ch >= 0x20 || ch == '\n' || ch == '\t')
                fputc(ch, f);
            else
                fputc(' ', f);
        }
    }
}

/* Escaped, cut at max bytes with a note of what was left out. */
static void esc_max(FILE *f, const char *s, size_t max)
{
    if (!s)
        return;
    size_t len = strlen(s), n = utf8_cut(s, len, max);
    esc_n(f, s, n);
    if (n < len)
        fprintf(f, "<span class=\"cut\"> &hellip; (%zu more bytes in the record)</span>", len - n);
}

static void esc(FILE *f, const char *s)
{
    esc_max(f, s, TEXT_MAX);
}

/* JSON text safe inside <script>: no '<', '>' or '&' survive. */
static void script_json(FILE *f, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    for (const char *p = s; p && *p; p++) {
        if (*p == '<')
            fputs("\\u003c", f);
        else if (*p == '>')
            fputs("\\u003e", f);
        else if (*p == '&')
            fputs("\\u0026", f);
        else
            fputc(*p, f);
    }
    free(s);
}

/* ---- statuses ---------------------------------------------------------- */

static const char *sym(pf_status st)
{
    switch (st) {
    case PF_PASS: return "&#10003;";  /* check mark */
    case PF_WARN: return "!";
    case PF_FAIL: return "&#10007;";  /* ballot x */
    case PF_SKIP: return "&ndash;";
    default: return "?";
    }
}

static void status_badge(FILE *f, pf_status st)
{
    char up[8];
    const char *n = pf_status_name(st);
    size_t i = 0;
    for (; n[i] && i < sizeof up - 1; i++)
        up[i] = (char)(n[i] - 32);
    up[i] = '\0';
    fprintf(f, "<span class=\"b s-%s\">%s %s</span>", n, sym(st), up);
}

static void num(FILE *f, double v)
{
    if (isnan(v))
        fputs("&ndash;", f);
    else if (fabs(v) >= 1000 || v == floor(v))
        fprintf(f, "%.0f", v);
    else if (fabs(v) >= 10)
        fprintf(f, "%.1f", v);
    else
        fprintf(f, "%.3g", v);
}

/* ---- charts ------------------------------------------------------------ */

/* Reserve a placeholder for a chart and queue its config (stolen). */
static void chart(page *p, const char *title, json_t *config)
{
    char id[32];
    snprintf(id, sizeof id, "chart-%d", p->next_chart++);
    fprintf(p->f, "<figure class=\"chart\"><figcaption>");
    esc(p->f, title);
    fprintf(p->f, "</figcaption><div class=\"cbox\" id=\"%s\"><p class=\"nojs\">%s</p></div></figure>\n",
            id, pf_html_have_charts() ? "Chart drawn by JavaScript; the table has the same numbers."
                                      : "Charts unavailable: this preflight was built without "
                                        "libjs-chart.js. The table has the numbers.");
    json_array_append_new(p->charts, json_pack("{s:s,s:s,s:o}", "id", id, "title", title, "config", config));
}

static json_t *xy(double x, double y)
{
    return json_pack("{s:f,s:f}", "x", x, "y", y);
}

/* A line chart config; datasets: array of {label, data:[{x,y}]}. */
static json_t *axis(const char *type, const char *label)
{
    json_t *a = json_object();
    if (type)
        json_object_set_new(a, "type", json_string(type));
    json_t *t = json_object();
    json_object_set_new(t, "display", json_true());
    json_object_set_new(t, "text", json_string(label));
    json_object_set_new(a, "title", t);
    return a;
}

/* A line chart config; datasets (stolen): array of {label, data:[{x,y}]}. */
static json_t *line_config(json_t *datasets, const char *xlabel, const char *ylabel, bool logx)
{
    json_t *scales = json_object();
    json_object_set_new(scales, "x", axis(logx ? "logarithmic" : "linear", xlabel));
    json_object_set_new(scales, "y", axis(NULL, ylabel));
    json_t *opts = json_object(), *data = json_object(), *cfg = json_object();
    json_object_set_new(opts, "scales", scales);
    json_object_set_new(data, "datasets", datasets);
    json_object_set_new(cfg, "type", json_string("line"));
    json_object_set_new(cfg, "data", data);
    json_object_set_new(cfg, "options", opts);
    return cfg;
}

/* A bar chart of one dataset (labels and values stolen). */
static json_t *bar_config(json_t *labels, json_t *vals)
{
    json_t *ds = json_pack("[{s:s,s:o}]", "label", "GB/s", "data", vals);
    json_t *data = json_pack("{s:o,s:o}", "labels", labels, "datasets", ds);
    json_t *scales = json_object();
    json_object_set_new(scales, "y", axis(NULL, "GB/s"));
    json_t *opts = json_object();
    json_object_set_new(opts, "scales", scales);
    return json_pack("{s:s,s:o,s:o}", "type", "bar", "data", data, "options", opts);
}

/* ---- sections ---------------------------------------------------------- */

static void header(page *p, const pf_loaded *l, size_t idx, size_t n)
{
    FILE *f = p->f;
    const json_t *r = l->root;
    const char *verdict = pf_view_verdict(r, l->incomplete);
    size_t c[PF_STATUS_COUNT];
    pf_view_counts(r, c);
    fprintf(f, "<header class=\"run v-%s\">", verdict);
    if (n > 1)
        fprintf(f, "<p class=\"runno\">record %zu of %zu%s</p>", idx + 1, n, idx == 0 ? " (baseline)" : "");
    fprintf(f, "<h1><span class=\"verdict\">%s</span> ", verdict);
    esc(f, pf_view_str(r, "command") ? pf_view_str(r, "command") : "(command not recorded)");
    fprintf(f, "</h1>\n<dl class=\"facts\"><dt>record</dt><dd>");
    esc(f, l->label);
    fprintf(f, "</dd><dt>when</dt><dd>");
    esc(f, pf_view_str(r, "started_at") ? pf_view_str(r, "started_at") : "unknown");
    double d = pf_view_num(r, "duration_s");
    if (!isnan(d))
        fprintf(f, " (%.1f s)", d);
    fprintf(f, "</dd><dt>where</dt><dd>");
    pf_strv nodes = {0};
    pf_view_nodes(r, &nodes);
    for (size_t i = 0; i < nodes.n && i < 8; i++) {
        fprintf(f, "%s", i ? ", " : "");
        esc_max(f, nodes.v[i], 200);
    }
    if (nodes.n > 8)
        fprintf(f, " and %zu more", nodes.n - 8);
    if (!nodes.n)
        fputs("no nodes recorded", f);
    size_t real = nodes.n - (pf_strv_contains(&nodes, PF_VIEW_CLUSTER) ? 1 : 0);
    fprintf(f, " (%zu node%s%s)</dd><dt>exit code</dt><dd>", real, real == 1 ? "" : "s",
            real < nodes.n ? " and cluster-wide checks" : "");
    int ec = pf_view_exit_code(r);
    if (ec >= 0)
        fprintf(f, "%d", ec);
    else
        fputs("not recorded", f);
    fprintf(f, "</dd><dt>checks</dt><dd>");
    for (int s = 0; s < PF_STATUS_COUNT; s++)
        fprintf(f, "%s%zu %s", s ? ", " : "", c[s], pf_status_name((pf_status)s));
    const json_t *tool = json_object_get(r, "tool");
    fprintf(f, "</dd><dt>tool</dt><dd>");
    esc_max(f, pf_view_str(tool, "name"), 100);
    fputc(' ', f);
    esc_max(f, pf_view_str(tool, "version"), 100);
    fprintf(f, "</dd></dl>\n");
    if (l->problems.n) {
        fprintf(f, "<div class=\"incomplete\" role=\"alert\"><strong>INCOMPLETE record</strong><ul>");
        for (size_t i = 0; i < l->problems.n; i++) {
            fputs("<li>", f);
            esc(f, l->problems.v[i]);
            fputs("</li>", f);
        }
        fputs("</ul></div>\n", f);
    }
    fputs("</header>\n", f);
    pf_strv_free(&nodes);
}

/* folded: the evidence inside its own <details> (the problem list) */
static void check_detail_ex(FILE *f, const json_t *c, bool folded)
{
    fputs("<p class=\"sum\">", f);
    esc(f, pf_view_str(c, "summary"));
    fputs("</p>", f);
    double m = pf_view_num(c, "measured"), t = pf_view_num(c, "threshold");
    if (!isnan(m)) {
        fputs("<p class=\"meas\">measured ", f);
        num(f, m);
        fputc(' ', f);
        esc_max(f, pf_view_str(c, "unit"), 40);
        if (!isnan(t)) {
            fputs(", threshold ", f);
            num(f, t);
            fputc(' ', f);
            esc_max(f, pf_view_str(c, "unit"), 40);
        }
        fputs("</p>", f);
    }
    const char *fix = pf_view_str(c, "remedy");
    if (fix) {
        fputs("<p class=\"fix\"><b>fix:</b> <code>", f);
        esc(f, fix);
        fputs("</code></p>", f);
    }
    const json_t *ev = json_object_get(c, "evidence");
    if (json_object_size(ev) > 0) {
        char *s = json_dumps(ev, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
        fputs(folded ? "<details><summary>evidence</summary><pre class=\"ev\">" : "<pre class=\"ev\">", f);
        esc_max(f, s, EVIDENCE_MAX);
        fputs(folded ? "</pre></details>" : "</pre>", f);
        free(s);
    }
}

static void check_detail(FILE *f, const json_t *c)
{
    check_detail_ex(f, c, false);
}

static void problem_item(FILE *f, const json_t *c)
{
    pf_status st = pf_view_status(c);
    fputs("<li>", f);
    status_badge(f, st);
    fputs(" <b>", f);
    esc_max(f, pf_view_node(c), 200);
    if (pf_view_peer(c)) {
        fputs(" &rarr; ", f);
        esc_max(f, pf_view_peer(c), 200);
    }
    fputs(" / ", f);
    esc_max(f, pf_view_str(c, "id"), 200);
    fputs("</b>", f);
    check_detail_ex(f, c, true);
    fputs("</li>\n", f);
}

/* Problems: fail and error first, then warnings; pairwise ones in a fold of
 * their own when there are many (one bad link shows up from every peer). */
#define PAIR_PROBLEMS_OPEN 8
#define PROBLEMS_MAX 400
static void problems(page *p, const json_t *r, const char *pre)
{
    FILE *f = p->f;
    size_t i, shown = 0, npair = 0, left = 0;
    json_t *c;
    fprintf(f, "<section id=\"%sproblems\"><h2>Problems and fixes</h2>\n", pre);
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        pf_status st = pf_view_status(c);
        if (st != PF_PASS && st != PF_SKIP && pf_view_peer(c))
            npair++;
    }
    for (int pass = 0; pass < 4; pass++) { /* node fail/error, node warn, pair fail/error, pair warn */
        bool pairs_pass = pass >= 2, warn_pass = pass % 2 == 1;
        if (pass == 2 && npair > PAIR_PROBLEMS_OPEN) {
            if (shown)
                fputs("</ol>", f);
            fprintf(f, "<details><summary>%zu problems between nodes (the matrices below show them at a "
                       "glance)</summary>", npair);
            shown = 0;
        }
        json_array_foreach(json_object_get(r, "checks"), i, c) {
            pf_status st = pf_view_status(c);
            if (st == PF_PASS || st == PF_SKIP || (pf_view_peer(c) != NULL) != pairs_pass ||
                (st == PF_WARN) != warn_pass)
                continue;
            if (shown >= PROBLEMS_MAX) {
                left++;
                continue;
            }
            if (!shown++)
                fputs("<ol class=\"problems\">", f);
            problem_item(f, c);
        }
    }
    if (shown)
        fputs("</ol>", f);
    if (npair > PAIR_PROBLEMS_OPEN)
        fputs("</details>", f);
    if (left)
        fprintf(f, "<p>%zu more problems are in the record.</p>", left);
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        pf_status st = pf_view_status(c);
        if (st != PF_PASS && st != PF_SKIP)
            goto out;
    }
    fputs("<p>No check failed, warned or errored.</p>", f);
out:
    fputs("</section>\n", f);
}

static void grid(page *p, const json_t *r, const char *pre)
{
    FILE *f = p->f;
    pf_strv nodes = {0}, ids = {0};
    pf_view_nodes(r, &nodes);
    pf_view_check_ids(r, false, &ids);
    fprintf(f, "<section id=\"%sgrid\"><h2>Nodes &times; checks</h2>\n", pre);
    if (!ids.n) {
        fputs("<p>No per-node checks in this record.</p></section>\n", f);
        goto out;
    }
    fputs("<p class=\"hint\">Each cell opens its summary, measurement, fix and evidence.</p>"
          "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th scope=\"col\">node</th>", f);
    for (size_t j = 0; j < ids.n; j++) {
        fputs("<th scope=\"col\">", f);
        esc_max(f, ids.v[j], 200);
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>\n", f);
    for (size_t i = 0; i < nodes.n; i++) {
        char cls[256];
        pf_view_node_class(r, nodes.v[i], cls, sizeof cls);
        fputs("<tr><th scope=\"row\">", f);
        esc_max(f, nodes.v[i], 200);
        if (strcmp(nodes.v[i], PF_VIEW_CLUSTER) != 0) {
            fputs("<br><small>", f);
            esc_max(f, cls, 200);
            fputs("</small>", f);
        }
        fputs("</th>", f);
        for (size_t j = 0; j < ids.n; j++) {
            const json_t *c = pf_view_lookup(p->ix, nodes.v[i], ids.v[j], NULL);
            if (!c) {
                fputs("<td class=\"none\">&middot;</td>", f);
                continue;
            }
            pf_status st = pf_view_status(c);
            fprintf(f, "<td class=\"s-%s\"><details><summary>", pf_status_name(st));
            status_badge(f, st);
            fputs("</summary>", f);
            check_detail(f, c);
            fputs("</details></td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div></section>\n", f);
out:
    pf_strv_free(&nodes);
    pf_strv_free(&ids);
}

/* Heat class h0..h5 for v in [lo, hi] (viridis steps, see the CSS; 0 = worst). */
static int heat(double v, double lo, double hi, bool bigger_better)
{
    double x = hi > lo ? (v - lo) / (hi - lo) : 1.0;
    if (!bigger_better)
        x = 1.0 - x;
    int k = (int)(x * 5.999);
    return k < 0 ? 0 : k > 5 ? 5 : k;
}

/* A number or boolean (1/0) of a check's evidence, else NAN. */
static double ev_value(const json_t *c, const char *key)
{
    const json_t *v = json_object_get(json_object_get(c, "evidence"), key);
    if (json_is_boolean(v))
        return json_is_true(v) ? 1 : 0;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One matrix: rows = nodes, columns = nodes; cell from check (status, value). */
static void matrix(page *p, const json_t *r, const pf_strv *nodes, const char *id, const char *key,
                   const char *title)
{
    FILE *f = p->f;
    double lo = INFINITY, hi = -INFINITY;
    const char *unit = NULL;
    bool smaller = key && (strstr(key, "rtt") || strstr(key, "_us") || strstr(key, "_ms") ||
                           strstr(key, "loss"));
    for (size_t i = 0; i < nodes->n; i++)
        for (size_t j = 0; j < nodes->n; j++) {
            const json_t *c = pf_view_lookup(p->ix, nodes->v[i], id, nodes->v[j]);
            double v = key ? ev_value(c, key) : pf_view_num(c, "measured");
            if (c && !key && !unit)
                unit = pf_view_str(c, "unit");
            if (!isnan(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    fputs("<h3>", f);
    esc_max(f, title, 300);
    fputs("</h3><div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>from \\ to</th>", f);
    for (size_t j = 0; j < nodes->n; j++) {
        fputs("<th scope=\"col\">", f);
        esc_max(f, nodes->v[j], 60);
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>", f);
    for (size_t i = 0; i < nodes->n; i++) {
        fputs("<tr><th scope=\"row\">", f);
        esc_max(f, nodes->v[i], 60);
        fputs("</th>", f);
        for (size_t j = 0; j < nodes->n; j++) {
            const json_t *c = pf_view_lookup(p->ix, nodes->v[i], id, nodes->v[j]);
            if (!c) {
                fputs(i == j ? "<td class=\"diag\"></td>" : "<td class=\"none\">&middot;</td>", f);
                continue;
            }
            pf_status st = pf_view_status(c);
            double v = key ? ev_value(c, key) : pf_view_num(c, "measured");
            const json_t *raw = key ? json_object_get(json_object_get(c, "evidence"), key) : NULL;
            if (json_is_boolean(raw)) /* yes is good, whatever the others say */
                fprintf(f, "<td class=\"h%d\">", json_is_true(raw) ? 5 : 0);
            else if (key && !isnan(v)) /* the value is the content; the summary is in the status matrix */
                fprintf(f, "<td class=\"h%d\">", heat(v, lo, hi, !smaller));
            else {
                fprintf(f, "<td class=\"s-%s\" title=\"", pf_status_name(st));
                esc_max(f, pf_view_str(c, "summary"), 300);
                fputs("\">", f);
            }
            if (!key)
                fprintf(f, "<span class=\"sy\">%s</span> %s ", sym(st), pf_status_name(st));
            if (json_is_boolean(raw))
                fputs(json_is_true(raw) ? "yes" : "<b>NO</b>", f);
            else if (!isnan(v))
                num(f, v);
            fputs("</td>", f);
        }
        fputs("</tr>", f);
    }
    fputs("</tbody></table></div>", f);
    if (!key && unit) {
        fputs("<p class=\"hint\">values: measured, in ", f);
        esc_max(f, unit, 40);
        fputs("</p>", f);
    }
    if (key && lo <= hi) {
        fputs("<p class=\"hint\">", f);
        fprintf(f, "%s; range ", smaller ? "lower is better (lighter = better)" : "higher is better (lighter = better)");
        num(f, lo);
        fputs(" &ndash; ", f);
        num(f, hi);
        fputs("</p>", f);
    }
    fputc('\n', f);
}

static void pairs(page *p, const json_t *r, const char *pre)
{
    pf_strv ids = {0}, nodes = {0};
    pf_view_check_ids(r, true, &ids);
    if (!ids.n)
        goto out;
    pf_strv all = {0};
    pf_view_nodes(r, &all);
    for (size_t i = 0; i < all.n; i++) /* cluster-wide checks have no place in a matrix */
        if (strcmp(all.v[i], PF_VIEW_CLUSTER) != 0)
            pf_strv_push(&nodes, all.v[i]);
    pf_strv_free(&all);
    fprintf(p->f, "<section id=\"%spairs\"><h2>Between nodes</h2>\n", pre);
    for (size_t k = 0; k < ids.n; k++) {
        matrix(p, r, &nodes, ids.v[k], NULL, ids.v[k]);
        /* numeric evidence keys of this check: one heatmap each (at most 6) */
        pf_strv keys = {0};
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(r, "checks"), i, c) {
            if (!pf_view_peer(c) || strcmp(pf_view_str(c, "id"), ids.v[k]) != 0)
                continue;
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(c, "evidence"), key, v) {
                if ((json_is_number(v) || json_is_boolean(v)) && keys.n < 6 && !pf_strv_contains(&keys, key))
                    pf_strv_push(&keys, key);
            }
        }
        for (size_t q = 0; q < keys.n; q++) {
            char *t = pf_xasprintf("%s: %s", ids.v[k], keys.v[q]);
            matrix(p, r, &nodes, ids.v[k], keys.v[q], t);
            free(t);
        }
        pf_strv_free(&keys);
    }
    fputs("</section>\n", p->f);
out:
    pf_strv_free(&ids);
    pf_strv_free(&nodes);
}

/* The "nccl" section: p2p bandwidth along the pipeline as a matrix and a
 * chart, and the rest of the section as evidence. */
static void nccl(page *p, const json_t *r, const char *pre)
{
    const json_t *s = json_object_get(r, "nccl");
    if (!s)
        return;
    FILE *f = p->f;
    fprintf(f, "<section id=\"%snccl\"><h2>NCCL</h2>\n", pre);
    const json_t *p2p = json_object_get(s, "p2p");
    if (json_array_size(p2p)) {
        fputs("<h3>Point-to-point bandwidth along the pipeline</h3><table class=\"data\"><thead><tr>"
              "<th>from</th><th>to</th><th>bandwidth (GB/s)</th><th>status</th></tr></thead><tbody>", f);
        json_t *labels = json_array(), *vals = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(p2p, i, e) {
            const char *a = pf_view_str(e, "from") ? pf_view_str(e, "from") : pf_view_str(e, "src");
            const char *b = pf_view_str(e, "to") ? pf_view_str(e, "to") : pf_view_str(e, "dst");
            double bw = pf_view_num(e, "gbytes_s");
            if (isnan(bw))
                bw = pf_view_num(e, "busbw_gbytes_s");
            const char *st = pf_view_str(e, "status");
            fputs("<tr><td>", f);
            esc_max(f, a ? a : "?", 200);
            fputs("</td><td>", f);
            esc_max(f, b ? b : "?", 200);
            fputs("</td><td class=\"n\">", f);
            num(f, bw);
            fputs("</td><td>", f);
            esc_max(f, st ? st : "", 40);
            fputs("</td></tr>", f);
            char *lab = pf_xasprintf("%.40s > %.40s", a ? a : "?", b ? b : "?");
            json_array_append_new(labels, json_string(lab));
            free(lab);
            json_array_append_new(vals, isnan(bw) ? json_null() : json_real(bw));
        }
        fputs("</tbody></table>", f);
        chart(p, "NCCL p2p bandwidth per pipeline hop (GB/s)",
              bar_config(labels, vals));
    }
    char *s2 = json_dumps(s, JSON_INDENT(1) | JSON_SORT_KEYS);
    fputs("<details><summary>the whole nccl section</summary><pre class=\"ev\">", f);
    esc_max(f, s2, 20000);
    fputs("</pre></details></section>\n", f);
    free(s2);
}

/* Flatten facts into path -> short string (arrays of named objects keyed by
 * name, so interfaces line up across nodes; GPUs by position). */
static void flatten(const json_t *v, const char *path, int depth, json_t *out)
{
    if (json_object_size(out) > 4000)
        return;
    if (json_is_object(v) && depth < 5) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            char *pp = *path ? pf_xasprintf("%s.%s", path, k) : pf_xstrdup(k);
            flatten(x, pp, depth + 1, out);
            free(pp);
        }
        return;
    }
    if (json_is_array(v) && depth < 5 && json_array_size(v) <= 64) {
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x) {
            /* elements with an ordinal (GPUs) line up by it, named ones
             * (interfaces) by name, the rest by position */
            const char *nm = json_object_get(x, "ordinal") ? NULL : pf_view_str(x, "name");
            char *pp = nm ? pf_xasprintf("%s[%.60s]", path, nm) : pf_xasprintf("%s[%zu]", path, i);
            flatten(x, pp, depth + 1, out);
            free(pp);
        }
        if (json_array_size(v) == 0)
            json_object_set_new(out, path, json_string("[]"));
        return;
    }
    char *s = json_is_string(v) ? pf_xstrdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_object_set_new(out, path, json_string(s ? s : "?"));
    free(s);
}

/* Keys that differ between machines by design. */
static bool identity_key(const char *path)
{
    static const char *const ids[] = {"hostname", "boot_id", "mac", "address", "ifindex", "pci_bus_id",
                                      "host_hash", "uuid", "seconds", "pid"};
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strstr(last, ids[i]))
            return true;
    return false;
}

static void drift(page *p, const json_t *r, const char *pre)
{
    const json_t *nodes = json_object_get(r, "nodes");
    size_t n = json_array_size(nodes);
    if (n < 2)
        return;
    FILE *f = p->f;
    json_t **flat = pf_xcalloc(n, sizeof *flat);
    json_t *order = json_object(); /* union of paths, first-seen order */
    for (size_t i = 0; i < n; i++) {
        flat[i] = json_object();
        flatten(json_object_get(json_array_get(nodes, i), "facts"), "", 0, flat[i]);
        const char *k;
        json_t *v;
        json_object_foreach(flat[i], k, v) {
            if (!json_object_get(order, k))
                json_object_set_new(order, k, json_true());
        }
    }
    fprintf(f, "<section id=\"%sdrift\"><h2>Drift across nodes</h2>\n", pre);
    size_t ndiff = 0, nsame = 0, nident = 0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 0)
            fputs("<div class=\"scroll\"><table class=\"data drift\"><thead><tr><th>fact</th>", f);
        else if (pass == 1)
            fputs("<details><summary>facts that differ by design (names, addresses, ids)</summary>"
                  "<div class=\"scroll\"><table class=\"data drift\"><thead><tr><th>fact</th>", f);
        else
            fputs("<details><summary>facts equal on every node</summary><table class=\"data\">"
                  "<thead><tr><th>fact</th><th>value</th></tr></thead><tbody>", f);
        if (pass < 2) {
            for (size_t i = 0; i < n; i++) {
                fputs("<th>", f);
                esc_max(f, pf_view_str(json_array_get(nodes, i), "name"), 60);
                fputs("</th>", f);
            }
            fputs("</tr></thead><tbody>", f);
        }
        const char *k;
        json_t *unused;
        json_object_foreach(order, k, unused) {
            const char *v0 = json_string_value(json_object_get(flat[0], k));
            bool same = true;
            for (size_t i = 1; i < n && same; i++) {
                const char *vi = json_string_value(json_object_get(flat[i], k));
                same = (v0 && vi && strcmp(v0, vi) == 0) || (!v0 && !vi);
            }
            bool ident = !same && identity_key(k);
            if ((pass == 0 && (same || ident)) || (pass == 1 && !ident) || (pass == 2 && !same))
                continue;
            *(pass == 0 ? &ndiff : pass == 1 ? &nident : &nsame) += 1;
            fputs("<tr><th scope=\"row\">", f);
            esc_max(f, k, 200);
            fputs("</th>", f);
            for (size_t i = 0; i < (pass == 2 ? 1 : n); i++) {
                const char *vi = json_string_value(json_object_get(flat[i], k));
                fprintf(f, "<td%s>", pass == 0 && (!vi || !v0 || strcmp(vi, v0) != 0) ? " class=\"diff\"" : "");
                if (vi)
                    esc_max(f, vi, DRIFT_VAL_MAX);
                else
                    fputs("<i>absent</i>", f);
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        size_t rows = pass == 0 ? ndiff : pass == 1 ? nident : nsame;
        if (!rows)
            fprintf(f, "<tr><td colspan=\"%zu\"><i>none</i></td></tr>", pass == 2 ? (size_t)2 : n + 1);
        fputs(pass == 0 ? "</tbody></table></div>" : pass == 1 ? "</tbody></table></div></details>"
                                                               : "</tbody></table></details>", f);
        if (pass == 0 && !ndiff)
            fputs("<p>No fact differs between the nodes (apart from names and addresses).</p>", f);
    }
    fprintf(f, "<p class=\"hint\">%zu facts differ, %zu differ by design, %zu are equal on all %zu nodes. "
               "Cells that differ from the first node are marked <span class=\"diff\">like this</span>.</p>"
               "</section>\n", ndiff, nident, nsame, n);
    for (size_t i = 0; i < n; i++)
        json_decref(flat[i]);
    free(flat);
    json_decref(order);
}

/* Add one library verdict for one target to the per-node table. */
static void cov_add(json_t *tab, json_t *targets, const char *target, const json_t *lib)
{
    const char *path = pf_view_str(lib, "path");
    if (!path || !target)
        return;
    if (!json_object_get(targets, target))
        json_object_set_new(targets, target, json_string(pf_view_str(lib, "device") ? pf_view_str(lib, "device") : ""));
    json_t *row = json_object_get(tab, path);
    if (!row) {
        row = json_object();
        json_object_set_new(tab, path, row);
    }
    json_object_set(row, target, (json_t *)lib);
}

/* Kernel coverage per node: library x target.  gpu.kernels evidence has
 * targets[] {target, device, libraries[] {path, verdict, status, ...}};
 * `preflight kernels` has one check per file whose targets[] are the
 * per-target verdicts themselves ({path, target, device, verdict, ...}). */
static void kernels(page *p, const json_t *r, const char *pre)
{
    FILE *f = p->f;
    json_t *per_node = json_object(); /* node -> {"t": {target: device}, "l": {path: {target: lib}}} */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        const char *id = pf_view_str(c, "id");
        if (strcmp(id, "gpu.kernels") != 0 && !pf_str_startswith(id, "kernels."))
            continue;
        const json_t *targets = json_object_get(json_object_get(c, "evidence"), "targets");
        if (!json_array_size(targets))
            continue;
        json_t *n = json_object_get(per_node, pf_view_node(c));
        if (!n) {
            n = json_pack("{s:o,s:o}", "t", json_object(), "l", json_object());
            json_object_set_new(per_node, pf_view_node(c), n);
        }
        size_t t;
        json_t *tg;
        json_array_foreach(targets, t, tg) {
            const char *target = pf_view_str(tg, "target");
            const json_t *libs = json_object_get(tg, "libraries");
            if (libs) {
                size_t q;
                json_t *lib;
                json_array_foreach(libs, q, lib) {
                    if (q >= 300)
                        break;
                    json_t *l2 = json_deep_copy(lib);
                    if (!pf_view_str(l2, "device") && pf_view_str(tg, "device"))
                        json_object_set_new(l2, "device", json_string(pf_view_str(tg, "device")));
                    cov_add(json_object_get(n, "l"), json_object_get(n, "t"), target, l2);
                    json_decref(l2);
                }
            } else
                cov_add(json_object_get(n, "l"), json_object_get(n, "t"), target, tg);
        }
    }
    if (json_object_size(per_node))
        fprintf(f, "<section id=\"%skernels\"><h2>Kernel coverage</h2>\n", pre);
    const char *node;
    json_t *n;
    json_object_foreach(per_node, node, n) {
        json_t *targets = json_object_get(n, "t"), *libs = json_object_get(n, "l");
        fputs("<h3>", f);
        esc_max(f, node, 200);
        fputs("</h3><div class=\"scroll\"><table class=\"data\"><thead><tr><th>library</th>", f);
        const char *target;
        json_t *dev;
        json_object_foreach(targets, target, dev) {
            fputs("<th>", f);
            esc_max(f, target, 40);
            if (json_string_length(dev)) {
                fputs("<br><small>", f);
                esc_max(f, json_string_value(dev), 60);
                fputs("</small>", f);
            }
            fputs("</th>", f);
        }
        fputs("</tr></thead><tbody>", f);
        const char *path;
        json_t *row;
        json_object_foreach(libs, path, row) {
            const char *base = strrchr(path, '/');
            fputs("<tr><th scope=\"row\" title=\"", f);
            esc_max(f, path, 400);
            fputs("\">", f);
            esc_max(f, base ? base + 1 : path, 120);
            fputs("</th>", f);
            json_object_foreach(targets, target, dev) {
                const json_t *hit = json_object_get(row, target);
                const char *st = pf_view_str(hit, "status");
                const char *verdict = pf_view_str(hit, "verdict");
                /* the class comes from a fixed list, never from the record */
                const char *cls = "skip";
                for (int k = 0; st && k < PF_STATUS_COUNT; k++)
                    if (strcmp(st, pf_status_name((pf_status)k)) == 0)
                        cls = pf_status_name((pf_status)k);
                fprintf(f, "<td class=\"s-%s\">", cls);
                esc_max(f, verdict ? verdict : "-", 40);
                double share = pf_view_num(hit, "missing_share");
                if (!isnan(share) && share > 0)
                    fprintf(f, " (%.0f%% missing)", share * 100);
                fputs("</td>", f);
            }
            fputs("</tr>", f);
        }
        fputs("</tbody></table></div>\n", f);
    }
    if (json_object_size(per_node))
        fputs("</section>\n", f);
    json_decref(per_node);
}

/* ---- benchmark ----------------------------------------------------------- */

static void level_label(const json_t *lv, char *buf, size_t len)
{
    double c = pf_view_num(lv, "max_concurrency"), rr = pf_view_num(lv, "request_rate");
    if (!isnan(c))
        snprintf(buf, len, "c=%.0f", c);
    else if (!isnan(rr))
        snprintf(buf, len, "rate=%g", rr);
    else
        snprintf(buf, len, "unlimited");
}

static void bench(page *p, const json_t *r, const char *pre)
{
    const json_t *b = json_object_get(r, "bench");
    if (!b)
        return;
    FILE *f = p->f;
    const json_t *levels = json_object_get(b, "levels");
    fprintf(f, "<section id=\"%sbench\"><h2>Serving benchmark</h2>\n<p>", pre);
    esc_max(f, pf_view_str(b, "endpoint_url"), 400);
    const char *model = pf_view_str(json_object_get(b, "server"), "model");
    if (model) {
        fputs(" &middot; model ", f);
        esc_max(f, model, 200);
    }
    fprintf(f, " &middot; %zu level%s</p>\n", json_array_size(levels), json_array_size(levels) == 1 ? "" : "s");
    if (!json_array_size(levels)) {
        fputs("<p>No level finished.</p></section>\n", f);
        return;
    }
    static const char *const cols[][2] = {
        {"completed", "done"}, {"failed", "failed"}, {"request_throughput", "req/s"},
        {"output_throughput", "out tok/s"}, {"median_ttft_ms", "TTFT p50 ms"}, {"p99_ttft_ms", "TTFT p99 ms"},
        {"median_itl_ms", "ITL p50 ms"}, {"p99_itl_ms", "ITL p99 ms"}, {"median_tpot_ms", "TPOT p50 ms"},
        {"p99_tpot_ms", "TPOT p99 ms"}, {"median_e2e_latency_ms", "E2E p50 ms"},
        {"p99_e2e_latency_ms", "E2E p99 ms"}, {"request_goodput", "goodput req/s"}, {"goodput_ratio", "goodput share"}};
    size_t ncol = sizeof cols / sizeof cols[0];
    fputs("<div class=\"scroll\"><table class=\"data\"><thead><tr><th>level</th>", f);
    for (size_t k = 0; k < ncol; k++)
        fprintf(f, "<th>%s</th>", cols[k][1]);
    fputs("</tr></thead><tbody>", f);
    size_t i;
    json_t *lv;
    json_array_foreach(levels, i, lv) {
        char lab[64];
        level_label(lv, lab, sizeof lab);
        const json_t *m = json_object_get(lv, "metrics");
        fprintf(f, "<tr><th scope=\"row\">%s%s</th>", lab, pf_view_str(lv, "aborted") ? " (aborted)" : "");
        for (size_t k = 0; k < ncol; k++) {
            fputs("<td class=\"n\">", f);
            num(f, pf_view_num(m, cols[k][0]));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);

    /* Latency distributions: the recorded percentiles as a quantile curve per level. */
    static const char *const lat[][2] = {{"ttft", "TTFT"}, {"itl", "ITL"}, {"tpot", "TPOT"}, {"e2e_latency", "E2E latency"}};
    static const char *const pct[] = {"median", "p90", "p95", "p99"};
    static const double pctv[] = {50, 90, 95, 99};
    fputs("<div class=\"charts\">", f);
    for (size_t q = 0; q < 4; q++) {
        json_t *ds = json_array();
        json_array_foreach(levels, i, lv) {
            char lab[64];
            level_label(lv, lab, sizeof lab);
            json_t *pts = json_array();
            for (size_t k = 0; k < 4; k++) {
                char key[64];
                snprintf(key, sizeof key, "%s_%s_ms", pct[k], lat[q][0]);
                double v = pf_view_num(json_object_get(lv, "metrics"), key);
                if (!isnan(v))
                    json_array_append_new(pts, xy(v, pctv[k]));
            }
            json_array_append_new(ds, json_pack("{s:s,s:o}", "label", lab, "data", pts));
        }
        char *t = pf_xasprintf("%s distribution (percentile vs ms)", lat[q][1]);
        chart(p, t, line_config(ds, "ms", "percentile of requests", false));
        free(t);
    }
    /* Throughput and p99 against concurrency. */
    json_t *thr = json_array(), *p99t = json_array(), *p99e = json_array(), *p99i = json_array(),
           *gp = json_array();
    bool any_gp = false, any_c = false;
    json_array_foreach(levels, i, lv) {
        double c = pf_view_num(lv, "max_concurrency");
        const json_t *m = json_object_get(lv, "metrics");
        if (isnan(c))
            continue;
        any_c = true;
        double v;
        if (!isnan(v = pf_view_num(m, "output_throughput")))
            json_array_append_new(thr, xy(c, v));
        if (!isnan(v = pf_view_num(m, "p99_ttft_ms")))
            json_array_append_new(p99t, xy(c, v));
        if (!isnan(v = pf_view_num(m, "p99_e2e_latency_ms")))
            json_array_append_new(p99e, xy(c, v));
        if (!isnan(v = pf_view_num(m, "p99_itl_ms")))
            json_array_append_new(p99i, xy(c, v));
        if (!isnan(v = pf_view_num(m, "goodput_ratio"))) {
            json_array_append_new(gp, xy(c, v * 100));
            any_gp = true;
        }
    }
    if (any_c) {
        chart(p, "Output throughput against concurrency",
              line_config(json_pack("[{s:s,s:o}]", "label", "output tok/s", "data", thr), "max concurrency",
                          "tokens/s", true));
        chart(p, "p99 latency against concurrency",
              line_config(json_pack("[{s:s,s:o},{s:s,s:o},{s:s,s:o}]", "label", "TTFT p99", "data", p99t,
                                    "label", "ITL p99", "data", p99i, "label", "E2E p99", "data", p99e),
                          "max concurrency", "ms", true));
    } else {
        json_decref(thr);
        json_decref(p99t);
        json_decref(p99e);
        json_decref(p99i);
    }
    if (any_gp)
        chart(p, "Goodput against concurrency (% of requests meeting every SLO)",
              line_config(json_pack("[{s:s,s:o}]", "label", "goodput %", "data", gp), "max concurrency",
                          "% of requests", true));
    else
        json_decref(gp);
    /* Server metrics over time (at most 8 series: the chart must stay readable). */
    const json_t *series = json_object_get(json_object_get(b, "prometheus"), "series");
    if (json_object_size(series)) {
        json_t *ds = json_array();
        const char *name;
        json_t *pts;
        size_t shown = 0;
        json_object_foreach((json_t *)series, name, pts) {
            if (shown++ >= 8)
                break;
            json_t *d = json_array();
            size_t k;
            json_t *pt;
            json_array_foreach(pts, k, pt) {
                if (k >= 2000)
                    break;
                json_t *t = json_array_get(pt, 0), *v = json_array_get(pt, 1);
                if (json_is_number(t) && json_is_number(v))
                    json_array_append_new(d, xy(json_number_value(t), json_number_value(v)));
            }
            char lab[120];
            snprintf(lab, sizeof lab, "%.110s", name);
            json_array_append_new(ds, json_pack("{s:s,s:o}", "label", lab, "data", d));
        }
        chart(p, "Server /metrics over time", line_config(ds, "seconds from start", "value", false));
        fprintf(f, "<p class=\"hint\">%zu series scraped", json_object_size(series));
        if (json_object_size(series) > 8)
            fputs(" (first 8 drawn)", f);
        fputs(".</p>", f);
    }
    fputs("</div>\n", f);
    /* Failed requests with their reasons. */
    bool any_fail = false;
    json_array_foreach(levels, i, lv) {
        const json_t *fails = json_object_get(lv, "failures");
        if (!json_object_size(fails))
            continue;
        if (!any_fail) {
            fputs("<h3>Failed requests</h3><table class=\"data\"><thead><tr><th>level</th><th>reason</th>"
                  "<th>count</th><th>examples</th></tr></thead><tbody>", f);
            any_fail = true;
        }
        char lab[64];
        level_label(lv, lab, sizeof lab);
        const char *reason;
        json_t *fr;
        json_object_foreach((json_t *)fails, reason, fr) {
            fprintf(f, "<tr><td>%s</td><td>", lab);
            esc_max(f, reason, 200);
            fputs("</td><td class=\"n\">", f);
            num(f, pf_view_num(fr, "count"));
            fputs("</td><td>", f);
            size_t k;
            json_t *ex;
            json_array_foreach(json_object_get(fr, "examples"), k, ex) {
                fputs("<code>", f);
                esc_max(f, json_string_value(ex), 300);
                fputs("</code> ", f);
            }
            fputs("</td></tr>", f);
        }
    }
    if (any_fail)
        fputs("</tbody></table>", f);
    fputs("</section>\n", f);
}

/* ---- comparison of several records ----------------------------------------- */

static void comparison(page *p, const pf_loaded *runs, size_t n)
{
    FILE *f = p->f;
    fputs("<section id=\"compare\"><h2>Comparison with the baseline</h2>\n", f);
    for (size_t k = 1; k < n; k++) {
        pf_compare cmp = {0};
        pf_compare_opts o = {.max_regress = 0.10};
        pf_compare_runs(runs[0].root, runs[k].root, &o, &cmp);
        fputs("<h3>", f);
        esc_max(f, runs[0].label, 200);
        fputs(" &rarr; ", f);
        esc_max(f, runs[k].label, 200);
        fprintf(f, ": %zu regression%s beyond 10%%</h3>", cmp.regressions, cmp.regressions == 1 ? "" : "s");
        fputs("<div class=\"scroll\"><table class=\"data\"><thead><tr><th>where</th><th>what</th><th>baseline</th>"
              "<th>this run</th><th>change</th><th>verdict</th></tr></thead><tbody>", f);
        for (size_t i = 0; i < cmp.n; i++) {
            const pf_compare_row *w = &cmp.rows[i];
            bool changed = w->is_status ? strcmp(w->base_status, w->cur_status) != 0
                                        : (!isnan(w->change) && fabs(w->change) > 1e-9);
            fprintf(f, "<tr class=\"%s\"><td>", w->regress ? "worse" : w->improved ? "better" : changed ? "changed" : "same");
            esc_max(f, w->where, 200);
            if (strcmp(w->matched_by, "name") != 0) {
                fputs(" <small>(", f);
                esc_max(f, w->matched_by, 200);
                fputs(")</small>", f);
            }
            fputs("</td><td>", f);
            esc_max(f, w->metric, 200);
            fputs("</td><td class=\"n\">", f);
            if (w->is_status) {
                fprintf(f, "%s</td><td class=\"n\">%s</td><td></td>", w->base_status, w->cur_status);
            } else {
                num(f, w->base);
                fputs("</td><td class=\"n\">", f);
                num(f, w->cur);
                fputs("</td><td class=\"n\">", f);
                if (isnan(w->change))
                    fputs("&ndash;", f);
                else
                    fprintf(f, "%+.1f%% (%s)", (w->cur - w->base) / fabs(w->base) * 100,
                            w->change > 0 ? "worse" : w->change < 0 ? "better" : "same");
                fputs("</td>", f);
            }
            fprintf(f, "<td>%s</td></tr>\n", w->regress ? "&#10007; REGRESSION" : w->improved ? "&#10003; better"
                                                           : changed ? "changed" : "same");
        }
        if (!cmp.n)
            fputs("<tr><td colspan=\"6\"><i>nothing in common to compare</i></td></tr>", f);
        fputs("</tbody></table></div>", f);
        if (cmp.unmatched.n) {
            fputs("<p>Nodes with no baseline counterpart: ", f);
            for (size_t i = 0; i < cmp.unmatched.n; i++) {
                fputs(i ? ", " : "", f);
                esc_max(f, cmp.unmatched.v[i], 200);
            }
            fputs("</p>", f);
        }
        pf_compare_free(&cmp);
    }
    fputs("</section>\n", f);
}

/* ---- the page ---------------------------------------------------------- */

static const char css[] =
    ":root{--pass:#009E73;--warn:#E69F00;--fail:#D55E00;--error:#CC79A7;--skip:#8a8a8a;--ink:#111;--bg:#fff}"
    "body{font:14px/1.45 system-ui,-apple-system,'DejaVu Sans',sans-serif;color:var(--ink);background:var(--bg);"
    "margin:0 auto;max-width:1400px;padding:0 16px 40px}"
    "h1{font-size:20px;margin:.4em 0}h2{font-size:17px;border-bottom:2px solid #ddd;margin-top:1.6em}h3{font-size:15px}"
    "header.run{border-left:8px solid var(--skip);padding:4px 12px;margin-top:12px;background:#f7f7f7}"
    "header.v-PASS{border-color:var(--pass)}header.v-WARN{border-color:var(--warn)}header.v-FAIL{border-color:var(--fail)}"
    "header.v-ERROR,header.v-INCOMPLETE{border-color:var(--error)}"
    ".verdict{font-weight:800;padding:0 6px;border:2px solid currentColor}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.4em 0}dl.facts dt{font-weight:600}"
    "dl.facts dd{margin:0;overflow-wrap:anywhere}"
    ".incomplete{border:2px dashed var(--error);padding:4px 10px;margin:6px 0;background:#fbeff6}"
    "nav{position:sticky;top:0;background:#fff;padding:4px 0;border-bottom:1px solid #ddd;z-index:2}nav a{margin-right:12px}"
    ".b{font-weight:700;white-space:nowrap;padding:0 4px;border-radius:3px}"
    ".s-pass .b,.b.s-pass{color:#00563f}.s-warn .b,.b.s-warn{color:#6b4a00}.s-fail .b,.b.s-fail{color:#8a2c00}"
    ".s-error .b,.b.s-error{color:#7a2f5c}.s-skip .b,.b.s-skip{color:#555}"
    "td.s-pass{background:#d4efe6}td.s-warn{background:#fbe8c4}td.s-fail{background:#f6d0bd}td.s-error{background:#f2d9e8}"
    "td.h0{background:#440154;color:#fff}td.h1{background:#414487;color:#fff}td.h2{background:#2a788e;color:#fff}"
    "td.h3{background:#22a884}td.h4{background:#7ad151}td.h5{background:#fde725}"
    "td.s-skip{background:#eee}td.none{color:#aaa;text-align:center}td.diag{background:repeating-linear-gradient(45deg,#eee,#eee 4px,#fff 4px,#fff 8px)}"
    "table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
    "thead th{background:#f0f0f0;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".scroll{overflow-x:auto;max-width:100%}table.grid td{min-width:70px}table.matrix td{text-align:center;white-space:nowrap}"
    "details>summary{cursor:pointer}td details[open]{min-width:340px}"
    "pre.ev{white-space:pre-wrap;overflow-wrap:anywhere;max-height:320px;overflow:auto;background:#fafafa;border:1px solid #eee;padding:4px;font-size:12px}"
    "code{overflow-wrap:anywhere}.fix code{background:#fffbe6}.cut{color:#777;font-style:italic}.hint{color:#555;font-size:12px}"
    "td.diff,span.diff{background:#fbe8c4;font-weight:600}"
    "ol.problems li{margin-bottom:8px}.sum{margin:2px 0}.meas,.fix{margin:2px 0}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}"
    "figure.chart{margin:8px 0;border:1px solid #ddd;padding:6px}figure.chart figcaption{font-weight:600}"
    ".cbox{position:relative;height:260px}.nojs{color:#666;font-style:italic}"
    "tr.worse td{background:#f6d0bd;font-weight:600}tr.better td{background:#d4efe6}tr.changed td{background:#fbe8c4}"
    "footer{margin-top:2em;color:#555;font-size:12px;border-top:1px solid #ddd}"
    "@media print{nav{display:none}.scroll{overflow:visible}pre.ev{max-height:none}.cbox{height:220px}"
    "section{break-inside:auto}h2{break-after:avoid}header.run{background:none}"
    "td,th,tr,.b{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* Start-up code: report script errors and blocked requests into the footer
 * (the headless-browser test reads them), then draw every chart. */
static const char js_head[] =
    "window.pfErrors=[];window.pfBlocked=0;"
    "window.addEventListener('error',function(e){pfErrors.push(String(e.message||e))});"
    "document.addEventListener('securitypolicyviolation',function(){pfBlocked++});"
    /* print: the problems' evidence folds open (the tables print as they are) */
    "window.addEventListener('beforeprint',function(){document.querySelectorAll('ol.problems details')"
    ".forEach(function(d){d.open=true})});";
static const char js_init[] =
    "(function(){var t0=Math.round(performance.now()),out=document.getElementById('pf-selftest'),drawn=0,"
    "m=/^#view=([a-z]+)$/.exec(location.hash);"
    "if(m){document.querySelectorAll('section,header.run,nav').forEach(function(e){"
    "if(!(e.id&&e.id.slice(-m[1].length-1)==='-'+m[1])&&e.id!==m[1])e.style.display='none';});}"
    "pal=['#0072B2','#E69F00','#009E73','#CC79A7','#56B4E9','#D55E00','#F0E442','#000000'];"
    "var specs=[];try{specs=JSON.parse(document.getElementById('pf-charts').textContent);"
    "if(typeof Chart!=='undefined'){Chart.defaults.animation=false;Chart.defaults.maintainAspectRatio=false;"
    "Chart.defaults.font.family=\"system-ui,'DejaVu Sans',sans-serif\";"
    "specs.forEach(function(s){var box=document.getElementById(s.id);if(!box)return;box.textContent='';"
    "var c=document.createElement('canvas');c.setAttribute('role','img');c.setAttribute('aria-label',s.title);"
    "box.appendChild(c);(s.config.data.datasets||[]).forEach(function(d,i){var k=pal[i%pal.length];"
    "d.borderColor=k;d.backgroundColor=k;d.pointStyle=['circle','rect','triangle','rectRot','star','cross'][i%6];});"
    "new Chart(c,s.config);drawn++;});}}catch(e){pfErrors.push(String(e))}"
    "var painted=0,visible=0;document.querySelectorAll('.cbox canvas').forEach(function(c){"
    "if(!c.offsetParent||!c.width)return;visible++;try{"
    "var d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;"
    "for(var i=3;i<d.length;i+=4)if(d[i]){painted++;break;}}catch(e){}});"
    "var res=performance.getEntriesByType('resource').length;"
    "out.setAttribute('data-charts',drawn);out.setAttribute('data-painted',painted);"
    "out.setAttribute('data-visible',visible);out.setAttribute('data-parsed-ms',t0);"
    "out.setAttribute('data-specs',specs.length);out.setAttribute('data-errors',pfErrors.length);"
    "out.setAttribute('data-blocked',pfBlocked);out.setAttribute('data-resources',res);"
    "out.setAttribute('data-grid-cells',document.querySelectorAll('table.grid td').length);"
    "out.setAttribute('data-ready-ms',Math.round(performance.now()));"
    "out.textContent='page self-check: '+drawn+' chart(s) drawn, '+pfErrors.length+' script error(s), '+"
    "res+' external request(s), ready in '+Math.round(performance.now())+' ms';"
    "if(pfErrors.length)out.textContent+=': '+pfErrors.join('; ');})();";

int pf_html_render(FILE *f, const pf_loaded *runs, size_t n, bool strict)
{
    page p = {.f = f, .charts = json_array(), .strict = strict};
    const char *verdict = n ? pf_view_verdict(runs[0].root, runs[0].incomplete) : "EMPTY";
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
          "<meta name=\"generator\" content=\"preflight " PF_VERSION "\">", f);
    fprintf(f, "<title>preflight %s: ", verdict);
    const char *cmd = n && pf_view_str(runs[0].root, "command") ? pf_view_str(runs[0].root, "command") : "";
    size_t clen = strlen(cmd), ccut = utf8_cut(cmd, clen, 120);
    esc_n(f, cmd, ccut); /* plain text only inside <title> */
    if (ccut < clen)
        fputs("&hellip;", f);
    fprintf(f, "</title><style>%s</style><script>%s</script></head><body>\n", css, js_head);
    fputs("<nav>", f);
    if (n > 1)
        fputs("<a href=\"#compare\">comparison</a>", f);
    for (size_t k = 0; k < n && k < 10; k++) {
        if (n > 1)
            fprintf(f, "<b>#%zu</b> ", k + 1);
        fprintf(f, "<a href=\"#r%zu-problems\">problems</a><a href=\"#r%zu-grid\">grid</a>", k, k);
        if (json_object_get(runs[k].root, "bench"))
            fprintf(f, "<a href=\"#r%zu-bench\">benchmark</a>", k);
    }
    fputs("</nav>\n", f);
    if (n > 1)
        comparison(&p, runs, n);
    for (size_t k = 0; k < n; k++) {
        char pre[32];
        snprintf(pre, sizeof pre, "r%zu-", k);
        fprintf(f, "<article id=\"r%zu\">\n", k);
        p.ix = pf_view_index(runs[k].root);
        header(&p, &runs[k], k, n);
        problems(&p, runs[k].root, pre);
        grid(&p, runs[k].root, pre);
        pairs(&p, runs[k].root, pre);
        nccl(&p, runs[k].root, pre);
        drift(&p, runs[k].root, pre);
        kernels(&p, runs[k].root, pre);
        bench(&p, runs[k].root, pre);
        fputs("</article>\n", f);
        json_decref(p.ix);
        p.ix = NULL;
    }
    fprintf(f, "<footer><p>Written by preflight %s from the run record%s. Colours: Okabe&ndash;Ito "
               "(colour-blind safe); every status is also written. ",
            PF_VERSION, n > 1 ? "s" : "");
    if (pf_html_have_charts())
        fprintf(f, "Charts: Chart.js %s (MIT licence), inlined.", pf_chartjs_version);
    else
        fputs("Charts unavailable (built without libjs-chart.js); every number is in the tables.", f);
    fputs("</p><p><output id=\"pf-selftest\">page self-check needs JavaScript</output></p></footer>\n", f);
    fputs("<script type=\"application/json\" id=\"pf-charts\">", f);
    script_json(f, p.charts);
    fputs("</script>\n", f);
    if (pf_html_have_charts()) {
        fputs("<script>", f);
        fwrite(pf_chartjs, 1, pf_chartjs_len, f);
        fputs("</script>\n", f);
    }
    fprintf(f, "<script>%s</script>\n</body></html>\n", js_init);
    json_decref(p.charts);
    return ferror(f) ? -1 : 0;
}

/* markdown.c -- see markdown.h.
 *
 * Escaping for GitHub-flavoured Markdown: text from the record can carry
 * '|' (breaks a table), '<' (raw HTML, which GitHub sanitises but other
 * readers may not), backticks, '*', '_', '[' ... so every such character is
 * backslash-escaped or written as an entity, and newlines inside a table
 * cell become <br>.  Remedies go in code spans with a fence longer than any
 * backtick run they contain.
 */
#include "reports/markdown.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/view.h"

#define MD_TEXT_MAX 600   /* bytes of a summary or remedy */
#define MD_MAX_ROWS 64    /* node rows in the table */
#define MD_MAX_PROBLEMS 20

static void md(FILE *f, const char *s, size_t max)
{
    if (!s)
        return;
    size_t len = strlen(s), n = len > max ? max : len;
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            fputs("<br>", f);
        else if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '&')
            fputs("&amp;", f);
        else if (strchr("|\\`*_[]#!", ch))
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fputc(' ', f);
        else
            fputc(ch, f);
    }
    if (n < len)
        fputs(" …", f);
}

/* A code span holding s (one line, cut): fence longer than any backtick run.
 * Used outside tables only (a '|' would split a table cell). */
static void code(FILE *f, const char *s, size_t max)
{
    size_t run = 0, best = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        best = run > best ? run : best;
    }
    for (size_t i = 0; i <= best; i++)
        fputc('`', f);
    fputc(' ', f);
    size_t len = strlen(s), n = len > max ? max : len;
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        fputc(ch < 0x20 ? ' ' : ch, f);
    }
    fputc(' ', f);
    for (size_t i = 0; i <= best; i++)
        fputc('`', f);
}

static const char *icon(pf_status st)
{
    switch (st) {
    case PF_PASS: return "✅ pass";
    case PF_WARN: return "⚠️ warn";
    case PF_FAIL: return "❌ FAIL";
    case PF_SKIP: return "➖ skip";
    default: return "❗ ERROR";
    }
}

static void one(FILE *f, const pf_loaded *l)
{
    const json_t *r = l->root;
    size_t c[PF_STATUS_COUNT];
    pf_view_counts(r, c);
    fprintf(f, "## preflight: %s\n\n", pf_view_verdict(r, l->incomplete));
    fputs("`", f);
    md(f, pf_view_str(r, "command") ? pf_view_str(r, "command") : "(command not recorded)", 300);
    fputs("` at ", f);
    md(f, pf_view_str(r, "started_at") ? pf_view_str(r, "started_at") : "unknown time", 40);
    int ec = pf_view_exit_code(r);
    fprintf(f, ", exit code %d: **%zu fail, %zu error, %zu warn**, %zu pass, %zu skip\n\n", ec, c[PF_FAIL],
            c[PF_ERROR], c[PF_WARN], c[PF_PASS], c[PF_SKIP]);
    for (size_t i = 0; i < l->problems.n; i++) {
        fputs("> **Incomplete record:** ", f);
        md(f, l->problems.v[i], MD_TEXT_MAX);
        fputs("\n", f);
    }
    if (l->problems.n)
        fputs("\n", f);

    pf_strv nodes = {0}, ids = {0};
    pf_view_nodes(r, &nodes);
    pf_view_check_ids(r, false, &ids);
    json_t *ix = pf_view_index(r);
    if (ids.n) {
        fputs("| node |", f);
        for (size_t j = 0; j < ids.n; j++) {
            fputc(' ', f);
            md(f, ids.v[j], 80);
            fputs(" |", f);
        }
        fputs("\n|---|", f);
        for (size_t j = 0; j < ids.n; j++)
            fputs("---|", f);
        fputc('\n', f);
        for (size_t i = 0; i < nodes.n && i < MD_MAX_ROWS; i++) {
            fputs("| ", f);
            md(f, nodes.v[i], 80);
            fputs(" |", f);
            for (size_t j = 0; j < ids.n; j++) {
                const json_t *ch = pf_view_lookup(ix, nodes.v[i], ids.v[j], NULL);
                fprintf(f, " %s |", ch ? icon(pf_view_status(ch)) : "");
            }
            fputc('\n', f);
        }
        if (nodes.n > MD_MAX_ROWS)
            fprintf(f, "\n(%zu more nodes in the record)\n", nodes.n - MD_MAX_ROWS);
        fputc('\n', f);
    }
    /* Pair checks that did not pass, counted per check. */
    pf_strv pids = {0};
    pf_view_check_ids(r, true, &pids);
    for (size_t k = 0; k < pids.n; k++) {
        size_t tot = 0, bad = 0;
        size_t i;
        json_t *ch;
        json_array_foreach(json_object_get(r, "checks"), i, ch) {
            if (pf_view_peer(ch) && strcmp(pf_view_str(ch, "id"), pids.v[k]) == 0) {
                tot++;
                pf_status st = pf_view_status(ch);
                bad += st == PF_FAIL || st == PF_ERROR || st == PF_WARN;
            }
        }
        fputs("- pairs `", f);
        md(f, pids.v[k], 80);
        fprintf(f, "`: %zu of %zu not passing\n", bad, tot);
    }
    if (pids.n)
        fputc('\n', f);

    /* Top problems: fail and error first, then warn. */
    size_t shown = 0, total = c[PF_FAIL] + c[PF_ERROR] + c[PF_WARN];
    if (total)
        fputs("### Problems\n\n", f);
    for (int pass = 0; pass < 2; pass++) {
        size_t i;
        json_t *ch;
        json_array_foreach(json_object_get(r, "checks"), i, ch) {
            pf_status st = pf_view_status(ch);
            bool want = pass == 0 ? (st == PF_FAIL || st == PF_ERROR) : st == PF_WARN;
            if (!want || shown >= MD_MAX_PROBLEMS)
                continue;
            shown++;
            fprintf(f, "%zu. %s **", shown, icon(st));
            md(f, pf_view_node(ch), 80);
            if (pf_view_peer(ch)) {
                fputs(" → ", f);
                md(f, pf_view_peer(ch), 80);
            }
            fputs("/", f);
            md(f, pf_view_str(ch, "id"), 80);
            fputs("**: ", f);
            md(f, pf_view_str(ch, "summary"), MD_TEXT_MAX);
            fputc('\n', f);
            const char *fix = pf_view_str(ch, "remedy");
            if (fix) {
                fputs("   - fix: ", f);
                code(f, fix, MD_TEXT_MAX);
                fputc('\n', f);
            }
        }
    }
    if (total > shown)
        fprintf(f, "\n(%zu more problems in the record)\n", total - shown);
    if (total)
        fputc('\n', f);

    /* Benchmark headline numbers. */
    const json_t *levels = json_object_get(json_object_get(r, "bench"), "levels");
    if (json_array_size(levels)) {
        fputs("### Benchmark\n\n| level | done | failed | req/s | out tok/s | TTFT p50 ms | TTFT p99 ms | "
              "ITL p99 ms | E2E p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
        size_t i;
        json_t *lv;
        json_array_foreach(levels, i, lv) {
            const json_t *m = json_object_get(lv, "metrics");
            double cc = pf_view_num(lv, "max_concurrency");
            if (isnan(cc))
                fputs("| unlimited |", f);
            else
                fprintf(f, "| c=%.0f |", cc);
            static const char *const keys[] = {"completed", "failed", "request_throughput", "output_throughput",
                                               "median_ttft_ms", "p99_ttft_ms", "p99_itl_ms", "p99_e2e_latency_ms"};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                double v = pf_view_num(m, keys[k]);
                if (isnan(v))
                    fputs(" – |", f);
                else
                    fprintf(f, " %.*f |", k < 2 ? 0 : 2, v);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
    }
    json_decref(ix);
    pf_strv_free(&nodes);
    pf_strv_free(&ids);
    pf_strv_free(&pids);
}

int pf_markdown_render(FILE *f, const pf_loaded *runs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        one(f, &runs[k]);
    return ferror(f) ? -1 : 0;
}

int pf_markdown_render_compare(FILE *f, const pf_compare *c, const pf_compare_opts *o, const char *base_label,
                               const char *run_label)
{
    fprintf(f, "## preflight compare: %s\n\n", c->regressions ? "REGRESSION" : "no regression");
    fputs("Baseline `", f);
    md(f, base_label, 200);
    fputs("`, run `", f);
    md(f, run_label, 200);
    fprintf(f, "`: %zu compared, **%zu regression%s** beyond %.0f%%.\n\n", c->n, c->regressions,
            c->regressions == 1 ? "" : "s", o->max_regress * 100);
    size_t shown = 0;
    for (size_t i = 0; i < c->n; i++) {
        const pf_compare_row *w = &c->rows[i];
        if (!w->regress && !w->improved)
            continue;
        if (!shown++)
            fputs("| | where | metric | baseline | run | change |\n|---|---|---|---:|---:|---:|\n", f);
        fprintf(f, "| %s | ", w->regress ? "❌ worse" : "✅ better");
        md(f, w->where, 80);
        fputs(" | ", f);
        md(f, w->metric, 120);
        if (w->is_status)
            fprintf(f, " | %s | %s | |\n", w->base_status, w->cur_status);
        else
            fprintf(f, " | %.4g | %.4g | %+.1f%% |\n", w->base, w->cur,
                    w->base != 0 ? (w->cur - w->base) / fabs(w->base) * 100 : 0.0);
    }
    if (!shown)
        fputs("Nothing changed by more than the threshold.\n", f);
    for (size_t i = 0; i < c->unmatched.n; i++) {
        fputs("\n- node `", f);
        md(f, c->unmatched.v[i], 80);
        fputs("` has no baseline counterpart", f);
    }
    fputs("\n", f);
    return ferror(f) ? -1 : 0;
}

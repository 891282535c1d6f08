/* compare_cli.c -- see compare_cli.h. */
#include "reports/compare_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/compare.h"
#include "reports/github.h"
#include "reports/html.h"
#include "reports/junit.h"
#include "reports/load.h"
#include "reports/markdown.h"
#include "reports/output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: preflight compare BASELINE.json RUN.json [options]\n\n"
               "The regression gate: per node (matched by name, else by class: GPU model, compute\n"
               "capability, NCCL transport, NIC speed) and metric, the change in the direction that\n"
               "counts as worse (latencies up, throughputs and bandwidths down), and checks whose\n"
               "status became fail or error.  Exit 1 on a regression beyond the threshold.\n\noptions:\n"
               "  --max-regress PCT  allowed worsening, e.g. 10%% (default 10%%)\n"
               "  --metric TEXT      compare only metrics whose name contains TEXT (repeatable)\n"
               "  --all              list every compared row, not only the changes\n"
               "  --html FILE        both records and the comparison as one HTML page\n"
               "  --junit FILE       one testcase per compared row, failure = regression\n"
               "  --markdown FILE    the comparison as Markdown (also to $GITHUB_STEP_SUMMARY\n"
               "                     when GITHUB_ACTIONS=true)\n"
               "  -h, --help         this text\n");
}

typedef struct cctx {
    const pf_compare *c;
    const pf_compare_opts *o;
    const pf_loaded *runs;
} cctx;

static int w_html(FILE *f, void *p)
{
    cctx *c = p;
    return pf_html_render(f, c->runs, 2, false);
}
static int w_junit(FILE *f, void *p)
{
    cctx *c = p;
    return pf_junit_render_compare(f, c->c, c->runs[0].label, c->runs[1].label);
}
static int w_md(FILE *f, void *p)
{
    cctx *c = p;
    return pf_markdown_render_compare(f, c->c, c->o, c->runs[0].label, c->runs[1].label);
}

int pf_compare_main(int argc, char **argv)
{
    pf_compare_opts o = {.max_regress = 0.10};
    pf_strv metrics = {0}, files = {0};
    const char *html = NULL, *junit = NULL, *mdp = NULL;
    bool all = false;
    pf_err err = {{0}};
    int code = PF_EXIT_USAGE;
    pf_loaded runs[2] = {{0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            code = PF_EXIT_OK;
            goto out;
        } else if (!strcmp(a, "--all")) {
            all = true;
        } else if (!strcmp(a, "--max-regress") || !strcmp(a, "--metric") || !strcmp(a, "--html") ||
                   !strcmp(a, "--junit") || !strcmp(a, "--markdown")) {
            if (!val) {
                fprintf(stderr, "preflight compare: %s needs a value\n", a);
                goto out;
            }
            i++;
            if (!strcmp(a, "--max-regress")) {
                if (pf_compare_parse_pct(val, &o.max_regress, &err) != 0) {
                    fprintf(stderr, "preflight compare: %s\n", err.msg);
                    goto out;
                }
            } else if (!strcmp(a, "--metric"))
                pf_strv_push(&metrics, val);
            else if (!strcmp(a, "--html"))
                html = val;
            else if (!strcmp(a, "--junit"))
                junit = val;
            else
                mdp = val;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "preflight compare: unknown option '%s' (see preflight compare --help)\n", a);
            goto out;
        } else
            pf_strv_push(&files, a);
    }
    if (files.n != 2) {
        fprintf(stderr, "preflight compare: needs exactly two records, BASELINE.json RUN.json (got %zu)\n", files.n);
        goto out;
    }
    for (int k = 0; k < 2; k++) {
        if (pf_load_file(files.v[k], &runs[k], &err) != 0) {
            fprintf(stderr, "preflight compare: %s\n", err.msg);
            goto out;
        }
        for (size_t q = 0; q < runs[k].problems.n; q++)
            fprintf(stderr, "preflight compare: %s\n", runs[k].problems.v[q]);
    }
    o.metrics = &metrics;
    pf_compare cmp;
    pf_compare_runs(runs[0].root, runs[1].root, &o, &cmp);
    printf("preflight compare %s -> %s\n", files.v[0], files.v[1]);
    pf_compare_print(stdout, &cmp, &o, all);
    cctx c = {.c = &cmp, .o = &o, .runs = runs};
    int wrc = 0;
    if (html && pf_output_write_file(html, w_html, &c, &err) != 0)
        wrc = -1, fprintf(stderr, "preflight compare: %s\n", err.msg);
    if (junit && pf_output_write_file(junit, w_junit, &c, &err) != 0)
        wrc = -1, fprintf(stderr, "preflight compare: %s\n", err.msg);
    if (mdp && pf_output_write_file(mdp, w_md, &c, &err) != 0)
        wrc = -1, fprintf(stderr, "preflight compare: %s\n", err.msg);
    const char *sum = getenv("GITHUB_STEP_SUMMARY");
    if (pf_github_detected() && sum && *sum) {
        FILE *f = fopen(sum, "a");
        if (f) {
            pf_markdown_render_compare(f, &cmp, &o, runs[0].label, runs[1].label);
            fclose(f);
        }
    }
    if (cmp.regressions)
        code = PF_EXIT_FAILED;
    else if (cmp.n == 0) {
        fprintf(stderr, "preflight compare: nothing in common to compare (no node, check or benchmark level "
                        "matched)\n");
        code = PF_EXIT_INCOMPLETE;
    } else
        code = wrc ? PF_EXIT_INCOMPLETE : PF_EXIT_OK;
    pf_compare_free(&cmp);
out:
    pf_load_free(&runs[0]);
    pf_load_free(&runs[1]);
    pf_strv_free(&metrics);
    pf_strv_free(&files);
    return code;
}

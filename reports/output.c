/* output.c -- see output.h. */
#include "reports/output.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/benchjson.h"
#include "reports/console.h"
#include "reports/github.h"
#include "reports/html.h"
#include "reports/junit.h"
#include "reports/markdown.h"
#include "reports/prom.h"

void pf_output_opts_init(pf_output_opts *o)
{
    memset(o, 0, sizeof *o);
    const char *nc = getenv("NO_COLOR");
    o->color = isatty(STDOUT_FILENO) && !(nc && *nc);
    o->github = pf_github_detected();
}

/* "--flag FILE" and "--flag=FILE" for the report files. */
static int file_flag(const char *name, const char **dst, int argc, char **argv, int *i, pf_err *err)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return 0;
    const char *v = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!v || !*v)
        return pf_err_set(err, "%s needs a file name", name);
    *dst = v;
    return 1;
}

int pf_output_parse_flag(pf_output_opts *o, int argc, char **argv, int *i, pf_err *err)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        if (*i + 1 >= argc)
            return pf_err_set(err, "--json needs a file name (or - for stdout)");
        o->json_path = argv[++*i];
        return 1;
    }
    if (strncmp(a, "--json=", 7) == 0) {
        o->json_path = a + 7;
        if (!*o->json_path)
            return pf_err_set(err, "--json needs a file name (or - for stdout)");
        return 1;
    }
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
        o->verbosity = -1;
        return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        o->verbosity = 1;
        return 1;
    }
    if (strcmp(a, "--strict") == 0) {
        o->strict = true;
        return 1;
    }
    if (strcmp(a, "--no-color") == 0) {
        o->color = false;
        return 1;
    }
    if (strcmp(a, "--github") == 0) {
        o->github = true;
        return 1;
    }
    if (strcmp(a, "--no-github") == 0) {
        o->github = false;
        return 1;
    }
    static const struct {
        const char *name;
        size_t off;
    } files[] = {{"--html", offsetof(pf_output_opts, html_path)},
                 {"--junit", offsetof(pf_output_opts, junit_path)},
                 {"--markdown", offsetof(pf_output_opts, markdown_path)},
                 {"--benchmark-json", offsetof(pf_output_opts, benchjson_path)},
                 {"--prom", offsetof(pf_output_opts, prom_path)}};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        int rc = file_flag(files[k].name, (const char **)((char *)o + files[k].off), argc, argv, i, err);
        if (rc)
            return rc;
    }
    return 0;
}

const char *pf_output_flags_help(void)
{
    return "  --json FILE        write the run record as JSON to FILE (- for stdout)\n"
           "  -q, --quiet        print only problems and the total\n"
           "  -v, --verbose      print evidence and remedies for every check\n"
           "  --strict           warnings fail the run (exit 1)\n"
           "  --no-color         no ANSI colours (NO_COLOR is honoured too)\n"
           "  --html FILE        one self-contained HTML report (docs/reports.md)\n"
           "  --junit FILE       JUnit XML: a suite per node, a testcase per check\n"
           "  --markdown FILE    Markdown summary (verdict, node x check table, fixes)\n"
           "  --github           GitHub annotations + step summary (on when GITHUB_ACTIONS=true;\n"
           "                     --no-github turns it off)\n"
           "  --benchmark-json FILE  github-action-benchmark input: FILE bigger-is-better,\n"
           "                     FILE with .smaller.json smaller-is-better\n"
           "  --prom FILE        Prometheus text format for node_exporter's textfile collector\n";
}

int pf_output_write_file(const char *path, int (*fn)(FILE *f, void *ctx), void *ctx, pf_err *err)
{
    char *tmp = pf_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        pf_err_errno(err, errno, "cannot write %s", tmp);
        free(tmp);
        return -1;
    }
    int rc = fn(f, ctx);
    if (fclose(f) != 0 || rc < 0) {
        pf_err_errno(err, errno ? errno : EIO, "cannot write %s", path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        pf_err_errno(err, errno, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

typedef struct wctx {
    const pf_loaded *runs;
    size_t n;
    const pf_output_opts *o;
    bool bigger;
} wctx;

static int w_html(FILE *f, void *c)
{
    wctx *w = c;
    return pf_html_render(f, w->runs, w->n, w->o->strict);
}
static int w_junit(FILE *f, void *c)
{
    wctx *w = c;
    return pf_junit_render(f, &w->runs[0], w->o->strict);
}
static int w_md(FILE *f, void *c)
{
    wctx *w = c;
    return pf_markdown_render(f, w->runs, w->n);
}
static int w_bench(FILE *f, void *c)
{
    wctx *w = c;
    return pf_benchjson_render(f, &w->runs[0], w->bigger) < 0 ? -1 : 0;
}
static int w_prom(FILE *f, void *c)
{
    wctx *w = c;
    return pf_prom_render(f, &w->runs[0]);
}

int pf_output_write_reports(const pf_loaded *runs, size_t n, const pf_output_opts *o, pf_err *err)
{
    if (!n)
        return 0;
    wctx w = {.runs = runs, .n = n, .o = o, .bigger = true};
    int rc = 0;
    pf_err e1 = {{0}};
#define TRY(path, fn)                                                                              \
    if ((path) && pf_output_write_file((path), (fn), &w, &e1) != 0 && rc == 0) {                   \
        rc = -1;                                                                                    \
        if (err)                                                                                    \
            *err = e1;                                                                              \
    }
    TRY(o->html_path, w_html)
    TRY(o->junit_path, w_junit)
    TRY(o->markdown_path, w_md)
    TRY(o->prom_path, w_prom)
    if (o->benchjson_path) {
        TRY(o->benchjson_path, w_bench)
        char *sp = pf_benchjson_smaller_path(o->benchjson_path);
        w.bigger = false;
        TRY(sp, w_bench)
        free(sp);
    }
#undef TRY
    if (o->github) {
        /* Workflow commands are read from the step's output; with the JSON
         * record on stdout they go to stderr, which the runner reads too. */
        bool json_to_stdout = o->json_path && strcmp(o->json_path, "-") == 0;
        pf_github_annotate(json_to_stdout ? stderr : stdout, &runs[0], o->strict);
        const char *sum = getenv("GITHUB_STEP_SUMMARY");
        if (sum && *sum) {
            FILE *f = fopen(sum, "a");
            if (!f || pf_markdown_render(f, runs, n) < 0 || fclose(f) != 0) {
                if (rc == 0 && err)
                    pf_err_errno(err, errno, "cannot append to $GITHUB_STEP_SUMMARY (%s)", sum);
                rc = -1;
            }
        }
    }
    return rc;
}

static bool wants_reports(const pf_output_opts *o)
{
    return o->html_path || o->junit_path || o->markdown_path || o->benchjson_path || o->prom_path ||
           o->github;
}

int pf_output_finish(pf_run *run, const pf_output_opts *o)
{
    pf_run_finish(run);
    bool json_to_stdout = o->json_path && strcmp(o->json_path, "-") == 0;
    pf_err err = {{0}};
    int json_rc = 0;
    if (o->json_path) {
        json_rc = pf_run_write_json(run, o->strict, o->json_path, &err);
        if (json_rc != 0)
            pf_run_set_incomplete(run, "%s", err.msg);
    }
    /* With the JSON on stdout the table goes to stderr so pipes stay clean. */
    FILE *f = json_to_stdout ? stderr : stdout;
    pf_console_opts co = {.verbosity = o->verbosity,
                          .color = o->color && isatty(fileno(f)),
                          .strict = o->strict};
    pf_console_render(f, run, &co);
    fflush(f);
    if (json_rc != 0)
        fprintf(stderr, "preflight: %s\n", err.msg);
    if (wants_reports(o)) {
        /* The renderers read the record's JSON, as `preflight report` does. */
        pf_loaded l;
        pf_load_json(pf_run_to_json(run, o->strict),
                     o->json_path && strcmp(o->json_path, "-") != 0 ? o->json_path : "this run", &l);
        pf_err rerr = {{0}};
        if (pf_output_write_reports(&l, 1, o, &rerr) != 0) {
            fprintf(stderr, "preflight: %s\n", rerr.msg);
            pf_run_set_incomplete(run, "%s", rerr.msg);
        }
        pf_load_free(&l);
    }
    return pf_run_exit_code(run, o->strict);
}

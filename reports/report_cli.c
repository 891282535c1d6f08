/* report_cli.c -- see report_cli.h. */
#include "reports/report_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/console.h"
#include "reports/load.h"
#include "reports/output.h"
#include "reports/view.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: preflight report RUN.json [RUN2.json ...] [options]\n\n"
               "Render saved run records.  With several records the HTML page compares each with\n"
               "the first; JUnit, Markdown, benchmark JSON and Prometheus describe the first.\n"
               "With no output flag, a one-line summary per record is printed.\n\noptions:\n%s"
               "  -h, --help         this text\n", pf_output_flags_help());
}

int pf_report_main(int argc, char **argv)
{
    pf_output_opts o;
    pf_output_opts_init(&o);
    pf_strv files = {0};
    pf_err err = {{0}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            pf_strv_free(&files);
            return PF_EXIT_OK;
        }
        int rc = pf_output_parse_flag(&o, argc, argv, &i, &err);
        if (rc < 0) {
            fprintf(stderr, "preflight report: %s\n", err.msg);
            pf_strv_free(&files);
            return PF_EXIT_USAGE;
        }
        if (rc > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "preflight report: unknown option '%s' (see preflight report --help)\n", argv[i]);
            pf_strv_free(&files);
            return PF_EXIT_USAGE;
        }
        pf_strv_push(&files, argv[i]);
    }
    if (!files.n) {
        fprintf(stderr, "preflight report: which record? (preflight report RUN.json --html report.html)\n");
        pf_strv_free(&files);
        return PF_EXIT_USAGE;
    }
    if (o.json_path) {
        fprintf(stderr, "preflight report: --json does not apply (the input already is the record)\n");
        pf_strv_free(&files);
        return PF_EXIT_USAGE;
    }
    pf_loaded *runs = pf_xcalloc(files.n, sizeof *runs);
    int code = PF_EXIT_OK;
    size_t n = 0;
    for (size_t k = 0; k < files.n; k++) {
        if (pf_load_file(files.v[k], &runs[n], &err) != 0) {
            fprintf(stderr, "preflight report: %s\n", err.msg);
            code = PF_EXIT_USAGE;
            continue;
        }
        for (size_t q = 0; q < runs[n].problems.n; q++)
            fprintf(stderr, "preflight report: %s\n", runs[n].problems.v[q]);
        if (runs[n].incomplete && code == PF_EXIT_OK)
            code = PF_EXIT_INCOMPLETE;
        n++;
    }
    if (n) {
        if (pf_output_write_reports(runs, n, &o, &err) != 0) {
            fprintf(stderr, "preflight report: %s\n", err.msg);
            code = PF_EXIT_INCOMPLETE;
        }
        if (o.verbosity >= 0)
            for (size_t k = 0; k < n; k++) {
                size_t c[PF_STATUS_COUNT];
                pf_view_counts(runs[k].root, c);
                printf("%s: %s, %zu pass, %zu warn, %zu fail, %zu skip, %zu error (recorded exit %d)\n",
                       runs[k].label, pf_view_verdict(runs[k].root, runs[k].incomplete), c[PF_PASS], c[PF_WARN],
                       c[PF_FAIL], c[PF_SKIP], c[PF_ERROR], pf_view_exit_code(runs[k].root));
            }
    }
    for (size_t k = 0; k < n; k++)
        pf_load_free(&runs[k]);
    free(runs);
    pf_strv_free(&files);
    return code;
}

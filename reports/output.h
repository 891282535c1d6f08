/* output.h -- what every subcommand does at the end: render the record to
 * the console, write the JSON record, and turn it into the exit code.
 *
 * Subcommands parse their own flags but share these output flags:
 *   --json FILE (or - for stdout)   -q / --quiet   -v / --verbose
 *   --strict (warnings fail)        --no-color (NO_COLOR is honoured too)
 *   --html FILE  --junit FILE  --markdown FILE  --github  --benchmark-json FILE
 *   --prom FILE  (reports/: every one renders the same record JSON, so
 *   `preflight report RUN.json --html F` and `check --html F` are identical)
 */
#ifndef PF_OUTPUT_H
#define PF_OUTPUT_H

#include <stdbool.h>

#include "core/record.h"
#include "reports/load.h"

typedef struct pf_output_opts {
    const char *json_path; /* NULL: no JSON file */
    int verbosity;         /* -1 quiet, 0 normal, 1 verbose */
    bool strict;
    bool color;            /* decided by pf_output_opts_init: TTY and no NO_COLOR */
    const char *html_path, *junit_path, *markdown_path, *benchjson_path, *prom_path;
    bool github;           /* annotations + step summary; on by default under GITHUB_ACTIONS=true */
} pf_output_opts;

void pf_output_opts_init(pf_output_opts *o);
/* If argv[*i] is one of the shared output flags, consume it (and its value)
 * and return 1; return 0 if it is not one; -1 on a missing value (err set). */
int pf_output_parse_flag(pf_output_opts *o, int argc, char **argv, int *i, pf_err *err);
/* Usage lines for the shared flags, for --help texts. */
const char *pf_output_flags_help(void);
/* Finish the run, print the console table (to stdout, or stderr when the
 * JSON goes to stdout), write JSON, return the exit code by the contract.
 * A JSON write failure marks the run incomplete (exit 3) but still prints. */
int pf_output_finish(pf_run *run, const pf_output_opts *o);
/* Write the report files the options ask for (HTML for all runs; JUnit,
 * Markdown, benchmark JSON, Prometheus and GitHub output for runs[0]), each
 * atomically (temp file + rename).  Returns 0, or -1 with err naming the
 * first file that could not be written (the others are still attempted). */
int pf_output_write_reports(const pf_loaded *runs, size_t n, const pf_output_opts *o, pf_err *err);
/* Write path atomically from a renderer; fn returns < 0 on failure. */
int pf_output_write_file(const char *path, int (*fn)(FILE *f, void *ctx), void *ctx, pf_err *err);

#endif

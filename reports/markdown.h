/* markdown.h -- a GitHub-flavoured Markdown summary of run records: the
 * verdict, a node x check table, the top problems with their fixes and the
 * benchmark headline numbers.  Used for --markdown FILE and for
 * $GITHUB_STEP_SUMMARY (reports/github.h); kept under the runner's 1 MiB
 * summary limit by cutting long tables and text.
 */
#ifndef PF_MARKDOWN_H
#define PF_MARKDOWN_H

#include <stdio.h>

#include "reports/compare.h"
#include "reports/load.h"

int pf_markdown_render(FILE *f, const pf_loaded *runs, size_t n);
int pf_markdown_render_compare(FILE *f, const pf_compare *c, const pf_compare_opts *o, const char *base_label,
                               const char *run_label);

#endif

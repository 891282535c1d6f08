/* html.h -- one self-contained HTML page from one or more run records.
 *
 * Everything is inline (CSS, Chart.js from Debian's libjs-chart.js as built
 * into the binary, the chart data), a Content-Security-Policy forbids any
 * request, and every string from the record is escaped.  Tables, verdicts and
 * fixes are plain HTML, so the page reads without JavaScript and in print;
 * charts are drawn on top by the inlined library.  Views: header, problems,
 * node x check grid, pair matrices, NCCL bandwidth, drift across nodes,
 * kernel coverage, benchmark, and with several records a comparison of each
 * with the first (reports/compare.h).  See docs/reports.md.
 */
#ifndef PF_HTML_H
#define PF_HTML_H

#include <stdbool.h>
#include <stdio.h>

#include "reports/load.h"

/* Is a charting library built in?  (libjs-chart.js present at build time.) */
bool pf_html_have_charts(void);
/* Write the page for runs[0..n) to f.  Returns 0, or -1 on a write error. */
int pf_html_render(FILE *f, const pf_loaded *runs, size_t n, bool strict);

#endif

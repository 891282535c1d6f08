/* report_cli.h -- `preflight report RUN.json [RUN2.json ...] [output flags]`:
 * render saved run records (HTML for all of them, with a comparison against
 * the first; the other outputs for the first).  Exit 0 when everything was
 * written, 3 when an input was incomplete (rendered anyway, marked), 2 for
 * bad usage or an input that is not a run record at all. */
#ifndef PF_REPORT_CLI_H
#define PF_REPORT_CLI_H

int pf_report_main(int argc, char **argv);

#endif

/* compare_cli.h -- `preflight compare BASELINE.json RUN.json [--max-regress
 * 10%] [--metric NAME ...] [--all] [--html F] [--junit F] [--markdown F]`:
 * the regression gate (reports/compare.h).  Exit 1 when something regressed
 * beyond the threshold, 0 when not, 2 for bad usage or unreadable records,
 * 3 when nothing could be compared. */
#ifndef PF_COMPARE_CLI_H
#define PF_COMPARE_CLI_H

int pf_compare_main(int argc, char **argv);

#endif

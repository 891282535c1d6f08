/* junit.h -- the run record as JUnit XML (Ant format) for CI systems.
 *
 * One <testsuite> per node (and "cluster" for node-less checks), one
 * <testcase> per check, and per peer for pairwise checks (name "id -> peer").
 * fail -> <failure>, error -> <error>, skip -> <skipped>; warn passes with a
 * <system-out> note, or is a <failure> under --strict.  <properties> carry
 * measured/threshold/unit and the remedy.  Every count attribute is written
 * and consistent (junitparser recounts the whole tree if one is missing).
 * Valid against tests/reports/junit.xsd.
 */
#ifndef PF_JUNIT_H
#define PF_JUNIT_H

#include <stdbool.h>
#include <stdio.h>

#include "reports/compare.h"
#include "reports/load.h"

int pf_junit_render(FILE *f, const pf_loaded *run, bool strict);
/* The regression gate as one suite "compare", a testcase per compared row. */
int pf_junit_render_compare(FILE *f, const pf_compare *c, const char *base_label, const char *run_label);

#endif

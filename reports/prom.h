/* prom.h -- the run record in Prometheus text format for node_exporter's
 * textfile collector: preflight_check_status{node,check,peer,status} (1 for
 * the check's status), preflight_check_measured{...,unit}, run totals,
 * benchmark levels and NCCL bandwidths.  No timestamps (the collector skips
 * files with them); label values escaped (\ " newline); one HELP/TYPE per
 * family.  Callers write it atomically (tmp + rename) as a *.prom file.
 */
#ifndef PF_PROM_H
#define PF_PROM_H

#include <stdio.h>

#include "reports/load.h"

int pf_prom_render(FILE *f, const pf_loaded *run);

#endif

/* benchjson.h -- numbers for github-action-benchmark's custom tools.
 *
 * Its input is a JSON array of {name, unit, value, extra}; a file is either
 * "bigger is better" or "smaller is better" (tool customBiggerIsBetter /
 * customSmallerIsBetter).  pf_benchjson_render writes one of the two sets:
 * bigger = throughputs, goodput, bandwidths, free memory; smaller = latency
 * percentiles and RTTs.  Names are stable ("bench c=8 output_throughput",
 * "gb10 nccl p2p a>b") so runs line up; `extra` names the node class.
 */
#ifndef PF_BENCHJSON_H
#define PF_BENCHJSON_H

#include <stdbool.h>
#include <stdio.h>

#include "reports/load.h"

/* Returns the number of entries written, or -1 on a write error. */
int pf_benchjson_render(FILE *f, const pf_loaded *run, bool bigger_is_better);
/* The companion file name for the smaller-is-better set: "x.json" ->
 * "x.smaller.json" (heap string). */
char *pf_benchjson_smaller_path(const char *path);

#endif

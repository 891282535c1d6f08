/* compare.h -- the regression gate: a baseline record against a new one.
 *
 * Pure: two records' JSON in, a list of rows out.  A row is either a metric
 * (a number both runs measured: a check's `measured`, a benchmark level's
 * throughput or latency percentile, an NCCL bandwidth) or a status change
 * of a check.  Each metric knows which direction is worse (latencies and
 * times up, throughputs and bandwidths down), and its change is a signed
 * fraction where positive means worse.
 *
 * Nodes are matched by name; a node of the new run whose name the baseline
 * lacks is matched to an unmatched baseline node of the same class (GPU
 * model, compute capability, NCCL transport, NIC speed: pf_view_node_class), so a
 * replaced machine still compares.
 *
 * Ownership: pf_compare owns its rows; pf_compare_free releases them.
 */
#ifndef PF_COMPARE_H
#define PF_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/util.h"

typedef struct pf_compare_opts {
    double max_regress;    /* fraction: 0.10 = 10 % worse is still fine */
    const pf_strv *metrics; /* substrings a metric name must contain; empty = all */
} pf_compare_opts;

typedef struct pf_compare_row {
    char *where;       /* node (or "bench", "nccl", "cluster") */
    char *matched_by;  /* "name" or "class <class>" */
    char *metric;      /* "mem.headroom", "c=8 p99_ttft_ms", "status gpu.kernels" */
    char *unit;        /* may be "" */
    bool is_status;    /* a status change: base_status/cur_status below */
    const char *base_status, *cur_status;
    double base, cur;  /* metric values */
    double change;     /* signed fraction, > 0 = worse; NAN when base is 0 */
    bool bigger_better;
    bool regress;      /* worse beyond max_regress, or a status that became fail/error */
    bool improved;
} pf_compare_row;

typedef struct pf_compare {
    pf_compare_row *rows;
    size_t n, cap;
    size_t regressions;
    pf_strv unmatched; /* nodes of the new run with no baseline counterpart */
} pf_compare;

/* Parse "10%", "10", "0.1" is not accepted (ambiguous): percent only. */
int pf_compare_parse_pct(const char *s, double *out, pf_err *err);
void pf_compare_runs(const json_t *base, const json_t *run, const pf_compare_opts *o, pf_compare *out);
void pf_compare_free(pf_compare *c);
/* The console table. */
void pf_compare_print(FILE *f, const pf_compare *c, const pf_compare_opts *o, bool all);

#endif

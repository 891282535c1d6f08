/* prom.h -- Prometheus text exposition format (version 0.0.4) parser.
 *
 * Used to scrape the server's /metrics during a run (--metrics-interval) and
 * keep the sglang:* / vllm:* samples as time series in the run record.
 * Parsing is defensive: a malformed line is skipped and counted, never fatal,
 * so one odd line does not lose a scrape.
 */
#ifndef PF_BENCH_PROM_H
#define PF_BENCH_PROM_H

#include <jansson.h>
#include <stddef.h>

/* name: metric name; labels: "" or the canonical '{k="v",...}' text (keys in
 * exposition order, values re-escaped); value may be inf or nan. */
typedef void (*pf_prom_fn)(void *ud, const char *name, const char *labels, double value);

typedef struct pf_prom_stats {
    size_t samples, bad_lines;
    size_t first_bad_line; /* 1-based; 0 when none */
    char first_bad[160];   /* why the first bad line was rejected */
} pf_prom_stats;

void pf_prom_parse(const char *text, size_t len, pf_prom_fn fn, void *ud, pf_prom_stats *st);

/* Append one scrape taken at t (seconds) to series, an object mapping
 * "name{labels}" -> [[t, value], ...], keeping only names that start with one
 * of the NULL-terminated prefixes (all when prefixes is NULL). */
void pf_prom_collect(json_t *series, double t, const char *text, size_t len,
                     const char *const *prefixes, pf_prom_stats *st);

#endif

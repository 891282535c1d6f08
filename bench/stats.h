/* stats.h -- summary statistics with numpy's exact semantics.
 *
 * SGLang's bench_serving reports np.mean, np.median, np.std (ddof=0) and
 * np.percentile (method "linear") over Python lists of seconds.  To make our
 * numbers comparable bit for bit, these functions replicate numpy's
 * arithmetic order: pairwise summation (numpy's add.reduce on float64) for
 * sums, mean = sum / n, std = sqrt(pairwise_sum((x - mean)^2) / n), and the
 * two-sided lerp numpy uses for percentiles.  Empty input returns 0, which is
 * what bench_serving's `np.mean(xs or 0)` yields.
 */
#ifndef PF_BENCH_STATS_H
#define PF_BENCH_STATS_H

#include <stddef.h>

/* numpy's float64 add.reduce (pairwise summation, blocks of 128). */
double pf_stats_sum(const double *x, size_t n);
double pf_stats_mean(const double *x, size_t n);
double pf_stats_std(const double *x, size_t n); /* population, ddof = 0 */
double pf_stats_max(const double *x, size_t n);
/* The next two need x sorted ascending (pf_stats_sort). */
double pf_stats_median_sorted(const double *x, size_t n);
double pf_stats_percentile_sorted(const double *x, size_t n, double p); /* p in [0, 100] */
void pf_stats_sort(double *x, size_t n);

/* Everything bench_serving reports for one latency list, in seconds. */
typedef struct pf_stats_summary {
    size_t n;
    double mean, median, std, p90, p95, p99, max;
} pf_stats_summary;

/* Sorts a private copy; x itself is left untouched. */
void pf_stats_summarize(const double *x, size_t n, pf_stats_summary *out);

#endif

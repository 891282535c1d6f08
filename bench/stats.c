/* stats.c -- numpy-compatible statistics; see stats.h for why bit-exact. */
#include "bench/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* numpy/core/src/umath/loops_utils.h.src: PW_BLOCKSIZE 128, eight partial
 * sums, remainder added in order, halves split on a multiple of 8.  The
 * reduction starts from the identity 0.0, so the result is 0.0 + sum. */
static double pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double pf_stats_sum(const double *x, size_t n)
{
    return 0.0 + pairwise(x, n);
}

double pf_stats_mean(const double *x, size_t n)
{
    if (n == 0)
        return 0.0;
    return pf_stats_sum(x, n) / (double)n;
}

double pf_stats_std(const double *x, size_t n)
{
    if (n == 0)
        return 0.0;
    double m = pf_stats_mean(x, n);
    double *sq = pf_xmalloc(n * sizeof *sq);
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        sq[i] = d * d;
    }
    double var = pf_stats_sum(sq, n) / (double)n;
    free(sq);
    return sqrt(var);
}

double pf_stats_max(const double *x, size_t n)
{
    if (n == 0)
        return 0.0;
    double m = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > m)
            m = x[i];
    return m;
}

double pf_stats_median_sorted(const double *x, size_t n)
{
    if (n == 0)
        return 0.0;
    if (n % 2)
        return x[n / 2];
    /* np.median averages the two middle values with np.mean. */
    return (0.0 + x[n / 2 - 1] + x[n / 2]) / 2.0;
}

double pf_stats_percentile_sorted(const double *x, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    double q = p / 100.0;
    double h = (double)(n - 1) * q; /* method "linear": (n - 1) * q */
    double lo_f = floor(h);
    size_t lo = (size_t)lo_f;
    if (lo > n - 1)
        lo = n - 1;
    size_t hi = lo + 1 < n ? lo + 1 : n - 1;
    double g = h - lo_f;
    double a = x[lo], b = x[hi], d = b - a;
    /* numpy's _lerp interpolates from the nearer end for accuracy. */
    if (g >= 0.5)
        return b - d * (1.0 - g);
    return a + d * g;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

void pf_stats_sort(double *x, size_t n)
{
    if (n > 1)
        qsort(x, n, sizeof *x, cmp_double);
}

void pf_stats_summarize(const double *x, size_t n, pf_stats_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0)
        return;
    out->mean = pf_stats_mean(x, n);
    out->std = pf_stats_std(x, n);
    out->max = pf_stats_max(x, n);
    double *s = pf_xmalloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    pf_stats_sort(s, n);
    out->median = pf_stats_median_sorted(s, n);
    out->p90 = pf_stats_percentile_sorted(s, n, 90);
    out->p95 = pf_stats_percentile_sorted(s, n, 95);
    out->p99 = pf_stats_percentile_sorted(s, n, 99);
    free(s);
}

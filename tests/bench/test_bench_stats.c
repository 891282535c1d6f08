/* test_bench_stats.c -- bench/stats.c against numpy, bit for bit.
 *
 * Expected values: numpy 2.4.6, tests/bench/bench_numpy_expected.py (run once,
 * pasted), which does:
 *   def data(n, mul, mod, div): return [((i * mul) % mod) / div for i in range(n)]
 *   x = np.array(data(...)); [np.sum(x), np.mean(x), np.median(x), np.std(x),
 *    np.percentile(x, 90), np.percentile(x, 95), np.percentile(x, 99),
 *    np.percentile(x, 50), np.percentile(x, 99.9), np.max(x)]
 * printed with repr() (round-trip exact).  The sizes cross numpy's pairwise
 * summation boundaries (< 8, 8..128, > 128, odd splits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/stats.h"

typedef struct kase {
    size_t n;
    unsigned long long mul, mod;
    double div;
    double want[10]; /* sum mean median std p90 p95 p99 p50 p99.9 max */
} kase;

static const kase CASES[] = {
    {1, 2654435761ULL, 100003ULL, 1000.0, {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
    {2, 2654435761ULL, 100003ULL, 1000.0, {56.132, 28.066, 28.066, 28.066, 50.5188, 53.325399999999995, 55.570679999999996, 28.066, 56.07586800000001, 56.132}},
    {7, 40503ULL, 997ULL, 3.0, {1037.6666666666665, 148.2380952380952, 166.0, 101.37995705074044, 265.6666666666667, 278.16666666666663, 288.1666666666667, 166.0, 290.4166666666667, 290.6666666666667}},
    {8, 40503ULL, 997ULL, 3.0, {1162.0, 145.25, 145.16666666666666, 95.16123014243891, 261.5, 276.0833333333333, 287.75, 145.16666666666666, 290.37500000000006, 290.6666666666667}},
    {9, 40503ULL, 997ULL, 7.0, {640.2857142857142, 71.14285714285714, 71.14285714285714, 45.94712528543505, 128.11428571428573, 135.2, 140.8685714285714, 71.14285714285714, 142.144, 142.28571428571428}},
    {128, 2654435761ULL, 100003ULL, 1000000.0, {6.327399, 0.0494328046875, 0.0494295, 0.028923608723848596, 0.0894879, 0.0940578, 0.09865083000000001, 0.0494295, 0.09935835600000002, 0.099431}},
    {129, 2654435761ULL, 100003ULL, 1000000.0, {6.412082, 0.04970606201550387, 0.049815, 0.028976676269174783, 0.0893536, 0.0940292, 0.09864312, 0.049815, 0.09935778400000002, 0.099431}},
    {300, 2654435761ULL, 100003ULL, 100000.0, {149.45125, 0.4981708333333333, 0.499145, 0.2891380737104199, 0.8987590000000001, 0.944856, 0.9886098999999999, 0.499145, 0.99570499, 0.9963}},
    {1000, 48271ULL, 2147483647ULL, 1000000000.0, {24.111364499999997, 0.024111364499999996, 0.024111364500000003, 0.01393463045470576, 0.0434004561, 0.045811592549999995, 0.04774050171, 0.024111364500000003, 0.048174506271000006, 0.048222729}},
    {4097, 69069ULL, 65537ULL, 10000.0, {13392.322, 3.268811813522089, 3.2689, 1.891278257369133, 5.89334, 6.217219999999999, 6.484544, 3.2689, 6.5365944, 6.5411}},
};

static double *make(const kase *k)
{
    double *x = malloc(k->n * sizeof *x);
    for (size_t i = 0; i < k->n; i++)
        x[i] = (double)(((unsigned long long)i * k->mul) % k->mod) / k->div;
    return x;
}

static void numpy_equal(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const kase *k = &CASES[c];
        double *x = make(k);
        double got[10];
        got[0] = pf_stats_sum(x, k->n);
        got[1] = pf_stats_mean(x, k->n);
        got[3] = pf_stats_std(x, k->n);
        got[9] = pf_stats_max(x, k->n);
        pf_stats_sort(x, k->n);
        got[2] = pf_stats_median_sorted(x, k->n);
        got[4] = pf_stats_percentile_sorted(x, k->n, 90);
        got[5] = pf_stats_percentile_sorted(x, k->n, 95);
        got[6] = pf_stats_percentile_sorted(x, k->n, 99);
        got[7] = pf_stats_percentile_sorted(x, k->n, 50);
        got[8] = pf_stats_percentile_sorted(x, k->n, 99.9);
        for (int i = 0; i < 10; i++) {
            if (got[i] != k->want[i])
                fail_msg("n=%zu stat #%d: got %.17g, numpy %.17g", k->n, i, got[i], k->want[i]);
        }
        free(x);
    }
}

static void summary_matches_parts(void **state)
{
    (void)state;
    const kase *k = &CASES[7];
    double *x = make(k);
    pf_stats_summary s;
    pf_stats_summarize(x, k->n, &s);
    /* the input is left unsorted */
    assert_true(x[0] == 0.0 && x[1] != 0.0);
    assert_true(s.mean == k->want[1] && s.median == k->want[2] && s.std == k->want[3]);
    assert_true(s.p90 == k->want[4] && s.p95 == k->want[5] && s.p99 == k->want[6]);
    assert_true(s.max == k->want[9]);
    assert_int_equal(s.n, k->n);
    free(x);
}

static void empty_is_zero(void **state)
{
    (void)state;
    /* bench_serving: np.mean(xs or 0) -> 0 for an empty list */
    pf_stats_summary s;
    pf_stats_summarize(NULL, 0, &s);
    assert_true(s.mean == 0 && s.median == 0 && s.std == 0 && s.p99 == 0 && s.max == 0);
    assert_true(pf_stats_mean(NULL, 0) == 0.0);
    assert_true(pf_stats_percentile_sorted(NULL, 0, 50) == 0.0);
}

static void percentile_edges(void **state)
{
    (void)state;
    double x[] = {1.0, 2.0, 3.0, 4.0};
    assert_true(pf_stats_percentile_sorted(x, 4, 0) == 1.0);
    assert_true(pf_stats_percentile_sorted(x, 4, 100) == 4.0);
    /* h = 3 * 0.5 = 1.5 -> 2.5 */
    assert_true(pf_stats_percentile_sorted(x, 4, 50) == 2.5);
    /* h = 3 * 0.9 = 2.7 -> 3 - 1 * 0.3 (numpy prints 3.7) */
    assert_true(pf_stats_percentile_sorted(x, 4, 90) == 3.7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numpy_equal),
        cmocka_unit_test(summary_matches_parts),
        cmocka_unit_test(empty_is_zero),
        cmocka_unit_test(percentile_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

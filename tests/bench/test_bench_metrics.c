/* test_bench_metrics.c -- bench_serving's calculate_metrics and vLLM's
 * goodput on a fixed set of results.
 *
 * Expected values: numpy 2.4.6 running a transcription of calculate_metrics
 * (sgl-project/sglang python/sglang/benchmark/serving.py @ 00f9ec47) and of
 * vLLM's goodput loop (vllm/benchmarks/serve.py) over the same five requests:
 * tests/bench/bench_numpy_expected.py, printed with repr().
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/metrics.h"

static double I0[] = {0.1, 0.1, 0.15, 0.1};
static double I1[] = {0.2, 0.2, 0.2, 0.2, 0.2, 0.2};
static double I4[] = {0.1, 0.2, 0.3, 0.28};

static void fill(pf_req_result *r)
{
    memset(r, 0, 5 * sizeof *r);
    r[0] = (pf_req_result){.success = true, .start = 100.0, .ttft = 0.05, .latency = 0.5,
                           .itl = I0, .n_itl = 4, .output_len = 5, .prompt_len = 100,
                           .prompt_len_exact = true, .server_prompt_tokens = 101};
    r[1] = (pf_req_result){.success = true, .start = 100.2, .ttft = 0.07, .latency = 1.3,
                           .itl = I1, .n_itl = 6, .output_len = 7, .prompt_len = 50,
                           .prompt_len_exact = true, .server_prompt_tokens = 51};
    r[2] = (pf_req_result){.success = false, .fail = PF_FAIL_HTTP, .http_status = 500,
                           .error = "HTTP 500: boom", .start = 100.3, .latency = 0.01,
                           .prompt_len = 30, .server_prompt_tokens = -1};
    r[3] = (pf_req_result){.success = true, .start = 101.4, .ttft = 0.3, .latency = 0.3,
                           .output_len = 1, .prompt_len = 10, .server_prompt_tokens = 11};
    r[4] = (pf_req_result){.success = true, .start = 102.7, .ttft = 0.02, .latency = 0.9,
                           .itl = I4, .n_itl = 4, .output_len = 5, .prompt_len = 20,
                           .prompt_len_exact = true, .server_prompt_tokens = 21};
}

static void eq(double got, double want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %.17g, numpy %.17g", what, got, want);
}

static void eq6(const pf_stats_summary *s, const double w[7], const char *what)
{
    eq(s->mean * 1000, w[0], what);
    eq(s->median * 1000, w[1], what);
    eq(s->std * 1000, w[2], what);
    eq(s->p90 * 1000, w[3], what);
    eq(s->p95 * 1000, w[4], what);
    eq(s->p99 * 1000, w[5], what);
    eq(s->max * 1000, w[6], what);
}

static void sglang_definitions(void **state)
{
    (void)state;
    pf_req_result r[5];
    fill(r);
    pf_slo slo = {true, true, true, 60, 200, 1000};
    pf_bench_metrics m;
    pf_metrics_compute(r, 5, 4.0, &slo, &m);
    assert_int_equal(m.completed, 4);
    assert_int_equal(m.failed, 1);
    assert_int_equal(m.fail_counts[PF_FAIL_HTTP], 1);
    assert_int_equal(m.total_input, 180); /* dataset prompt_len over successes */
    assert_int_equal(m.total_output, 18);
    assert_int_equal(m.total_input_server, 184);
    assert_int_equal(m.n_input_exact, 3);
    eq(m.request_throughput, 1.0, "request_throughput");
    eq(m.input_throughput, 45.0, "input_throughput");
    eq(m.output_throughput, 4.5, "output_throughput");
    eq(m.total_throughput, 49.5, "total_throughput");
    eq(m.concurrency, 0.75, "concurrency");
    static const double ttft[] = {110.0, 60.00000000000001, 111.13055385446434, 231.00000000000003,
                                  265.4999999999999, 293.0999999999999, 300.0};
    static const double tpot[] = {179.16666666666666, 205.0, 47.536535656505535, 217.0, 218.5,
                                  219.70000000000002, 220.0};
    static const double itl[] = {180.71428571428575, 200.0, 61.92902454933917, 256.0000000000001,
                                 287.00000000000006, 297.4, 300.0};
    static const double e2e[] = {750.0, 700.0, 384.05728739343044, 1180.0000000000002, 1240.0,
                                 1288.0, 1300.0};
    eq6(&m.ttft, ttft, "ttft");
    eq6(&m.tpot, tpot, "tpot");
    eq6(&m.itl, itl, "itl");
    eq6(&m.e2e, e2e, "e2e");
    eq(m.max_output_tokens_per_s, 9.0, "max_output_tokens_per_s");
    assert_int_equal(m.max_concurrent_requests, 2);
    /* vLLM goodput: only r0 has ttft <= 60 ms, tpot <= 200 ms and e2e <= 1 s
     * (r1 ttft 70 ms, r3 ttft 300 ms, r4 tpot 220 ms) */
    assert_int_equal(m.good, 1);
    eq(m.request_goodput, 0.25, "request_goodput");
    eq(m.goodput_ratio, 0.2, "goodput_ratio");
}

static void json_keys(void **state)
{
    (void)state;
    pf_req_result r[5];
    fill(r);
    pf_bench_metrics m;
    pf_metrics_compute(r, 5, 4.0, NULL, &m);
    json_t *j = pf_metrics_json(&m);
    static const char *const keys[] = {
        "duration", "completed", "failed", "total_input_tokens", "total_output_tokens",
        "request_throughput", "input_throughput", "output_throughput", "total_throughput",
        "mean_e2e_latency_ms", "median_e2e_latency_ms", "std_e2e_latency_ms", "p90_e2e_latency_ms",
        "p95_e2e_latency_ms", "p99_e2e_latency_ms", "mean_ttft_ms", "median_ttft_ms", "std_ttft_ms",
        "p90_ttft_ms", "p95_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "mean_itl_ms",
        "p99_itl_ms", "max_itl_ms", "concurrency", "max_output_tokens_per_s",
        "max_concurrent_requests", NULL};
    for (const char *const *k = keys; *k; k++)
        if (!json_object_get(j, *k))
            fail_msg("key %s missing", *k);
    assert_null(json_object_get(j, "request_goodput")); /* no --slo */
    /* not every success is exact (r3), so the total is flagged */
    assert_true(json_is_false(json_object_get(j, "total_input_tokens_exact")));
    assert_int_equal(json_integer_value(json_object_get(j, "total_input_tokens_server")), 184);
    json_decref(j);
    json_t *f = pf_failures_json(r, 5, 3);
    json_t *h = json_object_get(f, "http 500");
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(h, "examples"), 0)),
                        "HTTP 500: boom");
    json_decref(f);
}

static void all_failed(void **state)
{
    (void)state;
    pf_req_result r = {.success = false, .fail = PF_FAIL_CONNECT, .error = "refused"};
    pf_bench_metrics m;
    pf_metrics_compute(&r, 1, 2.0, NULL, &m);
    assert_int_equal(m.completed, 0);
    assert_true(m.ttft.mean == 0 && m.request_throughput == 0);
    json_t *j = pf_metrics_json(&m);
    /* numpy gives nan for an empty E2E list; we write null */
    assert_true(json_is_null(json_object_get(j, "mean_e2e_latency_ms")));
    assert_true(json_is_real(json_object_get(j, "mean_ttft_ms")));
    json_decref(j);
}

static void slo_parse(void **state)
{
    (void)state;
    pf_slo s;
    char err[256];
    assert_int_equal(pf_slo_parse("ttft=200,tpot=50,e2e=5000", &s, err, sizeof err), 0);
    assert_true(s.ttft && s.tpot && s.e2e && s.ttft_ms == 200 && s.tpot_ms == 50 && s.e2e_ms == 5000);
    assert_int_equal(pf_slo_parse("ttft:200,e2el:9", &s, err, sizeof err), 0);
    assert_true(s.ttft && !s.tpot && s.e2e && s.e2e_ms == 9);
    assert_int_equal(pf_slo_parse("itl=5", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown metric 'itl'"));
    assert_int_equal(pf_slo_parse("ttft=-1", &s, err, sizeof err), -1);
    assert_int_equal(pf_slo_parse("ttft", &s, err, sizeof err), -1);
    assert_int_equal(pf_slo_parse("", &s, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sglang_definitions),
        cmocka_unit_test(json_keys),
        cmocka_unit_test(all_failed),
        cmocka_unit_test(slo_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

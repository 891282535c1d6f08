/* test_bench_prom.c -- Prometheus text format parsing and series keeping. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bench/prom.h"

/* Shaped like SGLang's /metrics (names from python/sglang/srt/metrics/collector.py). */
static const char TEXT[] =
    "# HELP sglang:num_running_reqs The number of running requests.\n"
    "# TYPE sglang:num_running_reqs gauge\n"
    "sglang:num_running_reqs{model_name=\"meta-llama/Llama-3.1-8B\"} 12.0\n"
    "sglang:gen_throughput{model_name=\"m\"} 1534.25\n"
    "sglang:time_to_first_token_seconds_bucket{le=\"0.1\",model_name=\"m\"} 3.0\n"
    "sglang:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 7.0\n"
    "vllm:num_requests_waiting{engine=\"0\", model_name=\"q\\\"x\"} 2 1712345678000\n"
    "process_cpu_seconds_total 4.5\n"
    "  \n"
    "bad line here\n"
    "sglang:broken{model_name=\"m\" 1\n"
    "sglang:nan_gauge NaN\n"
    "sglang:empty_labels{} +Inf\r\n";

typedef struct seen {
    int n;
    double v[16];
    char key[16][200];
} seen;

static void cb(void *ud, const char *name, const char *labels, double value)
{
    seen *s = ud;
    snprintf(s->key[s->n], sizeof s->key[0], "%s%s", name, labels);
    s->v[s->n++] = value;
}

static void parse(void **state)
{
    (void)state;
    seen s = {0};
    pf_prom_stats st;
    pf_prom_parse(TEXT, sizeof TEXT - 1, cb, &s, &st);
    assert_int_equal(st.samples, 8);
    assert_int_equal(st.bad_lines, 2);
    assert_int_equal(st.first_bad_line, 10);
    assert_string_equal(s.key[0], "sglang:num_running_reqs{model_name=\"meta-llama/Llama-3.1-8B\"}");
    assert_true(s.v[0] == 12.0);
    assert_true(s.v[1] == 1534.25);
    assert_string_equal(s.key[3], "sglang:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"m\"}");
    assert_string_equal(s.key[4], "vllm:num_requests_waiting{engine=\"0\",model_name=\"q\\\"x\"}");
    assert_true(s.v[4] == 2.0); /* the timestamp is not the value */
    assert_true(isnan(s.v[6]));
    assert_string_equal(s.key[7], "sglang:empty_labels");
    assert_true(isinf(s.v[7]));
}

static void collect(void **state)
{
    (void)state;
    json_t *series = json_object();
    static const char *const pre[] = {"sglang:", "vllm:", NULL};
    pf_prom_stats st;
    pf_prom_collect(series, 0.5, TEXT, sizeof TEXT - 1, pre, &st);
    pf_prom_collect(series, 1.5, TEXT, sizeof TEXT - 1, pre, &st);
    assert_null(json_object_get(series, "process_cpu_seconds_total"));
    json_t *a = json_object_get(series, "sglang:gen_throughput{model_name=\"m\"}");
    assert_int_equal(json_array_size(a), 2);
    assert_true(json_real_value(json_array_get(json_array_get(a, 1), 0)) == 1.5);
    assert_true(json_real_value(json_array_get(json_array_get(a, 1), 1)) == 1534.25);
    json_t *n = json_object_get(series, "sglang:nan_gauge");
    assert_true(json_is_null(json_array_get(json_array_get(n, 0), 1)));
    json_decref(series);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(parse), cmocka_unit_test(collect)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

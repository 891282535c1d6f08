/* test_bench_request.c -- request bodies and bench_serving's per-request
 * measurement loop (reference serving-bench.md 1.3) replayed on scripted
 * lines with chosen arrival times. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/request.h"

/* Feed data lines (NULL-terminated) arriving at times ts[i]. */
static int feed(pf_resp *r, const char *const *lines, const double *ts)
{
    int rc = 0;
    for (size_t i = 0; lines[i]; i++) {
        const char *l = lines[i];
        pf_sse_kind k = PF_SSE_DATA;
        if (l[0] == ':')
            k = PF_SSE_COMMENT, l++;
        if (pf_resp_line(r, k, l, strlen(l), ts[i]) < 0)
            rc = -1;
    }
    return rc;
}

static void near(double a, double b)
{
    if (!(a - b < 1e-12 && b - a < 1e-12))
        fail_msg("%.15g != %.15g", a, b);
}

static void chat_role_chunk_and_usage_only_chunk(void **state)
{
    (void)state;
    /* SGLang's chat stream: role-only first event (""), content events, a
     * finish event without content, a usage-only chunk (choices: []), [DONE] */
    const char *lines[] = {
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}",
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}",
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\",\"content\":null}}]}",
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}",
        "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}",
        "[DONE]",
        NULL};
    double ts[] = {10.010, 10.050, 10.060, 10.075, 10.076, 10.077, 10.078};
    pf_resp r = {0};
    pf_resp_init(&r, PF_API_CHAT, 10.0, 64);
    assert_int_equal(feed(&r, lines, ts), 0);
    near(r.ttft, 0.050);             /* first content, not the role chunk (vLLM differs) */
    assert_int_equal(r.n_itl, 2);    /* one sample per content event after the first */
    near(r.itl[0], 0.010);
    near(r.itl[1], 0.015);           /* reasoning_content counts as content (S-new) */
    near(r.last_line - r.st, 0.078); /* E2E ends at the last line read: [DONE] */
    assert_int_equal(r.output_len, 3);
    assert_true(r.output_from_usage);
    assert_int_equal(r.server_prompt_tokens, 12);
    assert_true(r.done);
    assert_int_equal(r.content_events, 3);
    assert_string_equal(r.id, "c1");
    assert_null(r.error);
    pf_resp_free(&r);
}

static void completions_without_usage_keeps_requested(void **state)
{
    (void)state;
    const char *lines[] = {"{\"choices\":[{\"text\":\"a\"}]}", "{\"choices\":[{\"text\":\"\"}]}",
                           "{\"choices\":[{\"text\":\"b\"}]}", ": ping", "[DONE]", NULL};
    double ts[] = {1.1, 1.2, 1.3, 1.4, 1.5};
    pf_resp r = {0};
    pf_resp_init(&r, PF_API_COMPLETIONS, 1.0, 99);
    assert_int_equal(feed(&r, lines, ts), 0);
    near(r.ttft, 0.1);
    assert_int_equal(r.n_itl, 1);
    near(r.itl[0], 0.2); /* the empty-text event is no sample and moves no clock */
    assert_int_equal(r.output_len, 99); /* bench_serving: requested length without usage */
    assert_false(r.output_from_usage);
    near(r.last_line, 1.5);
    pf_resp_free(&r);
}

static void generate_splits_gap_per_token(void **state)
{
    (void)state;
    /* native /generate: cumulative text, meta_info.completion_tokens; a gap
     * is split evenly over the tokens it brought; no new token, no sample */
    const char *lines[] = {
        "{\"text\":\"a\",\"meta_info\":{\"id\":\"g\",\"prompt_tokens\":5,\"completion_tokens\":1}}",
        "{\"text\":\"abc\",\"meta_info\":{\"completion_tokens\":3}}",
        "{\"text\":\"abc\",\"meta_info\":{\"completion_tokens\":3}}",
        "{\"text\":\"abcd\",\"meta_info\":{\"completion_tokens\":4}}",
        "[DONE]",
        NULL};
    double ts[] = {2.5, 2.7, 2.8, 2.9, 3.0};
    pf_resp r = {0};
    pf_resp_init(&r, PF_API_GENERATE, 2.0, 10);
    assert_int_equal(feed(&r, lines, ts), 0);
    near(r.ttft, 0.5);
    assert_int_equal(r.n_itl, 3);
    near(r.itl[0], 0.1);
    near(r.itl[1], 0.1);
    near(r.itl[2], 0.2); /* from 2.7, the event at 2.8 brought nothing */
    assert_int_equal(r.output_len, 4);
    assert_int_equal(r.server_prompt_tokens, 5);
    assert_string_equal(r.id, "g");
    pf_resp_free(&r);
}

static void malformed_and_error_events(void **state)
{
    (void)state;
    const char *bad[] = {"{\"choices\":[{\"text\":\"a\"}]}", "{\"choices\": [{\"text\": \"x\"", NULL};
    double ts[] = {1, 2};
    pf_resp r = {0};
    pf_resp_init(&r, PF_API_COMPLETIONS, 0, 4);
    assert_int_equal(feed(&r, bad, ts), -1);
    assert_non_null(strstr(r.error, "malformed JSON"));
    pf_resp_free(&r);

    const char *ev[] = {"{\"error\":{\"message\":\"out of memory\",\"code\":500}}", NULL};
    pf_resp_init(&r, PF_API_CHAT, 0, 4);
    assert_int_equal(feed(&r, ev, ts), -1);
    assert_non_null(strstr(r.error, "server error event in stream: out of memory"));
    pf_resp_free(&r);

    const char *gen[] = {"{\"text\":\"abc\"}", NULL};
    pf_resp_init(&r, PF_API_GENERATE, 0, 4);
    assert_int_equal(feed(&r, gen, ts), -1);
    assert_non_null(strstr(r.error, "meta_info.completion_tokens"));
    pf_resp_free(&r);

    const char *arr[] = {"[1,2]", NULL};
    pf_resp_init(&r, PF_API_CHAT, 0, 4);
    assert_int_equal(feed(&r, arr, ts), -1);
    assert_non_null(strstr(r.error, "not a JSON object"));
    pf_resp_free(&r);
}

static void body_shapes(void **state)
{
    (void)state;
    int32_t ids[] = {5, 6, 7};
    json_t *extra = json_pack("{s:f,s:b}", "top_p", 0.5, "ignore_eos", 0);
    pf_body_opts o = {PF_API_COMPLETIONS, "m", true, true, 0.0, extra};
    char *b = pf_request_body(&o, NULL, ids, 3, 17, NULL);
    json_t *j = json_loads(b, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "prompt")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 17);
    assert_true(json_is_true(json_object_get(json_object_get(j, "stream_options"), "include_usage")));
    assert_true(json_is_false(json_object_get(j, "ignore_eos"))); /* extra body wins */
    assert_string_equal(json_string_value(json_object_get(j, "model")), "m");
    json_decref(j);
    free(b);

    o.api = PF_API_GENERATE;
    o.extra = NULL;
    b = pf_request_body(&o, NULL, ids, 3, 17, NULL);
    j = json_loads(b, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "input_ids")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "sampling_params"),
                                                        "max_new_tokens")), 17);
    assert_null(json_object_get(j, "stream_options")); /* /generate has none */
    json_decref(j);
    free(b);

    o.api = PF_API_CHAT;
    b = pf_request_body(&o, "hi there", NULL, 0, 9, NULL);
    j = json_loads(b, 0, NULL);
    json_t *m0 = json_array_get(json_object_get(j, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "content")), "hi there");
    assert_int_equal(json_integer_value(json_object_get(j, "max_completion_tokens")), 9);
    assert_true(json_is_true(json_object_get(j, "stream")));
    json_decref(j);
    free(b);
    json_decref(extra);
}

static void backends_and_paths(void **state)
{
    (void)state;
    pf_api api;
    const char *path;
    assert_int_equal(pf_backend_lookup("sglang", &api, &path), 0);
    assert_int_equal(api, PF_API_GENERATE);
    assert_string_equal(path, "/generate");
    assert_int_equal(pf_backend_lookup("vllm-chat", &api, &path), 0);
    assert_int_equal(api, PF_API_CHAT);
    assert_int_equal(pf_backend_lookup("trt", &api, &path), -1);
    assert_int_equal(pf_api_from_path("/v1/chat/completions/", &api), 0);
    assert_int_equal(api, PF_API_CHAT);
    assert_int_equal(pf_api_from_path("/openai/v1/completions?x=1", &api), 0);
    assert_int_equal(api, PF_API_COMPLETIONS);
    assert_int_equal(pf_api_from_path("/completion", &api), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_role_chunk_and_usage_only_chunk),
        cmocka_unit_test(completions_without_usage_keeps_requested),
        cmocka_unit_test(generate_splits_gap_per_token),
        cmocka_unit_test(malformed_and_error_events),
        cmocka_unit_test(body_shapes),
        cmocka_unit_test(backends_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bench_jscan.c -- the fast chunk parser (jscan) must never disagree
 * with the jansson reference: a table of valid and invalid texts, then
 * hundreds of thousands of mutated real-shaped chunks compared field by field. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/jscan.h"
#include "bench/request.h"
#include "bench/rng.h"

static void validity_matches_jansson(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}", "[]", "{\"a\":1}", "{\"a\":[1,2,{\"b\":null}]}", " {\"a\" : true , \"b\":false} ",
        "{\"a\":-0.5e+10}", "{\"a\":\"\\u00e9\\n\\\"\"}", "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
        "{\"a\":\"\\ud83d\\ude00\"}", "\"str\"", "12", "null",
        /* invalid */
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}", "{} x", "{}}", "{\"a\":1 \"b\":2}", "[1 2]", "{\"a\":\"unterminated}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\udc00\"}", "{'a':1}", "{\"a\":NaN}", "{\"a\":Infinity}",
        "{\"a\":-}", "{\"a\":+1}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i];
        pf_jfield f = {.path = "a"};
        pf_jscan_rc rc = pf_jscan(t, strlen(t), &f, 1);
        json_t *j = json_loadb(t, strlen(t), JSON_DECODE_ANY, NULL);
        if (rc == PF_JSCAN_OK && !j)
            fail_msg("jscan accepted what jansson rejects: %s", t);
        json_decref(j);
    }
    /* decoded lengths and raw values */
    pf_jfield f[3] = {{.path = "s"}, {.path = "n"}, {.path = "arr"}};
    const char *t = "{\"s\":\"a\\u00e9\\n\xe2\x82\xac\",\"n\":42.9,\"arr\":[1,[2],3]}";
    assert_int_equal(pf_jscan(t, strlen(t), f, 3), PF_JSCAN_OK);
    assert_int_equal(f[0].type, PF_J_STRING);
    assert_int_equal(f[0].len, 1 + 2 + 1 + 3);
    assert_int_equal(pf_jfield_long(&f[1]), 42);
    assert_int_equal(f[2].type, PF_J_ARRAY);
    assert_int_equal(f[2].len, 3);
    /* a wanted key given twice is left to jansson */
    const char *dup = "{\"s\":\"a\",\"s\":\"b\"}";
    assert_int_equal(pf_jscan(dup, strlen(dup), f, 1), PF_JSCAN_FALLBACK);
}

static const char *const CORPUS[] = {
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}",
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Hello\\n\\u00e9\"}}]}",
    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\",\"content\":null}}]}",
    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"r\",\"content\":\"x\"}}]}",
    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}",
    "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
    "\"completion_tokens\":300,\"total_tokens\":312}}",
    "{\"id\":\"cmpl-9\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\" world\","
    "\"logprobs\":null,\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1.0}}",
    "{\"text\":\" a b c\",\"meta_info\":{\"id\":\"abc\",\"prompt_tokens\":7,\"completion_tokens\":3,"
    "\"finish_reason\":null}}",
    "{\"error\":{\"message\":\"out of memory\",\"type\":\"InternalServerError\",\"code\":500}}",
    "{\"object\":\"error\",\"message\":\"bad request\"}",
    "{\"id\":\"x\",\"choices\":{\"a\":1}}",
    "{\"text\":\"abc\"}",
};

static void same(pf_api api, const char *t, size_t n)
{
    pf_chunk a, b;
    pf_err ea = {{0}}, eb = {{0}};
    int ra = pf_chunk_parse(api, t, n, &a, &ea);
    int rb = pf_chunk_parse_jansson(api, t, n, &b, &eb);
    if (ra != rb)
        fail_msg("api %d: fast %d, jansson %d (%s) on: %.*s", (int)api, ra, rb, eb.msg, (int)n, t);
    if (ra < 0) {
        if (strcmp(ea.msg, eb.msg) != 0)
            fail_msg("messages differ: '%s' vs '%s'", ea.msg, eb.msg);
        return;
    }
    if (a.has_text != b.has_text || a.text_len != b.text_len ||
        a.completion_tokens != b.completion_tokens || a.prompt_tokens != b.prompt_tokens ||
        a.error != b.error || strcmp(a.message, b.message) != 0 || strcmp(a.id, b.id) != 0)
        fail_msg("api %d differs on %.*s: text %d/%zu vs %d/%zu, ct %ld vs %ld, pt %ld vs %ld, "
                 "id '%s' vs '%s', error %d vs %d",
                 (int)api, (int)n, t, a.has_text, a.text_len, b.has_text, b.text_len,
                 a.completion_tokens, b.completion_tokens, a.prompt_tokens, b.prompt_tokens, a.id,
                 b.id, a.error, b.error);
}

static void mutations_agree(void **state)
{
    (void)state;
    static const char special[] = "{}[]\",:\\0123456789.eE-+ \ntfnu\x80\xc3\xff";
    pf_rng r;
    pf_rng_seed(&r, 7);
    char buf[1024];
    size_t ncorpus = sizeof CORPUS / sizeof CORPUS[0];
    for (size_t c = 0; c < ncorpus; c++)
        for (int api = 0; api < 3; api++)
            same((pf_api)api, CORPUS[c], strlen(CORPUS[c]));
    for (int iter = 0; iter < 300000; iter++) {
        const char *src = CORPUS[pf_rng_range(&r, 0, (int64_t)ncorpus - 1)];
        size_t n = strlen(src);
        memcpy(buf, src, n);
        int muts = (int)pf_rng_range(&r, 1, 3);
        for (int m = 0; m < muts && n > 1; m++) {
            size_t at = (size_t)pf_rng_range(&r, 0, (int64_t)n - 1);
            char ch = special[pf_rng_range(&r, 0, (int64_t)sizeof special - 2)];
            switch (pf_rng_range(&r, 0, 2)) {
            case 0: buf[at] = ch; break;                                      /* replace */
            case 1: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;  /* delete */
            default:                                                          /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = ch;
                    n++;
                }
            }
        }
        same((pf_api)pf_rng_range(&r, 0, 2), buf, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validity_matches_jansson),
        cmocka_unit_test(mutations_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bench_sse.c -- the incremental SSE line parser: every split point,
 * every line ending, comments, fields, BOM, overlong lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/sse.h"

typedef struct sink {
    char out[4096]; /* "K:value|" per line, K = D(ata) C(omment) F(ield) */
    size_t len;
    int stop_after; /* return 1 from the callback after this many lines (0: never) */
    int lines;
} sink;

static int on_line(void *ud, pf_sse_kind kind, const char *v, size_t vlen, const char *line,
                   size_t llen)
{
    sink *s = ud;
    (void)line;
    (void)llen;
    char k = kind == PF_SSE_DATA ? 'D' : kind == PF_SSE_COMMENT ? 'C' : 'F';
    s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "%c:%.*s|", k, (int)vlen, v);
    s->lines++;
    return s->stop_after && s->lines >= s->stop_after;
}

/* Feed `in` split at every possible pair of points; all must agree. */
static void check_all_splits(const char *in, const char *want)
{
    size_t n = strlen(in);
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            pf_sse p;
            pf_sse_init(&p, 0);
            sink s = {0};
            assert_int_equal(pf_sse_feed(&p, in, a, on_line, &s), 0);
            assert_int_equal(pf_sse_feed(&p, in + a, b - a, on_line, &s), 0);
            assert_int_equal(pf_sse_feed(&p, in + b, n - b, on_line, &s), 0);
            assert_int_equal(pf_sse_finish(&p, on_line, &s), 0);
            if (strcmp(s.out, want) != 0)
                fail_msg("split %zu/%zu of %s: got %s want %s", a, b, in, s.out, want);
            pf_sse_free(&p);
        }
}

static void openai_stream(void **state)
{
    (void)state;
    check_all_splits("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n",
                     "D:{\"a\":1}|D:{\"b\":2}|D:[DONE]|");
}

static void line_endings(void **state)
{
    (void)state;
    check_all_splits("data: x\r\n\r\ndata: y\r\rdata: z\n", "D:x|D:y|D:z|");
    /* CR then LF in separate feeds is one line ending, not two */
    check_all_splits("data:a\r\ndata:b\r\n", "D:a|D:b|");
}

static void fields_and_comments(void **state)
{
    (void)state;
    /* one optional space after the colon is removed, not two; no colon: the
     * whole line is a field name with an empty value */
    check_all_splits(": keep-alive\nevent: token\nid: 7\ndata:  two\ndata\nretry: 10\n",
                     "C: keep-alive|F:token|F:7|D: two|D:|F:10|");
}

static void bom_and_unterminated(void **state)
{
    (void)state;
    pf_sse p;
    pf_sse_init(&p, 0);
    sink s = {0};
    const char in[] = "\xEF\xBB\xBF" "data: first\ndata: tail";
    assert_int_equal(pf_sse_feed(&p, in, sizeof in - 1, on_line, &s), 0);
    assert_string_equal(s.out, "D:first|");
    assert_int_equal(pf_sse_pending(&p), strlen("data: tail"));
    assert_int_equal(pf_sse_finish(&p, on_line, &s), 0);
    assert_string_equal(s.out, "D:first|D:tail|");
    pf_sse_free(&p);
}

static void overlong_line(void **state)
{
    (void)state;
    pf_sse p;
    pf_sse_init(&p, 16);
    sink s = {0};
    assert_int_equal(pf_sse_feed(&p, "data: 0123456789", 16, on_line, &s), 0);
    assert_int_equal(pf_sse_feed(&p, "X", 1, on_line, &s), -1);
    assert_true(p.overflow);
    assert_int_equal(pf_sse_feed(&p, "\n", 1, on_line, &s), -1); /* stays failed */
    pf_sse_free(&p);
    /* the same limit applies to a line complete within one feed */
    pf_sse_init(&p, 8);
    assert_int_equal(pf_sse_feed(&p, "data: 0123456789\n", 17, on_line, &s), -1);
    pf_sse_free(&p);
}

static void callback_stops(void **state)
{
    (void)state;
    pf_sse p;
    pf_sse_init(&p, 0);
    sink s = {.stop_after = 2};
    const char *in = "data: a\ndata: b\ndata: c\n";
    assert_int_equal(pf_sse_feed(&p, in, strlen(in), on_line, &s), 1);
    assert_string_equal(s.out, "D:a|D:b|");
    pf_sse_free(&p);
}

static void reset_reuses(void **state)
{
    (void)state;
    pf_sse p;
    pf_sse_init(&p, 0);
    sink s = {0};
    pf_sse_feed(&p, "data: partial", 13, on_line, &s);
    pf_sse_reset(&p);
    pf_sse_feed(&p, "data: new\n", 10, on_line, &s);
    assert_string_equal(s.out, "D:new|");
    pf_sse_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_stream),     cmocka_unit_test(line_endings),
        cmocka_unit_test(fields_and_comments), cmocka_unit_test(bom_and_unterminated),
        cmocka_unit_test(overlong_line),     cmocka_unit_test(callback_stops),
        cmocka_unit_test(reset_reuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

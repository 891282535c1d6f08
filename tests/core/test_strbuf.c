/* core/strbuf: growing without a cap, whole items under a cap, and the
 * "… (N more)" marker whenever anything was left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/strbuf.h"

static void grows_without_cap(void **state)
{
    (void)state;
    pf_strbuf b;
    pf_strbuf_init(&b, 0);
    assert_string_equal(pf_strbuf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        pf_strbuf_itemf(&b, ", ", "node%03d", i);
    const char *s = pf_strbuf_str(&b);
    assert_int_equal(strlen(s), 1000 * 7 + 999 * 2);
    assert_true(strncmp(s, "node000, node001", 16) == 0);
    assert_non_null(strstr(s, "node999"));
    assert_null(strstr(s, "more)"));
    pf_strbuf_appendf(&b, " [%d]", 42);
    assert_non_null(strstr(pf_strbuf_str(&b), "node999 [42]"));
    pf_strbuf_free(&b);
}

static void cap_keeps_whole_items_and_counts_the_rest(void **state)
{
    (void)state;
    pf_strbuf b;
    pf_strbuf_init(&b, 20);
    static const char *const names[] = {"spark-1", "spark-2", "thor-1", "thor-2", "x"};
    for (int i = 0; i < 5; i++)
        pf_strbuf_item(&b, ", ", names[i]);
    /* "spark-1, spark-2" is 16; ", thor-1" would make 24 > 20; "x" would fit
     * but must not appear after a gap */
    assert_string_equal(pf_strbuf_str(&b), "spark-1, spark-2 \u2026 (3 more)");
    assert_int_equal(pf_strbuf_dropped(&b), 3);
    /* asking twice does not mark twice */
    assert_string_equal(pf_strbuf_str(&b), "spark-1, spark-2 \u2026 (3 more)");
    pf_strbuf_free(&b);
}

static void cut_append_is_marked(void **state)
{
    (void)state;
    pf_strbuf b;
    pf_strbuf_init(&b, 10);
    pf_strbuf_append(&b, "0123456789abcdef");
    assert_string_equal(pf_strbuf_str(&b), "0123456789 \u2026 (1 more)");
    /* writing after str() continues the text, not the marker */
    pf_strbuf_append(&b, "zz");
    assert_string_equal(pf_strbuf_str(&b), "0123456789 \u2026 (2 more)");
    char *t = pf_strbuf_take(&b);
    assert_string_equal(t, "0123456789 \u2026 (2 more)");
    free(t);
    assert_string_equal(pf_strbuf_str(&b), "");
    pf_strbuf_free(&b);

    /* never half a UTF-8 character */
    pf_strbuf_init(&b, 4);
    pf_strbuf_append(&b, "ab\u00e9\u00e9");  /* a b é é: 6 bytes */
    assert_string_equal(pf_strbuf_str(&b), "ab\u00e9 \u2026 (1 more)");
    pf_strbuf_free(&b);
}

static void nothing_fits(void **state)
{
    (void)state;
    pf_strbuf b;
    pf_strbuf_init(&b, 3);
    pf_strbuf_item(&b, ", ", "too-long");
    pf_strbuf_drop(&b, 2);
    assert_string_equal(pf_strbuf_str(&b), "\u2026 (3 more)");
    pf_strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_without_cap),
        cmocka_unit_test(cap_keeps_whole_items_and_counts_the_rest),
        cmocka_unit_test(cut_append_is_marked),
        cmocka_unit_test(nothing_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

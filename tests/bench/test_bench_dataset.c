/* test_bench_dataset.c -- random lengths as bench_serving defines them,
 * reproducibility, and the ShareGPT / JSONL readers on good and bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/dataset.h"

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/pf_bench_ds_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void random_lens_bounds(void **state)
{
    (void)state;
    pf_rng r;
    pf_rng_seed(&r, 1);
    long v[20000];
    /* U[max(int(L*r), 1), L]: 1000 * 0.25 -> [250, 1000]; both ends reached */
    pf_random_lens(1000, 0.25, 20000, &r, v);
    long lo = 1 << 30, hi = 0;
    double sum = 0;
    for (int i = 0; i < 20000; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
        sum += (double)v[i];
    }
    assert_int_equal(lo, 250);
    assert_int_equal(hi, 1000);
    assert_true(sum / 20000 > 615 && sum / 20000 < 635); /* mean 625 */
    /* ratio 0 (the default) means [1, L]; ratio 1 means exactly L */
    pf_random_lens(3, 0.0, 2000, &r, v);
    for (int i = 0; i < 2000; i++)
        assert_true(v[i] >= 1 && v[i] <= 3);
    pf_random_lens(77, 1.0, 100, &r, v);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], 77);
    pf_random_lens(0, 0.5, 5, &r, v);
    for (int i = 0; i < 5; i++)
        assert_int_equal(v[i], 0);
}

static void random_ids_and_text(void **state)
{
    (void)state;
    pf_random_opts o = {64, 16, 0.5, true, 1000, 2000};
    pf_rng a, b;
    pf_rng_seed(&a, 42);
    pf_rng_seed(&b, 42);
    pf_dataset d1, d2;
    pf_err err;
    assert_int_equal(pf_dataset_random(&o, 50, &a, &d1, &err), 0);
    assert_int_equal(pf_dataset_random(&o, 50, &b, &d2, &err), 0);
    assert_int_equal(d1.n, 50);
    for (size_t i = 0; i < d1.n; i++) {
        const pf_prompt *p = &d1.rows[i];
        assert_true(p->prompt_len >= 32 && p->prompt_len <= 64);
        assert_true(p->output_len >= 8 && p->output_len <= 16);
        assert_int_equal(p->n_ids, (size_t)p->prompt_len);
        assert_true(p->prompt_len_exact);
        for (size_t k = 0; k < p->n_ids; k++)
            assert_true(p->ids[k] >= 1000 && p->ids[k] < 2000);
        /* same seed, same data */
        assert_int_equal(d2.rows[i].prompt_len, p->prompt_len);
        assert_memory_equal(d2.rows[i].ids, p->ids, p->n_ids * sizeof *p->ids);
    }
    pf_dataset_free(&d1);
    pf_dataset_free(&d2);
    o.ids = false;
    assert_int_equal(pf_dataset_random(&o, 5, &a, &d1, &err), 0);
    for (size_t i = 0; i < d1.n; i++) {
        /* L words separated by single spaces */
        size_t words = 1;
        for (const char *s = d1.rows[i].text; *s; s++)
            words += *s == ' ';
        assert_int_equal(words, (size_t)d1.rows[i].prompt_len);
        assert_false(d1.rows[i].prompt_len_exact);
    }
    pf_dataset_free(&d1);
    o.range_ratio = 1.5;
    assert_int_equal(pf_dataset_random(&o, 5, &a, &d1, &err), -1);
}

static void estimate(void **state)
{
    (void)state;
    assert_int_equal(pf_estimate_tokens(""), 0);
    assert_int_equal(pf_estimate_tokens("abc"), 1);
    assert_int_equal(pf_estimate_tokens("abcdefgh"), 2);
    assert_int_equal(pf_estimate_tokens("abcdefghi"), 3);
    assert_int_equal(pf_estimate_tokens("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), 2); /* 5 code points */
}

static void sharegpt(void **state)
{
    (void)state;
    char *p = write_tmp(
        "[{\"id\":\"a\",\"conversations\":[{\"from\":\"human\",\"value\":\"Tell me about the sea, "
        "please.\"},{\"from\":\"gpt\",\"value\":\"The sea is large and full of water and fish.\"}]},"
        " {\"id\":\"b\",\"conversations\":[{\"from\":\"human\",\"value\":\"hi\"}]},"
        " {\"id\":\"c\",\"conversations\":[{\"from\":\"human\",\"value\":\"Why is the sky blue on "
        "most days?\"},{\"from\":\"gpt\",\"value\":\"ok\"}]}]");
    pf_rng r;
    pf_rng_seed(&r, 3);
    pf_dataset d;
    pf_err err;
    assert_int_equal(pf_dataset_sharegpt(p, 10, 0, &r, &d, &err), 0);
    /* b has one turn; c's reply "ok" is under 2 tokens: both dropped */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.skipped, 2);
    assert_string_equal(d.rows[0].text, "Tell me about the sea, please.");
    assert_int_equal(d.rows[0].prompt_len, 8);  /* 30 code points / 4, rounded up */
    assert_int_equal(d.rows[0].output_len, 11); /* 44 / 4 */
    pf_dataset_free(&d);
    /* a fixed output length keeps c */
    assert_int_equal(pf_dataset_sharegpt(p, 10, 128, &r, &d, &err), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.rows[0].output_len, 128);
    pf_dataset_free(&d);
    unlink(p);
    free(p);

    assert_int_equal(pf_dataset_sharegpt("/nonexistent/sg.json", 10, 0, &r, &d, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/sg.json"));
    p = write_tmp("[{\"conversations\": [}]");
    assert_int_equal(pf_dataset_sharegpt(p, 10, 0, &r, &d, &err), -1);
    assert_non_null(strstr(err.msg, "line 1"));
    unlink(p);
    free(p);
    p = write_tmp("{\"not\": \"a list\"}");
    assert_int_equal(pf_dataset_sharegpt(p, 10, 0, &r, &d, &err), -1);
    assert_non_null(strstr(err.msg, "expected a JSON list"));
    unlink(p);
    free(p);
}

static void jsonl(void **state)
{
    (void)state;
    char *p = write_tmp("{\"prompt\": \"one two three four five\", \"output_len\": 7}\n"
                        "\n"
                        "{\"prompt\": [1, 2, 3], \"max_tokens\": 4}\n"
                        "{\"input_ids\": [9, 8], \"prompt_len\": 2}\n"
                        "{\"prompt\": \"declared\", \"prompt_len\": 40}\n");
    pf_dataset d;
    pf_err err;
    assert_int_equal(pf_dataset_jsonl(p, 100, 33, &d, &err), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.rows[0].output_len, 7);
    assert_false(d.rows[0].prompt_len_exact);
    assert_int_equal(d.rows[1].n_ids, 3);
    assert_int_equal(d.rows[1].output_len, 4);
    assert_true(d.rows[1].prompt_len_exact);
    assert_int_equal(d.rows[2].output_len, 33); /* the default */
    assert_int_equal(d.rows[3].prompt_len, 40);
    assert_true(d.rows[3].prompt_len_exact);
    pf_dataset_free(&d);
    assert_int_equal(pf_dataset_jsonl(p, 2, 33, &d, &err), 0); /* first n rows */
    assert_int_equal(d.n, 2);
    pf_dataset_free(&d);
    unlink(p);
    free(p);

    static const struct {
        const char *content, *want;
    } bad[] = {
        {"{\"prompt\": \"ok\"}\n{\"prompt\": \"x\",}\n", ":2: malformed JSON"},
        {"{\"prompt\": \"ok\"}\n\n[1,2]\n", ":3: line is not a JSON object"},
        {"{\"text\": \"no prompt key\"}\n", ":1: no \"prompt\""},
        {"{\"prompt\": \"a\", \"output_len\": 0}\n", ":1: \"output_len\" must be a positive"},
        {"{\"prompt\": [1, -2]}\n", ":1: token id #1"},
        {"{\"prompt\": \"\"}\n", ":1: empty \"prompt\""},
        {"\n\n", "has no prompts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_tmp(bad[i].content);
        assert_int_equal(pf_dataset_jsonl(p, 10, 8, &d, &err), -1);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
        assert_non_null(strstr(err.msg, p)); /* names the file */
        unlink(p);
        free(p);
    }
    assert_int_equal(pf_dataset_jsonl("/nonexistent/x.jsonl", 10, 8, &d, &err), -1);
    assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_lens_bounds), cmocka_unit_test(random_ids_and_text),
        cmocka_unit_test(estimate),           cmocka_unit_test(sharegpt),
        cmocka_unit_test(jsonl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

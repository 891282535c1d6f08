/* `preflight bench` flags, in process: one table drives the parser and
 * --help (bench/bench_cli.c), and the defects of issue #13 stay fixed.
 * Exit codes of the real binary for the same inputs: test_bench_e2e's
 * bad_input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_cli.h"

/* Parse "bench" + args; returns pf_bench_parse's result, err in *e. */
static int parse(const char *const *args, pf_bench_opts *o, pf_err *e)
{
    char *argv[64] = {"bench"};
    int n = 1;
    for (; *args; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    pf_bench_opts_init(o);
    memset(e, 0, sizeof *e);
    return pf_bench_parse(n, argv, o, e);
}

static void rejected(const char *const *args, const char *msg)
{
    pf_bench_opts o;
    pf_err e;
    int r = parse(args, &o, &e);
    if (r != -1 || !strstr(e.msg, msg))
        fail_msg("%s %s: got %d '%s', wanted a usage error with '%s'", args[2] ? args[2] : args[0],
                 args[3] ? args[3] : "", r, e.msg, msg);
    pf_bench_opts_free(&o);
}

#define URL "--url", "http://127.0.0.1:1"

/* issue #13: each was accepted before */
static void issue13_defects(void **state)
{
    (void)state;
    rejected((const char *[]){URL, "--concurrency", "1,,2", NULL}, "empty element");
    rejected((const char *[]){URL, "--concurrency", "1,2,", NULL}, "empty element");
    rejected((const char *[]){URL, "--concurrency", ",4", NULL}, "empty element");
    rejected((const char *[]){URL, "--concurrency", "", NULL}, "--concurrency");
    rejected((const char *[]){URL, "--request-rate", "1e-300", NULL}, "nothing would ever be sent");
    rejected((const char *[]){URL, "--request-rate", "0.00001", NULL}, "below one request per day");
    rejected((const char *[]){"--url", "http://[::1", NULL}, "not a valid URL");
    rejected((const char *[]){"--url", "http://127.0.0.1:99999", NULL}, "not a valid URL");

    /* and what must stay accepted */
    pf_bench_opts o;
    pf_err e;
    assert_int_equal(parse((const char *[]){"--url", "http://[::1]:8000", "--concurrency", "1,8,64",
                                            NULL}, &o, &e), 0);
    assert_int_equal(o.n_levels, 3);
    assert_int_equal(o.levels[2], 64);
    pf_bench_opts_free(&o);
    assert_int_equal(parse((const char *[]){URL, "--request-rate", "0.001", NULL}, &o, &e), 0);
    assert_true(o.request_rate == 0.001);
    pf_bench_opts_free(&o);
}

/* Every kind of row stores where it should, "--flag=value" too. */
static void table_rows_store_values(void **state)
{
    (void)state;
    pf_bench_opts o;
    pf_err e;
    int r = parse((const char *[]){URL, "--num-prompts=7", "--random-input-len", "9", "--temperature",
                                   "0.5", "--busy-poll", "--disable-ignore-eos", "--no-stream-usage",
                                   "--tag", "t1", "--threads", "3", "--dataset-name", "random",
                                   "--token-id-range", "5:10", "--header", "X-A: b", NULL},
                  &o, &e);
    if (r != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(o.num_prompts, 7);
    assert_int_equal(o.random_input_len, 9);
    assert_true(o.temperature == 0.5);
    assert_true(o.busy_poll);
    assert_false(o.ignore_eos);
    assert_false(o.stream_usage);
    assert_string_equal(o.tag, "t1");
    assert_int_equal(o.threads, 3);
    assert_int_equal(o.id_lo, 5);
    assert_int_equal(o.id_hi, 10);
    pf_bench_opts_free(&o);

    rejected((const char *[]){URL, "--num-prompts", NULL}, "--num-prompts needs a value");
    rejected((const char *[]){URL, "--num-prompts", "0", NULL}, "is not an integer in [1,");
    rejected((const char *[]){URL, "--busy-poll=1", NULL}, "unknown option --busy-poll=1");
    rejected((const char *[]){URL, "--frob", NULL}, "unknown option --frob");
    rejected((const char *[]){URL, "--temperature", "x", NULL}, "is not a number >= 0");
}

/* Every flag --help names is one the parser knows (and the other way round
 * is by construction: the parser reads the same table). */
static void help_names_only_parsable_flags(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pf_bench_usage(f);
    fclose(f);
    assert_non_null(strstr(buf, "usage: preflight bench"));
    assert_non_null(strstr(buf, "--api-key-env NAME"));
    int flags = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "  --", 4) != 0)
            continue;
        char name[64];
        sscanf(line + 2, "%63s", name);
        if (strcmp(name, "--launch") == 0 || strcmp(name, "--json") == 0)
            continue;
        /* a valued flag gets a value, a switch none; either way not "unknown" */
        pf_bench_opts o;
        pf_err e;
        parse((const char *[]){URL, name, "1", NULL}, &o, &e);
        char unknown[96];
        snprintf(unknown, sizeof unknown, "unknown option %s (", name);
        if (strstr(e.msg, unknown))
            fail_msg("--help lists %s, the parser does not know it", name);
        pf_bench_opts_free(&o);
        flags++;
    }
    assert_true(flags >= 40);
    free(buf);
}

static void api_key_env_unset_is_usage_error(void **state)
{
    (void)state;
    unsetenv("PF_TEST_NO_SUCH_KEY");
    rejected((const char *[]){URL, "--api-key-env", "PF_TEST_NO_SUCH_KEY", NULL}, "not set");
    setenv("PF_TEST_EMPTY_KEY", "", 1);
    rejected((const char *[]){URL, "--api-key-env", "PF_TEST_EMPTY_KEY", NULL}, "empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue13_defects),
        cmocka_unit_test(table_rows_store_values),
        cmocka_unit_test(help_names_only_parsable_flags),
        cmocka_unit_test(api_key_env_unset_is_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

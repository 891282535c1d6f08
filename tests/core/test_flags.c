/* core/flags: one table row per kind, what the parser stores and refuses,
 * group filtering, the "--flag=value" option, and the --help layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/flags.h"

typedef struct opts {
    const char *name;
    bool on, off;
    long n;
    size_t count;
    double rate;
    int calls;
} opts;

static int fn_twice(void *o_, const char *name, const char *v, pf_err *err)
{
    opts *o = o_;
    if (strcmp(v, "bad") == 0)
        return pf_err_set(err, "%s: '%s' is bad", name, v);
    o->calls += 2;
    return 0;
}

enum { G_A = 1, G_B = 2 };

static const pf_flag T[] = {
    PF_FLAGS_SECTION("things:"),
    {PF_FLAG_STR, "--name", "NAME", "a name", .off = offsetof(opts, name)},
    {PF_FLAG_SET, "--on", NULL, "switch on", .off = offsetof(opts, on)},
    {PF_FLAG_CLEAR, "--no-off", NULL, "switch off", .off = offsetof(opts, off)},
    {PF_FLAG_LONG, "--n", "N", "a number\nin two lines", .off = offsetof(opts, n), .lo = -5, .hi = 5},
    {PF_FLAG_SIZE, "--count", "N", "how many", .off = offsetof(opts, count), .lo = 1, .hi = 10,
     .group = G_A},
    {PF_FLAG_DOUBLE, "--rate", "R", "per second", .off = offsetof(opts, rate), .lo = 0.5,
     .group = G_B, .needs = "a rate"},
    {PF_FLAG_FN, "--twice", "X", NULL, .fn = fn_twice},  /* hidden alias-like row */
    {PF_FLAG_DOC, "--launch", "-- CMD...", "parsed by the caller", .fn = NULL},
    {PF_FLAG_STR, "--a-very-long-flag-name", "VALUE", "help on the same line", .off = offsetof(opts, name)},
};
#define N (sizeof T / sizeof T[0])

/* Offer args to the table one by one; the first non-1 result is returned. */
static int run(opts *o, unsigned accept, unsigned options, const char *const *args, pf_err *e)
{
    char *argv[16] = {"cmd"};
    int argc = 1;
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    memset(e, 0, sizeof *e);
    for (int i = 1; i < argc; i++) {
        int r = pf_flags_take(T, N, accept, options, o, argc, argv, &i, e);
        if (r != 1)
            return r;
    }
    return 1;
}

static void every_kind_stores(void **state)
{
    (void)state;
    opts o = {.off = true};
    pf_err e;
    assert_int_equal(run(&o, G_A | G_B, 0,
                         (const char *[]){"--name", "x", "--on", "--no-off", "--n", "-5", "--count", "10",
                                          "--rate", "0.5", "--twice", "y", NULL}, &e), 1);
    assert_string_equal(o.name, "x");
    assert_true(o.on);
    assert_false(o.off);
    assert_int_equal(o.n, -5);
    assert_int_equal(o.count, 10);
    assert_true(o.rate == 0.5);
    assert_int_equal(o.calls, 2);
}

static void bad_values_name_the_flag(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        int want;
        const char *msg;
    } rows[] = {
        {{"--n", "6", NULL}, -1, "--n: '6' is not an integer in [-5, 5]"},
        {{"--n", "1x", NULL}, -1, "--n: '1x' is not an integer"},
        {{"--n", "", NULL}, -1, "--n: '' is not an integer"},
        {{"--count", "0", NULL}, -1, "--count: '0' is not an integer in [1, 10]"},
        {{"--rate", "0.4", NULL}, -1, "--rate: '0.4' is not a number >= 0.5"},
        {{"--rate", "nan", NULL}, -1, "is not a number"},
        {{"--rate", "inf", NULL}, -1, "is not a number"},
        {{"--rate", NULL}, -1, "--rate needs a rate (see --help)"},
        {{"--name", NULL}, -1, "--name needs a value"},
        {{"--twice", "bad", NULL}, -1, "--twice: 'bad' is bad"},
        {{"--launch", NULL}, 0, ""},       /* DOC rows are the caller's */
        {{"--unknown", NULL}, 0, ""},
        {{"--name=x", NULL}, 0, ""},       /* no "=" form unless asked for */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        opts o = {0};
        pf_err e;
        int r = run(&o, G_A | G_B, 0, rows[i].args, &e);
        if (r != rows[i].want || !strstr(e.msg, rows[i].msg))
            fail_msg("row %zu (%s): got %d '%s', wanted %d '%s'", i, rows[i].args[0], r, e.msg,
                     rows[i].want, rows[i].msg);
    }
}

static void groups_and_eq_form(void **state)
{
    (void)state;
    opts o = {0};
    pf_err e;
    /* --count is group A: a command accepting only B does not know it */
    assert_int_equal(run(&o, G_B, 0, (const char *[]){"--count", "3", NULL}, &e), 0);
    assert_int_equal(run(&o, G_A, 0, (const char *[]){"--count", "3", NULL}, &e), 1);
    assert_int_equal(o.count, 3);
    /* with PF_FLAGS_EQ, "--flag=value" too; a switch never takes "=x" */
    assert_int_equal(run(&o, G_A, PF_FLAGS_EQ, (const char *[]){"--name=a=b", "--n=2", NULL}, &e), 1);
    assert_string_equal(o.name, "a=b");
    assert_int_equal(o.n, 2);
    assert_int_equal(run(&o, G_A, PF_FLAGS_EQ, (const char *[]){"--on=1", NULL}, &e), 0);
    assert_int_equal(run(&o, G_A, PF_FLAGS_EQ, (const char *[]){"--nam=x", NULL}, &e), 0);
}

static void help_layout(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pf_flags_help(f, T, N, G_A, 16);
    fclose(f);
    assert_string_equal(buf,
                        "things:\n"
                        "  --name NAME   a name\n"
                        "  --on          switch on\n"
                        "  --no-off      switch off\n"
                        "  --n N         a number\n"
                        "                in two lines\n"
                        "  --count N     how many\n"
                        "  --launch -- CMD...  parsed by the caller\n"
                        "  --a-very-long-flag-name VALUE  help on the same line\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_stores),
        cmocka_unit_test(bad_values_name_the_flag),
        cmocka_unit_test(groups_and_eq_form),
        cmocka_unit_test(help_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

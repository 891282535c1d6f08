/* The node-probe flags that `check` and `kernels` share: what each accepts,
 * the values it refuses, and that a subcommand can decline a flag (kernels
 * has no --pp) so it falls through to that subcommand's "unknown option". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/probe_flags.h"

typedef struct {
    const char *flag, *value;
    unsigned accept;
    int want;            /* return value */
    const char *errpart; /* substring of the message when want < 0 */
} flag_case;

static const flag_case cases[] = {
    {"--arch", "11.0", PF_PF_ALL, 1, NULL},
    {"--arch", "12.1", PF_PF_ARCH, 1, NULL},
    {"--arch", "sm_110", PF_PF_ALL, 1, NULL},
    {"--arch", "banana", PF_PF_ALL, -1, "not a compute capability"},
    {"--arch", "sm_13", PF_PF_ALL, -1, "not a compute capability"},
    {"--arch", "11", PF_PF_ALL, -1, "not a compute capability"},
    {"--arch", "11.0", PF_PF_VENV, 0, NULL},
    {"--venv", "/opt/venv", PF_PF_ALL, 1, NULL},
    {"--venv", "", PF_PF_ALL, -1, "needs a directory"},
    {"--scan", "/x", PF_PF_SCAN, 1, NULL},
    {"--scan", "", PF_PF_SCAN, -1, "needs a file or directory"},
    {"--model", "/m", PF_PF_ALL, 1, NULL},
    {"--pp", "4", PF_PF_ALL, 1, NULL},
    {"--pp", "0", PF_PF_ALL, -1, "from 1 to 1024"},
    {"--pp", "4x", PF_PF_ALL, -1, "from 1 to 1024"},
    {"--pp", "", PF_PF_ALL, -1, "from 1 to 1024"},
    {"--pp", "4", PF_PF_ARCH | PF_PF_VENV, 0, NULL},
    {"--mem-fraction-static", "0.9", PF_PF_ALL, 1, NULL},
    {"--mem-fraction-static", "1", PF_PF_ALL, 1, NULL},
    {"--mem-fraction-static", "1.01", PF_PF_ALL, -1, "(0, 1]"},
    {"--mem-fraction-static", "0", PF_PF_ALL, -1, "(0, 1]"},
    {"--mem-fraction-static", "nan", PF_PF_ALL, -1, "(0, 1]"},
    {"--timeout", "2.5", PF_PF_ALL, 1, NULL},
    {"--timeout", "-1", PF_PF_ALL, -1, "(0, 3600]"},
    {"--timeout", "9999", PF_PF_ALL, -1, "(0, 3600]"},
    {"--json", "x", PF_PF_ALL, 0, NULL},
    {"--arc", "11.0", PF_PF_ALL, 0, NULL},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const flag_case *c = &cases[k];
        pf_probe_opts o;
        pf_probe_opts_init(&o);
        char *argv[] = {"preflight", (char *)c->flag, (char *)c->value, NULL};
        int i = 1;
        pf_err err = {{0}};
        int r = pf_probe_parse_flag(&o, c->accept, 3, argv, &i, &err);
        if (r != c->want)
            fail_msg("%s '%s': got %d, wanted %d (%s)", c->flag, c->value, r, c->want, err.msg);
        if (r < 0 && !strstr(err.msg, c->errpart))
            fail_msg("%s '%s': message '%s' lacks '%s'", c->flag, c->value, err.msg, c->errpart);
        /* consumed the value only when accepted */
        assert_int_equal(i, r == 0 ? 1 : 2);
        pf_probe_opts_free(&o);
    }
}

static void test_values_stored(void **state)
{
    (void)state;
    pf_probe_opts o;
    pf_probe_opts_init(&o);
    char *argv[] = {"preflight", "--arch", "11.0", "--pp", "4", "--mem-fraction-static", "0.7",
                    "--scan", "/a", "--scan", "/b", "--timeout", "3", NULL};
    int argc = 13;
    for (int i = 1; i < argc; i++) {
        pf_err err = {{0}};
        assert_int_equal(pf_probe_parse_flag(&o, PF_PF_ALL, argc, argv, &i, &err), 1);
    }
    assert_string_equal(o.arch, "11.0");
    assert_int_equal(o.pp, 4);
    assert_true(fabs(o.mem_fraction - 0.7) < 1e-12);
    assert_true(fabs(o.tool_timeout_s - 3) < 1e-12);
    assert_int_equal(o.scan.n, 2);
    assert_string_equal(o.scan.v[1], "/b");
    pf_probe_opts_free(&o);
}

static void test_missing_value(void **state)
{
    (void)state;
    pf_probe_opts o;
    pf_probe_opts_init(&o);
    char *argv[] = {"preflight", "--venv", NULL};
    int i = 1;
    pf_err err = {{0}};
    assert_int_equal(pf_probe_parse_flag(&o, PF_PF_ALL, 2, argv, &i, &err), -1);
    assert_non_null(strstr(err.msg, "--venv needs a directory"));
    pf_probe_opts_free(&o);
}

/* --help and the parser read one table: each accepted flag is listed once,
 * a flag a command declines is not listed, and every listed flag parses. */
static void test_help_matches_parser(void **state)
{
    (void)state;
    static const char *const all[] = {"--arch", "--venv", "--scan", "--model", "--pp",
                                      "--mem-fraction-static", "--timeout"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pf_probe_flags_help(f, PF_PF_ALL);
    fclose(f);
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        /* "  --flag " at the start of a line */
        char want[64];
        snprintf(want, sizeof want, "\n  %s ", all[k]);
        bool first = strncmp(buf, want + 1, strlen(want + 1)) == 0;
        if (!first && !strstr(buf, want))
            fail_msg("--help does not list %s:\n%s", all[k], buf);
    }
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    pf_probe_flags_help(f, PF_PF_ARCH | PF_PF_VENV);  /* what kernels accepts */
    fclose(f);
    assert_non_null(strstr(buf, "  --arch X.Y"));
    assert_non_null(strstr(buf, "  --venv DIR"));
    assert_null(strstr(buf, "--pp"));
    assert_null(strstr(buf, "--timeout"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_values_stored),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_help_matches_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

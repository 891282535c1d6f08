/* NVIDIA's compatibility rules, table-driven from the cases in
 * shared/reference/cuda-fatbin.md sec. 8-9 (GB10 12.1, Thor 11.0, H100 9.0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "probes/gpu/arch.h"

typedef struct {
    int arch;
    char variant;
    int dev;
    bool want;
    const char *why;
} rule_case;

static const rule_case sass_cases[] = {
    {90, 0, 90, true, "H100 runs sm_90"},
    {90, 'a', 90, true, "sm_90a on exactly 9.0"},
    {90, 'a', 100, false, "'a' never runs elsewhere"},
    {80, 0, 86, true, "same major, lower minor"},
    {86, 0, 80, false, "higher minor does not run"},
    {80, 0, 90, false, "no SASS compatibility across majors"},
    {75, 0, 90, false, "Turing SASS on Hopper"},
    /* GB10 (12.1) runs sm_120, sm_120f, sm_121, sm_121a, sm_121f ... */
    {120, 0, 121, true, "GB10 runs plain sm_120"},
    {120, 'f', 121, true, "120f family has 12.1"},
    {121, 0, 121, true, "GB10 runs sm_121"},
    {121, 'a', 121, true, "GB10 runs sm_121a"},
    {121, 'f', 121, true, "GB10 runs sm_121f"},
    /* ... but not sm_120a, sm_100*, sm_110* */
    {120, 'a', 121, false, "sm_120a only on 12.0"},
    {100, 0, 121, false, "GB10 does not run sm_100"},
    {100, 'f', 121, false, "GB10 not in 100f family"},
    {110, 0, 121, false, "GB10 does not run sm_110"},
    {121, 'f', 120, false, "121f family is {12.1}"},
    {121, 0, 120, false, "12.0 does not run sm_121"},
    /* Thor (11.0) runs sm_110, sm_110a, sm_110f; not sm_100/103/12x */
    {110, 0, 110, true, "Thor runs sm_110"},
    {110, 'a', 110, true, "Thor runs sm_110a"},
    {110, 'f', 110, true, "Thor runs sm_110f"},
    {100, 0, 110, false, "Thor does not run sm_100"},
    {103, 0, 110, false, "Thor does not run sm_103"},
    {100, 'f', 110, false, "100f family is {10.0, 10.3}"},
    {120, 0, 110, false, "Thor does not run sm_120"},
    {101, 0, 110, false, "sm_101 (old Thor name) is another major for NVIDIA's rule"},
    /* Blackwell datacenter family */
    {100, 'f', 103, true, "100f family has 10.3"},
    {100, 'f', 100, true, "100f family has 10.0"},
    {103, 'f', 100, false, "103f family is {10.3}"},
    {100, 0, 103, true, "plain sm_100 on 10.3 (same major)"},
    /* legacy Thor numbering */
    {101, 0, 101, true, "CUDA 12.9 Thor runs sm_101"},
    {101, 'f', 101, true, "101f family is {10.1}"},
    {100, 0, 101, true, "plain sm_100 on 10.1 by the same-major rule"},
    {100, 'f', 101, false, "10.1 is not in Table 28's 100f family"},
    {0, 0, 90, false, "no arch"},
};

static void test_sass(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sass_cases / sizeof sass_cases[0]; i++) {
        const rule_case *c = &sass_cases[i];
        bool got = pf_arch_sass_runs(c->arch, c->variant, c->dev);
        if (got != c->want)
            fail_msg("sass %d%c on %d: got %d, want %d (%s)", c->arch, c->variant ? c->variant : ' ', c->dev,
                     got, c->want, c->why);
    }
}

static const rule_case ptx_cases[] = {
    {90, 0, 121, true, "compute_90 JITs to 12.1"},
    {90, 0, 110, true, "compute_90 JITs to Thor"},
    {100, 0, 110, true, "compute_100 JITs to Thor"},
    {120, 0, 110, false, "compute_120 is newer than Thor"},
    {121, 0, 120, false, "compute_121 is newer than 12.0"},
    {121, 'a', 121, true, "compute_121a on 12.1"},
    {120, 'a', 121, false, "compute_120a only on 12.0"},
    {110, 'a', 121, false, "sm_110a PTX cannot go to a future arch"},
    {120, 'f', 121, true, "compute_120f family"},
    {100, 'f', 110, false, "compute_100f not for Thor"},
    {110, 'f', 110, true, "compute_110f on Thor"},
    {75, 0, 75, true, "same arch"},
    {80, 0, 75, false, "older GPU"},
};

static void test_ptx_arch(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ptx_cases / sizeof ptx_cases[0]; i++) {
        const rule_case *c = &ptx_cases[i];
        bool got = pf_arch_ptx_arch_ok(c->arch, c->variant, c->dev);
        if (got != c->want)
            fail_msg("ptx %d%c on %d: got %d, want %d (%s)", c->arch, c->variant ? c->variant : ' ', c->dev,
                     got, c->want, c->why);
    }
}

static void test_ptx_driver_table(void **state)
{
    (void)state;
    static const struct {
        int M, m, want;
    } t[] = {{8, 6, 12070}, {8, 7, 12080}, {8, 8, 12090}, {9, 0, 13000}, {9, 1, 13010}, {7, 0, 11000},
             {7, 8, 11080}, {8, 0, 12000}, {8, 5, 12050}, {6, 5, 10020}, {8, 9, -1},   {9, 2, -1},
             {1, 0, -1},    {9, 10, -1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (pf_arch_ptx_min_driver(t[i].M, t[i].m) != t[i].want)
            fail_msg("PTX ISA %d.%d: got %d, want %d", t[i].M, t[i].m, pf_arch_ptx_min_driver(t[i].M, t[i].m),
                     t[i].want);
}

static void test_ptx_jit(void **state)
{
    (void)state;
    /* nvcc 13.0 emits PTX ISA 9.0 for every target: a 12.8 driver cannot JIT it */
    assert_int_equal(pf_arch_ptx_jit(90, 0, 9, 0, 121, 12080), PF_PTX_JIT_DRIVER_OLD);
    assert_int_equal(pf_arch_ptx_jit(90, 0, 9, 0, 121, 13000), PF_PTX_JIT_OK);
    assert_int_equal(pf_arch_ptx_jit(90, 0, 8, 8, 121, 12090), PF_PTX_JIT_OK);
    assert_int_equal(pf_arch_ptx_jit(90, 0, 8, 6, 90, 12060), PF_PTX_JIT_DRIVER_OLD);
    /* unknown driver (--arch): assumed new enough */
    assert_int_equal(pf_arch_ptx_jit(90, 0, 9, 1, 121, 0), PF_PTX_JIT_OK);
    /* wrong architecture beats everything */
    assert_int_equal(pf_arch_ptx_jit(121, 0, 9, 0, 110, 13000), PF_PTX_JIT_ARCH);
    /* an ISA newer than the table needs a driver newer than the table */
    assert_int_equal(pf_arch_ptx_jit(90, 0, 9, 2, 90, 13010), PF_PTX_JIT_DRIVER_OLD);
    assert_int_equal(pf_arch_ptx_jit(90, 0, 9, 2, 90, 13020), PF_PTX_JIT_OK);
}

static void test_names(void **state)
{
    (void)state;
    char b[32];
    pf_arch_code_name(110, 'a', false, b, sizeof b);
    assert_string_equal(b, "sm_110a");
    pf_arch_code_name(90, 0, true, b, sizeof b);
    assert_string_equal(b, "compute_90");
    pf_arch_cc_str(121, b, sizeof b);
    assert_string_equal(b, "12.1");
    assert_non_null(strstr(pf_arch_device_note(101), "Thor"));
    assert_non_null(strstr(pf_arch_device_note(101), "11.0"));
    assert_non_null(strstr(pf_arch_device_note(121), "GB10"));
    assert_non_null(strstr(pf_arch_device_note(110), "Thor"));
}

typedef struct {
    const char *value;
    int rc;
    size_t n;
    const char *items; /* "110a 121a+PTX" */
    const char *err_has;
} list_case;

static const list_case list_cases[] = {
    {"9.0", 0, 1, "90", NULL},
    {"8.0;9.0+PTX", 0, 2, "80 90+PTX", NULL},
    {"8.0 9.0", 0, 2, "80 90", NULL},
    {"11.0a", 0, 1, "110a", NULL},
    {"12.1a+PTX", 0, 1, "121a+PTX", NULL},
    {"Blackwell+Tegra", 0, 1, "110", NULL},
    {"Blackwell", 0, 4, "100 103 120 121+PTX", NULL},
    {"Hopper;Blackwell+Tegra", 0, 2, "90+PTX 110", NULL},
    {"12.0f", -1, 0, "", "Unknown CUDA arch (12.0f)"},
    {"11.0f", -1, 0, "", "'f'"},
    {"9.0;", -1, 0, "", "Unknown CUDA arch ()"},
    {"8.8", -1, 0, "", "Unknown CUDA arch (8.8)"},
    {"10.1a", -1, 0, "", "Unknown CUDA arch (10.1a)"},
    {"9.0a+PTX", 0, 1, "90a+PTX", NULL},
};

static void test_torch_list_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
        const list_case *c = &list_cases[i];
        pf_torch_arch_list l;
        int rc = pf_arch_torch_list_parse(c->value, &l);
        if (rc != c->rc)
            fail_msg("'%s': rc %d, want %d (%s)", c->value, rc, c->rc, l.error);
        if (rc < 0) {
            if (!strstr(l.error, c->err_has))
                fail_msg("'%s': error '%s' lacks '%s'", c->value, l.error, c->err_has);
            continue;
        }
        char got[128] = "";
        for (size_t k = 0; k < l.n; k++) {
            char one[24];
            snprintf(one, sizeof one, "%s%d%s%s", k ? " " : "", l.item[k].arch, l.item[k].variant ? "a" : "",
                     l.item[k].ptx ? "+PTX" : "");
            strcat(got, one);
        }
        if (l.n != c->n || strcmp(got, c->items) != 0)
            fail_msg("'%s': got '%s' (%zu), want '%s'", c->value, got, l.n, c->items);
    }
    pf_torch_arch_list l;
    assert_int_equal(pf_arch_torch_list_parse("native", &l), 0);
    assert_true(l.native);
}

static void test_torch_list_covers(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int dev;
        pf_cover want;
    } t[] = {
        {"9.0", 90, PF_COVER_NATIVE},       {"9.0", 121, PF_COVER_NONE},
        {"9.0+PTX", 121, PF_COVER_JIT},     {"12.0", 121, PF_COVER_NATIVE},
        {"12.0a", 121, PF_COVER_NONE},      {"11.0a", 110, PF_COVER_NATIVE},
        {"Blackwell", 110, PF_COVER_NONE},  {"Blackwell", 121, PF_COVER_NATIVE},
        {"Blackwell+Tegra", 110, PF_COVER_NATIVE}, {"8.0;8.6", 87, PF_COVER_NATIVE},
        {"9.0a+PTX", 100, PF_COVER_NONE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pf_torch_arch_list l;
        assert_int_equal(pf_arch_torch_list_parse(t[i].value, &l), 0);
        pf_cover got = pf_arch_torch_list_covers(&l, t[i].dev);
        if (got != t[i].want)
            fail_msg("'%s' on %d: got %d, want %d", t[i].value, t[i].dev, got, t[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sass),          cmocka_unit_test(test_ptx_arch),
        cmocka_unit_test(test_ptx_driver_table), cmocka_unit_test(test_ptx_jit),
        cmocka_unit_test(test_names),         cmocka_unit_test(test_torch_list_parse),
        cmocka_unit_test(test_torch_list_covers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

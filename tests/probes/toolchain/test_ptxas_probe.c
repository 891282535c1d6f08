/* test_ptxas_probe.c -- pf_probe_toolchain_ptxas end to end, the way
 * `preflight check --venv DIR --arch X.Y` runs it: a probe context over the
 * fake Triton 3.6 venv, the process environment as the only other input,
 * and the checks it writes into the run record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "probes/context.h"
#include "probes/toolchain/ptxas.h"
#include "ptxas_fixtures.h"

static ptxas_fx fx;

static int setup(void **state)
{
    (void)state;
    if (ptxas_fx_create(&fx) != 0)
        return -1;
    unsetenv("CUDA_HOME");
    unsetenv("CUDA_PATH");
    unsetenv("TRITON_PTXAS_PATH");
    unsetenv("TRITON_PTXAS_BLACKWELL_PATH");
    unsetenv("VIRTUAL_ENV");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptxas_fx_destroy(&fx);
    return 0;
}

/* Run the probe with --arch/--venv; returns the run (caller frees). */
static pf_run *run_probe(const char *arch, const char *venv)
{
    char *argv[] = {"preflight", "check", NULL};
    pf_run *run = pf_run_new(2, argv);
    pf_node *node = pf_run_add_node(run, "local", NULL);
    pf_probe_opts opts;
    pf_probe_opts_init(&opts);
    opts.arch = arch;
    opts.venv = venv;
    opts.tool_timeout_s = 5;
    opts.cuda_lib = "/nonexistent/libcuda.so.1"; /* no local GPU in any case */
    /* Only what the test names may be found: no ptxas on PATH. */
    char *old_path = pf_xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", fx.emptybin, 1);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &opts, run, node);
    pf_probe_toolchain_ptxas(&ctx);
    setenv("PATH", old_path, 1);
    free(old_path);
    pf_ctx_free(&ctx);
    pf_probe_opts_free(&opts);
    return run;
}

static pf_check *only_check(pf_run *run)
{
    assert_int_equal(pf_run_check_count(run), 1);
    pf_check *c = pf_run_check(run, 0);
    assert_string_equal(pf_check_id(c), "toolchain.ptxas");
    return c;
}

static json_t *candidate(json_t *ev, const char *path_suffix)
{
    json_t *cands = json_object_get(ev, "candidates"), *c;
    size_t i;
    json_array_foreach(cands, i, c) {
        const char *p = json_string_value(json_object_get(c, "path"));
        size_t n = strlen(p), m = strlen(path_suffix);
        if (n >= m && strcmp(p + n - m, path_suffix) == 0)
            return c;
    }
    return NULL;
}

/* Thor on Triton 3.6: neither bundled binary assembles sm_110a; the real
 * CUDA 13.0 ptxas does, so the remedy names it. */
static void test_thor_triton36(void **state)
{
    (void)state;
    if (!ptxas_fx_have_real())
        skip();
    pf_run *run = run_probe("11.0", fx.prefix);
    pf_check *c = only_check(run);
    print_message("%s: %s\nremedy: %s\n", pf_status_name(pf_check_status(c)), pf_check_summary(c),
                  pf_check_remedy_text(c));
    assert_int_equal(pf_check_status(c), PF_FAIL);
    assert_non_null(strstr(pf_check_summary(c), "--arch 11.0"));
    assert_non_null(strstr(pf_check_remedy_text(c),
                           "export TRITON_PTXAS_BLACKWELL_PATH=" PTXAS_FX_REAL_PTXAS " "));
    json_t *ev = pf_check_evidence(c);
    assert_string_equal(json_string_value(json_object_get(ev, "role")), "ptxas-blackwell");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "winner"), "path")), fx.bundled_bw);
    json_t *b = candidate(ev, "/nvidia/bin/ptxas"), *bw = candidate(ev, "/ptxas-blackwell"),
           *cu = candidate(ev, "/usr/local/cuda/bin/ptxas"), *to = candidate(ev, "/torch/bin/ptxas");
    assert_non_null(b);
    assert_non_null(bw);
    assert_non_null(cu);
    assert_non_null(to);
    assert_string_equal(json_string_value(json_object_get(b, "version")), "12.8");
    assert_string_equal(json_string_value(json_object_get(bw, "version")), "12.9");
    assert_string_equal(json_string_value(json_object_get(b, "source")), "bundled");
    assert_string_equal(json_string_value(json_object_get(to, "source")), "torch");
    assert_string_equal(json_string_value(json_object_get(cu, "source")), "cuda");
    assert_true(json_is_false(json_object_get(json_object_get(b, "assemble"), "ok")));
    assert_true(json_is_false(json_object_get(json_object_get(bw, "assemble"), "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(cu, "assemble"), "ok")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(bw, "assemble"), "error")),
                        "ptxas-blackwell fatal   : Value 'sm_110a' is not defined for option 'gpu-name'");
    assert_true(json_is_array(json_object_get(ev, "targets")));
    assert_true(pf_check_duration(c) >= 0);
    pf_run_free(run);
}

/* H100 (9.0) on the same venv: Triton's bundled 12.8 ptxas works. */
static void test_hopper_triton36(void **state)
{
    (void)state;
    pf_run *run = run_probe("9.0", fx.prefix);
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_PASS);
    assert_null(pf_check_remedy_text(c));
    json_t *ev = pf_check_evidence(c);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "winner"), "path")), fx.bundled);
    /* torch/bin/ptxas is executable and TRITON_PTXAS_PATH unset: inductor applies. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "inductor_winner"), "path")),
                        fx.torch_ptxas);
    pf_run_free(run);
}

/* A missing override is skipped silently by Triton; the check warns. */
static void test_missing_override_gb10(void **state)
{
    (void)state;
    setenv("TRITON_PTXAS_BLACKWELL_PATH", "/nonexistent/cuda-13/bin/ptxas", 1);
    pf_run *run = run_probe("12.1", fx.prefix);
    unsetenv("TRITON_PTXAS_BLACKWELL_PATH");
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_WARN);
    assert_non_null(strstr(pf_check_summary(c), "silently falls back"));
    assert_non_null(strstr(pf_check_remedy_text(c), "unset TRITON_PTXAS_BLACKWELL_PATH"));
    json_t *ev = pf_check_evidence(c);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "silently_skipped_override"), "path")),
        "/nonexistent/cuda-13/bin/ptxas");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "environment"),
                                                          "TRITON_PTXAS_BLACKWELL_PATH")),
                        "/nonexistent/cuda-13/bin/ptxas");
    pf_run_free(run);
}

/* Setting the right variable fixes Thor. */
static void test_thor_fixed_by_export(void **state)
{
    (void)state;
    if (!ptxas_fx_have_real())
        skip();
    setenv("TRITON_PTXAS_BLACKWELL_PATH", PTXAS_FX_REAL_PTXAS, 1);
    pf_run *run = run_probe("11.0", fx.prefix);
    unsetenv("TRITON_PTXAS_BLACKWELL_PATH");
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_PASS);
    pf_run_free(run);
}

/* ...and the wrong one does not. */
static void test_thor_wrong_variable(void **state)
{
    (void)state;
    if (!ptxas_fx_have_real())
        skip();
    setenv("TRITON_PTXAS_PATH", PTXAS_FX_REAL_PTXAS, 1);
    pf_run *run = run_probe("11.0", fx.prefix);
    unsetenv("TRITON_PTXAS_PATH");
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_FAIL);
    assert_non_null(strstr(pf_check_summary(c), "TRITON_PTXAS_PATH is set but has no effect"));
    pf_run_free(run);
}

/* No GPU and no --arch: nothing to evaluate. */
static void test_no_target(void **state)
{
    (void)state;
    pf_run *run = run_probe(NULL, fx.prefix);
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_SKIP);
    assert_non_null(strstr(pf_check_summary(c), "no GPU found and no --arch"));
    pf_run_free(run);
}

/* A --venv that is not a Python environment: toolkit only, said so. */
static void test_bad_venv(void **state)
{
    (void)state;
    pf_run *run = run_probe("11.0", fx.nocuda);
    pf_check *c = only_check(run);
    assert_non_null(strstr(pf_check_summary(c), "no Python environment found"));
    assert_int_equal(pf_check_status(c), ptxas_fx_have_real() ? PF_PASS : PF_SKIP);
    pf_run_free(run);
}

/* The scratch directory cannot be made: error, with the reason. */
static void test_error_without_scratch(void **state)
{
    (void)state;
    setenv("TMPDIR", "/nonexistent/tmp", 1);
    pf_run *run = run_probe("11.0", fx.prefix);
    unsetenv("TMPDIR");
    pf_check *c = only_check(run);
    assert_int_equal(pf_check_status(c), PF_ERROR);
    assert_non_null(strstr(pf_check_summary(c), "/nonexistent/tmp"));
    pf_run_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thor_triton36),       cmocka_unit_test(test_hopper_triton36),
        cmocka_unit_test(test_missing_override_gb10), cmocka_unit_test(test_thor_fixed_by_export),
        cmocka_unit_test(test_thor_wrong_variable), cmocka_unit_test(test_no_target),
        cmocka_unit_test(test_bad_venv),            cmocka_unit_test(test_error_without_scratch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

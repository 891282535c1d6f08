/* gpu.driver decisions from hand-built facts, one row per real situation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "probes/context.h"
#include "probes/gpu/gpu_driver.h"

static pf_cuda_facts facts_with(const char *name, int M, int m, int integrated, uint64_t total)
{
    pf_cuda_facts f;
    memset(&f, 0, sizeof f);
    f.loaded = true;
    strcpy(f.lib_path, "/usr/lib/x86_64-linux-gnu/libcuda.so.1");
    f.driver_version = 13000;
    f.device_count = 1;
    strcpy(f.dev[0].name, name);
    f.dev[0].cc_major = M;
    f.dev[0].cc_minor = m;
    f.dev[0].integrated = integrated;
    f.dev[0].total_bytes = total;
    return f;
}

static void run_case(const pf_cuda_facts *f, pf_status want, const char *needle, bool want_remedy)
{
    char *argv[] = {"check"};
    pf_run *run = pf_run_new(1, argv);
    pf_check *c = pf_check_add(run, pf_run_add_node(run, "n", NULL), "gpu.driver");
    pf_gpu_driver_evaluate(f, NULL, c);
    if (pf_check_status(c) != want || !strstr(pf_check_summary(c), needle))
        fail_msg("status %s summary '%s' (wanted %s containing '%s')", pf_status_name(pf_check_status(c)),
                 pf_check_summary(c), pf_status_name(want), needle);
    assert_int_equal(pf_check_remedy_text(c) != NULL, want_remedy);
    pf_run_free(run);
}

static void test_cases(void **state)
{
    pf_cuda_facts none;
    memset(&none, 0, sizeof none);
    strcpy(none.load_error, "libcuda.so.1: cannot open shared object file: No such file or directory");
    run_case(&none, PF_SKIP, "no CUDA driver", false);

    pf_cuda_facts nodev = facts_with("x", 9, 0, 0, 0);
    nodev.device_count = 0;
    nodev.init_rc = 100;
    strcpy(nodev.init_error, "CUDA_ERROR_NO_DEVICE (100)");
    run_case(&nodev, PF_SKIP, "no GPU is visible", false);

    pf_cuda_facts mismatch = facts_with("x", 9, 0, 0, 0);
    mismatch.device_count = 0;
    mismatch.init_rc = 803;
    strcpy(mismatch.init_error, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (803)");
    run_case(&mismatch, PF_FAIL, "cuInit failed", true);

    pf_cuda_facts h100 = facts_with("NVIDIA H100 80GB HBM3", 9, 0, 0, 85017493504ull);
    run_case(&h100, PF_PASS, "NVIDIA H100 80GB HBM3 (9.0, 79.2 GiB)", false);

    pf_cuda_facts gb10 = facts_with("NVIDIA GB10", 12, 1, 1, 130668085248ull);
    run_case(&gb10, PF_PASS, "(12.1, 121.7 GiB, unified memory)", false);

    pf_cuda_facts thor = facts_with("NVIDIA Thor", 11, 0, 1, 130000000000ull);
    run_case(&thor, PF_PASS, "(11.0,", false);

    pf_cuda_facts legacy = facts_with("NVIDIA Thor", 10, 1, 1, 130000000000ull);
    legacy.driver_version = 12090;
    run_case(&legacy, PF_WARN, "pre-CUDA-13 numbering", true);
}

static void test_parse_arch(void **state)
{
    struct { const char *s; int ok, M, m; } cases[] = {
        {"11.0", 0, 11, 0}, {"12.1", 0, 12, 1}, {"9.0", 0, 9, 0}, {"12.1a", 0, 12, 1},
        {"sm_110a", 0, 11, 0}, {"sm_90", 0, 9, 0}, {"121", 0, 12, 1}, {"compute_120f", 0, 12, 0},
        {"13", -1, 0, 0}, {"", -1, 0, 0}, {"abc", -1, 0, 0}, {"12.1x", -1, 0, 0}, {"12.10", -1, 0, 0},
        {"1210", -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int M = -1, m = -1;
        int rc = pf_parse_arch(cases[i].s, &M, &m);
        if (rc != cases[i].ok)
            fail_msg("'%s': rc %d, wanted %d", cases[i].s, rc, cases[i].ok);
        if (rc == 0 && (M != cases[i].M || m != cases[i].m))
            fail_msg("'%s': %d.%d", cases[i].s, M, m);
    }
}

static void test_real_driver_absent_or_present(void **state)
{
    /* Against the real system: whatever it is, the collector must not crash and
     * must explain itself. */
    pf_cuda *cu = pf_cuda_open(NULL);
    const pf_cuda_facts *f = pf_cuda_facts_get(cu);
    if (!f->loaded)
        assert_true(strlen(f->load_error) > 0);
    else if (f->init_rc == 0 && f->device_count > 0) {
        uint64_t fr = 0, to = 0;
        pf_err err;
        assert_int_equal(pf_cuda_mem_info(cu, 0, &fr, &to, &err), 0);
        assert_true(fr > 0 && to >= fr);
    }
    pf_cuda_close(cu);

    cu = pf_cuda_open("/nonexistent/libcuda.so.1");
    assert_false(pf_cuda_facts_get(cu)->loaded);
    pf_err err;
    uint64_t a, b;
    assert_int_equal(pf_cuda_mem_info(cu, 0, &a, &b, &err), -1);
    assert_non_null(strstr(err.msg, "not loaded"));
    pf_cuda_close(cu);
}

static void test_kernel_module_version(void **state)
{
    char buf[64];
    assert_int_equal(pf_gpu_kernel_module_version(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Thu Oct  2 10:12:47 UTC 2025\n"
        "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n", buf, sizeof buf), 0);
    assert_string_equal(buf, "580.159.04");
    assert_int_equal(pf_gpu_kernel_module_version(
        "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  580.00  Release Build\n", buf, sizeof buf), 0);
    assert_string_equal(buf, "580.00");
    assert_int_equal(pf_gpu_kernel_module_version("garbage", buf, sizeof buf), -1);
    assert_int_equal(pf_gpu_kernel_module_version(NULL, buf, sizeof buf), -1);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_parse_arch),
        cmocka_unit_test(test_kernel_module_version),
        cmocka_unit_test(test_real_driver_absent_or_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

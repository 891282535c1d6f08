/* test_nccl_sweep.c -- sizes (-b/-e/-f), nccl-tests' bandwidth formulas,
 * pipeline hand-off sizes, env files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probes/nccl/nccl_envfile.h"
#include "probes/nccl/nccl_rank.h"
#include "probes/nccl/nccl_sweep.h"

static void test_parse_size(void **st)
{
    (void)st;
    struct {
        const char *s;
        uint64_t v;
        int rc;
    } rows[] = {{"64", 64, 0},          {"8K", 8192, 0},       {"32M", 32u << 20, 0}, {"1G", 1u << 30, 0},
                {"256MiB", 256u << 20, 0}, {"4kb", 4096, 0},     {"", 0, -1},          {"-1", 0, -1},
                {"12Q", 0, -1},         {"M", 0, -1},          {"99999999999999999999", 0, -1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t v = 0;
        pf_err e = {{0}};
        assert_int_equal(pf_ncclsweep_parse_size(rows[i].s, &v, &e), rows[i].rc);
        if (!rows[i].rc)
            assert_true(v == rows[i].v);
        else
            assert_non_null(strstr(e.msg, "not a number of bytes"));
    }
}

static void test_sizes(void **st)
{
    (void)st;
    uint64_t s[PF_NCCL_MAX_SIZES];
    pf_err e = {{0}};
    /* nccl-tests -b 1K -e 256M -f 4: 10 sizes */
    assert_int_equal(pf_ncclsweep_sizes(1024, 256u << 20, 4, 4, s, PF_NCCL_MAX_SIZES, &e), 10);
    assert_true(s[0] == 1024 && s[8] == 64u << 20 && s[9] == 256u << 20);
    /* below 4 bytes x ranks is raised; sizes are whole floats per rank */
    assert_int_equal(pf_ncclsweep_sizes(8, 64, 2, 4, s, PF_NCCL_MAX_SIZES, &e), 3);
    assert_true(s[0] == 16 && s[1] == 32 && s[2] == 64);
    assert_int_equal(pf_ncclsweep_sizes(1000, 1000, 2, 3, s, PF_NCCL_MAX_SIZES, &e), 1);
    assert_true(s[0] == 996);
    assert_int_equal(pf_ncclsweep_sizes(1024, 512, 2, 2, s, PF_NCCL_MAX_SIZES, &e), -1);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(pf_ncclsweep_sizes(8, 1ull << 40, 2, 1, s, 4, &e), -1);
    assert_int_equal(pf_ncclsweep_sizes(8, 64, 1, 1, s, 4, &e), -1);
}

static void test_bandwidth(void **st)
{
    (void)st;
    /* nccl-tests doc/PERFORMANCE.md factors */
    assert_float_equal(pf_ncclsweep_busbw_factor(PF_NCCL_ALLREDUCE, 2), 1.0, 1e-12);
    assert_float_equal(pf_ncclsweep_busbw_factor(PF_NCCL_ALLREDUCE, 4), 1.5, 1e-12);
    assert_float_equal(pf_ncclsweep_busbw_factor(PF_NCCL_ALLREDUCE, 8), 1.75, 1e-12);
    assert_float_equal(pf_ncclsweep_busbw_factor(PF_NCCL_ALLGATHER, 4), 0.75, 1e-12);
    assert_float_equal(pf_ncclsweep_busbw_factor(PF_NCCL_SENDRECV, 4), 1.0, 1e-12);
    /* the GPU machine's torch row: 268435456 B in 144330.62 us -> 1.86 GB/s */
    assert_float_equal(pf_ncclsweep_algbw(268435456, 144330.62e-6), 1.8599, 1e-3);
    assert_float_equal(pf_ncclsweep_algbw(100, 0), 0, 0);
    /* a prefill chunk of a 8192-hidden bf16 model: 8192 x 8192 x 2 = 128 MiB */
    assert_true(pf_ncclsweep_stage_bytes(8192, 8192, 2) == 128ull << 20);
    char b[32];
    pf_ncclsweep_size_str(64u << 20, b, sizeof b);
    assert_string_equal(b, "64 MiB");
    pf_ncclsweep_size_str(1536, b, sizeof b);
    assert_string_equal(b, "1.5 KiB");
    pf_ncclsweep_size_str(996, b, sizeof b);
    assert_string_equal(b, "996 B");
}

static void test_iters_rule(void **st)
{
    (void)st;
    pf_ncclrank_opts o = {.iters = 20, .warmup = 2};
    int it, w;
    pf_ncclrank_iters(&o, 1024, &it, &w);
    assert_int_equal(it, 20);
    assert_int_equal(w, 2);
    pf_ncclrank_iters(&o, 256u << 20, &it, &w); /* 1 GiB budget / 256 MiB = 4 */
    assert_int_equal(it, 4);
    assert_int_equal(w, 1);
    pf_ncclrank_iters(&o, 1u << 30, &it, &w); /* never fewer than 3 */
    assert_int_equal(it, 3);
}

static void test_envfile(void **st)
{
    (void)st;
    pf_strv env = {0}, probs = {0};
    pf_err e = {{0}};
    const char *text = "# from preflight plan\nexport NCCL_SOCKET_IFNAME=enP2p1s0f0np0\nNCCL_IB_DISABLE='1'\n\n"
                       "  GLOO_SOCKET_IFNAME=\"enP2p1s0f0np0\"  \nNCCL_SOCKET_NTHREADS=four\nNCCL_DEBUG=verbose\n"
                       "NCCL_COMM_BLOCKING=1\n";
    assert_int_equal(pf_ncclenv_parse(text, "plan.env", &env, &e), 0);
    assert_int_equal(env.n, 6);
    assert_string_equal(env.v[0], "NCCL_SOCKET_IFNAME=enP2p1s0f0np0");
    assert_string_equal(env.v[1], "NCCL_IB_DISABLE=1");
    assert_string_equal(env.v[2], "GLOO_SOCKET_IFNAME=enP2p1s0f0np0");
    assert_int_equal(pf_ncclenv_validate(&env, &probs), 3);
    assert_non_null(strstr(probs.v[0], "NCCL_SOCKET_NTHREADS='four' is not an integer"));
    assert_non_null(strstr(probs.v[1], "NCCL_DEBUG='verbose'"));
    assert_non_null(strstr(probs.v[2], "NCCL_COMM_BLOCKING"));
    pf_strv_free(&env);
    pf_strv_free(&probs);
    assert_int_equal(pf_ncclenv_parse("NCCL_IB_DISABLE=1\nrm -rf /\n", "bad.env", &env, &e), -1);
    assert_non_null(strstr(e.msg, "bad.env line 2"));
    pf_strv_free(&env);
    assert_int_equal(pf_ncclenv_load("/nonexistent/plan.env", &env, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/plan.env"));
    pf_strv_free(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size), cmocka_unit_test(test_sizes),   cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_iters_rule), cmocka_unit_test(test_envfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

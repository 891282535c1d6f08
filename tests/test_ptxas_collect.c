/* test_ptxas_collect.c -- the collector and the probe against real binaries:
 * the CUDA 13.0 ptxas at /usr/local/cuda (tests that need it skip without
 * it) and the fixtures of ptxas_fixtures.c: stand-ins for ptxas 12.8/12.9,
 * a fake Triton 3.6 venv, a ptxas that hangs, one that is not executable,
 * one that is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "core/util.h"
#include "probes/toolchain/ptxas.h"
#include "ptxas_fixtures.h"

#define REAL_CUDA PTXAS_FX_REAL_CUDA
#define REAL_PTXAS PTXAS_FX_REAL_PTXAS

static ptxas_fx fx;

static int setup(void **state)
{
    (void)state;
    return ptxas_fx_create(&fx);
}

static int teardown(void **state)
{
    (void)state;
    ptxas_fx_destroy(&fx);
    return 0;
}

static bool have_real(void)
{
    return ptxas_fx_have_real();
}

static const pf_ptxas_cand *cand(const pf_ptxas_facts *f, pf_ptxas_source s)
{
    for (size_t i = 0; i < f->ncand; i++)
        if (f->cand[i].source == s)
            return &f->cand[i];
    return NULL;
}

static pf_ptxas_inputs base_inputs(void)
{
    pf_ptxas_inputs in = {0};
    in.pyenv_why = "test: no Python environment";
    in.path_env = fx.emptybin;
    in.default_cuda = fx.nocuda;
    in.timeout_s = 5;
    return in;
}

/* The real CUDA 13.0 ptxas: assembles sm_110a and sm_121a, rejects sm_101a;
 * each arch runs once (the cache answers repeats). */
static void test_real_ptxas(void **state)
{
    (void)state;
    if (!have_real())
        skip();
    pf_ptxas_inputs in = base_inputs();
    in.default_cuda = REAL_CUDA;
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    assert_non_null(p);
    assert_int_equal(pf_ptxas_runs(p), 1);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    const pf_ptxas_cand *c = cand(f, PF_PTXAS_SRC_CUDA_DEFAULT);
    assert_non_null(c);
    assert_int_equal(c->state, PF_PTXAS_OK);
    assert_true(c->cuda_major >= 13);
    assert_true(pf_str_startswith(c->version_full, "V13."));
    assert_int_equal(c->asm_rc, PF_PTXAS_ASM_OK);
    assert_int_equal(pf_ptxas_runs(p), 2);
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    assert_int_equal(pf_ptxas_runs(p), 2);
    assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
    assert_int_equal(cand(f, PF_PTXAS_SRC_CUDA_DEFAULT)->asm_rc, PF_PTXAS_ASM_OK);
    assert_int_equal(pf_ptxas_assemble(p, 101, f, &err), 0);
    c = cand(f, PF_PTXAS_SRC_CUDA_DEFAULT);
    assert_int_equal(c->asm_rc, PF_PTXAS_ASM_NO_TARGET);
    assert_string_equal(c->asm_detail, "ptxas fatal   : Value 'sm_101a' is not defined for option 'gpu-name'");
    assert_int_equal(pf_ptxas_runs(p), 4);

    /* Without Triton only the toolkit matters. */
    pf_ptxas_verdict v;
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_PASS);
    assert_int_equal(v.role, PF_PTXAS_ROLE_NONE);
    pf_ptxas_verdict_free(&v);
    free(f);
    pf_ptxas_probe_free(p);
}

static pf_pyenv *venv(void)
{
    pf_err err = {{0}};
    pf_pyenv *env = pf_pyenv_from_prefix(fx.prefix, "--venv", &err);
    if (!env)
        fail_msg("fake venv: %s", err.msg);
    return env;
}

/* Triton 3.6 with its two bundled stand-ins, the real toolkit beside. */
static void test_triton36_layout(void **state)
{
    (void)state;
    if (!have_real())
        skip();
    pf_pyenv *env = venv();
    pf_ptxas_inputs in = base_inputs();
    in.pyenv = env;
    in.default_cuda = REAL_CUDA;
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    assert_non_null(p);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    pf_ptxas_verdict v;

    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    assert_true(f->triton_present);
    assert_string_equal(f->triton_version, "3.6.0");
    const pf_ptxas_cand *b = cand(f, PF_PTXAS_SRC_BUNDLED), *bw = cand(f, PF_PTXAS_SRC_BUNDLED_BW);
    assert_non_null(b);
    assert_non_null(bw);
    assert_int_equal(b->cuda_major * 100 + b->cuda_minor, 1208);
    assert_string_equal(b->version_full, "V12.8.93");
    assert_int_equal(bw->cuda_major * 100 + bw->cuda_minor, 1209);
    assert_int_equal(b->asm_rc, PF_PTXAS_ASM_NO_TARGET);
    assert_string_equal(b->asm_detail, "ptxas fatal   : Value 'sm_110a' is not defined for option 'gpu-name'");
    assert_int_equal(bw->asm_rc, PF_PTXAS_ASM_NO_TARGET);
    assert_string_equal(bw->asm_detail,
                        "ptxas-blackwell fatal   : Value 'sm_110a' is not defined for option 'gpu-name'");
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_FAIL);
    assert_ptr_equal(&f->cand[v.winner], bw);
    assert_non_null(strstr(v.remedy, "export TRITON_PTXAS_BLACKWELL_PATH=" REAL_PTXAS " "));
    pf_ptxas_verdict_free(&v);

    assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_PASS);
    assert_true(pf_str_endswith(f->cand[v.winner].path, "/ptxas-blackwell"));
    assert_null(v.remedy);
    pf_ptxas_verdict_free(&v);

    assert_int_equal(pf_ptxas_assemble(p, 90, f, &err), 0);
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_PASS);
    assert_true(pf_str_endswith(f->cand[v.winner].path, "/bin/ptxas"));
    assert_int_equal(v.role, PF_PTXAS_ROLE_PTXAS);
    pf_ptxas_verdict_free(&v);

    free(f);
    pf_ptxas_probe_free(p);
    pf_pyenv_free(env);
}

/* Same layout and no working ptxas anywhere: the remedy names the toolkit. */
static void test_triton36_nothing_works(void **state)
{
    (void)state;
    pf_pyenv *env = venv();
    pf_ptxas_inputs in = base_inputs();
    in.pyenv = env;
    in.cuda_home = fx.root; /* $CUDA_HOME set to a directory without bin/ptxas */
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    assert_int_equal(cand(f, PF_PTXAS_SRC_CUDA_HOME)->state, PF_PTXAS_ABSENT);
    pf_ptxas_verdict v;
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_FAIL);
    assert_non_null(strstr(v.remedy, "Install a CUDA >= 13.0 toolkit"));
    assert_non_null(strstr(v.remedy, "TRITON_PTXAS_BLACKWELL_PATH"));
    pf_ptxas_verdict_free(&v);
    free(f);
    pf_ptxas_probe_free(p);
    pf_pyenv_free(env);
}

/* A ptxas that hangs is killed at the deadline and reported. */
static void test_hang(void **state)
{
    (void)state;
    pf_pyenv *env = venv();
    pf_ptxas_inputs in = base_inputs();
    in.pyenv = env;
    in.env_ptxas_bw = fx.hang;
    in.timeout_s = 0.5;
    unlink(fx.hang_pid);
    pf_err err = {{0}};
    double t0 = pf_now();
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    assert_true(pf_now() - t0 < 4.0);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
    const pf_ptxas_cand *h = cand(f, PF_PTXAS_SRC_ENV_BW);
    assert_int_equal(h->state, PF_PTXAS_HUNG);
    assert_non_null(strstr(h->state_detail, "timed out"));
    /* The sleeping process is gone (killed with its process group). */
    char *pid_s = pf_read_line(fx.hang_pid);
    assert_non_null(pid_s);
    assert_int_equal(kill((pid_t)atoi(pid_s), 0), -1);
    assert_int_equal(errno, ESRCH);
    free(pid_s);
    pf_ptxas_verdict v;
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_FAIL);
    assert_int_equal(v.winner, -1);
    assert_non_null(strstr(v.summary, "hangs"));
    pf_ptxas_verdict_free(&v);
    free(f);
    pf_ptxas_probe_free(p);
    pf_pyenv_free(env);
}

/* A ptxas that answers --version but hangs assembling. */
static void test_assemble_hang(void **state)
{
    (void)state;
    pf_pyenv *env = venv();
    pf_ptxas_inputs in = base_inputs();
    in.pyenv = env;
    in.env_ptxas_bw = fx.asm_hang;
    in.timeout_s = 0.5;
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    double t0 = pf_now();
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    assert_true(pf_now() - t0 < 4.0);
    const pf_ptxas_cand *h = cand(f, PF_PTXAS_SRC_ENV_BW);
    assert_int_equal(h->state, PF_PTXAS_OK);
    assert_int_equal(h->asm_rc, PF_PTXAS_ASM_HUNG);
    assert_non_null(strstr(h->asm_detail, "timed out"));
    pf_ptxas_verdict v;
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_FAIL);
    assert_ptr_equal(&f->cand[v.winner], h);
    pf_ptxas_verdict_free(&v);
    free(f);
    pf_ptxas_probe_free(p);
    pf_pyenv_free(env);
}

/* Not executable: Triton raises PermissionError -- a failure, no fallback. */
static void test_not_executable(void **state)
{
    (void)state;
    pf_pyenv *env = venv();
    pf_ptxas_inputs in = base_inputs();
    in.pyenv = env;
    in.env_ptxas_bw = fx.noexec;
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
    const pf_ptxas_cand *c = cand(f, PF_PTXAS_SRC_ENV_BW);
    assert_int_equal(c->state, PF_PTXAS_NOT_EXEC);
    assert_string_equal(c->state_detail, "is not executable (mode 0644)");
    assert_int_equal(c->asm_rc, PF_PTXAS_ASM_NOT_RUN);
    pf_ptxas_verdict v;
    pf_ptxas_decide(f, &v);
    assert_int_equal(v.status, PF_FAIL);
    assert_non_null(strstr(v.summary, "PermissionError"));
    pf_ptxas_verdict_free(&v);
    pf_ptxas_probe_free(p);

    /* A directory, and an empty value, fail the same way in Triton 3.6. */
    const char *odd[] = {fx.tmpdir, ""};
    const char *why[] = {"is a directory", "is set but empty"};
    for (size_t i = 0; i < 2; i++) {
        in.env_ptxas_bw = odd[i];
        p = pf_ptxas_collect(&in, &err);
        assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
        c = cand(f, PF_PTXAS_SRC_ENV_BW);
        assert_int_equal(c->state, PF_PTXAS_NOT_EXEC);
        assert_string_equal(c->state_detail, why[i]);
        pf_ptxas_decide(f, &v);
        assert_int_equal(v.status, PF_FAIL);
        pf_ptxas_verdict_free(&v);
        pf_ptxas_probe_free(p);
    }
    free(f);
    pf_pyenv_free(env);
}

/* Missing and broken overrides: Triton falls back without a word; we warn. */
static void test_silent_fallback(void **state)
{
    (void)state;
    const char *bad[] = {"/nonexistent/ptxas", fx.garbage, fx.fail};
    const pf_ptxas_state want[] = {PF_PTXAS_ABSENT, PF_PTXAS_BAD_VERSION, PF_PTXAS_BAD_VERSION};
    for (size_t i = 0; i < 3; i++) {
        pf_pyenv *env = venv();
        pf_ptxas_inputs in = base_inputs();
        in.pyenv = env;
        in.env_ptxas_bw = bad[i];
        pf_err err = {{0}};
        pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
        pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
        assert_int_equal(pf_ptxas_assemble(p, 121, f, &err), 0);
        assert_int_equal(cand(f, PF_PTXAS_SRC_ENV_BW)->state, want[i]);
        pf_ptxas_verdict v;
        pf_ptxas_decide(f, &v);
        assert_int_equal(v.status, PF_WARN);
        assert_non_null(strstr(v.summary, "silently falls back"));
        assert_true(pf_str_endswith(f->cand[v.winner].path, "/ptxas-blackwell"));
        assert_non_null(strstr(v.remedy, "unset TRITON_PTXAS_BLACKWELL_PATH"));
        pf_ptxas_verdict_free(&v);
        free(f);
        pf_ptxas_probe_free(p);
        pf_pyenv_free(env);
    }
}

/* One binary named by three sources runs once; stubs are cleaned up. */
static void test_dedupe_and_cleanup(void **state)
{
    (void)state;
    if (!have_real())
        skip();
    char *old = getenv("TMPDIR") ? pf_xstrdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", fx.tmpdir, 1);
    pf_ptxas_inputs in = base_inputs();
    in.env_ptxas_bw = REAL_PTXAS;
    in.path_env = REAL_CUDA "/bin";
    in.default_cuda = REAL_CUDA;
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    if (old)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    free(old);
    assert_non_null(p);
    assert_int_equal(pf_ptxas_runs(p), 1);
    pf_ptxas_facts *f = pf_xmalloc(sizeof *f);
    assert_int_equal(pf_ptxas_assemble(p, 110, f, &err), 0);
    assert_int_equal(f->ncand, 3);
    assert_int_equal(pf_ptxas_runs(p), 2);
    for (size_t i = 0; i < f->ncand; i++)
        assert_int_equal(f->cand[i].asm_rc, PF_PTXAS_ASM_OK);
    free(f);
    pf_ptxas_probe_free(p);
    DIR *d = opendir(fx.tmpdir);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            entries++;
    closedir(d);
    assert_int_equal(entries, 0);
}

/* A scratch directory that cannot be created is an error, not a verdict. */
static void test_no_scratch_dir(void **state)
{
    (void)state;
    pf_ptxas_inputs in = base_inputs();
    in.tmpdir = "/nonexistent/dir"; /* the probe passes preflight's own $TMPDIR */
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/preflight-ptxas-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_ptxas),     cmocka_unit_test(test_triton36_layout),
        cmocka_unit_test(test_triton36_nothing_works), cmocka_unit_test(test_hang),
        cmocka_unit_test(test_assemble_hang),  cmocka_unit_test(test_not_executable),
        cmocka_unit_test(test_silent_fallback), cmocka_unit_test(test_dedupe_and_cleanup),
        cmocka_unit_test(test_no_scratch_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

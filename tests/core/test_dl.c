/* core/dl: loading a library from candidates and binding symbol tables,
 * against the real libm of this machine (every Linux has it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/dl.h"

static void first_candidate_that_loads(void **state)
{
    (void)state;
    const char *const cands[] = {"libpf-no-such-lib.so.7", "/nonexistent/libm.so.6", "libm.so.6"};
    char path[512];
    pf_err err = {{0}};
    void *h = pf_dl_open(cands, 3, 0, path, sizeof path, &err);
    assert_non_null(h);
    /* the loader's resolved name, not the bare soname */
    assert_non_null(strstr(path, "libm.so.6"));
    assert_true(path[0] == '/');
    dlclose(h);
}

static void every_candidate_named_when_none_loads(void **state)
{
    (void)state;
    const char *const cands[] = {"libpf-no-such-lib.so.7", "/nonexistent/libcuda.so.1"};
    char path[64] = "stale";
    pf_err err = {{0}};
    assert_null(pf_dl_open(cands, 2, RTLD_LAZY | RTLD_LOCAL, path, sizeof path, &err));
    assert_string_equal(path, "");
    assert_non_null(strstr(err.msg, "libpf-no-such-lib.so.7: "));
    assert_non_null(strstr(err.msg, "/nonexistent/libcuda.so.1: "));
    assert_non_null(strstr(err.msg, "No such file"));  /* dlerror() is in it */
    assert_null(pf_dl_open(NULL, 0, 0, NULL, 0, &err));
    assert_non_null(strstr(err.msg, "no candidate"));
}

static void bind_required_optional_and_versioned(void **state)
{
    (void)state;
    const char *const cands[] = {"libm.so.6"};
    void *h = pf_dl_open(cands, 1, 0, NULL, 0, NULL);
    assert_non_null(h);
    double (*cosp)(double) = NULL, (*sinp)(double) = NULL;
    void *opt = &opt;
    const pf_dl_sym syms[] = {
        PF_DL_REQ("cos", &cosp),
        PF_DL_OPT("pf_no_such_symbol", &opt),
        PF_DL_ALT("sin_v99_no_such", "sin", &sinp),
    };
    pf_err err = {{0}};
    assert_int_equal(pf_dl_bind(h, "libm.so.6", syms, 3, &err), 0);
    assert_non_null(cosp);
    assert_true(cosp(0.0) == 1.0);
    assert_non_null(sinp);
    assert_true(sinp(0.0) == 0.0);
    assert_null(opt);
    dlclose(h);
}

static void missing_required_names_symbol_and_library(void **state)
{
    (void)state;
    const char *const cands[] = {"libm.so.6"};
    void *h = pf_dl_open(cands, 1, 0, NULL, 0, NULL);
    assert_non_null(h);
    double (*cosp)(double) = NULL;
    void *a = NULL, *b = NULL;
    const pf_dl_sym syms[] = {
        PF_DL_REQ("cos", &cosp),
        PF_DL_REQ("cuMemGetInfo_v2", &a),
        PF_DL_ALT("nvmlFoo_v3", "nvmlFoo_v2", &b),
    };
    pf_err err = {{0}};
    assert_int_equal(pf_dl_bind(h, "libm.so.6", syms, 3, &err), -1);
    assert_string_equal(err.msg, "libm.so.6 has no symbol cuMemGetInfo_v2, nvmlFoo_v3 (or nvmlFoo_v2)");
    /* no half-bound table */
    assert_null(cosp);
    dlclose(h);
}

static void long_error_is_marked_not_cut(void **state)
{
    (void)state;
    const char *const cands[] = {"libm.so.6"};
    void *h = pf_dl_open(cands, 1, 0, NULL, 0, NULL);
    enum { N = 60 };
    void *slots[N];
    char names[N][32];
    pf_dl_sym syms[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "pf_missing_symbol_%02d", i);
        syms[i] = (pf_dl_sym)PF_DL_REQ(names[i], &slots[i]);
    }
    pf_err err = {{0}};
    assert_int_equal(pf_dl_bind(h, "libm.so.6", syms, N, &err), -1);
    assert_non_null(strstr(err.msg, "pf_missing_symbol_00"));
    assert_non_null(strstr(err.msg, "..."));
    dlclose(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_candidate_that_loads),
        cmocka_unit_test(every_candidate_named_when_none_loads),
        cmocka_unit_test(bind_required_optional_and_versioned),
        cmocka_unit_test(missing_required_names_symbol_and_library),
        cmocka_unit_test(long_error_is_marked_not_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

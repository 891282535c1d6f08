/* Which libnccl.so.2 the server loads, and its version: the real NCCL of the
 * CUDA toolkit, and fake environments built by tests/probes/mem/mem.cmake + tests/fixtures/fixtures.cmake whose torch
 * library has a RUNPATH, an RPATH, or NCCL linked in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes/kernels/elfso.h"
#include "probes/nccl/libnccl.h"

#define SITE "/lib/python3.12/site-packages"
#define REAL "/usr/local/cuda/lib64/libnccl.so.2"

static void test_banner(void **state)
{
    static const struct {
        const char *s;
        int code;
        const char *ver, *cuda;
    } rows[] = {
        {"NCCL version 2.28.9+cuda13.0", 22809, "2.28.9", "13.0"},
        {"NCCL version 2.28.9 compiled with CUDA 13.0", 22809, "2.28.9", "13.0"},
        {"NCCL version 2.27.7+cuda12.9", 22707, "2.27.7", "12.9"},
        {"NCCL version 2.8.4+cuda11.2", 2804, "2.8.4", "11.2"},
        {"NCCL version 2.9.6+cuda11.3", 20906, "2.9.6", "11.3"},
        {"NCCL version 2.23.4", 22304, "2.23.4", ""},
        {"NCCL version %s", -1, NULL, NULL},
        {"Mismatched NCCL version detected", -1, NULL, NULL},
        {"NCCL version 2.x.1", -1, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int code = 0;
        char ver[24], cuda[16];
        int rc = pf_libnccl_parse_banner(rows[i].s, &code, ver, sizeof ver, cuda, sizeof cuda);
        if (rows[i].code < 0) {
            if (rc != -1)
                fail_msg("'%s' accepted", rows[i].s);
            continue;
        }
        if (rc != 0 || code != rows[i].code || strcmp(ver, rows[i].ver) || strcmp(cuda, rows[i].cuda))
            fail_msg("'%s' -> rc %d code %d ver %s cuda %s", rows[i].s, rc, code, ver, cuda);
        char back[24];
        pf_libnccl_code_str(code, back, sizeof back);
        assert_string_equal(back, rows[i].ver);
    }
}

/* Build-id as binutils prints it, to compare with our reader. */
static int readelf_build_id(const char *path, char *out, size_t len)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    int rc = -1;
    while (fgets(line, sizeof line, p))
        if (rc != 0 && sscanf(line, " Build ID: %127s", out) == 1 && strlen(out) < len)
            rc = 0;
    pclose(p);
    return rc;
}

static void test_real_toolkit_nccl(void **state)
{
    if (access(REAL, R_OK) != 0)
        skip(); /* no CUDA toolkit NCCL on this machine */
    pf_libnccl_info i;
    memset(&i, 0, sizeof i);
    pf_err e = {{0}};
    if (pf_libnccl_inspect(REAL, true, &i, &e) != 0)
        fail_msg("%s", e.msg);
    if (i.dlopen_error[0])
        fail_msg("dlopen: %s", i.dlopen_error);
    assert_true(i.string_code >= 22300);
    assert_int_equal(i.dlopen_code, i.string_code); /* the banner tells the truth */
    assert_int_equal(i.version_code, i.dlopen_code);
    assert_true(strlen(i.cuda) >= 4);
    assert_true(pf_str_startswith(i.banner, "NCCL version "));
    assert_int_equal(strlen(i.build_id), 40);
    char want[128];
    if (readelf_build_id(REAL, want, sizeof want) == 0)
        assert_string_equal(i.build_id, want);
    printf("# %s: %s (code %d), build-id %s\n", REAL, i.banner, i.version_code, i.build_id);
}

static bool accept_banner(const char *s)
{
    return strchr(s, '+') != NULL;
}

static bool accept_info(const char *s)
{
    return strstr(s, "information") != NULL;
}

static void test_fake_lib_and_elf(void **state)
{
    const char *lib = PF_MEMFIX "/ldlp/libnccl.so.2";
    pf_elfso so;
    pf_err e = {{0}};
    if (pf_elfso_read(lib, &so, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(so.soname, "libnccl.so.2");
    assert_int_equal(so.machine, pf_elfso_host_machine());
    char want[128];
    if (readelf_build_id(lib, want, sizeof want) == 0)
        assert_string_equal(so.build_id, want);
    pf_elfso_free(&so);

    const char *torch = PF_MEMFIX "/venv_runpath" SITE "/torch/lib/libtorch_cuda.so";
    assert_int_equal(pf_elfso_read(torch, &so, &e), 0);
    assert_true(pf_strv_contains(&so.needed, "libnccl.so.2"));
    assert_null(so.rpath);
    assert_string_equal(so.runpath, "$ORIGIN/../../nvidia/nccl/lib:$ORIGIN");
    pf_elfso_free(&so);
    torch = PF_MEMFIX "/venv_rpath" SITE "/torch/lib/libtorch_cuda.so";
    assert_int_equal(pf_elfso_read(torch, &so, &e), 0);
    assert_string_equal(so.rpath, "$ORIGIN/../../nvidia/nccl/lib:$ORIGIN");
    assert_null(so.runpath);
    pf_elfso_free(&so);

    /* the banner, not the decoys around it */
    char *b = pf_elfso_find_string(lib, "NCCL version ", NULL, &e);
    assert_non_null(b); /* without a judge: either plain string, never a decoy */
    assert_true(!strcmp(b, "NCCL version information") || !strcmp(b, "NCCL version 2.27.7+cuda12.9"));
    free(b);
    b = pf_elfso_find_string(lib, "NCCL version ", accept_info, &e);
    assert_non_null(b);
    assert_string_equal(b, "NCCL version information");
    free(b);
    b = pf_elfso_find_string(lib, "NCCL version ", accept_banner, &e);
    assert_non_null(b);
    assert_string_equal(b, "NCCL version 2.27.7+cuda12.9");
    free(b);

    /* corrupt copies: errors name the file */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/tests/truncated-libnccl.so.2", PF_BINARY_DIR);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "head -c 100 '%s' > '%s'", lib, bad);
    assert_int_equal(system(cmd), 0);
    pf_libnccl_info i;
    memset(&i, 0, sizeof i);
    assert_int_equal(pf_libnccl_inspect(bad, false, &i, &e), -1);
    assert_non_null(strstr(e.msg, "truncated-libnccl.so.2"));
    snprintf(cmd, sizeof cmd, "echo 'not an elf at all, just some text padding it out to 64+ bytes......' > '%s'",
             bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(pf_libnccl_inspect(bad, true, &i, &e), -1);
    assert_non_null(strstr(e.msg, "not an ELF file"));
    unlink(bad);
}

static pf_pyenv *fake_env(const char *name)
{
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/%s", PF_MEMFIX, name);
    pf_err e = {{0}};
    pf_pyenv *env = pf_pyenv_from_prefix(prefix, "--venv", &e);
    if (!env)
        fail_msg("%s", e.msg);
    return env;
}

static void locate(const char *venv, const char *ldlp, const char *cache, pf_libnccl_info *i)
{
    pf_pyenv *env = venv ? fake_env(venv) : NULL;
    pf_err e = {{0}};
    if (pf_libnccl_locate_in(env, ldlp, cache, true, i, &e) != 0)
        fail_msg("%s: %s", venv ? venv : "(no venv)", e.msg);
    pf_pyenv_free(env);
}

static void test_torch_runpath(void **state)
{
    pf_libnccl_info i;
    locate("venv_runpath", NULL, NULL, &i);
    assert_non_null(strstr(i.path, "venv_runpath" SITE "/torch/lib/../../nvidia/nccl/lib/libnccl.so.2"));
    assert_string_equal(i.origin, "torch RUNPATH");
    assert_int_equal(i.version_code, 21801);
    assert_int_equal(i.dlopen_code, 21801);
    assert_string_equal(i.cuda, "12.2");
    assert_false(i.differs_from_wheel); /* the wheel's own file, reached through another path */
    assert_int_equal(i.wheel_code, 21801);

    /* LD_LIBRARY_PATH is searched before DT_RUNPATH: it wins */
    locate("venv_runpath", "/nonexistent:" PF_MEMFIX "/ldlp", NULL, &i);
    assert_string_equal(i.path, PF_MEMFIX "/ldlp/libnccl.so.2");
    assert_string_equal(i.origin, "LD_LIBRARY_PATH");
    assert_int_equal(i.version_code, 22707);
    assert_true(i.differs_from_wheel);
    assert_non_null(strstr(i.searched, "/nonexistent (LD_LIBRARY_PATH)"));
    json_t *j = pf_libnccl_to_json(&i);
    assert_true(json_is_true(json_object_get(j, "differs_from_wheel")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "wheel"), "version_code")), 21801);
    json_decref(j);
}

static void test_torch_rpath(void **state)
{
    /* DT_RPATH (without DT_RUNPATH) is searched before LD_LIBRARY_PATH */
    pf_libnccl_info i;
    locate("venv_rpath", PF_MEMFIX "/ldlp", NULL, &i);
    assert_string_equal(i.origin, "torch RPATH");
    assert_int_equal(i.version_code, 21801);
    assert_false(i.differs_from_wheel);
}

static void test_static_and_no_torch(void **state)
{
    pf_libnccl_info i;
    locate("venv_static", PF_MEMFIX "/ldlp", NULL, &i);
    assert_true(i.static_in_torch);
    assert_string_equal(i.origin, "linked into libtorch_cuda.so");
    assert_int_equal(i.version_code, 22105);
    assert_int_equal(i.dlopen_code, 0); /* torch itself is not dlopen'ed */

    locate("venv_notorch", PF_MEMFIX "/ldlp", NULL, &i);
    assert_string_equal(i.origin, "nvidia-nccl wheel");
    assert_int_equal(i.version_code, 21801);

    /* no environment: LD_LIBRARY_PATH, then the ld.so.cache listing */
    locate(NULL, PF_MEMFIX "/ldlp", NULL, &i);
    assert_string_equal(i.origin, "LD_LIBRARY_PATH");
    locate(NULL, NULL,
           "3 libs found in cache `/etc/ld.so.cache'\n"
           "\tlibnccl.so (libc6,x86-64) => /nonexistent/libnccl.so\n"
           "\tlibnccl.so.2 (libc6,x86-64) => " PF_MEMFIX "/ldlp/libnccl.so.2\n",
           &i);
    assert_string_equal(i.origin, "ld.so.cache");
    assert_int_equal(i.version_code, 22707);
    assert_false(i.differs_from_wheel);

    /* nothing anywhere but perhaps the toolkit or a system copy */
    pf_err e = {{0}};
    int rc = pf_libnccl_locate_in(NULL, NULL, NULL, false, &i, &e);
    if (access(REAL, R_OK) == 0 || rc == 0)
        assert_int_equal(rc, 0);
    else
        assert_non_null(strstr(e.msg, "no libnccl.so.2 found"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_banner),          cmocka_unit_test(test_real_toolkit_nccl),
        cmocka_unit_test(test_fake_lib_and_elf), cmocka_unit_test(test_torch_runpath),
        cmocka_unit_test(test_torch_rpath),     cmocka_unit_test(test_static_and_no_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

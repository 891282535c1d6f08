/* Python environment discovery on fake venv layouts and on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testfix.h"
#include "probes/env/pyenv.h"


static int setup(void **state)
{
    assert_int_equal(tf_tmpdir_create("venv"), 0);
    tf_put("pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.3\n");
    tf_put("lib/python3.12/site-packages/torch-2.11.0+cu130.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.11.0+cu130\n\nDescription: Version: 9.9\n");
    tf_put("lib/python3.12/site-packages/sgl_kernel-0.3.9.dist-info/METADATA", "Name: sgl-kernel\nVersion: 0.3.9\n");
    /* a dist-info without METADATA: the directory name still says the version */
    tf_put("lib/python3.12/site-packages/flashinfer_python-0.4.1.dist-info/RECORD", "");
    tf_put("lib/python3.12/site-packages/torch/lib/.keep", "");
    return 0;
}

static int teardown(void **state)
{
    return tf_tmpdir_remove();
}

static void test_fake_venv(void **state)
{
    pf_err err;
    pf_pyenv *env = pf_pyenv_from_prefix(tf_tmpdir(), "--venv", &err);
    assert_non_null(env);
    assert_string_equal(pf_pyenv_python_version(env), "3.12");
    assert_int_equal(pf_pyenv_site_count(env), 1);
    char *v = pf_pyenv_dist_version(env, "torch");
    assert_string_equal(v, "2.11.0+cu130");
    free(v);
    v = pf_pyenv_dist_version(env, "sgl-kernel"); /* '-' matches '_' */
    assert_string_equal(v, "0.3.9");
    free(v);
    v = pf_pyenv_dist_version(env, "FlashInfer.Python");
    assert_string_equal(v, "0.4.1");
    free(v);
    assert_null(pf_pyenv_dist_version(env, "vllm"));
    assert_null(pf_pyenv_dist_version(env, "torc")); /* no prefix matches */
    char *dir = pf_pyenv_package_dir(env, "torch");
    assert_non_null(dir);
    assert_true(strstr(dir, "site-packages/torch") != NULL);
    free(dir);
    assert_null(pf_pyenv_package_dir(env, "vllm"));
    pf_pyenv_free(env);
}

static void test_bad_prefixes(void **state)
{
    pf_err err;
    assert_null(pf_pyenv_from_prefix("/nonexistent/venv", "--venv", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/venv"));
    assert_null(pf_pyenv_from_prefix("/tmp", "--venv", &err));
    assert_non_null(strstr(err.msg, "not a Python environment"));

    setenv("VIRTUAL_ENV", "/nonexistent/stale-venv", 1);
    assert_null(pf_pyenv_discover(NULL, &err));
    assert_non_null(strstr(err.msg, "$VIRTUAL_ENV"));
    assert_non_null(strstr(err.msg, "stale"));
    unsetenv("VIRTUAL_ENV");
}

static void test_python_on_path(void **state)
{
    pf_err err;
    unsetenv("VIRTUAL_ENV");
    pf_pyenv *env = pf_pyenv_discover(NULL, &err);
    if (!env)
        skip(); /* no python3 here: nothing to check against */
    assert_string_equal(pf_pyenv_origin(env), "python3 on PATH");
    assert_true(strlen(pf_pyenv_python_version(env)) >= 3);
    assert_true(pf_pyenv_site_count(env) >= 1);
    pf_pyenv_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_venv),
        cmocka_unit_test(test_bad_prefixes),
        cmocka_unit_test(test_python_on_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

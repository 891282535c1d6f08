/* test_env.c -- core/env: the env-file format (one row per real case, each
 * accepted line with the value the shell and systemd would both give, each
 * rejected line with the reason), JSON and process snapshots, file safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/env.h"
#include "core/proc.h"

static char dir[] = "/tmp/pf-test-env-XXXXXX";

static char *write_file(const char *name, const char *text, size_t len)
{
    char *p = pf_path_join(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return p;
}

/* One line in, either the NAME/VALUE it means or a reason fragment. */
static const struct {
    const char *line;
    const char *name;  /* NULL: expect rejection */
    const char *value; /* expected value, or a fragment of the error */
} rows[] = {
    {"NCCL_SOCKET_IFNAME=enp1s0f0np0", "NCCL_SOCKET_IFNAME", "enp1s0f0np0"},
    {"NCCL_SOCKET_IFNAME=^docker,lo", "NCCL_SOCKET_IFNAME", "^docker,lo"},
    {"export GLOO_SOCKET_IFNAME=eth0", "GLOO_SOCKET_IFNAME", "eth0"},
    {"  export\tA=1", "A", "1"},
    {"EMPTY=", "EMPTY", ""},
    {"Q=''", "Q", ""},
    {"TORCH_CUDA_ARCH_LIST=\"12.1 11.0\"", "TORCH_CUDA_ARCH_LIST", "12.1 11.0"},
    {"S='a \"b\" $c `d` \\e'", "S", "a \"b\" $c `d` \\e"},
    {"D=\"a \\\"q\\\" \\$HOME \\` \\\\\"", "D", "a \"q\" $HOME ` \\"},
    {"T=\"x\"   ", "T", "x"},
    {"_X9=a=b", "_X9", "a=b"},
    {"P=/usr/local/cuda/bin:/usr/bin", "P", "/usr/local/cuda/bin:/usr/bin"},
    /* rejected: where sh and systemd would disagree, or not an assignment */
    {"A = 1", NULL, "blanks around '='"},
    {"A =1", NULL, "blanks around '='"},
    {"9A=1", NULL, "expected NAME=VALUE"},
    {"A-B=1", NULL, "expected NAME=VALUE"},
    {"just words", NULL, "blanks around"},
    {"export", NULL, "expected NAME=VALUE"},
    {"A=two words", NULL, "blank"},
    {"A=x ", NULL, "trailing blanks"},
    {"A=$HOME/x", NULL, "quote the value"},
    {"A=`id`", NULL, "quote the value"},
    {"A=a;b", NULL, "quote the value"},
    {"A=~/x", NULL, "quote the value"},
    {"A=x#y", NULL, "quote the value"},
    {"A=\"$HOME\"", NULL, "unescaped $"},
    {"A=\"`id`\"", NULL, "unescaped $ or `"},
    {"A=\"\\n\"", NULL, "backslash"},
    {"A=\"open", NULL, "no closing quote"},
    {"A='open", NULL, "no closing quote"},
    {"A='x'y", NULL, "text after the closing quote"},
    {"A=1\r", NULL, "carriage return"},
};

static void test_lines(void **state)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = pf_xasprintf("# generated\n\n%s\n", rows[i].line);
        char *p = write_file("row.env", text, strlen(text));
        pf_err err = {{0}};
        pf_env *e = pf_env_from_file(p, &err);
        if (rows[i].name) {
            if (!e)
                fail_msg("row %zu '%s' rejected: %s", i, rows[i].line, err.msg);
            assert_int_equal(pf_env_count(e), 1);
            assert_string_equal(pf_env_name(e, 0), rows[i].name);
            assert_string_equal(pf_env_get(e, rows[i].name), rows[i].value);
            char *src = pf_xasprintf("file:%s", p);
            assert_string_equal(pf_env_source(e), src);
            free(src);
            /* ...and the real shell reads the same value: `set -a; . FILE` */
            char *script = pf_xasprintf("set -a; . \"$1\"; printf '%%s' \"$%s\"", rows[i].name);
            char *argv[] = {"sh", "-c", script, "sh", p, NULL};
            pf_proc_opts o = {.timeout_s = 5};
            pf_proc_result r;
            assert_int_equal(pf_proc_run(argv, &o, &r, &err), 0);
            if (!r.exited || r.exit_code != 0 || strcmp(r.out, rows[i].value) != 0)
                fail_msg("row %zu '%s': sh reads '%s'", i, rows[i].line, r.out);
            pf_proc_result_free(&r);
            free(script);
        } else {
            if (e)
                fail_msg("row %zu '%s' accepted", i, rows[i].line);
            /* FILE:LINE: reason -- the line is 3 (after a comment and a blank) */
            char *where = pf_xasprintf("%s:3: ", p);
            if (!strstr(err.msg, where) || !strstr(err.msg, rows[i].value))
                fail_msg("row %zu '%s': error '%s' lacks '%s' or '%s'", i, rows[i].line, err.msg, where,
                         rows[i].value);
            free(where);
        }
        pf_env_free(e);
        free(text);
        unlink(p);
        free(p);
    }
}

/* The file as `preflight plan` would write it, read as a whole: order kept,
 * a repeated name keeps its first position and its last value (as sh and
 * systemd), an empty file is an empty environment. */
static void test_whole_file(void **state)
{
    const char text[] = "# preflight plan for spark1\n"
                        "NCCL_SOCKET_IFNAME=enp1s0f0np0\n"
                        "\n"
                        "export NCCL_IB_DISABLE=1\n"
                        "NCCL_SOCKET_IFNAME=enp1s0f1np1\n"
                        "GLOO_SOCKET_IFNAME='enp1s0f0np0'"; /* no final newline */
    char *p = write_file("plan.env", text, sizeof text - 1);
    pf_err err = {{0}};
    pf_env *e = pf_env_from_file(p, &err);
    assert_non_null(e);
    assert_int_equal(pf_env_count(e), 3);
    assert_string_equal(pf_env_name(e, 0), "NCCL_SOCKET_IFNAME");
    assert_string_equal(pf_env_value(e, 0), "enp1s0f1np1");
    assert_string_equal(pf_env_name(e, 2), "GLOO_SOCKET_IFNAME");
    assert_null(pf_env_get(e, "PATH"));
    char *const *envp = pf_env_envp(e);
    assert_string_equal(envp[0], "NCCL_SOCKET_IFNAME=enp1s0f1np1");
    assert_string_equal(envp[1], "NCCL_IB_DISABLE=1");
    assert_null(envp[3]);
    json_t *j = pf_env_to_json(e);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"NCCL_SOCKET_IFNAME\":\"enp1s0f1np1\",\"NCCL_IB_DISABLE\":\"1\","
                           "\"GLOO_SOCKET_IFNAME\":\"enp1s0f0np0\"}");
    free(s);
    json_decref(j);
    pf_env_free(e);
    unlink(p);
    free(p);

    p = write_file("empty.env", "", 0);
    e = pf_env_from_file(p, &err);
    assert_non_null(e);
    assert_int_equal(pf_env_count(e), 0);
    assert_null(pf_env_envp(e)[0]);
    pf_env_free(e);
    unlink(p);
    free(p);
}

/* Opened safely: a missing file, a directory, a FIFO (must not block), a
 * file over the cap, a NUL byte -- each an error naming the file. */
static void test_file_safety(void **state)
{
    pf_err err = {{0}};
    char *p = pf_path_join(dir, "missing.env");
    assert_null(pf_env_from_file(p, &err));
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "No such file"));
    free(p);

    assert_null(pf_env_from_file(dir, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));

    p = pf_path_join(dir, "fifo.env");
    assert_int_equal(mkfifo(p, 0600), 0);
    double t0 = pf_now();
    assert_null(pf_env_from_file(p, &err));
    assert_true(pf_now() - t0 < 1.0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    unlink(p);
    free(p);

    size_t big = PF_ENV_FILE_MAX + 1;
    char *text = pf_xmalloc(big);
    memset(text, '#', big);
    p = write_file("big.env", text, big);
    assert_null(pf_env_from_file(p, &err));
    assert_non_null(strstr(err.msg, "more than"));
    unlink(p);
    free(p);
    free(text);

    p = write_file("nul.env", "A=1\n\0B=2\n", 9);
    assert_null(pf_env_from_file(p, &err));
    assert_non_null(strstr(err.msg, "NUL"));
    unlink(p);
    free(p);
}

static void test_json(void **state)
{
    pf_err err = {{0}};
    json_t *o = json_pack("{s:s,s:s}", "NCCL_DEBUG", "INFO", "RAY_ADDRESS", "10.0.0.1:6379");
    pf_env *e = pf_env_from_json(o, &err);
    assert_non_null(e);
    assert_string_equal(pf_env_get(e, "RAY_ADDRESS"), "10.0.0.1:6379");
    assert_string_equal(pf_env_source(e), "json");
    pf_env_set_source(e, "ray");
    assert_string_equal(pf_env_source(e), "ray");
    pf_env_free(e);
    json_decref(o);

    o = json_pack("{s:i}", "NCCL_IB_DISABLE", 1);
    assert_null(pf_env_from_json(o, &err));
    assert_non_null(strstr(err.msg, "NCCL_IB_DISABLE"));
    assert_non_null(strstr(err.msg, "must be a string"));
    json_decref(o);

    o = json_pack("{s:s}", "BAD NAME", "x");
    assert_null(pf_env_from_json(o, &err));
    assert_non_null(strstr(err.msg, "BAD NAME"));
    json_decref(o);

    o = json_pack("[s]", "A=1");
    assert_null(pf_env_from_json(o, &err));
    json_decref(o);
}

/* A snapshot is a copy: changing the process environment afterwards does
 * not change what is judged. */
static void test_process_snapshot(void **state)
{
    setenv("PF_TEST_SNAPSHOT", "before", 1);
    pf_env *e = pf_env_from_process();
    setenv("PF_TEST_SNAPSHOT", "after", 1);
    setenv("PF_TEST_SNAPSHOT_NEW", "x", 1);
    assert_string_equal(pf_env_source(e), "process");
    assert_string_equal(pf_env_get(e, "PF_TEST_SNAPSHOT"), "before");
    assert_null(pf_env_get(e, "PF_TEST_SNAPSHOT_NEW"));
    pf_env_free(e);
    unsetenv("PF_TEST_SNAPSHOT");
    unsetenv("PF_TEST_SNAPSHOT_NEW");
}

/* pf_env_which searches the judged PATH, not the process's. */
static void test_which(void **state)
{
    char *bin = pf_path_join(dir, "bin");
    assert_int_equal(mkdir(bin, 0700), 0);
    char *tool = pf_path_join(bin, "pf-only-here");
    int fd = open(tool, O_CREAT | O_WRONLY, 0700);
    assert_true(fd >= 0);
    close(fd);
    pf_env *e = pf_env_new("test");
    pf_err err = {{0}};
    assert_int_equal(pf_env_set(e, "PATH", bin, &err), 0);
    char *got = pf_env_which(e, "pf-only-here");
    assert_non_null(got);
    assert_string_equal(got, tool);
    free(got);
    assert_null(pf_env_which(e, "sh")); /* not on this PATH, though on the process's */
    assert_int_equal(pf_env_set(e, "BAD-NAME", "x", &err), -1);
    pf_env_free(e);
    unlink(tool);
    rmdir(bin);
    free(tool);
    free(bin);
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),       cmocka_unit_test(test_whole_file),
        cmocka_unit_test(test_file_safety), cmocka_unit_test(test_json),
        cmocka_unit_test(test_process_snapshot), cmocka_unit_test(test_which),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Running external tools with deadlines: every way a tool can misbehave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/proc.h"
#include "core/sig.h"

static void test_output_and_exit_code(void **state)
{
    char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, NULL, &r, &err), 0);
    assert_true(r.exited);
    assert_int_equal(r.exit_code, 3);
    assert_non_null(strstr(r.out, "out\n"));
    assert_non_null(strstr(r.out, "err\n"));
    pf_proc_result_free(&r);
}

static void test_not_found(void **state)
{
    char *argv[] = {"/nonexistent/ptxas", "--version", NULL};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, NULL, &r, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/ptxas"));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_not_executable(void **state)
{
    char path[] = "/tmp/pf_noexec_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\necho hi\n", 18), 18);
    close(fd);
    chmod(path, 0644);
    char *argv[] = {path, NULL};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, NULL, &r, &err), -1);
    assert_non_null(strstr(err.msg, "Permission denied"));
    unlink(path);
}

static void test_deadline_kills_group(void **state)
{
    /* The tool hangs and leaves a grandchild: both must be gone after the deadline. */
    char pidfile[] = "/tmp/pf_gc_XXXXXX";
    int fd = mkstemp(pidfile);
    close(fd);
    char script[256];
    snprintf(script, sizeof script, "sleep 1000 & echo $! > %s; sleep 1000", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    pf_proc_opts o = {.timeout_s = 0.3};
    pf_proc_result r;
    pf_err err;
    double t0 = pf_now();
    assert_int_equal(pf_proc_run(argv, &o, &r, &err), 0);
    assert_true(r.timed_out);
    assert_false(r.exited);
    assert_true(pf_now() - t0 < 3.0);
    char desc[64];
    pf_proc_describe(&r, desc, sizeof desc);
    assert_non_null(strstr(desc, "timed out"));
    pf_proc_result_free(&r);
    char *gc = pf_read_line(pidfile);
    assert_non_null(gc);
    pid_t g = (pid_t)atoi(gc);
    assert_true(g > 0);
    /* Gone, or a zombie waiting for whoever reaps orphans here: either way
     * it no longer runs. */
    bool dead = false;
    for (int i = 0; i < 200 && !dead; i++) {
        char statp[64];
        snprintf(statp, sizeof statp, "/proc/%d/stat", (int)g);
        char *st = pf_read_line(statp);
        char *paren = st ? strrchr(st, ')') : NULL;
        dead = kill(g, 0) != 0 || (paren && paren[1] == ' ' && paren[2] == 'Z');
        free(st);
        if (!dead)
            usleep(10000);
    }
    assert_true(dead);
    free(gc);
    unlink(pidfile);
}

static void test_output_cap(void **state)
{
    char *argv[] = {"sh", "-c", "yes preflight | head -c 200000", NULL};
    pf_proc_opts o = {.max_out = 1000};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, &o, &r, &err), 0);
    assert_true(r.out_truncated);
    assert_int_equal(r.out_len, 1000);
    pf_proc_result_free(&r);
}

static void test_env(void **state)
{
    setenv("PF_TEST_GONE", "1", 1);
    const char *set[] = {"PF_TEST_VAR=hello", NULL};
    const char *unset[] = {"PF_TEST_GONE", NULL};
    char *argv[] = {"sh", "-c", "echo \"$PF_TEST_VAR:${PF_TEST_GONE-unset}\"", NULL};
    pf_proc_opts o = {.env_set = set, .env_unset = unset};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, &o, &r, &err), 0);
    assert_string_equal(r.out, "hello:unset\n");
    pf_proc_result_free(&r);
}

static void test_signalled(void **state)
{
    char *argv[] = {"sh", "-c", "kill -SEGV $$", NULL};
    pf_proc_result r;
    pf_err err;
    assert_int_equal(pf_proc_run(argv, NULL, &r, &err), 0);
    assert_true(r.signalled);
    assert_int_equal(r.term_signal, SIGSEGV);
    pf_proc_result_free(&r);
}

/* pf_file_drain_fd, the loop under pf_proc_run and the agent's checks
 * child: each way a read can end, on a real pipe. */
static void test_drain_fd(void **state)
{
    (void)state;
    int p[2];
    size_t len;
    bool full;
    pf_drain_end end;
    /* EOF: everything the writer wrote */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pf_file_write_fd(p[1], "hello", 5), 0);
    close(p[1]);
    char *b = pf_file_drain_fd(p[0], 100, false, pf_now() + 5, false, &len, &full, &end);
    assert_int_equal(end, PF_DRAIN_EOF);
    assert_int_equal(len, 5);
    assert_string_equal(b, "hello");
    assert_false(full);
    free(b);
    close(p[0]);
    /* the cap, without keep_reading: stops there, the writer still open */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pf_file_write_fd(p[1], "0123456789", 10), 0);
    b = pf_file_drain_fd(p[0], 4, false, pf_now() + 5, false, &len, &full, &end);
    assert_int_equal(end, PF_DRAIN_FULL);
    assert_int_equal(len, 4);
    assert_string_equal(b, "0123");
    assert_true(full);
    free(b);
    /* with keep_reading: the rest is read and dropped until EOF */
    assert_int_equal(pf_file_write_fd(p[1], "abc", 3), 0);
    close(p[1]);
    b = pf_file_drain_fd(p[0], 2, true, pf_now() + 5, false, &len, &full, &end);
    assert_int_equal(end, PF_DRAIN_EOF);
    assert_int_equal(len, 2);
    assert_true(full);
    free(b);
    close(p[0]);
    /* the deadline: a writer that never closes */
    assert_int_equal(pipe(p), 0);
    double t0 = pf_now();
    b = pf_file_drain_fd(p[0], 100, true, t0 + 0.3, false, &len, &full, &end);
    assert_int_equal(end, PF_DRAIN_DEADLINE);
    assert_true(pf_now() - t0 >= 0.29);
    assert_int_equal(len, 0);
    free(b);
    /* a signal of the policy ends the wait within a 200 ms slice */
    pf_err err;
    assert_int_equal(pf_sig_install(&err), 0);
    pf_sig_set_immediate(false);
    raise(SIGHUP);
    t0 = pf_now();
    b = pf_file_drain_fd(p[0], 100, true, t0 + 10, true, &len, &full, &end);
    assert_int_equal(end, PF_DRAIN_SIGNAL);
    assert_true(pf_now() - t0 < 1);
    free(b);
    pf_sig_restore();
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_exit_code), cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_not_executable),       cmocka_unit_test(test_deadline_kills_group),
        cmocka_unit_test(test_output_cap),           cmocka_unit_test(test_env),
        cmocka_unit_test(test_signalled),            cmocka_unit_test(test_drain_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_launch.c -- the launch lifecycle against stand-in servers
 * (tests/bench/fake_server.py, run with python3): ready, exits at once, never
 * ready, fatal log line, ignores signals (with a grandchild that escapes the
 * process group), dies during load, refuses the warm-up, Ctrl-C while
 * waiting.  Every test ends by checking that no process of the server is
 * left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/launch.h"

static char *g_python;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct fake {
    pf_launch *l;
    int port;
    char url[64];
    char log[512];
    char pidfile[512];
} fake;

static void start_fake(fake *f, const char *mode, const char *delay)
{
    if (!g_python)
        skip();
    memset(f, 0, sizeof *f);
    f->port = free_port();
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
    snprintf(f->log, sizeof f->log, "%s/tests/launch-%s.log", PF_BINARY_DIR, mode);
    snprintf(f->pidfile, sizeof f->pidfile, "%s/tests/launch-%s.pids", PF_BINARY_DIR, mode);
    unlink(f->pidfile);
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    char *script = pf_path_join(PF_SOURCE_DIR, "tests/bench/fake_server.py");
    char *argv[] = {g_python, "-u", script, "--port", port, "--mode", (char *)mode,
                    "--delay", (char *)(delay ? delay : "0.5"), "--pidfile", f->pidfile, NULL};
    pf_launch_opts o = {.log_path = f->log};
    pf_err err = {{0}};
    f->l = pf_launch_start(argv, &o, &err);
    free(script);
    if (!f->l)
        fail_msg("start failed: %s", err.msg);
}

static void quick_opts(pf_ready_opts *o, const fake *f, double deadline)
{
    pf_ready_opts_init(o);
    o->base_url = f->url;
    o->deadline_s = deadline;
    o->poll_interval_s = 0.1;
    o->progress = -1;
}

/* Stop, then prove nothing of the server is left. */
static void stop_and_verify(fake *f, double grace, const char *want_stage)
{
    int pgid = pf_launch_pid(f->l);
    pf_launch_stop_result s;
    assert_int_equal(pf_launch_stop(f->l, grace, &s), 0);
    assert_true(s.all_gone);
    assert_int_equal(s.survivors, 0);
    if (want_stage)
        assert_string_equal(s.stage, want_stage);
    errno = 0;
    assert_int_equal(kill(-pgid, 0), -1);
    assert_int_equal(errno, ESRCH);
    json_t *j = pf_launch_to_json(f->l);
    assert_non_null(json_object_get(j, "stop"));
    json_decref(j);
    pf_launch_free(f->l);
    f->l = NULL;
}

static void test_ready(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "ok", NULL);
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    o.require_ready_line = true;
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    if (r.status != PF_READY_OK)
        fail_msg("not ready: %s", r.message);
    assert_true(r.t_health_s > 0.3); /* the stand-in "loads" for ~0.6 s */
    assert_true(r.t_models_s >= r.t_health_s);
    assert_true(r.t_warmup_s >= r.t_models_s);
    assert_true(r.t_ready_line_s > 0);
    assert_true(r.warmup_latency_s >= 0);
    assert_true(r.load_time_s >= r.t_warmup_s);
    assert_string_equal(r.model, "fake-model");

    pf_launch_status st;
    assert_int_equal(pf_launch_poll(f.l, &st), 0);
    assert_true(st.running);

    pf_run *run = pf_run_new(0, NULL);
    pf_check *c = pf_launch_add_check(run, NULL, f.l);
    assert_int_equal(pf_check_status(c), PF_PASS);
    pf_run_free(run);

    json_t *j = pf_launch_to_json(f.l);
    json_t *sigs = json_object_get(json_object_get(j, "ready"), "signals");
    assert_int_equal(json_array_size(sigs), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "ready"), "status")), "ready");
    assert_null(json_object_get(j, "log_tail"));
    json_decref(j);

    stop_and_verify(&f, 5, "SIGINT");
}

static void test_exits_at_once(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "exit", NULL);
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    pf_ready_result r;
    pf_err err = {{0}};
    double t = pf_now();
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_true(pf_now() - t < 10);
    assert_int_equal(r.status, PF_READY_DIED);
    assert_true(r.exited && r.exit_code == 2);
    assert_non_null(strstr(r.message, "exited with status 2"));
    assert_non_null(strstr(r.message, "ValueError: unknown option --frobnicate"));
    const char *tail[5];
    size_t n = pf_launch_tail(f.l, tail, 5);
    assert_true(n >= 2);
    assert_string_equal(tail[n - 1], "ValueError: unknown option --frobnicate");
    json_t *j = pf_launch_to_json(f.l);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "exit"), "exit_code")), 2);
    assert_true(json_array_size(json_object_get(j, "log_tail")) >= 2);
    json_decref(j);
    pf_launch_stop_result s;
    assert_int_equal(pf_launch_stop(f.l, 1, &s), 0);
    assert_string_equal(s.stage, "not running");
    pf_launch_free(f.l);
}

static void test_never_ready(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "never", NULL);
    pf_ready_opts o;
    quick_opts(&o, &f, 2.0);
    pf_ready_result r;
    pf_err err = {{0}};
    double t = pf_now();
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    double took = pf_now() - t;
    assert_int_equal(r.status, PF_READY_TIMEOUT);
    assert_true(took >= 1.5 && took < 5.0);
    assert_non_null(strstr(r.message, "/health -> 503"));
    assert_int_equal(r.last_http_status, 503);
    /* the group holds python and its `sleep 300`: both go on SIGINT */
    stop_and_verify(&f, 5, "SIGINT");
}

static void test_fatal_line(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "kernel", "0.3");
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    o.warmup_api = PF_LAUNCH_API_NONE;
    o.require_ready_line = true; /* keeps the wait going until the fatal line */
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_FATAL);
    assert_non_null(r.fatal.sig);
    assert_string_equal(r.fatal.sig->check_id, "gpu.kernels");
    assert_string_equal(r.fatal.line, "RuntimeError: CUDA error: no kernel image is available for execution on the device");
    assert_non_null(strstr(r.message, "gpu.kernels"));
    assert_non_null(strstr(r.message, "remedy:"));
    pf_run *run = pf_run_new(0, NULL);
    pf_check *c = pf_launch_add_check(run, NULL, f.l);
    assert_int_equal(pf_check_status(c), PF_FAIL);
    assert_non_null(strstr(pf_check_summary(c), "gpu.kernels"));
    assert_non_null(pf_check_remedy_text(c));
    pf_run_free(run);
    json_t *j = pf_launch_to_json(f.l);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fatal"), "check_id")), "gpu.kernels");
    json_decref(j);
    stop_and_verify(&f, 5, "SIGINT");
}

static bool wait_file(const char *path, double secs)
{
    for (double until = pf_now() + secs; pf_now() < until;) {
        if (access(path, R_OK) == 0)
            return true;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_stubborn(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "stubborn", NULL);
    assert_true(wait_file(f.pidfile, 20));
    pf_launch_status st;
    for (int i = 0; i < 10; i++) { /* let the watcher see the escaped grandchild */
        pf_launch_poll(f.l, &st);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    int pids[3] = {0};
    FILE *fp = fopen(f.pidfile, "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%d %d %d", &pids[0], &pids[1], &pids[2]), 3);
    fclose(fp);
    assert_int_equal(pids[0], pf_launch_pid(f.l));
    assert_int_not_equal(getpgid(pids[2]), pf_launch_pid(f.l)); /* really escaped */

    double t = pf_now();
    pf_launch_stop_result s;
    assert_int_equal(pf_launch_stop(f.l, 0.5, &s), 0);
    assert_string_equal(s.stage, "SIGKILL");
    assert_false(s.graceful);
    assert_true(s.strays >= 1);
    assert_true(s.signalled && s.term_signal == SIGKILL);
    assert_true(pf_now() - t < 8);
    for (int i = 0; i < 3; i++) {
        errno = 0;
        assert_int_equal(kill(pids[i], 0), -1);
        assert_int_equal(errno, ESRCH);
    }
    int pgid = pf_launch_pid(f.l);
    errno = 0;
    assert_int_equal(kill(-pgid, 0), -1);
    assert_int_equal(errno, ESRCH);
    pf_launch_free(f.l);
}

static void test_dies_during_load(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "die", "1.0");
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_OK);
    pf_launch_status st;
    int rc = 0;
    double until = pf_now() + 15;
    while (pf_now() < until && (rc = pf_launch_poll(f.l, &st)) == 0) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rc, 1);
    assert_false(st.running);
    assert_true(st.signalled);
    assert_int_equal(st.term_signal, SIGKILL);
    assert_non_null(strstr(st.message, "killed by signal 9"));
    assert_null(st.fatal.sig);
    stop_and_verify(&f, 2, "not running");
}

static void test_warmup_refused(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "refuse", NULL);
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_WARMUP_FAILED);
    assert_non_null(strstr(r.message, "HTTP 400"));
    stop_and_verify(&f, 5, "SIGINT");
}

static void test_hint_is_not_fatal(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "hint", NULL);
    pf_ready_opts o;
    quick_opts(&o, &f, 30);
    o.warmup_api = PF_LAUNCH_API_COMPLETIONS;
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_OK);
    json_t *j = pf_launch_to_json(f.l);
    json_t *h0 = json_array_get(json_object_get(j, "hints"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "check_id")), "net.gloo");
    assert_null(json_object_get(j, "fatal"));
    json_decref(j);
    stop_and_verify(&f, 5, "SIGINT");
}

static void raise_after_half_second(void *ud, const char *phase, double el, const char *last)
{
    (void)phase, (void)last;
    int *raised = ud;
    if (el > 0.5 && !*raised) {
        *raised = 1;
        raise(SIGINT);
    }
}

static void test_ctrl_c_while_waiting(void **state)
{
    (void)state;
    pf_launch_sigs sigs;
    memset(&sigs, 0, sizeof sigs);
    pf_err err = {{0}};
    assert_int_equal(pf_launch_sigs_install(&sigs, &err), 0);
    pf_launch_sigs other;
    memset(&other, 0, sizeof other);
    assert_int_equal(pf_launch_sigs_install(&other, &err), -1);
    fake f;
    start_fake(&f, "never", NULL);
    pf_launch_watch_signals(f.l, &sigs);
    pf_ready_opts o;
    quick_opts(&o, &f, 60);
    int raised = 0;
    o.progress_fn = raise_after_half_second;
    o.progress_ud = &raised;
    pf_ready_result r;
    double t = pf_now();
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_INTERRUPTED);
    assert_true(pf_now() - t < 5);
    assert_int_equal(sigs.count, 1);
    stop_and_verify(&f, 5, "SIGINT");
    pf_launch_sigs_restore(&sigs);
}

static volatile sig_atomic_t g_flag;

static void set_flag_after_300ms(void *ud, const char *phase, double el, const char *last)
{
    (void)ud, (void)phase, (void)last;
    if (el > 0.3)
        g_flag = 1;
}

/* A caller with its own SIGINT handler hands its flag over instead. */
static void test_own_flag(void **state)
{
    (void)state;
    fake f;
    start_fake(&f, "never", NULL);
    g_flag = 0;
    pf_launch_watch_flag(f.l, &g_flag);
    pf_ready_opts o;
    quick_opts(&o, &f, 60);
    o.progress_fn = set_flag_after_300ms;
    pf_ready_result r;
    pf_err err = {{0}};
    assert_int_equal(pf_launch_wait_ready(f.l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_INTERRUPTED);
    pf_launch_watch_flag(f.l, NULL);
    stop_and_verify(&f, 5, "SIGINT");
}

/* A second Ctrl-C while a stubborn server is being stopped goes straight to
 * SIGKILL instead of sitting out the grace periods. */
static void test_ctrl_c_during_stop(void **state)
{
    (void)state;
    pf_launch_sigs sigs;
    memset(&sigs, 0, sizeof sigs);
    pf_err err = {{0}};
    assert_int_equal(pf_launch_sigs_install(&sigs, &err), 0);
    fake f;
    start_fake(&f, "stubborn", NULL);
    assert_true(wait_file(f.pidfile, 20));
    pf_launch_watch_signals(f.l, &sigs);
    pid_t helper = fork();
    if (helper == 0) { /* the "user" presses Ctrl-C 0.4 s into the stop */
        struct timespec ts = {0, 400000000};
        nanosleep(&ts, NULL);
        kill(getppid(), SIGINT);
        _exit(0);
    }
    double t = pf_now();
    pf_launch_stop_result s;
    assert_int_equal(pf_launch_stop(f.l, 10, &s), 0);
    double took = pf_now() - t;
    waitpid(helper, NULL, 0);
    assert_string_equal(s.stage, "SIGKILL");
    assert_true(s.hurried);
    assert_true(s.all_gone);
    assert_true(took < 5); /* not 2 x 10 s of grace */
    assert_int_equal(sigs.count, 1);
    pf_launch_free(f.l);
    pf_launch_sigs_restore(&sigs);
}

/* A real tool's real fatal line through the launch path: the CUDA
 * toolkit's ptxas asked for an architecture it does not know (skipped when
 * there is no ptxas). */
static void test_real_ptxas_line(void **state)
{
    (void)state;
    char *ptxas = pf_is_file("/usr/local/cuda/bin/ptxas") ? pf_xstrdup("/usr/local/cuda/bin/ptxas") : pf_which("ptxas");
    if (!ptxas)
        skip();
    char ptx[512], cmd[2048];
    snprintf(ptx, sizeof ptx, "%s/tests/launch-k.ptx", PF_BINARY_DIR);
    FILE *fp = fopen(ptx, "w");
    assert_non_null(fp);
    fputs(".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry k(){ret;}\n", fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "%s --gpu-name=sm_999 %s -o /dev/null; exec sleep 30", ptxas, ptx);
    free(ptxas);
    char *argv[] = {"sh", "-c", cmd, NULL};
    pf_launch_opts lo = {.log_path = PF_BINARY_DIR "/tests/launch-ptxas.log"};
    pf_err err = {{0}};
    pf_launch *l = pf_launch_start(argv, &lo, &err);
    assert_non_null(l);
    pf_ready_opts o;
    pf_ready_opts_init(&o);
    o.base_url = "http://127.0.0.1:1";
    o.deadline_s = 20;
    o.progress = -1;
    pf_ready_result r;
    assert_int_equal(pf_launch_wait_ready(l, &o, &r, &err), 0);
    assert_int_equal(r.status, PF_READY_FATAL);
    assert_string_equal(r.fatal.sig->check_id, "toolchain.ptxas");
    assert_non_null(strstr(r.fatal.line, "is not defined for option 'gpu-name'"));
    pf_launch_stop_result s;
    assert_int_equal(pf_launch_stop(l, 5, &s), 0);
    pf_launch_free(l);
}

/* tee: what the server writes is also copied to our stderr. */
static void test_tee(void **state)
{
    (void)state;
    if (!g_python)
        skip();
    char path[512];
    snprintf(path, sizeof path, "%s/tests/launch-tee.stderr", PF_BINARY_DIR);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *cap = fopen(path, "w+");
    assert_non_null(cap);
    dup2(fileno(cap), STDERR_FILENO);
    char *script = pf_path_join(PF_SOURCE_DIR, "tests/bench/fake_server.py");
    char *argv[] = {g_python, "-u", script, "--port", "1", "--mode", "exit", NULL};
    pf_launch_opts lo = {.log_path = PF_BINARY_DIR "/tests/launch-tee.log", .tee = true,
                         .env_set = (const char *const[]){"PF_TEST_MARK=tee", NULL}};
    pf_err err = {{0}};
    pf_launch *l = pf_launch_start(argv, &lo, &err);
    pf_ready_opts o;
    pf_ready_opts_init(&o);
    o.base_url = "http://127.0.0.1:1";
    o.progress = -1;
    pf_ready_result r;
    if (l)
        pf_launch_wait_ready(l, &o, &r, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fclose(cap);
    free(script);
    assert_non_null(l);
    assert_int_equal(r.status, PF_READY_DIED);
    pf_launch_free(l);
    size_t len;
    char *text = pf_read_file(path, 1 << 20, &len, &err);
    assert_non_null(text);
    assert_non_null(strstr(text, "ValueError: unknown option --frobnicate"));
    assert_non_null(strstr(text, "[server] starting exit"));
    assert_non_null(strstr(text, "mark=tee")); /* env_set reached the server */
    free(text);
}

static void test_bad_starts(void **state)
{
    (void)state;
    pf_err err = {{0}};
    char *argv[] = {"/nonexistent/llm-server", "--port", "1", NULL};
    pf_launch_opts o = {.log_path = PF_BINARY_DIR "/tests/launch-bad.log"};
    assert_null(pf_launch_start(argv, &o, &err));
    assert_non_null(strstr(err.msg, "cannot execute /nonexistent/llm-server"));
    assert_non_null(strstr(err.msg, "No such file"));

    char *argv2[] = {"true", NULL};
    pf_launch_opts o2 = {.log_path = "/nonexistent-dir/x.log"};
    assert_null(pf_launch_start(argv2, &o2, &err));
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.log"));

    char *argv3[] = {NULL};
    assert_null(pf_launch_start(argv3, NULL, &err));
    assert_non_null(strstr(err.msg, "no server command"));

    /* a default log path is made up when none is given */
    pf_launch *l = pf_launch_start(argv2, NULL, &err);
    assert_non_null(l);
    assert_true(strstr(pf_launch_log_path(l), "preflight-server-") != NULL);
    pf_ready_opts ro;
    pf_ready_opts_init(&ro);
    pf_ready_result r;
    assert_int_equal(pf_launch_wait_ready(l, &ro, &r, &err), -1); /* no base URL */
    unlink(pf_launch_log_path(l));
    pf_launch_free(l);
}

int main(void)
{
    g_python = pf_which("python3");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready),           cmocka_unit_test(test_exits_at_once),
        cmocka_unit_test(test_never_ready),     cmocka_unit_test(test_fatal_line),
        cmocka_unit_test(test_stubborn),        cmocka_unit_test(test_dies_during_load),
        cmocka_unit_test(test_warmup_refused),  cmocka_unit_test(test_hint_is_not_fatal),
        cmocka_unit_test(test_ctrl_c_while_waiting), cmocka_unit_test(test_own_flag),
        cmocka_unit_test(test_ctrl_c_during_stop), cmocka_unit_test(test_tee),
        cmocka_unit_test(test_real_ptxas_line),
        cmocka_unit_test(test_bad_starts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_python);
    return rc;
}

/* test_bench_mt_stop.c -- every way a run stops reaches every event-loop
 * thread of the load driver: Ctrl-C (the stop flag) cancels what all of
 * them have in flight, a failing tick (launched server died) and N connect
 * failures in a row stop dispatching everywhere, and --duration ends all
 * loops at the deadline -- promptly, with every result kept. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_mt_fixture.h"

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Ctrl-C (the stop flag) cancels what every thread has in flight, at once. */
static void stop_flag_cancels_every_thread(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "5", "--tokens", "400", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 4);
    h.o.max_concurrency = 8;
    h.o.num_requests = 100;
    h.o.stop = &stop_flag;
    stop_flag = 0;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = pf_now();
    assert_int_equal(harness_run(&h, 1), 0);
    double took = pf_now() - t0;
    sigaction(SIGALRM, &old, NULL);
    server_stop(&s);
    if (took > 1.5)
        fail_msg("stopping took %.3f s after a 0.3 s run (streams last 2 s)", took);
    assert_true(h.out.aborted);
    assert_non_null(strstr(h.out.abort_reason, "interrupted"));
    check_indices(&h, 8);
    for (size_t i = 0; i < h.out.n; i++)
        assert_int_equal(h.out.results[i].fail, PF_FAIL_CANCELLED);
    assert_int_equal(h.out.not_sent, 92);
    harness_free(&h);
}

static pthread_t caller;

static int tick_fails_after(void *ud, char *why, size_t whylen)
{
    const double *t_fail = ud;
    /* ticks run on the caller's thread only (bench_run's tick is not
     * thread-safe) */
    if (!pthread_equal(pthread_self(), caller))
        fail_msg("tick called from another thread");
    if (pf_now() < *t_fail)
        return 0;
    snprintf(why, whylen, "the launched server died");
    return 1;
}

/* A failing tick stops dispatching in every thread; what is in flight
 * finishes normally. */
static void tick_stops_every_thread(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "20", "--itl-ms", "10", "--tokens", "10", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 4);
    h.o.max_concurrency = 8;
    h.o.num_requests = 2000;
    double t_fail = pf_now() + 0.4;
    caller = pthread_self();
    h.o.tick = tick_fails_after;
    h.o.tick_ud = &t_fail;
    h.o.tick_interval_s = 0.05;
    assert_int_equal(harness_run(&h, 1), 0);
    server_stop(&s);
    double late = pf_now() - t_fail;
    if (late > 1.0)
        fail_msg("the run ended %.3f s after the tick failed (requests last ~0.11 s)", late);
    assert_true(h.out.aborted);
    assert_string_equal(h.out.abort_reason, "the launched server died");
    assert_true(h.out.n > 8 && h.out.n < 2000);
    check_indices(&h, h.out.n);
    for (size_t i = 0; i < h.out.n; i++)
        assert_true(h.out.results[i].success);
    assert_int_equal(h.out.not_sent, 2000 - h.out.n);
    harness_free(&h);
}

/* Nobody listens: N connect failures in a row (counted over all threads)
 * stop every thread. */
static void connect_failures_stop_every_thread(void **state)
{
    (void)state;
    server s;
    server_start(&s, NULL);
    char url[96];
    snprintf(url, sizeof url, "%s", s.url);
    server_stop(&s); /* its port is now closed */
    harness h;
    harness_init(&h, url, 4);
    h.o.max_concurrency = 8;
    h.o.num_requests = 5000;
    h.o.abort_after_connect_failures = 5;
    double t0 = pf_now();
    assert_int_equal(harness_run(&h, 1), 0);
    assert_true(pf_now() - t0 < 5.0);
    assert_true(h.out.aborted);
    assert_non_null(strstr(h.out.abort_reason, "server unreachable"));
    assert_true(h.out.n >= 5 && h.out.n < 200);
    check_indices(&h, h.out.n);
    for (size_t i = 0; i < h.out.n; i++)
        assert_int_equal(h.out.results[i].fail, PF_FAIL_CONNECT);
    assert_int_equal(h.out.not_sent, 5000 - h.out.n);
    harness_free(&h);
}

/* --duration: closed loop until the deadline over all threads; and an open
 * loop whose last arrival, rounded, falls after the deadline (3/s for
 * 0.5 s: 2 arrivals, the last at 0.67 s) ends at the deadline instead of
 * waiting for it forever. */
static void duration_modes(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "2", "--tokens", "8", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 4);
    h.o.max_concurrency = 8;
    h.o.duration_s = 0.5;
    assert_int_equal(harness_run(&h, 1), 0);
    double d = h.out.t_end - h.out.t_start;
    if (d < 0.5 || d > 1.5)
        fail_msg("a 0.5 s run took %.3f s", d);
    assert_true(h.out.n > 40);
    check_indices(&h, h.out.n);
    assert_true(h.out.peak_in_flight <= 8);
    assert_int_equal(h.out.not_sent, 0);
    size_t threads[2] = {1, 4};
    for (int i = 0; i < 2; i++) {
        h.o.threads = threads[i];
        h.o.max_concurrency = 0;
        h.o.request_rate = 3.0;
        double t0 = pf_now();
        assert_int_equal(harness_run(&h, 3), 0);
        if (pf_now() - t0 > 2.0)
            fail_msg("%zu threads: a 0.5 s open-loop run took %.3f s", threads[i], pf_now() - t0);
        assert_int_equal(h.out.n + h.out.not_sent, 2);
        assert_true(h.out.not_sent >= 1);
    }
    server_stop(&s);
    harness_free(&h);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(stop_flag_cancels_every_thread, kill_live_server),
        cmocka_unit_test_teardown(tick_stops_every_thread, kill_live_server),
        cmocka_unit_test_teardown(connect_failures_stop_every_thread, kill_live_server),
        cmocka_unit_test_teardown(duration_modes, kill_live_server),
    };
    return cmocka_run_group_tests(tests, bench_mt_setup, bench_mt_teardown);
}

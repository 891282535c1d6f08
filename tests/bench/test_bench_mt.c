/* test_bench_mt.c -- the load driver with several event-loop threads
 * (pf_driver_opts.threads, `--threads`) against the scripted server
 * (tests/sse_server): bench_serving's semantics stay global (one semaphore,
 * one arrival schedule, every index once, dispatch in index order), time
 * stamps stay within the single-thread bounds, faults are counted per
 * request.  Stopping is in test_bench_mt_stop.c, the flag itself in
 * bench_mt_cli.sh. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_mt_fixture.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Client time stamps of every content event against the server's time
 * before write(): never early, median and maximum within the bounds of the
 * single-thread end-to-end test (test_bench_e2e, chat_timings_match_server). */
static void check_timings(const harness *h, json_t *rec)
{
    size_t cap = 4096, n = 0;
    double *errs = malloc(cap * sizeof *errs);
    for (size_t i = 0; i < h->out.n; i++) {
        const pf_req_result *r = &h->out.results[i];
        if (!r->success)
            continue;
        json_t *s = json_object_get(rec, r->id);
        assert_non_null(s);
        double t = r->start + r->ttft;
        size_t k = 0, e;
        json_t *ev;
        json_array_foreach(json_object_get(s, "events"), e, ev)
        {
            if (strcmp(json_string_value(json_array_get(ev, 2)), "c") != 0)
                continue;
            if (k > 0) {
                assert_true(k - 1 < r->n_itl);
                t += r->itl[k - 1];
            }
            double err = t - json_real_value(json_array_get(ev, 0));
            if (err < -1e-6)
                fail_msg("request %zu event %zu seen %.1f us before it was sent", r->index, k,
                         -err * 1e6);
            if (n == cap)
                errs = realloc(errs, (cap *= 2) * sizeof *errs);
            errs[n++] = err;
            k++;
        }
        assert_int_equal(k, r->n_itl + 1);
    }
    assert_true(n > 0);
    qsort(errs, n, sizeof *errs, cmp_double);
    double p50 = errs[n / 2], max = errs[n - 1];
    free(errs);
    if (p50 > 2e-3 || max > 200e-3)
        fail_msg("client-added error with %zu threads: median %.1f us, max %.1f us",
                 h->out.threads, p50 * 1e6, max * 1e6);
}

/* ---- tests ----------------------------------------------------------------- */

static void auto_threads_table(void **state)
{
    (void)state;
    static const struct {
        size_t conc;
        long ncpu;
        size_t want;
    } cases[] = {
        {1, 16, 1},    {64, 16, 1},    {128, 16, 1},  {129, 16, 2},  {1000, 16, 8},
        {1000, 2, 1},  {1000, 1, 1},   {1000, 0, 1},  {1000, -1, 1}, {0, 16, 4},
        {0, 2, 1},     {100000, 256, 64}, {5000, 64, 32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = pf_driver_auto_threads(cases[i].conc, cases[i].ncpu);
        if (got != cases[i].want)
            fail_msg("auto threads for concurrency %zu on %ld CPUs: %zu, want %zu", cases[i].conc,
                     cases[i].ncpu, got, cases[i].want);
    }
}

/* Closed loop, 4 threads, one semaphore of 6: never more than 6 in flight
 * (the server's own count agrees), all 6 used (no share left idle), every
 * thread sends, every index once. */
static void closed_loop_global_semaphore(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "10", "--itl-ms", "2", "--itl-jitter-ms", "1", "--tokens",
                           "10", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 4);
    h.o.max_concurrency = 6;
    h.o.num_requests = 150;
    h.col.spin_s = 20e-6;
    assert_int_equal(harness_run(&h, 1), 0);
    server_stop(&s);
    check_indices(&h, 150);
    assert_int_equal(h.out.threads, 4);
    assert_int_equal(h.col.ntids, 4);
    assert_false(h.out.aborted);
    assert_int_equal(h.out.not_sent, 0);
    assert_int_equal(h.out.peak_in_flight, 6);
    json_t *rec = server_record();
    long act = server_max_active(rec);
    if (act != 6)
        fail_msg("the server saw at most %ld streams at once; the limit is 6", act);
    /* bench_serving's concurrency: sum of latencies / duration; idle
     * slots (per-thread shares not handed on) would pull it down */
    double sum = 0;
    for (size_t i = 0; i < h.out.n; i++) {
        assert_true(h.out.results[i].success);
        sum += h.out.results[i].latency;
    }
    double conc = sum / (h.out.t_end - h.out.t_start);
    if (conc < 0.75 * 6)
        fail_msg("average concurrency %.2f of 6", conc);
    check_timings(&h, rec);
    json_decref(rec);
    harness_free(&h);
}

/* More threads than slots: only as many loops as slots; 5 slots over 4
 * threads (shares of 2) are all used. */
static void threads_and_small_limits(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "8", "--itl-ms", "2", "--tokens", "6", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 8);
    h.o.max_concurrency = 3;
    h.o.num_requests = 40;
    assert_int_equal(harness_run(&h, 1), 0);
    check_indices(&h, 40);
    assert_int_equal(h.out.threads, 3);
    assert_true(h.out.peak_in_flight <= 3);

    h.o.threads = 4;
    h.o.max_concurrency = 5;
    h.o.num_requests = 100;
    assert_int_equal(harness_run(&h, 1), 0);
    server_stop(&s);
    check_indices(&h, 100);
    assert_int_equal(h.out.threads, 4);
    assert_int_equal(h.out.peak_in_flight, 5);
    json_t *rec = server_record();
    assert_int_equal(server_max_active(rec), 5);
    json_decref(rec);

    /* unlimited, all at once: spread over the threads, all sent */
    server_start(&s, sargs);
    h.o.max_concurrency = 0;
    h.o.num_requests = 64;
    assert_int_equal(harness_run(&h, 1), 0);
    server_stop(&s);
    check_indices(&h, 64);
    assert_int_equal(h.col.ntids, 4);
    harness_free(&h);
}

/* Open loop: the same seed gives the same schedule with 1 and 4 threads,
 * and every request goes out at or after its arrival time, in index order. */
static void open_loop_schedule_identical(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "3", "--tokens", "8", "--no-role", NULL};
    server_start(&s, sargs);
    enum { N = 90 };
    double sched[N + 1];
    pf_rng rng;
    pf_rng_seed(&rng, 77);
    pf_arrival_schedule(N, 150.0, 1.0, &rng, sched);
    double offs[2][N];
    size_t threads[2] = {1, 4};
    for (int run = 0; run < 2; run++) {
        harness h;
        harness_init(&h, s.url, threads[run]);
        h.o.request_rate = 150.0;
        h.o.num_requests = N;
        assert_int_equal(harness_run(&h, 77), 0);
        check_indices(&h, N);
        assert_int_equal(h.out.threads, threads[run]);
        double late_max = 0;
        for (size_t i = 0; i < N; i++) {
            const pf_req_result *r = &h.out.results[i];
            assert_true(r->success);
            double off = r->start - h.out.t_start;
            if (off < sched[i] - 1e-9)
                fail_msg("%zu threads: request %zu sent %.1f us before its arrival time",
                         threads[run], i, (sched[i] - off) * 1e6);
            if (off - sched[i] > late_max)
                late_max = off - sched[i];
            offs[run][i] = off;
        }
        check_dispatch_order(&h);
        /* loose for a shared CI machine under sanitizers; typically < 0.5 ms */
        if (late_max > 50e-3)
            fail_msg("%zu threads: a request went out %.1f ms after its arrival time",
                     threads[run], late_max * 1e3);
        if (threads[run] > 1 && h.col.ntids < 2)
            fail_msg("4 threads, but only %zu sent requests", h.col.ntids);
        harness_free(&h);
    }
    /* the same schedule: dispatch offsets agree to within the lateness */
    for (size_t i = 0; i < N; i++)
        if (fabs(offs[0][i] - offs[1][i]) > 50e-3)
            fail_msg("request %zu at %.3f ms with 1 thread, %.3f ms with 4", i, offs[0][i] * 1e3,
                     offs[1][i] * 1e3);
    server_stop(&s);
}

/* Open loop faster than the server with --max-concurrency 2: a backlog
 * waits for the one semaphore and leaves in index order. */
static void open_loop_backlog_in_order(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "10", "--itl-ms", "2", "--tokens", "6", "--no-role", NULL};
    server_start(&s, sargs);
    harness h;
    harness_init(&h, s.url, 4);
    h.o.request_rate = 1000.0;
    h.o.max_concurrency = 2;
    h.o.num_requests = 60;
    assert_int_equal(harness_run(&h, 5), 0);
    server_stop(&s);
    check_indices(&h, 60);
    assert_int_equal(h.out.peak_in_flight, 2);
    check_dispatch_order(&h);
    json_t *rec = server_record();
    assert_int_equal(server_max_active(rec), 2);
    json_decref(rec);
    /* 60 requests of ~20 ms, 2 at a time: ~0.6 s when no slot idles */
    double d = h.out.t_end - h.out.t_start;
    if (d > 1.2)
        fail_msg("60 requests of ~20 ms two at a time took %.3f s", d);
    harness_free(&h);
}

/* Faults stay per request, whichever thread met them. */
static void faults_counted_per_request(void **state)
{
    (void)state;
    static const struct {
        const char *fault, *every;
        pf_fail_kind kind;
        size_t failed;
    } cases[] = {
        {"http500", "3", PF_FAIL_HTTP, 10},
        {"reset", "4", PF_FAIL_RESET, 7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        server s;
        const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "1", "--tokens", "6", "--no-role",
                               "--fault", cases[c].fault, "--fault-every", cases[c].every,
                               "--fault-after", "2", NULL};
        server_start(&s, sargs);
        harness h;
        harness_init(&h, s.url, 4);
        h.o.max_concurrency = 6;
        h.o.num_requests = 30;
        assert_int_equal(harness_run(&h, 1), 0);
        server_stop(&s);
        check_indices(&h, 30);
        size_t failed = 0;
        for (size_t i = 0; i < h.out.n; i++) {
            const pf_req_result *r = &h.out.results[i];
            if (r->success)
                continue;
            failed++;
            if (r->fail != cases[c].kind)
                fail_msg("%s: request %zu failed as %s", cases[c].fault, r->index,
                         pf_fail_kind_name(r->fail));
        }
        if (failed != cases[c].failed)
            fail_msg("%s every %s of 30: %zu failed, want %zu", cases[c].fault, cases[c].every,
                     failed, cases[c].failed);
        assert_false(h.out.aborted);
        harness_free(&h);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auto_threads_table),
        cmocka_unit_test_teardown(closed_loop_global_semaphore, kill_live_server),
        cmocka_unit_test_teardown(threads_and_small_limits, kill_live_server),
        cmocka_unit_test_teardown(open_loop_schedule_identical, kill_live_server),
        cmocka_unit_test_teardown(open_loop_backlog_in_order, kill_live_server),
        cmocka_unit_test_teardown(faults_counted_per_request, kill_live_server),
    };
    return cmocka_run_group_tests(tests, bench_mt_setup, bench_mt_teardown);
}

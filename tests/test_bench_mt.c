/* test_bench_mt.c -- the load driver with several event-loop threads
 * (pf_driver_opts.threads, `--threads`) against the scripted server
 * (tests/sse_server): bench_serving's semantics stay global (one semaphore,
 * one arrival schedule, every index once, dispatch in index order), time
 * stamps stay within the single-thread bounds, faults are counted per
 * request, and Ctrl-C, a failing tick and connect failures stop every loop.
 * The driver is called directly, so the tests see its output structure and
 * which thread ran each request; the CLI part is at the end. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/driver.h"

#define SERVER PF_BINARY_DIR "/tests/sse_server"
#define CLIENT PF_BINARY_DIR "/tests/pf_bench"

static char dir[256];
static pid_t live_server;

static char *path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ---- the scripted server ------------------------------------------------ */

typedef struct server {
    pid_t pid;
    char url[96];
} server;

static void server_start(server *s, const char *const *extra)
{
    char *pf = path("port"), *rec = path("server.jsonl");
    unlink(pf);
    unlink(rec);
    const char *argv[64] = {SERVER, "--port-file", pf, "--record", rec};
    int n = 5;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        execv(SERVER, (char *const *)argv);
        _exit(127);
    }
    live_server = s->pid;
    double deadline = pf_now() + 10;
    FILE *f = NULL;
    while (pf_now() < deadline && !(f = fopen(pf, "r")))
        usleep(10000);
    assert_non_null(f);
    int port;
    assert_int_equal(fscanf(f, "%d", &port), 1);
    fclose(f);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/v1/chat/completions", port);
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    live_server = 0;
}

static int kill_live_server(void **state)
{
    (void)state;
    if (live_server > 0) {
        kill(live_server, SIGKILL);
        waitpid(live_server, NULL, 0);
        live_server = 0;
    }
    return 0;
}

/* The server's record: one object per stream, by response id. */
static json_t *server_record(void)
{
    json_t *by_id = json_object();
    FILE *f = fopen(path("server.jsonl"), "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        json_object_set_new(by_id, json_string_value(json_object_get(o, "id")), o);
    }
    free(line);
    fclose(f);
    return by_id;
}

static long server_max_active(json_t *rec)
{
    long m = 0;
    const char *k;
    json_t *v;
    json_object_foreach(rec, k, v)
    {
        long a = (long)json_integer_value(json_object_get(v, "active"));
        if (a > m)
            m = a;
    }
    return m;
}

/* ---- driving the driver ------------------------------------------------- */

#define NWORK 7

typedef struct collect {
    size_t calls;              /* plain: the driver's lock protects on_result */
    pthread_t tids[PF_DRIVER_MAX_THREADS];
    size_t ntids;
    atomic_int inside;
    atomic_int overlaps;
    double spin_s;             /* make on_result slow, to provoke overlaps */
} collect;

static void on_result(void *ud, const pf_req_result *r)
{
    collect *c = ud;
    (void)r;
    if (atomic_exchange(&c->inside, 1))
        atomic_fetch_add(&c->overlaps, 1);
    c->calls++;
    pthread_t me = pthread_self();
    size_t i = 0;
    while (i < c->ntids && !pthread_equal(c->tids[i], me))
        i++;
    if (i == c->ntids && c->ntids < PF_DRIVER_MAX_THREADS)
        c->tids[c->ntids++] = me;
    double until = pf_now() + c->spin_s;
    while (pf_now() < until)
        ;
    atomic_store(&c->inside, 0);
}

typedef struct harness {
    pf_work work[NWORK];
    pf_driver_opts o;
    collect col;
    pf_driver *drv;
    pf_driver_out out;
} harness;

static void harness_init(harness *h, const char *url, size_t threads)
{
    memset(h, 0, sizeof *h);
    pf_body_opts bo = {PF_API_CHAT, "test-model", true, true, 0.0, NULL};
    for (size_t i = 0; i < NWORK; i++) {
        h->work[i].body = pf_request_body(&bo, "hello there world", NULL, 0, 16, &h->work[i].body_len);
        h->work[i].output_len = 16;
        h->work[i].prompt_len = 3;
        h->work[i].row = 100 + i;
    }
    pf_driver_opts *o = &h->o;
    o->url = url;
    o->api = PF_API_CHAT;
    o->request_timeout_s = 20;
    o->connect_timeout_s = 5;
    o->request_rate = INFINITY;
    o->burstiness = 1.0;
    o->threads = threads;
    o->work = h->work;
    o->n_work = NWORK;
    o->on_result = on_result;
    o->ud = &h->col;
    atomic_init(&h->col.inside, 0);
    atomic_init(&h->col.overlaps, 0);
    pf_err err;
    h->drv = pf_driver_new(&err);
    assert_non_null(h->drv);
}

static int harness_run(harness *h, uint64_t seed)
{
    pf_rng rng;
    pf_rng_seed(&rng, seed);
    pf_err err = {{0}};
    pf_driver_out_free(&h->out);
    h->col.calls = 0;
    int rc = pf_driver_run(h->drv, &h->o, &rng, &h->out, &err);
    if (rc < 0)
        print_message("pf_driver_run: %s\n", err.msg);
    return rc;
}

static void harness_free(harness *h)
{
    pf_driver_out_free(&h->out);
    pf_driver_free(h->drv);
    for (size_t i = 0; i < NWORK; i++)
        free((char *)h->work[i].body);
}

/* Every index 0..n-1 exactly once, in order, each with its work row; and
 * on_result saw each once, never two at a time. */
static void check_indices(const harness *h, size_t n)
{
    assert_int_equal(h->out.n, n);
    for (size_t i = 0; i < h->out.n; i++) {
        if (h->out.results[i].index != i)
            fail_msg("result %zu has index %zu (missing or duplicate index)", i,
                     h->out.results[i].index);
        assert_int_equal(h->out.results[i].row, 100 + i % NWORK);
    }
    assert_int_equal(h->col.calls, n);
    assert_int_equal(atomic_load(&h->col.overlaps), 0);
}

/* Dispatch order is index order: requests are claimed from one counter
 * under one lock.  Each is stamped by the thread that sends it, after the
 * claim, so two claimed at nearly the same moment on two threads may carry
 * stamps in either order (preemption between claim and stamp on a loaded
 * machine): a small tolerance. */
static void check_dispatch_order(const harness *h)
{
    for (size_t i = 1; i < h->out.n; i++) {
        double d = h->out.results[i - 1].start - h->out.results[i].start;
        if (d > 10e-3)
            fail_msg("%zu threads: request %zu sent %.3f ms before request %zu", h->out.threads, i,
                     d * 1e3, i - 1);
    }
}

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

/* ---- the command line ---------------------------------------------------- */

/* pf_bench with args; output to dir/out.txt; killed after `deadline_s`;
 * with sigint_after > 0 it gets SIGINT then.  Returns the exit code. */
static int run_client(const char *const *args, double sigint_after, double deadline_s)
{
    const char *argv[64] = {CLIENT};
    int n = 1;
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *o = freopen(path("out.txt"), "w", stdout);
        (void)o;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        execv(CLIENT, (char *const *)argv);
        _exit(127);
    }
    double t0 = pf_now();
    bool sent = false;
    int st;
    for (;;) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        if (sigint_after > 0 && !sent && pf_now() - t0 >= sigint_after) {
            kill(pid, SIGINT);
            sent = true;
        }
        if (pf_now() - t0 > deadline_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("pf_bench did not finish within %.0f s", deadline_s);
        }
        usleep(5000);
    }
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "r");
    if (!f)
        return strdup("");
    char *buf = malloc(1 << 20);
    size_t len = fread(buf, 1, (1 << 20) - 1, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static json_t *level0(json_t *rec)
{
    return json_array_get(json_object_get(json_object_get(rec, "bench"), "levels"), 0);
}

static void cli_threads_flag(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "65", "two", "-1", "4x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--url", "http://127.0.0.1:1", "--threads", bad[i], NULL};
        int rc = run_client(args, 0, 30);
        char *o = slurp(path("out.txt"));
        if (rc != 2 || !strstr(o, "--threads"))
            fail_msg("--threads '%s': exit %d, output: %s", bad[i], rc, o);
        free(o);
    }
    server s;
    const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "2", "--tokens", "8", NULL};
    server_start(&s, sargs);
    char base[96];
    snprintf(base, sizeof base, "%.*s", (int)(strstr(s.url, "/v1/") - s.url), s.url);
    const char *args[] = {"--url", base, "--threads", "4", "--concurrency", "2,8", "--num-prompts",
                          "24", "--random-input-len", "8", "--no-progress", "-q", "--json",
                          path("record.json"), NULL};
    assert_int_equal(run_client(args, 0, 60), 0);
    json_t *rec = json_load_file(path("record.json"), 0, NULL);
    assert_non_null(rec);
    json_t *lv = json_object_get(json_object_get(rec, "bench"), "levels");
    /* 2 slots: 2 threads; 8 slots: all 4 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lv, 0), "client_threads")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lv, 1), "client_threads")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lv, 1), "sent")), 24);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(rec, "bench"), "config"), "threads")), 4);
    json_decref(rec);
    const char *aargs[] = {"--url", base, "--threads=auto", "--concurrency", "8", "--num-prompts",
                           "10", "--random-input-len", "8", "--no-progress", "-q", "--json",
                           path("record.json"), NULL};
    assert_int_equal(run_client(aargs, 0, 60), 0);
    rec = json_load_file(path("record.json"), 0, NULL);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(rec, "bench"), "config"), "threads")),
                        "auto");
    assert_int_equal(json_integer_value(json_object_get(level0(rec), "client_threads")), 1);
    json_decref(rec);
    server_stop(&s);
}

/* A real Ctrl-C to `preflight bench --threads 4`: every thread's streams
 * are cancelled, the record is written, exit 3, promptly. */
static void cli_sigint_stops_every_thread(void **state)
{
    (void)state;
    server s;
    const char *sargs[] = {"--ttft-ms", "5", "--itl-ms", "5", "--tokens", "1000", NULL};
    server_start(&s, sargs);
    char base[96];
    snprintf(base, sizeof base, "%.*s", (int)(strstr(s.url, "/v1/") - s.url), s.url);
    const char *args[] = {"--url", base, "--threads", "4", "--concurrency", "8", "--num-prompts",
                          "50", "--random-input-len", "8", "--warmup-requests", "0",
                          "--no-progress", "--requests-jsonl", path("requests.jsonl"), "--json",
                          path("record.json"), NULL};
    unlink(path("requests.jsonl"));
    double t0 = pf_now();
    int rc = run_client(args, 0.6, 30);
    double took = pf_now() - t0;
    server_stop(&s);
    assert_int_equal(rc, 3);
    if (took > 3.0)
        fail_msg("Ctrl-C at 0.6 s, exit after %.3f s (streams last 5 s)", took);
    json_t *rec = json_load_file(path("record.json"), 0, NULL);
    assert_non_null(rec);
    json_t *lv = level0(rec);
    assert_string_equal(json_string_value(json_object_get(lv, "aborted")), "interrupted (Ctrl-C)");
    assert_int_equal(json_integer_value(json_object_get(lv, "sent")), 8);
    assert_int_equal(json_integer_value(json_object_get(lv, "not_sent")), 42);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(lv, "failures"), "cancelled"), "count")), 8);
    json_decref(rec);
    /* every cancelled request is in the per-request file */
    char *txt = slurp(path("requests.jsonl"));
    size_t lines = 0;
    for (char *p = txt; (p = strchr(p, '\n')); p++)
        lines++;
    free(txt);
    assert_int_equal(lines, 8);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pf_bench_mt_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
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
        cmocka_unit_test_teardown(stop_flag_cancels_every_thread, kill_live_server),
        cmocka_unit_test_teardown(tick_stops_every_thread, kill_live_server),
        cmocka_unit_test_teardown(connect_failures_stop_every_thread, kill_live_server),
        cmocka_unit_test_teardown(duration_modes, kill_live_server),
        cmocka_unit_test_teardown(cli_threads_flag, kill_live_server),
        cmocka_unit_test_teardown(cli_sigint_stops_every_thread, kill_live_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

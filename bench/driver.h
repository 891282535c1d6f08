/* driver.h -- the load generator: many concurrent streaming requests on one
 * or more event-loop threads (each: libcurl multi, socket interface, epoll),
 * paced closed- or open-loop, each timed by pf_resp.
 *
 * Threads (opts.threads > 1): the streams are spread over N loops, each with
 * its own curl handles and connections.  What bench_serving defines stays
 * global: one concurrency semaphore over all threads, one arrival schedule,
 * request i uses work[i % n_work], indices are claimed in order from one
 * counter (driver_mt.c says how and why).
 *
 * Timing: a request's clock starts right before it is handed to curl, after
 * it got its concurrency slot (bench_serving's `st` inside the semaphore).
 * Bytes are stamped in curl's write callback, right after recv() returned
 * them: a stamp can never precede the server's send (a stamp taken when
 * epoll_wait returned could, for bytes arriving between the wake-up and the
 * read), and is late by at most the work done earlier in the same wake-up.  Connections are kept alive
 * and reused across requests (bench_serving opens one per request; see
 * docs/bench.md).  Every transfer has a deadline (--request-timeout).
 */
#ifndef PF_BENCH_DRIVER_H
#define PF_BENCH_DRIVER_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/http.h"
#include "bench/metrics.h"
#include "bench/request.h"
#include "bench/rng.h"

typedef struct pf_driver pf_driver;

/* One request to send: a prebuilt body (borrowed until the run returns). */
typedef struct pf_work {
    const char *body;
    size_t body_len;
    long output_len;      /* requested max tokens */
    long prompt_len;
    bool prompt_len_exact;
    size_t row;           /* dataset row, for the record */
} pf_work;

typedef struct pf_driver_opts {
    const char *url;                 /* full endpoint URL */
    pf_api api;
    const pf_http_headers *headers;
    double request_timeout_s;        /* per request, whole transfer; > 0 */
    double connect_timeout_s;        /* > 0 */
    bool allow_missing_done;         /* accept a stream that ends without [DONE] */
    bool busy_poll;                  /* spin on epoll while requests are in flight */
    size_t threads;                  /* event-loop threads; 0 or 1: the caller's only */
    /* load shape */
    size_t max_concurrency;          /* 0: unlimited */
    double request_rate;             /* requests/s; INFINITY: all at once */
    double burstiness;               /* gamma shape (vLLM); 1 = Poisson */
    size_t num_requests;             /* requests to send; with duration_s: 0 */
    double duration_s;               /* > 0: send until then (and rate*duration arrivals) */
    size_t abort_after_connect_failures; /* consecutive; 0: never abort */
    bool warmup;                     /* mark results as warm-up */
    /* the work: request i uses work[i % n_work] */
    const pf_work *work;
    size_t n_work;
    /* called as each request finishes (JSONL writer); never concurrently,
     * from whichever thread ran the request */
    void (*on_result)(void *ud, const pf_req_result *r);
    void *ud;
    /* progress line on stderr (caller decides: TTY and not quiet) */
    bool progress;
    const char *progress_label;
    /* optional Prometheus scraping during the run */
    const char *metrics_url;         /* NULL: off */
    double metrics_interval_s;
    json_t *metrics_series;          /* borrowed; scrapes are appended here */
    double metrics_t0;               /* times in the series are relative to this */
    /* set asynchronously (SIGINT) to stop dispatching and cancel in-flight */
    volatile sig_atomic_t *stop;
    /* called about every tick_interval_s (e.g. to see whether a launched
     * server died), on the caller's thread only; a non-zero return aborts
     * the run with `why` as reason.  Progress and scrapes are the caller's
     * thread's too. */
    int (*tick)(void *ud, char *why, size_t whylen);
    void *tick_ud;
    double tick_interval_s;
} pf_driver_opts;

typedef struct pf_driver_out {
    pf_req_result *results;          /* one per request sent, by index (= dispatch order) */
    size_t n;
    double t_start;                  /* monotonic: just before the first dispatch */
    double t_end;                    /* monotonic: when the last request finished */
    size_t not_sent;                 /* scheduled but never sent (abort/stop) */
    bool aborted;
    char abort_reason[256];
    size_t scrapes_ok, scrapes_failed;
    char scrape_error[256];
    size_t peak_in_flight;           /* over all threads */
    size_t threads;                  /* event-loop threads that ran */
    /* how long a loop spent on one wake-up: a socket read late in it gets
     * its bytes stamped that much later, so this bounds the client-side
     * timing error.  Counts are summed over the
     * threads, maxima are the largest of any thread. */
    size_t wakes, wakes_over_1ms, wakes_over_10ms, max_events_per_wake;
    double max_wake_s;
} pf_driver_out;

pf_driver *pf_driver_new(pf_err *err);
void pf_driver_free(pf_driver *d);
/* Run one batch (a warm-up or a measured level).  Returns 0 when the run
 * happened (failed requests are results, not errors), -1 when it could not
 * start.  The arrival schedule draws from rng. */
int pf_driver_run(pf_driver *d, const pf_driver_opts *o, pf_rng *rng, pf_driver_out *out,
                  pf_err *err);
void pf_driver_out_free(pf_driver_out *out);

/* vLLM's arrival schedule: n gamma(burstiness, 1/(rate*burstiness)) gaps,
 * accumulated and rescaled so the last arrival is at n/rate.  All zeros for
 * an infinite rate.  Pure, for tests. */
void pf_arrival_schedule(size_t n, double rate, double burstiness, pf_rng *rng, double *t);

#define PF_DRIVER_MAX_THREADS 64
/* `--threads auto`: one thread per 128 streams of `concurrency` (4 when it
 * is unbounded, 0), at most half of `ncpu` (the server or other work may
 * share the host), at least 1, at most PF_DRIVER_MAX_THREADS.  Pure. */
size_t pf_driver_auto_threads(size_t concurrency, long ncpu);

#endif

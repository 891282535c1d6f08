/* driver_int.h -- what driver.c (one event loop), driver_xfer.c (one
 * transfer: start, bytes in, verdict; Prometheus scrapes) and driver_mt.c
 * (the state all loops of one run share: claims, slots, stop, threads)
 * share.  Internal to the driver; nothing else includes it. */
#ifndef PF_BENCH_DRIVER_INT_H
#define PF_BENCH_DRIVER_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bench/driver.h"

#define ERRBODY_MAX 1024
#define HEAD_MAX 160
#define SCRAPE_MAX ((size_t)8 << 20)

typedef struct xfer {
    struct pf_driver *d;
    CURL *easy;
    size_t index;
    const pf_work *w;
    pf_resp resp;
    pf_sse sse;
    long status;
    bool status_known;
    char errbody[ERRBODY_MAX + 1];
    size_t errlen;
    char head[HEAD_MAX + 1];    /* first body bytes, for "not an SSE stream" */
    size_t headlen;
    char errbuf[CURL_ERROR_SIZE];
    size_t slot;                /* position in pf_driver.active */
    bool cancelled;
    double rx;                  /* when write_cb got the bytes being parsed */
} xfer;

/* One run (a warm-up or a level) as all its loops see it.  Fields above
 * claim_mu are set before any loop starts and read-only after. */
typedef struct pf_drv_run {
    const pf_driver_opts *o;
    size_t nthreads;
    struct pf_driver **loops;   /* [nthreads]; loops[0] runs on the caller's thread */
    const double *sched;        /* arrival times after t_start; NULL: all due at once */
    size_t n_sched;             /* requests to send; SIZE_MAX: until the deadline */
    double t_start;
    double deadline;            /* --duration: no new request after it; else INFINITY */
    size_t max_conc;            /* the one semaphore of all threads; 0: none */
    /* closed loop: loop k may have share + (k < share_extra) in flight; the
     * shares add up to the limit.  Open loop: SIZE_MAX (no share). */
    size_t share, share_extra;
    /* next and slots grow only under claim_mu (a claim checks and takes
     * both at once); slots shrink without it.  Atomic so that a loop can see
     * without the lock that there is nothing to claim. */
    pthread_mutex_t claim_mu;
    atomic_size_t next;         /* the next request index to send */
    atomic_size_t slots;        /* requests in flight, all threads */
    size_t peak;                /* under claim_mu */
    size_t start_failed;        /* claimed but could not be started; under claim_mu */
    atomic_size_t done, failed; /* for the progress line */
    atomic_size_t connect_fails; /* consecutive, in the order requests finished */
    atomic_bool stopping;       /* no more claims */
    atomic_bool cancel;         /* and cancel what is in flight (Ctrl-C, errors) */
    atomic_size_t workers_left; /* loops other than loops[0] still running */
    pthread_mutex_t abort_mu;   /* aborted, abort_reason, rc, err, go */
    pthread_cond_t gate;        /* the other loops wait for go (t_start set) */
    int go;                     /* 1: run; -1: do not */
    bool aborted;
    char abort_reason[256];
    int rc;
    pf_err err;
    pthread_mutex_t result_mu;  /* on_result is called under it */
} pf_drv_run;

struct pf_driver {
    CURLM *multi;
    int epfd, tfd;
    int wfd;                    /* eventfd: another loop of the run wants this one awake */
    double curl_deadline;       /* INFINITY: curl wants no timeout */
    double armed;               /* what the timerfd is armed for */
    double stamp;               /* time of the last epoll_wait return (busy-time accounting) */
    xfer **idle;                /* reusable transfers */
    size_t nidle, capidle;
    struct curl_slist *slist;
    const pf_driver_opts *o;
    pf_drv_run *run;
    size_t k;                   /* this loop's number in the run */
    pf_driver_out *out;         /* this loop's results and loop statistics */
    size_t in_flight;           /* this loop's */
    xfer **active;              /* in-flight transfers, for cancellation */
    size_t capactive;
    double t_done;              /* when this loop had nothing left to do */
    pf_err err;                 /* a transfer that could not be started */
    /* results storage */
    size_t cap_results;
    /* results not yet handed to on_result: that costs tens of microseconds
     * (a JSONL line), so it waits until no socket is ready */
    size_t *pending;
    size_t npending, cappending, pending_head;
    double oldest_pending;
    double notify_retry;        /* on_result's lock was busy: try again then */
    /* scraping (loops[0] only) */
    CURL *scrape;
    bool scrape_busy;
    char *sbuf;
    size_t slen;
    double scrape_t, next_scrape;
    char scrape_err[CURL_ERROR_SIZE];
    /* the loops of the other threads (the caller's driver owns them) */
    struct pf_driver **workers;
    size_t nworkers;
};

/* driver.c */
void pf_drv_loop(pf_driver *d);

/* driver_xfer.c */
void pf_drv_xfer_free(xfer *x);
int pf_drv_start_one(pf_driver *d, size_t index, pf_err *err);
void pf_drv_finish_one(pf_driver *d, CURL *e, CURLcode cc);
/* false when another thread held on_result's lock (nothing was handed) */
bool pf_drv_notify(pf_driver *d, double budget);
void pf_drv_scrape_start(pf_driver *d, double now);
void pf_drv_scrape_done(pf_driver *d, CURLcode cc);

/* driver_mt.c */
void pf_drv_run_init(pf_drv_run *r);
void pf_drv_run_destroy(pf_drv_run *r);
/* Take the next request for loop d if one is due, a slot is free and d has
 * room: true with *index.  Else false, and *wake is when d should look
 * again for arrivals (INFINITY: its own transfers or another loop will wake
 * it). */
bool pf_drv_claim(pf_drv_run *r, pf_driver *d, double now, size_t *index, double *wake);
/* A claimed request that could not be started. */
void pf_drv_unclaim(pf_drv_run *r);
/* A request finished: its slot is free (the finishing loop claims the next
 * one itself, so no other thread needs waking). */
void pf_drv_release(pf_drv_run *r, bool success, bool connect_failed);
/* Could a request still be claimed (now or later)? */
bool pf_drv_more(pf_drv_run *r, double now);
/* Stop claiming in every loop (first reason wins); cancel: also cancel what
 * is in flight.  Wakes every loop. */
void pf_drv_stop(pf_drv_run *r, const char *reason, bool cancel);
void pf_drv_wake(pf_driver *d);
/* Run every loop of r (loops[0] here, the others on their own threads) and
 * merge their results into out (loops[0]'s). */
void pf_drv_run_loops(pf_drv_run *r, pf_driver_out *out);

#endif

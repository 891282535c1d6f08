/* driver_int.h -- what driver.c (the event loop) and driver_xfer.c (one
 * transfer: start, bytes in, verdict; Prometheus scrapes) share.  Internal to
 * the driver; nothing else includes it. */
#ifndef PF_BENCH_DRIVER_INT_H
#define PF_BENCH_DRIVER_INT_H

#include <curl/curl.h>

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
} xfer;

struct pf_driver {
    CURLM *multi;
    int epfd, tfd;
    double curl_deadline;       /* INFINITY: curl wants no timeout */
    double armed;               /* what the timerfd is armed for */
    double stamp;               /* time of the last epoll_wait return */
    xfer **idle;                /* reusable transfers */
    size_t nidle, capidle;
    struct curl_slist *slist;
    const pf_driver_opts *o;
    pf_driver_out *out;
    size_t in_flight;
    xfer **active;              /* in-flight transfers, for cancellation */
    size_t capactive;
    size_t consecutive_connect_failures;
    /* results storage */
    size_t cap_results;
    /* results not yet handed to on_result: that costs tens of microseconds
     * (a JSONL line), so it waits until no socket is ready */
    size_t *pending;
    size_t npending, cappending, pending_head;
    double oldest_pending;
    /* scraping */
    CURL *scrape;
    bool scrape_busy;
    char *sbuf;
    size_t slen;
    double scrape_t, next_scrape;
    char scrape_err[CURL_ERROR_SIZE];
};

/* driver_xfer.c */
void pf_drv_xfer_free(xfer *x);
int pf_drv_start_one(pf_driver *d, size_t index, pf_err *err);
void pf_drv_finish_one(pf_driver *d, CURL *e, CURLcode cc);
void pf_drv_notify(pf_driver *d, double budget);
void pf_drv_scrape_start(pf_driver *d, double now);
void pf_drv_scrape_done(pf_driver *d, CURLcode cc);

#endif

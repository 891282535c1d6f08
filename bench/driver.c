/* driver.c -- curl multi + epoll load loop (see driver.h). */
#include "bench/driver.h"
#include "bench/prom.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

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

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    pf_driver *d = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, s, NULL); /* may already be closed */
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (!socketp) {
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
            epoll_ctl(d->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(d->multi, s, d); /* any non-NULL marks "registered" */
    } else if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT) {
        epoll_ctl(d->epfd, EPOLL_CTL_ADD, s, &ev);
    }
    (void)e;
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    pf_driver *d = userp;
    d->curl_deadline = timeout_ms < 0 ? INFINITY : pf_now() + (double)timeout_ms / 1000.0;
    (void)m;
    return 0;
}

pf_driver *pf_driver_new(pf_err *err)
{
    static bool global_done;
    if (!global_done) {
        /* not thread safe by curl's contract; preflight calls this from main */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            pf_err_set(err, "curl_global_init failed");
            return NULL;
        }
        global_done = true;
    }
    pf_driver *d = pf_xcalloc(1, sizeof *d);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    d->multi = curl_multi_init();
    if (d->epfd < 0 || d->tfd < 0 || !d->multi) {
        pf_err_errno(err, errno, "cannot set up the event loop (epoll/timerfd/curl multi)");
        pf_driver_free(d);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->tfd};
    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    d->curl_deadline = INFINITY;
    d->armed = -1;
    return d;
}

static void xfer_free(xfer *x)
{
    if (!x)
        return;
    curl_easy_cleanup(x->easy);
    pf_resp_free(&x->resp);
    pf_sse_free(&x->sse);
    free(x);
}

void pf_driver_free(pf_driver *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nidle; i++)
        xfer_free(d->idle[i]);
    free(d->idle);
    free(d->active);
    free(d->pending);
    if (d->scrape)
        curl_easy_cleanup(d->scrape);
    free(d->sbuf);
    if (d->multi)
        curl_multi_cleanup(d->multi);
    if (d->epfd >= 0)
        close(d->epfd);
    if (d->tfd >= 0)
        close(d->tfd);
    curl_slist_free_all(d->slist);
    free(d);
}

void pf_driver_out_free(pf_driver_out *out)
{
    for (size_t i = 0; i < out->n; i++)
        pf_req_result_free(&out->results[i]);
    free(out->results);
    memset(out, 0, sizeof *out);
}

void pf_arrival_schedule(size_t n, double rate, double burstiness, pf_rng *rng, double *t)
{
    if (!(rate < INFINITY) || n == 0) {
        for (size_t i = 0; i < n; i++)
            t[i] = 0.0;
        return;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        double gap = burstiness == INFINITY ? 1.0 / rate
                                            : pf_rng_gamma(rng, burstiness, 1.0 / (rate * burstiness));
        acc += gap;
        t[i] = acc;
    }
    /* vLLM rescales so that the last request goes out at n / rate */
    if (acc > 0) {
        double f = ((double)n / rate) / acc;
        for (size_t i = 0; i < n; i++)
            t[i] *= f;
    }
}

/* ---- per-transfer callbacks ------------------------------------------- */

static int on_line(void *ud, pf_sse_kind kind, const char *v, size_t vlen, const char *line,
                   size_t llen)
{
    xfer *x = ud;
    (void)line;
    (void)llen;
    return pf_resp_line(&x->resp, kind, v, vlen, x->d->stamp) < 0 ? 1 : 0;
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (!x->status_known) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        x->status_known = true;
    }
    if (x->headlen < HEAD_MAX) {
        size_t take = n < HEAD_MAX - x->headlen ? n : HEAD_MAX - x->headlen;
        memcpy(x->head + x->headlen, p, take);
        x->headlen += take;
        x->head[x->headlen] = '\0';
    }
    if (x->status != 200) {
        size_t take = n < ERRBODY_MAX - x->errlen ? n : ERRBODY_MAX - x->errlen;
        memcpy(x->errbody + x->errlen, p, take);
        x->errlen += take;
        x->errbody[x->errlen] = '\0';
        return n;
    }
    int rc = pf_sse_feed(&x->sse, p, n, on_line, x);
    if (rc != 0) {
        if (rc < 0 && !x->resp.error)
            x->resp.error = pf_xasprintf("SSE line longer than %zu bytes", x->sse.max_line);
        return 0; /* abort the transfer: the stream is unusable */
    }
    return n;
}

static xfer *xfer_get(pf_driver *d, pf_err *err)
{
    if (d->nidle)
        return d->idle[--d->nidle];
    xfer *x = pf_xcalloc(1, sizeof *x);
    x->d = d;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        pf_err_set(err, "curl_easy_init failed");
        return NULL;
    }
    pf_sse_init(&x->sse, 0);
    return x;
}

static void xfer_put(pf_driver *d, xfer *x)
{
    if (d->nidle == d->capidle) {
        d->capidle = d->capidle ? d->capidle * 2 : 64;
        d->idle = pf_xrealloc(d->idle, d->capidle * sizeof *d->idle);
    }
    d->idle[d->nidle++] = x;
}

static int start_one(pf_driver *d, size_t index, pf_err *err)
{
    const pf_driver_opts *o = d->o;
    xfer *x = xfer_get(d, err);
    if (!x)
        return -1;
    x->index = index;
    x->w = &o->work[index % o->n_work];
    x->status = 0;
    x->status_known = false;
    x->errlen = x->headlen = 0;
    x->errbody[0] = x->head[0] = x->errbuf[0] = '\0';
    pf_sse_reset(&x->sse);
    CURL *e = x->easy;
    /* A reused easy handle keeps curl's count of "connection died, retrying"
     * across transfers (curl 7.88); a server that closes every keep-alive
     * connection after a stream (llama.cpp's does) would make the 6th reuse
     * fail.  Reset it: connections live in the multi handle's pool anyway. */
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->slist);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->w->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->w->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* PF_BENCH_CURL_VERBOSE=1: curl's own trace on stderr, for diagnosing a
     * server's connection handling */
    curl_easy_setopt(e, CURLOPT_VERBOSE, getenv("PF_BENCH_CURL_VERBOSE") ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->request_timeout_s * 1000.0));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000.0));
    /* bench_serving's st: after the slot, right before the request goes out */
    double st = pf_now();
    pf_resp_init(&x->resp, o->api, st, x->w->output_len);
    CURLMcode mc = curl_multi_add_handle(d->multi, e);
    if (mc != CURLM_OK) {
        xfer_put(d, x);
        return pf_err_set(err, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }
    if (d->in_flight == d->capactive) {
        d->capactive = d->capactive ? d->capactive * 2 : 64;
        d->active = pf_xrealloc(d->active, d->capactive * sizeof *d->active);
    }
    x->slot = d->in_flight;
    x->cancelled = false;
    d->active[d->in_flight++] = x;
    if (d->in_flight > d->out->peak_in_flight)
        d->out->peak_in_flight = d->in_flight;
    return 0;
}

static pf_req_result *new_result(pf_driver *d)
{
    pf_driver_out *out = d->out;
    if (out->n == d->cap_results) {
        d->cap_results = d->cap_results ? d->cap_results * 2 : 256;
        out->results = pf_xrealloc(out->results, d->cap_results * sizeof *out->results);
    }
    pf_req_result *r = &out->results[out->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static void set_fail(pf_req_result *r, pf_fail_kind k, char *msg)
{
    r->success = false;
    r->fail = k;
    r->error = msg;
}

static char *printable(const char *s, size_t max)
{
    char *o = pf_xmalloc(max + 4);
    size_t n = 0;
    for (; *s && n < max; s++)
        o[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : ' ';
    if (*s)
        memcpy(o + n, "...", 3), n += 3;
    o[n] = '\0';
    return o;
}

static void classify(xfer *x, CURLcode cc, pf_req_result *r)
{
    const pf_driver_opts *o = x->d->o;
    pf_resp *rs = &x->resp;
    const char *cerr = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_OK && x->status == 200)
        pf_sse_finish(&x->sse, on_line, x); /* a last line without newline */
    if (x->cancelled) {
        set_fail(r, PF_FAIL_CANCELLED,
                 pf_xasprintf("cancelled: the run was interrupted after %zu content events",
                              rs->content_events));
        return;
    }
    if (cc == CURLE_WRITE_ERROR && rs->error) {
        bool ev = pf_str_startswith(rs->error, "server error event");
        set_fail(r, ev ? PF_FAIL_SERVER_EVENT : PF_FAIL_MALFORMED, pf_xstrdup(rs->error));
        return;
    }
    switch (cc) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        set_fail(r, PF_FAIL_CONNECT, pf_xasprintf("cannot connect to %s: %s", o->url, cerr));
        return;
    case CURLE_OPERATION_TIMEDOUT:
        set_fail(r, PF_FAIL_TIMEOUT,
                 pf_xasprintf("no complete response within --request-timeout %.1f s "
                              "(HTTP status %ld, %zu content events received): %s",
                              o->request_timeout_s, x->status, rs->content_events, cerr));
        return;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        set_fail(r, PF_FAIL_RESET,
                 pf_xasprintf("connection closed or reset mid-response after %zu content events: %s",
                              rs->content_events, cerr));
        return;
    default:
        set_fail(r, PF_FAIL_OTHER, pf_xasprintf("transfer failed: %s", cerr));
        return;
    }
    if (x->status != 200) {
        char *body = printable(x->errbody, 300);
        set_fail(r, PF_FAIL_HTTP, pf_xasprintf("HTTP %ld: %s", x->status, body));
        free(body);
        return;
    }
    if (rs->error) {
        bool ev = pf_str_startswith(rs->error, "server error event");
        set_fail(r, ev ? PF_FAIL_SERVER_EVENT : PF_FAIL_MALFORMED, pf_xstrdup(rs->error));
        return;
    }
    if (rs->data_lines == 0) {
        char *ct = NULL;
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
        char *head = printable(x->head, 120);
        set_fail(r, PF_FAIL_NOT_SSE,
                 pf_xasprintf("HTTP 200 but no SSE data lines (Content-Type: %s; body starts: %s)",
                              ct ? ct : "none", head[0] ? head : "(empty)"));
        free(head);
        return;
    }
    if (rs->content_events == 0) {
        set_fail(r, PF_FAIL_NO_CONTENT,
                 pf_xasprintf("stream ended without any content-bearing event (%zu data lines)",
                              rs->data_lines));
        return;
    }
    if (!rs->done && !o->allow_missing_done) {
        set_fail(r, PF_FAIL_NO_DONE,
                 pf_xasprintf("stream ended without data: [DONE] after %zu content events",
                              rs->content_events));
        return;
    }
    r->success = true;
}

static void finish_one(pf_driver *d, CURL *e, CURLcode cc)
{
    xfer *x = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(d->multi, e);
    /* swap-remove from the active list */
    xfer *last = d->active[--d->in_flight];
    d->active[x->slot] = last;
    last->slot = x->slot;
    double now = pf_now();
    pf_req_result *r = new_result(d);
    r->index = x->index;
    r->row = x->w->row;
    r->warmup = d->o->warmup;
    r->http_status = (int)x->status;
    r->start = x->resp.st;
    r->prompt_len = x->w->prompt_len;
    r->prompt_len_exact = x->w->prompt_len_exact;
    r->requested_output_len = x->w->output_len;
    classify(x, cc, r);
    pf_resp *rs = &x->resp;
    r->ttft = rs->content_events ? rs->ttft : 0.0;
    r->latency = r->success ? rs->last_line - rs->st : now - rs->st;
    r->output_len = rs->output_len;
    r->output_from_usage = rs->output_from_usage;
    r->server_prompt_tokens = rs->server_prompt_tokens;
    r->content_events = rs->content_events;
    r->text_bytes = rs->text_bytes;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    memcpy(r->id, rs->id, sizeof r->id);
    if (rs->n_itl) {
        r->itl = pf_xmalloc(rs->n_itl * sizeof *r->itl);
        memcpy(r->itl, rs->itl, rs->n_itl * sizeof *r->itl);
        r->n_itl = rs->n_itl;
    }
    if (r->fail == PF_FAIL_CONNECT)
        d->consecutive_connect_failures++;
    else
        d->consecutive_connect_failures = 0;
    free(rs->error);
    rs->error = NULL;
    xfer_put(d, x);
    if (!d->o->on_result)
        return;
    if (d->npending == d->cappending) {
        d->cappending = d->cappending ? d->cappending * 2 : 256;
        d->pending = pf_xrealloc(d->pending, d->cappending * sizeof *d->pending);
    }
    if (d->npending == d->pending_head)
        d->oldest_pending = now;
    d->pending[d->npending++] = d->out->n - 1;
}

/* Hand finished results to on_result for at most `budget` seconds (all of
 * them when budget < 0). */
static void notify(pf_driver *d, double budget)
{
    double until = pf_now() + budget;
    while (d->pending_head < d->npending) {
        d->o->on_result(d->o->ud, &d->out->results[d->pending[d->pending_head++]]);
        if (budget >= 0 && pf_now() >= until)
            break;
    }
    if (d->pending_head == d->npending)
        d->pending_head = d->npending = 0;
    else
        d->oldest_pending = pf_now();
}

/* ---- Prometheus scraping ---------------------------------------------- */

static size_t scrape_write(char *p, size_t sz, size_t nm, void *ud)
{
    pf_driver *d = ud;
    size_t n = sz * nm;
    if (d->slen + n > SCRAPE_MAX)
        return 0;
    d->sbuf = pf_xrealloc(d->sbuf, d->slen + n + 1);
    memcpy(d->sbuf + d->slen, p, n);
    d->slen += n;
    d->sbuf[d->slen] = '\0';
    return n;
}

static void scrape_start(pf_driver *d, double now)
{
    const pf_driver_opts *o = d->o;
    if (!d->scrape)
        d->scrape = curl_easy_init();
    if (!d->scrape)
        return;
    CURL *e = d->scrape;
    d->slen = 0;
    d->scrape_err[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, o->metrics_url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->slist);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, scrape_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->scrape_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    double to = o->metrics_interval_s < 5 ? o->metrics_interval_s : 5;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(to * 1000) + 1);
    d->scrape_t = now;
    if (curl_multi_add_handle(d->multi, e) == CURLM_OK)
        d->scrape_busy = true;
}

static void scrape_done(pf_driver *d, CURLcode cc)
{
    curl_multi_remove_handle(d->multi, d->scrape);
    d->scrape_busy = false;
    long status = 0;
    curl_easy_getinfo(d->scrape, CURLINFO_RESPONSE_CODE, &status);
    pf_driver_out *out = d->out;
    if (cc != CURLE_OK || status != 200) {
        out->scrapes_failed++;
        snprintf(out->scrape_error, sizeof out->scrape_error, "GET %s: %s", d->o->metrics_url,
                 cc != CURLE_OK ? (d->scrape_err[0] ? d->scrape_err : curl_easy_strerror(cc))
                                : "non-200 status");
        return;
    }
    static const char *const prefixes[] = {"sglang:", "vllm:", NULL};
    pf_prom_stats st;
    pf_prom_collect(d->o->metrics_series, d->scrape_t - d->o->metrics_t0, d->sbuf ? d->sbuf : "",
                    d->slen, prefixes, &st);
    out->scrapes_ok++;
}

/* ---- the loop --------------------------------------------------------- */

static void drain_done(pf_driver *d)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        if (d->scrape && m->easy_handle == d->scrape)
            scrape_done(d, m->data.result);
        else
            finish_one(d, m->easy_handle, m->data.result);
    }
}

static void arm(pf_driver *d, double when)
{
    /* a timer that fires early only costs a spurious wake-up, so re-arm
     * only for an earlier time (one syscall less per event) */
    if (d->armed > pf_now() && when >= d->armed)
        return;
    struct itimerspec its = {0};
    if (isfinite(when)) {
        if (when <= 0)
            when = 1e-9;
        its.it_value.tv_sec = (time_t)when;
        its.it_value.tv_nsec = (long)((when - (double)(time_t)when) * 1e9);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    d->armed = when;
}

static void progress(pf_driver *d, bool final)
{
    const pf_driver_out *out = d->out;
    size_t failed = 0;
    for (size_t i = 0; i < out->n; i++)
        failed += !out->results[i].success;
    double el = pf_now() - out->t_start;
    fprintf(stderr, "\r%s %zu done, %zu failed, %zu in flight, %.1f s%s",
            d->o->progress_label ? d->o->progress_label : "", out->n, failed, d->in_flight, el,
            final ? "\n" : "   ");
    fflush(stderr);
}

int pf_driver_run(pf_driver *d, const pf_driver_opts *o, pf_rng *rng, pf_driver_out *out,
                  pf_err *err)
{
    memset(out, 0, sizeof *out);
    if (!o->n_work || !o->work)
        return pf_err_set(err, "nothing to send");
    if (!(o->request_timeout_s > 0) || !(o->connect_timeout_s > 0))
        return pf_err_set(err, "request and connect timeouts must be positive");
    bool by_time = o->duration_s > 0;
    bool finite_rate = o->request_rate < INFINITY;
    if (by_time && !finite_rate && o->max_concurrency == 0)
        return pf_err_set(err, "--duration with an infinite rate needs a concurrency limit");
    d->o = o;
    d->out = out;
    d->in_flight = 0;
    d->cap_results = 0;
    d->npending = d->pending_head = 0;
    d->consecutive_connect_failures = 0;
    static const char *const extra[] = {"Content-Type: application/json", "Expect:", NULL};
    curl_slist_free_all(d->slist);
    d->slist = pf_http_slist(o->headers, extra);
    long maxconn = o->max_concurrency ? (long)o->max_concurrency + 8 : 10000;
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, maxconn);

    /* the arrival schedule, relative to t_start */
    size_t n_sched = o->num_requests;
    if (by_time)
        n_sched = finite_rate ? (size_t)llround(o->request_rate * o->duration_s) : 0;
    if (by_time && finite_rate && n_sched == 0)
        n_sched = 1;
    double *sched = NULL;
    if (finite_rate) {
        sched = pf_xmalloc((n_sched + 1) * sizeof *sched);
        pf_arrival_schedule(n_sched, o->request_rate, o->burstiness, rng, sched);
    }
    bool unbounded = by_time && !finite_rate; /* closed loop until the deadline */
    size_t arrived = 0, dispatched = 0;
    out->t_start = pf_now();
    double deadline = by_time ? out->t_start + o->duration_s : INFINITY;
    double next_progress = out->t_start + 0.2;
    double tick_every = o->tick_interval_s > 0 ? o->tick_interval_s : 0.25;
    double next_tick = o->tick ? out->t_start + tick_every : INFINITY;
    d->next_scrape = o->metrics_url ? out->t_start : INFINITY;
    bool stopping = false;
    int rc = 0;
    struct epoll_event evs[1024];

    for (;;) {
        double now = pf_now();
        if (o->stop && *o->stop && !stopping) {
            stopping = true;
            out->aborted = true;
            snprintf(out->abort_reason, sizeof out->abort_reason, "interrupted (Ctrl-C)");
        }
        if (!stopping && o->abort_after_connect_failures &&
            d->consecutive_connect_failures >= o->abort_after_connect_failures) {
            stopping = true;
            out->aborted = true;
            snprintf(out->abort_reason, sizeof out->abort_reason,
                     "server unreachable: %zu consecutive requests could not connect",
                     d->consecutive_connect_failures);
        }
        if (o->tick && now >= next_tick) {
            char why[200] = "";
            if (!stopping && o->tick(o->tick_ud, why, sizeof why) != 0) {
                stopping = true;
                out->aborted = true;
                snprintf(out->abort_reason, sizeof out->abort_reason, "%s", why);
            }
            next_tick = now + tick_every;
        }
        /* arrivals up to now */
        if (!stopping) {
            if (unbounded) {
                arrived = now < deadline ? SIZE_MAX : dispatched;
            } else if (finite_rate) {
                while (arrived < n_sched && out->t_start + sched[arrived] <= now)
                    arrived++;
            } else {
                arrived = n_sched;
            }
            if (by_time && now >= deadline && arrived > dispatched)
                arrived = dispatched; /* no new requests after the deadline */
        }
        bool started = false;
        while (!stopping && dispatched < arrived &&
               (o->max_concurrency == 0 || d->in_flight < o->max_concurrency)) {
            if (start_one(d, dispatched, err) < 0) {
                rc = -1;
                stopping = true;
                out->aborted = true;
                snprintf(out->abort_reason, sizeof out->abort_reason, "%s", err->msg);
                break;
            }
            dispatched++;
            started = true;
        }
        if (started) {
            int running;
            d->stamp = pf_now();
            curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            drain_done(d);
        }
        if (o->metrics_url && !d->scrape_busy && now >= d->next_scrape && !stopping) {
            scrape_start(d, now);
            d->next_scrape = now + o->metrics_interval_s;
        }
        if (stopping && d->in_flight && o->stop && *o->stop) {
            /* interrupted: cancel what is in flight; each becomes a failure */
            while (d->in_flight) {
                xfer *x = d->active[d->in_flight - 1];
                x->cancelled = true;
                finish_one(d, x->easy, CURLE_ABORTED_BY_CALLBACK);
            }
        }
        /* done? */
        bool more_arrivals = !stopping && (unbounded ? now < deadline : dispatched < n_sched);
        if (!more_arrivals && d->in_flight == 0) {
            if (d->scrape_busy) {
                curl_multi_remove_handle(d->multi, d->scrape);
                d->scrape_busy = false;
            }
            break;
        }
        /* sleep until the next thing to do */
        double wake = d->curl_deadline;
        if (!stopping && dispatched < arrived &&
            (o->max_concurrency == 0 || d->in_flight < o->max_concurrency))
            wake = now;
        if (!stopping && finite_rate && arrived < n_sched && out->t_start + sched[arrived] < wake)
            wake = out->t_start + sched[arrived];
        if (!stopping && unbounded && deadline < wake)
            wake = deadline;
        if (o->progress && next_progress < wake)
            wake = next_progress;
        if (d->next_scrape < wake && !stopping)
            wake = d->next_scrape;
        if (next_tick < wake)
            wake = next_tick;
        if (o->stop && !stopping && now + 0.1 < wake)
            wake = now + 0.1; /* notice SIGINT promptly */
        int timeout_ms = -1;
        if (wake <= now) {
            timeout_ms = 0;
        } else if (isfinite(wake)) {
            arm(d, wake);
        }
        int ne;
        if (d->pending_head < d->npending) {
            /* bookkeeping only when no socket waits, or when it got old */
            ne = epoll_wait(d->epfd, evs, (int)(sizeof evs / sizeof evs[0]), 0);
            if (ne == 0 || now - d->oldest_pending > 1.0)
                notify(d, 5e-4);
        } else {
            ne = epoll_wait(d->epfd, evs, (int)(sizeof evs / sizeof evs[0]),
                            o->busy_poll && d->in_flight ? 0 : timeout_ms);
        }
        d->stamp = pf_now();
        if (ne < 0 && errno != EINTR) {
            rc = pf_err_errno(err, errno, "epoll_wait");
            break;
        }
        int running;
        for (int i = 0; i < ne; i++) {
            int fd = evs[i].data.fd;
            if (fd == d->tfd) {
                uint64_t exp;
                ssize_t rr = read(d->tfd, &exp, sizeof exp);
                (void)rr;
                d->armed = -1;
                continue;
            }
            int flags = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(d->multi, fd, flags, &running);
        }
        if (pf_now() >= d->curl_deadline)
            curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        drain_done(d);
        double busy = pf_now() - d->stamp;
        out->wakes += ne > 0; /* with --busy-poll most polls find nothing */
        out->wakes_over_1ms += busy > 1e-3;
        out->wakes_over_10ms += busy > 10e-3;
        if (busy > out->max_wake_s)
            out->max_wake_s = busy;
        if ((size_t)ne > out->max_events_per_wake)
            out->max_events_per_wake = (size_t)ne;
        if (o->progress && pf_now() >= next_progress) {
            progress(d, false);
            next_progress = pf_now() + 0.2;
        }
    }
    out->t_end = pf_now();
    if (d->o->on_result)
        notify(d, -1);
    if (!unbounded)
        out->not_sent = n_sched > dispatched ? n_sched - dispatched : 0;
    if (o->progress)
        progress(d, true);
    free(sched);
    d->o = NULL;
    return rc;
}

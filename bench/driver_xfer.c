/* driver_xfer.c -- one transfer of the load driver: set it up, take its
 * bytes (SSE lines into pf_resp with the wake-up's time stamp), turn its end
 * into a pf_req_result with the reason of a failure; and the Prometheus
 * scrapes that share the event loop.  See driver.h. */
#include "bench/driver_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/prom.h"

void pf_drv_xfer_free(xfer *x)
{
    if (!x)
        return;
    curl_easy_cleanup(x->easy);
    pf_resp_free(&x->resp);
    pf_sse_free(&x->sse);
    free(x);
}

/* ---- per-transfer callbacks ------------------------------------------- */

static int on_line(void *ud, pf_sse_kind kind, const char *v, size_t vlen, const char *line,
                   size_t llen)
{
    xfer *x = ud;
    (void)line;
    (void)llen;
    return pf_resp_line(&x->resp, kind, v, vlen, x->rx) < 0 ? 1 : 0;
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
    /* The arrival time of every event in these bytes: taken after curl's
     * recv() returned them, so it can never precede the server's send (a
     * stamp taken at epoll's return could, for bytes that arrived between
     * the wake-up and the read on a loaded machine).  Late by at most the
     * parsing of this one buffer, as bench_serving's own stamp is. */
    x->rx = pf_now();
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
/* CURLOPT_DEBUGFUNCTION for PF_BENCH_CURL_VERBOSE: curl's own trace format
 * ("* " info, "> " sent headers, "< " received headers; bodies left out),
 * except that a secret header's value is never printed. */
static int trace_redacted(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)e, (void)ud;
    const char *mark = type == CURLINFO_TEXT ? "* " : type == CURLINFO_HEADER_IN ? "< "
                       : type == CURLINFO_HEADER_OUT ? "> " : NULL;
    if (!mark)
        return 0;
    for (size_t i = 0; i < size;) {
        size_t j = i;
        while (j < size && data[j] != '\n')
            j++;
        size_t len = j - i;
        while (len && data[i + len - 1] == '\r')
            len--;
        char *line = pf_xasprintf("%.*s", (int)len, data + i);
        char *shown = type == CURLINFO_HEADER_OUT ? pf_http_header_redact(line) : pf_xstrdup(line);
        if (len)
            fprintf(stderr, "%s%s\n", mark, shown);
        free(shown);
        free(line);
        i = j + 1;
    }
    return 0;
}


int pf_drv_start_one(pf_driver *d, size_t index, pf_err *err)
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
    bool trace = getenv("PF_BENCH_CURL_VERBOSE") != NULL;
    curl_easy_setopt(e, CURLOPT_VERBOSE, trace ? 1L : 0L);
    if (trace) /* curl's trace, with the Authorization value replaced */
        curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, trace_redacted);
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

void pf_drv_finish_one(pf_driver *d, CURL *e, CURLcode cc)
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
    pf_drv_release(d->run, r->success, r->fail == PF_FAIL_CONNECT);
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
 * them when budget < 0, waiting for the lock if need be).  on_result is
 * not thread-safe, so it runs under the run's lock; with a budget a loop
 * does not wait for that lock (its sockets would wait too) but tries again
 * later. */
bool pf_drv_notify(pf_driver *d, double budget)
{
    pthread_mutex_t *mu = &d->run->result_mu;
    if (budget < 0)
        pthread_mutex_lock(mu);
    else if (pthread_mutex_trylock(mu) != 0)
        return false;
    double until = pf_now() + budget;
    while (d->pending_head < d->npending) {
        d->o->on_result(d->o->ud, &d->out->results[d->pending[d->pending_head++]]);
        if (budget >= 0 && pf_now() >= until)
            break;
    }
    pthread_mutex_unlock(mu);
    if (d->pending_head == d->npending)
        d->pending_head = d->npending = 0;
    else
        d->oldest_pending = pf_now();
    return true;
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

void pf_drv_scrape_start(pf_driver *d, double now)
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

void pf_drv_scrape_done(pf_driver *d, CURLcode cc)
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


/* driver.c -- the load driver's event loop: curl multi (socket interface)
 * on epoll, arrival schedule, concurrency slots, deadlines, progress
 * (see driver.h; one transfer's life is in driver_xfer.c). */
#include "bench/driver_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

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


void pf_driver_free(pf_driver *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nidle; i++)
        pf_drv_xfer_free(d->idle[i]);
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

/* ---- the loop --------------------------------------------------------- */

static void drain_done(pf_driver *d)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        if (d->scrape && m->easy_handle == d->scrape)
            pf_drv_scrape_done(d, m->data.result);
        else
            pf_drv_finish_one(d, m->easy_handle, m->data.result);
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
            if (pf_drv_start_one(d, dispatched, err) < 0) {
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
            pf_drv_scrape_start(d, now);
            d->next_scrape = now + o->metrics_interval_s;
        }
        if (stopping && d->in_flight && o->stop && *o->stop) {
            /* interrupted: cancel what is in flight; each becomes a failure */
            while (d->in_flight) {
                xfer *x = d->active[d->in_flight - 1];
                x->cancelled = true;
                pf_drv_finish_one(d, x->easy, CURLE_ABORTED_BY_CALLBACK);
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
                pf_drv_notify(d, 5e-4);
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
        pf_drv_notify(d, -1);
    if (!unbounded)
        out->not_sent = n_sched > dispatched ? n_sched - dispatched : 0;
    if (o->progress)
        progress(d, true);
    free(sched);
    d->o = NULL;
    return rc;
}

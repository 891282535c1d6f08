/* driver.c -- one event loop of the load driver: curl multi (socket
 * interface) on epoll, claiming requests as they arrive, deadlines, progress;
 * and pf_driver_run, which sets up a run (see driver.h; one transfer's life
 * is in driver_xfer.c, what the loops of a run share in driver_mt.c). */
#include "bench/driver_int.h"
#include "core/sig.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
    d->tfd = d->wfd = -1;
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    d->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    d->multi = curl_multi_init();
    if (d->epfd < 0 || d->tfd < 0 || d->wfd < 0 || !d->multi) {
        pf_err_errno(err, errno, "cannot set up the event loop (epoll/timerfd/eventfd/curl multi)");
        pf_driver_free(d);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->tfd};
    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev);
    ev.data.fd = d->wfd;
    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wfd, &ev);
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
    for (size_t i = 0; i < d->nworkers; i++)
        pf_driver_free(d->workers[i]);
    free(d->workers);
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
    if (d->wfd >= 0)
        close(d->wfd);
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

/* ---- one loop ------------------------------------------------------------ */

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

/* One line for the whole run, whichever thread ran what. */
static void progress(pf_driver *d, bool final)
{
    pf_drv_run *r = d->run;
    double el = pf_now() - r->t_start;
    fprintf(stderr, "\r%s %zu done, %zu failed, %zu in flight, %.1f s%s",
            d->o->progress_label ? d->o->progress_label : "", atomic_load(&r->done),
            atomic_load(&r->failed), atomic_load(&r->slots), el, final ? "\n" : "   ");
    fflush(stderr);
}

static void fail_run(pf_drv_run *r, const pf_err *e)
{
    pthread_mutex_lock(&r->abort_mu);
    if (r->rc == 0) {
        r->rc = -1;
        r->err = *e;
    }
    pthread_mutex_unlock(&r->abort_mu);
}

/* The loop of one thread: claim what is due, serve this loop's sockets,
 * until nothing more can be claimed and this loop has nothing in flight.
 * loops[0] (the caller's thread) also polls the stop flag, ticks, prints
 * progress, scrapes, and returns only after every other loop did. */
void pf_drv_loop(pf_driver *d)
{
    pf_drv_run *r = d->run;
    const pf_driver_opts *o = d->o;
    pf_driver_out *out = d->out;
    bool lead = d->k == 0;
    double tick_every = o->tick_interval_s > 0 ? o->tick_interval_s : 0.25;
    double next_progress = lead && o->progress ? r->t_start + 0.2 : INFINITY;
    double next_tick = lead && o->tick ? r->t_start + tick_every : INFINITY;
    d->next_scrape = lead && o->metrics_url ? r->t_start : INFINITY;
    struct epoll_event evs[1024];

    for (;;) {
        double now = pf_now();
        if (lead && o->stop && *o->stop && !atomic_load(&r->cancel)) {
            char why[64];
            int sig = pf_sig_last();
            snprintf(why, sizeof why, "interrupted (%s)", pf_sig_name(sig ? sig : SIGINT));
            pf_drv_stop(r, why, true);
        }
        if (now >= next_tick) {
            char why[200] = "";
            if (!atomic_load(&r->stopping) && o->tick(o->tick_ud, why, sizeof why) != 0)
                pf_drv_stop(r, why, false);
            next_tick = now + tick_every;
        }
        /* what is due, as far as slots go */
        bool started = false;
        double arrival_wake = INFINITY;
        size_t index;
        while (pf_drv_claim(r, d, now, &index, &arrival_wake)) {
            if (pf_drv_start_one(d, index, &d->err) < 0) {
                pf_drv_unclaim(r);
                fail_run(r, &d->err);
                pf_drv_stop(r, d->err.msg, false);
                break;
            }
            started = true;
        }
        if (started) {
            int running;
            curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            drain_done(d);
        }
        bool stopping = atomic_load(&r->stopping);
        if (lead && o->metrics_url && !d->scrape_busy && now >= d->next_scrape && !stopping) {
            pf_drv_scrape_start(d, now);
            d->next_scrape = now + o->metrics_interval_s;
        }
        if (d->in_flight && atomic_load(&r->cancel)) {
            /* interrupted: cancel what is in flight; each becomes a failure */
            while (d->in_flight) {
                xfer *x = d->active[d->in_flight - 1];
                x->cancelled = true;
                pf_drv_finish_one(d, x->easy, CURLE_ABORTED_BY_CALLBACK);
            }
        }
        /* done?  (the lead waits for the others: it ticks and scrapes for
         * the whole run) */
        if (d->in_flight == 0 && !pf_drv_more(r, now)) {
            if (d->t_done < 0)
                d->t_done = pf_now();
            if (!lead || atomic_load(&r->workers_left) == 0) {
                if (d->scrape_busy) {
                    curl_multi_remove_handle(d->multi, d->scrape);
                    d->scrape_busy = false;
                }
                break;
            }
        }
        /* sleep until the next thing to do */
        double wake = d->curl_deadline;
        if (arrival_wake < wake)
            wake = arrival_wake;
        if (next_progress < wake)
            wake = next_progress;
        if (d->next_scrape < wake && !stopping)
            wake = d->next_scrape;
        if (next_tick < wake)
            wake = next_tick;
        if (lead && o->stop && !stopping && now + 0.1 < wake)
            wake = now + 0.1; /* notice SIGINT promptly */
        bool pending = d->pending_head < d->npending;
        if (pending && d->notify_retry > now && d->notify_retry < wake)
            wake = d->notify_retry;
        int timeout_ms = -1;
        if (wake <= now) {
            timeout_ms = 0;
        } else if (isfinite(wake)) {
            arm(d, wake);
        }
        int ne;
        if (pending && now >= d->notify_retry) {
            /* bookkeeping only when no socket waits, or when it got old */
            ne = epoll_wait(d->epfd, evs, (int)(sizeof evs / sizeof evs[0]), 0);
            if ((ne == 0 || now - d->oldest_pending > 1.0) && !pf_drv_notify(d, 5e-4))
                d->notify_retry = pf_now() + 1e-3; /* another thread is writing */
        } else {
            ne = epoll_wait(d->epfd, evs, (int)(sizeof evs / sizeof evs[0]),
                            o->busy_poll && d->in_flight ? 0 : timeout_ms);
        }
        d->stamp = pf_now();
        if (ne < 0) {
            if (errno != EINTR) {
                pf_err e;
                pf_err_errno(&e, errno, "epoll_wait");
                fail_run(r, &e);
                pf_drv_stop(r, e.msg, true);
            }
            ne = 0;
        }
        int running;
        for (int i = 0; i < ne; i++) {
            int fd = evs[i].data.fd;
            if (fd == d->tfd || fd == d->wfd) {
                uint64_t exp;
                ssize_t rr = read(fd, &exp, sizeof exp);
                (void)rr;
                if (fd == d->tfd)
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
            /* events are stamped in the write callback, after curl's recv()
             * (driver_xfer.c), not here: bytes that arrive between epoll's
             * return and the read would otherwise get an earlier time */
            curl_multi_socket_action(d->multi, fd, flags, &running);
        }
        if (pf_now() >= d->curl_deadline) {
            curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        drain_done(d);
        double busy = pf_now() - d->stamp;
        out->wakes += ne > 0; /* with --busy-poll most polls find nothing */
        out->wakes_over_1ms += busy > 1e-3;
        out->wakes_over_10ms += busy > 10e-3;
        if (busy > out->max_wake_s)
            out->max_wake_s = busy;
        if ((size_t)ne > out->max_events_per_wake)
            out->max_events_per_wake = (size_t)ne;
        if (lead && o->progress && pf_now() >= next_progress) {
            progress(d, false);
            next_progress = pf_now() + 0.2;
        }
    }
    if (o->on_result)
        pf_drv_notify(d, -1);
    if (lead && o->progress)
        progress(d, true);
}

/* ---- a run ----------------------------------------------------------------- */

/* The caller's driver owns the other threads' loops; they outlive a run so
 * that their connections are reused by the next level. */
static int ensure_workers(pf_driver *d, size_t n, pf_err *err)
{
    if (d->nworkers >= n)
        return 0;
    d->workers = pf_xrealloc(d->workers, n * sizeof *d->workers);
    while (d->nworkers < n) {
        pf_driver *w = pf_driver_new(err);
        if (!w)
            return -1;
        d->workers[d->nworkers++] = w;
    }
    return 0;
}

static void prepare_loop(pf_driver *d, pf_drv_run *r, size_t k)
{
    const pf_driver_opts *o = r->o;
    d->o = o;
    d->run = r;
    d->k = k;
    d->in_flight = 0;
    d->cap_results = 0;
    d->npending = d->pending_head = 0;
    d->notify_retry = 0;
    d->t_done = -1;
    static const char *const extra[] = {"Content-Type: application/json", "Expect:", NULL};
    curl_slist_free_all(d->slist);
    d->slist = pf_http_slist(o->headers, extra);
    long maxconn = o->max_concurrency ? (long)o->max_concurrency + 8 : 10000;
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, maxconn);
}

int pf_driver_run(pf_driver *d, const pf_driver_opts *o, pf_rng *rng, pf_driver_out *out,
                  pf_err *err)
{
    memset(out, 0, sizeof *out);
    if (!o->n_work || !o->work)
        return pf_err_set(err, "nothing to send");
    if (!(o->request_timeout_s > 0) || !(o->connect_timeout_s > 0))
        return pf_err_set(err, "request and connect timeouts must be positive");
    if (o->threads > PF_DRIVER_MAX_THREADS)
        return pf_err_set(err, "%zu threads asked for, at most %d", o->threads,
                          PF_DRIVER_MAX_THREADS);
    bool by_time = o->duration_s > 0;
    bool finite_rate = o->request_rate < INFINITY;
    if (by_time && !finite_rate && o->max_concurrency == 0)
        return pf_err_set(err, "--duration with an infinite rate needs a concurrency limit");
    bool unbounded = by_time && !finite_rate; /* closed loop until the deadline */

    /* the arrival schedule, relative to t_start: drawn once, whatever the
     * number of threads, so a seed gives the same schedule */
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

    /* no more threads than requests can be in flight at once (a warm-up of
     * one request gets one) */
    size_t cap = unbounded ? o->max_concurrency : n_sched;
    if (o->max_concurrency && o->max_concurrency < cap)
        cap = o->max_concurrency;
    size_t n = o->threads > 1 ? o->threads : 1;
    if (cap < n)
        n = cap ? cap : 1;
    if (ensure_workers(d, n - 1, err) < 0) {
        free(sched);
        return -1;
    }
    pf_drv_run r;
    pf_drv_run_init(&r);
    r.o = o;
    r.nthreads = n;
    r.loops = pf_xcalloc(n, sizeof *r.loops);
    r.loops[0] = d;
    for (size_t k = 1; k < n; k++)
        r.loops[k] = d->workers[k - 1];
    r.sched = sched;
    r.n_sched = unbounded ? SIZE_MAX : n_sched;
    r.max_conc = o->max_concurrency;
    /* Closed loop: every request is due at once, so the first loop to run
     * would take every slot; a share per loop spreads them evenly.  The
     * shares add up to the limit, and a loop that frees a slot is below its
     * share, so it takes the next request itself: no slot stays idle.  Open
     * loop needs no share (driver_mt.c). */
    r.share = finite_rate ? SIZE_MAX : cap / n;
    r.share_extra = finite_rate ? 0 : cap % n;
    for (size_t k = 0; k < n; k++)
        prepare_loop(r.loops[k], &r, k);

    pf_drv_run_loops(&r, out);

    size_t sent = atomic_load(&r.next);
    if (sent > r.n_sched)
        sent = r.n_sched;
    sent -= r.start_failed;
    if (!unbounded)
        out->not_sent = n_sched > sent ? n_sched - sent : 0;
    out->peak_in_flight = r.peak;
    out->threads = n;
    out->aborted = r.aborted;
    pf_strlcpy(out->abort_reason, r.abort_reason, sizeof out->abort_reason);
    int rc = r.rc;
    if (rc < 0 && err)
        *err = r.err;
    for (size_t k = 0; k < n; k++) {
        r.loops[k]->o = NULL;
        r.loops[k]->run = NULL;
        r.loops[k]->out = NULL;
    }
    free(r.loops);
    pf_drv_run_destroy(&r);
    free(sched);
    return rc;
}

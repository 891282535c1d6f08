/* driver_mt.c -- what the event loops of one run share: which request is
 * sent next and by whom, the concurrency semaphore, stopping, the threads.
 *
 * One loop per thread (--threads N), each with its own curl handles,
 * connections and epoll set; a request lives and dies on the loop that
 * claimed it.  bench_serving's semantics stay global:
 *
 * - Requests are claimed in index order from one counter (`next`), under
 *   one lock together with a slot of the one semaphore (`slots` <
 *   max_concurrency).  Dispatch order is index order, as with one thread,
 *   and request i uses work[i % n_work] whichever loop sends it.
 * - Closed loop: every request is due at once.  Each loop may hold at most
 *   its share of the limit (limit / N, the first limit % N loops one more),
 *   so the first loop to run does not take every slot and the streams are
 *   spread evenly.  A loop whose request finished is below its share and
 *   claims the next request itself in the same pass, so a freed slot never
 *   waits for another thread to wake, and never idles while a request waits:
 *   in closed loop every request is waiting.
 * - Open loop: the schedule is drawn once (pf_arrival_schedule, same seed,
 *   same times).  Any loop may claim any due arrival, in index order, but
 *   only arrival i's owner, loop i % N, sleeps until its time: one wake-up
 *   per arrival instead of N.  When the owner is busy at that moment, the
 *   arrival is sent when it is free or when the next arrival's owner wakes,
 *   whichever comes first -- the lateness one thread would have too.  With
 *   --max-concurrency and all slots taken, nobody waits for the due arrival:
 *   the loop that frees a slot takes it, as bench_serving's semaphore
 *   releases the next waiter.  Partitioning the arrivals instead (loop k
 *   sends only i % N == k) would make a due request wait for one busy loop
 *   while others idle, and would need cross-thread wake-ups for freed slots.
 * - Stop (Ctrl-C, a dead launched server, N connect failures in a row, an
 *   error) is one flag; every loop is woken through its eventfd.
 * - on_result runs under one lock; loops hand results over only when none
 *   of their sockets is ready and never wait for that lock (driver_xfer.c).
 */
#include "bench/driver_int.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pf_drv_run_init(pf_drv_run *r)
{
    memset(r, 0, sizeof *r);
    atomic_init(&r->next, 0);
    atomic_init(&r->slots, 0);
    atomic_init(&r->done, 0);
    atomic_init(&r->failed, 0);
    atomic_init(&r->connect_fails, 0);
    atomic_init(&r->stopping, false);
    atomic_init(&r->cancel, false);
    atomic_init(&r->workers_left, 0);
    pthread_mutex_init(&r->claim_mu, NULL);
    pthread_mutex_init(&r->abort_mu, NULL);
    pthread_mutex_init(&r->result_mu, NULL);
    pthread_cond_init(&r->gate, NULL);
    r->deadline = INFINITY;
}

void pf_drv_run_destroy(pf_drv_run *r)
{
    pthread_mutex_destroy(&r->claim_mu);
    pthread_mutex_destroy(&r->abort_mu);
    pthread_mutex_destroy(&r->result_mu);
    pthread_cond_destroy(&r->gate);
}

size_t pf_driver_auto_threads(size_t concurrency, long ncpu)
{
    size_t want = concurrency ? (concurrency + 127) / 128 : 4;
    size_t room = ncpu >= 2 ? (size_t)ncpu / 2 : 1;
    if (want > room)
        want = room;
    if (want > PF_DRIVER_MAX_THREADS)
        want = PF_DRIVER_MAX_THREADS;
    return want ? want : 1;
}

void pf_drv_wake(pf_driver *d)
{
    uint64_t one = 1;
    ssize_t w = write(d->wfd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero, it will wake */
}

/* Can loop d claim now?  Asked first without claim_mu (most passes of a
 * loop find nothing to claim and take no lock), then under it, where the
 * answer counts: there next and slots can only be changed by this claim
 * or shrink (a slot freed), which only makes a claim more possible. */
static bool claimable(pf_drv_run *r, const pf_driver *d, double now, size_t *index, double *wake)
{
    *wake = INFINITY;
    if (atomic_load(&r->stopping) || now >= r->deadline)
        return false;
    *wake = r->deadline;
    size_t i = atomic_load(&r->next);
    if (i >= r->n_sched)
        return false;
    if (r->sched && r->t_start + r->sched[i] > now) {
        /* not due yet: wake for the first arrival this loop owns */
        size_t n = r->nthreads;
        size_t own = i + (d->k + n - i % n) % n;
        if (own < r->n_sched && r->t_start + r->sched[own] < *wake)
            *wake = r->t_start + r->sched[own];
        return false;
    }
    /* due: with no room here or no free slot, the loop that frees one
     * claims it, so there is nothing to wake for */
    if (d->in_flight >= r->share + (d->k < r->share_extra))
        return false;
    if (r->max_conc && atomic_load(&r->slots) >= r->max_conc)
        return false;
    *index = i;
    return true;
}

bool pf_drv_claim(pf_drv_run *r, pf_driver *d, double now, size_t *index, double *wake)
{
    size_t i;
    if (!claimable(r, d, now, &i, wake))
        return false;
    pthread_mutex_lock(&r->claim_mu);
    bool ok = claimable(r, d, now, &i, wake);
    if (ok) {
        atomic_store(&r->next, i + 1);
        size_t s = atomic_fetch_add(&r->slots, 1) + 1;
        if (s > r->peak)
            r->peak = s;
    }
    pthread_mutex_unlock(&r->claim_mu);
    if (!ok)
        return false;
    if (i + 1 == r->n_sched)
        /* the last one: a loop with nothing in flight may sleep without a
         * deadline, waiting for a slot; now it has nothing more to wait for */
        for (size_t k = 0; k < r->nthreads; k++)
            if (r->loops[k] != d)
                pf_drv_wake(r->loops[k]);
    *index = i;
    return true;
}

void pf_drv_unclaim(pf_drv_run *r)
{
    pthread_mutex_lock(&r->claim_mu);
    atomic_fetch_sub(&r->slots, 1);
    r->start_failed++;
    pthread_mutex_unlock(&r->claim_mu);
}

void pf_drv_release(pf_drv_run *r, bool success, bool connect_failed)
{
    atomic_fetch_sub(&r->slots, 1);
    atomic_fetch_add(&r->done, 1);
    if (!success)
        atomic_fetch_add(&r->failed, 1);
    if (!connect_failed) {
        if (atomic_load(&r->connect_fails)) /* no write, no cache-line bounce, when 0 */
            atomic_store(&r->connect_fails, 0);
        return;
    }
    size_t n = atomic_fetch_add(&r->connect_fails, 1) + 1;
    size_t limit = r->o->abort_after_connect_failures;
    if (limit && n >= limit) {
        char why[200];
        snprintf(why, sizeof why, "server unreachable: %zu consecutive requests could not connect",
                 n);
        pf_drv_stop(r, why, false);
    }
}

bool pf_drv_more(pf_drv_run *r, double now)
{
    return !atomic_load(&r->stopping) && now < r->deadline && atomic_load(&r->next) < r->n_sched;
}

void pf_drv_stop(pf_drv_run *r, const char *reason, bool cancel)
{
    pthread_mutex_lock(&r->abort_mu);
    if (!r->aborted) {
        r->aborted = true;
        snprintf(r->abort_reason, sizeof r->abort_reason, "%s", reason);
    }
    pthread_mutex_unlock(&r->abort_mu);
    bool newly_cancel = cancel && !atomic_exchange(&r->cancel, true);
    bool newly_stop = !atomic_exchange(&r->stopping, true);
    if (newly_stop || newly_cancel)
        for (size_t k = 0; k < r->nthreads; k++)
            pf_drv_wake(r->loops[k]);
}

/* ---- threads ------------------------------------------------------------ */

static void *worker_main(void *p)
{
    pf_driver *d = p;
    pf_drv_run *r = d->run;
    /* the caller sets go right after creating the threads; the deadline
     * only guards against the impossible */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->abort_mu);
    while (r->go == 0)
        if (pthread_cond_timedwait(&r->gate, &r->abort_mu, &until) == ETIMEDOUT)
            break;
    int go = r->go;
    pthread_mutex_unlock(&r->abort_mu);
    if (go > 0)
        pf_drv_loop(d);
    else
        d->t_done = pf_now();
    atomic_fetch_sub(&r->workers_left, 1);
    pf_drv_wake(r->loops[0]); /* it waits for every loop before it returns */
    return NULL;
}

static int by_index(const void *a, const void *b)
{
    size_t x = ((const pf_req_result *)a)->index, y = ((const pf_req_result *)b)->index;
    return x < y ? -1 : x > y;
}

/* Results of every loop into out (loops[0]'s), by index; loop statistics
 * summed, maxima the largest. */
static void merge(pf_drv_run *r, pf_driver_out *out, pf_driver_out *wout)
{
    double t_end = r->loops[0]->t_done;
    size_t total = out->n;
    for (size_t k = 1; k < r->nthreads; k++)
        total += wout[k - 1].n;
    if (total > out->n)
        out->results = pf_xrealloc(out->results, total * sizeof *out->results);
    for (size_t k = 1; k < r->nthreads; k++) {
        pf_driver_out *w = &wout[k - 1];
        if (r->loops[k]->t_done > t_end)
            t_end = r->loops[k]->t_done;
        if (w->n)
            memcpy(out->results + out->n, w->results, w->n * sizeof *w->results);
        out->n += w->n;
        free(w->results); /* the results' contents moved to out */
        out->wakes += w->wakes;
        out->wakes_over_1ms += w->wakes_over_1ms;
        out->wakes_over_10ms += w->wakes_over_10ms;
        if (w->max_events_per_wake > out->max_events_per_wake)
            out->max_events_per_wake = w->max_events_per_wake;
        if (w->max_wake_s > out->max_wake_s)
            out->max_wake_s = w->max_wake_s;
    }
    /* completion order differs between loops; index order is dispatch
     * order (bench_serving's list order) */
    if (out->n > 1)
        qsort(out->results, out->n, sizeof *out->results, by_index);
    out->t_end = t_end;
}

void pf_drv_run_loops(pf_drv_run *r, pf_driver_out *out)
{
    size_t n = r->nthreads;
    pf_driver_out *wout = n > 1 ? pf_xcalloc(n - 1, sizeof *wout) : NULL;
    pthread_t *tid = n > 1 ? pf_xcalloc(n - 1, sizeof *tid) : NULL;
    r->loops[0]->out = out;
    for (size_t k = 1; k < n; k++)
        r->loops[k]->out = &wout[k - 1];

    /* process-directed signals (Ctrl-C) go to the caller's thread, whose
     * loop polls the stop flag; the others inherit this mask */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGCHLD);
    size_t started = 0;
    if (n > 1) {
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (size_t k = 1; k < n; k++) {
            atomic_fetch_add(&r->workers_left, 1);
            int e = pthread_create(&tid[k - 1], NULL, worker_main, r->loops[k]);
            if (e != 0) {
                atomic_fetch_sub(&r->workers_left, 1);
                pf_err er;
                pf_err_errno(&er, e, "cannot start event-loop thread %zu of %zu", k + 1, n);
                pthread_mutex_lock(&r->abort_mu);
                r->rc = -1;
                r->err = er;
                pthread_mutex_unlock(&r->abort_mu);
                pf_drv_stop(r, er.msg, true);
                break;
            }
            started++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    /* the clock starts when every loop can go */
    r->t_start = pf_now();
    if (r->o->duration_s > 0)
        r->deadline = r->t_start + r->o->duration_s;
    out->t_start = r->t_start;
    pthread_mutex_lock(&r->abort_mu);
    r->go = 1;
    pthread_cond_broadcast(&r->gate);
    pthread_mutex_unlock(&r->abort_mu);

    pf_drv_loop(r->loops[0]);
    for (size_t k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    merge(r, out, wout);
    free(wout);
    free(tid);
}

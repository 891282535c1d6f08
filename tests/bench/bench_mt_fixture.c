/* bench_mt_fixture.c -- see bench_mt_fixture.h. */
#include "bench_mt_fixture.h"

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void server_start(server *s, const char *const *extra)
{
    tf_server_start(&s->tf, extra);
    snprintf(s->url, sizeof s->url, "%s/v1/chat/completions", s->tf.url);
}

void server_stop(server *s)
{
    tf_server_stop(&s->tf);
}

/* The server's record: one object per stream, by response id. */
json_t *server_record(void)
{
    json_t *by_id = json_object();
    FILE *f = fopen(tf_path("server.jsonl"), "r");
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

long server_max_active(json_t *rec)
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

void harness_init(harness *h, const char *url, size_t threads)
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

int harness_run(harness *h, uint64_t seed)
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

void harness_free(harness *h)
{
    pf_driver_out_free(&h->out);
    pf_driver_free(h->drv);
    for (size_t i = 0; i < NWORK; i++)
        free((char *)h->work[i].body);
}

/* Every index 0..n-1 exactly once, in order, each with its work row; and
 * on_result saw each once, never two at a time. */
void check_indices(const harness *h, size_t n)
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
void check_dispatch_order(const harness *h)
{
    for (size_t i = 1; i < h->out.n; i++) {
        double d = h->out.results[i - 1].start - h->out.results[i].start;
        if (d > 10e-3)
            fail_msg("%zu threads: request %zu sent %.3f ms before request %zu", h->out.threads, i,
                     d * 1e3, i - 1);
    }
}


int bench_mt_setup(void **state)
{
    (void)state;
    return tf_tmpdir_create("bench_mt");
}

int bench_mt_teardown(void **state)
{
    (void)state;
    return tf_tmpdir_remove();
}

/* bench_mt_fixture.h -- what the multi-threaded driver tests share: the
 * scripted server (tests/sse_server) in a child process with its per-stream
 * record, and a harness that calls pf_driver_run directly with an on_result
 * that notes which threads called it and whether two calls ever overlapped. */
#ifndef PF_TESTS_BENCH_MT_FIXTURE_H
#define PF_TESTS_BENCH_MT_FIXTURE_H

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/driver.h"

#include "testfix.h"

/* The scripted server (tests/fixtures/testfix.h) and its chat endpoint. */
typedef struct server {
    tf_server tf;
    char url[96];
} server;

/* sse_server with extra arguments (NULL-terminated), recording to
 * tf_path("server.jsonl"); s->url is its chat completions endpoint */
void server_start(server *s, const char *const *extra);
void server_stop(server *s);
/* cmocka teardown: a failed assertion must not leave the server running */
#define kill_live_server tf_kill_live_server
/* the server's record, one object per stream, by response id */
json_t *server_record(void);
/* most streams in progress at once, as the server saw them */
long server_max_active(json_t *rec);

#define NWORK 7

typedef struct collect {
    size_t calls;              /* plain: the driver's lock protects on_result */
    pthread_t tids[PF_DRIVER_MAX_THREADS];
    size_t ntids;
    atomic_int inside;
    atomic_int overlaps;
    double spin_s;             /* make on_result slow, to provoke overlaps */
} collect;

typedef struct harness {
    pf_work work[NWORK];
    pf_driver_opts o;
    collect col;
    pf_driver *drv;
    pf_driver_out out;
} harness;

/* NWORK request bodies (rows 100.., chat API), opts for a closed loop of
 * `threads` threads; the caller sets the load shape */
void harness_init(harness *h, const char *url, size_t threads);
/* one pf_driver_run with a fresh rng seeded `seed`; h->out holds the result */
int harness_run(harness *h, uint64_t seed);
void harness_free(harness *h);
/* every index 0..n-1 once, in order, with its work row; on_result called
 * once for each and never two at a time */
void check_indices(const harness *h, size_t n);
/* dispatch order is index order (within the stamping tolerance) */
void check_dispatch_order(const harness *h);

/* cmocka group setup/teardown: the temporary directory */
int bench_mt_setup(void **state);
int bench_mt_teardown(void **state);

#endif

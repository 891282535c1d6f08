/* bench_int.h -- the state of one `preflight bench` run, shared by
 * bench_run.c (levels, outputs, checks) and bench_server.c (the server's
 * side: discovery, readiness, /server_info, --launch).  Internal. */
#ifndef PF_BENCH_INT_H
#define PF_BENCH_INT_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "bench/bench_cli.h"
#include "bench/driver.h"
#include "bench/launch.h"
#include "bench/launch_group.h"

typedef struct runctx {
    const pf_bench_opts *o;
    pf_bench_inputs *in;
    pf_run *run;
    json_t *bench;       /* the "bench" section (owned by run) */
    json_t *levels;      /* bench.levels */
    FILE *con;           /* console stream, NULL when quiet */
    pf_driver *drv;
    pf_rng rng;
    char *url;           /* endpoint URL */
    char *model;         /* what goes into the body; NULL for /generate without one */
    pf_work *work;
    size_t n_work;
    pf_work warm;
    size_t level;        /* index of the level running */
    size_t level_conc;   /* its concurrency cap (0 none) */
    bool jsonl_failed;
    char jsonl_err[300];
    size_t sent, completed, failed;
    json_t *failures;    /* merged over levels: reason -> count */
    bool aborted;
    char abort_reason[300];
    json_t *prom;        /* bench.prometheus.series */
    double t0;
    pf_launch *launch;   /* --launch: the server we started (borrowed from group when there is one) */
    pf_launch_group *group; /* --launch-node: every process of a multi-node launch */
    volatile sig_atomic_t *interrupted; /* pf_sig_counter(): SIGINT/SIGTERM/SIGHUP */
} runctx;

/* GET /v1/models until it answers (bounded by --ready-timeout); decides
 * bench.server; 0 when the run can go on. */
int pf_bench_discover(runctx *c, pf_check *chk);
/* sglang backends: GET /server_info (or /get_server_info); new reference or
 * NULL; *accept_length < 0 when unknown. */
json_t *pf_bench_server_info(runctx *c, double *accept_length);
/* --launch: start the server and wait until it is ready; 0 when it is. */
int pf_bench_launch_start(runctx *c, pf_check *srv);
/* The driver's tick while a launched server runs. */
int pf_bench_launch_tick(void *ud, char *why, size_t whylen);
/* Stop it, record bench.launch. */
void pf_bench_launch_finish(runctx *c);

#endif

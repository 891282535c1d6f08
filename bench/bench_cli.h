/* bench_cli.h -- `preflight bench`: benchmark an OpenAI-compatible or SGLang
 * server the way SGLang's bench_serving measures it (docs/bench.md). */
#ifndef PF_BENCH_CLI_H
#define PF_BENCH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/dataset.h"
#include "bench/http.h"
#include "bench/metrics.h"
#include "bench/output.h"
#include "bench/request.h"
#include "reports/output.h"
#include "core/record.h"

/* argv[0] is "bench".  Returns the exit code (docs/EXIT-CODES.md). */
int pf_bench_main(int argc, char **argv);

/* Parsed options; shared by the parser (bench_cli.c) and the run (bench_run.c). */
typedef struct pf_bench_opts {
    const char *url;                /* base URL of the server */
    const char *backend;            /* bench_serving backend name */
    const char *endpoint;           /* explicit path; overrides the backend's */
    pf_api api;
    const char *path;               /* resolved endpoint path */
    const char *model;              /* NULL: GET /v1/models */
    const char *dataset;            /* random | sharegpt | jsonl */
    const char *dataset_path;
    size_t num_prompts;
    double duration_s;              /* 0: by count */
    long random_input_len, random_output_len;
    double random_range_ratio;
    int random_ids;                 /* -1 auto (ids when the API takes them), 0 text, 1 ids */
    int32_t id_lo, id_hi;
    long sharegpt_output_len;       /* 0: from the reply */
    long default_output_len;        /* JSONL rows without a length */
    double request_rate;            /* INFINITY default */
    double burstiness;
    size_t max_concurrency;         /* 0: unlimited */
    size_t *levels;                 /* --concurrency list; n_levels 0 when not given */
    size_t n_levels;
    size_t warmup_requests;
    uint64_t seed;
    double request_timeout_s, connect_timeout_s, ready_timeout_s;
    pf_slo slo;
    bool has_slo;
    double min_goodput;             /* percent; < 0 when not given */
    const char *requests_jsonl, *sglang_jsonl, *tag;
    double metrics_interval_s;      /* 0: no scraping */
    pf_http_headers headers;        /* --header lines + Authorization (secret: never shown) */
    const char *api_key_env;        /* --api-key-env NAME; NULL: bench_serving's variables */
    json_t *extra_body;
    bool ignore_eos;
    double temperature;
    bool stream_usage;
    bool allow_missing_done;
    bool busy_poll;                 /* --busy-poll */
    size_t threads;                 /* --threads; 0: auto (per level, pf_driver_auto_threads) */
    size_t max_connect_failures;
    bool no_progress;               /* --no-progress */
    bool progress;                  /* decided from --no-progress, -q and isatty(2) */
    char **launch_argv;             /* after `--launch --` (NULL-terminated); NULL when not given */
    int launch_argc;
    const char *launch_log;         /* --launch-log FILE; NULL: a temporary file */
    /* --launch-node NAME[@HOST:PORT] -- CMD ARGS... : (repeatable), the helper
     * processes of a multi-node launch, started in order before the front
     * server (bench/launch_group.h, docs/launch.md) */
    struct pf_bench_launch_node {
        char name[64];
        char *ready_addr;           /* owned; NULL: none */
        char **argv;                /* owned array, NULL-terminated; strings borrowed from argv */
    } *launch_nodes;
    size_t n_launch_nodes;
    const char *launch_name;        /* --launch-name: the front server's node name ("front") */
    const char *launch_log_dir;     /* --launch-log-dir DIR: DIR/NODE.log for every process */
    pf_output_opts out;
} pf_bench_opts;

/* What is read and opened before anything is sent: a bad dataset or an
 * unwritable output file is a configuration error (exit 2), found before the
 * server is contacted. */
typedef struct pf_bench_inputs {
    pf_dataset ds;
    pf_jsonl *requests; /* --requests-jsonl, NULL when not asked for */
} pf_bench_inputs;

void pf_bench_opts_init(pf_bench_opts *o);
void pf_bench_opts_free(pf_bench_opts *o);
/* The --help text, from the same flag table the parser uses. */
void pf_bench_usage(FILE *f);
/* 0 ok, 1 --help was asked for, -1 usage error (err says which flag). */
int pf_bench_parse(int argc, char **argv, pf_bench_opts *o, pf_err *err);
int pf_bench_prepare(const pf_bench_opts *o, pf_bench_inputs *in, pf_err *err);
void pf_bench_inputs_free(pf_bench_inputs *in);
/* The benchmark itself, writing into run (section "bench", checks bench.*). */
void pf_bench_execute(const pf_bench_opts *o, pf_bench_inputs *in, pf_run *run);

#endif

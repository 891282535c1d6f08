/* metrics.h -- per-request results and the aggregate bench_serving reports.
 *
 * pf_metrics_compute is SGLang bench_serving's calculate_metrics (reference
 * serving-bench.md 1.4) on our per-request records: latency lists over
 * successful requests only, TPOT = (latency - ttft) / (output_len - 1) for
 * output_len > 1, ITL pooled across requests, throughputs over the whole
 * window, concurrency = sum(e2e) / duration, and the 1-second-bucket peaks.
 * Goodput follows vLLM (all given SLOs <=, TPOT taken as 0 for one-token
 * outputs), since SGLang has none.  Pure: no I/O, no clock.
 */
#ifndef PF_BENCH_METRICS_H
#define PF_BENCH_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/stats.h"

typedef enum pf_fail_kind {
    PF_FAIL_NONE = 0,
    PF_FAIL_CONNECT,     /* could not connect / resolve */
    PF_FAIL_HTTP,        /* non-200 status */
    PF_FAIL_RESET,       /* connection reset or closed mid-stream */
    PF_FAIL_TIMEOUT,     /* --request-timeout passed */
    PF_FAIL_MALFORMED,   /* a chunk that is not valid JSON of the expected shape */
    PF_FAIL_SERVER_EVENT,/* the server streamed an error object */
    PF_FAIL_NO_DONE,     /* stream ended without data: [DONE] */
    PF_FAIL_NO_CONTENT,  /* stream ended without any content-bearing event */
    PF_FAIL_NOT_SSE,     /* 200 but the body held no SSE data lines */
    PF_FAIL_CANCELLED,   /* in flight when the run was interrupted */
    PF_FAIL_OTHER,
    PF_FAIL_KIND_COUNT
} pf_fail_kind;

const char *pf_fail_kind_name(pf_fail_kind k); /* "connect", "http", ... */

typedef struct pf_req_result {
    size_t index;            /* dispatch order within the level */
    size_t row;              /* dataset row */
    bool warmup;
    bool success;
    pf_fail_kind fail;
    int http_status;         /* 0 when no response */
    char *error;             /* owned; NULL on success */
    double start;            /* CLOCK_MONOTONIC seconds when sent (after the slot) */
    double ttft;             /* seconds */
    double latency;          /* seconds: last line read - start */
    double *itl;             /* owned, seconds */
    size_t n_itl;
    long output_len;         /* usage.completion_tokens, else requested (bench_serving) */
    bool output_from_usage;
    long requested_output_len;
    long prompt_len;         /* dataset-side */
    bool prompt_len_exact;   /* token-id prompt or a declared length */
    long server_prompt_tokens; /* usage.prompt_tokens / meta_info; -1 unknown */
    size_t content_events;
    size_t text_bytes;
    long connects;           /* connections this request had to open (curl's NUM_CONNECTS):
                              * 0 = it reused a keep-alive one */
    char id[96];
} pf_req_result;

void pf_req_result_free(pf_req_result *r);

typedef struct pf_slo {
    bool ttft, tpot, e2e;    /* which are set */
    double ttft_ms, tpot_ms, e2e_ms;
} pf_slo;

/* "ttft=200,tpot=50,e2e=5000" (ms; e2el accepted for e2e).  -1 with err. */
int pf_slo_parse(const char *s, pf_slo *slo, char *err, size_t errlen);

typedef struct pf_bench_metrics {
    size_t requests;         /* results considered (sent or not) */
    size_t completed, failed;
    size_t fail_counts[PF_FAIL_KIND_COUNT];
    long long total_input;           /* dataset prompt_len over successes */
    long long total_input_server;    /* server-reported prompt tokens over successes */
    size_t n_input_server;           /* successes that reported prompt tokens */
    size_t n_input_exact;            /* successes whose prompt_len is exact */
    long long total_output;
    size_t n_output_usage;           /* successes whose output_len came from the server */
    double duration;
    double request_throughput, input_throughput, output_throughput, total_throughput;
    double concurrency;
    pf_stats_summary ttft, tpot, itl, e2e; /* seconds */
    double max_output_tokens_per_s;
    long max_concurrent_requests;
    bool has_slo;
    size_t good;
    double request_goodput;          /* good / duration (vLLM) */
    double goodput_ratio;            /* good / requests, for --min-goodput */
} pf_bench_metrics;

void pf_metrics_compute(const pf_req_result *rs, size_t n, double duration, const pf_slo *slo,
                        pf_bench_metrics *m);

/* bench_serving's result keys (ms for latencies) plus ours (failed,
 * failures, goodput, server token counts).  New reference. */
json_t *pf_metrics_json(const pf_bench_metrics *m);
/* {"http 500": {"count": 3, "examples": ["..."]}, ...} over failed results. */
json_t *pf_failures_json(const pf_req_result *rs, size_t n, size_t max_examples);
/* One request as a JSON object (the --requests-jsonl line). */
json_t *pf_req_result_json(const pf_req_result *r);

#endif

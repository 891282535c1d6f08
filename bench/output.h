/* output.h -- the files and console text a benchmark produces.
 *
 *  - per-request JSONL (--requests-jsonl): one line per finished request,
 *    flushed as it is written, so a crash keeps every finished request;
 *  - bench_serving-compatible JSONL (--sglang-jsonl): one line per level with
 *    the keys of SGLang's --output-file (reference serving-bench.md 1.7), so
 *    tooling written for bench_serving reads it;
 *  - the console block bench_serving prints ("{:<40} {:<10}" lines).
 */
#ifndef PF_BENCH_OUTPUT_H
#define PF_BENCH_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench/metrics.h"
#include "core/util.h"

typedef struct pf_jsonl pf_jsonl;

/* Open for appending; -1 with err naming the file. */
pf_jsonl *pf_jsonl_open(const char *path, pf_err *err);
/* Write one compact line and flush it.  Does not steal obj.  -1 with err on
 * a write failure (the file is then closed to further writes). */
int pf_jsonl_write(pf_jsonl *j, const json_t *obj, pf_err *err);
void pf_jsonl_close(pf_jsonl *j);

/* What a level was asked to do, as bench_serving's result keys name it. */
typedef struct pf_sglang_args {
    const char *tag;          /* NULL -> null */
    const char *backend;
    const char *dataset_name;
    double request_rate;      /* INFINITY is written as Infinity, like Python */
    long max_concurrency;     /* <= 0 -> null */
    long sharegpt_output_len; /* <= 0 -> null */
    long random_input_len, random_output_len;
    double random_range_ratio;
} pf_sglang_args;

/* The bench_serving result object.  server_info may be NULL (borrowed,
 * copied); accept_length < 0 means null. */
json_t *pf_sglang_result(const pf_sglang_args *a, const pf_bench_metrics *m,
                         const json_t *server_info, double accept_length);
/* Append it as one line; Infinity is written bare as Python's json does. */
int pf_sglang_append(const char *path, const json_t *result, pf_err *err);

/* bench_serving's console block for one level, plus our failed count. */
void pf_print_summary(FILE *f, const char *backend, double request_rate, long max_concurrency,
                      const pf_bench_metrics *m, double accept_length);

#endif

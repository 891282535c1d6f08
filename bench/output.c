/* output.c -- JSONL writers and the console summary (see output.h). */
#include "bench/output.h"
#include "core/file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pf_jsonl {
    FILE *f;
    char *path;
};

pf_jsonl *pf_jsonl_open(const char *path, pf_err *err)
{
    FILE *f = pf_file_append(path, err); /* never blocks on a FIFO, follows links */
    if (!f)
        return NULL;
    pf_jsonl *j = pf_xcalloc(1, sizeof *j);
    j->f = f;
    j->path = pf_xstrdup(path);
    return j;
}

int pf_jsonl_write(pf_jsonl *j, const json_t *obj, pf_err *err)
{
    if (!j->f)
        return pf_err_set(err, "%s: closed after an earlier write error", j->path);
    char *s = json_dumps(obj, JSON_COMPACT);
    if (!s)
        return pf_err_set(err, "%s: cannot serialise a record", j->path);
    int rc = 0;
    if (fputs(s, j->f) == EOF || fputc('\n', j->f) == EOF || fflush(j->f) == EOF) {
        rc = pf_err_errno(err, errno, "write to %s failed", j->path);
        fclose(j->f);
        j->f = NULL;
    }
    free(s);
    return rc;
}

void pf_jsonl_close(pf_jsonl *j)
{
    if (!j)
        return;
    if (j->f)
        fclose(j->f);
    free(j->path);
    free(j);
}

#define INF_MARK "__pf_python_infinity__"

static json_t *jr(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *pf_sglang_result(const pf_sglang_args *a, const pf_bench_metrics *m,
                         const json_t *server_info, double accept_length)
{
    json_t *o = json_object();
    json_object_set_new(o, "tag", a->tag ? json_string(a->tag) : json_null());
    json_object_set_new(o, "backend", json_string(a->backend));
    json_object_set_new(o, "dataset_name", json_string(a->dataset_name));
    json_object_set_new(o, "request_rate",
                        isfinite(a->request_rate) ? json_real(a->request_rate) : json_string(INF_MARK));
    json_object_set_new(o, "max_concurrency",
                        a->max_concurrency > 0 ? json_integer(a->max_concurrency) : json_null());
    json_object_set_new(o, "sharegpt_output_len",
                        a->sharegpt_output_len > 0 ? json_integer(a->sharegpt_output_len) : json_null());
    json_object_set_new(o, "random_input_len", json_integer(a->random_input_len));
    json_object_set_new(o, "random_output_len", json_integer(a->random_output_len));
    json_object_set_new(o, "random_range_ratio", json_real(a->random_range_ratio));
    json_object_set_new(o, "server_info", server_info ? json_deep_copy(server_info) : json_null());
    json_object_set_new(o, "duration", jr(m->duration));
    json_object_set_new(o, "completed", json_integer((json_int_t)m->completed));
    json_object_set_new(o, "total_input_tokens", json_integer(m->total_input));
    json_object_set_new(o, "total_input_text_tokens", json_integer(m->total_input));
    json_object_set_new(o, "total_input_vision_tokens", json_integer(0));
    json_object_set_new(o, "total_output_tokens", json_integer(m->total_output));
    /* no tokenizer here: not retokenized, so no number rather than a made-up one */
    json_object_set_new(o, "total_output_tokens_retokenized", json_null());
    json_object_set_new(o, "request_throughput", jr(m->request_throughput));
    json_object_set_new(o, "input_throughput", jr(m->input_throughput));
    json_object_set_new(o, "output_throughput", jr(m->output_throughput));
    json_object_set_new(o, "total_throughput", jr(m->total_throughput));
    json_t *mj = pf_metrics_json(m);
    static const char *const groups[] = {"e2e_latency", "ttft", "tpot", "itl"};
    static const char *const stats[] = {"mean", "median", "std", "p90", "p95", "p99"};
    char k[64];
    for (size_t g = 0; g < 4; g++)
        for (size_t s = 0; s < 6; s++) {
            snprintf(k, sizeof k, "%s_%s_ms", stats[s], groups[g]);
            json_object_set(o, k, json_object_get(mj, k));
        }
    json_decref(mj);
    json_object_set_new(o, "concurrency", jr(m->concurrency));
    json_object_set_new(o, "accept_length", accept_length >= 0 ? json_real(accept_length) : json_null());
    json_object_set_new(o, "max_output_tokens_per_s", jr(m->max_output_tokens_per_s));
    json_object_set_new(o, "max_concurrent_requests", json_integer(m->max_concurrent_requests));
    return o;
}

int pf_sglang_append(const char *path, const json_t *result, pf_err *err)
{
    char *s = json_dumps(result, JSON_COMPACT);
    if (!s)
        return pf_err_set(err, "cannot serialise the bench_serving result");
    /* json.dumps writes float('inf') as the bare token Infinity */
    char *mark = strstr(s, "\"" INF_MARK "\"");
    if (mark) {
        size_t ml = strlen("\"" INF_MARK "\"");
        memcpy(mark, "Infinity", 8);
        memmove(mark + 8, mark + ml, strlen(mark + ml) + 1);
    }
    /* bench_serving separates keys with ", " and ": " (json.dumps defaults) --
     * irrelevant to parsers, so compact output is kept. */
    FILE *f = pf_file_append(path, err);
    int rc = 0;
    if (!f) {
        rc = -1;
    } else {
        if (fputs(s, f) == EOF || fputc('\n', f) == EOF)
            rc = pf_err_errno(err, errno, "write to %s failed", path);
        if (fclose(f) != 0 && rc == 0)
            rc = pf_err_errno(err, errno, "write to %s failed", path);
    }
    free(s);
    return rc;
}

static void line_s(FILE *f, const char *label, const char *v)
{
    fprintf(f, "%-40s %-10s\n", label, v);
}

static void line_d(FILE *f, const char *label, long long v)
{
    fprintf(f, "%-40s %-10lld\n", label, v);
}

static void line_f(FILE *f, const char *label, double v)
{
    fprintf(f, "%-40s %-10.2f\n", label, v);
}

static void rule(FILE *f, const char *title, char c)
{
    size_t n = strlen(title), w = 50;
    size_t left = n < w ? (w - n) / 2 : 0, right = n < w ? w - n - left : 0;
    for (size_t i = 0; i < left; i++)
        fputc(c, f);
    fputs(title, f);
    for (size_t i = 0; i < right; i++)
        fputc(c, f);
    fputc('\n', f);
}

static void section(FILE *f, const char *title, const char *name, const pf_stats_summary *s,
                    bool with_max)
{
    char l[64];
    rule(f, title, '-');
    static const char *const what[] = {"Mean", "Median", "P90", "P95", "P99"};
    double v[] = {s->mean, s->median, s->p90, s->p95, s->p99};
    for (int i = 0; i < 5; i++) {
        snprintf(l, sizeof l, "%s %s (ms):", what[i], name);
        line_f(f, l, v[i] * 1000.0);
    }
    if (with_max) {
        snprintf(l, sizeof l, "Max %s (ms):", name);
        line_f(f, l, s->max * 1000.0);
    }
}

void pf_print_summary(FILE *f, const char *backend, double request_rate, long max_concurrency,
                      const pf_bench_metrics *m, double accept_length)
{
    char v[64];
    fputc('\n', f);
    rule(f, " Serving Benchmark Result ", '=');
    line_s(f, "Backend:", backend);
    if (isfinite(request_rate))
        snprintf(v, sizeof v, "%g", request_rate);
    else
        snprintf(v, sizeof v, "inf");
    line_s(f, "Traffic request rate:", v);
    if (max_concurrency > 0)
        line_d(f, "Max request concurrency:", max_concurrency);
    else
        line_s(f, "Max request concurrency:", "not set");
    line_d(f, "Successful requests:", (long long)m->completed);
    line_d(f, "Failed requests:", (long long)m->failed);
    line_f(f, "Benchmark duration (s):", m->duration);
    line_d(f, "Total input tokens:", m->total_input);
    line_d(f, "Total generated tokens:", m->total_output);
    line_f(f, "Request throughput (req/s):", m->request_throughput);
    line_f(f, "Input token throughput (tok/s):", m->input_throughput);
    line_f(f, "Output token throughput (tok/s):", m->output_throughput);
    line_f(f, "Peak output token throughput (tok/s):", m->max_output_tokens_per_s);
    line_d(f, "Peak concurrent requests:", m->max_concurrent_requests);
    line_f(f, "Total token throughput (tok/s):", m->total_throughput);
    line_f(f, "Concurrency:", m->concurrency);
    if (accept_length > 0)
        line_f(f, "Accept length:", accept_length);
    if (m->has_slo) {
        line_f(f, "Request goodput (req/s):", m->request_goodput);
        line_f(f, "Requests meeting all SLOs (%):", m->goodput_ratio * 100.0);
    }
    section(f, "End-to-End Latency", "E2E Latency", &m->e2e, false);
    section(f, "Time to First Token", "TTFT", &m->ttft, false);
    section(f, "Time per Output Token (excl. 1st token)", "TPOT", &m->tpot, false);
    section(f, "Inter-Token Latency", "ITL", &m->itl, true);
    for (int i = 0; i < 50; i++)
        fputc('=', f);
    fputc('\n', f);
}

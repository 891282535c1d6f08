/* bench_cli.c -- `preflight bench` flags (see bench_cli.h, docs/bench.md). */
#include "bench/bench_cli.h"
#include "reports/console.h"

#include "bench/driver.h"
#include "bench/launch_group.h"
#include "core/flags.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the flags: one table for the parser and --help -------------------- */

#define OFF(field) .off = offsetof(pf_bench_opts, field)

static int set_header(void *opts, const char *name, const char *v, pf_err *err);
static int set_duration(void *opts, const char *name, const char *v, pf_err *err);
static int set_levels(void *opts, const char *name, const char *v, pf_err *err);
static int set_request_rate(void *opts, const char *name, const char *v, pf_err *err);
static int set_burstiness(void *opts, const char *name, const char *v, pf_err *err);
static int set_threads(void *opts, const char *name, const char *v, pf_err *err);
static int set_seed(void *opts, const char *name, const char *v, pf_err *err);
static int set_dataset(void *opts, const char *name, const char *v, pf_err *err);
static int set_range_ratio(void *opts, const char *name, const char *v, pf_err *err);
static int set_random_prompt(void *opts, const char *name, const char *v, pf_err *err);
static int set_token_id_range(void *opts, const char *name, const char *v, pf_err *err);
static int set_extra_body(void *opts, const char *name, const char *v, pf_err *err);
static int set_slo(void *opts, const char *name, const char *v, pf_err *err);
static int set_min_goodput(void *opts, const char *name, const char *v, pf_err *err);
static int set_metrics_interval(void *opts, const char *name, const char *v, pf_err *err);
static int set_launch_name(void *opts, const char *name, const char *v, pf_err *err);
static int set_launch_log_dir(void *opts, const char *name, const char *v, pf_err *err);

static const pf_flag FLAGS[] = {
    PF_FLAGS_SECTION("server:"),
    {PF_FLAG_STR, "--url", "URL", "base URL, e.g. http://127.0.0.1:30000", OFF(url)},
    {PF_FLAG_STR, "--backend", "NAME",
     "sglang|sglang-native (/generate), sglang-oai|vllm|lmdeploy\n"
     "(/v1/completions), sglang-oai-chat|vllm-chat|lmdeploy-chat\n"
     "(/v1/chat/completions); default sglang-oai", OFF(backend)},
    {PF_FLAG_STR, "--endpoint", "PATH", "request path; the API follows from its ending", OFF(endpoint)},
    {PF_FLAG_STR, "--model", "NAME", "default: the first model of GET /v1/models", OFF(model)},
    {PF_FLAG_FN, "--header", "K=V", "extra request header (repeatable), sent on every request", .fn = set_header},
    {PF_FLAG_STR, "--api-key-env", "NAME",
     "send Authorization: Bearer $NAME on every request; default\n"
     "as bench_serving: Bearer $OPENAI_API_KEY, else $API_KEY as\n"
     "it is (a key is never taken from the command line, printed\n"
     "or recorded)", OFF(api_key_env)},
    {PF_FLAG_DOUBLE, "--ready-timeout", "S",
     "poll GET /v1/models up to S seconds before starting (0);\n"
     "with --launch: the whole wait for the server to be ready", OFF(ready_timeout_s)},
    {PF_FLAG_DOC, "--launch", "-- CMD ARGS...",
     "start the server with CMD (last option), wait until it is\n"
     "ready (--ready-timeout, default 1800 s), stop it after", .fn = NULL},
    {PF_FLAG_STR, "--launch-log", "FILE", "the launched server's log (default: a file in /tmp)", OFF(launch_log)},
    {PF_FLAG_DOC, "--launch-node", "NAME[@HOST:PORT] -- CMD ARGS... :",
     "a helper process of a multi-node launch (repeatable, started\n"
     "in order before the --launch server; ':' ends its command, as\n"
     "in srun's heterogeneous jobs). CMD reaches the node itself\n"
     "(ssh NODE ..., srun -w NODE ..., ip netns exec NODE ...);\n"
     "ready when HOST:PORT accepts TCP; watched and stopped with\n"
     "the server; the record names the node that ended first", .fn = NULL},
    {PF_FLAG_FN, "--launch-name", "NAME", "the --launch server's node name in the record (front)", .fn = set_launch_name},
    {PF_FLAG_FN, "--launch-log-dir", "DIR", "every launched process logs to DIR/NAME.log", .fn = set_launch_log_dir},
    PF_FLAGS_SECTION(""),
    PF_FLAGS_SECTION("load:"),
    {PF_FLAG_SIZE, "--num-prompts", "N", "requests per level (1000)", OFF(num_prompts), 1, 100000000},
    {PF_FLAG_FN, "--duration", "S", "instead: send for S seconds (dataset rows are reused)", .fn = set_duration},
    {PF_FLAG_FN, "--concurrency", "LIST", "closed loop, one level per value: 1,8,64", .fn = set_levels},
    {PF_FLAG_FN, "--request-rate", "R",
     "open loop, requests/s (inf: all at once, the default);\n"
     "at least one request per day", .fn = set_request_rate},
    {PF_FLAG_FN, "--burstiness", "B", "gamma shape of the arrival gaps, 1 = Poisson (vLLM)", .fn = set_burstiness},
    {PF_FLAG_SIZE, "--max-concurrency", "N", "cap on requests in flight in open loop", OFF(max_concurrency), 1, 1000000},
    {PF_FLAG_SIZE, "--warmup-requests", "N", "before each level, not measured (1); max tokens min(len,32)",
     OFF(warmup_requests), 0, 100000},
    {PF_FLAG_FN, "--seed", "N", "dataset and arrival randomness (42)", .fn = set_seed},
    {PF_FLAG_DOUBLE, "--request-timeout", "S", "deadline per request (300)", OFF(request_timeout_s), 0.001},
    {PF_FLAG_DOUBLE, "--connect-timeout", "S", "deadline per connection attempt (10)", OFF(connect_timeout_s), 0.001},
    {PF_FLAG_SIZE, "--max-connect-failures", "N", "abort a level after N requests in a row cannot connect (20)",
     OFF(max_connect_failures), 0, 100000000},
    {PF_FLAG_SET, "--busy-poll", NULL,
     "spin instead of sleeping while requests are in flight: uses a\n"
     "whole core per thread, removes the wake-up latency from stamps", OFF(busy_poll)},
    {PF_FLAG_FN, "--threads", "N|auto",
     "client event-loop threads, 1-64 (auto); the streams are spread\n"
     "over them, the concurrency limit and arrival schedule stay\n"
     "global; auto: one per 128 streams, at most half the usable CPUs", .fn = set_threads},
    PF_FLAGS_SECTION(""),
    PF_FLAGS_SECTION("dataset:"),
    {PF_FLAG_FN, "--dataset", "random|sharegpt|jsonl", "(random)", .fn = set_dataset},
    {PF_FLAG_FN, "--dataset-name", "NAME", NULL, .fn = set_dataset}, /* bench_serving's name */
    {PF_FLAG_STR, "--dataset-path", "FILE", "ShareGPT JSON or JSONL prompts", OFF(dataset_path)},
    {PF_FLAG_LONG, "--random-input-len", "N", "(1024)", OFF(random_input_len), 1, 10000000},
    {PF_FLAG_LONG, "--random-output-len", "N", "(1024)", OFF(random_output_len), 1, 10000000},
    {PF_FLAG_FN, "--random-range-ratio", "R", "lengths uniform in [max(int(L*R),1), L] (0.0)", .fn = set_range_ratio},
    {PF_FLAG_FN, "--random-prompt", "ids|text", "token ids where the API takes them (default), else words",
     .fn = set_random_prompt},
    {PF_FLAG_FN, "--token-id-range", "LO:HI", "random token ids from [LO, HI) (1000:30000)", .fn = set_token_id_range},
    {PF_FLAG_LONG, "--sharegpt-output-len", "N", "fixed output length for ShareGPT rows",
     OFF(sharegpt_output_len), 1, 10000000},
    {PF_FLAG_LONG, "--default-output-len", "N", "JSONL rows without output_len (256)",
     OFF(default_output_len), 1, 10000000},
    PF_FLAGS_SECTION(""),
    PF_FLAGS_SECTION("request body:"),
    {PF_FLAG_FN, "--extra-request-body", "JSON", "merged into every body", .fn = set_extra_body},
    {PF_FLAG_CLEAR, "--disable-ignore-eos", NULL, "do not send ignore_eos: true", OFF(ignore_eos)},
    {PF_FLAG_DOUBLE, "--temperature", "T", "(0.0)", OFF(temperature), 0},
    {PF_FLAG_CLEAR, "--no-stream-usage", NULL, "do not ask for stream_options.include_usage", OFF(stream_usage)},
    {PF_FLAG_SET, "--allow-missing-done", NULL, "accept streams that end without data: [DONE]",
     OFF(allow_missing_done)},
    PF_FLAGS_SECTION(""),
    PF_FLAGS_SECTION("results:"),
    {PF_FLAG_FN, "--slo", "ttft=MS,tpot=MS,e2e=MS", "goodput: requests meeting every given SLO (vLLM)", .fn = set_slo},
    {PF_FLAG_FN, "--min-goodput", "PCT", "check bench.goodput fails below PCT % of requests", .fn = set_min_goodput},
    {PF_FLAG_STR, "--requests-jsonl", "FILE", "one line per finished request, appended and flushed",
     OFF(requests_jsonl)},
    {PF_FLAG_STR, "--sglang-jsonl", "FILE", "one bench_serving result line per level, appended", OFF(sglang_jsonl)},
    {PF_FLAG_STR, "--tag", "TAG", "bench_serving's tag field", OFF(tag)},
    {PF_FLAG_FN, "--metrics-interval", "S", "scrape GET /metrics every S s (sglang:*, vllm:* series)",
     .fn = set_metrics_interval},
    {PF_FLAG_SET, "--no-progress", NULL, "no progress line on stderr", OFF(no_progress)},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])
#define HELP_COL 28

void pf_bench_usage(FILE *f)
{
    fputs("usage: preflight bench --url URL [options]\n"
          "\n"
          "Benchmark a running LLM server (SGLang, vLLM, llama.cpp) over its streaming\n"
          "HTTP API, with SGLang bench_serving's metric definitions (docs/bench.md).\n"
          "\n",
          f);
    pf_flags_help(f, FLAGS, NFLAGS, 0, HELP_COL);
    fputs(pf_output_flags_help(), f);
    fputs("\n"
          "exit: 0 all requests succeeded (and goodput met), 1 a bench.* check failed,\n"
          "      2 usage error, 3 the run could not complete (server unreachable, all failed).\n",
          f);
}

void pf_bench_opts_init(pf_bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = "sglang-oai";
    o->dataset = "random";
    o->num_prompts = 1000;
    o->random_input_len = 1024;
    o->random_output_len = 1024;
    o->random_range_ratio = 0.0;
    o->random_ids = -1;
    o->id_lo = 1000;
    o->id_hi = 30000;
    o->default_output_len = 256;
    o->request_rate = INFINITY;
    o->burstiness = 1.0;
    o->warmup_requests = 1;
    o->seed = 42;
    o->request_timeout_s = 300;
    o->connect_timeout_s = 10;
    o->min_goodput = -1;
    o->ignore_eos = true;
    o->stream_usage = true;
    o->max_connect_failures = 20;
    o->threads = 0; /* auto */
    pf_http_headers_init(&o->headers);
    pf_output_opts_init(&o->out);
}

void pf_bench_opts_free(pf_bench_opts *o)
{
    for (size_t i = 0; i < o->n_launch_nodes; i++) {
        free(o->launch_nodes[i].ready_addr);
        free(o->launch_nodes[i].argv);
    }
    free(o->launch_nodes);
    free(o->levels);
    pf_http_headers_free(&o->headers);
    json_decref(o->extra_body);
    memset(o, 0, sizeof *o);
}

static bool is(const char *a, const char *name)
{
    return strcmp(a, name) == 0;
}

static int set_header(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    return pf_http_headers_add(&o->headers, v, err);
}

static int set_duration(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, false, &d, err) < 0)
        return -1;
    if (d <= 0)
        return pf_err_set(err, "--duration must be positive");
    o->duration_s = d;
    return 0;
}

/* "1,8,64": every element an integer; an empty one ("1,,2", "1,", ",1")
 * is a typo, not a level to skip. */
static int set_levels(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    free(o->levels);
    o->levels = NULL;
    o->n_levels = 0;
    if (!*v)
        return pf_err_set(err, "--concurrency needs a list such as 1,8,64");
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return pf_err_set(err, "--concurrency '%s' has an empty element (expected a list such as 1,8,64)",
                              v);
        char *t = pf_xasprintf("%.*s", (int)len, p);
        long l;
        int r = pf_flags_long(name, t, 1, 1000000, &l, err);
        free(t);
        if (r < 0)
            return -1;
        o->levels = pf_xrealloc(o->levels, (o->n_levels + 1) * sizeof *o->levels);
        o->levels[o->n_levels++] = (size_t)l;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* The slowest rate accepted: one request a day.  Arrival gaps have mean
 * 1/rate, so at 1e-300 requests/s the first request would be due in 1e300 s:
 * the run would send nothing, ever, and only --duration would end it. */
#define MIN_REQUEST_RATE (1.0 / 86400.0)

static int set_request_rate(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, true, &d, err) < 0)
        return -1;
    if (d <= 0)
        return pf_err_set(err, "--request-rate must be positive (or inf)");
    if (d < MIN_REQUEST_RATE)
        return pf_err_set(err, "--request-rate %s is below one request per day: the first request "
                          "would be due in about %.3g s, so nothing would ever be sent", v, 1.0 / d);
    o->request_rate = d;
    return 0;
}

static int set_burstiness(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, true, &d, err) < 0)
        return -1;
    if (d <= 0)
        return pf_err_set(err, "--burstiness must be positive");
    o->burstiness = d;
    return 0;
}

static int set_threads(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    if (is(v, "auto")) {
        o->threads = 0;
        return 0;
    }
    char *end;
    errno = 0;
    long t = strtol(v, &end, 10);
    if (end == v || *end || errno || t < 1 || t > PF_DRIVER_MAX_THREADS)
        return pf_err_set(err, "--threads: '%s' is not an integer in [1, %d] or auto", v,
                          PF_DRIVER_MAX_THREADS);
    o->threads = (size_t)t;
    return 0;
}

static int set_seed(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    long l = 0;
    if (pf_flags_long(name, v, 0, 0x7fffffffffffffffL, &l, err) < 0)
        return -1;
    o->seed = (uint64_t)l;
    return 0;
}

static int set_dataset(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    if (!is(v, "random") && !is(v, "sharegpt") && !is(v, "jsonl"))
        return pf_err_set(err, "%s: '%s' is not random, sharegpt or jsonl", name, v);
    o->dataset = v;
    return 0;
}

static int set_range_ratio(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, false, &d, err) < 0)
        return -1;
    if (d > 1)
        return pf_err_set(err, "--random-range-ratio %g is outside [0, 1]", d);
    o->random_range_ratio = d;
    return 0;
}

static int set_random_prompt(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    if (!is(v, "ids") && !is(v, "text"))
        return pf_err_set(err, "--random-prompt: '%s' is not ids or text", v);
    o->random_ids = is(v, "ids");
    return 0;
}

static int set_token_id_range(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    long lo, hi;
    const char *colon = strchr(v, ':');
    if (!colon)
        return pf_err_set(err, "--token-id-range: '%s' is not LO:HI", v);
    char *lo_s = pf_xasprintf("%.*s", (int)(colon - v), v);
    int r = pf_flags_long(name, lo_s, 0, INT32_MAX, &lo, err);
    free(lo_s);
    if (r < 0 || pf_flags_long(name, colon + 1, 1, INT32_MAX, &hi, err) < 0)
        return -1;
    if (hi <= lo)
        return pf_err_set(err, "--token-id-range: empty range %ld:%ld", lo, hi);
    o->id_lo = (int32_t)lo;
    o->id_hi = (int32_t)hi;
    return 0;
}

static int set_extra_body(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    json_error_t je;
    json_decref(o->extra_body);
    o->extra_body = json_loads(v, 0, &je);
    if (!o->extra_body || !json_is_object(o->extra_body))
        return pf_err_set(err, "--extra-request-body is not a JSON object: %s",
                          o->extra_body ? "not an object" : je.text);
    return 0;
}

static int set_slo(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    char msg[256];
    if (pf_slo_parse(v, &o->slo, msg, sizeof msg) < 0)
        return pf_err_set(err, "%s", msg);
    o->has_slo = true;
    return 0;
}

static int set_min_goodput(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, false, &d, err) < 0)
        return -1;
    if (d > 100)
        return pf_err_set(err, "--min-goodput is a percentage (0-100), got %s", v);
    o->min_goodput = d;
    return 0;
}

static int set_metrics_interval(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    double d = 0;
    if (pf_flags_double(name, v, 0, false, &d, err) < 0)
        return -1;
    if (d < 0.05)
        return pf_err_set(err, "--metrics-interval must be at least 0.05 s");
    o->metrics_interval_s = d;
    return 0;
}

static int set_launch_name(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    if (!pf_launch_group_name_ok(v))
        return pf_err_set(err, "--launch-name '%s': 1-63 of letters, digits, '.', '_', '-'", v);
    o->launch_name = v;
    return 0;
}

static int set_launch_log_dir(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_bench_opts *o = opts;
    (void)name;
    if (!pf_is_dir(v))
        return pf_err_set(err, "--launch-log-dir %s: not a directory", v);
    o->launch_log_dir = v;
    return 0;
}

/* --launch-node NAME[@HOST:PORT] -- CMD ARGS... :  (*i at --launch-node;
 * left at the ':') */
static int parse_launch_node(pf_bench_opts *o, int argc, char **argv, int *i, pf_err *err)
{
    const char *usage_line = "--launch-node NAME[@HOST:PORT] -- CMD ARGS... :";
    if (*i + 2 >= argc || !is(argv[*i + 2], "--"))
        return pf_err_set(err, "expected %s", usage_line);
    const char *spec = argv[*i + 1];
    const char *at = strchr(spec, '@');
    size_t nl = at ? (size_t)(at - spec) : strlen(spec);
    char name[64];
    if (nl == 0 || nl >= sizeof name)
        return pf_err_set(err, "--launch-node '%s': the node name must be 1-63 characters", spec);
    memcpy(name, spec, nl);
    name[nl] = '\0';
    if (!pf_launch_group_name_ok(name))
        return pf_err_set(err, "--launch-node '%s': the node name takes letters, digits, '.', '_', '-'", spec);
    for (size_t k = 0; k < o->n_launch_nodes; k++)
        if (is(o->launch_nodes[k].name, name))
            return pf_err_set(err, "--launch-node %s given twice", name);
    if (at) {
        char host[256];
        int port;
        pf_err e = {{0}};
        if (pf_launch_group_parse_addr(at + 1, host, sizeof host, &port, &e) < 0)
            return pf_err_set(err, "--launch-node %s: %s", name, e.msg);
    }
    int start = *i + 3, end = start;
    while (end < argc && !is(argv[end], ":"))
        end++;
    if (end >= argc)
        return pf_err_set(err, "--launch-node %s: its command must end with a lone ':' (%s)", name, usage_line);
    if (end == start)
        return pf_err_set(err, "--launch-node %s: no command between -- and ':'", name);
    if (o->n_launch_nodes + 1 >= PF_LAUNCH_GROUP_MAX)
        return pf_err_set(err, "more than %d --launch-node", PF_LAUNCH_GROUP_MAX - 1);
    o->launch_nodes = pf_xrealloc(o->launch_nodes, (o->n_launch_nodes + 1) * sizeof *o->launch_nodes);
    struct pf_bench_launch_node *n = &o->launch_nodes[o->n_launch_nodes++];
    memset(n, 0, sizeof *n);
    pf_strlcpy(n->name, name, sizeof n->name);
    n->ready_addr = at ? pf_xstrdup(at + 1) : NULL;
    n->argv = pf_xcalloc((size_t)(end - start) + 1, sizeof *n->argv);
    for (int k = start; k < end; k++)
        n->argv[k - start] = argv[k];
    *i = end;
    return 0;
}

static int finish_opts(pf_bench_opts *o, pf_err *err)
{
    if (!o->url)
        return pf_err_set(err, "--url is required (the server's base URL, e.g. http://127.0.0.1:30000)");
    if (pf_url_check(o->url, err) < 0)
        return -1;
    const char *bpath = NULL;
    pf_api bapi;
    if (pf_backend_lookup(o->backend, &bapi, &bpath) < 0)
        return pf_err_set(err, "--backend '%s' is not one of sglang, sglang-native, sglang-oai, "
                          "sglang-oai-chat, vllm, vllm-chat, lmdeploy, lmdeploy-chat", o->backend);
    o->api = bapi;
    o->path = bpath;
    if (o->endpoint) {
        if (o->endpoint[0] != '/')
            return pf_err_set(err, "--endpoint '%s' must start with /", o->endpoint);
        if (pf_api_from_path(o->endpoint, &o->api) < 0)
            o->api = bapi; /* unknown ending: the backend says how to talk to it */
        o->path = o->endpoint;
    }
    if (is(o->dataset, "random")) {
        if (o->dataset_path)
            return pf_err_set(err, "--dataset-path is for sharegpt and jsonl datasets");
    } else if (!o->dataset_path) {
        return pf_err_set(err, "--dataset %s needs --dataset-path FILE", o->dataset);
    }
    if (o->random_ids == 1 && !pf_api_takes_ids(o->api))
        return pf_err_set(err, "--random-prompt ids: the chat API takes text prompts only");
    if (o->random_ids < 0)
        o->random_ids = pf_api_takes_ids(o->api);
    if (o->n_levels && (isfinite(o->request_rate) || o->max_concurrency))
        return pf_err_set(err, "--concurrency (closed loop) excludes --request-rate and "
                          "--max-concurrency (open loop)");
    if (o->duration_s > 0 && !isfinite(o->request_rate) && !o->max_concurrency && !o->n_levels)
        return pf_err_set(err, "--duration needs --concurrency, or --request-rate, or "
                          "--max-concurrency (an infinite rate would send without bound)");
    if (o->min_goodput >= 0 && !o->has_slo)
        return pf_err_set(err, "--min-goodput needs --slo");
    if (o->burstiness != 1.0 && !isfinite(o->request_rate))
        return pf_err_set(err, "--burstiness applies to a finite --request-rate only");
    if (o->launch_argv && o->launch_argc == 0)
        return pf_err_set(err, "--launch needs -- CMD ARGS...");
    if (o->n_launch_nodes && !o->launch_argv)
        return pf_err_set(err, "--launch-node starts helpers of a server: also give the server with "
                          "--launch -- CMD ARGS... (last)");
    for (size_t i = 0; i < o->n_launch_nodes; i++)
        if (o->launch_name && strcmp(o->launch_name, o->launch_nodes[i].name) == 0)
            return pf_err_set(err, "--launch-name %s is also a --launch-node name", o->launch_name);
    /* The Authorization header every request sends (bench/http.h). */
    return pf_http_headers_add_auth(&o->headers, o->api_key_env, err);
}

int pf_bench_parse(int argc, char **argv, pf_bench_opts *o, pf_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pf_output_parse_flag(&o->out, argc, argv, &i, err);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (is(a, "-h") || is(a, "--help"))
            return 1;
        if (is(a, "--launch-node")) {
            if (parse_launch_node(o, argc, argv, &i, err) < 0)
                return -1;
            continue;
        }
        if (is(a, "--launch")) {
            if (i + 1 >= argc || !is(argv[i + 1], "--"))
                return pf_err_set(err, "--launch must be followed by -- CMD ARGS...");
            o->launch_argv = argv + i + 2;
            o->launch_argc = argc - i - 2;
            break; /* everything after -- belongs to the server command */
        }
        /* "--flag value" or "--flag=value" */
        r = pf_flags_take(FLAGS, NFLAGS, 0, PF_FLAGS_EQ, o, argc, argv, &i, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return pf_err_set(err, "unknown option %s (see preflight bench --help)", a);
    }
    return finish_opts(o, err);
}

/* Errors quote paths and server text: escaped for the terminal. */
static void print_err(const char *msg)
{
    char *safe = pf_console_escape(msg);
    fprintf(stderr, "preflight bench: %s\n", safe);
    free(safe);
}

int pf_bench_main(int argc, char **argv)
{
    pf_bench_opts o;
    pf_bench_opts_init(&o);
    pf_err err = {{0}};
    int r = pf_bench_parse(argc, argv, &o, &err);
    if (r == 1) {
        pf_bench_usage(stdout);
        pf_bench_opts_free(&o);
        return PF_EXIT_OK;
    }
    if (r < 0) {
        print_err(err.msg);
        pf_bench_opts_free(&o);
        return PF_EXIT_USAGE;
    }
    o.progress = !o.no_progress && o.out.verbosity >= 0 && isatty(STDERR_FILENO);
    pf_bench_inputs in;
    if (pf_bench_prepare(&o, &in, &err) < 0) {
        print_err(err.msg);
        pf_bench_opts_free(&o);
        return PF_EXIT_USAGE;
    }
    /* The record keeps the command line, with secrets (a --header
     * Authorization value, the server's --api-key) replaced. */
    char **shown = pf_xcalloc((size_t)argc + 1, sizeof *shown);
    for (int i = 0; i < argc; i++)
        shown[i] = pf_http_redact_arg(i ? argv[i - 1] : NULL, argv[i]);
    pf_run *run = pf_run_new(argc, shown);
    for (int i = 0; i < argc; i++)
        free(shown[i]);
    free(shown);
    pf_bench_execute(&o, &in, run);
    int rc = pf_output_finish(run, &o.out);
    pf_run_free(run);
    pf_bench_inputs_free(&in);
    pf_bench_opts_free(&o);
    return rc;
}

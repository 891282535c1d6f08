/* bench_cli.c -- `preflight bench` flags (see bench_cli.h, docs/bench.md). */
#include "bench/bench_cli.h"

#include "bench/driver.h"
#include "bench/launch_group.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
"usage: preflight bench --url URL [options]\n"
"\n"
"Benchmark a running LLM server (SGLang, vLLM, llama.cpp) over its streaming\n"
"HTTP API, with SGLang bench_serving's metric definitions (docs/bench.md).\n"
"\n"
"server:\n"
"  --url URL                 base URL, e.g. http://127.0.0.1:30000\n"
"  --backend NAME            sglang|sglang-native (/generate), sglang-oai|vllm|lmdeploy\n"
"                            (/v1/completions), sglang-oai-chat|vllm-chat|lmdeploy-chat\n"
"                            (/v1/chat/completions); default sglang-oai\n"
"  --endpoint PATH           request path; the API follows from its ending\n"
"  --model NAME              default: the first model of GET /v1/models\n"
"  --header K=V              extra request header (repeatable); $OPENAI_API_KEY or\n"
"                            $API_KEY add an Authorization header as bench_serving does\n"
"  --ready-timeout S         poll GET /v1/models up to S seconds before starting (0);\n"
"                            with --launch: the whole wait for the server to be ready\n"
"  --launch -- CMD ARGS...   start the server with CMD (last option), wait until it is\n"
"                            ready (--ready-timeout, default 1800 s), stop it after\n"
"  --launch-log FILE         the launched server's log (default: a file in /tmp)\n"
"  --launch-node NAME[@HOST:PORT] -- CMD ARGS... :\n"
"                            a helper process of a multi-node launch (repeatable, started\n"
"                            in order before the --launch server; ':' ends its command, as\n"
"                            in srun's heterogeneous jobs). CMD reaches the node itself\n"
"                            (ssh NODE ..., srun -w NODE ..., ip netns exec NODE ...);\n"
"                            ready when HOST:PORT accepts TCP; watched and stopped with\n"
"                            the server; the record names the node that ended first\n"
"  --launch-name NAME        the --launch server's node name in the record (front)\n"
"  --launch-log-dir DIR      every launched process logs to DIR/NAME.log\n"
"\n"
"load:\n"
"  --num-prompts N           requests per level (1000)\n"
"  --duration S              instead: send for S seconds (dataset rows are reused)\n"
"  --concurrency LIST        closed loop, one level per value: 1,8,64\n"
"  --request-rate R          open loop, requests/s (inf: all at once, the default)\n"
"  --burstiness B            gamma shape of the arrival gaps, 1 = Poisson (vLLM)\n"
"  --max-concurrency N       cap on requests in flight in open loop\n"
"  --warmup-requests N       before each level, not measured (1); max tokens min(len,32)\n"
"  --seed N                  dataset and arrival randomness (42)\n"
"  --request-timeout S       deadline per request (300)\n"
"  --connect-timeout S       deadline per connection attempt (10)\n"
"  --max-connect-failures N  abort a level after N requests in a row cannot connect (20)\n"
"  --busy-poll               spin instead of sleeping while requests are in flight: uses a\n"
"                            whole core per thread, removes the wake-up latency from stamps\n"
"  --threads N|auto          client event-loop threads, 1-64 (auto); the streams are spread\n"
"                            over them, the concurrency limit and arrival schedule stay\n"
"                            global; auto: one per 128 streams, at most half the usable CPUs\n"
"\n"
"dataset:\n"
"  --dataset random|sharegpt|jsonl   (random)\n"
"  --dataset-path FILE       ShareGPT JSON or JSONL prompts\n"
"  --random-input-len N      (1024)    --random-output-len N  (1024)\n"
"  --random-range-ratio R    lengths uniform in [max(int(L*R),1), L] (0.0)\n"
"  --random-prompt ids|text  token ids where the API takes them (default), else words\n"
"  --token-id-range LO:HI    random token ids from [LO, HI) (1000:30000)\n"
"  --sharegpt-output-len N   fixed output length for ShareGPT rows\n"
"  --default-output-len N    JSONL rows without output_len (256)\n"
"\n"
"request body:\n"
"  --extra-request-body JSON merged into every body\n"
"  --disable-ignore-eos      do not send ignore_eos: true\n"
"  --temperature T           (0.0)\n"
"  --no-stream-usage         do not ask for stream_options.include_usage\n"
"  --allow-missing-done      accept streams that end without data: [DONE]\n"
"\n"
"results:\n"
"  --slo ttft=MS,tpot=MS,e2e=MS   goodput: requests meeting every given SLO (vLLM)\n"
"  --min-goodput PCT         check bench.goodput fails below PCT %% of requests\n"
"  --requests-jsonl FILE     one line per finished request, appended and flushed\n"
"  --sglang-jsonl FILE       one bench_serving result line per level, appended\n"
"  --tag TAG                 bench_serving's tag field\n"
"  --metrics-interval S      scrape GET /metrics every S s (sglang:*, vllm:* series)\n"
"  --no-progress             no progress line on stderr\n"
"%s"
"\n"
"exit: 0 all requests succeeded (and goodput met), 1 a bench.* check failed,\n"
"      2 usage error, 3 the run could not complete (server unreachable, all failed).\n",
            pf_output_flags_help());
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

static int parse_double(const char *flag, const char *s, double lo, bool inf_ok, double *out,
                        pf_err *err)
{
    if (inf_ok && (strcmp(s, "inf") == 0 || strcmp(s, "Infinity") == 0)) {
        *out = INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo)
        return pf_err_set(err, "%s: '%s' is not a number >= %g%s", flag, s, lo,
                          inf_ok ? " (or inf)" : "");
    *out = v;
    return 0;
}

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out, pf_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return pf_err_set(err, "%s: '%s' is not an integer in [%ld, %ld]", flag, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_levels(const char *s, pf_bench_opts *o, pf_err *err)
{
    free(o->levels);
    o->levels = NULL;
    o->n_levels = 0;
    char *copy = pf_xstrdup(s);
    int rc = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (parse_long("--concurrency", t, 1, 1000000, &v, err) < 0) {
            rc = -1;
            break;
        }
        o->levels = pf_xrealloc(o->levels, (o->n_levels + 1) * sizeof *o->levels);
        o->levels[o->n_levels++] = (size_t)v;
    }
    free(copy);
    if (rc == 0 && o->n_levels == 0)
        rc = pf_err_set(err, "--concurrency needs a list such as 1,8,64");
    return rc;
}

static bool is(const char *a, const char *name)
{
    return strcmp(a, name) == 0;
}

/* Flags that take a value; "--flag=value" is accepted too. */
static const char *const VALUED[] = {
    "--url", "--backend", "--endpoint", "--model", "--header", "--ready-timeout",
    "--num-prompts", "--duration", "--concurrency", "--request-rate", "--burstiness",
    "--max-concurrency", "--warmup-requests", "--seed", "--request-timeout",
    "--connect-timeout", "--max-connect-failures", "--dataset", "--dataset-name",
    "--dataset-path", "--random-input-len", "--random-output-len", "--random-range-ratio",
    "--random-prompt", "--token-id-range", "--sharegpt-output-len", "--default-output-len",
    "--extra-request-body", "--temperature", "--slo", "--min-goodput", "--requests-jsonl",
    "--sglang-jsonl", "--tag", "--metrics-interval", "--launch-log", "--threads", "--launch-name",
    "--launch-log-dir", NULL,
};

static int one_flag(pf_bench_opts *o, const char *a, const char *v, pf_err *err)
{
    long l;
    double d;
    if (is(a, "--url")) {
        o->url = v;
    } else if (is(a, "--backend")) {
        o->backend = v;
    } else if (is(a, "--endpoint")) {
        o->endpoint = v;
    } else if (is(a, "--model")) {
        o->model = v;
    } else if (is(a, "--header")) {
        return pf_http_headers_add(&o->headers, v, err);
    } else if (is(a, "--ready-timeout")) {
        return parse_double(a, v, 0, false, &o->ready_timeout_s, err);
    } else if (is(a, "--num-prompts")) {
        if (parse_long(a, v, 1, 100000000, &l, err) < 0)
            return -1;
        o->num_prompts = (size_t)l;
    } else if (is(a, "--duration")) {
        if (parse_double(a, v, 0, false, &d, err) < 0)
            return -1;
        if (d <= 0)
            return pf_err_set(err, "--duration must be positive");
        o->duration_s = d;
    } else if (is(a, "--concurrency")) {
        return parse_levels(v, o, err);
    } else if (is(a, "--request-rate")) {
        if (parse_double(a, v, 0, true, &d, err) < 0)
            return -1;
        if (d <= 0)
            return pf_err_set(err, "--request-rate must be positive (or inf)");
        o->request_rate = d;
    } else if (is(a, "--burstiness")) {
        if (parse_double(a, v, 0, true, &d, err) < 0)
            return -1;
        if (d <= 0)
            return pf_err_set(err, "--burstiness must be positive");
        o->burstiness = d;
    } else if (is(a, "--max-concurrency")) {
        if (parse_long(a, v, 1, 1000000, &l, err) < 0)
            return -1;
        o->max_concurrency = (size_t)l;
    } else if (is(a, "--threads")) {
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
    } else if (is(a, "--warmup-requests")) {
        if (parse_long(a, v, 0, 100000, &l, err) < 0)
            return -1;
        o->warmup_requests = (size_t)l;
    } else if (is(a, "--seed")) {
        if (parse_long(a, v, 0, 0x7fffffffffffffffL, &l, err) < 0)
            return -1;
        o->seed = (uint64_t)l;
    } else if (is(a, "--request-timeout")) {
        if (parse_double(a, v, 0.001, false, &o->request_timeout_s, err) < 0)
            return -1;
    } else if (is(a, "--connect-timeout")) {
        if (parse_double(a, v, 0.001, false, &o->connect_timeout_s, err) < 0)
            return -1;
    } else if (is(a, "--max-connect-failures")) {
        if (parse_long(a, v, 0, 100000000, &l, err) < 0)
            return -1;
        o->max_connect_failures = (size_t)l;
    } else if (is(a, "--dataset") || is(a, "--dataset-name")) {
        if (!is(v, "random") && !is(v, "sharegpt") && !is(v, "jsonl"))
            return pf_err_set(err, "%s: '%s' is not random, sharegpt or jsonl", a, v);
        o->dataset = v;
    } else if (is(a, "--dataset-path")) {
        o->dataset_path = v;
    } else if (is(a, "--random-input-len")) {
        if (parse_long(a, v, 1, 10000000, &o->random_input_len, err) < 0)
            return -1;
    } else if (is(a, "--random-output-len")) {
        if (parse_long(a, v, 1, 10000000, &o->random_output_len, err) < 0)
            return -1;
    } else if (is(a, "--random-range-ratio")) {
        if (parse_double(a, v, 0, false, &d, err) < 0)
            return -1;
        if (d > 1)
            return pf_err_set(err, "--random-range-ratio %g is outside [0, 1]", d);
        o->random_range_ratio = d;
    } else if (is(a, "--random-prompt")) {
        if (!is(v, "ids") && !is(v, "text"))
            return pf_err_set(err, "--random-prompt: '%s' is not ids or text", v);
        o->random_ids = is(v, "ids");
    } else if (is(a, "--token-id-range")) {
        long lo, hi;
        char *colon = strchr(v, ':');
        if (!colon)
            return pf_err_set(err, "--token-id-range: '%s' is not LO:HI", v);
        char *lo_s = pf_xasprintf("%.*s", (int)(colon - v), v);
        int r = parse_long(a, lo_s, 0, INT32_MAX, &lo, err);
        free(lo_s);
        if (r < 0 || parse_long(a, colon + 1, 1, INT32_MAX, &hi, err) < 0)
            return -1;
        if (hi <= lo)
            return pf_err_set(err, "--token-id-range: empty range %ld:%ld", lo, hi);
        o->id_lo = (int32_t)lo;
        o->id_hi = (int32_t)hi;
    } else if (is(a, "--sharegpt-output-len")) {
        return parse_long(a, v, 1, 10000000, &o->sharegpt_output_len, err);
    } else if (is(a, "--default-output-len")) {
        return parse_long(a, v, 1, 10000000, &o->default_output_len, err);
    } else if (is(a, "--extra-request-body")) {
        json_error_t je;
        json_decref(o->extra_body);
        o->extra_body = json_loads(v, 0, &je);
        if (!o->extra_body || !json_is_object(o->extra_body))
            return pf_err_set(err, "--extra-request-body is not a JSON object: %s",
                              o->extra_body ? "not an object" : je.text);
    } else if (is(a, "--temperature")) {
        return parse_double(a, v, 0, false, &o->temperature, err);
    } else if (is(a, "--slo")) {
        char msg[256];
        if (pf_slo_parse(v, &o->slo, msg, sizeof msg) < 0)
            return pf_err_set(err, "%s", msg);
        o->has_slo = true;
    } else if (is(a, "--min-goodput")) {
        if (parse_double(a, v, 0, false, &d, err) < 0)
            return -1;
        if (d > 100)
            return pf_err_set(err, "--min-goodput is a percentage (0-100), got %s", v);
        o->min_goodput = d;
    } else if (is(a, "--requests-jsonl")) {
        o->requests_jsonl = v;
    } else if (is(a, "--sglang-jsonl")) {
        o->sglang_jsonl = v;
    } else if (is(a, "--tag")) {
        o->tag = v;
    } else if (is(a, "--launch-log")) {
        o->launch_log = v;
    } else if (is(a, "--launch-name")) {
        if (!pf_launch_group_name_ok(v))
            return pf_err_set(err, "--launch-name '%s': 1-63 of letters, digits, '.', '_', '-'", v);
        o->launch_name = v;
    } else if (is(a, "--launch-log-dir")) {
        if (!pf_is_dir(v))
            return pf_err_set(err, "--launch-log-dir %s: not a directory", v);
        o->launch_log_dir = v;
    } else if (is(a, "--metrics-interval")) {
        if (parse_double(a, v, 0, false, &d, err) < 0)
            return -1;
        if (d < 0.05)
            return pf_err_set(err, "--metrics-interval must be at least 0.05 s");
        o->metrics_interval_s = d;
    } else {
        return pf_err_set(err, "unknown option %s (see preflight bench --help)", a);
    }
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
        if (is(a, "--disable-ignore-eos")) {
            o->ignore_eos = false;
            continue;
        }
        if (is(a, "--no-stream-usage")) {
            o->stream_usage = false;
            continue;
        }
        if (is(a, "--busy-poll")) {
            o->busy_poll = true;
            continue;
        }
        if (is(a, "--allow-missing-done")) {
            o->allow_missing_done = true;
            continue;
        }
        if (is(a, "--no-progress")) {
            o->no_progress = true;
            continue;
        }
        /* valued flag, as "--flag value" or "--flag=value" */
        const char *eq = strchr(a, '=');
        char name[64];
        const char *val = NULL;
        if (eq && pf_str_startswith(a, "--") && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            pf_strlcpy(name, a, sizeof name);
        }
        bool known = false;
        for (const char *const *k = VALUED; *k; k++)
            if (is(name, *k))
                known = true;
        if (!known)
            return pf_err_set(err, "unknown option %s (see preflight bench --help)", a);
        if (!val) {
            if (i + 1 >= argc)
                return pf_err_set(err, "%s needs a value", a);
            val = argv[++i];
        }
        if (one_flag(o, name, val, err) < 0)
            return -1;
    }
    return finish_opts(o, err);
}

int pf_bench_main(int argc, char **argv)
{
    pf_bench_opts o;
    pf_bench_opts_init(&o);
    pf_err err = {{0}};
    int r = pf_bench_parse(argc, argv, &o, &err);
    if (r == 1) {
        usage(stdout);
        pf_bench_opts_free(&o);
        return PF_EXIT_OK;
    }
    if (r < 0) {
        fprintf(stderr, "preflight bench: %s\n", err.msg);
        pf_bench_opts_free(&o);
        return PF_EXIT_USAGE;
    }
    o.progress = !o.no_progress && o.out.verbosity >= 0 && isatty(STDERR_FILENO);
    pf_bench_inputs in;
    if (pf_bench_prepare(&o, &in, &err) < 0) {
        fprintf(stderr, "preflight bench: %s\n", err.msg);
        pf_bench_opts_free(&o);
        return PF_EXIT_USAGE;
    }
    pf_run *run = pf_run_new(argc, argv);
    pf_bench_execute(&o, &in, run);
    int rc = pf_output_finish(run, &o.out);
    pf_run_free(run);
    pf_bench_inputs_free(&in);
    pf_bench_opts_free(&o);
    return rc;
}

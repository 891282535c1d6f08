/* bench_run.c -- one `preflight bench` run: inputs, warm-up and measured
 * levels, outputs, and the bench.* checks (see bench_cli.h; the server's side
 * is bench_server.c). */
#include "bench/bench_cli.h"
#include "core/file.h"
#include "core/sig.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_int.h"

/* Signals: core/sig.h (installed by main).  SIGINT, SIGTERM and SIGHUP
 * raise pf_sig_counter(), which the driver and the launch waits poll; the
 * run then stops, the server is stopped and the record is written. */

int pf_bench_prepare(const pf_bench_opts *o, pf_bench_inputs *in, pf_err *err)
{
    memset(in, 0, sizeof *in);
    pf_rng rng;
    pf_rng_seed(&rng, o->seed);
    int rc;
    if (strcmp(o->dataset, "random") == 0) {
        pf_random_opts ro = {o->random_input_len, o->random_output_len, o->random_range_ratio,
                             o->random_ids == 1, o->id_lo, o->id_hi};
        rc = pf_dataset_random(&ro, o->num_prompts, &rng, &in->ds, err);
    } else if (strcmp(o->dataset, "sharegpt") == 0) {
        rc = pf_dataset_sharegpt(o->dataset_path, o->num_prompts, o->sharegpt_output_len, &rng,
                                 &in->ds, err);
    } else {
        rc = pf_dataset_jsonl(o->dataset_path, o->num_prompts, o->default_output_len, &in->ds, err);
    }
    if (rc < 0)
        return -1;
    if (!pf_api_takes_ids(o->api))
        for (size_t i = 0; i < in->ds.n; i++)
            if (in->ds.rows[i].ids) {
                pf_dataset_free(&in->ds);
                return pf_err_set(err, "the dataset has token-id prompts, which the chat API "
                                  "does not take; use a completions or /generate backend");
            }
    if (o->requests_jsonl) {
        in->requests = pf_jsonl_open(o->requests_jsonl, err);
        if (!in->requests) {
            pf_dataset_free(&in->ds);
            return -1;
        }
    }
    if (o->sglang_jsonl) { /* fail now, not after an hour of load */
        FILE *f = pf_file_append(o->sglang_jsonl, err);
        if (!f) {
            pf_bench_inputs_free(in);
            return -1;
        }
        fclose(f);
    }
    return 0;
}

void pf_bench_inputs_free(pf_bench_inputs *in)
{
    pf_dataset_free(&in->ds);
    pf_jsonl_close(in->requests);
    in->requests = NULL;
}

static json_t *jnum_or_inf(double v)
{
    return isfinite(v) ? json_real(v) : json_string("inf");
}

static json_t *config_json(const pf_bench_opts *o)
{
    json_t *c = json_object();
    json_object_set_new(c, "url", json_string(o->url));
    json_object_set_new(c, "backend", json_string(o->backend));
    json_object_set_new(c, "endpoint", json_string(o->path));
    json_object_set_new(c, "api", json_string(pf_api_name(o->api)));
    json_object_set_new(c, "dataset", json_string(o->dataset));
    json_object_set_new(c, "dataset_path", o->dataset_path ? json_string(o->dataset_path) : json_null());
    json_object_set_new(c, "num_prompts", json_integer((json_int_t)o->num_prompts));
    json_object_set_new(c, "duration_s", o->duration_s > 0 ? json_real(o->duration_s) : json_null());
    json_object_set_new(c, "random_input_len", json_integer(o->random_input_len));
    json_object_set_new(c, "random_output_len", json_integer(o->random_output_len));
    json_object_set_new(c, "random_range_ratio", json_real(o->random_range_ratio));
    json_object_set_new(c, "random_prompt", json_string(o->random_ids == 1 ? "ids" : "text"));
    json_object_set_new(c, "request_rate", jnum_or_inf(o->request_rate));
    json_object_set_new(c, "burstiness", jnum_or_inf(o->burstiness));
    json_object_set_new(c, "max_concurrency",
                        o->max_concurrency ? json_integer((json_int_t)o->max_concurrency) : json_null());
    json_t *lv = json_array();
    for (size_t i = 0; i < o->n_levels; i++)
        json_array_append_new(lv, json_integer((json_int_t)o->levels[i]));
    json_object_set_new(c, "concurrency", lv);
    json_object_set_new(c, "warmup_requests", json_integer((json_int_t)o->warmup_requests));
    json_object_set_new(c, "threads",
                        o->threads ? json_integer((json_int_t)o->threads) : json_string("auto"));
    json_object_set_new(c, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(c, "request_timeout_s", json_real(o->request_timeout_s));
    json_object_set_new(c, "ignore_eos", json_boolean(o->ignore_eos));
    json_object_set_new(c, "stream_usage", json_boolean(o->stream_usage));
    json_object_set_new(c, "temperature", json_real(o->temperature));
    if (o->has_slo) {
        json_t *s = json_object();
        if (o->slo.ttft)
            json_object_set_new(s, "ttft_ms", json_real(o->slo.ttft_ms));
        if (o->slo.tpot)
            json_object_set_new(s, "tpot_ms", json_real(o->slo.tpot_ms));
        if (o->slo.e2e)
            json_object_set_new(s, "e2e_ms", json_real(o->slo.e2e_ms));
        json_object_set_new(c, "slo", s);
    }
    json_object_set_new(c, "min_goodput_pct", o->min_goodput >= 0 ? json_real(o->min_goodput) : json_null());
    return c;
}

static void raise_nofile(void)
{
    /* bench_serving's set_ulimit: many streams need many descriptors */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void build_work(runctx *c)
{
    const pf_bench_opts *o = c->o;
    const pf_dataset *ds = &c->in->ds;
    pf_body_opts bo = {o->api, c->model, o->ignore_eos, o->stream_usage, o->temperature,
                       o->extra_body};
    c->n_work = ds->n;
    c->work = pf_xcalloc(ds->n + 1, sizeof *c->work);
    for (size_t i = 0; i < ds->n; i++) {
        const pf_prompt *p = &ds->rows[i];
        pf_work *w = &c->work[i];
        w->body = pf_request_body(&bo, p->text, p->ids, p->n_ids, p->output_len, &w->body_len);
        w->output_len = p->output_len;
        w->prompt_len = p->prompt_len;
        w->prompt_len_exact = p->prompt_len_exact;
        w->row = i;
    }
    /* bench_serving's warm-up: row 0 with min(output_len, 32) tokens */
    const pf_prompt *p0 = &ds->rows[0];
    long wl = p0->output_len < 32 ? p0->output_len : 32;
    c->warm = c->work[0];
    c->warm.output_len = wl;
    c->warm.body = pf_request_body(&bo, p0->text, p0->ids, p0->n_ids, wl, &c->warm.body_len);
}

static void free_work(runctx *c)
{
    for (size_t i = 0; i < c->n_work; i++)
        free((char *)c->work[i].body);
    free(c->work);
    if (c->n_work)
        free((char *)c->warm.body);
}

static void on_result(void *ud, const pf_req_result *r)
{
    runctx *c = ud;
    if (!c->in->requests || c->jsonl_failed)
        return;
    json_t *j = pf_req_result_json(r);
    json_object_set_new(j, "level", json_integer((json_int_t)c->level));
    json_object_set_new(j, "max_concurrency",
                        c->level_conc ? json_integer((json_int_t)c->level_conc) : json_null());
    pf_err err = {{0}};
    if (pf_jsonl_write(c->in->requests, j, &err) < 0) {
        c->jsonl_failed = true;
        pf_strlcpy(c->jsonl_err, err.msg, sizeof c->jsonl_err);
    }
    json_decref(j);
}

static void base_driver_opts(runctx *c, pf_driver_opts *d)
{
    const pf_bench_opts *o = c->o;
    memset(d, 0, sizeof *d);
    d->url = c->url;
    d->api = o->api;
    d->headers = &o->headers;
    d->request_timeout_s = o->request_timeout_s;
    d->connect_timeout_s = o->connect_timeout_s;
    d->allow_missing_done = o->allow_missing_done;
    d->busy_poll = o->busy_poll;
    d->abort_after_connect_failures = o->max_connect_failures;
    d->on_result = on_result;
    d->ud = c;
    d->stop = pf_sig_counter();
    if (c->launch) {
        d->tick = pf_bench_launch_tick;
        d->tick_ud = c;
        d->tick_interval_s = 0.25;
    }
}

/* The CPUs this process may run on: under `taskset -c 4-7` that is 4, not
 * the machine's count, and auto must not put 8 loops on 4 cores. */
static long usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

/* --threads for one level: as given, or auto from its concurrency limit */
static size_t level_threads(const pf_bench_opts *o, size_t conc)
{
    return o->threads ? o->threads : pf_driver_auto_threads(conc, usable_cpus());
}

static void merge_failures(json_t *into, const json_t *f)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)f, k, v)
    {
        json_int_t n = json_integer_value(json_object_get(v, "count"));
        json_t *cur = json_object_get(into, k);
        json_object_set_new(into, k, json_integer(json_integer_value(cur) + n));
    }
}

/* One level: warm-up, then the measured batch.  Returns -1 when the run
 * must stop (warm-up failed, interrupted, aborted). */
static int run_level(runctx *c, size_t conc, double rate)
{
    const pf_bench_opts *o = c->o;
    json_t *lv = json_object();
    json_array_append_new(c->levels, lv);
    json_object_set_new(lv, "level", json_integer((json_int_t)c->level));
    json_object_set_new(lv, "max_concurrency", conc ? json_integer((json_int_t)conc) : json_null());
    json_object_set_new(lv, "request_rate", jnum_or_inf(rate));
    json_object_set_new(lv, "burstiness", jnum_or_inf(o->burstiness));
    c->level_conc = conc;
    char label[64];
    snprintf(label, sizeof label, "[level %zu: %s%zu]", c->level + 1,
             conc ? "concurrency " : "unlimited ", conc);
    pf_err err = {{0}};

    if (o->warmup_requests > 0) {
        pf_driver_opts wd;
        base_driver_opts(c, &wd);
        wd.max_concurrency = conc;
        wd.threads = level_threads(o, conc);
        wd.request_rate = INFINITY;
        wd.num_requests = o->warmup_requests;
        wd.work = &c->warm;
        wd.n_work = 1;
        wd.warmup = true;
        pf_driver_out wo;
        if (pf_driver_run(c->drv, &wd, &c->rng, &wo, &err) < 0) {
            snprintf(c->abort_reason, sizeof c->abort_reason, "warm-up could not run: %s", err.msg);
            c->aborted = true;
            pf_driver_out_free(&wo);
            return -1;
        }
        size_t ok = 0;
        for (size_t i = 0; i < wo.n; i++)
            ok += wo.results[i].success;
        json_t *w = json_object();
        json_object_set_new(w, "sent", json_integer((json_int_t)wo.n));
        json_object_set_new(w, "succeeded", json_integer((json_int_t)ok));
        json_object_set_new(w, "failures", pf_failures_json(wo.results, wo.n, 3));
        json_object_set_new(lv, "warmup", w);
        if (*c->interrupted) {
            snprintf(c->abort_reason, sizeof c->abort_reason, "interrupted (%s) during the warm-up",
                     pf_sig_name(pf_sig_last() ? pf_sig_last() : SIGINT));
            c->aborted = true;
            json_object_set_new(lv, "aborted", json_string(c->abort_reason));
            pf_driver_out_free(&wo);
            return -1;
        }
        if (ok == 0) {
            const char *why = wo.n ? wo.results[0].error : wo.abort_reason;
            snprintf(c->abort_reason, sizeof c->abort_reason, "warm-up failed: %s",
                     why ? why : "no request was sent");
            c->aborted = true;
            json_object_set_new(lv, "aborted", json_string(c->abort_reason));
            pf_driver_out_free(&wo);
            return -1;
        }
        pf_driver_out_free(&wo);
    }

    pf_driver_opts d;
    base_driver_opts(c, &d);
    d.max_concurrency = conc;
    d.threads = level_threads(o, conc);
    d.request_rate = rate;
    d.burstiness = o->burstiness;
    d.num_requests = o->duration_s > 0 ? 0 : c->n_work;
    d.duration_s = o->duration_s;
    d.work = c->work;
    d.n_work = c->n_work;
    d.progress = o->progress;
    d.progress_label = label;
    char *murl = NULL;
    if (o->metrics_interval_s > 0 && c->prom) {
        murl = pf_url_join(o->url, "/metrics");
        d.metrics_url = murl;
        d.metrics_interval_s = o->metrics_interval_s;
        d.metrics_series = c->prom;
        d.metrics_t0 = c->t0;
    }
    pf_driver_out out;
    int rc = pf_driver_run(c->drv, &d, &c->rng, &out, &err);
    double accept = -1;
    json_t *info = rc == 0 && !out.aborted ? pf_bench_server_info(c, &accept) : NULL;
    double duration = pf_now() - out.t_start;
    free(murl);
    if (rc < 0) {
        snprintf(c->abort_reason, sizeof c->abort_reason, "level could not run: %s", err.msg);
        c->aborted = true;
    }
    pf_slo *slo = o->has_slo ? (pf_slo *)&o->slo : NULL;
    pf_bench_metrics m;
    pf_metrics_compute(out.results, out.n, duration, slo, &m);
    json_object_set_new(lv, "metrics", pf_metrics_json(&m));
    json_t *fails = pf_failures_json(out.results, out.n, 5);
    merge_failures(c->failures, fails);
    json_object_set_new(lv, "failures", fails);
    json_object_set_new(lv, "sent", json_integer((json_int_t)out.n));
    json_object_set_new(lv, "not_sent", json_integer((json_int_t)out.not_sent));
    json_object_set_new(lv, "peak_in_flight", json_integer((json_int_t)out.peak_in_flight));
    json_object_set_new(lv, "client_threads", json_integer((json_int_t)out.threads));
    long conns = 0;
    for (size_t i = 0; i < out.n; i++)
        conns += out.results[i].connects;
    /* about the concurrency when keep-alive works; about the request count
     * when the server closes connections after each response */
    json_object_set_new(lv, "connections_opened", json_integer(conns));
    json_object_set_new(lv, "accept_length", accept >= 0 ? json_real(accept) : json_null());
    json_t *loop = json_object();
    json_object_set_new(loop, "wakes", json_integer((json_int_t)out.wakes));
    json_object_set_new(loop, "wakes_over_1ms", json_integer((json_int_t)out.wakes_over_1ms));
    json_object_set_new(loop, "wakes_over_10ms", json_integer((json_int_t)out.wakes_over_10ms));
    json_object_set_new(loop, "max_wake_ms", json_real(out.max_wake_s * 1000.0));
    json_object_set_new(loop, "max_events_per_wake", json_integer((json_int_t)out.max_events_per_wake));
    json_object_set_new(lv, "client_loop", loop);
    if (info)
        json_object_set(lv, "server_info", info);
    if (o->metrics_interval_s > 0) {
        json_t *sc = json_object();
        json_object_set_new(sc, "ok", json_integer((json_int_t)out.scrapes_ok));
        json_object_set_new(sc, "failed", json_integer((json_int_t)out.scrapes_failed));
        json_object_set_new(sc, "last_error", out.scrape_error[0] ? json_string(out.scrape_error) : json_null());
        json_object_set_new(lv, "metrics_scrapes", sc);
    }
    if (out.aborted) {
        json_object_set_new(lv, "aborted", json_string(out.abort_reason));
        snprintf(c->abort_reason, sizeof c->abort_reason, "level %zu aborted: %s", c->level + 1,
                 out.abort_reason);
        c->aborted = true;
    }
    c->sent += out.n;
    c->completed += m.completed;
    c->failed += m.failed;
    if (c->con)
        pf_print_summary(c->con, o->backend, rate, (long)conc, &m, accept);
    if (o->sglang_jsonl) {
        pf_sglang_args a = {o->tag, o->backend, o->dataset, rate, (long)conc,
                            o->sharegpt_output_len, o->random_input_len, o->random_output_len,
                            o->random_range_ratio};
        json_t *sr = pf_sglang_result(&a, &m, info, accept);
        if (pf_sglang_append(o->sglang_jsonl, sr, &err) < 0) {
            c->jsonl_failed = true;
            pf_strlcpy(c->jsonl_err, err.msg, sizeof c->jsonl_err);
        }
        json_decref(sr);
    }
    json_decref(info);
    pf_driver_out_free(&out);
    return c->aborted ? -1 : 0;
}

static void decide_checks(runctx *c)
{
    const pf_bench_opts *o = c->o;
    pf_check *rq = pf_check_add(c->run, NULL, "bench.requests");
    json_t *ev = pf_check_evidence(rq);
    json_object_set_new(ev, "sent", json_integer((json_int_t)c->sent));
    json_object_set_new(ev, "completed", json_integer((json_int_t)c->completed));
    json_object_set_new(ev, "failed", json_integer((json_int_t)c->failed));
    json_object_set(ev, "failures", c->failures);
    char reasons[300] = "";
    const char *k;
    json_t *v;
    json_object_foreach(c->failures, k, v)
    {
        size_t n = strlen(reasons);
        snprintf(reasons + n, sizeof reasons - n, "%s%s: %lld", n ? ", " : "", k,
                 (long long)json_integer_value(v));
    }
    pf_check_measure(rq, (double)c->failed, 0, "failed requests");
    if (c->aborted) {
        json_object_set_new(ev, "aborted", json_string(c->abort_reason));
        if (c->sent)
            pf_check_set(rq, PF_ERROR, "run stopped early: %s (%zu of %zu requests sent failed%s%s)",
                         c->abort_reason, c->failed, c->sent, reasons[0] ? ": " : "", reasons);
        else
            pf_check_set(rq, PF_ERROR, "run stopped early: %s (no measured request was sent)",
                         c->abort_reason);
        pf_check_remedy(rq, "see bench.levels[].failures in the record and the server's log");
        pf_run_set_incomplete(c->run, "%s", c->abort_reason);
    } else if (c->sent > 0 && c->completed == 0) {
        pf_check_set(rq, PF_ERROR, "all %zu requests failed (%s)", c->sent, reasons);
        pf_check_remedy(rq, "see bench.levels[].failures in the record; check --backend/--endpoint "
                        "match the server and the server's log");
        pf_run_set_incomplete(c->run, "all %zu requests failed", c->sent);
    } else if (c->failed > 0) {
        pf_check_set(rq, PF_FAIL, "%zu of %zu requests failed (%s)", c->failed, c->sent, reasons);
        pf_check_remedy(rq, "see bench.levels[].failures; timeouts: raise --request-timeout or lower "
                        "the load; http 429/503: the server is shedding load");
    } else {
        pf_check_set(rq, PF_PASS, "all %zu requests succeeded", c->sent);
    }
    if (o->min_goodput >= 0) {
        pf_check *g = pf_check_add(c->run, NULL, "bench.goodput");
        double worst = INFINITY;
        json_t *per = json_array();
        size_t nl = json_array_size(c->levels);
        for (size_t i = 0; i < nl; i++) {
            json_t *m = json_object_get(json_array_get(c->levels, i), "metrics");
            json_t *r = json_object_get(m, "goodput_ratio");
            if (!json_is_number(r))
                continue;
            double pct = json_number_value(r) * 100.0;
            json_array_append_new(per, json_real(pct));
            if (pct < worst)
                worst = pct;
        }
        json_object_set_new(pf_check_evidence(g), "goodput_pct_per_level", per);
        if (!isfinite(worst)) {
            pf_check_set(g, PF_ERROR, "no level finished, goodput unknown");
        } else {
            pf_check_measure(g, worst, o->min_goodput, "% of requests within SLO");
            if (worst >= o->min_goodput)
                pf_check_set(g, PF_PASS, "%.1f%% of requests met every SLO (needed %.1f%%)", worst,
                             o->min_goodput);
            else {
                pf_check_set(g, PF_FAIL, "only %.1f%% of requests met every SLO (needed %.1f%%)",
                             worst, o->min_goodput);
                pf_check_remedy(g, "lower the load (--concurrency / --request-rate) or relax --slo; "
                                "see bench.levels[].metrics for which latency is off");
            }
        }
    }
}

void pf_bench_execute(const pf_bench_opts *o, pf_bench_inputs *in, pf_run *run)
{
    runctx c = {0};
    c.o = o;
    c.in = in;
    c.run = run;
    c.t0 = pf_now();
    c.interrupted = pf_sig_counter();
    c.bench = json_object();
    pf_run_set_section(run, "bench", c.bench); /* the run owns it; we keep filling it */
    json_object_set_new(c.bench, "schema", json_string("preflight.bench/1"));
    json_object_set_new(c.bench, "config", config_json(o));
    json_t *dsj = json_object();
    json_object_set_new(dsj, "description", json_string(in->ds.desc ? in->ds.desc : ""));
    json_object_set_new(dsj, "rows", json_integer((json_int_t)in->ds.n));
    json_object_set_new(dsj, "skipped", json_integer((json_int_t)in->ds.skipped));
    json_object_set_new(c.bench, "dataset", dsj);
    c.levels = json_array();
    json_object_set_new(c.bench, "levels", c.levels);
    c.failures = json_object();
    c.con = o->out.verbosity >= 0
                ? (o->out.json_path && strcmp(o->out.json_path, "-") == 0 ? stderr : stdout)
                : NULL;
    pf_rng_seed(&c.rng, o->seed ^ 0x5eed5eedULL); /* arrivals: a stream apart from the dataset's */
    raise_nofile();

    pf_check *srv = pf_check_add(run, NULL, "bench.server");
    if (o->launch_argv && pf_bench_launch_start(&c, srv) < 0)
        goto out;
    if (pf_bench_discover(&c, srv) < 0)
        goto out;
    pf_err err = {{0}};
    c.drv = pf_driver_new(&err);
    if (!c.drv) {
        pf_check *rq = pf_check_add(run, NULL, "bench.requests");
        pf_check_set(rq, PF_ERROR, "cannot start the load driver: %s", err.msg);
        pf_run_set_incomplete(run, "%s", err.msg);
        goto out;
    }
    c.url = pf_url_join(o->url, o->path);
    json_object_set_new(c.bench, "endpoint_url", json_string(c.url));
    build_work(&c);
    if (o->metrics_interval_s > 0) {
        json_t *p = json_object();
        c.prom = json_object();
        json_object_set_new(p, "interval_s", json_real(o->metrics_interval_s));
        json_object_set_new(p, "series", c.prom);
        json_object_set_new(c.bench, "prometheus", p);
    }
    size_t nlev = o->n_levels ? o->n_levels : 1;
    for (size_t i = 0; i < nlev; i++) {
        c.level = i;
        size_t conc = o->n_levels ? o->levels[i] : o->max_concurrency;
        double rate = o->n_levels ? INFINITY : o->request_rate;
        int rc = run_level(&c, conc, rate);
        if (o->out.json_path && strcmp(o->out.json_path, "-") != 0) {
            /* keep what is measured on disk in case a later level crashes */
            pf_err werr;
            pf_run_write_json(run, o->out.strict, o->out.json_path, &werr);
        }
        if (rc < 0)
            break;
    }
    decide_checks(&c);
    if (c.jsonl_failed)
        pf_run_set_incomplete(run, "%s", c.jsonl_err);
    free_work(&c);
out:
    pf_bench_launch_finish(&c);
    pf_driver_free(c.drv);
    json_decref(c.failures);
    free(c.url);
    free(c.model);
}

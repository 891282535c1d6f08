/* metrics.c -- bench_serving's calculate_metrics on our records (metrics.h). */
#include "bench/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "core/util.h"

static const char *const FAIL_NAMES[PF_FAIL_KIND_COUNT] = {
    "none", "connect", "http", "reset", "timeout", "malformed",
    "server_error", "no_done", "no_content", "not_sse", "cancelled", "other",
};

const char *pf_fail_kind_name(pf_fail_kind k)
{
    return (unsigned)k < PF_FAIL_KIND_COUNT ? FAIL_NAMES[k] : "other";
}

void pf_req_result_free(pf_req_result *r)
{
    free(r->error);
    free(r->itl);
    r->error = NULL;
    r->itl = NULL;
    r->n_itl = 0;
}

int pf_slo_parse(const char *s, pf_slo *slo, char *err, size_t errlen)
{
    memset(slo, 0, sizeof *slo);
    char *copy = pf_xstrdup(s);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            eq = strchr(tok, ':'); /* vLLM writes ttft:200 */
        if (!eq) {
            snprintf(err, errlen, "--slo item '%s' is not NAME=MS", tok);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || !(v > 0) || !isfinite(v)) {
            snprintf(err, errlen, "--slo %s: '%s' is not a positive number of milliseconds", tok,
                     eq + 1);
            rc = -1;
            break;
        }
        if (strcmp(tok, "ttft") == 0) {
            slo->ttft = true;
            slo->ttft_ms = v;
        } else if (strcmp(tok, "tpot") == 0) {
            slo->tpot = true;
            slo->tpot_ms = v;
        } else if (strcmp(tok, "e2e") == 0 || strcmp(tok, "e2el") == 0) {
            slo->e2e = true;
            slo->e2e_ms = v;
        } else {
            snprintf(err, errlen, "--slo: unknown metric '%s' (ttft, tpot, e2e)", tok);
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc == 0 && !slo->ttft && !slo->tpot && !slo->e2e) {
        snprintf(err, errlen, "--slo needs at least one of ttft=MS, tpot=MS, e2e=MS");
        rc = -1;
    }
    return rc;
}

/* 1-second buckets from the earliest start (bench_serving, PR #14165). */
static void peaks(const pf_req_result *rs, size_t n, pf_bench_metrics *m)
{
    double min_start = INFINITY, max_end = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!rs[i].success)
            continue;
        if (rs[i].start < min_start)
            min_start = rs[i].start;
        if (rs[i].start + rs[i].latency > max_end)
            max_end = rs[i].start + rs[i].latency;
    }
    if (!isfinite(min_start))
        return;
    long nsec = (long)ceil(max_end - min_start) + 1;
    if (nsec < 1)
        nsec = 1;
    double *tok = pf_xcalloc((size_t)nsec, sizeof *tok);
    double *conc = pf_xcalloc((size_t)nsec, sizeof *conc);
    for (size_t i = 0; i < n; i++) {
        const pf_req_result *r = &rs[i];
        if (!r->success)
            continue;
        double t = r->start + r->ttft;
        for (size_t k = 0;; k++) {
            long b = (long)(t - min_start); /* int() truncates toward zero */
            if (b >= 0 && b < nsec)
                tok[b] += 1;
            if (k == r->n_itl)
                break;
            t += r->itl[k];
        }
        long s0 = (long)(r->start - min_start);
        long s1 = (long)((r->start + r->latency) - min_start);
        for (long s = s0; s < s1 + 1 && s < nsec; s++)
            conc[s] += 1;
    }
    double mt = 0, mc = 0;
    for (long s = 0; s < nsec; s++) {
        if (tok[s] > mt)
            mt = tok[s];
        if (conc[s] > mc)
            mc = conc[s];
    }
    m->max_output_tokens_per_s = mt;
    m->max_concurrent_requests = (long)mc;
    free(tok);
    free(conc);
}

void pf_metrics_compute(const pf_req_result *rs, size_t n, double duration, const pf_slo *slo,
                        pf_bench_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->requests = n;
    m->duration = duration;
    size_t n_itl = 0;
    for (size_t i = 0; i < n; i++)
        if (rs[i].success)
            n_itl += rs[i].n_itl;
    double *ttft = pf_xmalloc((n + 1) * sizeof *ttft);
    double *tpot = pf_xmalloc((n + 1) * sizeof *tpot);
    double *e2e = pf_xmalloc((n + 1) * sizeof *e2e);
    double *itl = pf_xmalloc((n_itl + 1) * sizeof *itl);
    size_t nt = 0, np = 0, ni = 0;
    for (size_t i = 0; i < n; i++) {
        const pf_req_result *r = &rs[i];
        if (!r->success) {
            m->failed++;
            m->fail_counts[r->fail]++;
            continue;
        }
        m->completed++;
        m->total_input += r->prompt_len;
        if (r->prompt_len_exact)
            m->n_input_exact++;
        if (r->server_prompt_tokens >= 0) {
            m->total_input_server += r->server_prompt_tokens;
            m->n_input_server++;
        }
        m->total_output += r->output_len;
        if (r->output_from_usage)
            m->n_output_usage++;
        double this_tpot = 0.0; /* vLLM: one-token outputs count as TPOT 0 for goodput */
        if (r->output_len > 1) {
            this_tpot = (r->latency - r->ttft) / (double)(r->output_len - 1);
            tpot[np++] = this_tpot;
        }
        if (r->n_itl) {
            memcpy(itl + ni, r->itl, r->n_itl * sizeof *itl);
            ni += r->n_itl;
        }
        ttft[nt] = r->ttft;
        e2e[nt++] = r->latency;
        if (slo && (slo->ttft || slo->tpot || slo->e2e)) {
            bool good = true;
            if (slo->ttft && !(r->ttft <= slo->ttft_ms / 1000.0))
                good = false;
            if (slo->tpot && !(this_tpot <= slo->tpot_ms / 1000.0))
                good = false;
            if (slo->e2e && !(r->latency <= slo->e2e_ms / 1000.0))
                good = false;
            if (good)
                m->good++;
        }
    }
    if (duration > 0) {
        m->request_throughput = (double)m->completed / duration;
        m->input_throughput = (double)m->total_input / duration;
        m->output_throughput = (double)m->total_output / duration;
        m->total_throughput = (double)(m->total_input + m->total_output) / duration;
        m->concurrency = pf_stats_sum(e2e, nt) / duration;
    }
    pf_stats_summarize(ttft, nt, &m->ttft);
    pf_stats_summarize(tpot, np, &m->tpot);
    pf_stats_summarize(itl, ni, &m->itl);
    pf_stats_summarize(e2e, nt, &m->e2e);
    if (slo && (slo->ttft || slo->tpot || slo->e2e)) {
        m->has_slo = true;
        m->request_goodput = duration > 0 ? (double)m->good / duration : 0.0;
        m->goodput_ratio = n ? (double)m->good / (double)n : 0.0;
    }
    peaks(rs, n, m);
    free(ttft);
    free(tpot);
    free(e2e);
    free(itl);
}

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void put_summary(json_t *o, const char *name, const pf_stats_summary *s, bool with_max)
{
    static const char *const keys[] = {"mean", "median", "std", "p90", "p95", "p99"};
    double vals[] = {s->mean, s->median, s->std, s->p90, s->p95, s->p99};
    char k[64];
    /* numpy gives nan for the mean of an empty E2E list (bench_serving has
     * no `or 0` there); JSON has no nan, so null */
    bool none = s->n == 0 && strcmp(name, "e2e_latency") == 0;
    for (size_t i = 0; i < 6; i++) {
        snprintf(k, sizeof k, "%s_%s_ms", keys[i], name);
        json_object_set_new(o, k, none ? json_null() : jreal(vals[i] * 1000.0));
    }
    if (with_max) {
        snprintf(k, sizeof k, "max_%s_ms", name);
        json_object_set_new(o, k, jreal(s->max * 1000.0));
    }
}

json_t *pf_metrics_json(const pf_bench_metrics *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "duration", jreal(m->duration));
    json_object_set_new(o, "completed", json_integer((json_int_t)m->completed));
    json_object_set_new(o, "failed", json_integer((json_int_t)m->failed));
    json_object_set_new(o, "total_input_tokens", json_integer(m->total_input));
    json_object_set_new(o, "total_input_tokens_exact", json_boolean(m->n_input_exact == m->completed));
    json_object_set_new(o, "total_input_tokens_server",
                        m->n_input_server == m->completed && m->completed
                            ? json_integer(m->total_input_server)
                            : json_null());
    json_object_set_new(o, "total_output_tokens", json_integer(m->total_output));
    json_object_set_new(o, "output_tokens_from_usage", json_integer((json_int_t)m->n_output_usage));
    json_object_set_new(o, "request_throughput", jreal(m->request_throughput));
    json_object_set_new(o, "input_throughput", jreal(m->input_throughput));
    json_object_set_new(o, "output_throughput", jreal(m->output_throughput));
    json_object_set_new(o, "total_throughput", jreal(m->total_throughput));
    put_summary(o, "e2e_latency", &m->e2e, false);
    put_summary(o, "ttft", &m->ttft, false);
    put_summary(o, "tpot", &m->tpot, false);
    put_summary(o, "itl", &m->itl, true);
    json_object_set_new(o, "concurrency", jreal(m->concurrency));
    json_object_set_new(o, "max_output_tokens_per_s", jreal(m->max_output_tokens_per_s));
    json_object_set_new(o, "max_concurrent_requests", json_integer(m->max_concurrent_requests));
    if (m->has_slo) {
        json_object_set_new(o, "good_requests", json_integer((json_int_t)m->good));
        json_object_set_new(o, "request_goodput", jreal(m->request_goodput));
        json_object_set_new(o, "goodput_ratio", jreal(m->goodput_ratio));
    }
    json_t *fc = json_object();
    for (int k = 1; k < PF_FAIL_KIND_COUNT; k++)
        if (m->fail_counts[k])
            json_object_set_new(fc, pf_fail_kind_name(k), json_integer((json_int_t)m->fail_counts[k]));
    json_object_set_new(o, "failed_by_kind", fc);
    return o;
}

static void reason_key(const pf_req_result *r, char *buf, size_t len)
{
    if (r->fail == PF_FAIL_HTTP)
        snprintf(buf, len, "http %d", r->http_status);
    else
        snprintf(buf, len, "%s", pf_fail_kind_name(r->fail));
}

json_t *pf_failures_json(const pf_req_result *rs, size_t n, size_t max_examples)
{
    json_t *o = json_object();
    char key[48];
    for (size_t i = 0; i < n; i++) {
        const pf_req_result *r = &rs[i];
        if (r->success)
            continue;
        reason_key(r, key, sizeof key);
        json_t *e = json_object_get(o, key);
        if (!e) {
            e = json_object();
            json_object_set_new(e, "count", json_integer(0));
            json_object_set_new(e, "examples", json_array());
            json_object_set_new(o, key, e);
        }
        json_t *c = json_object_get(e, "count");
        json_integer_set(c, json_integer_value(c) + 1);
        json_t *ex = json_object_get(e, "examples");
        if (json_array_size(ex) < max_examples && r->error) {
            bool dup = false;
            for (size_t k = 0; k < json_array_size(ex); k++)
                if (strcmp(json_string_value(json_array_get(ex, k)), r->error) == 0)
                    dup = true;
            if (!dup)
                json_array_append_new(ex, pf_json_text(r->error));
        }
    }
    return o;
}

json_t *pf_req_result_json(const pf_req_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)r->index));
    json_object_set_new(o, "row", json_integer((json_int_t)r->row));
    if (r->warmup)
        json_object_set_new(o, "warmup", json_true());
    json_object_set_new(o, "success", json_boolean(r->success));
    json_object_set_new(o, "error", pf_json_text(r->error));
    json_object_set_new(o, "error_kind", r->success ? json_null() : json_string(pf_fail_kind_name(r->fail)));
    json_object_set_new(o, "http_status", r->http_status ? json_integer(r->http_status) : json_null());
    json_object_set_new(o, "start_time", jreal(r->start));
    json_object_set_new(o, "ttft", jreal(r->ttft));
    json_object_set_new(o, "latency", jreal(r->latency));
    json_object_set_new(o, "tpot", r->success && r->output_len > 1
                                       ? jreal((r->latency - r->ttft) / (double)(r->output_len - 1))
                                       : json_null());
    json_t *itl = json_array();
    for (size_t i = 0; i < r->n_itl; i++)
        json_array_append_new(itl, jreal(r->itl[i]));
    json_object_set_new(o, "itl", itl);
    json_object_set_new(o, "prompt_len", json_integer(r->prompt_len));
    json_object_set_new(o, "prompt_len_exact", json_boolean(r->prompt_len_exact));
    json_object_set_new(o, "server_prompt_tokens",
                        r->server_prompt_tokens >= 0 ? json_integer(r->server_prompt_tokens) : json_null());
    json_object_set_new(o, "output_len", json_integer(r->success ? r->output_len : 0));
    json_object_set_new(o, "output_len_source", json_string(r->output_from_usage ? "server" : "requested"));
    json_object_set_new(o, "requested_output_len", json_integer(r->requested_output_len));
    json_object_set_new(o, "content_events", json_integer((json_int_t)r->content_events));
    json_object_set_new(o, "text_bytes", json_integer((json_int_t)r->text_bytes));
    json_object_set_new(o, "connects", json_integer(r->connects));
    json_object_set_new(o, "response_id", r->id[0] ? pf_json_text(r->id) : json_null());
    return o;
}

/* launch_json.c -- the launch facts for the run record (see launch.h). */
#include "bench/launch_int.h"

#include "bench/http.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *hit_json(const pf_logwatch_hit *h)
{
    json_t *j = json_object();
    json_object_set_new(j, "signature", json_string(h->sig->name));
    json_object_set_new(j, "level", json_string(pf_logwatch_level_name(h->sig->level)));
    if (h->sig->check_id)
        json_object_set_new(j, "check_id", json_string(h->sig->check_id));
    json_object_set_new(j, "what", json_string(h->sig->what));
    if (h->sig->remedy)
        json_object_set_new(j, "remedy", json_string(h->sig->remedy));
    json_object_set_new(j, "line", json_string(h->line));
    json_object_set_new(j, "line_no", json_integer((json_int_t)h->line_no));
    json_object_set_new(j, "t_s", json_real(h->t));
    json_object_set_new(j, "count", json_integer((json_int_t)h->count));
    return j;
}

static void add_signal(json_t *arr, const char *name, double t, const char *detail)
{
    if (t < 0)
        return;
    json_t *s = json_pack("{s:s, s:f}", "name", name, "t_s", t);
    if (detail && *detail)
        json_object_set_new(s, "detail", json_string(detail));
    json_array_append_new(arr, s);
}

static json_t *exit_json(const pf_launch *l)
{
    if (!l->reaped)
        return json_pack("{s:b}", "running", 1);
    json_t *j = json_pack("{s:b, s:f}", "running", 0, "t_s", l->t_exit);
    if (l->exited)
        json_object_set_new(j, "exit_code", json_integer(l->exit_code));
    if (l->signalled) {
        json_object_set_new(j, "signal", json_integer(l->term_signal));
        json_object_set_new(j, "signal_name", json_string(strsignal(l->term_signal)));
    }
    return j;
}

json_t *pf_launch_to_json(const pf_launch *l)
{
    json_t *j = json_object();
    json_t *cmd = json_array();
    for (int i = 0; i < l->argc; i++) {
        /* the server's own --api-key and the like stay out of the record */
        char *a = pf_http_redact_arg(i ? l->argv[i - 1] : NULL, l->argv[i]);
        json_array_append_new(cmd, json_string(a));
        free(a);
    }
    json_object_set_new(j, "command", cmd);
    json_object_set_new(j, "log_path", json_string(l->log_path));
    json_object_set_new(j, "pid", json_integer(l->pid));
    json_object_set_new(j, "started_at", json_string(l->started_at));
    bool ended_badly = false;
    if (l->have_ready) {
        const pf_ready_result *r = &l->ready;
        json_t *rj = json_object();
        json_object_set_new(rj, "status", json_string(pf_ready_status_name(r->status)));
        json_object_set_new(rj, "load_time_s", json_real(r->load_time_s));
        if (r->model[0])
            json_object_set_new(rj, "model", json_string(r->model));
        json_t *sigs = json_array();
        add_signal(sigs, "health", r->t_health_s, NULL);
        add_signal(sigs, "models", r->t_models_s, r->model);
        char lat[64] = "";
        if (r->warmup_latency_s >= 0)
            snprintf(lat, sizeof lat, "latency %.3f s", r->warmup_latency_s);
        add_signal(sigs, "warmup", r->t_warmup_s, lat);
        const pf_logwatch_hit *line = pf_logwatch_first(l->watch, PF_LOGWATCH_READY);
        add_signal(sigs, "ready_line", r->t_ready_line_s, line ? line->line : NULL);
        json_object_set_new(rj, "signals", sigs);
        if (r->last_probe[0])
            json_object_set_new(rj, "last_probe", json_string(r->last_probe));
        json_object_set_new(rj, "message", json_string(r->message));
        json_object_set_new(j, "ready", rj);
        ended_badly = r->status != PF_READY_OK;
    }
    const pf_logwatch_hit *f = pf_logwatch_first(l->watch, PF_LOGWATCH_FATAL);
    if (f) {
        json_object_set_new(j, "fatal", hit_json(f));
        ended_badly = true;
    }
    json_t *hints = json_array();
    for (size_t i = 0; i < pf_logwatch_hit_count(l->watch); i++) {
        const pf_logwatch_hit *h = pf_logwatch_hit_at(l->watch, i);
        if (h->sig->level == PF_LOGWATCH_HINT)
            json_array_append_new(hints, hit_json(h));
    }
    json_object_set_new(j, "hints", hints);
    json_object_set_new(j, "exit", exit_json(l));
    if (l->have_stop) {
        const pf_launch_stop_result *s = &l->stop;
        json_object_set_new(j, "stop",
                            json_pack("{s:s, s:f, s:b, s:b, s:i, s:i, s:b, s:s}", "stage", s->stage, "elapsed_s",
                                      s->elapsed_s, "graceful", s->graceful, "all_gone", s->all_gone,
                                      "survivors", (int)s->survivors, "strays", (int)s->strays, "hurried",
                                      s->hurried, "message", s->message));
        ended_badly = ended_badly || !s->all_gone;
    }
    /* an unexpected exit before the stop also counts */
    if (l->reaped && !(l->have_stop && strcmp(l->stop.stage, "not running") != 0))
        ended_badly = true;
    if (ended_badly) {
        const char *lines[40];
        size_t n = pf_logwatch_tail(l->watch, lines, 40);
        json_t *tail = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(tail, json_string(lines[i]));
        json_object_set_new(j, "log_tail", tail);
    }
    json_object_set_new(j, "log_lines", json_integer((json_int_t)pf_logwatch_line_count(l->watch)));
    json_object_set_new(j, "log_bytes", json_integer((json_int_t)pf_logwatch_bytes(l->watch)));
    return j;
}

pf_check *pf_launch_add_check(pf_run *run, pf_node *node, const pf_launch *l)
{
    pf_check *c = pf_check_add(run, node, "bench.launch");
    json_object_set_new(pf_check_evidence(c), "launch", pf_launch_to_json(l));
    const pf_logwatch_hit *f = pf_logwatch_first(l->watch, PF_LOGWATCH_FATAL);
    if (f) {
        pf_check_set(c, PF_FAIL, "server failed at %.1f s with a known error that check %s predicts: %s",
                     f->t, f->sig->check_id, f->line);
        pf_check_remedy(c, "%s", f->sig->remedy);
        return c;
    }
    if (!l->have_ready) {
        pf_check_set(c, PF_ERROR, "readiness was never waited for");
        return c;
    }
    const pf_ready_result *r = &l->ready;
    switch (r->status) {
    case PF_READY_OK:
        pf_check_set(c, PF_PASS, "server ready after %.1f s", r->load_time_s);
        pf_check_measure(c, r->load_time_s, NAN, "s");
        break;
    case PF_READY_INTERRUPTED:
        pf_check_set(c, PF_SKIP, "interrupted before the server was ready");
        break;
    default:
        /* the message of DIED holds the log tail; the summary keeps to one line */
        pf_check_set(c, PF_FAIL, "server not ready (%s) after %.1f s; log %s", pf_ready_status_name(r->status),
                     r->load_time_s, l->log_path);
        if (r->status == PF_READY_TIMEOUT)
            pf_check_remedy(c, "Raise --ready-timeout if loading is just slow; otherwise read the log tail in "
                               "the record for where it stopped");
        break;
    }
    return c;
}

/* launch_ready.c -- when is a launched server ready?  HTTP /health 200, then
 * /v1/models (which names the model), then one real completion; the
 * server's own ready line is recorded (and, on request, required).  All the
 * while the log is watched, so a fatal line or a dead process ends the wait
 * within ~100 ms, even in the middle of a slow HTTP request (curl's progress
 * callback pumps the log and aborts the transfer).
 */
#include "bench/launch_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

void pf_ready_opts_init(pf_ready_opts *o)
{
    memset(o, 0, sizeof *o);
    o->deadline_s = 1800;
    o->poll_interval_s = 1.0;
    o->http_timeout_s = 5.0;
    o->health_path = "/health";
    o->warmup_api = PF_LAUNCH_API_CHAT;
    o->warmup_max_tokens = 8;
    o->warmup_timeout_s = 600;
}

const char *pf_ready_status_name(pf_ready_status st)
{
    switch (st) {
    case PF_READY_OK: return "ready";
    case PF_READY_DIED: return "died";
    case PF_READY_FATAL: return "fatal";
    case PF_READY_TIMEOUT: return "timeout";
    case PF_READY_INTERRUPTED: return "interrupted";
    case PF_READY_WARMUP_FAILED: return "warmup_failed";
    }
    return "?";
}

/* ---- one wait, its HTTP client and its progress line ---- */

typedef struct waiter {
    pf_launch *l;
    pf_ready_opts o;
    pf_ready_result *r;
    CURL *curl;
    double deadline;        /* pf_now() */
    bool draw;              /* built-in progress line */
    double t_drawn;
    const char *phase;
    pf_ready_status abort;  /* why the progress callback aborted a transfer (OK = it didn't) */
    int start_signals;
} waiter;

typedef struct http_resp {
    long status;            /* 0: no HTTP answer */
    char *body;
    size_t len;
    char error[CURL_ERROR_SIZE];
} http_resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    http_resp *h = ud;
    size_t n = sz * nm;
    if (h->len + n > (1u << 20)) /* a readiness answer is small; cap it */
        return 0;
    h->body = pf_xrealloc(h->body, h->len + n + 1);
    memcpy(h->body + h->len, p, n);
    h->len += n;
    h->body[h->len] = '\0';
    return n;
}

static void draw(waiter *w, bool force)
{
    double now = pf_now();
    if (!force && now - w->t_drawn < 0.25)
        return;
    w->t_drawn = now;
    double el = now - w->l->t0;
    const char *last = pf_logwatch_last_line(w->l->watch);
    if (w->o.progress_fn) {
        w->o.progress_fn(w->o.progress_ud, w->phase, el, last);
        return;
    }
    if (!w->draw)
        return;
    struct winsize ws;
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
    char line[1024];
    int n = snprintf(line, sizeof line, "\r\033[K[launch %5.0fs] waiting for %s", el, w->phase);
    if (n < 0)
        return;
    if (w->r->last_probe[0] && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " (%s)", w->r->last_probe);
    if (last[0] && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " | %s", last);
    /* visible width = n - 4 (the "\r\033[K" prefix); keep one line */
    size_t max = (size_t)cols - 1 + 4;
    if ((size_t)n > max)
        n = (int)max;
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    (void)!write(STDERR_FILENO, line, (size_t)n);
    w->l->progress_drawn = true;
}

/* The checks every loop iteration (and curl's progress callback) makes:
 * returns a non-OK status when the wait must end. */
static pf_ready_status check(waiter *w)
{
    pf_launch_pump(w->l);
    if (w->l->reaped) {
        pf_launch_pump(w->l); /* the last words may have been written just before exit */
        pf_logwatch_finish(w->l->watch, pf_now() - w->l->t0);
    }
    if (pf_logwatch_first(w->l->watch, PF_LOGWATCH_FATAL))
        return PF_READY_FATAL;
    if (w->l->reaped)
        return PF_READY_DIED;
    if (w->l->stop_counter && *w->l->stop_counter > w->start_signals)
        return PF_READY_INTERRUPTED;
    if (pf_now() >= w->deadline)
        return PF_READY_TIMEOUT;
    draw(w, false);
    return PF_READY_OK;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    waiter *w = ud;
    w->abort = check(w);
    return w->abort != PF_READY_OK;
}

static void http(waiter *w, const char *path, const char *post, double timeout, http_resp *h)
{
    memset(h, 0, sizeof *h);
    char *url = pf_xasprintf("%s%s", w->o.base_url, path);
    struct curl_slist *hdr = NULL;
    if (post)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    for (size_t i = 0; w->o.headers && i < w->o.headers->n; i++)
        hdr = curl_slist_append(hdr, w->o.headers->v[i]);
    CURL *c = w->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the server we started is ours, not a proxy's */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    w->abort = PF_READY_OK;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    else if (!h->error[0])
        pf_strlcpy(h->error, curl_easy_strerror(rc), sizeof h->error);
    w->r->last_http_status = (int)h->status;
    if (h->status)
        snprintf(w->r->last_probe, sizeof w->r->last_probe, "%s %s -> %ld", post ? "POST" : "GET", path,
                 h->status);
    else
        snprintf(w->r->last_probe, sizeof w->r->last_probe, "%s %s -> %s", post ? "POST" : "GET", path,
                 h->error);
    curl_slist_free_all(hdr);
    free(url);
}

static void http_free(http_resp *h) { free(h->body); }

/* ---- the steps ---- */

typedef enum step { STEP_HEALTH, STEP_MODELS, STEP_WARMUP, STEP_LINE, STEP_DONE } step;

static const char *step_phase(step s)
{
    static const char *const P[] = {"/health", "/v1/models", "warm-up request", "the ready line", "done"};
    return P[s];
}

static bool retryable(long status) { return status == 0 || status >= 500 || status == 429 || status == 408; }

/* A step's outcome: 1 passed, 0 not yet (retry later), -1 hard failure. */
static int do_health(waiter *w)
{
    http_resp h;
    http(w, w->o.health_path, NULL, w->o.http_timeout_s, &h);
    int res = h.status == 200 ? 1 : 0;
    /* no health endpoint at all: /v1/models (or the warm-up) decides */
    if (h.status == 404 || h.status == 405 || h.status == 501)
        res = 1;
    http_free(&h);
    return res;
}

static int do_models(waiter *w)
{
    http_resp h;
    http(w, "/v1/models", NULL, w->o.http_timeout_s, &h);
    int res = 0;
    if (h.status == 200) {
        json_error_t je;
        json_t *j = h.body ? json_loads(h.body, 0, &je) : NULL;
        json_t *d0 = j ? json_array_get(json_object_get(j, "data"), 0) : NULL;
        const char *id = json_string_value(json_object_get(d0, "id"));
        if (id && !w->r->model[0])
            pf_strlcpy(w->r->model, id, sizeof w->r->model);
        json_decref(j);
        res = 1; /* a model list we cannot parse does not make the server unready */
    } else if (h.status == 404 || h.status == 405) {
        res = 1; /* no /v1/models (SGLang native only): the warm-up will tell */
    }
    http_free(&h);
    return res;
}

static int do_warmup(waiter *w)
{
    bool chat = w->o.warmup_api == PF_LAUNCH_API_CHAT;
    json_t *b = json_object();
    if (w->r->model[0])
        json_object_set_new(b, "model", json_string(w->r->model));
    if (chat)
        json_object_set_new(b, "messages",
                            json_pack("[{s:s, s:s}]", "role", "user", "content", "Say hello."));
    else
        json_object_set_new(b, "prompt", json_string("The capital city of France is"));
    json_object_set_new(b, "max_tokens", json_integer(w->o.warmup_max_tokens));
    json_object_set_new(b, "temperature", json_real(0.0));
    json_object_set_new(b, "stream", json_false());
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    const char *path = chat ? "/v1/chat/completions" : "/v1/completions";
    double t = pf_now();
    http_resp h;
    http(w, path, body, w->o.warmup_timeout_s, &h);
    free(body);
    int res = 0;
    if (h.status == 200) {
        json_error_t je;
        json_t *j = h.body ? json_loads(h.body, 0, &je) : NULL;
        if (json_array_size(json_object_get(j, "choices")) > 0) {
            res = 1;
            w->r->warmup_latency_s = pf_now() - t;
        } else {
            res = -1;
            snprintf(w->r->message, sizeof w->r->message,
                     "the warm-up POST %s answered 200 but not with a completion: %.200s", path,
                     h.body ? h.body : "(empty body)");
        }
        json_decref(j);
    } else if (!retryable(h.status)) {
        res = -1;
        snprintf(w->r->message, sizeof w->r->message, "the warm-up POST %s was refused with HTTP %ld: %.300s",
                 path, h.status, h.body ? h.body : "");
    }
    http_free(&h);
    return res;
}

static double since_start(const waiter *w) { return pf_now() - w->l->t0; }

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void verdict_message(waiter *w, pf_ready_status st)
{
    pf_ready_result *r = w->r;
    pf_launch *l = w->l;
    char how[128], tail[2048];
    pf_launch_describe_exit(l, how, sizeof how);
    const pf_logwatch_hit *f = pf_logwatch_first(l->watch, PF_LOGWATCH_FATAL);
    const pf_logwatch_hit *hint = pf_logwatch_first(l->watch, PF_LOGWATCH_HINT);
    if (f)
        r->fatal = *f;
    switch (st) {
    case PF_READY_OK:
        snprintf(r->message, sizeof r->message, "server ready after %.1f s (model %s)", r->load_time_s,
                 r->model[0] ? r->model : "unknown");
        break;
    case PF_READY_FATAL:
        snprintf(r->message, sizeof r->message,
                 "the server log shows a known fatal error after %.1f s -- preflight check %s predicts "
                 "it: %s\n  line %lu: %s\n  remedy: %s",
                 f->t, f->sig->check_id, f->sig->what, f->line_no, f->line, f->sig->remedy);
        break;
    case PF_READY_DIED:
        pf_launch_tail_text(l, 10, tail, sizeof tail);
        snprintf(r->message, sizeof r->message,
                 "the server %s after %.1f s, before it was ready; last lines of %s:\n%s", how, l->t_exit,
                 l->log_path, tail[0] ? tail : "  | (the log is empty)");
        break;
    case PF_READY_TIMEOUT:
        snprintf(r->message, sizeof r->message,
                 "the server was not ready within %.0f s (still waiting for %s; last probe: %s)%s%s%s%s", w->o.deadline_s,
                 w->phase, r->last_probe[0] ? r->last_probe : "none", hint ? "; the log has a hint (" : "",
                 hint ? hint->sig->check_id : "", hint ? "): " : "", hint ? hint->line : "");
        break;
    case PF_READY_INTERRUPTED:
        snprintf(r->message, sizeof r->message, "interrupted after %.1f s while waiting for %s",
                 since_start(w), w->phase);
        break;
    case PF_READY_WARMUP_FAILED:
        break; /* do_warmup wrote it */
    }
}

int pf_launch_wait_ready(pf_launch *l, const pf_ready_opts *opts, pf_ready_result *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    out->t_health_s = out->t_models_s = out->t_warmup_s = out->t_ready_line_s = -1;
    out->warmup_latency_s = -1;
    if (!opts || !opts->base_url || strncmp(opts->base_url, "http", 4) != 0)
        return pf_err_set(err, "launch: a base URL such as http://127.0.0.1:30000 is needed to probe readiness");
    waiter w = {.l = l, .o = *opts, .r = out};
    pf_ready_opts def;
    pf_ready_opts_init(&def);
    if (w.o.deadline_s <= 0) w.o.deadline_s = def.deadline_s;
    if (w.o.poll_interval_s <= 0) w.o.poll_interval_s = def.poll_interval_s;
    if (w.o.http_timeout_s <= 0) w.o.http_timeout_s = def.http_timeout_s;
    if (!w.o.health_path) w.o.health_path = def.health_path;
    if (w.o.warmup_max_tokens <= 0) w.o.warmup_max_tokens = def.warmup_max_tokens;
    if (w.o.warmup_timeout_s <= 0) w.o.warmup_timeout_s = def.warmup_timeout_s;
    if (w.o.model)
        pf_strlcpy(out->model, w.o.model, sizeof out->model);
    w.curl = curl_easy_init();
    if (!w.curl)
        return pf_err_set(err, "launch: cannot initialise libcurl");
    w.deadline = l->t0 + w.o.deadline_s;
    w.draw = w.o.progress > 0 || (w.o.progress == 0 && isatty(STDERR_FILENO));
    w.start_signals = l->stop_counter ? *l->stop_counter : 0;

    step s = w.o.health_path[0] ? STEP_HEALTH : STEP_MODELS;
    if (s == STEP_MODELS && w.o.skip_models)
        s = STEP_WARMUP;
    if (s == STEP_WARMUP && w.o.warmup_api == PF_LAUNCH_API_NONE)
        s = STEP_LINE;
    double next_probe = 0;
    pf_ready_status st = PF_READY_OK;
    while (s != STEP_DONE) {
        w.phase = step_phase(s);
        if ((st = check(&w)) != PF_READY_OK)
            break;
        const pf_logwatch_hit *line = pf_logwatch_first(l->watch, PF_LOGWATCH_READY);
        if (line && out->t_ready_line_s < 0)
            out->t_ready_line_s = line->t;
        if (s == STEP_LINE) {
            if (!w.o.require_ready_line || line) {
                s = STEP_DONE;
                break;
            }
            sleep_s(0.1);
            continue;
        }
        if (pf_now() < next_probe) {
            sleep_s(0.1);
            continue;
        }
        int res = s == STEP_HEALTH ? do_health(&w) : s == STEP_MODELS ? do_models(&w) : do_warmup(&w);
        if (w.abort != PF_READY_OK) {
            st = w.abort;
            break;
        }
        if (res < 0) {
            st = PF_READY_WARMUP_FAILED;
            break;
        }
        if (res == 0) {
            next_probe = pf_now() + w.o.poll_interval_s;
            continue;
        }
        double t = since_start(&w);
        if (s == STEP_HEALTH) {
            out->t_health_s = t;
            s = w.o.skip_models ? STEP_WARMUP : STEP_MODELS;
        } else if (s == STEP_MODELS) {
            out->t_models_s = t;
            s = STEP_WARMUP;
        } else {
            out->t_warmup_s = t;
            s = STEP_LINE;
        }
        if (s == STEP_WARMUP && w.o.warmup_api == PF_LAUNCH_API_NONE)
            s = STEP_LINE;
        next_probe = 0; /* the next step starts at once */
    }
    pf_launch_clear_progress(l);
    curl_easy_cleanup(w.curl);
    out->status = st;
    out->load_time_s = since_start(&w);
    out->exited = l->exited;
    out->signalled = l->signalled;
    out->exit_code = l->exit_code;
    out->term_signal = l->term_signal;
    verdict_message(&w, st);
    l->ready = *out;
    l->have_ready = true;
    return 0;
}

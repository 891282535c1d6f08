/* bench_server.c -- the server's side of a run: is it there, which model,
 * is it ready, /server_info, and --launch (start, watch, stop). */
#include "bench/bench_int.h"
#include "core/sig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* GET /v1/models until it answers (bounded by --ready-timeout); records what
 * it said under bench.server.  Returns 0 when the server answered HTTP. */
int pf_bench_discover(runctx *c, pf_check *chk)
{
    const pf_bench_opts *o = c->o;
    json_t *server = json_object();
    json_object_set_new(c->bench, "server", server);
    char *url = pf_url_join(o->url, "/v1/models");
    /* a launched server was already waited for (launch_server) */
    double deadline = pf_now() + (c->launch ? 0 : o->ready_timeout_s);
    pf_http_resp r = {0};
    pf_err err = {{0}};
    int got;
    size_t tries = 0;
    for (;;) {
        tries++;
        double left = deadline - pf_now();
        double to = o->connect_timeout_s;
        if (left > 0.2 && left < to)
            to = left;
        got = pf_http_get(url, &o->headers, to, 1 << 20, &r, &err);
        if (got == 0 && r.status != 503)
            break;
        left = deadline - pf_now();
        if (left <= 0 || *c->interrupted)
            break; /* the last answer (or error) stands */
        if (got == 0)
            pf_http_resp_free(&r);
        sleep_s(left < 0.5 ? left : 0.5);
    }
    json_object_set_new(server, "models_url", json_string(url));
    json_object_set_new(server, "ready_tries", json_integer((json_int_t)tries));
    if (got < 0) {
        json_object_set_new(server, "error", json_string(err.msg));
        pf_check_set(chk, PF_ERROR, "cannot reach the server at %s: %s", o->url, err.msg);
        pf_check_remedy(chk, "start the server first, check --url (host and port), or give "
                        "--ready-timeout S to wait for a server that is still loading");
        pf_run_set_incomplete(c->run, "server unreachable: %s", err.msg);
        free(url);
        return -1;
    }
    json_object_set_new(server, "models_status", json_integer(r.status));
    const char *found = NULL;
    json_t *models = NULL;
    if (r.status == 200) {
        json_error_t je;
        models = json_loads(r.body, 0, &je);
        if (!models)
            json_object_set_new(server, "models_error",
                                json_sprintf("GET %s answered non-JSON: %.120s", url, r.body));
        json_t *d0 = json_array_get(json_object_get(models, "data"), 0);
        found = json_string_value(json_object_get(d0, "id"));
        if (models)
            json_object_set(server, "models", models);
    }
    if (found)
        json_object_set_new(server, "model_discovered", json_string(found));
    if (o->model)
        c->model = pf_xstrdup(o->model);
    else if (found)
        c->model = pf_xstrdup(found);
    int rc = 0;
    if (r.status == 503) {
        pf_check_set(chk, PF_ERROR, "server at %s still not ready after %.1f s (GET /v1/models: 503)",
                     o->url, o->ready_timeout_s);
        pf_check_remedy(chk, "give --ready-timeout S long enough for the model to load");
        pf_run_set_incomplete(c->run, "server not ready");
        rc = -1;
    } else if (!c->model && o->api != PF_API_GENERATE) {
        char snippet[160];
        pf_strlcpy(snippet, r.body ? r.body : "", sizeof snippet);
        for (char *p = snippet; *p; p++)
            if (*p < 0x20)
                *p = ' ';
        if (r.status == 200 && !models)
            pf_check_set(chk, PF_ERROR, "GET %s answered non-JSON (%s), so no model name: %s", url,
                         r.content_type ? r.content_type : "no Content-Type", snippet);
        else
            pf_check_set(chk, PF_ERROR, "no --model given and GET %s named none (HTTP %ld): %s",
                         url, r.status, snippet);
        pf_check_remedy(chk, "pass --model NAME, or point --url at an OpenAI-compatible server");
        pf_run_set_incomplete(c->run, "no model name to send");
        rc = -1;
    } else {
        pf_check_set(chk, PF_PASS, "server at %s answered; model %s", o->url,
                     c->model ? c->model : "(none: native /generate)");
    }
    json_object_set_new(server, "model", c->model ? json_string(c->model) : json_null());
    json_object_update(pf_check_evidence(chk), server);
    json_decref(models);
    pf_http_resp_free(&r);
    free(url);
    return rc;
}

/* bench_serving GETs /server_info for sglang backends before it stops the
 * clock; older servers call it /get_server_info. */
json_t *pf_bench_server_info(runctx *c, double *accept_length)
{
    *accept_length = -1;
    if (!strstr(c->o->backend, "sglang"))
        return NULL;
    static const char *const paths[] = {"/server_info", "/get_server_info"};
    json_t *info = NULL;
    for (size_t i = 0; i < 2 && !info; i++) {
        char *u = pf_url_join(c->o->url, paths[i]);
        pf_http_resp r;
        pf_err err;
        if (pf_http_get(u, &c->o->headers, 5.0, 4 << 20, &r, &err) == 0) {
            if (r.status == 200)
                info = json_loads(r.body, 0, NULL);
            pf_http_resp_free(&r);
        }
        free(u);
    }
    json_t *s = info;
    if (json_is_array(json_object_get(s, "decode")))
        s = json_array_get(json_object_get(s, "decode"), 0);
    json_t *st0 = json_array_get(json_object_get(s, "internal_states"), 0);
    json_t *al = json_object_get(st0, "avg_spec_accept_length");
    if (json_is_number(al))
        *accept_length = json_number_value(al);
    return info;
}

/* During load: did the launched server die or log a fatal line? */
int pf_bench_launch_tick(void *ud, char *why, size_t whylen)
{
    runctx *c = ud;
    if (c->group) {
        char w[900];
        if (pf_launch_group_poll(c->group, w, sizeof w) == 0)
            return 0;
        snprintf(why, whylen, "the launch failed during load: %s", w);
        return 1;
    }
    pf_launch_status st;
    if (pf_launch_poll(c->launch, &st) == 0)
        return 0;
    snprintf(why, whylen, "the launched server failed during load: %s", st.message);
    return 1;
}

static char *node_log(const char *dir, const char *name) { return pf_xasprintf("%s/%s.log", dir, name); }

/* --launch-node ...: start every helper in order, wait until each is ready.
 * The group is kept even on failure, so the finish records and stops it. */
static int start_nodes(runctx *c, pf_check *srv)
{
    const pf_bench_opts *o = c->o;
    c->group = pf_launch_group_new(c->interrupted);
    for (size_t i = 0; i < o->n_launch_nodes; i++) {
        const struct pf_bench_launch_node *n = &o->launch_nodes[i];
        pf_launch_node_spec spec = {.name = n->name, .ready_addr = n->ready_addr, .argv = n->argv};
        pf_launch_opts lo = {0};
        char *log = o->launch_log_dir ? node_log(o->launch_log_dir, n->name) : NULL;
        lo.log_path = log;
        lo.tee = o->out.verbosity > 1;
        pf_err err = {{0}};
        int r = pf_launch_group_start(c->group, &spec, &lo, &err);
        free(log);
        if (r < 0) {
            pf_check_set(srv, PF_ERROR, "cannot start the launch: %s", err.msg);
            pf_check_remedy(srv, "check the command of --launch-node %s (is the program installed on that node?)",
                            n->name);
            pf_run_set_incomplete(c->run, "launch node %s could not be started", n->name);
            return -1;
        }
    }
    pf_err err = {{0}};
    if (pf_launch_group_wait(c->group, o->ready_timeout_s > 0 ? o->ready_timeout_s : 120, &err) < 0) {
        pf_check_set(srv, PF_ERROR, "a node of the launch did not become ready: %s", err.msg);
        pf_check_remedy(srv, "see bench.launch_nodes in the record (each node's log path and fate)");
        pf_run_set_incomplete(c->run, "launch nodes not ready");
        return -1;
    }
    return 0;
}

/* --launch -- CMD...: start it, wait until it answers (or why not). */
int pf_bench_launch_start(runctx *c, pf_check *srv)
{
    const pf_bench_opts *o = c->o;
    pf_err err = {{0}};
    pf_launch_opts lo = {0};
    if (o->n_launch_nodes && start_nodes(c, srv) < 0)
        return -1;
    char *front_log = NULL;
    if (!o->launch_log && o->launch_log_dir)
        front_log = node_log(o->launch_log_dir, o->launch_name ? o->launch_name : "front");
    lo.log_path = o->launch_log ? o->launch_log : front_log;
    lo.tee = o->out.verbosity > 0;
    c->launch = pf_launch_start(o->launch_argv, &lo, &err);
    free(front_log);
    if (!c->launch) {
        pf_check_set(srv, PF_ERROR, "cannot start the server: %s", err.msg);
        pf_check_remedy(srv, "check the command after --launch --");
        pf_run_set_incomplete(c->run, "server could not be started");
        return -1;
    }
    pf_launch_watch_flag(c->launch, c->interrupted);
    pf_sig_watch_group(pf_launch_pid(c->launch)); /* a second signal SIGKILLs its group */
    if (c->group)
        pf_launch_group_adopt(c->group, o->launch_name ? o->launch_name : "front", c->launch);
    pf_ready_opts ro;
    pf_ready_opts_init(&ro);
    ro.base_url = o->url;
    ro.deadline_s = o->ready_timeout_s; /* 0: the launcher's default */
    ro.model = o->model;
    ro.warmup_api = o->api == PF_API_CHAT ? PF_LAUNCH_API_CHAT
                    : o->api == PF_API_COMPLETIONS ? PF_LAUNCH_API_COMPLETIONS
                                                   : PF_LAUNCH_API_NONE;
    ro.headers = &o->headers.lines; /* --header lines and the Authorization one */
    ro.progress = o->progress ? 0 : -1;
    pf_ready_result rr;
    if (pf_launch_wait_ready(c->launch, &ro, &rr, &err) < 0) {
        pf_check_set(srv, PF_ERROR, "cannot wait for the server: %s", err.msg);
        pf_run_set_incomplete(c->run, "%s", err.msg);
        return -1;
    }
    char first[900] = "";
    if (rr.status != PF_READY_OK && c->group && pf_launch_group_poll(c->group, first, sizeof first) == 1) {
        /* a helper that ended first is the cause; the front's fate is the symptom */
        pf_check_set(srv, PF_ERROR, "the launched server did not become ready (%s): %s", pf_ready_status_name(rr.status),
                     first);
        pf_check_remedy(srv, "see bench.launch_nodes in the record (which node ended first, its log)");
        pf_run_set_incomplete(c->run, "launched server not ready: %s", pf_ready_status_name(rr.status));
        return -1;
    }
    if (rr.status != PF_READY_OK) {
        pf_check_set(srv, PF_ERROR, "the launched server did not become ready (%s): %s",
                     pf_ready_status_name(rr.status), rr.message);
        pf_check_remedy(srv, "see bench.launch in the record (log tail, fatal signature)");
        pf_run_set_incomplete(c->run, "launched server not ready: %s", pf_ready_status_name(rr.status));
        return -1;
    }
    if (c->group)
        pf_launch_group_serving(c->group);
    return 0;
}

void pf_bench_launch_finish(runctx *c)
{
    if (c->group) {
        pf_launch_group_stop(c->group, 10.0);
        if (c->launch) {
            json_t *lj = pf_launch_to_json(c->launch);
            json_object_set_new(lj, "node", json_string(c->o->launch_name ? c->o->launch_name : "front"));
            json_object_set_new(c->bench, "launch", lj);
            pf_launch_add_check(c->run, NULL, c->launch);
        }
        json_object_set_new(c->bench, "launch_nodes", pf_launch_group_to_json(c->group));
        pf_launch_group_add_check(c->run, c->group);
        pf_launch_group_free(c->group);
        c->group = NULL;
        c->launch = NULL;
        return;
    }
    if (!c->launch)
        return;
    pf_launch_stop_result sr;
    /* Each rung of the stop ladder waits 10 s by default; a scheduler with a
     * short kill grace (Slurm KillWait, a pod's terminationGracePeriod) can
     * ask for less with PREFLIGHT_STOP_GRACE_S (docs/launch.md). */
    double grace = 10.0;
    const char *g = getenv("PREFLIGHT_STOP_GRACE_S");
    if (g && *g) {
        char *end;
        double v = strtod(g, &end);
        if (*end == '\0' && v > 0 && v <= 3600)
            grace = v;
    }
    pf_launch_stop(c->launch, grace, &sr);
    pf_sig_watch_group(0);
    if (*c->interrupted)
        pf_run_set_incomplete(c->run, "interrupted by %s; the server was stopped (%s)",
                              pf_sig_name(pf_sig_last() ? pf_sig_last() : SIGINT), sr.stage);
    json_object_set_new(c->bench, "launch", pf_launch_to_json(c->launch));
    pf_launch_add_check(c->run, NULL, c->launch);
    pf_launch_free(c->launch);
    c->launch = NULL;
}


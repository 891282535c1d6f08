/* nccl_judge.c -- merge rank results, decide the nccl.* checks. */
#include "probes/nccl/nccl_judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/nccl/nccl_class.h"
#include "probes/nccl/nccl_log.h"
#include "probes/nccl/nccl_sweep.h"

void pf_nccljudge_annotate(json_t *res, const char *log_text)
{
    pf_nccllog *log = pf_xcalloc(1, sizeof *log);
    pf_nccllog_parse(log_text ? log_text : "", log);
    if (log_text)
        json_object_set_new(res, "nccl_log", pf_nccllog_to_json(log));
    json_t *f = json_object_get(res, "failure");
    if (json_is_object(f)) {
        pf_ncclclass_in in = {
            .phase = json_string_value(json_object_get(f, "phase")),
            .kind = json_string_value(json_object_get(f, "kind")),
            .nccl_result = json_is_integer(json_object_get(f, "nccl_result"))
                               ? (int)json_integer_value(json_object_get(f, "nccl_result"))
                               : -1,
            .message = json_string_value(json_object_get(f, "message")),
            .last_error = json_string_value(json_object_get(f, "last_error")),
            .log = log_text ? log : NULL,
        };
        pf_ncclclass c;
        pf_ncclclass_diagnose(&in, &c);
        json_object_set_new(res, "diagnosis", pf_ncclclass_to_json(&c));
    }
    free(log);
}

/* Merge one collective's rows over ranks (same sizes in the same order). */
static json_t *merge_coll(json_t *ranks, const char *key, pf_ncclcoll c, int n)
{
    json_t *out = json_array();
    size_t nr = json_array_size(ranks), rows = SIZE_MAX;
    for (size_t r = 0; r < nr; r++) {
        json_t *a = json_object_get(json_array_get(ranks, r), key);
        size_t k = json_is_array(a) ? json_array_size(a) : 0;
        if (k < rows)
            rows = k;
    }
    if (rows == SIZE_MAX)
        rows = 0;
    for (size_t i = 0; i < rows; i++) {
        double tmax = 0;
        json_int_t wrong = 0, bytes = 0, count = 0;
        for (size_t r = 0; r < nr; r++) {
            json_t *row = json_array_get(json_object_get(json_array_get(ranks, r), key), i);
            double t = json_number_value(json_object_get(row, "time_us"));
            if (t > tmax)
                tmax = t;
            wrong += json_integer_value(json_object_get(row, "wrong"));
            bytes = json_integer_value(json_object_get(row, "bytes"));
            count = json_integer_value(json_object_get(row, "count"));
        }
        double alg = pf_ncclsweep_algbw((uint64_t)bytes, tmax / 1e6);
        json_array_append_new(out, json_pack("{s:I, s:I, s:f, s:f, s:f, s:I}", "bytes", bytes, "count", count,
                                             "time_us", tmax, "algbw", alg, "busbw",
                                             alg * pf_ncclsweep_busbw_factor(c, n), "wrong", wrong));
    }
    return out;
}

json_t *pf_nccljudge_section(json_t *ranks)
{
    int n = (int)json_array_size(ranks);
    json_t *p2p = json_array();
    for (int r = 0; r < n; r++) {
        json_t *a = json_object_get(json_array_get(ranks, r), "p2p");
        size_t i;
        json_t *row;
        json_array_foreach(a, i, row) json_array_append(p2p, row);
    }
    json_t *s = json_object();
    json_object_set_new(s, "nranks", json_integer(n));
    json_object_set_new(s, "all_reduce", merge_coll(ranks, "all_reduce", PF_NCCL_ALLREDUCE, n));
    json_object_set_new(s, "all_gather", merge_coll(ranks, "all_gather", PF_NCCL_ALLGATHER, n));
    json_object_set_new(s, "p2p", p2p);
    json_object_set(s, "ranks", ranks);
    return s;
}

/* ---- checks ---- */

static const char *diag_str(const json_t *rank, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(rank, "diagnosis"), key));
    return s ? s : "";
}

static bool secondary(const char *cause)
{
    /* what a rank sees when another one is the problem */
    return !strcmp(cause, "peer_died") || !strcmp(cause, "collective_hang") || !strcmp(cause, "bootstrap_hang") ||
           !strcmp(cause, "connect_hang") || !strcmp(cause, "teardown_hang") || !strcmp(cause, "unknown") ||
           !strcmp(cause, "aborted");
}

/* The rank whose failure explains the others, NULL when none failed. */
static const json_t *root_failure(const json_t *ranks)
{
    size_t i;
    const json_t *r, *first = NULL, *primary = NULL, *hang = NULL;
    json_array_foreach(ranks, i, r) {
        if (!json_is_object(json_object_get(r, "diagnosis")))
            continue;
        const char *cause = diag_str(r, "cause");
        if (!strcmp(cause, "never_joined") || !strcmp(cause, "rank_died"))
            return r;
        if (!first)
            first = r;
        if (!primary && !secondary(cause))
            primary = r;
        /* a rank that hung and aborted closes its sockets, so its peers
         * then report "peer died": the hang is nearer the cause */
        if (!hang && strcmp(cause, "peer_died") != 0)
            hang = r;
    }
    return primary ? primary : hang ? hang : first;
}

static void failure_evidence(pf_check *c, const json_t *ranks)
{
    json_t *ev = json_array();
    size_t i;
    const json_t *r;
    json_array_foreach(ranks, i, r) {
        const json_t *d = json_object_get(r, "diagnosis");
        if (!json_is_object(d))
            continue;
        json_array_append_new(ev, json_pack("{s:O, s:O, s:O, s:s, s:s, s:s, s:O}", "rank", json_object_get(r, "rank"),
                                            "host", json_object_get(r, "host"), "phase", json_object_get(r, "phase"),
                                            "cause", diag_str(r, "cause"), "stage", diag_str(r, "stage"), "message",
                                            diag_str(r, "evidence"), "log_file",
                                            json_object_get(r, "log_file") ? json_object_get(r, "log_file")
                                                                           : json_null()));
    }
    json_object_set_new(pf_check_evidence(c), "failures", ev);
}

static void fail_with(pf_check *c, const json_t *root, const char *lead)
{
    const char *ev = diag_str(root, "evidence");
    pf_check_set(c, PF_FAIL, "%srank %lld (%s) failed in %s: %s%s%s%s", lead,
                 (long long)json_integer_value(json_object_get(root, "rank")),
                 json_string_value(json_object_get(root, "host")) ? json_string_value(json_object_get(root, "host"))
                                                                  : "?",
                 diag_str(root, "stage"), diag_str(root, "what"), *ev ? " -- \"" : "", ev, *ev ? "\"" : "");
    pf_check_remedy(c, "%s", diag_str(root, "remedy"));
    json_object_set_new(pf_check_evidence(c), "cause", json_string(diag_str(root, "cause")));
}

static bool all_skip(const json_t *ranks)
{
    size_t i;
    const json_t *r;
    bool any = false;
    json_array_foreach(ranks, i, r) {
        json_t *d = json_object_get(r, "diagnosis");
        if (!json_is_object(d))
            return false;
        if (!json_is_true(json_object_get(d, "skip")))
            return false;
        any = true;
    }
    return any;
}

static void check_coll(pf_run *run, pf_node *node, const json_t *s, const json_t *root, const char *id,
                       const char *key, const pf_nccljudge_plan *plan, bool init_ok)
{
    pf_check *c = pf_check_add(run, node, id);
    const json_t *rows = json_object_get(s, key);
    size_t n = json_array_size(rows);
    const char *rcheck = root ? diag_str(root, "check") : "";
    if (!init_ok) {
        pf_check_set(c, PF_SKIP, "not run: the communicator was not formed (see nccl.init)");
        return;
    }
    if (root && !strcmp(rcheck, id)) {
        fail_with(c, root, "");
        failure_evidence(c, json_object_get(s, "ranks"));
        return;
    }
    if (n == 0) {
        pf_check_set(c, PF_SKIP, root ? "not run: an earlier step failed (see %s)" : "not run", rcheck);
        return;
    }
    json_int_t wrong = 0;
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) wrong += json_integer_value(json_object_get(row, "wrong"));
    const json_t *last = json_array_get(rows, n - 1);
    double busbw = json_number_value(json_object_get(last, "busbw"));
    char sz[32];
    pf_ncclsweep_size_str((uint64_t)json_integer_value(json_object_get(last, "bytes")), sz, sizeof sz);
    json_object_set_new(pf_check_evidence(c), "rows", json_deep_copy(rows));
    pf_check_measure(c, busbw, plan && plan->min_busbw > 0 ? plan->min_busbw : 0, "GB/s");
    if (wrong > 0) {
        pf_check_set(c, PF_FAIL, "%lld wrong elements in the results (data corrupted on the way)", (long long)wrong);
        pf_check_remedy(c, "NCCL delivered wrong data: check the NIC/driver (offloads, firmware) and GPU memory errors "
                           "(nvidia-smi -q -d ECC).");
        return;
    }
    if (plan && plan->min_busbw > 0 && busbw < plan->min_busbw) {
        pf_check_set(c, PF_FAIL, "busbw %.2f GB/s at %s, below the %.2f GB/s required; all %zu sizes correct",
                     busbw, sz, plan->min_busbw, n);
        pf_check_remedy(c, "Look at nccl.transport: a slower NIC or a Socket fallback is the usual cause.");
        return;
    }
    pf_check_set(c, PF_PASS, "%zu sizes, every result correct; busbw %.2f GB/s at %s (%.0f us)", n, busbw, sz,
                 json_number_value(json_object_get(last, "time_us")));
}

static void check_p2p(pf_run *run, pf_node *node, const json_t *s, const json_t *root, bool init_ok, int nranks)
{
    pf_check *c = pf_check_add(run, node, "nccl.p2p");
    const json_t *rows = json_object_get(s, "p2p");
    if (!init_ok) {
        pf_check_set(c, PF_SKIP, "not run: the communicator was not formed (see nccl.init)");
        return;
    }
    if (root && !strcmp(diag_str(root, "check"), "nccl.p2p")) {
        fail_with(c, root, "");
        failure_evidence(c, json_object_get(s, "ranks"));
        return;
    }
    if (nranks < 2 || json_array_size(rows) == 0) {
        pf_check_set(c, PF_SKIP, nranks < 2 ? "one rank: no pipeline link" : "not run");
        return;
    }
    json_object_set_new(pf_check_evidence(c), "links", json_deep_copy(rows));
    json_int_t wrong = 0;
    double worst = INFINITY;
    const json_t *wr = NULL;
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        wrong += json_integer_value(json_object_get(row, "wrong"));
        double g = json_number_value(json_object_get(row, "gbps"));
        if (g < worst) {
            worst = g;
            wr = row;
        }
    }
    pf_check_measure(c, worst, 0, "GB/s");
    if (wrong > 0) {
        pf_check_set(c, PF_FAIL, "%lld wrong elements received between pipeline stages", (long long)wrong);
        pf_check_remedy(c, "NCCL delivered wrong data: check the NIC/driver and GPU memory errors.");
        return;
    }
    char sz[32];
    pf_ncclsweep_size_str((uint64_t)json_integer_value(json_object_get(wr, "bytes")), sz, sizeof sz);
    pf_check_set(c, PF_PASS, "%zu stage-to-stage hand-offs in pipeline order, all correct; slowest %s %s %lld->%lld: "
                             "%.2f GB/s (%.0f us)",
                 json_array_size(rows), json_string_value(json_object_get(wr, "name")), sz,
                 (long long)json_integer_value(json_object_get(wr, "from")),
                 (long long)json_integer_value(json_object_get(wr, "to")), worst,
                 json_number_value(json_object_get(wr, "time_us")));
}

/* Does NCCL_SOCKET_IFNAME-style list select name?  "eth,enp" matches by
 * prefix, "=eth0" exactly, "^docker,lo" excludes (NCCL's own rules). */
static bool in_list(const char *list, const char *name)
{
    if (!list)
        return true;
    bool exclude = list[0] == '^';
    if (exclude)
        list++;
    bool exact = list[0] == '=';
    if (exact)
        list++;
    bool hit = false;
    size_t n = strlen(name);
    for (const char *p = list; p && *p && !hit;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        hit = exact ? (k == n && strncmp(p, name, n) == 0) : (k <= n && k > 0 && strncmp(p, name, k) == 0);
        p = e ? e + 1 : NULL;
    }
    return exclude ? !hit : hit;
}

static void check_transport(pf_run *run, pf_node *node, const json_t *s, const json_t *capture,
                            const pf_nccljudge_plan *plan)
{
    pf_check *c = pf_check_add(run, node, "nccl.transport");
    const json_t *ranks = json_object_get(s, "ranks");
    json_t *per = json_array();
    char used[128] = "", ifs[256] = "";
    bool any_channels = false, plugin_failed = false;
    size_t i;
    const json_t *r;
    json_array_foreach(ranks, i, r) {
        const json_t *lg = json_object_get(r, "nccl_log");
        if (!json_is_object(lg))
            continue;
        json_t *tr = json_object_get(lg, "transports");
        json_t *si = json_object_get(lg, "socket_interfaces");
        if (json_is_true(json_object_get(lg, "plugin_failed")))
            plugin_failed = true;
        json_array_append_new(per, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "rank", json_object_get(r, "rank"),
                                             "transports", tr, "socket_interfaces", si, "bootstrap",
                                             json_object_get(lg, "bootstrap"), "network",
                                             json_object_get(lg, "network"), "plugin", json_object_get(lg, "plugin")));
        size_t k;
        json_t *t;
        json_array_foreach(tr, k, t) {
            any_channels = true;
            if (!strstr(used, json_string_value(t)))
                snprintf(used + strlen(used), sizeof used - strlen(used), "%s%s", used[0] ? ", " : "",
                         json_string_value(t));
        }
        json_array_foreach(si, k, t) {
            const char *nm = json_string_value(json_object_get(t, "ifname"));
            char tok[96];
            snprintf(tok, sizeof tok, "%s %s", nm, json_string_value(json_object_get(t, "address")));
            if (nm && !strstr(ifs, tok))
                snprintf(ifs + strlen(ifs), sizeof ifs - strlen(ifs), "%s%s", ifs[0] ? ", " : "", tok);
        }
    }
    json_object_set_new(pf_check_evidence(c), "ranks", per);
    if (capture)
        json_object_set_new(pf_check_evidence(c), "capture", json_deep_copy(capture));
    if (plan && plan->transport)
        json_object_set_new(pf_check_evidence(c), "planned_transport", json_string(plan->transport));
    if (plan && plan->ifnames)
        json_object_set_new(pf_check_evidence(c), "planned_ifnames", json_string(plan->ifnames));
    if (plugin_failed) {
        pf_check_set(c, PF_FAIL, "a network plugin failed to initialise (see the ranks' logs)");
        pf_check_remedy(c, "Install the plugin's dependencies on every node or unset NCCL_NET_PLUGIN.");
        return;
    }
    if (!any_channels) {
        pf_check_set(c, PF_SKIP, "no data moved, so NCCL logged no channel: nothing to compare");
        return;
    }
    /* The capture, when there is one, is the last word on the NIC. */
    const char *busiest = NULL;
    json_int_t most = 0, total = 0;
    const json_t *ifcap = capture ? json_object_get(capture, "interfaces") : NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ifcap, k, v) {
        json_int_t b = json_integer_value(json_object_get(v, "bytes"));
        total += b;
        if (b > most) {
            most = b;
            busiest = k;
        }
    }
    if (plan && plan->transport && !strstr(used, plan->transport)) {
        pf_check_set(c, PF_FAIL, "NCCL used %s, the plan expected %s (interfaces: %s)", used, plan->transport,
                     ifs[0] ? ifs : "none logged");
        pf_check_remedy(c, "The planned transport did not come up: for NET/IB check net.rdma and that NCCL_IB_DISABLE is "
                           "unset; for a Socket plan check NCCL_NET.");
        return;
    }
    if (plan && plan->ifnames && busiest && !in_list(plan->ifnames, busiest)) {
        pf_check_set(c, PF_FAIL, "%lld of %lld captured bytes went over %s, which the plan (%s) excludes",
                     (long long)most, (long long)total, busiest, plan->ifnames);
        pf_check_remedy(c, "Set NCCL_SOCKET_IFNAME=%s on every node (the env file from `preflight plan`).",
                        plan->ifnames);
        return;
    }
    if (plan && plan->ifnames && strstr(used, "NET/Socket")) {
        json_array_foreach(ranks, i, r) {
            size_t q;
            json_t *t;
            json_array_foreach(json_object_get(json_object_get(r, "nccl_log"), "socket_interfaces"), q, t) {
                const char *nm = json_string_value(json_object_get(t, "ifname"));
                if (nm && !in_list(plan->ifnames, nm)) {
                    pf_check_set(c, PF_FAIL, "rank %lld's NET/Socket uses %s, which the plan (%s) does not include",
                                 (long long)json_integer_value(json_object_get(r, "rank")), nm, plan->ifnames);
                    pf_check_remedy(c, "Set NCCL_SOCKET_IFNAME=%s on every node (the env file from `preflight plan`).",
                                    plan->ifnames);
                    return;
                }
            }
        }
    }
    char cap[192] = "";
    if (busiest)
        snprintf(cap, sizeof cap, "; captured %.1f MB over %s", (double)most / 1e6, busiest);
    pf_check_set(c, PF_PASS, "NCCL used %s%s%s%s%s", used, ifs[0] ? " over " : "", ifs, cap,
                 plan && (plan->transport || plan->ifnames) ? ", as planned" : "");
}

static void rank_version(const json_t *r, char *v, size_t len)
{
    v[0] = 0;
    const json_t *code = json_object_get(r, "nccl_version");
    json_int_t c = json_integer_value(code);
    if (json_is_integer(code) && c >= 20900) /* NCCL_VERSION(X,Y,Z) = X*10000 + Y*100 + Z since 2.9 */
        snprintf(v, len, "%lld.%lld.%lld", (long long)(c / 10000), (long long)(c / 100 % 100), (long long)(c % 100));
    else if (json_string_value(json_object_get(json_object_get(r, "nccl_log"), "version")))
        snprintf(v, len, "%s", json_string_value(json_object_get(json_object_get(r, "nccl_log"), "version")));
}

bool pf_nccljudge_versions(const json_t *ranks, char *out, size_t len)
{
    /* up to 8 distinct versions, each with the names of its ranks' hosts */
    char ver[8][32], who[8][256];
    int nv = 0;
    size_t i;
    const json_t *r;
    json_array_foreach(ranks, i, r) {
        char v[32];
        rank_version(r, v, sizeof v);
        if (!v[0])
            continue;
        int k = 0;
        while (k < nv && strcmp(ver[k], v))
            k++;
        if (k == nv) {
            if (nv == 8)
                continue;
            snprintf(ver[nv], sizeof ver[0], "%s", v);
            who[nv][0] = 0;
            nv++;
        }
        const char *h = json_string_value(json_object_get(r, "host"));
        char name[64];
        if (h)
            snprintf(name, sizeof name, "%s", h);
        else
            snprintf(name, sizeof name, "rank %lld", (long long)json_integer_value(json_object_get(r, "rank")));
        size_t l = strlen(who[k]);
        snprintf(who[k] + l, sizeof who[0] - l, "%s%s", l ? ", " : "", name);
    }
    if (nv < 2)
        return false;
    out[0] = 0;
    for (int k = 0; k < nv; k++) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s on %s", k ? " vs " : "", ver[k], who[k]);
    }
    return true;
}

pf_status pf_nccljudge_predicted(const json_t *r, const char *pred_if, const char *pred_transport, char *out,
                                 size_t len)
{
    const json_t *lg = json_object_get(r, "nccl_log");
    if (!pred_if && !pred_transport) {
        snprintf(out, len, "no prediction: net.nccl_ifname and net.transport did not run on this node");
        return PF_SKIP;
    }
    if (!json_is_object(lg)) {
        snprintf(out, len, "no NCCL log from this rank to compare with the prediction");
        return PF_SKIP;
    }
    /* What NCCL used: its NET transport from the channel lines (one rank
     * per node, so every channel is NET/...), else the "Using network"
     * line; the bootstrap interface, else the first NET/Socket one. */
    const char *net = NULL, *boot = json_string_value(json_object_get(json_object_get(lg, "bootstrap"), "ifname"));
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(lg, "transports"), i, t) {
        const char *x = json_string_value(t);
        if (x && strncmp(x, "NET/", 4) == 0 && !net)
            net = x + 4;
    }
    if (!net)
        net = json_string_value(json_object_get(lg, "network"));
    if (!boot)
        boot = json_string_value(json_object_get(json_array_get(json_object_get(lg, "socket_interfaces"), 0), "ifname"));
    bool differs = (pred_transport && net && strcmp(pred_transport, net) != 0) ||
                   (pred_if && boot && strcmp(pred_if, boot) != 0);
    if (!net && !boot) {
        snprintf(out, len, "the NCCL log names no transport and no interface to compare with the prediction");
        return PF_SKIP;
    }
    snprintf(out, len, "predicted NET/%s over %s, NCCL used NET/%s over %s%s%s", pred_transport ? pred_transport : "?",
             pred_if ? pred_if : "?", net ? net : "?", boot ? boot : "?",
             !pred_transport ? " (net.transport did not run)" : "", !pred_if ? " (net.nccl_ifname did not run)" : "");
    return differs ? PF_WARN : PF_PASS;
}

void pf_nccljudge_checks(pf_run *run, pf_node *node, const json_t *s, const json_t *capture,
                         const pf_nccljudge_plan *plan)
{
    const json_t *ranks = json_object_get(s, "ranks");
    int n = (int)json_array_size(ranks);
    const json_t *root = root_failure(ranks);

    pf_check *init = pf_check_add(run, node, "nccl.init");
    bool init_ok = n > 0;
    double init_max = 0;
    size_t i;
    const json_t *r;
    json_array_foreach(ranks, i, r) {
        json_t *t = json_object_get(r, "init_s");
        /* a rank that died later left no init time, but its last phase
         * says it had passed init */
        const char *ph = json_string_value(json_object_get(r, "phase"));
        bool past = ph && strcmp(ph, "load") && strcmp(ph, "bootstrap") && strcmp(ph, "init") &&
                    strcmp(ph, "interrupted"); /* stopped before it reported: its phase is not known */
        if (!json_is_number(t) && !past)
            init_ok = false;
        else if (json_number_value(t) > init_max)
            init_max = json_number_value(t);
    }
    if (n == 0) {
        pf_check_set(init, PF_ERROR, "no rank reported a result");
    } else if (all_skip(ranks)) {
        pf_check_set(init, PF_SKIP, "%s", diag_str(json_array_get(ranks, 0), "evidence"));
    } else if (!init_ok) {
        fail_with(init, root ? root : json_array_get(ranks, 0), "");
        failure_evidence(init, ranks);
    } else {
        const json_t *lg = json_object_get(json_array_get(ranks, 0), "nccl_log");
        const json_t *nn = json_object_get(lg, "nnodes");
        const char *ver = json_string_value(json_object_get(lg, "version"));
        char nodes[32] = "";
        if (json_is_integer(nn))
            snprintf(nodes, sizeof nodes, ", nNodes %lld", (long long)json_integer_value(nn));
        pf_check_set(init, PF_PASS, "%d ranks formed a communicator (non-blocking init, slowest %.2f s), NCCL %s%s", n,
                     init_max, ver ? ver : "?", nodes);
        pf_check_measure(init, init_max, 0, "s");
    }
    /* Ranks on different libnccl versions: NCCL's own bootstrap aborts
     * with "Mismatched NCCL version" (when it gets that far); name who has
     * which, whatever the run did. */
    char vers[512];
    if (n > 0 && pf_nccljudge_versions(ranks, vers, sizeof vers)) {
        pf_check_set(init, PF_FAIL, "Mismatched NCCL version across ranks: %s", vers);
        pf_check_remedy(init, "Install the same NCCL on every node (the venv's nvidia-nccl-cu* wheel or the system "
                              "libnccl): every rank must load the same version.");
        json_object_set_new(pf_check_evidence(init), "versions", json_string(vers));
    }
    bool have_p2p = false, have_ag = false;
    json_array_foreach(ranks, i, r) {
        if (json_object_get(r, "p2p"))
            have_p2p = true;
        if (json_object_get(r, "all_gather"))
            have_ag = true;
    }
    /* ranks killed in the hand-offs left no rows, but the cause is there */
    if (have_p2p || !init_ok || (root && !strcmp(diag_str(root, "check"), "nccl.p2p")))
        check_p2p(run, node, s, root, init_ok, n);
    check_coll(run, node, s, root, "nccl.allreduce", "all_reduce", plan, init_ok);
    if (have_ag || (root && !strcmp(diag_str(root, "check"), "nccl.allgather")))
        check_coll(run, node, s, root, "nccl.allgather", "all_gather", NULL, init_ok);
    check_transport(run, node, s, capture, plan);
    /* a failure after the sweep (teardown) still fails a check */
    if (root && init_ok && !strcmp(diag_str(root, "check"), "nccl.teardown")) {
        pf_check *t = pf_check_add(run, node, "nccl.teardown");
        fail_with(t, root, "");
        failure_evidence(t, ranks);
    }
}

/* ---- the cluster's plan, the fallback run, one node's capture ---- */

/* Append name to a comma list unless it is there already. */
static void list_add(char *list, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && strncmp(p, name, n) == 0)
            return;
        p = e ? e + 1 : p + k;
    }
    size_t l = strlen(list);
    snprintf(list + l, len - l, "%s%s", l ? "," : "", name);
}

int pf_nccljudge_plan_nodes(const json_t *nodes, char *transport, size_t tlen, char *ifnames, size_t ilen,
                            char *conflict, size_t clen)
{
    transport[0] = ifnames[0] = conflict[0] = 0;
    /* the distinct transports in order of first appearance, each with its nodes */
    enum { MAXT = 8 };
    const char *tr[MAXT];
    char who[MAXT][256];
    int nt = 0;
    size_t i;
    const json_t *n;
    json_array_foreach(nodes, i, n) {
        const char *name = json_string_value(json_object_get(n, "node"));
        const char *t = json_string_value(json_object_get(n, "transport"));
        const char *ifn = json_string_value(json_object_get(n, "ifname"));
        if (ifn && *ifn)
            list_add(ifnames, ilen, ifn);
        if (!t || !*t || !strcmp(t, "none"))
            continue;
        int k = 0;
        while (k < nt && strcmp(tr[k], t))
            k++;
        if (k == nt) {
            if (nt == MAXT)
                continue;
            tr[nt] = t;
            who[nt][0] = 0;
            nt++;
        }
        size_t l = strlen(who[k]);
        snprintf(who[k] + l, sizeof who[k] - l, "%s%s", l ? ", " : "", name ? name : "?");
    }
    if (nt == 1)
        snprintf(transport, tlen, "NET/%s", tr[0]);
    for (int k = 0; nt > 1 && k < nt; k++) {
        size_t l = strlen(conflict);
        snprintf(conflict + l, clen - l, "%sNET/%s on %s", k ? " vs " : "", tr[k], who[k]);
    }
    return nt > 1;
}

void pf_nccljudge_conflict(pf_check *c, const char *conflict)
{
    /* A rank on NET/IB and one on NET/Socket abort the connection setup
     * ("wrong type 3 != 4"), whatever this run's logs say. */
    json_object_set_new(pf_check_evidence(c), "conflict", json_string(conflict));
    pf_check_set(c, PF_FAIL, "the nodes predict different NCCL transports: %s (NCCL needs the same one on every "
                             "node; mixed, the ranks fail with \"wrong type 3 != 4\")",
                 conflict);
    pf_check_remedy(c, "Make every node use the same transport: give the Socket nodes working RDMA (net.rdma) or set "
                       "NCCL_IB_DISABLE=1 (NCCL_NET=Socket) on all of them, in the env file from `preflight plan` "
                       "(%s).",
                    conflict);
}

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v && *v ? v : dflt;
}

pf_status pf_nccljudge_fallback(const json_t *s, char *msg, size_t mlen, char *remedy, size_t rlen)
{
    remedy[0] = 0;
    const json_t *ranks = json_object_get(s, "ranks");
    if (json_array_size(ranks) == 0) {
        snprintf(msg, mlen, "no rank of the fallback run reported a result");
        return PF_ERROR;
    }
    if (all_skip(ranks)) {
        snprintf(msg, mlen, "the fallback run could not run: %s", diag_str(json_array_get(ranks, 0), "evidence"));
        return PF_SKIP;
    }
    /* the root cause as nccl.init names it: the rank that failed first,
     * not the ones that saw it go */
    const json_t *bad = root_failure(ranks);
    size_t i;
    const json_t *r;
    json_array_foreach(ranks, i, r) if (!bad && !json_is_true(json_object_get(r, "ok"))) bad = r;
    if (bad) {
        const json_t *d = json_object_get(bad, "diagnosis");
        const char *ev = str_or(d, "evidence", str_or(json_object_get(bad, "failure"), "message", NULL));
        const char *host = json_string_value(json_object_get(bad, "host"));
        snprintf(msg, mlen, "under the fallback environment rank %lld%s%s%s failed in %s: %s%s%s%s",
                 (long long)json_integer_value(json_object_get(bad, "rank")), host ? " (" : "", host ? host : "",
                 host ? ")" : "", str_or(d, "stage", str_or(bad, "phase", "?")), str_or(d, "what", "failed"),
                 ev ? " -- \"" : "", ev ? ev : "", ev ? "\"" : "");
        snprintf(remedy, rlen, "%s", str_or(d, "remedy", "The fallback environment does not work: read the rank's NCCL "
                                                         "log (log_file) before relying on it."));
        return PF_FAIL;
    }
    json_int_t wrong = 0;
    const json_t *ar = json_object_get(s, "all_reduce");
    json_array_foreach(ar, i, r) wrong += json_integer_value(json_object_get(r, "wrong"));
    if (wrong) {
        snprintf(msg, mlen, "under the fallback environment %lld all-reduce results were wrong", (long long)wrong);
        snprintf(remedy, rlen, "The fallback path corrupts data: do not use it; read the ranks' NCCL logs.");
        return PF_FAIL;
    }
    if (json_array_size(ar) == 0) {
        snprintf(msg, mlen, "the fallback run reported no all-reduce result");
        return PF_ERROR;
    }
    char tr[128] = "";
    json_array_foreach(json_object_get(json_object_get(json_array_get(ranks, 0), "nccl_log"), "transports"), i, r) {
        size_t l = strlen(tr);
        snprintf(tr + l, sizeof tr - l, "%s%s", l ? ", " : "", json_string_value(r) ? json_string_value(r) : "?");
    }
    const json_t *last = json_array_get(ar, json_array_size(ar) - 1);
    char sz[32];
    pf_ncclsweep_size_str((uint64_t)json_integer_value(json_object_get(last, "bytes")), sz, sizeof sz);
    snprintf(msg, mlen, "the fallback works: all-reduce correct up to %s over %s (busbw %.2f GB/s)", sz,
             tr[0] ? tr : "?", json_number_value(json_object_get(last, "busbw")));
    return PF_PASS;
}

pf_status pf_nccljudge_capture(const json_t *cap, const char *pred_if, char *msg, size_t mlen, char *remedy,
                               size_t rlen)
{
    remedy[0] = 0;
    if (!json_is_object(cap)) {
        snprintf(msg, mlen, "no packet capture from this node");
        return PF_SKIP;
    }
    const char *why = json_string_value(json_object_get(cap, "skipped"));
    if (why) {
        snprintf(msg, mlen, "no packet capture: %s", why);
        snprintf(remedy, rlen, "Run the agent as root (or give it CAP_NET_RAW) with libpcap installed to see which "
                               "NIC carries NCCL's traffic.");
        return PF_SKIP;
    }
    why = json_string_value(json_object_get(cap, "error"));
    if (why) {
        snprintf(msg, mlen, "packet capture failed: %s", why);
        return PF_ERROR;
    }
    const char *busiest = NULL, *k;
    json_int_t most = 0, total = 0;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(cap, "interfaces"), k, v) {
        const char *e = json_string_value(json_object_get(v, "error"));
        if (e) {
            snprintf(msg, mlen, "packet capture on %s failed: %s", k, e);
            snprintf(remedy, rlen, "Name interfaces that exist on this node and stay up during the run "
                                   "(--capture IF[,IF...] or auto).");
            return PF_ERROR;
        }
        json_int_t b = json_integer_value(json_object_get(v, "bytes"));
        total += b;
        if (b > most) {
            most = b;
            busiest = k;
        }
    }
    if (!busiest) {
        snprintf(msg, mlen, "no TCP traffic on the captured interfaces: NCCL's went over another one");
        snprintf(remedy, rlen, "Capture the interface this node's net.nccl_ifname names (or --capture auto).");
        return PF_WARN;
    }
    if (pred_if && strcmp(pred_if, busiest) != 0) {
        snprintf(msg, mlen, "NCCL moved %.1f MB over %s (%lld of %lld captured bytes), but this node's prediction "
                            "is %s",
                 (double)most / 1e6, busiest, (long long)most, (long long)total, pred_if);
        snprintf(remedy, rlen, "The server's NCCL will use %s here: pin NCCL_SOCKET_IFNAME=%s in the env file from "
                               "`preflight plan` if that is the wrong NIC, or find why net.nccl_ifname predicted %s.",
                 busiest, pred_if, pred_if);
        return PF_WARN;
    }
    snprintf(msg, mlen, "NCCL moved %.1f MB over %s (%lld of %lld captured bytes)%s", (double)most / 1e6, busiest,
             (long long)most, (long long)total, pred_if ? ", as this node predicted" : "");
    return PF_PASS;
}

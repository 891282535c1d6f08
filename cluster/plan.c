/* plan.c -- proved per-node settings into files (plan.h). */
#include "cluster/plan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct node_plan {
    pf_node *node;
    const char *addr;   /* proved address, NULL when none */
    const char *ifname; /* its interface */
    char *why;          /* when none: the failing pairs (heap) */
    size_t gpus;
} node_plan;

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The probe from a to b in the pairs section, or NULL. */
static const json_t *probe_of(const json_t *probes, const char *a, const char *b)
{
    size_t i;
    json_t *p;
    json_array_foreach(probes, i, p) {
        const char *n = sget(p, "node"), *q = sget(p, "peer");
        if (n && q && !strcmp(n, a) && !strcmp(q, b))
            return p;
    }
    return NULL;
}

/* The reach item for addr in probe p, or NULL. */
static const json_t *reach_of(const json_t *p, const char *addr)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(p, "reach"), i, r) if (sget(r, "addr") && !strcmp(sget(r, "addr"), addr)) return r;
    return NULL;
}

static bool reach_ok(const json_t *probes, const char *from, const char *to, const char *addr)
{
    const json_t *r = reach_of(probe_of(probes, from, to), addr);
    return r && sget(r, "result") && !strcmp(sget(r, "result"), "ok");
}

static void append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = pf_xvasprintf(fmt, ap);
    va_end(ap);
    char *u = pf_xasprintf("%s%s", *s ? *s : "", t);
    free(*s);
    free(t);
    *s = u;
}

/* Choose the proved interface of node k (inbound: every peer reached it). */
static void choose(const pf_run *run, const json_t *pairs, node_plan *np, size_t k)
{
    const json_t *probes = json_object_get(pairs, "probes");
    const char *name = pf_node_name(np[k].node);
    const json_t *eps = json_object_get(json_object_get(json_object_get(pairs, "listen"), name), "endpoints");
    const char *boot = json_string_value(
        json_object_get(json_object_get(json_object_get(pf_node_facts(np[k].node), "nccl_socket"), "bootstrap"),
                        "address"));
    long best_speed = -2;
    bool best_boot = false;
    char *rejected = NULL; /* the candidates some peer could not reach: said only when none is proved */
    size_t i;
    json_t *ep;
    json_array_foreach(eps, i, ep) {
        const char *addr = sget(ep, "addr");
        if (!addr)
            continue;
        bool ok = true;
        char *fails = NULL;
        for (size_t m = 0; m < pf_run_node_count(run); m++) {
            if (m == k)
                continue;
            const char *peer = pf_node_name(np[m].node);
            if (!reach_ok(probes, peer, name, addr)) {
                ok = false;
                const json_t *r = reach_of(probe_of(probes, peer, name), addr);
                append(&fails, "%s%s -> %s %s: %s%s%s%s", fails ? "; " : "", peer, name, addr,
                       r ? sget(r, "result") : "not tested", r && sget(r, "error") ? " (" : "",
                       r && sget(r, "error") ? sget(r, "error") : "", r && sget(r, "error") ? ")" : "");
            }
        }
        if (!ok) {
            append(&rejected, "%s (%s): %s\n", addr, sget(ep, "ifname") ? sget(ep, "ifname") : "?", fails);
            free(fails);
            continue;
        }
        bool is_boot = boot && !strcmp(boot, addr);
        long speed = json_is_integer(json_object_get(ep, "speed_mbps"))
                         ? (long)json_integer_value(json_object_get(ep, "speed_mbps")) : -1;
        if (!np[k].addr || (is_boot && !best_boot) || (is_boot == best_boot && speed > best_speed)) {
            np[k].addr = addr;
            np[k].ifname = sget(ep, "ifname");
            best_speed = speed;
            best_boot = is_boot;
        }
    }
    if (!np[k].addr)
        np[k].why = rejected ? rejected
                             : pf_xasprintf("%s offered no listener address to test (its agent's listen reply "
                                            "is missing)\n", name);
    else
        free(rejected);
}

/* Write path atomically: temp file + rename. */
static int write_file(const char *dir, const char *name, const char *text, mode_t mode, pf_err *err)
{
    char *path = pf_path_join(dir, name);
    char *tmp = pf_xasprintf("%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    bool wrote = f && fputs(text, f) != EOF;
    int e = errno;
    if (f && fclose(f) != 0 && wrote) { /* closed either way: never twice */
        wrote = false;
        e = errno;
    }
    if (!wrote) {
        rc = pf_err_errno(err, e, "cannot write %s", tmp);
        unlink(tmp);
    } else if (chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
        rc = pf_err_errno(err, errno, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
    }
    free(tmp);
    free(path);
    return rc;
}

/* --mem-fraction-static for the launch.  SGLang's static pool (weights +
 * KV) is that fraction of the free memory it measures at start-up, on every
 * node alike.  On unified memory (GB10, Thor) the pool comes out of the same
 * RAM the OS, the page cache and the Python processes live in, so the plan
 * keeps PF_PLAN_HOST_RESERVE free there: f <= 1 - reserve/free.  It never
 * lowers f below what a node's stage needs (weights + KV allowance) -- a node
 * where both cannot hold is reported instead (`*conflict`). */
#define PF_PLAN_HOST_RESERVE (4.0 * 1024 * 1024 * 1024)

static double plan_fraction(const pf_run *run, const char **forced_by, char **conflict)
{
    double f = 0.85, floor_f = 0;
    *forced_by = NULL;
    const json_t *stages = NULL;
    size_t nn = pf_run_node_count(run);
    for (size_t i = 0; i < nn; i++) {
        for (size_t c = 0; c < pf_run_check_count(run); c++) {
            pf_check *ck = pf_run_check(run, c);
            if (pf_check_node(ck) != pf_run_node(run, i) || strcmp(pf_check_id(ck), "mem.headroom"))
                continue;
            json_t *ev = pf_check_evidence(ck);
            if (i == 0 && json_is_number(json_object_get(ev, "mem_fraction_static")))
                f = json_number_value(json_object_get(ev, "mem_fraction_static"));
            json_t *sb = json_object_get(json_object_get(ev, "model"), "stage_bytes");
            if (!stages && json_array_size(sb) == nn)
                stages = sb;
        }
    }
    double want = f;
    for (size_t i = 0; i < nn; i++) {
        pf_node *n = pf_run_node(run, i);
        for (size_t c = 0; c < pf_run_check_count(run); c++) {
            pf_check *ck = pf_run_check(run, c);
            if (pf_check_node(ck) != n || strcmp(pf_check_id(ck), "mem.headroom"))
                continue;
            json_t *ev = pf_check_evidence(ck);
            double allow = json_number_value(json_object_get(ev, "kv_allowance_bytes"));
            size_t k;
            json_t *d;
            json_array_foreach(json_object_get(ev, "devices"), k, d) {
                double fr = json_number_value(json_object_get(d, "free_bytes"));
                if (fr <= 0)
                    continue;
                if (stages) {
                    double need = ((double)json_integer_value(json_array_get(stages, i)) + allow) / fr;
                    if (need > 1.0)
                        append(conflict, "%s: its stage needs %.1f GiB but only %.1f GiB are free (cluster.memory)\n",
                               pf_node_name(n), (need * fr) / (1024.0 * 1024 * 1024), fr / (1024.0 * 1024 * 1024));
                    else if (need > floor_f)
                        floor_f = need;
                }
                if (!json_is_true(json_object_get(d, "integrated")) && json_integer_value(json_object_get(d, "integrated")) != 1)
                    continue;
                double cap = floor((1.0 - PF_PLAN_HOST_RESERVE / fr) * 100.0) / 100.0;
                if (cap < want) {
                    want = cap;
                    *forced_by = pf_node_name(n);
                }
            }
        }
    }
    if (want < floor_f) {
        want = ceil(floor_f * 100.0) / 100.0;
        if (want > f)
            want = f;
    }
    if (want >= f)
        *forced_by = NULL;
    return *forced_by ? want : f;
}

int pf_plan_write(const pf_run *merged, const char *dir, pf_err *err)
{
    const json_t *pairs = pf_run_section(merged, "pairs");
    size_t nn = pf_run_node_count(merged);
    if (nn == 0)
        return pf_err_set(err, "the run has no nodes: nothing to plan");
    if (nn > 1 && !json_array_size(json_object_get(pairs, "probes")))
        return pf_err_set(err, "the run has no pair-test results (section \"pairs\"): run `preflight cluster` "
                               "first; a plan only writes settings the pair tests proved");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return pf_err_errno(err, errno, "cannot create %s", dir);
    if (!pf_is_dir(dir))
        return pf_err_set(err, "%s exists and is not a directory", dir);

    node_plan *np = pf_xcalloc(nn, sizeof *np);
    bool any_ib = false, any_sock = false;
    for (size_t k = 0; k < nn; k++) {
        np[k].node = pf_run_node(merged, k);
        json_t *f = pf_node_facts(np[k].node);
        np[k].gpus = json_array_size(json_object_get(json_object_get(f, "cuda"), "gpus"));
        const char *t = sget(json_object_get(f, "nccl_transport"), "transport");
        if (t && !strcmp(t, "Socket"))
            any_sock = true;
        else if (t)
            any_ib = true;
    }
    for (size_t k = 0; k < nn; k++) {
        if (nn == 1) {
            /* One node: no peer to prove anything with; its bootstrap choice stands. */
            json_t *b = json_object_get(json_object_get(pf_node_facts(np[k].node), "nccl_socket"), "bootstrap");
            np[k].addr = sget(b, "address");
            np[k].ifname = sget(b, "interface");
            if (!np[k].addr)
                np[k].why = pf_xstrdup("no NCCL bootstrap interface on this node\n");
        } else {
            choose(merged, pairs, np, k);
        }
    }
    /* Outbound: each node must reach what every peer got. */
    const json_t *probes = json_object_get(pairs, "probes");
    for (size_t k = 0; k < nn && nn > 1; k++) {
        if (!np[k].addr)
            continue;
        for (size_t m = 0; m < nn; m++) {
            if (m == k || !np[m].addr)
                continue;
            if (!reach_ok(probes, pf_node_name(np[k].node), pf_node_name(np[m].node), np[m].addr)) {
                append(&np[k].why, "%s cannot reach %s's %s\n", pf_node_name(np[k].node),
                       pf_node_name(np[m].node), np[m].addr);
            }
        }
    }

    int rc = 0;
    char *plan = pf_xstrdup("# preflight plan: settings proved by the pair tests of this run\n");
    const char *forced = NULL;
    char *conflict = NULL;
    double frac = plan_fraction(merged, &forced, &conflict);
    const json_t *cl = pf_run_section(merged, "cluster");
    const char *model = sget(cl, "model");
    json_int_t port = json_is_integer(json_object_get(cl, "port")) ? json_integer_value(json_object_get(cl, "port"))
                                                                     : 30000;
    const char *head_addr = np[0].addr;
    for (size_t k = 0; k < nn && rc >= 0; k++) {
        const char *name = pf_node_name(np[k].node);
        bool proved = np[k].addr && !np[k].why;
        char *env = pf_xasprintf("# %s: stage %zu%s; written by `preflight plan`\n", name, k,
                                 k == 0 ? " (head)" : "");
        if (proved) {
            append(&env, "# %s (%s) is reached from every other node and reaches each of theirs\n", np[k].ifname,
                   np[k].addr);
            append(&env, "NCCL_SOCKET_IFNAME==%s\nGLOO_SOCKET_IFNAME=%s\nTP_SOCKET_IFNAME=%s\n", np[k].ifname,
                   np[k].ifname, np[k].ifname);
            append(&plan, "%s: %s (%s)\n", name, np[k].ifname, np[k].addr);
        } else {
            rc = 1;
            append(&env, "# NO INTERFACE PROVED for %s -- nothing is set; the failing pairs:\n", name);
            char *w = pf_xstrdup(np[k].why ? np[k].why : "");
            char *save = NULL;
            for (char *line = strtok_r(w, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                append(&env, "#   %s\n", line);
            free(w);
            append(&plan, "%s: NOTHING PROVED\n%s", name, np[k].why ? np[k].why : "");
        }
        if (any_ib && any_sock)
            append(&env, "# some nodes would pick IB and others Socket (\"wrong type 3 != 4\"): Socket everywhere\n"
                         "NCCL_IB_DISABLE=1\n");
        char *fname = pf_xasprintf("%s.env", name);
        rc = write_file(dir, fname, env, 0644, err) != 0 ? -1 : rc;
        free(fname);
        free(env);
        if (rc < 0)
            break;

        char *ray = pf_xasprintf("#!/bin/sh\n# %s: start Ray with the proved settings loaded (the raylet's "
                                 "environment is what SGLang's workers get)\nset -e\nset -a\n. \"$(dirname \"$0\")/%s.env\"\nset +a\n",
                                 name, name);
        if (!proved || !head_addr)
            append(&ray, "echo '%s: no proved interface -- see PLAN.txt' >&2\nexit 1\n", name);
        else if (k == 0)
            append(&ray, "exec ray start --head --node-ip-address=%s --port=6379 --num-gpus=%zu\n", np[k].addr,
                   np[k].gpus);
        else
            append(&ray, "exec ray start --address=%s:6379 --node-ip-address=%s --num-gpus=%zu\n", head_addr,
                   np[k].addr, np[k].gpus);
        fname = pf_xasprintf("%s.ray-start.sh", name);
        rc = write_file(dir, fname, ray, 0755, err) != 0 ? -1 : rc;
        free(fname);
        free(ray);
    }
    if (rc >= 0) {
        char *launch = pf_xasprintf("#!/bin/sh\n# On %s (stage 0, the Ray head), after every node's ray-start.sh\n"
                                    "set -e\nset -a\n. \"$(dirname \"$0\")/%s.env\"\nset +a\n",
                                    pf_node_name(np[0].node), pf_node_name(np[0].node));
        if (forced)
            append(&launch, "# --mem-fraction-static %.2f: keeps 4 GiB of %s's unified memory for the OS and "
                            "processes\n", frac, forced);
        append(&launch, "exec python -m sglang.launch_server --model-path %s --pp %zu --nnodes %zu --use-ray \\\n"
                        "    --host 0.0.0.0 --port %lld --mem-fraction-static %.2f\n",
               model ? model : "\"$MODEL\"", nn, nn, (long long)port, frac);
        if (rc == 1)
            append(&launch, "# not runnable as planned: see PLAN.txt for the nodes without a proved interface\n");
        if (write_file(dir, "launch.sh", launch, 0755, err) != 0)
            rc = -1;
        free(launch);
        append(&plan, "mem-fraction-static: %.2f%s%s%s\n", frac, forced ? " (lowered to keep 4 GiB of unified memory free on " : "",
               forced ? forced : "", forced ? ")" : "");
        if (conflict)
            append(&plan, "does not fit whatever the fraction:\n%s", conflict);
        if (rc >= 0 && write_file(dir, "PLAN.txt", plan, 0644, err) != 0)
            rc = -1;
    }
    free(plan);
    free(conflict);
    for (size_t k = 0; k < nn; k++)
        free(np[k].why);
    free(np);
    return rc;
}

int pf_plan_main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: preflight plan RUN.json --out DIR\n"
                   "  Writes, from a `preflight cluster` record, one env file and one `ray start` script per\n"
                   "  node, the server launch command and PLAN.txt -- only settings the pair tests proved.\n"
                   "  Exit 0: every node planned; 1: some node has no proved interface (PLAN.txt says which\n"
                   "  pair fails); 2: usage; 3: the record could not be read or DIR written.\n");
            return PF_EXIT_OK;
        } else if (argv[i][0] == '-' || in) {
            fprintf(stderr, "preflight plan: unexpected argument '%s' (usage: preflight plan RUN.json --out DIR)\n",
                    argv[i]);
            return PF_EXIT_USAGE;
        } else
            in = argv[i];
    }
    if (!in || !out) {
        fprintf(stderr, "preflight plan: usage: preflight plan RUN.json --out DIR\n");
        return PF_EXIT_USAGE;
    }
    pf_err err = {{0}};
    pf_run *run = pf_run_load(in, &err);
    if (!run) {
        fprintf(stderr, "preflight plan: %s\n", err.msg);
        return PF_EXIT_INCOMPLETE;
    }
    int rc = pf_plan_write(run, out, &err);
    pf_run_free(run);
    if (rc < 0) {
        fprintf(stderr, "preflight plan: %s\n", err.msg);
        return PF_EXIT_INCOMPLETE;
    }
    char *p = pf_path_join(out, "PLAN.txt");
    char *txt = pf_read_file(p, 1 << 20, NULL, NULL);
    if (txt)
        fputs(txt, stdout);
    free(txt);
    free(p);
    return rc == 1 ? PF_EXIT_FAILED : PF_EXIT_OK;
}

/* judge.c -- the cross-node deciders (judge.h).
 *
 * Each check is one static function reading JSON the collectors wrote.  The
 * pattern everywhere: gather what each node says, group nodes that say the
 * same thing, and when the groups disagree name every node of every group,
 * because the fix is always "make these nodes agree" and a user needs the
 * list to act.
 */
#include "cluster/judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/gloomesh.h"

/* ---- small JSON and string helpers -------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Nested lookup with a dotted path ("libnccl.version"). */
static const json_t *path_get(const json_t *o, const char *path)
{
    char buf[128];
    pf_strlcpy(buf, path, sizeof buf);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    return o;
}

static json_t *facts_of(const pf_node *n)
{
    return pf_node_facts((pf_node *)n);
}

/* A growable string with appends, for summaries that list nodes. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = pf_xvasprintf(fmt, ap);
    va_end(ap);
    size_t tl = strlen(t);
    if (b->len + tl + 1 > b->cap) {
        b->cap = (b->len + tl + 1) * 2;
        b->s = pf_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, t, tl + 1);
    b->len += tl;
    free(t);
}

static const char *sb_str(sbuf *b)
{
    return b->s ? b->s : "";
}

static double gib(double b)
{
    return b / (1024.0 * 1024.0 * 1024.0);
}

/* Groups of nodes by a string value: {"value":[names]} in first-seen order;
 * a missing value is grouped under "(none)". */
static json_t *group_by(const pf_run *run, const char *field, bool skip_missing)
{
    json_t *g = json_object();
    for (size_t i = 0; i < pf_run_node_count(run); i++) {
        pf_node *n = pf_run_node(run, i);
        const json_t *v = path_get(facts_of(n), field);
        if (!json_is_string(v) && skip_missing)
            continue;
        const char *key = json_is_string(v) ? json_string_value(v) : "(none)";
        json_t *arr = json_object_get(g, key);
        if (!arr) {
            arr = json_array();
            json_object_set_new(g, key, arr);
        }
        json_array_append_new(arr, json_string(pf_node_name(n)));
    }
    return g;
}

static void names_into(sbuf *b, const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) sb_add(b, "%s%s", i ? ", " : "", json_string_value(v));
}

static void all_names(sbuf *b, const pf_run *run)
{
    for (size_t i = 0; i < pf_run_node_count(run); i++)
        sb_add(b, "%s%s", i ? ", " : "", pf_node_name(pf_run_node(run, i)));
}

static const pf_check *find_check(const pf_run *run, const pf_node *n, const char *id)
{
    for (size_t i = 0; i < pf_run_check_count(run); i++) {
        pf_check *c = pf_run_check(run, i);
        if (pf_check_node(c) == n && strcmp(pf_check_id(c), id) == 0)
            return c;
    }
    return NULL;
}

/* ---- cluster.nodes -------------------------------------------------------- */

static void judge_nodes(pf_run *run, const json_t *cluster)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.nodes");
    json_t *ev = pf_check_evidence(c);
    json_t *nodes = json_array(), *archs = json_object(), *missing = json_array();
    size_t nn = pf_run_node_count(run), nogpu = 0, notrun = 0;
    sbuf nogpu_names = {0}, notrun_names = {0};
    for (size_t i = 0; i < nn; i++) {
        pf_node *n = pf_run_node(run, i);
        json_t *f = facts_of(n);
        json_t *gpus = json_object_get(json_object_get(f, "cuda"), "gpus");
        json_t *gl = json_array(), *g;
        size_t k;
        json_array_foreach(gpus, k, g) {
            json_array_append_new(gl, json_pack("{s:O?,s:O?,s:O?,s:O?}", "name", json_object_get(g, "name"),
                                                "compute_capability", json_object_get(g, "compute_capability"),
                                                "total_bytes", json_object_get(g, "total_bytes"),
                                                "integrated", json_object_get(g, "integrated")));
            const char *cc = sget(g, "compute_capability");
            if (cc) {
                json_t *a = json_object_get(archs, cc);
                if (!a) {
                    a = json_array();
                    json_object_set_new(archs, cc, a);
                }
                bool seen = false;
                size_t q;
                json_t *x;
                json_array_foreach(a, q, x) seen |= strcmp(json_string_value(x), pf_node_name(n)) == 0;
                if (!seen)
                    json_array_append_new(a, json_string(pf_node_name(n)));
            }
        }
        /* No facts.cuda and no gpu.driver check: the node ran a subset
         * (--only ...) without gpu.driver. That is "not looked", not "no GPU". */
        if (!json_is_object(json_object_get(f, "cuda")) && !find_check(run, n, "gpu.driver")) {
            sb_add(&notrun_names, "%s%s", notrun ? ", " : "", pf_node_name(n));
            notrun++;
        } else if (json_array_size(gl) == 0) {
            sb_add(&nogpu_names, "%s%s", nogpu ? ", " : "", pf_node_name(n));
            nogpu++;
        }
        const char *machine = json_string_value(path_get(f, "fingerprint.kernel.machine"));
        json_array_append_new(nodes, json_pack("{s:s,s:i,s:s,s:s?,s:o}", "name", pf_node_name(n), "stage", (int)i,
                                               "role", i == 0 ? "head (stage 0)" : "worker", "machine", machine,
                                               "gpus", gl));
    }
    /* Expected nodes that are not in the run: the coordinator says why. */
    const json_t *expected = json_object_get(cluster, "expected");
    const json_t *jerr = json_object_get(cluster, "join_errors");
    size_t i;
    json_t *e;
    sbuf miss = {0};
    json_array_foreach(expected, i, e) {
        const char *name = json_string_value(e);
        if (!name || pf_run_find_node(run, name))
            continue;
        const char *why = sget(jerr, name);
        json_array_append_new(missing, json_pack("{s:s,s:s}", "node", name, "reason", why ? why : "did not join"));
        sb_add(&miss, "%s%s %s", json_array_size(missing) > 1 ? "; " : "", name, why ? why : "did not join");
    }
    json_object_set_new(ev, "nodes", nodes);
    json_object_set_new(ev, "architectures", archs);
    json_object_set_new(ev, "missing", missing);

    sbuf s = {0};
    size_t want = json_array_size(expected) ? json_array_size(expected) : nn;
    sb_add(&s, "%zu of %zu nodes joined", nn, want);
    if (json_object_size(archs) > 1) {
        sb_add(&s, "; mixed architectures:");
        const char *cc;
        json_t *arr;
        bool first = true;
        json_object_foreach(archs, cc, arr) {
            sb_add(&s, "%s CC %s (", first ? "" : ",", cc);
            names_into(&s, arr);
            sb_add(&s, ")");
            first = false;
        }
    } else if (json_object_size(archs) == 1) {
        sb_add(&s, ", all CC %s", json_object_iter_key(json_object_iter(archs)));
    }
    if (notrun)
        sb_add(&s, "; gpu.driver did not run on %s, so their GPUs are not known", sb_str(&notrun_names));
    if (json_array_size(missing)) {
        sb_add(&s, "; %s", sb_str(&miss));
        pf_check_set(c, PF_FAIL, "%s", sb_str(&s));
        pf_check_remedy(c, "Start the missing node(s) or remove them from the host list; the rest of the run "
                           "judged the nodes that joined");
    } else if (nn == 0) {
        pf_check_set(c, PF_FAIL, "no node joined");
    } else if (nogpu) {
        sb_add(&s, "; no GPU visible on %s", sb_str(&nogpu_names));
        pf_check_set(c, PF_WARN, "%s", sb_str(&s));
        pf_check_remedy(c, "Check gpu.driver on %s: a pipeline stage there has no GPU to run on",
                        sb_str(&nogpu_names));
    } else if (notrun) {
        pf_check_set(c, PF_SKIP, "%s", sb_str(&s));
        pf_check_remedy(c, "Run the node checks with gpu.driver (drop --only, or add gpu.driver to it) to judge "
                           "the GPUs of %s", sb_str(&notrun_names));
    } else {
        pf_check_set(c, PF_PASS, "%s", sb_str(&s));
    }
    if (notrun)
        json_object_set_new(ev, "gpu_driver_not_run", json_string(sb_str(&notrun_names)));
    pf_check_measure(c, (double)nn, (double)want, "nodes");
    free(s.s);
    free(miss.s);
    free(nogpu_names.s);
    free(notrun_names.s);
}

/* ---- cluster.transport ------------------------------------------------------ */

static void judge_transport(pf_run *run)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.transport");
    if (pf_run_node_count(run) == 0) {
        pf_check_set(c, PF_SKIP, "no node is in the run: nothing to compare");
        return;
    }
    json_t *ev = pf_check_evidence(c);
    json_t *groups = group_by(run, "nccl_transport.transport", false);
    json_object_set(ev, "transports", groups);
    json_t *sock = json_object_get(groups, "Socket"), *unknown = json_object_get(groups, "(none)");
    size_t kinds = json_object_size(groups) - (unknown ? 1 : 0);
    sbuf s = {0}, all = {0};
    all_names(&all, run);
    if (kinds <= 1 && !unknown) {
        pf_check_set(c, PF_PASS, "every node will use NET/%s", json_object_iter_key(json_object_iter(groups)));
    } else if (sock && kinds > 1) {
        /* Socket next to IB (or a plugin): NCCL's socket handshake carries the
         * transport type; mismatching peers abort with "wrong type 3 != 4". */
        const char *t;
        json_t *arr;
        bool first = true;
        json_object_foreach(groups, t, arr) {
            if (!strcmp(t, "(none)"))
                continue;
            sb_add(&s, "%s", first ? "" : " but ");
            names_into(&s, arr);
            sb_add(&s, " will use NET/%s", t);
            first = false;
        }
        sb_add(&s, ": NCCL fails at connect with \"socketFinalizeAccept: wrong type 3 != 4\"");
        pf_check_set(c, PF_FAIL, "%s", sb_str(&s));
        /* All nodes can do IB when every Socket node still has active RDMA ports. */
        bool all_ib = true;
        size_t i;
        json_t *nm;
        json_array_foreach(sock, i, nm) {
            const json_t *p = path_get(facts_of(pf_run_find_node(run, json_string_value(nm))),
                                       "nccl_transport.rdma_active_ports");
            all_ib &= json_integer_value(p) > 0;
        }
        if (all_ib)
            pf_check_remedy(c, "Every node has active RDMA ports: unset NCCL_IB_DISABLE / NCCL_NET=Socket on the "
                               "Socket nodes so all use IB, or set NCCL_IB_DISABLE=1 on every node (%s)",
                            sb_str(&all));
        else
            pf_check_remedy(c, "Set NCCL_IB_DISABLE=1 (or NCCL_NET=Socket) on every node (%s), in the environment "
                               "the server starts with (the plan's env files do)",
                            sb_str(&all));
    } else if (kinds > 1) {
        const char *t;
        json_t *arr;
        bool first = true;
        json_object_foreach(groups, t, arr) {
            sb_add(&s, "%s", first ? "" : "; ");
            names_into(&s, arr);
            sb_add(&s, ": %s", t);
            first = false;
        }
        pf_check_set(c, PF_WARN, "nodes will use different NCCL transports: %s", sb_str(&s));
        pf_check_remedy(c, "Make every node use the same NCCL_NET (or net plugin)");
    } else {
        sb_add(&s, "no transport fact from ");
        names_into(&s, unknown);
        pf_check_set(c, PF_ERROR, "%s (net.transport did not run there)", sb_str(&s));
    }
    json_decref(groups);
    free(s.s);
    free(all.s);
}

/* ---- cluster.drift ---------------------------------------------------------- */

/* The severity table (docs/cluster.md mirrors it).  mm: compare by
 * major.minor -- a difference there gets `sev`, a patch difference warn. */
typedef struct drift_rule {
    const char *field; /* path under facts.fingerprint, or env.NAME */
    pf_status sev;
    bool mm;
    const char *why;
} drift_rule;

static const drift_rule drift_rules[] = {
    {"libnccl.version", PF_FAIL, false, "NCCL aborts with \"Mismatched NCCL version detected\""},
    {"libnccl.build_id", PF_WARN, false, "same version, different build: different compile options or patches"},
    {"packages.torch", PF_FAIL, true, "torch.distributed's wire formats are only tested within one release"},
    {"packages.triton", PF_FAIL, false, "kernels compiled per stage differ; triton ships its own ptxas"},
    {"packages.sglang", PF_FAIL, false, "stages exchange pickled scheduler objects"},
    {"packages.vllm", PF_FAIL, false, "stages exchange pickled scheduler objects"},
    {"packages.sgl-kernel", PF_WARN, false, "kernel library differs between stages"},
    {"packages.flashinfer-python", PF_WARN, false, "attention kernels differ between stages"},
    {"packages.ray", PF_FAIL, true, "Ray refuses workers of another version"},
    {"python.version", PF_FAIL, false, "pickles and wheels are per Python version"},
    {"cuda_driver_api", PF_WARN, false, "the CUDA driver API differs (wheels built for the newer one fail on the older)"},
    {"env.NCCL_PROTO", PF_FAIL, false, "NCCL ranks must agree on protocols"},
    {"env.NCCL_ALGO", PF_FAIL, false, "NCCL ranks must agree on algorithms"},
    {"env.NCCL_IB_DISABLE", PF_FAIL, false, "decides IB vs Socket (\"wrong type 3 != 4\")"},
    {"env.NCCL_NET", PF_FAIL, false, "decides IB vs Socket (\"wrong type 3 != 4\")"},
    {"env.NCCL_P2P_DISABLE", PF_FAIL, false, "ranks must agree on the P2P transport"},
    {"env.NCCL_SHM_DISABLE", PF_FAIL, false, "ranks must agree on the SHM transport"},
    {"env.NCCL_CROSS_NIC", PF_WARN, false, "changes the rings' NIC choice"},
    {"env.NCCL_BUFFSIZE", PF_FAIL, false, "send and receive buffers must have one size"},
    {"env.NCCL_SOCKET_NTHREADS", PF_WARN, false, "socket threads per connection differ"},
    {"env.NCCL_NSOCKS_PERTHREAD", PF_WARN, false, "sockets per thread differ"},
    {"env.NCCL_NCHANNELS_PER_NET_PEER", PF_WARN, false, "channel counts differ"},
    {"env.NCCL_MIN_NCHANNELS", PF_WARN, false, "channel counts differ"},
    {"env.NCCL_MAX_NCHANNELS", PF_WARN, false, "channel counts differ"},
    {"env.GLOO_ENABLE_RANK_AS_SEQUENCE_NUMBER", PF_FAIL, false, "Gloo pairs route by sequence number"},
    {"env.SGLANG_PP_LAYER_PARTITION", PF_FAIL, false, "every rank must split layers the same way"},
    {NULL, PF_PASS, false, NULL},
};

static void major_minor(const char *v, char *out, size_t len)
{
    int dots = 0;
    size_t i = 0;
    for (; v[i] && i + 1 < len; i++) {
        if (v[i] == '.' && ++dots == 2)
            break;
        if (v[i] == '+')
            break;
        out[i] = v[i];
    }
    out[i] = '\0';
}

pf_status pf_cluster_drift_severity(const char *field, const char *a, const char *b)
{
    if ((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0))
        return PF_PASS;
    for (const drift_rule *r = drift_rules; r->field; r++) {
        if (strcmp(r->field, field) != 0)
            continue;
        if (r->mm && a && b) {
            char x[32], y[32];
            major_minor(a, x, sizeof x);
            major_minor(b, y, sizeof y);
            return strcmp(x, y) == 0 ? PF_WARN : r->sev;
        }
        return r->sev;
    }
    return PF_PASS;
}

static const char *drift_why(const char *field)
{
    for (const drift_rule *r = drift_rules; r->field; r++)
        if (!strcmp(r->field, field))
            return r->why;
    return "";
}

static void judge_drift(pf_run *run)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.drift");
    if (pf_run_node_count(run) == 0) {
        pf_check_set(c, PF_SKIP, "no node is in the run: nothing to compare");
        return;
    }
    json_t *ev = pf_check_evidence(c);
    json_t *diffs = json_array();
    pf_status worst = PF_PASS;
    sbuf s = {0}, fix = {0};
    size_t nfail = 0, nwarn = 0;
    char path[160];
    for (const drift_rule *r = drift_rules; r->field; r++) {
        snprintf(path, sizeof path, "fingerprint.%s", r->field);
        json_t *g = group_by(run, path, false);
        /* nobody has it: nothing to compare (a package nobody installed) */
        if (json_object_size(g) <= 1) {
            json_decref(g);
            continue;
        }
        /* severity: the worst over every pair of groups */
        pf_status sev = PF_PASS;
        const char *k1, *k2;
        json_t *v1, *v2;
        json_object_foreach(g, k1, v1) {
            json_object_foreach(g, k2, v2) {
                pf_status st = pf_cluster_drift_severity(r->field, strcmp(k1, "(none)") ? k1 : NULL,
                                                         strcmp(k2, "(none)") ? k2 : NULL);
                sev = pf_status_worst(sev, st);
            }
        }
        json_array_append_new(diffs, json_pack("{s:s,s:s,s:s,s:O}", "field", r->field, "severity",
                                               pf_status_name(sev), "why", r->why, "values", g));
        if (sev == PF_FAIL)
            nfail++;
        else if (sev == PF_WARN)
            nwarn++;
        if (sev == PF_FAIL || (sev == PF_WARN && worst != PF_FAIL)) {
            sbuf *t = &s;
            if (sev == PF_FAIL && worst != PF_FAIL) {
                free(s.s);
                s = (sbuf){0};
                free(fix.s);
                fix = (sbuf){0};
            }
            sb_add(t, "%s%s differs: ", t->len ? "; " : "", r->field);
            const char *k;
            json_t *arr;
            bool first = true;
            json_object_foreach(g, k, arr) {
                sb_add(t, "%s%s on ", first ? "" : " vs ", k);
                names_into(t, arr);
                first = false;
            }
            sb_add(t, " (%s)", drift_why(r->field));
            sb_add(&fix, "%s%s", fix.len ? ", " : "", r->field);
            worst = pf_status_worst(worst, sev);
        }
        json_decref(g);
    }
    json_object_set_new(ev, "differences", diffs);
    if (worst == PF_PASS) {
        pf_check_set(c, PF_PASS, "NCCL, torch, triton, sglang/vllm, Python, driver and NCCL_*/GLOO_* settings agree "
                                 "on all %zu nodes", pf_run_node_count(run));
    } else {
        pf_check_set(c, worst, "%s", sb_str(&s));
        pf_check_remedy(c, "Make %s the same on every node (one venv/wheel set and one env file for all nodes; "
                           "`preflight plan` writes the NCCL/GLOO lines)", sb_str(&fix));
    }
    pf_check_measure(c, (double)(nfail + nwarn), 0, "differences");
    free(s.s);
    free(fix.s);
}

/* ---- cluster.hosthash --------------------------------------------------------- */

static void judge_hosthash(pf_run *run)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.hosthash");
    json_t *g = group_by(run, "fingerprint.nccl_host_hash_input", true);
    json_object_set(pf_check_evidence(c), "groups", g);
    sbuf s = {0}, who = {0};
    const char *k;
    json_t *arr;
    json_object_foreach(g, k, arr) {
        if (json_array_size(arr) < 2)
            continue;
        sb_add(&s, "%s", s.len ? "; " : "");
        names_into(&s, arr);
        names_into(&who, arr);
        sb_add(&s, " share the NCCL host hash input \"%s\"", k);
    }
    if (json_object_size(g) == 0) {
        pf_check_set(c, PF_SKIP, "no node reported its host hash inputs (env.fingerprint did not run)");
    } else if (s.len) {
        pf_check_set(c, PF_FAIL, "%s: NCCL takes them for one host and tries shared memory/P2P between them", sb_str(&s));
        pf_check_remedy(c, "Give each of %s its own hostname (hostnamectl set-hostname) -- cloned images also share "
                           "boot_id only until reboot -- or set a distinct NCCL_HOSTID on each",
                        sb_str(&who));
    } else {
        pf_check_set(c, PF_PASS, "%zu distinct NCCL host hashes for %zu nodes", json_object_size(g),
                     pf_run_node_count(run));
    }
    json_decref(g);
    free(s.s);
    free(who.s);
}

/* ---- cluster.memory ---------------------------------------------------------- */

static void judge_memory(pf_run *run)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.memory");
    json_t *ev = pf_check_evidence(c);
    size_t nn = pf_run_node_count(run);
    const json_t *model = NULL;
    for (size_t i = 0; i < nn && !model; i++) {
        const pf_check *m = find_check(run, pf_run_node(run, i), "mem.headroom");
        const json_t *mj = m ? json_object_get(pf_check_evidence((pf_check *)m), "model") : NULL;
        if (json_is_array(json_object_get(mj, "stage_bytes")))
            model = mj;
    }
    if (!model) {
        pf_check_set(c, PF_SKIP, "no stage sizes: run with --model DIR --pp N to judge each stage against its node");
        return;
    }
    const json_t *sb = json_object_get(model, "stage_bytes");
    size_t pp = json_array_size(sb);
    /* SGLang: pp_per_node = max(pp / nnodes, 1); node k runs stages k*ppn .. */
    size_t ppn = pp / (nn ? nn : 1);
    if (ppn < 1)
        ppn = 1;
    json_object_set(ev, "model", (json_t *)model);
    json_t *per = json_array();
    double tight_room = INFINITY, min_free = INFINITY;
    const char *tight = NULL;
    sbuf over = {0}, overn = {0};
    bool missing = false;
    for (size_t k = 0; k < nn; k++) {
        pf_node *n = pf_run_node(run, k);
        double need = 0;
        for (size_t s = k * ppn; s < (k + 1) * ppn && s < pp; s++)
            need += (double)json_integer_value(json_array_get(sb, s));
        if (k * ppn >= pp)
            continue; /* more nodes than stages: this one holds none */
        const pf_check *m = find_check(run, n, "mem.headroom");
        json_t *mev = m ? pf_check_evidence((pf_check *)m) : NULL;
        /* the GPU with the least static pool carries the stage on this node */
        double budget = INFINITY, freeb = INFINITY;
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(mev, "devices"), i, d) {
            json_t *pb = json_object_get(d, "static_pool_bytes"), *fb = json_object_get(d, "free_bytes");
            if (json_is_number(pb) && json_number_value(pb) < budget)
                budget = json_number_value(pb);
            if (json_is_number(fb) && json_number_value(fb) < freeb)
                freeb = json_number_value(fb);
        }
        double allowance = json_number_value(json_object_get(mev, "kv_allowance_bytes"));
        if (!isfinite(budget)) {
            missing = true;
            json_array_append_new(per, json_pack("{s:s,s:I,s:f,s:s}", "node", pf_node_name(n), "first_stage",
                                                 (json_int_t)(k * ppn), "stage_bytes", need, "error",
                                                 "no GPU memory figures from mem.headroom"));
            continue;
        }
        double room = budget - need;
        json_array_append_new(per, json_pack("{s:s,s:I,s:f,s:f,s:f,s:f}", "node", pf_node_name(n), "first_stage",
                                             (json_int_t)(k * ppn), "stage_bytes", need, "static_pool_bytes",
                                             budget, "free_bytes", freeb, "kv_room_bytes", room));
        if (room < tight_room) {
            tight_room = room;
            tight = pf_node_name(n);
        }
        if (freeb < min_free)
            min_free = freeb;
        if (room < allowance) {
            sb_add(&over, "%s%s (stage %zu: %.1f GiB of weights, %.1f GiB static pool)", over.len ? "; " : "",
                   pf_node_name(n), k * ppn, gib(need), gib(budget));
            sb_add(&overn, "%s%s", overn.len ? ", " : "", pf_node_name(n));
        }
    }
    json_object_set_new(ev, "stages", per);
    json_object_set_new(ev, "pp", json_integer((json_int_t)pp));
    if (tight)
        json_object_set_new(ev, "tightest_node", json_string(tight));
    if (over.len) {
        pf_check_set(c, PF_FAIL, "stage weights do not fit with room for the KV cache on %s", sb_str(&over));
        pf_check_remedy(c, "Move layers off %s with SGLANG_PP_LAYER_PARTITION (same value on every node), raise "
                           "--mem-fraction-static, or free memory there (mem.headroom on that node says what holds it)",
                        sb_str(&overn));
    } else if (missing || !tight) {
        pf_check_set(c, PF_ERROR, "some stage's node has no GPU memory figures (mem.headroom did not run there)");
    } else {
        pf_check_set(c, PF_PASS, "every stage fits; tightest is %s with %.1f GiB left for KV cache (SGLang sizes the "
                                 "KV pool of every stage by the smallest free memory, %.1f GiB)",
                     tight, gib(tight_room), gib(min_free));
    }
    if (tight)
        pf_check_measure(c, gib(tight_room), 0, "GiB");
    free(over.s);
    free(overn.s);
}

/* ---- cluster.ray ------------------------------------------------------------ */

/* The node (and interface) that owns address `ip`, from the interface facts. */
static pf_node *node_with_addr(const pf_run *run, const char *ip, const char **ifname)
{
    for (size_t i = 0; i < pf_run_node_count(run); i++) {
        pf_node *n = pf_run_node(run, i);
        size_t k, q;
        json_t *itf, *a;
        json_array_foreach(json_object_get(facts_of(n), "interfaces"), k, itf) {
            json_array_foreach(json_object_get(itf, "addresses"), q, a) {
                const char *addr = sget(a, "address");
                if (addr && !strcmp(addr, ip)) {
                    if (ifname)
                        *ifname = sget(itf, "name");
                    return n;
                }
            }
        }
    }
    return NULL;
}

static bool on_nccl_iface(pf_node *n, const char *ifname)
{
    json_t *ns = json_object_get(facts_of(n), "nccl_socket");
    const char *boot = json_string_value(path_get(ns, "bootstrap.interface"));
    if (boot && ifname && !strcmp(boot, ifname))
        return true;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ns, "socket"), i, s) if (ifname && !strcmp(sget(s, "interface") ? sget(s, "interface") : "", ifname)) return true;
    return false;
}

static void judge_ray(pf_run *run, const json_t *ray)
{
    pf_check *c = pf_check_add(run, NULL, "cluster.ray");
    if (!ray) {
        pf_check_set(c, PF_SKIP, "Ray is not running (or --ray was not given)");
        return;
    }
    json_t *ev = pf_check_evidence(c);
    if (sget(ray, "error")) {
        pf_check_set(c, PF_ERROR, "cannot list Ray's nodes: %s", sget(ray, "error"));
        return;
    }
    const json_t *rn = json_object_get(ray, "nodes");
    json_t *seen = json_array();
    sbuf bad = {0}, fix = {0};
    pf_status st = PF_PASS;
    size_t alive = 0, i;
    json_t *r;
    json_array_foreach(rn, i, r) {
        json_t *al = json_object_get(r, "Alive");
        if (al && !json_is_true(al))
            continue;
        alive++;
        const char *ip = sget(r, "NodeManagerAddress");
        double gpus = json_number_value(json_object_get(json_object_get(r, "Resources"), "GPU"));
        const char *ifn = NULL;
        pf_node *n = ip ? node_with_addr(run, ip, &ifn) : NULL;
        json_array_append_new(seen, json_pack("{s:s?,s:f,s:s?,s:s?}", "ip", ip, "gpus", gpus, "node",
                                              n ? pf_node_name(n) : NULL, "interface", ifn));
        if (!n) {
            sb_add(&bad, "%sRay node %s is no agent's address", bad.len ? "; " : "", ip ? ip : "?");
            st = PF_FAIL;
            continue;
        }
        size_t agpus = json_array_size(path_get(facts_of(n), "cuda.gpus"));
        if ((size_t)gpus != agpus) {
            sb_add(&bad, "%sRay counts %.0f GPU on %s, the agent found %zu", bad.len ? "; " : "", gpus,
                   pf_node_name(n), agpus);
            sb_add(&fix, "%sray start --num-gpus=%zu on %s", fix.len ? "; " : "", agpus, pf_node_name(n));
            st = pf_status_worst(st, PF_WARN);
        }
        if (!on_nccl_iface(n, ifn)) {
            sb_add(&bad, "%sRay advertises %s at %s (%s), not on the interface NCCL uses", bad.len ? "; " : "",
                   pf_node_name(n), ip, ifn ? ifn : "?");
            sb_add(&fix, "%sray start --node-ip-address=<its NCCL address> on %s", fix.len ? "; " : "",
                   pf_node_name(n));
            st = PF_FAIL;
        }
    }
    json_object_set_new(ev, "ray_nodes", seen);
    if (alive != pf_run_node_count(run)) {
        sb_add(&bad, "%sRay sees %zu alive nodes, %zu agents joined", bad.len ? "; " : "", alive,
               pf_run_node_count(run));
        st = PF_FAIL;
    }
    if (st == PF_PASS)
        pf_check_set(c, PF_PASS, "Ray sees the %zu nodes, their GPUs and the NCCL addresses the agents found", alive);
    else {
        pf_check_set(c, st, "%s", sb_str(&bad));
        pf_check_remedy(c, "%s", fix.len ? sb_str(&fix)
                                         : "Start Ray on every node with the `ray start` lines of `preflight plan`");
    }
    free(bad.s);
    free(fix.s);
}

/* ---- pair checks -------------------------------------------------------------- */

/* Addresses of `peer` that NCCL or Gloo will use (bootstrap, NET/Socket, Gloo). */
static bool peer_uses(pf_node *peer, const char *addr)
{
    json_t *f = facts_of(peer);
    const char *b = json_string_value(path_get(f, "nccl_socket.bootstrap.address"));
    if (b && !strcmp(b, addr))
        return true;
    size_t i;
    json_t *s;
    json_array_foreach(path_get(f, "nccl_socket.socket"), i, s) if (sget(s, "address") && !strcmp(sget(s, "address"), addr)) return true;
    json_array_foreach(path_get(f, "gloo.devices"), i, s) if (sget(s, "address") && !strcmp(sget(s, "address"), addr)) return true;
    return false;
}

/* Who else reached peer address `addr`: for "reaches some peers and not others". */
static void who_reached(const json_t *probes, const char *peer, const char *addr, sbuf *ok)
{
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(probes, i, p) {
        if (!sget(p, "peer") || strcmp(sget(p, "peer"), peer))
            continue;
        json_array_foreach(json_object_get(p, "reach"), k, r) if (sget(r, "addr") && !strcmp(sget(r, "addr"), addr) && sget(r, "result") && !strcmp(sget(r, "result"), "ok")) sb_add(ok, "%s%s", ok->len ? ", " : "", sget(p, "node"));
    }
}

/* The peer's interface name for one of its listener addresses, or NULL. */
static const char *peer_ifname(const json_t *listen, const char *addr)
{
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(listen, "endpoints"), i, ep) if (sget(ep, "addr") && !strcmp(sget(ep, "addr"), addr)) return sget(ep, "ifname");
    return NULL;
}

static void judge_reach(pf_run *run, pf_node *n, pf_node *peer, const json_t *p, const json_t *probes,
                        const json_t *listen)
{
    pf_check *c = pf_check_add(run, n, "cluster.reach");
    pf_check_set_peer(c, peer);
    json_t *arr = json_object_get(p, "reach");
    json_object_set(pf_check_evidence(c), "addresses", arr);
    sbuf s = {0}, bad = {0};
    pf_status st = PF_PASS;
    double best = INFINITY;
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        const char *addr = sget(r, "addr"), *res = sget(r, "result");
        if (!addr || !res)
            continue;
        if (!strcmp(res, "ok")) {
            double mn = json_number_value(path_get(r, "rtt_ms.min"));
            if (mn < best)
                best = mn;
            sb_add(&s, "%s%s ok %.2f/%.2f ms", s.len ? "; " : "", addr, mn,
                   json_number_value(path_get(r, "rtt_ms.median")));
            continue;
        }
        bool used = peer_uses(peer, addr);
        st = pf_status_worst(st, used ? PF_FAIL : PF_WARN);
        const char *pif = peer_ifname(listen, addr);
        sb_add(&bad, "%s%s", bad.len ? "; " : "", addr);
        if (pif)
            sb_add(&bad, " (%s on %s)", pif, pf_node_name(peer));
        sb_add(&bad, " %s (%s)%s", res, sget(r, "error") ? sget(r, "error") : "",
               used ? ", an address NCCL/Gloo will use" : "");
        sbuf ok = {0};
        who_reached(probes, pf_node_name(peer), addr, &ok);
        if (ok.len)
            sb_add(&bad, " -- reached from %s", sb_str(&ok));
        free(ok.s);
    }
    if (st == PF_PASS)
        pf_check_set(c, json_array_size(arr) ? PF_PASS : PF_ERROR, "%s",
                     json_array_size(arr) ? sb_str(&s) : "no address of the peer was probed");
    else {
        pf_check_set(c, st, "%s -> %s: %s", pf_node_name(n), pf_node_name(peer), sb_str(&bad));
        pf_check_remedy(c, "refused: a firewall rejects or nothing listens (check nft/iptables on %s); filtered: a "
                           "firewall drops packets; unreachable: no route from %s -- or keep NCCL/Gloo off that "
                           "address with NCCL_SOCKET_IFNAME/GLOO_SOCKET_IFNAME (preflight plan)",
                        pf_node_name(peer), pf_node_name(n));
    }
    if (isfinite(best))
        pf_check_measure(c, best, 0, "ms");
    free(s.s);
    free(bad.s);
}

static void judge_bandwidth(pf_run *run, pf_node *n, pf_node *peer, const json_t *bw, double frac)
{
    pf_check *c = pf_check_add(run, n, "cluster.bandwidth");
    pf_check_set_peer(c, peer);
    json_object_update(pf_check_evidence(c), (json_t *)bw);
    double g = json_number_value(json_object_get(bw, "gbit_s"));
    json_t *ls = json_object_get(bw, "local_speed_mbps"), *ps = json_object_get(bw, "peer_speed_mbps");
    double link = INFINITY;
    if (json_is_integer(ls))
        link = (double)json_integer_value(ls) / 1000.0;
    if (json_is_integer(ps) && (double)json_integer_value(ps) / 1000.0 < link)
        link = (double)json_integer_value(ps) / 1000.0;
    int streams = (int)json_integer_value(json_object_get(bw, "streams"));
    if (sget(bw, "error")) {
        pf_check_set(c, PF_FAIL, "%s -> %s bulk transfer broke: %s", pf_node_name(n), pf_node_name(peer),
                     sget(bw, "error"));
        pf_check_remedy(c, "See cluster.reach for this pair; a transfer that connects and then breaks points at "
                           "an MTU black hole (cluster.mtu) or a stateful firewall");
        return;
    }
    json_int_t draining = json_integer_value(json_object_get(bw, "draining_streams"));
    if (draining > 0) {
        /* bandwidth.h: the count was still growing at the deadline, so the
         * sender's socket buffer was draining slowly -- retransmissions */
        pf_check_set(c, PF_WARN, "%.2f Gbit/s over %d stream(s), but %d of them were still delivering queued "
                     "data at the deadline: the link between %s and %s drops or delays packets", g, streams,
                     (int)draining, pf_node_name(n), pf_node_name(peer));
        pf_check_remedy(c, "Look at TCP retransmissions on both nodes (nstat -az TcpRetransSegs) and at the NIC's "
                           "and switch port's error counters (ethtool -S); NCCL's Socket transport slows the same "
                           "way on this link");
        pf_check_measure(c, g, isfinite(link) ? frac * link : 0, "Gbit/s");
        return;
    }
    if (!isfinite(link)) {
        pf_check_set(c, PF_PASS, "%.2f Gbit/s over %d stream(s), counted at the receiver (link speed not reported "
                                 "by either end)", g, streams);
        pf_check_measure(c, g, 0, "Gbit/s");
        return;
    }
    if (g < frac * link) {
        pf_check_set(c, PF_WARN, "%.2f Gbit/s over %d stream(s), %.0f%% of the slower end's %.0f Gbit/s link",
                     g, streams, 100.0 * g / link, link);
        pf_check_remedy(c, "Check the cabling/switch port speed and errors (ethtool -S), congestion control, and "
                           "whether another job shares the link; NCCL_SOCKET_NTHREADS/NCCL_NSOCKS_PERTHREAD add "
                           "streams");
    } else {
        pf_check_set(c, PF_PASS, "%.2f Gbit/s over %d stream(s), %.0f%% of the slower end's %.0f Gbit/s link", g,
                     streams, 100.0 * g / link, link);
    }
    pf_check_measure(c, g, frac * link, "Gbit/s");
}

/* Did the reach test of probe p get through to addr? (true when not tested) */
static bool reached(const json_t *p, const char *addr)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(p, "reach"), i, r) if (addr && sget(r, "addr") && !strcmp(sget(r, "addr"), addr)) return sget(r, "result") && !strcmp(sget(r, "result"), "ok");
    return true;
}

static void judge_mtu(pf_run *run, pf_node *n, pf_node *peer, const json_t *arr, const json_t *probe)
{
    pf_check *c = pf_check_add(run, n, "cluster.mtu");
    pf_check_set_peer(c, peer);
    json_object_set(pf_check_evidence(c), "paths", (json_t *)arr);
    pf_status st = PF_PASS;
    sbuf s = {0}, fix = {0};
    size_t i;
    json_t *m;
    double worst = INFINITY;
    json_array_foreach(arr, i, m) {
        const char *addr = sget(m, "addr");
        json_t *pm = json_object_get(m, "path_mtu");
        int lm = (int)json_integer_value(json_object_get(m, "local_mtu"));
        int rm = (int)json_integer_value(json_object_get(m, "peer_mtu"));
        const char *li = sget(m, "local_ifname"), *ri = sget(m, "peer_ifname");
        if (!json_is_integer(pm) && !reached(probe, addr)) {
            /* TCP did not get there either: cluster.reach says why */
            sb_add(&s, "%s%s: not measured (unreachable, see cluster.reach)", s.len ? "; " : "", addr ? addr : "?");
            continue;
        }
        if (!json_is_integer(pm)) {
            st = pf_status_worst(st, PF_FAIL);
            sb_add(&s, "%s%s: %s", s.len ? "; " : "", addr ? addr : "?",
                   sget(m, "error") ? sget(m, "error") : "no probe echoed");
            continue;
        }
        int path = (int)json_integer_value(pm);
        if (path < worst)
            worst = path;
        int ends = lm > 0 && rm > 0 ? (lm < rm ? lm : rm) : (lm > 0 ? lm : rm);
        if (ends > 65535)
            ends = 9000; /* loopback: the largest size probed */
        if (ends > 0 && path < ends) {
            st = pf_status_worst(st, PF_FAIL);
            sb_add(&s, "%s%s: both ends allow %d but only %d passes -- a hop between them drops larger frames "
                       "silently", s.len ? "; " : "", addr, ends, path);
            sb_add(&fix, "%sset %s on %s and %s on %s to MTU %d, or raise the switch ports to %d", fix.len ? "; " : "",
                   li ? li : "?", pf_node_name(n), ri ? ri : "?", pf_node_name(peer), path, ends);
        } else if (lm > 0 && rm > 0 && lm != rm) {
            st = pf_status_worst(st, PF_WARN);
            bool local_big = lm > rm;
            sb_add(&s, "%s%s: %s on %s has MTU %d, %s on %s %d; frames above %d are dropped silently (TCP "
                       "works through MSS, UDP/RoCE does not)",
                   s.len ? "; " : "", addr, li ? li : "?", pf_node_name(n), lm, ri ? ri : "?", pf_node_name(peer),
                   rm, path);
            sb_add(&fix, "%sip link set %s mtu %d on %s", fix.len ? "; " : "",
                   local_big ? (li ? li : "?") : (ri ? ri : "?"), local_big ? rm : lm,
                   local_big ? pf_node_name(n) : pf_node_name(peer));
        } else {
            sb_add(&s, "%s%s: path MTU %d", s.len ? "; " : "", addr, path);
        }
    }
    pf_check_set(c, json_array_size(arr) ? st : PF_ERROR, "%s", json_array_size(arr) ? sb_str(&s) : "no MTU probe ran");
    if (fix.len)
        pf_check_remedy(c, "%s", sb_str(&fix));
    if (isfinite(worst))
        pf_check_measure(c, worst, 0, "bytes");
    free(s.s);
    free(fix.s);
}

static void judge_ports(pf_run *run, pf_node *n, pf_node *peer, const json_t *arr, const json_t *listen)
{
    pf_check *c = pf_check_add(run, n, "cluster.ports");
    pf_check_set_peer(c, peer);
    json_object_set(pf_check_evidence(c), "ports", (json_t *)arr);
    sbuf s = {0}, fix = {0};
    pf_status st = PF_PASS;
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p) {
        int port = (int)json_integer_value(json_object_get(p, "port"));
        const char *res = sget(p, "result"), *name = sget(p, "name");
        if (res && !strcmp(res, "ok")) {
            sb_add(&s, "%s%d%s%s%s open", s.len ? "; " : "", port, name ? " (" : "", name ? name : "",
                   name ? ")" : "");
            continue;
        }
        /* Was the port held open on the peer?  Then "refused" is a firewall. */
        const char *state = NULL;
        size_t k;
        json_t *lp;
        json_array_foreach(json_object_get(listen, "ports"), k, lp) if (json_integer_value(json_object_get(lp, "port")) == port) state = sget(lp, "state");
        st = PF_FAIL;
        sb_add(&s, "%s%d%s%s%s %s%s", s.len ? "; " : "", port, name ? " (" : "", name ? name : "", name ? ")" : "",
               res ? res : "?", state && !strcmp(state, "listening") && res && !strcmp(res, "refused")
                                    ? " although a listener was open: a firewall rejects it"
                                    : "");
        sb_add(&fix, "%s%d", fix.len ? ", " : "", port);
    }
    if (!json_array_size(arr))
        pf_check_set(c, PF_SKIP, "no ports to test for this pair");
    else
        pf_check_set(c, st, "%s -> %s: %s", pf_node_name(n), pf_node_name(peer), sb_str(&s));
    if (fix.len)
        pf_check_remedy(c, "Open TCP port(s) %s on %s for %s (e.g. nft add rule inet filter input ip saddr <%s> "
                           "tcp dport { %s } accept)",
                        sb_str(&fix), pf_node_name(peer), pf_node_name(n), pf_node_name(n), sb_str(&fix));
    free(s.s);
    free(fix.s);
}

static void judge_gloo(pf_run *run, pf_node *n, pf_node *peer, const json_t *g)
{
    const char *role = sget(g, "role"), *res = sget(g, "result");
    if (role && !strcmp(role, "accept"))
        return; /* Gloo's order: the peer connects; its probe reports this pair */
    pf_check *c = pf_check_add(run, n, "cluster.gloo");
    pf_check_set_peer(c, peer);
    json_object_update(pf_check_evidence(c), (json_t *)g);
    const char *paddr = sget(g, "peer");
    bool ploop = json_is_true(json_object_get(g, "peer_loopback"));
    bool sloop = json_is_true(json_object_get(g, "self_loopback"));
    if (res && !strcmp(res, "ok") && !ploop && !sloop) {
        pf_check_set(c, PF_PASS, "%s connects to %s's Gloo address %s as Gloo will (higher address connects), "
                                 "and reaches %s",
                     pf_node_name(n), pf_node_name(peer), paddr ? paddr : "?", pf_node_name(peer));
        return;
    }
    const char *trapped = ploop ? pf_node_name(peer) : sloop ? pf_node_name(n) : NULL;
    if (trapped) {
        pf_check_set(c, PF_FAIL, "%s advertises a loopback address to Gloo (%s): its hostname resolves to 127.x; "
                                 "%s -> %s:%d gives %s (\"Gloo connectFullMesh failed ... Connection refused, "
                                 "remote=[127.0.1.1]\")",
                     trapped, ploop ? paddr : sget(g, "self"), pf_node_name(n), paddr ? paddr : "?",
                     (int)json_integer_value(json_object_get(g, "peer_port")), res ? res : "?");
        pf_check_remedy(c, "On %s set GLOO_SOCKET_IFNAME to the interface that reaches the other nodes (the plan "
                           "writes it), or map its hostname to that address in /etc/hosts",
                        trapped);
    } else {
        pf_check_set(c, PF_FAIL, "%s cannot complete Gloo's handshake with %s at %s:%d: %s (%s)", pf_node_name(n),
                     pf_node_name(peer), paddr ? paddr : "?", (int)json_integer_value(json_object_get(g, "peer_port")),
                     res ? res : "?", sget(g, "error") ? sget(g, "error") : "");
        pf_check_remedy(c, "The interface %s advertises for Gloo is not reachable from %s: set GLOO_SOCKET_IFNAME on "
                           "%s to one that is (cluster.reach lists what works)",
                        pf_node_name(peer), pf_node_name(n), pf_node_name(peer));
    }
}

static void judge_pairs(pf_run *run, const json_t *pairs, double frac)
{
    const json_t *probes = json_object_get(pairs, "probes"), *listen = json_object_get(pairs, "listen");
    if (pf_run_node_count(run) < 2 || !json_array_size(probes)) {
        pf_check *c = pf_check_add(run, NULL, "cluster.reach");
        pf_check_set(c, PF_SKIP, pf_run_node_count(run) < 2 ? "one node: no pairs to test"
                                                            : "no pair-test results in the record");
        return;
    }
    size_t i;
    json_t *p;
    json_array_foreach(probes, i, p) {
        pf_node *n = sget(p, "node") ? pf_run_find_node(run, sget(p, "node")) : NULL;
        pf_node *peer = sget(p, "peer") ? pf_run_find_node(run, sget(p, "peer")) : NULL;
        if (!n || !peer)
            continue; /* a probe about a node not in the run: nothing to attach it to */
        if (sget(p, "error")) {
            pf_check *c = pf_check_add(run, n, "cluster.reach");
            pf_check_set_peer(c, peer);
            pf_check_set(c, PF_ERROR, "the pair test did not run: %s", sget(p, "error"));
            continue;
        }
        if (json_object_get(p, "reach"))
            judge_reach(run, n, peer, p, probes, json_object_get(listen, pf_node_name(peer)));
        if (json_object_get(p, "bandwidth"))
            judge_bandwidth(run, n, peer, json_object_get(p, "bandwidth"), frac);
        if (json_object_get(p, "mtu"))
            judge_mtu(run, n, peer, json_object_get(p, "mtu"), p);
        if (json_object_get(p, "ports"))
            judge_ports(run, n, peer, json_object_get(p, "ports"), json_object_get(listen, pf_node_name(peer)));
        if (json_object_get(p, "gloo"))
            judge_gloo(run, n, peer, json_object_get(p, "gloo"));
    }
}

void pf_cluster_judge(pf_run *merged, const pf_cluster_judge_opts *o)
{
    pf_cluster_judge_opts d = {0};
    if (!o)
        o = &d;
    const json_t *pairs = o->pairs ? o->pairs : pf_run_section(merged, "pairs");
    const json_t *ray = o->ray ? o->ray : pf_run_section(merged, "ray");
    const json_t *cluster = o->cluster ? o->cluster : pf_run_section(merged, "cluster");
    double frac = o->bw_warn_fraction > 0 ? o->bw_warn_fraction : 0.5;
    double t0 = pf_now();
    judge_nodes(merged, cluster);
    judge_transport(merged);
    judge_drift(merged);
    judge_hosthash(merged);
    judge_memory(merged);
    judge_ray(merged, ray);
    judge_pairs(merged, pairs, frac);
    (void)t0;
}

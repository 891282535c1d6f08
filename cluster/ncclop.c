/* ncclop.c -- one NCCL rank of cluster.nccl in a child of the agent (see
 * ncclop.h). */
#include "cluster/ncclop.h"
#include "core/file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/record.h"
#include "probes/context.h"
#include "probes/nccl/libnccl.h"
#include "probes/nccl/nccl_agent.h"
#include "probes/nccl/nccl_envfile.h"
#include "probes/nccl/nccl_judge.h"
#include "probes/nccl/nccl_local.h"
#include "probes/nccl/nccl_pcap.h"
#include "probes/nccl/nccl_sweep.h"

struct pf_ncclop {
    pid_t pid;
    int up;             /* child -> agent lines; -1 closed */
    char *buf;
    size_t len, cap;
    char phase[96];
    json_t *result;
    char uid[257];      /* rank 0: "" none yet, "none" failed */
    double deadline, deadline_s;
    int rank, nranks;
    char libnccl[1024];
    char dir[64], log_file[128];
    bool capture;       /* nccl_start asked for one: the reply carries "capture" */
    pf_ncclpcap *pcap;  /* running capture, NULL: none (or it could not start) */
    json_t *cap_json;   /* {"skipped": why} / {"interfaces": {IF: {"error"}}} known before the stop */
};

static json_t *fail_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail_reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = pf_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", m);
    free(m);
    return r;
}

/* ---- reading the request: every field typed and bounded ---- */

static int get_num(const json_t *msg, const char *k, double lo, double hi, double dflt, double *out, char *why,
                   size_t wlen)
{
    json_t *v = json_object_get(msg, k);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        snprintf(why, wlen, "nccl_start: '%s' is not a number from %g to %g", k, lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* A library path the coordinator names: absolute, and a file whose name is
 * the library's (libnccl*.so*, libcuda*.so*) -- the agent loads what it
 * would load anyway, never an arbitrary file. */
static int lib_ok(const char *p, const char *stem)
{
    if (!p || p[0] != '/' || strlen(p) >= 1000 || strchr(p, '\n'))
        return 0;
    const char *base = strrchr(p, '/') + 1;
    return pf_str_startswith(base, stem) && strstr(base, ".so") != NULL;
}

/* ---- capture and fallback_env: what the agent accepts (ncclop.h) ---- */

/* One interface name: [A-Za-z0-9_.:@-], 1 .. IFNAMSIZ-1 characters. */
static bool ifname_ok(const char *p, size_t n)
{
    if (n == 0 || n >= IFNAMSIZ)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && !strchr("_.:@-", p[i]))
            return false;
    return true;
}

int pf_ncclop_capture_ok(const char *spec, char *why, size_t wlen)
{
    if (!spec || !*spec || strlen(spec) > PF_NCCLOP_MAX_CAPTURE * IFNAMSIZ) {
        snprintf(why, wlen, "'capture' is not 'auto' or a comma list of interface names");
        return -1;
    }
    if (!strcmp(spec, "auto"))
        return 0;
    int n = 0;
    for (const char *p = spec;;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (!ifname_ok(p, k)) {
            snprintf(why, wlen, "'capture': '%.*s' is not an interface name ([A-Za-z0-9_.:@-], under %d characters)",
                     (int)(k < 64 ? k : 64), p, IFNAMSIZ);
            return -1;
        }
        if (++n > PF_NCCLOP_MAX_CAPTURE) {
            snprintf(why, wlen, "'capture' names more than %d interfaces", PF_NCCLOP_MAX_CAPTURE);
            return -1;
        }
        if (!e)
            return 0;
        p = e + 1;
    }
}

/* A name NCCL would turn into a file or a library to open: refused. */
static bool names_file_or_library(const char *name, size_t n)
{
    static const char *const words[] = {"PLUGIN", "FILE", "PATH", "DIR", "LIB"};
    char up[PF_NCCLOP_MAX_VALUE + 1];
    snprintf(up, sizeof up, "%.*s", (int)n, name);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(up, words[i]))
            return true;
    return false;
}

int pf_ncclop_fallback_ok(const char *nv, char *why, size_t wlen)
{
    const char *eq = nv ? strchr(nv, '=') : NULL;
    if (!eq) {
        snprintf(why, wlen, "'fallback_env': an entry is not NAME=VALUE");
        return -1;
    }
    size_t n = (size_t)(eq - nv);
    bool name_ok = n > 5 && n <= 64 && strncmp(nv, "NCCL_", 5) == 0;
    for (size_t i = 0; name_ok && i < n; i++)
        name_ok = isupper((unsigned char)nv[i]) || isdigit((unsigned char)nv[i]) || nv[i] == '_';
    if (!name_ok) {
        snprintf(why, wlen, "'fallback_env': '%.*s' is not an NCCL_ variable (only NCCL_[A-Z0-9_] names are accepted)",
                 (int)(n < 64 ? n : 64), nv);
        return -1;
    }
    if (names_file_or_library(nv, n)) {
        snprintf(why, wlen, "'fallback_env': %.*s names a file or a library to load; the agent refuses it over the "
                            "network (set it in the node's env file instead)",
                 (int)n, nv);
        return -1;
    }
    const char *v = eq + 1;
    if (strlen(v) > PF_NCCLOP_MAX_VALUE) {
        snprintf(why, wlen, "'fallback_env': the value of %.*s is longer than %d characters", (int)n, nv,
                 PF_NCCLOP_MAX_VALUE);
        return -1;
    }
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.,:=^+/-", *p)) {
            snprintf(why, wlen, "'fallback_env': the value of %.*s has a character outside [A-Za-z0-9_.,:=^+/-]",
                     (int)n, nv);
            return -1;
        }
    return 0;
}

typedef struct startreq {
    pf_ncclrank_opts ro;
    uint64_t sizes[PF_NCCL_MAX_SIZES];
    double deadline_s;
    pf_nccl_uid uid;
    bool have_uid;
    const char *env_file;
    const char *venv;
    const char *capture;       /* validated spec, NULL: none */
    const json_t *fallback;    /* validated NAME=VALUE strings (borrowed from msg), NULL: none */
} startreq;

static int parse(const json_t *msg, startreq *q, char *why, size_t wlen)
{
    memset(q, 0, sizeof *q);
    double rank, nranks, iters, warm, init_to, op_to;
    if (get_num(msg, "rank", 0, 63, -1, &rank, why, wlen) || get_num(msg, "nranks", 1, 64, -1, &nranks, why, wlen) ||
        get_num(msg, "iters", 1, 100000, 20, &iters, why, wlen) || get_num(msg, "warmup", 1, 1000, 2, &warm, why, wlen) ||
        get_num(msg, "init_timeout_s", 0.1, 3600, 20, &init_to, why, wlen) ||
        get_num(msg, "op_timeout_s", 0.1, 3600, 20, &op_to, why, wlen) ||
        get_num(msg, "deadline_s", 1, 86400, 120, &q->deadline_s, why, wlen))
        return -1;
    if (rank < 0 || nranks < 1 || rank >= nranks || rank != (int)rank || nranks != (int)nranks) {
        snprintf(why, wlen, "nccl_start: rank and nranks are required (0 <= rank < nranks <= 64)");
        return -1;
    }
    const json_t *sz = json_object_get(msg, "sizes");
    if (!json_is_array(sz) || json_array_size(sz) > PF_NCCL_MAX_SIZES) {
        snprintf(why, wlen, "nccl_start: 'sizes' is not an array of at most %d sizes", PF_NCCL_MAX_SIZES);
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(sz, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 4 || json_integer_value(v) > (8ll << 30)) {
            snprintf(why, wlen, "nccl_start: sizes[%zu] is not 4 B .. 8 GiB", i);
            return -1;
        }
        q->sizes[i] = (uint64_t)json_integer_value(v);
    }
    const json_t *p2p = json_object_get(msg, "p2p");
    if (p2p && (!json_is_array(p2p) || json_array_size(p2p) > PF_NCCL_MAX_P2P)) {
        snprintf(why, wlen, "nccl_start: 'p2p' is not an array of at most %d hand-offs", PF_NCCL_MAX_P2P);
        return -1;
    }
    json_array_foreach(p2p, i, v) {
        /* names from a fixed list: the strings live in this binary */
        static const char *const names[] = {"prefill", "decode"};
        const char *nm = json_string_value(json_object_get(v, "name"));
        const json_t *b = json_object_get(v, "bytes");
        const char *known = NULL;
        for (size_t k = 0; nm && k < 2; k++)
            if (!strcmp(nm, names[k]))
                known = names[k];
        if (!known || !json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > (8ll << 30)) {
            snprintf(why, wlen, "nccl_start: p2p[%zu] is not {name: prefill|decode, bytes: 1 B .. 8 GiB}", i);
            return -1;
        }
        q->ro.p2p_name[i] = known;
        q->ro.p2p_bytes[i] = (uint64_t)json_integer_value(b);
    }
    q->ro.n_p2p = (int)json_array_size(p2p);
    const char *ln = json_string_value(json_object_get(msg, "libnccl"));
    const char *lc = json_string_value(json_object_get(msg, "libcuda"));
    if ((json_object_get(msg, "libnccl") && !lib_ok(ln, "libnccl")) ||
        (json_object_get(msg, "libcuda") && !lib_ok(lc, "libcuda"))) {
        snprintf(why, wlen, "nccl_start: a library path must be absolute and name libnccl*.so* / libcuda*.so*");
        return -1;
    }
    const char *env = json_string_value(json_object_get(msg, "env"));
    if (env && pf_str_startswith(env, "file:"))
        q->env_file = env + 5;
    q->venv = json_string_value(json_object_get(msg, "venv"));
    const json_t *cj = json_object_get(msg, "capture");
    if (cj) {
        char w[200];
        if (pf_ncclop_capture_ok(json_string_value(cj), w, sizeof w) != 0) {
            snprintf(why, wlen, "nccl_start: %s", w);
            return -1;
        }
        q->capture = json_string_value(cj);
    }
    const json_t *fe = json_object_get(msg, "fallback_env");
    if (fe) {
        if (!json_is_array(fe) || json_array_size(fe) > PF_NCCLOP_MAX_FALLBACK) {
            snprintf(why, wlen, "nccl_start: 'fallback_env' is not an array of at most %d NAME=VALUE strings",
                     PF_NCCLOP_MAX_FALLBACK);
            return -1;
        }
        json_array_foreach(fe, i, v) {
            char w[300];
            if (!json_is_string(v) || pf_ncclop_fallback_ok(json_string_value(v), w, sizeof w) != 0) {
                snprintf(why, wlen, "nccl_start: %s", json_is_string(v) ? w : "'fallback_env' has a non-string entry");
                return -1;
            }
        }
        q->fallback = fe;
    }
    const char *uid = json_string_value(json_object_get(msg, "uid"));
    if (uid) {
        if (strlen(uid) != 256 || pf_nccllocal_uid_parse(uid, &q->uid) != 0) {
            snprintf(why, wlen, "nccl_start: 'uid' is not 256 hex digits");
            return -1;
        }
        q->have_uid = true;
    }
    q->ro.rank = (int)rank;
    q->ro.nranks = (int)nranks;
    q->ro.libnccl = ln;
    q->ro.libcuda = lc;
    q->ro.init_timeout_s = init_to;
    q->ro.op_timeout_s = op_to;
    q->ro.teardown_timeout_s = 10;
    q->ro.sizes = q->sizes;
    q->ro.n_sizes = (int)json_array_size(sz);
    q->ro.allreduce = true;
    q->ro.allgather = json_is_true(json_object_get(msg, "allgather"));
    q->ro.iters = (int)iters;
    q->ro.warmup = (int)warm;
    return 0;
}

/* ---- the child ---- */

static void send_line(int fd, const char *kind, const char *text)
{
    char *l = pf_xasprintf("%s %s\n", kind, text);
    (void)pf_file_write_fd(fd, l, strlen(l)); /* a parent gone away reads nothing */
    free(l);
}

typedef struct child_io {
    int up;
    const startreq *q;
} child_io;

static void on_phase(void *arg, const char *ph) { send_line(((child_io *)arg)->up, "phase", ph); }

static int publish(void *arg, const pf_nccl_uid *uid)
{
    char hex[257];
    if (uid)
        pf_nccllocal_uid_hex(uid, hex);
    send_line(((child_io *)arg)->up, "uid", uid ? hex : "none");
    return 0;
}

/* The id came with nccl_start (the coordinator relays rank 0's). */
static int fetch(void *arg, pf_nccl_uid *uid, double deadline)
{
    (void)deadline;
    const startreq *q = ((child_io *)arg)->q;
    if (!q->have_uid)
        return -1;
    *uid = q->uid;
    return 0;
}

static void child_main(const startreq *q, const pf_strv *env, int up, const char *dir, const char *log_file)
{
    char *outp = pf_xasprintf("%s/rank.out", dir);
    int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    free(outp);
    pf_ncclrank_opts ro = q->ro;
    ro.env = (const char *const *)env->v;
    child_io cio = {up, q};
    ro.phase_cb = on_phase;
    ro.cb_arg = &cio;
    pf_ncclagent_io io = {publish, fetch, &cio};
    json_t *res = pf_ncclagent_run(&ro, log_file, &io);
    char *js = json_dumps(res, JSON_COMPACT);
    if (js && strlen(js) > PF_NCCLOP_MAX_RESULT) {
        free(js);
        js = NULL;
    }
    send_line(up, "result", js ? js : "{}");
    free(js);
    _exit(0);
}

/* ---- the agent side ---- */

/* The interfaces of "auto": every interface that is up on this node, in
 * the kernel's order, at most PF_NCCLOP_MAX_CAPTURE (lo included: ranks on
 * one host talk over it). */
static void auto_ifaces(char *out, size_t len)
{
    out[0] = 0;
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0)
        return;
    int n = 0;
    for (struct ifaddrs *p = ifa; p && n < PF_NCCLOP_MAX_CAPTURE; p = p->ifa_next) {
        if (!p->ifa_name || !(p->ifa_flags & IFF_UP) || !ifname_ok(p->ifa_name, strlen(p->ifa_name)))
            continue;
        /* getifaddrs lists an interface once per address family */
        bool seen = false;
        size_t k = strlen(p->ifa_name);
        for (const char *q = out; *q && !seen;) {
            const char *e = strchr(q, ',');
            size_t m = e ? (size_t)(e - q) : strlen(q);
            seen = m == k && strncmp(q, p->ifa_name, k) == 0;
            q = e ? e + 1 : q + m;
        }
        if (seen)
            continue;
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s", l ? "," : "", p->ifa_name);
        n++;
    }
    freeifaddrs(ifa);
}

/* Start the capture before the rank is forked: the named interfaces that
 * exist here are captured, the others are reported with an error (the
 * traffic asked for cannot be counted); a capture that cannot start at all
 * (no libpcap, no CAP_NET_RAW) is {"skipped": why}. */
static void capture_start(pf_ncclop *op, const char *spec)
{
    op->capture = true;
    char list[PF_NCCLOP_MAX_CAPTURE * (IFNAMSIZ + 1) + 1] = "", have[sizeof list] = "";
    if (!strcmp(spec, "auto"))
        auto_ifaces(list, sizeof list);
    else
        pf_strlcpy(list, spec, sizeof list);
    json_t *missing = json_object();
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (if_nametoindex(p) == 0) {
            json_object_set_new(missing, p, json_pack("{s:s}", "error", "no such interface on this node"));
            continue;
        }
        size_t l = strlen(have);
        snprintf(have + l, sizeof have - l, "%s%s", l ? "," : "", p);
    }
    if (!have[0]) {
        op->cap_json = json_pack("{s:s, s:o}", "error",
                                 !strcmp(spec, "auto") ? "no interface is up on this node"
                                                       : "none of the interfaces to capture exists on this node",
                                 "interfaces", missing);
        return;
    }
    pf_err err = {{0}};
    op->pcap = pf_ncclpcap_start(have, &err);
    if (!op->pcap) {
        op->cap_json = json_pack("{s:s}", "skipped", err.msg);
        json_decref(missing);
        return;
    }
    op->cap_json = json_pack("{s:o}", "interfaces", missing);
}

/* The capture object for the reply: stopped, the missing interfaces
 * merged in, bounded (PF_NCCLOP_MAX_CAPTURE_JSON). */
static json_t *capture_stop(pf_ncclop *op)
{
    if (!op->capture)
        return NULL;
    json_t *j = op->cap_json;
    op->cap_json = NULL;
    if (op->pcap) {
        json_t *got = pf_ncclpcap_stop(op->pcap);
        op->pcap = NULL;
        json_t *ifs = json_object_get(got, "interfaces");
        if (json_is_object(ifs))
            json_object_update_missing(ifs, json_object_get(j, "interfaces"));
        json_decref(j);
        j = got;
    }
    if (!j)
        return NULL;
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text || strlen(text) > PF_NCCLOP_MAX_CAPTURE_JSON) {
        json_decref(j);
        j = json_pack("{s:s}", "error", "the capture's record is larger than the agent sends");
    }
    free(text);
    return j;
}

static void handle_line(pf_ncclop *op, char *line)
{
    if (pf_str_startswith(line, "phase ")) {
        pf_strlcpy(op->phase, line + 6, sizeof op->phase);
    } else if (pf_str_startswith(line, "uid ") && op->rank == 0) {
        pf_strlcpy(op->uid, line + 4, sizeof op->uid);
    } else if (pf_str_startswith(line, "result ")) {
        json_error_t je;
        json_t *j = json_loads(line + 7, 0, &je);
        if (json_is_object(j) && json_object_size(j) > 0) {
            json_decref(op->result);
            op->result = j;
        } else {
            json_decref(j);
        }
    }
}

/* Read what the child wrote until stop(op) or the deadline. */
static void pump(pf_ncclop *op, double deadline, bool (*stop)(const pf_ncclop *))
{
    while (op->up >= 0 && !stop(op)) {
        double left = deadline - pf_now();
        if (left <= 0)
            return;
        struct pollfd p = {op->up, POLLIN, 0};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return;
        char tmp[65536];
        ssize_t got = read(op->up, tmp, sizeof tmp);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            close(op->up);
            op->up = -1;
            return;
        }
        if (op->len + (size_t)got + 1 > op->cap) {
            op->cap = (op->len + (size_t)got + 1) * 2;
            op->buf = pf_xrealloc(op->buf, op->cap);
        }
        memcpy(op->buf + op->len, tmp, (size_t)got);
        op->len += (size_t)got;
        op->buf[op->len] = 0;
        char *nl;
        while ((nl = memchr(op->buf, '\n', op->len))) {
            *nl = 0;
            handle_line(op, op->buf);
            size_t used = (size_t)(nl - op->buf) + 1;
            memmove(op->buf, nl + 1, op->len - used);
            op->len -= used;
        }
        if (op->len > PF_NCCLOP_MAX_RESULT + 64) { /* a line beyond the bound: stop listening */
            close(op->up);
            op->up = -1;
        }
    }
}

static bool have_uid(const pf_ncclop *op) { return op->uid[0] != 0; }
static bool have_result(const pf_ncclop *op) { return op->result != NULL; }

pf_ncclop *pf_ncclop_start(const json_t *msg, int close_fd, json_t **reply)
{
    startreq *q = pf_xcalloc(1, sizeof *q);
    char why[300];
    if (parse(msg, q, why, sizeof why) < 0) {
        *reply = fail_reply("%s", why);
        free(q);
        return NULL;
    }
    pf_strv env = {0};
    pf_err err = {{0}};
    if (q->env_file && pf_ncclenv_load(q->env_file, &env, &err) != 0) {
        *reply = fail_reply("the node's env file: %s", err.msg);
        pf_strv_free(&env);
        free(q);
        return NULL;
    }
    /* the fallback's variables after the node's own: later entries win */
    size_t fi;
    const json_t *fv;
    json_array_foreach(q->fallback, fi, fv) pf_strv_push(&env, json_string_value(fv));
    pf_strv_push_owned(&env, NULL);
    env.n--;
    pf_ncclop *op = pf_xcalloc(1, sizeof *op);
    op->up = -1;
    op->rank = q->ro.rank;
    op->nranks = q->ro.nranks;
    op->deadline_s = q->deadline_s;
    /* No library named: the one the server would load, from the venv. */
    if (q->ro.libnccl) {
        pf_strlcpy(op->libnccl, q->ro.libnccl, sizeof op->libnccl);
    } else {
        pf_probe_opts po;
        pf_probe_opts_init(&po);
        po.venv = q->venv;
        char *argv0[] = {"preflight", "agent", NULL};
        pf_run *run = pf_run_new(2, argv0);
        pf_node *node = pf_run_add_node(run, "self", NULL);
        pf_probe_ctx ctx;
        pf_ctx_init(&ctx, &po, run, node);
        pf_libnccl_info info;
        if (pf_libnccl_locate(&ctx, &info, &err) == 0)
            pf_strlcpy(op->libnccl, info.path, sizeof op->libnccl);
        pf_ctx_free(&ctx);
        pf_run_free(run);
        pf_probe_opts_free(&po);
    }
    q->ro.libnccl = op->libnccl[0] ? op->libnccl : NULL;
    snprintf(op->dir, sizeof op->dir, "/tmp/preflight-agent-nccl.XXXXXX");
    int up[2] = {-1, -1};
    if (!mkdtemp(op->dir) || pipe2(up, O_CLOEXEC) != 0) {
        *reply = fail_reply("cannot prepare the NCCL rank: %s", strerror(errno));
        goto fail;
    }
    snprintf(op->log_file, sizeof op->log_file, "%s/nccl.log", op->dir);
    if (!q->ro.libnccl) {
        /* the rank reports it as its load failure, like a library that fails */
        q->ro.libnccl = "";
    }
    if (q->capture)
        capture_start(op, q->capture);
    fflush(NULL);
    op->pid = fork();
    if (op->pid < 0) {
        *reply = fail_reply("fork for the NCCL rank: %s", strerror(errno));
        close(up[0]);
        close(up[1]);
        goto fail;
    }
    if (op->pid == 0) {
        close(up[0]);
        if (close_fd >= 0)
            close(close_fd);
        signal(SIGPIPE, SIG_IGN);
        if (!op->libnccl[0]) {
            pf_ncclrank_opts ro = q->ro;
            json_t *res = pf_ncclrank_load_failure(&ro, "load", err.msg[0] ? err.msg : "no libnccl found on this node");
            char *js = json_dumps(res, JSON_COMPACT);
            if (ro.rank == 0)
                send_line(up[1], "uid", "none");
            send_line(up[1], "result", js);
            _exit(0);
        }
        child_main(q, &env, up[1], op->dir, op->log_file);
    }
    /* integrator: pf_ncclpcap_watch_pid(op->pcap, op->pid) once p-bpf lands (op->pcap is NULL without a capture) */
    close(up[1]);
    op->up = up[0];
    op->deadline = pf_now() + q->deadline_s;
    pf_strlcpy(op->phase, "load", sizeof op->phase);
    if (op->rank == 0) {
        /* answer once NCCL gave rank 0 its id (or said it cannot) */
        pump(op, pf_now() + q->ro.init_timeout_s + 5, have_uid);
        bool ok = op->uid[0] && strcmp(op->uid, "none") != 0;
        *reply = json_pack("{s:b,s:o}", "ok", 1, "uid", ok ? json_string(op->uid) : json_null());
    } else {
        *reply = json_pack("{s:b}", "ok", 1);
    }
    pf_strv_free(&env);
    free(q);
    return op;
fail:
    json_decref(capture_stop(op));
    pf_strv_free(&env);
    free(q);
    if (!strstr(op->dir, "XXXXXX"))
        rmdir(op->dir);
    free(op);
    return NULL;
}

static void cleanup(pf_ncclop *op)
{
    json_decref(capture_stop(op));
    if (op->up >= 0)
        close(op->up);
    free(op->buf);
    json_decref(op->result);
    free(op);
}

void pf_ncclop_kill(pf_ncclop *op)
{
    if (!op)
        return;
    if (op->pid > 0) {
        kill(op->pid, SIGKILL);
        waitpid(op->pid, NULL, 0);
    }
    cleanup(op);
}

json_t *pf_ncclop_wait(pf_ncclop *op)
{
    if (!op)
        return fail_reply("nccl_wait: no NCCL rank was started on this node");
    pump(op, op->deadline, have_result);
    bool killed = false;
    int status = 0;
    /* the result line came (or the pipe closed): the child exits at once */
    double until = pf_now() + (op->result || op->up < 0 ? 5 : 0);
    while (waitpid(op->pid, &status, WNOHANG) == 0) {
        if (pf_now() >= until) {
            kill(op->pid, SIGKILL);
            waitpid(op->pid, &status, 0);
            killed = !op->result;
            break;
        }
        usleep(2000);
    }
    json_t *res = op->result;
    op->result = NULL;
    if (!res) {
        char msg[300];
        const char *kind;
        if (killed) {
            kind = "timeout";
            snprintf(msg, sizeof msg, "still in '%s' at the %.0f s deadline: killed", op->phase, op->deadline_s);
        } else if (WIFSIGNALED(status)) {
            kind = "died";
            snprintf(msg, sizeof msg, "the rank process died (signal %d) during '%s'", WTERMSIG(status), op->phase);
        } else {
            kind = "died";
            snprintf(msg, sizeof msg, "the rank process exited (status %d) during '%s' without a result",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, op->phase);
        }
        pf_ncclrank_opts ro = {.rank = op->rank, .nranks = op->nranks, .libnccl = op->libnccl};
        res = pf_ncclrank_load_failure(&ro, op->phase, msg);
        json_object_set_new(json_object_get(res, "failure"), "kind", json_string(kind));
        json_object_set_new(res, "pid", json_integer(op->pid));
        char *text = pf_read_file(op->log_file, 16u << 20, NULL, NULL);
        pf_nccljudge_annotate(res, text);
        free(text);
        json_object_set_new(res, "log_file", json_string(op->log_file));
    }
    json_t *cap = capture_stop(op);
    cleanup(op);
    json_t *reply = json_pack("{s:b,s:o}", "ok", 1, "result", res);
    if (cap)
        json_object_set_new(reply, "capture", cap);
    return reply;
}

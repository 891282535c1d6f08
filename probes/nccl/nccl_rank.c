/* nccl_rank.c -- one rank of the NCCL probe (see nccl_rank.h). */
#include "probes/nccl/nccl_rank.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probes/nccl/nccl_sweep.h"

struct pf_ncclrank {
    pf_ncclrank_opts o;
    pf_ncclapi api;
    void *ctx;
    int dev;
    pf_cu_stream stream;
    pf_cu_ptr dsend, drecv; /* device buffers of max_bytes each */
    pf_cu_ptr dsmall;       /* 4 KiB: the iteration-count agreement */
    uint64_t max_bytes;
    float *host;            /* max_bytes of pattern / readback */
    pf_nccl_comm comm;
    bool comm_live;         /* comm exists and was neither destroyed nor aborted */
    json_t *res;            /* the results object being built */
    json_t *failure;        /* set once; then nothing else runs */
    double t_start;
};

static double dflt(double v, double d) { return v > 0 ? v : d; }

static void phase(pf_ncclrank *r, const char *name)
{
    json_object_set_new(r->res, "phase", json_string(name));
    if (r->o.phase_cb)
        r->o.phase_cb(r->o.cb_arg, name);
}

/* Record the first failure: which phase, how, and what NCCL said. */
static void fail(pf_ncclrank *r, const char *ph, const char *kind, int nres, int cures, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void fail(pf_ncclrank *r, const char *ph, const char *kind, int nres, int cures, const char *fmt, ...)
{
    if (r->failure)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = pf_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *f = json_object();
    json_object_set_new(f, "phase", json_string(ph));
    json_object_set_new(f, "kind", json_string(kind));
    json_object_set_new(f, "nccl_result", nres >= 0 ? json_integer(nres) : json_null());
    json_object_set_new(f, "nccl_result_name", nres >= 0 ? json_string(pf_ncclapi_result_name(nres)) : json_null());
    const char *last = r->api.GetLastError ? r->api.GetLastError(r->comm) : NULL;
    json_object_set_new(f, "last_error", last && *last ? json_string(last) : json_null());
    json_object_set_new(f, "cuda_result", cures >= 0 ? json_integer(cures) : json_null());
    json_object_set_new(f, "message", json_string(msg));
    json_object_set_new(f, "after_s", json_real(pf_now() - r->t_start));
    free(msg);
    r->failure = f;
}

/* Abort the communicator (the only safe exit from an error or a hang). */
static void abort_comm(pf_ncclrank *r)
{
    if (!r->comm_live)
        return;
    double t = pf_now();
    int rc = r->api.CommAbort(r->comm);
    r->comm_live = false;
    r->api.keep_loaded = 1;
    json_object_set_new(r->res, "abort", json_pack("{s:i, s:f}", "result", rc, "seconds", pf_now() - t));
}

/* Short busy wait first (small messages complete in microseconds), then
 * sleep so a hung peer does not cost a core. */
static void backoff(double since)
{
    if (pf_now() - since < 0.002) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, 50 * 1000};
    nanosleep(&ts, NULL);
}

/* Wait until the communicator is no longer "in progress" (an enqueue, init
 * or finalize finished).  0 ok; -1 failure recorded. */
static int wait_comm(pf_ncclrank *r, const char *ph, double deadline)
{
    double t0 = pf_now();
    for (;;) {
        int st = PF_NCCL_IN_PROGRESS;
        int rc = r->api.CommGetAsyncError(r->comm, &st);
        if (rc != PF_NCCL_SUCCESS) {
            fail(r, ph, "error", rc, -1, "ncclCommGetAsyncError returned %s", pf_ncclapi_result_name(rc));
            return -1;
        }
        if (st == PF_NCCL_SUCCESS)
            return 0;
        if (st != PF_NCCL_IN_PROGRESS) {
            fail(r, ph, "error", st, -1, "NCCL reported %s during %s", pf_ncclapi_result_name(st), ph);
            return -1;
        }
        if (pf_now() > deadline) {
            fail(r, ph, "timeout", st, -1, "%s did not finish within %.1f s", ph, deadline - t0);
            return -1;
        }
        backoff(t0);
    }
}

/* Wait for the stream to drain, watching the communicator's async error:
 * never cuStreamSynchronize, which would block forever on a dead peer. */
static int wait_stream(pf_ncclrank *r, const char *ph, double deadline)
{
    if (wait_comm(r, ph, deadline) != 0)
        return -1;
    double t0 = pf_now();
    for (;;) {
        int q = r->api.cuStreamQuery(r->stream);
        if (q == PF_CU_SUCCESS)
            return 0;
        if (q != PF_CU_NOT_READY) {
            fail(r, ph, "error", -1, q, "cuStreamQuery: %s", pf_ncclapi_cu_name(&r->api, q));
            return -1;
        }
        int st = PF_NCCL_SUCCESS;
        r->api.CommGetAsyncError(r->comm, &st);
        if (st != PF_NCCL_SUCCESS && st != PF_NCCL_IN_PROGRESS) {
            fail(r, ph, "error", st, -1, "NCCL reported %s during %s", pf_ncclapi_result_name(st), ph);
            return -1;
        }
        if (pf_now() > deadline) {
            fail(r, ph, "timeout", -1, -1, "%s did not complete by its deadline (%.1f s waiting on the stream)", ph,
                 pf_now() - t0);
            return -1;
        }
        backoff(t0);
    }
}

/* An enqueue call's own result: 0 and 7 (in progress) are fine. */
static int enq(pf_ncclrank *r, const char *ph, const char *what, int rc)
{
    if (rc == PF_NCCL_SUCCESS || rc == PF_NCCL_IN_PROGRESS)
        return 0;
    fail(r, ph, "error", rc, -1, "%s returned %s", what, pf_ncclapi_result_name(rc));
    return -1;
}

/* Pattern: element i of rank src's buffer is (src+1)*256 + i%251, exact in
 * float, so sums over ranks are exact and a misplaced block shows. */
static void fill(float *h, size_t count, int src)
{
    for (size_t i = 0; i < count; i++)
        h[i] = (float)((src + 1) * 256 + (int)(i % 251));
}

static int upload(pf_ncclrank *r, const char *ph, pf_cu_ptr d, size_t count, int src)
{
    fill(r->host, count, src);
    int rc = r->api.cuMemcpyHtoD(d, r->host, count * 4);
    if (rc != 0) {
        fail(r, ph, "error", -1, rc, "cuMemcpyHtoD: %s", pf_ncclapi_cu_name(&r->api, rc));
        return -1;
    }
    return 0;
}

static int download(pf_ncclrank *r, const char *ph, pf_cu_ptr d, size_t count)
{
    int rc = r->api.cuMemcpyDtoH(r->host, d, count * 4);
    if (rc != 0) {
        fail(r, ph, "error", -1, rc, "cuMemcpyDtoH: %s", pf_ncclapi_cu_name(&r->api, rc));
        return -1;
    }
    return 0;
}

void pf_ncclrank_iters(const pf_ncclrank_opts *o, uint64_t bytes, int *iters, int *warmup)
{
    int it = o->iters > 0 ? o->iters : 20, w = o->warmup > 0 ? o->warmup : 2;
    uint64_t budget = o->bytes_budget ? o->bytes_budget : (1ull << 30);
    uint64_t cap = bytes ? budget / bytes : (uint64_t)it;
    if (cap < 3)
        cap = 3;
    if ((uint64_t)it > cap)
        it = (int)cap;
    if (bytes >= budget / 8 && w > 1)
        w = 1;
    *iters = it;
    *warmup = w;
}

static json_t *base_result(const pf_ncclrank_opts *o)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_t *j = json_object();
    json_object_set_new(j, "rank", json_integer(o->rank));
    json_object_set_new(j, "nranks", json_integer(o->nranks));
    json_object_set_new(j, "host", json_string(host));
    json_object_set_new(j, "pid", json_integer(getpid()));
    json_object_set_new(j, "libnccl", json_string(o->libnccl ? o->libnccl : ""));
    json_object_set_new(j, "device", json_integer(o->device));
    json_object_set_new(j, "ok", json_false());
    json_object_set_new(j, "phase", json_string("load"));
    return j;
}

json_t *pf_ncclrank_load_failure(const pf_ncclrank_opts *o, const char *ph, const char *msg)
{
    json_t *j = base_result(o);
    json_object_set_new(j, "phase", json_string(ph));
    json_object_set_new(j, "failure", json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:s, s:f}", "phase", ph, "kind",
                                                "error", "nccl_result", "nccl_result_name", "last_error",
                                                "cuda_result", "message", msg, "after_s", 0.0));
    return j;
}

pf_ncclrank *pf_ncclrank_open(const pf_ncclrank_opts *o, pf_err *err)
{
    if (o->nranks < 1 || o->rank < 0 || o->rank >= o->nranks) {
        pf_err_set(err, "rank %d of %d ranks is out of range", o->rank, o->nranks);
        return NULL;
    }
    /* NCCL reads its environment once, at first use: set it before loading. */
    unsetenv("NCCL_COMM_BLOCKING");
    for (const char *const *e = o->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e) {
            pf_err_set(err, "environment entry '%s' is not NAME=value", *e);
            return NULL;
        }
        char *name = pf_xasprintf("%.*s", (int)(eq - *e), *e);
        setenv(name, eq + 1, 1);
        free(name);
    }
    unsetenv("NCCL_COMM_BLOCKING");

    pf_ncclrank *r = pf_xcalloc(1, sizeof *r);
    r->o = *o;
    r->t_start = pf_now();
    if (pf_ncclapi_open(&r->api, o->libnccl, o->libcuda, err) != 0) {
        free(r);
        return NULL;
    }
    int rc, n = 0;
    if ((rc = r->api.cuInit(0)) != 0 || (rc = r->api.cuDeviceGetCount(&n)) != 0) {
        pf_err_set(err, "no usable GPU: cuInit: %s", pf_ncclapi_cu_name(&r->api, rc));
        goto bad;
    }
    if (o->device < 0 || o->device >= n) {
        pf_err_set(err, "no GPU %d on this node (%d found)", o->device, n);
        goto bad;
    }
    if ((rc = r->api.cuDeviceGet(&r->dev, o->device)) != 0 ||
        (rc = r->api.cuDevicePrimaryCtxRetain(&r->ctx, r->dev)) != 0 || (rc = r->api.cuCtxSetCurrent(r->ctx)) != 0) {
        pf_err_set(err, "GPU %d: no primary context: %s", o->device, pf_ncclapi_cu_name(&r->api, rc));
        goto bad;
    }
    /* Buffers: the largest collective size and the largest hand-off. */
    for (int i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] > r->max_bytes)
            r->max_bytes = o->sizes[i];
    for (int i = 0; i < o->n_p2p; i++)
        if (o->p2p_bytes[i] > r->max_bytes)
            r->max_bytes = o->p2p_bytes[i];
    r->max_bytes = (r->max_bytes + 4095) / 4096 * 4096;
    if (r->max_bytes < 4096)
        r->max_bytes = 4096;
    if ((rc = r->api.cuStreamCreate(&r->stream, 1 /* CU_STREAM_NON_BLOCKING */)) != 0 ||
        (rc = r->api.cuMemAlloc(&r->dsend, r->max_bytes)) != 0 ||
        (rc = r->api.cuMemAlloc(&r->drecv, r->max_bytes)) != 0 || (rc = r->api.cuMemAlloc(&r->dsmall, 4096)) != 0) {
        pf_err_set(err, "GPU %d: cannot allocate 2 x %llu bytes and a stream: %s", o->device,
                    (unsigned long long)r->max_bytes, pf_ncclapi_cu_name(&r->api, rc));
        goto bad;
    }
    r->host = pf_xmalloc(r->max_bytes);
    r->res = base_result(o);
    json_object_set_new(r->res, "nccl_version", json_integer(r->api.version));
    return r;
bad:
    pf_ncclrank_close(r);
    return NULL;
}

int pf_ncclrank_unique_id(pf_ncclrank *r, pf_nccl_uid *uid, pf_err *err)
{
    memset(uid, 0, sizeof *uid);
    phase(r, "bootstrap");
    int rc = r->api.GetUniqueId(uid);
    if (rc != PF_NCCL_SUCCESS) {
        fail(r, "bootstrap", "error", rc, -1, "ncclGetUniqueId returned %s", pf_ncclapi_result_name(rc));
        return pf_err_set(err, "ncclGetUniqueId: %s", pf_ncclapi_result_name(rc));
    }
    return 0;
}

/* How many timed iterations: as many as fit the time budget at the
 * warm-up's pace, capped by pf_ncclrank_iters, and the same on every rank
 * (the minimum of all proposals, agreed with one tiny ncclMin all-reduce)
 * -- ranks that disagreed would wait on each other forever. */
static int agree_iters(pf_ncclrank *r, const char *ph, double warm_s, int cap, double deadline)
{
    double budget = r->o.time_budget_s > 0 ? r->o.time_budget_s : 0.25;
    int want = warm_s > 0 ? (int)(budget / warm_s) : cap;
    if (want > cap)
        want = cap;
    if (want < 2)
        want = 2;
    float v = (float)want;
    int rc = r->api.cuMemcpyHtoD(r->dsmall, &v, sizeof v);
    if (rc != 0) {
        fail(r, ph, "error", -1, rc, "cuMemcpyHtoD: %s", pf_ncclapi_cu_name(&r->api, rc));
        return -1;
    }
    if (enq(r, ph, "ncclAllReduce", r->api.AllReduce((void *)r->dsmall, (void *)r->dsmall, 1, PF_NCCL_FLOAT32,
                                                     3 /* ncclMin */, r->comm, r->stream)) != 0 ||
        wait_stream(r, ph, deadline) != 0)
        return -1;
    rc = r->api.cuMemcpyDtoH(&v, r->dsmall, sizeof v);
    if (rc != 0) {
        fail(r, ph, "error", -1, rc, "cuMemcpyDtoH: %s", pf_ncclapi_cu_name(&r->api, rc));
        return -1;
    }
    return v >= 1 && v <= cap ? (int)v : cap;
}

/* One all-reduce or all-gather of `bytes` on the stream (no wait). */
static int launch_coll(pf_ncclrank *r, pf_ncclcoll c, uint64_t bytes, const char *ph)
{
    if (c == PF_NCCL_ALLREDUCE)
        return enq(r, ph, "ncclAllReduce",
                   r->api.AllReduce((void *)r->dsend, (void *)r->drecv, bytes / 4, PF_NCCL_FLOAT32, PF_NCCL_SUM,
                                    r->comm, r->stream));
    return enq(r, ph, "ncclAllGather",
               r->api.AllGather((void *)r->dsend, (void *)r->drecv, bytes / 4 / (uint64_t)r->o.nranks,
                                PF_NCCL_FLOAT32, r->comm, r->stream));
}

/* Count wrong elements of the result of one verified call. */
static uint64_t check_coll(pf_ncclrank *r, pf_ncclcoll c, uint64_t bytes)
{
    int n = r->o.nranks;
    uint64_t wrong = 0, count = bytes / 4;
    if (c == PF_NCCL_ALLREDUCE) {
        float base = (float)(256 * n * (n + 1) / 2);
        for (uint64_t i = 0; i < count; i++)
            if (r->host[i] != base + (float)(n * (int)(i % 251)))
                wrong++;
    } else {
        uint64_t per = count / (uint64_t)n;
        for (uint64_t i = 0; i < per * (uint64_t)n; i++)
            if (r->host[i] != (float)((int)(i / per + 1) * 256 + (int)(i % per % 251)))
                wrong++;
    }
    return wrong;
}

static int run_coll(pf_ncclrank *r, pf_ncclcoll c)
{
    const char *cname = pf_ncclsweep_coll_name(c);
    json_t *rows = json_array();
    json_object_set_new(r->res, cname, rows);
    char ph[96];
    /* First call: NCCL connects lazily (NCCL_RUNTIME_CONNECT=1, the default
     * since 2.22), so a network that cannot carry data fails here. */
    snprintf(ph, sizeof ph, "connect %s", cname);
    phase(r, ph);
    uint64_t small = 4ull * (uint64_t)r->o.nranks;
    if (launch_coll(r, c, small, ph) != 0 || wait_stream(r, ph, pf_now() + dflt(r->o.init_timeout_s, 20)) != 0)
        return -1;
    for (int s = 0; s < r->o.n_sizes; s++) {
        uint64_t bytes = r->o.sizes[s];
        char sz[32];
        pf_ncclsweep_size_str(bytes, sz, sizeof sz);
        snprintf(ph, sizeof ph, "%s %s", cname, sz);
        phase(r, ph);
        int iters, warm;
        pf_ncclrank_iters(&r->o, bytes, &iters, &warm);
        double deadline = pf_now() + dflt(r->o.op_timeout_s, 20);
        double tw = pf_now();
        double t_size = tw; /* the whole size: warm-up, timed calls, the checked call */
        for (int i = 0; i < warm; i++)
            if (launch_coll(r, c, bytes, ph) != 0 || wait_comm(r, ph, deadline) != 0)
                return -1;
        if (wait_stream(r, ph, deadline) != 0)
            return -1;
        if ((iters = agree_iters(r, ph, (pf_now() - tw) / warm, iters, deadline)) < 0)
            return -1;
        double t0 = pf_now();
        for (int i = 0; i < iters; i++)
            if (launch_coll(r, c, bytes, ph) != 0 || wait_comm(r, ph, deadline) != 0)
                return -1;
        if (wait_stream(r, ph, deadline) != 0)
            return -1;
        double dt = (pf_now() - t0) / iters;
        /* One more call on known data, read back and checked. */
        uint64_t send_count = c == PF_NCCL_ALLREDUCE ? bytes / 4 : bytes / 4 / (uint64_t)r->o.nranks;
        if (c == PF_NCCL_ALLREDUCE) {
            if (upload(r, ph, r->dsend, send_count, r->o.rank) != 0)
                return -1;
        } else {
            /* rank r's block of the gathered buffer continues the global index */
            for (uint64_t i = 0; i < send_count; i++)
                r->host[i] = (float)((r->o.rank + 1) * 256 + (int)(i % 251));
            int rc = r->api.cuMemcpyHtoD(r->dsend, r->host, send_count * 4);
            if (rc != 0) {
                fail(r, ph, "error", -1, rc, "cuMemcpyHtoD: %s", pf_ncclapi_cu_name(&r->api, rc));
                return -1;
            }
        }
        if (launch_coll(r, c, bytes, ph) != 0 || wait_stream(r, ph, deadline) != 0 ||
            download(r, ph, r->drecv, bytes / 4) != 0)
            return -1;
        uint64_t wrong = check_coll(r, c, bytes);
        double algbw = pf_ncclsweep_algbw(bytes, dt);
        json_array_append_new(rows, json_pack("{s:I, s:I, s:i, s:i, s:f, s:f, s:f, s:I, s:f}", "bytes",
                                              (json_int_t)bytes, "count", (json_int_t)send_count, "iters", iters,
                                              "warmup", warm, "time_us", dt * 1e6, "algbw", algbw, "busbw",
                                              algbw * pf_ncclsweep_busbw_factor(c, r->o.nranks), "wrong",
                                              (json_int_t)wrong, "wall_s", pf_now() - t_size));
    }
    return 0;
}

/* One pipeline hand-off: forward (stage i -> i+1) or backward (i+1 -> i),
 * every link at once, as the stages of a pipeline do. */
static int launch_p2p(pf_ncclrank *r, uint64_t bytes, bool forward, const char *ph)
{
    int me = r->o.rank, n = r->o.nranks;
    int to = forward ? me + 1 : me - 1, from = forward ? me - 1 : me + 1;
    if (enq(r, ph, "ncclGroupStart", r->api.GroupStart()) != 0)
        return -1;
    if (to >= 0 && to < n && enq(r, ph, "ncclSend", r->api.Send((void *)r->dsend, bytes / 4, PF_NCCL_FLOAT32, to,
                                                                 r->comm, r->stream)) != 0)
        return -1;
    if (from >= 0 && from < n && enq(r, ph, "ncclRecv", r->api.Recv((void *)r->drecv, bytes / 4, PF_NCCL_FLOAT32,
                                                                     from, r->comm, r->stream)) != 0)
        return -1;
    return enq(r, ph, "ncclGroupEnd", r->api.GroupEnd());
}

static int run_p2p(pf_ncclrank *r)
{
    json_t *rows = json_array();
    json_object_set_new(r->res, "p2p", rows);
    int me = r->o.rank, n = r->o.nranks;
    if (n < 2)
        return 0;
    char ph[96];
    for (int k = 0; k < r->o.n_p2p; k++) {
        uint64_t bytes = r->o.p2p_bytes[k] / 4 * 4;
        for (int dir = 0; dir < 2; dir++) {
            bool fwd = dir == 0;
            snprintf(ph, sizeof ph, "p2p %s %s", r->o.p2p_name[k] ? r->o.p2p_name[k] : "step",
                     fwd ? "forward" : "backward");
            phase(r, ph);
            int iters, warm;
            pf_ncclrank_iters(&r->o, bytes, &iters, &warm);
            double deadline = pf_now() + dflt(r->o.op_timeout_s, 20);
            int from = fwd ? me - 1 : me + 1, to = fwd ? me + 1 : me - 1;
            if (upload(r, ph, r->dsend, bytes / 4, me) != 0)
                return -1;
            /* the first (verified) hand-off also connects the link */
            if (launch_p2p(r, bytes, fwd, ph) != 0 || wait_stream(r, ph, deadline) != 0)
                return -1;
            uint64_t wrong = 0;
            if (from >= 0 && from < n) {
                if (download(r, ph, r->drecv, bytes / 4) != 0)
                    return -1;
                for (uint64_t i = 0; i < bytes / 4; i++)
                    if (r->host[i] != (float)((from + 1) * 256 + (int)(i % 251)))
                        wrong++;
            }
            double tw = pf_now();
            for (int i = 0; i < warm; i++)
                if (launch_p2p(r, bytes, fwd, ph) != 0 || wait_comm(r, ph, deadline) != 0)
                    return -1;
            if (wait_stream(r, ph, deadline) != 0)
                return -1;
            if ((iters = agree_iters(r, ph, (pf_now() - tw) / warm, iters, deadline)) < 0)
                return -1;
            double t0 = pf_now();
            for (int i = 0; i < iters; i++)
                if (launch_p2p(r, bytes, fwd, ph) != 0 || wait_comm(r, ph, deadline) != 0)
                    return -1;
            if (wait_stream(r, ph, deadline) != 0)
                return -1;
            double dt = (pf_now() - t0) / iters;
            /* The row describes the link this rank receives on (its data
             * was checked here); the first stage of a direction has none. */
            if (from >= 0 && from < n)
                json_array_append_new(rows, json_pack("{s:s, s:I, s:s, s:i, s:i, s:i, s:f, s:f, s:I}", "name",
                                                      r->o.p2p_name[k] ? r->o.p2p_name[k] : "step", "bytes",
                                                      (json_int_t)bytes, "direction", fwd ? "forward" : "backward",
                                                      "from", from, "to", me, "iters", iters, "time_us", dt * 1e6,
                                                      "gbps", pf_ncclsweep_algbw(bytes, dt), "wrong",
                                                      (json_int_t)wrong));
            (void)to;
        }
    }
    return 0;
}

json_t *pf_ncclrank_run(pf_ncclrank *r, const pf_nccl_uid *uid)
{
    if (!r->failure && !uid)
        fail(r, "bootstrap", "error", -1, -1, "no unique id arrived from rank 0");
    if (!r->failure && uid) {
        phase(r, "init");
        pf_nccl_config cfg;
        pf_ncclapi_config_init(&cfg);
        cfg.blocking = 0;
        double t0 = pf_now();
        int rc = r->api.CommInitRankConfig(&r->comm, r->o.nranks, *uid, r->o.rank, &cfg);
        if (r->comm)
            r->comm_live = true;
        if (rc != PF_NCCL_SUCCESS && rc != PF_NCCL_IN_PROGRESS)
            fail(r, "init", "error", rc, -1, "ncclCommInitRankConfig returned %s", pf_ncclapi_result_name(rc));
        else if (!r->comm)
            fail(r, "init", "error", rc, -1, "ncclCommInitRankConfig gave no communicator");
        else if (wait_comm(r, "init", t0 + dflt(r->o.init_timeout_s, 20)) == 0)
            json_object_set_new(r->res, "init_s", json_real(pf_now() - t0));
    }
    /* Where the probe's own time goes (docs/PERFORMANCE.md): each stage's
     * wall time, and each sweep row's wall_s. */
    double ts = pf_now();
    if (!r->failure && r->o.n_p2p > 0) {
        run_p2p(r);
        json_object_set_new(r->res, "p2p_s", json_real(pf_now() - ts));
    }
    ts = pf_now();
    if (!r->failure && r->o.allreduce) {
        run_coll(r, PF_NCCL_ALLREDUCE);
        json_object_set_new(r->res, "all_reduce_s", json_real(pf_now() - ts));
    }
    ts = pf_now();
    if (!r->failure && r->o.allgather) {
        run_coll(r, PF_NCCL_ALLGATHER);
        json_object_set_new(r->res, "all_gather_s", json_real(pf_now() - ts));
    }
    if (!r->failure && r->comm_live) {
        phase(r, "teardown");
        double t0 = pf_now();
        int rc = r->api.CommFinalize(r->comm);
        if (enq(r, "teardown", "ncclCommFinalize", rc) == 0 &&
            wait_comm(r, "teardown", t0 + dflt(r->o.teardown_timeout_s, 10)) == 0) {
            rc = r->api.CommDestroy(r->comm);
            r->comm_live = false;
            if (rc != PF_NCCL_SUCCESS)
                fail(r, "teardown", "error", rc, -1, "ncclCommDestroy returned %s", pf_ncclapi_result_name(rc));
            json_object_set_new(r->res, "teardown_s", json_real(pf_now() - t0));
        }
    }
    if (r->failure) {
        abort_comm(r);
        json_object_set_new(r->res, "phase", json_string(json_string_value(json_object_get(r->failure, "phase"))));
        json_object_set(r->res, "failure", r->failure);
    } else {
        json_object_set_new(r->res, "phase", json_string("done"));
        json_object_set_new(r->res, "ok", json_true());
        json_object_set_new(r->res, "failure", json_null());
    }
    return json_incref(r->res);
}

void pf_ncclrank_close(pf_ncclrank *r)
{
    if (!r)
        return;
    abort_comm(r);
    if (r->api.cuda_dl) {
        if (r->drecv)
            r->api.cuMemFree(r->drecv);
        if (r->dsmall)
            r->api.cuMemFree(r->dsmall);
        if (r->dsend)
            r->api.cuMemFree(r->dsend);
        if (r->stream)
            r->api.cuStreamDestroy(r->stream);
        if (r->ctx)
            r->api.cuDevicePrimaryCtxRelease(r->dev);
    }
    pf_ncclapi_close(&r->api);
    free(r->host);
    json_decref(r->res);
    json_decref(r->failure);
    free(r);
}

/* mem_headroom.c -- the `mem.headroom` check (see mem_headroom.h).
 *
 * SGLang sizes its static pool (weights + KV cache) as
 * --mem-fraction-static x the GPU memory free before loading, and stops with
 * "Not enough memory" / "Loaded weights leave no GPU memory for the KV
 * cache" when the weights take it all (model_runner_kv_cache_mixin.py,
 * _profile_available_bytes).  vLLM refuses to start outright when free <
 * total x gpu_memory_utilization (gpu_worker.py, init_device).  On GB10 and
 * Thor "free" is the kernel's MemFree, so the page cache counts as used
 * until it is dropped.
 */
#include "probes/mem/mem_headroom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes/gpu/gpuprocs.h"
#include "probes/mem/safetensors.h"

#define GIB 1073741824.0
#define DROP_CACHES "sudo sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'"

static double gib(double b)
{
    return b / GIB;
}

static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* One finding per rule; the summary lists them worst first. */
typedef struct finding {
    pf_status st;
    bool cache;        /* dropping the page cache fixes this one */
    char text[320];
    char remedy[400];
} finding;

static finding *add_finding(finding *fs, size_t *n, pf_status st)
{
    finding *f = &fs[(*n)++];
    memset(f, 0, sizeof *f);
    f->st = st;
    return f;
}

static int severity(pf_status st)
{
    switch (st) {
    case PF_FAIL: return 4;
    case PF_ERROR: return 3;
    case PF_WARN: return 2;
    case PF_PASS: return 1;
    default: return 0;
    }
}

void pf_mem_decide(const pf_mem_facts *f, pf_mem_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (!(f->fraction > 0.0 && f->fraction <= 1.0)) {
        v->status = PF_ERROR;
        snprintf(v->summary, sizeof v->summary, "--mem-fraction-static %g is outside (0, 1]", f->fraction);
        return;
    }
    if (f->total_b == 0 || f->free_b > f->total_b) {
        v->status = PF_ERROR;
        snprintf(v->summary, sizeof v->summary, "%s: the driver reported %llu bytes free of %llu total", f->label,
                 (unsigned long long)f->free_b, (unsigned long long)f->total_b);
        return;
    }
    const double fr = f->fraction, freeb = (double)f->free_b, total = (double)f->total_b;
    const double reclaim = (f->integrated == 1 && f->have_meminfo) ? (double)pf_meminfo_reclaimable(&f->mi) : 0.0;
    v->budget_b = freeb * fr;
    v->free_after_drop_b = freeb + reclaim > total ? total : freeb + reclaim;
    const double budget_after = v->free_after_drop_b * fr;
    v->vllm_would_refuse = freeb < total * fr;

    finding fs[4];
    size_t nf = 0;
    char drop[300];
    snprintf(drop, sizeof drop,
             "Drop the page cache before launching: %s (unified memory: the driver counts cached pages as used)",
             DROP_CACHES);

    if (f->have_model) {
        double need = (double)f->stage_max;
        v->kv_room_b = v->budget_b - need;
        char what[96];
        if (f->pp > 1)
            snprintf(what, sizeof what, "the largest pipeline stage (stage %d of %d)", f->stage_max_index, f->pp);
        else
            snprintf(what, sizeof what, "the model");
        finding *x = NULL;
        if (need >= v->budget_b) {
            x = add_finding(fs, &nf, PF_FAIL);
            snprintf(x->text, sizeof x->text,
                     "%s holds %.1f GiB of weights but the static pool is %.1f GiB: SGLang would stop with "
                     "\"Not enough memory\" (no room left for the KV cache)", what, gib(need), gib(v->budget_b));
        } else if (need + (double)f->allowance > v->budget_b) {
            x = add_finding(fs, &nf, PF_WARN);
            snprintf(x->text, sizeof x->text,
                     "%s (%.1f GiB of weights) fits the %.1f GiB static pool but leaves only %.2f GiB for the KV cache "
                     "(allowance %.1f GiB)", what, gib(need), gib(v->budget_b), gib(v->kv_room_b),
                     gib((double)f->allowance));
        } else {
            x = add_finding(fs, &nf, PF_PASS);
            snprintf(x->text, sizeof x->text, "%s (%.1f GiB of weights) fits, leaving %.1f GiB for the KV cache", what,
                     gib(need), gib(v->kv_room_b));
        }
        if (x->st != PF_PASS) {
            if (f->integrated == 1 && need + (double)f->allowance <= budget_after) {
                x->cache = true;
                snprintf(x->remedy, sizeof x->remedy, "%s; then about %.1f GiB is free and the pool %.1f GiB", drop,
                         gib(v->free_after_drop_b), gib(budget_after));
            } else {
                double min_fr = (need + (double)f->allowance) / freeb;
                snprintf(x->remedy, sizeof x->remedy,
                         "Split the model over more nodes (--pp), use a smaller or quantized model, or free GPU "
                         "memory held by other processes");
                if (min_fr < 0.95)
                    append(x->remedy, sizeof x->remedy,
                           "; or raise --mem-fraction-static to at least %.2f (less room for activations and "
                           "CUDA graphs)", min_fr);
            }
        }
    }

    if (v->vllm_would_refuse) {
        finding *x = add_finding(fs, &nf, PF_WARN);
        snprintf(x->text, sizeof x->text,
                 "only %.0f%% of the device is free, below --mem-fraction-static %.2f: SGLang's pool shrinks to "
                 "%.1f GiB and vLLM refuses to start (\"Free memory on device ... is less than desired GPU memory "
                 "utilization\")", 100.0 * freeb / total, fr, gib(v->budget_b));
        if (f->integrated == 1 && v->free_after_drop_b >= total * fr) {
            x->cache = true;
            snprintf(x->remedy, sizeof x->remedy, "%s", drop);
        } else if (f->procs_known && f->nprocs > 0) {
            snprintf(x->remedy, sizeof x->remedy, "Stop the other processes using the GPU, or lower "
                     "--mem-fraction-static (and vLLM's --gpu-memory-utilization) below %.2f",
                     freeb / total);
        } else {
            snprintf(x->remedy, sizeof x->remedy, "Lower --mem-fraction-static (and vLLM's "
                     "--gpu-memory-utilization) below %.2f, or free memory on the device", freeb / total);
        }
    }

    if (f->procs_known && f->nprocs > 0) {
        finding *x = add_finding(fs, &nf, PF_WARN);
        snprintf(x->text, sizeof x->text, "%zu other process%s on the GPU (%s)", f->nprocs,
                 f->nprocs == 1 ? "" : "es", f->procs_list);
        if (f->procs_bytes >= 0)
            append(x->text, sizeof x->text, " holding %.1f GiB", gib((double)f->procs_bytes));
        snprintf(x->remedy, sizeof x->remedy,
                 "Stop the other GPU processes before launching (list them with nvidia-smi "
                 "--query-compute-apps=pid,name,used_memory --format=csv); SGLang also rejects unbalanced "
                 "memory across TP ranks");
    }

    bool any_cache = false;
    for (size_t i = 0; i < nf; i++)
        any_cache = any_cache || fs[i].cache;
    if (f->integrated == 1 && reclaim >= GIB && !any_cache) {
        finding *x = add_finding(fs, &nf, PF_PASS);
        snprintf(x->text, sizeof x->text,
                 "%.1f GiB is reclaimable page cache (MemAvailable %.1f GiB vs MemFree %.1f GiB); dropping it "
                 "enlarges the pool to %.1f GiB", gib(reclaim), gib((double)f->mi.mem_available),
                 gib((double)f->mi.mem_free), gib(budget_after));
        snprintf(x->remedy, sizeof x->remedy, "%s", drop);
    }

    /* worst first, stable */
    for (size_t i = 1; i < nf; i++)
        for (size_t j = i; j > 0 && severity(fs[j].st) > severity(fs[j - 1].st); j--) {
            finding t = fs[j];
            fs[j] = fs[j - 1];
            fs[j - 1] = t;
        }
    v->status = nf ? fs[0].st : PF_PASS;
    v->cache_is_the_problem = nf && fs[0].cache && fs[0].st != PF_PASS;
    if (v->status == PF_SKIP)
        v->status = PF_PASS;
    snprintf(v->summary, sizeof v->summary, "%s: %.1f of %.1f GiB free%s; static pool %.2f x free = %.1f GiB",
             f->label, gib(freeb), gib(total), f->integrated == 1 ? " (unified memory)" : "", fr,
             gib(v->budget_b));
    for (size_t i = 0; i < nf; i++)
        append(v->summary, sizeof v->summary, "; %s", fs[i].text);
    for (size_t i = 0; i < nf && !v->remedy[0]; i++)
        if (fs[i].remedy[0])
            snprintf(v->remedy, sizeof v->remedy, "%s", fs[i].remedy);
}

/* ---- collection ---------------------------------------------------------- */

static void fill_procs(pf_mem_facts *f, const pf_gpu_procs *g)
{
    f->procs_known = true;
    f->nprocs = g->n;
    f->procs_bytes = g->n ? 0 : -1;
    f->procs_list[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        if (g->p[i].used_bytes < 0)
            f->procs_bytes = -1;
        else if (f->procs_bytes >= 0)
            f->procs_bytes += g->p[i].used_bytes;
        if (i < 3)
            append(f->procs_list, sizeof f->procs_list, "%s%d %s", i ? ", " : "", g->p[i].pid,
                   g->p[i].comm[0] ? g->p[i].comm : "?");
        else if (i == 3)
            append(f->procs_list, sizeof f->procs_list, ", ...");
    }
}

/* NVML for this device; when it does not answer (GB10, Thor, no driver
 * library), the machine-wide /proc scan, done once and shared. */
static void collect_procs(const pf_cuda_device *d, pf_gpu_procs *scan, int *scan_rc, pf_mem_facts *f,
                          json_t *dev_ev)
{
    pf_gpu_procs g;
    pf_err e = {{0}};
    if (pf_gpuprocs_nvml(NULL, d->pci_bus_id, d->ordinal, getpid(), &g, &e) == 0) {
        fill_procs(f, &g);
        json_object_set_new(dev_ev, "processes", pf_gpuprocs_to_json(&g));
        pf_gpuprocs_free(&g);
        return;
    }
    json_object_set_new(dev_ev, "nvml_error", json_string(e.msg));
    if (*scan_rc == 1) {
        pf_err se = {{0}};
        *scan_rc = pf_gpuprocs_scan("/proc", getpid(), scan, &se);
        if (*scan_rc != 0)
            json_object_set_new(dev_ev, "proc_scan_error", json_string(se.msg));
    }
    if (*scan_rc == 0) {
        fill_procs(f, scan);
        json_object_set_new(dev_ev, "processes", pf_gpuprocs_to_json(scan));
    }
}

static json_t *verdict_json(const pf_mem_facts *f, const pf_mem_verdict *v, const pf_cuda_device *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "ordinal", json_integer(d->ordinal));
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "integrated", json_integer(d->integrated));
    json_object_set_new(o, "free_bytes", json_integer((json_int_t)f->free_b));
    json_object_set_new(o, "total_bytes", json_integer((json_int_t)f->total_b));
    json_object_set_new(o, "static_pool_bytes", json_integer((json_int_t)v->budget_b));
    json_object_set_new(o, "free_after_drop_caches_bytes", json_integer((json_int_t)v->free_after_drop_b));
    if (f->have_model)
        json_object_set_new(o, "kv_room_bytes", json_integer((json_int_t)v->kv_room_b));
    json_object_set_new(o, "vllm_would_refuse", json_boolean(v->vllm_would_refuse));
    json_object_set_new(o, "cache_is_the_problem", json_boolean(v->cache_is_the_problem));
    json_object_set_new(o, "status", json_string(pf_status_name(v->status)));
    json_object_set_new(o, "summary", json_string(v->summary));
    return o;
}

/* --model: weights and per-stage bytes into f; evidence into ev.  Returns
 * 0, or -1 with err when the model cannot be sized. */
static int collect_model(const pf_probe_opts *o, const pf_env *env, pf_mem_facts *f, json_t *ev, pf_err *err)
{
    pf_st_model m;
    if (pf_st_read_model(o->model_dir, &m, err) != 0) {
        pf_st_model_free(&m);
        return -1;
    }
    int pp = o->pp > 0 ? o->pp : 1;
    const char *part = pf_env_get(env, "SGLANG_PP_LAYER_PARTITION");
    uint64_t *stage = pf_xcalloc((size_t)pp, sizeof *stage);
    json_t *mj = pf_st_model_to_json(&m);
    int rc = pf_st_stage_bytes(&m, pp, part, stage, err);
    if (rc == 0) {
        json_t *sa = json_array();
        f->stage_max = 0;
        f->stage_max_index = 0;
        for (int i = 0; i < pp; i++) {
            json_array_append_new(sa, json_integer((json_int_t)stage[i]));
            if (stage[i] > f->stage_max) {
                f->stage_max = stage[i];
                f->stage_max_index = i;
            }
        }
        json_object_set_new(mj, "pp", json_integer(pp));
        json_object_set_new(mj, "stage_bytes", sa);
        if (part && *part)
            json_object_set_new(mj, "layer_partition", json_string(part));
        f->have_model = true;
        f->pp = pp;
        f->weight_bytes = m.total_bytes;
    }
    json_object_set_new(ev, "model", mj);
    free(stage);
    pf_st_model_free(&m);
    return rc;
}

void pf_probe_mem_headroom(pf_probe_ctx *ctx)
{
    const double t0 = pf_now();
    const pf_probe_opts *o = ctx->opts;
    pf_check *c = pf_probe_check_add(ctx, pf_probe_mem_headroom);
    json_t *ev = pf_check_evidence(c);

    pf_mem_facts base;
    memset(&base, 0, sizeof base);
    base.fraction = o->mem_fraction != 0 ? o->mem_fraction : 0.85; /* 0: opts not initialised */
    base.allowance = PF_MEM_KV_ALLOWANCE;
    base.pp = 1;
    json_object_set_new(ev, "mem_fraction_static", json_real(base.fraction));
    json_object_set_new(ev, "kv_allowance_bytes", json_integer((json_int_t)base.allowance));

    pf_err e = {{0}};
    base.have_meminfo = pf_meminfo_read("/proc/meminfo", &base.mi, &e) == 0;
    json_object_set_new(ev, base.have_meminfo ? "meminfo" : "meminfo_error",
                        base.have_meminfo ? pf_meminfo_to_json(&base.mi) : json_string(e.msg));

    char model_err[512] = "";
    if (o->model_dir && collect_model(o, ctx->env, &base, ev, &e) != 0) {
        pf_strlcpy(model_err, e.msg, sizeof model_err);
        json_object_set_new(ev, "model_error", json_string(model_err));
    }

    const pf_cuda_facts *cf = pf_ctx_cuda_facts(ctx);
    if (!cf->loaded || cf->init_rc != 0 || cf->device_count <= 0) {
        const char *why = !cf->loaded ? cf->load_error : cf->init_rc ? cf->init_error : "no CUDA devices";
        if (model_err[0])
            pf_check_set(c, PF_ERROR, "cannot size --model: %s (and no GPU on this node: %s)", model_err, why);
        else if (o->arch)
            pf_check_set(c, PF_SKIP, "no local GPU to measure (%s); with --arch %s, run preflight on the target "
                         "node itself to check its memory", why, o->arch);
        else
            pf_check_set(c, PF_SKIP, "no GPU on this node (%s)", why);
        json_object_set_new(ev, "skip_reason", json_string(why));
        pf_check_set_duration(c, pf_now() - t0);
        return;
    }

    pf_cuda *cu = pf_ctx_cuda(ctx);
    json_t *devs = json_array();
    pf_gpu_procs scan;
    memset(&scan, 0, sizeof scan);
    int scan_rc = 1; /* 1: not yet scanned */
    pf_status worst = PF_SKIP;
    char summary[900] = "", remedy[400] = "";
    double m_measured = 0, m_threshold = 0;
    for (int i = 0; i < cf->device_count && i < PF_CUDA_MAX_DEVICES; i++) {
        const pf_cuda_device *d = &cf->dev[i];
        pf_mem_facts f = base;
        snprintf(f.label, sizeof f.label, "GPU %d %.120s", d->ordinal, d->name);
        f.integrated = d->integrated;
        json_t *dj;
        pf_mem_verdict v;
        pf_err me = {{0}};
        if (pf_cuda_mem_info(cu, d->ordinal, &f.free_b, &f.total_b, &me) != 0) {
            memset(&v, 0, sizeof v);
            v.status = PF_ERROR;
            snprintf(v.summary, sizeof v.summary, "%s: cannot read free memory: %s", f.label, me.msg);
            snprintf(v.remedy, sizeof v.remedy, "Check that the driver works (nvidia-smi) and that no process "
                     "holds the GPU in exclusive mode");
            dj = json_object();
            json_object_set_new(dj, "ordinal", json_integer(d->ordinal));
            json_object_set_new(dj, "name", json_string(d->name));
            json_object_set_new(dj, "mem_info_error", json_string(me.msg));
            json_object_set_new(dj, "status", json_string("error"));
        } else {
            dj = json_object();
            collect_procs(d, &scan, &scan_rc, &f, dj);
            pf_mem_decide(&f, &v);
            json_t *vj = verdict_json(&f, &v, d);
            json_object_update(vj, dj);
            json_decref(dj);
            dj = vj;
        }
        json_array_append_new(devs, dj);
        if (severity(v.status) > severity(worst) || worst == PF_SKIP) {
            worst = v.status;
            snprintf(summary, sizeof summary, "%s", v.summary);
            snprintf(remedy, sizeof remedy, "%s", v.remedy);
            m_measured = gib(f.have_model ? (double)f.stage_max : (double)f.free_b);
            m_threshold = gib(f.have_model ? v.budget_b : (double)f.total_b * f.fraction);
        }
    }
    pf_gpuprocs_free(&scan);
    json_object_set_new(ev, "devices", devs);
    if (cf->device_count > 1)
        append(summary, sizeof summary, " (worst of %d GPUs)", cf->device_count);
    if (model_err[0]) {
        pf_check_set(c, PF_ERROR, "cannot size --model: %s; %s", model_err, summary);
        pf_check_remedy(c, "Point --model at a local Hugging Face model directory with intact *.safetensors files");
    } else {
        pf_check_set(c, worst, "%s", summary);
        if (remedy[0])
            pf_check_remedy(c, "%s", remedy);
    }
    pf_check_measure(c, m_measured, m_threshold, "GiB");
    pf_check_set_duration(c, pf_now() - t0);
}

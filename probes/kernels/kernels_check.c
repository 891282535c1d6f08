/* kernels_check.c -- the gpu.kernels check: judge every scanned unit for
 * every target and write one check (see kernels.h, docs/kernels.md). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/gpu/arch.h"
#include "probes/kernels/kernels.h"
#include "probes/kernels/kernels_remedy.h"

/* A unit is what gets one verdict: a library, or all bare cubins of one
 * package (flashinfer-cubin's ~16,000 files are one collection). */
typedef struct unit {
    const char *path;    /* the library, or the package for a collection */
    const char *package;
    const char *alt_key; /* builds that replace one another (sgl_kernel/sm90 vs sm100) */
    const pf_fatbin **fbs;
    size_t nfb;
    bool collection;
    /* per target */
    pf_lib_coverage cov;
    pf_lib_verdict verdict;
    pf_status status;
    bool alternative_unused; /* another build of the same alt group is the one judged */
} unit;

static unit *build_units(const pf_kscan *ks, size_t *out_n)
{
    size_t nf = pf_kscan_count(ks), n = 0;
    unit *u = pf_xcalloc(nf ? nf : 1, sizeof *u);
    for (size_t i = 0; i < nf; i++) {
        const pf_kfile *f = pf_kscan_file(ks, i);
        if (!f->fb)
            continue;
        if (pf_fatbin_kind(f->fb) == PF_FB_FILE_CUBIN) {
            size_t k = 0;
            while (k < n && !(u[k].collection && strcmp(u[k].package, f->package) == 0))
                k++;
            if (k == n) {
                u[n].path = f->package;
                u[n].package = f->package;
                u[n].collection = true;
                u[n].fbs = pf_xcalloc(nf, sizeof *u[n].fbs);
                n++;
            }
            u[k].fbs[u[k].nfb++] = f->fb;
            continue;
        }
        u[n].path = f->path;
        u[n].package = f->package;
        u[n].alt_key = f->alt_key;
        u[n].fbs = pf_xcalloc(1, sizeof *u[n].fbs);
        u[n].fbs[0] = f->fb;
        u[n].nfb = 1;
        n++;
    }
    *out_n = n;
    return u;
}

static void free_units(unit *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(u[i].fbs);
    free(u);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* Judge all units for one target; returns the target's status. */
static pf_status judge_target(unit *u, size_t n, int dev, int driver)
{
    for (size_t i = 0; i < n; i++) {
        pf_kernels_coverage_init(&u[i].cov, dev, driver);
        for (size_t k = 0; k < u[i].nfb; k++)
            pf_kernels_coverage_add(&u[i].cov, u[i].fbs[k]);
        u[i].verdict = pf_kernels_verdict(&u[i].cov);
        u[i].status = pf_lib_verdict_status(u[i].verdict, u[i].collection);
        u[i].alternative_unused = false;
    }
    /* Of builds that replace one another, the loader picks one per GPU;
     * judge the group by its best member. */
    for (size_t i = 0; i < n; i++) {
        if (!u[i].alt_key || u[i].alternative_unused)
            continue;
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (u[j].alt_key && strcmp(u[j].alt_key, u[i].alt_key) == 0 && u[j].status != PF_SKIP &&
                (u[best].status == PF_SKIP || u[j].status < u[best].status))
                best = j;
        for (size_t j = i; j < n; j++)
            if (j != best && u[j].alt_key && strcmp(u[j].alt_key, u[i].alt_key) == 0)
                u[j].alternative_unused = true;
    }
    pf_status st = PF_SKIP;
    for (size_t i = 0; i < n; i++)
        if (!u[i].alternative_unused && u[i].status != PF_SKIP)
            st = pf_status_worst(st, u[i].status);
    return st;
}

static json_t *unit_target_json(const unit *x)
{
    size_t best_n = 0;
    int best = pf_kernels_best(&x->cov, &best_n);
    char cc[16];
    pf_arch_cc_str(best, cc, sizeof cc);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "path", x->path, "verdict",
                          pf_lib_verdict_name(x->verdict), "status",
                          x->alternative_unused ? "alternative" : pf_status_name(x->status), "containers",
                          (json_int_t)x->cov.containers, "native", (json_int_t)x->cov.native, "jit",
                          (json_int_t)x->cov.jit, "missing", (json_int_t)x->cov.missing, "driver_too_old",
                          (json_int_t)x->cov.driver_old, "other", (json_int_t)x->cov.other, "missing_share",
                          pf_kernels_missing_share(&x->cov));
    json_object_set_new(o, "best_covered", best ? json_string(cc) : json_null());
    json_object_set_new(o, "best_covered_containers", json_integer((json_int_t)best_n));
    if (x->cov.sibling_specific)
        json_object_set_new(o, "sibling_arch_specific", json_integer((json_int_t)x->cov.sibling_specific));
    if (x->cov.thor_renamed)
        json_object_set_new(o, "thor_other_numbering", json_integer((json_int_t)x->cov.thor_renamed));
    return o;
}

/* "libtorch_cuda.so (torch), libcublas.so.13 (nvidia/cublas) and 3 more" */
static void name_units(const unit *u, size_t n, pf_status want, char *buf, size_t len)
{
    size_t shown = 0, total = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (u[i].alternative_unused || u[i].status != want)
            continue;
        total++;
        if (shown < 4) {
            char one[300];
            if (u[i].collection)
                snprintf(one, sizeof one, "%s%s (%zu cubins)", shown ? ", " : "", u[i].package, u[i].nfb);
            else
                snprintf(one, sizeof one, "%s%s (%s)", shown ? ", " : "", base_name(u[i].path), u[i].package);
            strncat(buf, one, len - strlen(buf) - 1);
            shown++;
        }
    }
    if (total > shown) {
        char more[32];
        snprintf(more, sizeof more, " and %zu more", total - shown);
        strncat(buf, more, len - strlen(buf) - 1);
    }
}

static size_t count_status(const unit *u, size_t n, pf_status st)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !u[i].alternative_unused && u[i].status == st;
    return k;
}

/* TORCH_CUDA_ARCH_LIST: what extensions built in this environment get. */
static pf_status judge_torch_list(const pf_kernels_input *in, json_t *ev, pf_kremedy *rem, char *sum, size_t sumlen)
{
    if (!in->torch_arch_list)
        return PF_SKIP;
    pf_torch_arch_list l;
    json_t *o = json_object();
    json_object_set_new(ev, "torch_cuda_arch_list", o);
    json_object_set_new(o, "value", json_string(in->torch_arch_list));
    if (pf_arch_torch_list_parse(in->torch_arch_list, &l) < 0) {
        json_object_set_new(o, "error", json_string(l.error));
        snprintf(sum, sumlen, "TORCH_CUDA_ARCH_LIST='%s' is invalid (%s)", in->torch_arch_list, l.error);
        pf_kremedy_torch_list(rem, in->torch_arch_list, l.error, in->targets, in->ntargets);
        return PF_WARN;
    }
    if (l.native) {
        json_object_set_new(o, "meaning", json_string("native: torch builds for the visible GPUs"));
        return PF_PASS;
    }
    pf_status st = PF_PASS;
    json_t *per = json_object();
    json_object_set_new(o, "per_target", per);
    for (size_t t = 0; t < in->ntargets; t++) {
        int dev = in->targets[t].cc_major * 10 + in->targets[t].cc_minor;
        pf_cover cv = pf_arch_torch_list_covers(&l, dev);
        char cc[16];
        pf_arch_cc_str(dev, cc, sizeof cc);
        json_object_set_new(per, cc, json_string(cv == PF_COVER_NATIVE ? "native" : cv == PF_COVER_JIT ? "jit" : "none"));
        if (cv == PF_COVER_NONE) {
            st = PF_WARN;
            snprintf(sum, sumlen, "TORCH_CUDA_ARCH_LIST='%s' builds extensions without code for %s",
                     in->torch_arch_list, cc);
            pf_kremedy_torch_list(rem, in->torch_arch_list, NULL, in->targets, in->ntargets);
        }
    }
    return st;
}

void pf_kernels_evaluate(const pf_kernels_input *in, pf_check *c)
{
    json_t *ev = pf_check_evidence(c);
    size_t n = 0;
    unit *u = build_units(in->scan, &n);
    pf_kremedy *rem = pf_kremedy_new();

    /* What was scanned, once (not per target). */
    json_t *libs = json_array(), *nodev = json_array(), *errors = json_array();
    size_t with_code = 0, nodev_n = 0;
    for (size_t i = 0; i < n; i++) {
        pf_lib_coverage any;
        pf_kernels_coverage_init(&any, 90, 0);
        for (size_t k = 0; k < u[i].nfb; k++)
            pf_kernels_coverage_add(&any, u[i].fbs[k]);
        if (any.containers == 0) {
            if (json_array_size(nodev) < 200)
                json_array_append_new(nodev, json_string(u[i].path));
            nodev_n++;
            continue;
        }
        with_code++;
        json_t *inv = pf_kernels_inventory_json(u[i].fbs, u[i].nfb);
        json_object_set_new(inv, "path", json_string(u[i].path));
        json_object_set_new(inv, "package", json_string(u[i].package));
        json_object_set_new(inv, "kind", json_string(u[i].collection ? "cubin-collection" : "library"));
        if (u[i].collection)
            json_object_set_new(inv, "files", json_integer((json_int_t)u[i].nfb));
        if (u[i].alt_key)
            json_object_set_new(inv, "alternatives", json_string(u[i].alt_key));
        json_array_append_new(libs, inv);
    }
    for (size_t i = 0; i < pf_kscan_count(in->scan); i++) {
        const pf_kfile *f = pf_kscan_file(in->scan, i);
        if (f->error)
            json_array_append_new(errors, json_pack("{s:s,s:s}", "path", f->path, "error", f->error));
    }
    json_t *arch_dirs = json_array();
    for (size_t i = 0; i < pf_kscan_arch_dir_count(in->scan); i++) {
        const pf_karch_dir *d = pf_kscan_arch_dir(in->scan, i);
        json_array_append_new(arch_dirs, json_pack("{s:s,s:I}", "path", d->path, "binaries", (json_int_t)d->binaries));
    }
    char drv[32] = "";
    if (in->driver_version)
        pf_cuda_version_str(in->driver_version, drv, sizeof drv);
    json_object_set_new(ev, "scanned", json_pack("{s:s?,s:I,s:I,s:I,s:I,s:f}", "where", in->where, "files",
                                                 (json_int_t)pf_kscan_count(in->scan), "with_device_code",
                                                 (json_int_t)with_code, "bytes", (json_int_t)pf_kscan_bytes(in->scan),
                                                 "skipped_non_binaries", (json_int_t)pf_kscan_skipped(in->scan),
                                                 "seconds", pf_kscan_seconds(in->scan)));
    json_object_set_new(ev, "torch", in->torch_version ? json_string(in->torch_version) : json_null());
    json_object_set_new(ev, "driver", in->driver_version ? json_string(drv) : json_null());
    if (!in->driver_version)
        json_object_set_new(ev, "driver_note",
                            json_string("driver version unknown (no local driver, or --arch): PTX is assumed "
                                        "JIT-able, i.e. the driver is assumed new enough for its PTX ISA"));
    json_object_set_new(ev, "libraries", libs);
    json_object_set_new(ev, "no_device_code", nodev);
    json_object_set_new(ev, "no_device_code_count", json_integer((json_int_t)nodev_n));
    json_object_set_new(ev, "errors", errors);
    json_object_set_new(ev, "arch_dirs", arch_dirs);

    char sum[2048] = "", one[1024];
    pf_status overall = PF_SKIP;
    json_t *targets = json_array();
    for (size_t t = 0; t < in->ntargets; t++) {
        const pf_target *tg = &in->targets[t];
        int dev = tg->cc_major * 10 + tg->cc_minor;
        char cc[16];
        pf_arch_cc_str(dev, cc, sizeof cc);
        pf_status st = judge_target(u, n, dev, in->driver_version);
        json_t *tj = json_pack("{s:s,s:s,s:s,s:s}", "target", tg->label, "cc", cc, "device", pf_arch_device_note(dev),
                               "status", pf_status_name(st));
        json_t *tl = json_array(), *counts = json_object();
        for (size_t i = 0; i < n; i++) {
            if (u[i].verdict == PF_LIB_NO_DEVICE_CODE)
                continue;
            json_array_append_new(tl, unit_target_json(&u[i]));
            const char *vn = u[i].alternative_unused ? "alternative" : pf_lib_verdict_name(u[i].verdict);
            json_t *cur = json_object_get(counts, vn);
            json_object_set_new(counts, vn, json_integer(cur ? json_integer_value(cur) + 1 : 1));
            if (!u[i].alternative_unused && u[i].status != PF_PASS && u[i].status != PF_SKIP)
                pf_kremedy_unit(rem, u[i].path, u[i].package, u[i].collection, u[i].verdict, &u[i].cov,
                                u[i].fbs, u[i].nfb, tg, in->torch_version);
        }
        json_object_set_new(tj, "counts", counts);
        json_object_set_new(tj, "libraries", tl);
        json_array_append_new(targets, tj);

        size_t judged = 0;
        for (size_t i = 0; i < n; i++)
            judged += !u[i].alternative_unused && u[i].status != PF_SKIP;
        char names[700];
        if (st == PF_SKIP) {
            snprintf(one, sizeof one, "%s: no CUDA device code found to judge (looked in torch, vllm, sgl_kernel, "
                     "flashinfer, nvidia/*, ... and --scan paths; docs/kernels.md)", tg->label);
        } else if (st == PF_FAIL) {
            name_units(u, n, PF_FAIL, names, sizeof names);
            snprintf(one, sizeof one, "%s: %zu of %zu libraries with device code have no usable kernels for %s: %s",
                     tg->label, count_status(u, n, PF_FAIL), judged, cc, names);
        } else if (st == PF_WARN) {
            name_units(u, n, PF_WARN, names, sizeof names);
            snprintf(one, sizeof one, "%s: %zu of %zu libraries run on %s only through PTX JIT or in part: %s",
                     tg->label, count_status(u, n, PF_WARN), judged, cc, names);
        } else {
            snprintf(one, sizeof one, "%s: all %zu libraries with device code have kernels for %s", tg->label, judged, cc);
        }
        if (*sum)
            strncat(sum, "; ", sizeof sum - strlen(sum) - 1);
        strncat(sum, one, sizeof sum - strlen(sum) - 1);
        if (st != PF_SKIP)
            overall = overall == PF_SKIP ? st : pf_status_worst(overall, st);
    }
    json_object_set_new(ev, "targets", targets);

    char tsum[512] = "";
    pf_status ts = judge_torch_list(in, ev, rem, tsum, sizeof tsum);
    if (ts == PF_WARN) {
        strncat(sum, "; ", sizeof sum - strlen(sum) - 1);
        strncat(sum, tsum, sizeof sum - strlen(sum) - 1);
        overall = overall == PF_SKIP ? PF_WARN : pf_status_worst(overall, PF_WARN);
    }
    size_t nerr = json_array_size(errors);
    if (nerr && overall == PF_PASS)
        overall = PF_WARN;
    if (nerr) {
        snprintf(one, sizeof one, "; %zu file%s could not be read (see evidence.errors)", nerr, nerr == 1 ? "" : "s");
        strncat(sum, one, sizeof sum - strlen(sum) - 1);
    }
    const char *tv = in->torch_version;
    if (overall == PF_SKIP)
        pf_check_set(c, PF_SKIP, "%s%s%s", in->where ? in->where : "", in->where ? ": " : "", sum);
    else
        pf_check_set(c, overall, "%s%s%s%s", tv ? "torch " : "", tv ? tv : "", tv ? ": " : "", sum);
    const char *rt = pf_kremedy_text(rem);
    if (rt && *rt && overall != PF_PASS)
        pf_check_remedy(c, "%s", rt);
    pf_kremedy_free(rem);
    free_units(u, n);
}

void pf_kernels_evaluate_unit(const pf_kernels_unit *ku, const pf_target *targets, size_t nt, int driver_version,
                              pf_check *c)
{
    json_t *ev = pf_check_evidence(c);
    json_t *inv = pf_kernels_inventory_json(ku->fbs, ku->nfb);
    json_object_set_new(inv, "path", json_string(ku->path));
    json_object_set_new(inv, "kind", json_string(ku->collection ? "cubin-collection" : "library"));
    if (ku->collection)
        json_object_set_new(inv, "files", json_integer((json_int_t)ku->nfb));
    json_object_update_new(ev, inv);
    char archs[400], what[600];
    pf_kernels_arch_list(ku->fbs, ku->nfb, archs, sizeof archs);
    if (ku->collection)
        snprintf(what, sizeof what, "%s (%zu cubins)", ku->path, ku->nfb);
    else
        snprintf(what, sizeof what, "%s", ku->path);

    unit x;
    memset(&x, 0, sizeof x);
    x.path = ku->path;
    x.package = ku->package;
    x.collection = ku->collection;
    x.fbs = (const pf_fatbin **)ku->fbs;
    x.nfb = ku->nfb;
    pf_lib_coverage any;
    pf_kernels_coverage_init(&any, 90, 0);
    for (size_t k = 0; k < ku->nfb; k++)
        pf_kernels_coverage_add(&any, ku->fbs[k]);
    if (any.containers == 0) {
        pf_check_set(c, PF_SKIP, "%s: no CUDA device code%s", what,
                     any.empty_stubs ? " (only device-link stubs without kernels)"
                     : any.lto_only  ? " (only LTO-IR for nvJitLink)" : "");
        return;
    }
    if (nt == 0) {
        pf_check_set(c, PF_SKIP, "%s: %zu containers (%s); no GPU and no --arch, so not judged", what,
                     any.containers, archs);
        return;
    }
    pf_kremedy *rem = pf_kremedy_new();
    json_t *tj = json_array();
    pf_status worst = PF_SKIP;
    char sum[1500] = "";
    for (size_t t = 0; t < nt; t++) {
        int dev = targets[t].cc_major * 10 + targets[t].cc_minor;
        char cc[16], one[700];
        pf_arch_cc_str(dev, cc, sizeof cc);
        pf_status st = judge_target(&x, 1, dev, driver_version);
        json_t *o = unit_target_json(&x);
        json_object_set_new(o, "target", json_string(targets[t].label));
        json_object_set_new(o, "device", json_string(pf_arch_device_note(dev)));
        json_array_append_new(tj, o);
        if (st != PF_SKIP)
            worst = worst == PF_SKIP ? st : pf_status_worst(worst, st);
        if (st != PF_PASS && st != PF_SKIP)
            pf_kremedy_unit(rem, x.path, x.package, x.collection, x.verdict, &x.cov, x.fbs, x.nfb, &targets[t], NULL);
        snprintf(one, sizeof one, "%s%s for %s: %zu of %zu containers native, %zu JIT-only, %zu missing", *sum ? "; " : "",
                 pf_lib_verdict_name(x.verdict), cc, x.cov.native, x.cov.containers, x.cov.jit,
                 x.cov.missing + x.cov.driver_old);
        strncat(sum, one, sizeof sum - strlen(sum) - 1);
    }
    json_object_set_new(ev, "targets", tj);
    if (!driver_version)
        json_object_set_new(ev, "driver_note", json_string("driver version unknown: PTX assumed JIT-able"));
    pf_check_set(c, worst, "%s: %s (carries %s)", what, sum, archs);
    const char *rt = pf_kremedy_text(rem);
    if (rt && *rt)
        pf_check_remedy(c, "%s", rt);
    pf_kremedy_free(rem);
}

/* Packages whose shared objects hold CUDA kernels a serving stack loads
 * (docs/kernels.md lists them); nvidia/ is walked per sub-package. */
static const char *const packages[] = {
    "torch",        "torchvision",     "torchaudio",     "triton",     "vllm",           "sgl_kernel",
    "flashinfer",   "flashinfer_cubin", "flashinfer_jit_cache", "xformers", "flash_attn", "flash_attn_3",
    "vllm_flash_attn", "deep_gemm",    "deep_ep",        "flash_mla",  "transformer_engine", "bitsandbytes",
    "mamba_ssm",    "causal_conv1d",   "cupy",           "cupy_backends", "apex",    "tensorrt_llm",
};

static void add_nvidia(pf_kscan *ks, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "__pycache__") == 0)
            continue;
        char *sub = pf_path_join(dir, de->d_name);
        if (pf_is_dir(sub)) {
            char *label = pf_xasprintf("nvidia/%s", de->d_name);
            pf_kscan_add(ks, sub, label, false);
            free(label);
        }
        free(sub);
    }
    closedir(d);
}

/* Extension modules installed at the top of site-packages
 * (flash_attn_2_cuda.cpython-312-x86_64-linux-gnu.so and the like). */
static void add_top_level(pf_kscan *ks, const char *site)
{
    DIR *d = opendir(site);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!pf_str_endswith(de->d_name, ".so"))
            continue;
        char *p = pf_path_join(site, de->d_name);
        if (pf_is_file(p))
            pf_kscan_add(ks, p, "site-packages", false);
        free(p);
    }
    closedir(d);
}

static void collect(pf_kscan *ks, const pf_pyenv *env, const pf_strv *scan)
{
    if (env) {
        for (size_t i = 0; i < sizeof packages / sizeof packages[0]; i++) {
            char *dir = pf_pyenv_package_dir(env, packages[i]);
            if (dir)
                pf_kscan_add(ks, dir, packages[i], false);
            free(dir);
        }
        char *nv = pf_pyenv_package_dir(env, "nvidia");
        if (nv)
            add_nvidia(ks, nv);
        free(nv);
        for (size_t i = 0; i < pf_pyenv_site_count(env); i++)
            add_top_level(ks, pf_pyenv_site(env, i));
    }
    for (size_t i = 0; scan && i < scan->n; i++)
        pf_kscan_add(ks, scan->v[i], scan->v[i], true);
}

void pf_probe_gpu_kernels(pf_probe_ctx *ctx)
{
    pf_check *c = pf_probe_check_add(ctx, pf_probe_gpu_kernels);
    json_t *ev = pf_check_evidence(c);
    const pf_target *targets = NULL;
    size_t nt = pf_ctx_targets(ctx, &targets);
    if (nt == 0) {
        const pf_cuda_facts *f = pf_ctx_cuda_facts(ctx);
        pf_check_set(c, PF_SKIP, "no GPU to judge the kernels against (%s) and no --arch given",
                     !f->loaded ? f->load_error : f->init_error[0] ? f->init_error : "no device");
        pf_check_remedy(c, "Pass --arch X.Y to evaluate for a GPU that is not here (11.0 for Jetson Thor, 12.1 "
                           "for DGX Spark GB10, 9.0 for H100).");
        return;
    }
    const char *why = NULL;
    pf_pyenv *env = pf_ctx_pyenv(ctx, &why);
    if (!env && ctx->opts->scan.n == 0) {
        pf_check_set(c, PF_SKIP, "no Python environment to scan (%s) and no --scan paths", why ? why : "not found");
        pf_check_remedy(c, "Point preflight at the serving environment with --venv DIR (or activate it), or "
                           "name libraries with --scan PATH.");
        return;
    }
    if (env)
        json_object_set_new(ev, "python_env", json_pack("{s:s,s:s}", "prefix", pf_pyenv_prefix(env), "origin",
                                                        pf_pyenv_origin(env)));
    else
        json_object_set_new(ev, "python_env_error", json_string(why ? why : "not found"));

    pf_kscan *ks = pf_kscan_new();
    collect(ks, env, &ctx->opts->scan);
    char *torch = env ? pf_pyenv_dist_version(env, "torch") : NULL;
    pf_kernels_input in = {
        .scan = ks,
        .targets = targets,
        .ntargets = nt,
        /* With --arch the local driver is not the target's: assume new enough. */
        .driver_version = ctx->opts->arch ? 0 : pf_ctx_cuda_facts(ctx)->driver_version,
        .torch_arch_list = pf_ctx_getenv(ctx, "TORCH_CUDA_ARCH_LIST"),
        .torch_version = torch,
        .where = env ? pf_pyenv_prefix(env) : NULL,
    };
    pf_kernels_evaluate(&in, c);
    free(torch);
    pf_kscan_free(ks);
}

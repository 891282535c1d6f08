/* kernels.c -- coverage of one library for one target, and its verdict
 * (see kernels.h; the check itself is in kernels_check.c). */
#include "probes/kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "probes/gpu/arch.h"

/* Every compute capability a CUDA 11..13 toolkit could target. */
static const int candidates[PF_KERNELS_NCAND] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86,
                                                 87, 88, 89, 90, 100, 101, 103, 110, 120, 121};

void pf_kernels_coverage_init(pf_lib_coverage *c, int dev, int driver_version)
{
    memset(c, 0, sizeof *c);
    c->dev = dev;
    c->driver_version = driver_version;
}

static bool code_kind(uint16_t k) { return k == PF_FB_KIND_ELF || k == PF_FB_KIND_PTX; }

static bool loadable_on(const pf_fatbin_entry *e, uint32_t n, int dev)
{
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].kind == PF_FB_KIND_ELF && pf_arch_sass_runs(e[i].arch, e[i].variant, dev))
            return true;
        if (e[i].kind == PF_FB_KIND_PTX && pf_arch_ptx_arch_ok(e[i].arch, e[i].variant, dev))
            return true;
    }
    return false;
}

static void classify(pf_lib_coverage *c, const pf_fatbin *fb, const pf_fatbin_container *ct)
{
    const pf_fatbin_entry *e = pf_fatbin_entry_at(fb, ct->first);
    uint32_t n = ct->count;
    bool any_code = false, any_non_lto = false;
    for (uint32_t i = 0; i < n; i++) {
        any_code |= code_kind(e[i].kind);
        any_non_lto |= e[i].kind != PF_FB_KIND_LTOIR;
    }
    if (!any_code) {
        if (!any_non_lto)
            c->lto_only++;
        return; /* old-style cubins (CUDA 2.x) are not judged */
    }
    if (pf_fatbin_container_is_empty(fb, ct)) {
        c->empty_stubs++;
        return;
    }
    c->containers++;
    for (size_t k = 0; k < PF_KERNELS_NCAND; k++)
        c->at[k] += loadable_on(e, n, candidates[k]);

    int dev = c->dev, family_start = dev / 10 * 10;
    bool native = false, jit = false, ptx_old = false, plain_below = false, above = false;
    bool only_a = true, a_same_family = false, thor = false;
    for (uint32_t i = 0; i < n; i++) {
        const pf_fatbin_entry *x = &e[i];
        if (!code_kind(x->kind))
            continue;
        if (x->kind == PF_FB_KIND_ELF && pf_arch_sass_runs(x->arch, x->variant, dev))
            native = true;
        if (x->kind == PF_FB_KIND_PTX) {
            pf_ptx_jit j = pf_arch_ptx_jit(x->arch, x->variant, x->ver_major, x->ver_minor, dev, c->driver_version);
            jit |= j == PF_PTX_JIT_OK;
            ptx_old |= j == PF_PTX_JIT_DRIVER_OLD;
        }
        plain_below |= x->variant == 0 && x->arch < dev;
        above |= x->arch >= family_start;
        only_a &= x->variant == 'a';
        a_same_family |= x->variant == 'a' && x->arch / 10 == dev / 10;
        thor |= (dev == 110 && x->arch == 101) || (dev == 101 && x->arch == 110);
    }
    if (native) {
        c->native++;
        return;
    }
    if (thor)
        c->thor_renamed++;
    if (jit)
        c->jit++;
    else if (ptx_old)
        c->driver_old++;
    else if (plain_below && above)
        c->missing++;
    else {
        c->other++;
        if (only_a && a_same_family)
            c->sibling_specific++;
        else if (only_a)
            c->other_gpu_specific++;
    }
}

void pf_kernels_coverage_add(pf_lib_coverage *c, const pf_fatbin *fb)
{
    for (size_t i = 0; i < pf_fatbin_container_count(fb); i++)
        classify(c, fb, pf_fatbin_container_at(fb, i));
}

bool pf_kernels_has_device_code(const pf_fatbin *fb)
{
    pf_lib_coverage c;
    pf_kernels_coverage_init(&c, 90, 0);
    pf_kernels_coverage_add(&c, fb);
    return c.containers > 0;
}

int pf_kernels_best(const pf_lib_coverage *c, size_t *count)
{
    int best = 0;
    size_t n = 0;
    for (size_t k = 0; k < PF_KERNELS_NCAND; k++)
        if (c->at[k] > 0 && c->at[k] >= n) { /* ties go to the newer GPU */
            n = c->at[k];
            best = candidates[k];
        }
    if (count)
        *count = n;
    return best;
}

double pf_kernels_missing_share(const pf_lib_coverage *c)
{
    size_t bad = c->missing + c->driver_old, all = c->native + c->jit + bad;
    return all ? (double)bad / (double)all : 0.0;
}

pf_lib_verdict pf_kernels_verdict(const pf_lib_coverage *c)
{
    if (c->containers == 0)
        return PF_LIB_NO_DEVICE_CODE;
    size_t loadable = c->native + c->jit;
    bool driver = c->driver_old > c->missing;
    if (loadable == 0) {
        if (c->driver_old > 0 && driver)
            return PF_LIB_DRIVER_TOO_OLD;
        if (c->other_gpu_specific == c->containers)
            return PF_LIB_OTHER_GPU_ONLY;
        return PF_LIB_MISSING;
    }
    double share = pf_kernels_missing_share(c);
    if (share > PF_KERNELS_FAIL_SHARE)
        return driver ? PF_LIB_DRIVER_TOO_OLD : PF_LIB_MISSING;
    if (share > PF_KERNELS_WARN_SHARE)
        return PF_LIB_PARTIAL;
    if (c->native == 0)
        return PF_LIB_JIT_ONLY;
    return PF_LIB_NATIVE;
}

const char *pf_lib_verdict_name(pf_lib_verdict v)
{
    switch (v) {
    case PF_LIB_NO_DEVICE_CODE: return "no-device-code";
    case PF_LIB_NATIVE: return "native";
    case PF_LIB_JIT_ONLY: return "jit-only";
    case PF_LIB_PARTIAL: return "partial";
    case PF_LIB_MISSING: return "missing";
    case PF_LIB_DRIVER_TOO_OLD: return "driver-too-old";
    case PF_LIB_OTHER_GPU_ONLY: return "other-gpu-only";
    }
    return "?";
}

pf_status pf_lib_verdict_status(pf_lib_verdict v, bool collection)
{
    switch (v) {
    case PF_LIB_NATIVE: return PF_PASS;
    case PF_LIB_JIT_ONLY:
    case PF_LIB_PARTIAL: return PF_WARN;
    case PF_LIB_MISSING:
    case PF_LIB_DRIVER_TOO_OLD: return collection ? PF_WARN : PF_FAIL;
    case PF_LIB_NO_DEVICE_CODE:
    case PF_LIB_OTHER_GPU_ONLY: return PF_SKIP;
    }
    return PF_ERROR;
}

/* Distinct entry names with counts, in a stable order: SASS, PTX, LTO-IR,
 * then by architecture and variant. */
typedef struct code_count {
    uint16_t kind, arch;
    char variant;
    size_t n;
} code_count;

static int kind_rank(uint16_t k)
{
    return k == PF_FB_KIND_ELF ? 0 : k == PF_FB_KIND_PTX ? 1 : k == PF_FB_KIND_LTOIR ? 2 : 3;
}

static int cmp_code(const void *a, const void *b)
{
    const code_count *x = a, *y = b;
    if (kind_rank(x->kind) != kind_rank(y->kind))
        return kind_rank(x->kind) - kind_rank(y->kind);
    if (x->arch != y->arch)
        return (int)x->arch - (int)y->arch;
    return (int)x->variant - (int)y->variant;
}

static code_count *count_codes(const pf_fatbin *const *fbs, size_t nfb, size_t *out_n)
{
    code_count *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t f = 0; f < nfb; f++) {
        for (size_t i = 0; i < pf_fatbin_entry_count(fbs[f]); i++) {
            const pf_fatbin_entry *e = pf_fatbin_entry_at(fbs[f], i);
            size_t k = 0;
            while (k < n && !(v[k].kind == e->kind && v[k].arch == e->arch && v[k].variant == e->variant))
                k++;
            if (k == n) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 16;
                    v = pf_xrealloc(v, cap * sizeof *v);
                }
                v[n++] = (code_count){e->kind, e->arch, e->variant, 0};
            }
            v[k].n++;
        }
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_code);
    *out_n = n;
    return v;
}

static void code_name(const code_count *c, char *buf, size_t len)
{
    pf_fatbin_entry e;
    memset(&e, 0, sizeof e);
    e.kind = c->kind;
    e.arch = c->arch;
    e.variant = c->variant;
    pf_fatbin_entry_name(&e, buf, len);
}

void pf_kernels_arch_list(const pf_fatbin *const *fbs, size_t nfb, char *buf, size_t len)
{
    size_t n = 0;
    code_count *v = count_codes(fbs, nfb, &n);
    /* whole names, then "… (N more)"; 32 bytes are kept for that marker so
     * the copy into buf never cuts it */
    pf_strbuf b;
    pf_strbuf_init(&b, len > 40 ? len - 32 : 1);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        code_name(&v[i], name, sizeof name);
        pf_strbuf_item(&b, " ", name);
    }
    pf_strlcpy(buf, pf_strbuf_str(&b), len);
    pf_strbuf_free(&b);
    free(v);
}

json_t *pf_kernels_inventory_json(const pf_fatbin *const *fbs, size_t nfb)
{
    size_t n = 0, containers = 0, entries = 0, problems = 0;
    code_count *v = count_codes(fbs, nfb, &n);
    json_t *archs = json_object(), *sections = json_object(), *plist = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[32];
        code_name(&v[i], name, sizeof name);
        json_object_set_new(archs, name, json_integer((json_int_t)v[i].n));
    }
    free(v);
    for (size_t f = 0; f < nfb; f++) {
        const pf_fatbin *fb = fbs[f];
        containers += pf_fatbin_container_count(fb);
        entries += pf_fatbin_entry_count(fb);
        for (size_t i = 0; i < pf_fatbin_container_count(fb); i++) {
            const char *s = pf_fatbin_section_name(fb, pf_fatbin_container_at(fb, i)->section);
            json_t *cur = json_object_get(sections, s);
            json_object_set_new(sections, s, json_integer(cur ? json_integer_value(cur) + 1 : 1));
        }
        problems += pf_fatbin_problem_count(fb);
        for (size_t i = 0; i < pf_fatbin_problem_kept(fb) && json_array_size(plist) < 8; i++)
            json_array_append_new(plist, json_string(pf_fatbin_problem(fb, i)));
    }
    json_t *o = json_object();
    json_object_set_new(o, "containers", json_integer((json_int_t)containers));
    json_object_set_new(o, "entries", json_integer((json_int_t)entries));
    json_object_set_new(o, "archs", archs);
    json_object_set_new(o, "sections", sections);
    json_object_set_new(o, "problem_count", json_integer((json_int_t)problems));
    json_object_set_new(o, "problems", plist);
    return o;
}

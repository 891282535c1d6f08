/* kernels_remedy.c -- remedy sentences for gpu.kernels (see the header). */
#include "probes/kernels/kernels_remedy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "probes/gpu/arch.h"

#define MAX_SENTENCES 8

/* A sentence, or for grouped problems (every NVIDIA library of one
 * package missing the same GPU) a head with a %s for the library names. */
typedef struct rem_item {
    char *key;
    char *head;   /* complete sentence, or the text before the names */
    char *post;   /* after the names (grouped items) */
    char *tail;   /* appended after a grouped head ("" otherwise) */
    pf_strv names;
    size_t nnames;
} rem_item;

struct pf_kremedy {
    rem_item *v;
    size_t n, cap;
    size_t dropped;
    char *text;
};

pf_kremedy *pf_kremedy_new(void)
{
    return pf_xcalloc(1, sizeof(pf_kremedy));
}

void pf_kremedy_free(pf_kremedy *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].head);
        free(r->v[i].post);
        free(r->v[i].tail);
        pf_strv_free(&r->v[i].names);
    }
    free(r->v);
    free(r->text);
    free(r);
}

static rem_item *find(pf_kremedy *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].key, key) == 0)
            return &r->v[i];
    return NULL;
}

static rem_item *push(pf_kremedy *r, const char *key)
{
    if (r->n >= MAX_SENTENCES) {
        r->dropped++;
        return NULL;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = pf_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    rem_item *it = &r->v[r->n++];
    memset(it, 0, sizeof *it);
    it->key = pf_xstrdup(key);
    return it;
}

static void add(pf_kremedy *r, const char *key, const char *sentence)
{
    if (find(r, key))
        return;
    rem_item *it = push(r, key);
    if (!it)
        return;
    it->head = pf_xstrdup(sentence);
    it->post = pf_xstrdup("");
    it->tail = pf_xstrdup("");
}

/* pre + the names collected under key + post, then tail. */
static void add_grouped(pf_kremedy *r, const char *key, const char *name, const char *pre, const char *post,
                        const char *tail)
{
    rem_item *it = find(r, key);
    if (!it) {
        it = push(r, key);
        if (!it)
            return;
        it->head = pf_xstrdup(pre);
        it->post = pf_xstrdup(post);
        it->tail = pf_xstrdup(tail);
    }
    it->nnames++;
    if (it->names.n < 4 && !pf_strv_contains(&it->names, name))
        pf_strv_push(&it->names, name);
}

const char *pf_kremedy_text(const pf_kremedy *r_)
{
    pf_kremedy *r = (pf_kremedy *)r_; /* the text is a cache */
    free(r->text);
    r->text = pf_xstrdup("");
    for (size_t i = 0; i < r->n; i++) {
        rem_item *it = &r->v[i];
        char *sentence;
        if (it->nnames) {
            /* "a, b and c", or "a, b, c, d and 7 more": the first few by name */
            pf_strbuf names;
            pf_strbuf_init(&names, 0);
            for (size_t k = 0; k < it->names.n; k++)
                pf_strbuf_item(&names, k + 1 == it->names.n && it->nnames == it->names.n ? " and " : ", ",
                               it->names.v[k]);
            if (it->nnames > it->names.n)
                pf_strbuf_appendf(&names, " and %zu more", it->nnames - it->names.n);
            sentence = pf_xasprintf("%s%s%s%s%s", it->head, pf_strbuf_str(&names), it->post,
                                    *it->tail ? " " : "", it->tail);
            pf_strbuf_free(&names);
        } else {
            sentence = pf_xstrdup(it->head);
        }
        char *t = pf_xasprintf("%s%s%s", r->text, *r->text ? " " : "", sentence);
        free(sentence);
        free(r->text);
        r->text = t;
    }
    if (r->dropped) {
        char *t = pf_xasprintf("%s (and %zu more: see evidence.targets)", r->text, r->dropped);
        free(r->text);
        r->text = t;
    }
    return r->text;
}

const char *pf_kremedy_min_cuda(int dev)
{
    /* CUDA release notes / nvcc --list-gpu-arch of each release. */
    static const struct {
        int dev;
        const char *cuda;
    } t[] = {{75, "10.0"}, {80, "11.0"}, {86, "11.1"},  {87, "11.4"},  {89, "11.8"},  {90, "11.8"},
             {100, "12.8"}, {101, "12.8"}, {103, "12.9"}, {110, "13.0"}, {120, "12.8"}, {121, "12.9"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].dev == dev)
            return t[i].cuda;
    return NULL;
}

void pf_kremedy_torch_item(int dev, char *buf, size_t len)
{
    /* torch 2.11 accepts an 'a' form for 9.0, 10.0, 10.3, 11.0, 12.0, 12.1. */
    bool has_a = dev == 90 || dev == 100 || dev == 103 || dev == 110 || dev == 120 || dev == 121;
    snprintf(buf, len, "%d.%d%s", dev / 10, dev % 10, has_a ? "a" : "");
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* NVIDIA's own libraries, by file name (they arrive as nvidia-* wheels, a
 * CUDA toolkit, or inside containers, never built by the user). */
static bool nvidia_library(const char *base)
{
    static const char *const prefixes[] = {"libcublas", "libcudnn", "libcufft", "libcurand", "libcusolver",
                                           "libcusparse", "libnccl", "libnvJitLink", "libcupti", "libnvrtc",
                                           "libnpp", "libnvjpeg", "libcheckpoint", "libnvshmem", "libcudss",
                                           "libcutensor", "libnvblas", "libcufile", "libnvperf"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (pf_str_startswith(base, prefixes[i]))
            return true;
    return false;
}

static bool torch_library(const char *base)
{
    return pf_str_startswith(base, "libtorch") || pf_str_startswith(base, "libc10") ||
           pf_str_startswith(base, "libcaffe2");
}

static void torch_fix(int dev, char *buf, size_t len)
{
    if (dev == 110)
        snprintf(buf, len,
                 "Jetson Thor (CC 11.0) needs an aarch64 PyTorch built with CUDA 13 that includes sm_110: "
                 "PyTorch's cu130 aarch64 wheels, installed on the Thor itself (`pip install torch "
                 "--index-url https://download.pytorch.org/whl/cu130`), or NVIDIA's Jetson PyTorch container; "
                 "x86-64 cu130 wheels carry no sm_110. Confirm with `preflight kernels --arch 11.0 "
                 "<site-packages>/torch/lib`.");
    else if (dev == 121 || dev == 120)
        snprintf(buf, len,
                 "Install a PyTorch built with sm_120 or sm_121 (sm_120 SASS runs on 12.0 and 12.1): the cu128 "
                 "or cu130 wheels (`pip install torch --index-url https://download.pytorch.org/whl/cu130`; "
                 "the aarch64 build on DGX Spark).");
    else if (dev == 101)
        snprintf(buf, len,
                 "This Thor reports CC 10.1 (pre-CUDA-13 driver stack): either upgrade it to JetPack 7 / "
                 "CUDA 13 (it then reports 11.0 and runs sm_110 wheels) or use a PyTorch built with CUDA "
                 "12.8/12.9 that includes sm_101.");
    else
        snprintf(buf, len,
                 "Install a PyTorch build whose `torch.cuda.get_arch_list()` includes sm_%d (or an older "
                 "sm_%dx, or compute_%d-or-older PTX) for a CUDA release your driver supports "
                 "(https://download.pytorch.org/whl/).",
                 dev, dev / 10, dev);
}

static void nvidia_fix(const char *package, int dev, char *buf, size_t len)
{
    const char *minc = pf_kremedy_min_cuda(dev);
    if (dev == 110)
        snprintf(buf, len,
                 "CUDA 13 libraries for Jetson Thor are aarch64 builds: install the aarch64 CUDA 13 build of %s "
                 "(the nvidia-*-cu13 wheel, or JetPack 7's CUDA 13 libraries) on the Thor; the x86-64 CUDA 13.0 cuBLAS, cuDNN, cuSPARSE, "
                 "cuSOLVER and cuRAND carry no sm_110.",
                 package);
    else if (minc)
        snprintf(buf, len, "Install %s from a CUDA release that supports CC %d.%d (CUDA >= %s), built for this "
                 "CPU architecture (the nvidia-*-cu12/cu13 wheel or the toolkit).", package, dev / 10, dev % 10, minc);
    else
        snprintf(buf, len, "Install a build of %s for CC %d.%d.", package, dev / 10, dev % 10);
}

static void extension_fix(int dev, char *buf, size_t len)
{
    char item[16], plain[16];
    pf_kremedy_torch_item(dev, item, sizeof item);
    snprintf(plain, sizeof plain, "%d.%d", dev / 10, dev % 10);
    bool a = strcmp(item, plain) != 0;
    char alt[96] = "";
    if (a)
        snprintf(alt, sizeof alt, " (or \"%s\" if it uses no arch-specific features)", plain);
    snprintf(buf, len,
             "Rebuild it for this GPU -- a torch extension with TORCH_CUDA_ARCH_LIST=\"%s\"%s (torch 2.11 "
             "accepts X.Y and X.Ya, not X.Yf), plain nvcc with -gencode arch=compute_%d%s,code=sm_%d%s -- "
             "or install a wheel built for CC %s.",
             item, alt, dev, a ? "a" : "", dev, a ? "a" : "", plain);
}

void pf_kremedy_unit(pf_kremedy *r, const char *path, const char *package, bool collection, pf_lib_verdict v,
                     const pf_lib_coverage *cov, const pf_fatbin *const *fbs, size_t nfb, const pf_target *t,
                     const char *torch_version)
{
    int dev = t->cc_major * 10 + t->cc_minor;
    char key[600], archs[400], fix[1024], s[2400], what[600];
    snprintf(key, sizeof key, "%s|%d|%d|%s", package, (int)v, dev, collection ? "" : base_name(path));
    pf_kernels_arch_list(fbs, nfb, archs, sizeof archs);
    bool is_torch = strcmp(package, "torch") == 0 || (!collection && torch_library(base_name(path)));
    bool is_nvidia = strncmp(package, "nvidia", 6) == 0 || (!collection && nvidia_library(base_name(path)));
    /* One sentence per package and problem is enough for torch and the
     * NVIDIA wheels (every library of the wheel has the same cause). */
    if (is_torch || is_nvidia)
        snprintf(key, sizeof key, "%s|%d|%d", package, (int)v, dev);

    if (collection)
        snprintf(what, sizeof what, "%s (%zu cubins)", package, nfb);
    else if (is_torch && torch_version)
        snprintf(what, sizeof what, "%s of torch %s", base_name(path), torch_version);
    else
        snprintf(what, sizeof what, "%s (%s)", base_name(path), package);

    switch (v) {
    case PF_LIB_JIT_ONLY:
        snprintf(s, sizeof s,
                 "%s runs on CC %d.%d only by JIT-compiling its PTX (%s) at first use: the first start can take "
                 "minutes; keep the JIT cache (CUDA_CACHE_MAXSIZE=4294967296, do not clear ~/.nv/ComputeCache) "
                 "or install a build with sm_%d SASS.",
                 what, dev / 10, dev % 10, archs, dev);
        break;
    case PF_LIB_DRIVER_TOO_OLD:
        snprintf(s, sizeof s,
                 "%s: the only code for CC %d.%d is PTX of an ISA newer than this driver (CUDA %d.%d) can JIT: "
                 "upgrade the NVIDIA driver (PTX from CUDA 13.x needs a CUDA 13 driver, >= 580).",
                 what, dev / 10, dev % 10, cov->driver_version / 1000, cov->driver_version % 1000 / 10);
        break;
    case PF_LIB_MISSING:
    case PF_LIB_PARTIAL: {
        char head[900];
        if (collection)
            snprintf(head, sizeof head,
                     "%s: none of these cubins run on CC %d.%d (they are %s); the application loads them itself "
                     "and must use other kernels here -- install a build with cubins for %d.%d or make sure the "
                     "server does not select the backend that needs them (flashinfer #3294: its loader can pick a "
                     "wrong-architecture cubin).",
                     what, dev / 10, dev % 10, archs, dev / 10, dev % 10);
        else if (v == PF_LIB_PARTIAL)
            snprintf(head, sizeof head, "%s: %zu of %zu portable kernel modules have no code for CC %d.%d (it "
                     "carries %s); calls into them will fail with 'no kernel image is available'.",
                     what, cov->missing + cov->driver_old, cov->native + cov->jit + cov->missing + cov->driver_old,
                     dev / 10, dev % 10, archs);
        else
            snprintf(head, sizeof head, "%s has no kernels for CC %d.%d (it carries %s).", what, dev / 10,
                     dev % 10, archs);
        if (collection)
            fix[0] = '\0';
        else if (is_torch)
            torch_fix(dev, fix, sizeof fix);
        else if (is_nvidia)
            nvidia_fix(strncmp(package, "nvidia", 6) == 0 ? package : "these libraries", dev, fix, sizeof fix);
        else
            extension_fix(dev, fix, sizeof fix);
        char extra[400] = "";
        if (cov->sibling_specific)
            snprintf(extra, sizeof extra, " %zu of its modules are arch-specific ('a') code for another CC %d.x "
                     "GPU (sm_XYa runs only on CC X.Y exactly).", cov->sibling_specific, dev / 10);
        if (cov->thor_renamed && dev == 110)
            strncat(extra, " It has sm_101 code: that is Thor under the CUDA 12.8/12.9 numbering; under CUDA 13 "
                           "Thor is 11.0 and needs sm_110 -- rebuild with CUDA 13.", sizeof extra - strlen(extra) - 1);
        if ((is_torch || is_nvidia) && !collection) {
            /* Every library of torch (or of one NVIDIA package) has the same
             * cause and fix: one sentence naming them all. */
            char pre[200], post[200], tail[1600];
            snprintf(pre, sizeof pre, "%s%s%s", is_torch ? "torch " : "", is_torch && torch_version ? torch_version : "",
                     is_torch ? ": " : "");
            snprintf(post, sizeof post, "%s%s%s: %s for CC %d.%d.", is_torch ? "" : " (", is_torch ? "" : package,
                     is_torch ? "" : ")", v == PF_LIB_PARTIAL ? "partly without kernels" : "no kernels",
                     dev / 10, dev % 10);
            snprintf(tail, sizeof tail, "%s%s%s", extra[0] ? extra + 1 : "", extra[0] && *fix ? " " : "", fix);
            add_grouped(r, key, base_name(path), pre, post, tail);
            return;
        }
        snprintf(s, sizeof s, "%s%s%s%s", head, extra, *fix ? " " : "", fix);
        break;
    }
    default:
        return;
    }
    add(r, key, s);
}

void pf_kremedy_torch_list(pf_kremedy *r, const char *value, const char *error, const pf_target *t, size_t nt)
{
    char want[128] = "", item[16], s[1024];
    for (size_t i = 0; i < nt; i++) {
        pf_kremedy_torch_item(t[i].cc_major * 10 + t[i].cc_minor, item, sizeof item);
        if (!strstr(want, item)) {
            if (*want)
                strncat(want, ";", sizeof want - strlen(want) - 1);
            strncat(want, item, sizeof want - strlen(want) - 1);
        }
    }
    if (error)
        snprintf(s, sizeof s,
                 "TORCH_CUDA_ARCH_LIST='%s' makes every torch extension build fail (%s): export "
                 "TORCH_CUDA_ARCH_LIST=\"%s\" or unset it (torch then builds for the visible GPU).",
                 value, error, want);
    else
        snprintf(s, sizeof s,
                 "TORCH_CUDA_ARCH_LIST='%s' builds extensions without code for this GPU: export "
                 "TORCH_CUDA_ARCH_LIST=\"%s\" (or unset it so torch builds for the visible GPU), then rebuild "
                 "the extensions that were built with it.",
                 value, want);
    add(r, "TORCH_CUDA_ARCH_LIST", s);
}

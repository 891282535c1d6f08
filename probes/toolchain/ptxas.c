/* ptxas.c -- the pure half of toolchain.ptxas (see ptxas.h): naming, the
 * per-target requirements, output parsing, Triton's resolution of its ptxas
 * knobs, the verdict and its evidence.  Nothing here touches a file or runs
 * a program; ptxas_collect.c does that.  Rules and sources: docs/ptxas.md.
 */
#include "probes/toolchain/ptxas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

const char *pf_ptxas_source_kind(pf_ptxas_source s)
{
    switch (s) {
    case PF_PTXAS_SRC_CUDA_HOME:
    case PF_PTXAS_SRC_CUDA_PATH:
    case PF_PTXAS_SRC_CUDA_DEFAULT: return "cuda";
    case PF_PTXAS_SRC_PATH: return "PATH";
    case PF_PTXAS_SRC_TORCH: return "torch";
    case PF_PTXAS_SRC_ENV_BW:
    case PF_PTXAS_SRC_ENV: return "env";
    case PF_PTXAS_SRC_BUNDLED_BW:
    case PF_PTXAS_SRC_BUNDLED: return "bundled";
    default: return "?";
    }
}

const char *pf_ptxas_source_label(pf_ptxas_source s)
{
    switch (s) {
    case PF_PTXAS_SRC_CUDA_HOME: return "$CUDA_HOME/bin/ptxas";
    case PF_PTXAS_SRC_CUDA_PATH: return "$CUDA_PATH/bin/ptxas";
    case PF_PTXAS_SRC_PATH: return "ptxas on $PATH";
    case PF_PTXAS_SRC_CUDA_DEFAULT: return "default CUDA toolkit";
    case PF_PTXAS_SRC_TORCH: return "torch/bin/ptxas";
    case PF_PTXAS_SRC_ENV_BW: return "$TRITON_PTXAS_BLACKWELL_PATH";
    case PF_PTXAS_SRC_ENV: return "$TRITON_PTXAS_PATH";
    case PF_PTXAS_SRC_BUNDLED_BW: return "Triton's bundled ptxas-blackwell";
    case PF_PTXAS_SRC_BUNDLED: return "Triton's bundled ptxas";
    default: return "?";
    }
}

const char *pf_ptxas_state_name(pf_ptxas_state s)
{
    static const char *const n[] = {"absent", "not-executable", "exec-failed", "hung", "bad-version", "ok"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

const char *pf_ptxas_asm_name(pf_ptxas_asm a)
{
    static const char *const n[] = {"not-run",     "ok",   "gpu-name-unsupported", "ptx-isa-too-old",
                                    "ptx-isa-too-new", "hung", "failed"};
    return (unsigned)a < sizeof n / sizeof n[0] ? n[a] : "?";
}

/* ---- rules ---- */

void pf_ptxas_gpu_name(int arch, char *buf, size_t len)
{
    /* Triton: sm_arch_from_capability -- the 'a' suffix from Hopper on. */
    snprintf(buf, len, "sm_%d%s", arch, arch >= 90 ? "a" : "");
}

int pf_ptxas_triton_isa(int cuda_major, int cuda_minor)
{
    /* Triton: ptx_get_version.  It equals each release's newest ISA, so the
     * same mapping describes what nvcc of that release emits. */
    if (cuda_major >= 13)
        return 90 + (cuda_major - 13) * 10 + cuda_minor;
    if (cuda_major == 12)
        return cuda_minor < 6 ? 80 + cuda_minor : 80 + cuda_minor - 1;
    if (cuda_major == 11)
        return 70 + cuda_minor;
    if (cuda_major == 10)
        return 63 + cuda_minor;
    return -1;
}

pf_ptxas_req pf_ptxas_arch_req(int arch)
{
    /* For the target Triton names (sm_XYa from 90 on).  Sources: the PTX ISA
     * release notes' target tables as encoded in LLVM NVPTX.td, and the ptxas
     * 12.8/12.9/13.0 runs in the reference notes (sm_110 needs 9.0, sm_121
     * and sm_103 8.8, sm_100/sm_120 work at 8.7; sm_101 and sm_70/72 were
     * dropped by CUDA 13.0). */
    static const struct {
        int arch;
        pf_ptxas_req r;
    } t[] = {
        {70, {60, 900, 1209}},  {72, {61, 1000, 1209}}, {75, {63, 1000, 0}},  {80, {70, 1100, 0}},
        {86, {71, 1101, 0}},    {87, {74, 1104, 0}},    {89, {78, 1108, 0}},  {90, {80, 1200, 0}},
        {100, {87, 1208, 0}},   {101, {86, 1208, 1209}}, {103, {88, 1209, 0}}, {110, {90, 1300, 0}},
        {120, {87, 1208, 0}},   {121, {88, 1209, 0}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].arch == arch)
            return t[i].r;
    return (pf_ptxas_req){0, 0, 0};
}

/* Copy the line of out that contains needle (trimmed) into line. */
static bool find_line(const char *out, const char *needle, char *line, size_t len)
{
    const char *hit = strstr(out, needle);
    if (!hit)
        return false;
    const char *b = hit;
    while (b > out && b[-1] != '\n')
        b--;
    const char *e = strchr(hit, '\n');
    size_t n = e ? (size_t)(e - b) : strlen(b);
    if (line && len) {
        if (n >= len)
            n = len - 1;
        memcpy(line, b, n);
        line[n] = '\0';
        pf_str_trim(line);
    }
    return true;
}

void pf_ptxas_first_line(const char *out, char *line, size_t len)
{
    if (!line || !len)
        return;
    line[0] = '\0';
    const char *p = out ? out : "";
    while (*p) {
        while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
            p++;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            if (n >= len)
                n = len - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            pf_str_trim(line);
            return;
        }
        p += n;
    }
}

pf_ptxas_asm pf_ptxas_classify(int exit_code, bool ran, const char *out, char *line, size_t len)
{
    static const struct {
        const char *needle;
        pf_ptxas_asm rc;
    } pats[] = {
        {"is not defined for option 'gpu-name'", PF_PTXAS_ASM_NO_TARGET},
        {"does not support .target", PF_PTXAS_ASM_ISA_TOO_OLD},
        {"Unsupported .version", PF_PTXAS_ASM_ISA_TOO_NEW},
    };
    if (line && len)
        line[0] = '\0';
    if (!out)
        out = "";
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (find_line(out, pats[i].needle, line, len))
            return pats[i].rc;
    if (ran && exit_code == 0)
        return PF_PTXAS_ASM_OK;
    pf_ptxas_first_line(out, line, len);
    return PF_PTXAS_ASM_FAILED;
}

int pf_ptxas_parse_version(const char *out, int *major, int *minor, char *full, size_t full_len)
{
    if (full && full_len)
        full[0] = '\0';
    /* Triton's regex: ".*release (\d+\.\d+).*", first match. */
    for (const char *p = out ? strstr(out, "release ") : NULL; p; p = strstr(p + 1, "release ")) {
        const char *q = p + 8;
        int a, b, n = 0;
        if (*q < '0' || *q > '9' || sscanf(q, "%d.%d%n", &a, &b, &n) != 2 || q[n - 1] < '0' ||
            q[n - 1] > '9')
            continue;
        *major = a;
        *minor = b;
        const char *v = strstr(q + n, ", V");
        const char *eol = strchr(q, '\n');
        if (full && full_len && v && (!eol || v < eol)) {
            size_t k = strcspn(v + 2, " \t\r\n");
            if (k >= full_len)
                k = full_len - 1;
            memcpy(full, v + 2, k);
            full[k] = '\0';
        }
        return 0;
    }
    return -1;
}

/* ---- resolution ---- */

static int find_src(const pf_ptxas_facts *f, pf_ptxas_source s)
{
    for (size_t i = 0; i < f->ncand; i++)
        if (f->cand[i].source == s)
            return (int)i;
    return -1;
}

static bool works(const pf_ptxas_cand *c)
{
    return c->state == PF_PTXAS_OK && c->asm_rc == PF_PTXAS_ASM_OK;
}

static bool is_toolkit(pf_ptxas_source s)
{
    return s == PF_PTXAS_SRC_CUDA_HOME || s == PF_PTXAS_SRC_CUDA_PATH || s == PF_PTXAS_SRC_PATH ||
           s == PF_PTXAS_SRC_CUDA_DEFAULT;
}

bool pf_ptxas_triton_splits(const pf_ptxas_facts *f)
{
    if (!f->triton_present)
        return false;
    if (f->triton_major >= 0)
        return f->triton_major * 100 + f->triton_minor >= 306;
    /* No dist-info: the layout tells, since 3.6 ships ptxas-blackwell. */
    int bw = find_src(f, PF_PTXAS_SRC_BUNDLED_BW);
    return bw >= 0 && f->cand[bw].state != PF_PTXAS_ABSENT;
}

/* The first candidate (in preference order) that assembles the target. */
static int best_working(const pf_ptxas_facts *f, bool toolkit_only)
{
    for (int s = 0; s < PF_PTXAS_SRC_COUNT; s++) {
        if (toolkit_only && !is_toolkit((pf_ptxas_source)s))
            continue;
        for (size_t i = 0; i < f->ncand; i++)
            if (f->cand[i].source == (pf_ptxas_source)s && works(&f->cand[i]))
                return (int)i;
    }
    return -1;
}

/* Triton's env_nvidia_tool.transform(): try [env, bundled default] in order
 * with NvidiaTool.from_path, which runs `--version` and returns None on
 * FileNotFoundError, CalledProcessError or no "release X.Y" -- the next path
 * is then tried without a message.  Any other OSError propagates.  Returns
 * the winning index or -1; *why (heap) says how. */
static int resolve(const pf_ptxas_facts *f, int env, const char *var, int bundled, const char *binary,
                   int *skipped, char **why)
{
    int order[2], n = 0;
    if (env >= 0)
        order[n++] = env;
    if (bundled >= 0)
        order[n++] = bundled;
    *skipped = -1;
    for (int k = 0; k < n; k++) {
        const pf_ptxas_cand *c = &f->cand[order[k]];
        switch (c->state) {
        case PF_PTXAS_OK:
            if (order[k] == env)
                *why = pf_xasprintf("%s=%s", var, c->path);
            else if (*skipped >= 0)
                *why = pf_xasprintf("bundled default, after silently skipping %s=%s (%s)", var,
                                    f->cand[*skipped].path, f->cand[*skipped].state_detail);
            else
                *why = pf_xasprintf("bundled default, %s is unset", var);
            return order[k];
        case PF_PTXAS_ABSENT:
        case PF_PTXAS_BAD_VERSION:
            if (order[k] == env)
                *skipped = env;
            continue;
        case PF_PTXAS_HUNG:
            *why = pf_xasprintf("`%s --version` hangs (%s) and Triton waits on it without a deadline", c->path,
                                c->state_detail);
            return -1;
        case PF_PTXAS_NOT_EXEC:
        case PF_PTXAS_START_FAILED:
            *why = pf_xasprintf("Triton raises %s running `%s --version` (%s) instead of falling back",
                                c->state == PF_PTXAS_NOT_EXEC ? "PermissionError" : "OSError", c->path,
                                c->state_detail);
            return -1;
        }
    }
    *why = pf_xasprintf("Triton raises RuntimeError(\"Cannot find %s\"): %s", binary,
                        *skipped >= 0 ? "the override does not work and there is no usable bundled binary"
                                      : "no usable bundled binary and no override");
    return -1;
}

/* ---- verdict ---- */

/* Heap: "(CUDA 12.9) cannot assemble sm_110a: <error line>" or "is unusable (...)". */
static char *asm_failure(const pf_ptxas_cand *c, const char *gpu, const pf_ptxas_req *r)
{
    if (c->state != PF_PTXAS_OK)
        return pf_xasprintf("is unusable (%s)", c->state_detail);
    char extra[96] = "";
    if (c->asm_rc == PF_PTXAS_ASM_ISA_TOO_OLD && r->min_isa)
        snprintf(extra, sizeof extra, " (Triton writes .version %d.%d for CUDA %d.%d; %s needs >= %d.%d)",
                 c->isa / 10, c->isa % 10, c->cuda_major, c->cuda_minor, gpu, r->min_isa / 10, r->min_isa % 10);
    return pf_xasprintf("(CUDA %d.%d) cannot assemble %s: %s%s", c->cuda_major, c->cuda_minor, gpu,
                        c->asm_detail[0] ? c->asm_detail : pf_ptxas_asm_name(c->asm_rc), extra);
}

/* Heap: the toolkit to install when nothing on the node works. */
static char *need_toolkit(const char *gpu, const pf_ptxas_req *r)
{
    if (r->min_cuda && r->max_cuda)
        return pf_xasprintf("a CUDA %d.%d-%d.%d toolkit (newer ones no longer list %s)", r->min_cuda / 100,
                            r->min_cuda % 100, r->max_cuda / 100, r->max_cuda % 100, gpu);
    if (r->min_cuda)
        return pf_xasprintf("a CUDA >= %d.%d toolkit (its ptxas supports %s)", r->min_cuda / 100,
                            r->min_cuda % 100, gpu);
    return pf_xasprintf("a CUDA toolkit whose `ptxas --help` lists %s", gpu);
}

/* Heap: <dir> for <dir>/bin/ptxas. */
static char *toolkit_dir(const char *ptxas)
{
    char *d = pf_xstrdup(ptxas);
    if (pf_str_endswith(d, "/bin/ptxas") && strlen(d) > 10)
        d[strlen(d) - 10] = '\0';
    return d;
}

/* Heap: the remedy for a toolkit (nvcc JIT) that cannot assemble the target. */
static char *toolkit_remedy(const pf_ptxas_facts *f, const char *gpu, const pf_ptxas_req *r)
{
    int g = best_working(f, true);
    if (g >= 0) {
        char *dir = toolkit_dir(f->cand[g].path);
        char *s = pf_xasprintf("export CUDA_HOME=%s (its ptxas, CUDA %d.%d, assembles %s)", dir,
                               f->cand[g].cuda_major, f->cand[g].cuda_minor, gpu);
        free(dir);
        return s;
    }
    char *need = need_toolkit(gpu, r);
    char *s = pf_xasprintf("Install %s and export CUDA_HOME to it.", need);
    free(need);
    return s;
}

static void decide_toolkit_only(const pf_ptxas_facts *f, pf_ptxas_verdict *v, const pf_ptxas_req *r)
{
    char *why = f->pyenv_found ? pf_xstrdup("no Triton in the Python environment")
                               : pf_xasprintf("no Python environment found (%s), so Triton was not checked",
                                              f->pyenv_why);
    v->role = PF_PTXAS_ROLE_NONE;
    if (v->toolkit < 0) {
        v->status = PF_SKIP;
        v->summary = pf_xasprintf("%s, and no CUDA toolkit ptxas ($CUDA_HOME, $CUDA_PATH, PATH, "
                                  "/usr/local/cuda): nothing on this node runs ptxas for %s", why, v->gpu_name);
    } else if (works(&f->cand[v->toolkit])) {
        const pf_ptxas_cand *t = &f->cand[v->toolkit];
        v->status = PF_PASS;
        v->summary = pf_xasprintf("%s; the CUDA toolkit ptxas %s (CUDA %d.%d) that nvcc uses for JIT-built "
                                  "extensions assembles %s", why, t->path, t->cuda_major, t->cuda_minor,
                                  v->gpu_name);
    } else {
        /* Without Triton nothing certainly compiles at run time, hence warn. */
        char *fail = asm_failure(&f->cand[v->toolkit], v->gpu_name, r);
        v->status = PF_WARN;
        v->summary = pf_xasprintf("%s; the CUDA toolkit ptxas %s %s, so JIT-built CUDA extensions "
                                  "(flashinfer, torch.utils.cpp_extension) will fail on this GPU", why,
                                  f->cand[v->toolkit].path, fail);
        v->remedy = toolkit_remedy(f, v->gpu_name, r);
        free(fail);
    }
    free(why);
}

/* Heap: export the role's variable to a binary verified to work, else say
 * which toolkit to install. */
static char *triton_remedy(const pf_ptxas_facts *f, const pf_ptxas_verdict *v, const pf_ptxas_req *r)
{
    if (v->good >= 0) {
        const pf_ptxas_cand *g = &f->cand[v->good];
        return pf_xasprintf("export %s=%s (%s, CUDA %d.%d, verified to assemble %s) in the environment that "
                            "starts the server, on every node with this GPU", v->variable, g->path,
                            pf_ptxas_source_label(g->source), g->cuda_major, g->cuda_minor, v->gpu_name);
    }
    char *need = need_toolkit(v->gpu_name, r);
    char *s = pf_xasprintf("No ptxas on this node assembles %s.  Install %s and export %s=<toolkit>/bin/ptxas "
                           "(e.g. /usr/local/cuda/bin/ptxas).", v->gpu_name, need, v->variable);
    free(need);
    return s;
}

static void decide_triton(const pf_ptxas_facts *f, pf_ptxas_verdict *v, const pf_ptxas_req *r)
{
    bool bw = pf_ptxas_triton_splits(f) && f->arch >= 100;
    v->role = bw ? PF_PTXAS_ROLE_BLACKWELL : PF_PTXAS_ROLE_PTXAS;
    v->variable = bw ? "TRITON_PTXAS_BLACKWELL_PATH" : "TRITON_PTXAS_PATH";
    const char *binary = bw ? "ptxas-blackwell" : "ptxas";
    int env = find_src(f, bw ? PF_PTXAS_SRC_ENV_BW : PF_PTXAS_SRC_ENV);
    int bundled = find_src(f, bw ? PF_PTXAS_SRC_BUNDLED_BW : PF_PTXAS_SRC_BUNDLED);
    v->winner = resolve(f, env, v->variable, bundled, binary, &v->skipped_override, &v->winner_why);

    /* torch inductor's compile workers export TRITON_PTXAS_PATH=torch/bin/ptxas
     * when it is unset and that file is an executable regular file. */
    int torch = find_src(f, PF_PTXAS_SRC_TORCH);
    bool torch_exec = torch >= 0 && f->cand[torch].state != PF_PTXAS_ABSENT &&
                      f->cand[torch].state != PF_PTXAS_NOT_EXEC;
    if (!bw && env < 0 && torch_exec) {
        int ignored;
        v->inductor_applies = true;
        v->inductor_winner = resolve(f, torch, "TRITON_PTXAS_PATH", bundled, binary, &ignored, &v->inductor_why);
    }

    const char *note = "";
    if (bw && find_src(f, PF_PTXAS_SRC_ENV) >= 0)
        note = " (TRITON_PTXAS_PATH is set but has no effect here: Triton >= 3.6 uses ptxas-blackwell for "
               "arch >= 100)";
    else if (bw && torch_exec)
        note = " (torch inductor's TRITON_PTXAS_PATH=torch/bin/ptxas has no effect for arch >= 100 on "
               "Triton >= 3.6)";
    char tv[48];
    snprintf(tv, sizeof tv, "Triton %.32s", f->triton_version[0] ? f->triton_version : "(version unknown)");

    if (v->winner < 0) {
        v->status = PF_FAIL;
        v->summary = pf_xasprintf("%s cannot compile for %s: %s%s", tv, v->gpu_name, v->winner_why, note);
        v->remedy = triton_remedy(f, v, r);
        return;
    }
    const pf_ptxas_cand *w = &f->cand[v->winner];
    if (!works(w)) {
        char *fail = asm_failure(w, v->gpu_name, r);
        v->status = PF_FAIL;
        v->summary = pf_xasprintf("%s runs %s for %s [%s] and it %s%s", tv, w->path, v->gpu_name, v->winner_why,
                                  fail, note);
        v->remedy = triton_remedy(f, v, r);
        free(fail);
        return;
    }
    if (v->inductor_applies && (v->inductor_winner < 0 || !works(&f->cand[v->inductor_winner]))) {
        char *fail = v->inductor_winner < 0 ? pf_xstrdup(v->inductor_why)
                                            : asm_failure(&f->cand[v->inductor_winner], v->gpu_name, r);
        char *base = triton_remedy(f, v, r);
        v->status = PF_FAIL;
        v->summary = pf_xasprintf("%s's own kernels use %s (works), but torch.compile workers set "
                                  "TRITON_PTXAS_PATH=%s, which %s", tv, w->path, f->cand[torch].path, fail);
        v->remedy = pf_xasprintf("%s (inductor leaves a variable that is already set alone)", base);
        free(base);
        free(fail);
        return;
    }
    if (v->skipped_override >= 0) {
        const pf_ptxas_cand *s = &f->cand[v->skipped_override];
        v->status = PF_WARN;
        v->summary = pf_xasprintf("%s=%s is %s, so Triton silently falls back to %s (CUDA %d.%d), which "
                                  "assembles %s: the override you set is not in effect", v->variable, s->path,
                                  s->state == PF_PTXAS_ABSENT ? "missing" : "broken", w->path, w->cuda_major,
                                  w->cuda_minor, v->gpu_name);
        if (v->good >= 0 && v->good != v->winner)
            v->remedy = pf_xasprintf("`unset %s`, or point it at a working ptxas: export %s=%s (now it %s)",
                                     v->variable, v->variable, f->cand[v->good].path, s->state_detail);
        else
            v->remedy = pf_xasprintf("`unset %s` (now it %s)", v->variable, s->state_detail);
        return;
    }
    if (v->toolkit >= 0 && !works(&f->cand[v->toolkit])) {
        char *fail = asm_failure(&f->cand[v->toolkit], v->gpu_name, r);
        v->status = PF_WARN;
        v->summary = pf_xasprintf("%s runs %s (CUDA %d.%d), which assembles %s; but the CUDA toolkit ptxas %s "
                                  "%s, so JIT-built CUDA extensions (flashinfer, torch.utils.cpp_extension) "
                                  "will fail", tv, w->path, w->cuda_major, w->cuda_minor, v->gpu_name,
                                  f->cand[v->toolkit].path, fail);
        v->remedy = toolkit_remedy(f, v->gpu_name, r);
        free(fail);
        return;
    }
    v->status = PF_PASS;
    v->summary = pf_xasprintf("%s runs %s (CUDA %d.%d) for %s [%s] and it assembles %s%s", tv, w->path,
                              w->cuda_major, w->cuda_minor, v->gpu_name, v->winner_why, v->gpu_name, note);
}

void pf_ptxas_decide(const pf_ptxas_facts *f, pf_ptxas_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->winner = v->inductor_winner = v->skipped_override = v->toolkit = v->good = -1;
    pf_ptxas_gpu_name(f->arch, v->gpu_name, sizeof v->gpu_name);
    pf_ptxas_req r = pf_ptxas_arch_req(f->arch);
    /* The toolkit nvcc would use, in torch's CUDA_HOME order. */
    static const pf_ptxas_source tk[] = {PF_PTXAS_SRC_CUDA_HOME, PF_PTXAS_SRC_CUDA_PATH, PF_PTXAS_SRC_PATH,
                                         PF_PTXAS_SRC_CUDA_DEFAULT};
    for (size_t k = 0; k < sizeof tk / sizeof tk[0] && v->toolkit < 0; k++) {
        int i = find_src(f, tk[k]);
        if (i >= 0 && f->cand[i].state != PF_PTXAS_ABSENT)
            v->toolkit = i;
    }
    v->good = best_working(f, false);
    if (!f->triton_present)
        decide_toolkit_only(f, v, &r);
    else
        decide_triton(f, v, &r);
}

void pf_ptxas_verdict_free(pf_ptxas_verdict *v)
{
    free(v->summary);
    free(v->remedy);
    free(v->winner_why);
    free(v->inductor_why);
    v->summary = v->remedy = v->winner_why = v->inductor_why = NULL;
}

/* ---- evidence ---- */

static json_t *cand_ref(const pf_ptxas_facts *f, int i)
{
    if (i < 0)
        return json_null();
    return json_pack("{s:s,s:s,s:s}", "path", f->cand[i].path, "source", pf_ptxas_source_kind(f->cand[i].source),
                     "origin", pf_ptxas_source_label(f->cand[i].source));
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *ver_or_null(int v, int div)
{
    if (!v)
        return json_null();
    char b[16];
    snprintf(b, sizeof b, "%d.%d", v / div, v % div);
    return json_string(b);
}

json_t *pf_ptxas_evidence(const pf_ptxas_facts *f, const pf_ptxas_verdict *v)
{
    pf_ptxas_req r = pf_ptxas_arch_req(f->arch);
    json_t *o = json_object();
    json_t *t = json_object();
    char cc[16];
    snprintf(cc, sizeof cc, "%d.%d", f->arch / 10, f->arch % 10);
    json_object_set_new(t, "compute_capability", json_string(cc));
    json_object_set_new(t, "gpu_name", json_string(v->gpu_name));
    json_object_set_new(t, "min_ptx_isa", ver_or_null(r.min_isa, 10));
    json_object_set_new(t, "min_cuda", ver_or_null(r.min_cuda, 100));
    json_object_set_new(t, "max_cuda", ver_or_null(r.max_cuda, 100));
    json_object_set_new(o, "target", t);

    json_t *tr = json_object();
    json_object_set_new(tr, "present", json_boolean(f->triton_present));
    json_object_set_new(tr, "version", str_or_null(f->triton_version));
    json_object_set_new(tr, "uses_ptxas_blackwell_for_arch_ge_100", json_boolean(pf_ptxas_triton_splits(f)));
    json_object_set_new(o, "triton", tr);
    json_object_set_new(o, "python_env_found", json_boolean(f->pyenv_found));
    if (!f->pyenv_found)
        json_object_set_new(o, "python_env_error", str_or_null(f->pyenv_why));

    static const char *const roles[] = {"nvcc (no Triton)", "ptxas", "ptxas-blackwell"};
    json_object_set_new(o, "role", json_string(roles[v->role]));
    json_object_set_new(o, "variable", str_or_null(v->variable));
    json_object_set_new(o, "winner", cand_ref(f, v->winner));
    json_object_set_new(o, "winner_why", str_or_null(v->winner_why));
    if (v->inductor_applies) {
        json_object_set_new(o, "inductor_winner", cand_ref(f, v->inductor_winner));
        json_object_set_new(o, "inductor_why", str_or_null(v->inductor_why));
    }
    json_object_set_new(o, "silently_skipped_override", cand_ref(f, v->skipped_override));
    json_object_set_new(o, "toolkit_ptxas", cand_ref(f, v->toolkit));
    json_object_set_new(o, "verified_alternative", cand_ref(f, v->good));

    json_t *cands = json_array();
    for (size_t i = 0; i < f->ncand; i++) {
        const pf_ptxas_cand *c = &f->cand[i];
        json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "path", c->path, "source", pf_ptxas_source_kind(c->source),
                              "origin", pf_ptxas_source_label(c->source), "state", pf_ptxas_state_name(c->state));
        json_object_set_new(j, "state_detail", str_or_null(c->state_detail));
        if (c->state == PF_PTXAS_OK) {
            char ver[16];
            snprintf(ver, sizeof ver, "%d.%d", c->cuda_major, c->cuda_minor);
            json_object_set_new(j, "version", json_string(ver));
            json_object_set_new(j, "version_full", str_or_null(c->version_full));
            json_object_set_new(j, "ptx_isa", c->isa > 0 ? ver_or_null(c->isa, 10) : json_null());
        }
        json_t *a = json_pack("{s:s,s:s,s:b}", "gpu_name", v->gpu_name, "result", pf_ptxas_asm_name(c->asm_rc),
                              "ok", c->asm_rc == PF_PTXAS_ASM_OK);
        json_object_set_new(a, "error", str_or_null(c->asm_detail));
        json_object_set_new(j, "assemble", a);
        json_object_set_new(j, "wins", json_boolean((int)i == v->winner));
        json_array_append_new(cands, j);
    }
    json_object_set_new(o, "candidates", cands);
    return o;
}

/* ptxas_collect.c -- the collecting half of toolchain.ptxas (see ptxas.h):
 * find the candidate binaries, run each with a deadline, and the probe that
 * hands the facts to pf_ptxas_decide and writes the checks.
 *
 * Each distinct binary (by realpath) runs `--version` once and the stub once
 * per target arch, however many sources name it.  Stubs live in a private
 * mkdtemp directory that is removed again.
 */
#include "probes/toolchain/ptxas.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"

#define PTXAS_MAX_ARCHS 16

typedef struct ptxas_asm_entry {
    int arch;
    pf_ptxas_asm rc;
    char detail[PF_PTXAS_DETAIL_MAX];
} ptxas_asm_entry;

/* One distinct binary (candidates that resolve to the same file share it). */
typedef struct ptxas_bin {
    char key[PF_PTXAS_PATH_MAX]; /* realpath, or the path when it does not resolve */
    pf_ptxas_cand info;          /* path, state, version; source unused */
    size_t nasm;
    ptxas_asm_entry asm_[PTXAS_MAX_ARCHS];
} ptxas_bin;

struct pf_ptxas_probe {
    double timeout_s;
    char *tmpdir;
    pf_strv stubs;               /* files written into tmpdir */
    pf_ptxas_facts base;         /* candidates with --version facts, no target */
    int cand_bin[PF_PTXAS_MAX_CAND];
    ptxas_bin bins[PF_PTXAS_MAX_CAND];
    size_t nbins;
    size_t runs;
};

/* The state of a path the way exec (and so Python's subprocess) sees it. */
static void run_version(pf_ptxas_probe *p, pf_ptxas_cand *c)
{
    struct stat st;
    if (!c->path[0]) {
        /* Python runs '' through the PATH search and gets EACCES from the
         * directories: PermissionError, not a fallback (seen with Triton 3.6). */
        c->state = PF_PTXAS_NOT_EXEC;
        snprintf(c->state_detail, sizeof c->state_detail, "is set but empty");
        return;
    }
    if (stat(c->path, &st) != 0) {
        int e = errno;
        c->state = (e == ENOENT || e == ENOTDIR) ? PF_PTXAS_ABSENT : PF_PTXAS_NOT_EXEC;
        snprintf(c->state_detail, sizeof c->state_detail, "%s", e == ENOENT ? "does not exist" : strerror(e));
        return;
    }
    if (!S_ISREG(st.st_mode) || access(c->path, X_OK) != 0) {
        c->state = PF_PTXAS_NOT_EXEC;
        if (S_ISDIR(st.st_mode))
            snprintf(c->state_detail, sizeof c->state_detail, "is a directory");
        else if (!S_ISREG(st.st_mode))
            snprintf(c->state_detail, sizeof c->state_detail, "is not a regular file");
        else
            snprintf(c->state_detail, sizeof c->state_detail, "is not executable (mode %04o)",
                     (unsigned)(st.st_mode & 07777));
        return;
    }
    char *argv[] = {c->path, "--version", NULL};
    pf_proc_opts o = {.timeout_s = p->timeout_s, .max_out = 64 * 1024};
    pf_proc_result res = {0};
    pf_err err = {{0}};
    p->runs++;
    if (pf_proc_run(argv, &o, &res, &err) != 0) {
        c->state = PF_PTXAS_START_FAILED;
        pf_strlcpy(c->state_detail, err.msg, sizeof c->state_detail);
        return;
    }
    char how[96], line[128];
    pf_proc_describe(&res, how, sizeof how);
    pf_ptxas_first_line(res.out, line, sizeof line);
    if (res.timed_out) {
        c->state = PF_PTXAS_HUNG;
        snprintf(c->state_detail, sizeof c->state_detail, "`--version` %s", how);
    } else if (!res.exited || res.exit_code != 0) {
        c->state = PF_PTXAS_BAD_VERSION;
        snprintf(c->state_detail, sizeof c->state_detail, "`--version` %s: %s", how, line[0] ? line : "no output");
    } else if (pf_ptxas_parse_version(res.out, &c->cuda_major, &c->cuda_minor, c->version_full,
                                      sizeof c->version_full) != 0) {
        c->state = PF_PTXAS_BAD_VERSION;
        snprintf(c->state_detail, sizeof c->state_detail, "`--version` printed no \"release X.Y\": %s",
                 line[0] ? line : "no output");
    } else {
        c->state = PF_PTXAS_OK;
        c->isa = pf_ptxas_triton_isa(c->cuda_major, c->cuda_minor);
    }
    pf_proc_result_free(&res);
}

static int bin_for(pf_ptxas_probe *p, const char *path)
{
    char key[PF_PTXAS_PATH_MAX];
    char *rp = path[0] ? realpath(path, NULL) : NULL;
    pf_strlcpy(key, rp ? rp : path, sizeof key);
    free(rp);
    for (size_t i = 0; i < p->nbins; i++)
        if (strcmp(p->bins[i].key, key) == 0)
            return (int)i;
    ptxas_bin *b = &p->bins[p->nbins];
    memset(b, 0, sizeof *b);
    pf_strlcpy(b->key, key, sizeof b->key);
    pf_strlcpy(b->info.path, path, sizeof b->info.path);
    run_version(p, &b->info);
    return (int)p->nbins++;
}

static void add_cand(pf_ptxas_probe *p, pf_ptxas_source src, const char *path)
{
    pf_ptxas_facts *f = &p->base;
    if (f->ncand >= PF_PTXAS_MAX_CAND || !path)
        return;
    for (size_t i = 0; i < f->ncand; i++)
        if (f->cand[i].source == src)
            return; /* one per source */
    pf_ptxas_cand *c = &f->cand[f->ncand];
    memset(c, 0, sizeof *c);
    if (strlen(path) >= sizeof c->path) {
        c->source = src;
        pf_strlcpy(c->path, path, sizeof c->path);
        c->state = PF_PTXAS_ABSENT;
        snprintf(c->state_detail, sizeof c->state_detail, "path longer than %zu bytes", sizeof c->path - 1);
        p->cand_bin[f->ncand++] = -1;
        return;
    }
    int b = bin_for(p, path);
    *c = p->bins[b].info;
    c->source = src;
    pf_strlcpy(c->path, path, sizeof c->path); /* as the user wrote it */
    p->cand_bin[f->ncand++] = b;
}

/* Like subprocess: a value without '/' is looked up in PATH. */
static char *search_path(const char *name, const char *path_env)
{
    if (!name)
        return NULL;
    if (strchr(name, '/') || !name[0])
        return pf_xstrdup(name);
    char *copy = pf_xstrdup(path_env ? path_env : ""), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *cand = pf_path_join(*d ? d : ".", name);
        if (access(cand, X_OK) == 0 && pf_is_file(cand))
            found = cand;
        else
            free(cand);
    }
    free(copy);
    return found ? found : pf_xstrdup(name);
}

static void add_joined(pf_ptxas_probe *p, pf_ptxas_source src, const char *dir, const char *rel)
{
    if (!dir || !*dir)
        return;
    char *path = pf_path_join(dir, rel);
    add_cand(p, src, path);
    free(path);
}

static void collect_python(pf_ptxas_probe *p, const pf_ptxas_inputs *in)
{
    pf_ptxas_facts *f = &p->base;
    f->triton_major = f->triton_minor = -1;
    f->pyenv_found = in->pyenv != NULL;
    if (!in->pyenv) {
        pf_strlcpy(f->pyenv_why, in->pyenv_why ? in->pyenv_why : "unknown", sizeof f->pyenv_why);
        return;
    }
    /* torch nightlies depend on the "pytorch-triton" distribution instead. */
    char *ver = pf_pyenv_dist_version(in->pyenv, "triton");
    if (!ver)
        ver = pf_pyenv_dist_version(in->pyenv, "pytorch-triton");
    char *dir = pf_pyenv_package_dir(in->pyenv, "triton");
    f->triton_present = ver || dir;
    if (ver) {
        pf_strlcpy(f->triton_version, ver, sizeof f->triton_version);
        if (sscanf(ver, "%d.%d", &f->triton_major, &f->triton_minor) != 2)
            f->triton_major = f->triton_minor = -1;
    }
    if (dir) {
        add_joined(p, PF_PTXAS_SRC_BUNDLED, dir, "backends/nvidia/bin/ptxas");
        add_joined(p, PF_PTXAS_SRC_BUNDLED_BW, dir, "backends/nvidia/bin/ptxas-blackwell");
    }
    free(ver);
    free(dir);
    char *torch = pf_pyenv_package_dir(in->pyenv, "torch");
    add_joined(p, PF_PTXAS_SRC_TORCH, torch, "bin/ptxas");
    free(torch);
}

pf_ptxas_probe *pf_ptxas_collect(const pf_ptxas_inputs *in, pf_err *err)
{
    const char *tmp = in->tmpdir;
    char *tmpl = pf_xasprintf("%s/preflight-ptxas-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        pf_err_errno(err, errno, "cannot create a scratch directory %s for the ptxas stub", tmpl);
        free(tmpl);
        return NULL;
    }
    pf_ptxas_probe *p = pf_xcalloc(1, sizeof *p);
    p->tmpdir = tmpl;
    p->timeout_s = in->timeout_s > 0 ? in->timeout_s : 10.0;

    collect_python(p, in);
    char *v = search_path(in->env_ptxas, in->path_env);
    add_cand(p, PF_PTXAS_SRC_ENV, v);
    free(v);
    v = search_path(in->env_ptxas_bw, in->path_env);
    add_cand(p, PF_PTXAS_SRC_ENV_BW, v);
    free(v);
    add_joined(p, PF_PTXAS_SRC_CUDA_HOME, in->cuda_home, "bin/ptxas");
    add_joined(p, PF_PTXAS_SRC_CUDA_PATH, in->cuda_path, "bin/ptxas");
    v = search_path("ptxas", in->path_env);
    if (strchr(v, '/'))
        add_cand(p, PF_PTXAS_SRC_PATH, v);
    free(v);
    add_joined(p, PF_PTXAS_SRC_CUDA_DEFAULT, in->default_cuda ? in->default_cuda : "/usr/local/cuda",
               "bin/ptxas");
    return p;
}

static const char *stub_file(pf_ptxas_probe *p, int arch, int isa, pf_err *err)
{
    char gpu[16];
    pf_ptxas_gpu_name(arch, gpu, sizeof gpu);
    char *path = pf_xasprintf("%s/probe_%s_isa%d.ptx", p->tmpdir, gpu, isa);
    for (size_t i = 0; i < p->stubs.n; i++)
        if (strcmp(p->stubs.v[i], path) == 0) {
            free(path);
            return p->stubs.v[i];
        }
    /* The smallest kernel Triton could hand over: same .version/.target
     * lines as Triton's make_ptx writes, and a single ret. */
    FILE *fp = fopen(path, "w");
    if (!fp) {
        pf_err_errno(err, errno, "cannot write the ptxas stub %s", path);
        free(path);
        return NULL;
    }
    int wr = fprintf(fp, ".version %d.%d\n.target %s\n.address_size 64\n\n.visible .entry pf_probe()\n{\n\tret;\n}\n",
                     isa / 10, isa % 10, gpu);
    int e = errno;
    if (fclose(fp) != 0 || wr < 0) {
        pf_err_errno(err, wr < 0 ? e : errno, "cannot write the ptxas stub %s", path);
        unlink(path);
        free(path);
        return NULL;
    }
    pf_strv_push_owned(&p->stubs, path);
    return path;
}

static int run_stub(pf_ptxas_probe *p, ptxas_bin *b, int arch, ptxas_asm_entry *e, pf_err *err)
{
    pf_ptxas_cand *c = &b->info;
    e->arch = arch;
    if (c->isa <= 0) {
        e->rc = PF_PTXAS_ASM_FAILED;
        snprintf(e->detail, sizeof e->detail, "CUDA %d.%d is older than Triton supports (10.0)", c->cuda_major,
                 c->cuda_minor);
        return 0;
    }
    const char *stub = stub_file(p, arch, c->isa, err);
    if (!stub)
        return -1;
    char gpu[16], opt[40];
    pf_ptxas_gpu_name(arch, gpu, sizeof gpu);
    snprintf(opt, sizeof opt, "--gpu-name=%s", gpu);
    char *out = pf_xasprintf("%s/probe.cubin", p->tmpdir);
    char *argv[] = {c->path, opt, (char *)stub, "-o", out, NULL};
    pf_proc_opts o = {.timeout_s = p->timeout_s, .max_out = 64 * 1024, .cwd = p->tmpdir};
    pf_proc_result res = {0};
    pf_err perr = {{0}};
    p->runs++;
    if (pf_proc_run(argv, &o, &res, &perr) != 0) {
        e->rc = PF_PTXAS_ASM_FAILED;
        pf_strlcpy(e->detail, perr.msg, sizeof e->detail);
    } else if (res.timed_out) {
        e->rc = PF_PTXAS_ASM_HUNG;
        pf_proc_describe(&res, e->detail, sizeof e->detail);
    } else {
        e->rc = pf_ptxas_classify(res.exit_code, res.exited, res.out, e->detail, sizeof e->detail);
        if (e->rc == PF_PTXAS_ASM_FAILED && !e->detail[0])
            pf_proc_describe(&res, e->detail, sizeof e->detail);
    }
    if (res.out)
        pf_proc_result_free(&res);
    unlink(out);
    free(out);
    return 0;
}

int pf_ptxas_assemble(pf_ptxas_probe *p, int arch, pf_ptxas_facts *facts, pf_err *err)
{
    *facts = p->base;
    facts->arch = arch;
    for (size_t i = 0; i < facts->ncand; i++) {
        pf_ptxas_cand *c = &facts->cand[i];
        c->asm_rc = PF_PTXAS_ASM_NOT_RUN;
        c->asm_detail[0] = '\0';
        int bi = p->cand_bin[i];
        if (bi < 0 || c->state != PF_PTXAS_OK)
            continue;
        ptxas_bin *b = &p->bins[bi];
        ptxas_asm_entry *e = NULL;
        for (size_t k = 0; k < b->nasm && !e; k++)
            if (b->asm_[k].arch == arch)
                e = &b->asm_[k];
        ptxas_asm_entry tmp;
        if (!e) {
            e = b->nasm < PTXAS_MAX_ARCHS ? &b->asm_[b->nasm] : &tmp;
            if (run_stub(p, b, arch, e, err) != 0)
                return -1;
            if (e != &tmp)
                b->nasm++;
        }
        c->asm_rc = e->rc;
        pf_strlcpy(c->asm_detail, e->detail, sizeof c->asm_detail);
    }
    return 0;
}

size_t pf_ptxas_runs(const pf_ptxas_probe *p)
{
    return p->runs;
}

void pf_ptxas_probe_free(pf_ptxas_probe *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->stubs.n; i++)
        unlink(p->stubs.v[i]);
    pf_strv_free(&p->stubs);
    if (p->tmpdir)
        rmdir(p->tmpdir);
    free(p->tmpdir);
    free(p);
}

/* ==== the probe ==== */

static json_t *env_json(const pf_env *env, const char *name)
{
    const char *v = pf_env_get(env, name);
    return v ? json_string(v) : json_null();
}

void pf_probe_toolchain_ptxas(pf_probe_ctx *ctx)
{
    const pf_target *t;
    size_t n = pf_ctx_targets(ctx, &t);
    if (n == 0) {
        pf_check *c = pf_probe_check_add(ctx, pf_probe_toolchain_ptxas);
        pf_check_set(c, PF_SKIP, "no GPU found and no --arch given: no target to assemble for");
        return;
    }
    double t0 = pf_now();
    const char *why = NULL;
    pf_pyenv *env = pf_ctx_pyenv(ctx, &why);
    pf_ptxas_inputs in = {
        .pyenv = env,
        .pyenv_why = why,
        /* Which ptxas Triton picks is decided by the judged environment */
        .env_ptxas = pf_ctx_getenv(ctx, "TRITON_PTXAS_PATH"),
        .env_ptxas_bw = pf_ctx_getenv(ctx, "TRITON_PTXAS_BLACKWELL_PATH"),
        .cuda_home = pf_ctx_getenv(ctx, "CUDA_HOME"),
        .cuda_path = pf_ctx_getenv(ctx, "CUDA_PATH"),
        .path_env = pf_ctx_getenv(ctx, "PATH"),
        /* ...but the scratch directory is preflight's own */
        .tmpdir = pf_env_get(ctx->env_own, "TMPDIR"),
        .timeout_s = ctx->opts->tool_timeout_s,
    };
    pf_err err = {{0}};
    pf_ptxas_probe *p = pf_ptxas_collect(&in, &err);
    pf_ptxas_facts *facts = pf_xmalloc(sizeof *facts);
    for (size_t i = 0; i < n; i++) {
        int arch = t[i].cc_major * 10 + t[i].cc_minor;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || t[k].cc_major * 10 + t[k].cc_minor == arch;
        if (seen)
            continue; /* one check per distinct arch; its evidence lists every GPU */
        pf_check *c = pf_probe_check_add(ctx, pf_probe_toolchain_ptxas);
        json_t *labels = json_array();
        for (size_t k = i; k < n; k++)
            if (t[k].cc_major * 10 + t[k].cc_minor == arch)
                json_array_append_new(labels, json_string(t[k].label));
        size_t same = json_array_size(labels);
        json_object_set_new(pf_check_evidence(c), "targets", labels);
        char label[sizeof t[i].label + 32];
        if (same > 1)
            snprintf(label, sizeof label, "%s and %zu more", t[i].label, same - 1);
        else
            snprintf(label, sizeof label, "%s", t[i].label);
        double t1 = pf_now();
        if (!p || pf_ptxas_assemble(p, arch, facts, &err) != 0) {
            pf_check_set(c, PF_ERROR, "%s: could not probe ptxas: %s", label, err.msg);
            continue;
        }
        pf_ptxas_verdict v;
        pf_ptxas_decide(facts, &v);
        pf_check_set(c, v.status, "%s: %s", label, v.summary);
        if (v.remedy)
            pf_check_remedy(c, "%s", v.remedy);
        json_t *ev = pf_check_evidence(c);
        json_object_update_new(ev, pf_ptxas_evidence(facts, &v));
        json_t *vars = json_object();
        json_object_set_new(vars, "TRITON_PTXAS_PATH", env_json(ctx->env, "TRITON_PTXAS_PATH"));
        json_object_set_new(vars, "TRITON_PTXAS_BLACKWELL_PATH", env_json(ctx->env, "TRITON_PTXAS_BLACKWELL_PATH"));
        json_object_set_new(vars, "CUDA_HOME", env_json(ctx->env, "CUDA_HOME"));
        json_object_set_new(vars, "CUDA_PATH", env_json(ctx->env, "CUDA_PATH"));
        json_object_set_new(ev, "environment", vars);
        pf_ptxas_verdict_free(&v);
        /* The first check also carries the one-off --version runs. */
        pf_check_set_duration(c, pf_now() - (i == 0 ? t0 : t1));
    }
    free(facts);
    pf_ptxas_probe_free(p);
}

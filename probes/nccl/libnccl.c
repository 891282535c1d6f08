/* libnccl.c -- find the libnccl.so.2 the server loads; version and build-id (see libnccl.h). */
#include "probes/nccl/libnccl.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proc.h"
#include "probes/kernels/elfso.h"

#define SONAME "libnccl.so.2"

int pf_libnccl_code(int major, int minor, int patch)
{
    if (major <= 2 && minor <= 8)
        return major * 1000 + minor * 100 + patch;
    return major * 10000 + minor * 100 + patch;
}

void pf_libnccl_code_str(int code, char *buf, size_t len)
{
    if (code <= 0)
        snprintf(buf, len, "unknown");
    else if (code >= 10000)
        snprintf(buf, len, "%d.%d.%d", code / 10000, code % 10000 / 100, code % 100);
    else
        snprintf(buf, len, "%d.%d.%d", code / 1000, code % 1000 / 100, code % 100);
}

int pf_libnccl_parse_banner(const char *s, int *code, char *ver, size_t vlen, char *cuda, size_t clen)
{
    static const char pre[] = "NCCL version ";
    if (!s || strncmp(s, pre, sizeof pre - 1) != 0)
        return -1;
    const char *p = s + sizeof pre - 1;
    int x, y, z, n = 0;
    if (sscanf(p, "%d.%d.%d%n", &x, &y, &z, &n) != 3 || x < 0 || y < 0 || z < 0 || y > 99 || z > 99)
        return -1;
    *code = pf_libnccl_code(x, y, z);
    snprintf(ver, vlen, "%d.%d.%d", x, y, z);
    cuda[0] = '\0';
    p += n;
    int a, b;
    if (sscanf(p, "+cuda%d.%d", &a, &b) == 2 || sscanf(p, " compiled with CUDA %d.%d", &a, &b) == 2)
        snprintf(cuda, clen, "%d.%d", a, b);
    return 0;
}

static bool is_banner(const char *s)
{
    int code;
    char v[24], c[16];
    return pf_libnccl_parse_banner(s, &code, v, sizeof v, c, sizeof c) == 0;
}

int pf_libnccl_dlopen_version(const char *path, int *code, pf_err *err)
{
    void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    if (!h)
        return pf_err_set(err, "dlopen %s: %s", path, dlerror());
    int (*get)(int *) = (int (*)(int *))dlsym(h, "ncclGetVersion");
    if (!get) {
        dlclose(h);
        return pf_err_set(err, "%s has no ncclGetVersion symbol", path);
    }
    int v = 0, rc = get(&v);
    dlclose(h);
    if (rc != 0 || v <= 0)
        return pf_err_set(err, "ncclGetVersion in %s returned %d (version %d)", path, rc, v);
    *code = v;
    return 0;
}

int pf_libnccl_inspect(const char *path, bool try_dlopen, pf_libnccl_info *out, pf_err *err)
{
    pf_strlcpy(out->path, path, sizeof out->path);
    pf_elfso so;
    if (pf_elfso_read(path, &so, err) != 0)
        return -1;
    pf_strlcpy(out->build_id, so.build_id, sizeof out->build_id);
    pf_elfso_free(&so);

    pf_err serr = {{0}};
    char *banner = pf_elfso_find_string(path, "NCCL version ", is_banner, &serr);
    if (banner) {
        pf_strlcpy(out->banner, banner, sizeof out->banner);
        if (pf_libnccl_parse_banner(banner, &out->string_code, out->version, sizeof out->version, out->cuda,
                                    sizeof out->cuda) != 0)
            out->string_code = 0;
        free(banner);
    }
    if (try_dlopen) {
        pf_err derr = {{0}};
        if (pf_libnccl_dlopen_version(path, &out->dlopen_code, &derr) != 0)
            pf_strlcpy(out->dlopen_error, derr.msg, sizeof out->dlopen_error);
    }
    out->version_code = out->dlopen_code ? out->dlopen_code : out->string_code;
    if (!out->version_code)
        return pf_err_set(err, "cannot read the NCCL version of %s: %s%s%s", path,
                          banner ? "unparsable banner" : serr.msg, out->dlopen_error[0] ? "; " : "",
                          out->dlopen_error);
    pf_libnccl_code_str(out->version_code, out->version, sizeof out->version);
    return 0;
}

/* ---- the loader's search ------------------------------------------------- */

typedef struct search {
    pf_libnccl_info *out;
    bool found;
} search;

static void note(search *s, const char *where, const char *why)
{
    size_t used = strlen(s->out->searched);
    snprintf(s->out->searched + used, sizeof s->out->searched - used, "%s%s (%s)", used ? "; " : "", where, why);
}

/* A file the loader would accept: exists, ELF of our machine. */
static bool try_file(search *s, const char *path, const char *why)
{
    if (s->found)
        return true;
    if (!pf_is_file(path))
        return false;
    pf_elfso so;
    pf_err e;
    if (pf_elfso_read(path, &so, &e) != 0)
        return false;
    bool ok = so.machine == pf_elfso_host_machine();
    pf_elfso_free(&so);
    if (!ok)
        return false;
    pf_strlcpy(s->out->path, path, sizeof s->out->path);
    pf_strlcpy(s->out->origin, why, sizeof s->out->origin);
    s->found = true;
    return true;
}

static bool try_dir(search *s, const char *dir, const char *why)
{
    if (s->found || !dir || !*dir)
        return s->found;
    char *p = pf_path_join(dir, SONAME);
    note(s, dir, why);
    bool ok = try_file(s, p, why);
    free(p);
    return ok;
}

/* A ':'-separated list (DT_RPATH, DT_RUNPATH, LD_LIBRARY_PATH) with $ORIGIN expanded. */
static void try_list(search *s, const char *list, const char *origin, const char *why)
{
    if (!list || s->found)
        return;
    char *copy = pf_xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ":;", &save); tok && !s->found; tok = strtok_r(NULL, ":;", &save)) {
        const char *rest = NULL;
        if (pf_str_startswith(tok, "$ORIGIN"))
            rest = tok + 7;
        else if (pf_str_startswith(tok, "${ORIGIN}"))
            rest = tok + 9;
        if (rest && origin) {
            char *dir = pf_xasprintf("%s%s", origin, rest);
            try_dir(s, dir, why);
            free(dir);
        } else if (!rest) {
            try_dir(s, tok, why);
        }
    }
    free(copy);
}

static void try_cache(search *s, const char *ldconfig_p)
{
    if (!ldconfig_p || s->found)
        return;
    note(s, "ld.so.cache", "ldconfig -p");
    const char *p = ldconfig_p;
    while (p && *p && !s->found) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1200];
        if (n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            char *t = pf_str_trim(line);
            char *arrow = strstr(t, "=> ");
            if (pf_str_startswith(t, SONAME " ") && arrow)
                try_file(s, pf_str_trim(arrow + 3), "ld.so.cache");
        }
        p = nl ? nl + 1 : NULL;
    }
}

static void try_defaults(search *s)
{
    static const char *const dirs[] = {
#if defined(__x86_64__)
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
        "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
#endif
        "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !s->found; i++)
        try_dir(s, dirs[i], "default directory");
}

static void find_wheel(const pf_pyenv *env, pf_libnccl_info *out)
{
    for (size_t i = 0; env && i < pf_pyenv_site_count(env) && !out->wheel_path[0]; i++) {
        char *p = pf_xasprintf("%s/nvidia/nccl/lib/" SONAME, pf_pyenv_site(env, i));
        if (pf_is_file(p))
            pf_strlcpy(out->wheel_path, p, sizeof out->wheel_path);
        free(p);
    }
    static const char *const dists[] = {"nvidia-nccl-cu13", "nvidia-nccl-cu12", "nvidia-nccl-cu11"};
    for (size_t i = 0; env && i < sizeof dists / sizeof dists[0] && !out->wheel_dist[0]; i++) {
        char *v = pf_pyenv_dist_version(env, dists[i]);
        if (v) {
            pf_strlcpy(out->wheel_dist, dists[i], sizeof out->wheel_dist);
            pf_strlcpy(out->wheel_dist_version, v, sizeof out->wheel_dist_version);
            free(v);
        }
    }
}

/* Replay the loader on torch's libtorch_cuda.so.  Returns true when torch
 * decided the question (found or not), false when there is no usable torch. */
static bool search_as_torch(search *s, const pf_pyenv *env, const char *ldlp, const char *ldconfig_p)
{
    char *torch = env ? pf_pyenv_package_dir(env, "torch") : NULL;
    if (!torch)
        return false;
    char *libdir = pf_path_join(torch, "lib");
    char *tc = pf_path_join(libdir, "libtorch_cuda.so");
    free(torch);
    pf_elfso so;
    pf_err e;
    bool decided = false;
    if (pf_is_file(tc) && pf_elfso_read(tc, &so, &e) == 0) {
        if (pf_strv_contains(&so.needed, SONAME)) {
            decided = true;
            if (so.rpath && !so.runpath)
                try_list(s, so.rpath, libdir, "torch RPATH");
            try_list(s, ldlp, NULL, "LD_LIBRARY_PATH");
            if (so.runpath)
                try_list(s, so.runpath, libdir, "torch RUNPATH");
            try_cache(s, ldconfig_p);
            try_defaults(s);
        } else {
            pf_err se;
            char *b = pf_elfso_find_string(tc, "NCCL version ", is_banner, &se);
            if (b) {
                decided = true;
                note(s, tc, "NCCL linked into torch");
                pf_strlcpy(s->out->path, tc, sizeof s->out->path);
                pf_strlcpy(s->out->origin, "linked into libtorch_cuda.so", sizeof s->out->origin);
                s->out->static_in_torch = true;
                s->found = true;
                free(b);
            }
        }
        pf_elfso_free(&so);
    }
    free(tc);
    free(libdir);
    return decided;
}

int pf_libnccl_locate_in(const pf_pyenv *env, const char *ld_library_path, const char *ldconfig_p,
                         bool try_dlopen, pf_libnccl_info *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    search s = {.out = out};
    find_wheel(env, out);
    if (!search_as_torch(&s, env, ld_library_path, ldconfig_p)) {
        if (out->wheel_path[0]) {
            note(&s, out->wheel_path, "nvidia-nccl wheel");
            try_file(&s, out->wheel_path, "nvidia-nccl wheel");
        }
        char *torch = env ? pf_pyenv_package_dir(env, "torch") : NULL;
        if (torch) {
            char *d = pf_path_join(torch, "lib");
            try_dir(&s, d, "torch/lib");
            free(d);
            free(torch);
        }
        try_list(&s, ld_library_path, NULL, "LD_LIBRARY_PATH");
        try_cache(&s, ldconfig_p);
        try_defaults(&s);
        try_dir(&s, "/usr/local/cuda/lib64", "CUDA toolkit, not on the loader path");
    }
    if (!s.found)
        return pf_err_set(err, "no " SONAME " found (searched: %s)", out->searched[0] ? out->searched : "nothing");

    bool is_static = out->static_in_torch;
    if (pf_libnccl_inspect(out->path, try_dlopen && !is_static, out, err) != 0)
        return -1;

    if (out->wheel_path[0]) {
        pf_libnccl_info w;
        memset(&w, 0, sizeof w);
        pf_err we;
        if (pf_libnccl_inspect(out->wheel_path, false, &w, &we) == 0)
            out->wheel_code = w.version_code;
        pf_strlcpy(out->wheel_build_id, w.build_id, sizeof out->wheel_build_id);
        char a[PATH_MAX], b[PATH_MAX];
        bool same_file = realpath(out->path, a) && realpath(out->wheel_path, b) && strcmp(a, b) == 0;
        if (!same_file) {
            if (out->build_id[0] && out->wheel_build_id[0] && !is_static)
                out->differs_from_wheel = strcmp(out->build_id, out->wheel_build_id) != 0;
            else
                out->differs_from_wheel = out->wheel_code && out->version_code != out->wheel_code;
        }
    }
    return 0;
}

int pf_libnccl_locate(pf_probe_ctx *ctx, pf_libnccl_info *out, pf_err *err)
{
    const pf_pyenv *env = pf_ctx_pyenv(ctx, NULL);
    char *ldconfig = pf_which("ldconfig");
    if (!ldconfig && pf_is_file("/sbin/ldconfig"))
        ldconfig = pf_xstrdup("/sbin/ldconfig");
    if (!ldconfig && pf_is_file("/usr/sbin/ldconfig"))
        ldconfig = pf_xstrdup("/usr/sbin/ldconfig");
    char *cache = NULL;
    if (ldconfig) {
        char *argv[] = {ldconfig, "-p", NULL};
        pf_proc_opts po = {.timeout_s = ctx->opts->tool_timeout_s, .max_out = 4u << 20};
        pf_proc_result r;
        pf_err pe;
        if (pf_proc_run(argv, &po, &r, &pe) == 0) {
            if (r.exited && r.exit_code == 0 && !r.out_truncated)
                cache = pf_xstrdup(r.out ? r.out : "");
            pf_proc_result_free(&r);
        }
        free(ldconfig);
    }
    int rc = pf_libnccl_locate_in(env, pf_ctx_getenv(ctx, "LD_LIBRARY_PATH"), cache, true, out, err);
    free(cache);
    return rc;
}

int pf_libnccl_version(pf_probe_ctx *ctx)
{
    pf_libnccl_info info;
    pf_err err;
    if (pf_libnccl_locate(ctx, &info, &err) != 0)
        return 0;
    return info.version_code;
}

json_t *pf_libnccl_to_json(const pf_libnccl_info *i)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(i->path));
    json_object_set_new(o, "origin", json_string(i->origin));
    json_object_set_new(o, "version", json_string(i->version));
    json_object_set_new(o, "version_code", json_integer(i->version_code));
    if (i->cuda[0])
        json_object_set_new(o, "built_for_cuda", json_string(i->cuda));
    if (i->banner[0])
        json_object_set_new(o, "banner", json_string(i->banner));
    json_object_set_new(o, "banner_version_code", json_integer(i->string_code));
    json_object_set_new(o, "ncclGetVersion", i->dlopen_code ? json_integer(i->dlopen_code) : json_null());
    if (i->dlopen_error[0])
        json_object_set_new(o, "dlopen_error", json_string(i->dlopen_error));
    json_object_set_new(o, "build_id", json_string(i->build_id));
    json_object_set_new(o, "static_in_torch", json_boolean(i->static_in_torch));
    if (i->wheel_path[0] || i->wheel_dist[0]) {
        json_t *w = json_object();
        json_object_set_new(w, "path", json_string(i->wheel_path));
        json_object_set_new(w, "dist", json_string(i->wheel_dist));
        json_object_set_new(w, "dist_version", json_string(i->wheel_dist_version));
        json_object_set_new(w, "version_code", json_integer(i->wheel_code));
        json_object_set_new(w, "build_id", json_string(i->wheel_build_id));
        json_object_set_new(o, "wheel", w);
    }
    json_object_set_new(o, "differs_from_wheel", json_boolean(i->differs_from_wheel));
    json_object_set_new(o, "searched", json_string(i->searched));
    return o;
}

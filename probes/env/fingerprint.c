/* fingerprint.c -- the `env.fingerprint` check (see fingerprint.h).
 *
 * Nothing here runs Python: versions come from dist-info METADATA, the NCCL
 * version from the library itself, so a node whose interpreter is broken
 * still yields a complete fingerprint.
 */
#include "probes/env/fingerprint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "probes/gpu/gpu_driver.h"
#include "probes/nccl/libnccl.h"


const char *const pf_fingerprint_dists[] = {
    "torch", "triton", "sglang", "sgl-kernel", "vllm", "flashinfer-python", "flashinfer",
    "nvidia-nccl-cu12", "nvidia-nccl-cu13", "ray", NULL,
};

static const char *const env_prefixes[] = {"NCCL_", "GLOO_", "TRITON_", "CUDA_", "TORCH_", "RAY_",
                                           "PYTORCH_", "SGLANG_", "VLLM_"};
/* Loader variables decide which libnccl is loaded (see libnccl.h). */
static const char *const env_exact[] = {"LD_LIBRARY_PATH", "LD_PRELOAD"};

bool pf_fingerprint_env_wanted(const char *name)
{
    for (size_t i = 0; i < sizeof env_prefixes / sizeof env_prefixes[0]; i++)
        if (pf_str_startswith(name, env_prefixes[i]))
            return true;
    for (size_t i = 0; i < sizeof env_exact / sizeof env_exact[0]; i++)
        if (strcmp(name, env_exact[i]) == 0)
            return true;
    return false;
}

bool pf_fingerprint_env_secret(const char *name)
{
    static const char *const marks[] = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(name, marks[i]))
            return true;
    return false;
}

static void add_error(json_t *facts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(json_t *facts, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = pf_xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(facts, "errors"), json_string(s));
    free(s);
}

/* The variables of the judged environment that matter to the server, in
 * the environment's own order. */
static json_t *collect_env(const pf_env *env)
{
    json_t *o = json_object();
    for (size_t i = 0; i < pf_env_count(env); i++) {
        const char *name = pf_env_name(env, i);
        if (strlen(name) >= 256 || !pf_fingerprint_env_wanted(name))
            continue;
        json_object_set_new(o, name,
                            json_string(pf_fingerprint_env_secret(name) ? "<redacted>" : pf_env_value(env, i)));
    }
    return o;
}

/* Raw lines of each nccl.conf NCCL may read; the network checks parse them. */
static json_t *collect_nccl_conf(const pf_env *env, json_t *facts)
{
    json_t *a = json_array();
    const char *home = pf_env_get(env, "HOME");
    const char *conf = pf_env_get(env, "NCCL_CONF_FILE");
    char *paths[3] = {
        pf_xstrdup("/etc/nccl.conf"),
        home && *home ? pf_path_join(home, ".nccl.conf") : NULL,
        conf && *conf ? pf_xstrdup(conf) : NULL,
    };
    for (int i = 0; i < 3; i++) {
        if (!paths[i])
            continue;
        json_t *f = json_object();
        json_object_set_new(f, "path", json_string(paths[i]));
        if (access(paths[i], F_OK) != 0) {
            json_object_set_new(f, "exists", json_false());
            if (i == 2)
                add_error(facts, "NCCL_CONF_FILE=%s does not exist", paths[i]);
        } else {
            json_object_set_new(f, "exists", json_true());
            pf_err e;
            char *text = pf_read_file(paths[i], 1 << 16, NULL, &e);
            if (!text) {
                json_object_set_new(f, "error", json_string(e.msg));
                add_error(facts, "%s", e.msg);
            } else {
                json_t *lines = json_array();
                char *save = NULL;
                for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                    json_array_append_new(lines, json_string(l));
                json_object_set_new(f, "lines", lines);
                free(text);
            }
        }
        json_array_append_new(a, f);
        free(paths[i]);
    }
    return a;
}

static void collect_host(const pf_env *env, json_t *facts)
{
    struct utsname u;
    if (uname(&u) == 0) {
        json_object_set_new(facts, "kernel",
                            json_pack("{s:s,s:s,s:s,s:s}", "sysname", u.sysname, "release", u.release,
                                      "version", u.version, "machine", u.machine));
    } else {
        json_object_set_new(facts, "kernel", json_null());
        add_error(facts, "uname: %s", strerror(errno));
    }
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0 || !host[0]) {
        add_error(facts, "gethostname: %s", strerror(errno));
        host[0] = '\0';
    }
    host[sizeof host - 1] = '\0';
    json_object_set_new(facts, "hostname", host[0] ? json_string(host) : json_null());
    char *boot = pf_read_line("/proc/sys/kernel/random/boot_id");
    json_object_set_new(facts, "boot_id", boot ? json_string(boot) : json_null());
    if (!boot)
        add_error(facts, "cannot read /proc/sys/kernel/random/boot_id");
    /* NCCL hashes hostname + boot_id, or NCCL_HOSTID verbatim when set
     * (misc/utils.cc getHostHashOnce). */
    const char *hostid = pf_env_get(env, "NCCL_HOSTID");
    char *hh = hostid && *hostid ? pf_xstrdup(hostid) : pf_xasprintf("%s%s", host, boot ? boot : "");
    json_object_set_new(facts, "nccl_host_hash_input", json_string(hh));
    json_object_set_new(facts, "nccl_host_hash_source", json_string(hostid && *hostid ? "NCCL_HOSTID" :
                                                                                       "hostname+boot_id"));
    free(hh);
    free(boot);
}

static void collect_driver(pf_probe_ctx *ctx, json_t *facts)
{
    const pf_cuda_facts *cf = pf_ctx_cuda_facts(ctx);
    char ver[32];
    pf_cuda_version_str(cf->driver_version, ver, sizeof ver);
    json_object_set_new(facts, "cuda_driver_api", cf->driver_version ? json_string(ver) : json_null());
    json_object_set_new(facts, "cuda_driver_api_code", json_integer(cf->driver_version));
    json_object_set_new(facts, "libcuda", cf->loaded ? json_string(cf->lib_path) : json_null());
    char *text = pf_read_file("/proc/driver/nvidia/version", 1 << 16, NULL, NULL);
    char kver[64] = "";
    if (!text || pf_gpu_kernel_module_version(text, kver, sizeof kver) != 0) {
        char *sys = pf_read_line("/sys/module/nvidia/version");
        if (sys)
            pf_strlcpy(kver, sys, sizeof kver);
        free(sys);
    }
    free(text);
    json_object_set_new(facts, "nvidia_kernel_module", kver[0] ? json_string(kver) : json_null());
}

/* Full interpreter version from pyvenv.cfg ("version = 3.12.3"), if any. */
static json_t *pyvenv_full_version(const char *prefix)
{
    char *path = pf_path_join(prefix, "pyvenv.cfg");
    char *text = pf_read_file(path, 1 << 16, NULL, NULL);
    free(path);
    json_t *v = json_null();
    char *save = NULL;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(l, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = pf_str_trim(l);
        if (strcmp(k, "version") == 0 || strcmp(k, "version_info") == 0) {
            json_decref(v);
            v = json_string(pf_str_trim(eq + 1));
        }
    }
    free(text);
    return v;
}

static void collect_python(pf_probe_ctx *ctx, json_t *facts)
{
    const char *why = NULL;
    pf_pyenv *env = pf_ctx_pyenv(ctx, &why);
    json_t *pk = json_object();
    if (!env) {
        json_object_set_new(facts, "python", json_null());
        json_object_set_new(facts, "python_error", json_string(why ? why : "no Python environment"));
    } else {
        json_object_set_new(facts, "python",
                            json_pack("{s:s,s:s,s:s,s:o}", "prefix", pf_pyenv_prefix(env), "origin",
                                      pf_pyenv_origin(env), "version", pf_pyenv_python_version(env),
                                      "pyvenv_version", pyvenv_full_version(pf_pyenv_prefix(env))));
        for (size_t i = 0; pf_fingerprint_dists[i]; i++) {
            char *v = pf_pyenv_dist_version(env, pf_fingerprint_dists[i]);
            json_object_set_new(pk, pf_fingerprint_dists[i], v ? json_string(v) : json_null());
            free(v);
        }
    }
    json_object_set_new(facts, "packages", pk);
}

json_t *pf_fingerprint_collect(pf_probe_ctx *ctx)
{
    json_t *facts = json_object();
    json_object_set_new(facts, "errors", json_array());
    collect_host(ctx->env, facts);
    collect_driver(ctx, facts);
    collect_python(ctx, facts);
    pf_libnccl_info ni;
    pf_err e = {{0}};
    if (pf_libnccl_locate(ctx, &ni, &e) == 0) {
        json_object_set_new(facts, "libnccl", pf_libnccl_to_json(&ni));
    } else {
        json_object_set_new(facts, "libnccl", ni.path[0] ? pf_libnccl_to_json(&ni) : json_null());
        json_object_set_new(facts, "libnccl_error", json_string(e.msg));
        if (ni.path[0]) /* found but unreadable: a fact we failed to read */
            add_error(facts, "%s", e.msg);
    }
    json_object_set_new(facts, "env", collect_env(ctx->env));
    json_object_set_new(facts, "nccl_conf", collect_nccl_conf(ctx->env, facts));
    return facts;
}

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

void pf_fingerprint_evaluate(const json_t *facts, pf_check *c)
{
    json_t *errors = json_object_get(facts, "errors");
    json_t *nccl = json_object_get(facts, "libnccl");
    json_t *pk = json_object_get(facts, "packages");
    json_t *kernel = json_object_get(facts, "kernel");

    char sum[700];
    snprintf(sum, sizeof sum, "%s %s %s", kernel ? str_at(kernel, "sysname") : "?",
             kernel ? str_at(kernel, "release") : "?", kernel ? str_at(kernel, "machine") : "?");
    const char *kmod = str_at(facts, "nvidia_kernel_module"), *api = str_at(facts, "cuda_driver_api");
    size_t n = strlen(sum);
    if (kmod || api)
        snprintf(sum + n, sizeof sum - n, ", driver %s (CUDA %s)", kmod ? kmod : "?", api ? api : "?");
    n = strlen(sum);
    if (json_is_object(nccl)) {
        const char *cu = str_at(nccl, "built_for_cuda");
        snprintf(sum + n, sizeof sum - n, ", NCCL %s%s%s from %s", str_at(nccl, "version"), cu ? "+cuda" : "",
                 cu ? cu : "", str_at(nccl, "origin"));
    } else {
        snprintf(sum + n, sizeof sum - n, ", no libnccl.so.2");
    }
    static const char *const shown[] = {"torch", "sglang", "vllm", "triton"};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        const char *v = pk ? str_at(pk, shown[i]) : NULL;
        n = strlen(sum);
        if (v)
            snprintf(sum + n, sizeof sum - n, ", %s %s", shown[i], v);
    }
    json_t *py = json_object_get(facts, "python");
    n = strlen(sum);
    if (json_is_object(py))
        snprintf(sum + n, sizeof sum - n, ", Python %s", str_at(py, "version"));

    if (json_array_size(errors) > 0) {
        char list[400] = "";
        size_t i;
        json_t *v;
        json_array_foreach(errors, i, v)
        {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? "; " : "", json_string_value(v));
        }
        pf_check_set(c, PF_ERROR, "could not read every fact: %s (%s)", list, sum);
        return;
    }
    if (json_is_object(nccl) && json_is_true(json_object_get(nccl, "differs_from_wheel"))) {
        json_t *w = json_object_get(nccl, "wheel");
        char wv[24];
        pf_libnccl_code_str((int)json_integer_value(json_object_get(w, "version_code")), wv, sizeof wv);
        const char *dist = str_at(w, "dist") && str_at(w, "dist")[0] ? str_at(w, "dist") : "nvidia-nccl";
        const char *ver = str_at(nccl, "version");
        if (ver && strcmp(ver, wv) == 0)
            pf_check_set(c, PF_WARN, "the server would load %s (NCCL %s, via %s), another build (build-id %.12s) "
                         "than the one torch's %s wheel ships at %s (build-id %.12s) (%s)", str_at(nccl, "path"),
                         ver, str_at(nccl, "origin"), str_at(nccl, "build_id"), dist, str_at(w, "path"),
                         str_at(w, "build_id") ? str_at(w, "build_id") : "?", sum);
        else
            pf_check_set(c, PF_WARN, "the server would load %s (NCCL %s, via %s), not the NCCL %s that torch's "
                         "%s wheel ships at %s (%s)", str_at(nccl, "path"), ver, str_at(nccl, "origin"), wv, dist,
                         str_at(w, "path"), sum);
        pf_check_remedy(c, "Remove the directory holding %s from LD_LIBRARY_PATH (or /etc/ld.so.conf.d) on "
                        "every node, or install the same NCCL build everywhere: NCCL >= 2.23 refuses ranks "
                        "whose versions differ (\"Mismatched NCCL version detected\")", str_at(nccl, "path"));
        return;
    }
    if (!json_is_object(nccl) && pk && str_at(pk, "torch")) {
        pf_check_set(c, PF_WARN, "torch is installed but no libnccl.so.2 was found where it would be loaded "
                     "from: %s (%s)", str_at(facts, "libnccl_error"), sum);
        pf_check_remedy(c, "Install the NCCL wheel torch expects (pip install nvidia-nccl-cu13 for cu13x "
                        "builds, nvidia-nccl-cu12 for cu12x) into the server's environment");
        return;
    }
    if (!json_is_object(py)) {
        pf_check_set(c, PF_WARN, "no Python environment found, package versions unknown: %s (%s)",
                     str_at(facts, "python_error"), sum);
        pf_check_remedy(c, "Pass --venv DIR (the environment the server runs in) or activate it first");
        return;
    }
    pf_check_set(c, PF_PASS, "%s", sum);
}

void pf_probe_env_fingerprint(pf_probe_ctx *ctx)
{
    double t0 = pf_now();
    pf_check *c = pf_probe_check_add(ctx, pf_probe_env_fingerprint);
    json_t *facts = pf_fingerprint_collect(ctx);
    pf_fingerprint_evaluate(facts, c);
    json_object_update(pf_check_evidence(c), facts);
    json_object_set_new(pf_node_facts(ctx->node), "fingerprint", json_deep_copy(facts));
    json_decref(facts);
    pf_check_set_duration(c, pf_now() - t0);
}

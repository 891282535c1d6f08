/* pyenv.c -- see pyenv.h. */
#include "probes/env/pyenv.h"

#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/proc.h"

struct pf_pyenv {
    char *prefix;
    char *origin;
    char pyver[16];
    pf_strv sites;
};

static void add_site(pf_pyenv *env, const char *dir)
{
    if (pf_is_dir(dir) && !pf_strv_contains(&env->sites, dir))
        pf_strv_push(&env->sites, dir);
}

static void glob_sites(pf_pyenv *env, const char *pattern)
{
    glob_t g;
    char *pat = pf_path_join(env->prefix, pattern);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            add_site(env, g.gl_pathv[i]);
        globfree(&g);
    }
    free(pat);
}

/* "version = 3.12.3" (venv) or "version_info = 3.12.3.final.0" (uv). */
static void read_pyvenv_cfg(pf_pyenv *env)
{
    char *path = pf_path_join(env->prefix, "pyvenv.cfg");
    char *text = pf_read_file(path, 1 << 16, NULL, NULL);
    free(path);
    if (!text)
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *key = pf_str_trim(line), *val = pf_str_trim(eq + 1);
        if (strcmp(key, "version") == 0 || strcmp(key, "version_info") == 0) {
            int maj = 0, min = 0;
            if (sscanf(val, "%d.%d", &maj, &min) == 2)
                snprintf(env->pyver, sizeof env->pyver, "%d.%d", maj, min);
        }
    }
    free(text);
}

pf_pyenv *pf_pyenv_from_prefix(const char *prefix, const char *origin, pf_err *err)
{
    if (!pf_is_dir(prefix)) {
        pf_err_set(err, "%s %s is not a directory", origin, prefix);
        return NULL;
    }
    pf_pyenv *env = pf_xcalloc(1, sizeof *env);
    env->prefix = pf_xstrdup(prefix);
    env->origin = pf_xstrdup(origin);
    read_pyvenv_cfg(env);
    glob_sites(env, "lib/python3*/site-packages");
    glob_sites(env, "lib64/python3*/site-packages");
    glob_sites(env, "lib/python3*/dist-packages");
    glob_sites(env, "local/lib/python3*/dist-packages");
    glob_sites(env, "lib/python3/dist-packages");
    if (!env->pyver[0] && env->sites.n) {
        const char *p = strstr(env->sites.v[0], "/python3.");
        int min = 0;
        if (p && sscanf(p, "/python3.%d", &min) == 1)
            snprintf(env->pyver, sizeof env->pyver, "3.%d", min);
    }
    if (env->sites.n == 0) {
        pf_err_set(err, "%s %s has no lib/python3.*/site-packages: not a Python environment", origin,
                   prefix);
        pf_pyenv_free(env);
        return NULL;
    }
    return env;
}

/* Ask the interpreter itself: sys.prefix, version, and site directories. */
static pf_pyenv *from_python_on_path(const pf_env *judged, pf_err *err)
{
    char *py = pf_env_which(judged, "python3");
    if (!py) {
        pf_err_set(err, "no --venv, no $VIRTUAL_ENV, and no python3 on PATH");
        return NULL;
    }
    char *argv[] = {py, "-c",
                    "import sys,site\n"
                    "print(sys.prefix)\n"
                    "print('%d.%d' % sys.version_info[:2])\n"
                    "for p in site.getsitepackages(): print(p)\n",
                    NULL};
    const char *home = pf_env_get(judged, "PYTHONHOME");
    char *home_kv = home ? pf_xasprintf("PYTHONHOME=%s", home) : NULL;
    const char *const set[] = {home_kv, NULL};
    const char *const unset[] = {"PYTHONHOME", NULL};
    pf_proc_opts o = {.timeout_s = 10, .env_set = home ? set : NULL, .env_unset = home ? NULL : unset};
    pf_proc_result r;
    int started = pf_proc_run(argv, &o, &r, err);
    free(home_kv);
    if (started != 0) {
        free(py);
        return NULL;
    }
    if (!r.exited || r.exit_code != 0) {
        char how[96];
        pf_proc_describe(&r, how, sizeof how);
        pf_err_set(err, "%s could not report its environment (%s)", py, how);
        pf_proc_result_free(&r);
        free(py);
        return NULL;
    }
    pf_pyenv *env = pf_xcalloc(1, sizeof *env);
    env->origin = pf_xstrdup("python3 on PATH");
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        pf_str_trim(line);
        if (lineno == 0)
            env->prefix = pf_xstrdup(line);
        else if (lineno == 1)
            pf_strlcpy(env->pyver, line, sizeof env->pyver);
        else
            add_site(env, line);
        lineno++;
    }
    pf_proc_result_free(&r);
    free(py);
    if (!env->prefix) {
        pf_err_set(err, "python3 on PATH printed nothing for sys.prefix");
        pf_pyenv_free(env);
        return NULL;
    }
    return env;
}

pf_pyenv *pf_pyenv_discover(const char *venv_opt, pf_err *err)
{
    pf_env *env = pf_env_from_process();
    pf_pyenv *py = pf_pyenv_discover_in(venv_opt, env, err);
    pf_env_free(env);
    return py;
}

pf_pyenv *pf_pyenv_discover_in(const char *venv_opt, const pf_env *judged, pf_err *err)
{
    if (venv_opt)
        return pf_pyenv_from_prefix(venv_opt, "--venv", err);
    const char *ve = pf_env_get(judged, "VIRTUAL_ENV");
    if (ve && *ve) {
        pf_pyenv *env = pf_pyenv_from_prefix(ve, "$VIRTUAL_ENV", err);
        if (!env && err) {
            /* A stale VIRTUAL_ENV (venv deleted, shell not reset) is common;
             * say so rather than silently scanning another Python. */
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof err->msg - n,
                     " (stale shell? run `deactivate`, unset VIRTUAL_ENV or pass --venv)");
        }
        return env;
    }
    return from_python_on_path(judged, err);
}

void pf_pyenv_free(pf_pyenv *env)
{
    if (!env)
        return;
    free(env->prefix);
    free(env->origin);
    pf_strv_free(&env->sites);
    free(env);
}

const char *pf_pyenv_prefix(const pf_pyenv *env) { return env->prefix; }
const char *pf_pyenv_origin(const pf_pyenv *env) { return env->origin; }
const char *pf_pyenv_python_version(const pf_pyenv *env) { return env->pyver; }
size_t pf_pyenv_site_count(const pf_pyenv *env) { return env->sites.n; }
const char *pf_pyenv_site(const pf_pyenv *env, size_t i) { return i < env->sites.n ? env->sites.v[i] : NULL; }

/* PEP 503 normalisation, enough for comparing: lower case, runs of -_. equal. */
static bool dist_name_eq(const char *a, size_t alen, const char *b)
{
    size_t i = 0, j = 0, blen = strlen(b);
    while (i < alen && j < blen) {
        bool sa = a[i] == '-' || a[i] == '_' || a[i] == '.';
        bool sb = b[j] == '-' || b[j] == '_' || b[j] == '.';
        if (sa && sb) {
            i++;
            j++;
            continue;
        }
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[j]))
            return false;
        i++;
        j++;
    }
    return i == alen && j == blen;
}

static char *version_from_metadata(const char *path)
{
    char *text = pf_read_file(path, 1 << 22, NULL, NULL);
    if (!text)
        return NULL;
    char *ver = NULL, *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (*line == '\r' || *line == '\0')
            break; /* headers end at the first blank line */
        if (strncmp(line, "Version:", 8) == 0) {
            ver = pf_xstrdup(pf_str_trim(line + 8));
            break;
        }
    }
    free(text);
    return ver;
}

char *pf_pyenv_dist_version(const pf_pyenv *env, const char *dist)
{
    for (size_t s = 0; s < env->sites.n; s++) {
        DIR *d = opendir(env->sites.v[s]);
        if (!d)
            continue;
        struct dirent *de;
        char *found = NULL;
        while (!found && (de = readdir(d)) != NULL) {
            const char *name = de->d_name;
            const char *suffix = pf_str_endswith(name, ".dist-info") ? ".dist-info"
                                 : pf_str_endswith(name, ".egg-info") ? ".egg-info"
                                                                      : NULL;
            if (!suffix)
                continue;
            const char *dash = strchr(name, '-');
            size_t nlen = dash ? (size_t)(dash - name) : strlen(name) - strlen(suffix);
            if (!dist_name_eq(name, nlen, dist))
                continue;
            char *dir = pf_path_join(env->sites.v[s], name);
            char *meta = pf_path_join(dir, strcmp(suffix, ".dist-info") == 0 ? "METADATA" : "PKG-INFO");
            found = version_from_metadata(meta);
            free(meta);
            free(dir);
            if (!found && dash) /* fall back to the directory name */
                found = pf_xasprintf("%.*s", (int)(strlen(dash + 1) - strlen(suffix)), dash + 1);
        }
        closedir(d);
        if (found)
            return found;
    }
    return NULL;
}

char *pf_pyenv_package_dir(const pf_pyenv *env, const char *name)
{
    for (size_t s = 0; s < env->sites.n; s++) {
        char *p = pf_path_join(env->sites.v[s], name);
        if (pf_is_dir(p))
            return p;
        free(p);
    }
    return NULL;
}

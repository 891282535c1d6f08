/* netplugin.c -- see netplugin.h. */
#include "probes/nccl/netplugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dl.h"
#include "core/proc.h"
#include "probes/net/net_verdict.h"

#if defined(__x86_64__)
#define PF_MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define PF_MULTIARCH "aarch64-linux-gnu"
#else
#define PF_MULTIARCH NULL
#endif

static const char *const hpcx_dirs[] = {"/opt/hpcx/nccl_rdma_sharp_plugin/lib", "/opt/hpcx/ncclnet_plugin/lib", NULL};

static void default_dirs(pf_strv *out)
{
    if (PF_MULTIARCH) {
        pf_strv_push_owned(out, pf_xasprintf("/lib/%s", PF_MULTIARCH));
        pf_strv_push_owned(out, pf_xasprintf("/usr/lib/%s", PF_MULTIARCH));
    }
    pf_strv_push(out, "/lib64");
    pf_strv_push(out, "/usr/lib64");
    pf_strv_push(out, "/lib");
    pf_strv_push(out, "/usr/lib");
}

static bool is_plugin_file(const char *fname)
{
    return pf_str_startswith(fname, "libnccl-net") && strstr(fname, ".so") != NULL;
}

static void add_lib(pf_netplugin_facts *f, const char *path, const char *where, bool on_path)
{
    for (size_t i = 0; i < f->nlibs; i++)
        if (strcmp(f->libs[i].path, path) == 0) {
            f->libs[i].on_loader_path |= on_path;
            return;
        }
    f->libs = pf_xrealloc(f->libs, (f->nlibs + 1) * sizeof *f->libs);
    pf_netplugin_lib *l = &f->libs[f->nlibs++];
    memset(l, 0, sizeof *l);
    l->path = pf_xstrdup(path);
    l->where = pf_xstrdup(where);
    l->on_loader_path = on_path;
}

static void scan_dir(pf_netplugin_facts *f, const char *dir, const char *where, bool on_path)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_plugin_file(e->d_name))
            continue;
        char *p = pf_path_join(dir, e->d_name);
        add_lib(f, p, where, on_path);
        free(p);
    }
    closedir(d);
}

/* `ldconfig -p` lines: "\tlibfoo.so.1 (libc6,x86-64) => /usr/lib/.../libfoo.so.1". */
static void read_cache(const pf_netplugin_opts *o, pf_netplugin_facts *f)
{
    char *tool = NULL;
    if (o->ldconfig && !*o->ldconfig)
        return;
    if (o->ldconfig)
        tool = pf_xstrdup(o->ldconfig);
    else if (pf_is_file("/sbin/ldconfig"))
        tool = pf_xstrdup("/sbin/ldconfig");
    else if (pf_is_file("/usr/sbin/ldconfig"))
        tool = pf_xstrdup("/usr/sbin/ldconfig");
    else
        tool = pf_which("ldconfig");
    if (!tool) {
        pf_strv_push(&f->notes, "ldconfig not found: the ld.so cache was not consulted");
        return;
    }
    char *argv[] = {tool, "-p", NULL};
    pf_proc_opts po = {.timeout_s = o->timeout_s > 0 ? o->timeout_s : 5, .max_out = 8u << 20};
    pf_proc_result res;
    pf_err err;
    if (pf_proc_run(argv, &po, &res, &err) != 0) {
        pf_strv_push_owned(&f->notes, pf_xasprintf("could not run %s -p: %s", tool, err.msg));
        free(tool);
        return;
    }
    if (!res.exited || res.exit_code != 0) {
        char why[128];
        pf_proc_describe(&res, why, sizeof why);
        pf_strv_push_owned(&f->notes, pf_xasprintf("%s -p failed (%s): the ld.so cache was not consulted", tool, why));
    } else {
        f->cache_read = true;
        for (char *save = NULL, *ln = strtok_r(res.out, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
            char *arrow = strstr(ln, " => ");
            if (!arrow)
                continue;
            char *name = pf_str_trim(ln);
            char *sp = strchr(name, ' ');
            if (!sp)
                continue;
            *sp = '\0';
            const char *path = pf_str_trim(arrow + 4);
            pf_strv_push_owned(&f->cache_names, pf_xasprintf("%s=>%s", name, path));
            if (is_plugin_file(name))
                add_lib(f, path, "ld.so cache", true);
        }
    }
    pf_proc_result_free(&res);
    free(tool);
}

char *pf_netplugin_resolve(const pf_netplugin_facts *f, const char *name)
{
    if (!name || !*name)
        return NULL;
    if (strchr(name, '/'))
        return pf_is_file(name) ? pf_xstrdup(name) : NULL;
    /* Loader order: LD_LIBRARY_PATH dirs, cache, default dirs.  search_dirs
     * holds LD_LIBRARY_PATH then defaults, with a "" marker in between. */
    size_t i = 0;
    for (; i < f->search_dirs.n && f->search_dirs.v[i][0]; i++) {
        char *p = pf_path_join(f->search_dirs.v[i], name);
        if (pf_is_file(p))
            return p;
        free(p);
    }
    size_t nlen = strlen(name);
    for (size_t k = 0; k < f->cache_names.n; k++) {
        const char *e = f->cache_names.v[k];
        if (strncmp(e, name, nlen) == 0 && strncmp(e + nlen, "=>", 2) == 0)
            return pf_xstrdup(e + nlen + 2);
    }
    for (i++; i < f->search_dirs.n; i++) {
        char *p = pf_path_join(f->search_dirs.v[i], name);
        if (pf_is_file(p))
            return p;
        free(p);
    }
    return NULL;
}

const pf_netplugin_lib *pf_netplugin_find(const pf_netplugin_facts *f, const char *path)
{
    for (size_t i = 0; i < f->nlibs; i++)
        if (strcmp(f->libs[i].path, path) == 0)
            return &f->libs[i];
    return NULL;
}

/* Child side: load, find the newest ncclNetPlugin_vN, write "N<sym>\t<name>"
 * or "E<error>" to fd, exit. */
static void __attribute__((noreturn)) child_read_name(const char *path, int fd)
{
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    pf_err err = {{0}};
    void *h = pf_dl_open(&path, 1, 0, NULL, 0, &err);
    char buf[1024];
    if (!h) {
        snprintf(buf, sizeof buf, "E%s", err.msg);
    } else {
        /* Every version NCCL has defined or may define, newest first: NCCL
         * itself takes the newest it knows, and so do we. */
        enum { VMIN = 2, VMAX = 20 };
        char names[VMAX + 1][24];
        const char *const *net[VMAX + 1] = {0};
        pf_dl_sym syms[VMAX + 1];
        size_t n = 0;
        for (int v = VMAX; v >= VMIN; v--, n++) {
            snprintf(names[v], sizeof names[v], "ncclNetPlugin_v%d", v);
            syms[n] = (pf_dl_sym)PF_DL_OPT(names[v], &net[v]);
        }
        pf_dl_bind(h, path, syms, n, &err);
        snprintf(buf, sizeof buf, "Eno ncclNetPlugin_v2..v20 symbol");
        for (int v = VMAX; v >= VMIN; v--) {
            if (net[v]) {
                /* Every ncclNet_vN_t starts with `const char *name`. */
                snprintf(buf, sizeof buf, "N%s\t%s", names[v], *net[v] ? *net[v] : "");
                break;
            }
        }
    }
    ssize_t w = write(fd, buf, strlen(buf));
    (void)w;
    _exit(0);
}

int pf_netplugin_read_name(const char *path, double timeout_s, char **name, char **symbol, pf_err *err)
{
    *name = *symbol = NULL;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return pf_err_errno(err, errno, "pipe for reading plugin %s", path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return pf_err_errno(err, errno, "fork for reading plugin %s", path);
    }
    if (pid == 0) {
        close(pfd[0]);
        child_read_name(path, pfd[1]);
    }
    close(pfd[1]);
    char buf[1100];
    size_t got = 0;
    double deadline = pf_now() + (timeout_s > 0 ? timeout_s : 5);
    bool timed_out = false;
    for (;;) {
        int left = (int)((deadline - pf_now()) * 1000);
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof buf - 1)
            break;
    }
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[got] = '\0';
    if (timed_out)
        return pf_err_set(err, "loading %s did not finish within %.1f s", path, timeout_s > 0 ? timeout_s : 5);
    if (got == 0) {
        if (WIFSIGNALED(st))
            return pf_err_set(err, "loading %s crashed the test process (signal %d)", path, WTERMSIG(st));
        return pf_err_set(err, "loading %s produced no answer", path);
    }
    if (buf[0] == 'E')
        return pf_err_set(err, "%s", buf + 1);
    char *tab = strchr(buf, '\t');
    if (buf[0] != 'N' || !tab)
        return pf_err_set(err, "unexpected answer while loading %s", path);
    *tab = '\0';
    *symbol = pf_xstrdup(buf + 1);
    *name = pf_xstrdup(tab + 1);
    return 0;
}

void pf_netplugin_collect(const pf_netplugin_opts *o, pf_netplugin_facts *f)
{
    memset(f, 0, sizeof *f);
    if (o->ld_library_path) {
        char *copy = pf_xstrdup(o->ld_library_path);
        /* The loader treats empty LD_LIBRARY_PATH elements as ".". */
        for (char *p = copy, *tok; (tok = strsep(&p, ":;")) != NULL;)
            pf_strv_push(&f->search_dirs, *tok ? tok : ".");
        free(copy);
    }
    pf_strv_push(&f->search_dirs, ""); /* marker: the cache is searched here */
    pf_strv defs = {0};
    if (o->default_dirs)
        for (size_t i = 0; o->default_dirs[i]; i++)
            pf_strv_push(&defs, o->default_dirs[i]);
    else
        default_dirs(&defs);
    for (size_t i = 0; i < defs.n; i++)
        pf_strv_push(&f->search_dirs, defs.v[i]);
    pf_strv_free(&defs);

    bool in_ld_path = true;
    for (size_t i = 0; i < f->search_dirs.n; i++) {
        const char *d = f->search_dirs.v[i];
        if (!*d)
            in_ld_path = false;
        else
            scan_dir(f, d, in_ld_path ? "LD_LIBRARY_PATH" : "default dir", true);
    }
    read_cache(o, f);
    const char *const *extra = o->extra_dirs ? o->extra_dirs : hpcx_dirs;
    for (size_t i = 0; extra[i]; i++)
        scan_dir(f, extra[i], extra[i], false);

    f->libibverbs = pf_netplugin_resolve(f, "libibverbs.so");
    if (!f->libibverbs)
        f->libibverbs = pf_netplugin_resolve(f, "libibverbs.so.1");

    if (o->read_names) {
        for (size_t i = 0; i < f->nlibs; i++) {
            pf_err err;
            if (pf_netplugin_read_name(f->libs[i].path, o->timeout_s, &f->libs[i].name, &f->libs[i].symbol, &err) != 0)
                f->libs[i].load_error = pf_xstrdup(err.msg);
        }
    }
}

void pf_netplugin_facts_free(pf_netplugin_facts *f)
{
    if (!f)
        return;
    pf_strv_free(&f->search_dirs);
    pf_strv_free(&f->cache_names);
    for (size_t i = 0; i < f->nlibs; i++) {
        free(f->libs[i].path);
        free(f->libs[i].where);
        free(f->libs[i].name);
        free(f->libs[i].symbol);
        free(f->libs[i].load_error);
    }
    free(f->libs);
    free(f->libibverbs);
    pf_strv_free(&f->notes);
    memset(f, 0, sizeof *f);
}

json_t *pf_netplugin_to_json(const pf_netplugin_facts *f)
{
    json_t *o = json_object();
    json_t *dirs = json_array();
    for (size_t i = 0; i < f->search_dirs.n; i++)
        json_array_append_new(dirs, pf_net_jstr(f->search_dirs.v[i][0] ? f->search_dirs.v[i] : "(ld.so cache)"));
    json_object_set_new(o, "loader_search", dirs);
    json_object_set_new(o, "ld_cache_read", json_boolean(f->cache_read));
    json_t *libs = json_array();
    for (size_t i = 0; i < f->nlibs; i++) {
        const pf_netplugin_lib *l = &f->libs[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "path", pf_net_jstr(l->path));
        json_object_set_new(lo, "found_in", json_string(l->where));
        json_object_set_new(lo, "on_loader_path", json_boolean(l->on_loader_path));
        json_object_set_new(lo, "name", pf_net_jstr(l->name));
        json_object_set_new(lo, "symbol", l->symbol ? json_string(l->symbol) : json_null());
        if (l->load_error)
            json_object_set_new(lo, "load_error", pf_net_jstr(l->load_error));
        json_array_append_new(libs, lo);
    }
    json_object_set_new(o, "net_plugins", libs);
    json_object_set_new(o, "libibverbs", pf_net_jstr(f->libibverbs));
    json_t *notes = json_array();
    for (size_t i = 0; i < f->notes.n; i++)
        json_array_append_new(notes, pf_net_jstr(f->notes.v[i]));
    json_object_set_new(o, "notes", notes);
    return o;
}

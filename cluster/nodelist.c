/* nodelist.c -- see nodelist.h. */
#include "cluster/nodelist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proc.h"

void pf_nodelist_init(pf_nodelist *nl) { memset(nl, 0, sizeof *nl); }

static void spec_free(pf_nodespec *s)
{
    free(s->name), free(s->host), free(s->user), free(s->venv), free(s->arch);
    free(s->model), free(s->env_file), free(s->bin);
}

void pf_nodelist_free(pf_nodelist *nl)
{
    for (size_t i = 0; i < nl->n; i++)
        spec_free(&nl->v[i]);
    free(nl->v);
    free(nl->source);
    memset(nl, 0, sizeof *nl);
}

int pf_nodelist_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int pf_nodelist_find(const pf_nodelist *nl, const char *name)
{
    for (size_t i = 0; i < nl->n; i++)
        if (strcmp(nl->v[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Split "[user@]host[:port]" into s. */
static int parse_target(pf_nodespec *s, const char *spec, pf_err *err)
{
    char *t = pf_xstrdup(spec);
    char *host = t, *at = strchr(t, '@');
    if (at) {
        *at = 0;
        host = at + 1;
        if (!pf_nodelist_name_ok(t)) {
            pf_err_set(err, "'%s' is not a valid user name", t);
            free(t);
            return -1;
        }
        s->user = pf_xstrdup(t);
    }
    char *colon = strchr(host, ':');
    if (colon) {
        *colon = 0;
        char *end;
        errno = 0;
        long p = strtol(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || p < 1 || p > 65535) {
            pf_err_set(err, "'%s' is not a port (1-65535)", colon + 1);
            free(t);
            return -1;
        }
        s->port = (int)p;
    }
    if (!pf_nodelist_name_ok(host)) {
        pf_err_set(err, "'%s' is not a host name or IPv4 address (letters, digits, '.', '_', '-')",
                   host);
        free(t);
        return -1;
    }
    s->host = pf_xstrdup(host);
    free(t);
    return 0;
}

static int push(pf_nodelist *nl, pf_nodespec *s, pf_err *err)
{
    if (!s->name)
        s->name = pf_xstrdup(s->host);
    if (pf_nodelist_find(nl, s->name) >= 0) {
        pf_err_set(err, "node '%s' is listed twice (node names must be unique; give one a name=)",
                   s->name);
        spec_free(s);
        return -1;
    }
    nl->v = pf_xrealloc(nl->v, (nl->n + 1) * sizeof *nl->v);
    s->stage = s->stage < 0 ? (int)nl->n : s->stage;
    nl->v[nl->n++] = *s;
    return 0;
}

int pf_nodelist_add(pf_nodelist *nl, const char *spec, pf_err *err)
{
    pf_nodespec s = {.stage = -1};
    if (parse_target(&s, spec, err) < 0) {
        spec_free(&s);
        return -1;
    }
    return push(nl, &s, err);
}

int pf_nodelist_from_hosts(pf_nodelist *nl, const char *hosts, pf_err *err)
{
    char *copy = pf_xstrdup(hosts), *save = NULL;
    int rc = 0;
    size_t before = nl->n;
    for (char *p = strtok_r(copy, ",", &save); p && rc == 0; p = strtok_r(NULL, ",", &save)) {
        pf_str_trim(p);
        pf_err e;
        if (pf_nodelist_add(nl, p, &e) < 0)
            rc = pf_err_set(err, "--hosts: %s", e.msg);
    }
    if (rc == 0 && nl->n == before)
        rc = pf_err_set(err, "--hosts: no host given");
    free(copy);
    if (!nl->source)
        nl->source = pf_xstrdup("--hosts");
    return rc;
}

static int by_stage(const void *a, const void *b)
{
    return ((const pf_nodespec *)a)->stage - ((const pf_nodespec *)b)->stage;
}

int pf_nodelist_parse_hostfile(pf_nodelist *nl, const char *text, const char *path, pf_err *err)
{
    char *copy = pf_xstrdup(text), *save = NULL;
    int rc = 0, lineno = 0, with_stage = 0, without_stage = 0;
    size_t before = nl->n;
    char *line = copy;
    while (line && rc == 0) {
        char *nl_ = strchr(line, '\n');
        if (nl_)
            *nl_ = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        pf_str_trim(line);
        if (*line) {
            pf_nodespec s = {.stage = -1};
            pf_err e;
            char *tok = strtok_r(line, " \t", &save);
            if (parse_target(&s, tok, &e) < 0)
                rc = pf_err_set(err, "%s line %d: %s", path, lineno, e.msg);
            while (rc == 0 && (tok = strtok_r(NULL, " \t", &save))) {
                char *eq = strchr(tok, '=');
                if (!eq || eq == tok || !eq[1]) {
                    rc = pf_err_set(err, "%s line %d: '%s' is not key=value", path, lineno, tok);
                    break;
                }
                *eq = 0;
                const char *k = tok, *v = eq + 1;
                char **slot = NULL;
                if (strcmp(k, "name") == 0) {
                    if (!pf_nodelist_name_ok(v)) {
                        rc = pf_err_set(err, "%s line %d: name '%s' is not valid (letters, digits, '.', '_', '-')",
                                        path, lineno, v);
                        break;
                    }
                    slot = &s.name;
                } else if (strcmp(k, "venv") == 0) {
                    slot = &s.venv;
                } else if (strcmp(k, "arch") == 0) {
                    slot = &s.arch;
                } else if (strcmp(k, "model") == 0) {
                    slot = &s.model;
                } else if (strcmp(k, "env") == 0) {
                    slot = &s.env_file;
                } else if (strcmp(k, "bin") == 0) {
                    slot = &s.bin;
                } else if (strcmp(k, "stage") == 0) {
                    char *end;
                    long st = strtol(v, &end, 10);
                    if (*end || st < 0 || st > 4095) {
                        rc = pf_err_set(err, "%s line %d: stage '%s' is not a number 0..4095", path,
                                        lineno, v);
                        break;
                    }
                    s.stage = (int)st;
                    continue;
                } else {
                    rc = pf_err_set(err, "%s line %d: unknown key '%s' (name, stage, venv, arch, model, env, bin)",
                                    path, lineno, k);
                    break;
                }
                if (*slot) {
                    rc = pf_err_set(err, "%s line %d: '%s' given twice", path, lineno, k);
                    break;
                }
                /* Values travel as agent flags: no control characters or spaces. */
                for (const char *c = v; *c && rc == 0; c++)
                    if ((unsigned char)*c < 0x21 || *c == '\'' || *c == '"' || *c == '\\' || *c == '$' || *c == '`')
                        rc = pf_err_set(err, "%s line %d: %s= holds a quote, '$' or control character", path, lineno, k);
                if (rc == 0)
                    *slot = pf_xstrdup(v);
            }
            if (rc == 0) {
                s.stage >= 0 ? with_stage++ : without_stage++;
                int given = s.stage;
                if (push(nl, &s, &e) < 0)
                    rc = pf_err_set(err, "%s line %d: %s", path, lineno, e.msg);
                else if (given < 0)
                    nl->v[nl->n - 1].stage = -1;
            } else {
                spec_free(&s);
            }
        }
        line = nl_ ? nl_ + 1 : NULL;
    }
    free(copy);
    if (rc == 0 && nl->n == before)
        rc = pf_err_set(err, "%s: no node in the hostfile (one [user@]host[:port] per line)", path);
    if (rc == 0 && with_stage && without_stage)
        rc = pf_err_set(err, "%s: stage= is given on some lines but not all (give it on every line or none)", path);
    if (rc == 0 && with_stage) {
        size_t n = nl->n - before;
        char *seen = pf_xcalloc(n, 1);
        for (size_t i = before; i < nl->n && rc == 0; i++) {
            int st = nl->v[i].stage;
            if ((size_t)st >= n)
                rc = pf_err_set(err, "%s: node %s has stage=%d but there are only %zu nodes (stages are 0..%zu)",
                                path, nl->v[i].name, st, n, n - 1);
            else if (seen[st]++)
                rc = pf_err_set(err, "%s: stage=%d is given to two nodes", path, st);
        }
        free(seen);
        if (rc == 0)
            qsort(nl->v + before, n, sizeof *nl->v, by_stage);
    }
    for (size_t i = before; i < nl->n; i++)
        nl->v[i].stage = (int)(i - before);
    if (!nl->source)
        nl->source = pf_xasprintf("hostfile %s", path);
    return rc;
}

int pf_nodelist_from_hostfile(pf_nodelist *nl, const char *path, pf_err *err)
{
    pf_err e;
    char *text = pf_read_file(path, 1 << 20, NULL, &e);
    if (!text)
        return pf_err_set(err, "--hostfile: %s", e.msg);
    int rc = pf_nodelist_parse_hostfile(nl, text, path, err);
    free(text);
    return rc;
}

int pf_nodelist_from_slurm(pf_nodelist *nl, double timeout_s, pf_err *err)
{
    const char *list = getenv("SLURM_JOB_NODELIST");
    if (!list || !*list)
        return pf_err_set(err, "not inside a Slurm allocation (SLURM_JOB_NODELIST is not set): "
                               "run under salloc/sbatch, or give --hosts/--hostfile");
    char *argv[] = {"scontrol", "show", "hostnames", (char *)list, NULL};
    pf_proc_opts po = {.timeout_s = timeout_s, .max_out = 1 << 20};
    pf_proc_result r;
    pf_err e;
    if (pf_proc_run(argv, &po, &r, &e) < 0)
        return pf_err_set(err, "cannot expand SLURM_JOB_NODELIST: %s", e.msg);
    int rc = 0;
    if (!r.exited || r.exit_code != 0) {
        char d[64];
        pf_proc_describe(&r, d, sizeof d);
        rc = pf_err_set(err, "scontrol show hostnames %s: %s: %.200s", list, d, r.out);
    } else {
        char *save = NULL;
        for (char *p = strtok_r(r.out, "\n", &save); p && rc == 0; p = strtok_r(NULL, "\n", &save)) {
            pf_str_trim(p);
            if (*p && pf_nodelist_add(nl, p, &e) < 0)
                rc = pf_err_set(err, "SLURM_JOB_NODELIST: %s", e.msg);
        }
        if (rc == 0 && nl->n == 0)
            rc = pf_err_set(err, "scontrol show hostnames %s printed no host", list);
    }
    pf_proc_result_free(&r);
    if (!nl->source)
        nl->source = pf_xstrdup("SLURM_JOB_NODELIST");
    return rc;
}

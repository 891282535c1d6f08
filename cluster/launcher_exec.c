/* launcher_exec.c -- `--launcher exec --exec-template 'CMD {host} {cmd}'`:
 * one child per node from a template, for `ip netns exec {host} {cmd}`,
 * `docker exec -i {host} {cmd}`, `kubectl exec -i {host} -- {cmd}`, pdsh...
 *
 * The template is split into words here (single and double quotes group;
 * no shell runs it).  A word that is exactly {cmd} becomes the agent's
 * argv words; {cmd} inside a word becomes the agent command line (for
 * `sh -c '... {cmd}'`); {host} and {name} are the node's host and name.
 * The secret goes to the child's stdin, which these tools forward (`-i`
 * for docker/kubectl).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/launcher.h"

/* Split into words; -1 on an unterminated quote. */
static int split_words(const char *t, pf_strv *out)
{
    const char *p = t;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *w = pf_xcalloc(strlen(p) + 1, 1);
        size_t k = 0;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                while (*p && *p != q)
                    w[k++] = *p++;
                if (!*p) {
                    free(w);
                    return -1;
                }
                p++;
            } else {
                w[k++] = *p++;
            }
        }
        pf_strv_push_owned(out, w);
    }
    return 0;
}

static char *subst(const char *w, const char *key, const char *val)
{
    const char *at = strstr(w, key);
    if (!at)
        return pf_xstrdup(w);
    char *rest = subst(at + strlen(key), key, val);
    char *r = pf_xasprintf("%.*s%s%s", (int)(at - w), w, val, rest);
    free(rest);
    return r;
}

int pf_launcher_exec_argv(const char *tmpl, const pf_launcher_cfg *cfg, int node, pf_strv *argv,
                        pf_err *err)
{
    pf_strv words = {0};
    if (split_words(tmpl, &words) < 0) {
        pf_strv_free(&words);
        return pf_err_set(err, "--exec-template: unterminated quote in '%s'", tmpl);
    }
    bool has_cmd = false;
    const pf_nodespec *s = &cfg->nodes->v[node];
    for (size_t i = 0; i < words.n; i++) {
        const char *w = words.v[i];
        if (strcmp(w, "{cmd}") == 0) {
            pf_launcher_agent_argv(cfg, node, argv);
            has_cmd = true;
            continue;
        }
        char *a = subst(w, "{host}", s->host);
        char *b = subst(a, "{name}", s->name);
        free(a);
        if (strstr(b, "{cmd}")) {
            char *line = pf_launcher_agent_cmdline(cfg, node);
            char *c = subst(b, "{cmd}", line);
            free(line);
            free(b);
            b = c;
            has_cmd = true;
        }
        pf_strv_push_owned(argv, b);
    }
    pf_strv_free(&words);
    if (!has_cmd)
        return pf_err_set(err, "--exec-template '%s' has no {cmd} (where the agent command goes)", tmpl);
    if (argv->n == 0 || strcmp(argv->v[0], "preflight") == 0 || argv->v[0][0] == 0)
        return pf_err_set(err, "--exec-template '%s' does not start with a program", tmpl);
    return 0;
}

static int exec_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    if (!cfg->exec_template)
        return pf_err_set(err, "--launcher exec needs --exec-template 'CMD {host} {cmd}'");
    char *line = pf_xasprintf("%s\n", cfg->secret_hex);
    int rc = 0;
    for (size_t i = 0; i < cfg->nodes->n && rc == 0; i++) {
        pf_strv argv = {0};
        rc = pf_launcher_exec_argv(cfg->exec_template, cfg, (int)i, &argv, err);
        if (rc == 0) {
            pf_strv_push_owned(&argv, NULL);
            argv.n--;
            pf_err e;
            if (pf_launcher_spawn(l, (int)i, argv.v, line, NULL, &e) < 0)
                rc = pf_err_set(err, "--launcher exec: %s", e.msg);
        }
        pf_strv_free(&argv);
    }
    free(line);
    return rc;
}

const pf_launcher_vt pf_launcher_exec = {.name = "exec", .start = exec_start, .explain = NULL};

/* nccl_envfile.c -- env files and NCCL variable checks. */
#include "probes/nccl/nccl_envfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pf_ncclenv_parse(const char *text, const char *what, pf_strv *env, pf_err *err)
{
    int lineno = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = pf_xasprintf("%.*s", (int)n, p);
        p = nl ? nl + 1 : NULL;
        lineno++;
        char *s = pf_str_trim(line);
        if (!*s || *s == '#') {
            free(line);
            continue;
        }
        if (pf_str_startswith(s, "export ") || pf_str_startswith(s, "export\t"))
            s = pf_str_trim(s + 7);
        char *eq = strchr(s, '=');
        bool ok = eq && eq > s && (isalpha((unsigned char)*s) || *s == '_');
        for (char *q = s; ok && q < eq; q++)
            if (!isalnum((unsigned char)*q) && *q != '_')
                ok = false;
        if (!ok) {
            pf_err_set(err, "%s line %d: '%s' is not NAME=value", what, lineno, s);
            free(line);
            return -1;
        }
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = 0;
            v++;
        }
        *eq = 0;
        pf_strv_push_owned(env, pf_xasprintf("%s=%s", s, v));
        free(line);
    }
    return 0;
}

int pf_ncclenv_load(const char *path, pf_strv *env, pf_err *err)
{
    pf_err e;
    char *text = pf_read_file(path, 1 << 20, NULL, &e);
    if (!text)
        return pf_err_set(err, "env file: %s", e.msg);
    int rc = pf_ncclenv_parse(text, path, env, err);
    free(text);
    return rc;
}

/* Integer parameters of NCCL that a user sets for networking. */
static const char *const int_vars[] = {
    "NCCL_IB_DISABLE", "NCCL_P2P_DISABLE", "NCCL_SHM_DISABLE", "NCCL_SOCKET_NTHREADS", "NCCL_NSOCKS_PERTHREAD",
    "NCCL_RUNTIME_CONNECT", "NCCL_SOCKET_RETRY_CNT", "NCCL_SOCKET_RETRY_SLEEP_MSEC", "NCCL_IB_GID_INDEX",
    "NCCL_IB_TIMEOUT", "NCCL_IB_RETRY_CNT", "NCCL_BUFFSIZE", "NCCL_NTHREADS", "NCCL_MIN_NCHANNELS",
    "NCCL_MAX_NCHANNELS", "NCCL_NET_GDR_LEVEL", "NCCL_CUMEM_ENABLE", "NCCL_IB_QPS_PER_CONNECTION", NULL};

int pf_ncclenv_validate(const pf_strv *env, pf_strv *problems)
{
    int found = 0;
    for (size_t i = 0; i < env->n; i++) {
        const char *e = env->v[i], *eq = strchr(e, '=');
        size_t nl = (size_t)(eq - e);
        const char *v = eq + 1;
        for (int k = 0; int_vars[k]; k++) {
            if (strlen(int_vars[k]) != nl || strncmp(e, int_vars[k], nl) != 0)
                continue;
            char *end;
            strtoll(v, &end, 0);
            if (!*v || *end) {
                pf_strv_push_owned(problems, pf_xasprintf("%.*s='%s' is not an integer: NCCL ignores it and uses its "
                                                          "default",
                                                          (int)nl, e, v));
                found++;
            }
        }
        if (nl == 10 && strncmp(e, "NCCL_DEBUG", nl) == 0 && strcasecmp(v, "VERSION") && strcasecmp(v, "WARN") &&
            strcasecmp(v, "INFO") && strcasecmp(v, "ABORT") && strcasecmp(v, "TRACE") && *v) {
            pf_strv_push_owned(problems, pf_xasprintf("NCCL_DEBUG='%s' is not one of VERSION, WARN, INFO, ABORT, TRACE", v));
            found++;
        }
        if (nl == 18 && strncmp(e, "NCCL_SOCKET_FAMILY", nl) == 0 && strcmp(v, "AF_INET") && strcmp(v, "AF_INET6")) {
            pf_strv_push_owned(problems, pf_xasprintf("NCCL_SOCKET_FAMILY='%s' is neither AF_INET nor AF_INET6", v));
            found++;
        }
        if (nl == 18 && strncmp(e, "NCCL_COMM_BLOCKING", nl) == 0) {
            pf_strv_push_owned(problems, pf_xstrdup("NCCL_COMM_BLOCKING is removed for the probe (it would make init "
                                                    "blocking and a hang unbounded)"));
            found++;
        }
    }
    return found;
}

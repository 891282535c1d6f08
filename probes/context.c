/* context.c -- see context.h. */
#include "probes/context.h"

#include "probes/net/netif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pf_probe_opts_init(pf_probe_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mem_fraction = 0.85;
    o->tool_timeout_s = 10.0;
}

void pf_probe_opts_free(pf_probe_opts *o)
{
    pf_strv_free(&o->scan);
}

void pf_ctx_init(pf_probe_ctx *ctx, const pf_probe_opts *opts, pf_run *run, pf_node *node)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->opts = opts;
    ctx->run = run;
    ctx->node = node;
    ctx->env_own = pf_env_from_process();
    ctx->env = ctx->env_own;
}

void pf_ctx_set_env(pf_probe_ctx *ctx, const pf_env *env)
{
    ctx->env = env ? env : ctx->env_own;
}

const char *pf_ctx_getenv(const pf_probe_ctx *ctx, const char *name)
{
    return pf_env_get(ctx->env, name);
}

void pf_ctx_free(pf_probe_ctx *ctx)
{
    pf_cuda_close(ctx->cuda);
    pf_pyenv_free(ctx->pyenv);
    if (ctx->netif) {
        pf_netif_set_free(ctx->netif);
        free(ctx->netif);
    }
    ctx->netif = NULL;
    ctx->cuda = NULL;
    ctx->pyenv = NULL;
    pf_env_free(ctx->env_own);
    ctx->env_own = NULL;
    ctx->env = NULL;
}

pf_cuda *pf_ctx_cuda(pf_probe_ctx *ctx)
{
    if (!ctx->cuda_tried) {
        ctx->cuda_tried = true;
        ctx->cuda = pf_cuda_open(ctx->opts->cuda_lib);
    }
    return ctx->cuda;
}

const pf_cuda_facts *pf_ctx_cuda_facts(pf_probe_ctx *ctx)
{
    return pf_cuda_facts_get(pf_ctx_cuda(ctx));
}

pf_pyenv *pf_ctx_pyenv(pf_probe_ctx *ctx, const char **why)
{
    if (!ctx->pyenv_tried) {
        ctx->pyenv_tried = true;
        ctx->pyenv = pf_pyenv_discover_in(ctx->opts->venv, ctx->env, &ctx->pyenv_err);
    }
    if (!ctx->pyenv && why)
        *why = ctx->pyenv_err.msg;
    return ctx->pyenv;
}

const struct pf_netif_set *pf_ctx_netif(pf_probe_ctx *ctx, const char **why)
{
    if (!ctx->netif_tried) {
        ctx->netif_tried = true;
        pf_netif_set *s = pf_xcalloc(1, sizeof *s);
        if (pf_netif_collect(NULL, s, &ctx->netif_err) == 0)
            ctx->netif = s;
        else
            free(s);
    }
    if (!ctx->netif && why)
        *why = ctx->netif_err.msg;
    return ctx->netif;
}

int pf_parse_arch(const char *s, int *major, int *minor)
{
    if (!s)
        return -1;
    if (strncmp(s, "sm_", 3) == 0 || strncmp(s, "compute_", 8) == 0)
        s = strchr(s, '_') + 1;
    int a = 0, b = 0, used = 0;
    if (sscanf(s, "%d.%d%n", &a, &b, &used) == 2) {
        /* "12.1", "12.1a", "11.0f" */
    } else if (sscanf(s, "%d%n", &a, &used) == 1 && used >= 2 && used <= 3 && a >= 50) {
        /* "121", "90", "110a": the last digit is the minor (sm_50 and up,
         * so "13" is rejected rather than read as 1.3) */
        b = a % 10;
        a /= 10;
    } else {
        return -1;
    }
    const char *rest = s + used;
    if (*rest == 'a' || *rest == 'f')
        rest++;
    if (*rest != '\0' || a < 1 || a > 99 || b < 0 || b > 9)
        return -1;
    *major = a;
    *minor = b;
    return 0;
}

size_t pf_ctx_targets(pf_probe_ctx *ctx, const pf_target **out)
{
    if (!ctx->targets_done) {
        ctx->targets_done = true;
        int maj, min;
        if (ctx->opts->arch && pf_parse_arch(ctx->opts->arch, &maj, &min) == 0) {
            pf_target *t = &ctx->targets[0];
            t->cc_major = maj;
            t->cc_minor = min;
            t->ordinal = -1;
            t->integrated = -1;
            snprintf(t->label, sizeof t->label, "--arch %d.%d", maj, min);
            ctx->ntargets = 1;
        } else if (!ctx->opts->arch) {
            const pf_cuda_facts *f = pf_ctx_cuda_facts(ctx);
            for (int i = 0; i < f->device_count; i++) {
                pf_target *t = &ctx->targets[ctx->ntargets++];
                const pf_cuda_device *d = &f->dev[i];
                t->cc_major = d->cc_major;
                t->cc_minor = d->cc_minor;
                t->ordinal = d->ordinal;
                t->integrated = d->integrated;
                snprintf(t->label, sizeof t->label, "GPU %d %s (%d.%d)", d->ordinal, d->name,
                         d->cc_major, d->cc_minor);
            }
        }
    }
    *out = ctx->targets;
    return ctx->ntargets;
}

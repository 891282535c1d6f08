/* probe_flags.c -- parse the shared node-probe flags (see probe_flags.h).
 * Values are validated here, before any probe runs, so a typo is a usage
 * error (exit 2) and never a check that quietly judges the wrong thing. */
#include "probes/probe_flags.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"

/* strtod that wants the whole string: "0.9x" and "" are not numbers */
static int whole_double(const char *v, double *out)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || *end || d != d)
        return -1;
    *out = d;
    return 0;
}

static int set_arch(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    int M, m;
    (void)name;
    if (pf_parse_arch(v, &M, &m) != 0)
        return pf_err_set(err, "--arch '%s' is not a compute capability (expected X.Y such as 9.0, 11.0, 12.1)", v);
    o->arch = v;
    return 0;
}

static int set_venv(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    (void)name;
    if (!*v)
        return pf_err_set(err, "--venv needs a directory, not an empty string");
    o->venv = v;
    return 0;
}

static int set_scan(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    (void)name;
    if (!*v)
        return pf_err_set(err, "--scan needs a file or directory, not an empty string");
    pf_strv_push(&o->scan, v);
    return 0;
}

static int set_pp(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    (void)name;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > 1024)
        return pf_err_set(err, "--pp '%s' must be an integer from 1 to 1024", v);
    o->pp = (int)n;
    return 0;
}

static int set_memfrac(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    (void)name;
    double d = 0;
    if (whole_double(v, &d) != 0 || d <= 0 || d > 1)
        return pf_err_set(err, "--mem-fraction-static '%s' must be a number in (0, 1]", v);
    o->mem_fraction = d;
    return 0;
}

static int set_timeout(void *opts, const char *name, const char *v, pf_err *err)
{
    pf_probe_opts *o = opts;
    (void)name;
    double d = 0;
    if (whole_double(v, &d) != 0 || d <= 0 || d > 3600)
        return pf_err_set(err, "--timeout '%s' must be a number of seconds in (0, 3600]", v);
    o->tool_timeout_s = d;
    return 0;
}

/* The one table: parser and --help of every command that takes these.
 * A row's group is its PF_PF_* bit; a command accepts the bits it names. */
static const pf_flag FLAGS[] = {
    {PF_FLAG_FN, "--arch", "X.Y",
     "evaluate for compute capability X.Y instead of the local GPUs (works\n"
     "without a GPU: 11.0 Jetson Thor, 12.1 DGX Spark GB10, 9.0 H100)",
     .fn = set_arch, .group = PF_PF_ARCH, .needs = "a compute capability X.Y"},
    {PF_FLAG_FN, "--venv", "DIR",
     "the Python environment the server runs in; its serving stack (torch,\n"
     "vllm, sgl_kernel, flashinfer, nvidia/*, ...) is judged as one gpu.kernels\n"
     "check (check: default $VIRTUAL_ENV, else the first python3 on PATH)",
     .fn = set_venv, .group = PF_PF_VENV, .needs = "a directory"},
    {PF_FLAG_FN, "--scan", "PATH", "also scan PATH (file or directory) for CUDA kernels; repeatable",
     .fn = set_scan, .group = PF_PF_SCAN, .needs = "a file or directory"},
    {PF_FLAG_STR, "--model", "DIR", "local Hugging Face model directory (weights size for mem.headroom)",
     .off = offsetof(pf_probe_opts, model_dir), .group = PF_PF_MODEL, .needs = "a model directory"},
    {PF_FLAG_FN, "--pp", "N", "pipeline-parallel size (each node holds 1/N of the weights)",
     .fn = set_pp, .group = PF_PF_PP, .needs = "a pipeline-parallel size"},
    {PF_FLAG_FN, "--mem-fraction-static", "F", "the server's planned static memory fraction (default 0.85)",
     .fn = set_memfrac, .group = PF_PF_MEMFRAC, .needs = "a fraction"},
    {PF_FLAG_FN, "--timeout", "S", "deadline for each external tool a check runs (default 10)",
     .fn = set_timeout, .group = PF_PF_TIMEOUT, .needs = "a number of seconds"},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

int pf_probe_parse_flag(pf_probe_opts *o, unsigned accept, int argc, char **argv, int *i,
                        pf_err *err)
{
    /* no "--flag=value" form here: these commands never had it */
    return pf_flags_take(FLAGS, NFLAGS, accept, 0, o, argc, argv, i, err);
}

void pf_probe_flags_help(FILE *f, unsigned accept)
{
    pf_flags_help(f, FLAGS, NFLAGS, accept, PF_PROBE_HELP_COL);
}

int pf_probe_take_flag(const char *cmd, pf_output_opts *oo, pf_probe_opts *po, unsigned accept,
                       int argc, char **argv, int *i)
{
    pf_err err = {{0}};
    int r = pf_output_parse_flag(oo, argc, argv, i, &err);
    if (r == 0)
        r = pf_probe_parse_flag(po, accept, argc, argv, i, &err);
    if (r < 0)
        fprintf(stderr, "preflight %s: %s\n", cmd, err.msg);
    return r;
}

/* probe_flags.c -- parse the shared node-probe flags (see probe_flags.h).
 * Values are validated here, before any probe runs, so a typo is a usage
 * error (exit 2) and never a check that quietly judges the wrong thing. */
#include "probes/probe_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flag_def {
    const char *name;
    unsigned bit;
    const char *needs; /* for "--x needs ..." when the value is missing */
} flag_def;

static const flag_def flags[] = {
    {"--arch", PF_PF_ARCH, "a compute capability X.Y"},
    {"--venv", PF_PF_VENV, "a directory"},
    {"--scan", PF_PF_SCAN, "a file or directory"},
    {"--model", PF_PF_MODEL, "a model directory"},
    {"--pp", PF_PF_PP, "a pipeline-parallel size"},
    {"--mem-fraction-static", PF_PF_MEMFRAC, "a fraction"},
    {"--timeout", PF_PF_TIMEOUT, "a number of seconds"},
    {"--env-file", PF_PF_ENVFILE, "a file of NAME=VALUE lines"},
};

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

int pf_probe_parse_flag(pf_probe_opts *o, unsigned accept, int argc, char **argv, int *i,
                        pf_err *err)
{
    const char *a = argv[*i];
    const flag_def *f = NULL;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (strcmp(a, flags[k].name) == 0)
            f = &flags[k];
    if (!f || !(f->bit & accept))
        return 0;
    unsigned bit = f->bit;
    if (*i + 1 >= argc) {
        pf_err_set(err, "%s needs %s (see --help)", a, f->needs);
        return -1;
    }
    const char *v = argv[++*i];
    double d;
    switch (bit) {
    case PF_PF_ARCH: {
        int M, m;
        if (pf_parse_arch(v, &M, &m) != 0) {
            pf_err_set(err, "--arch '%s' is not a compute capability (expected X.Y such as 9.0, 11.0, 12.1)", v);
            return -1;
        }
        o->arch = v;
        break;
    }
    case PF_PF_VENV:
        if (!*v) {
            pf_err_set(err, "--venv needs a directory, not an empty string");
            return -1;
        }
        o->venv = v;
        break;
    case PF_PF_SCAN:
        if (!*v) {
            pf_err_set(err, "--scan needs a file or directory, not an empty string");
            return -1;
        }
        pf_strv_push(&o->scan, v);
        break;
    case PF_PF_MODEL:
        o->model_dir = v;
        break;
    case PF_PF_PP: {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 1024) {
            pf_err_set(err, "--pp '%s' must be an integer from 1 to 1024", v);
            return -1;
        }
        o->pp = (int)n;
        break;
    }
    case PF_PF_MEMFRAC:
        if (whole_double(v, &d) != 0 || d <= 0 || d > 1) {
            pf_err_set(err, "--mem-fraction-static '%s' must be a number in (0, 1]", v);
            return -1;
        }
        o->mem_fraction = d;
        break;
    case PF_PF_ENVFILE:
        /* Only the name here: the file is read (and a bad line reported as
         * FILE:LINE, exit 2) by the subcommand before any probe runs. */
        if (!*v) {
            pf_err_set(err, "--env-file needs a file, not an empty string");
            return -1;
        }
        o->env_file = v;
        break;
    case PF_PF_TIMEOUT:
        if (whole_double(v, &d) != 0 || d <= 0 || d > 3600) {
            pf_err_set(err, "--timeout '%s' must be a number of seconds in (0, 3600]", v);
            return -1;
        }
        o->tool_timeout_s = d;
        break;
    }
    return 1;
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

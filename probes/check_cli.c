/* check_cli.c -- `preflight check [options]`.
 *
 * Plans the registered node checks (--only, needs: probes/registry.h), runs
 * them on this node against the environment under judgement (the process's,
 * or --env-file's), and hands the record to the shared output path.
 */
#include "probes/check_cli.h"

#include "core/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/output.h"
#include "probes/probe_flags.h"
#include "probes/registry.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: preflight check [options]\n"
            "\n"
            "Run every node check on this machine and print what will break at launch.\n"
            "\n"
            "  --arch X.Y            evaluate for compute capability X.Y instead of the local GPUs\n"
            "                        (works without a GPU, e.g. in CI: --arch 11.0 for Thor, 12.1 for GB10)\n"
            "  --venv DIR            the Python environment the server runs in (default: $VIRTUAL_ENV,\n"
            "                        else the first python3 on PATH)\n"
            "  --scan PATH           also scan PATH (file or directory) for CUDA kernels; repeatable\n"
            "  --model DIR           local Hugging Face model directory (weights size for mem.headroom)\n"
            "  --pp N                pipeline-parallel size (each node holds 1/N of the weights)\n"
            "  --mem-fraction-static F  the server's planned static memory fraction (default 0.85)\n"
            "  --only ID[,ID...]     run only checks whose id starts with one of these (e.g. gpu.,net.);\n"
            "                        checks they need run too, unreported\n"
            "  --timeout S           deadline for each external tool a check runs (default 10)\n"
            "  --env-file FILE       judge the environment in FILE (NAME=VALUE lines, as systemd's\n"
            "                        EnvironmentFile) instead of this shell's: the server's environment\n"
            "  --list                list the checks and exit\n"
            "%s"
            "  -h, --help            this text\n"
            "\n"
            "Exit codes: 0 no failures, 1 a check failed (or warned with --strict),\n"
            "2 usage or configuration error, 3 the run could not complete (a check errored).\n",
            pf_output_flags_help());
}

int pf_check_main(int argc, char **argv)
{
    pf_probe_opts po;
    pf_output_opts oo;
    pf_probe_opts_init(&po);
    pf_output_opts_init(&oo);
    const char *only = NULL;
    bool list = false;
    int rc = PF_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pf_probe_take_flag("check", &oo, &po, PF_PF_ALL, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = PF_EXIT_OK;
            goto out;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--only") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "preflight check: --only needs a value (see --help)\n");
                goto out;
            }
            only = argv[++i];
        } else {
            fprintf(stderr, "preflight check: unknown option '%s' (see --help)\n", a);
            goto out;
        }
    }

    size_t nprobes;
    const pf_probe_def *probes = pf_probe_registry(&nprobes);
    if (list) {
        for (size_t i = 0; i < nprobes; i++)
            if (probes[i].scope == PF_SCOPE_NODE)
                printf("%-18s %s\n", probes[i].id, probes[i].what);
        rc = PF_EXIT_OK;
        goto out;
    }
    pf_err perr = {{0}};
    pf_probe_plan plan;
    if (pf_probe_plan_make(probes, nprobes, PF_SCOPE_NODE, only, &plan, &perr) != 0) {
        fprintf(stderr, "preflight check: %s\n", perr.msg);
        rc = PF_EXIT_INCOMPLETE;
        goto out;
    }
    if (pf_probe_plan_reported(&plan) == 0) {
        fprintf(stderr, "preflight check: --only '%s' matches no check (see --list)\n", only);
        pf_probe_plan_free(&plan);
        goto out;
    }
    pf_env *env = NULL;
    if (po.env_file && !(env = pf_env_from_file(po.env_file, &perr))) {
        fprintf(stderr, "preflight check: --env-file: %s\n", perr.msg);
        pf_probe_plan_free(&plan);
        goto out;
    }

    pf_run *run = pf_run_new(argc, argv);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    pf_node *node = pf_run_add_node(run, host, NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, run, node);
    if (env)
        pf_ctx_set_env(&ctx, env);
    pf_probe_run_node(&ctx, &plan);
    rc = pf_output_finish(run, &oo);
    pf_ctx_free(&ctx);
    pf_run_free(run);
    pf_env_free(env);
    pf_probe_plan_free(&plan);
out:
    pf_probe_opts_free(&po);
    return rc;
}

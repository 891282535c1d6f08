/* check_cli.c -- `preflight check [options]`.
 *
 * Runs the registered probes in order on this node, times each, and hands
 * the record to the shared output path.  A probe's checks get the probe's
 * wall time as their duration unless the probe set one itself.
 */
#include "probes/check_cli.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "reports/output.h"
#include "probes/probe_flags.h"
#include "probes/registry.h"

/* check's own flags; the node-probe flags come from probe_flags.c's table.
 * Both tables feed the parser below and --help. */
typedef struct check_opts {
    const char *only;
    bool list;
} check_opts;

static const pf_flag FLAGS[] = {
    {PF_FLAG_STR, "--only", "ID[,ID...]",
     "run only checks whose id starts with one of these (e.g. gpu.,net.)",
     .off = offsetof(check_opts, only)},
    {PF_FLAG_SET, "--list", NULL, "list the checks and exit", .off = offsetof(check_opts, list)},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static void usage(FILE *f)
{
    fputs("usage: preflight check [options]\n"
          "\n"
          "Run every node check on this machine and print what will break at launch.\n"
          "\n",
          f);
    pf_probe_flags_help(f, PF_PF_ALL);
    pf_flags_help(f, FLAGS, NFLAGS, 0, PF_PROBE_HELP_COL);
    fputs(pf_output_flags_help(), f);
    fputs("  -h, --help            this text\n"
          "\n"
          "Exit codes: 0 no failures, 1 a check failed (or warned with --strict),\n"
          "2 usage or configuration error, 3 the run could not complete (a check errored).\n",
          f);
}

static bool selected(const char *id, const char *only)
{
    if (!only)
        return true;
    char *copy = pf_xstrdup(only), *save = NULL;
    bool hit = false;
    for (char *p = strtok_r(copy, ",", &save); p && !hit; p = strtok_r(NULL, ",", &save))
        hit = *p && pf_str_startswith(id, p);
    free(copy);
    return hit;
}

int pf_check_main(int argc, char **argv)
{
    pf_probe_opts po;
    pf_output_opts oo;
    pf_probe_opts_init(&po);
    pf_output_opts_init(&oo);
    check_opts co = {0};
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
        }
        pf_err err = {{0}};
        r = pf_flags_take(FLAGS, NFLAGS, 0, 0, &co, argc, argv, &i, &err);
        if (r < 0) {
            fprintf(stderr, "preflight check: %s (see --help)\n", err.msg);
            goto out;
        }
        if (r == 0) {
            fprintf(stderr, "preflight check: unknown option '%s' (see --help)\n", a);
            goto out;
        }
    }
    const char *only = co.only;
    bool list = co.list;

    size_t nprobes;
    const pf_probe_def *probes = pf_probe_registry(&nprobes);
    if (list) {
        for (size_t i = 0; i < nprobes; i++)
            printf("%-18s %s\n", probes[i].id, probes[i].what);
        rc = PF_EXIT_OK;
        goto out;
    }
    size_t nsel = 0;
    for (size_t i = 0; i < nprobes; i++)
        nsel += selected(probes[i].id, only);
    if (nsel == 0) {
        fprintf(stderr, "preflight check: --only '%s' matches no check (see --list)\n", only);
        goto out;
    }

    pf_run *run = pf_run_new(argc, argv);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    pf_node *node = pf_run_add_node(run, host, NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, run, node);
    for (size_t i = 0; i < nprobes; i++) {
        if (!selected(probes[i].id, only))
            continue;
        size_t before = pf_run_check_count(run);
        double t0 = pf_now();
        probes[i].fn(&ctx);
        double dt = pf_now() - t0;
        for (size_t k = before; k < pf_run_check_count(run); k++) {
            pf_check *c = pf_run_check(run, k);
            if (pf_check_duration(c) < 0)
                pf_check_set_duration(c, dt);
        }
    }
    rc = pf_output_finish(run, &oo);
    pf_ctx_free(&ctx);
    pf_run_free(run);
out:
    pf_probe_opts_free(&po);
    return rc;
}

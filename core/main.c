/* main.c -- `preflight <command> [options]`, git style. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench_cli.h"
#include "cluster/agent.h"
#include "cluster/cluster_cli.h"
#include "cluster/plan.h"
#include "core/record.h"
#include "core/sig.h"
#include "probes/check_cli.h"
#include "probes/kernels/kernels_cli.h"
#include "probes/nccl/nccl_cli.h"
#include "reports/compare_cli.h"
#include "reports/report_cli.h"

typedef struct command {
    const char *name;
    const char *what;
    int (*fn)(int argc, char **argv);
    bool stops_cleanly; /* polls pf_sig_count(): keeps its record on SIGINT/SIGTERM/SIGHUP */
} command;

/* stops_cleanly (docs/RELIABILITY.md, "One signal policy"): true for every
 * command that runs work worth a record.  plan, report and compare are
 * false by design: they only read records and write files, each through
 * temp + rename, so the immediate exit never leaves a half-written output
 * (test harden_sig_files; plan's outputs too). */

static const command commands[] = {
    {"check", "run every node check on this machine (kernels, ptxas, memory, network)", pf_check_main, true},
    {"kernels", "find the CUDA kernels in libraries and judge them for a GPU", pf_kernels_main, true},
    {"nccl", "run NCCL itself (the server's libnccl) with local ranks: pipeline, sweep, transport", pf_nccl_main, true},
    {"cluster", "check every node and every pair of nodes of a cluster, from one node", pf_cluster_main, true},
    {"agent", "the per-node side of preflight cluster (started by its launcher)", pf_agent_main, true},
    {"bench", "benchmark a serving endpoint the way SGLang's bench_serving measures it", pf_bench_main, true},
    {"plan", "write per-node env files, ray start lines and the launch command a cluster run proved", pf_plan_main, false},
    {"report", "render saved run records: HTML, JUnit, Markdown, GitHub, benchmark JSON, Prometheus", pf_report_main, false},
    {"compare", "regression gate: a run against a baseline record (exit 1 on a regression)", pf_compare_main, false},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: preflight [--version] [--help] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\n`preflight <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("preflight %s\n", PF_VERSION);
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (strcmp(cmd, "help") == 0 && argc > 2) {
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, hargv);
                }
        }
        usage(stdout);
        return PF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) {
            /* One signal policy for every command (core/sig.h): SIGINT,
             * SIGTERM, SIGHUP stop the work, the record is still written;
             * a second one exits at once. */
            pf_err err = {{0}};
            if (pf_sig_install(&err) != 0) {
                fprintf(stderr, "preflight: %s\n", err.msg);
                return PF_EXIT_INCOMPLETE;
            }
            /* commands that do not poll the flag yet exit on the first signal */
            pf_sig_set_immediate(!commands[i].stops_cleanly);
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "preflight: '%s' is not a preflight command (see preflight --help)\n", cmd);
    return PF_EXIT_USAGE;
}

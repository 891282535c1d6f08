/* launcher_srun.c -- `--launcher srun`: inside a Slurm allocation, one agent
 * per node as a job step (--ntasks-per-node=1; --overlap so it runs beside a
 * step that holds the resources, such as the server).  Each agent takes its
 * name from SLURM_PROCID in the --node-names list (scontrol's host order).
 * srun forwards stdin to every task, so the secret goes there.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cluster/launcher.h"

static int srun_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    pf_strv argv = {0};
    pf_strv_push(&argv, "srun");
    pf_strv_push_owned(&argv, pf_xasprintf("--nodes=%zu", cfg->nodes->n));
    pf_strv_push(&argv, "--ntasks-per-node=1");
    pf_strv_push_owned(&argv, pf_xasprintf("--ntasks=%zu", cfg->nodes->n));
    pf_strv_push(&argv, "--overlap");
    pf_strv_push(&argv, "--input=all");
    pf_launcher_agent_argv(cfg, -1, &argv);
    pf_strv_push_owned(&argv, NULL);
    argv.n--;
    char *line = pf_xasprintf("%s\n", cfg->secret_hex);
    pf_err e;
    int rc = 0;
    if (pf_launcher_spawn(l, -1, argv.v, line, NULL, &e) < 0)
        rc = pf_err_set(err, "--launcher srun: %s (run inside salloc/sbatch on a Slurm cluster)", e.msg);
    free(line);
    pf_strv_free(&argv);
    return rc;
}

const pf_launcher_vt pf_launcher_srun = {.name = "srun", .start = srun_start, .explain = NULL};

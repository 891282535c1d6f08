/* launcher_mpirun.c -- `--launcher mpirun`: Open MPI's mpirun places one agent
 * per node (--map-by ppr:1:node); each agent takes its name from its rank
 * (OMPI_COMM_WORLD_RANK, or PMI_RANK under MPICH) in the --node-names list,
 * which is the host order.  mpirun gives stdin to rank 0 only, so the secret
 * travels in the environment (PF_AUTH_ENV, exported by name with -x: its
 * value is not on any command line).  A non-zero agent must not abort the
 * others (orte_abort_on_non_zero_status 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/auth.h"
#include "cluster/launcher.h"

static int mpirun_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    pf_strv argv = {0};
    pf_strv_push(&argv, "mpirun");
    pf_strv_push(&argv, "--allow-run-as-root");
    size_t len = 0;
    for (size_t i = 0; i < cfg->nodes->n; i++)
        len += strlen(cfg->nodes->v[i].host) + 1;
    char *hosts = pf_xcalloc(len + 1, 1);
    for (size_t i = 0; i < cfg->nodes->n; i++) {
        if (i)
            strcat(hosts, ",");
        strcat(hosts, cfg->nodes->v[i].host);
    }
    pf_strv_push(&argv, "--host");
    pf_strv_push_owned(&argv, hosts);
    pf_strv_push(&argv, "-np");
    pf_strv_push_owned(&argv, pf_xasprintf("%zu", cfg->nodes->n));
    pf_strv_push(&argv, "--map-by");
    pf_strv_push(&argv, "ppr:1:node");
    pf_strv_push(&argv, "-x");
    pf_strv_push(&argv, PF_AUTH_ENV);
    pf_strv_push(&argv, "--mca");
    pf_strv_push(&argv, "orte_abort_on_non_zero_status");
    pf_strv_push(&argv, "0");
    pf_strv_push(&argv, "--mca");
    pf_strv_push(&argv, "plm_rsh_agent");
    pf_strv_push_owned(&argv, pf_xasprintf("ssh -o BatchMode=yes -o ConnectTimeout=%d -o StrictHostKeyChecking=accept-new",
                                           cfg->connect_timeout_s > 0 ? (int)(cfg->connect_timeout_s + 0.999) : 5));
    pf_launcher_agent_argv(cfg, -1, &argv);
    pf_strv_push_owned(&argv, NULL);
    argv.n--;
    char *env = pf_xasprintf("%s=%s", PF_AUTH_ENV, cfg->secret_hex);
    const char *envs[] = {env, NULL};
    pf_err e;
    int rc = 0;
    if (pf_launcher_spawn(l, -1, argv.v, NULL, envs, &e) < 0)
        rc = pf_err_set(err, "--launcher mpirun: %s (Debian: apt-get install openmpi-bin)", e.msg);
    /* The child has its own copy; the string is ours to drop now. */
    free(env);
    pf_strv_free(&argv);
    return rc;
}

const pf_launcher_vt pf_launcher_mpirun = {.name = "mpirun", .start = mpirun_start, .explain = NULL};

/* launcher_ray.c -- `--launcher ray`: a small Python helper
 * (scripts/preflight-ray-agents.py) connects to the running Ray cluster and
 * starts one agent on each alive node with NodeAffinitySchedulingStrategy
 * (soft=False, num_cpus=0), so the agents see the environment Ray gives its
 * workers.  The helper reads the secret from its stdin and hands it to each
 * task as an argument (Ray's task arguments are not a command line), which
 * writes it to the agent's stdin.  It also prints ray.nodes() as one JSON
 * line for cluster.ray.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cluster/launcher.h"

static int ray_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    if (!cfg->ray_helper)
        return pf_err_set(err, "--launcher ray: the helper scripts/preflight-ray-agents.py was not found "
                               "(give its path with --ray-helper)");
    pf_strv argv = {0};
    pf_strv_push(&argv, cfg->python ? cfg->python : "python3");
    pf_strv_push(&argv, cfg->ray_helper);
    pf_strv_push(&argv, "--address");
    pf_strv_push(&argv, cfg->ray_address ? cfg->ray_address : "auto");
    pf_strv_push(&argv, "--");
    pf_launcher_agent_argv(cfg, -1, &argv);
    pf_strv_push_owned(&argv, NULL);
    argv.n--;
    char *line = pf_xasprintf("%s\n", cfg->secret_hex);
    pf_err e;
    int rc = 0;
    if (pf_launcher_spawn(l, -1, argv.v, line, NULL, &e) < 0)
        rc = pf_err_set(err, "--launcher ray: %s", e.msg);
    free(line);
    pf_strv_free(&argv);
    return rc;
}

const pf_launcher_vt pf_launcher_ray = {.name = "ray", .start = ray_start, .explain = NULL};

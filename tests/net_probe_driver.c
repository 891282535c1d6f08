/* net_probe_driver.c -- runs the net.* probes the way `preflight check` does
 * and writes the run record, so end-to-end tests can run them inside a
 * network namespace without depending on the probe registry.
 *
 *   net_probe_driver [--only net.gloo[,net.x]] [--venv DIR] [--timeout S] [--json FILE|-]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/record.h"
#include "probes/context.h"
#include "probes/net/net_checks.h"

static const pf_probe_def probes[] = {
    {.id = "net.interfaces", .what = "", .fn = pf_probe_net_interfaces},
    {.id = "net.nccl_ifname", .what = "", .fn = pf_probe_net_nccl_ifname},
    {.id = "net.gloo", .what = "", .fn = pf_probe_net_gloo},
    {.id = "net.transport", .what = "", .fn = pf_probe_net_transport},
};

static bool selected(const char *id, const char *only)
{
    if (!only)
        return true;
    char *copy = strdup(only), *save = NULL;
    bool hit = false;
    for (char *p = strtok_r(copy, ",", &save); p && !hit; p = strtok_r(NULL, ",", &save))
        hit = *p && strncmp(id, p, strlen(p)) == 0;
    free(copy);
    return hit;
}

int main(int argc, char **argv)
{
    const char *only = NULL, *json = "-";
    pf_probe_opts po;
    pf_probe_opts_init(&po);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--only") == 0)
            only = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--venv") == 0)
            po.venv = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--json") == 0)
            json = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0)
            po.tool_timeout_s = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--only IDS] [--venv DIR] [--timeout S] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    char *fake[] = {"preflight", "check", "--only", "net.", NULL};
    pf_run *run = pf_run_new(4, fake);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    pf_node *node = pf_run_add_node(run, host, NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, run, node);
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (!selected(probes[i].id, only))
            continue;
        size_t before = pf_run_check_count(run);
        double t0 = pf_now();
        probes[i].fn(&ctx);
        for (size_t k = before; k < pf_run_check_count(run); k++)
            pf_check_set_duration(pf_run_check(run, k), pf_now() - t0);
    }
    pf_run_finish(run);
    pf_err err;
    int rc = pf_run_write_json(run, false, json, &err);
    if (rc != 0)
        fprintf(stderr, "net_probe_driver: %s\n", err.msg);
    else
        rc = pf_run_exit_code(run, false);
    pf_ctx_free(&ctx);
    pf_run_free(run);
    pf_probe_opts_free(&po);
    return rc < 0 ? 3 : rc;
}

/* cluster_cli.c -- `preflight cluster [options]`: where the nodes come from,
 * which launcher starts the agents, the deadlines; then the coordinator
 * (coord.c) runs and the shared output path renders the merged record.
 */
#include "cluster/cluster_cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/coord.h"
#include "cluster/launcher.h"
#include "cluster/nodelist.h"
#include "core/proc.h"
#include "core/sig.h"
#include "cluster/ncclop.h"
#include "probes/nccl/nccl_envfile.h"
#include "probes/nccl/nccl_flags.h"
#include "probes/probe_flags.h"
#include "reports/cluster_table.h"
#include "reports/output.h"

#include "cluster/plan.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: preflight cluster [--hosts A,B,... | --hostfile FILE | --ray [ADDRESS]] [options]\n"
            "\n"
            "Check every node and every pair of nodes before a multi-node launch: runs\n"
            "`preflight agent` on each node (through ssh, a command template, mpirun, srun,\n"
            "Ray or by hand), merges their node checks, measures the pairs (reach, MTU,\n"
            "Gloo mesh, bandwidth between pipeline neighbours) and judges the cluster.\n"
            "\n"
            "Nodes (the order is the pipeline order, stage 0 first):\n"
            "  --hosts A,B,...       [user@]host[:sshport] each\n"
            "  --hostfile FILE       one node per line: [user@]host[:port] [name= stage= venv= arch=\n"
            "                        model= env=FILE bin=]\n"
            "  --ray [ADDRESS]       the alive nodes of a running Ray cluster (implies --launcher ray)\n"
            "                        (inside a Slurm allocation SLURM_JOB_NODELIST is the default)\n"
            "Launching:\n"
            "  --launcher L          ssh (default), exec, mpirun, srun, ray, manual\n"
            "  --exec-template T     for exec: e.g. 'ip netns exec {host} {cmd}', 'docker exec -i {host} {cmd}'\n"
            "  -o KEY=VALUE          an ssh option (repeatable), e.g. -o IdentityFile=~/.ssh/lab\n"
            "  --agent-path P        preflight's path on the nodes (default: preflight on their PATH)\n"
            "  --listen ADDR[:PORT]  where agents connect back (default: the address routed to the first node, any port)\n"
            "  --secret-file FILE    manual: where the run's secret is written (default ./preflight-cluster.secret)\n"
            "  --env MODE            environment judged on the nodes: login (default) or inherit\n"
            "  --python PY           the python that has Ray, for --ray / --launcher ray (default python3,\n"
            "                        or $PF_RAY_PYTHON)\n"
            "Deadlines and tests:\n"
            "  --join-timeout S      every agent joined (default 20)\n"
            "  --checks-timeout S    node checks on every node (default 120)\n"
            "  --pairs-timeout S     all pair probes (default 30)\n"
            "  --keepalive S         ping interval; agents give up after 3x (default 5)\n"
            "  --auth-timeout S      a new connection authenticates (default 3; then it is dropped)\n"
            "  --no-pairs            skip the pair tests\n"
            "  --all-pairs-bandwidth bandwidth on every pair, not only stage i -> i+1\n"
            "  --bw-seconds S        per bandwidth probe (default 0.5; at most 512 MiB)   --bw-streams N (default 1)\n"
            "  --ports P,P,...       ports the launch needs, held open on every node and probed from\n"
            "                        every peer (e.g. 6379,8265 for Ray, the server's port)\n"
            "  --plan DIR            write the per-node env files and launch lines (preflight plan)\n"
            "NCCL (cluster.nccl; off unless --nccl: it needs a GPU and NCCL on every node):\n"
            "  --nccl                run NCCL itself, one rank per node in pipeline order: the hand-offs\n"
            "                        stage i -> i+1, all-reduce and all-gather sweeps (see preflight nccl)\n"
            "  --nccl-timeout S      each rank's deadline; a rank still running is killed and named (default 60)\n"
            "  --capture IF[,IF...]|auto\n"
            "                        count NCCL's TCP traffic per interface on every node (libpcap in a\n"
            "                        process of the agent; needs CAP_NET_RAW there, else nccl.capture\n"
            "                        skips); auto: every interface that is up on that node (at most 16)\n"
            "  --fallback-env FILE   then run again (all-reduce 1K..4M) with FILE's variables added on\n"
            "                        every node (nccl.fallback), e.g. NCCL_IB_DISABLE=1; the agents accept\n"
            "                        only NCCL_ variables that name no file or library (docs/cluster.md)\n"
            "%s"
            "Node checks (as in preflight check; hostfile keys override per node):\n"
            "  --arch X.Y  --venv DIR  --model DIR  --pp N  --mem-fraction-static F  --timeout S\n"
            "  --only ID[,ID...]\n"
            "%s"
            "  -h, --help            this text\n"
            "\n"
            "Exit codes: 0 no failures, 1 a check failed (a node that did not take part fails\n"
            "cluster.nodes), 2 usage or configuration error, 3 the run could not complete.\n",
            pf_ncclflags_help(), pf_output_flags_help());
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "preflight cluster: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return PF_EXIT_USAGE;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *end || end == v || d < lo || d > hi)
        return bad("%s needs a number from %g to %g (got '%s')", flag, lo, hi, v ? v : "");
    *out = d;
    return 0;
}

/* The Ray helper: next to the binary's source tree (scripts/) or given. */
static char *find_ray_helper(void)
{
    const char *env = getenv("PF_RAY_HELPER");
    if (env)
        return pf_xstrdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    static const char *const rel[] = {"/../scripts/preflight-ray-agents.py", "/../../scripts/preflight-ray-agents.py",
                                      "/../share/preflight/preflight-ray-agents.py"};
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char *p = pf_xasprintf("%s%s", self, rel[i]);
        if (pf_is_file(p))
            return p;
        free(p);
    }
    return NULL;
}

/* Ask the helper for the alive Ray nodes: one "name ip" line each. */
static int nodes_from_ray(pf_nodelist *nl, const char *python, const char *helper, const char *address,
                          json_t **raynodes, pf_err *err)
{
    if (!helper)
        return pf_err_set(err, "--ray: the helper preflight-ray-agents.py was not found (set PF_RAY_HELPER)");
    char *argv[] = {(char *)python, (char *)helper, "--address", (char *)(address ? address : "auto"), "--list", NULL};
    pf_proc_opts po = {.timeout_s = 30, .max_out = 1 << 20};
    pf_proc_result r;
    pf_err e;
    if (pf_proc_run(argv, &po, &r, &e) < 0)
        return pf_err_set(err, "--ray: %s", e.msg);
    int rc = 0;
    if (!r.exited || r.exit_code != 0) {
        char d[64];
        pf_proc_describe(&r, d, sizeof d);
        const char *last = r.out ? r.out : "";
        size_t L = strlen(last);
        rc = pf_err_set(err, "--ray %s: %s (helper %s): %.300s", address ? address : "auto",
                        r.exited && r.exit_code == 3 ? "Ray is not installed for that python (--python PY)"
                                                     : "no Ray cluster there", d,
                        L > 300 ? last + L - 300 : last);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(r.out, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
            if (pf_str_startswith(line, "RAYNODES ")) {
                json_decref(*raynodes);
                *raynodes = json_loads(line + 9, 0, NULL);
                continue;
            }
            if (!pf_str_startswith(line, "NODE "))
                continue;
            char name[128], ip[128];
            if (sscanf(line + 5, "%127s %127s", name, ip) != 2)
                continue;
            char *spec = pf_xasprintf("%s", ip);
            if (pf_nodelist_add(nl, spec, &e) < 0)
                rc = pf_err_set(err, "--ray: %s", e.msg);
            else {
                free(nl->v[nl->n - 1].name);
                nl->v[nl->n - 1].name = pf_xstrdup(pf_nodelist_name_ok(name) ? name : ip);
            }
            free(spec);
        }
        if (rc == 0 && nl->n == 0)
            rc = pf_err_set(err, "--ray: Ray reports no alive node");
    }
    pf_proc_result_free(&r);
    free(nl->source);
    nl->source = pf_xstrdup("ray");
    return rc;
}

int pf_cluster_main(int argc, char **argv)
{
    pf_probe_opts po;
    pf_output_opts oo;
    pf_probe_opts_init(&po);
    pf_output_opts_init(&oo);
    pf_coord_opts co;
    pf_coord_opts_init(&co);
    pf_nodelist nl;
    pf_nodelist_init(&nl);
    pf_strv ssh_opts = {0}, agent_args = {0}, fallback_env = {0};
    const char *hosts = NULL, *hostfile = NULL, *launcher = NULL, *tmpl = NULL, *listen = NULL;
    const char *agent_path = NULL, *only = NULL, *secret_file = NULL, *ray_address = NULL;
    bool use_ray = false, nccl_flag_seen = false;
    char *bind = NULL, *helper = NULL;
    const char *python = getenv("PF_RAY_PYTHON") ? getenv("PF_RAY_PYTHON") : "python3";
    json_t *raynodes = NULL;
    int rc = PF_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pf_probe_take_flag("cluster", &oo, &po, PF_PF_ARCH | PF_PF_VENV | PF_PF_MODEL | PF_PF_PP |
                                                        PF_PF_MEMFRAC | PF_PF_TIMEOUT, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        /* the NCCL probe's own rows (nccl_flags.h), as preflight nccl has them */
        r = pf_ncclflags_take("cluster", &co.nccl_flags, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0) {
            nccl_flag_seen = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = PF_EXIT_OK;
            goto out;
        } else if (strcmp(a, "--ray") == 0) {
            use_ray = true;
            if (v && v[0] != '-')
                ray_address = argv[++i];
            continue;
        } else if (strcmp(a, "--nccl") == 0) {
            co.nccl = true;
            continue;
        } else if (strcmp(a, "--no-pairs") == 0) {
            co.pairs = false;
            continue;
        } else if (strcmp(a, "--all-pairs-bandwidth") == 0) {
            co.all_pairs_bandwidth = true;
            continue;
        }
        /* Every other option takes a value. */
        static const char *const valued[] = {"--hosts", "--hostfile", "--launcher", "--exec-template", "-o",
                                             "--agent-path", "--listen", "--join-timeout", "--checks-timeout",
                                             "--pairs-timeout", "--keepalive", "--bw-seconds", "--bw-streams",
                                             "--plan", "--only", "--secret-file", "--env", "--ports", "--auth-timeout", "--python",
                                             "--nccl-timeout", "--capture", "--fallback-env", NULL};
        bool known = false;
        for (const char *const *k = valued; *k; k++)
            known |= strcmp(a, *k) == 0;
        if (!known) {
            rc = bad("unknown option '%s' (see --help)", a);
            goto out;
        }
        if (!v) {
            rc = bad("%s needs a value (see --help)", a);
            goto out;
        }
        i++;
        if (strcmp(a, "--hosts") == 0)
            hosts = v;
        else if (strcmp(a, "--hostfile") == 0)
            hostfile = v;
        else if (strcmp(a, "--launcher") == 0)
            launcher = v;
        else if (strcmp(a, "--exec-template") == 0)
            tmpl = v;
        else if (strcmp(a, "-o") == 0) {
            if (!strchr(v, '=') || strncasecmp(v, "BatchMode", 9) == 0) {
                rc = bad("-o '%s': give KEY=VALUE (BatchMode stays yes: a password prompt would hang the run)", v);
                goto out;
            }
            pf_strv_push(&ssh_opts, v);
        } else if (strcmp(a, "--agent-path") == 0)
            agent_path = v;
        else if (strcmp(a, "--python") == 0)
            python = v;
        else if (strcmp(a, "--listen") == 0)
            listen = v;
        else if (strcmp(a, "--plan") == 0)
            co.plan_dir = v;
        else if (strcmp(a, "--ports") == 0) {
            char *copy = pf_xstrdup(v), *save = NULL;
            for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                char *end;
                long pn = strtol(p, &end, 10);
                if (*end || pn < 1 || pn > 65535 || co.nports >= 16) {
                    free(copy);
                    rc = bad("--ports '%s': give up to 16 port numbers 1-65535, comma-separated", v);
                    goto out;
                }
                co.ports[co.nports++] = (int)pn;
            }
            free(copy);
        }
        else if (strcmp(a, "--only") == 0)
            only = v;
        else if (strcmp(a, "--secret-file") == 0)
            secret_file = v;
        else if (strcmp(a, "--capture") == 0) {
            char why[200];
            if (pf_ncclop_capture_ok(v, why, sizeof why) != 0) {
                rc = bad("--capture %s", why);
                goto out;
            }
            co.nccl_capture = v;
            nccl_flag_seen = true;
        } else if (strcmp(a, "--fallback-env") == 0) {
            /* read here, sent to the agents, which check every variable */
            pf_err fe = {{0}};
            pf_strv_free(&fallback_env);
            if (pf_ncclenv_load(v, &fallback_env, &fe) != 0) {
                rc = bad("--fallback-env: %s", fe.msg);
                goto out;
            }
            if (fallback_env.n == 0) {
                rc = bad("--fallback-env %s has no NAME=value line", v);
                goto out;
            }
            co.nccl_fallback = &fallback_env;
            co.nccl_fallback_file = v;
            nccl_flag_seen = true;
        }
        else if (strcmp(a, "--env") == 0) {
            if (strcmp(v, "login") && strcmp(v, "inherit")) {
                rc = bad("--env '%s' is not login or inherit (per-node env files go in the hostfile: env=FILE)", v);
                goto out;
            }
            co.env_mode = v;
        } else {
            double lo = 0.1, hi = 3600;
            if (strcmp(a, "--bw-streams") == 0)
                lo = 1, hi = 16;
            if (strcmp(a, "--nccl-timeout") == 0)
                lo = 1, hi = 86400;
            if (num(a, v, lo, hi, &d))
                goto out;
            if (strcmp(a, "--join-timeout") == 0)
                co.join_s = d;
            else if (strcmp(a, "--checks-timeout") == 0)
                co.checks_s = d;
            else if (strcmp(a, "--pairs-timeout") == 0)
                co.pairs_s = d;
            else if (strcmp(a, "--keepalive") == 0)
                co.keepalive_s = d;
            else if (strcmp(a, "--auth-timeout") == 0)
                co.auth_s = d;
            else if (strcmp(a, "--bw-seconds") == 0)
                co.bw_seconds = d;
            else if (strcmp(a, "--nccl-timeout") == 0) {
                co.nccl_s = d;
                nccl_flag_seen = true;
            }
            else
                co.bw_streams = (int)d;
        }
    }

    if (nccl_flag_seen && !co.nccl) {
        rc = bad("the NCCL flags (--libnccl, -b, --nccl-timeout, --capture, --fallback-env, ...) need --nccl");
        goto out;
    }
    if (co.nccl) {
        /* the size range is checked here, before anything is launched */
        pf_ncclrank_opts ro = {0};
        uint64_t sizes[PF_NCCL_MAX_SIZES];
        pf_err ne = {{0}};
        if (pf_ncclflags_apply(&co.nccl_flags, 2, &ro, sizes, &ne) < 0) {
            rc = bad("%s", ne.msg);
            goto out;
        }
        const char *libs[] = {co.nccl_flags.libnccl, co.nccl_flags.libcuda};
        for (int k = 0; k < 2; k++)
            if (libs[k] && libs[k][0] != '/') {
                rc = bad("--%s '%s' must be an absolute path (the same path on every node)", k ? "libcuda" : "libnccl",
                         libs[k]);
                goto out;
            }
    }
    if ((hosts != NULL) + (hostfile != NULL) + use_ray > 1) {
        rc = bad("give one of --hosts, --hostfile, --ray");
        goto out;
    }
    if (!launcher)
        launcher = use_ray ? "ray" : (!hosts && !hostfile && getenv("SLURM_JOB_NODELIST")) ? "srun" : "ssh";
    const pf_launcher_vt *vt = pf_launcher_find(launcher);
    if (!vt) {
        rc = bad("--launcher '%s' is not one of ssh, exec, mpirun, srun, ray, manual", launcher);
        goto out;
    }
    if (strcmp(launcher, "exec") == 0 && !tmpl) {
        rc = bad("--launcher exec needs --exec-template 'CMD {host} {cmd}' (e.g. 'ip netns exec {host} {cmd}')");
        goto out;
    }
    if (tmpl && strcmp(launcher, "exec") != 0) {
        rc = bad("--exec-template is for --launcher exec");
        goto out;
    }
    if (strcmp(launcher, "ray") == 0 && (hosts || hostfile)) {
        rc = bad("--launcher ray takes its nodes from Ray (one agent per alive node): use --ray [ADDRESS] "
                 "instead of --hosts/--hostfile");
        goto out;
    }
    if (ssh_opts.n && strcmp(launcher, "ssh") != 0) {
        rc = bad("-o passes options to ssh; it does nothing with --launcher %s", launcher);
        goto out;
    }
    helper = find_ray_helper();
    pf_err e;
    if (hosts) {
        if (pf_nodelist_from_hosts(&nl, hosts, &e) < 0) {
            rc = bad("%s", e.msg);
            goto out;
        }
    } else if (hostfile) {
        if (pf_nodelist_from_hostfile(&nl, hostfile, &e) < 0) {
            rc = bad("%s", e.msg);
            goto out;
        }
    } else if (use_ray || strcmp(launcher, "ray") == 0) {
        if (nodes_from_ray(&nl, python, helper, ray_address, &raynodes, &e) < 0) {
            rc = bad("%s", e.msg);
            goto out;
        }
    } else if (getenv("SLURM_JOB_NODELIST")) {
        if (pf_nodelist_from_slurm(&nl, 10, &e) < 0) {
            rc = bad("%s", e.msg);
            goto out;
        }
    } else {
        rc = bad("which nodes? give --hosts A,B,..., --hostfile FILE or --ray (see --help)");
        goto out;
    }
    if (listen) {
        bind = pf_xstrdup(listen);
        char *colon = strchr(bind, ':');
        if (colon) {
            *colon = 0;
            double p = 0;
            if (num("--listen port", colon + 1, 0, 65535, &p))
                goto out;
            co.port = (int)p;
        }
        if (*bind)
            co.bind_addr = bind;
    }

    /* The node-check flags every agent gets (hostfile keys override). */
    json_t *flags = json_object();
    if (po.arch)
        json_object_set_new(flags, "arch", json_string(po.arch));
    if (po.venv)
        json_object_set_new(flags, "venv", json_string(po.venv));
    if (po.model_dir)
        json_object_set_new(flags, "model", json_string(po.model_dir));
    if (po.pp)
        json_object_set_new(flags, "pp", json_integer(po.pp));
    json_object_set_new(flags, "mem_fraction", json_real(po.mem_fraction));
    json_object_set_new(flags, "timeout", json_real(po.tool_timeout_s));
    if (only)
        json_object_set_new(flags, "only", json_string(only));
    co.flags = flags;
    if (strcmp(launcher, "ray") == 0 && !co.env_mode)
        co.env_mode = "inherit";
    co.log = oo.verbosity >= 0 ? stderr : NULL;
    if (strcmp(launcher, "manual") == 0)
        co.secret_file = secret_file ? secret_file : "preflight-cluster.secret";

    pf_launcher_cfg lc = {
        .agent_bin = agent_path,
        .exec_template = tmpl,
        .ssh_opts = &ssh_opts,
        .connect_timeout_s = 5,
        .ray_address = ray_address,
        .ray_helper = helper,
        .python = python,
        .agent_args = &agent_args,
    };
    /* A child that exits at once (no such host) closes its stdin before the
     * secret is written: that must be an error to read, not a SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    pf_run *run = pf_run_new(argc, argv);
    if (raynodes) {
        /* What Ray sees, for cluster.ray (cluster/judge.h). */
        pf_run_set_section(run, "ray", raynodes);
        raynodes = NULL;
    }
    if (pf_coord_run(run, &nl, vt, &lc, &co, &e) < 0) {
        fprintf(stderr, "preflight cluster: %s\n", e.msg);
        rc = PF_EXIT_USAGE;
        pf_run_free(run);
        json_decref(flags);
        goto out;
    }
    json_decref(flags);
    if (co.plan_dir && pf_sig_count() > 0) {
        /* a plan from a run cut short would leave out what was not tested */
        fprintf(stderr, "preflight cluster: --plan %s not written: the run was interrupted\n", co.plan_dir);
    } else if (co.plan_dir && pf_plan_write(run, co.plan_dir, &e) < 0) {
        fprintf(stderr, "preflight cluster: --plan %s: %s\n", co.plan_dir, e.msg);
        pf_run_set_incomplete(run, "the plan could not be written: %s", e.msg);
    }
    /* The node x check table first; then the shared output path lists the
     * problems with their fix: lines (every check with -v) and the total. */
    if (oo.verbosity >= 0) {
        FILE *tf = oo.json_path && strcmp(oo.json_path, "-") == 0 ? stderr : stdout;
        pf_cluster_table_render(tf, run, oo.color);
        if (oo.verbosity == 0)
            oo.verbosity = -1;
    }
    rc = pf_output_finish(run, &oo);
    pf_run_free(run);
out:
    json_decref(raynodes);
    free(bind);
    free(helper);
    pf_strv_free(&ssh_opts);
    pf_strv_free(&agent_args);
    pf_strv_free(&fallback_env);
    pf_nodelist_free(&nl);
    pf_probe_opts_free(&po);
    return rc;
}

/* nccl_cli.c -- `preflight nccl [options]` (see docs/nccl.md). */
#include "probes/nccl/nccl_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sig.h"
#include "probes/context.h"
#include "probes/nccl/libnccl.h"
#include "probes/nccl/nccl_envfile.h"
#include "probes/nccl/nccl_flags.h"
#include "probes/nccl/nccl_judge.h"
#include "probes/nccl/nccl_local.h"
#include "probes/nccl/nccl_pcap.h"
#include "probes/nccl/nccl_sweep.h"
#include "probes/probe_flags.h"
#include "reports/output.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: preflight nccl [options]\n"
            "\n"
            "Run NCCL itself -- the libnccl the server will load -- with several local ranks (one\n"
            "process each) under the server's environment: pipeline send/recv at the sizes a stage\n"
            "hands on, then all-reduce and all-gather over a size sweep as nccl-tests does, every\n"
            "result checked.  Never hangs: non-blocking init, deadlines, ncclCommAbort.  NCCL's log\n"
            "is parsed (interfaces, transport per channel) and failures are named with a fix.\n"
            "\n"
            "  --ranks N               local ranks (default 2)\n"
            "  --device N              GPU every rank uses (default 0)\n"
            "  --hostid-per-rank       give each rank its own NCCL_HOSTID so ranks on one GPU act as\n"
            "                          separate hosts and use the network transport (default on;\n"
            "                          --no-hostid turns it off)\n"
            "  --venv DIR              the server's Python environment: its libnccl is used\n"
            "  --env-file FILE         NAME=value lines (e.g. from `preflight plan`) set in every rank\n"
            "  --fallback-env FILE     then run again (all-reduce up to 4M) with these variables added,\n"
            "                          e.g. NCCL_IB_DISABLE=1, to prove the fallback works (nccl.fallback)\n"
            "%s"
            "  --expect-ifname LIST    the interfaces the plan expects NCCL to use (net.nccl_ifname)\n"
            "  --expect-transport T    NET/Socket, NET/IB, P2P or SHM (net.transport's prediction)\n"
            "  --min-busbw GBPS        all-reduce busbw required at the largest size\n"
            "  --capture IF[,IF...]    count the probe's TCP traffic per interface (libpcap; needs\n"
            "                          CAP_NET_RAW, else skipped with the reason)\n"
            "  --deadline S            backstop for the whole run (default 120)\n"
            "  --log-dir DIR           keep NCCL's per-rank logs here (default: a new /tmp dir)\n"
            "  --inject-absent-rank R  never start rank R (verification: a rank that never joins)\n"
            "  --inject-kill-rank R    SIGKILL rank R during its first all-reduce ...\n"
            "  --inject-kill-after S   ... S seconds into it (default 0.5)\n"
            "%s"
            "  -h, --help              this text\n"
            "\n"
            "Exit codes: 0 all checks pass, 1 a check failed, 2 usage, 3 incomplete.\n",
            pf_ncclflags_help(), pf_output_flags_help());
}

static int need(int argc, char **argv, int i)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "preflight nccl: %s needs a value (see --help)\n", argv[i]);
        return -1;
    }
    return 0;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v || d < lo || d > hi) {
        fprintf(stderr, "preflight nccl: %s '%s' must be a number from %g to %g\n", flag, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* The second environment: the same ranks again with the fallback's
 * variables added (later entries win in the rank's setenv order), a short
 * all-reduce sweep, and one verdict. */
static void run_fallback(pf_run *run, pf_node *node, json_t *section, const pf_nccllocal_opts *base,
                         const pf_strv *env, const char *file, const char *log_dir)
{
    pf_check *c = pf_check_add(run, node, "nccl.fallback");
    pf_strv env2 = {0}, extra = {0};
    pf_err err = {{0}};
    if (pf_ncclenv_load(file, &extra, &err) != 0) {
        pf_check_set(c, PF_ERROR, "%s", err.msg);
        pf_strv_free(&extra);
        return;
    }
    for (size_t k = 0; k < env->n; k++)
        pf_strv_push(&env2, env->v[k]);
    for (size_t k = 0; k < extra.n; k++)
        pf_strv_push(&env2, extra.v[k]);
    pf_strv_push_owned(&env2, NULL);
    env2.n--;
    char *dir = pf_xasprintf("%s/fallback", log_dir);
    mkdir(dir, 0755);
    pf_nccllocal_opts o = *base;
    uint64_t sizes[PF_NCCL_MAX_SIZES];
    int n = pf_ncclsweep_sizes(1024, 4u << 20, 4, o.nranks, sizes, PF_NCCL_MAX_SIZES, &err);
    o.rank.sizes = sizes;
    o.rank.n_sizes = n > 0 ? n : 0;
    o.rank.allgather = false;
    o.rank.n_p2p = 0;
    o.env = (const char *const *)env2.v;
    o.log_dir = dir;
    o.absent_rank = o.kill_rank = -1;
    json_t *res = pf_nccllocal_run(&o, &err);
    json_t *ej = json_array();
    for (size_t k = 0; k < extra.n; k++)
        json_array_append_new(ej, json_string(extra.v[k]));
    json_object_set_new(pf_check_evidence(c), "added", ej);
    if (!res) {
        pf_check_set(c, PF_ERROR, "the fallback ranks could not be started: %s", err.msg);
    } else {
        json_t *ranks = json_object_get(res, "ranks");
        size_t i;
        json_t *r;
        json_array_foreach(ranks, i, r) {
            if (!json_object_get(r, "nccl_log") && !json_object_get(r, "diagnosis")) {
                const char *lf = json_string_value(json_object_get(r, "log_file"));
                char *text = lf ? pf_read_file(lf, 16u << 20, NULL, NULL) : NULL;
                pf_nccljudge_annotate(r, text);
                free(text);
            }
        }
        json_t *fs = pf_nccljudge_section(ranks);
        char msg[1024], remedy[512];
        pf_status st = pf_nccljudge_fallback(fs, msg, sizeof msg, remedy, sizeof remedy);
        pf_check_set(c, st, "%s", msg);
        if (remedy[0])
            pf_check_remedy(c, "%s", remedy);
        json_object_set_new(section, "fallback", fs);
        json_decref(res);
    }
    free(dir);
    pf_strv_free(&extra);
    pf_strv_free(&env2);
}

/* Tells the packet capture each rank's pid as it is forked
 * (pf_nccllocal_opts.on_rank_started); the first failure is kept for the
 * record (the capture then counts what it found, "pids" says whom). */
typedef struct capwatch {
    pf_ncclpcap *cap;
    char err[256];
} capwatch;

static void watch_rank(void *ud, int rank, pid_t pid)
{
    capwatch *w = ud;
    pf_err e = {{0}};
    if (pf_ncclpcap_watch_pid(w->cap, pid, &e) != 0 && !w->err[0])
        snprintf(w->err, sizeof w->err, "rank %d: %s", rank, e.msg);
}

int pf_nccl_main(int argc, char **argv)
{
    pf_output_opts oo;
    pf_output_opts_init(&oo);
    pf_probe_opts po;
    pf_probe_opts_init(&po);
    pf_strv env = {0}, envfiles = {0};
    int rc = PF_EXIT_USAGE;
    double ranks = 2, device = 0, deadline = 120, min_busbw = 0, absent = -1, killr = -1, kill_after = 0.5;
    bool hostid = true;
    pf_ncclflags nf;
    pf_ncclflags_init(&nf);
    const char *fallback = NULL;
    const char *expect_if = NULL, *expect_tr = NULL, *capture = NULL, *log_dir = NULL;
    char tmpdir[64] = "";
    pf_err err = {{0}};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pf_probe_take_flag("nccl", &oo, &po, PF_PF_VENV, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        r = pf_ncclflags_take("nccl", &nf, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        double *dv = NULL;
        double lo = 0, hi = 1e9;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = PF_EXIT_OK;
            goto out;
        } else if (!strcmp(a, "--no-hostid")) {
            hostid = false;
            continue;
        } else if (!strcmp(a, "--hostid-per-rank")) {
            hostid = true;
            continue;
        } else if (!strcmp(a, "--env-file") ||
                   !strcmp(a, "--fallback-env") ||
                   !strcmp(a, "--expect-ifname") || !strcmp(a, "--expect-transport") || !strcmp(a, "--capture") ||
                   !strcmp(a, "--log-dir")) {
            if (need(argc, argv, i))
                goto out;
            const char *v = argv[++i];
            if (!strcmp(a, "--env-file"))
                pf_strv_push(&envfiles, v);
            else if (!strcmp(a, "--fallback-env"))
                fallback = v;
            else if (!strcmp(a, "--expect-ifname"))
                expect_if = v;
            else if (!strcmp(a, "--expect-transport"))
                expect_tr = v;
            else if (!strcmp(a, "--capture"))
                capture = v;
            else
                log_dir = v;
            continue;
        } else if (!strcmp(a, "--ranks")) dv = &ranks, lo = 1, hi = 64;
        else if (!strcmp(a, "--device")) dv = &device, hi = 63;
        else if (!strcmp(a, "--deadline")) dv = &deadline, lo = 1, hi = 86400;
        else if (!strcmp(a, "--min-busbw")) dv = &min_busbw, hi = 1e6;
        else if (!strcmp(a, "--inject-absent-rank")) dv = &absent, hi = 63;
        else if (!strcmp(a, "--inject-kill-rank")) dv = &killr, hi = 63;
        else if (!strcmp(a, "--inject-kill-after")) dv = &kill_after, hi = 3600;
        else {
            fprintf(stderr, "preflight nccl: unknown option '%s' (see --help)\n", a);
            goto out;
        }
        if (need(argc, argv, i) || num(a, argv[i + 1], lo, hi, dv))
            goto out;
        i++;
    }
    if ((absent >= 0 && absent >= ranks) || (killr >= 0 && killr >= ranks)) {
        fprintf(stderr, "preflight nccl: the injected rank must be below --ranks %d\n", (int)ranks);
        goto out;
    }
    for (size_t k = 0; k < envfiles.n; k++)
        if (pf_ncclenv_load(envfiles.v[k], &env, &err) != 0) {
            fprintf(stderr, "preflight nccl: %s\n", err.msg);
            goto out;
        }
    pf_nccllocal_opts lo_ = {0};
    uint64_t sizes[PF_NCCL_MAX_SIZES];
    int nsizes = pf_ncclflags_apply(&nf, (int)ranks, &lo_.rank, sizes, &err);
    if (nsizes < 0) {
        fprintf(stderr, "preflight nccl: %s\n", err.msg);
        goto out;
    }

    pf_run *run = pf_run_new(argc, argv);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    pf_node *node = pf_run_add_node(run, host, NULL);

    /* The environment, checked before NCCL sees it. */
    pf_strv problems = {0};
    pf_check *ce = pf_check_add(run, node, "nccl.env");
    json_t *envj = json_array();
    for (size_t k = 0; k < env.n; k++)
        json_array_append_new(envj, json_string(env.v[k]));
    json_object_set_new(pf_check_evidence(ce), "env", envj);
    if (pf_ncclenv_validate(&env, &problems) > 0) {
        pf_check_set(ce, PF_WARN, "%s%s", problems.v[0], problems.n > 1 ? " (and more, see evidence)" : "");
        json_t *pj = json_array();
        for (size_t k = 0; k < problems.n; k++)
            json_array_append_new(pj, json_string(problems.v[k]));
        json_object_set_new(pf_check_evidence(ce), "problems", pj);
        pf_check_remedy(ce, "Fix the values in the env file; NCCL would silently use its defaults.");
    } else {
        pf_check_set(ce, PF_PASS, "%zu variable%s from %s, none that NCCL would reject", env.n, env.n == 1 ? "" : "s",
                     envfiles.n ? "the env file" : "no env file (the node's own environment)");
    }
    pf_strv_free(&problems);

    /* The library the server will load. */
    char libpath[1024] = "";
    json_t *libj = NULL;
    if (nf.libnccl) {
        pf_strlcpy(libpath, nf.libnccl, sizeof libpath);
    } else {
        pf_probe_ctx ctx;
        pf_ctx_init(&ctx, &po, run, node);
        pf_libnccl_info info;
        if (pf_libnccl_locate(&ctx, &info, &err) == 0) {
            pf_strlcpy(libpath, info.path, sizeof libpath);
            libj = pf_libnccl_to_json(&info);
        }
        pf_ctx_free(&ctx);
    }
    json_t *section = NULL;
    if (!libpath[0]) {
        pf_check *c = pf_check_add(run, node, "nccl.init");
        pf_check_set(c, PF_FAIL, "no libnccl.so.2 found: %s", err.msg[0] ? err.msg : "nothing searched");
        pf_check_remedy(c, "Give --venv (the server's virtual environment) or --libnccl PATH.");
        rc = pf_output_finish(run, &oo);
        pf_run_free(run);
        goto out;
    }
    if (!log_dir) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/preflight-nccl.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "preflight nccl: cannot create a log directory in /tmp: %s\n", strerror(errno));
            pf_run_free(run);
            rc = PF_EXIT_INCOMPLETE;
            goto out;
        }
        log_dir = tmpdir;
    }

    lo_.rank.libnccl = libpath;
    lo_.rank.device = (int)device;
    lo_.nranks = (int)ranks;
    pf_strv_push_owned(&env, NULL);
    env.n--;
    lo_.env = (const char *const *)env.v;
    lo_.hostid_per_rank = hostid;
    lo_.log_dir = log_dir;
    lo_.deadline_s = deadline;
    lo_.absent_rank = (int)absent;
    lo_.kill_rank = (int)killr;
    lo_.kill_after_s = kill_after;

    pf_ncclpcap *cap = NULL;
    json_t *capj = NULL;
    pf_check *cc = NULL;
    if (capture) {
        cc = pf_check_add(run, node, "nccl.capture");
        pf_err cerr = {{0}};
        cap = pf_ncclpcap_start(capture, &cerr);
        if (!cap)
            pf_check_set(cc, PF_SKIP, "no packet capture: %s", cerr.msg);
    }
    capwatch cw = {cap, ""};
    if (cap) { /* the ranks' sockets are the probe's: the capture narrows to their ports */
        lo_.on_rank_started = watch_rank;
        lo_.on_rank_ud = &cw;
    }
    double t0 = pf_now();
    json_t *res = pf_nccllocal_run(&lo_, &err);
    double wall = pf_now() - t0;
    lo_.on_rank_started = NULL; /* cap is gone after stop: later runs (the fallback) tell nobody */
    lo_.on_rank_ud = NULL;
    if (cap) {
        capj = pf_ncclpcap_stop(cap);
        if (cw.err[0] && !json_object_get(capj, "error") && !json_object_get(capj, "watch_error"))
            json_object_set_new(capj, "watch_error", json_string(cw.err));
        const char *why = json_string_value(json_object_get(capj, "error"));
        bool if_err = false;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(capj, "interfaces"), k, v) if_err |= json_is_string(json_object_get(v, "error"));
        const char *werr = json_string_value(json_object_get(capj, "watch_error"));
        bool no_ports = json_array_size(json_object_get(capj, "pids")) && !json_array_size(json_object_get(capj, "ports"));
        if (why)
            pf_check_set(cc, PF_ERROR, "packet capture failed: %s", why);
        else if (werr || no_ports) {
            pf_check_set(cc, PF_WARN, "%s; the ranks' ports may be incomplete: %s",
                         json_string_value(json_object_get(capj, "summary")),
                         werr ? werr : "no socket of the ranks was found in /proc");
            pf_check_remedy(cc, "Run as root (the capture reads /proc/PID/fd of the ranks); see evidence \"capture\".");
        } else if (if_err) {
            pf_check_set(cc, PF_WARN, "%s", json_string_value(json_object_get(capj, "summary")));
            pf_check_remedy(cc, "An interface could not be captured (see evidence: missing, or gone during the run).");
        } else
            pf_check_set(cc, PF_PASS, "%s", json_string_value(json_object_get(capj, "summary")));
        json_object_set(pf_check_evidence(cc), "capture", capj);
    }
    if (!res) {
        pf_check *c = pf_check_add(run, node, "nccl.init");
        pf_check_set(c, PF_ERROR, "the ranks could not be started: %s", err.msg);
        pf_run_set_incomplete(run, "preflight nccl: %s", err.msg);
    } else {
        json_t *ranksj = json_object_get(res, "ranks");
        size_t k;
        json_t *rj;
        json_array_foreach(ranksj, k, rj) {
            if (json_object_get(rj, "nccl_log") || json_object_get(rj, "diagnosis"))
                continue; /* annotated by the rank itself */
            const char *lf = json_string_value(json_object_get(rj, "log_file"));
            char *text = lf ? pf_read_file(lf, 16u << 20, NULL, NULL) : NULL;
            pf_nccljudge_annotate(rj, text);
            free(text);
        }
        section = pf_nccljudge_section(ranksj);
        json_object_set_new(section, "wall_s", json_real(wall));
        json_object_set_new(section, "log_dir", json_string(log_dir));
        json_object_set_new(section, "libnccl", libj ? libj : json_pack("{s:s}", "path", libpath));
        libj = NULL;
        json_object_set_new(section, "hostid_per_rank", json_boolean(hostid));
        json_object_set(section, "backstop_hit", json_object_get(res, "backstop_hit"));
        bool interrupted = json_is_true(json_object_get(res, "interrupted"));
        if (interrupted) {
            json_object_set_new(section, "interrupted", json_true());
            pf_run_set_incomplete(run, "interrupted by %s: the NCCL ranks were stopped; results are what they reported before",
                                  pf_sig_name(pf_sig_last()));
        }
        pf_nccljudge_plan plan = {expect_if, expect_tr, min_busbw};
        size_t first_judged = pf_run_check_count(run);
        pf_nccljudge_checks(run, node, section, capj && !json_object_get(capj, "error") ? capj : NULL, &plan);
        /* Ranks stopped by the user did not fail: a verdict built on them is
         * not a finding (the same rule as check's registry: "not judged"). */
        for (size_t i = first_judged; interrupted && i < pf_run_check_count(run); i++) {
            pf_check *jc = pf_run_check(run, i);
            if (pf_check_status(jc) == PF_FAIL) {
                char *was = pf_xasprintf("%s", pf_check_summary(jc));
                pf_check_set(jc, PF_ERROR, "interrupted by %s while the ranks ran; not judged (%s)",
                             pf_sig_name(pf_sig_last()), was);
                free(was);
            }
        }
        if (capj)
            json_object_set(section, "capture", capj);
        if (fallback && !interrupted)
            run_fallback(run, node, section, &lo_, &env, fallback, log_dir);
        pf_run_set_section(run, "nccl", section);
        json_decref(res);
    }
    json_decref(libj);
    json_decref(capj);
    rc = pf_output_finish(run, &oo);
    pf_run_free(run);
out:
    pf_strv_free(&env);
    pf_strv_free(&envfiles);
    pf_probe_opts_free(&po);
    return rc;
}

/* agent.c -- see agent.h.
 *
 * The environment judged on this node (--env, or the coordinator's
 * run_checks "env"): "login" is what a login shell on this node exports
 * (`bash -lc 'env -0'`), because that is what a server started from an ssh
 * session sees; "inherit" is the environment the launcher gave (Ray
 * workers' under --launcher ray); "file:PATH" is an env file in the format
 * `preflight plan` writes (core/env.h).  The checks read it through the
 * probe context; the runner records its source as the node fact env_source.
 */
#include "cluster/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/auth.h"
#include "cluster/proto.h"
#include "core/sig.h"
#include "core/env.h"
#include "core/file.h"
#include "core/proc.h"
#include "core/record.h"
#include "probes/context.h"
#include "probes/registry.h"

#include "cluster/ncclop.h"
#include "cluster/pairtest.h"

typedef struct agent {
    const char *join;
    char name[64];
    const char *secret_file;
    const char *env_mode;     /* "login" (default), "inherit", "file:PATH" */
    double connect_timeout_s; /* connecting + authenticating */
    unsigned char key[PF_AUTH_KEY_LEN];
    int fd;
    double keepalive_s;
    pf_pair_listener *listener;
    pf_ncclop *nccl;          /* the NCCL rank between nccl_start and nccl_wait */
} agent;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: preflight agent --join HOST:PORT [--node-name NAME | --node-names A,B,...]\n"
            "                       [--secret-file FILE] [--env login|inherit|file:PATH]\n"
            "\n"
            "Started on every node by `preflight cluster` (or by hand with --launcher manual).\n"
            "Reads the run's secret from stdin (one line of 64 hex digits), from the environment\n"
            "variable " PF_AUTH_ENV " or from --secret-file, connects back to the coordinator and\n"
            "serves its fixed requests: run the node checks, open pair-test listeners, probe peers.\n"
            "\n"
            "  --join HOST:PORT      the coordinator's address (printed by preflight cluster)\n"
            "  --node-name NAME      this node's name in the record (default: hostname)\n"
            "  --node-names A,B,...  pick the name by rank (OMPI_COMM_WORLD_RANK, PMI_RANK,\n"
            "                        SLURM_PROCID, PF_AGENT_RANK) when one command starts all agents\n"
            "  --secret-file FILE    read the secret from FILE instead of stdin\n"
            "  --env MODE            the environment judged here: login (a login shell's, default),\n"
            "                        inherit (as started: Ray workers'), file:PATH (an env file on top)\n"
            "  --connect-timeout S   connecting and authenticating (default 10)\n"
            "  -h, --help            this text\n"
            "\n"
            "Exit codes: 0 the coordinator said bye, 1 the session failed (message on stderr),\n"
            "2 usage error.\n");
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "preflight agent: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* Split HOST:PORT (HOST may be [v6]). */
static int split_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return -1;
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']')
        h++, n -= 2;
    if (n >= hlen || strlen(colon + 1) >= plen)
        return -1;
    memcpy(host, h, n);
    host[n] = 0;
    strcpy(port, colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return 0;
}

/* Connect with a deadline, retrying refused connections (the coordinator
 * may still be starting its loop) until the deadline. */
static int dial(const char *join, double timeout_s, pf_err *err)
{
    char host[256], port[16];
    if (split_hostport(join, host, sizeof host, port, sizeof port) < 0)
        return pf_err_set(err, "--join '%s' is not HOST:PORT", join);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        return pf_err_set(err, "cannot resolve the coordinator's host '%s': %s", host, gai_strerror(g));
    double deadline = pf_now() + timeout_s;
    int last = ETIMEDOUT;
    while (pf_now() < deadline) {
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
            int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd < 0)
                continue;
            int r = connect(fd, a->ai_addr, a->ai_addrlen);
            if (r < 0 && errno == EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                double left = deadline - pf_now();
                if (left > 0 && poll(&p, 1, (int)(left * 1000) + 1) == 1) {
                    int so = 0;
                    socklen_t sl = sizeof so;
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
                    r = so ? -1 : 0;
                    errno = so;
                } else {
                    errno = ETIMEDOUT;
                }
            }
            if (r == 0) {
                freeaddrinfo(ai);
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
                return fd;
            }
            last = errno;
            close(fd);
        }
        if (last != ECONNREFUSED)
            break;
        usleep(100000);
    }
    freeaddrinfo(ai);
    return pf_err_errno(err, last,
                        "cannot connect to the coordinator at %s (if this node cannot reach that "
                        "address, run preflight cluster with --listen ADDRESS that it reaches)",
                        join);
}

/* The name by rank, for launchers that start every agent with one command. */
static int name_by_rank(const char *names, char *out, size_t len, pf_err *err)
{
    static const char *const vars[] = {"PF_AGENT_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"};
    const char *rs = NULL, *var = NULL;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !rs; i++)
        if ((rs = getenv(vars[i])))
            var = vars[i];
    if (!rs)
        return pf_err_set(err, "--node-names needs a rank (OMPI_COMM_WORLD_RANK, PMI_RANK or SLURM_PROCID)");
    char *end;
    long r = strtol(rs, &end, 10);
    if (*end || r < 0)
        return pf_err_set(err, "%s='%s' is not a rank", var, rs);
    char *copy = pf_xstrdup(names), *save = NULL;
    long i = 0;
    int rc = -1;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save), i++)
        if (i == r) {
            pf_strlcpy(out, p, len);
            rc = 0;
            break;
        }
    free(copy);
    if (rc < 0)
        pf_err_set(err, "rank %ld (%s) is beyond the %ld names of --node-names", r, var, i);
    return rc;
}

/* The environment judged on this node, as data (core/env.h): the checks
 * read it through the probe context, never this process's environ. */
static pf_env *build_env(const char *mode, char *note, size_t nlen)
{
    note[0] = 0;
    if (strcmp(mode, "inherit") == 0) {
        pf_env *e = pf_env_from_process();
        pf_env_set_source(e, "launcher");
        return e;
    }
    if (pf_str_startswith(mode, "file:")) {
        pf_err err;
        pf_env *e = pf_env_from_file(mode + 5, &err);
        if (e)
            return e;
        snprintf(note, nlen, "the env file could not be read (%s); judged the launcher's environment", err.msg);
        pf_env *p = pf_env_from_process();
        pf_env_set_source(p, "launcher");
        return p;
    }
    /* login: what a login shell on this node exports (`bash -lc 'env -0'`):
     * the server started from an ssh session sees that, not the
     * non-interactive shell ssh gave this agent. */
    char *argv[] = {"bash", "-lc", "env -0", NULL};
    pf_proc_opts po = {.timeout_s = 10, .max_out = 1 << 20};
    pf_proc_result r;
    pf_err err;
    if (pf_proc_run(argv, &po, &r, &err) < 0) {
        snprintf(note, nlen, "no login shell (%s); judged the launcher's environment", err.msg);
        pf_env *p = pf_env_from_process();
        pf_env_set_source(p, "launcher");
        return p;
    }
    pf_env *e = NULL;
    if (r.exited && r.exit_code == 0 && !r.out_truncated && r.out_len > 0) {
        e = pf_env_new("login-shell");
        for (size_t off = 0; off < r.out_len;) {
            const char *kv = r.out + off;
            size_t n = strnlen(kv, r.out_len - off);
            const char *eq = memchr(kv, '=', n);
            if (eq && eq != kv) {
                char *name = pf_xasprintf("%.*s", (int)(eq - kv), kv);
                char *val = pf_xasprintf("%.*s", (int)(n - (size_t)(eq - kv) - 1), eq + 1);
                if (pf_env_name_valid(name))
                    pf_env_set(e, name, val, NULL);
                free(name);
                free(val);
            }
            off += n + 1;
        }
    } else {
        char d[64];
        pf_proc_describe(&r, d, sizeof d);
        snprintf(note, nlen, "bash -lc env: %s; judged the launcher's environment", d);
        e = pf_env_from_process();
        pf_env_set_source(e, "launcher");
    }
    pf_proc_result_free(&r);
    return e;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* run_checks: the same probes, in the same order, as `preflight check`
 * (probes/check_cli.c), into a fresh record for this node. */
static json_t *fail_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* run_checks: the node checks of `preflight check`, planned and run by the
 * same registry runner (probes/registry.h), into a fresh record. */
static json_t *run_checks_here(agent *a, const json_t *msg)
{
    /* The coordinator may name this node's env file (hostfile env=). */
    const char *mode = jstr(msg, "env");
    if (!mode || !(strcmp(mode, "login") == 0 || strcmp(mode, "inherit") == 0 || pf_str_startswith(mode, "file:")))
        mode = a->env_mode ? a->env_mode : "login";
    const json_t *flags = json_object_get(msg, "flags");
    pf_probe_opts po;
    pf_probe_opts_init(&po);
    po.arch = jstr(flags, "arch");
    po.venv = jstr(flags, "venv");
    po.model_dir = jstr(flags, "model");
    json_t *v;
    if ((v = json_object_get(flags, "pp")) && json_is_integer(v) && json_integer_value(v) > 0 &&
        json_integer_value(v) < 4096)
        po.pp = (int)json_integer_value(v);
    if ((v = json_object_get(flags, "mem_fraction")) && json_is_number(v) && json_number_value(v) > 0 &&
        json_number_value(v) < 1)
        po.mem_fraction = json_number_value(v);
    if ((v = json_object_get(flags, "timeout")) && json_is_number(v) && json_number_value(v) > 0 &&
        json_number_value(v) <= 600)
        po.tool_timeout_s = json_number_value(v);
    const char *only = jstr(flags, "only");

    size_t nprobes;
    const pf_probe_def *probes = pf_probe_registry(&nprobes);
    pf_probe_plan plan;
    pf_err perr;
    if (pf_probe_plan_make(probes, nprobes, PF_SCOPE_NODE, only, &plan, &perr) != 0) {
        pf_probe_opts_free(&po);
        return fail_reply("%s", perr.msg);
    }
    if (pf_probe_plan_reported(&plan) == 0) {
        pf_probe_plan_free(&plan);
        pf_probe_opts_free(&po);
        return fail_reply("--only '%s' matches no node check", only ? only : "");
    }
    char note[700];
    pf_env *env = build_env(mode, note, sizeof note);

    char *argv0[] = {"preflight", "agent", NULL};
    pf_run *run = pf_run_new(2, argv0);
    pf_node *node = pf_run_add_node(run, a->name, NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, run, node);
    pf_ctx_set_env(&ctx, env);
    pf_probe_run_node(&ctx, &plan);
    json_t *facts = pf_node_facts(node);
    if (note[0])
        json_object_set_new(facts, "env_note", json_string(note));
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_object_set_new(facts, "hostname", json_string(host));
    struct utsname u;
    if (uname(&u) == 0)
        json_object_set_new(facts, "machine", json_string(u.machine));
    pf_ctx_free(&ctx);
    pf_run_finish(run);
    json_t *rec = pf_run_to_json(run, false);
    pf_run_free(run);
    pf_env_free(env);
    pf_probe_plan_free(&plan);
    pf_probe_opts_free(&po);
    return json_pack("{s:b,s:o}", "ok", 1, "record", rec);
}

static json_t *fail_reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = pf_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", m);
    free(m);
    return r;
}

/* Node checks run in a forked child, never in the agent itself.  The
 * GPU checks initialise the CUDA driver (cuInit, a primary context); a
 * process that did so cannot hand CUDA to a fork()ed child, and cluster.nccl's
 * rank is exactly such a child of this agent (cluster/ncclop.c): with the
 * checks run in-process every rank failed with "cuInit:
 * CUDA_ERROR_NOT_INITIALIZED" (seen on the H100, docs/GPU-VERIFICATION.md
 * run 4).  The child also keeps a probe that crashes from taking the agent
 * down: its death becomes this node's error reply.  The reply travels as one
 * JSON text over a pipe; the wait has a deadline. */
#define CHECKS_DEADLINE_S 600.0
#define CHECKS_REPLY_MAX (64u << 20)

static json_t *op_run_checks(agent *a, const json_t *msg)
{
    int p[2];
    if (pipe(p) != 0)
        return fail_reply("cannot run the node checks: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return fail_reply("cannot run the node checks: fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* dies with the agent, even a SIGKILLed one (its tools die with it) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self)
            _exit(1);
        close(p[0]);
        signal(SIGPIPE, SIG_IGN);
        json_t *reply = run_checks_here(a, msg);
        char *text = json_dumps(reply, JSON_COMPACT);
        int rc = text && pf_file_write_fd(p[1], text, strlen(text)) == 0 ? 0 : 1;
        _exit(rc);
    }
    close(p[1]);
    /* A signal to the agent (core/sig.h) stops the checks too: the child
     * gets SIGTERM (its own runner stops between probes and kills a tool
     * it runs), then SIGKILL after 2 s. */
    size_t len = 0;
    bool full = false;
    pf_drain_end end;
    char *out = pf_file_drain_fd(p[0], CHECKS_REPLY_MAX, false, pf_now() + CHECKS_DEADLINE_S, true, &len, &full, &end);
    close(p[0]);
    const char *why = end == PF_DRAIN_DEADLINE ? "the node checks did not finish within 600 s (killed)"
                      : end == PF_DRAIN_FULL   ? "the node checks' reply exceeds 64 MiB (killed)"
                      : end == PF_DRAIN_SIGNAL ? "the agent was stopped by a signal during the node checks"
                                               : NULL;
    int st = 0;
    bool reaped = false;
    if (end == PF_DRAIN_SIGNAL) {
        kill(pid, SIGTERM);
        double until = pf_now() + 2;
        while (!reaped && pf_now() < until) {
            reaped = waitpid(pid, &st, WNOHANG) == pid;
            if (!reaped)
                usleep(10000);
        }
    }
    if (!reaped) {
        if (why)
            kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    json_t *reply = NULL;
    if (why) {
        reply = fail_reply("%s", why);
    } else if (WIFSIGNALED(st)) {
        reply = fail_reply("the node checks' process died of signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    } else {
        json_error_t je;
        reply = len ? json_loadb(out, len, 0, &je) : NULL;
        if (!reply)
            reply = fail_reply("the node checks' process exited %d without a reply",
                               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    free(out);
    return reply;
}

static json_t *op_listen(agent *a, const json_t *msg)
{
    pf_pair_listener_close(a->listener);
    a->listener = NULL;
    json_t *reply = NULL;
    pf_err e;
    a->listener = pf_pair_listen(json_object_get(msg, "req"), &reply, &e);
    if (!a->listener)
        return fail_reply("%s", e.msg);
    return json_pack("{s:b,s:o}", "ok", 1, "result", reply ? reply : json_object());
}

static json_t *op_probe(agent *a, const json_t *msg)
{
    (void)a;
    pf_err e;
    json_t *res = pf_pair_probe(json_object_get(msg, "req"), &e);
    if (!res)
        return fail_reply("%s", e.msg);
    return json_pack("{s:b,s:o}", "ok", 1, "result", res);
}

static void close_listener(agent *a)
{
    pf_pair_listener_close(a->listener);
    a->listener = NULL;
}

static int handshake(agent *a, pf_err *err)
{
    double deadline = pf_now() + a->connect_timeout_s;
    bool eof;
    pf_err e;
    json_t *hello = pf_proto_recv(a->fd, PF_PROTO_MAX_PREAUTH, deadline, &eof, &e);
    if (!hello)
        return pf_err_set(err, "no hello from the coordinator: %s", e.msg);
    unsigned char nc[PF_AUTH_NONCE_LEN], na[PF_AUTH_NONCE_LEN], mac[PF_AUTH_MAC_LEN];
    const char *t = jstr(hello, "type");
    json_t *ka = json_object_get(hello, "keepalive_s");
    if (strcmp(t, "hello") != 0 || pf_auth_unhex(jstr(hello, "nonce"), nc, sizeof nc) < 0 ||
        json_integer_value(json_object_get(hello, "v")) != PF_PROTO_VERSION) {
        json_decref(hello);
        return pf_err_set(err, "the coordinator's hello is not protocol version %d", PF_PROTO_VERSION);
    }
    if (json_is_number(ka) && json_number_value(ka) >= 0.2 && json_number_value(ka) <= 600)
        a->keepalive_s = json_number_value(ka);
    json_decref(hello);
    if (pf_auth_random(na, sizeof na, err) < 0 || pf_auth_mac(a->key, "agent", a->name, nc, na, mac, err) < 0)
        return -1;
    char nah[2 * PF_AUTH_NONCE_LEN + 1], mach[2 * PF_AUTH_MAC_LEN + 1], host[256] = "";
    pf_auth_hex(na, sizeof na, nah);
    pf_auth_hex(mac, sizeof mac, mach);
    gethostname(host, sizeof host - 1);
    struct utsname u;
    memset(&u, 0, sizeof u);
    uname(&u);
    json_t *auth = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "auth", "node", a->name, "nonce",
                             nah, "mac", mach, "hostname", host, "machine", u.machine, "version",
                             PF_VERSION);
    int rc = pf_proto_send(a->fd, auth, deadline, err);
    json_decref(auth);
    if (rc < 0)
        return -1;
    json_t *ok = pf_proto_recv(a->fd, PF_PROTO_MAX_PREAUTH, deadline, &eof, &e);
    if (!ok)
        return pf_err_set(err, "the coordinator did not accept this agent (wrong secret, or node "
                               "name '%s' not expected): %s", a->name, e.msg);
    bool good = strcmp(jstr(ok, "type"), "auth_ok") == 0 &&
                pf_auth_check(a->key, "coord", "", nc, na, jstr(ok, "mac"));
    json_decref(ok);
    if (!good)
        return pf_err_set(err, "the coordinator could not prove it holds the run's secret; refusing it");
    return 0;
}

/* Wait for the coordinator's next frame in 200 ms slices, so a signal
 * is seen at once: 1 readable (or closed), 0 the deadline passed, -1 a
 * signal of the policy (core/sig.h) came. */
static int wait_frame(int fd, double deadline)
{
    for (;;) {
        if (pf_sig_count() > 0)
            return -1;
        double left = deadline - pf_now();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
        if (r > 0)
            return 1;
    }
}

/* The signal policy on an agent: SIGINT/SIGTERM/SIGHUP (Slurm ending the
 * job step, the launcher stopped, Ctrl-C on a manual agent) stop the
 * operation in progress -- the NCCL rank and the checks child are killed
 * (their reply still goes out, saying so) -- and the coordinator is told
 * why this node goes away before the connection closes ("stopped"), so the
 * record names the signal instead of a lost connection.  Exit 3. */
static int stopped(agent *a)
{
    const char *sig = pf_sig_name(pf_sig_last());
    pf_err e;
    json_t *m = json_pack("{s:s,s:s}", "type", "stopped", "signal", sig);
    (void)pf_proto_send(a->fd, m, pf_now() + 2, &e);
    json_decref(m);
    fprintf(stderr, "preflight agent: stopped by %s; the coordinator was told\n", sig);
    return PF_EXIT_INCOMPLETE;
}

static int serve(agent *a)
{
    /* From here on a signal stops the agent cleanly (before, it had nothing
     * to stop or tell, and the first signal exited at once). */
    pf_sig_set_immediate(false);
    for (;;) {
        double idle = 3 * a->keepalive_s, deadline = pf_now() + idle;
        bool eof = false;
        pf_err e;
        int w = wait_frame(a->fd, deadline);
        if (w < 0)
            return stopped(a);
        if (w == 0)
            return die("no frame from the coordinator for %.0f s; exiting", idle);
        /* the frame has begun: its rest gets the idle deadline, at least 5 s */
        json_t *m = pf_proto_recv(a->fd, PF_PROTO_MAX_FRAME, deadline > pf_now() + 5 ? deadline : pf_now() + 5,
                                  &eof, &e);
        if (!m) {
            if (eof)
                return die("the coordinator went away (connection closed); exiting");
            return die("%s (no frame from the coordinator for %.0f s); exiting", e.msg, idle);
        }
        const char *t = jstr(m, "type");
        json_t *reply = NULL;
        if (strcmp(t, "ping") == 0) {
            json_decref(m);
            continue;
        } else if (strcmp(t, "nccl_abort") == 0) {
            /* A notification, not a request: the coordinator sends it while
             * it believes this agent's nccl_wait is pending.  When this rank
             * had already answered (the reply and the abort crossed on the
             * wire), it arrives here; the rank is over, so nothing is left
             * to stop and nothing is answered. */
            json_decref(m);
            continue;
        } else if (strcmp(t, "bye") == 0) {
            json_decref(m);
            return 0;
        } else if (strcmp(t, "run_checks") == 0) {
            reply = op_run_checks(a, m);
        } else if (strcmp(t, "listen") == 0) {
            reply = op_listen(a, m);
        } else if (strcmp(t, "probe") == 0) {
            reply = op_probe(a, m);
        } else if (strcmp(t, "nccl_start") == 0) {
            pf_ncclop_kill(a->nccl); /* a second start replaces a forgotten rank */
            a->nccl = pf_ncclop_start(m, a->fd, &reply);
        } else if (strcmp(t, "nccl_wait") == 0) {
            bool lost = false;
            reply = pf_ncclop_wait(a->nccl, a->fd, &lost);
            a->nccl = NULL;
            if (lost) {
                json_decref(reply);
                json_decref(m);
                return die("the coordinator went away during nccl_wait; the rank was stopped");
            }
        } else if (strcmp(t, "unlisten") == 0) {
            close_listener(a);
            reply = json_pack("{s:b}", "ok", 1);
        } else {
            int r = die("the coordinator sent '%s', which an agent never serves; exiting", t);
            json_decref(m);
            return r;
        }
        json_object_set_new(reply, "type", json_string("reply"));
        json_object_set(reply, "id", json_object_get(m, "id"));
        json_decref(m);
        int rc = pf_proto_send(a->fd, reply, pf_now() + 30, &e);
        json_decref(reply);
        if (rc < 0)
            return die("sending a reply: %s", e.msg);
    }
}

int pf_agent_main(int argc, char **argv)
{
    agent a = {.fd = -1, .keepalive_s = 5, .connect_timeout_s = 10};
    const char *names = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        bool takes = strcmp(o, "--join") == 0 || strcmp(o, "--node-name") == 0 ||
                     strcmp(o, "--node-names") == 0 || strcmp(o, "--secret-file") == 0 ||
                     strcmp(o, "--env") == 0 || strcmp(o, "--connect-timeout") == 0;
        if (!takes) {
            fprintf(stderr, "preflight agent: unknown option '%s' (see --help)\n", o);
            return PF_EXIT_USAGE;
        }
        if (!val) {
            fprintf(stderr, "preflight agent: %s needs a value (see --help)\n", o);
            return PF_EXIT_USAGE;
        }
        i++;
        if (strcmp(o, "--join") == 0)
            a.join = val;
        else if (strcmp(o, "--node-name") == 0)
            pf_strlcpy(a.name, val, sizeof a.name);
        else if (strcmp(o, "--node-names") == 0)
            names = val;
        else if (strcmp(o, "--secret-file") == 0)
            a.secret_file = val;
        else if (strcmp(o, "--env") == 0) {
            if (strcmp(val, "login") && strcmp(val, "inherit") && !pf_str_startswith(val, "file:")) {
                fprintf(stderr, "preflight agent: --env '%s' is not login, inherit or file:PATH\n", val);
                return PF_EXIT_USAGE;
            }
            a.env_mode = val;
        } else {
            char *end;
            a.connect_timeout_s = strtod(val, &end);
            if (*end || a.connect_timeout_s <= 0 || a.connect_timeout_s > 600) {
                fprintf(stderr, "preflight agent: --connect-timeout '%s' is not 0..600 s\n", val);
                return PF_EXIT_USAGE;
            }
        }
    }
    if (!a.join) {
        fprintf(stderr, "preflight agent: --join HOST:PORT is required (see --help)\n");
        return PF_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Until the session is served, a signal exits at once (nothing to stop
     * or tell yet; reading the secret from a terminal waits up to 300 s). */
    pf_sig_set_immediate(true);
    pf_err e;
    if (names && !a.name[0] && name_by_rank(names, a.name, sizeof a.name, &e) < 0)
        return die("%s", e.msg);
    if (!a.name[0])
        gethostname(a.name, sizeof a.name - 1);

    /* The secret: environment first (and removed from it at once), then a
     * file, then stdin. */
    const char *env = getenv(PF_AUTH_ENV);
    if (env) {
        int bad = pf_auth_unhex(env, a.key, sizeof a.key);
        unsetenv(PF_AUTH_ENV);
        if (bad)
            return die(PF_AUTH_ENV " is not %d hex digits", 2 * PF_AUTH_KEY_LEN);
    } else if (a.secret_file) {
        int fd = open(a.secret_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return die("cannot open the secret file %s: %s", a.secret_file, strerror(errno));
        int rc = pf_auth_read_secret_fd(fd, 5, a.key, &e);
        close(fd);
        if (rc < 0)
            return die("%s: %s", a.secret_file, e.msg);
    } else {
        if (isatty(STDIN_FILENO))
            fprintf(stderr, "preflight agent: paste the run's secret (64 hex digits): ");
        if (pf_auth_read_secret_fd(STDIN_FILENO, isatty(STDIN_FILENO) ? 300 : 10, a.key, &e) < 0)
            return die("%s", e.msg);
    }

    a.fd = dial(a.join, a.connect_timeout_s, &e);
    if (a.fd < 0)
        return die("%s", e.msg);
    int rc;
    if (handshake(&a, &e) < 0)
        rc = die("%s", e.msg);
    else
        rc = serve(&a);
    close_listener(&a);
    pf_ncclop_kill(a.nccl);
    close(a.fd);
    return rc;
}

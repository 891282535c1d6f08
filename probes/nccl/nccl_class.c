/* nccl_class.c -- NCCL failure rules (see nccl_class.h). */
#include "probes/nccl/nccl_class.h"

#include <string.h>

#include "core/record.h"
#include "core/util.h"

typedef struct rule {
    const char *text;  /* substring of NCCL's message */
    const char *cause;
    const char *check; /* NULL: by phase */
    const char *what;
    const char *remedy;
} rule;

static const char R_IFNAME[] =
    "Set NCCL_SOCKET_IFNAME to an interface that exists, is up and has an address on every node "
    "(preflight's net.nccl_ifname check shows what NCCL will pick), and GLOO_SOCKET_IFNAME to the same.";

/* Order matters: specific before generic ("Connection refused" before "Call to"). */
static const rule rules[] = {
    {"wrong type", "transport_mismatch", "nccl.transport",
     "a Socket connection reached an InfiniBand listener (or the reverse): the nodes disagree on the transport",
     "Make NCCL_IB_DISABLE, NCCL_NET and NCCL_NET_PLUGIN identical on every node (use the env file from "
     "`preflight plan` everywhere), so all ranks use the same network."},
    {"Mismatched NCCL version", "version_mismatch", "nccl.init",
     "the ranks run different NCCL versions (the full version, patch included, must match)",
     "Install the same NCCL on every node (the same nvidia-nccl wheel in each venv); env.fingerprint shows "
     "which libnccl each node loads."},
    {"Duplicate GPU detected", "duplicate_gpu", "nccl.init",
     "two ranks claim the same GPU on what NCCL thinks is one host (same host hash)",
     "Give each node a distinct hostname and /proc/sys/kernel/random/boot_id (cloned images share them), or set "
     "NCCL_HOSTID per node; on one node, use one rank per GPU."},
    {"no socket interface found", "no_interface", "nccl.init",
     "NCCL found no usable socket interface for its bootstrap", R_IFNAME},
    {"No usable listening interface found", "no_interface", "nccl.init",
     "NCCL found no interface to listen on for the bootstrap (NCCL_COMM_ID's address is not on this node)",
     R_IFNAME},
    {"no interface found", "no_interface", "nccl.init", "NCCL's socket transport found no interface", R_IFNAME},
    {"Failed to initialize any NET plugin", "plugin_failed", "nccl.transport",
     "no network plugin could be initialised (neither an external plugin nor the internal IB/Socket)",
     "Check NCCL_NET_PLUGIN / NCCL_NET: the plugin named must load on every node (net.transport checks it), "
     "or unset them to use the internal Socket transport."},
    {"Failed to initialize NET plugin", "plugin_failed", "nccl.transport",
     "the network plugin named by NCCL_NET/NCCL_NET_PLUGIN failed to initialise",
     "Install the plugin's dependencies on every node or unset NCCL_NET_PLUGIN; net.transport shows why it fails "
     "to load."},
    {"NET/Plugin: Failed", "plugin_failed", "nccl.transport", "the network plugin failed to load",
     "Install the plugin's dependencies on every node or unset NCCL_NET_PLUGIN."},
    {"Network is unreachable", "unreachable", "nccl.init",
     "a peer's address is unreachable from this node (an IPv6 link-local fe80:: address, or no route)",
     "If the address is fe80:: (IPv6 link-local), set NCCL_SOCKET_FAMILY=AF_INET or pick with "
     "NCCL_SOCKET_IFNAME an interface whose address the other nodes can route to; otherwise fix the route."},
    {"Connection refused", "peer_refused", "nccl.init",
     "a peer refused the connection: nothing listens at the address NCCL was given",
     "Check that every rank started and that the address NCCL uses (the bootstrap line) is this node's "
     "reachable address, not 127.0.0.1 from /etc/hosts; check firewalls for NCCL's ports."},
    {"Connection timed out", "peer_timeout", "nccl.init",
     "connecting to a peer timed out: packets are dropped on the way (firewall, wrong route)",
     "Open NCCL's ports between the nodes (its listeners use ephemeral ports: allow the whole node pair), and "
     "make NCCL_SOCKET_IFNAME name the interface on the nodes' common network."},
    {"exceeded timeouts", "peer_timeout", "nccl.init",
     "connecting to a peer timed out: packets are dropped on the way (firewall, wrong route)",
     "Open NCCL's ports between the nodes, and make NCCL_SOCKET_IFNAME name the interface on the nodes' common "
     "network."},
    {"Cannot assign requested address", "bad_address", "nccl.init",
     "NCCL was told to use an address this node does not have (NCCL_COMM_ID or NCCL_SOCKET_IFNAME)",
     "Unset NCCL_COMM_ID, or set it to rank 0's own address; check NCCL_SOCKET_IFNAME."},
    {"Address already in use", "port_in_use", "nccl.init",
     "the port NCCL wants is taken (a fixed NCCL_COMM_ID port, or a leftover server)",
     "Stop the old server process or choose another port in NCCL_COMM_ID."},
    {"Connection closed by remote peer", "peer_died", NULL, "a peer closed its connection: that rank exited or crashed",
     "Look at the other ranks: the first that failed is the cause; this rank only saw it go."},
    {"Connection reset by peer", "peer_died", NULL, "a peer reset its connection: that rank exited or crashed",
     "Look at the other ranks: the first that failed is the cause."},
    {"remote process exited", "peer_died", NULL, "a remote rank exited or the network failed",
     "Look at the other ranks: the first that failed is the cause."},
    {"Invalid value", "env_invalid", "nccl.init", "an NCCL environment variable has an invalid value",
     "Fix the variable named in the message (NCCL fell back to its default)."},
    {"out of memory", "gpu_oom", NULL, "the GPU ran out of memory for NCCL's buffers",
     "Free GPU memory (other processes) or lower the probe's -e size."},
    {"Cuda failure", "cuda_error", NULL, "a CUDA call inside NCCL failed",
     "Check gpu.driver (driver vs runtime); the message names the CUDA error."},
    {"Call to ", "system_error", NULL, "a system call inside NCCL failed (its errno text is in the evidence)",
     "The errno text names it; for sockets check NCCL_SOCKET_IFNAME and firewalls."},
    {" failed : ", "system_error", NULL, "a socket operation inside NCCL failed (its errno text is in the evidence)",
     "The errno text names it; for sockets check NCCL_SOCKET_IFNAME, routes and firewalls."},
};

#define NRULES (int)(sizeof rules / sizeof rules[0])

int pf_ncclclass_match(const char *msg)
{
    if (!msg)
        return -1;
    for (int i = 0; i < NRULES; i++)
        if (strstr(msg, rules[i].text))
            return i;
    return -1;
}

const char *pf_ncclclass_rule_cause(int r)
{
    return r >= 0 && r < NRULES ? rules[r].cause : "unknown";
}

const char *pf_ncclclass_stage(const char *phase, const pf_nccllog *log)
{
    if (!phase || !*phase || strcmp(phase, "load") == 0)
        return "loading";
    if (strcmp(phase, "bootstrap") == 0)
        return "bootstrap";
    if (strcmp(phase, "init") == 0)
        return log && log->bootstrap_done ? "connection setup" : "bootstrap";
    if (pf_str_startswith(phase, "connect "))
        return "connection setup";
    if (pf_str_startswith(phase, "p2p"))
        return "point-to-point";
    if (strcmp(phase, "teardown") == 0)
        return "teardown";
    return "the collective";
}

static const char *check_of_phase(const char *phase)
{
    if (!phase)
        return "nccl.init";
    if (pf_str_startswith(phase, "p2p"))
        return "nccl.p2p";
    if (pf_str_startswith(phase, "all_reduce") || strcmp(phase, "connect all_reduce") == 0)
        return "nccl.allreduce";
    if (pf_str_startswith(phase, "all_gather") || strcmp(phase, "connect all_gather") == 0)
        return "nccl.allgather";
    if (strcmp(phase, "teardown") == 0)
        return "nccl.teardown";
    return "nccl.init";
}

static void set(pf_ncclclass *o, const char *cause, const char *check, const char *what, const char *remedy)
{
    o->cause = cause;
    o->check = check;
    o->what = what;
    o->remedy = remedy;
}

void pf_ncclclass_diagnose(const pf_ncclclass_in *in, pf_ncclclass *o)
{
    memset(o, 0, sizeof *o);
    const char *kind = in->kind ? in->kind : "error";
    o->stage = pf_ncclclass_stage(in->phase, in->log);
    const char *by_phase = check_of_phase(in->phase);

    if (strcmp(kind, "absent") == 0) {
        o->stage = "a rank that never joined";
        set(o, "never_joined", "nccl.init", "this rank never started, so the others wait in bootstrap",
            "Start the agent (or the server) on that node; check that it can reach rank 0's bootstrap address.");
        pf_strlcpy(o->evidence, in->message ? in->message : "", sizeof o->evidence);
        return;
    }
    if (strcmp(in->phase ? in->phase : "load", "load") == 0 && strcmp(kind, "error") == 0) {
        const char *m = in->message ? in->message : "";
        pf_strlcpy(o->evidence, m, sizeof o->evidence);
        if (strstr(m, "no CUDA driver") || strstr(m, "no usable GPU") || strstr(m, "no GPU")) {
            o->skip = true;
            set(o, "no_gpu", "nccl.init", "no GPU or CUDA driver on this node", "Run the NCCL probe on a GPU node.");
        } else if (strstr(m, "too old")) {
            set(o, "nccl_too_old", "nccl.init", "the libnccl found is older than 2.14 (no non-blocking init)",
                "Install NCCL 2.14 or newer (the nvidia-nccl wheel the server's torch asks for).");
        } else if (strstr(m, "no libnccl")) {
            set(o, "no_libnccl", "nccl.init", "no libnccl.so.2 was found for the server's environment",
                "Give --venv (the server's virtual environment) or --libnccl PATH.");
        } else {
            set(o, "libnccl_unloadable", "nccl.init", "the libnccl the server would load does not load",
                "The message names the library and the reason (missing dependency, wrong architecture).");
        }
        return;
    }
    /* Known text: WARN lines in order, then NCCL's last error, then ours. */
    int hit = -1;
    const char *src = NULL;
    for (int i = 0; in->log && i < in->log->n_warns && hit < 0; i++)
        if ((hit = pf_ncclclass_match(in->log->warns[i].text)) >= 0)
            src = in->log->warns[i].text;
    if (hit < 0 && (hit = pf_ncclclass_match(in->last_error)) >= 0)
        src = in->last_error;
    if (hit < 0 && (hit = pf_ncclclass_match(in->message)) >= 0)
        src = in->message;
    if (hit >= 0) {
        const rule *r = &rules[hit];
        /* a rule's own check, except that an init-type cause met after init
         * (connections are made lazily, at the first collective) fails the
         * step that was running */
        const char *chk = r->check && !(strcmp(r->check, "nccl.init") == 0 && strcmp(by_phase, "nccl.init") != 0)
                              ? r->check
                              : by_phase;
        set(o, r->cause, chk, r->what, r->remedy);
        pf_strlcpy(o->evidence, src, sizeof o->evidence);
        if (strcmp(r->cause, "peer_died") == 0)
            o->stage = "a peer that died";
        return;
    }
    const char *first = in->log && in->log->n_warns ? in->log->warns[0].text
                        : in->last_error && *in->last_error ? in->last_error
                                                           : in->message ? in->message : "";
    pf_strlcpy(o->evidence, first, sizeof o->evidence);
    if (strcmp(kind, "died") == 0) {
        set(o, "rank_died", by_phase, "this rank's process died", "See the rank's output file for why it died.");
    } else if (strcmp(kind, "timeout") == 0) {
        if (strcmp(o->stage, "bootstrap") == 0)
            set(o, "bootstrap_hang", "nccl.init",
                "stuck in NCCL's bootstrap: a rank never joined, or rank 0's bootstrap address is not reachable "
                "from this node",
                "Check that every rank started and can reach rank 0's bootstrap address (the 'Bootstrap: Using' "
                "line); a hostname that resolves to 127.0.0.1 or a firewall are the usual causes.");
        else if (strcmp(o->stage, "connection setup") == 0)
            set(o, "connect_hang", by_phase,
                "stuck connecting ranks: the bootstrap worked but data connections do not open",
                "NCCL's data connections use NCCL_SOCKET_IFNAME's interface and ephemeral ports: check that "
                "interface reaches the peers and that no firewall drops the ports.");
        else if (strcmp(o->stage, "teardown") == 0)
            set(o, "teardown_hang", "nccl.teardown", "ncclCommFinalize did not finish (a peer left early)",
                "Look at the other ranks' failures.");
        else
            set(o, "collective_hang", by_phase,
                "a collective did not complete: a peer stopped (died or hung) or the link stalls",
                "Look at the other ranks (one that died is the cause); otherwise the link stalls: check MTU "
                "and retransmissions on the interface.");
    } else if (in->nccl_result == 6) {
        o->stage = "a peer that died";
        set(o, "peer_died", by_phase, "NCCL reported a remote error: a peer exited or the network failed",
            "Look at the other ranks: the first that failed is the cause.");
    } else {
        set(o, "unknown", by_phase, "NCCL failed with a message preflight does not know (kept verbatim)",
            "Read the message and the rank's NCCL log (its path is in the evidence).");
    }
}

json_t *pf_ncclclass_to_json(const pf_ncclclass *c)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:o}", "cause", c->cause ? c->cause : "unknown", "check",
                     c->check ? c->check : "nccl.init", "stage", c->stage ? c->stage : "", "skip", c->skip, "what",
                     c->what ? c->what : "", "remedy", c->remedy ? c->remedy : "", "evidence", pf_json_text(c->evidence));
}

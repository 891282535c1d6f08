/* nccl_class.h -- NCCL failures, classified: from what a rank saw (the
 * phase it was in, how it failed, NCCL's result code, ncclGetLastError and
 * the WARN lines of its log) to a named cause, the check it belongs to, the
 * stage that hung or failed, and a remedy.
 *
 * The rules are a table of substrings of real NCCL messages (format strings
 * in NCCL 2.18-2.30's sources, and lines seen on the GPU machine; the tests
 * hold one row per message): "wrong type 3 != 4", "Network is unreachable",
 * "no socket interface found", "Connection refused", "timed out",
 * "Mismatched NCCL version", "Duplicate GPU detected", a net plugin that
 * fails, "Call to ... failed" with its errno text, a peer that closed the
 * connection.  WARN lines are tried in log order -- NCCL's last error is
 * often a follow-up ("ncclAsyncJobComplete: job ... failed"), the first
 * WARN the cause -- then ncclGetLastError, then the runner's own message.
 * With no matching text the failure is classified by how it ended
 * (a timeout in bootstrap, in connection setup, in the collective; a
 * process that died; a rank that never started) and the first WARN is kept
 * verbatim as evidence.
 *
 * Pure: no I/O.
 */
#ifndef PF_NCCL_CLASS_H
#define PF_NCCL_CLASS_H

#include <jansson.h>
#include <stdbool.h>

#include "probes/nccl/nccl_log.h"

typedef struct pf_ncclclass_in {
    const char *phase;      /* where the rank was: "load", "bootstrap", "init", "connect all_reduce",
                               "all_reduce 64 MiB", "p2p prefill forward", "teardown" */
    const char *kind;       /* "error", "timeout", "died", "absent" */
    int nccl_result;        /* -1 unknown */
    const char *message;    /* the runner's sentence; may be NULL */
    const char *last_error; /* ncclGetLastError; may be NULL */
    const pf_nccllog *log;  /* may be NULL */
} pf_ncclclass_in;

typedef struct pf_ncclclass {
    const char *cause;      /* stable id, e.g. "no_interface", "peer_died", "bootstrap_hang" */
    const char *check;      /* "nccl.init", "nccl.transport", "nccl.p2p", "nccl.allreduce", "nccl.allgather", "nccl.teardown" */
    const char *stage;      /* "loading", "bootstrap", "connection setup", "the collective",
                               "point-to-point", "teardown", "a peer that died", "a rank that never joined" */
    bool skip;              /* not a failure of the network: no GPU / no driver on this node */
    const char *what;       /* one line: what happened */
    const char *remedy;
    char evidence[512];     /* the message that matched, verbatim (or the first WARN) */
} pf_ncclclass;

/* Index of the first rule whose text occurs in msg, -1 when none (tests). */
int pf_ncclclass_match(const char *msg);
const char *pf_ncclclass_rule_cause(int rule);
void pf_ncclclass_diagnose(const pf_ncclclass_in *in, pf_ncclclass *out);
/* The stage a phase name belongs to (log refines "init"). */
const char *pf_ncclclass_stage(const char *phase, const pf_nccllog *log);
json_t *pf_ncclclass_to_json(const pf_ncclclass *c);

#endif

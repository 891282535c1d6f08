/* coord.h -- the coordinator of `preflight cluster`: one event loop that
 * launches the agents, authenticates them, and drives the phases
 *
 *   join+auth -> run_checks on all -> listen on all -> probe pairs
 *   (reach/mtu/gloo all pairs, bandwidth between pipeline neighbours)
 *   -> nccl (--nccl: one NCCL rank per node, pipeline order) -> judge
 *   -> plan -> bye
 *
 * Every phase has a deadline.  A node that never joins, whose agent dies or
 * hangs, is marked failed with the reason (the launcher's own words when it
 * has them) and the run goes on with the others.  Strangers are refused
 * without disturbing the run: a connection must authenticate within
 * auth_s with frames of at most PF_PROTO_MAX_PREAUTH bytes, or it is closed
 * and listed in the record's "cluster.refused".
 *
 * Results go into the caller's pf_run: one node per expected node (in
 * pipeline order, joined or not), the agents' node checks under their node,
 * the section "cluster" (join state, phases and their times, refused
 * connections, listen replies and probe results for the deciders), and
 * cluster.* checks from the judge.
 */
#ifndef PF_COORD_H
#define PF_COORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cluster/launcher.h"
#include "cluster/nodelist.h"
#include "core/record.h"
#include "probes/nccl/nccl_flags.h"

typedef struct pf_coord_opts {
    const char *bind_addr;     /* NULL: all addresses */
    int port;                  /* 0: any free port */
    const char *advertise;     /* the address agents dial; NULL: the local address routed to the first node */
    double join_s;             /* every agent joined (default 20) */
    double auth_s;             /* one connection authenticates (default 3) */
    double checks_s;           /* run_checks on all (default 120) */
    double pairs_s;            /* all reach/mtu/gloo probes (default 30) */
    double keepalive_s;        /* ping interval; agents give up after 3x (default 5) */
    const json_t *flags;       /* run_checks flags for every node (borrowed): arch, venv, model, pp, mem_fraction, timeout, only */
    const char *env_mode;      /* "login" (default) or "inherit" */
    bool pairs;                /* run the pair phase */
    bool all_pairs_bandwidth;  /* bandwidth on every ordered pair, not only neighbours */
    double bw_seconds;         /* per bandwidth probe (default 0.5) */
    double bw_bytes;           /* cap per bandwidth probe (default 512 MiB) */
    int bw_streams;            /* default 1 */
    int ports[16];             /* --ports: fixed ports the launch needs (Ray 6379, 8265, the server's) */
    size_t nports;
    bool nccl;                 /* --nccl: run the NCCL phase (cluster.nccl, nccl.*) */
    pf_ncclflags nccl_flags;   /* its libraries, sizes and per-rank deadlines (borrowed strings) */
    double nccl_s;             /* every rank's result, the deadline each agent enforces (default 60) */
    const char *nccl_capture;  /* --capture: "auto" or "IF[,IF...]" sent to every agent; NULL: none */
    const pf_strv *nccl_fallback;    /* --fallback-env: NAME=VALUE read here, sent in a second round; NULL: none */
    const char *nccl_fallback_file;  /* its path (evidence) */
    const char *plan_dir;      /* --plan DIR, NULL: none */
    const char *secret_file;   /* manual launcher: write the secret here (0600) */
    FILE *log;                 /* progress lines, NULL: quiet */
} pf_coord_opts;

void pf_coord_opts_init(pf_coord_opts *o);

/* Run the whole cluster run into `run`.  lc supplies the launcher's
 * settings; join and secret are filled here.  Returns 0 when the run went
 * through its phases (whatever the verdicts), -1 with err when it could not
 * start (the listen port is taken, the launcher is missing: nothing ran). */
int pf_coord_run(pf_run *run, const pf_nodelist *nl, const pf_launcher_vt *vt, pf_launcher_cfg *lc,
                 const pf_coord_opts *o, pf_err *err);

/* Copy one agent record's checks and facts into `run` under node rn (the
 * agent's record has exactly one node).  Exposed for tests. */
int pf_coord_import(pf_run *run, pf_node *rn, const json_t *rec, pf_err *err);

#endif

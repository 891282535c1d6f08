/* nccl_agent.h -- the entry point for one NCCL rank on a node, as the
 * cluster agent calls it (cluster.nccl, issue #9) and as `preflight nccl`
 * calls it in each forked local rank.
 *
 *   json = pf_ncclagent_run(&opts, log_file, &io)
 *
 * opts: rank, nranks, the libraries, the environment the server will have
 * (opts.env), sizes, deadlines (nccl_rank.h).  The unique id travels
 * through io: rank 0 calls io.publish_uid once it has one (the agent sends
 * it to the coordinator, which hands it to every other agent); every other
 * rank calls io.fetch_uid, which waits for it until the deadline given.
 * The NCCL log goes to log_file (NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS=INIT,
 * BOOTSTRAP,ENV,NET added to opts.env) and is parsed here, so what travels
 * back is one self-contained JSON object: the rank's results (nccl_rank.h)
 * plus "nccl_log" and, on failure, "diagnosis" (nccl_judge.h annotates).
 * The coordinator collects one per rank into an array and calls
 * pf_nccljudge_section + pf_nccljudge_checks.
 *
 * Must run in a process of its own (fork first): it sets the environment
 * and loads NCCL into the calling process.  Never NULL, never hangs beyond
 * the deadlines in opts.
 */
#ifndef PF_NCCL_AGENT_H
#define PF_NCCL_AGENT_H

#include <jansson.h>

#include "probes/nccl/nccl_rank.h"

typedef struct pf_ncclagent_io {
    int (*publish_uid)(void *arg, const pf_nccl_uid *uid); /* rank 0; NULL uid = none (rank 0 failed) */
    int (*fetch_uid)(void *arg, pf_nccl_uid *uid, double deadline); /* ranks > 0; -1 when none came */
    void *arg;
} pf_ncclagent_io;

json_t *pf_ncclagent_run(const pf_ncclrank_opts *o, const char *log_file, const pf_ncclagent_io *io);

#endif

/* launch_group.h -- a launch of several processes on several nodes: the
 * helper processes a multi-node server needs (llama.cpp's rpc-server on each
 * node, a Ray worker, a vLLM/SGLang rank started by hand) plus the front
 * server that answers HTTP.  Readiness, the log watch and the stop cover
 * every one of them, and the record says which node ran what.
 *
 * Lifecycle (what `preflight bench --launch-node ... --launch -- ...` does):
 *
 *     pf_launch_group *g = pf_launch_group_new(&flag);
 *     for each --launch-node:
 *         pf_launch_group_start(g, &spec, &lo, &err);   // starts it now
 *     pf_launch_group_wait(g, deadline_s, &err);        // every helper ready, or which is not
 *     pf_launch *front = pf_launch_start(argv, ...);    // the front server, as for one node
 *     pf_launch_group_adopt(g, "front", front);         // the group owns it from here
 *     pf_launch_wait_ready(front, ...);
 *     pf_launch_group_serving(g);                       // ends from now on: "during load"
 *     while (load runs) if (pf_launch_group_poll(g, why, len)) break;
 *     pf_launch_group_stop(g, 10.0);                    // front first, then helpers
 *     json_t *j = pf_launch_group_to_json(g);
 *     pf_launch_group_free(g);
 *
 * How a process reaches its node is the command's business, the way Slurm's
 * `srun -w NODE CMD` or `ssh NODE CMD` or `ip netns exec NODE CMD` is: the
 * group runs the command here and watches it, so what is stopped is the
 * local end (srun, ssh, ip netns exec and everything they started here).
 * The node name is the label the record and every message use.
 *
 * Each process is one pf_launch (launch.h): its own session, its own log
 * file, its own log watch and its own stop ladder.  The group is only the
 * list, plus what no single process can know: readiness of a helper that
 * has no HTTP API (a TCP port that accepts), the order processes ended in,
 * and which one ended first.
 *
 * Ownership: the group owns every pf_launch started or adopted; callers may
 * keep borrowed pointers (pf_launch_group_front) until pf_launch_group_free.
 * Nothing here prints.
 */
#ifndef PF_LAUNCH_GROUP_H
#define PF_LAUNCH_GROUP_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/launch.h"
#include "core/record.h"
#include "core/util.h"

typedef struct pf_launch_group pf_launch_group;

/* At most this many processes in one launch (helpers + front). */
#define PF_LAUNCH_GROUP_MAX 64

typedef struct pf_launch_node_spec {
    const char *name;        /* node label: 1-63 of [A-Za-z0-9._-], unique in the group */
    const char *ready_addr;  /* "HOST:PORT" (IPv4 or a name; [v6]:PORT): ready once a TCP
                                connect there succeeds; NULL: ready when still running
                                after the grace of pf_launch_group_wait */
    char *const *argv;       /* NULL-terminated command, argv[0] looked up in PATH */
} pf_launch_node_spec;

/* stop_flag: an increase of *flag (Ctrl-C) makes waits return early and
 * stops hurry (see pf_launch_watch_flag); NULL: none. */
pf_launch_group *pf_launch_group_new(const volatile sig_atomic_t *stop_flag);

/* Validate spec (name, address syntax) and start the process now, with its
 * log at opts->log_path or a temporary file.  -1 with err naming the node
 * when the name is bad or taken, the address is malformed, or the command
 * cannot be executed (e.g. "node rpc2: cannot execute rpc-server: No such
 * file or directory"). */
int pf_launch_group_start(pf_launch_group *g, const pf_launch_node_spec *spec,
                          const pf_launch_opts *opts, pf_err *err);

/* Block until every helper started so far is ready: its ready_addr accepts
 * a TCP connection, or (no address) it is still running after 0.5 s.  One
 * probe per helper every 0.2 s, each connect bounded by 1 s.  Returns 0 when
 * all are ready; -1 with err naming the first node that died (its exit
 * status and last log line), or that did not open its port within
 * deadline_s (0: 120), or that the wait was interrupted. */
int pf_launch_group_wait(pf_launch_group *g, double deadline_s, pf_err *err);

/* Hand a started front server to the group under this node name (the name
 * rules above; an invalid or taken one becomes "front").  From here the
 * group owns it. */
void pf_launch_group_adopt(pf_launch_group *g, const char *name, pf_launch *front);
pf_launch *pf_launch_group_front(const pf_launch_group *g); /* borrowed; NULL before adopt */

/* The front server is ready and load begins: an end from here on is
 * recorded as "during load" (before: "during start-up"). */
void pf_launch_group_serving(pf_launch_group *g);

/* Non-blocking: poll every process (pf_launch_poll).  0 while all run and
 * none logged a fatal line; 1 otherwise, with why naming the node that
 * ended first ("node rpc2 (pid 123, rpc-server) was killed by signal 9
 * (Killed) at 12.3 s"), the front server's fate added when it differs. */
int pf_launch_group_poll(pf_launch_group *g, char *why, size_t whylen);

/* Stop the front server first (requests stop coming in), then the helpers
 * in reverse start order, each with pf_launch_stop's ladder and grace_s
 * (<= 0: 10).  Returns 0 when nothing of any process remains. */
int pf_launch_group_stop(pf_launch_group *g, double grace_s);

size_t pf_launch_group_count(const pf_launch_group *g);

/* For the record (bench.launch_nodes): {processes: [{node, role
 * ("front"|"helper"), ready_addr, ready_s, ended_at_s, ...pf_launch_to_json}],
 * order_ended: [node...], first_ended: {node, role, pid, t_s, how, during}}.
 * t_s are seconds since the group was created.  New reference. */
json_t *pf_launch_group_to_json(const pf_launch_group *g);

/* One check "bench.launch_nodes": pass when every process became ready and
 * ran until the stop; fail naming the node that ended first, how, and its
 * log; error when a helper never became ready. */
pf_check *pf_launch_group_add_check(pf_run *run, const pf_launch_group *g);

void pf_launch_group_free(pf_launch_group *g); /* stops first (grace 2 s) if still running */

/* Pure helpers, exposed for table tests. */
bool pf_launch_group_name_ok(const char *name);
/* Split "HOST:PORT" / "[V6]:PORT" into host (without brackets) and port
 * 1-65535.  -1 with err on anything else. */
int pf_launch_group_parse_addr(const char *addr, char *host, size_t hostlen, int *port, pf_err *err);

#endif

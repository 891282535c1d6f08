/* agent.h -- `preflight agent --join HOST:PORT [--node-name N]`: the process
 * a launcher starts on every node.
 *
 * It reads the run's secret (stdin, PF_AUTH_ENV or --secret-file), connects
 * back to the coordinator, proves it holds the secret (cluster/auth.h) and
 * checks that the coordinator does too, then serves a FIXED set of
 * operations, one at a time:
 *
 *   run_checks {flags, only, env}  the node checks of `preflight check`, into
 *                                  a record sent back as JSON
 *   listen {req}                   open pair-test listeners (cluster/pairtest.h)
 *   probe {req}                    run pair tests towards one peer
 *   unlisten                       close the listeners
 *   nccl_start {rank, nranks, ...} start this node's NCCL rank in a child
 *                                  process (rank 0 answers with its unique id)
 *   nccl_wait                      that rank's result, by its deadline (ncclop.h)
 *   ping                           nothing (keeps the idle deadline fresh)
 *   bye                            close everything and exit 0
 *
 * Nothing received is executed: fields are read by name and type into
 * pf_probe_opts, and an unknown type ends the session.  The agent exits by
 * itself when the coordinator goes away: EOF, a reset, or no frame for
 * 3 x the keepalive interval the coordinator announced.
 */
#ifndef PF_AGENT_H
#define PF_AGENT_H

int pf_agent_main(int argc, char **argv);

#endif

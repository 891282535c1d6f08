/* plan.h -- `preflight plan`: from a merged, measured run, the per-node
 * settings that the pair tests *proved*, as files a user can apply.
 *
 * What is written into DIR (created if missing; existing files of the same
 * names are replaced atomically, nothing else in DIR is touched):
 *   <node>.env            NAME=VALUE lines and # comments (core/env.h's
 *                         format, so `preflight cluster` reads it back with
 *                         env=FILE, systemd reads it as EnvironmentFile= and
 *                         sh with `set -a; . FILE`):
 *                           NCCL_SOCKET_IFNAME==<iface>   exact-match ('=')
 *                           GLOO_SOCKET_IFNAME=<iface>
 *                           TP_SOCKET_IFNAME=<iface>
 *                           NCCL_IB_DISABLE=1  only when some node would pick
 *                                              IB and another Socket
 *   <node>.ray-start.sh   the `ray start` line for that node (head for stage
 *                         0), --node-ip-address on the proved interface, run
 *                         with the env file loaded: Ray workers inherit the
 *                         raylet's environment, not the driver's.
 *   launch.sh             the server command for the head node: --pp N
 *                         --nnodes N --use-ray, --mem-fraction-static lowered
 *                         when a node's free memory cannot hold the default.
 *   PLAN.txt              what was proved per node, and for a node where
 *                         nothing was, which pair fails and why.
 *
 * "Proved" for an interface of node N: every other node's probe reached N's
 * listener on that interface's address (cluster.reach "ok"), and N reached
 * the interface chosen on every other node.  Among proved interfaces the one
 * NCCL's bootstrap already picks wins, then the fastest.  Nothing is guessed:
 * a node without a proved interface gets no *_IFNAME line, only comments
 * naming the failing pairs.
 *
 * Inputs: the run's nodes (pipeline order) with their facts, the "pairs"
 * section (judge.h), each node's mem.headroom evidence, and optionally the
 * "cluster" section's "model" (path for --model-path) and "port" (30000).
 */
#ifndef PF_PLAN_H
#define PF_PLAN_H

#include "core/record.h"
#include "core/util.h"

/* 0: every node has proved settings; 1: files written, but at least one
 * node has none (PLAN.txt and its env file say which pair fails); -1: err
 * set (no pair-test results in the run, DIR not writable, ...). */
int pf_plan_write(const pf_run *merged, const char *dir, pf_err *err);

/* `preflight plan RUN.json --out DIR` */
int pf_plan_main(int argc, char **argv);

#endif

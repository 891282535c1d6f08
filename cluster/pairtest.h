/* pairtest.h -- the pair tests between two nodes, agent side: one node opens
 * listeners (pf_pair_listen), its peer probes them (pf_pair_probe).  The
 * coordinator (cluster/ of h3) carries the JSON between agents; the deciders
 * (cluster/judge.h) turn the results into cluster.reach/bandwidth/mtu/ports/
 * gloo verdicts.  Everything here measures; nothing here decides pass/fail.
 *
 * Listen request (every key optional except addresses):
 *   {"node":"spark1",                      this node's name, echoed to peers
 *    "addresses":["10.0.0.1","fe80::1%enp1s0f0", ...],
 *    "tests":["reach","bandwidth","mtu","ports","gloo"],
 *    "ports":[6379, 8265, 30000],          fixed ports to hold open when free
 *    "gloo_address":"127.0.1.1"}           the address Gloo will advertise here
 * Listen reply:
 *   {"node":"spark1",
 *    "endpoints":[{"addr":"10.0.0.1","tcp":41234,"udp":51234,
 *                  "ifname":"enp1s0f0np0","mtu":9000,"speed_mbps":200000}, ...],
 *    "errors":[{"addr":..., "error":"bind 10.0.0.9: Cannot assign ..."}],
 *    "ports":[{"port":6379,"state":"listening"|"in_use"|"error", "error":...}],
 *    "gloo":{"addr":"127.0.1.1","port":40123} | {"addr":...,"error":"..."}}
 *   An address that cannot be bound is reported in "errors", the others
 *   still served.  "in_use" means another program (Ray itself) holds the
 *   port; a peer's probe then reaches that program, which is what matters.
 *
 * Probe request:
 *   {"node":"thor1", "peer":"spark1",
 *    "endpoints":[...],                    the peer's listen reply endpoints
 *    "tests":["reach","bandwidth","mtu","ports","gloo"],
 *    "deadline_s":10,                      the whole probe, every test included
 *    "connect_timeout_s":1, "connects":3,  per reach connect / connects per address
 *    "mtu_timeout_s":1,                    how long lost MTU probes are awaited
 *    "bandwidth":{"addr":"10.0.0.1","bytes":268435456,"seconds":2,"streams":4},
 *    "ports":[{"port":6379,"name":"ray-gcs","addr":"10.0.0.1"}, ...],
 *    "gloo":{"self":"10.0.0.2","peer":{"addr":"10.0.0.1","port":40123},
 *            "peer_node":"spark1"}}
 *   bandwidth.addr defaults to the first endpoint; ports[].addr too.
 * Probe result (keys present for the tests that ran):
 *   {"node":..,"peer":..,"elapsed_s":..,
 *    "reach":[{"addr","port","result":"ok|refused|filtered|unreachable|error",
 *              "errno","error","src","ifname","rtt_ms":{"min","median"},"connects"}],
 *    "bandwidth":{"addr","streams","bytes_sent","bytes_received","seconds",
 *                 "gbit_s","local_ifname","local_speed_mbps","peer_speed_mbps",
 *                 "per_stream_bytes":[..],"draining_streams"?,"error"?},
 *    "mtu":[{"addr","local_ifname","local_mtu","peer_ifname","peer_mtu",
 *            "probes":[{"size","echoed"}],"bisection":[{"size","echoed"}],
 *            "path_mtu","path_mtu_exact","error"?}],
 *    "ports":[{"port","name","addr","result",...}],
 *    "gloo":{"self","peer","role":"connect"|"accept","result",...,"reached_node"}}
 *   A test that could not run carries "error" (a sentence) instead of numbers;
 *   the probe as a whole fails (NULL) only on a malformed request.
 *
 * Wire formats on the listener's sockets (all fixed-size, validated):
 *   TCP: the client writes a 4-byte tag first.
 *     "PFB2"  bandwidth: the client then streams bytes and half-closes; the
 *             listener counts what it *received* and answers with 16-byte
 *             records (count, microseconds; big-endian) every 0.1 s while
 *             bytes arrive and once at the end, then closes --
 *             receiver-side counting, like iperf3's receiver line
 *             (bandwidth.h says why the progress records).
 *     "PFG1"  gloo: 8-byte sequence number, like Gloo's pair handshake; the
 *             listener answers "PFG1" + 64-byte NUL-padded node name so the
 *             prober sees *whom* it reached (the 127.0.1.1 trap reaches itself).
 *     anything else, or nothing within 2 s: closed (reach needs only the
 *             handshake).
 *   UDP: a datagram starting "PFM1" is echoed back unchanged (MTU probes);
 *        anything else is dropped.  Echo never grows a datagram.
 *
 * Threads: a listener runs one service thread (poll over its sockets) plus
 * at most PF_PAIR_MAX_CONN connection threads, all joined by
 * pf_pair_listener_close.  pf_pair_probe runs in the caller's thread and
 * starts one thread per bandwidth stream, joined before it returns.
 */
#ifndef PF_PAIRTEST_H
#define PF_PAIRTEST_H

#include <jansson.h>

#include "core/util.h"

#define PF_PAIR_MAX_ADDRS 32
#define PF_PAIR_MAX_CONN 64
#define PF_PAIR_MAX_STREAMS 16
#define PF_PAIR_MAX_PORTS 16
#define PF_PAIR_TAG_LEN 4
#define PF_PAIR_NAME_LEN 64

typedef struct pf_pair_listener pf_pair_listener;

/* Open the listeners the request asks for and serve them in a thread until
 * pf_pair_listener_close.  *reply (new reference) describes them.  NULL with
 * err set on a malformed request or when no address at all could be bound. */
pf_pair_listener *pf_pair_listen(const json_t *req, json_t **reply, pf_err *err);
/* Stop serving, close every socket, join every thread.  NULL is a no-op. */
void pf_pair_listener_close(pf_pair_listener *l);

/* Run the requested tests against a peer's listener.  New reference; NULL
 * with err set only when the request is malformed. */
json_t *pf_pair_probe(const json_t *req, pf_err *err);

/* Request builders, so that every agent asks for the same thing.
 *
 * pf_pair_listen_request: from a node's facts (as `preflight check` writes
 * them) -- "addresses": every IPv4 and global IPv6 address of every running,
 * non-loopback interface (link-local ones are left out: a peer cannot use
 * them without this host's scope id), "gloo_address": the address Gloo will
 * advertise (facts.gloo.devices[0], loopback included: that is the trap the
 * gloo test exists for), "ports": copied.  New reference. */
json_t *pf_pair_listen_request(const char *node, const json_t *facts, const json_t *ports);

/* pf_pair_probe_request: node probes peer, whose listen reply is `reply`.
 * self_facts gives this node's Gloo address.  opts (may be NULL) is merged
 * in last: {"tests":[...],"deadline_s":..,"bandwidth":{...},"ports":[...]}.
 * New reference. */
json_t *pf_pair_probe_request(const char *node, const json_t *self_facts, const char *peer,
                              const json_t *reply, const json_t *opts);

#endif

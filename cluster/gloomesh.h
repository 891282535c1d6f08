/* gloomesh.h -- one pair of Gloo's full-mesh handshake, as Gloo does it.
 *
 * Gloo's connectFullMesh (pytorch/gloo tcp/context.cc, pair.cc): every rank
 * listens on the address it advertises (port 0) and publishes it in the
 * store; for each pair the side with the *greater* address (IP bytes in
 * network order, then port) connects and the other side only accepts.  So
 * each pair is tested in exactly the direction Gloo will use, by the node
 * that will connect, against the listener on the address the peer will
 * advertise -- 127.0.1.1 included, which is how the Debian hostname trap
 * shows up: the connector reaches its *own* loopback, not the peer.
 * The listener answers its node name, so "reached itself" is told apart
 * from "reached the peer".
 */
#ifndef PF_GLOOMESH_H
#define PF_GLOOMESH_H

#include <jansson.h>
#include <stdbool.h>

/* Gloo's direction rule: does the side advertising (a, aport) connect to the
 * side advertising (b, bport)?  Numeric addresses; false when they cannot
 * be parsed (pure; exposed for tests). */
bool pf_gloo_mesh_initiates(const char *a, int aport, const char *b, int bport);

/* True for 127.0.0.0/8 and ::1: an address no peer can reach. */
bool pf_gloo_mesh_is_loopback(const char *addr);

/* g: {"self","self_port"?,"peer":{"addr","port"}|{"addr","error"},"peer_node"}.
 * Returns {"self","peer","role":"connect"|"accept","result",...,
 *          "reached_node","peer_loopback":bool}. */
json_t *pf_gloo_mesh_probe(const json_t *g, double timeout_s);

#endif

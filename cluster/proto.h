/* proto.h -- the control-plane frames between `preflight cluster` and
 * `preflight agent`.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of one
 * UTF-8 JSON object.  Every object carries a "type" string from a fixed
 * list (below); anything else -- a length of 0 or above the limit, bytes
 * that are not a JSON object, an unknown or missing type -- is refused and
 * the connection is closed.  Nothing in a frame is ever executed: the agent
 * maps the type onto one of its fixed operations and reads typed fields.
 *
 * Limits: PF_PROTO_MAX_FRAME (4 MiB) once a peer is authenticated, and
 * PF_PROTO_MAX_PREAUTH (4 KiB) before, so that a stranger cannot make the
 * coordinator buffer megabytes.
 *
 * Two ways to read: pf_proto_recv blocks with a deadline (the agent, which
 * talks to one peer), pf_proto_rd is an incremental reader for a
 * non-blocking socket (the coordinator's event loop, many peers).
 */
#ifndef PF_PROTO_H
#define PF_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PF_PROTO_VERSION 1
#define PF_PROTO_MAX_FRAME (4u << 20)
#define PF_PROTO_MAX_PREAUTH 4096u

/* The known frame types ("hello", "auth", "auth_ok", "run_checks",
 * "listen", "probe", "unlisten", "nccl_start",
 * "nccl_wait", "reply", "ping", "bye", "error", and the agent's
 * "stopped" {signal}: it was stopped by a signal on its node and goes;
 * the coordinator's "nccl_abort" {peer}: another rank failed, stop this one
 * -- no reply, the pending nccl_wait answers; one that crossed the rank's
 * reply on the wire finds no rank and is ignored). */
bool pf_proto_type_known(const char *type);
/* Validate a decoded frame: a JSON object whose "type" is known.  Returns
 * the type (borrowed) or NULL with err set. */
const char *pf_proto_validate(const json_t *msg, pf_err *err);

/* Encode msg into one frame (heap buffer, *len bytes).  NULL with err when
 * the encoding is larger than max. */
unsigned char *pf_proto_encode(const json_t *msg, size_t max, size_t *len, pf_err *err);
/* Decode one frame payload (no length prefix) and validate it. */
json_t *pf_proto_decode(const unsigned char *buf, size_t len, pf_err *err);

/* Write all of msg's frame to fd before the absolute deadline (pf_now()
 * clock).  Works on blocking and non-blocking sockets.  0 or -1 (err). */
int pf_proto_send(int fd, const json_t *msg, double deadline, pf_err *err);
/* Read one frame of at most max bytes before the deadline.  NULL with err
 * on timeout, EOF ("closed the connection"), an oversized or invalid frame.
 * *eof (if non-NULL) is set true when the peer closed cleanly. */
json_t *pf_proto_recv(int fd, size_t max, double deadline, bool *eof, pf_err *err);

/* Incremental reader.  Owns its buffer; one per connection. */
typedef struct pf_proto_rd pf_proto_rd;
pf_proto_rd *pf_proto_rd_new(size_t max);
void pf_proto_rd_free(pf_proto_rd *rd);
void pf_proto_rd_set_max(pf_proto_rd *rd, size_t max);
/* Bytes buffered but not yet returned as a frame. */
size_t pf_proto_rd_pending(const pf_proto_rd *rd);
/* Read what fd has now (non-blocking) and return 1 with *out = the next
 * complete, validated frame (caller owns it); 0 when more bytes are needed;
 * -1 on EOF, a read error or a bad frame (err says which; *eof true for a
 * clean close).  Call again after 1: more frames may be buffered. */
int pf_proto_rd_pump(pf_proto_rd *rd, int fd, json_t **out, bool *eof, pf_err *err);

#endif

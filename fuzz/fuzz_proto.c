/* The cluster control-plane frames (cluster/proto.c), reached the three
 * ways a peer's bytes reach them:
 *   1. pf_proto_decode on the input as one payload (JSON + validation); a
 *      frame it accepts must survive pf_proto_encode and decode again
 *      unchanged (json_equal), since the coordinator relays frames;
 *   2. the incremental reader the coordinator runs per connection
 *      (pf_proto_rd_pump on a non-blocking socketpair), the input written
 *      in pieces of a fuzzed size, starting with the pre-auth limit and
 *      raising it after the first frame as coord.c does after "auth";
 *   3. the blocking reader the agent runs (pf_proto_recv with a deadline)
 *      on the whole input followed by a clean close.
 * Input: byte 0 = piece size - 1, byte 1 bit 0 = start at the full frame
 * limit (an authenticated peer), then the stream: 4-byte big-endian length
 * + payload, repeated (fuzz/corpus/proto/ holds frames of the real encoder). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/proto.h"

static void roundtrip(const uint8_t *p, size_t n)
{
    pf_err err = {{0}};
    json_t *m = pf_proto_decode(p, n, &err);
    if (!m)
        return;
    size_t len = 0;
    unsigned char *f = pf_proto_encode(m, PF_PROTO_MAX_FRAME, &len, &err);
    if (!f) {
        fprintf(stderr, "a decoded frame does not encode: %s\n", err.msg);
        abort();
    }
    size_t hdr = (size_t)f[0] << 24 | (size_t)f[1] << 16 | (size_t)f[2] << 8 | f[3];
    json_t *m2 = hdr == len - 4 ? pf_proto_decode(f + 4, len - 4, &err) : NULL;
    if (!m2 || !json_equal(m, m2)) {
        fprintf(stderr, "frame changed through encode+decode (%s)\n", m2 ? "not equal" : err.msg);
        abort();
    }
    json_decref(m2);
    json_decref(m);
    free(f);
}

static void incremental(const uint8_t *p, size_t n, size_t piece, size_t max)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    pf_proto_rd *rd = pf_proto_rd_new(max);
    bool done = false;
    for (size_t off = 0; off <= n && !done; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        if (k && send(sv[0], p + off, k, MSG_NOSIGNAL) != (ssize_t)k)
            abort(); /* pieces are at most 256 bytes and drained below */
        if (off + piece > n)
            shutdown(sv[0], SHUT_WR); /* the last piece: the peer closes */
        for (;;) {
            json_t *m = NULL;
            bool eof = false;
            pf_err err = {{0}};
            int r = pf_proto_rd_pump(rd, sv[1], &m, &eof, &err);
            if (r == 1) {
                if (!m || !pf_proto_validate(m, &err))
                    abort();
                json_decref(m);
                pf_proto_rd_set_max(rd, PF_PROTO_MAX_FRAME);
                continue;
            }
            if (r < 0) {
                if (!err.msg[0])
                    abort(); /* every refusal says why */
                done = true;
            } else if (pf_proto_rd_pending(rd) > PF_PROTO_MAX_FRAME + 4) {
                abort(); /* never buffers more than one frame */
            }
            break;
        }
    }
    pf_proto_rd_free(rd);
    close(sv[0]);
    close(sv[1]);
}

static void blocking(const uint8_t *p, size_t n, size_t max)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    int big = 1 << 18;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    for (size_t off = 0; off < n;) {
        ssize_t w = send(sv[0], p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);
    for (int i = 0; i < 1000; i++) {
        pf_err err = {{0}};
        bool eof = false;
        json_t *m = pf_proto_recv(sv[1], max, pf_now() + 1.0, &eof, &err);
        if (!m)
            break;
        json_decref(m);
        max = PF_PROTO_MAX_FRAME;
    }
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    size_t max = (data[1] & 1) ? PF_PROTO_MAX_FRAME : PF_PROTO_MAX_PREAUTH;
    data += 2, size -= 2;
    /* the payload of the first frame, as the decoder sees it, and the
     * whole input as one payload */
    if (size >= 4) {
        size_t n = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
        if (n > 0 && n <= size - 4)
            roundtrip(data + 4, n);
    }
    roundtrip(data, size);
    incremental(data, size, piece, max);
    blocking(data, size, max);
    return 0;
}

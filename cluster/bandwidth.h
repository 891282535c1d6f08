/* bandwidth.h -- bounded bulk TCP transfer, counted at the receiver.
 *
 * Like iperf3 (128 KiB writes, one thread per stream, the receiver's count
 * is the truth: bytes still queued in the sender's socket buffer are not
 * throughput) and like NCCL's Socket transport, which moves a PP send over
 * one TCP stream per channel, or nThreads x nSocks streams when
 * NCCL_SOCKET_NTHREADS / NCCL_NSOCKS_PERTHREAD are set.  Both the size and
 * the time are capped so a slow link costs seconds, not minutes.
 */
#ifndef PF_BANDWIDTH_H
#define PF_BANDWIDTH_H

#include <jansson.h>
#include <stdint.h>

#define PF_BW_BLOCK (128 * 1024)
#define PF_BW_MAX_BYTES (16ULL << 30)
#define PF_BW_MAX_SECONDS 30.0
#define PF_BW_RECORD 16      /* one receiver record: count, microseconds (big-endian u64 each) */
#define PF_BW_REPORT_S 0.1   /* the receiver reports its count this often while bytes arrive */
#define PF_BW_STALL_S 1.0    /* a count that grew within this of the deadline is still draining */

/* Receiver side, after the "PFB2" tag: read fd until EOF (or an error or
 * timeout), sending back a record every PF_BW_REPORT_S while bytes arrive
 * and a last one at the end, then return the byte count; the caller closes
 * (the close after the last record is what makes it final).  A record is
 * the bytes counted so far and the microseconds from the tag to the last
 * byte counted, so the rate is the receiver's own, like iperf3's receiver
 * line.  The progress records matter under heavy loss: the sender's
 * socket buffer can hold seconds of data, and without them a stream still
 * draining at the deadline would have no count at all.  The caller owns
 * fd and its timeouts. */
uint64_t pf_bw_serve(int fd);

/* Sender side.  bw: {"addr","bytes","seconds","streams"} (all optional);
 * eps: the peer's listener endpoints; t_end: the probe's deadline
 * (pf_now() clock).  Returns the "bandwidth" result object of pairtest.h.
 * A stream whose final record has not come by t_end counts what its last
 * record said: as "draining_streams" when that count was still growing in
 * the last PF_BW_STALL_S, as an "error" when it had stopped (a link gone
 * black) or no record came. */
json_t *pf_bw_probe(const json_t *bw, const json_t *eps, double t_end);

#endif

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

/* Receiver side: read fd until EOF (or an error/timeout) and return the byte
 * count.  The caller owns fd and its timeouts. */
uint64_t pf_bw_sink(int fd);

/* Sender side.  bw: {"addr","bytes","seconds","streams"} (all optional);
 * eps: the peer's listener endpoints; t_end: the probe's deadline
 * (pf_now() clock).  Returns the "bandwidth" result object of pairtest.h. */
json_t *pf_bw_probe(const json_t *bw, const json_t *eps, double t_end);

#endif

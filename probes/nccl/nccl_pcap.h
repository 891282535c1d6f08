/* nccl_pcap.h -- which NIC really carried the probe's traffic: libpcap
 * capture of TCP headers on the candidate interfaces while the ranks run.
 *
 * libpcap is dlopen'ed (libpcap.so.1 / libpcap.so.0.8), so a node without it
 * still runs the probe and the attribution says why it is missing.  The
 * capture runs in a forked process of its own (no thread in the parent,
 * which forks the ranks): snaplen 128 (headers only), per interface: wire
 * bytes, packets, TCP payload bytes, retransmissions (a segment that ends at
 * or before the highest sequence already seen on its flow), the kernel's
 * drop count; cross-checked with the interface counters of /proc/net/dev
 * and the TCP RetransSegs counter of /proc/net/snmp over the same interval.
 *
 * Whose traffic.  NCCL's sockets use ephemeral ports, unknown before the
 * run, so the kernel BPF filter starts as "tcp".  The caller names the
 * probe's processes with pf_ncclpcap_watch_pid (the rank processes, forked
 * after the capture started); the pid goes to the capture process over its
 * control pipe.  Every ~100 ms the capture process reads the socket
 * inodes of the links in /proc/PID/fd ("socket:[INODE]") and maps them to
 * local ports through /proc/PID/net/tcp and tcp6 (the rank's own network
 * namespace).  The
 * probe's port set only grows (a port once seen stays: sockets close at the
 * end, their last segments still count); each time it grows the filter
 * becomes "tcp and (port A or port B ...)" (pcap_compile + pcap_setfilter),
 * so the kernel stops copying ssh, Ray, the coordinator's control plane or
 * another job's traffic to us.  Attribution does not trust the filter
 * alone: segments are tallied per flow and, when the capture stops, a flow
 * is the probe's when one of its ports is in the final set; the rest of
 * what the filter let through (before the first port was known, or between
 * a new socket and the next scan) is reported as "other_tcp".  So the first
 * segments of a probe connection that arrive before the scan that finds it
 * still count, when the filter was still broad enough to let them through.
 * Past PF_NCCLPCAP_FILTER_PORTS ports (or when the kernel refuses the
 * program) the filter goes back to plain "tcp" -- correct, only costlier --
 * and the result says so in "filter_note".  A caller that never watches a
 * pid gets the old behaviour: filter "tcp", every TCP segment counted.
 * Limits: a port of the probe reused by unrelated traffic during the same
 * run is counted as the probe's; a probe socket that opens and closes
 * within one scan interval is never seen.
 *
 * Without capture rights (not root, no CAP_NET_RAW) start fails with that
 * reason, and the caller reports a skip; an interface that vanishes during
 * the run is reported with its error and the others go on.
 */
#ifndef PF_NCCL_PCAP_H
#define PF_NCCL_PCAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/util.h"

typedef struct pf_ncclpcap pf_ncclpcap;

/* ifaces: "lo" or "eth0,eth1".  NULL with err when libpcap is missing or no
 * interface could be opened (the first reason). */
pf_ncclpcap *pf_ncclpcap_start(const char *ifaces, pf_err *err);
/* Count the sockets of process pid (and, from then on, only the watched
 * processes' ports) as the probe's.  At most PF_NCCLPCAP_MAX_PIDS pids;
 * call it right after forking each rank.  -1 with err when pid is not
 * positive, the list is full, or the capture process is gone. */
#define PF_NCCLPCAP_MAX_PIDS 64
int pf_ncclpcap_watch_pid(pf_ncclpcap *cap, pid_t pid, pf_err *err);
/* Stop and return {"filter" (the final BPF text), "snaplen", "seconds",
 * "pids", "ports" (the probe's ports, sorted, at most 1024 listed),
 * "ports_total", "filter_updates", "filter_note" (only when the narrowing
 * gave up), "watch_error" (only when a watched process could not be read), "interfaces":{IF:{bytes, packets, payload_bytes,
 * retransmissions, drops, error, other_tcp:{bytes, packets,
 * payload_bytes}}}, "kernel_...", "summary"} or {"error": why}.  Frees cap. */
json_t *pf_ncclpcap_stop(pf_ncclpcap *cap);

/* One captured frame's TCP facts (pure; tests feed it crafted frames).
 * linktype is pcap's DLT_*; returns 0 for a TCP segment over IPv4/IPv6. */
typedef struct pf_ncclpcap_seg {
    unsigned char src[16], dst[16];
    int family; /* 4 or 6 */
    unsigned sport, dport;
    unsigned seq;
    unsigned payload;
} pf_ncclpcap_seg;
int pf_ncclpcap_parse(int linktype, const unsigned char *p, unsigned caplen, pf_ncclpcap_seg *out);


/* One line of /proc/net/tcp or /proc/net/tcp6 (outside input: fixed field
 * layout, hex addresses and ports, decimal inode; len bytes, need not be
 * NUL-terminated).  Returns 0 for a socket entry, -1 for the header line or
 * anything malformed. */
typedef struct pf_ncclpcap_sock {
    int family;               /* 4 (8 hex digits of address) or 6 (32) */
    unsigned lport, rport;
    unsigned state;           /* the kernel's TCP_* state: 1 established, 10 listen */
    unsigned long long inode; /* 0: no socket owns it any more (TIME_WAIT) */
} pf_ncclpcap_sock;
int pf_ncclpcap_tcpline(const char *line, size_t len, pf_ncclpcap_sock *out);

/* The probe's port set: sorted, no duplicates, no port 0.  add returns 1
 * when added, 0 when already there, -1 when port is out of 1..65535 or the
 * set is full (n == cap). */
int pf_ncclpcap_portset_add(unsigned short *set, size_t *n, size_t cap, unsigned port);
/* Does this segment belong to the probe (either port in the sorted set)? */
bool pf_ncclpcap_belongs(const pf_ncclpcap_seg *s, const unsigned short *set, size_t n);

/* The BPF filter for a port set: "tcp" when n == 0, else
 * "tcp and (port A or port B ...)" over the distinct ports in ascending
 * order (ports need be neither sorted nor distinct; 0 and >65535 are
 * ignored).  Returns the number of distinct ports, or -1 (out = "") when
 * there are more than cap of them or out is too small: the caller then keeps
 * a broader filter. */
#define PF_NCCLPCAP_FILTER_PORTS 256
int pf_ncclpcap_filter_text(const unsigned *ports, size_t n, size_t cap, char *out, size_t outsz);

#endif

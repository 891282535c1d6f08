/* nccl_pcap.h -- which NIC really carried the probe's traffic: libpcap
 * capture of TCP headers on the candidate interfaces while the ranks run.
 *
 * libpcap is dlopen'ed (libpcap.so.1 / libpcap.so.0.8), so a node without it
 * still runs the probe and the attribution says why it is missing.  The
 * capture runs in a forked process of its own (no thread in the parent,
 * which forks the ranks): snaplen 128 (headers only), kernel BPF filter
 * "tcp" (NCCL's data sockets use ephemeral ports, unknown before the run),
 * per interface: wire bytes, packets, TCP payload bytes, retransmissions
 * (a segment that ends at or before the highest sequence already seen on
 * its flow), the kernel's drop count; cross-checked with the interface
 * counters of /proc/net/dev and the TCP RetransSegs counter of
 * /proc/net/snmp over the same interval.
 *
 * Without capture rights (not root, no CAP_NET_RAW) start fails with that
 * reason, and the caller reports a skip; an interface that vanishes during
 * the run is reported with its error and the others go on.
 */
#ifndef PF_NCCL_PCAP_H
#define PF_NCCL_PCAP_H

#include <jansson.h>

#include "core/util.h"

typedef struct pf_ncclpcap pf_ncclpcap;

/* ifaces: "lo" or "eth0,eth1".  NULL with err when libpcap is missing or no
 * interface could be opened (the first reason). */
pf_ncclpcap *pf_ncclpcap_start(const char *ifaces, pf_err *err);
/* Stop and return {"filter","snaplen","seconds","interfaces":{IF:{bytes,
 * packets, payload_bytes, retransmissions, drops, error}}, "kernel":{...},
 * "summary"} or {"error": why}.  Frees cap. */
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

#endif

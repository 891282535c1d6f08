/* net_checks.h -- the network node probes (docs/network.md):
 *
 *   net.interfaces   inventory of the kernel's interfaces and RDMA devices
 *   net.nccl_ifname  which interfaces NCCL bootstrap and NET/Socket will use
 *   net.gloo         which address torch's Gloo backend will advertise
 *   net.transport    which NCCL network transport this node will run
 *
 * Each probe collects its own facts (cheap: getifaddrs and sysfs), so any one
 * of them runs alone.  Node facts written for the cluster phase:
 * "interfaces", "rdma", "nccl_socket", "gloo", "nccl_transport".
 */
#ifndef PF_NET_CHECKS_H
#define PF_NET_CHECKS_H

#include "probes/context.h"
#include "probes/net/net_verdict.h"
#include "probes/net/netif.h"
#include "probes/net/rdma.h"

void pf_probe_net_interfaces(pf_probe_ctx *ctx);
void pf_probe_net_nccl_ifname(pf_probe_ctx *ctx);
void pf_probe_net_gloo(pf_probe_ctx *ctx);
void pf_probe_net_transport(pf_probe_ctx *ctx);

/* Pure: judge the inventory.  Findings (codes): no_network, no_hardware_nic,
 * same_subnet, collection_note. */
void pf_net_interfaces_judge(const pf_netif_set *s, const pf_rdma_set *r, pf_net_verdict *vd);

/* The NCCL version whose rules apply here, and where it came from: the
 * libnccl env.fingerprint recorded (facts.fingerprint.libnccl), else the
 * libnccl.so.2 the server would load (pf_libnccl_locate), else the
 * nvidia-nccl-cu* wheel's metadata.  0 and source "unknown" when none says. */
int pf_net_nccl_version(pf_probe_ctx *ctx, char *text, size_t textlen, char *source, size_t srclen);

#endif

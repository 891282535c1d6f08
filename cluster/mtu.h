/* mtu.h -- path MTU between two nodes, measured with DF UDP probes the peer
 * echoes.
 *
 * Why echoes and not the kernel's PMTU cache: an MTU mismatch on one L2
 * segment (9000 on one host, 1500 on the switch port or the peer) drops big
 * frames *silently* -- no ICMP "frag needed" ever comes back, so IP_MTU and
 * EMSGSIZE stay at the local interface's MTU.  Only a probe of the exact
 * size that the peer answers proves the size passes.  The socket uses
 * IP_PMTUDISC_PROBE: DF set, local PMTU cache ignored (a diagnostic mode,
 * ip(7)), so one lost 9000-byte probe does not shrink later probes.
 *
 * Sizes tried (on-the-wire IP packet sizes): each end's configured MTU,
 * 9000, 1500, 1280 -- all at once, the unanswered ones resent once.
 */
#ifndef PF_MTU_H
#define PF_MTU_H

#include <jansson.h>

#define PF_MTU_MAX_SIZES 8

/* ep: one listener endpoint {"addr","udp","ifname","mtu"}.  Waits at most
 * timeout_s.  Returns the "mtu" item of pairtest.h:
 * {"addr","local_ifname","local_mtu","peer_ifname","peer_mtu",
 *  "probes":[{"size":9000,"echoed":false},...],"path_mtu":1500} or with
 *  "error" when no probe could be sent. */
json_t *pf_mtu_probe(const json_t *ep, double timeout_s);

/* The sizes to try, largest first, unique, each in [1280, 65535]; returns
 * how many were written (pure; exposed for tests). */
int pf_mtu_sizes(int local_mtu, int peer_mtu, int sizes[PF_MTU_MAX_SIZES]);

#endif

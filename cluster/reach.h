/* reach.h -- one TCP connect, bounded and classified; the local interface
 * behind an address.
 *
 * Why not a plain blocking connect(): a peer whose firewall DROPs SYNs keeps
 * connect() waiting for the kernel's SYN retries (about 127 s with the default
 * tcp_syn_retries=6).  Here every connect is non-blocking, waited for with
 * poll() up to a deadline, and its outcome is put in one of the classes a
 * user can act on:
 *
 *   ok           the handshake completed (rtt_ms = time to establish)
 *   refused      ECONNREFUSED: a RST came back -- nothing listens on the port,
 *                or a firewall "reject with tcp reset"
 *   filtered     no answer before the deadline: a firewall drops the SYN
 *   unreachable  EHOSTUNREACH / ENETUNREACH: no route, an ICMP unreachable or
 *                admin-prohibited (firewall "reject with icmp ...")
 *   error        anything else (errno kept)
 *
 * Nothing here keeps state between calls; no threads.
 */
#ifndef PF_REACH_H
#define PF_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/util.h"

typedef enum pf_reach_class {
    PF_REACH_OK = 0,
    PF_REACH_REFUSED,
    PF_REACH_FILTERED,
    PF_REACH_UNREACHABLE,
    PF_REACH_ERROR,
} pf_reach_class;

const char *pf_reach_class_name(pf_reach_class c); /* "ok", "refused", ... */

typedef struct pf_reach_result {
    pf_reach_class cls;
    int err;              /* errno behind the class (0 when ok) */
    double rtt_ms;        /* time to establish, when ok */
    char src[64];         /* local address the kernel chose ("" if unknown) */
} pf_reach_result;

/* Parse a numeric IPv4/IPv6 address (no names: nothing is resolved) and a
 * port into *ss.  -1 with a sentence on bad input. */
int pf_reach_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len,
                      pf_err *err);

/* Connect to addr:port, waiting at most timeout_s.  On ok, *fd_out (if not
 * NULL) receives the connected, blocking socket (caller closes); otherwise the
 * socket is closed.  Returns 0 when a class was decided, -1 only for bad
 * input (err says why). */
int pf_reach_connect(const char *addr, int port, double timeout_s, pf_reach_result *r, int *fd_out,
                     pf_err *err);

/* The interface that owns local address `addr` (numeric): its name, MTU and
 * link speed in Mbit/s from /sys (-1 when the driver reports none, as veth
 * and Wi-Fi do).  Returns 0 or -1 when no interface has that address. */
int pf_reach_local_iface(const char *addr, char *name, size_t namelen, int *mtu, int *speed_mbps);

/* The local source address the kernel would use towards addr (UDP connect +
 * getsockname, no packet sent); "" on failure. */
void pf_reach_source_for(const char *addr, char *src, size_t srclen);

#endif

/* gloo.h -- the address torch.distributed's Gloo backend will advertise.
 *
 * PyTorch (c10d init.cpp, ProcessGroupGloo) reads GLOO_SOCKET_IFNAME when it
 * is longer than 1 character, splits it on ',' (std::getline: empty pieces
 * kept, no trimming) and makes one device per exact interface name; gloo's
 * lookupAddrForIface takes that name's first IPv4/IPv6 getifaddrs entry and
 * checks neither UP nor RUNNING ("Unable to find address for: X" when there
 * is none).  Unset, it resolves gethostname() with getaddrinfo(AF_UNSPEC,
 * SOCK_STREAM) and uses the first result it can bind(); nothing bindable
 * means the 127.0.0.1 fallback.  A loopback result (Debian's "127.0.1.1
 * <hostname>" /etc/hosts line) is advertised to peers, which then connect to
 * their own loopback: "Connection refused ... remote=[127.0.x.x]".
 * TP_SOCKET_IFNAME (TensorPipe, torch.distributed.rpc only) is one exact name.
 *
 * pf_gloo_collect is the collector (live system); pf_gloo_decide is pure.
 */
#ifndef PF_GLOO_H
#define PF_GLOO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "probes/net/net_verdict.h"
#include "probes/net/netif.h"

#define PF_GLOO_MAX_RESULTS 16
#define PF_GLOO_MAX_DEVICES 16

typedef struct pf_gloo_result {
    pf_netif_addr addr;
    bool bindable;
    int bind_errno;            /* 0 when bindable */
} pf_gloo_result;

typedef struct pf_gloo_facts {
    char hostname[256];
    int hostname_errno;        /* gethostname failure, 0 ok */
    int gai_rc;                /* getaddrinfo return, 0 ok */
    bool gai_timed_out;        /* the resolver did not answer within the deadline */
    char gai_error[128];
    pf_gloo_result res[PF_GLOO_MAX_RESULTS];
    size_t nres;
    char hosts_path[256];
    pf_strv hosts_lines;       /* lines of the hosts file naming the hostname */
} pf_gloo_facts;

/* Resolve this host's name the way Gloo does (within timeout_s) and try
 * bind() on each result (port 0, closed at once).  hosts_path (NULL:
 * /etc/hosts) is only read for evidence. */
void pf_gloo_collect(const char *hosts_path, double timeout_s, pf_gloo_facts *f);
void pf_gloo_facts_free(pf_gloo_facts *f);

typedef struct pf_gloo_in {
    const char *gloo_ifname;   /* GLOO_SOCKET_IFNAME, NULL when unset */
    const char *tp_ifname;     /* TP_SOCKET_IFNAME, NULL when unset */
    const pf_gloo_facts *host; /* needed when GLOO_SOCKET_IFNAME is not used */
    const pf_netif_set *ifs;
} pf_gloo_in;

typedef struct pf_gloo_device {
    char iface[PF_NETIF_NAME_MAX]; /* "" when chosen by hostname and no interface holds the address */
    bool found;
    pf_netif_addr addr;
} pf_gloo_device;

typedef struct pf_gloo_out {
    bool by_ifname;            /* GLOO_SOCKET_IFNAME decided */
    pf_gloo_device dev[PF_GLOO_MAX_DEVICES];
    size_t ndev;
    bool loopback_fallback;    /* hostname unusable: torch binds 127.0.0.1 */
} pf_gloo_out;

/* Findings (codes): short_value, empty_entry, nccl_syntax, whitespace,
 * missing, no_address, not_running, link_local, ipv6, loopback, virtual,
 * shared_address, hostname_error, unresolvable, unbindable, hostname_loopback,
 * tp_missing, tp_no_address. */
void pf_gloo_decide(const pf_gloo_in *in, pf_gloo_out *out, pf_net_verdict *vd);

json_t *pf_gloo_facts_to_json(const pf_gloo_facts *f);
json_t *pf_gloo_out_to_json(const pf_gloo_out *o);

#endif

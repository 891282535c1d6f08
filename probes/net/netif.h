/* netif.h -- the network interface inventory, as the kernel reports it.
 *
 * Collecting only: getifaddrs() for names, flags and addresses (kept in the
 * exact order the kernel returned them, because NCCL's and Gloo's interface
 * selection depends on that order), plus /sys/class/net/<if>/ for state,
 * carrier, speed, MTU, driver and the markers that tell a bridge, a veth or a
 * wireless NIC apart.  The sysfs root is a parameter so tests can point it at
 * a fake tree.  An interface that vanishes mid-scan or a sysfs file that
 * cannot be read leaves that field unknown and adds a note; it never aborts
 * the scan.
 */
#ifndef PF_NETIF_H
#define PF_NETIF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PF_NETIF_NAME_MAX 16   /* IFNAMSIZ, including the NUL */
#define PF_NETIF_MAX_ADDRS 32  /* per interface; more are counted, not kept */
#define PF_NETIF_IP_MAX 64     /* numeric address text (no scope suffix) */

/* Flag bits we keep (values of <net/if.h>, restated so pure code and tests
 * need no system header). */
#define PF_IFF_UP       0x1
#define PF_IFF_LOOPBACK 0x8
#define PF_IFF_RUNNING  0x40

typedef struct pf_netif_addr {
    int family;                  /* 4 or 6 (not AF_*: keeps tests portable) */
    char ip[PF_NETIF_IP_MAX];    /* "10.0.0.5", "fe80::1" */
    uint8_t bytes[16];           /* network order; first 4 used for IPv4 */
    uint8_t mask[16];            /* netmask bytes, zero when unknown */
    int prefix_len;              /* -1 when unknown */
    uint32_t scope_id;           /* IPv6 only; the ifindex for link-local */
    bool link_local;             /* 169.254.0.0/16 or fe80::/10 */
    bool loopback;               /* 127.0.0.0/8 or ::1 */
} pf_netif_addr;

/* One getifaddrs() entry that carries an IPv4 or IPv6 address. */
typedef struct pf_ifaddr_entry {
    char name[PF_NETIF_NAME_MAX];
    unsigned flags;              /* PF_IFF_* bits of the interface */
    pf_netif_addr addr;
} pf_ifaddr_entry;

typedef struct pf_netif {
    char name[PF_NETIF_NAME_MAX];
    int ifindex;                 /* 0 when unknown */
    unsigned flags;              /* PF_IFF_* */
    char operstate[16];          /* "up", "down", "dormant", "unknown"; "" unreadable */
    int carrier;                 /* 1, 0, or -1 unreadable (the kernel refuses it while down) */
    long speed_mbps;             /* -1 unknown (virtual NICs report -1 or nothing) */
    int mtu;                     /* -1 unknown */
    int arphrd;                  /* /sys type: 1 ether, 32 infiniband, 772 loopback; -1 */
    char driver[64];             /* device/driver link, else the ethtool driver; "" */
    char devtype[32];            /* uevent DEVTYPE (bridge, wlan, vlan, bond, wireguard) */
    char mac[24];                /* address file, "" unknown */
    bool has_device;             /* /sys/class/net/<if>/device exists: backed by hardware */
    bool sys_wireless;           /* wireless/ or phy80211 present */
    bool sys_bridge;             /* bridge/ present */
    bool sys_bond;               /* bonding/ present */
    bool sys_tun;                /* tun_flags present (tun/tap, tailscale) */
    char rdma_dev[64];           /* RDMA device whose device/net lists this netdev, "" none */
    const char *kind;            /* static string, see pf_netif_classify */
    bool is_virtual;
    pf_netif_addr addrs[PF_NETIF_MAX_ADDRS];
    size_t naddrs;
    size_t addrs_dropped;
} pf_netif;

typedef struct pf_netif_set {
    pf_netif *ifs;
    size_t n;
    pf_ifaddr_entry *entries;    /* address entries in getifaddrs order */
    size_t nentries;
    pf_strv notes;               /* non-fatal collection problems, one sentence each */
} pf_netif_set;

/* Everything: getifaddrs() (live), then sysfs under sysfs_root ("/sys" when
 * NULL), then the RDMA mapping from <sysfs_root>/class/infiniband.  The
 * ethtool fallback for the driver name runs only for the live "/sys".
 * Returns -1 only when getifaddrs itself fails. */
int pf_netif_collect(const char *sysfs_root, pf_netif_set *out, pf_err *err);
void pf_netif_set_free(pf_netif_set *s);

/* Pieces of the collector, for tests on fake trees. */
pf_netif *pf_netif_set_add(pf_netif_set *s, const char *name); /* find or append */
void pf_netif_read_sysfs(const char *sysfs_root, pf_netif *nif, pf_strv *notes);
void pf_netif_map_rdma(const char *sysfs_root, pf_netif_set *s, pf_strv *notes);
/* Add an address entry (to the ordered list and to its interface). */
void pf_netif_set_add_addr(pf_netif_set *s, const char *name, unsigned flags,
                           const pf_netif_addr *a);

/* Pure: fill kind/is_virtual from name, driver, devtype, arphrd and the sysfs
 * markers.  Kinds: "loopback", "physical", "ipoib", "wireless", "docker",
 * "bridge", "virbr", "l4tbr", "veth", "tailscale", "wireguard", "tun",
 * "vlan", "bond", "macvlan", "virtual" (any other software device). */
void pf_netif_classify(pf_netif *nif);

/* Pure: parse a numeric IPv4/IPv6 address (no scope) into a; family 4/6.
 * Returns 0, or -1 when it is not an address. */
int pf_netif_addr_parse(const char *text, pf_netif_addr *a);
/* Pure: same subnet under a's mask (NCCL's matchSubnet; scope ids must match for v6). */
bool pf_netif_addr_same_subnet(const pf_netif_addr *local, const pf_netif_addr *remote);

const pf_netif *pf_netif_find(const pf_netif_set *s, const char *name);
/* The first IPv4 address of an interface that is not link-local; NULL none. */
const pf_netif_addr *pf_netif_ipv4(const pf_netif *nif);
bool pf_netif_has_routable(const pf_netif *nif);   /* any non-link-local, non-loopback address */
bool pf_netif_link_local_only(const pf_netif *nif); /* has addresses, all link-local */

/* getaddrinfo(host, NULL, AF_UNSPEC, SOCK_STREAM) with a deadline
 * (getaddrinfo_a): a resolver that hangs costs at most timeout_s.  Returns
 * the getaddrinfo code (0 ok) and fills *res; on timeout returns EAI_AGAIN
 * with *timed_out set (the request is abandoned, not waited for). */
struct addrinfo;
int pf_netif_resolve(const char *host, double timeout_s, struct addrinfo **res, bool *timed_out);

json_t *pf_netif_addr_to_json(const pf_netif_addr *a);
json_t *pf_netif_to_json(const pf_netif *nif);
json_t *pf_netif_set_to_json(const pf_netif_set *s); /* array of interfaces */

#endif

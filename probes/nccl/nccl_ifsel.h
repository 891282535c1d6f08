/* nccl_ifsel.h -- which interfaces NCCL will use, decided from facts alone.
 *
 * A re-statement (not a copy) of NCCL's ncclFindInterfaces /
 * findInterfaces / parseStringList / matchIfList (src/misc/socket.cc and
 * src/misc/utils.cc; src/os/linux.cc from 2.29) and of bootstrapNetInit
 * (src/bootstrap.cc), applied to a getifaddrs() snapshot:
 *
 *  - NCCL_SOCKET_IFNAME is used only when longer than 1 character.  A
 *    leading '^' excludes, then a leading '=' makes names exact; "=^x" is an
 *    exact match of the literal "^x".  Entries are split on ',' with no
 *    trimming, ":port" is cut off and ignored, at most 16 entries are read,
 *    matching is case-sensitive strncmp on the entry's length (exact: on
 *    the name's length + 1).  An empty list matches everything.
 *  - Unset: "ib" prefix, then (NCCL_COMM_ID set) the first address in the
 *    same subnet as the COMM_ID host, then "^docker,lo" (2.28+:
 *    "^docker,lo,virbr"), then "docker", then "lo" (2.28+: then "virbr").
 *  - Per getifaddrs entry, in order: IPv4/IPv6 only; 2.28+ skips interfaces
 *    without IFF_RUNNING; NCCL_SOCKET_FAMILY (exactly "AF_INET"/"AF_INET6",
 *    anything else ignored) filters the family; ::1 is skipped (127.x only
 *    by the name "lo"); the first address per name is kept.
 *  - Bootstrap takes the first interface (maxIfs 1) -- or, with
 *    NCCL_COMM_ID set, the first address in COMM_ID's subnet, ignoring
 *    NCCL_SOCKET_IFNAME, the family and IFF_RUNNING.  NET/Socket takes up to
 *    16 (MAX_IFS).
 *
 * nccl_version is NCCL_VERSION_CODE style (2.28.9 -> 22809); 0 means
 * unknown and applies the newest rules (out->assumed_newest says so).
 */
#ifndef PF_NCCL_IFSEL_H
#define PF_NCCL_IFSEL_H

#include <stdbool.h>
#include <stddef.h>

#include "probes/net/net_verdict.h"
#include "probes/net/netif.h"

#define PF_NCCL_MAX_IFS 16
#define PF_NCCL_PREFIX_MAX 64
#define PF_NCCL_MAX_SKIPS 64
#define PF_NCCL_V228 22800     /* IFF_RUNNING skip, virbr in the default order */

typedef struct pf_nccl_iflist {
    bool search_not;           /* leading '^' */
    bool search_exact;         /* '=' (after an optional '^') */
    char prefix[PF_NCCL_MAX_IFS][PF_NCCL_PREFIX_MAX];
    int port[PF_NCCL_MAX_IFS]; /* -1 when no ":port" */
    size_t n;
    bool truncated;            /* more than 16 entries: NCCL reads the first 16 */
    bool entry_too_long;       /* an entry of 64+ bytes: NCCL overruns its buffer; cut here */
} pf_nccl_iflist;

/* Parse a full spec ("^=docker0,lo") like findInterfaces does. */
void pf_nccl_iflist_parse(const char *spec, pf_nccl_iflist *out);
/* matchIfList(name, port) XOR search_not: true when NCCL keeps the name. */
bool pf_nccl_iflist_keeps(const pf_nccl_iflist *l, const char *name, int port);
/* matchIfList alone: does any entry match? */
bool pf_nccl_iflist_matches(const pf_nccl_iflist *l, const char *name, int port);

/* "2.28.9", "2.28.9-1", "2.28.9+cuda12.9", "22809" -> 22809; 0 when unparsable. */
int pf_nccl_version_parse(const char *s);

/* Host part of NCCL_COMM_ID ("10.0.0.1:29500", "host:port", "[fe80::1%eth0]:1").
 * Returns 0 and fills host, *port, scope_if ("" when none); -1 when NCCL
 * would reject it ("Invalid NCCL_COMM_ID"). */
int pf_nccl_comm_id_parse(const char *comm_id, char *host, size_t hostlen, int *port,
                          char *scope_if, size_t scopelen);

typedef struct pf_nccl_ifsel_in {
    const char *socket_ifname; /* effective NCCL_SOCKET_IFNAME, NULL when unset */
    const char *socket_family; /* NCCL_SOCKET_FAMILY */
    const char *comm_id;       /* NCCL_COMM_ID */
    const pf_netif_addr *comm_id_addr; /* its host resolved; NULL when unset or unresolvable */
    int nccl_version;          /* 0 = unknown (newest rules) */
    const pf_ifaddr_entry *entries;
    size_t nentries;
} pf_nccl_ifsel_in;

typedef struct pf_nccl_pick {
    char name[PF_NETIF_NAME_MAX];
    pf_netif_addr addr;
} pf_nccl_pick;

typedef struct pf_nccl_skip {
    char name[PF_NETIF_NAME_MAX];
    char ip[PF_NETIF_IP_MAX];
    const char *reason;        /* static text */
} pf_nccl_skip;

typedef struct pf_nccl_ifsel_out {
    int rules_version;         /* the version whose rules were applied */
    bool assumed_newest;       /* nccl_version was 0 */
    bool ifname_used;          /* NCCL_SOCKET_IFNAME set and longer than 1 */
    bool ifname_too_short;     /* set but ignored (length <= 1) */
    pf_nccl_iflist list;       /* the user list, when used */
    int family;                /* 0 not forced, 4 or 6 */
    bool family_invalid;       /* set to something NCCL ignores */
    char stage[80];            /* the spec that produced the result ("" none) */
    pf_nccl_pick socket[PF_NCCL_MAX_IFS];
    size_t nsocket;
    bool has_bootstrap;
    pf_nccl_pick bootstrap;
    bool bootstrap_by_comm_id; /* chosen by NCCL_COMM_ID subnet */
    bool comm_id_invalid;      /* set but not parseable/resolvable: NCCL fails */
    pf_nccl_skip skips[PF_NCCL_MAX_SKIPS]; /* why entries of the deciding stage were passed over */
    size_t nskips;
} pf_nccl_ifsel_out;

void pf_nccl_ifsel(const pf_nccl_ifsel_in *in, pf_nccl_ifsel_out *out);

/* Judge a selection against the interface inventory (kinds, states).  Adds
 * findings (codes: no_interface, comm_id_invalid, short_value, bad_family,
 * whitespace, literal_caret, literal_equals, port_ignored, truncated, matched_unusable,
 * long_entry, case_mismatch, unmatched_entry, not_running, virtual,
 * wireless, loopback, link_local, ipv6, shared_address, multiple,
 * exclusion_list, automatic, comm_id_bootstrap, bootstrap_not_in_list) and remedies. */
void pf_nccl_ifsel_judge(const pf_nccl_ifsel_in *in, const pf_nccl_ifsel_out *out,
                         const pf_netif_set *ifs, pf_net_verdict *vd);

/* The interface to recommend for NCCL_SOCKET_IFNAME==<name>: running,
 * hardware (physical/vlan/bond/ipoib), with a non-link-local IPv4; NULL if
 * none qualifies. */
const pf_netif *pf_nccl_suggest_iface(const pf_netif_set *ifs);

#endif

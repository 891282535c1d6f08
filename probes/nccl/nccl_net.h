/* nccl_net.h -- which network transport NCCL will pick on this node, decided
 * from facts alone.
 *
 * NCCL (src/plugin/net.cc ncclNetInit, 2.28) tries, in order: the external
 * plugins (NCCL_NET_PLUGIN's list, or "libnccl-net.so" when unset; none for
 * "none"), then internal "IB", then internal "Socket"; the first that loads,
 * initialises with at least one device and whose name equals NCCL_NET
 * (strcasecmp; any name when NCCL_NET is unset) wins, else "Failed to
 * initialize any NET plugin".  Internal IB fails init when NCCL_IB_DISABLE
 * parses (strtoll base 0) to non-zero, when libibverbs cannot be loaded, when
 * no IP interface is found, and has no device unless a port is ACTIVE with
 * link layer InfiniBand/Ethernet and passes NCCL_IB_HCA.  An external
 * plugin reads its own variables: the HPC-X nccl-rdma-sharp plugin checks
 * NCCL_IBEXT_DISABLE, not NCCL_IB_DISABLE.
 *
 * Why it matters: every NCCL TCP connection starts with a type word;
 * NET/Socket sends 3 and NET/IB listens for 4, so a Socket node talking to
 * an IB node fails with "socketFinalizeAccept: wrong type 3 != 4" (2.30.7+:
 * discards the connection and hangs).  The prediction is a node fact the
 * cluster phase compares across nodes.
 */
#ifndef PF_NCCL_NET_H
#define PF_NCCL_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "probes/net/net_verdict.h"
#include "probes/net/rdma.h"

#define PF_NCCL_NET_MAX_EXT 8

/* One external plugin NCCL would try, as the collector resolved it. */
typedef struct pf_nccl_ext_plugin {
    const char *requested;     /* the dlopen name NCCL uses ("libnccl-net.so", "ofi") */
    const char *path;          /* where the loader finds it; NULL: not found */
    const char *name;          /* exported ncclNet name; NULL unknown */
    const char *load_error;    /* NULL when it loaded */
} pf_nccl_ext_plugin;

typedef struct pf_nccl_net_in {
    const char *net;           /* NCCL_NET */
    const char *net_plugin;    /* NCCL_NET_PLUGIN */
    const char *ib_disable;    /* NCCL_IB_DISABLE */
    const char *ibext_disable; /* NCCL_IBEXT_DISABLE */
    const char *ib_hca;        /* NCCL_IB_HCA */
    const char *p2p_disable;   /* NCCL_P2P_DISABLE */
    const char *shm_disable;   /* NCCL_SHM_DISABLE */
    const char *proto;         /* NCCL_PROTO */
    const pf_rdma_set *rdma;
    bool ibverbs_found;
    bool socket_has_interface; /* the interface selection found at least one */
    pf_nccl_ext_plugin ext[PF_NCCL_NET_MAX_EXT];
    size_t next;
} pf_nccl_net_in;

typedef struct pf_nccl_net_out {
    char transport[128];       /* "Socket", "IB", an external plugin's name, or "none" */
    int socket_type;           /* NCCL's socket type word: 3 Socket, 4 IB, 0 external/none */
    bool external;
    bool uncertain;            /* depends on an external plugin's own init */
    char ext_path[512];
    bool ib_disabled;
    size_t ib_ports;           /* usable ports after NCCL_IB_HCA */
    size_t rdma_ports;         /* usable ports before NCCL_IB_HCA */
} pf_nccl_net_out;

/* strtoll(s, NULL, 0) the way ncclLoadParam does; *ok=false when NCCL would
 * fall back to the default (errno) or when the text is not a number at all
 * (NCCL then silently reads 0). */
long long pf_nccl_param_int(const char *s, long long dflt, bool *ok);

/* What NCCL dlopen()s for NCCL_NET_PLUGIN (NULL = unset): one request per
 * list entry, each with the one or two names tried in order.  Returns the
 * count; 0 for "none". */
typedef struct pf_nccl_plugin_req {
    char token[256];
    char names[2][256];
    int nnames;
} pf_nccl_plugin_req;
size_t pf_nccl_plugin_requests(const char *net_plugin, pf_nccl_plugin_req *out, size_t max);

/* Findings (codes): net_invalid, no_socket_interface, ib_selected,
 * external_plugin, ib_disable_ignored_by_plugin, ib_disable_value,
 * ib_hca_nomatch, rdma_inactive, plugin_missing, plugin_load_error,
 * no_ibverbs, proto_value, p2p_value, shm_value, intra_node. */
void pf_nccl_net_decide(const pf_nccl_net_in *in, pf_nccl_net_out *out, pf_net_verdict *vd);

/* The node fact: {"transport","socket_type","external","uncertain",...}. */
json_t *pf_nccl_net_fact(const pf_nccl_net_in *in, const pf_nccl_net_out *out);

#endif

/* rdma.h -- RDMA (InfiniBand / RoCE) devices as sysfs shows them.
 *
 * Collecting only, from <sysfs_root>/class/infiniband/<dev>/: node type,
 * each port's state, physical state, link layer and rate, and the network
 * interfaces the device belongs to (the entries of device/net, or `parent` for soft RoCE).
 * This is what libibverbs enumerates; NCCL's internal IB transport keeps a
 * port when it is ACTIVE with link layer InfiniBand or Ethernet (RoCE).
 */
#ifndef PF_RDMA_H
#define PF_RDMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PF_RDMA_MAX_PORTS 16

typedef struct pf_rdma_port {
    int num;
    int state_code;             /* 4 = ACTIVE; -1 unreadable */
    char state[32];             /* "ACTIVE", "DOWN", "INIT" ... */
    char phys_state[32];        /* "LinkUp", "Disabled" ... */
    char link_layer[16];        /* "InfiniBand", "Ethernet"; "" unreadable */
    char rate[64];              /* "200 Gb/sec (4X HDR)" */
} pf_rdma_port;

typedef struct pf_rdma_dev {
    char name[64];              /* rocep1s0f1, mlx5_0, rxe0 */
    char node_type[32];         /* "1: CA" */
    char driver[64];            /* device/driver link basename */
    pf_strv netdevs;            /* network interfaces of this device */
    pf_rdma_port ports[PF_RDMA_MAX_PORTS];
    size_t nports;
} pf_rdma_dev;

typedef struct pf_rdma_set {
    bool class_present;         /* <root>/class/infiniband exists */
    pf_rdma_dev *v;
    size_t n;
    pf_strv notes;              /* unreadable entries, one sentence each */
} pf_rdma_set;

/* Scan <sysfs_root>/class/infiniband ("/sys" when NULL).  A missing class
 * directory is not an error (no RDMA stack loaded): class_present=false. */
void pf_rdma_scan(const char *sysfs_root, pf_rdma_set *out);
void pf_rdma_set_free(pf_rdma_set *s);

/* Pure helpers. */
bool pf_rdma_port_usable(const pf_rdma_port *p);   /* ACTIVE and IB/Ethernet link layer */
size_t pf_rdma_usable_ports(const pf_rdma_set *s);

json_t *pf_rdma_to_json(const pf_rdma_set *s);

#endif

/* rdma.c -- see rdma.h. */
#include "probes/net/rdma.h"
#include "probes/net/net_verdict.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char *sys_path(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sys_path(const char *root, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *rel = pf_xvasprintf(fmt, ap);
    va_end(ap);
    char *p = pf_path_join(root, rel);
    free(rel);
    return p;
}

/* Basename of a symlink target ("../../../../bus/pci/drivers/mlx5_core"). */
static void link_basename(const char *path, char *out, size_t len)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *slash = strrchr(buf, '/');
    pf_strlcpy(out, slash ? slash + 1 : buf, len);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a directory (skipping dot entries); false if unreadable. */
static bool list_dir(const char *path, pf_strv *out)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        pf_strv_push(out, e->d_name);
    }
    closedir(d);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return true;
}

static void read_port(const char *root, const char *dev, const char *portname,
                      pf_rdma_port *p, pf_strv *notes)
{
    memset(p, 0, sizeof *p);
    p->num = atoi(portname);
    p->state_code = -1;
    char *path = sys_path(root, "class/infiniband/%s/ports/%s/state", dev, portname);
    char *line = pf_read_line(path);
    if (line) {
        /* "4: ACTIVE" */
        char *colon = strchr(line, ':');
        p->state_code = atoi(line);
        pf_strlcpy(p->state, colon ? pf_str_trim(colon + 1) : line, sizeof p->state);
        free(line);
    } else {
        pf_strv_push_owned(notes, pf_xasprintf("could not read %s", path));
    }
    free(path);

    path = sys_path(root, "class/infiniband/%s/ports/%s/phys_state", dev, portname);
    line = pf_read_line(path);
    if (line) {
        char *colon = strchr(line, ':');
        pf_strlcpy(p->phys_state, colon ? pf_str_trim(colon + 1) : line, sizeof p->phys_state);
        free(line);
    }
    free(path);

    path = sys_path(root, "class/infiniband/%s/ports/%s/link_layer", dev, portname);
    line = pf_read_line(path);
    if (line) {
        pf_strlcpy(p->link_layer, line, sizeof p->link_layer);
        free(line);
    } else {
        pf_strv_push_owned(notes, pf_xasprintf("could not read %s", path));
    }
    free(path);

    path = sys_path(root, "class/infiniband/%s/ports/%s/rate", dev, portname);
    line = pf_read_line(path);
    if (line) {
        pf_strlcpy(p->rate, line, sizeof p->rate);
        free(line);
    }
    free(path);
}

static void read_dev(const char *root, const char *name, pf_rdma_dev *d, pf_strv *notes)
{
    memset(d, 0, sizeof *d);
    pf_strlcpy(d->name, name, sizeof d->name);

    char *path = sys_path(root, "class/infiniband/%s/node_type", name);
    char *line = pf_read_line(path);
    if (line) {
        pf_strlcpy(d->node_type, line, sizeof d->node_type);
        free(line);
    }
    free(path);

    path = sys_path(root, "class/infiniband/%s/device/driver", name);
    link_basename(path, d->driver, sizeof d->driver);
    free(path);

    /* Hardware RoCE/IB: the PCI function's net/ directory names its netdevs.
     * Soft RoCE (rxe) and siw have no such directory but a `parent` file. */
    path = sys_path(root, "class/infiniband/%s/device/net", name);
    pf_strv nets = {0};
    if (list_dir(path, &nets)) {
        for (size_t i = 0; i < nets.n; i++)
            pf_strv_push(&d->netdevs, nets.v[i]);
    }
    pf_strv_free(&nets);
    free(path);
    if (d->netdevs.n == 0) {
        path = sys_path(root, "class/infiniband/%s/parent", name);
        line = pf_read_line(path);
        if (line && *line)
            pf_strv_push(&d->netdevs, line);
        free(line);
        free(path);
    }

    path = sys_path(root, "class/infiniband/%s/ports", name);
    pf_strv ports = {0};
    if (!list_dir(path, &ports)) {
        pf_strv_push_owned(notes, pf_xasprintf("could not list %s: %s", path, strerror(errno)));
    } else {
        for (size_t i = 0; i < ports.n && d->nports < PF_RDMA_MAX_PORTS; i++)
            read_port(root, name, ports.v[i], &d->ports[d->nports++], notes);
        if (ports.n > PF_RDMA_MAX_PORTS)
            pf_strv_push_owned(notes, pf_xasprintf("%s has %zu ports; only the first %d are kept",
                                                   name, ports.n, PF_RDMA_MAX_PORTS));
    }
    pf_strv_free(&ports);
    free(path);
}

void pf_rdma_scan(const char *sysfs_root, pf_rdma_set *out)
{
    memset(out, 0, sizeof *out);
    const char *root = sysfs_root ? sysfs_root : "/sys";
    char *path = pf_path_join(root, "class/infiniband");
    pf_strv devs = {0};
    if (!list_dir(path, &devs)) {
        if (errno != ENOENT)
            pf_strv_push_owned(&out->notes, pf_xasprintf("could not list %s: %s", path, strerror(errno)));
        free(path);
        return;
    }
    out->class_present = true;
    out->v = pf_xcalloc(devs.n ? devs.n : 1, sizeof *out->v);
    for (size_t i = 0; i < devs.n; i++)
        read_dev(root, devs.v[i], &out->v[out->n++], &out->notes);
    pf_strv_free(&devs);
    free(path);
}

void pf_rdma_set_free(pf_rdma_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        pf_strv_free(&s->v[i].netdevs);
    free(s->v);
    pf_strv_free(&s->notes);
    memset(s, 0, sizeof *s);
}

bool pf_rdma_port_usable(const pf_rdma_port *p)
{
    /* net_ib.cc: IBV_PORT_ACTIVE (4) and link layer InfiniBand or Ethernet. */
    bool active = p->state_code == 4 || strcasecmp(p->state, "ACTIVE") == 0;
    bool ll = strcasecmp(p->link_layer, "InfiniBand") == 0 || strcasecmp(p->link_layer, "Ethernet") == 0;
    return active && ll;
}

size_t pf_rdma_usable_ports(const pf_rdma_set *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->v[i].nports; j++)
            n += pf_rdma_port_usable(&s->v[i].ports[j]);
    return n;
}

json_t *pf_rdma_to_json(const pf_rdma_set *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const pf_rdma_dev *d = &s->v[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", pf_net_jstr(d->name));
        json_object_set_new(o, "node_type", pf_net_jstr(d->node_type));
        json_object_set_new(o, "driver", pf_net_jstr(d->driver));
        json_t *nets = json_array();
        for (size_t k = 0; k < d->netdevs.n; k++)
            json_array_append_new(nets, pf_net_jstr(d->netdevs.v[k]));
        json_object_set_new(o, "netdevs", nets);
        json_t *ports = json_array();
        for (size_t j = 0; j < d->nports; j++) {
            const pf_rdma_port *p = &d->ports[j];
            json_t *po = json_object();
            json_object_set_new(po, "port", json_integer(p->num));
            json_object_set_new(po, "state", pf_net_jstr(p->state));
            json_object_set_new(po, "phys_state", pf_net_jstr(p->phys_state));
            json_object_set_new(po, "link_layer", pf_net_jstr(p->link_layer));
            json_object_set_new(po, "rate", pf_net_jstr(p->rate));
            json_object_set_new(po, "usable_by_nccl_ib", json_boolean(pf_rdma_port_usable(p)));
            json_array_append_new(ports, po);
        }
        json_object_set_new(o, "ports", ports);
        json_array_append_new(arr, o);
    }
    return arr;
}

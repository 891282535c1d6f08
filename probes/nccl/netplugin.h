/* netplugin.h -- find the NCCL network plugins and libibverbs the dynamic
 * loader would hand to NCCL on this node.
 *
 * NCCL (src/plugin/plugin_open.cc, 2.28) dlopen()s, for NCCL_NET_PLUGIN
 * unset, "libnccl-net.so"; for NCCL_NET_PLUGIN=X (a comma list from 2.28;
 * "none" = no external plugin) first "X" and then, unless X is a path or
 * already "lib*.so", "libnccl-net-X.so".  Its internal IB transport needs
 * dlopen("libibverbs.so") or "libibverbs.so.1".  This module emulates the
 * loader's search (LD_LIBRARY_PATH, the ld.so cache via `ldconfig -p`, the
 * default directories) -- it cannot see libnccl's own RUNPATH -- and lists
 * every libnccl-net*.so it finds in those places and under /opt/hpcx.  A
 * plugin's exported name is read by dlopen()ing it in a forked child with a
 * deadline, so a crashing or hanging plugin cannot take preflight down.
 */
#ifndef PF_NETPLUGIN_H
#define PF_NETPLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

typedef struct pf_netplugin_lib {
    char *path;
    char *where;               /* "LD_LIBRARY_PATH", "ld.so cache", "default dir", "/opt/hpcx" */
    bool on_loader_path;       /* a bare dlopen() name could reach it */
    char *name;                /* the ncclNet name it exports (NULL unknown) */
    char *symbol;              /* "ncclNetPlugin_v10" ... */
    char *load_error;          /* dlopen/dlsym failure text, NULL when loaded */
} pf_netplugin_lib;

typedef struct pf_netplugin_facts {
    pf_strv search_dirs;       /* loader directories in search order */
    pf_strv cache_names;       /* "name=>path" entries from `ldconfig -p` that matter here */
    bool cache_read;           /* ldconfig -p ran */
    pf_netplugin_lib *libs;    /* every libnccl-net*.so found */
    size_t nlibs;
    char *libibverbs;          /* resolved path, NULL when the loader would not find it */
    pf_strv notes;
} pf_netplugin_facts;

typedef struct pf_netplugin_opts {
    const char *ld_library_path;   /* NULL: none */
    const char *ldconfig;          /* path of ldconfig; NULL: search /sbin, /usr/sbin, PATH; "" skip */
    const char *const *extra_dirs; /* scanned for plugins but not on the loader path (NULL: /opt/hpcx dirs) */
    const char *const *default_dirs; /* NULL: the platform defaults */
    double timeout_s;              /* per external step (ldconfig, plugin load); <= 0: 5 s */
    bool read_names;               /* dlopen found plugins in a child to read their names */
} pf_netplugin_opts;

void pf_netplugin_collect(const pf_netplugin_opts *o, pf_netplugin_facts *f);
void pf_netplugin_facts_free(pf_netplugin_facts *f);

/* Where would dlopen(name) land?  A name with '/' is taken as a path.  Heap
 * path or NULL. */
char *pf_netplugin_resolve(const pf_netplugin_facts *f, const char *name);
/* The plugin entry for a path (NULL when not listed). */
const pf_netplugin_lib *pf_netplugin_find(const pf_netplugin_facts *f, const char *path);
/* Read the exported name of the plugin at path (in a child process). */
int pf_netplugin_read_name(const char *path, double timeout_s, char **name, char **symbol, pf_err *err);

json_t *pf_netplugin_to_json(const pf_netplugin_facts *f);

#endif

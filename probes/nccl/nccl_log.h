/* nccl_log.h -- what NCCL said, made readable: a parser for the per-rank
 * NCCL_DEBUG=INFO file (NCCL_DEBUG_SUBSYS=INIT,BOOTSTRAP,ENV,NET).
 *
 * Grammar (NCCL debug.cc, 2.18-2.30):
 *   INFO  "host:pid:tid [dev] NCCL INFO <msg>"
 *   WARN  "[YYYY-MM-DD HH:MM:SS] host:pid:tid [dev] file.cc:line NCCL WARN <msg>"
 *         (timestamp 2.26+; a blank line before it)
 *   bare  "NCCL version 2.28.9+cuda13.0" (VERSION level, or stdout <= 2.21)
 * Messages read (format strings from NCCL's sources; docs/nccl.md lists
 * them with versions): the version banner; "Bootstrap : Using if:addr" (and
 * "Bootstrap: Using" 2.24+); "NET/Socket : Using [0]if:addr ..."; "NET/Socket:
 * Using N threads and M sockets per thread"; "Using network X"; "NET/IB : No
 * device found." / "NET/IB : Using ..."; the net plugin lines of <= 2.25 and
 * 2.27+; "comm ... rank R nRanks N nNodes M ..."; "Channel CC/x : a[d] -> b[d]
 * [send|receive] via TRANSPORT"; "Connected all rings"; "Init COMPLETE";
 * "NAME set by environment to VALUE".  Lines are cut at 1023 bytes by NCCL;
 * longer input lines are truncated here too.  Anything unrecognised is
 * ignored, except WARN lines, which are all kept verbatim (up to 16).
 *
 * Pure: text in, facts out; the caller reads the file.
 */
#ifndef PF_NCCL_LOG_H
#define PF_NCCL_LOG_H

#include <jansson.h>
#include <stdbool.h>

#define PF_NCCLLOG_MAX_IFS 16
#define PF_NCCLLOG_MAX_CHANNELS 256
#define PF_NCCLLOG_MAX_WARNS 16
#define PF_NCCLLOG_MAX_ENV 32
#define PF_NCCLLOG_MAX_TRANSPORTS 8

typedef struct pf_nccllog_if {
    char name[32];
    char addr[64];
} pf_nccllog_if;

typedef struct pf_nccllog_channel {
    int channel;
    int from, to;          /* ranks */
    char dir[8];           /* "send", "receive" or "" (P2P/SHM lines) */
    char transport[64];    /* "NET/Socket/0", "NET/Socket/0/Shared", "P2P/CUMEM", "SHM/direct/direct" */
} pf_nccllog_channel;

typedef struct pf_nccllog_warn {
    char where[48];        /* "init.cc:904" */
    char text[512];
} pf_nccllog_warn;

typedef struct pf_nccllog {
    int lines;
    char host[64];
    int pid;
    char version[24];      /* "2.28.9" */
    int version_code;      /* 22809; 0 unknown */
    char cuda[16];
    char bootstrap_if[32], bootstrap_addr[64];
    pf_nccllog_if socket_ifs[PF_NCCLLOG_MAX_IFS];
    int n_socket_ifs;
    int socket_threads, socket_socks; /* -1 unknown */
    char network[32];      /* "Socket", "IB", plugin names */
    bool ib_no_device;
    char ib_devices[256];  /* "[0]mlx5_0:1/RoCE ..." */
    char plugin[128];      /* the NET plugin assigned ("Socket", "IB", an external one); "internal" (<= 2.26) */
    bool plugin_failed;    /* "Failed to initialize any NET plugin" */
    bool plugin_tried_fail;/* some plugin failed ("... NET plugin IB" is normal without HCAs) */
    bool plugin_ok;        /* a plugin initialised / was assigned */
    char plugin_detail[256];
    int rank, nranks, nnodes, local_ranks; /* -1 unknown */
    bool bootstrap_done;   /* the topology line (after the bootstrap all-gather) was seen */
    bool init_complete;
    bool rings_connected;
    char hostid[128];
    pf_nccllog_channel channels[PF_NCCLLOG_MAX_CHANNELS];
    int n_channels;
    /* distinct transport families of the channels ("NET/Socket", "P2P", "SHM") */
    char transports[PF_NCCLLOG_MAX_TRANSPORTS][32];
    int n_transports;
    pf_nccllog_warn warns[PF_NCCLLOG_MAX_WARNS];
    int n_warns;
    char env[PF_NCCLLOG_MAX_ENV][160]; /* "NCCL_SOCKET_IFNAME=lo" as NCCL echoed it */
    int n_env;
} pf_nccllog;

void pf_nccllog_init(pf_nccllog *l);
/* Parse a whole log text (NUL-terminated) into l (initialised first). */
void pf_nccllog_parse(const char *text, pf_nccllog *l);
/* Feed one line (without its newline) into l. */
void pf_nccllog_line(pf_nccllog *l, const char *line);
/* "NET/Socket/0/Shared" -> "NET/Socket"; "P2P/CUMEM" -> "P2P"; "SHM/direct/direct" -> "SHM". */
void pf_nccllog_transport_family(const char *transport, char *out, size_t len);
json_t *pf_nccllog_to_json(const pf_nccllog *l);
/* No network plugin came up (a failed one that another replaced is fine). */
bool pf_nccllog_plugin_failed(const pf_nccllog *l);

#endif

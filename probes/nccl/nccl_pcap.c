/* nccl_pcap.c -- per-interface TCP accounting with libpcap (see nccl_pcap.h). */
#include "probes/nccl/nccl_pcap.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define SNAPLEN 128
#define MAX_IFS 8
#define FLOWS 16384    /* per interface; each direction of a connection is one */
#define FLOW_PROBES 64 /* linear probing stops here: the segment goes unattributed */
#define PORTS_MAX 1024 /* the probe's port set */
#define INODES 8192    /* socket inodes of the watched processes (hash table) */
#define SCAN_S 0.1     /* how often the watched processes' sockets are read */
#define INODE_TRIES 20 /* scans an unmapped socket inode is looked up before it is taken for non-TCP */

/* libpcap's ABI, the part used here (pcap/pcap.h). */
typedef struct pcap pcap_t;
struct pcap_pkthdr {
    struct timeval ts;
    unsigned caplen, len;
};
struct bpf_program {
    unsigned bf_len;
    void *bf_insns;
};
struct pcap_stat {
    unsigned ps_recv, ps_drop, ps_ifdrop;
};
typedef void (*pcap_handler)(unsigned char *, const struct pcap_pkthdr *, const unsigned char *);

typedef struct pcap_api {
    void *dl;
    pcap_t *(*create)(const char *, char *);
    int (*set_snaplen)(pcap_t *, int);
    int (*set_timeout)(pcap_t *, int);
    int (*set_buffer_size)(pcap_t *, int);
    int (*set_immediate_mode)(pcap_t *, int);
    int (*activate)(pcap_t *);
    char *(*geterr)(pcap_t *);
    const char *(*statustostr)(int);
    int (*compile)(pcap_t *, struct bpf_program *, const char *, int, unsigned);
    int (*setfilter)(pcap_t *, struct bpf_program *);
    void (*freecode)(struct bpf_program *);
    int (*setnonblock)(pcap_t *, int, char *);
    int (*get_selectable_fd)(pcap_t *);
    int (*dispatch)(pcap_t *, int, pcap_handler, unsigned char *);
    int (*datalink)(pcap_t *);
    int (*stats)(pcap_t *, struct pcap_stat *);
    void (*close)(pcap_t *);
} pcap_api;

static int load_pcap(pcap_api *a, pf_err *err)
{
    memset(a, 0, sizeof *a);
    const char *names[] = {"libpcap.so.1", "libpcap.so.0.8", "libpcap.so", NULL};
    for (int i = 0; names[i] && !a->dl; i++)
        a->dl = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!a->dl)
        return pf_err_set(err, "libpcap is not installed (libpcap.so.0.8 / libpcap.so.1 not found)");
    struct {
        const char *n;
        void **s;
    } t[] = {{"pcap_create", (void **)&a->create}, {"pcap_set_snaplen", (void **)&a->set_snaplen},
             {"pcap_set_timeout", (void **)&a->set_timeout}, {"pcap_set_buffer_size", (void **)&a->set_buffer_size},
             {"pcap_set_immediate_mode", (void **)&a->set_immediate_mode}, {"pcap_activate", (void **)&a->activate},
             {"pcap_geterr", (void **)&a->geterr}, {"pcap_statustostr", (void **)&a->statustostr},
             {"pcap_compile", (void **)&a->compile}, {"pcap_setfilter", (void **)&a->setfilter},
             {"pcap_freecode", (void **)&a->freecode}, {"pcap_setnonblock", (void **)&a->setnonblock},
             {"pcap_get_selectable_fd", (void **)&a->get_selectable_fd}, {"pcap_dispatch", (void **)&a->dispatch},
             {"pcap_datalink", (void **)&a->datalink}, {"pcap_stats", (void **)&a->stats},
             {"pcap_close", (void **)&a->close}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!(*t[i].s = dlsym(a->dl, t[i].n)))
            return pf_err_set(err, "libpcap has no %s", t[i].n);
    return 0;
}

int pf_ncclpcap_parse(int linktype, const unsigned char *p, unsigned caplen, pf_ncclpcap_seg *o)
{
    unsigned off;
    unsigned ethertype = 0;
    memset(o, 0, sizeof *o);
    switch (linktype) {
    case 1: /* DLT_EN10MB (also Linux lo) */
        if (caplen < 14)
            return -1;
        ethertype = (unsigned)p[12] << 8 | p[13];
        off = 14;
        while ((ethertype == 0x8100 || ethertype == 0x88a8) && caplen >= off + 4) {
            ethertype = (unsigned)p[off + 2] << 8 | p[off + 3];
            off += 4;
        }
        break;
    case 113: /* DLT_LINUX_SLL */
        if (caplen < 16)
            return -1;
        ethertype = (unsigned)p[14] << 8 | p[15];
        off = 16;
        break;
    case 12: case 14: case 101: /* raw IP */
        if (caplen < 1)
            return -1;
        ethertype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        off = 0;
        break;
    default:
        return -1;
    }
    unsigned iplen, hl;
    if (ethertype == 0x0800) {
        if (caplen < off + 20 || (p[off] >> 4) != 4 || p[off + 9] != 6)
            return -1;
        hl = (p[off] & 15u) * 4;
        iplen = (unsigned)p[off + 2] << 8 | p[off + 3];
        o->family = 4;
        memcpy(o->src, p + off + 12, 4);
        memcpy(o->dst, p + off + 16, 4);
    } else if (ethertype == 0x86dd) {
        if (caplen < off + 40 || (p[off] >> 4) != 6 || p[off + 6] != 6) /* no extension headers */
            return -1;
        hl = 40;
        iplen = 40 + ((unsigned)p[off + 4] << 8 | p[off + 5]);
        o->family = 6;
        memcpy(o->src, p + off + 8, 16);
        memcpy(o->dst, p + off + 24, 16);
    } else {
        return -1;
    }
    unsigned t = off + hl;
    if (hl < 20 || caplen < t + 20 || iplen < hl + 20)
        return -1;
    o->sport = (unsigned)p[t] << 8 | p[t + 1];
    o->dport = (unsigned)p[t + 2] << 8 | p[t + 3];
    o->seq = (unsigned)p[t + 4] << 24 | (unsigned)p[t + 5] << 16 | (unsigned)p[t + 6] << 8 | p[t + 7];
    unsigned thl = (p[t + 12] >> 4) * 4u;
    if (thl < 20 || iplen < hl + thl)
        return -1;
    o->payload = iplen - hl - thl;
    return 0;
}


/* ---- pure parts: /proc/net/tcp lines, the port set, the filter text ---- */

/* Reads 1..maxd digits (base 16 or 10) at *pp; the count in *nd. */
static int num(const char **pp, const char *e, int base, int maxd, unsigned long long *v, int *nd)
{
    const char *p = *pp;
    unsigned long long x = 0;
    int n = 0;
    while (p < e) {
        int d = base == 16 ? pf_hexval(*p) : (*p >= '0' && *p <= '9' ? *p - '0' : -1);
        if (d < 0)
            break;
        if (++n > maxd)
            return -1;
        x = x * (unsigned)base + (unsigned)d;
        p++;
    }
    if (n == 0)
        return -1;
    *pp = p, *v = x;
    if (nd)
        *nd = n;
    return 0;
}

static int spaces(const char **pp, const char *e, bool need)
{
    const char *p = *pp;
    while (p < e && *p == ' ')
        p++;
    if (need && p == *pp)
        return -1;
    *pp = p;
    return 0;
}

static int lit(const char **pp, const char *e, char c)
{
    if (*pp >= e || **pp != c)
        return -1;
    (*pp)++;
    return 0;
}

/* "ADDR:PORT", ADDR 8 or 32 hex digits, PORT 4. */
static int endpoint(const char **pp, const char *e, int *adigits, unsigned *port)
{
    unsigned long long v;
    int nd = 0;
    const char *p = *pp;
    while (p < e && pf_hexval(*p) >= 0)
        p++;
    nd = (int)(p - *pp);
    if (nd != 8 && nd != 32)
        return -1;
    *adigits = nd;
    if (lit(&p, e, ':') != 0 || num(&p, e, 16, 4, &v, &nd) != 0 || nd != 4)
        return -1;
    *port = (unsigned)v;
    *pp = p;
    return 0;
}

int pf_ncclpcap_tcpline(const char *line, size_t len, pf_ncclpcap_sock *o)
{
    memset(o, 0, sizeof *o);
    const char *p = line, *e = line + len;
    unsigned long long v;
    int la, ra, nd;
    /* "   0: 0100007F:9EF1 0100007F:93D4 01 00000000:00000000 00:00000000 00000000     0        0 9943612 ..." */
    if (spaces(&p, e, false) || num(&p, e, 10, 10, &v, NULL) || lit(&p, e, ':') || spaces(&p, e, true) ||
        endpoint(&p, e, &la, &o->lport) || spaces(&p, e, true) || endpoint(&p, e, &ra, &o->rport) || la != ra ||
        spaces(&p, e, true))
        return -1;
    if (num(&p, e, 16, 2, &v, &nd) || nd != 2 || v < 1 || v > 12) /* TCP_ESTABLISHED .. TCP_NEW_SYN_RECV */
        return -1;
    o->state = (unsigned)v;
    if (spaces(&p, e, true) || num(&p, e, 16, 16, &v, NULL) || lit(&p, e, ':') || num(&p, e, 16, 16, &v, NULL) ||
        spaces(&p, e, true) || num(&p, e, 16, 2, &v, NULL) || lit(&p, e, ':') || num(&p, e, 16, 16, &v, NULL) ||
        spaces(&p, e, true) || num(&p, e, 16, 16, &v, NULL) || /* retrnsmt */
        spaces(&p, e, true) || num(&p, e, 10, 10, &v, NULL) || /* uid */
        spaces(&p, e, true) || num(&p, e, 10, 20, &v, NULL) || /* timeout */
        spaces(&p, e, true) || num(&p, e, 10, 19, &v, NULL))   /* inode */
        return -1;
    if (p < e && *p != ' ' && *p != '\n')
        return -1;
    o->inode = v;
    o->family = la == 8 ? 4 : 6;
    return 0;
}

int pf_ncclpcap_portset_add(unsigned short *set, size_t *n, size_t cap, unsigned port)
{
    if (port == 0 || port > 65535)
        return -1;
    size_t lo = 0, hi = *n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set[mid] < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && set[lo] == port)
        return 0;
    if (*n >= cap)
        return -1;
    memmove(set + lo + 1, set + lo, (*n - lo) * sizeof *set);
    set[lo] = (unsigned short)port;
    (*n)++;
    return 1;
}

static bool in_set(unsigned port, const unsigned short *set, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set[mid] == port)
            return true;
        if (set[mid] < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool pf_ncclpcap_belongs(const pf_ncclpcap_seg *s, const unsigned short *set, size_t n)
{
    return in_set(s->sport, set, n) || in_set(s->dport, set, n);
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int pf_ncclpcap_filter_text(const unsigned *ports, size_t n, size_t cap, char *out, size_t outsz)
{
    if (outsz)
        out[0] = 0;
    unsigned *v = pf_xcalloc(n ? n : 1, sizeof *v);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ports[i] >= 1 && ports[i] <= 65535)
            v[m++] = ports[i];
    qsort(v, m, sizeof *v, cmp_uint);
    size_t d = 0;
    for (size_t i = 0; i < m; i++)
        if (d == 0 || v[d - 1] != v[i])
            v[d++] = v[i];
    int rc = (int)d;
    size_t at = 0;
    if (d > cap) {
        rc = -1;
    } else {
        int w = snprintf(out, outsz, "%s", d ? "tcp and (" : "tcp");
        at = w < 0 ? outsz : (size_t)w;
        for (size_t i = 0; i < d && at < outsz; i++) {
            w = snprintf(out + at, outsz - at, "%sport %u", i ? " or " : "", v[i]);
            at += w < 0 ? outsz : (size_t)w;
        }
        if (d && at < outsz) {
            w = snprintf(out + at, outsz - at, ")");
            at += w < 0 ? outsz : (size_t)w;
        }
        if (at >= outsz)
            rc = -1;
    }
    if (rc < 0 && outsz)
        out[0] = 0;
    free(v);
    return rc;
}

/* ---- the capture process ---- */

/* One direction of a TCP connection, tallied until the capture stops: only
 * then is it known whether its ports are the probe's. */
typedef struct flow {
    unsigned char key[37];
    bool used;
    unsigned end; /* highest seq+len seen */
    unsigned short sport, dport;
    unsigned long long bytes, packets, payload, retrans;
} flow;

typedef struct tally {
    unsigned long long bytes, packets, payload, retrans;
} tally;

typedef struct ifcap {
    char name[64];
    pcap_t *h;
    int fd, dlt;
    tally loose; /* segments without a flow slot (table full) or not parsed */
    unsigned long long loose_segments;
    char error[256];
    flow *flows;
} ifcap;

static void on_packet(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *p)
{
    ifcap *c = (ifcap *)user;
    pf_ncclpcap_seg s;
    if (pf_ncclpcap_parse(c->dlt, p, h->caplen, &s) != 0) {
        c->loose.packets++;
        c->loose.bytes += h->len;
        c->loose_segments++;
        return;
    }
    unsigned char key[37];
    memcpy(key, s.src, 16);
    memcpy(key + 16, s.dst, 16);
    key[32] = (unsigned char)(s.sport >> 8), key[33] = (unsigned char)s.sport;
    key[34] = (unsigned char)(s.dport >> 8), key[35] = (unsigned char)s.dport;
    key[36] = (unsigned char)s.family;
    unsigned hsh = 2166136261u;
    for (int i = 0; i < 37; i++)
        hsh = (hsh ^ key[i]) * 16777619u;
    for (unsigned k = 0; k < FLOW_PROBES; k++) {
        flow *f = &c->flows[(hsh + k) % FLOWS];
        if (!f->used) {
            f->used = true;
            memcpy(f->key, key, 37);
            f->sport = (unsigned short)s.sport, f->dport = (unsigned short)s.dport;
            f->end = s.seq + s.payload;
        } else if (memcmp(f->key, key, 37) != 0) {
            continue;
        } else if (s.payload) {
            unsigned end = s.seq + s.payload;
            if ((int)(end - f->end) <= 0)
                f->retrans++;
            else
                f->end = end;
        }
        f->packets++;
        f->bytes += h->len;
        f->payload += s.payload;
        return;
    }
    c->loose.packets++;
    c->loose.bytes += h->len;
    c->loose.payload += s.payload;
    c->loose_segments++;
}

/* ---- which ports are the probe's: /proc/PID/fd and /proc/PID/net/tcp* ---- */

typedef struct watch {
    pid_t pids[PF_NCCLPCAP_MAX_PIDS];
    int npids;
    bool gone[PF_NCCLPCAP_MAX_PIDS];
    unsigned short ports[PORTS_MAX];
    size_t nports;
    bool ports_full;
    /* socket inodes seen in the watched processes: port once mapped, or the
     * number of scans it was looked up in vain */
    struct {
        unsigned long long ino;
        unsigned short port;
        unsigned char tries;
    } ino[INODES];
    size_t ninodes;
    char filter[8192];
    char note[256];
    int updates;
    bool gave_up; /* the filter went back to "tcp" for good */
    char pid_err[320];
    char line[64]; /* the control pipe's partial line */
    size_t linelen;
    bool overlong;
} watch;

/* The slot for ino (a new one when absent and create); NULL when full. */
static size_t ino_slot(watch *w, unsigned long long ino, bool create, bool *found)
{
    size_t h = (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 32) % INODES;
    for (size_t k = 0; k < INODES; k++) {
        size_t i = (h + k) % INODES;
        if (w->ino[i].ino == ino) {
            *found = true;
            return i;
        }
        if (w->ino[i].ino == 0) {
            *found = false;
            if (!create || w->ninodes >= INODES - 1)
                return (size_t)-1;
            w->ino[i].ino = ino;
            w->ninodes++;
            return i;
        }
    }
    *found = false;
    return (size_t)-1;
}

/* Reads one /proc/PID/net/tcp{,6} table; maps the pending inodes. */
static void map_table(watch *w, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char l[512];
    while (fgets(l, sizeof l, f)) {
        size_t n = strlen(l);
        if (n && l[n - 1] != '\n' && !feof(f)) { /* overlong: not a line of ours, skip the rest */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        pf_ncclpcap_sock so;
        if (pf_ncclpcap_tcpline(l, n, &so) != 0 || so.inode == 0 || so.lport == 0)
            continue;
        bool found;
        size_t i = ino_slot(w, so.inode, false, &found);
        if (!found || w->ino[i].port)
            continue;
        w->ino[i].port = (unsigned short)so.lport;
        if (pf_ncclpcap_portset_add(w->ports, &w->nports, PORTS_MAX, so.lport) < 0)
            w->ports_full = true;
    }
    fclose(f);
}

/* One scan of every watched process; true when the port set grew. */
static bool scan(watch *w)
{
    size_t before = w->nports;
    for (int k = 0; k < w->npids; k++) {
        if (w->gone[k])
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", (int)w->pids[k]);
        DIR *d = opendir(path);
        if (!d) {
            int e = errno;
            w->gone[k] = e == ENOENT || e == ESRCH; /* it exited: its ports stay */
            if (!w->gone[k] && !w->pid_err[0]) /* e.g. EACCES: CAP_NET_RAW without the right to read it */
                snprintf(w->pid_err, sizeof w->pid_err, "cannot read %s (%s): its ports are not known", path,
                         strerror(e));
            continue;
        }
        bool pending = false;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char t[64];
            ssize_t n = readlinkat(dirfd(d), de->d_name, t, sizeof t - 1);
            if (n <= 9 || n >= (ssize_t)sizeof t - 1)
                continue;
            t[n] = 0;
            /* "socket:[12345]" */
            if (strncmp(t, "socket:[", 8) != 0 || t[n - 1] != ']')
                continue;
            const char *q = t + 8;
            unsigned long long ino;
            if (num(&q, t + n - 1, 10, 19, &ino, NULL) != 0 || q != t + n - 1 || ino == 0)
                continue;
            bool found;
            size_t i = ino_slot(w, ino, true, &found);
            if (i != (size_t)-1 && !w->ino[i].port && w->ino[i].tries < INODE_TRIES) {
                w->ino[i].tries++;
                pending = true;
            }
        }
        closedir(d);
        if (pending) {
            snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)w->pids[k]);
            map_table(w, path);
            snprintf(path, sizeof path, "/proc/%d/net/tcp6", (int)w->pids[k]);
            map_table(w, path);
        }
    }
    return w->nports != before;
}

/* Control pipe: "watch PID\n" lines, then EOF (stop).  Bounded, validated:
 * anything else is ignored.  Returns -1 at EOF. */
static int read_ctl(watch *w, int fd)
{
    char b[256];
    ssize_t r = read(fd, b, sizeof b);
    if (r == 0)
        return -1;
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    for (ssize_t i = 0; i < r; i++) {
        if (b[i] != '\n') {
            if (w->linelen + 1 < sizeof w->line)
                w->line[w->linelen++] = b[i];
            else
                w->overlong = true;
            continue;
        }
        w->line[w->linelen] = 0;
        const char *q = w->line + 6;
        unsigned long long pid;
        if (!w->overlong && strncmp(w->line, "watch ", 6) == 0 && num(&q, w->line + w->linelen, 10, 10, &pid, NULL) == 0 &&
            *q == 0 && pid > 0 && pid <= 0x7fffffff && w->npids < PF_NCCLPCAP_MAX_PIDS) {
            bool dup = false;
            for (int k = 0; k < w->npids; k++)
                dup |= w->pids[k] == (pid_t)pid;
            if (!dup)
                w->pids[w->npids++] = (pid_t)pid;
        }
        w->linelen = 0;
        w->overlong = false;
    }
    return 0;
}

static long long snmp_retrans(void)
{
    char *t = pf_read_file("/proc/net/snmp", 1 << 16, NULL, NULL);
    if (!t)
        return -1;
    /* two "Tcp:" lines: names, then values */
    char *h = strstr(t, "\nTcp:"), *v = h ? strstr(h + 1, "\nTcp:") : NULL;
    long long out = -1;
    if (h && v) {
        int col = -1, i = 0;
        for (char *tok = h + 5; *tok && *tok != '\n'; i++) {
            while (*tok == ' ')
                tok++;
            if (strncmp(tok, "RetransSegs", 11) == 0) {
                col = i;
                break;
            }
            tok += strcspn(tok, " \n");
        }
        char *q = v + 5;
        for (i = 0; col >= 0 && i <= col; i++) {
            while (*q == ' ')
                q++;
            if (i == col)
                out = atoll(q);
            q += strcspn(q, " \n");
        }
    }
    free(t);
    return out;
}

static void dev_bytes(const char *ifn, long long *rx, long long *tx)
{
    *rx = *tx = -1;
    char *t = pf_read_file("/proc/net/dev", 1 << 20, NULL, NULL);
    if (!t)
        return;
    size_t n = strlen(ifn);
    for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        while (*l == ' ')
            l++;
        if (strncmp(l, ifn, n) == 0 && l[n] == ':') {
            long long v[9];
            if (sscanf(l + n + 1, "%lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4],
                       &v[5], &v[6], &v[7], &v[8]) == 9) {
                *rx = v[0];
                *tx = v[8];
            }
            break;
        }
    }
    free(t);
}

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0 && errno != EINTR)
            return;
        if (w > 0)
            s += w, n -= (size_t)w;
    }
}

/* The port set grew: drain what the old filter let through (so it is
 * tallied before libpcap discards what the new one would not pass), then
 * install "tcp and (port ...)" on every open interface.  Past the cap, or
 * when libpcap or the kernel refuses the program, back to "tcp" (counting
 * stays right: attribution is by port in user space), said in w->note. */
static int apply_filter(pcap_api *a, pcap_t *h, const char *f)
{
    struct bpf_program prog;
    if (a->compile(h, &prog, f, 1, 0) != 0)
        return -1;
    int rc = a->setfilter(h, &prog);
    a->freecode(&prog);
    return rc;
}

static void narrow(pcap_api *a, ifcap *c, int n, watch *w)
{
    if (w->gave_up)
        return;
    unsigned v[PORTS_MAX];
    for (size_t k = 0; k < w->nports; k++)
        v[k] = w->ports[k];
    char f[sizeof w->filter];
    if (pf_ncclpcap_filter_text(v, w->nports, PF_NCCLPCAP_FILTER_PORTS, f, sizeof f) < 0) {
        snprintf(w->note, sizeof w->note, "the probe has more than %d ports: back to the filter \"tcp\"",
                 PF_NCCLPCAP_FILTER_PORTS);
        pf_strlcpy(f, "tcp", sizeof f);
        w->gave_up = true;
    }
    if (strcmp(f, w->filter) == 0)
        return;
    for (int i = 0; i < n; i++) {
        ifcap *x = &c[i];
        if (!x->h || x->fd < 0)
            continue;
        while (a->dispatch(x->h, 256, on_packet, (unsigned char *)x) > 0)
            ;
        if (apply_filter(a, x->h, f) != 0 && !w->gave_up) {
            snprintf(w->note, sizeof w->note, "%s: the narrowed filter was refused (%s): back to the filter \"tcp\"",
                     x->name, a->geterr(x->h));
            pf_strlcpy(f, "tcp", sizeof f);
            w->gave_up = true;
            i = -1; /* every interface back to "tcp" */
        }
    }
    pf_strlcpy(w->filter, f, sizeof w->filter);
    w->updates++;
}

static void capture_main(const char *ifaces, int ctl, int out)
{
    pcap_api a;
    pf_err err = {{0}};
    if (load_pcap(&a, &err) != 0) {
        char *l = pf_xasprintf("error %s\n", err.msg);
        put(out, l);
        _exit(0);
    }
    ifcap c[MAX_IFS];
    int n = 0, opened = 0;
    char first_err[300] = "";
    char *list = pf_xstrdup(ifaces);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < MAX_IFS; tok = strtok_r(NULL, ",", &save)) {
        ifcap *x = &c[n++];
        memset(x, 0, sizeof *x);
        pf_strlcpy(x->name, tok, sizeof x->name);
        x->fd = -1;
        char ebuf[256] = "";
        x->h = a.create(tok, ebuf);
        int rc = -1;
        if (x->h) {
            a.set_snaplen(x->h, SNAPLEN);
            a.set_timeout(x->h, 50);
            a.set_buffer_size(x->h, 8 << 20);
            a.set_immediate_mode(x->h, 0);
            rc = a.activate(x->h);
        }
        if (!x->h || rc < 0) {
            if (rc == -8 /* PCAP_ERROR_PERM_DENIED */)
                snprintf(x->error, sizeof x->error, "no capture rights on %s (needs root or CAP_NET_RAW): %s", tok,
                         a.geterr(x->h));
            else
                snprintf(x->error, sizeof x->error, "%s: %s", tok,
                         x->h ? (rc == -5 ? "no such interface" : a.geterr(x->h)) : ebuf);
            if (x->h)
                a.close(x->h);
            x->h = NULL;
            if (!first_err[0])
                pf_strlcpy(first_err, x->error, sizeof first_err);
            continue;
        }
        if (apply_filter(&a, x->h, "tcp") != 0) {
            snprintf(x->error, sizeof x->error, "%s: BPF filter: %s", tok, a.geterr(x->h));
            a.close(x->h);
            x->h = NULL;
            continue;
        }
        a.setnonblock(x->h, 1, ebuf);
        x->fd = a.get_selectable_fd(x->h);
        x->dlt = a.datalink(x->h);
        x->flows = pf_xcalloc(FLOWS, sizeof(flow));
        opened++;
    }
    free(list);
    if (!opened) {
        char *l = pf_xasprintf("error %s\n", first_err[0] ? first_err : "no interface given");
        put(out, l);
        _exit(0);
    }
    watch *w = pf_xcalloc(1, sizeof *w);
    pf_strlcpy(w->filter, "tcp", sizeof w->filter);
    long long r0 = snmp_retrans(), rx0[MAX_IFS], tx0[MAX_IFS];
    for (int i = 0; i < n; i++)
        dev_bytes(c[i].name, &rx0[i], &tx0[i]);
    double t0 = pf_now(), next_scan = 0;
    put(out, "ready\n");
    for (;;) {
        struct pollfd p[MAX_IFS + 1];
        int np = 0, map[MAX_IFS + 1];
        p[np] = (struct pollfd){ctl, POLLIN, 0};
        map[np++] = -1;
        for (int i = 0; i < n; i++)
            if (c[i].h && c[i].fd >= 0) {
                p[np] = (struct pollfd){c[i].fd, POLLIN, 0};
                map[np++] = i;
            }
        int pr = poll(p, (nfds_t)np, 100);
        if (pr < 0 && errno != EINTR)
            break;
        bool stop = false;
        if (p[0].revents) {
            int had = w->npids;
            stop = read_ctl(w, ctl) != 0;
            if (w->npids > had)
                next_scan = 0; /* a new rank: look at it now */
        }
        for (int k = 1; k < np; k++) {
            ifcap *x = &c[map[k]];
            if (!p[k].revents && !stop)
                continue;
            int got;
            while ((got = a.dispatch(x->h, 256, on_packet, (unsigned char *)x)) > 0)
                ;
            if (got < 0) { /* the interface went away: keep what we have */
                char nm[64];
                pf_strlcpy(nm, x->name, sizeof nm);
                snprintf(x->error, sizeof x->error, "%s: capture stopped: %s", nm, a.geterr(x->h));
                x->fd = -1;
            }
        }
        if (stop) {
            scan(w); /* the last sockets: their segments were captured already */
            break;
        }
        if (w->npids && pf_now() >= next_scan) {
            next_scan = pf_now() + SCAN_S;
            if (scan(w))
                narrow(&a, c, n, w);
        }
    }
    json_t *ifj = json_object();
    char summary[512] = "";
    bool watching = w->npids > 0;
    for (int i = 0; i < n; i++) {
        ifcap *x = &c[i];
        struct pcap_stat st = {0};
        if (x->h)
            a.stats(x->h, &st);
        long long rx, tx;
        dev_bytes(x->name, &rx, &tx);
        /* Attribution: a flow is the probe's when one of its ports is in
         * the final set (or nobody was watched: every TCP flow). */
        tally mine = {0}, other = {0};
        for (unsigned k = 0; x->flows && k < FLOWS; k++) {
            flow *f = &x->flows[k];
            if (!f->used)
                continue;
            pf_ncclpcap_seg sg = {.sport = f->sport, .dport = f->dport};
            tally *t = !watching || pf_ncclpcap_belongs(&sg, w->ports, w->nports) ? &mine : &other;
            t->bytes += f->bytes, t->packets += f->packets, t->payload += f->payload, t->retrans += f->retrans;
        }
        tally *t = watching ? &other : &mine; /* what could not be attributed to a flow */
        t->bytes += x->loose.bytes, t->packets += x->loose.packets, t->payload += x->loose.payload;
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "bytes", (json_int_t)mine.bytes, "packets",
                              (json_int_t)mine.packets, "payload_bytes", (json_int_t)mine.payload, "retransmissions",
                              (json_int_t)mine.retrans, "drops", (json_int_t)st.ps_drop);
        json_object_set_new(o, "other_tcp", json_pack("{s:I, s:I, s:I}", "bytes", (json_int_t)other.bytes, "packets",
                                                      (json_int_t)other.packets, "payload_bytes",
                                                      (json_int_t)other.payload));
        if (x->loose_segments)
            json_object_set_new(o, "unattributed_segments", json_integer((json_int_t)x->loose_segments));
        json_object_set_new(o, "error", x->error[0] ? json_string(x->error) : json_null());
        json_object_set_new(o, "kernel_rx_bytes", rx >= 0 && rx0[i] >= 0 ? json_integer(rx - rx0[i]) : json_null());
        json_object_set_new(o, "kernel_tx_bytes", tx >= 0 && tx0[i] >= 0 ? json_integer(tx - tx0[i]) : json_null());
        json_object_set_new(ifj, x->name, o);
        snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "%s%.3f GB over %s (%llu packets, %llu "
                 "retransmitted)%s", i ? "; " : watching ? "the probe's TCP moved " : "TCP moved ",
                 (double)mine.bytes / 1e9, x->name, mine.packets, mine.retrans, x->error[0] ? " [error]" : "");
        if (x->h)
            a.close(x->h);
        free(x->flows);
    }
    long long r1 = snmp_retrans();
    json_t *res = json_pack("{s:s, s:i, s:f, s:o, s:s}", "filter", w->filter, "snaplen", SNAPLEN, "seconds",
                            pf_now() - t0, "interfaces", ifj, "summary", summary);
    json_t *pids = json_array(), *ports = json_array();
    for (int k = 0; k < w->npids; k++)
        json_array_append_new(pids, json_integer(w->pids[k]));
    for (size_t k = 0; k < w->nports; k++)
        json_array_append_new(ports, json_integer(w->ports[k]));
    json_object_set_new(res, "pids", pids);
    json_object_set_new(res, "ports", ports);
    json_object_set_new(res, "ports_total", json_integer((json_int_t)w->nports));
    json_object_set_new(res, "filter_updates", json_integer(w->updates));
    if (w->ports_full && !w->note[0])
        snprintf(w->note, sizeof w->note, "more than %d ports: the later ones are not the probe's here", PORTS_MAX);
    if (w->note[0])
        json_object_set_new(res, "filter_note", json_string(w->note));
    if (w->pid_err[0])
        json_object_set_new(res, "watch_error", json_string(w->pid_err));
    json_object_set_new(res, "kernel_retrans_segs", r0 >= 0 && r1 >= 0 ? json_integer(r1 - r0) : json_null());
    char *js = json_dumps(res, JSON_COMPACT);
    char *l = pf_xasprintf("result %s\n", js);
    put(out, l);
    _exit(0);
}

struct pf_ncclpcap {
    pid_t pid;
    int ctl, out; /* ctl: "watch PID" lines, closed to stop; out: "ready", "result ..." */
    int npids;
};

static char *read_line(int fd, double deadline)
{
    size_t cap = 4096, n = 0;
    char *b = pf_xmalloc(cap);
    for (;;) {
        double left = deadline - pf_now();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        if (n + 1 >= cap)
            b = pf_xrealloc(b, cap *= 2);
        ssize_t r = read(fd, b + n, 1);
        if (r <= 0 || b[n] == '\n')
            break;
        n++;
    }
    b[n] = 0;
    return b;
}

pf_ncclpcap *pf_ncclpcap_start(const char *ifaces, pf_err *err)
{
    int ctl[2], out[2];
    if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        pf_err_errno(err, errno, "pipe for the capture");
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        pf_err_errno(err, errno, "fork for the capture");
        return NULL;
    }
    if (pid == 0) {
        close(ctl[1]);
        close(out[0]);
        capture_main(ifaces, ctl[0], out[1]);
    }
    close(ctl[0]);
    close(out[1]);
    char *l = read_line(out[0], pf_now() + 5);
    if (strcmp(l, "ready") != 0) {
        pf_err_set(err, "%s", pf_str_startswith(l, "error ") ? l + 6 : "the capture process did not start in 5 s");
        free(l);
        close(ctl[1]);
        close(out[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return NULL;
    }
    free(l);
    pf_ncclpcap *c = pf_xcalloc(1, sizeof *c);
    c->pid = pid;
    c->ctl = ctl[1];
    c->out = out[0];
    return c;
}

int pf_ncclpcap_watch_pid(pf_ncclpcap *c, pid_t pid, pf_err *err)
{
    if (pid <= 0)
        return pf_err_set(err, "packet capture: cannot watch pid %d", (int)pid);
    if (c->npids >= PF_NCCLPCAP_MAX_PIDS)
        return pf_err_set(err, "packet capture: already watching %d processes (the most it takes)",
                          PF_NCCLPCAP_MAX_PIDS);
    char l[32];
    int n = snprintf(l, sizeof l, "watch %d\n", (int)pid);
    /* one write of a few bytes into a pipe is atomic; a dead capture
     * process must give EPIPE here, not kill the caller with SIGPIPE */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    ssize_t w;
    do
        w = write(c->ctl, l, (size_t)n);
    while (w < 0 && errno == EINTR);
    int e = errno;
    signal(SIGPIPE, old);
    if (w != n)
        return pf_err_errno(err, w < 0 ? e : EIO, "packet capture: telling the capture process about pid %d",
                            (int)pid);
    c->npids++;
    return 0;
}

json_t *pf_ncclpcap_stop(pf_ncclpcap *c)
{
    close(c->ctl); /* EOF tells the capture process to finish */
    char *l = read_line(c->out, pf_now() + 5);
    json_t *j = NULL;
    if (pf_str_startswith(l, "result "))
        j = json_loads(l + 7, 0, NULL);
    if (!j)
        j = json_pack("{s:s}", "error", "the capture process gave no result within 5 s");
    free(l);
    close(c->out);
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    free(c);
    return j;
}

/* nccl_pcap.c -- per-interface TCP accounting with libpcap (see nccl_pcap.h). */
#include "probes/nccl/nccl_pcap.h"

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
#define FLOWS 4096

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

/* ---- the capture process ---- */

typedef struct flow {
    unsigned char key[37];
    bool used;
    unsigned end; /* highest seq+len seen */
} flow;

typedef struct ifcap {
    char name[64];
    pcap_t *h;
    int fd, dlt;
    unsigned long long bytes, packets, payload, retrans;
    char error[256];
    flow *flows;
} ifcap;

static void on_packet(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *p)
{
    ifcap *c = (ifcap *)user;
    pf_ncclpcap_seg s;
    c->packets++;
    c->bytes += h->len;
    if (pf_ncclpcap_parse(c->dlt, p, h->caplen, &s) != 0)
        return;
    c->payload += s.payload;
    if (!s.payload)
        return;
    unsigned char key[37];
    memcpy(key, s.src, 16);
    memcpy(key + 16, s.dst, 16);
    key[32] = (unsigned char)(s.sport >> 8), key[33] = (unsigned char)s.sport;
    key[34] = (unsigned char)(s.dport >> 8), key[35] = (unsigned char)s.dport;
    key[36] = (unsigned char)s.family;
    unsigned hsh = 2166136261u;
    for (int i = 0; i < 37; i++)
        hsh = (hsh ^ key[i]) * 16777619u;
    for (unsigned k = 0; k < FLOWS; k++) {
        flow *f = &c->flows[(hsh + k) % FLOWS];
        if (!f->used) {
            f->used = true;
            memcpy(f->key, key, 37);
            f->end = s.seq + s.payload;
            return;
        }
        if (memcmp(f->key, key, 37) == 0) {
            unsigned end = s.seq + s.payload;
            if ((int)(end - f->end) <= 0)
                c->retrans++;
            else
                f->end = end;
            return;
        }
    }
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
        struct bpf_program prog;
        if (a.compile(x->h, &prog, "tcp", 1, 0) != 0 || a.setfilter(x->h, &prog) != 0) {
            snprintf(x->error, sizeof x->error, "%s: BPF filter: %s", tok, a.geterr(x->h));
            a.close(x->h);
            x->h = NULL;
            continue;
        }
        a.freecode(&prog);
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
    long long r0 = snmp_retrans(), rx0[MAX_IFS], tx0[MAX_IFS];
    for (int i = 0; i < n; i++)
        dev_bytes(c[i].name, &rx0[i], &tx0[i]);
    double t0 = pf_now();
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
        bool stop = p[0].revents != 0;
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
        if (stop)
            break;
    }
    json_t *ifj = json_object();
    char summary[512] = "";
    for (int i = 0; i < n; i++) {
        ifcap *x = &c[i];
        struct pcap_stat st = {0};
        if (x->h)
            a.stats(x->h, &st);
        long long rx, tx;
        dev_bytes(x->name, &rx, &tx);
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "bytes", (json_int_t)x->bytes, "packets",
                              (json_int_t)x->packets, "payload_bytes", (json_int_t)x->payload, "retransmissions",
                              (json_int_t)x->retrans, "drops", (json_int_t)st.ps_drop);
        json_object_set_new(o, "error", x->error[0] ? json_string(x->error) : json_null());
        json_object_set_new(o, "kernel_rx_bytes", rx >= 0 && rx0[i] >= 0 ? json_integer(rx - rx0[i]) : json_null());
        json_object_set_new(o, "kernel_tx_bytes", tx >= 0 && tx0[i] >= 0 ? json_integer(tx - tx0[i]) : json_null());
        json_object_set_new(ifj, x->name, o);
        snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "%s%.3f GB over %s (%llu packets, %llu "
                 "retransmitted)%s", i ? "; " : "TCP moved ", (double)x->bytes / 1e9, x->name, x->packets, x->retrans,
                 x->error[0] ? " [error]" : "");
        if (x->h)
            a.close(x->h);
        free(x->flows);
    }
    long long r1 = snmp_retrans();
    json_t *res = json_pack("{s:s, s:i, s:f, s:o, s:s}", "filter", "tcp", "snaplen", SNAPLEN, "seconds",
                            pf_now() - t0, "interfaces", ifj, "summary", summary);
    json_object_set_new(res, "kernel_retrans_segs", r0 >= 0 && r1 >= 0 ? json_integer(r1 - r0) : json_null());
    char *js = json_dumps(res, JSON_COMPACT);
    char *l = pf_xasprintf("result %s\n", js);
    put(out, l);
    _exit(0);
}

struct pf_ncclpcap {
    pid_t pid;
    int ctl, out;
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

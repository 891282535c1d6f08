/* test_nccl_pcap.c -- packet attribution on the loopback interface: real
 * libpcap, real TCP traffic, counted per interface; narrowed to a watched
 * process's ports while an unwatched one moves more bytes on the same
 * interface; frame parsing on crafted Ethernet/IPv4/IPv6 frames, the
 * /proc/net/tcp parser on real lines, the port set and the filter text.  Exits 77 (skip) when this process may
 * not capture (not root, no CAP_NET_RAW) or libpcap is not installed, after
 * checking that the reason is said. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probes/nccl/nccl_pcap.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                                                    \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

static void test_parse(void)
{
    unsigned char f[128] = {0};
    /* Ethernet + IPv4 (ihl 5, total 20+20+1000) + TCP (doff 5), ports 40000 -> 50000, seq 7 */
    f[12] = 0x08, f[13] = 0x00;
    unsigned char *ip = f + 14;
    ip[0] = 0x45, ip[2] = (1040 >> 8), ip[3] = 1040 & 255, ip[9] = 6;
    ip[12] = 127, ip[15] = 1, ip[16] = 127, ip[19] = 1;
    unsigned char *t = ip + 20;
    t[0] = 40000 >> 8, t[1] = 40000 & 255, t[2] = 50000 >> 8, t[3] = 50000 & 255, t[7] = 7, t[12] = 0x50;
    pf_ncclpcap_seg s;
    CHECK(pf_ncclpcap_parse(1, f, 54, &s) == 0);
    CHECK(s.family == 4 && s.sport == 40000 && s.dport == 50000 && s.seq == 7 && s.payload == 1000);
    CHECK(pf_ncclpcap_parse(1, f, 30, &s) == -1); /* truncated */
    ip[9] = 17;                                   /* UDP */
    CHECK(pf_ncclpcap_parse(1, f, 54, &s) == -1);
    ip[9] = 6;
    /* VLAN tag */
    unsigned char v[132] = {0};
    memcpy(v, f, 12);
    v[12] = 0x81, v[13] = 0x00, v[16] = 0x08, v[17] = 0x00;
    memcpy(v + 18, f + 14, 40);
    CHECK(pf_ncclpcap_parse(1, v, 58, &s) == 0 && s.payload == 1000);
    /* Linux cooked (SLL) + IPv6, payload length 20 + 8 */
    unsigned char l6[128] = {0};
    l6[14] = 0x86, l6[15] = 0xdd;
    unsigned char *i6 = l6 + 16;
    i6[0] = 0x60, i6[5] = 28, i6[6] = 6;
    i6[40 + 12] = 0x50;
    CHECK(pf_ncclpcap_parse(113, l6, 16 + 60, &s) == 0 && s.family == 6 && s.payload == 8);
    CHECK(pf_ncclpcap_parse(999, l6, 76, &s) == -1); /* unknown link type */
}


/* Real lines, collected from /proc/net/tcp and /proc/net/tcp6 of a Debian
 * 6.x host (python listener + connection on 127.0.0.1 and ::1). */
static void test_tcpline(void)
{
    static const struct {
        const char *line;
        int rc, family;
        unsigned lport, rport, state;
        unsigned long long inode;
    } t[] = {
        {"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9943610 1 "
         "00000000307d8903 100 0 0 10 0                   \n", 0, 4, 0x9EF1, 0, 10, 9943610},
        {"   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 297 1 "
         "00000000039687ee 100 0 0 10 0                       ", 0, 4, 2024, 0, 10, 297},
        {"   2: 0100007F:93D4 0100007F:9EF1 01 00000000:00000000 00:00000000 00000000     0        0 9943611 2 "
         "000000003285061f 20 0 0 10 -1                   \n", 0, 4, 0x93D4, 0x9EF1, 1, 9943611},
        /* TIME_WAIT: no socket owns it any more, inode 0 */
        {"   1: 0100007F:D27D 0100007F:A3F2 06 00000000:00000000 03:000000CA 00000000     0        0 0 3 "
         "0000000019447942", 0, 4, 0xD27D, 0xA3F2, 6, 0},
        {"  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
         "tm->when retrnsmt   uid  timeout inode", -1, 0, 0, 0, 0, 0},
        {"   0: 00000000000000000000000001000000:B0B5 00000000000000000000000000000000:0000 0A 00000000:00000000 "
         "00:00000000 00000000     0        0 9943607 1 000000003218fc3d 100 0 0 10 0", 0, 6, 0xB0B5, 0, 10, 9943607},
        {"   1: 00000000000000000000000001000000:A584 00000000000000000000000001000000:B0B5 01 00000000:00000000 "
         "00:00000000 00000000     0        0 9943608 2 00000000dc8029fa 20 0 0 10 -1", 0, 6, 0xA584, 0xB0B5, 1,
         9943608},
        /* malformed: truncated, mixed families, bad state, 5-digit port, garbage inode, empty */
        {"   0: 0100007F:9EF1 00000000:0000 0A 00000000:00000000 00:00000000", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF1 00000000:0000 7F 00000000:00000000 00:00000000 00000000     0        0 1", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF12 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12x4", -1, 0, 0, 0, 0, 0},
        {"   0: 0100007F:9EF1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
         "99999999999999999999999", -1, 0, 0, 0, 0, 0},
        {"", -1, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pf_ncclpcap_sock so;
        int rc = pf_ncclpcap_tcpline(t[i].line, strlen(t[i].line), &so);
        if (rc != t[i].rc || (rc == 0 && (so.family != t[i].family || so.lport != t[i].lport ||
                                          so.rport != t[i].rport || so.state != t[i].state || so.inode != t[i].inode))) {
            fprintf(stderr, "tcpline row %zu: rc %d family %d ports %u/%u state %u inode %llu\n", i, rc, so.family,
                    so.lport, so.rport, so.state, so.inode);
            exit(1);
        }
    }
    /* the length bounds the parse: the inode cut short is another inode */
    const char *l = t[1].line;
    pf_ncclpcap_sock so;
    CHECK(pf_ncclpcap_tcpline(l, (size_t)(strstr(l, "9943610") - l) + 4, &so) == 0 && so.inode == 9943);
}

static void test_portset(void)
{
    unsigned short set[4];
    size_t n = 0;
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 50000) == 1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 22) == 1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 50000) == 0); /* once */
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 0) == -1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 70000) == -1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 40000) == 1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 65535) == 1);
    CHECK(pf_ncclpcap_portset_add(set, &n, 4, 1) == -1); /* full */
    CHECK(n == 4 && set[0] == 22 && set[1] == 40000 && set[2] == 50000 && set[3] == 65535);
    /* does a segment belong: one row per case */
    static const struct {
        unsigned sport, dport;
        bool mine;
    } t[] = {{40000, 12345, true}, {12345, 50000, true}, {22, 65535, true}, {12345, 23, false}, {21, 23, false},
             {1, 65534, false}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pf_ncclpcap_seg sg = {.sport = t[i].sport, .dport = t[i].dport};
        CHECK(pf_ncclpcap_belongs(&sg, set, n) == t[i].mine);
    }
    pf_ncclpcap_seg sg = {.sport = 22, .dport = 22};
    CHECK(!pf_ncclpcap_belongs(&sg, set, 0)); /* empty set: nothing */
}

static void test_filter(void)
{
    char f[256];
    static const unsigned none[1] = {0};
    CHECK(pf_ncclpcap_filter_text(none, 0, 8, f, sizeof f) == 0 && strcmp(f, "tcp") == 0);
    CHECK(pf_ncclpcap_filter_text(none, 1, 8, f, sizeof f) == 0 && strcmp(f, "tcp") == 0); /* port 0 ignored */
    static const unsigned p[] = {50000, 22, 50000, 70000, 40001, 22};
    CHECK(pf_ncclpcap_filter_text(p, 6, 8, f, sizeof f) == 3);
    CHECK(strcmp(f, "tcp and (port 22 or port 40001 or port 50000)") == 0);
    CHECK(pf_ncclpcap_filter_text(p, 6, 3, f, sizeof f) == 3);  /* exactly at the cap */
    CHECK(pf_ncclpcap_filter_text(p, 6, 2, f, sizeof f) == -1 && f[0] == 0); /* past it */
    CHECK(pf_ncclpcap_filter_text(p, 6, 8, f, 20) == -1 && f[0] == 0);      /* does not fit */
    unsigned many[300];
    for (unsigned i = 0; i < 300; i++)
        many[i] = 30000 + i * 7;
    static char big[8192];
    CHECK(pf_ncclpcap_filter_text(many, 256, PF_NCCLPCAP_FILTER_PORTS, big, sizeof big) == 256);
    CHECK(strstr(big, "port 30000 or port 30007") && strstr(big, "port 31785)"));
    CHECK(pf_ncclpcap_filter_text(many, 300, PF_NCCLPCAP_FILTER_PORTS, big, sizeof big) == -1);
}

static int lfd;
static void *sink(void *a)
{
    (void)a;
    int c = accept(lfd, NULL, NULL);
    char buf[65536];
    while (c >= 0 && read(c, buf, sizeof buf) > 0)
        ;
    if (c >= 0)
        close(c);
    return NULL;
}


/* ---- the watched process and the unwatched one ---- */

#define MIB (1 << 20)
#define PROBE_BYTES (4 * MIB)
#define OTHER_BYTES (16 * MIB)

static int listen_lo(unsigned *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return l;
}

static int connect_lo(unsigned port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((unsigned short)port)};
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    return c;
}

static long long drain(int fd)
{
    static char buf[65536];
    long long got = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        got += r;
    return got;
}

static int send_all(int fd, size_t n, unsigned pause_us)
{
    static char buf[MIB];
    for (size_t done = 0; done < n; done += sizeof buf) {
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t w = write(fd, buf + off, sizeof buf - off);
            if (w <= 0)
                return -1;
            off += (size_t)w;
        }
        if (pause_us)
            usleep(pause_us);
    }
    return 0;
}

/* Unrelated TCP on lo (ssh, Ray, another job): one process, both ends;
 * says "1" on ready once its first MiB has been received, i.e. went over lo
 * before anyone was watched. */
static pid_t start_other(int *ready_fd)
{
    int pp[2];
    CHECK(pipe(pp) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid) {
        close(pp[1]);
        *ready_fd = pp[0];
        return pid;
    }
    close(pp[0]);
    unsigned port;
    int l = listen_lo(&port), c = l >= 0 ? connect_lo(port) : -1, s = c >= 0 ? accept(l, NULL, NULL) : -1;
    if (s < 0)
        _exit(1);
    pid_t rx = fork(); /* the receiving end, so that the sender never blocks on a full window */
    if (rx == 0) {
        close(c);
        static char buf[65536];
        long long got = 0;
        ssize_t r;
        bool said = false;
        while ((r = read(s, buf, sizeof buf)) > 0) {
            got += r;
            if (!said && got >= MIB) {
                said = write(pp[1], "1", 1) == 1;
            }
        }
        _exit(got == OTHER_BYTES ? 0 : 1);
    }
    close(s);
    int rc = send_all(c, OTHER_BYTES, 20 * 1000); /* spread over ~0.3 s: it overlaps the probe's */
    close(c);
    int st = 0;
    waitpid(rx, &st, 0);
    _exit(rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
}

/* The probe: listens (the port a rank would), says the port, sends
 * PROBE_BYTES to whoever connects. */
static pid_t start_probe(int *port_fd)
{
    int pp[2];
    CHECK(pipe(pp) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid) {
        close(pp[1]);
        *port_fd = pp[0];
        return pid;
    }
    close(pp[0]);
    unsigned port;
    int l = listen_lo(&port);
    if (l < 0 || write(pp[1], &port, sizeof port) != (ssize_t)sizeof port)
        _exit(1);
    int s = accept(l, NULL, NULL);
    usleep(150 * 1000); /* the connection exists: let a scan see it (counting does not depend on it) */
    int rc = s >= 0 ? send_all(s, PROBE_BYTES, 0) : -1;
    _exit(rc == 0 ? 0 : 1);
}

static bool has_port(json_t *ports, unsigned port)
{
    size_t i;
    json_t *v;
    json_array_foreach(ports, i, v) if (json_integer_value(v) == (json_int_t)port) return true;
    return false;
}

static void test_watch(void)
{
    pf_err err = {{0}};
    pf_ncclpcap *cap = pf_ncclpcap_start("lo", &err);
    CHECK(cap);
    CHECK(pf_ncclpcap_watch_pid(cap, 0, &err) == -1 && strstr(err.msg, "pid 0"));
    int ready, portfd;
    pid_t other = start_other(&ready);
    char one;
    CHECK(read(ready, &one, 1) == 1); /* unrelated bytes already went over lo */
    /* libpcap hands over its ring a block at a time (a block retires when
     * full or after the 50 ms timeout), and at a filter change it drops what
     * the new filter would not pass from the blocks not yet read: without
     * this pause those first unrelated bytes would be dropped, not shown in
     * other_tcp (nor counted as the probe's either way) */
    usleep(150 * 1000);
    pid_t probe = start_probe(&portfd);
    CHECK(pf_ncclpcap_watch_pid(cap, probe, &err) == 0);
    unsigned port = 0;
    CHECK(read(portfd, &port, sizeof port) == (ssize_t)sizeof port && port > 0);
    int c = connect_lo(port);
    CHECK(c >= 0);
    long long got = drain(c);
    close(c);
    int st1 = 0, st2 = 0;
    waitpid(probe, &st1, 0);
    waitpid(other, &st2, 0);
    CHECK(got == PROBE_BYTES && WIFEXITED(st1) && WEXITSTATUS(st1) == 0 && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    close(ready);
    close(portfd);
    usleep(100 * 1000);
    json_t *j = pf_ncclpcap_stop(cap);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_t *lo = json_object_get(json_object_get(j, "interfaces"), "lo");
    CHECK(lo);
    json_int_t payload = json_integer_value(json_object_get(lo, "payload_bytes"));
    json_int_t other_payload = json_integer_value(json_object_get(json_object_get(lo, "other_tcp"), "payload_bytes"));
    /* the probe's bytes, all of them; the unrelated 16 MiB are not the probe's */
    CHECK(payload >= PROBE_BYTES);
    CHECK(payload < PROBE_BYTES + OTHER_BYTES / 4);
    CHECK(other_payload >= MIB); /* what went over lo before the watch: seen, not counted */
    CHECK(has_port(json_object_get(j, "ports"), port));
    char want[32];
    snprintf(want, sizeof want, "port %u", port);
    CHECK(strstr(json_string_value(json_object_get(j, "filter")), want));
    CHECK(json_integer_value(json_object_get(j, "filter_updates")) >= 1);
    json_t *pids = json_object_get(j, "pids");
    CHECK(json_array_size(pids) == 1 && json_integer_value(json_array_get(pids, 0)) == probe);
    CHECK(strstr(json_string_value(json_object_get(j, "summary")), "the probe's TCP"));
    json_decref(j);
    printf("OK: the probe's %d bytes counted (%lld), the unrelated %d bytes not (%lld seen as other_tcp)\n",
           PROBE_BYTES, (long long)payload, OTHER_BYTES, (long long)other_payload);

    /* a probe with more ports than the filter takes: back to "tcp", said */
    cap = pf_ncclpcap_start("lo", &err);
    CHECK(cap);
    int pp[2];
    CHECK(pipe(pp) == 0);
    pid_t many = fork();
    CHECK(many >= 0);
    if (many == 0) {
        close(pp[1]);
        for (int i = 0; i < PF_NCCLPCAP_FILTER_PORTS + 20; i++) {
            unsigned pt;
            if (listen_lo(&pt) < 0)
                _exit(1);
        }
        char x;
        _exit(read(pp[0], &x, 1) == 0 ? 0 : 1); /* hold them until the parent closes its end */
    }
    close(pp[0]);
    CHECK(pf_ncclpcap_watch_pid(cap, many, &err) == 0);
    usleep(400 * 1000); /* a few scans */
    close(pp[1]);
    int st = 0;
    waitpid(many, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    j = pf_ncclpcap_stop(cap);
    CHECK(json_integer_value(json_object_get(j, "ports_total")) == PF_NCCLPCAP_FILTER_PORTS + 20);
    CHECK(strcmp(json_string_value(json_object_get(j, "filter")), "tcp") == 0);
    CHECK(strstr(json_string_value(json_object_get(j, "filter_note")), "more than 256 ports"));
    json_decref(j);

    /* at most PF_NCCLPCAP_MAX_PIDS pids */
    cap = pf_ncclpcap_start("lo", &err);
    CHECK(cap);
    for (int i = 0; i < PF_NCCLPCAP_MAX_PIDS; i++)
        CHECK(pf_ncclpcap_watch_pid(cap, 999999, &err) == 0); /* no such process: watched, never found */
    CHECK(pf_ncclpcap_watch_pid(cap, 999999, &err) == -1 && strstr(err.msg, "64"));
    j = pf_ncclpcap_stop(cap);
    CHECK(json_array_size(json_object_get(j, "pids")) == 1 && json_array_size(json_object_get(j, "ports")) == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "filter")), "tcp") == 0);
    json_decref(j);
}

int main(void)
{
    test_parse();
    test_tcpline();
    test_portset();
    test_filter();
    pf_err err = {{0}};
    pf_ncclpcap *cap = pf_ncclpcap_start("nosuchif0", &err);
    if (!cap && (strstr(err.msg, "capture rights") || strstr(err.msg, "libpcap is not installed"))) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    CHECK(!cap && strstr(err.msg, "nosuchif0") && strstr(err.msg, "no such interface"));
    cap = pf_ncclpcap_start("lo,nosuchif0", &err);
    if (!cap) {
        printf("SKIP: %s\n", err.msg);
        return strstr(err.msg, "rights") ? 77 : 1;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0 &&
          getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    pthread_t th;
    pthread_create(&th, NULL, sink, NULL);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    static char buf[1 << 20];
    size_t total = 0;
    for (int i = 0; i < 8; i++) {
        ssize_t w = write(c, buf, sizeof buf);
        CHECK(w > 0);
        total += (size_t)w;
    }
    close(c);
    pthread_join(th, NULL);
    close(lfd);
    usleep(200 * 1000);
    json_t *j = pf_ncclpcap_stop(cap);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_t *lo = json_object_get(json_object_get(j, "interfaces"), "lo");
    CHECK(lo);
    json_int_t payload = json_integer_value(json_object_get(lo, "payload_bytes"));
    CHECK(payload >= (json_int_t)total);                   /* our 8 MiB, plus whatever else used lo */
    CHECK(json_integer_value(json_object_get(lo, "bytes")) > payload); /* headers counted on the wire */
    json_t *bad = json_object_get(json_object_get(j, "interfaces"), "nosuchif0");
    CHECK(bad && strstr(json_string_value(json_object_get(bad, "error")), "no such interface"));
    CHECK(strstr(json_string_value(json_object_get(j, "summary")), "over lo"));
    json_decref(j);
    printf("OK: %zu bytes sent, %lld payload bytes captured on lo\n", total, (long long)payload);
    test_watch();
    return 0;
}

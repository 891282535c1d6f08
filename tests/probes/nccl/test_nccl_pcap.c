/* test_nccl_pcap.c -- packet attribution on the loopback interface: real
 * libpcap, real TCP traffic, counted per interface; frame parsing on
 * crafted Ethernet/IPv4/IPv6 frames.  Exits 77 (skip) when this process may
 * not capture (not root, no CAP_NET_RAW) or libpcap is not installed, after
 * checking that the reason is said. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(void)
{
    test_parse();
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
    return 0;
}

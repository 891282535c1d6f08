/* NCCL interface selection (probes/nccl/nccl_ifsel.c) against NCCL's real
 * semantics: one row per case, with the result NCCL 2.27/2.28 produce for
 * that env and interface snapshot (src/misc/socket.cc findInterfaces,
 * src/misc/utils.cc parseStringList/matchIfList, src/bootstrap.cc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "net_fixture.h"
#include "probes/nccl/nccl_ifsel.h"

#define STD "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R docker0@172.17.0.1/16@R lo@::1/128@R eth0@fe80::5/64@R"

typedef struct row {
    const char *what;
    const char *ifname, *family, *comm_id, *comm_addr;
    int version;
    const char *snapshot;
    const char *want_socket;    /* "eth0,eth1"; "" none */
    const char *want_boot;      /* "eth0=10.0.0.5"; "" none */
    const char *want_stage;     /* NULL: don't care */
} row;

static const row rows[] = {
    {"unset: anything but docker/lo/virbr", NULL, NULL, NULL, NULL, 22809, STD, "eth0", "eth0=10.0.0.5",
     "^docker,lo,virbr"},
    {"unset: ib prefix wins", NULL, NULL, NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R ib0@10.1.0.5/16@R", "ib0", "ib0=10.1.0.5", "ib"},
    {"unset: only docker left", NULL, NULL, NULL, NULL, 22809, "lo@127.0.0.1/8@R docker0@172.17.0.1/16@R",
     "docker0", "docker0=172.17.0.1", "docker"},
    {"unset: only lo left", NULL, NULL, NULL, NULL, 22809, "lo@127.0.0.1/8@R", "lo", "lo=127.0.0.1", "lo"},
    {"unset 2.28: virbr after lo", NULL, NULL, NULL, NULL, 22809, "lo@127.0.0.1/8@R virbr0@192.168.122.1/24@R",
     "lo", "lo=127.0.0.1", "lo"},
    {"unset 2.27: virbr is 'anything else'", NULL, NULL, NULL, NULL, 22707,
     "lo@127.0.0.1/8@R virbr0@192.168.122.1/24@R", "virbr0", "virbr0=192.168.122.1", "^docker,lo"},
    {"2.28 skips a NIC without IFF_RUNNING", NULL, NULL, NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@U eth1@10.0.1.5/24@R", "eth1", "eth1=10.0.1.5", NULL},
    {"2.27 keeps a NIC without IFF_RUNNING", NULL, NULL, NULL, NULL, 22707,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@U eth1@10.0.1.5/24@R", "eth0,eth1", "eth0=10.0.0.5", NULL},
    {"unknown version: newest rules", NULL, NULL, NULL, NULL, 0,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@U eth1@10.0.1.5/24@R", "eth1", "eth1=10.0.1.5", NULL},
    {"one-character value is ignored", "e", NULL, NULL, NULL, 22809, STD, "eth0", "eth0=10.0.0.5",
     "^docker,lo,virbr"},
    {"empty value is ignored", "", NULL, NULL, NULL, 22809, STD, "eth0", "eth0=10.0.0.5", NULL},
    {"prefix", "eth", NULL, NULL, NULL, 22809,
     "eth0@10.0.0.5/24@R ethernet9@10.2.0.5/24@R xeth1@10.3.0.5/24@R", "eth0,ethernet9", "eth0=10.0.0.5", NULL},
    {"exact does not prefix-match", "=eth", NULL, NULL, NULL, 22809, STD, "", "", NULL},
    {":port suffix is ignored", "eth0:1234", NULL, NULL, NULL, 22809, STD, "eth0", "eth0=10.0.0.5", NULL},
    {"case-sensitive", "ETH0", NULL, NULL, NULL, 22809, STD, "", "", NULL},
    {"^= excludes one exact name (lo stays in!)", "^=docker0", NULL, NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R docker0@172.17.0.1/16@R docker1@172.18.0.1/16@R",
     "lo,eth0,docker1", "lo=127.0.0.1", NULL},
    {"=^ is a literal exact name", "=^eth0", NULL, NULL, NULL, 22809, STD, "", "", NULL},
    {"whitespace after comma is kept", "^lo, docker", NULL, NULL, NULL, 22809, STD, "eth0,docker0",
     "eth0=10.0.0.5", NULL},
    {"^lo also excludes lowpan0", "^lo", NULL, NULL, NULL, 22809,
     "lo@127.0.0.1/8@R lowpan0@10.9.0.1/24@R eth0@10.0.0.5/24@R", "eth0", "eth0=10.0.0.5", NULL},
    {"17th entry is never read", "=a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16,eth0", NULL, NULL, NULL,
     22809, STD, "", "", NULL},
    {"16th entry still counts", "=a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,eth0", NULL, NULL, NULL,
     22809, STD, "eth0", "eth0=10.0.0.5", NULL},
    {"IPv6-only NIC enters with fe80", NULL, NULL, NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R lo@::1/128@R eth1@fe80::7/64@R", "eth0,eth1", "eth0=10.0.0.5", NULL},
    {"AF_INET drops the IPv6-only NIC", NULL, "AF_INET", NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R lo@::1/128@R eth1@fe80::7/64@R", "eth0", "eth0=10.0.0.5", NULL},
    {"AF_INET6 takes v6 addresses (global first)", NULL, "AF_INET6", NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R lo@::1/128@R eth0@fd00::5/64@R eth0@fe80::5/64@R eth1@fe80::7/64@R",
     "eth0,eth1", "eth0=fd00::5", NULL},
    {"bad family spelling is not forced", NULL, "ipv4", NULL, NULL, 22809,
     "lo@127.0.0.1/8@R eth1@fe80::7/64@R", "eth1", "eth1=fe80::7", NULL},
    {"::1 is always skipped", "lo", "AF_INET6", NULL, NULL, 22809, "lo@127.0.0.1/8@R lo@::1/128@R", "", "", NULL},
    {"first address per interface", "eth0", NULL, NULL, NULL, 22809,
     "eth0@10.0.0.5/24@R eth0@10.0.0.6/24@R eth0@fe80::5/64@R", "eth0", "eth0=10.0.0.5", NULL},
    {"empty list matches everything", ",,", NULL, NULL, NULL, 22809, STD, "lo,eth0,docker0", "lo=127.0.0.1", NULL},
    {"^ with empty list matches nothing", "^,", NULL, NULL, NULL, 22809, STD, "", "", NULL},
    {"alias label is its own interface", "=eth0", NULL, NULL, NULL, 22809,
     "eth0@10.0.0.5/24@R eth0:1@10.0.0.9/24@R", "eth0", "eth0=10.0.0.5", NULL},
    {"prefix matches an alias label too", "eth0", NULL, NULL, NULL, 22809,
     "eth0@10.0.0.5/24@R eth0:1@10.0.0.9/24@R", "eth0,eth0:1", "eth0=10.0.0.5", NULL},
    {"COMM_ID subnet picks the bootstrap NIC", NULL, NULL, "10.0.1.1:29500", "10.0.1.1", 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth1@10.0.1.5/24@R", "eth1", "eth1=10.0.1.5", "NCCL_COMM_ID subnet"},
    {"COMM_ID bootstrap ignores NCCL_SOCKET_IFNAME", "=eth0", NULL, "10.0.1.1:29500", "10.0.1.1", 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth1@10.0.1.5/24@R", "eth0", "eth1=10.0.1.5", NULL},
    {"COMM_ID subnet ignores IFF_RUNNING", NULL, NULL, "10.0.1.1:29500", "10.0.1.1", 22809,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth1@10.0.1.5/24@D", "eth1", "eth1=10.0.1.5", NULL},
    {"COMM_ID in no local subnet", "=eth0", NULL, "10.9.9.9:1", "10.9.9.9", 22809,
     "eth0@10.0.0.5/24@R", "eth0", "", NULL},
};

static void join_socket(const pf_nccl_ifsel_out *o, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < o->nsocket; i++) {
        if (i)
            strncat(buf, ",", len - strlen(buf) - 1);
        strncat(buf, o->socket[i].name, len - strlen(buf) - 1);
    }
}

static void run_row(const row *r, pf_nccl_ifsel_out *out, pf_netif_set *s)
{
    memset(s, 0, sizeof *s);
    fixture_build(s, r->snapshot);
    pf_netif_addr ca;
    pf_nccl_ifsel_in in = {.socket_ifname = r->ifname, .socket_family = r->family, .comm_id = r->comm_id,
                           .nccl_version = r->version, .entries = s->entries, .nentries = s->nentries};
    if (r->comm_addr) {
        assert_int_equal(pf_netif_addr_parse(r->comm_addr, &ca), 0);
        in.comm_id_addr = &ca;
    }
    pf_nccl_ifsel(&in, out);
}

static void test_rows(void **state)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        pf_nccl_ifsel_out out;
        pf_netif_set s;
        run_row(r, &out, &s);
        char got[512], boot[128] = "";
        join_socket(&out, got, sizeof got);
        if (out.has_bootstrap)
            snprintf(boot, sizeof boot, "%s=%s", out.bootstrap.name, out.bootstrap.addr.ip);
        bool ok = strcmp(got, r->want_socket) == 0 && strcmp(boot, r->want_boot) == 0 &&
                  (!r->want_stage || strcmp(out.stage, r->want_stage) == 0);
        if (!ok) {
            fprintf(stderr, "row '%s': socket '%s' boot '%s' stage '%s'; wanted '%s' '%s' '%s'\n", r->what, got, boot,
                    out.stage, r->want_socket, r->want_boot, r->want_stage ? r->want_stage : "*");
            bad++;
        }
        pf_netif_set_free(&s);
    }
    assert_int_equal(bad, 0);
}

static void test_limit_16(void **state)
{
    char spec[4096] = "";
    for (int i = 0; i < 20; i++) {
        char item[64];
        snprintf(item, sizeof item, "%seth%d@10.0.%d.5/24@R", i ? " " : "", i, i);
        strcat(spec, item);
    }
    pf_netif_set s = {0};
    fixture_build(&s, spec);
    pf_nccl_ifsel_in in = {.socket_ifname = "eth", .nccl_version = 22809, .entries = s.entries, .nentries = s.nentries};
    pf_nccl_ifsel_out out;
    pf_nccl_ifsel(&in, &out);
    assert_int_equal(out.nsocket, 16);
    assert_string_equal(out.socket[15].name, "eth15");
    pf_netif_set_free(&s);
}

static void test_parse(void **state)
{
    pf_nccl_iflist l;
    pf_nccl_iflist_parse("^=docker0:80,lo", &l);
    assert_true(l.search_not);
    assert_true(l.search_exact);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.prefix[0], "docker0");
    assert_int_equal(l.port[0], 80);
    assert_int_equal(l.port[1], -1);
    pf_nccl_iflist_parse("=^eth", &l);
    assert_false(l.search_not);
    assert_true(l.search_exact);
    assert_string_equal(l.prefix[0], "^eth");
    pf_nccl_iflist_parse(":99,,eth0:", &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.prefix[0], "eth0");
    pf_nccl_iflist_parse("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &l);
    assert_int_equal(l.n, 16);
    assert_true(l.truncated);
    char longname[100];
    memset(longname, 'x', 80);
    longname[80] = '\0';
    pf_nccl_iflist_parse(longname, &l);
    assert_true(l.entry_too_long);
    assert_int_equal(strlen(l.prefix[0]), 63);
}

static void test_version_and_comm_id(void **state)
{
    assert_int_equal(pf_nccl_version_parse("2.28.9"), 22809);
    assert_int_equal(pf_nccl_version_parse("2.28.9-1"), 22809);
    assert_int_equal(pf_nccl_version_parse("2.27.7+cuda12.9"), 22707);
    assert_int_equal(pf_nccl_version_parse("(2, 26, 2)"), 22602);
    assert_int_equal(pf_nccl_version_parse("22809"), 22809);
    assert_int_equal(pf_nccl_version_parse("garbage"), 0);
    assert_int_equal(pf_nccl_version_parse(NULL), 0);
    char host[128], scope[32];
    int port;
    assert_int_equal(pf_nccl_comm_id_parse("10.0.0.1:29500", host, sizeof host, &port, scope, sizeof scope), 0);
    assert_string_equal(host, "10.0.0.1");
    assert_int_equal(port, 29500);
    assert_int_equal(pf_nccl_comm_id_parse("[fe80::1%eth0]:1234", host, sizeof host, &port, scope, sizeof scope), 0);
    assert_string_equal(host, "fe80::1");
    assert_string_equal(scope, "eth0");
    assert_int_equal(port, 1234);
    assert_int_equal(pf_nccl_comm_id_parse("x", host, sizeof host, &port, scope, sizeof scope), -1);
    assert_int_equal(pf_nccl_comm_id_parse("[fe80::1", host, sizeof host, &port, scope, sizeof scope), -1);
}

static void test_comm_id_invalid(void **state)
{
    pf_netif_set s = {0};
    fixture_build(&s, STD);
    pf_nccl_ifsel_in in = {.comm_id = "nosuchhost.invalid:1", .nccl_version = 22809, .entries = s.entries,
                           .nentries = s.nentries};
    pf_nccl_ifsel_out out;
    pf_nccl_ifsel(&in, &out);
    assert_true(out.comm_id_invalid);
    pf_net_verdict vd;
    pf_net_verdict_init(&vd);
    pf_nccl_ifsel_judge(&in, &out, &s, &vd);
    assert_int_equal(vd.status, PF_FAIL);
    assert_true(pf_net_verdict_has(&vd, "comm_id_invalid"));
    pf_net_verdict_free(&vd);
    pf_netif_set_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_limit_16),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_version_and_comm_id),
        cmocka_unit_test(test_comm_id_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

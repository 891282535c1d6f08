/* Verdicts of the network decisions: NCCL interface selection judged
 * against the inventory, the inventory itself, and Gloo's address.  Each
 * row is a situation seen on real clusters (docs/network.md cites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_fixture.h"
#include "probes/net/gloo.h"
#include "probes/nccl/nccl_ifsel.h"
#include "probes/net/net_checks.h"

#define SPARK "lo@127.0.0.1/8@R enP7s7@10.0.0.5/24@R enp1s0f1np1@169.254.35.62/16@R docker0@172.17.0.1/16@R " \
              "wlP9s9@192.168.1.20/24@R lo@::1/128@R enP7s7@fe80::5/64@R enp1s0f1np1@fe80::7/64@R " \
              "enp1s0f0np0@-@D"

typedef struct jrow {
    const char *what;
    const char *ifname, *family;
    const char *snapshot;
    pf_status want;
    const char *codes;          /* space-separated codes that must be present */
    const char *remedy_has;     /* substring of the remedy, NULL: no remedy expected */
} jrow;

static const jrow jrows[] = {
    {"exact LAN NIC", "=enP7s7", NULL, SPARK, PF_PASS, "", NULL},
    {"exclusion list takes wifi, CX-7 link-local, fe80-only", "^lo,docker", NULL, SPARK, PF_WARN,
     "exclusion_list multiple wireless link_local", "NCCL_SOCKET_IFNAME==enP7s7"},
    {"docker prefix picks the shared bridge", "docker", NULL, SPARK, PF_WARN, "virtual shared_address",
     "NCCL_SOCKET_IFNAME==enP7s7"},
    {"nothing matches", "=enp1s0f0np0", NULL, SPARK, PF_FAIL, "no_interface matched_unusable", "NCCL_SOCKET_IFNAME==enP7s7"},
    {"case", "ENP7S7", NULL, SPARK, PF_FAIL, "case_mismatch no_interface", NULL},
    {"space after comma", "=enP7s7, docker0", NULL, SPARK, PF_WARN, "whitespace", NULL},
    {"=^ literal", "=^docker0", NULL, SPARK, PF_FAIL, "no_interface", NULL},
    {"^ in a later entry", "=enP7s7,^docker0", NULL, SPARK, PF_WARN, "literal_caret unmatched_entry", NULL},
    {"one character", "e", NULL, SPARK, PF_WARN, "short_value", NULL},
    {"bad family", "=enP7s7", "INET", SPARK, PF_WARN, "bad_family", "NCCL_SOCKET_FAMILY=AF_INET"},
    {"port suffix noted only", "=enP7s7:5000", NULL, SPARK, PF_PASS, "port_ignored", NULL},
    {"fe80-only NIC in the list", "=enP7s7,enp1s0f1np1", NULL,
     "lo@127.0.0.1/8@R enP7s7@10.0.0.5/24@R lo@::1/128@R enp1s0f1np1@fe80::7/64@R", PF_WARN, "link_local",
     "NCCL_SOCKET_FAMILY=AF_INET"},
    {"automatic on a clean node", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", PF_PASS, "automatic", NULL},
    {"automatic picks wifi and LAN", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R wlan0@192.168.1.3/24@R",
     PF_WARN, "multiple wireless", "NCCL_SOCKET_IFNAME==eth0"},
    {"Jetson l4tbr0 address", NULL, NULL, "lo@127.0.0.1/8@R l4tbr0@192.168.55.1/24@R", PF_WARN,
     "shared_address virtual", "NCCL_SOCKET_IFNAME==<iface>"},
    {"veth and tailscale decoys excluded by exact name", "=eth0", NULL,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R veth1a@10.9.0.1/24@R tailscale0@100.64.0.7/32@R", PF_PASS, "", NULL},
    {"pod: a veth is all this node has (the pair tests decide)", NULL, NULL,
     "lo@127.0.0.1/8@R veth0@10.244.1.5/24@R", PF_PASS, "virtual", NULL},
    {"a veth next to a hardware NIC is still warned about", "veth", NULL,
     "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R veth0@10.244.1.5/24@R", PF_WARN, "virtual", "NCCL_SOCKET_IFNAME==eth0"},
    {"tailscale picked automatically", NULL, NULL, "lo@127.0.0.1/8@R tailscale0@100.64.0.7/32@R", PF_WARN,
     "virtual", NULL},
    {"lo only", NULL, NULL, "lo@127.0.0.1/8@R", PF_WARN, "loopback", NULL},
    {"17 entries", "=a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16,eth0", NULL,
     "eth0@10.0.0.5/24@R", PF_FAIL, "truncated no_interface", NULL},
};

static bool has_all(const pf_net_verdict *vd, const char *codes)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", codes);
    for (char *save = NULL, *c = strtok_r(buf, " ", &save); c; c = strtok_r(NULL, " ", &save))
        if (!pf_net_verdict_has(vd, c)) {
            fprintf(stderr, "  missing code %s\n", c);
            return false;
        }
    return true;
}

static void dump(const pf_net_verdict *vd)
{
    for (size_t i = 0; i < vd->n; i++)
        fprintf(stderr, "  [%s] %s: %s\n", pf_status_name(vd->v[i].sev), vd->v[i].code, vd->v[i].msg);
}

static void test_ifsel_judge(void **state)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof jrows / sizeof jrows[0]; i++) {
        const jrow *r = &jrows[i];
        pf_netif_set s = {0};
        fixture_build(&s, r->snapshot);
        pf_nccl_ifsel_in in = {.socket_ifname = r->ifname, .socket_family = r->family, .nccl_version = 22809,
                               .entries = s.entries, .nentries = s.nentries};
        pf_nccl_ifsel_out out;
        pf_nccl_ifsel(&in, &out);
        pf_net_verdict vd;
        pf_net_verdict_init(&vd);
        pf_nccl_ifsel_judge(&in, &out, &s, &vd);
        char *rem = pf_net_verdict_remedy_text(&vd);
        if (getenv("NET_TEST_VERBOSE")) {
            fprintf(stderr, "row '%s': %s; remedy: %s\n", r->what, pf_status_name(vd.status), rem ? rem : "-");
            dump(&vd);
        }
        bool ok = vd.status == r->want && has_all(&vd, r->codes) &&
                  (!r->remedy_has || (rem && strstr(rem, r->remedy_has)));
        if (!ok) {
            fprintf(stderr, "row '%s': status %s (want %s), remedy '%s'\n", r->what, pf_status_name(vd.status),
                    pf_status_name(r->want), rem ? rem : "(none)");
            dump(&vd);
            bad++;
        }
        free(rem);
        pf_net_verdict_free(&vd);
        pf_netif_set_free(&s);
    }
    assert_int_equal(bad, 0);
}

static void test_interfaces_judge(void **state)
{
    struct {
        const char *snap;
        pf_status want;
        const char *codes;
    } rows[] = {
        {"lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", PF_PASS, ""},
        {"lo@127.0.0.1/8@R", PF_FAIL, "no_network"},
        {"lo@127.0.0.1/8@R eth0@10.0.0.5/24@D", PF_FAIL, "no_network"},
        {"lo@127.0.0.1/8@R docker0@172.17.0.1/16@R wlan0@192.168.1.3/24@R", PF_WARN, "no_hardware_nic"},
        {"lo@127.0.0.1/8@R enp1s0f1np1@10.0.0.5/24@R enP2p1s0f1np1@10.0.0.6/24@R", PF_WARN, "same_subnet"},
        {"lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth1@10.0.1.5/24@R", PF_PASS, ""},
        {"lo@127.0.0.1/8@R eth0@10.0.0.5/16@R eth1@10.0.1.5/24@R", PF_WARN, "same_subnet"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_netif_set s = {0};
        fixture_build(&s, rows[i].snap);
        pf_net_verdict vd;
        pf_net_verdict_init(&vd);
        pf_net_interfaces_judge(&s, NULL, &vd);
        if (vd.status != rows[i].want || !has_all(&vd, rows[i].codes)) {
            fprintf(stderr, "inventory '%s': %s\n", rows[i].snap, pf_status_name(vd.status));
            dump(&vd);
            bad++;
        }
        pf_net_verdict_free(&vd);
        pf_netif_set_free(&s);
    }
    assert_int_equal(bad, 0);
}

static pf_gloo_facts host_resolving(const char *hostname, const char *ip, bool bindable)
{
    pf_gloo_facts h;
    memset(&h, 0, sizeof h);
    snprintf(h.hostname, sizeof h.hostname, "%s", hostname);
    if (ip) {
        pf_netif_addr_parse(ip, &h.res[0].addr);
        h.res[0].bindable = bindable;
        h.nres = 1;
    } else {
        h.gai_rc = -2;
        snprintf(h.gai_error, sizeof h.gai_error, "Name or service not known");
    }
    return h;
}

static void test_gloo(void **state)
{
    struct {
        const char *what, *gloo, *tp, *snap, *host_ip;
        bool bindable;
        pf_status want;
        const char *codes, *remedy_has;
    } rows[] = {
        {"hosts trap", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", "127.0.1.1", true, PF_FAIL,
         "hostname_loopback", "GLOO_SOCKET_IFNAME=eth0"},
        {"hostname resolves to the LAN", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", "10.0.0.5", true,
         PF_PASS, "", NULL},
        {"hostname does not resolve", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", NULL, false, PF_FAIL,
         "unresolvable", "/etc/hosts"},
        {"resolves but not bindable (stale DNS)", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", "10.9.9.9",
         false, PF_FAIL, "unbindable", NULL},
        {"resolves to docker0", NULL, NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R docker0@172.17.0.1/16@R",
         "172.17.0.1", true, PF_WARN, "virtual shared_address", NULL},
        {"good ifname", "eth0", NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", "127.0.1.1", true, PF_PASS, "", NULL},
        {"NCCL syntax in GLOO_SOCKET_IFNAME", "^lo,docker", NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", NULL,
         false, PF_FAIL, "missing nccl_syntax", "GLOO_SOCKET_IFNAME=eth0"},
        {"missing on this node (Thor)", "enp1s0f0np0", NULL, "lo@127.0.0.1/8@R eno1@10.0.0.9/24@R", NULL, false,
         PF_FAIL, "missing", "GLOO_SOCKET_IFNAME=eno1"},
        {"down Spark port", "enp1s0f0np0", NULL,
         "lo@127.0.0.1/8@R enP7s7@10.0.0.5/24@R enp1s0f0np0@169.254.3.4/16@D", NULL, false, PF_FAIL,
         "not_running link_local", NULL},
        {"exists without address", "enp1s0f0np0", NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R enp1s0f0np0@-@R",
         NULL, false, PF_FAIL, "no_address", NULL},
        {"fe80 only", "eth1", NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth1@fe80::1/64@R", NULL, false, PF_FAIL,
         "link_local", NULL},
        {"doubled comma", "eth0,,eth1", NULL, "eth0@10.0.0.5/24@R eth1@10.0.1.5/24@R", NULL, false, PF_FAIL,
         "empty_entry", NULL},
        {"trailing comma is harmless", "eth0,", NULL, "eth0@10.0.0.5/24@R", NULL, false, PF_PASS, "", NULL},
        {"one character ignored", "e", NULL, "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R", "10.0.0.5", true, PF_WARN,
         "short_value", NULL},
        {"TP_SOCKET_IFNAME missing", "eth0", "eth9", "eth0@10.0.0.5/24@R", NULL, false, PF_FAIL, "tp_missing", NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_netif_set s = {0};
        fixture_build(&s, rows[i].snap);
        pf_gloo_facts h = host_resolving("spark1", rows[i].host_ip, rows[i].bindable);
        pf_gloo_in in = {.gloo_ifname = rows[i].gloo, .tp_ifname = rows[i].tp, .host = &h, .ifs = &s};
        pf_gloo_out out;
        pf_net_verdict vd;
        pf_net_verdict_init(&vd);
        pf_gloo_decide(&in, &out, &vd);
        char *rem = pf_net_verdict_remedy_text(&vd);
        if (vd.status != rows[i].want || !has_all(&vd, rows[i].codes) ||
            (rows[i].remedy_has && (!rem || !strstr(rem, rows[i].remedy_has)))) {
            fprintf(stderr, "gloo row '%s': %s remedy '%s'\n", rows[i].what, pf_status_name(vd.status),
                    rem ? rem : "(none)");
            dump(&vd);
            bad++;
        }
        free(rem);
        pf_net_verdict_free(&vd);
        pf_gloo_facts_free(&h);
        pf_netif_set_free(&s);
    }
    assert_int_equal(bad, 0);
}

static void test_classify(void **state)
{
    struct {
        const char *name, *driver, *devtype;
        bool dev, bridge, wireless, tun;
        int type;
        const char *kind;
        bool virt;
    } rows[] = {
        {"lo", "", "", false, false, false, false, 772, "loopback", true},
        {"enp1s0f1np1", "mlx5_core", "", true, false, false, false, 1, "physical", false},
        {"docker0", "bridge", "bridge", false, true, false, false, 1, "docker", true},
        {"br-0123456789ab", "bridge", "bridge", false, true, false, false, 1, "docker", true},
        {"br0", "bridge", "bridge", false, true, false, false, 1, "bridge", true},
        {"virbr0", "bridge", "bridge", false, true, false, false, 1, "virbr", true},
        {"l4tbr0", "bridge", "bridge", false, true, false, false, 1, "l4tbr", true},
        {"veth12ab", "veth", "", false, false, false, false, 1, "veth", true},
        {"eth0", "veth", "", false, false, false, false, 1, "veth", true}, /* a container's eth0 */
        {"tailscale0", "tun", "", false, false, false, true, 65534, "tailscale", true},
        {"wg0", "wireguard", "wireguard", false, false, false, false, 65534, "wireguard", true},
        {"wlP9s9", "mt7925e", "wlan", true, false, true, false, 1, "wireless", false},
        {"ib0", "mlx5_core", "", true, false, false, false, 32, "ipoib", false},
        {"eth0.100", "802.1Q VLAN Support", "vlan", false, false, false, false, 1, "vlan", false},
        {"dummy0", "dummy", "", false, false, false, false, 1, "virtual", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_netif n;
        memset(&n, 0, sizeof n);
        snprintf(n.name, sizeof n.name, "%s", rows[i].name);
        snprintf(n.driver, sizeof n.driver, "%s", rows[i].driver);
        snprintf(n.devtype, sizeof n.devtype, "%s", rows[i].devtype);
        n.has_device = rows[i].dev;
        n.sys_bridge = rows[i].bridge;
        n.sys_wireless = rows[i].wireless;
        n.sys_tun = rows[i].tun;
        n.arphrd = rows[i].type;
        pf_netif_classify(&n);
        if (strcmp(n.kind, rows[i].kind) != 0 || n.is_virtual != rows[i].virt)
            fail_msg("%s: kind %s virtual %d, wanted %s %d", rows[i].name, n.kind, n.is_virtual, rows[i].kind,
                     rows[i].virt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ifsel_judge),
        cmocka_unit_test(test_interfaces_judge),
        cmocka_unit_test(test_gloo),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

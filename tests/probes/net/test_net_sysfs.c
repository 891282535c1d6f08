/* The sysfs collectors (probes/net/netif.c, probes/net/rdma.c) on a fake tree laid
 * out like a DGX Spark's /sys, plus the live collector on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testfix.h"
#include "probes/net/netif.h"
#include "probes/net/rdma.h"


static void link_to(const char *target, const char *rel)
{
    assert_int_equal(symlink(target, tf_path(rel)), 0);
}

static void build_tree(void)
{
    assert_int_equal(tf_tmpdir_create("sysfs"), 0);
    /* A CX-7 port: PCI device with mlx5_core, RoCE device rocep1s0f1 on it. */
    tf_mkdirs("devices/pci0000:00/0000:01:00.1/net/enp1s0f1np1");
    tf_mkdirs("bus/pci/drivers/mlx5_core");
    link_to("../../../bus/pci/drivers/mlx5_core", "devices/pci0000:00/0000:01:00.1/driver");
    tf_mkdirs("class/net/enp1s0f1np1");
    link_to("../../../devices/pci0000:00/0000:01:00.1", "class/net/enp1s0f1np1/device");
    tf_put("class/net/enp1s0f1np1/operstate", "up\n");
    tf_put("class/net/enp1s0f1np1/carrier", "1\n");
    tf_put("class/net/enp1s0f1np1/speed", "200000\n");
    tf_put("class/net/enp1s0f1np1/mtu", "9000\n");
    tf_put("class/net/enp1s0f1np1/type", "1\n");
    tf_put("class/net/enp1s0f1np1/ifindex", "5\n");
    tf_put("class/net/enp1s0f1np1/address", "4c:bb:47:00:00:01\n");
    tf_put("class/net/enp1s0f1np1/uevent", "INTERFACE=enp1s0f1np1\nIFINDEX=5\n");
    tf_mkdirs("class/infiniband/rocep1s0f1/ports/1");
    link_to("../../../devices/pci0000:00/0000:01:00.1", "class/infiniband/rocep1s0f1/device");
    tf_put("class/infiniband/rocep1s0f1/node_type", "1: CA\n");
    tf_put("class/infiniband/rocep1s0f1/ports/1/state", "4: ACTIVE\n");
    tf_put("class/infiniband/rocep1s0f1/ports/1/phys_state", "5: LinkUp\n");
    tf_put("class/infiniband/rocep1s0f1/ports/1/link_layer", "Ethernet\n");
    tf_put("class/infiniband/rocep1s0f1/ports/1/rate", "200 Gb/sec (4X HDR)\n");
    /* Soft RoCE on a LAN NIC, port down; ports/2 is unreadable garbage. */
    tf_mkdirs("class/infiniband/rxe0/ports/1");
    tf_put("class/infiniband/rxe0/parent", "eno1\n");
    tf_put("class/infiniband/rxe0/ports/1/state", "1: DOWN\n");
    tf_put("class/infiniband/rxe0/ports/1/link_layer", "Ethernet\n");
    tf_mkdirs("class/infiniband/rxe0/ports/2");
    /* docker0: a bridge, down, carrier unreadable (the kernel refuses it). */
    tf_mkdirs("class/net/docker0/bridge");
    tf_put("class/net/docker0/operstate", "down\n");
    tf_put("class/net/docker0/mtu", "1500\n");
    tf_put("class/net/docker0/type", "1\n");
    tf_put("class/net/docker0/uevent", "DEVTYPE=bridge\nINTERFACE=docker0\n");
    /* wifi and tailscale */
    tf_mkdirs("class/net/wlP9s9/wireless");
    link_to("../../../devices/pci0000:00/0000:01:00.1", "class/net/wlP9s9/device");
    tf_put("class/net/wlP9s9/operstate", "up\n");
    tf_put("class/net/wlP9s9/uevent", "DEVTYPE=wlan\nINTERFACE=wlP9s9\n");
    tf_put("class/net/tailscale0/tun_flags", "0x1002\n");
    tf_put("class/net/tailscale0/operstate", "unknown\n");
    tf_put("class/net/tailscale0/speed", "-1\n");
    tf_put("class/net/eno1/operstate", "up\n");
}

static void test_fake_tree(void **state)
{
    build_tree();
    pf_netif_set s;
    memset(&s, 0, sizeof s);
    const char *names[] = {"enp1s0f1np1", "docker0", "wlP9s9", "tailscale0", "eno1", "ghost0", "enp1s0f1np1:1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        pf_netif_read_sysfs(tf_tmpdir(), pf_netif_set_add(&s, names[i]), &s.notes);
    pf_netif_map_rdma(tf_tmpdir(), &s, &s.notes);
    for (size_t i = 0; i < s.n; i++)
        pf_netif_classify(&s.ifs[i]);

    const pf_netif *cx = pf_netif_find(&s, "enp1s0f1np1");
    assert_string_equal(cx->operstate, "up");
    assert_int_equal(cx->carrier, 1);
    assert_int_equal(cx->speed_mbps, 200000);
    assert_int_equal(cx->mtu, 9000);
    assert_int_equal(cx->ifindex, 5);
    assert_string_equal(cx->driver, "mlx5_core");
    assert_string_equal(cx->rdma_dev, "rocep1s0f1");
    assert_string_equal(cx->kind, "physical");
    assert_string_equal(cx->mac, "4c:bb:47:00:00:01");

    const pf_netif *d = pf_netif_find(&s, "docker0");
    assert_int_equal(d->carrier, -1);
    assert_int_equal(d->speed_mbps, -1);
    assert_string_equal(d->devtype, "bridge");
    assert_string_equal(d->kind, "docker");
    assert_true(d->is_virtual);

    assert_string_equal(pf_netif_find(&s, "wlP9s9")->kind, "wireless");
    assert_string_equal(pf_netif_find(&s, "tailscale0")->kind, "tailscale");
    assert_int_equal(pf_netif_find(&s, "tailscale0")->speed_mbps, -1);
    assert_string_equal(pf_netif_find(&s, "eno1")->rdma_dev, "rxe0");
    /* an alias label reads its base device */
    assert_int_equal(pf_netif_find(&s, "enp1s0f1np1:1")->mtu, 9000);
    /* the vanished interface is a note, not a failure */
    bool noted = false;
    for (size_t i = 0; i < s.notes.n; i++)
        noted |= strstr(s.notes.v[i], "ghost0") != NULL;
    assert_true(noted);

    pf_rdma_set r;
    pf_rdma_scan(tf_tmpdir(), &r);
    assert_true(r.class_present);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0].name, "rocep1s0f1");
    assert_string_equal(r.v[0].driver, "mlx5_core");
    assert_int_equal(r.v[0].nports, 1);
    assert_int_equal(r.v[0].ports[0].state_code, 4);
    assert_string_equal(r.v[0].ports[0].link_layer, "Ethernet");
    assert_true(pf_rdma_port_usable(&r.v[0].ports[0]));
    assert_string_equal(r.v[1].name, "rxe0");
    assert_false(pf_rdma_port_usable(&r.v[1].ports[0]));
    assert_int_equal(pf_rdma_usable_ports(&r), 1);
    assert_true(r.notes.n >= 1); /* rxe0 port 2 has no state file */
    json_t *j = pf_rdma_to_json(&r);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    pf_rdma_set_free(&r);
    pf_netif_set_free(&s);

    assert_int_equal(tf_tmpdir_remove(), 0);
}

static void test_no_rdma_class(void **state)
{
    pf_rdma_set r;
    pf_rdma_scan("/nonexistent-sysfs-root", &r);
    assert_false(r.class_present);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.notes.n, 0);
    pf_rdma_set_free(&r);
}

/* The live collector on this machine: loopback is always there. */
static void test_live(void **state)
{
    pf_netif_set s;
    pf_err err;
    assert_int_equal(pf_netif_collect(NULL, &s, &err), 0);
    const pf_netif *lo = pf_netif_find(&s, "lo");
    assert_non_null(lo);
    assert_string_equal(lo->kind, "loopback");
    assert_true(lo->ifindex > 0);
    /* addresses appear in the ordered list exactly as on their interface */
    size_t total = 0;
    for (size_t i = 0; i < s.n; i++)
        total += s.ifs[i].naddrs + s.ifs[i].addrs_dropped;
    assert_int_equal(total, s.nentries);
    /* IPv4 entries come before IPv6 ones (the kernel's dump order NCCL relies on) */
    bool seen6 = false;
    for (size_t i = 0; i < s.nentries; i++) {
        if (s.entries[i].addr.family == 6)
            seen6 = true;
        else if (seen6)
            fail_msg("IPv4 entry %s after an IPv6 one", s.entries[i].name);
    }
    json_t *j = pf_netif_set_to_json(&s);
    assert_int_equal(json_array_size(j), s.n);
    json_decref(j);
    pf_netif_set_free(&s);
}

static void test_addr(void **state)
{
    pf_netif_addr a;
    assert_int_equal(pf_netif_addr_parse("169.254.35.62", &a), 0);
    assert_true(a.link_local);
    assert_int_equal(pf_netif_addr_parse("fe80::1", &a), 0);
    assert_true(a.link_local);
    assert_int_equal(a.family, 6);
    assert_int_equal(pf_netif_addr_parse("127.0.1.1", &a), 0);
    assert_true(a.loopback);
    assert_int_equal(pf_netif_addr_parse("::1", &a), 0);
    assert_true(a.loopback);
    assert_int_equal(pf_netif_addr_parse("10.0.0.1.5", &a), -1);
    pf_netif_addr l, r;
    pf_netif_addr_parse("10.0.1.5", &l);
    memset(l.mask, 0, sizeof l.mask);
    l.mask[0] = l.mask[1] = l.mask[2] = 0xff;
    pf_netif_addr_parse("10.0.1.200", &r);
    assert_true(pf_netif_addr_same_subnet(&l, &r));
    pf_netif_addr_parse("10.0.2.1", &r);
    assert_false(pf_netif_addr_same_subnet(&l, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_tree),
        cmocka_unit_test(test_no_rdma_class),
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

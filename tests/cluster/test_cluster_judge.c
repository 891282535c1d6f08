/* test_cluster_judge.c -- table tests of the cross-node deciders, one row per
 * real case, on node records captured on real machines (vm.json: this
 * development machine; h100.json: the GPU machine's GPU list) and edited
 * copies for what no machine here has (tests/cluster/data/make_fixtures.py
 * lists every edit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/judge.h"
#include "core/record.h"

#define DATA PF_SOURCE_DIR "/tests/cluster/data/"

typedef struct expect_t {
    const char *id, *node, *peer; /* node NULL: cluster-wide */
    pf_status st;
    const char *text; /* must appear in the summary or the remedy */
} expect_t;

typedef struct row_t {
    const char *name;
    const char *files[6];
    const char *pairs;   /* file under data/, or NULL */
    const char *ray;     /* JSON text, or NULL */
    const char *cluster; /* JSON text, or NULL */
    expect_t ex[12];
} row_t;

static const row_t rows[] = {
    {"no node joined (every launcher failed): nothing to compare, never a pass over nobody",
     {NULL}, NULL, NULL, "{\"expected\": [\"evil\"], \"join_errors\": {\"evil\": \"sh exited 3\"}}",
     {{"cluster.nodes", NULL, NULL, PF_FAIL, "evil"},
      {"cluster.transport", NULL, NULL, PF_SKIP, "no node is in the run"},
      {"cluster.drift", NULL, NULL, PF_SKIP, "no node is in the run"}}},
    {"one real node (this machine): nothing cross-node to fail",
     {"vm.json"}, NULL, NULL, NULL,
     {{"cluster.nodes", NULL, NULL, PF_WARN, "no GPU visible on vm"},
      {"cluster.transport", NULL, NULL, PF_PASS, "NET/Socket"},
      {"cluster.drift", NULL, NULL, PF_PASS, "agree on all 1 nodes"},
      {"cluster.hosthash", NULL, NULL, PF_PASS, "1 distinct"},
      {"cluster.memory", NULL, NULL, PF_SKIP, "--model"},
      {"cluster.ray", NULL, NULL, PF_SKIP, "Ray"},
      {"cluster.reach", NULL, NULL, PF_SKIP, "one node"}}},
    {"2x Spark + 2x Thor: mixed architectures named; thor2 too small for stage 3",
     {"spark1.json", "spark2.json", "thor1.json", "thor2.json"}, "pairs-ok.json", NULL, NULL,
     {{"cluster.nodes", NULL, NULL, PF_PASS, "CC 12.1 (spark1, spark2), CC 11.0 (thor1, thor2)"},
      {"cluster.memory", NULL, NULL, PF_FAIL, "thor2 (stage 3: 15.6 GiB of weights, 11.9 GiB static pool)"},
      {"cluster.reach", "spark1", "thor1", PF_PASS, "192.168.100.3 ok 0.21/0.25 ms"},
      {"cluster.bandwidth", "spark1", "thor1", PF_PASS, "94% of the slower end's 10 Gbit/s"},
      {"cluster.mtu", "spark1", "thor1", PF_WARN, "ip link set enp1s0f0np0 mtu 1500 on spark1"},
      {"cluster.mtu", "spark1", "spark2", PF_PASS, "path MTU 9000"},
      {"cluster.ports", "thor1", "spark1", PF_PASS, "6379 (ray-gcs) open"},
      {"cluster.gloo", "spark2", "spark1", PF_PASS, "reaches spark1"},
      {"cluster.transport", NULL, NULL, PF_PASS, "NET/Socket"}}},
    {"one Spark on IB, the others on Socket: wrong type 3 != 4",
     {"spark1-ib.json", "spark2.json", "thor1.json"}, NULL, NULL, NULL,
     {{"cluster.transport", NULL, NULL, PF_FAIL, "wrong type 3 != 4"},
      {"cluster.transport", NULL, NULL, PF_FAIL, "NCCL_IB_DISABLE=1 (or NCCL_NET=Socket) on every node (spark1, spark2, thor1)"}}},
    {"cloned Spark: same hostname and boot_id",
     {"spark1.json", "spark2-clone.json"}, NULL, NULL, NULL,
     {{"cluster.hosthash", NULL, NULL, PF_FAIL, "spark1, spark2 share the NCCL host hash input"},
      {"cluster.hosthash", NULL, NULL, PF_FAIL, "NCCL_HOSTID"}}},
    {"Thor with an older NCCL, a torch patch behind and its own NCCL_PROTO",
     {"spark1.json", "spark2.json", "thor1-drift.json"}, NULL, NULL, NULL,
     {{"cluster.drift", NULL, NULL, PF_FAIL, "libnccl.version differs: 2.28.9 on spark1, spark2 vs 2.27.7 on thor1"},
      {"cluster.drift", NULL, NULL, PF_FAIL, "env.NCCL_PROTO differs"},
      {"cluster.drift", NULL, NULL, PF_FAIL, "Mismatched NCCL version"}}},
    {"faults: filtered, firewall-refused port, switch MTU, slow link, Gloo 127.0.1.1, a node that never joined",
     {"spark1.json", "spark2.json", "thor1-trap.json", "thor2.json"}, "pairs-faults.json", NULL,
     "{\"expected\":[\"spark1\",\"spark2\",\"thor1\",\"thor2\",\"thor3\"],"
     "\"join_errors\":{\"thor3\":\"did not join within 20 s: ssh: connect to host thor3 port 22: Connection timed out\"}}",
     {{"cluster.nodes", NULL, NULL, PF_FAIL, "thor3 did not join within 20 s: ssh: connect to host thor3"},
      {"cluster.reach", "spark1", "thor2", PF_FAIL, "192.168.100.4 (mgbe0_0 on thor2) filtered"},
      {"cluster.reach", "spark1", "thor2", PF_FAIL, "reached from spark2, thor1"},
      {"cluster.reach", "spark2", "thor2", PF_PASS, "ok"},
      {"cluster.ports", "spark2", "thor2", PF_FAIL, "6379 (ray-gcs) refused although a listener was open"},
      {"cluster.mtu", "spark1", "spark2", PF_FAIL, "both ends allow 9000 but only 1500 passes"},
      {"cluster.bandwidth", "spark1", "thor1", PF_WARN, "20% of the slower end's 10 Gbit/s"},
      {"cluster.bandwidth", "thor2", "thor1", PF_WARN, "1 of them were still delivering queued data"},
      {"cluster.gloo", "spark1", "thor1", PF_FAIL, "thor1 advertises a loopback address to Gloo (127.0.1.1)"},
      {"cluster.gloo", "thor2", "thor1", PF_FAIL, "On thor1 set GLOO_SOCKET_IFNAME"},
      {"cluster.gloo", "thor2", "spark1", PF_PASS, "reaches spark1"}}},
    {"Ray: thor1 advertised on docker0, thor2 without GPUs, a node missing",
     {"spark1.json", "spark2.json", "thor1.json", "thor2.json"}, NULL,
     "{\"nodes\":[{\"Alive\":true,\"NodeManagerAddress\":\"192.168.100.1\",\"Resources\":{\"GPU\":1}},"
     "{\"Alive\":true,\"NodeManagerAddress\":\"172.17.0.1\",\"Resources\":{\"GPU\":1}},"
     "{\"Alive\":true,\"NodeManagerAddress\":\"192.168.100.4\",\"Resources\":{\"CPU\":8}},"
     "{\"Alive\":false,\"NodeManagerAddress\":\"192.168.100.2\",\"Resources\":{}}]}",
     NULL,
     {{"cluster.ray", NULL, NULL, PF_FAIL, "Ray advertises spark1 at 172.17.0.1 (docker0)"},
      {"cluster.ray", NULL, NULL, PF_FAIL, "Ray counts 0 GPU on thor2, the agent found 1"},
      {"cluster.ray", NULL, NULL, PF_FAIL, "Ray sees 3 alive nodes, 4 agents joined"}}},
    {"Ray healthy",
     {"spark1.json", "thor1.json"}, NULL,
     "{\"nodes\":[{\"Alive\":true,\"NodeManagerAddress\":\"192.168.100.1\",\"Resources\":{\"GPU\":1}},"
     "{\"Alive\":true,\"NodeManagerAddress\":\"192.168.100.3\",\"Resources\":{\"GPU\":1}}]}",
     NULL,
     {{"cluster.ray", NULL, NULL, PF_PASS, "Ray sees the 2 nodes"}}},
    {"the H100 machine next to this CPU-only one",
     {"h100.json", "vm.json"}, NULL, NULL, NULL,
     {{"cluster.nodes", NULL, NULL, PF_WARN, "no GPU visible on vm"},
      {"cluster.nodes", NULL, NULL, PF_WARN, "all CC 9.0"}}},
    {"--only net.interfaces on a GPU machine: gpu.driver did not run, not 'no GPU'",
     {"gpu1-net-only.json"}, NULL, NULL, NULL,
     {{"cluster.nodes", NULL, NULL, PF_SKIP, "gpu.driver did not run on gpu1"}}},
    {"a GPU node next to one that skipped gpu.driver: the latter named, no 'no GPU'",
     {"h100.json", "gpu1-net-only.json"}, NULL, NULL, NULL,
     {{"cluster.nodes", NULL, NULL, PF_SKIP, "2 of 2 nodes joined, all CC 9.0; gpu.driver did not run on gpu1"}}},
};

static const pf_check *find(const pf_run *run, const expect_t *e)
{
    for (size_t i = 0; i < pf_run_check_count(run); i++) {
        const pf_check *c = pf_run_check(run, i);
        const pf_node *n = pf_check_node(c), *p = pf_check_peer(c);
        if (strcmp(pf_check_id(c), e->id))
            continue;
        if ((e->node == NULL) != (n == NULL) || (n && strcmp(pf_node_name(n), e->node)))
            continue;
        if ((e->peer == NULL) != (p == NULL) || (p && strcmp(pf_node_name(p), e->peer)))
            continue;
        return c;
    }
    return NULL;
}

static json_t *load_json(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, DATA "%s", file);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static void test_rows(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const row_t *row = &rows[r];
        pf_run *run = pf_run_new(0, NULL);
        for (size_t f = 0; f < 6 && row->files[f]; f++) {
            char path[512];
            snprintf(path, sizeof path, DATA "%s", row->files[f]);
            pf_err err = {{0}};
            pf_run *one = pf_run_load(path, &err);
            if (!one)
                fail_msg("%s", err.msg);
            if (pf_run_merge(run, one, &err) != 0)
                fail_msg("merge %s: %s", path, err.msg);
            pf_run_free(one);
        }
        if (row->pairs)
            pf_run_set_section(run, "pairs", load_json(row->pairs));
        if (row->ray)
            pf_run_set_section(run, "ray", json_loads(row->ray, 0, NULL));
        if (row->cluster)
            pf_run_set_section(run, "cluster", json_loads(row->cluster, 0, NULL));
        pf_cluster_judge(run, NULL);
        /* Every cluster check decided something: none left "not evaluated". */
        for (size_t i = 0; i < pf_run_check_count(run); i++) {
            const pf_check *c = pf_run_check(run, i);
            if (!strncmp(pf_check_id(c), "cluster.", 8) && !strcmp(pf_check_summary(c), "not evaluated")) {
                printf("[%s] %s left not evaluated\n", row->name, pf_check_id(c));
                bad++;
            }
        }
        for (size_t k = 0; k < 10 && row->ex[k].id; k++) {
            const expect_t *e = &row->ex[k];
            const pf_check *c = find(run, e);
            if (!c) {
                printf("[%s] no check %s %s->%s\n", row->name, e->id, e->node ? e->node : "-",
                       e->peer ? e->peer : "-");
                bad++;
                continue;
            }
            const char *sum = pf_check_summary(c), *rem = pf_check_remedy_text(c);
            bool has = strstr(sum, e->text) || (rem && strstr(rem, e->text));
            if (pf_check_status(c) != e->st || !has) {
                printf("[%s] %s %s->%s: want %s with \"%s\"\n   got %s: %s\n   fix: %s\n", row->name, e->id,
                       e->node ? e->node : "-", e->peer ? e->peer : "-", pf_status_name(e->st), e->text,
                       pf_status_name(pf_check_status(c)), sum, rem ? rem : "(none)");
                bad++;
            }
        }
        pf_run_free(run);
    }
    assert_int_equal(bad, 0);
}

static void test_drift_severity(void **state)
{
    (void)state;
    assert_int_equal(pf_cluster_drift_severity("packages.torch", "2.9.1+cu130", "2.9.0+cu130"), PF_WARN);
    assert_int_equal(pf_cluster_drift_severity("packages.torch", "2.9.1", "2.10.0"), PF_FAIL);
    assert_int_equal(pf_cluster_drift_severity("packages.torch", "2.9.1", NULL), PF_FAIL);
    assert_int_equal(pf_cluster_drift_severity("libnccl.version", "2.28.9", "2.27.7"), PF_FAIL);
    assert_int_equal(pf_cluster_drift_severity("libnccl.build_id", "aa", "bb"), PF_WARN);
    assert_int_equal(pf_cluster_drift_severity("libnccl.version", "2.28.9", "2.28.9"), PF_PASS);
    assert_int_equal(pf_cluster_drift_severity("env.NCCL_IB_DISABLE", "1", NULL), PF_FAIL);
    assert_int_equal(pf_cluster_drift_severity("env.NCCL_SOCKET_NTHREADS", "4", "2"), PF_WARN);
    assert_int_equal(pf_cluster_drift_severity("packages.unknown", "1", "2"), PF_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_drift_severity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

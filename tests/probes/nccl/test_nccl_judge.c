/* test_nccl_judge.c -- the coordinator-side judge: merging rank results and
 * deciding nccl.init / p2p / allreduce / allgather / transport, one row per
 * real case (the shapes are those nccl_rank.c and nccl_log.c produce). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"
#include "probes/nccl/nccl_judge.h"

/* One rank: ok or failed, its log facts, its rows. */
static json_t *rank(int r, const char *transport, const char *ifname, double t64, int wrong, const char *diag_cause,
                    const char *diag_check, const char *phase)
{
    json_t *j = json_pack("{s:i, s:s, s:s, s:f, s:b}", "rank", r, "host", "n", "phase", phase ? phase : "done", "init_s",
                          0.5, "ok", diag_cause == NULL);
    json_object_set_new(j, "nccl_log", json_pack("{s:s, s:[s], s:[{s:s, s:s}], s:b, s:i}", "version", "2.28.9",
                                                  "transports", transport, "socket_interfaces", "ifname", ifname,
                                                  "address", "10.0.0.1", "plugin_failed", 0, "nnodes", 2));
    json_object_set_new(j, "all_reduce", json_pack("[{s:I, s:I, s:f, s:f, s:f, s:i}]", "bytes", (json_int_t)(64 << 20),
                                                   "count", (json_int_t)(16 << 20), "time_us", t64, "algbw", 0.0,
                                                   "busbw", 0.0, "wrong", wrong));
    json_object_set_new(j, "p2p", json_pack("[{s:s, s:I, s:s, s:i, s:i, s:f, s:f, s:i}]", "name", "prefill", "bytes",
                                            (json_int_t)(64 << 20), "direction", "forward", "from", r ? r - 1 : 1, "to",
                                            r, "time_us", 1000.0, "gbps", 67.1, "wrong", 0));
    if (diag_cause) {
        json_object_set_new(j, "failure", json_pack("{s:s}", "phase", phase));
        json_object_set_new(j, "diagnosis", json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "cause", diag_cause, "check",
                                                      diag_check, "stage", "the collective", "skip",
                                                      !strcmp(diag_cause, "no_gpu"), "what", "what happened", "remedy",
                                                      "do this", "evidence", "the line"));
        if (strcmp(phase, "done") && strncmp(phase, "all_", 4) && strncmp(phase, "p2p", 3))
            json_object_del(j, "init_s");
        json_object_del(j, "all_reduce");
    }
    return j;
}

typedef struct row {
    const char *name;
    json_t *ranks;
    pf_nccljudge_plan plan;
    const char *capture_busiest;
    const char *id;
    pf_status want;
    const char *needle;
} row;

static void run_row(const row *r)
{
    json_t *s = pf_nccljudge_section(r->ranks);
    json_t *cap = NULL;
    if (r->capture_busiest)
        cap = json_pack("{s:{s:{s:I}, s:{s:I}}}", "interfaces", r->capture_busiest, "bytes", (json_int_t)4100000000,
                        "lo", "bytes", (json_int_t)1000);
    char *argv[] = {"t", NULL};
    pf_run *run = pf_run_new(1, argv);
    pf_nccljudge_checks(run, NULL, s, cap, &r->plan);
    pf_check *c = NULL;
    for (size_t i = 0; i < pf_run_check_count(run); i++)
        if (!strcmp(pf_check_id(pf_run_check(run, i)), r->id))
            c = pf_run_check(run, i);
    if (!c || pf_check_status(c) != r->want || (r->needle && !strstr(pf_check_summary(c), r->needle))) {
        print_error("%s: %s %s, wanted %s '%s'\n", r->name, c ? pf_status_name(pf_check_status(c)) : "missing",
                    c ? pf_check_summary(c) : "", pf_status_name(r->want), r->needle ? r->needle : "");
        fail();
    }
    json_decref(s);
    json_decref(cap);
    pf_run_free(run);
}

static void test_rows(void **st)
{
    (void)st;
    pf_nccljudge_plan none = {0}, sock_eth0 = {"eth0", "NET/Socket", 0}, ib = {"eth0", "NET/IB", 0},
                      excl = {"^docker,lo", NULL, 0}, fast = {NULL, NULL, 5.0};
    row rows[] = {
        {"ok, as planned", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 20000, 0, 0, 0, 0),
                                     rank(1, "NET/Socket", "eth0", 22000, 0, 0, 0, 0)),
         sock_eth0, NULL, "nccl.transport", PF_PASS, "NET/Socket over eth0 10.0.0.1, as planned"},
        {"merged time is the slowest rank's", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 20000, 0, 0, 0, 0),
                                                        rank(1, "NET/Socket", "eth0", 40000, 0, 0, 0, 0)),
         none, NULL, "nccl.allreduce", PF_PASS, "busbw 1.68 GB/s at 64 MiB (40000 us)"},
        {"IB planned, Socket used", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                              rank(1, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0)),
         ib, NULL, "nccl.transport", PF_FAIL, "NCCL used NET/Socket, the plan expected NET/IB"},
        {"Socket on the wrong NIC", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                              rank(1, "NET/Socket", "docker0", 2e4, 0, 0, 0, 0)),
         sock_eth0, NULL, "nccl.transport", PF_FAIL, "rank 1's NET/Socket uses docker0"},
        {"exclusion list honoured", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                              rank(1, "NET/Socket", "docker0", 2e4, 0, 0, 0, 0)),
         excl, NULL, "nccl.transport", PF_FAIL, "docker0"},
        {"capture: traffic on an excluded NIC", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                                          rank(1, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0)),
         sock_eth0, "eth1", "nccl.transport", PF_FAIL, "went over eth1"},
        {"capture agrees", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                     rank(1, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0)),
         sock_eth0, "eth0", "nccl.transport", PF_PASS, "captured 4100.0 MB over eth0"},
        {"corrupted data", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                     rank(1, "NET/Socket", "eth0", 2e4, 7, 0, 0, 0)),
         none, NULL, "nccl.allreduce", PF_FAIL, "7 wrong elements"},
        {"below the required busbw", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                               rank(1, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0)),
         fast, NULL, "nccl.allreduce", PF_FAIL, "below the 5.00 GB/s required"},
        {"root cause: the rank that died, not the one that saw it",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "peer_died", "nccl.allreduce", "all_reduce 64 MiB"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "rank_died", "nccl.allreduce", "all_reduce 64 MiB")),
         none, NULL, "nccl.allreduce", PF_FAIL, "rank 1 (n) failed"},
        {"init failed: later checks skip",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "no_interface", "nccl.init", "bootstrap"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "bootstrap_hang", "nccl.init", "init")),
         none, NULL, "nccl.allreduce", PF_SKIP, "not formed"},
        {"init failed: the cause, not the follow-up",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "bootstrap_hang", "nccl.init", "init"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "no_interface", "nccl.init", "bootstrap")),
         none, NULL, "nccl.init", PF_FAIL, "rank 1"},
        {"no GPU anywhere: skip, never pass",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "no_gpu", "nccl.init", "load"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "no_gpu", "nccl.init", "load")),
         none, NULL, "nccl.init", PF_SKIP, NULL},
        {"no ranks at all", json_array(), none, NULL, "nccl.init", PF_ERROR, "no rank"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        run_row(&rows[i]);
        json_decref(rows[i].ranks);
    }
}

/* One rank per node against its node's net.nccl_ifname / net.transport
 * prediction: one row per case seen or expected on real clusters. */
static void test_predicted(void **st)
{
    (void)st;
    static const struct {
        const char *name, *transport, *ifname, *pred_if, *pred_tr;
        pf_status want;
        const char *text;
    } rows[] = {
        {"as predicted (the H100 run: Socket over eth0)", "NET/Socket", "eth0", "eth0", "Socket", PF_PASS,
         "predicted NET/Socket over eth0, NCCL used NET/Socket over eth0"},
        {"IB predicted, NCCL fell back to Socket on another NIC", "NET/Socket", "eth0", "enp1s0f0np0", "IB", PF_WARN,
         "predicted NET/IB over enp1s0f0np0, NCCL used NET/Socket over eth0"},
        {"same transport, other interface", "NET/Socket", "docker0", "eth0", "Socket", PF_WARN,
         "NCCL used NET/Socket over docker0"},
        {"net.transport did not run: the interface alone is compared", "NET/Socket", "eth0", "eth0", NULL, PF_PASS,
         "(net.transport did not run)"},
        {"neither check ran: no prediction, not a failure", "NET/Socket", "eth0", NULL, NULL, PF_SKIP,
         "did not run on this node"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *r = rank(1, rows[i].transport, rows[i].ifname, 1000.0, 0, NULL, NULL, NULL);
        char out[256];
        pf_status got = pf_nccljudge_predicted(r, rows[i].pred_if, rows[i].pred_tr, out, sizeof out);
        if (got != rows[i].want || !strstr(out, rows[i].text))
            fail_msg("%s: got %d \"%s\", want %d with \"%s\"", rows[i].name, (int)got, out, (int)rows[i].want,
                     rows[i].text);
        json_decref(r);
    }
    json_t *nolog = json_pack("{s:i}", "rank", 0);
    char out[256];
    assert_int_equal(pf_nccljudge_predicted(nolog, "eth0", "Socket", out, sizeof out), PF_SKIP);
    json_decref(nolog);
}

/* Ranks on different NCCL versions: named by node, with each version. */
static void test_versions(void **st)
{
    (void)st;
    json_t *ranks = json_pack("[{s:i, s:s, s:i}, {s:i, s:s, s:i}, {s:i, s:s, s:i}]", "rank", 0, "host", "n0",
                              "nccl_version", 22809, "rank", 1, "host", "n1", "nccl_version", 22707, "rank", 2,
                              "host", "n2", "nccl_version", 22809);
    char out[256];
    assert_true(pf_nccljudge_versions(ranks, out, sizeof out));
    assert_string_equal(out, "2.28.9 on n0, n2 vs 2.27.7 on n1");
    json_object_set_new(json_array_get(ranks, 1), "nccl_version", json_integer(22809));
    assert_false(pf_nccljudge_versions(ranks, out, sizeof out)); /* all agree */
    json_decref(ranks);
    /* no code: the log's version line counts; none known: nothing to say */
    ranks = json_pack("[{s:i, s:s, s:{s:s}}, {s:i, s:s, s:{s:s}}, {s:i, s:s}]", "rank", 0, "host", "a", "nccl_log",
                      "version", "2.28.9", "rank", 1, "host", "b", "nccl_log", "version", "2.26.2", "rank", 2, "host",
                      "c");
    assert_true(pf_nccljudge_versions(ranks, out, sizeof out));
    assert_string_equal(out, "2.28.9 on a vs 2.26.2 on b");
    json_decref(ranks);
}

/* The cluster's plan from its nodes' predictions: one row per real mix. */
static void test_plan_nodes(void **st)
{
    (void)st;
    static const struct {
        const char *name, *nodes, *transport, *ifnames, *conflict;
        int ret;
    } rows[] = {
        {"every node on Socket, one NIC name", "[{\"node\":\"n0\",\"transport\":\"Socket\",\"ifname\":\"eth0\"},"
         "{\"node\":\"n1\",\"transport\":\"Socket\",\"ifname\":\"eth0\"}]", "NET/Socket", "eth0", "", 0},
        {"Spark + Thor: same transport, different NIC names (the union)",
         "[{\"node\":\"spark\",\"transport\":\"IB\",\"ifname\":\"enp1s0f0np0\"},"
         "{\"node\":\"thor\",\"transport\":\"IB\",\"ifname\":\"mgbe0_0\"}]", "NET/IB", "enp1s0f0np0,mgbe0_0", "", 0},
        {"one node on IB, two on Socket: the conflict names them",
         "[{\"node\":\"n0\",\"transport\":\"IB\",\"ifname\":\"eth0\"},"
         "{\"node\":\"n1\",\"transport\":\"Socket\",\"ifname\":\"eth0\"},"
         "{\"node\":\"n2\",\"transport\":\"Socket\",\"ifname\":\"eth1\"}]", "", "eth0,eth1",
         "NET/IB on n0 vs NET/Socket on n1, n2", 1},
        {"a node without net.transport does not break agreement",
         "[{\"node\":\"n0\",\"transport\":\"Socket\"},{\"node\":\"n1\",\"ifname\":\"lo\"}]", "NET/Socket",
         "lo", "", 0},
        {"'none' is no prediction", "[{\"node\":\"n0\",\"transport\":\"none\"},{\"node\":\"n1\",\"transport\":\"Socket\"}]",
         "NET/Socket", "", "", 0},
        {"no node predicted anything", "[{\"node\":\"n0\"},{\"node\":\"n1\"}]", "", "", "", 0},
        {"no nodes", "[]", "", "", "", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_error_t je;
        json_t *n = json_loads(rows[i].nodes, 0, &je);
        assert_non_null(n);
        char t[64], ifs[256], cf[256];
        int ret = pf_nccljudge_plan_nodes(n, t, sizeof t, ifs, sizeof ifs, cf, sizeof cf);
        if (ret != rows[i].ret || strcmp(t, rows[i].transport) || strcmp(ifs, rows[i].ifnames) ||
            strcmp(cf, rows[i].conflict))
            fail_msg("%s: got %d '%s' '%s' '%s'", rows[i].name, ret, t, ifs, cf);
        json_decref(n);
    }
    /* the conflict fails nccl.transport even when no channel was logged
     * (the ranks died of it before moving data) */
    json_t *ranks = json_pack("[o,o]", rank(0, "NET/IB", "eth0", 0, 0, "peer_died", "nccl.init", "init"),
                              rank(1, "NET/Socket", "eth0", 0, 0, "unknown", "nccl.init", "init"));
    json_t *s = pf_nccljudge_section(ranks);
    char *argv[] = {"t", NULL};
    pf_run *run = pf_run_new(1, argv);
    pf_nccljudge_plan plan = {0};
    pf_nccljudge_checks(run, NULL, s, NULL, &plan);
    for (size_t i = 0; i < pf_run_check_count(run); i++)
        if (!strcmp(pf_check_id(pf_run_check(run, i)), "nccl.transport"))
            pf_nccljudge_conflict(pf_run_check(run, i), "NET/IB on n0 vs NET/Socket on n1");
    bool seen = false;
    for (size_t i = 0; i < pf_run_check_count(run); i++) {
        pf_check *c = pf_run_check(run, i);
        if (strcmp(pf_check_id(c), "nccl.transport"))
            continue;
        seen = true;
        assert_int_equal(pf_check_status(c), PF_FAIL);
        assert_non_null(strstr(pf_check_summary(c), "NET/IB on n0 vs NET/Socket on n1"));
        assert_non_null(strstr(pf_check_remedy_text(c), "NCCL_IB_DISABLE=1"));
    }
    assert_true(seen);
    pf_run_free(run);
    json_decref(s);
    json_decref(ranks);
}

/* The fallback run's verdict (shared by preflight nccl and cluster). */
static void test_fallback(void **st)
{
    (void)st;
    struct {
        const char *name;
        json_t *ranks;
        pf_status want;
        const char *needle, *remedy;
    } rows[] = {
        {"the fallback works", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                         rank(1, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0)),
         PF_PASS, "the fallback works: all-reduce correct up to 64 MiB over NET/Socket (busbw", NULL},
        {"NCCL_SOCKET_IFNAME names no interface: rank 0 has no id, rank 1 never started",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "no_interface", "nccl.init", "bootstrap"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "not_started", "nccl.init", "bootstrap")),
         PF_FAIL, "under the fallback environment rank 0 (n) failed in the collective: what happened -- \"the line\"",
         "do this"},
        {"the peer that saw it is not the cause",
         json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "peer_died", "nccl.allreduce", "all_reduce 1 MiB"),
                   rank(1, "NET/Socket", "eth0", 0, 0, "rank_died", "nccl.allreduce", "all_reduce 1 MiB")),
         PF_FAIL, "rank 1 (n) failed", "do this"},
        {"wrong results", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 2e4, 0, 0, 0, 0),
                                    rank(1, "NET/Socket", "eth0", 2e4, 3, 0, 0, 0)),
         PF_FAIL, "3 all-reduce results were wrong", "corrupts"},
        {"no GPU: skip, never pass", json_pack("[o,o]", rank(0, "NET/Socket", "eth0", 0, 0, "no_gpu", "nccl.init", "load"),
                                               rank(1, "NET/Socket", "eth0", 0, 0, "no_gpu", "nccl.init", "load")),
         PF_SKIP, "could not run", NULL},
        {"no rank", json_array(), PF_ERROR, "no rank", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *s = pf_nccljudge_section(rows[i].ranks);
        char msg[512], rem[256];
        pf_status got = pf_nccljudge_fallback(s, msg, sizeof msg, rem, sizeof rem);
        if (got != rows[i].want || !strstr(msg, rows[i].needle) || (rows[i].remedy && !strstr(rem, rows[i].remedy)))
            fail_msg("%s: got %s \"%s\" (remedy \"%s\"), want %s \"%s\"", rows[i].name, pf_status_name(got), msg, rem,
                     pf_status_name(rows[i].want), rows[i].needle);
        json_decref(s);
        json_decref(rows[i].ranks);
    }
}

/* One node's capture against its predicted interface. */
static void test_capture(void **st)
{
    (void)st;
    static const struct {
        const char *name, *cap, *pred;
        pf_status want;
        const char *needle;
    } rows[] = {
        {"moved over the predicted NIC",
         "{\"interfaces\":{\"eth0\":{\"bytes\":12300000},\"lo\":{\"bytes\":1000}}}", "eth0", PF_PASS,
         "NCCL moved 12.3 MB over eth0 (12300000 of 12301000 captured bytes), as this node predicted"},
        {"no prediction: the evidence alone", "{\"interfaces\":{\"lo\":{\"bytes\":5000000}}}", NULL, PF_PASS,
         "NCCL moved 5.0 MB over lo"},
        {"traffic on a NIC the prediction excluded",
         "{\"interfaces\":{\"eth0\":{\"bytes\":100},\"docker0\":{\"bytes\":9000000}}}", "eth0", PF_WARN,
         "over docker0 (9000000 of 9000100 captured bytes), but this node's prediction is eth0"},
        {"nothing on the captured interfaces", "{\"interfaces\":{\"eth1\":{\"bytes\":0}}}", "eth0", PF_WARN,
         "no TCP traffic"},
        {"an interface failed", "{\"interfaces\":{\"eth0\":{\"bytes\":10},\"ib0\":{\"error\":\"No such device\"}}}",
         "eth0", PF_ERROR, "packet capture on ib0 failed: No such device"},
        {"the capture process failed", "{\"error\":\"the capture process exited\"}", NULL, PF_ERROR,
         "packet capture failed: the capture process exited"},
        {"no CAP_NET_RAW", "{\"skipped\":\"eth0: You don't have permission to perform this capture\"}", "eth0",
         PF_SKIP, "no packet capture: eth0: You don't have permission"},
        {"no capture object", NULL, "eth0", PF_SKIP, "no packet capture"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_error_t je;
        json_t *c = rows[i].cap ? json_loads(rows[i].cap, 0, &je) : NULL;
        char msg[512], rem[256];
        pf_status got = pf_nccljudge_capture(c, rows[i].pred, msg, sizeof msg, rem, sizeof rem);
        if (got != rows[i].want || !strstr(msg, rows[i].needle))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", rows[i].name, pf_status_name(got), msg,
                     pf_status_name(rows[i].want), rows[i].needle);
        json_decref(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows),      cmocka_unit_test(test_predicted),
                                       cmocka_unit_test(test_versions),  cmocka_unit_test(test_plan_nodes),
                                       cmocka_unit_test(test_fallback),  cmocka_unit_test(test_capture)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nccl_start frames the agent refuses before anything is forked or loaded
 * (cluster/ncclop.h): one row per malformed or hostile field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cluster/ncclop.h"

static const char *HEX256 =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

typedef struct row {
    const char *patch; /* JSON object merged over a valid request */
    const char *want;  /* in the error */
} row;

static const row rows[] = {
    {"{\"rank\": null}", "'rank' is not a number"},
    {"{\"rank\": 2, \"nranks\": 2}", "0 <= rank < nranks"},
    {"{\"rank\": 0.5}", "0 <= rank < nranks"},
    {"{\"nranks\": 65}", "'nranks' is not a number from 1 to 64"},
    {"{\"sizes\": \"1M\"}", "'sizes' is not an array"},
    {"{\"sizes\": [1024, 17179869184]}", "sizes[1] is not 4 B .. 8 GiB"},
    {"{\"sizes\": [0]}", "sizes[0]"},
    {"{\"p2p\": [{\"name\": \"rm -rf /\", \"bytes\": 8}]}", "p2p[0] is not {name: prefill|decode"},
    {"{\"p2p\": [{\"name\": \"decode\", \"bytes\": -1}]}", "p2p[0]"},
    {"{\"libnccl\": \"libnccl.so.2\"}", "must be absolute"},
    {"{\"libnccl\": \"/tmp/evil.so\"}", "must be absolute and name libnccl"},
    {"{\"libcuda\": \"/usr/lib/libnccl.so.2\"}", "libcuda*.so*"},
    {"{\"libnccl\": 7}", "must be absolute"},
    {"{\"deadline_s\": 0}", "'deadline_s' is not a number from 1"},
    {"{\"op_timeout_s\": 1e9}", "'op_timeout_s'"},
    {"{\"iters\": \"20\"}", "'iters'"},
    {"{\"rank\": 1, \"uid\": \"abc\"}", "'uid' is not 256 hex digits"},
    {"{\"rank\": 1, \"uid\": \"HEX_BAD\"}", "'uid' is not 256 hex digits"},
    /* capture: interface names only */
    {"{\"capture\": \"eth0;reboot\"}", "'eth0;reboot' is not an interface name"},
    {"{\"capture\": \"eth0,,lo\"}", "'' is not an interface name"},
    {"{\"capture\": \"averyveryverylongname0\"}", "is not an interface name"},
    {"{\"capture\": \"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\"}", "more than 16 interfaces"},
    {"{\"capture\": \"\"}", "'capture' is not 'auto'"},
    {"{\"capture\": [\"lo\"]}", "'capture' is not 'auto'"},
    /* fallback_env: NCCL variables that load, read or write nothing */
    {"{\"fallback_env\": [\"NCCL_NET_PLUGIN=evil\"]}", "NCCL_NET_PLUGIN names a file or a library"},
    {"{\"fallback_env\": [\"NCCL_IB_DISABLE=1\", \"NCCL_TUNER_PLUGIN=/tmp/x.so\"]}", "NCCL_TUNER_PLUGIN names"},
    {"{\"fallback_env\": [\"NCCL_PROFILER_PLUGIN=x\"]}", "NCCL_PROFILER_PLUGIN names"},
    {"{\"fallback_env\": [\"NCCL_CONF_FILE=/etc/shadow\"]}", "NCCL_CONF_FILE names"},
    {"{\"fallback_env\": [\"NCCL_DEBUG_FILE=/etc/passwd\"]}", "NCCL_DEBUG_FILE names"},
    {"{\"fallback_env\": [\"NCCL_TOPO_FILE=/x.xml\"]}", "NCCL_TOPO_FILE names"},
    {"{\"fallback_env\": [\"NCCL_GRAPH_DUMP_FILE=/x\"]}", "NCCL_GRAPH_DUMP_FILE names"},
    {"{\"fallback_env\": [\"LD_PRELOAD=/tmp/x.so\"]}", "'LD_PRELOAD' is not an NCCL_ variable"},
    {"{\"fallback_env\": [\"NCCL_socket_ifname=lo\"]}", "is not an NCCL_ variable"},
    {"{\"fallback_env\": [\"NCCL_=1\"]}", "is not an NCCL_ variable"},
    {"{\"fallback_env\": [\"NCCL_SOCKET_IFNAME\"]}", "not NAME=VALUE"},
    {"{\"fallback_env\": [\"NCCL_SOCKET_IFNAME=lo;id\"]}", "a character outside"},
    {"{\"fallback_env\": [\"NCCL_SOCKET_IFNAME=$(id)\"]}", "a character outside"},
    {"{\"fallback_env\": [\"NCCL_SOCKET_IFNAME=lo\\nX=1\"]}", "a character outside"},
    {"{\"fallback_env\": [\"NCCL_ALGO=LONG\"]}", NULL},
    {"{\"fallback_env\": \"NCCL_IB_DISABLE=1\"}", "'fallback_env' is not an array"},
    {"{\"fallback_env\": [7]}", "non-string entry"},
};

static void test_refused(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *m = json_pack("{s:s,s:i,s:i,s:[i,i],s:[{s:s,s:i}],s:b,s:f}", "type", "nccl_start", "rank", 0, "nranks",
                              2, "sizes", 1024, 4096, "p2p", "name", "prefill", "bytes", 65536, "allgather", 1,
                              "deadline_s", 10.0);
        json_error_t je;
        json_t *patch = json_loads(rows[i].patch, JSON_DECODE_ANY, &je);
        assert_non_null(patch);
        const char *u = json_string_value(json_object_get(patch, "uid"));
        if (u && strcmp(u, "HEX_BAD") == 0) {
            char bad[257];
            memcpy(bad, HEX256, 257);
            bad[100] = 'g';
            json_object_set_new(patch, "uid", json_string(bad));
        }
        json_object_update(m, patch);
        if (!rows[i].want) { /* a value longer than the limit */
            char big[300];
            memset(big, 'x', sizeof big);
            memcpy(big, "NCCL_ALGO=", 10);
            big[sizeof big - 1] = 0;
            json_object_set_new(m, "fallback_env", json_pack("[s]", big));
        }
        json_t *reply = NULL;
        pf_ncclop *op = pf_ncclop_start(m, -1, &reply);
        if (op)
            fail_msg("row %zu (%s): started", i, rows[i].patch);
        assert_non_null(reply);
        assert_false(json_is_true(json_object_get(reply, "ok")));
        const char *err = json_string_value(json_object_get(reply, "error"));
        const char *want = rows[i].want ? rows[i].want : "longer than 256 characters";
        if (!err || !strstr(err, want))
            fail_msg("row %zu (%s): error '%s', want '%s'", i, rows[i].patch, err ? err : "(none)", want);
        json_decref(reply);
        json_decref(patch);
        json_decref(m);
    }
}

/* nccl_wait with nothing started: a reply, never a crash. */
/* 33 fallback variables: one too many. */
static void test_fallback_count(void **st)
{
    (void)st;
    json_t *m = json_pack("{s:s,s:i,s:i,s:[i],s:f}", "type", "nccl_start", "rank", 0, "nranks", 2, "sizes", 1024,
                          "deadline_s", 10.0);
    json_t *fe = json_array();
    for (int k = 0; k < 33; k++)
        json_array_append_new(fe, json_string("NCCL_IB_DISABLE=1"));
    json_object_set_new(m, "fallback_env", fe);
    json_t *reply = NULL;
    assert_null(pf_ncclop_start(m, -1, &reply));
    assert_non_null(strstr(json_string_value(json_object_get(reply, "error")), "at most 32"));
    json_decref(reply);
    json_decref(m);
    /* the pure rules accept what a fallback needs */
    char why[300];
    assert_int_equal(pf_ncclop_fallback_ok("NCCL_SOCKET_IFNAME=^docker,lo", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_fallback_ok("NCCL_SOCKET_IFNAME==enP7s7", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_fallback_ok("NCCL_IB_HCA=mlx5_0:1,mlx5_1:1", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_fallback_ok("NCCL_NET=Socket", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_fallback_ok("NCCL_SOCKET_IFNAME=", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_capture_ok("auto", why, sizeof why), 0);
    assert_int_equal(pf_ncclop_capture_ok("enp1s0f0np0,mgbe0_0,lo,eth0.100,ib0:1,veth@if3", why, sizeof why), 0);
}

static void test_wait_without_start(void **st)
{
    (void)st;
    json_t *r = pf_ncclop_wait(NULL, -1, NULL);
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "no NCCL rank was started"));
    json_decref(r);
    pf_ncclop_kill(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused), cmocka_unit_test(test_fallback_count),
        cmocka_unit_test(test_wait_without_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

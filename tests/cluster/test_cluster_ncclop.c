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
        json_t *reply = NULL;
        pf_ncclop *op = pf_ncclop_start(m, -1, &reply);
        if (op)
            fail_msg("row %zu (%s): started", i, rows[i].patch);
        assert_non_null(reply);
        assert_false(json_is_true(json_object_get(reply, "ok")));
        const char *err = json_string_value(json_object_get(reply, "error"));
        if (!err || !strstr(err, rows[i].want))
            fail_msg("row %zu (%s): error '%s', want '%s'", i, rows[i].patch, err ? err : "(none)", rows[i].want);
        json_decref(reply);
        json_decref(patch);
        json_decref(m);
    }
}

/* nccl_wait with nothing started: a reply, never a crash. */
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
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_wait_without_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

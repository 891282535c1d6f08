/* test_nccl_orch.c -- the NCCL probe's orchestration end to end, against
 * the stand-in libnccl over TCP and the stand-in libcuda (tests/probes/nccl/fake_*):
 * forked ranks, the unique id relayed from rank 0, non-blocking init,
 * pipeline send/recv and the sweep with every result checked, deadlines and
 * ncclCommAbort, a rank that never joins, a rank that dies, a hung peer, a
 * bad interface, a library too old, no GPU, corrupted data -- then the log
 * parser, the classifier and the judge on what came out.  Everything except
 * the GPU (docs/nccl.md says what the GPU machine adds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/record.h"
#include "probes/nccl/nccl_judge.h"
#include "probes/nccl/nccl_local.h"

static char logdir[256];
static uint64_t sizes[] = {1024, 65536, 1 << 20};

typedef struct outcome {
    pf_run *run;
    json_t *section;
    double wall;
} outcome;

static outcome go(int nranks, const char *lib, const char *const *env, int absent, int killr, double op_to)
{
    pf_nccllocal_opts o = {0};
    o.rank.libnccl = lib ? lib : PF_NCCLFAKE "/libnccl.so.2";
    o.rank.libcuda = PF_NCCLFAKE "/libcuda.so.1";
    o.rank.init_timeout_s = 1.5;
    o.rank.op_timeout_s = op_to > 0 ? op_to : 3;
    o.rank.teardown_timeout_s = 2;
    o.rank.sizes = sizes;
    o.rank.n_sizes = 3;
    o.rank.allreduce = true;
    o.rank.allgather = true;
    o.rank.p2p_bytes[0] = 4096 * 16 * 2;
    o.rank.p2p_name[0] = "prefill";
    o.rank.p2p_bytes[1] = 4096 * 2;
    o.rank.p2p_name[1] = "decode";
    o.rank.n_p2p = 2;
    o.rank.iters = 5;
    o.rank.warmup = 1;
    o.nranks = nranks;
    o.env = env;
    o.hostid_per_rank = true;
    o.log_dir = logdir;
    o.deadline_s = 20;
    o.absent_rank = absent;
    o.kill_rank = killr;
    o.kill_after_s = 0;
    pf_err err = {{0}};
    double t0 = pf_now();
    json_t *res = pf_nccllocal_run(&o, &err);
    assert_non_null(res);
    outcome out = {0};
    out.wall = pf_now() - t0;
    json_t *ranks = json_object_get(res, "ranks");
    size_t i;
    json_t *r;
    json_array_foreach(ranks, i, r) {
        if (json_object_get(r, "nccl_log") || json_object_get(r, "diagnosis"))
            continue;
        const char *lf = json_string_value(json_object_get(r, "log_file"));
        char *text = lf ? pf_read_file(lf, 1 << 24, NULL, NULL) : NULL;
        pf_nccljudge_annotate(r, text);
        free(text);
    }
    out.section = pf_nccljudge_section(ranks);
    json_decref(res);
    char *argv[] = {"test", NULL};
    out.run = pf_run_new(1, argv);
    pf_nccljudge_plan plan = {"lo", "NET/Socket", 0};
    pf_nccljudge_checks(out.run, NULL, out.section, NULL, &plan);
    return out;
}

static pf_check *find(const outcome *o, const char *id)
{
    for (size_t i = 0; i < pf_run_check_count(o->run); i++)
        if (!strcmp(pf_check_id(pf_run_check(o->run, i)), id))
            return pf_run_check(o->run, i);
    return NULL;
}

static void expect(const outcome *o, const char *id, pf_status st, const char *needle)
{
    pf_check *c = find(o, id);
    if (!c) {
        print_error("no check %s\n", id);
        fail();
    }
    if (pf_check_status(c) != st || (needle && !strstr(pf_check_summary(c), needle))) {
        char *ev = json_dumps(o->section, JSON_COMPACT);
        print_error("%s: %s %s (wanted %s%s%s)\nsection: %.3000s\n", id, pf_status_name(pf_check_status(c)),
                    pf_check_summary(c), pf_status_name(st), needle ? " with " : "", needle ? needle : "", ev);
        free(ev);
        fail();
    }
}

static const char *cause_of(const outcome *o, const char *id)
{
    return json_string_value(json_object_get(pf_check_evidence(find(o, id)), "cause"));
}

static void done(outcome *o)
{
    json_decref(o->section);
    pf_run_free(o->run);
}

static void test_two_ranks_pass(void **st)
{
    (void)st;
    outcome o = go(2, NULL, NULL, -1, -1, 0);
    expect(&o, "nccl.init", PF_PASS, "2 ranks formed a communicator");
    expect(&o, "nccl.p2p", PF_PASS, "all correct");
    expect(&o, "nccl.allreduce", PF_PASS, "3 sizes, every result correct");
    expect(&o, "nccl.allgather", PF_PASS, "every result correct");
    expect(&o, "nccl.transport", PF_PASS, "NET/Socket over lo 127.0.0.1");
    /* merged rows: the slowest rank's time, nccl-tests' busbw factor 2(n-1)/n = 1 */
    json_t *row = json_array_get(json_object_get(o.section, "all_reduce"), 2);
    assert_int_equal(json_integer_value(json_object_get(row, "bytes")), 1 << 20);
    assert_true(json_real_value(json_object_get(row, "busbw")) > 0);
    assert_float_equal(json_real_value(json_object_get(row, "busbw")), json_real_value(json_object_get(row, "algbw")),
                       1e-9);
    /* p2p: 2 hand-offs x 2 directions, each link reported by its receiver */
    assert_int_equal(json_array_size(json_object_get(o.section, "p2p")), 4);
    json_t *r0 = json_array_get(json_object_get(o.section, "ranks"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r0, "nccl_log"), "bootstrap"),
                                                          "ifname")),
                        "lo");
    done(&o);
}

static void test_four_ranks_pass(void **st)
{
    (void)st;
    outcome o = go(4, NULL, NULL, -1, -1, 0);
    expect(&o, "nccl.init", PF_PASS, "4 ranks");
    expect(&o, "nccl.p2p", PF_PASS, "12 stage-to-stage hand-offs"); /* 3 links x 2 sizes x 2 directions */
    expect(&o, "nccl.allreduce", PF_PASS, NULL);
    json_t *row = json_array_get(json_object_get(o.section, "all_gather"), 0);
    assert_float_equal(json_real_value(json_object_get(row, "busbw")),
                       json_real_value(json_object_get(row, "algbw")) * 3 / 4, 1e-9);
    done(&o);
}

static void test_rank_never_joins(void **st)
{
    (void)st;
    outcome o = go(3, NULL, NULL, 2, -1, 0);
    expect(&o, "nccl.init", PF_FAIL, "rank 2");
    assert_string_equal(cause_of(&o, "nccl.init"), "never_joined");
    assert_true(o.wall < 8); /* 1.5 s init deadline, abort, not the 20 s backstop */
    /* the ranks that did start name the stage they were stuck in */
    json_t *r0 = json_array_get(json_object_get(o.section, "ranks"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r0, "diagnosis"), "cause")), "bootstrap_hang");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r0, "failure"), "kind")), "timeout");
    expect(&o, "nccl.allreduce", PF_SKIP, "not formed");
    done(&o);
}

static void test_rank_dies_mid_collective(void **st)
{
    (void)st;
    outcome o = go(2, NULL, NULL, -1, 1, 0);
    expect(&o, "nccl.init", PF_PASS, NULL);
    pf_check *ar = find(&o, "nccl.allreduce"), *ag = find(&o, "nccl.allgather");
    assert_true(pf_check_status(ar) == PF_FAIL || (ag && pf_check_status(ag) == PF_FAIL));
    pf_check *c = pf_check_status(ar) == PF_FAIL ? ar : ag;
    assert_string_equal(json_string_value(json_object_get(pf_check_evidence(c), "cause")), "rank_died");
    assert_non_null(strstr(pf_check_summary(c), "rank 1"));
    /* the survivor saw the peer go (or its collective stop) and aborted */
    json_t *r0 = json_array_get(json_object_get(o.section, "ranks"), 0);
    const char *c0 = json_string_value(json_object_get(json_object_get(r0, "diagnosis"), "cause"));
    assert_true(!strcmp(c0, "peer_died") || !strcmp(c0, "collective_hang"));
    assert_true(o.wall < 10);
    done(&o);
}

static void test_hung_peer_times_out(void **st)
{
    (void)st;
    const char *env[] = {"FAKE_NCCL_STALL_RANK=1", NULL};
    outcome o = go(2, NULL, env, -1, -1, 1.0);
    expect(&o, "nccl.init", PF_PASS, NULL);
    expect(&o, "nccl.p2p", PF_FAIL, "point-to-point");
    assert_true(o.wall < 8);
    json_t *r1 = json_array_get(json_object_get(o.section, "ranks"), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r1, "failure"), "kind")), "timeout");
    assert_non_null(json_object_get(r1, "abort"));
    done(&o);
}

static void test_bad_ifname(void **st)
{
    (void)st;
    const char *env[] = {"NCCL_SOCKET_IFNAME=nonexist0", NULL};
    outcome o = go(2, NULL, env, -1, -1, 0);
    expect(&o, "nccl.init", PF_FAIL, "rank 0");
    assert_string_equal(cause_of(&o, "nccl.init"), "no_interface");
    assert_non_null(strstr(pf_check_remedy_text(find(&o, "nccl.init")), "NCCL_SOCKET_IFNAME"));
    expect(&o, "nccl.transport", PF_SKIP, NULL);
    done(&o);
}

static void test_wrong_type_is_transport(void **st)
{
    (void)st;
    const char *env[] = {"FAKE_NCCL_FAIL_INIT=socketFinalizeAccept from 127.0.0.1<43210>: wrong type 3 != 4", NULL};
    outcome o = go(2, NULL, env, -1, -1, 0);
    expect(&o, "nccl.init", PF_FAIL, "wrong type 3 != 4");
    assert_string_equal(cause_of(&o, "nccl.init"), "transport_mismatch");
    done(&o);
}

static void test_corrupt_data_fails(void **st)
{
    (void)st;
    const char *env[] = {"FAKE_NCCL_CORRUPT=1", NULL};
    outcome o = go(2, NULL, env, -1, -1, 0);
    expect(&o, "nccl.allreduce", PF_FAIL, "wrong elements");
    expect(&o, "nccl.p2p", PF_PASS, NULL);
    done(&o);
}

static void test_too_old_and_no_gpu(void **st)
{
    (void)st;
    outcome o = go(2, PF_NCCLFAKE "/old/libnccl.so.2", NULL, -1, -1, 0);
    expect(&o, "nccl.init", PF_FAIL, "2.14");
    assert_string_equal(cause_of(&o, "nccl.init"), "nccl_too_old");
    done(&o);
    const char *env[] = {"FAKE_CUDA_NO_DEVICE=1", NULL};
    o = go(2, NULL, env, -1, -1, 0);
    expect(&o, "nccl.init", PF_SKIP, "no usable GPU");
    done(&o);
    o = go(2, "/nonexistent/libnccl.so.2", NULL, -1, -1, 0);
    expect(&o, "nccl.init", PF_FAIL, "does not load");
    done(&o);
}

int main(void)
{
    snprintf(logdir, sizeof logdir, "/tmp/pf-nccl-orch.XXXXXX");
    if (!mkdtemp(logdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ranks_pass),          cmocka_unit_test(test_four_ranks_pass),
        cmocka_unit_test(test_rank_never_joins),        cmocka_unit_test(test_rank_dies_mid_collective),
        cmocka_unit_test(test_hung_peer_times_out),     cmocka_unit_test(test_bad_ifname),
        cmocka_unit_test(test_wrong_type_is_transport), cmocka_unit_test(test_corrupt_data_fails),
        cmocka_unit_test(test_too_old_and_no_gpu),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", logdir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}

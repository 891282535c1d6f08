/* Run record: statuses, exit-code contract, JSON shape, atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/record.h"

static pf_run *new_run(void)
{
    char *argv[] = {"check", "--arch", "11.0"};
    return pf_run_new(3, argv);
}

static void test_new_check_is_not_a_pass(void **state)
{
    pf_run *run = new_run();
    pf_node *n = pf_run_add_node(run, "spark1", "10.0.0.1");
    pf_check *c = pf_check_add(run, n, "gpu.kernels");
    /* A probe that forgets to decide must never read as a pass. */
    assert_int_equal(pf_check_status(c), PF_ERROR);
    assert_int_equal(pf_run_exit_code(run, false), PF_EXIT_INCOMPLETE);
    pf_run_free(run);
}

static void test_exit_code_contract(void **state)
{
    struct {
        pf_status statuses[3];
        int n;
        bool strict;
        int want;
    } cases[] = {
        {{PF_PASS, PF_SKIP}, 2, false, PF_EXIT_OK},
        {{PF_PASS, PF_WARN}, 2, false, PF_EXIT_OK},
        {{PF_PASS, PF_WARN}, 2, true, PF_EXIT_FAILED},
        {{PF_PASS, PF_FAIL}, 2, false, PF_EXIT_FAILED},
        {{PF_ERROR, PF_PASS}, 2, false, PF_EXIT_INCOMPLETE},
        {{PF_ERROR, PF_FAIL}, 2, false, PF_EXIT_FAILED}, /* a failure is the stronger signal */
        {{PF_SKIP}, 1, true, PF_EXIT_OK},
        {{0}, 0, false, PF_EXIT_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pf_run *run = new_run();
        pf_node *n = pf_run_add_node(run, "n", NULL);
        for (int k = 0; k < cases[i].n; k++)
            pf_check_set(pf_check_add(run, n, "x.y"), cases[i].statuses[k], "case %zu", i);
        assert_int_equal(pf_run_exit_code(run, cases[i].strict), cases[i].want);
        pf_run_free(run);
    }
    pf_run *run = new_run();
    pf_run_set_incomplete(run, "agent on %s died", "thor2");
    pf_run_set_incomplete(run, "second reason is ignored");
    assert_string_equal(pf_run_incomplete_reason(run), "agent on thor2 died");
    assert_int_equal(pf_run_exit_code(run, false), PF_EXIT_INCOMPLETE);
    pf_run_free(run);
}

static void test_worst(void **state)
{
    assert_int_equal(pf_status_worst(PF_PASS, PF_SKIP), PF_PASS);
    assert_int_equal(pf_status_worst(PF_WARN, PF_PASS), PF_WARN);
    assert_int_equal(pf_status_worst(PF_WARN, PF_ERROR), PF_ERROR);
    assert_int_equal(pf_status_worst(PF_FAIL, PF_ERROR), PF_FAIL);
}

static void test_json_shape(void **state)
{
    pf_run *run = new_run();
    pf_node *a = pf_run_add_node(run, "spark1", "10.0.0.1");
    pf_node *b = pf_run_add_node(run, "thor1", NULL);
    json_object_set_new(pf_node_facts(a), "kernel", json_string("6.8.0"));
    pf_check *c = pf_check_add(run, a, "net.reach");
    pf_check_set_peer(c, b);
    pf_check_set(c, PF_FAIL, "port %d blocked", 29500);
    pf_check_remedy(c, "sudo ufw allow %d/tcp", 29500);
    pf_check_measure(c, 0.5, 1.0 / 0.0, "s"); /* infinity must become null */
    pf_check_set_duration(c, 0.25);
    json_object_set_new(pf_check_evidence(c), "port", json_integer(29500));
    pf_run_set_section(run, "bench", json_pack("{s:i}", "completed", 3));
    pf_run_finish(run);

    json_t *j = pf_run_to_json(run, false);
    assert_string_equal(json_string_value(json_object_get(j, "schema")), PF_RECORD_SCHEMA);
    assert_string_equal(json_string_value(json_object_get(j, "command")), "preflight check --arch 11.0");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "fail")), 1);
    json_t *jc = json_array_get(json_object_get(j, "checks"), 0);
    assert_string_equal(json_string_value(json_object_get(jc, "node")), "spark1");
    assert_string_equal(json_string_value(json_object_get(jc, "peer")), "thor1");
    assert_string_equal(json_string_value(json_object_get(jc, "status")), "fail");
    assert_string_equal(json_string_value(json_object_get(jc, "remedy")), "sudo ufw allow 29500/tcp");
    assert_true(json_is_null(json_object_get(jc, "threshold")));
    assert_true(json_real_value(json_object_get(jc, "measured")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(jc, "evidence"), "port")), 29500);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "bench"), "completed")), 3);
    json_t *n0 = json_array_get(json_object_get(j, "nodes"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(n0, "facts"), "kernel")), "6.8.0");
    json_decref(j);
    pf_run_free(run);
}

static void test_write_json_file_and_errors(void **state)
{
    pf_run *run = new_run();
    pf_check_set(pf_check_add(run, pf_run_add_node(run, "n", NULL), "a.b"), PF_PASS, "ok");
    char path[] = "/tmp/pf_record_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    pf_err err = {{0}};
    assert_int_equal(pf_run_write_json(run, false, path, &err), 0);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "checks"), 0), "status")), "pass");
    json_decref(j);
    unlink(path);

    assert_int_equal(pf_run_write_json(run, false, "/nonexistent-dir/x.json", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.json"));
    pf_run_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_check_is_not_a_pass),
        cmocka_unit_test(test_exit_code_contract),
        cmocka_unit_test(test_worst),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_write_json_file_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

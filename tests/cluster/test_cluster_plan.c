/* test_cluster_plan.c -- golden-file tests of `preflight plan`: merged node
 * records (tests/cluster/data) plus pair-test results in, the files of the
 * plan out, compared byte for byte with tests/cluster/data/plan-<case>/.
 * PF_UPDATE_GOLDEN=1 rewrites the golden files (review the diff!). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/plan.h"
#include "core/env.h"
#include "core/record.h"

#define DATA PF_SOURCE_DIR "/tests/cluster/data/"

static pf_run *merged(const char *const *files, const char *pairs)
{
    pf_run *run = pf_run_new(0, NULL);
    for (size_t f = 0; files[f]; f++) {
        char path[512];
        snprintf(path, sizeof path, DATA "%s", files[f]);
        pf_err err = {{0}};
        pf_run *one = pf_run_load(path, &err);
        if (!one)
            fail_msg("%s", err.msg);
        assert_int_equal(pf_run_merge(run, one, &err), 0);
        pf_run_free(one);
    }
    if (pairs) {
        char path[512];
        snprintf(path, sizeof path, DATA "%s", pairs);
        pf_run_set_section(run, "pairs", json_load_file(path, 0, NULL));
    }
    pf_run_set_section(run, "cluster", json_pack("{s:s}", "model", "/models/Qwen3-32B"));
    return run;
}

static void compare_dir(const char *got, const char *golden, const char *const *names)
{
    bool update = getenv("PF_UPDATE_GOLDEN") != NULL;
    for (size_t i = 0; names[i]; i++) {
        char *g = pf_path_join(got, names[i]), *w = pf_path_join(golden, names[i]);
        char *gt = pf_read_file(g, 1 << 20, NULL, NULL);
        assert_non_null(gt);
        if (update) {
            FILE *f = fopen(w, "w");
            assert_non_null(f);
            fputs(gt, f);
            fclose(f);
        }
        char *wt = pf_read_file(w, 1 << 20, NULL, NULL);
        if (!wt || strcmp(gt, wt) != 0) {
            printf("%s differs from %s:\n--- got\n%s--- want\n%s", g, w, gt, wt ? wt : "(missing)\n");
            fail();
        }
        free(gt);
        free(wt);
        free(g);
        free(w);
    }
}

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/pfplanXXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return pf_xstrdup(d);
}

static void rmtree(const char *dir)
{
    char *cmd = pf_xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_plan_ok(void **state)
{
    (void)state;
    const char *files[] = {"spark1.json", "spark2.json", "thor1.json", "thor2.json", NULL};
    pf_run *run = merged(files, "pairs-ok.json");
    char *d = tmpdir();
    pf_err err = {{0}};
    assert_int_equal(pf_plan_write(run, d, &err), 0);
    const char *names[] = {"spark1.env", "thor2.env", "spark1.ray-start.sh", "thor1.ray-start.sh", "launch.sh",
                           "PLAN.txt", NULL};
    compare_dir(d, DATA "plan-ok", names);
    /* env files parse as core/env.h's format */
    char *p = pf_path_join(d, "thor1.env");
    pf_env *e = pf_env_from_file(p, &err);
    assert_non_null(e);
    assert_string_equal(pf_env_get(e, "NCCL_SOCKET_IFNAME"), "=mgbe0_0");
    assert_null(pf_env_get(e, "NCCL_IB_DISABLE"));
    pf_env_free(e);
    free(p);

    /* The same through the CLI, from a record file. */
    char *rec = pf_path_join(d, "run.json"), *out = pf_path_join(d, "cli");
    assert_int_equal(pf_run_write_json(run, false, rec, &err), 0);
    char *argv[] = {"plan", rec, "--out", out, NULL};
    assert_int_equal(pf_plan_main(4, argv), PF_EXIT_OK);
    compare_dir(out, DATA "plan-ok", names);
    char *bad[] = {"plan", rec, NULL};
    assert_int_equal(pf_plan_main(2, bad), PF_EXIT_USAGE);
    char *missing[] = {"plan", "/nonexistent/run.json", "--out", out, NULL};
    assert_int_equal(pf_plan_main(4, missing), PF_EXIT_INCOMPLETE);
    free(rec);
    free(out);
    rmtree(d);
    free(d);
    pf_run_free(run);
}

static void test_plan_faults(void **state)
{
    (void)state;
    /* spark1's SYNs to thor2 are dropped: thor2's only address is not proved,
     * the plan says which pair fails instead of writing a guess; IB on
     * spark1 makes NCCL_IB_DISABLE=1 appear everywhere. */
    const char *files[] = {"spark1-ib.json", "spark2.json", "thor1-trap.json", "thor2.json", NULL};
    pf_run *run = merged(files, "pairs-faults.json");
    char *d = tmpdir();
    pf_err err = {{0}};
    assert_int_equal(pf_plan_write(run, d, &err), 1);
    const char *names[] = {"spark1.env", "thor1.env", "thor2.env", "thor2.ray-start.sh", "launch.sh", "PLAN.txt",
                           NULL};
    compare_dir(d, DATA "plan-faults", names);
    rmtree(d);
    free(d);
    pf_run_free(run);
}

/* A node with two candidate interfaces, the first of which no peer reaches
 * (a stray NIC NCCL would pick by name): the plan proves the other one, and a
 * node without any proved interface early in the pipeline does not stop the
 * files of the nodes after it.  (Seen in the journey scenario: n2's enp1s0
 * unreachable, its eth0 reached by every peer, and the plan said "NOTHING
 * PROVED" for n2 and wrote nothing for n3 and n4.) */
static void test_plan_second_candidate(void **state)
{
    (void)state;
    const char *files[] = {"spark1.json", "spark2.json", "thor1.json", "thor2.json", NULL};
    pf_run *run = merged(files, "pairs-ok.json");
    json_t *pairs = pf_run_section(run, "pairs");
    json_t *eps = json_object_get(json_object_get(json_object_get(pairs, "listen"), "thor1"), "endpoints");
    assert_int_equal(json_array_insert_new(eps, 0, json_pack("{s:s,s:i,s:i,s:s,s:i,s:i}", "addr", "10.9.9.3", "tcp", 1,
                                                          "udp", 2, "ifname", "enp9s0", "mtu", 1500,
                                                          "speed_mbps", 100000)), 0);
    size_t i;
    json_t *pr;
    json_array_foreach(json_object_get(pairs, "probes"), i, pr) {
        if (strcmp(json_string_value(json_object_get(pr, "peer")), "thor1") == 0)
            json_array_append_new(json_object_get(pr, "reach"),
                                  json_pack("{s:s,s:i,s:s,s:s}", "addr", "10.9.9.3", "port", 1, "result",
                                            "unreachable", "error", "Network is unreachable"));
    }
    char *d = tmpdir();
    pf_err err = {{0}};
    assert_int_equal(pf_plan_write(run, d, &err), 0);
    char *p = pf_path_join(d, "thor1.env");
    pf_env *e = pf_env_from_file(p, &err);
    assert_non_null(e);
    assert_string_equal(pf_env_get(e, "NCCL_SOCKET_IFNAME"), "=mgbe0_0");
    pf_env_free(e);
    free(p);
    rmtree(d);

    /* now spark2 (stage 1) has nothing proved: thor1 and thor2 still get files */
    json_t *sp2 = json_object_get(json_object_get(json_object_get(pairs, "listen"), "spark2"), "endpoints");
    json_array_clear(sp2);
    json_array_append_new(sp2, json_pack("{s:s,s:i,s:i,s:s}", "addr", "10.9.9.2", "tcp", 1, "udp", 2, "ifname",
                                         "enp9s0"));
    free(d);
    d = tmpdir();
    assert_int_equal(pf_plan_write(run, d, &err), 1);
    const char *after[] = {"thor1.env", "thor2.env", "thor2.ray-start.sh", "launch.sh", "PLAN.txt", NULL};
    for (size_t k = 0; after[k]; k++) {
        char *f = pf_path_join(d, after[k]);
        assert_int_equal(access(f, F_OK), 0);
        free(f);
    }
    char *plan = pf_path_join(d, "PLAN.txt");
    char *txt = pf_read_file(plan, 1 << 20, NULL, NULL);
    assert_non_null(strstr(txt, "spark2: NOTHING PROVED"));
    assert_non_null(strstr(txt, "thor2: mgbe0_0"));
    free(txt);
    free(plan);
    rmtree(d);
    free(d);
    pf_run_free(run);
}

static void test_plan_needs_pairs(void **state)
{
    (void)state;
    const char *files[] = {"spark1.json", "thor1.json", NULL};
    pf_run *run = merged(files, NULL);
    pf_err err = {{0}};
    assert_int_equal(pf_plan_write(run, "/tmp/pf-plan-never", &err), -1);
    assert_non_null(strstr(err.msg, "no pair-test results"));
    assert_int_equal(access("/tmp/pf-plan-never", F_OK), -1);
    pf_run_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_ok),
        cmocka_unit_test(test_plan_faults),
        cmocka_unit_test(test_plan_second_candidate),
        cmocka_unit_test(test_plan_needs_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

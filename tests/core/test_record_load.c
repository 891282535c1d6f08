/* test_record_load.c -- reading a run record back (pf_run_load and
 * pf_run_from_json: every kind of bad input refused with a message naming the
 * file and the place), node sections, unique node names, and merging node
 * records into one run (checks keep node and peer by name). */
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

#include "core/record.h"

static char dir[] = "/tmp/pf-test-recload-XXXXXX";

/* A node record as an agent on `host` would send it: two checks, one with a
 * peer, a measurement, a node section. */
static pf_run *node_run(const char *host, const char *peer_name)
{
    char *argv[] = {"agent"};
    pf_run *run = pf_run_new(1, argv);
    pf_node *n = pf_run_add_node(run, host, "10.0.0.1");
    json_object_set_new(pf_node_facts(n), "nccl_transport", json_string("Socket"));
    pf_check *c = pf_check_add(run, n, "net.gloo");
    pf_check_set(c, PF_WARN, "Gloo uses lo on %s", host);
    pf_check_remedy(c, "export GLOO_SOCKET_IFNAME=eth0");
    json_object_set_new(pf_check_evidence(c), "ifname", json_string("lo"));
    c = pf_check_add(run, n, "mem.headroom");
    pf_check_set(c, PF_PASS, "fits");
    pf_check_measure(c, 100.5, 80.0, "GiB");
    pf_check_set_duration(c, 0.25);
    if (peer_name) {
        pf_node *p = pf_run_add_node(run, peer_name, NULL);
        c = pf_check_add(run, n, "net.reach");
        pf_check_set_peer(c, p);
        pf_check_set(c, PF_FAIL, "cannot reach %s", peer_name);
    }
    pf_node_set_section(n, "nccl", json_pack("{s:f}", "busbw_gbps", 9.5));
    pf_run_finish(run);
    return run;
}

static char *dump(const pf_run *run, bool strict)
{
    json_t *j = pf_run_to_json(run, strict);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
    json_decref(j);
    return s;
}

static void test_roundtrip_in_memory(void **state)
{
    pf_run *a = node_run("spark1", "thor1");
    pf_run_set_section(a, "bench", json_pack("{s:i}", "requests", 3));
    pf_run_set_incomplete(a, "agent on thor1 did not answer");
    char *p = pf_path_join(dir, "a.json");
    pf_err err = {{0}};
    assert_int_equal(pf_run_write_json(a, true, p, &err), 0);
    pf_run *b = pf_run_load(p, &err);
    if (!b)
        fail_msg("%s", err.msg);
    assert_true(pf_run_strict(b));
    char *sa = dump(a, true), *sb = dump(b, pf_run_strict(b));
    assert_string_equal(sa, sb);
    /* node and peer are the run's own nodes, found by name */
    const pf_check *reach = pf_run_check(b, 2);
    assert_ptr_equal(pf_check_peer(reach), pf_run_find_node(b, "thor1"));
    assert_ptr_equal(pf_check_node(reach), pf_run_find_node(b, "spark1"));
    assert_non_null(pf_node_section(pf_run_find_node(b, "spark1"), "nccl"));
    assert_string_equal(pf_run_incomplete_reason(b), "agent on thor1 did not answer");
    assert_true(pf_check_has_measure(pf_run_check(b, 1)));
    assert_false(pf_check_has_measure(pf_run_check(b, 0)));
    free(sa);
    free(sb);
    pf_run_free(a);
    pf_run_free(b);
    unlink(p);
    free(p);
}

/* Each bad file: what is in it, and what the error must say. */
static const struct {
    const char *name;
    const char *text;
    const char *says[2];
} bad[] = {
    {"empty", "", {"is empty", NULL}},
    {"not-json", "schema: preflight.run/1\n", {"not valid JSON: line 1, column", NULL}},
    {"truncated", "{\n  \"schema\": \"preflight.run/1\",\n  \"tool\": {", {"truncated", "line 3"}},
    {"foreign", "{\"name\": \"my-package\", \"version\": \"1.0\"}", {"not a preflight run record", "no \"schema\""}},
    {"array", "[1, 2]", {"not a preflight run record", "an array"}},
    {"future", "{\"schema\": \"preflight.run/9\"}", {"\"preflight.run/9\"", "does not read"}},
    {"dup-key", "{\"schema\": \"preflight.run/1\", \"schema\": \"x\"}", {"not valid JSON", "duplicate"}},
};

static void test_bad_files(void **state)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = pf_path_join(dir, bad[i].name);
        FILE *f = fopen(p, "w");
        fputs(bad[i].text, f);
        fclose(f);
        pf_err err = {{0}};
        pf_run *run = pf_run_load(p, &err);
        if (run)
            fail_msg("%s: accepted", bad[i].name);
        if (!strstr(err.msg, p))
            fail_msg("%s: '%s' does not name the file", bad[i].name, err.msg);
        for (int k = 0; k < 2; k++)
            if (bad[i].says[k] && !strstr(err.msg, bad[i].says[k]))
                fail_msg("%s: '%s' lacks '%s'", bad[i].name, err.msg, bad[i].says[k]);
        unlink(p);
        free(p);
    }
    pf_err err = {{0}};
    assert_null(pf_run_load(dir, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_null(pf_run_load("/nonexistent/run.json", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/run.json"));
}

/* Valid JSON of the right schema with one thing wrong: the error gives the
 * JSON path.  Each row edits a good record. */
typedef void (*breaker)(json_t *root);
static void no_nodes(json_t *r) { json_object_del(r, "nodes"); }
static void checks_object(json_t *r) { json_object_set_new(r, "checks", json_object()); }
static void status_ok(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "checks"), 1), "status", json_string("ok")); }
static void summary_num(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "checks"), 0), "summary", json_integer(1)); }
static void node_unknown(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "checks"), 0), "node", json_string("ghost")); }
static void peer_unknown(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "checks"), 2), "peer", json_string("ghost")); }
static void dup_node(json_t *r)
{
    json_t *nodes = json_object_get(r, "nodes");
    json_array_append_new(nodes, json_deep_copy(json_array_get(nodes, 0)));
}
static void facts_array(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "nodes"), 0), "facts", json_array()); }
static void bad_time(json_t *r) { json_object_set_new(r, "started_at", json_string("yesterday")); }
static void bad_id(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "checks"), 0), "id", json_string("Gloo")); }
static void no_evidence(json_t *r) { json_object_del(json_array_get(json_object_get(r, "checks"), 0), "evidence"); }
static void complete_lie(json_t *r) { json_object_set_new(r, "complete", json_true()); }
static void strict_str(json_t *r) { json_object_set_new(r, "strict", json_string("yes")); }
static void exit_9(json_t *r) { json_object_set_new(r, "exit_code", json_integer(9)); }
static void no_tool_version(json_t *r) { json_object_del(json_object_get(r, "tool"), "version"); }

static const struct {
    breaker fn;
    const char *says;
} broken[] = {
    {no_nodes, "nodes is missing"},
    {checks_object, "checks is an object, expected an array"},
    {status_ok, "checks[1].status is 'ok'"},
    {summary_num, "checks[0].summary is an integer, expected a string"},
    {node_unknown, "checks[0].node names 'ghost', which is not one of the record's nodes"},
    {peer_unknown, "checks[2].peer names 'ghost'"},
    {dup_node, "node name 'spark1' appears twice (nodes[2])"},
    {facts_array, "nodes[0].facts is an array, expected an object"},
    {bad_time, "started_at 'yesterday' is not a UTC timestamp"},
    {bad_id, "checks[0].id 'Gloo' is not a dotted check id"},
    {no_evidence, "checks[0].evidence is missing"},
    {complete_lie, "complete is true but incomplete_reason is set"},
    {strict_str, "strict is a string, expected true or false"},
    {exit_9, "exit_code must be an integer from 0 to 3"},
    {no_tool_version, "tool.version is missing"},
};

static void test_broken_records(void **state)
{
    pf_run *good = node_run("spark1", "thor1");
    pf_run_set_incomplete(good, "x");
    json_t *j = pf_run_to_json(good, false);
    pf_err err = {{0}};
    pf_run *ok = pf_run_from_json_named(j, "spark1.json", &err);
    assert_non_null(ok);
    pf_run_free(ok);
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        json_t *b = json_deep_copy(j);
        broken[i].fn(b);
        pf_run *run = pf_run_from_json_named(b, "spark1.json", &err);
        if (run)
            fail_msg("row %zu accepted", i);
        if (!strstr(err.msg, "spark1.json") || !strstr(err.msg, broken[i].says))
            fail_msg("row %zu: '%s' lacks '%s'", i, err.msg, broken[i].says);
        json_decref(b);
    }
    json_decref(j);
    pf_run_free(good);
}

static void test_unique_names_and_sections(void **state)
{
    char *argv[] = {"check"};
    pf_run *run = pf_run_new(1, argv);
    pf_node *a = pf_run_add_node(run, "spark1", NULL);
    pf_node *b = pf_run_add_node(run, "spark1", "10.0.0.1");
    assert_ptr_equal(a, b); /* the existing node, its address filled in */
    assert_string_equal(pf_node_address(a), "10.0.0.1");
    pf_run_add_node(run, "spark1", "10.9.9.9");
    assert_string_equal(pf_node_address(a), "10.0.0.1");
    assert_int_equal(pf_run_node_count(run), 1);
    assert_null(pf_run_find_node(run, "thor1"));

    pf_node_set_section(a, "facts", json_string("would shadow")); /* reserved: ignored */
    pf_node_set_section(a, "nccl", json_integer(1));
    pf_node_set_section(a, "nccl", json_integer(2));
    assert_int_equal(json_integer_value(pf_node_section(a, "nccl")), 2);
    assert_true(json_is_object(pf_node_facts(a)));
    pf_run_set_section(run, "checks", json_string("would shadow"));
    assert_null(pf_run_section(run, "checks"));

    pf_check_add(run, a, "x.one");
    pf_check_add(run, a, "x.two");
    pf_check_add(run, a, "x.three");
    pf_run_drop_checks(run, 1);
    assert_int_equal(pf_run_check_count(run), 1);
    assert_string_equal(pf_check_id(pf_run_check(run, 0)), "x.one");
    pf_run_free(run);
}

static void test_merge(void **state)
{
    char *argv[] = {"cluster"};
    pf_run *dst = pf_run_new(1, argv);
    pf_run *s1 = node_run("spark1", NULL);
    pf_run *s2 = node_run("thor1", NULL);
    pf_run_set_section(s2, "bench", json_pack("{s:i}", "n", 1));
    pf_err err = {{0}};
    assert_int_equal(pf_run_merge(dst, s1, &err), 0);
    assert_int_equal(pf_run_merge(dst, s2, &err), 0);
    assert_int_equal(pf_run_node_count(dst), 2);
    assert_int_equal(pf_run_check_count(dst), 4);
    const pf_check *c = pf_run_check(dst, 2);
    assert_ptr_equal(pf_check_node(c), pf_run_find_node(dst, "thor1"));
    assert_string_equal(pf_check_remedy_text(c), "export GLOO_SOCKET_IFNAME=eth0");
    assert_string_equal(json_string_value(json_object_get(pf_check_evidence((pf_check *)c), "ifname")), "lo");
    assert_non_null(pf_node_section(pf_run_find_node(dst, "thor1"), "nccl"));
    assert_non_null(pf_run_section(dst, "bench"));
    assert_int_equal(pf_check_duration(pf_run_check(dst, 3)) * 100, 25);
    /* copies, not shares: freeing a source leaves dst intact */
    pf_run_free(s2);

    /* a duplicate name is refused, naming it, and dst is unchanged */
    pf_run *again = node_run("thor1", NULL);
    assert_int_equal(pf_run_merge(dst, again, &err), -1);
    assert_non_null(strstr(err.msg, "'thor1'"));
    assert_int_equal(pf_run_check_count(dst), 4);
    pf_run_free(again);

    /* a peer in another node's record: kept by name once both are merged.
     * The agent on thor2 reports about spark1 as its peer; the record it
     * sends carries spark1 as a node, so merging it alone fails (spark1 is
     * in dst already) -- the coordinator instead merges a record whose peer
     * is a node already in dst: */
    pf_run *thor2 = node_run("thor2", NULL);
    pf_check *reach = pf_check_add(thor2, pf_run_find_node(thor2, "thor2"), "net.reach");
    pf_check_set(reach, PF_PASS, "reaches spark1");
    pf_run *peer_ref = node_run("thor3", "spark1");
    assert_int_equal(pf_run_merge(dst, peer_ref, &err), -1); /* spark1 twice */
    assert_non_null(strstr(err.msg, "'spark1'"));
    assert_int_equal(pf_run_merge(dst, thor2, &err), 0);
    pf_run_free(thor2);
    pf_run_free(peer_ref);

    /* conflicting run sections */
    pf_run *s3 = node_run("thor4", NULL);
    pf_run_set_section(s3, "bench", json_pack("{s:i}", "n", 2));
    assert_int_equal(pf_run_merge(dst, s3, &err), -1);
    assert_non_null(strstr(err.msg, "'bench'"));
    assert_null(pf_run_find_node(dst, "thor4"));
    /* an incomplete source makes the merge incomplete, naming the node */
    pf_run_set_section(s3, "bench", json_pack("{s:i}", "n", 1));
    pf_run_set_incomplete(s3, "ptxas timed out");
    assert_int_equal(pf_run_merge(dst, s3, &err), 0);
    assert_string_equal(pf_run_incomplete_reason(dst), "thor4: ptxas timed out");
    pf_run_free(s3);

    /* the merged run writes and reads back like any other */
    pf_run_finish(dst);
    char *p = pf_path_join(dir, "merged.json");
    assert_int_equal(pf_run_write_json(dst, false, p, &err), 0);
    pf_run *back = pf_run_load(p, &err);
    assert_non_null(back);
    char *x = dump(dst, false), *y = dump(back, false);
    assert_string_equal(x, y);
    free(x);
    free(y);
    pf_run_free(back);
    unlink(p);
    free(p);
    pf_run_free(s1);
    pf_run_free(dst);
}

static int setup(void **state) { return mkdtemp(dir) ? 0 : -1; }
static int teardown(void **state) { return rmdir(dir); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_in_memory), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_broken_records),      cmocka_unit_test(test_unique_names_and_sections),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

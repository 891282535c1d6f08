/* test_registry.c -- the check table and the runner: the real table is
 * valid (ids, needs, scopes, no cycles); planning orders by needs, keeps the
 * table order otherwise, runs an unselected need as an unreported
 * prerequisite; bad tables are refused naming the check; the node runner
 * drops prerequisites' verdicts but keeps their facts; the cluster runner
 * calls pair checks for every ordered pair of a merged run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/registry.h"

static void test_real_table(void **state)
{
    size_t n;
    const pf_probe_def *defs = pf_probe_registry(&n);
    pf_err err = {{0}};
    if (pf_probe_registry_validate(defs, n, &err) != 0)
        fail_msg("%s", err.msg);
    /* net.transport reads env.fingerprint's facts: declared, not implied
     * by table order */
    const pf_probe_def *t = pf_probe_find("net.transport");
    assert_non_null(t);
    assert_string_equal(t->needs[0], "env.fingerprint");
    assert_ptr_equal(pf_probe_find_fn(t->fn), t);
    assert_null(pf_probe_find("net.nonexistent"));

    /* --only net.transport: env.fingerprint runs first, unreported */
    pf_probe_plan plan;
    assert_int_equal(pf_probe_plan_make(defs, n, PF_SCOPE_NODE, "net.transport", &plan, &err), 0);
    assert_int_equal(plan.n, 2);
    assert_string_equal(plan.defs[0]->id, "env.fingerprint");
    assert_false(plan.reported[0]);
    assert_string_equal(plan.defs[1]->id, "net.transport");
    assert_true(plan.reported[1]);
    pf_probe_plan_free(&plan);

    /* everything: the table order (what `check` always printed) */
    assert_int_equal(pf_probe_plan_make(defs, n, PF_SCOPE_NODE, NULL, &plan, &err), 0);
    assert_int_equal(plan.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(plan.defs[i], &defs[i]);
        assert_true(plan.reported[i]);
    }
    pf_probe_plan_free(&plan);

    assert_int_equal(pf_probe_plan_make(defs, n, PF_SCOPE_NODE, "nothing.", &plan, &err), 0);
    assert_int_equal(pf_probe_plan_reported(&plan), 0);
    pf_probe_plan_free(&plan);
}

/* ---- a table of our own ---- */

static void probe_a(pf_probe_ctx *ctx) { pf_check_set(pf_check_add(ctx->run, ctx->node, "t.a"), PF_PASS, "a"); }
static void probe_b(pf_probe_ctx *ctx)
{
    json_object_set_new(pf_node_facts(ctx->node), "b_fact", json_true());
    pf_check_set(pf_check_add(ctx->run, ctx->node, "t.b"), PF_FAIL, "b");
}
static void probe_c(pf_probe_ctx *ctx)
{
    /* c needs b's fact: it must have run before */
    bool have = json_is_true(json_object_get(pf_node_facts(ctx->node), "b_fact"));
    pf_check_set(pf_check_add(ctx->run, ctx->node, "t.c"), have ? PF_PASS : PF_ERROR, "c");
}
static void cluster_x(pf_run *m, const pf_cluster_ctx *cx)
{
    pf_check_set(pf_cluster_check_add(m, cx, NULL, NULL), PF_PASS, "%zu nodes", pf_run_node_count(m));
}
static void pair_y(pf_run *m, pf_node *a, pf_node *b, const pf_cluster_ctx *cx)
{
    pf_check_set(pf_cluster_check_add(m, cx, a, b), PF_PASS, "%s -> %s", pf_node_name(a), pf_node_name(b));
}

/* c is listed first but needs b; a is independent */
static const pf_probe_def table[] = {
    {.id = "t.c", .what = "c", .fn = probe_c, .needs = {"t.b"}},
    {.id = "t.a", .what = "a", .fn = probe_a},
    {.id = "t.b", .what = "b", .fn = probe_b},
    {.id = "t.pair", .what = "y", .scope = PF_SCOPE_PAIR, .pair = pair_y, .needs = {"t.a"}},
    {.id = "t.cluster", .what = "x", .scope = PF_SCOPE_CLUSTER, .cluster = cluster_x, .needs = {"t.pair"}},
};

static const char *plan_ids(const pf_probe_plan *p, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s%s", i ? " " : "", p->defs[i]->id, p->reported[i] ? "" : "(pre)");
    }
    return buf;
}

static void test_plans(void **state)
{
    static const struct {
        pf_scope scope;
        const char *only;
        const char *want;
    } rows[] = {
        {PF_SCOPE_NODE, NULL, "t.a t.b t.c"},      /* b before c; a keeps its place before b */
        {PF_SCOPE_NODE, "t.c", "t.b(pre) t.c"},
        {PF_SCOPE_NODE, "t.a", "t.a"},
        {PF_SCOPE_NODE, "t.b,t.c", "t.b t.c"},
        {PF_SCOPE_CLUSTER, NULL, "t.pair t.cluster"},   /* node needs are in the merged record */
        {PF_SCOPE_CLUSTER, "t.cluster", "t.pair(pre) t.cluster"},
        {PF_SCOPE_PAIR, NULL, "t.pair"},
    };
    pf_err err = {{0}};
    char buf[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_probe_plan plan;
        assert_int_equal(pf_probe_plan_make(table, 5, rows[i].scope, rows[i].only, &plan, &err), 0);
        if (strcmp(plan_ids(&plan, buf, sizeof buf), rows[i].want) != 0)
            fail_msg("row %zu: planned '%s', wanted '%s'", i, buf, rows[i].want);
        pf_probe_plan_free(&plan);
    }
}

static void test_bad_tables(void **state)
{
    static const pf_probe_def unknown[] = {{.id = "t.a", .what = "a", .fn = probe_a, .needs = {"t.zz"}}};
    static const pf_probe_def cycle[] = {
        {.id = "t.a", .what = "a", .fn = probe_a, .needs = {"t.b"}},
        {.id = "t.b", .what = "b", .fn = probe_b, .needs = {"t.c"}},
        {.id = "t.c", .what = "c", .fn = probe_c, .needs = {"t.a"}},
    };
    static const pf_probe_def dup[] = {{.id = "t.a", .what = "a", .fn = probe_a},
                                       {.id = "t.a", .what = "b", .fn = probe_b}};
    static const pf_probe_def node_needs_cluster[] = {
        {.id = "t.a", .what = "a", .fn = probe_a, .needs = {"t.x"}},
        {.id = "t.x", .what = "x", .scope = PF_SCOPE_CLUSTER, .cluster = cluster_x},
    };
    static const pf_probe_def no_fn[] = {{.id = "t.x", .what = "x", .scope = PF_SCOPE_CLUSTER, .fn = probe_a}};
    static const pf_probe_def bad_id[] = {{.id = "Gloo", .what = "x", .fn = probe_a}};
    static const pf_probe_def self[] = {{.id = "t.a", .what = "a", .fn = probe_a, .needs = {"t.a"}}};
    static const struct {
        const pf_probe_def *defs;
        size_t n;
        const char *says;
    } rows[] = {
        {unknown, 1, "check t.a needs 't.zz', which is not registered"},
        {cycle, 3, "cycle"},
        {dup, 2, "t.a is registered twice"},
        {node_needs_cluster, 2, "node check t.a needs t.x, a cluster check"},
        {no_fn, 1, "no function for its scope"},
        {bad_id, 1, "'Gloo' is not a dotted"},
        {self, 1, "needs itself"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_err err = {{0}};
        pf_probe_plan plan;
        assert_int_equal(pf_probe_plan_make(rows[i].defs, rows[i].n, PF_SCOPE_NODE, NULL, &plan, &err), -1);
        if (!strstr(err.msg, rows[i].says))
            fail_msg("row %zu: '%s' lacks '%s'", i, err.msg, rows[i].says);
    }
}

static void test_run_node(void **state)
{
    char *argv[] = {"check"};
    pf_run *run = pf_run_new(1, argv);
    pf_node *node = pf_run_add_node(run, "spark1", NULL);
    pf_probe_opts o;
    pf_probe_opts_init(&o);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &o, run, node);
    pf_probe_plan plan;
    pf_err err = {{0}};
    assert_int_equal(pf_probe_plan_make(table, 5, PF_SCOPE_NODE, "t.c", &plan, &err), 0);
    pf_probe_run_node(&ctx, &plan);
    /* only c is reported, and it saw b's fact */
    assert_int_equal(pf_run_check_count(run), 1);
    assert_string_equal(pf_check_id(pf_run_check(run, 0)), "t.c");
    assert_int_equal(pf_check_status(pf_run_check(run, 0)), PF_PASS);
    assert_true(pf_check_duration(pf_run_check(run, 0)) >= 0);
    json_t *facts = pf_node_facts(node);
    assert_true(json_is_true(json_object_get(facts, "b_fact")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(facts, "prerequisites"), 0)), "t.b");
    assert_string_equal(json_string_value(json_object_get(facts, "env_source")), "process");
    /* b's failure is not the user's concern here: exit 0 */
    assert_int_equal(pf_run_exit_code(run, false), PF_EXIT_OK);
    pf_probe_plan_free(&plan);
    pf_ctx_free(&ctx);
    pf_probe_opts_free(&o);
    pf_run_free(run);
}

static void test_run_cluster(void **state)
{
    char *argv[] = {"cluster"};
    pf_run *m = pf_run_new(1, argv);
    pf_run_add_node(m, "spark1", NULL);
    pf_run_add_node(m, "spark2", NULL);
    pf_run_add_node(m, "thor1", NULL);
    pf_probe_plan plan;
    pf_err err = {{0}};
    assert_int_equal(pf_probe_plan_make(table, 5, PF_SCOPE_CLUSTER, NULL, &plan, &err), 0);
    pf_cluster_ctx base = {.deadline = 0};
    pf_probe_run_cluster(m, &base, &plan);
    /* 3 nodes: 6 ordered pairs, then one cluster verdict */
    assert_int_equal(pf_run_check_count(m), 7);
    const pf_check *c = pf_run_check(m, 0);
    assert_string_equal(pf_check_id(c), "t.pair");
    assert_string_equal(pf_node_name(pf_check_node(c)), "spark1");
    assert_string_equal(pf_node_name(pf_check_peer(c)), "spark2");
    assert_string_equal(pf_check_summary(pf_run_check(m, 5)), "thor1 -> spark2");
    assert_string_equal(pf_check_id(pf_run_check(m, 6)), "t.cluster");
    assert_null(pf_check_node(pf_run_check(m, 6)));
    pf_probe_plan_free(&plan);
    pf_run_free(m);
}

static void test_selected(void **state)
{
    assert_true(pf_probe_selected("net.gloo", NULL));
    assert_true(pf_probe_selected("net.gloo", "gpu.,net."));
    assert_false(pf_probe_selected("net.gloo", "gpu."));
    assert_false(pf_probe_selected("net.gloo", ","));
    assert_string_equal(pf_scope_name(PF_SCOPE_PAIR), "pair");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_table), cmocka_unit_test(test_plans),      cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_run_node),   cmocka_unit_test(test_run_cluster), cmocka_unit_test(test_selected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

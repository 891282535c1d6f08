/* test_reports.c -- table tests of the record loader (bad input), the
 * escaping of every renderer, the regression gate's decisions and the
 * GitHub escaping, on records built through core/record.h. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"
#include "reports/benchjson.h"
#include "reports/compare.h"
#include "reports/github.h"
#include "reports/html.h"
#include "reports/junit.h"
#include "reports/load.h"
#include "reports/markdown.h"
#include "reports/output.h"
#include "reports/prom.h"

/* A small real record: two nodes, one failing check, a pair check. */
static char *small_record(const char *node_a, const char *summary, double gbit)
{
    char *argv[] = {"check", NULL};
    pf_run *run = pf_run_new(1, argv);
    pf_node *a = pf_run_add_node(run, node_a, "10.0.0.1");
    pf_node *b = pf_run_add_node(run, "b", "10.0.0.2");
    pf_check *c = pf_check_add(run, a, "gpu.kernels");
    pf_check_set(c, PF_FAIL, "%s", summary);
    pf_check_remedy(c, "pip install x");
    c = pf_check_add(run, b, "gpu.kernels");
    pf_check_set(c, PF_PASS, "ok");
    c = pf_check_add(run, a, "net.pair");
    pf_check_set_peer(c, b);
    pf_check_measure(c, gbit, 10, "Gbit/s");
    pf_check_set(c, PF_PASS, "fast");
    c = pf_check_add(run, b, "mem.headroom");
    pf_check_measure(c, 100, 95, "GiB");
    pf_check_set(c, PF_PASS, "fits");
    pf_run_finish(run);
    json_t *j = pf_run_to_json(run, false);
    char *s = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    pf_run_free(run);
    return s;
}

static char *render(int (*fn)(FILE *, const pf_loaded *), const pf_loaded *l)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(fn(f, l), 0);
    fclose(f);
    return buf;
}

static int html1(FILE *f, const pf_loaded *l) { return pf_html_render(f, l, 1, false); }
static int junit1(FILE *f, const pf_loaded *l) { return pf_junit_render(f, l, false); }
static int md1(FILE *f, const pf_loaded *l) { return pf_markdown_render(f, l, 1); }
static int gh1(FILE *f, const pf_loaded *l)
{
    pf_github_annotate(f, l, false);
    return 0;
}

/* ---- the loader: one row per real kind of bad input ---- */
typedef struct load_case {
    const char *what;
    const char *text;     /* NULL: the small record, cut at cut bytes */
    int cut;              /* < 0: whole */
    int rc;               /* expected return */
    const char *message;  /* substring of the error or of the first problem */
    bool incomplete;
} load_case;

static void test_load_table(void **state)
{
    (void)state;
    char *rec = small_record("a", "no kernels", 20);
    char *unknown = strdup(rec);
    char *p = strstr(unknown, "preflight.run/1");
    p[14] = '9';
    const load_case rows[] = {
        {"a whole record", NULL, -1, 0, NULL, false},
        {"empty file", "", -1, -1, "empty file", false},
        {"not JSON", "<html>nope</html>", -1, -1, "not JSON", false},
        {"JSON but not an object", "[1,2]", -1, -1, "not a run record", false},
        {"truncated in the middle (crashed run)", NULL, (int)strlen(rec) * 2 / 3, 0, "truncated", true},
        {"truncated right after the start", "{\"schema\": \"preflight.run/1\", \"checks\": [{\"id\"", -1, 0,
         "truncated", true},
        {"unknown schema version", unknown, -1, 0, "unknown schema version 'preflight.run/9'", true},
        {"missing sections", "{\"schema\": \"preflight.run/1\"}", -1, 0, "section is missing", true},
        {"check with a status no renderer knows", "{\"schema\":\"preflight.run/1\",\"command\":\"x\",\"started_at\":\"t\","
         "\"exit_code\":0,\"summary\":{},\"nodes\":[],\"checks\":[{\"id\":\"a\",\"status\":\"ok\"}]}", -1, 0,
         "without an id or a known status", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const load_case *r = &rows[i];
        const char *t = r->text ? r->text : rec;
        size_t len = r->cut >= 0 ? (size_t)r->cut : strlen(t);
        pf_loaded l;
        pf_err err = {{0}};
        int rc = pf_load_text(t, len, "RUN.json", &l, &err);
        if (rc != r->rc)
            fail_msg("%s: rc %d, expected %d (%s)", r->what, rc, r->rc, err.msg);
        if (rc != 0) {
            assert_non_null(strstr(err.msg, "RUN.json"));
            if (!strstr(err.msg, r->message))
                fail_msg("%s: message '%s' lacks '%s'", r->what, err.msg, r->message);
            continue;
        }
        assert_int_equal(l.incomplete, r->incomplete);
        if (r->message) {
            assert_true(l.problems.n > 0);
            assert_non_null(strstr(l.problems.v[0], "RUN.json"));
            bool hit = false;
            for (size_t q = 0; q < l.problems.n; q++)
                hit = hit || strstr(l.problems.v[q], r->message);
            if (!hit)
                fail_msg("%s: no problem mentions '%s' (first: %s)", r->what, r->message, l.problems.v[0]);
        }
        /* whatever loaded renders, with the incomplete banner when marked */
        char *html = render(html1, &l);
        assert_true(!r->incomplete || strstr(html, "INCOMPLETE record"));
        free(html);
        pf_load_free(&l);
    }
    free(unknown);
    free(rec);
}

/* A truncated record keeps every check written whole before the cut. */
static void test_truncated_keeps_prefix(void **state)
{
    (void)state;
    char *rec = small_record("a", "no kernels", 20);
    const char *third = strstr(rec, "\"net.pair\"");
    assert_non_null(third);
    pf_loaded l;
    pf_err err = {{0}};
    assert_int_equal(pf_load_text(rec, (size_t)(third - rec) + 5, "x.json", &l, &err), 0);
    json_t *checks = json_object_get(l.root, "checks");
    assert_int_equal(json_array_size(checks), 2); /* the two gpu.kernels */
    pf_load_free(&l);
    free(rec);
}

/* ---- escaping: hostile strings never come out raw ---- */
static void test_escaping(void **state)
{
    (void)state;
    const char *node = "<script>alert(1)</script>";
    const char *sum = "</script><img src=x onerror=alert(2)> | `x` \n::error::pwned %0A";
    char *rec = small_record(node, sum, 20);
    pf_loaded l;
    pf_err err = {{0}};
    assert_int_equal(pf_load_text(rec, strlen(rec), "h.json", &l, &err), 0);
    char *html = render(html1, &l);
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<img src=x"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    char *xml = render(junit1, &l);
    assert_null(strstr(xml, "<script>"));
    assert_non_null(strstr(xml, "&lt;script&gt;"));
    char *md = render(md1, &l);
    assert_null(strstr(md, "<script>"));
    assert_null(strstr(md, "<img"));
    char *gh = render(gh1, &l);
    /* every line is a workflow command of ours: the newline in the summary is %0A */
    for (char *line = gh; line && *line;) {
        assert_true(strncmp(line, "::error ", 8) == 0 || strncmp(line, "::warning ", 10) == 0);
        char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    assert_non_null(strstr(gh, "%0A::error::pwned %250A"));
    free(html);
    free(xml);
    free(md);
    free(gh);
    pf_load_free(&l);
    free(rec);
}

static void test_github_escape(void **state)
{
    (void)state;
    char out[64];
    pf_github_escape(out, sizeof out, "a%b\r\nc:d,e", false);
    assert_string_equal(out, "a%25b%0D%0Ac:d,e");
    pf_github_escape(out, sizeof out, "a%b\r\nc:d,e", true);
    assert_string_equal(out, "a%25b%0D%0Ac%3Ad%2Ce");
    /* cut inside a multi-byte character drops the whole character */
    pf_github_escape(out, 8, "abc\xc3\xa9\xc3\xa9", false);
    assert_string_equal(out, "abc");
}

/* ---- the regression gate ---- */
static void test_compare_table(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        double base, cur, max;
        size_t regressions;
    } rows[] = {
        {"bandwidth unchanged", 20, 20, 0.10, 0},
        {"bandwidth 5% lower within 10%", 20, 19, 0.10, 0},
        {"bandwidth 30% lower", 20, 14, 0.10, 1},
        {"bandwidth 30% lower, 50% allowed", 20, 14, 0.50, 0},
        {"bandwidth higher is better, never a regression", 20, 40, 0.0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *b = small_record("a", "x", rows[i].base), *r = small_record("a", "x", rows[i].cur);
        pf_loaded lb, lr;
        pf_err err;
        assert_int_equal(pf_load_text(b, strlen(b), "b", &lb, &err), 0);
        assert_int_equal(pf_load_text(r, strlen(r), "r", &lr, &err), 0);
        pf_compare_opts o = {.max_regress = rows[i].max};
        pf_compare c;
        pf_compare_runs(lb.root, lr.root, &o, &c);
        if (c.regressions != rows[i].regressions)
            fail_msg("%s: %zu regressions, expected %zu", rows[i].what, c.regressions, rows[i].regressions);
        pf_compare_free(&c);
        pf_load_free(&lb);
        pf_load_free(&lr);
        free(b);
        free(r);
    }
}

/* A node replaced by another of the same class still compares; a check
 * that went from pass to fail is a regression. */
static void test_compare_class_and_status(void **state)
{
    (void)state;
    char *b = small_record("a", "x", 20), *r = small_record("a-new", "x", 20);
    pf_loaded lb, lr;
    pf_err err;
    assert_int_equal(pf_load_text(b, strlen(b), "b", &lb, &err), 0);
    assert_int_equal(pf_load_text(r, strlen(r), "r", &lr, &err), 0);
    /* b's gpu.kernels passes in both; make it fail in the new run */
    json_t *checks = json_object_get(lr.root, "checks");
    json_object_set_new(json_array_get(checks, 1), "status", json_string("fail"));
    pf_compare_opts o = {.max_regress = 0.10};
    pf_compare c;
    pf_compare_runs(lb.root, lr.root, &o, &c);
    bool class_match = false, status_reg = false;
    for (size_t i = 0; i < c.n; i++) {
        if (strcmp(c.rows[i].where, "a-new") == 0 && strstr(c.rows[i].matched_by, "class"))
            class_match = true;
        if (c.rows[i].is_status && c.rows[i].regress)
            status_reg = true;
    }
    assert_true(class_match);
    assert_true(status_reg);
    assert_int_equal(c.regressions, 1);
    pf_compare_free(&c);
    pf_load_free(&lb);
    pf_load_free(&lr);
    free(b);
    free(r);
}

static void test_parse_pct(void **state)
{
    (void)state;
    double v;
    pf_err err;
    assert_int_equal(pf_compare_parse_pct("10%", &v, &err), 0);
    assert_true(fabs(v - 0.10) < 1e-12);
    assert_int_equal(pf_compare_parse_pct("25", &v, &err), 0);
    assert_true(fabs(v - 0.25) < 1e-12);
    assert_int_equal(pf_compare_parse_pct("ten", &v, &err), -1);
    assert_int_equal(pf_compare_parse_pct("-5%", &v, &err), -1);
    assert_int_equal(pf_compare_parse_pct("5%x", &v, &err), -1);
}

/* The shared output flags: one row per form. */
static void test_output_flags(void **state)
{
    (void)state;
    static const struct {
        const char *argv[3];
        int argc, rc;
        const char *html, *junit, *bench;
        bool github;
    } rows[] = {
        {{"--html", "r.html"}, 2, 1, "r.html", NULL, NULL, false},
        {{"--html=r.html"}, 1, 1, "r.html", NULL, NULL, false},
        {{"--junit", "j.xml"}, 2, 1, NULL, "j.xml", NULL, false},
        {{"--benchmark-json", "b.json"}, 2, 1, NULL, NULL, "b.json", false},
        {{"--github"}, 1, 1, NULL, NULL, NULL, true},
        {{"--html"}, 1, -1, NULL, NULL, NULL, false},
        {{"--html="}, 1, -1, NULL, NULL, NULL, false},
        {{"--htmlx", "r"}, 2, 0, NULL, NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_output_opts o;
        pf_output_opts_init(&o);
        o.github = false;
        int k = 0;
        pf_err err = {{0}};
        int rc = pf_output_parse_flag(&o, rows[i].argc, (char **)rows[i].argv, &k, &err);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d, expected %d", i, rows[i].argv[0], rc, rows[i].rc);
        if (rc < 0)
            assert_non_null(strstr(err.msg, "needs a file name"));
        if (rc > 0) {
            assert_int_equal(k, rows[i].argc - 1);
            assert_true((o.html_path == NULL) == (rows[i].html == NULL));
            assert_true((o.junit_path == NULL) == (rows[i].junit == NULL));
            assert_true((o.benchjson_path == NULL) == (rows[i].bench == NULL));
            assert_int_equal(o.github, rows[i].github);
        }
    }
    char *p = pf_benchjson_smaller_path("out/bench.json");
    assert_string_equal(p, "out/bench.smaller.json");
    free(p);
    p = pf_benchjson_smaller_path("bench");
    assert_string_equal(p, "bench.smaller.json");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_table),        cmocka_unit_test(test_truncated_keeps_prefix),
        cmocka_unit_test(test_escaping),          cmocka_unit_test(test_github_escape),
        cmocka_unit_test(test_compare_table),     cmocka_unit_test(test_compare_class_and_status),
        cmocka_unit_test(test_parse_pct),         cmocka_unit_test(test_output_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nccl.conf parsing (probes/nccl/ncclconf.c) the way NCCL's setEnvFile reads it,
 * and the effective environment: real env > first file > /etc/nccl.conf. */
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

#include "testfix.h"
#include "probes/nccl/ncclconf.h"

static const char *value_of(const pf_nccl_conf_file *f, const char *name)
{
    for (size_t i = 0; i < f->names.n; i++)
        if (strcmp(f->names.v[i], name) == 0)
            return f->values.v[i];
    return NULL;
}

static bool issue_on(const pf_nccl_conf_file *f, int line, const char *needle)
{
    for (size_t i = 0; i < f->nissues; i++)
        if (f->issues[i].line == line && strstr(f->issues[i].problem, needle))
            return true;
    return false;
}

static const char GARBAGE[] =
    "# comment line\n"                         /* 1 */
    "\n"                                       /* 2 */
    "NCCL_SOCKET_IFNAME==enP7s7\n"             /* 3 good */
    "NCCL_DEBUG = INFO\n"                      /* 4 spaces around = */
    "export NCCL_IB_DISABLE=1\n"               /* 5 export */
    "this line has no equals sign\n"           /* 6 */
    "=orphan value\n"                          /* 7 empty name */
    "NCCL_SOCKET_IFNAME=eth1\n"                /* 8 duplicate */
    "NCCL_NET=\"Socket\"\n"                    /* 9 quoted */
    "NCCL_PROTO=LL # fast path\n"              /* 10 inline comment */
    "  # indented=comment\n"                   /* 11 not a comment */
    "NCCL_SOCKET_FAMILY=AF_INET\r\n"           /* 12 CRLF */
    "NCCL-BAD=1\n"                             /* 13 invalid name */
    "NCCL_HOSTID=node1 \n"                     /* 14 trailing space */
    "NCCL_LAST=no newline";                    /* 15 */

static void test_garbage_lines(void **state)
{
    pf_nccl_conf_file f;
    pf_nccl_conf_parse_text("nccl.conf", GARBAGE, strlen(GARBAGE), 22809, &f);
    assert_string_equal(value_of(&f, "NCCL_SOCKET_IFNAME"), "=enP7s7");   /* first wins */
    assert_string_equal(value_of(&f, "NCCL_DEBUG "), " INFO");            /* the literal name NCCL sets */
    assert_null(value_of(&f, "NCCL_DEBUG"));
    assert_string_equal(value_of(&f, "export NCCL_IB_DISABLE"), "1");
    assert_null(value_of(&f, "NCCL_IB_DISABLE"));
    assert_string_equal(value_of(&f, "NCCL_NET"), "\"Socket\"");
    assert_string_equal(value_of(&f, "NCCL_PROTO"), "LL # fast path");
    assert_string_equal(value_of(&f, "  # indented"), "comment");
    assert_string_equal(value_of(&f, "NCCL_SOCKET_FAMILY"), "AF_INET\r"); /* before 2.30.3 */
    assert_string_equal(value_of(&f, "NCCL_LAST"), "no newline");

    assert_true(issue_on(&f, 4, "whitespace"));
    assert_true(issue_on(&f, 5, "export"));
    assert_true(issue_on(&f, 6, "no '='"));
    assert_true(issue_on(&f, 7, "empty variable name"));
    assert_true(issue_on(&f, 8, "first assignment (line 3) wins"));
    assert_true(issue_on(&f, 9, "quoted"));
    assert_true(issue_on(&f, 10, "not a comment"));
    assert_true(issue_on(&f, 11, "whitespace"));
    assert_true(issue_on(&f, 12, "keeps the '\\r'"));
    assert_true(issue_on(&f, 13, "not a valid variable name"));
    assert_true(issue_on(&f, 14, "trailing whitespace"));
    for (size_t i = 0; i < f.nissues; i++)
        assert_true(f.issues[i].line != 1 && f.issues[i].line != 2 && f.issues[i].line != 3 && f.issues[i].line != 15);
    pf_nccl_conf_file_free(&f);

    /* 2.30.3+ strips the '\r' (and unknown versions get the newest rules). */
    pf_nccl_conf_parse_text("nccl.conf", GARBAGE, strlen(GARBAGE), 0, &f);
    assert_string_equal(value_of(&f, "NCCL_SOCKET_FAMILY"), "AF_INET");
    assert_true(issue_on(&f, 12, "2.30.3 and later only"));
    pf_nccl_conf_file_free(&f);
}

static void test_long_lines(void **state)
{
    size_t n = 5000;
    char *text = malloc(n + 32);
    strcpy(text, "NCCL_SOCKET_IFNAME=");
    memset(text + strlen(text), 'x', n - strlen(text));
    text[n] = '\0';
    strcat(text, "\nNCCL_NET=Socket\n");
    pf_nccl_conf_file f;
    pf_nccl_conf_parse_text("nccl.conf", text, strlen(text), 23007, &f);
    assert_true(issue_on(&f, 1, "reads it in pieces"));
    assert_true(issue_on(&f, 1, "truncates"));
    assert_int_equal(strlen(value_of(&f, "NCCL_SOCKET_IFNAME")), 1023);
    assert_string_equal(value_of(&f, "NCCL_NET"), "Socket");
    pf_nccl_conf_file_free(&f);
    free(text);
}


static void test_effective_env(void **state)
{
    assert_int_equal(tf_tmpdir_create("ncclconf"), 0);
    char home[300], etc[300], custom[300];
    snprintf(home, sizeof home, "%s/home", tf_tmpdir());
    snprintf(etc, sizeof etc, "%s/etc_nccl.conf", tf_tmpdir());
    snprintf(custom, sizeof custom, "%s/custom.conf", tf_tmpdir());
    mkdir(home, 0700);
    tf_put("home/.nccl.conf", "NCCL_SOCKET_IFNAME=home0\nNCCL_NET=Socket\n");
    tf_put("etc_nccl.conf", "NCCL_NET=IB\nNCCL_IB_DISABLE=1\nNCCL_SOCKET_IFNAME=etc0\n");
    tf_put("custom.conf", "NCCL_PROTO=Simple\n");

    char *envp[] = {"NCCL_SOCKET_IFNAME==real0", "PATH=/usr/bin", NULL};
    pf_nccl_env *e = pf_nccl_env_load(envp, home, etc, 22809);
    const char *src;
    assert_string_equal(pf_nccl_env_get(e, "NCCL_SOCKET_IFNAME", &src), "=real0");
    assert_string_equal(src, "environment");
    assert_string_equal(pf_nccl_env_get(e, "NCCL_NET", &src), "Socket");
    assert_non_null(strstr(src, ".nccl.conf"));
    assert_string_equal(pf_nccl_env_get(e, "NCCL_IB_DISABLE", &src), "1");
    assert_string_equal(src, etc);
    assert_null(pf_nccl_env_get(e, "NCCL_PROTO", NULL));
    assert_int_equal(pf_nccl_env_file_count(e), 2);
    json_t *j = pf_nccl_env_to_json(e);
    assert_non_null(json_object_get(json_object_get(j, "effective"), "NCCL_IB_DISABLE"));
    assert_null(json_object_get(json_object_get(j, "effective"), "PATH"));
    json_decref(j);
    pf_nccl_env_free(e);

    /* NCCL_CONF_FILE replaces ~/.nccl.conf; /etc/nccl.conf still applies. */
    char cf[400];
    snprintf(cf, sizeof cf, "NCCL_CONF_FILE=%s", custom);
    char *envp2[] = {cf, NULL};
    e = pf_nccl_env_load(envp2, home, etc, 22809);
    assert_string_equal(pf_nccl_env_get(e, "NCCL_PROTO", NULL), "Simple");
    assert_string_equal(pf_nccl_env_get(e, "NCCL_SOCKET_IFNAME", NULL), "etc0");
    assert_string_equal(pf_nccl_env_get(e, "NCCL_NET", NULL), "IB");
    pf_nccl_env_free(e);

    /* An empty NCCL_CONF_FILE counts as unset. */
    char *envp3[] = {"NCCL_CONF_FILE=", NULL};
    e = pf_nccl_env_load(envp3, home, etc, 22809);
    assert_string_equal(pf_nccl_env_get(e, "NCCL_SOCKET_IFNAME", NULL), "home0");
    pf_nccl_env_free(e);

    /* Missing and unreadable files are reported, never fatal. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.conf", tf_tmpdir());
    e = pf_nccl_env_load(NULL, NULL, missing, 22809);
    assert_int_equal(pf_nccl_env_file_count(e), 1);
    assert_false(pf_nccl_env_file(e, 0)->present);
    pf_nccl_env_free(e);
    e = pf_nccl_env_load(NULL, NULL, home /* a directory */, 22809);
    assert_true(pf_nccl_env_file(e, 0)->present);
    assert_non_null(pf_nccl_env_file(e, 0)->error);
    assert_int_equal(pf_nccl_env_issue_count(e, false), 1);
    pf_nccl_env_free(e);

    assert_int_equal(tf_tmpdir_remove(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_lines),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_effective_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

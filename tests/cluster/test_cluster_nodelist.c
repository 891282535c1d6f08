/* Node lists (--hosts, hostfile) and the launchers' command lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cluster/launcher.h"
#include "cluster/nodelist.h"

/* One row per hostfile case users write (and get wrong). */
static void test_hostfile_table(void **st)
{
    (void)st;
    static const struct {
        const char *text;
        const char *err;      /* substring of the error, NULL: parses */
        const char *order;    /* names joined by ',' when it parses */
    } rows[] = {
        {"spark1\nspark2\nthor1\nthor2\n", NULL, "spark1,spark2,thor1,thor2"},
        {"# head first\nroot@10.0.0.1:2222 name=spark1 venv=/opt/venv\n\n10.0.0.3 name=thor1 arch=11.0 # jetson\n", NULL,
         "spark1,thor1"},
        {"a stage=1\nb stage=0\n", NULL, "b,a"},
        {"", "no node in the hostfile", NULL},
        {"# only a comment\n", "no node in the hostfile", NULL},
        {"a\nb\na\n", "listed twice", NULL},
        {"a\nb name=a\n", "listed twice", NULL},
        {"a stage=0\nb\n", "stage= is given on some lines", NULL},
        {"a stage=0\nb stage=0\n", "stage=0 is given to two nodes", NULL},
        {"a stage=0\nb stage=5\n", "only 2 nodes", NULL},
        {"a colour=blue\n", "line 1: unknown key 'colour'", NULL},
        {"a\nb venv\n", "line 2: 'venv' is not key=value", NULL},
        {"a:99999\n", "line 1: '99999' is not a port", NULL},
        {"a;rm -rf /\n", "line 1: 'a;rm' is not a host", NULL},
        {"a venv=$(id)\n", "line 1: venv= holds a quote", NULL},
        {"a venv=/x venv=/y\n", "'venv' given twice", NULL},
        {"-oProxyCommand=x\n", "is not a host", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_nodelist nl;
        pf_nodelist_init(&nl);
        pf_err e = {{0}};
        int rc = pf_nodelist_parse_hostfile(&nl, rows[i].text, "hosts.txt", &e);
        if (rows[i].err) {
            if (rc != -1 || !strstr(e.msg, rows[i].err))
                fail_msg("row %zu: rc=%d err='%s', want '%s'", i, rc, e.msg, rows[i].err);
        } else {
            if (rc != 0)
                fail_msg("row %zu: %s", i, e.msg);
            char names[256] = "";
            for (size_t k = 0; k < nl.n; k++) {
                if (k)
                    strcat(names, ",");
                strcat(names, nl.v[k].name);
                assert_int_equal(nl.v[k].stage, (int)k);
            }
            assert_string_equal(names, rows[i].order);
        }
        pf_nodelist_free(&nl);
    }
}

static void test_hostfile_fields(void **st)
{
    (void)st;
    pf_nodelist nl;
    pf_nodelist_init(&nl);
    pf_err e;
    assert_int_equal(pf_nodelist_parse_hostfile(&nl, "ubuntu@10.0.0.1:2222 name=spark1 venv=/v arch=12.1 env=/etc/pf.env bin=/opt/pf\n",
                                                "h", &e), 0);
    assert_string_equal(nl.v[0].user, "ubuntu");
    assert_string_equal(nl.v[0].host, "10.0.0.1");
    assert_int_equal(nl.v[0].port, 2222);
    assert_string_equal(nl.v[0].venv, "/v");
    assert_string_equal(nl.v[0].arch, "12.1");
    assert_string_equal(nl.v[0].env_file, "/etc/pf.env");
    assert_string_equal(nl.v[0].bin, "/opt/pf");
    pf_nodelist_free(&nl);
    pf_nodelist_init(&nl);
    assert_int_equal(pf_nodelist_from_hosts(&nl, "a, b ,c", &e), 0);
    assert_int_equal(nl.n, 3);
    assert_string_equal(nl.v[1].name, "b");
    pf_nodelist_free(&nl);
    pf_nodelist_init(&nl);
    assert_int_equal(pf_nodelist_from_hosts(&nl, ",,", &e), -1);
    assert_non_null(strstr(e.msg, "no host"));
    pf_nodelist_free(&nl);
}

static char *joined(const pf_strv *v)
{
    size_t n = 1;
    for (size_t i = 0; i < v->n; i++)
        n += strlen(v->v[i]) + 3;
    char *s = calloc(1, n);
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            strcat(s, "|");
        strcat(s, v->v[i]);
    }
    return s;
}

static void test_launcher_argv(void **st)
{
    (void)st;
    pf_nodelist nl;
    pf_nodelist_init(&nl);
    pf_err e;
    assert_int_equal(pf_nodelist_parse_hostfile(&nl, "pfs1 name=spark1\nroot@10.0.0.3:2222 name=thor1 bin=/opt/pf/preflight\n", "h", &e), 0);
    pf_strv extra = {0}, opts = {0};
    pf_strv_push(&opts, "IdentityFile=/k");
    pf_launcher_cfg cfg = {.nodes = &nl, .join = "10.0.0.1:4000", .ssh_opts = &opts, .connect_timeout_s = 5,
                           .agent_args = &extra};
    pf_strv a = {0};
    assert_int_equal(pf_launcher_exec_argv("ip netns exec {host} {cmd}", &cfg, 0, &a, &e), 0);
    char *s = joined(&a);
    assert_string_equal(s, "ip|netns|exec|pfs1|preflight|agent|--join|10.0.0.1:4000|--node-name|spark1");
    free(s);
    pf_strv_free(&a);
    assert_int_equal(pf_launcher_exec_argv("docker exec -i {name} sh -c 'exec {cmd}'", &cfg, 1, &a, &e), 0);
    s = joined(&a);
    assert_string_equal(s, "docker|exec|-i|thor1|sh|-c|exec /opt/pf/preflight agent --join 10.0.0.1:4000 --node-name thor1");
    free(s);
    pf_strv_free(&a);
    assert_int_equal(pf_launcher_exec_argv("ip netns exec {host}", &cfg, 0, &a, &e), -1);
    assert_non_null(strstr(e.msg, "no {cmd}"));
    pf_strv_free(&a);
    assert_int_equal(pf_launcher_exec_argv("x 'unterminated {cmd}", &cfg, 0, &a, &e), -1);
    pf_strv_free(&a);
    pf_launcher_ssh_argv(&cfg, 1, &a);
    s = joined(&a);
    /* The user's -o first (ssh keeps the first value), BatchMode always,
     * port and user as flags, the agent command after "--", no secret. */
    assert_string_equal(s, "ssh|-o|IdentityFile=/k|-o|BatchMode=yes|-o|ConnectTimeout=5|-o|StrictHostKeyChecking=accept-new|"
                           "-o|ServerAliveInterval=5|-o|ServerAliveCountMax=3|-T|-p|2222|-l|root|10.0.0.3|--|"
                           "/opt/pf/preflight agent --join 10.0.0.1:4000 --node-name thor1");
    free(s);
    pf_strv_free(&a);
    /* One command for all nodes (mpirun, srun, ray): names by rank. */
    pf_launcher_agent_argv(&cfg, -1, &a);
    s = joined(&a);
    assert_string_equal(s, "preflight|agent|--join|10.0.0.1:4000|--node-names|spark1,thor1");
    free(s);
    pf_strv_free(&a);
    assert_non_null(pf_launcher_find("ssh"));
    assert_non_null(pf_launcher_find("manual"));
    assert_null(pf_launcher_find("rsh"));
    pf_strv_free(&opts);
    pf_nodelist_free(&nl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostfile_table),
        cmocka_unit_test(test_hostfile_fields),
        cmocka_unit_test(test_launcher_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_launch_group.c -- a launch of several processes (bench/launch_group.h)
 * with real processes: helpers that listen on a TCP port (python3), one that
 * is ready by running, one that exits at once, one that never opens its
 * port, one that cannot be executed, and a helper killed while "serving".
 * Every test ends by checking that no process of the launch is left.
 * Plus table tests of the name and address rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/launch_group.h"

static char *g_python;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A helper that listens on 127.0.0.1:port after `delay` seconds and then
 * accepts and closes connections for ever (like rpc-server's accept loop). */
static const char LISTENER[] =
    "import socket,sys,time\n"
    "time.sleep(float(sys.argv[2]))\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(8)\n"
    "print('listening on', sys.argv[1], flush=True)\n"
    "while True:\n"
    "    c,_=s.accept(); c.close()\n";

static int pid_alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH); }

static void start_listener(pf_launch_group *g, const char *name, int port, const char *delay, char *addr,
                           size_t addrlen)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    snprintf(addr, addrlen, "127.0.0.1:%d", port);
    char *argv[] = {g_python, "-c", (char *)LISTENER, ps, (char *)delay, NULL};
    pf_launch_node_spec spec = {.name = name, .ready_addr = addr, .argv = argv};
    pf_err err = {{0}};
    pf_launch_opts lo = {.no_subreaper = false};
    assert_int_equal(pf_launch_group_start(g, &spec, &lo, &err), 0);
}

static json_t *proc_of(json_t *j, const char *node)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "processes"), i, p)
        if (strcmp(json_string_value(json_object_get(p, "node")), node) == 0)
            return p;
    return NULL;
}

static int pid_of(json_t *j, const char *node) { return (int)json_integer_value(json_object_get(proc_of(j, node), "pid")); }

/* Three helpers ready (two by port, one by running), one killed during
 * "load": the poll names it first, the record keeps the order, the stop
 * leaves nothing. */
static void test_ready_then_node_killed(void **state)
{
    (void)state;
    if (!g_python)
        skip();
    pf_launch_group *g = pf_launch_group_new(NULL);
    char a1[64], a2[64];
    start_listener(g, "rpc1", free_port(), "0", a1, sizeof a1);
    start_listener(g, "rpc2", free_port(), "0.6", a2, sizeof a2); /* opens its port late */
    char *sl[] = {"sleep", "60", NULL};
    pf_launch_node_spec spec = {.name = "idle", .argv = sl};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    assert_int_equal(pf_launch_group_wait(g, 20, &err), 0);
    pf_launch_group_serving(g);
    char why[900];
    assert_int_equal(pf_launch_group_poll(g, why, sizeof why), 0);

    json_t *j = pf_launch_group_to_json(g);
    int victim = pid_of(j, "rpc2");
    int p1 = pid_of(j, "rpc1"), p3 = pid_of(j, "idle");
    assert_true(json_is_number(json_object_get(proc_of(j, "rpc2"), "ready_s")));
    json_decref(j);
    assert_int_equal(kill(victim, SIGKILL), 0);
    int r = 0;
    for (int k = 0; k < 100 && r == 0; k++) {
        r = pf_launch_group_poll(g, why, sizeof why);
        if (!r)
            nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    assert_int_equal(r, 1);
    assert_non_null(strstr(why, "node rpc2"));
    assert_non_null(strstr(why, "signal 9"));

    assert_int_equal(pf_launch_group_stop(g, 2.0), 0);
    j = pf_launch_group_to_json(g);
    json_t *first = json_object_get(j, "first_ended");
    assert_string_equal(json_string_value(json_object_get(first, "node")), "rpc2");
    assert_string_equal(json_string_value(json_object_get(first, "during")), "load");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "order_ended"), 0)), "rpc2");
    assert_false(json_is_true(json_object_get(proc_of(j, "rpc2"), "ended_by_stop")));
    assert_true(json_is_true(json_object_get(proc_of(j, "rpc1"), "ended_by_stop")));
    json_decref(j);

    pf_run *run = pf_run_new(0, NULL);
    pf_check *c = pf_launch_group_add_check(run, g);
    assert_int_equal(pf_check_status(c), PF_FAIL);
    assert_non_null(strstr(pf_check_summary(c), "node rpc2"));
    pf_run_free(run);
    pf_launch_group_free(g);
    assert_false(pid_alive(p1));
    assert_false(pid_alive(p3));
    assert_false(pid_alive(victim));
}

/* All ready, nothing dies, front adopted: pass; the stop ends the front
 * first, then helpers newest first. */
static void test_clean_run_passes(void **state)
{
    (void)state;
    if (!g_python)
        skip();
    pf_launch_group *g = pf_launch_group_new(NULL);
    char a1[64];
    start_listener(g, "n1", free_port(), "0", a1, sizeof a1);
    char *sl[] = {"sleep", "60", NULL};
    pf_launch_node_spec spec = {.name = "n2", .argv = sl};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    assert_int_equal(pf_launch_group_wait(g, 20, &err), 0);
    pf_launch *front = pf_launch_start(sl, NULL, &err);
    assert_non_null(front);
    pf_launch_group_adopt(g, "n3", front);
    assert_ptr_equal(pf_launch_group_front(g), front);
    pf_launch_group_serving(g);
    assert_int_equal(pf_launch_group_poll(g, NULL, 0), 0);
    assert_int_equal(pf_launch_group_stop(g, 2.0), 0);
    json_t *j = pf_launch_group_to_json(g);
    assert_null(json_object_get(j, "first_ended"));
    json_t *order = json_object_get(j, "order_ended");
    assert_int_equal(json_array_size(order), 3);
    assert_string_equal(json_string_value(json_array_get(order, 0)), "n3");
    assert_string_equal(json_string_value(json_array_get(order, 1)), "n2");
    assert_string_equal(json_string_value(json_array_get(order, 2)), "n1");
    assert_string_equal(json_string_value(json_object_get(proc_of(j, "n3"), "role")), "front");
    json_decref(j);
    pf_run *run = pf_run_new(0, NULL);
    pf_check *c = pf_launch_group_add_check(run, g);
    assert_int_equal(pf_check_status(c), PF_PASS);
    pf_run_free(run);
    pf_launch_group_free(g);
}

/* A helper that exits at once: the wait names it, its exit status and its
 * last log line. */
static void test_helper_exits_before_ready(void **state)
{
    (void)state;
    pf_launch_group *g = pf_launch_group_new(NULL);
    char *argv[] = {"sh", "-c", "echo 'cannot bind to 10.0.0.9:50052'; exit 3", NULL};
    pf_launch_node_spec spec = {.name = "rpc3", .ready_addr = "127.0.0.1:9", .argv = argv};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    assert_int_equal(pf_launch_group_wait(g, 10, &err), -1);
    assert_non_null(strstr(err.msg, "node rpc3"));
    assert_non_null(strstr(err.msg, "status 3"));
    assert_non_null(strstr(err.msg, "cannot bind"));
    pf_run *run = pf_run_new(0, NULL);
    pf_check *c = pf_launch_group_add_check(run, g);
    assert_int_equal(pf_check_status(c), PF_FAIL);
    pf_run_free(run);
    pf_launch_group_free(g);
}

/* Running but its port never opens: the wait's deadline names node and port. */
static void test_port_never_opens(void **state)
{
    (void)state;
    pf_launch_group *g = pf_launch_group_new(NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    char *sl[] = {"sleep", "60", NULL};
    pf_launch_node_spec spec = {.name = "rpc4", .ready_addr = addr, .argv = sl};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    json_t *j = pf_launch_group_to_json(g);
    int pid = pid_of(j, "rpc4");
    json_decref(j);
    assert_int_equal(pf_launch_group_wait(g, 1.0, &err), -1);
    assert_non_null(strstr(err.msg, "node rpc4"));
    assert_non_null(strstr(err.msg, addr));
    pf_launch_group_free(g);
    assert_false(pid_alive(pid));
}

/* A helper that logs a known fatal line and keeps running (a CUDA rank
 * whose scheduler died): the poll names it and the check id's words; the
 * record has no end time for it until the stop. */
static void test_helper_fatal_line(void **state)
{
    (void)state;
    pf_launch_group *g = pf_launch_group_new(NULL);
    char *argv[] = {"sh", "-c",
                    "sleep 1.2; echo 'RuntimeError: CUDA error: no kernel image is available for execution on the "
                    "device'; exec sleep 60",
                    NULL};
    pf_launch_node_spec spec = {.name = "thor1", .argv = argv};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    assert_int_equal(pf_launch_group_wait(g, 10, &err), 0);
    pf_launch_group_serving(g);
    char why[900];
    int r = 0;
    for (int k = 0; k < 100 && r == 0; k++) {
        r = pf_launch_group_poll(g, why, sizeof why);
        if (!r)
            nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    assert_int_equal(r, 1);
    assert_non_null(strstr(why, "node thor1"));
    assert_non_null(strstr(why, "no kernel image"));
    json_t *j = pf_launch_group_to_json(g);
    json_t *first = json_object_get(j, "first_ended");
    assert_string_equal(json_string_value(json_object_get(first, "node")), "thor1");
    assert_true(json_is_null(json_object_get(first, "t_s")));
    json_decref(j);
    int sr = pf_launch_group_stop(g, 2.0);
    if (sr != 0) {
        j = pf_launch_group_to_json(g);
        json_dumpf(j, stderr, JSON_INDENT(1));
        json_decref(j);
    }
    assert_int_equal(sr, 0);
    pf_launch_group_free(g);
}

/* A program the node does not have, bad names, a name given twice. */
static void test_bad_start(void **state)
{
    (void)state;
    pf_launch_group *g = pf_launch_group_new(NULL);
    char *missing[] = {"/nonexistent/rpc-server", "-p", "50052", NULL};
    pf_launch_node_spec spec = {.name = "rpc1", .argv = missing};
    pf_err err = {{0}};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "node rpc1"));
    assert_non_null(strstr(err.msg, "/nonexistent/rpc-server"));
    char *sl[] = {"sleep", "60", NULL};
    spec = (pf_launch_node_spec){.name = "bad name", .argv = sl};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), -1);
    spec = (pf_launch_node_spec){.name = "n1", .ready_addr = "10.0.0.1", .argv = sl};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "HOST:PORT"));
    spec = (pf_launch_node_spec){.name = "n1", .argv = sl};
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), 0);
    assert_int_equal(pf_launch_group_start(g, &spec, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(pf_launch_group_count(g), 1);
    pf_launch_group_free(g);
}

static void test_name_rules(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"rpc1", true},  {"spark-1.lab", true}, {"thor_2", true}, {"", false},
        {"a b", false},  {"n;rm", false},       {"x/y", false},
        {"0123456789012345678901234567890123456789012345678901234567890123", false}, /* 64 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(pf_launch_group_name_ok(rows[i].name), rows[i].ok);
}

static void test_addr_rules(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        const char *host;
        int port; /* 0: invalid */
    } rows[] = {
        {"10.0.0.1:50052", "10.0.0.1", 50052},
        {"node3:1", "node3", 1},
        {"[fe80::1]:8080", "fe80::1", 8080},
        {"10.0.0.1", NULL, 0},
        {"10.0.0.1:", NULL, 0},
        {"10.0.0.1:0", NULL, 0},
        {"10.0.0.1:65536", NULL, 0},
        {":80", NULL, 0},
        {"fe80::1:80", NULL, 0},
        {"[fe80::1]80", NULL, 0},
        {"h:12x", NULL, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char host[256];
        int port = -1;
        pf_err err = {{0}};
        int r = pf_launch_group_parse_addr(rows[i].addr, host, sizeof host, &port, &err);
        if (rows[i].port) {
            assert_int_equal(r, 0);
            assert_string_equal(host, rows[i].host);
            assert_int_equal(port, rows[i].port);
        } else {
            assert_int_equal(r, -1);
            assert_true(err.msg[0] != '\0');
        }
    }
}

int main(void)
{
    g_python = pf_which("python3");
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rules),        cmocka_unit_test(test_addr_rules),
        cmocka_unit_test(test_bad_start),         cmocka_unit_test(test_helper_exits_before_ready),
        cmocka_unit_test(test_port_never_opens),  cmocka_unit_test(test_clean_run_passes),
        cmocka_unit_test(test_ready_then_node_killed), cmocka_unit_test(test_helper_fatal_line),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_python);
    return r;
}

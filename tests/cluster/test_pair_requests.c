/* test_pair_requests.c -- the listen/probe request builders on a node
 * record captured on the development machine (tests/cluster/data/vm.json),
 * and the pure helpers of the collectors (MTU sizes, Gloo's direction). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/reach.h"

#include "cluster/gloomesh.h"
#include "cluster/mtu.h"
#include "cluster/pairtest.h"

static void test_listen_request_from_real_facts(void **state)
{
    (void)state;
    json_t *rec = json_load_file(PF_SOURCE_DIR "/tests/cluster/data/vm.json", 0, NULL);
    assert_non_null(rec);
    json_t *facts = json_object_get(json_array_get(json_object_get(rec, "nodes"), 0), "facts");
    json_t *ports = json_pack("[i,i]", 6379, 8265);
    json_t *req = pf_pair_listen_request("vm", facts, ports);
    /* eth0's IPv4 and global IPv6; not lo, not fe80::, not the down ifb0/ifb1 */
    json_t *want = json_pack("[s,s]", "192.0.2.2", "fd00::2");
    assert_true(json_equal(json_object_get(req, "addresses"), want));
    /* this machine's hostname resolves to 127.0.0.1: Gloo would advertise loopback */
    assert_string_equal(json_string_value(json_object_get(req, "gloo_address")), "127.0.0.1");
    assert_true(json_equal(json_object_get(req, "ports"), ports));

    json_t *reply = json_pack("{s:[{s:s,s:i}],s:{s:s,s:i}}", "endpoints", "addr", "10.0.0.1", "tcp", 4000, "gloo",
                              "addr", "10.0.0.1", "port", 4001);
    json_t *opts = json_pack("{s:[s],s:f}", "tests", "reach", "deadline_s", 3.0);
    json_t *pr = pf_pair_probe_request("vm", facts, "spark1", reply, opts);
    assert_string_equal(json_string_value(json_object_get(pr, "peer")), "spark1");
    assert_int_equal(json_array_size(json_object_get(pr, "endpoints")), 1);
    json_t *g = json_object_get(pr, "gloo");
    assert_string_equal(json_string_value(json_object_get(g, "self")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(g, "peer_node")), "spark1");
    assert_int_equal(json_real_value(json_object_get(pr, "deadline_s")), 3);
    json_decref(pr);
    json_decref(opts);
    json_decref(reply);
    json_decref(want);
    json_decref(req);
    json_decref(ports);
    json_decref(rec);
}

static void test_mtu_sizes(void **state)
{
    (void)state;
    int s[PF_MTU_MAX_SIZES];
    int n = pf_mtu_sizes(9000, 1500, s);
    assert_int_equal(n, 3);
    assert_int_equal(s[0], 9000);
    assert_int_equal(s[1], 1500);
    assert_int_equal(s[2], 1280);
    n = pf_mtu_sizes(1400, -1, s); /* this VM's eth0; peer unknown */
    assert_int_equal(n, 4);
    assert_int_equal(s[0], 9000);
    assert_int_equal(s[1], 1500);
    assert_int_equal(s[2], 1400);
    n = pf_mtu_sizes(65536, 65536, s); /* loopback: above a datagram, left out */
    assert_int_equal(n, 3);
}

static void test_gloo_direction(void **state)
{
    (void)state;
    /* the greater address connects: 192.168.x > 127.0.1.1 > 10.x */
    assert_true(pf_gloo_mesh_initiates("192.168.77.1", 0, "127.0.1.1", 4000));
    assert_false(pf_gloo_mesh_initiates("127.0.1.1", 4000, "192.168.77.1", 0));
    assert_true(pf_gloo_mesh_initiates("127.0.1.1", 0, "10.0.0.1", 0));
    /* same address (both nodes trapped): the port decides */
    assert_true(pf_gloo_mesh_initiates("127.0.1.1", 40001, "127.0.1.1", 40000));
    assert_false(pf_gloo_mesh_initiates("bogus", 0, "10.0.0.1", 0));
    assert_true(pf_gloo_mesh_is_loopback("127.0.1.1"));
    assert_true(pf_gloo_mesh_is_loopback("::1"));
    assert_false(pf_gloo_mesh_is_loopback("10.0.0.1"));
}

static void test_bad_requests(void **state)
{
    (void)state;
    pf_err err = {{0}};
    json_t *reply = NULL;
    json_t *r = json_pack("{s:[]}", "addresses");
    assert_null(pf_pair_listen(r, &reply, &err));
    assert_non_null(strstr(err.msg, "addresses"));
    json_decref(r);
    r = json_pack("{s:[s]}", "addresses", "not-an-ip");
    assert_null(pf_pair_listen(r, &reply, &err));
    assert_non_null(strstr(err.msg, "not-an-ip"));
    json_decref(r);
    r = json_pack("{s:[],s:i}", "endpoints", "deadline_s", 10000);
    assert_null(pf_pair_probe(r, &err));
    assert_non_null(strstr(err.msg, "deadline_s"));
    json_decref(r);
    assert_null(pf_pair_probe(NULL, &err));
    pf_pair_listener_close(NULL);
}

static void test_loopback_round_trip(void **state)
{
    (void)state;
    /* A listener and a probe in one process, on loopback: no root needed. */
    pf_err err = {{0}};
    json_t *reply = NULL;
    json_t *lr = json_pack("{s:s,s:[s],s:s}", "node", "self", "addresses", "127.0.0.1", "gloo_address", "127.0.0.1");
    pf_pair_listener *l = pf_pair_listen(lr, &reply, &err);
    assert_non_null(l);
    json_t *opts = json_pack("{s:{s:i,s:f,s:i}}", "bandwidth", "bytes", 8 << 20, "seconds", 1.0, "streams", 2);
    json_t *facts = json_pack("{s:{s:[{s:s}]}}", "gloo", "devices", "address", "127.0.0.2");
    json_t *pr = pf_pair_probe_request("me", facts, "self", reply, opts);
    json_t *res = pf_pair_probe(pr, &err);
    assert_non_null(res);
    json_t *r0 = json_array_get(json_object_get(res, "reach"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "result")), "ok");
    json_t *bw = json_object_get(res, "bandwidth");
    assert_int_equal(json_integer_value(json_object_get(bw, "bytes_received")), 8 << 20);
    json_t *g = json_object_get(res, "gloo");
    assert_string_equal(json_string_value(json_object_get(g, "role")), "connect"); /* 127.0.0.2 > 127.0.0.1 */
    assert_string_equal(json_string_value(json_object_get(g, "reached_node")), "self");
    json_decref(res);
    json_decref(pr);
    json_decref(facts);
    json_decref(opts);
    pf_pair_listener_close(l);
    /* closed: the port now refuses */
    pf_err e2 = {{0}};
    json_t *again = json_pack("{s:O,s:[s],s:f,s:i}", "endpoints", json_object_get(reply, "endpoints"), "tests",
                              "reach", "connect_timeout_s", 0.5, "connects", 1);
    json_t *res2 = pf_pair_probe(again, &e2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res2, "reach"), 0), "result")),
                        "refused");
    json_decref(res2);
    json_decref(again);
    json_decref(reply);
    json_decref(lr);
}

static int connect_to(const char *addr, int port, int type)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    assert_int_equal(pf_reach_sockaddr(addr, port, &ss, &sl, NULL), 0);
    int fd = socket(ss.ss_family, type, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

static void test_strangers_do_not_disturb(void **state)
{
    (void)state;
    /* Silent clients (slowloris), garbage tags, a half Gloo handshake and
     * stray UDP: the listener keeps serving real probes and closes at once. */
    pf_err err = {{0}};
    json_t *reply = NULL;
    json_t *lr = json_pack("{s:s,s:[s]}", "node", "self", "addresses", "127.0.0.1");
    pf_pair_listener *l = pf_pair_listen(lr, &reply, &err);
    assert_non_null(l);
    json_t *ep = json_array_get(json_object_get(reply, "endpoints"), 0);
    int tport = (int)json_integer_value(json_object_get(ep, "tcp"));
    int uport = (int)json_integer_value(json_object_get(ep, "udp"));
    int fds[8];
    for (int i = 0; i < 5; i++)
        fds[i] = connect_to("127.0.0.1", tport, SOCK_STREAM);
    fds[5] = connect_to("127.0.0.1", tport, SOCK_STREAM);
    assert_int_equal(write(fds[5], "GARBAGE!GARBAGE!", 16), 16);
    fds[6] = connect_to("127.0.0.1", tport, SOCK_STREAM);
    assert_int_equal(write(fds[6], "PFG1", 4), 4); /* and no sequence number */
    fds[7] = connect_to("127.0.0.1", uport, SOCK_DGRAM);
    assert_int_equal(write(fds[7], "ABCDEFGH", 8), 8);
    struct pollfd p = {.fd = fds[7], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 300), 0); /* not echoed: no PFM1 tag */

    json_t *pr = json_pack("{s:O,s:[s,s],s:{s:i,s:f}}", "endpoints", json_object_get(reply, "endpoints"), "tests",
                           "reach", "bandwidth", "bandwidth", "bytes", 4 << 20, "seconds", 1.0);
    json_t *res = pf_pair_probe(pr, &err);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res, "reach"), 0), "result")),
                        "ok");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "bandwidth"), "bytes_received")),
                     4 << 20);
    double t0 = pf_now();
    pf_pair_listener_close(l);
    assert_true(pf_now() - t0 < 1.5); /* silent clients are cut, not waited for */
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    json_decref(res);
    json_decref(pr);
    json_decref(reply);
    json_decref(lr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_request_from_real_facts),
        cmocka_unit_test(test_mtu_sizes),
        cmocka_unit_test(test_gloo_direction),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_loopback_round_trip),
        cmocka_unit_test(test_strangers_do_not_disturb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

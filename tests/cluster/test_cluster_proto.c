/* Frames and the HMAC challenge-response (cluster/proto.h, cluster/auth.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/hmac.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/auth.h"
#include "cluster/proto.h"

static void test_roundtrip_split(void **st)
{
    (void)st;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    json_t *m = json_pack("{s:s,s:i}", "type", "ping", "n", 7);
    size_t len;
    pf_err e;
    unsigned char *buf = pf_proto_encode(m, PF_PROTO_MAX_FRAME, &len, &e);
    assert_non_null(buf);
    pf_proto_rd *rd = pf_proto_rd_new(PF_PROTO_MAX_FRAME);
    json_t *out = NULL;
    bool eof;
    /* Byte by byte: the reader returns nothing until the frame is whole. */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(write(sv[0], buf + i, 1), 1);
        int r = pf_proto_rd_pump(rd, sv[1], &out, &eof, &e);
        assert_int_equal(r, i + 1 == len ? 1 : 0);
    }
    assert_string_equal(json_string_value(json_object_get(out, "type")), "ping");
    json_decref(out);
    /* Two frames in one write come out one after the other. */
    assert_int_equal(write(sv[0], buf, len), (ssize_t)len);
    assert_int_equal(write(sv[0], buf, len), (ssize_t)len);
    assert_int_equal(pf_proto_rd_pump(rd, sv[1], &out, &eof, &e), 1);
    json_decref(out);
    assert_int_equal(pf_proto_rd_pump(rd, sv[1], &out, &eof, &e), 1);
    json_decref(out);
    assert_int_equal(pf_proto_rd_pump(rd, sv[1], &out, &eof, &e), 0);
    close(sv[0]);
    assert_int_equal(pf_proto_rd_pump(rd, sv[1], &out, &eof, &e), -1);
    assert_true(eof);
    pf_proto_rd_free(rd);
    free(buf);
    json_decref(m);
    close(sv[1]);
}

/* One row per way a stranger's bytes are refused. */
static void test_refused(void **st)
{
    (void)st;
    static const struct {
        const char *bytes;
        size_t n;
        const char *why;
    } rows[] = {
        {"GET / HTTP/1.1\r\n", 16, "exceeds the limit"},
        {"\x00\x00\x00\x00", 4, "exceeds the limit"}, /* length 0 */
        {"\x00\x00\x10\x01", 4, "exceeds the limit"}, /* 4097 > pre-auth 4096 */
        {"\x00\x00\x00\x03{}x", 7, "not valid JSON"},
        {"\x00\x00\x00\x02[]", 6, "not a JSON object"},
        {"\x00\x00\x00\x02{}", 6, "no \"type\""},
        {"\x00\x00\x00\x0f{\"type\":\"exec\"}", 19, "not part of the protocol"},
        {"\x00\x00\x00\x1c{\"type\":\"ping\",\"type\":\"bye\"}", 32, "not valid JSON"}, /* duplicate key */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(write(sv[0], rows[i].bytes, rows[i].n), (ssize_t)rows[i].n);
        pf_proto_rd *rd = pf_proto_rd_new(PF_PROTO_MAX_PREAUTH);
        json_t *out = NULL;
        bool eof;
        pf_err e = {{0}};
        int r = pf_proto_rd_pump(rd, sv[1], &out, &eof, &e);
        if (r != -1 || !strstr(e.msg, rows[i].why))
            fail_msg("row %zu: r=%d err='%s', want '%s'", i, r, e.msg, rows[i].why);
        assert_null(out);
        pf_proto_rd_free(rd);
        close(sv[0]);
        close(sv[1]);
    }
}

static void test_recv_deadline(void **st)
{
    (void)st;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], "\x00\x00", 2), 2); /* half a header, then silence */
    pf_err e;
    bool eof;
    double t0 = pf_now();
    json_t *m = pf_proto_recv(sv[1], PF_PROTO_MAX_FRAME, pf_now() + 0.2, &eof, &e);
    double dt = pf_now() - t0;
    assert_null(m);
    assert_non_null(strstr(e.msg, "deadline"));
    assert_true(dt >= 0.19 && dt < 1.0);
    close(sv[0]);
    close(sv[1]);
}

static void test_auth(void **st)
{
    (void)st;
    unsigned char k[32], k2[32], nc[32], na[32], mac[32];
    char hex[65];
    assert_int_equal(pf_auth_random(k, 32, NULL), 0);
    memcpy(k2, k, 32);
    k2[31] ^= 1;
    pf_auth_random(nc, 32, NULL);
    pf_auth_random(na, 32, NULL);
    assert_int_equal(pf_auth_mac(k, "agent", "thor1", nc, na, mac, NULL), 0);
    pf_auth_hex(mac, 32, hex);
    assert_true(pf_auth_check(k, "agent", "thor1", nc, na, hex));
    assert_false(pf_auth_check(k2, "agent", "thor1", nc, na, hex));   /* wrong secret */
    assert_false(pf_auth_check(k, "coord", "thor1", nc, na, hex));    /* reflected the other way */
    assert_false(pf_auth_check(k, "agent", "thor2", nc, na, hex));    /* another node's proof */
    assert_false(pf_auth_check(k, "agent", "thor1", na, nc, hex));    /* nonces swapped (replay) */
    assert_false(pf_auth_check(k, "agent", "thor1", nc, na, "zz"));   /* not hex */
    /* The MAC is plain HMAC-SHA256 over the documented message. */
    unsigned char msg[4 + 5 + 1 + 5 + 1 + 64], ref[32];
    memcpy(msg, "pf1|agent|thor1|", 16);
    memcpy(msg + 16, nc, 32);
    memcpy(msg + 48, na, 32);
    unsigned int rl = 0;
    HMAC(EVP_sha256(), k, 32, msg, 80, ref, &rl);
    assert_memory_equal(ref, mac, 32);
    /* unhex round trip and length check */
    unsigned char back[32];
    assert_int_equal(pf_auth_unhex(hex, back, 32), 0);
    assert_memory_equal(back, mac, 32);
    hex[63] = 0;
    assert_int_equal(pf_auth_unhex(hex, back, 32), -1);
}

static void test_read_secret(void **st)
{
    (void)st;
    int p[2];
    unsigned char k[32];
    pf_err e;
    assert_int_equal(pipe(p), 0);
    const char *line = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nrest";
    assert_int_equal(write(p[1], line, strlen(line)), (ssize_t)strlen(line));
    assert_int_equal(pf_auth_read_secret_fd(p[0], 1, k, &e), 0);
    assert_int_equal(k[1], 0x11);
    /* The rest of stdin is left for the program. */
    char rest[8] = {0};
    assert_int_equal(read(p[0], rest, 4), 4);
    assert_string_equal(rest, "rest");
    close(p[1]);
    assert_int_equal(pf_auth_read_secret_fd(p[0], 1, k, &e), -1); /* EOF: empty */
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    double t0 = pf_now();
    assert_int_equal(pf_auth_read_secret_fd(p[0], 0.2, k, &e), -1); /* silence */
    assert_true(pf_now() - t0 < 1.0);
    assert_non_null(strstr(e.msg, "no secret"));
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_split), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_recv_deadline),   cmocka_unit_test(test_auth),
        cmocka_unit_test(test_read_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

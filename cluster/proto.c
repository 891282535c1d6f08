/* proto.c -- see proto.h.
 *
 * The length prefix is read before any allocation of the payload, so an
 * oversized frame is refused from its first four bytes, never buffered.
 */
#include "cluster/proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const known_types[] = {
    "hello", "auth", "auth_ok", "run_checks", "listen", "probe",
    "unlisten", "nccl_start", "nccl_wait", "reply", "ping", "bye", "error", "stopped", "nccl_abort",
};

bool pf_proto_type_known(const char *type)
{
    if (!type)
        return false;
    for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
        if (strcmp(type, known_types[i]) == 0)
            return true;
    return false;
}

const char *pf_proto_validate(const json_t *msg, pf_err *err)
{
    if (!json_is_object(msg)) {
        pf_err_set(err, "frame is not a JSON object");
        return NULL;
    }
    const char *t = json_string_value(json_object_get(msg, "type"));
    if (!t) {
        pf_err_set(err, "frame has no \"type\" string");
        return NULL;
    }
    if (!pf_proto_type_known(t)) {
        pf_err_set(err, "frame type \"%.40s\" is not part of the protocol", t);
        return NULL;
    }
    return t;
}

unsigned char *pf_proto_encode(const json_t *msg, size_t max, size_t *len, pf_err *err)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s) {
        pf_err_set(err, "frame could not be encoded as JSON");
        return NULL;
    }
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        pf_err_set(err, "frame of %zu bytes exceeds the limit of %zu", n, max);
        free(s);
        return NULL;
    }
    unsigned char *buf = pf_xmalloc(n + 4);
    buf[0] = (unsigned char)(n >> 24);
    buf[1] = (unsigned char)(n >> 16);
    buf[2] = (unsigned char)(n >> 8);
    buf[3] = (unsigned char)n;
    memcpy(buf + 4, s, n);
    free(s);
    *len = n + 4;
    return buf;
}

json_t *pf_proto_decode(const unsigned char *buf, size_t len, pf_err *err)
{
    json_error_t je;
    json_t *m = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        pf_err_set(err, "frame is not valid JSON (%s at byte %d)", je.text, je.position);
        return NULL;
    }
    if (!pf_proto_validate(m, err)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* Wait for fd to become readable/writable before the deadline: 1 ready,
 * 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, double deadline)
{
    for (;;) {
        double left = deadline - pf_now();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = ev};
        int ms = (int)(left * 1000) + 1;
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

int pf_proto_send(int fd, const json_t *msg, double deadline, pf_err *err)
{
    size_t len;
    unsigned char *buf = pf_proto_encode(msg, PF_PROTO_MAX_FRAME, &len, err);
    if (!buf)
        return -1;
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0) {
                rc = pf_err_set(err, "sending a frame timed out (%zu of %zu bytes sent)", off, len);
                break;
            }
            if (r < 0) {
                rc = pf_err_errno(err, errno, "poll");
                break;
            }
            continue;
        }
        rc = pf_err_errno(err, errno, "sending a frame");
        break;
    }
    free(buf);
    return rc;
}

/* Read exactly n bytes before the deadline: 0 ok, -1 error (err), with
 * *eof set when the peer closed before the first byte of this read. */
static int read_exact(int fd, unsigned char *p, size_t n, double deadline, bool *eof, pf_err *err)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = recv(fd, p + off, n - off, MSG_DONTWAIT);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r == 0) {
            if (eof)
                *eof = true;
            return pf_err_set(err, "the peer closed the connection");
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w == 0)
                return pf_err_set(err, "no frame within the deadline");
            if (w < 0)
                return pf_err_errno(err, errno, "poll");
            continue;
        }
        return pf_err_errno(err, errno, "reading a frame");
    }
    return 0;
}

json_t *pf_proto_recv(int fd, size_t max, double deadline, bool *eof, pf_err *err)
{
    if (eof)
        *eof = false;
    unsigned char hdr[4];
    if (read_exact(fd, hdr, 4, deadline, eof, err) < 0)
        return NULL;
    size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (n == 0 || n > max) {
        pf_err_set(err, "frame of %zu bytes exceeds the limit of %zu", n, max);
        return NULL;
    }
    unsigned char *buf = pf_xmalloc(n);
    json_t *m = NULL;
    if (read_exact(fd, buf, n, deadline, NULL, err) == 0)
        m = pf_proto_decode(buf, n, err);
    free(buf);
    return m;
}

struct pf_proto_rd {
    size_t max;
    unsigned char *buf;
    size_t len, cap;
};

pf_proto_rd *pf_proto_rd_new(size_t max)
{
    pf_proto_rd *rd = pf_xcalloc(1, sizeof *rd);
    rd->max = max;
    return rd;
}

void pf_proto_rd_free(pf_proto_rd *rd)
{
    if (!rd)
        return;
    free(rd->buf);
    free(rd);
}

void pf_proto_rd_set_max(pf_proto_rd *rd, size_t max) { rd->max = max; }
size_t pf_proto_rd_pending(const pf_proto_rd *rd) { return rd->len; }

/* A complete frame at the head of the buffer: 1 (*out), 0 incomplete, -1 bad. */
static int take_frame(pf_proto_rd *rd, json_t **out, pf_err *err)
{
    if (rd->len < 4)
        return 0;
    size_t n = (size_t)rd->buf[0] << 24 | (size_t)rd->buf[1] << 16 | (size_t)rd->buf[2] << 8 |
               rd->buf[3];
    if (n == 0 || n > rd->max)
        return pf_err_set(err, "frame of %zu bytes exceeds the limit of %zu", n, rd->max);
    if (rd->len < 4 + n)
        return 0;
    json_t *m = pf_proto_decode(rd->buf + 4, n, err);
    memmove(rd->buf, rd->buf + 4 + n, rd->len - 4 - n);
    rd->len -= 4 + n;
    if (!m)
        return -1;
    *out = m;
    return 1;
}

int pf_proto_rd_pump(pf_proto_rd *rd, int fd, json_t **out, bool *eof, pf_err *err)
{
    if (eof)
        *eof = false;
    *out = NULL;
    int t = take_frame(rd, out, err);
    if (t != 0)
        return t;
    for (;;) {
        /* Never hold more than one frame's worth (+ header): a complete
         * frame is taken above, so len < max + 4 here. */
        size_t need = rd->len + 4096, want = rd->max + 4;
        if (need > want)
            need = want;
        if (rd->cap < need) {
            size_t ncap = rd->cap ? rd->cap : 4096;
            while (ncap < need)
                ncap *= 2;
            rd->buf = pf_xrealloc(rd->buf, ncap);
            rd->cap = ncap;
        }
        ssize_t r = recv(fd, rd->buf + rd->len, rd->cap - rd->len, MSG_DONTWAIT);
        if (r > 0) {
            rd->len += (size_t)r;
            t = take_frame(rd, out, err);
            if (t != 0)
                return t;
            continue;
        }
        if (r == 0) {
            if (eof)
                *eof = true;
            return pf_err_set(err, "the peer closed the connection%s",
                              rd->len ? " in the middle of a frame" : "");
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == EINTR)
            continue;
        return pf_err_errno(err, errno, "reading a frame");
    }
}

/* bandwidth.c -- bulk TCP streams, counted at the receiver (bandwidth.h). */
#include "cluster/bandwidth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cluster/pairtest.h"
#include "cluster/reach.h"
#include "core/util.h"

uint64_t pf_bw_sink(int fd)
{
    char *buf = pf_xmalloc(4 * PF_BW_BLOCK);
    uint64_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, 4 * PF_BW_BLOCK, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (uint64_t)r;
    }
    free(buf);
    return n;
}

typedef struct stream {
    pthread_t thr;
    int fd;
    uint64_t want;     /* bytes to send */
    double t_stop;     /* stop sending at this time even if want not reached */
    double t_reply;    /* reply wait ends here */
    uint64_t sent, received;
    double t_done;     /* when the receiver's count arrived */
    int err;           /* errno of a failed send/recv, 0 if none */
    bool got_reply;
} stream;

/* SO_SNDTIMEO / SO_RCVTIMEO of `seconds` (at least 10 ms: 0 would mean
 * "block forever"). */
static void set_timeout(int fd, int opt, double seconds)
{
    if (seconds < 0.01)
        seconds = 0.01;
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

static void *stream_main(void *arg)
{
    stream *s = arg;
    char *buf = pf_xcalloc(1, PF_BW_BLOCK);
    memcpy(buf, "PFB1", 4);
    /* The tag rides in front of the first block; it is not counted as payload
     * on either side (the receiver counts after reading the tag). */
    size_t off = 0;
    /* A link that goes black mid-stream fills the socket buffer and a plain
     * blocking send() would then wait for TCP to give up (many minutes):
     * every send is bounded by the time left to t_stop, and a send that
     * times out ends the sending (what did arrive is the receiver's count). */
    set_timeout(s->fd, SO_SNDTIMEO, s->t_stop - pf_now());
    if (send(s->fd, buf, 4, MSG_NOSIGNAL) != 4)
        s->err = errno ? errno : EPIPE;
    while (!s->err && s->sent < s->want) {
        if (pf_now() >= s->t_stop) /* vDSO clock: cheap next to a 128 KiB send */
            break;
        size_t chunk = PF_BW_BLOCK - off;
        if (chunk > s->want - s->sent)
            chunk = (size_t)(s->want - s->sent);
        ssize_t w = send(s->fd, buf + off, chunk, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break; /* SO_SNDTIMEO: t_stop passed while the link took nothing */
        if (w <= 0) {
            s->err = w < 0 ? errno : EPIPE;
            break;
        }
        s->sent += (uint64_t)w;
        off = (off + (size_t)w) % PF_BW_BLOCK;
    }
    shutdown(s->fd, SHUT_WR);
    set_timeout(s->fd, SO_RCVTIMEO, s->t_reply - pf_now());
    uint8_t rep[8];
    size_t got = 0;
    while (got < sizeof rep) {
        ssize_t r = recv(s->fd, rep + got, sizeof rep - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (!s->err) /* SO_RCVTIMEO reads EAGAIN: say what it means */
                s->err = r == 0 ? ECONNRESET : errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
            break;
        }
        got += (size_t)r;
    }
    if (got == sizeof rep) {
        s->t_done = pf_now();
        s->got_reply = true;
        for (int i = 0; i < 8; i++)
            s->received = (s->received << 8) | rep[i];
    }
    free(buf);
    return NULL;
}

static void set_owned(json_t *o, const char *key, char *s)
{
    json_object_set_new(o, key, json_string(s));
    free(s);
}

static double getnum(const json_t *o, const char *k, double d)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : d;
}

json_t *pf_bw_probe(const json_t *bw, const json_t *eps, double t_end)
{
    json_t *out = json_object();
    const char *addr = json_string_value(json_object_get(bw, "addr"));
    const json_t *ep = NULL, *e;
    size_t i;
    json_array_foreach(eps, i, e) {
        const char *a = json_string_value(json_object_get(e, "addr"));
        if (!addr || (a && strcmp(a, addr) == 0)) {
            ep = e;
            break;
        }
    }
    if (!ep) {
        json_object_set_new(out, "addr", json_string(addr));
        json_object_set_new(out, "error", json_string("no peer endpoint has that address"));
        return out;
    }
    addr = json_string_value(json_object_get(ep, "addr"));
    int port = (int)json_integer_value(json_object_get(ep, "tcp"));
    double bytes = getnum(bw, "bytes", 256.0 * 1024 * 1024);
    double secs = getnum(bw, "seconds", 2.0);
    int nstreams = (int)getnum(bw, "streams", 1);
    if (bytes < PF_BW_BLOCK)
        bytes = PF_BW_BLOCK;
    if (bytes > (double)PF_BW_MAX_BYTES)
        bytes = (double)PF_BW_MAX_BYTES;
    if (secs > PF_BW_MAX_SECONDS)
        secs = PF_BW_MAX_SECONDS;
    if (nstreams < 1)
        nstreams = 1;
    if (nstreams > PF_PAIR_MAX_STREAMS)
        nstreams = PF_PAIR_MAX_STREAMS;
    /* Leave a quarter of what is left (at least 0.5 s) for the receiver's answer. */
    double left = t_end - pf_now();
    if (secs > left * 0.75)
        secs = left * 0.75;
    json_object_set_new(out, "addr", json_string(addr));
    json_object_set_new(out, "streams", json_integer(nstreams));
    char src[64], ifn[64];
    int mtu, speed = -1;
    pf_reach_source_for(addr, src, sizeof src);
    if (src[0] && pf_reach_local_iface(src, ifn, sizeof ifn, &mtu, &speed) == 0)
        json_object_set_new(out, "local_ifname", json_string(ifn));
    json_object_set_new(out, "local_speed_mbps", speed > 0 ? json_integer(speed) : json_null());
    json_t *ps = json_object_get(ep, "speed_mbps");
    json_object_set_new(out, "peer_speed_mbps", json_is_integer(ps) ? json_copy(ps) : json_null());
    if (secs < 0.1) {
        json_object_set_new(out, "error", json_string("the probe's deadline leaves no time for a transfer"));
        return out;
    }

    stream *st = pf_xcalloc((size_t)nstreams, sizeof *st);
    int nconn = 0;
    for (; nconn < nstreams; nconn++) {
        pf_reach_result r;
        pf_err err = {{0}};
        if (pf_reach_connect(addr, port, 1.0, &r, &st[nconn].fd, &err) != 0 || r.cls != PF_REACH_OK) {
            set_owned(out, "error", pf_xasprintf("connect %s:%d for stream %d: %s", addr, port,
                                                 nconn + 1, err.msg[0] ? err.msg
                                                 : pf_reach_class_name(r.cls)));
            break;
        }
    }
    if (nconn < nstreams) {
        for (int k = 0; k < nconn; k++)
            close(st[k].fd);
        free(st);
        return out;
    }
    double t_start = pf_now();
    uint64_t per = (uint64_t)(bytes / nstreams);
    for (int k = 0; k < nstreams; k++) {
        st[k].want = per < PF_BW_BLOCK ? PF_BW_BLOCK : per;
        st[k].t_stop = t_start + secs;
        st[k].t_reply = t_end;
        pthread_create(&st[k].thr, NULL, stream_main, &st[k]);
    }
    uint64_t sent = 0, rcvd = 0;
    double t_last = t_start;
    int errs = 0, first_err = 0;
    json_t *per_stream = json_array();
    for (int k = 0; k < nstreams; k++) {
        pthread_join(st[k].thr, NULL);
        close(st[k].fd);
        sent += st[k].sent;
        rcvd += st[k].received;
        if (st[k].got_reply && st[k].t_done > t_last)
            t_last = st[k].t_done;
        if (!st[k].got_reply || st[k].err) {
            errs++;
            if (!first_err)
                first_err = st[k].err ? st[k].err : EIO;
        }
        json_array_append_new(per_stream, json_integer((json_int_t)st[k].received));
    }
    free(st);
    double el = t_last - t_start;
    json_object_set_new(out, "bytes_sent", json_integer((json_int_t)sent));
    json_object_set_new(out, "bytes_received", json_integer((json_int_t)rcvd));
    json_object_set_new(out, "seconds", json_real(el));
    json_object_set_new(out, "per_stream_bytes", per_stream);
    if (errs) {
        set_owned(out, "error", pf_xasprintf("%d of %d streams ended without the receiver's count: %s",
                                             errs, nstreams, strerror(first_err)));
    }
    if (el > 0 && rcvd > 0)
        json_object_set_new(out, "gbit_s", json_real((double)rcvd * 8.0 / el / 1e9));
    return out;
}

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

/* One progress record, 16 bytes big-endian: the bytes counted so far and
 * the microseconds from the tag to the last byte counted. */
static void put_record(uint8_t rec[PF_BW_RECORD], uint64_t n, uint64_t us)
{
    for (int i = 0; i < 8; i++) {
        rec[i] = (uint8_t)(n >> (56 - 8 * i));
        rec[8 + i] = (uint8_t)(us >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static bool send_record(int fd, uint64_t n, double t0, double t_last)
{
    uint8_t rec[PF_BW_RECORD];
    put_record(rec, n, (uint64_t)((t_last - t0) * 1e6));
    size_t off = 0;
    while (off < sizeof rec) {
        ssize_t w = send(fd, rec + off, sizeof rec - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

uint64_t pf_bw_serve(int fd)
{
    char *buf = pf_xmalloc(4 * PF_BW_BLOCK);
    uint64_t n = 0;
    double t0 = pf_now(), t_last = t0, t_report = t0 + PF_BW_REPORT_S;
    bool reporting = true;
    for (;;) {
        ssize_t r = recv(fd, buf, 4 * PF_BW_BLOCK, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (uint64_t)r;
        t_last = pf_now(); /* vDSO clock: cheap next to a 512 KiB read */
        if (reporting && t_last >= t_report) {
            reporting = send_record(fd, n, t0, t_last);
            t_report = t_last + PF_BW_REPORT_S;
        }
    }
    if (reporting)
        (void)send_record(fd, n, t0, t_last);
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
    double rx_seconds; /* the receiver's time from the tag to its last byte */
    double t_grow;     /* when a record with a larger count last arrived (0: none) */
    int err;           /* errno of a failed send/recv, 0 if none */
    bool counted;      /* at least one record arrived */
    bool final;        /* the last record was followed by the receiver's close */
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

/* After the half-close: read the receiver's records until it closes (the
 * last one is then final) or t_reply. */
static void read_records(stream *s)
{
    uint8_t rec[PF_BW_RECORD];
    size_t got = 0;
    for (;;) {
        double left = s->t_reply - pf_now();
        if (left <= 0) {
            if (!s->err)
                s->err = ETIMEDOUT;
            return;
        }
        set_timeout(s->fd, SO_RCVTIMEO, left);
        ssize_t r = recv(s->fd, rec + got, sizeof rec - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            /* the receiver closed: its last record is the final count */
            s->final = s->counted && got == 0;
            if (!s->final && !s->err)
                s->err = ECONNRESET;
            return;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue; /* SO_RCVTIMEO: the loop's top ends it at t_reply */
            if (!s->err)
                s->err = errno;
            return;
        }
        got += (size_t)r;
        if (got < sizeof rec)
            continue;
        got = 0;
        uint64_t n = get_be64(rec);
        if (!s->counted || n > s->received)
            s->t_grow = pf_now();
        s->counted = true;
        s->received = n;
        s->rx_seconds = (double)get_be64(rec + 8) / 1e6;
    }
}

static void *stream_main(void *arg)
{
    stream *s = arg;
    char *buf = pf_xcalloc(1, PF_BW_BLOCK);
    memcpy(buf, "PFB2", 4);
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
    read_records(s);
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
    double el = 0;
    int errs = 0, first_err = 0, draining = 0, lies = 0;
    json_t *per_stream = json_array();
    for (int k = 0; k < nstreams; k++) {
        stream *x = &st[k];
        pthread_join(x->thr, NULL);
        close(x->fd);
        sent += x->sent;
        /* No final count by the deadline, but the receiver's count was
         * still growing in the last PF_BW_STALL_S: bytes are still being
         * delivered (heavy loss drains a socket buffer slowly), so what
         * was counted is a measurement.  A count that stopped growing is a
         * stall (a link gone black): an error, as is no count at all. */
        bool still_growing = x->counted && !x->final && x->err == ETIMEDOUT &&
                             x->t_reply - x->t_grow < PF_BW_STALL_S;
        /* a receiver cannot count more than was sent, nor for longer than
         * the stream lasted: not a measurement */
        bool lied = x->received > x->sent || x->rx_seconds > pf_now() - t_start + 0.5;
        if (lied) {
            lies++;
            x->received = 0;
            x->counted = false;
        } else if (still_growing) {
            draining++;
        } else if (!x->final || x->err) {
            errs++;
            if (!first_err)
                first_err = x->err ? x->err : EIO;
        }
        rcvd += x->received;
        if (x->counted && x->rx_seconds > el)
            el = x->rx_seconds;
        json_array_append_new(per_stream, json_integer((json_int_t)x->received));
    }
    free(st);
    json_object_set_new(out, "bytes_sent", json_integer((json_int_t)sent));
    json_object_set_new(out, "bytes_received", json_integer((json_int_t)rcvd));
    json_object_set_new(out, "seconds", json_real(el));
    json_object_set_new(out, "per_stream_bytes", per_stream);
    if (draining)
        json_object_set_new(out, "draining_streams", json_integer(draining));
    if (lies) {
        set_owned(out, "error", pf_xasprintf("%d of %d streams: the receiver reported more bytes than were "
                                             "sent, or for longer than the stream lasted; not a preflight "
                                             "listener, or a broken one", lies, nstreams));
    } else if (errs) {
        set_owned(out, "error", pf_xasprintf("%d of %d streams ended without the receiver's count: %s",
                                             errs, nstreams, strerror(first_err)));
    }
    /* a rate only when every stream was counted: a stream that broke would
     * make the number a fiction */
    if (!lies && !errs && el > 0 && rcvd > 0)
        json_object_set_new(out, "gbit_s", json_real((double)rcvd * 8.0 / el / 1e9));
    return out;
}

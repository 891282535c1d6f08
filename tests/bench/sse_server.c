/* sse_server.c -- a scripted OpenAI-compatible / SGLang-native streaming
 * server for testing `preflight bench` against ground truth.
 *
 * One thread, epoll, non-blocking sockets, HTTP/1.1 keep-alive; thousands of
 * concurrent streams.  Each stream follows the script given on the command
 * line (time to first token, inter-token gap with optional jitter, tokens per
 * event, role-only first chunk, usage chunk) and can be made to fail in a
 * chosen way on every Nth request.  With --record FILE it writes one JSON line
 * per stream with the CLOCK_MONOTONIC time taken just before and just after
 * each write() of an event, so a test can compare the client's TTFT/ITL/E2E
 * with what was actually sent (client and server share the clock), and the
 * number of streams in progress when it began ("active": the client's
 * concurrency as the server saw it).
 *
 *   sse_server --port-file F [--port N] [--record F] [--ttft-ms 20]
 *     [--itl-ms 5] [--itl-jitter-ms 0] [--tokens N] [--chunk-tokens 1]
 *     [--role-ms MS] [--no-role] [--usage auto|always|never] [--seed S]
 *     [--fault KIND --fault-every N --fault-after K] [--slow-ms 2000]
 *     [--die-after N] [--not-ready] [--models-nonjson] [--accept-length X]
 *     [--burst] [--headers-log F] [--require-auth VALUE]
 * KIND: http500 http429 http503 reset close nodone malformed stall
 *       slowheaders error-event notsse nonjson
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum api { API_GENERATE, API_COMPL, API_CHAT };
enum phase { PH_HEADERS, PH_ROLE, PH_CONTENT, PH_FINISH, PH_USAGE, PH_DONE, PH_END };

typedef struct ev {
    double t0, t1;
    char kind; /* r role, c content, f finish, u usage, d done, x fault */
} ev;

typedef struct conn {
    struct conn *prev, *next; /* every open connection, so the exit can free them */
    int fd;
    char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outoff, outcap;
    bool closing;      /* close once the output buffer drains */
    /* the stream in progress */
    bool active;
    long n;            /* request number (1-based, stream requests only) */
    enum api api;
    enum phase ph;
    long tokens, sent_tokens, prompt_tokens;
    int events;
    bool want_usage;
    int fault;
    double next_t;
    size_t heap_i;
    double t_req, t_headers;
    long active_at_start; /* streams in progress when this one began, itself included */
    ev *evs;
    size_t nev, capev;
    char path[64];
    bool keep_alive;
    char *cached;      /* this stream's formatted content chunk */
    size_t cached_len;
} conn;

typedef struct cfg {
    double ttft_ms, itl_ms, jitter_ms, role_ms, slow_ms;
    long tokens, chunk_tokens;
    bool role, burst, not_ready, models_nonjson;
    int usage; /* 0 auto, 1 always, 2 never */
    int fault;
    long fault_every, fault_after, die_after;
    double accept_length;
    uint64_t seed;
    const char *require_auth; /* --require-auth V: 401 unless "Authorization: V" */
} cfg;

/* --headers-log FILE: one JSON line per request (any method, any path) with
 * its Authorization header, so a test can prove the client sent it on every
 * endpoint. */
static FILE *hlog;

static const char *const FAULTS[] = {"none", "http500", "http429", "http503", "reset", "close",
                                     "nodone", "malformed", "stall", "slowheaders", "error-event",
                                     "notsse", "nonjson", NULL};
enum { F_NONE, F_500, F_429, F_503, F_RESET, F_CLOSE, F_NODONE, F_MALFORMED, F_STALL, F_SLOW,
       F_ERREV, F_NOTSSE, F_NONJSON };

static cfg C = {20, 5, 0, -1, 2000, 0, 1, true, false, false, false, 0, F_NONE, 0, 0, 0, -1, 1, NULL};
static int epfd, tfd;
static FILE *rec;
static long nstreams, nactive;
static conn **heap;
static size_t nheap, capheap;
static uint64_t rng_s;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double urand(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return (double)(rng_s >> 11) * 0x1.0p-53;
}

/* ---- min-heap of streams by next send time ----------------------------- */
static void hswap(size_t a, size_t b)
{
    conn *t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
    heap[a]->heap_i = a;
    heap[b]->heap_i = b;
}
static void hup(size_t i)
{
    while (i && heap[(i - 1) / 2]->next_t > heap[i]->next_t) {
        hswap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}
static void hdown(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < nheap && heap[l]->next_t < heap[m]->next_t)
            m = l;
        if (r < nheap && heap[r]->next_t < heap[m]->next_t)
            m = r;
        if (m == i)
            return;
        hswap(i, m);
        i = m;
    }
}
static void hpush(conn *c)
{
    if (nheap == capheap) {
        capheap = capheap ? capheap * 2 : 1024;
        heap = realloc(heap, capheap * sizeof *heap);
    }
    heap[nheap] = c;
    c->heap_i = nheap++;
    hup(c->heap_i);
}
static void hremove(conn *c)
{
    if (c->heap_i == (size_t)-1)
        return;
    size_t i = c->heap_i;
    hswap(i, --nheap);
    c->heap_i = (size_t)-1;
    if (i < nheap) {
        hup(i);
        hdown(i);
    }
}

/* ---- output ------------------------------------------------------------ */
static void conn_close(conn *c);
static conn *conns;

static void outbuf(conn *c, const char *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        c->outcap = (c->outlen + n) * 2;
        c->out = realloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

/* Write what is buffered; 0 when it all went out. */
static int flush_out(conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0) {
            if (errno == EAGAIN) {
                struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
                return 1;
            }
            return -1;
        }
        c->outoff += (size_t)w;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

/* Send bytes now, stamping the write; queued bytes go first. */
static void send_ev(conn *c, const char *p, size_t n, char kind)
{
    ev e = {mono(), 0, kind};
    outbuf(c, p, n);
    /* --burst: the whole response goes out in as few writes as possible,
     * so the server costs little and the client's throughput shows */
    int r = C.burst && kind != 'e' && kind != 'x' ? 0 : flush_out(c);
    e.t1 = mono();
    if (c->nev == c->capev) {
        c->capev = c->capev ? c->capev * 2 : 64;
        c->evs = realloc(c->evs, c->capev * sizeof *c->evs);
    }
    c->evs[c->nev++] = e;
    if (r < 0)
        c->closing = true;
}

static void send_chunk(conn *c, const char *data, char kind)
{
    char *buf;
    size_t n = strlen(data);
    int len = asprintf(&buf, "%zx\r\n%s\r\n", n, data);
    send_ev(c, buf, (size_t)len, kind);
    free(buf);
}

static void send_simple(conn *c, int status, const char *ctype, const char *body)
{
    const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 429
                             ? "Too Many Requests" : status == 503 ? "Service Unavailable"
                             : status == 500 ? "Internal Server Error" : "Error";
    char *buf;
    int len = asprintf(&buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n%s",
                       status, reason, ctype, strlen(body),
                       c->keep_alive ? "" : "Connection: close\r\n", body);
    outbuf(c, buf, (size_t)len);
    free(buf);
    if (flush_out(c) < 0 || !c->keep_alive)
        c->closing = true;
}

/* ---- the stream script ------------------------------------------------- */
static void record(conn *c, const char *end)
{
    if (!rec)
        return;
    fprintf(rec, "{\"n\":%ld,\"id\":\"pf-%ld\",\"path\":\"%s\",\"fault\":\"%s\",\"end\":\"%s\","
                 "\"tokens\":%ld,\"prompt_tokens\":%ld,\"active\":%ld,\"t_req\":%.9f,\"t_headers\":%.9f,"
                 "\"events\":[",
            c->n, c->n, c->path, FAULTS[c->fault], end, c->sent_tokens, c->prompt_tokens,
            c->active_at_start, c->t_req, c->t_headers);
    for (size_t i = 0; i < c->nev; i++)
        fprintf(rec, "%s[%.9f,%.9f,\"%c\"]", i ? "," : "", c->evs[i].t0, c->evs[i].t1,
                c->evs[i].kind);
    fprintf(rec, "]}\n");
    fflush(rec);
}

static void stream_end(conn *c, const char *how)
{
    record(c, how);
    c->active = false;
    c->nev = 0;
    free(c->cached);
    c->cached = NULL;
    nactive--;
    hremove(c);
}

static char *content_json(conn *c, long k, bool last)
{
    json_t *o = json_object();
    char id[32];
    snprintf(id, sizeof id, "pf-%ld", c->n);
    if (c->api == API_GENERATE) {
        /* cumulative text, completion_tokens in meta_info */
        size_t tl = (size_t)(c->sent_tokens + k) * 3;
        char *t = malloc(tl + 1);
        for (size_t i = 0; i < tl; i += 3)
            memcpy(t + i, " hi", 3);
        t[tl] = '\0';
        json_object_set_new(o, "text", json_string(t));
        free(t);
        json_t *m = json_object();
        json_object_set_new(m, "id", json_string(id));
        json_object_set_new(m, "prompt_tokens", json_integer(c->prompt_tokens));
        json_object_set_new(m, "completion_tokens", json_integer(c->sent_tokens + k));
        json_object_set_new(m, "finish_reason", last ? json_pack("{s:s}", "type", "length") : json_null());
        json_object_set_new(o, "meta_info", m);
    } else {
        size_t tl = (size_t)k * 3;
        char *t = malloc(tl + 1);
        for (size_t i = 0; i < tl; i += 3)
            memcpy(t + i, " hi", 3);
        t[tl] = '\0';
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "object", json_string(c->api == API_CHAT ? "chat.completion.chunk"
                                                                         : "text_completion"));
        json_object_set_new(o, "model", json_string("test-model"));
        json_t *ch = c->api == API_CHAT
                         ? json_pack("{s:i,s:{s:s},s:n}", "index", 0, "delta", "content", t,
                                     "finish_reason")
                         : json_pack("{s:i,s:s,s:n,s:n}", "index", 0, "text", t, "logprobs",
                                     "finish_reason");
        json_object_set_new(o, "choices", json_pack("[o]", ch));
        free(t);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *d;
    if (asprintf(&d, "data: %s\n\n", s) < 0)
        abort();
    free(s);
    return d;
}

static double gap_s(void)
{
    double g = C.itl_ms;
    if (C.jitter_ms > 0)
        g += (2 * urand() - 1) * C.jitter_ms;
    return (g < 0 ? 0 : g) / 1000.0;
}

static void reschedule(conn *c, double t)
{
    c->next_t = t;
    if (c->heap_i == (size_t)-1)
        hpush(c);
    else {
        hup(c->heap_i);
        hdown(c->heap_i);
    }
}

static void start_headers(conn *c)
{
    c->t_headers = mono();
    const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n";
    outbuf(c, h, strlen(h));
    if (flush_out(c) < 0)
        c->closing = true;
}

/* Advance one stream at its scheduled time. */
static int step(conn *c, double now)
{
    char id[32];
    snprintf(id, sizeof id, "pf-%ld", c->n);
    bool faulty = c->fault != F_NONE;
    if (c->ph == PH_HEADERS) {
        start_headers(c);
        c->ph = (c->api == API_CHAT && C.role) ? PH_ROLE : PH_CONTENT;
        double first = c->t_req + C.ttft_ms / 1000.0;
        if (c->ph == PH_ROLE && C.role_ms >= 0)
            reschedule(c, c->t_req + C.role_ms / 1000.0);
        else
            reschedule(c, first > now ? first : now);
        return 0;
    }
    if (c->ph == PH_ROLE) {
        char *d;
        if (asprintf(&d, "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"model\":"
                         "\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                         "\"content\":\"\"},\"finish_reason\":null}]}\n\n", id) < 0)
            abort();
        send_chunk(c, d, 'r');
        free(d);
        c->ph = PH_CONTENT;
        double first = c->t_req + C.ttft_ms / 1000.0;
        reschedule(c, first > now ? first : now);
        return 0;
    }
    if (c->ph == PH_CONTENT) {
        if (faulty && c->events >= C.fault_after) {
            switch (c->fault) {
            case F_RESET: {
                struct linger l = {1, 0};
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                stream_end(c, "reset");
                conn_close(c);
                return 1;
            }
            case F_CLOSE:
                stream_end(c, "close");
                conn_close(c);
                return 1;
            case F_MALFORMED:
                send_chunk(c, "data: {\"choices\": [{\"text\": \"x\"\n\n", 'x');
                c->ph = PH_DONE;
                reschedule(c, now);
                return 0;
            case F_NONJSON:
                send_chunk(c, "data: <html><body>502 Bad Gateway</body></html>\n\n", 'x');
                c->ph = PH_DONE;
                reschedule(c, now);
                return 0;
            case F_ERREV:
                send_chunk(c, "data: {\"error\": {\"message\": \"injected failure\", \"type\": "
                              "\"InternalServerError\", \"code\": 500}}\n\n", 'x');
                c->ph = PH_DONE;
                reschedule(c, now);
                return 0;
            case F_STALL:
                hremove(c); /* never scheduled again; the client gives up */
                return 0;
            default:
                break;
            }
        }
        /* one event, or (with --burst) every remaining token event now */
        do {
            long k = c->tokens - c->sent_tokens;
            if (k > C.chunk_tokens)
                k = C.chunk_tokens;
            bool last = c->sent_tokens + k >= c->tokens;
            if (c->api != API_GENERATE && k == C.chunk_tokens && c->cached) {
                /* OpenAI deltas repeat: format once per stream (keeps the
                 * server cheap when measuring the client's throughput) */
                send_ev(c, c->cached, c->cached_len, 'c');
            } else {
                char *d = content_json(c, k, last);
                if (c->api != API_GENERATE && k == C.chunk_tokens) {
                    free(c->cached);
                    c->cached_len = (size_t)asprintf(&c->cached, "%zx\r\n%s\r\n", strlen(d), d);
                }
                send_chunk(c, d, 'c');
                free(d);
            }
            c->sent_tokens += k;
            c->events++;
            if (last)
                c->ph = c->api == API_GENERATE ? PH_DONE : c->api == API_CHAT ? PH_FINISH : PH_USAGE;
        } while (C.burst && c->ph == PH_CONTENT && !(faulty && c->events >= C.fault_after));
        if (c->ph == PH_CONTENT) {
            reschedule(c, C.burst ? now : now + gap_s());
            return 0;
        }
        /* the trailing events follow the last token at once, as SGLang does */
    }
    if (c->ph == PH_FINISH) {
        char *d;
        if (asprintf(&d, "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"model\":"
                         "\"test-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                         "\"length\"}]}\n\n", id) < 0)
            abort();
        send_chunk(c, d, 'f');
        free(d);
        c->ph = PH_USAGE;
    }
    if (c->ph == PH_USAGE) {
        if (c->want_usage) {
            char *d;
            if (asprintf(&d, "data: {\"id\":\"%s\",\"object\":\"%s\",\"model\":\"test-model\","
                             "\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":"
                             "%ld,\"total_tokens\":%ld}}\n\n", id,
                         c->api == API_CHAT ? "chat.completion.chunk" : "text_completion",
                         c->prompt_tokens, c->sent_tokens, c->prompt_tokens + c->sent_tokens) < 0)
                abort();
            send_chunk(c, d, 'u');
            free(d);
        }
        c->ph = PH_DONE;
    }
    if (c->ph == PH_DONE) {
        if (c->fault != F_NODONE)
            send_chunk(c, "data: [DONE]\n\n", 'd');
        send_ev(c, "0\r\n\r\n", 5, 'e');
        stream_end(c, c->fault == F_NODONE ? "nodone" : "done");
        if (!c->keep_alive)
            c->closing = true;
    }
    if (c->closing && c->outlen == 0 && !c->active) {
        conn_close(c);
        return 1;
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------ */
static long count_words(const char *s)
{
    long n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n' || *s == '\t';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static void begin_stream(conn *c, enum api api, const char *body, size_t blen)
{
    json_t *b = json_loadb(body, blen, 0, NULL);
    long max = -1;
    json_t *v;
    if ((v = json_object_get(b, "max_tokens")) && json_is_integer(v))
        max = (long)json_integer_value(v);
    if ((v = json_object_get(b, "max_completion_tokens")) && json_is_integer(v))
        max = (long)json_integer_value(v);
    if ((v = json_object_get(json_object_get(b, "sampling_params"), "max_new_tokens")) &&
        json_is_integer(v))
        max = (long)json_integer_value(v);
    json_t *p = json_object_get(b, api == API_GENERATE ? "input_ids" : "prompt");
    if (api == API_GENERATE && !p)
        p = json_object_get(b, "text");
    if (api == API_CHAT)
        p = json_object_get(json_array_get(json_object_get(b, "messages"), 0), "content");
    c->prompt_tokens = json_is_array(p) ? (long)json_array_size(p)
                       : json_is_string(p) ? count_words(json_string_value(p)) : 0;
    bool inc = json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage"));
    bool stream = json_is_true(json_object_get(b, "stream"));
    c->want_usage = C.usage == 1 || (C.usage == 0 && inc);
    json_decref(b);
    c->n = ++nstreams;
    c->api = api;
    c->tokens = C.tokens > 0 ? C.tokens : (max > 0 ? max : 16);
    c->sent_tokens = 0;
    c->events = 0;
    c->nev = 0;
    c->fault = (C.fault_every > 0 && c->n % C.fault_every == 0) ? C.fault : F_NONE;
    c->active = true;
    c->active_at_start = ++nactive;
    if (C.die_after > 0 && c->n >= C.die_after) {
        if (rec)
            fflush(rec);
        _exit(0); /* the server dies with streams in flight */
    }
    if (!stream && c->fault == F_NONE) {
        /* a plain (non-streaming) completion, answered at once */
        long n = c->tokens;
        char *text = malloc((size_t)n * 3 + 1);
        for (long i = 0; i < n; i++)
            memcpy(text + i * 3, " hi", 3);
        text[n * 3] = '\0';
        json_t *o = api == API_GENERATE
            ? json_pack("{s:s,s:{s:i,s:i}}", "text", text, "meta_info", "prompt_tokens",
                        (int)c->prompt_tokens, "completion_tokens", (int)n)
            : api == API_CHAT
            ? json_pack("{s:s,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:{s:i,s:i}}", "id", "pf", "object",
                        "chat.completion", "choices", "index", 0, "message", "role", "assistant",
                        "content", text, "finish_reason", "length", "usage", "prompt_tokens",
                        (int)c->prompt_tokens, "completion_tokens", (int)n)
            : json_pack("{s:s,s:s,s:[{s:i,s:s,s:s}],s:{s:i,s:i}}", "id", "pf", "object",
                        "text_completion", "choices", "index", 0, "text", text, "finish_reason",
                        "length", "usage", "prompt_tokens", (int)c->prompt_tokens,
                        "completion_tokens", (int)n);
        char *body2 = json_dumps(o, JSON_COMPACT);
        c->t_headers = mono();
        send_simple(c, 200, "application/json", body2);
        c->sent_tokens = n;
        free(body2);
        json_decref(o);
        free(text);
        stream_end(c, "plain");
        return;
    }
    switch (c->fault) {
    case F_500:
    case F_429:
    case F_503: {
        int st = c->fault == F_500 ? 500 : c->fault == F_429 ? 429 : 503;
        char body2[128];
        snprintf(body2, sizeof body2, "{\"error\":{\"message\":\"injected HTTP %d\",\"code\":%d}}",
                 st, st);
        c->t_headers = mono();
        send_simple(c, st, "application/json", body2);
        stream_end(c, "http");
        return;
    }
    case F_NOTSSE:
        c->t_headers = mono();
        send_simple(c, 200, "application/json", "{\"text\":\" hi hi\",\"meta_info\":{}}");
        stream_end(c, "notsse");
        return;
    default:
        break;
    }
    c->ph = PH_HEADERS;
    c->heap_i = (size_t)-1;
    reschedule(c, c->fault == F_SLOW ? c->t_req + C.slow_ms / 1000.0 : c->t_req);
}

static void handle_get(conn *c, const char *path)
{
    char buf[2048];
    if (C.not_ready) {
        send_simple(c, 503, "application/json", "{\"error\":\"loading\"}");
    } else if (strcmp(path, "/v1/models") == 0) {
        if (C.models_nonjson)
            send_simple(c, 200, "text/html", "<html><body>It works!</body></html>");
        else
            send_simple(c, 200, "application/json",
                        "{\"object\":\"list\",\"data\":[{\"id\":\"test-model\",\"object\":\"model\","
                        "\"root\":\"test-model\",\"max_model_len\":32768}]}");
    } else if (strcmp(path, "/health") == 0 || strcmp(path, "/health_generate") == 0) {
        send_simple(c, 200, "text/plain", "");
    } else if (strcmp(path, "/server_info") == 0) {
        if (C.accept_length >= 0)
            snprintf(buf, sizeof buf, "{\"version\":\"sse-test\",\"internal_states\":"
                                      "[{\"avg_spec_accept_length\":%g}]}", C.accept_length);
        else
            snprintf(buf, sizeof buf, "{\"version\":\"sse-test\",\"internal_states\":[{}]}");
        send_simple(c, 200, "application/json", buf);
    } else if (strcmp(path, "/metrics") == 0) {
        snprintf(buf, sizeof buf,
                 "# HELP sglang:num_running_reqs The number of running requests.\n"
                 "# TYPE sglang:num_running_reqs gauge\n"
                 "sglang:num_running_reqs{model_name=\"test-model\"} %ld\n"
                 "# TYPE sglang:num_requests_total counter\n"
                 "sglang:num_requests_total{model_name=\"test-model\"} %ld\n"
                 "sglang:time_to_first_token_seconds_bucket{model_name=\"test-model\",le=\"+Inf\"} %ld\n"
                 "# a non-SGLang sample the client drops\n"
                 "process_cpu_seconds_total 1.5\n",
                 nactive, nstreams, nstreams);
        send_simple(c, 200, "text/plain; version=0.0.4", buf);
    } else {
        send_simple(c, 404, "application/json", "{\"detail\":\"Not Found\"}");
    }
}

/* Parse as many complete requests as the input holds (one at a time: a
 * stream in progress blocks the next request on this connection). */
static void parse_requests(conn *c)
{
    while (!c->active && !c->closing) {
        if (c->inlen + 1 > c->incap) {
            c->incap = c->inlen + 1;
            c->in = realloc(c->in, c->incap);
        }
        c->in[c->inlen] = '\0';
        char *hend = strstr(c->in, "\r\n\r\n");
        if (!hend)
            return;
        size_t hlen = (size_t)(hend - c->in) + 4;
        long clen = 0;
        char *cl = strcasestr(c->in, "\r\ncontent-length:");
        if (cl && cl < hend)
            clen = strtol(cl + 17, NULL, 10);
        if (c->inlen < hlen + (size_t)clen)
            return;
        char method[8] = "", path[64] = "";
        sscanf(c->in, "%7s %63s", method, path);
        char *conn_h = strcasestr(c->in, "\r\nconnection:");
        c->keep_alive = !(conn_h && conn_h < hend && strncasecmp(conn_h + 13, " close", 6) == 0);
        snprintf(c->path, sizeof c->path, "%s", path);
        c->t_req = mono();
        char *body = c->in + hlen;
        char auth[512] = "";
        bool has_auth = false;
        char *ah = strcasestr(c->in, "\r\nauthorization:");
        if (ah && ah < hend) {
            const char *p = ah + 16;
            while (*p == ' ')
                p++;
            const char *e = strstr(p, "\r\n");
            snprintf(auth, sizeof auth, "%.*s", (int)(e - p), p);
            has_auth = true;
        }
        if (hlog) {
            json_t *l = json_pack("{s:s, s:s, s:o}", "method", method, "path", path, "authorization",
                                  has_auth ? json_string(auth) : json_null());
            char *line = json_dumps(l, JSON_COMPACT);
            fprintf(hlog, "%s\n", line);
            fflush(hlog);
            free(line);
            json_decref(l);
        }
        if (C.require_auth && (!has_auth || strcmp(auth, C.require_auth) != 0))
            send_simple(c, 401, "application/json", "{\"error\":\"missing or wrong API key\"}");
        else if (strcmp(method, "GET") == 0)
            handle_get(c, path);
        else if (C.not_ready)
            send_simple(c, 503, "application/json", "{\"error\":\"loading\"}");
        else if (strcmp(path, "/generate") == 0)
            begin_stream(c, API_GENERATE, body, (size_t)clen);
        else if (strcmp(path, "/v1/completions") == 0)
            begin_stream(c, API_COMPL, body, (size_t)clen);
        else if (strcmp(path, "/v1/chat/completions") == 0)
            begin_stream(c, API_CHAT, body, (size_t)clen);
        else
            send_simple(c, 404, "application/json", "{\"detail\":\"Not Found\"}");
        size_t used = hlen + (size_t)clen;
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
    }
}

/* Free a connection's memory (no record line: see conn_close). */
static void conn_free(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->evs);
    free(c->cached);
    free(c);
}

static void conn_close(conn *c)
{
    if (c->active)
        stream_end(c, "client-closed");
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    conn_free(c);
}

static void on_readable(conn *c)
{
    for (;;) {
        if (c->inlen + 65536 > c->incap) {
            c->incap = c->inlen + 65536 * 2;
            c->in = realloc(c->in, c->incap);
        }
        ssize_t r = read(c->fd, c->in + c->inlen, c->incap - c->inlen - 1);
        if (r > 0) {
            c->inlen += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
        break;
    }
    parse_requests(c);
    if (c->closing && c->outlen == 0)
        conn_close(c);
}

static int parse_args(int argc, char **argv, int *port, const char **port_file, const char **recp)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL(name) (strcmp(a, name) == 0 && v && ++i)
        if (VAL("--port")) *port = atoi(v);
        else if (VAL("--port-file")) *port_file = v;
        else if (VAL("--record")) *recp = v;
        else if (VAL("--ttft-ms")) C.ttft_ms = atof(v);
        else if (VAL("--itl-ms")) C.itl_ms = atof(v);
        else if (VAL("--itl-jitter-ms")) C.jitter_ms = atof(v);
        else if (VAL("--role-ms")) C.role_ms = atof(v);
        else if (VAL("--slow-ms")) C.slow_ms = atof(v);
        else if (VAL("--tokens")) C.tokens = atol(v);
        else if (VAL("--chunk-tokens")) C.chunk_tokens = atol(v) > 0 ? atol(v) : 1;
        else if (VAL("--fault-every")) C.fault_every = atol(v);
        else if (VAL("--fault-after")) C.fault_after = atol(v);
        else if (VAL("--die-after")) C.die_after = atol(v);
        else if (VAL("--accept-length")) C.accept_length = atof(v);
        else if (VAL("--seed")) C.seed = strtoull(v, NULL, 10);
        else if (VAL("--require-auth")) C.require_auth = v;
        else if (VAL("--headers-log")) {
            if (!(hlog = fopen(v, "w"))) {
                perror(v);
                return -1;
            }
        }
        else if (VAL("--usage")) C.usage = strcmp(v, "always") == 0 ? 1 : strcmp(v, "never") == 0 ? 2 : 0;
        else if (VAL("--fault")) {
            C.fault = -1;
            for (int k = 0; FAULTS[k]; k++)
                if (strcmp(FAULTS[k], v) == 0)
                    C.fault = k;
            if (C.fault < 0) {
                fprintf(stderr, "sse_server: unknown fault %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--no-role") == 0) C.role = false;
        else if (strcmp(a, "--burst") == 0) C.burst = true;
        else if (strcmp(a, "--not-ready") == 0) C.not_ready = true;
        else if (strcmp(a, "--models-nonjson") == 0) C.models_nonjson = true;
        else {
            fprintf(stderr, "sse_server: bad argument %s\n", a);
            return -1;
        }
#undef VAL
    }
    if (C.fault != F_NONE && C.fault_every == 0)
        C.fault_every = 1;
    return 0;
}

/* SIGTERM ends the server between two event-loop passes, never inside one:
 * a test that stops the server right after its last stream finished must
 * find that stream in the record (it is written after the final chunk). */
static volatile sig_atomic_t terminate;
static void on_term(int sig)
{
    (void)sig;
    terminate = 1;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL, *recp = NULL;
    if (parse_args(argc, argv, &port, &port_file, &recp) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* SIGTERM stays blocked except inside epoll_pwait, so it cannot slip in
     * between the check of `terminate` and the wait (and leave us asleep) */
    struct sigaction sa_term = {.sa_handler = on_term};
    sigemptyset(&sa_term.sa_mask);
    sigaction(SIGTERM, &sa_term, NULL);
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    rng_s = C.seed * 0x9e3779b97f4a7c15ULL + 1;
    if (recp && !(rec = fopen(recp, "w"))) {
        perror(recp);
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0) {
        perror("sse_server: bind/listen");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    epfd = epoll_create1(0);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &ls};
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &e);
    e.data.ptr = &tfd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &e);
    if (port_file) { /* written last: its presence means "listening" */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *pf = fopen(tmp, "w");
        if (!pf || fprintf(pf, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(pf) != 0 ||
            rename(tmp, port_file) != 0) {
            perror(port_file);
            return 1;
        }
    } else {
        printf("%d\n", ntohs(sa.sin_port));
        fflush(stdout);
    }
    struct epoll_event evs[1024];
    double armed = -1;
    for (;;) {
        if (terminate) {
            if (rec)
                fclose(rec);
            if (hlog)
                fclose(hlog);
            /* streams in flight end here without a record line, as before */
            while (conns)
                conn_free(conns);
            free(heap);
            return 0;
        }
        double now = mono();
        while (nheap && heap[0]->next_t <= now) {
            step(heap[0], now);
            now = mono();
        }
        if (nheap && heap[0]->next_t != armed) {
            armed = heap[0]->next_t;
            struct itimerspec its = {0};
            its.it_value.tv_sec = (time_t)armed;
            its.it_value.tv_nsec = (long)((armed - (double)(time_t)armed) * 1e9) + 1;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
        int n = epoll_pwait(epfd, evs, 1024, -1, &waitmask);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tfd) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) { /* spurious: fine */ }
                armed = -1;
            } else if (p == &ls) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->next = conns;
                    if (conns)
                        conns->prev = c;
                    conns = c;
                    c->heap_i = (size_t)-1;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ce);
                }
            } else {
                conn *c = p;
                if (evs[i].events & EPOLLOUT) {
                    int r = flush_out(c);
                    if (r == 0) {
                        struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ce);
                    }
                    if (r < 0 || (r == 0 && c->closing && !c->active)) {
                        conn_close(c);
                        continue;
                    }
                }
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    on_readable(c);
            }
        }
    }
}

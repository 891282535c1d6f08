/* sse.c -- incremental text/event-stream line parser (see sse.h). */
#include "bench/sse.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void pf_sse_init(pf_sse *p, size_t max_line)
{
    memset(p, 0, sizeof *p);
    p->max_line = max_line ? max_line : (size_t)16 << 20;
}

void pf_sse_reset(pf_sse *p)
{
    p->len = 0;
    p->after_cr = false;
    p->started = false;
    p->overflow = false;
    p->lines = 0;
}

void pf_sse_free(pf_sse *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

size_t pf_sse_pending(const pf_sse *p)
{
    return p->len;
}

static int emit(pf_sse *p, const char *line, size_t n, pf_sse_line_fn fn, void *ud)
{
    if (n == 0)
        return 0; /* blank line: event boundary, nothing to report */
    p->lines++;
    if (line[0] == ':')
        return fn(ud, PF_SSE_COMMENT, line + 1, n - 1, line, n);
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *val = colon ? colon + 1 : line + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0)
        return fn(ud, PF_SSE_DATA, val, vlen, line, n);
    return fn(ud, PF_SSE_FIELD, val, vlen, line, n);
}

static int append(pf_sse *p, const char *d, size_t n)
{
    if (p->len + n > p->max_line) {
        p->overflow = true;
        return -1;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + n)
            cap *= 2;
        p->buf = pf_xrealloc(p->buf, cap);
        p->cap = cap;
    }
    memcpy(p->buf + p->len, d, n);
    p->len += n;
    return 0;
}

int pf_sse_feed(pf_sse *p, const char *data, size_t len, pf_sse_line_fn fn, void *ud)
{
    if (p->overflow)
        return -1;
    size_t i = 0;
    if (!p->started && len) {
        /* A UTF-8 BOM may open the stream.  Only a whole BOM in the first
         * feed is recognised; no server splits three bytes. */
        if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
            (unsigned char)data[2] == 0xBF)
            i = 3;
        p->started = true;
    }
    if (p->after_cr && i < len) {
        if (data[i] == '\n')
            i++;
        p->after_cr = false;
    }
    while (i < len) {
        const char *s = data + i;
        size_t rest = len - i;
        const char *nl = memchr(s, '\n', rest);
        size_t lim = nl ? (size_t)(nl - s) : rest;
        const char *cr = memchr(s, '\r', lim);
        size_t k;
        if (cr)
            k = (size_t)(cr - s);
        else if (nl)
            k = lim;
        else
            return append(p, s, rest); /* no terminator yet: carry the tail */
        int rc;
        if (p->len) {
            /* finish the carried line; the buffer stays valid in the callback */
            if (append(p, s, k) < 0)
                return -1;
            size_t n = p->len;
            p->len = 0;
            rc = emit(p, p->buf, n, fn, ud);
        } else {
            if (k > p->max_line) {
                p->overflow = true;
                return -1;
            }
            rc = emit(p, s, k, fn, ud);
        }
        i += k + 1;
        if (s[k] == '\r') {
            if (i < len) {
                if (data[i] == '\n')
                    i++;
            } else {
                p->after_cr = true;
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int pf_sse_finish(pf_sse *p, pf_sse_line_fn fn, void *ud)
{
    if (p->overflow)
        return -1;
    if (!p->len)
        return 0;
    size_t n = p->len;
    p->len = 0;
    return emit(p, p->buf, n, fn, ud);
}

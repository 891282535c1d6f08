/* strbuf.c -- see strbuf.h. */
#include "core/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void pf_strbuf_init(pf_strbuf *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
}

/* Room for len + n + NUL, and for the marker after it. */
static void reserve(pf_strbuf *b, size_t n)
{
    size_t need = b->len + n + 64;
    if (need <= b->alloc)
        return;
    size_t a = b->alloc ? b->alloc : 64;
    while (a < need)
        a *= 2;
    b->s = pf_xrealloc(b->s, a);
    b->alloc = a;
}

/* Drop a marker appended by pf_strbuf_str before writing more. */
static void unmark(pf_strbuf *b)
{
    if (b->marked) {
        b->s[b->len] = '\0';
        b->marked = false;
    }
}

static size_t room(const pf_strbuf *b)
{
    if (!b->cap)
        return (size_t)-1;
    return b->cap > b->len ? b->cap - b->len : 0;
}

static void put(pf_strbuf *b, const char *p, size_t n)
{
    reserve(b, n);
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void pf_strbuf_append(pf_strbuf *b, const char *text)
{
    unmark(b);
    size_t n = strlen(text), r = room(b);
    if (n <= r) {
        put(b, text, n);
        return;
    }
    /* cut at the cap, on a UTF-8 character boundary */
    while (r > 0 && ((unsigned char)text[r] & 0xC0) == 0x80)
        r--;
    put(b, text, r);
    b->dropped++;
}

void pf_strbuf_vappendf(pf_strbuf *b, const char *fmt, va_list ap)
{
    char *t = pf_xvasprintf(fmt, ap);
    pf_strbuf_append(b, t);
    free(t);
}

void pf_strbuf_appendf(pf_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pf_strbuf_vappendf(b, fmt, ap);
    va_end(ap);
}

void pf_strbuf_item(pf_strbuf *b, const char *sep, const char *item)
{
    unmark(b);
    size_t ns = b->items && sep ? strlen(sep) : 0, ni = strlen(item);
    if (b->dropped || ns + ni > room(b)) {
        b->dropped++;
        return;
    }
    if (ns)
        put(b, sep, ns);
    put(b, item, ni);
    b->items++;
}

void pf_strbuf_itemf(pf_strbuf *b, const char *sep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = pf_xvasprintf(fmt, ap);
    va_end(ap);
    pf_strbuf_item(b, sep, t);
    free(t);
}

void pf_strbuf_drop(pf_strbuf *b, size_t n)
{
    b->dropped += n;
}

size_t pf_strbuf_len(const pf_strbuf *b)
{
    return b->len;
}

size_t pf_strbuf_dropped(const pf_strbuf *b)
{
    return b->dropped;
}

const char *pf_strbuf_str(pf_strbuf *b)
{
    if (!b->s) {
        reserve(b, 0);
        b->s[0] = '\0';
    }
    if (b->dropped && !b->marked) {
        char m[48];
        int n = snprintf(m, sizeof m, "%s\u2026 (%zu more)", b->len ? " " : "", b->dropped);
        reserve(b, (size_t)n);
        memcpy(b->s + b->len, m, (size_t)n + 1);
        b->marked = true;
    }
    return b->s;
}

char *pf_strbuf_take(pf_strbuf *b)
{
    pf_strbuf_str(b);
    char *s = b->s;
    size_t cap = b->cap;
    pf_strbuf_init(b, cap);
    return s;
}

void pf_strbuf_free(pf_strbuf *b)
{
    free(b->s);
    pf_strbuf_init(b, b->cap);
}

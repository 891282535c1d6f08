/* jscan.c -- validating single-pass JSON scanner (see jscan.h). */
#include "bench/jscan.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_PATH 160

typedef struct scan {
    const char *p, *end;
    char path[MAX_PATH + 16];
    size_t plen;
    bool path_over;    /* the current path does not fit: it matches nothing */
    pf_jfield *f;
    size_t nf;
    int depth;
} scan;

/* -1: invalid, 1: fall back, 0: fine */
static int value(scan *s);

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static pf_jfield *wanted(scan *s)
{
    if (s->path_over)
        return NULL;
    for (size_t i = 0; i < s->nf; i++)
        if (strlen(s->f[i].path) == s->plen && memcmp(s->f[i].path, s->path, s->plen) == 0)
            return &s->f[i];
    return NULL;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = pf_hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A string at s->p (on the opening quote).  *escaped tells whether it held
 * any escape; *dlen its decoded UTF-8 length. */
static int string(scan *s, const char **start, size_t *rawlen, size_t *dlen, bool *escaped)
{
    const unsigned char *p = (const unsigned char *)s->p + 1, *e = (const unsigned char *)s->end;
    *start = (const char *)p;
    *escaped = false;
    size_t d = 0;
    while (p < e) {
        unsigned c = *p;
        if (c == '"') {
            *rawlen = (size_t)((const char *)p - *start);
            *dlen = d;
            s->p = (const char *)p + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            *escaped = true;
            if (p + 1 >= e)
                return -1;
            unsigned x = p[1];
            if (x == 'u') {
                if (p + 6 > e)
                    return -1;
                int cp = hex4((const char *)p + 2);
                if (cp < 0)
                    return -1;
                if (cp == 0)
                    return 1; /* jansson rejects \u0000 unless asked; let it say so */
                p += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p + 6 > e || p[0] != '\\' || p[1] != 'u')
                        return 1; /* lone surrogate: jansson's call */
                    int lo = hex4((const char *)p + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return 1;
                    p += 6;
                    d += 4;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return 1;
                } else {
                    d += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", (int)x) || x == 0)
                return -1;
            p += 2;
            d++;
            continue;
        }
        if (c < 0x80) {
            p++;
            d++;
            continue;
        }
        /* UTF-8: reject overlongs, surrogates and code points past U+10FFFF */
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF)
            k = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, cp = c & 0x07;
        else
            return -1;
        if (p + k >= e)
            return -1;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -1;
        p += k + 1;
        d += k + 1;
    }
    return -1;
}

static int number(scan *s)
{
    const char *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return -1;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    } else {
        return -1;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return -1;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return -1;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p - s->p > 40)
        return 1; /* jansson may call it too big; let it */
    s->p = p;
    return 0;
}

static int literal(scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static void path_push(scan *s, const char *seg, size_t n, bool key, size_t *saved)
{
    *saved = s->plen;
    if (s->path_over)
        return;
    size_t need = n + (key && s->plen ? 1 : 0);
    if (s->plen + need > MAX_PATH) {
        s->path_over = true;
        return;
    }
    if (key && s->plen)
        s->path[s->plen++] = '.';
    memcpy(s->path + s->plen, seg, n);
    s->plen += n;
}

static void path_pop(scan *s, size_t saved, bool was_over)
{
    s->plen = saved;
    s->path_over = was_over;
}

static int object(scan *s, size_t *count)
{
    s->p++; /* { */
    ws(s);
    *count = 0;
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        ws(s);
        if (s->p >= s->end || *s->p != '"')
            return -1;
        const char *k;
        size_t kl, dl;
        bool esc;
        int r = string(s, &k, &kl, &dl, &esc);
        if (r)
            return r;
        if (esc)
            return 1; /* an escaped key might spell a wanted one */
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        size_t saved;
        bool over = s->path_over;
        path_push(s, k, kl, true, &saved);
        r = value(s);
        path_pop(s, saved, over);
        if (r)
            return r;
        (*count)++;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return 0;
        }
        return -1;
    }
}

static int array(scan *s, size_t *count)
{
    s->p++; /* [ */
    ws(s);
    *count = 0;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        char seg[24];
        size_t n = 0;
        size_t i = *count;
        char digits[20];
        size_t nd = 0;
        do {
            digits[nd++] = (char)('0' + i % 10);
            i /= 10;
        } while (i);
        seg[n++] = '[';
        while (nd)
            seg[n++] = digits[--nd];
        seg[n++] = ']';
        size_t saved;
        bool over = s->path_over;
        path_push(s, seg, n, false, &saved);
        int r = value(s);
        path_pop(s, saved, over);
        if (r)
            return r;
        (*count)++;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        return -1;
    }
}

static int value(scan *s)
{
    ws(s);
    if (s->p >= s->end)
        return -1;
    pf_jfield *f = wanted(s);
    if (f && f->type != PF_J_ABSENT)
        return 1; /* given twice: jansson keeps the last; let it decide */
    const char *start = s->p;
    pf_jtype t;
    size_t len = 0;
    int r;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return 1;
        if (*s->p == '{')
            t = PF_J_OBJECT, r = object(s, &len);
        else
            t = PF_J_ARRAY, r = array(s, &len);
        s->depth--;
        break;
    case '"': {
        const char *k;
        size_t kl;
        bool esc;
        r = string(s, &k, &kl, &len, &esc);
        t = PF_J_STRING;
        if (r == 0 && f) {
            f->type = t;
            f->raw = k;
            f->raw_len = kl;
            f->len = len;
            return 0;
        }
        break;
    }
    case 't':
        t = PF_J_TRUE, r = literal(s, "true", 4);
        break;
    case 'f':
        t = PF_J_FALSE, r = literal(s, "false", 5);
        break;
    case 'n':
        t = PF_J_NULL, r = literal(s, "null", 4);
        break;
    default:
        t = PF_J_NUMBER, r = number(s);
        break;
    }
    if (r == 0 && f) {
        f->type = t;
        f->raw = start;
        f->raw_len = (size_t)(s->p - start);
        f->len = len;
    }
    return r;
}

pf_jscan_rc pf_jscan(const char *text, size_t n, pf_jfield *fields, size_t nfields)
{
    for (size_t i = 0; i < nfields; i++) {
        fields[i].type = PF_J_ABSENT;
        fields[i].raw = NULL;
        fields[i].raw_len = fields[i].len = 0;
    }
    scan s = {.p = text, .end = text + n, .f = fields, .nf = nfields};
    int r = value(&s);
    if (r == 0) {
        ws(&s);
        if (s.p != s.end)
            r = -1; /* trailing garbage */
    }
    /* invalid or undecided: jansson parses it again and names the error */
    return r == 0 ? PF_JSCAN_OK : PF_JSCAN_FALLBACK;
}

long pf_jfield_long(const pf_jfield *f)
{
    if (f->type != PF_J_NUMBER)
        return -1;
    char buf[48];
    size_t n = f->raw_len < sizeof buf - 1 ? f->raw_len : sizeof buf - 1;
    memcpy(buf, f->raw, n);
    buf[n] = '\0';
    /* strtod for every form: strtol would clamp 1e30-sized integers to
     * LONG_MAX, and a double cast to long out of range is undefined. */
    double v = strtod(buf, NULL);
    if (!(v >= 0 && v <= (double)PF_TOKENS_MAX))
        return -1;
    if (!strpbrk(buf, ".eE"))
        return strtol(buf, NULL, 10);
    return (long)v;
}

/* prom.c -- Prometheus text format parser (see prom.h). */
#include "bench/prom.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static void bput(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = pf_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static bool parse_value(const char *s, const char *e, double *v)
{
    size_t n = (size_t)(e - s);
    if (n == 4 && (memcmp(s, "+Inf", 4) == 0)) {
        *v = INFINITY;
        return true;
    }
    if (n == 4 && memcmp(s, "-Inf", 4) == 0) {
        *v = -INFINITY;
        return true;
    }
    if (n == 3 && memcmp(s, "NaN", 3) == 0) {
        *v = NAN;
        return true;
    }
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    *v = strtod(tmp, &end);
    return *end == '\0';
}

/* Parse one sample line [s, e).  Returns NULL on success, else why not. */
static const char *parse_line(const char *s, const char *e, buf *name, buf *labels, double *v)
{
    name->n = labels->n = 0;
    bput(name, "", 0);
    bput(labels, "", 0);
    const char *p = s;
    if (!name_start(*p))
        return "line does not start with a metric name";
    while (p < e && name_char(*p))
        p++;
    bput(name, s, (size_t)(p - s));
    if (p < e && *p == '{') {
        p++;
        bput(labels, "{", 1);
        bool first = true;
        for (;;) {
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if (p < e && *p == '}') {
                p++;
                break;
            }
            const char *ks = p;
            if (p >= e || !name_start(*p))
                return "bad label name";
            while (p < e && name_char(*p))
                p++;
            const char *ke = p;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if (p >= e || *p != '=')
                return "label without '='";
            p++;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if (p >= e || *p != '"')
                return "label value not quoted";
            p++;
            if (!first)
                bput(labels, ",", 1);
            first = false;
            bput(labels, ks, (size_t)(ke - ks));
            bput(labels, "=\"", 2);
            for (;;) {
                if (p >= e)
                    return "unterminated label value";
                if (*p == '\\') {
                    if (p + 1 >= e)
                        return "unterminated escape in label value";
                    char c = p[1];
                    if (c != '\\' && c != '"' && c != 'n')
                        return "bad escape in label value";
                    bput(labels, p, 2);
                    p += 2;
                    continue;
                }
                if (*p == '"') {
                    p++;
                    break;
                }
                bput(labels, p, 1);
                p++;
            }
            bput(labels, "\"", 1);
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if (p < e && *p == ',') {
                p++;
                continue;
            }
            if (p < e && *p == '}') {
                p++;
                break;
            }
            return "expected ',' or '}' after a label";
        }
        bput(labels, "}", 1);
        if (labels->n == 2) /* "{}" */
            labels->n = 0, labels->s[0] = '\0';
    }
    if (p >= e || (*p != ' ' && *p != '\t'))
        return "no value after the metric name";
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    const char *vs = p;
    while (p < e && *p != ' ' && *p != '\t')
        p++;
    if (!parse_value(vs, p, v))
        return "value is not a number";
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (p < e) { /* optional integer timestamp (ms) */
        const char *ts = p;
        if (*p == '-')
            p++;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p != e || ts == e)
            return "trailing garbage after the value";
    }
    return NULL;
}

void pf_prom_parse(const char *text, size_t len, pf_prom_fn fn, void *ud, pf_prom_stats *st)
{
    memset(st, 0, sizeof *st);
    buf name = {0}, labels = {0};
    const char *p = text, *end = text + len;
    size_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *s = p, *e = le;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        p = nl ? nl + 1 : end;
        if (s == e || *s == '#')
            continue;
        double v;
        const char *why = parse_line(s, e, &name, &labels, &v);
        if (why) {
            if (!st->bad_lines++) {
                st->first_bad_line = lineno;
                snprintf(st->first_bad, sizeof st->first_bad, "%s: %.*s", why, (int)(e - s < 80 ? e - s : 80), s);
            }
            continue;
        }
        st->samples++;
        fn(ud, name.s, labels.s, v);
    }
    free(name.s);
    free(labels.s);
}

typedef struct collect_ctx {
    json_t *series;
    double t;
    const char *const *prefixes;
} collect_ctx;

static void collect_one(void *ud, const char *name, const char *labels, double value)
{
    collect_ctx *c = ud;
    if (c->prefixes) {
        bool keep = false;
        for (const char *const *pp = c->prefixes; *pp; pp++)
            if (pf_str_startswith(name, *pp))
                keep = true;
        if (!keep)
            return;
    }
    char *key = pf_xasprintf("%s%s", name, labels);
    json_t *arr = json_object_get(c->series, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(c->series, key, arr);
    }
    free(key);
    json_t *pt = json_array();
    json_array_append_new(pt, json_real(c->t));
    json_array_append_new(pt, isfinite(value) ? json_real(value) : json_null());
    json_array_append_new(arr, pt);
}

void pf_prom_collect(json_t *series, double t, const char *text, size_t len,
                     const char *const *prefixes, pf_prom_stats *st)
{
    collect_ctx c = {series, t, prefixes};
    pf_prom_parse(text, len, collect_one, &c, st);
}

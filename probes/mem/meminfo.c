/* meminfo.c -- parse /proc/meminfo (see meminfo.h). */
#include "probes/mem/meminfo.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    const char *key;
    size_t off;
    int unit_kb; /* 1: value is in kB (bytes stored); 0: a count */
} field;

#define F(k, m, u) {k, offsetof(pf_meminfo, m), u}
static const field fields[] = {
    F("MemTotal", mem_total, 1),
    F("MemFree", mem_free, 1),
    F("MemAvailable", mem_available, 1),
    F("Buffers", buffers, 1),
    F("Cached", cached, 1),
    F("SwapCached", swap_cached, 1),
    F("Shmem", shmem, 1),
    F("SReclaimable", sreclaimable, 1),
    F("SwapTotal", swap_total, 1),
    F("SwapFree", swap_free, 1),
    F("CmaTotal", cma_total, 1),
    F("CmaFree", cma_free, 1),
    F("HugePages_Total", hugepages_total, 0),
    F("HugePages_Free", hugepages_free, 0),
    F("Hugepagesize", hugepagesize, 1),
    F("Hugetlb", hugetlb, 1),
    F("NvMapMemUsed", nvmap_mem_used, 1),
};
#undef F

static int64_t *slot(pf_meminfo *m, const field *f)
{
    return (int64_t *)(void *)((char *)m + f->off);
}

static void meminfo_clear(pf_meminfo *m)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        *slot(m, &fields[i]) = -1;
}

/* Value part of one line: spaces, digits, optional " kB", nothing else. */
static int parse_value(const char *s, const char *end, int unit_kb, int64_t *out)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s == end || !isdigit((unsigned char)*s))
        return -1;
    int64_t v = 0;
    while (s < end && isdigit((unsigned char)*s)) {
        int d = *s++ - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    while (s < end && *s == ' ')
        s++;
    if (unit_kb) {
        if (end - s != 2 || s[0] != 'k' || s[1] != 'B')
            return -1;
        if (v > INT64_MAX / 1024)
            return -1;
        v *= 1024;
    } else if (s != end) {
        return -1;
    }
    *out = v;
    return 0;
}

int pf_meminfo_parse(const char *text, const char *source, pf_meminfo *out, pf_err *err)
{
    const char *src = source ? source : "/proc/meminfo";
    meminfo_clear(out);
    if (!text || !*text)
        return pf_err_set(err, "%s is empty", src);

    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        lineno++;
        if (!nl)
            return pf_err_set(err, "%s: line %d ends without a newline (truncated read?)", src, lineno);
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        if (!colon)
            return pf_err_set(err, "%s: line %d has no 'Key:' (\"%.40s\")", src, lineno, p);
        size_t klen = (size_t)(colon - p);
        const char *vend = nl;
        while (vend > colon + 1 && (vend[-1] == ' ' || vend[-1] == '\r'))
            vend--;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const field *f = &fields[i];
            if (strlen(f->key) != klen || memcmp(f->key, p, klen) != 0)
                continue;
            int64_t v;
            if (parse_value(colon + 1, vend, f->unit_kb, &v) != 0)
                return pf_err_set(err, "%s: line %d: %s has an unreadable value \"%.*s\" (expected %s)",
                                  src, lineno, f->key, (int)(nl - colon - 1 > 40 ? 40 : nl - colon - 1),
                                  colon + 1, f->unit_kb ? "<number> kB" : "<number>");
            *slot(out, f) = v;
            break;
        }
        p = nl + 1;
    }
    if (out->mem_total < 0)
        return pf_err_set(err, "%s has no MemTotal line", src);
    if (out->mem_free < 0)
        return pf_err_set(err, "%s has no MemFree line", src);
    if (out->mem_free > out->mem_total)
        return pf_err_set(err, "%s: MemFree (%lld kB) exceeds MemTotal (%lld kB)", src,
                          (long long)(out->mem_free / 1024), (long long)(out->mem_total / 1024));
    return 0;
}

int pf_meminfo_read(const char *path, pf_meminfo *out, pf_err *err)
{
    size_t len = 0;
    char *text = pf_read_file(path, 1 << 20, &len, err);
    if (!text) {
        meminfo_clear(out);
        return -1;
    }
    int rc;
    if (strlen(text) != len) {
        meminfo_clear(out);
        rc = pf_err_set(err, "%s contains NUL bytes: not /proc/meminfo text", path);
    } else {
        rc = pf_meminfo_parse(text, path, out, err);
    }
    free(text);
    return rc;
}

int64_t pf_meminfo_reclaimable(const pf_meminfo *m)
{
    if (m->mem_available < 0 || m->mem_free < 0 || m->mem_available < m->mem_free)
        return 0;
    return m->mem_available - m->mem_free;
}

json_t *pf_meminfo_to_json(const pf_meminfo *m)
{
    static const struct {
        const char *key;
        size_t off;
    } names[] = {
        {"mem_total_bytes", offsetof(pf_meminfo, mem_total)},
        {"mem_free_bytes", offsetof(pf_meminfo, mem_free)},
        {"mem_available_bytes", offsetof(pf_meminfo, mem_available)},
        {"buffers_bytes", offsetof(pf_meminfo, buffers)},
        {"cached_bytes", offsetof(pf_meminfo, cached)},
        {"swap_cached_bytes", offsetof(pf_meminfo, swap_cached)},
        {"shmem_bytes", offsetof(pf_meminfo, shmem)},
        {"sreclaimable_bytes", offsetof(pf_meminfo, sreclaimable)},
        {"swap_total_bytes", offsetof(pf_meminfo, swap_total)},
        {"swap_free_bytes", offsetof(pf_meminfo, swap_free)},
        {"cma_total_bytes", offsetof(pf_meminfo, cma_total)},
        {"cma_free_bytes", offsetof(pf_meminfo, cma_free)},
        {"hugepages_total", offsetof(pf_meminfo, hugepages_total)},
        {"hugepages_free", offsetof(pf_meminfo, hugepages_free)},
        {"hugepagesize_bytes", offsetof(pf_meminfo, hugepagesize)},
        {"hugetlb_bytes", offsetof(pf_meminfo, hugetlb)},
        {"nvmap_mem_used_bytes", offsetof(pf_meminfo, nvmap_mem_used)},
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int64_t v = *(const int64_t *)(const void *)((const char *)m + names[i].off);
        if (v >= 0)
            json_object_set_new(o, names[i].key, json_integer((json_int_t)v));
    }
    json_object_set_new(o, "reclaimable_bytes", json_integer((json_int_t)pf_meminfo_reclaimable(m)));
    return o;
}

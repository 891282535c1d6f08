/* console.c -- see console.h.
 *
 * One line per check: status, id, (node when the run has several), summary;
 * the remedy goes on an indented "fix:" line under any check that is not a
 * pass, because that line is what the reader came for.
 */
#include "reports/console.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define C_RESET "\033[0m"

static const char *status_color(pf_status st)
{
    switch (st) {
    case PF_PASS: return "\033[32m";
    case PF_WARN: return "\033[33m";
    case PF_FAIL: return "\033[1;31m";
    case PF_SKIP: return "\033[2m";
    case PF_ERROR: return "\033[35m";
    default: return "";
    }
}

static void upper(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
    dst[i] = '\0';
}

/* Length of the UTF-8 sequence at p that may be shown as is; 0: escape p[0]. */
static size_t printable_seq(const unsigned char *p, size_t n, bool keep_nl)
{
    unsigned c = p[0];
    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) || c == '\t' || (keep_nl && c == '\n') ? 1 : 0;
    if (c == 0xC2 && n >= 2 && p[1] >= 0x80 && p[1] <= 0x9F)
        return 0; /* U+0080..U+009F: C1 controls (CSI is U+009B) */
    size_t k = 0;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4;
    if (!k || n < k)
        return 0;
    return pf_utf8_valid((const char *)p, k) ? k : 0;
}

static size_t escape_into(char *out, const char *s, size_t n, bool keep_nl)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = printable_seq(p + i, n - i, keep_nl);
        if (k) {
            if (out)
                memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            if (out)
                snprintf(out + o, 5, "\\x%02X", p[i]);
            o += 4;
            i++;
        }
    }
    return o;
}

void pf_console_put(FILE *f, const char *s, size_t n)
{
    char stackbuf[1024];
    size_t need = escape_into(NULL, s, n, false);
    char *buf = need + 1 <= sizeof stackbuf ? stackbuf : pf_xmalloc(need + 1);
    escape_into(buf, s, n, false);
    fwrite(buf, 1, need, f);
    if (buf != stackbuf)
        free(buf);
}

char *pf_console_escape(const char *s)
{
    size_t n = strlen(s);
    size_t need = escape_into(NULL, s, n, false);
    char *buf = pf_xmalloc(need + 1);
    escape_into(buf, s, n, false);
    buf[need] = '\0';
    return buf;
}

static void put_str(FILE *f, const char *s) { pf_console_put(f, s, strlen(s)); }

/* Print text indented, one output line per input line. */
static void print_indented(FILE *f, const char *prefix, const char *text)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fputs(first ? prefix : "           ", f);
        pf_console_put(f, p, n); /* remedies quote paths and values from outside */
        fputc('\n', f);
        first = false;
        p += n + (nl ? 1 : 0);
    }
}

void pf_console_render(FILE *f, const pf_run *run, const pf_console_opts *o)
{
    size_t nchecks = pf_run_check_count(run);
    bool show_node = pf_run_node_count(run) > 1;
    size_t idw = 8, nodew = 4;
    for (size_t i = 0; i < nchecks; i++) {
        const pf_check *c = pf_run_check(run, i);
        size_t w = strlen(pf_check_id(c));
        if (w > idw)
            idw = w;
        const char *nn = pf_node_name(pf_check_node(c));
        if (nn && strlen(nn) > nodew)
            nodew = strlen(nn);
    }
    for (size_t i = 0; i < nchecks; i++) {
        const pf_check *c = pf_run_check(run, i);
        pf_status st = pf_check_status(c);
        if (o->verbosity < 0 && (st == PF_PASS || st == PF_SKIP))
            continue;
        char label[8];
        upper(label, pf_status_name(st), sizeof label);
        const char *nn = pf_node_name(pf_check_node(c));
        const char *pn = pf_node_name(pf_check_peer(c));
        fprintf(f, "  %s%-5s%s  %-*s  ", o->color ? status_color(st) : "", label,
                o->color ? C_RESET : "", (int)idw, pf_check_id(c));
        if (show_node) {
            char who[256];
            snprintf(who, sizeof who, "%s%s%s", nn ? nn : "cluster", pn ? "->" : "", pn ? pn : "");
            char *safe = pf_console_escape(who); /* node names come from other machines */
            fprintf(f, "%-*s  ", (int)nodew, safe);
            free(safe);
        }
        put_str(f, pf_check_summary(c)); /* summaries quote file names, server text */
        fputc('\n', f);
        const char *fix = pf_check_remedy_text(c);
        if (fix && (st != PF_PASS || o->verbosity > 0))
            print_indented(f, "       fix: ", fix);
        if (o->verbosity > 0) {
            json_t *ev = pf_check_evidence((pf_check *)c);
            if (json_object_size(ev)) {
                char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
                if (s) {
                    size_t n = strlen(s);
                    fputs("       evidence: ", f); /* JSON: controls already escaped, DEL not */
                    pf_console_put(f, s, n > 600 ? 600 : n);
                    fprintf(f, "%s\n", n > 600 ? " ..." : "");
                    free(s);
                }
            }
        }
    }
    size_t n[PF_STATUS_COUNT];
    pf_run_counts(run, n);
    int code = pf_run_exit_code(run, o->strict);
    fprintf(f, "%s%zu pass, %zu warn, %zu fail, %zu skip, %zu error%s -> exit %d\n",
            nchecks ? "\n" : "", n[PF_PASS], n[PF_WARN], n[PF_FAIL], n[PF_SKIP], n[PF_ERROR],
            o->strict ? " (strict)" : "", code);
    const char *why = pf_run_incomplete_reason(run);
    if (why) {
        fputs("run incomplete: ", f);
        put_str(f, why);
        fputc('\n', f);
    }
}

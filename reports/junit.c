/* junit.c -- see junit.h.
 *
 * The Ant schema is strict about order and presence: a testsuite needs
 * name, timestamp (YYYY-MM-DDTHH:MM:SS, no zone), hostname, tests, failures,
 * errors, time, and its children are <properties>, <testcase>*, then
 * <system-out>, <system-err>.  Inside <testsuites> each suite also needs
 * package and id.  We write all of it, always.
 */
#include "reports/junit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/view.h"

#define XML_TEXT_MAX 8000

/* XML-escape; characters XML 1.0 forbids (most C0 controls) are dropped. */
static void x(FILE *f, const char *s)
{
    if (!s)
        return;
    size_t len = strlen(s), n = len > XML_TEXT_MAX ? XML_TEXT_MAX : len;
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '\n': fputs("&#10;", f); break;
        default:
            if (ch >= 0x20 || ch == '\t')
                fputc(ch, f);
        }
    }
    if (n < len)
        fprintf(f, " ... (%zu more bytes in the record)", len - n);
}

/* started_at "2026-12-05T08:39:01.123Z" -> "2026-12-05T08:39:01". */
static void timestamp(const json_t *run, char *buf, size_t len)
{
    const char *s = pf_view_str(run, "started_at");
    if (!s || strlen(s) < 19)
        s = "1970-01-01T00:00:00";
    snprintf(buf, len, "%.19s", s);
    for (size_t i = 0; buf[i]; i++) /* keep only what the pattern allows */
        if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-' || buf[i] == ':' || buf[i] == 'T'))
            buf[i] = '0';
}

static double dur(const json_t *c)
{
    double d = pf_view_num(c, "duration_s");
    return isnan(d) || d < 0 ? 0 : d;
}

static void property(FILE *f, const char *name, const char *value)
{
    fputs("        <property name=\"", f);
    x(f, name);
    fputs("\" value=\"", f);
    x(f, value);
    fputs("\"/>\n", f);
}

int pf_junit_render(FILE *f, const pf_loaded *l, bool strict)
{
    const json_t *r = l->root;
    pf_strv nodes = {0};
    pf_view_nodes(r, &nodes);
    char ts[32];
    timestamp(r, ts, sizeof ts);
    size_t tot[4] = {0}; /* tests failures errors skipped */
    double ttime = 0;
    json_t *checks = json_object_get(r, "checks");
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        pf_status st = pf_view_status(c);
        tot[0]++;
        tot[1] += st == PF_FAIL || (strict && st == PF_WARN);
        tot[2] += st == PF_ERROR;
        tot[3] += st == PF_SKIP;
        ttime += dur(c);
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"preflight\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
            tot[0], tot[1], tot[2], tot[3], ttime);
    for (size_t ni = 0; ni < nodes.n; ni++) {
        const char *node = nodes.v[ni];
        size_t cnt[4] = {0};
        double t = 0;
        json_array_foreach(checks, i, c) {
            if (strcmp(pf_view_node(c), node) != 0)
                continue;
            pf_status st = pf_view_status(c);
            cnt[0]++;
            cnt[1] += st == PF_FAIL || (strict && st == PF_WARN);
            cnt[2] += st == PF_ERROR;
            cnt[3] += st == PF_SKIP;
            t += dur(c);
        }
        const json_t *nobj = pf_view_node_obj(r, node);
        const char *addr = pf_view_str(nobj, "address");
        fputs("  <testsuite name=\"", f);
        x(f, node);
        fputs("\" package=\"preflight\" hostname=\"", f);
        x(f, addr ? addr : node);
        fprintf(f, "\" id=\"%zu\" timestamp=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
                ni, ts, cnt[0], cnt[1], cnt[2], cnt[3], t);
        fputs("    <properties>\n", f);
        property(f, "command", pf_view_str(r, "command"));
        char cls[256];
        pf_view_node_class(r, node, cls, sizeof cls);
        property(f, "node_class", cls);
        if (l->incomplete)
            property(f, "record_incomplete", l->problems.n ? l->problems.v[0] : "yes");
        /* Per check: "<id>[ -> peer].measured|threshold|unit|remedy" (the Ant
         * schema allows properties only on the suite). */
        json_array_foreach(checks, i, c) {
            if (strcmp(pf_view_node(c), node) != 0)
                continue;
            const char *peer = pf_view_peer(c);
            char *base = peer ? pf_xasprintf("%s -> %s", pf_view_str(c, "id"), peer)
                              : pf_xstrdup(pf_view_str(c, "id"));
            static const char *const keys[] = {"measured", "threshold", "unit", "remedy"};
            for (size_t k = 0; k < 4; k++) {
                json_t *v = json_object_get(c, keys[k]);
                if (!v || json_is_null(v))
                    continue;
                char val[64];
                const char *sv = json_string_value(v);
                if (!sv) {
                    snprintf(val, sizeof val, "%.17g", json_number_value(v));
                    sv = val;
                }
                char *name = pf_xasprintf("%s.%s", base, keys[k]);
                property(f, name, sv);
                free(name);
            }
            free(base);
        }
        fputs("    </properties>\n", f);
        json_array_foreach(checks, i, c) {
            if (strcmp(pf_view_node(c), node) != 0)
                continue;
            pf_status st = pf_view_status(c);
            const char *id = pf_view_str(c, "id"), *peer = pf_view_peer(c);
            fputs("    <testcase name=\"", f);
            x(f, id);
            if (peer) {
                fputs(" -&gt; ", f);
                x(f, peer);
            }
            fputs("\" classname=\"", f);
            x(f, node);
            fprintf(f, "\" time=\"%.3f\">\n", dur(c));
            const char *sum = pf_view_str(c, "summary"), *fix = pf_view_str(c, "remedy");
            const char *tag = st == PF_FAIL || (strict && st == PF_WARN) ? "failure" : st == PF_ERROR ? "error"
                              : st == PF_SKIP ? "skipped" : NULL;
            if (tag) {
                fprintf(f, "      <%s message=\"", tag);
                x(f, sum);
                fputs("\"", f);
                if (strcmp(tag, "skipped") != 0)
                    fprintf(f, " type=\"%s\"", pf_status_name(st));
                fputs(">", f);
                x(f, sum);
                if (fix) {
                    fputs("&#10;fix: ", f);
                    x(f, fix);
                }
                fprintf(f, "</%s>\n", tag);
            }
            /* The Ant schema has no properties inside a testcase; measured,
             * threshold, unit and the remedy go to system-out, which every
             * consumer shows, and the suite keeps the machine-readable form. */
            bool note = st == PF_WARN || fix || json_object_get(c, "measured");
            if (note) {
                fputs("      <system-out>", f);
                if (st == PF_WARN && !strict) {
                    fputs("WARNING: ", f);
                    x(f, sum);
                    fputs("&#10;", f);
                }
                double m = pf_view_num(c, "measured"), th = pf_view_num(c, "threshold");
                if (!isnan(m)) {
                    fprintf(f, "measured=%g", m);
                    if (!isnan(th))
                        fprintf(f, " threshold=%g", th);
                    fputs(" unit=", f);
                    x(f, pf_view_str(c, "unit"));
                    fputs("&#10;", f);
                }
                if (fix) {
                    fputs("remedy: ", f);
                    x(f, fix);
                }
                fputs("</system-out>\n", f);
            }
            fputs("    </testcase>\n", f);
        }
        fputs("    <system-out/>\n    <system-err/>\n  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    pf_strv_free(&nodes);
    return ferror(f) ? -1 : 0;
}

int pf_junit_render_compare(FILE *f, const pf_compare *cmp, const char *base_label, const char *run_label)
{
    size_t fails = cmp->regressions;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"preflight compare\" tests=\"%zu\" "
               "failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n", cmp->n, fails);
    fprintf(f, "  <testsuite name=\"compare\" package=\"preflight\" id=\"0\" hostname=\"localhost\" "
               "timestamp=\"1970-01-01T00:00:00\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n",
            cmp->n, fails);
    fputs("    <properties>\n", f);
    property(f, "baseline", base_label);
    property(f, "run", run_label);
    fputs("    </properties>\n", f);
    for (size_t i = 0; i < cmp->n; i++) {
        const pf_compare_row *w = &cmp->rows[i];
        fputs("    <testcase name=\"", f);
        x(f, w->metric);
        fputs("\" classname=\"", f);
        x(f, w->where);
        fputs("\" time=\"0\">\n", f);
        char msg[256];
        if (w->is_status)
            snprintf(msg, sizeof msg, "status %s -> %s", w->base_status, w->cur_status);
        else
            snprintf(msg, sizeof msg, "%g -> %g %s (%+.1f%%, %s is better)", w->base, w->cur, w->unit,
                     w->base != 0 ? (w->cur - w->base) / fabs(w->base) * 100 : 0.0,
                     w->bigger_better ? "bigger" : "smaller");
        if (w->regress) {
            fputs("      <failure type=\"regression\" message=\"", f);
            x(f, msg);
            fputs("\">", f);
            x(f, msg);
            fputs("</failure>\n", f);
        } else {
            fputs("      <system-out>", f);
            x(f, msg);
            fputs("</system-out>\n", f);
        }
        fputs("    </testcase>\n", f);
    }
    fputs("    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n", f);
    return ferror(f) ? -1 : 0;
}

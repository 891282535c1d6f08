/* console.c -- see console.h.
 *
 * One line per check: status, id, (node when the run has several), summary;
 * the remedy goes on an indented "fix:" line under any check that is not a
 * pass, because that line is what the reader came for.
 */
#include "reports/console.h"

#include <string.h>

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

/* Print text indented, one output line per input line. */
static void print_indented(FILE *f, const char *prefix, const char *text)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%s%.*s\n", first ? prefix : "           ", (int)n, p);
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
            fprintf(f, "%-*s  ", (int)nodew, who);
        }
        fprintf(f, "%s\n", pf_check_summary(c));
        const char *fix = pf_check_remedy_text(c);
        if (fix && (st != PF_PASS || o->verbosity > 0))
            print_indented(f, "       fix: ", fix);
        if (o->verbosity > 0) {
            json_t *ev = pf_check_evidence((pf_check *)c);
            if (json_object_size(ev)) {
                char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
                if (s) {
                    size_t n = strlen(s);
                    fprintf(f, "       evidence: %.*s%s\n", 600, s, n > 600 ? " ..." : "");
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
    if (why)
        fprintf(f, "run incomplete: %s\n", why);
}

/* github.c -- see github.h. */
#include "reports/github.h"

#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "reports/view.h"

#define GH_PER_KIND 10   /* the runner shows 10 of each kind per step */
#define GH_MSG_MAX 2000  /* bytes of summary + fix per annotation */

bool pf_github_detected(void)
{
    const char *g = getenv("GITHUB_ACTIONS");
    return g && strcmp(g, "true") == 0;
}

void pf_github_escape(char *out, size_t outlen, const char *s, bool prop)
{
    size_t n = 0;
    for (; s && *s && n + 4 < outlen; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '%': rep = "%25"; break;
        case '\r': rep = "%0D"; break;
        case '\n': rep = "%0A"; break;
        case ':': rep = prop ? "%3A" : NULL; break;
        case ',': rep = prop ? "%2C" : NULL; break;
        default: break;
        }
        if (rep) {
            memcpy(out + n, rep, 3);
            n += 3;
        } else
            out[n++] = *s;
    }
    /* cut mid-character (the next byte is a continuation byte)? drop the start */
    if (s && *s && ((unsigned char)*s & 0xC0) == 0x80) {
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
            n--;
    }
    out[n] = '\0';
}

void pf_github_annotate(FILE *f, const pf_loaded *l, bool strict)
{
    size_t shown[2] = {0}, left[2] = {0};
    size_t i;
    json_t *c;
    char title[1024], msg[3 * GH_MSG_MAX + 8];
    json_array_foreach(json_object_get(l->root, "checks"), i, c) {
        pf_status st = pf_view_status(c);
        int kind = st == PF_FAIL || st == PF_ERROR || (strict && st == PF_WARN) ? 0 : st == PF_WARN ? 1 : -1;
        if (kind < 0)
            continue;
        if (shown[kind] >= GH_PER_KIND) {
            left[kind]++;
            continue;
        }
        shown[kind]++;
        const char *peer = pf_view_peer(c);
        char *t = pf_xasprintf("%.200s%s%.200s/%.200s", pf_view_node(c), peer ? "->" : "", peer ? peer : "",
                               pf_view_str(c, "id"));
        pf_github_escape(title, sizeof title, t, true);
        free(t);
        const char *fix = pf_view_str(c, "remedy");
        char *m = pf_xasprintf("%s: %.1500s%s%.1500s", pf_status_name(st), pf_view_str(c, "summary"),
                               fix ? "\nfix: " : "", fix ? fix : "");
        pf_github_escape(msg, sizeof msg, m, false);
        free(m);
        fprintf(f, "::%s title=%s::%s\n", kind == 0 ? "error" : "warning", title, msg);
    }
    if (left[0] || left[1])
        fprintf(f, "::notice title=preflight::%zu more error(s) and %zu more warning(s) than GitHub shows per step "
                   "are in the step summary and the record\n", left[0], left[1]);
    fflush(f);
}

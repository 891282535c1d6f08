/* flags.c -- see flags.h. */
#include "core/flags.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int pf_flags_long(const char *name, const char *v, long lo, long hi, long *out, pf_err *err)
{
    if (!v)
        return pf_err_set(err, "%s needs a value", name);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return pf_err_set(err, "%s: '%s' is not an integer in [%ld, %ld]", name, v, lo, hi);
    *out = x;
    return 0;
}

int pf_flags_double(const char *name, const char *v, double lo, bool inf_ok, double *out,
                    pf_err *err)
{
    if (!v)
        return pf_err_set(err, "%s needs a value", name);
    if (inf_ok && (strcmp(v, "inf") == 0 || strcmp(v, "Infinity") == 0)) {
        *out = INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < lo)
        return pf_err_set(err, "%s: '%s' is not a number >= %g%s", name, v, lo,
                          inf_ok ? " (or inf)" : "");
    *out = x;
    return 0;
}

static bool takes_value(const pf_flag *f)
{
    return f->metavar != NULL;
}

static bool parsable(const pf_flag *f)
{
    return f->kind != PF_FLAG_SECTION && f->kind != PF_FLAG_DOC && f->name;
}

static int apply(const pf_flag *f, void *opts, const char *v, pf_err *err)
{
    char *base = opts;
    long l = 0;
    double d = 0;
    switch (f->kind) {
    case PF_FLAG_SET:
        *(bool *)(base + f->off) = true;
        return 0;
    case PF_FLAG_CLEAR:
        *(bool *)(base + f->off) = false;
        return 0;
    case PF_FLAG_STR:
        *(const char **)(base + f->off) = v;
        return 0;
    case PF_FLAG_LONG:
        if (pf_flags_long(f->name, v, (long)f->lo, (long)f->hi, &l, err) < 0)
            return -1;
        *(long *)(base + f->off) = l;
        return 0;
    case PF_FLAG_SIZE:
        if (pf_flags_long(f->name, v, (long)f->lo, (long)f->hi, &l, err) < 0)
            return -1;
        *(size_t *)(base + f->off) = (size_t)l;
        return 0;
    case PF_FLAG_DOUBLE:
        if (pf_flags_double(f->name, v, f->lo, false, &d, err) < 0)
            return -1;
        *(double *)(base + f->off) = d;
        return 0;
    case PF_FLAG_FN:
        return f->fn(opts, f->name, v, err);
    case PF_FLAG_SECTION:
    case PF_FLAG_DOC:
        break;
    }
    return pf_err_set(err, "%s: not a flag this command parses", f->name);
}

int pf_flags_take(const pf_flag *t, size_t n, unsigned accept, unsigned options, void *opts,
                  int argc, char **argv, int *i, pf_err *err)
{
    const char *a = argv[*i];
    const char *eq = (options & PF_FLAGS_EQ) && a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
    size_t alen = eq ? (size_t)(eq - a) : strlen(a);
    for (size_t k = 0; k < n; k++) {
        const pf_flag *f = &t[k];
        if (!parsable(f) || (f->group && !(f->group & accept)))
            continue;
        if (strlen(f->name) != alen || strncmp(f->name, a, alen) != 0)
            continue;
        if (eq && !takes_value(f))
            continue; /* "--busy-poll=1" is no flag of ours */
        const char *v = NULL;
        if (eq) {
            v = eq + 1;
        } else if (takes_value(f)) {
            if (*i + 1 >= argc) {
                if (f->needs)
                    return pf_err_set(err, "%s needs %s (see --help)", f->name, f->needs);
                return pf_err_set(err, "%s needs a value", f->name);
            }
            v = argv[++*i];
        }
        return apply(f, opts, v, err) < 0 ? -1 : 1;
    }
    return 0;
}

void pf_flags_help(FILE *f, const pf_flag *t, size_t n, unsigned accept, int col)
{
    for (size_t k = 0; k < n; k++) {
        const pf_flag *r = &t[k];
        if (r->group && !(r->group & accept))
            continue;
        if (r->kind == PF_FLAG_SECTION) {
            fprintf(f, "%s\n", r->name);
            continue;
        }
        if (!r->help)
            continue;
        int w = fprintf(f, "  %s%s%s", r->name, r->metavar ? " " : "", r->metavar ? r->metavar : "");
        const char *h = r->help;
        bool first = true;
        while (*h) {
            const char *nl = strchr(h, '\n');
            int len = nl ? (int)(nl - h) : (int)strlen(h);
            if (first && w + 2 > col)
                fprintf(f, "  %.*s\n", len, h);
            else
                fprintf(f, "%*s%.*s\n", first ? col - w : col, "", len, h);
            first = false;
            h += len;
            if (*h == '\n')
                h++;
        }
        if (first)
            fputc('\n', f);
    }
}

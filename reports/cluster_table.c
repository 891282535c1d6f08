/* cluster_table.c -- see cluster_table.h. */
#include "reports/cluster_table.h"
#include "reports/console.h"

#include <stdlib.h>
#include <string.h>

#define MAXCOLS 32

static const char *short_status(pf_status st)
{
    static const char *const s[] = {"pass", "warn", "FAIL", "skip", "ERR"};
    return st < PF_STATUS_COUNT ? s[st] : "?";
}

static const char *color_of(pf_status st)
{
    switch (st) {
    case PF_PASS: return "\033[32m";
    case PF_WARN: return "\033[33m";
    case PF_FAIL: return "\033[31m";
    case PF_ERROR: return "\033[35m";
    default: return "";
    }
}

/* Column ids in first-seen order: node checks, then pair checks. */
static size_t columns(const pf_run *run, bool pair, const char **ids, size_t n)
{
    for (size_t i = 0; i < pf_run_check_count(run); i++) {
        const pf_check *c = pf_run_check(run, i);
        if (!pf_check_node(c) || (pf_check_peer(c) != NULL) != pair)
            continue;
        const char *id = pf_check_id(c);
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(ids[k], id) == 0;
        if (!seen && n < MAXCOLS)
            ids[n++] = id;
    }
    return n;
}

static const char *label(const char *id)
{
    /* "cluster.reach" -> "reach", "net.nccl_ifname" stays whole. */
    return pf_str_startswith(id, "cluster.") ? id + 8 : id;
}

void pf_cluster_table_render(FILE *f, const pf_run *run, bool color)
{
    const char *ids[MAXCOLS];
    size_t nnode = columns(run, false, ids, 0);
    size_t ncol = columns(run, true, ids, nnode);
    size_t wname = 4;
    for (size_t i = 0; i < pf_run_node_count(run); i++) {
        size_t l = strlen(pf_node_name(pf_run_node(run, i)));
        wname = l > wname ? l : wname;
    }
    const json_t *cl = pf_run_section(run, "cluster");
    const json_t *expected = json_object_get(cl, "expected");
    const json_t *jerr = json_object_get(cl, "join_errors");
    size_t k;
    const json_t *e;
    json_array_foreach(expected, k, e)
    {
        size_t l = strlen(json_string_value(e) ? json_string_value(e) : "");
        wname = l > wname ? l : wname;
    }
    size_t *w = pf_xcalloc(ncol ? ncol : 1, sizeof *w);
    for (size_t c = 0; c < ncol; c++) {
        w[c] = strlen(label(ids[c]));
        if (w[c] < 8)
            w[c] = 8;
    }
    fprintf(f, "%-*s", (int)wname + 2, "node");
    for (size_t c = 0; c < ncol; c++)
        fprintf(f, "%-*s", (int)w[c] + 2, label(ids[c]));
    fputc('\n', f);

    /* Rows in pipeline order: the expected list when there is one. */
    size_t nrows = json_array_size(expected) ? json_array_size(expected) : pf_run_node_count(run);
    for (size_t r = 0; r < nrows; r++) {
        const char *name = json_array_size(expected) ? json_string_value(json_array_get(expected, r))
                                                     : pf_node_name(pf_run_node(run, r));
        if (!name)
            continue;
        const pf_node *node = NULL;
        for (size_t i = 0; i < pf_run_node_count(run) && !node; i++)
            if (strcmp(pf_node_name(pf_run_node(run, i)), name) == 0)
                node = pf_run_node(run, i);
        char *safe = pf_console_escape(name);
        fprintf(f, "%-*s", (int)wname + 2, safe);
        free(safe);
        for (size_t c = 0; c < ncol; c++) {
            char cell[32] = "-";
            pf_status worst = PF_SKIP;
            size_t n = 0, bad = 0;
            for (size_t i = 0; node && i < pf_run_check_count(run); i++) {
                const pf_check *ch = pf_run_check(run, i);
                if (pf_check_node(ch) != node || strcmp(pf_check_id(ch), ids[c]) != 0)
                    continue;
                pf_status st = pf_check_status(ch);
                worst = n ? pf_status_worst(worst, st) : st;
                n++;
                bad += st != PF_PASS && st != PF_SKIP;
            }
            if (n == 1 || (n > 1 && bad == 0))
                snprintf(cell, sizeof cell, "%s", short_status(worst));
            else if (n > 1)
                snprintf(cell, sizeof cell, "%s %zu/%zu", short_status(worst), bad, n);
            size_t len = strlen(cell);
            if (color && n)
                fprintf(f, "%s%s\033[0m", color_of(worst), cell);
            else
                fputs(cell, f);
            fprintf(f, "%*s", (int)(w[c] + 2 - (len < w[c] + 2 ? len : w[c] + 1)), "");
        }
        fputc('\n', f);
    }
    /* Who is missing, and why, right under the table. */
    const char *key;
    json_t *why;
    /* (node names, launchers' and agents' words: outside text, escaped) */
    json_object_foreach((json_t *)jerr, key, why) {
        char *kn = pf_console_escape(key), *v = pf_console_escape(json_string_value(why) ? json_string_value(why) : "");
        fprintf(f, "  %s: %s\n", kn, v);
        free(kn);
        free(v);
    }
    /* The cluster-wide verdicts, one line each. */
    for (size_t i = 0; i < pf_run_check_count(run); i++) {
        const pf_check *ch = pf_run_check(run, i);
        if (pf_check_node(ch))
            continue;
        pf_status st = pf_check_status(ch);
        char *sum = pf_console_escape(pf_check_summary(ch) ? pf_check_summary(ch) : "");
        fprintf(f, "%s%-5s%s %-18s %s\n", color ? color_of(st) : "", short_status(st), color ? "\033[0m" : "",
                pf_check_id(ch), sum);
        free(sum);
    }
    fputc('\n', f);
    free(w);
}

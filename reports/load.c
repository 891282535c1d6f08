/* load.c -- see load.h.
 *
 * Truncated files.  A run that crashed while writing leaves JSON cut in the
 * middle of a value.  Rather than give up, we find the last point where a
 * complete member or element ended (a ',' outside any string), cut there and
 * close the open arrays and objects in reverse order.  What comes back is a
 * prefix of the real record: every check and node that was written whole.
 */
#include "reports/load.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"

void pf_load_free(pf_loaded *l)
{
    if (!l)
        return;
    json_decref(l->root);
    free(l->label);
    pf_strv_free(&l->problems);
    memset(l, 0, sizeof *l);
}

/* Repair text cut short: returns a heap string, or NULL when there is no
 * complete member to keep. */
static char *repair_truncated(const char *text, size_t len)
{
    char *stack = pf_xmalloc(len + 1); /* '{' or '[' per open level */
    char *at_cut = pf_xmalloc(len + 1);
    size_t depth = 0, cut = 0, cut_depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            stack[depth++] = ch;
        else if ((ch == '}' || ch == ']') && depth > 0)
            depth--;
        else if (ch == ',' && depth > 0) {
            cut = i;
            cut_depth = depth;
            memcpy(at_cut, stack, depth);
        }
    }
    char *out = NULL;
    if (cut > 0) {
        out = pf_xmalloc(cut + cut_depth + 1);
        memcpy(out, text, cut);
        size_t n = cut;
        for (size_t d = cut_depth; d > 0; d--)
            out[n++] = at_cut[d - 1] == '{' ? '}' : ']';
        out[n] = '\0';
    }
    free(stack);
    free(at_cut);
    return out;
}

static void problem(pf_loaded *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(pf_loaded *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pf_strv_push_owned(&out->problems, pf_xvasprintf(fmt, ap));
    va_end(ap);
    out->incomplete = true;
}

/* Checks on the shape: what a renderer relies on.  Bad parts are removed
 * (and said) rather than trusted. */
static void check_shape(pf_loaded *out)
{
    json_t *r = out->root;
    const char *f = out->label;
    const char *schema = json_string_value(json_object_get(r, "schema"));
    if (!schema)
        problem(out, "%s: no \"schema\" key; read as " PF_RECORD_SCHEMA, f);
    else if (strcmp(schema, PF_RECORD_SCHEMA) != 0)
        problem(out, "%s: unknown schema version '%s'; rendered what matches " PF_RECORD_SCHEMA, f,
                schema);
    static const char *const need[] = {"command", "started_at", "exit_code", "summary", "nodes",
                                       "checks"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!json_object_get(r, need[i]))
            problem(out, "%s: the \"%s\" section is missing", f, need[i]);
    json_t *nodes = json_object_get(r, "nodes");
    if (nodes && !json_is_array(nodes)) {
        problem(out, "%s: \"nodes\" is not an array; ignored", f);
        json_object_del(r, "nodes");
    }
    json_t *checks = json_object_get(r, "checks");
    if (checks && !json_is_array(checks)) {
        problem(out, "%s: \"checks\" is not an array; ignored", f);
        json_object_del(r, "checks");
        checks = NULL;
    }
    /* Drop checks without an id or a known status: a renderer must never
     * show something it cannot classify as a pass. */
    size_t bad = 0;
    for (size_t i = 0; checks && i < json_array_size(checks);) {
        json_t *c = json_array_get(checks, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *st = json_string_value(json_object_get(c, "status"));
        bool ok = json_is_object(c) && id && st;
        if (ok) {
            ok = false;
            for (int s = 0; s < PF_STATUS_COUNT; s++)
                ok = ok || strcmp(st, pf_status_name((pf_status)s)) == 0;
        }
        if (!ok) {
            json_array_remove(checks, i);
            bad++;
        } else
            i++;
    }
    if (bad) {
        problem(out, "%s: %zu check(s) without an id or a known status were left out", f, bad);
    }
    if (json_is_false(json_object_get(r, "complete"))) {
        out->incomplete = true;
        const char *why = json_string_value(json_object_get(r, "incomplete_reason"));
        problem(out, "%s: the run itself was incomplete: %s", f, why ? why : "no reason given");
    }
}

int pf_load_text(const char *text, size_t len, const char *label, pf_loaded *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    out->label = pf_xstrdup(label);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &je);
    if (!root) {
        size_t lead = 0;
        while (lead < len && (text[lead] == ' ' || text[lead] == '\n' || text[lead] == '\t' ||
                              text[lead] == '\r'))
            lead++;
        if (lead == len) {
            pf_load_free(out);
            return pf_err_set(err, "%s: empty file, not a run record", label);
        }
        if (text[lead] != '{') {
            pf_err_set(err, "%s: not JSON (line %d column %d: %s); expected a preflight run record",
                       label, je.line, je.column, je.text);
            pf_load_free(out);
            return -1;
        }
        /* Starts like a record: maybe cut short by a crash. */
        bool at_end = (size_t)je.position + 1 >= len || strstr(je.text, "end of file") ||
                      strstr(je.text, "premature");
        char *fixed = at_end ? repair_truncated(text + lead, len - lead) : NULL;
        root = fixed ? json_loads(fixed, 0, NULL) : NULL;
        free(fixed);
        if (!root) {
            pf_err_set(err, "%s: not valid JSON (line %d column %d: %s)", label, je.line, je.column,
                       je.text);
            pf_load_free(out);
            return -1;
        }
        problem(out, "%s: truncated after %zu bytes (a crashed or interrupted run?); showing the "
                     "complete parts", label, len);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        pf_load_free(out);
        return pf_err_set(err, "%s: JSON but not a run record (expected an object with "
                               "\"schema\": \"" PF_RECORD_SCHEMA "\")", label);
    }
    out->root = root;
    check_shape(out);
    return 0;
}

int pf_load_file(const char *path, pf_loaded *out, pf_err *err)
{
    size_t len = 0;
    char *text = pf_read_file(path, PF_LOAD_MAX_BYTES, &len, err);
    if (!text) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    int rc = pf_load_text(text, len, path, out, err);
    free(text);
    return rc;
}

void pf_load_json(json_t *root, const char *label, pf_loaded *out)
{
    memset(out, 0, sizeof *out);
    out->label = pf_xstrdup(label);
    out->root = root;
    check_shape(out);
}

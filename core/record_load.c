/* record_load.c -- reading a run record back, and merging runs (record.h).
 *
 * The loader is the writer read backwards: every key pf_run_to_json writes is
 * required here with the type it is written with, so that a record that
 * loads can be written again byte for byte, and anything else (a file cut
 * short by a crash, another tool's JSON, a hand edit gone wrong) is refused
 * with the JSON path of the first problem.  Derived keys (summary, exit_code)
 * are checked for type only: they are recomputed from the checks on write.
 *
 * Everything goes through the public record API except the run's own
 * metadata (command, timestamps, duration, strict), which record_priv.h lets
 * us restore.
 */
#include "core/record.h"
#include "core/record_priv.h"
#include "core/file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small validators: each returns the value or NULL with err set ---- */

static json_t *need(const json_t *obj, const char *key, const char *path, const char *what, pf_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        pf_err_set(err, "%s: %s%s%s is missing", what, path, *path ? "." : "", key);
    return v;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

static int wrong(const json_t *v, const char *path, const char *key, const char *want, const char *what,
                 pf_err *err)
{
    return pf_err_set(err, "%s: %s%s%s is %s, expected %s", what, path, *path ? "." : "", key, type_name(v),
                      want);
}

/* A string, or NULL when null is allowed (*ok says which). */
static int get_str(const json_t *obj, const char *key, bool nullable, const char *path, const char *what,
                   const char **out, pf_err *err)
{
    json_t *v = need(obj, key, path, what, err);
    if (!v)
        return -1;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    if (nullable && json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    return wrong(v, path, key, nullable ? "a string or null" : "a string", what, err);
}

static int get_num(const json_t *obj, const char *key, bool nullable, const char *path, const char *what,
                   double *out, pf_err *err)
{
    json_t *v = need(obj, key, path, what, err);
    if (!v)
        return -1;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (nullable && json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    return wrong(v, path, key, nullable ? "a number or null" : "a number", what, err);
}

static int get_bool(const json_t *obj, const char *key, const char *path, const char *what, bool *out,
                    pf_err *err)
{
    json_t *v = need(obj, key, path, what, err);
    if (!v)
        return -1;
    if (!json_is_boolean(v))
        return wrong(v, path, key, "true or false", what, err);
    *out = json_is_true(v);
    return 0;
}

static bool iso8601(const char *s)
{
    /* 2026-11-24T10:11:12.345Z, as pf_wall_iso8601 writes it */
    int y, mo, d, h, mi, sec, used = 0;
    if (strlen(s) >= 40 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 19)
        return false;
    s += used;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return strcmp(s, "Z") == 0;
}

static int parse_status(const char *s, pf_status *out)
{
    for (int st = 0; st < PF_STATUS_COUNT; st++)
        if (strcmp(s, pf_status_name((pf_status)st)) == 0) {
            *out = (pf_status)st;
            return 0;
        }
    return -1;
}

static bool check_id_valid(const char *id)
{
    /* ^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$ as in the schema */
    const char *p = id;
    if (!(*p >= 'a' && *p <= 'z'))
        return false;
    int dots = 0;
    bool seg_empty = false;
    for (p++; *p; p++) {
        if (*p == '.') {
            if (seg_empty)
                return false;
            dots++;
            seg_empty = true;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
            seg_empty = false;
        } else {
            return false;
        }
    }
    return dots > 0 && !seg_empty;
}

/* ---- nodes and checks ---- */

static int load_nodes(pf_run *run, const json_t *nodes, const char *what, pf_err *err)
{
    size_t i;
    json_t *jn;
    json_array_foreach(nodes, i, jn) {
        char path[64];
        snprintf(path, sizeof path, "nodes[%zu]", i);
        if (!json_is_object(jn))
            return pf_err_set(err, "%s: %s is %s, expected an object", what, path, type_name(jn));
        const char *name = NULL, *address = NULL;
        if (get_str(jn, "name", false, path, what, &name, err) ||
            get_str(jn, "address", true, path, what, &address, err))
            return -1;
        if (!*name)
            return pf_err_set(err, "%s: %s.name is empty", what, path);
        json_t *facts = need(jn, "facts", path, what, err);
        if (!facts)
            return -1;
        if (!json_is_object(facts))
            return wrong(facts, path, "facts", "an object", what, err);
        if (pf_run_find_node(run, name))
            return pf_err_set(err, "%s: node name '%s' appears twice (%s); node names must be unique", what,
                              name, path);
        /* Deep copies throughout: the run must not share mutable JSON with
         * the caller's document. */
        pf_node *n = pf_run_add_node(run, name, address);
        json_t *copy = json_deep_copy(facts);
        json_object_update(pf_node_facts(n), copy);
        json_decref(copy);
        const char *k;
        json_t *v;
        json_object_foreach(jn, k, v)
            if (strcmp(k, "name") && strcmp(k, "address") && strcmp(k, "facts"))
                pf_node_set_section(n, k, json_deep_copy(v));
    }
    return 0;
}

static int node_ref(pf_run *run, const json_t *jc, const char *key, const char *path, const char *what,
                    pf_node **out, pf_err *err)
{
    const char *name = NULL;
    if (get_str(jc, key, true, path, what, &name, err))
        return -1;
    *out = NULL;
    if (name && !(*out = pf_run_find_node(run, name)))
        return pf_err_set(err, "%s: %s.%s names '%s', which is not one of the record's nodes", what, path, key,
                          name);
    return 0;
}

static int load_checks(pf_run *run, const json_t *checks, const char *what, pf_err *err)
{
    size_t i;
    json_t *jc;
    json_array_foreach(checks, i, jc) {
        char path[64];
        snprintf(path, sizeof path, "checks[%zu]", i);
        if (!json_is_object(jc))
            return pf_err_set(err, "%s: %s is %s, expected an object", what, path, type_name(jc));
        const char *id = NULL, *status = NULL, *summary = NULL, *remedy = NULL;
        pf_node *node, *peer;
        double duration = -1;
        if (get_str(jc, "id", false, path, what, &id, err) ||
            get_str(jc, "status", false, path, what, &status, err) ||
            get_str(jc, "summary", false, path, what, &summary, err) ||
            get_str(jc, "remedy", true, path, what, &remedy, err) ||
            node_ref(run, jc, "node", path, what, &node, err) || node_ref(run, jc, "peer", path, what, &peer, err) ||
            get_num(jc, "duration_s", true, path, what, &duration, err))
            return -1;
        if (!check_id_valid(id))
            return pf_err_set(err, "%s: %s.id '%s' is not a dotted check id (like net.gloo)", what, path, id);
        pf_status st;
        if (parse_status(status, &st) != 0)
            return pf_err_set(err, "%s: %s.status is '%s', expected pass, warn, fail, skip or error", what, path,
                              status);
        json_t *ev = need(jc, "evidence", path, what, err);
        if (!ev)
            return -1;
        if (!json_is_object(ev))
            return wrong(ev, path, "evidence", "an object", what, err);
        bool has_measure = json_object_get(jc, "measured") != NULL;
        double measured = NAN, threshold = NAN;
        const char *unit = NULL;
        if (has_measure && (get_num(jc, "measured", true, path, what, &measured, err) ||
                            get_num(jc, "threshold", true, path, what, &threshold, err) ||
                            get_str(jc, "unit", true, path, what, &unit, err)))
            return -1;

        pf_check *c = pf_check_add(run, node, id);
        pf_check_set(c, st, "%s", summary);
        if (remedy)
            pf_check_remedy(c, "%s", remedy);
        if (peer)
            pf_check_set_peer(c, peer);
        if (has_measure)
            pf_check_measure(c, measured, threshold, unit);
        pf_check_set_duration(c, isnan(duration) ? -1 : duration);
        json_t *copy = json_deep_copy(ev);
        json_object_update(pf_check_evidence(c), copy);
        json_decref(copy);
    }
    return 0;
}

pf_run *pf_run_from_json_named(const json_t *root, const char *what, pf_err *err)
{
    if (!what)
        what = "the record";
    if (!json_is_object(root)) {
        pf_err_set(err, "%s is not a preflight run record (the JSON is %s, not an object)", what,
                   type_name(root));
        return NULL;
    }
    json_t *schema = json_object_get(root, "schema");
    if (!schema) {
        pf_err_set(err, "%s is not a preflight run record (no \"schema\" key; expected \"%s\")", what,
                   PF_RECORD_SCHEMA);
        return NULL;
    }
    if (!json_is_string(schema) || strcmp(json_string_value(schema), PF_RECORD_SCHEMA) != 0) {
        pf_err_set(err, "%s has schema %s%s%s, which this preflight does not read (it reads \"%s\")", what,
                   json_is_string(schema) ? "\"" : "", json_is_string(schema) ? json_string_value(schema)
                                                                                : type_name(schema),
                   json_is_string(schema) ? "\"" : "", PF_RECORD_SCHEMA);
        return NULL;
    }

    pf_run_meta m = {0};
    const char *reason;
    bool complete = false;
    json_t *tool = need(root, "tool", "", what, err);
    if (!tool)
        return NULL;
    if (!json_is_object(tool)) {
        wrong(tool, "", "tool", "an object", what, err);
        return NULL;
    }
    if (get_str(tool, "version", false, "tool", what, &m.tool_version, err) ||
        get_str(root, "command", false, "", what, &m.command, err) ||
        get_str(root, "started_at", false, "", what, &m.started_at, err) ||
        get_str(root, "finished_at", true, "", what, &m.finished_at, err) ||
        get_num(root, "duration_s", false, "", what, &m.duration_s, err) ||
        get_bool(root, "complete", "", what, &complete, err) ||
        get_str(root, "incomplete_reason", true, "", what, &reason, err) ||
        get_bool(root, "strict", "", what, &m.strict, err))
        return NULL;
    if (!iso8601(m.started_at) || (m.finished_at && !iso8601(m.finished_at))) {
        pf_err_set(err, "%s: %s '%s' is not a UTC timestamp like 2026-11-24T10:11:12.345Z", what,
                   iso8601(m.started_at) ? "finished_at" : "started_at",
                   iso8601(m.started_at) ? m.finished_at : m.started_at);
        return NULL;
    }
    if (m.duration_s < 0) {
        pf_err_set(err, "%s: duration_s is negative", what);
        return NULL;
    }
    if (complete != (reason == NULL)) {
        pf_err_set(err, "%s: complete is %s but incomplete_reason is %s", what, complete ? "true" : "false",
                   reason ? "set" : "null");
        return NULL;
    }
    json_t *ec = need(root, "exit_code", "", what, err), *summary = need(root, "summary", "", what, err);
    if (!ec || !summary)
        return NULL;
    if (!json_is_integer(ec) || json_integer_value(ec) < 0 || json_integer_value(ec) > 3) {
        pf_err_set(err, "%s: exit_code must be an integer from 0 to 3", what);
        return NULL;
    }
    if (!json_is_object(summary)) {
        wrong(summary, "", "summary", "an object", what, err);
        return NULL;
    }
    json_t *nodes = need(root, "nodes", "", what, err), *checks = need(root, "checks", "", what, err);
    if (!nodes || !checks)
        return NULL;
    if (!json_is_array(nodes) || !json_is_array(checks)) {
        wrong(json_is_array(nodes) ? checks : nodes, "", json_is_array(nodes) ? "checks" : "nodes", "an array",
              what, err);
        return NULL;
    }

    pf_run *run = pf_run_new(0, NULL);
    pf_run_restore_meta(run, &m);
    if (reason)
        pf_run_set_incomplete(run, "%s", reason);
    if (load_nodes(run, nodes, what, err) != 0 || load_checks(run, checks, what, err) != 0) {
        pf_run_free(run);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)root, k, v)
        if (!pf_record_key_reserved(k))
            pf_run_set_section(run, k, json_deep_copy(v));
    return run;
}

pf_run *pf_run_from_json(const json_t *root, pf_err *err)
{
    return pf_run_from_json_named(root, NULL, err);
}

pf_run *pf_run_load(const char *path, pf_err *err)
{
    size_t len = 0;
    pf_err ferr = {{0}};
    /* core/file: O_NONBLOCK, regular files only, at most PF_RECORD_FILE_MAX */
    char *buf = pf_file_read(path, PF_RECORD_FILE_MAX, &len, &ferr);
    if (!buf) {
        pf_err_set(err, "run record: %s", ferr.msg);
        return NULL;
    }
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r'))
        i++;
    if (i == len) {
        pf_err_set(err, "the run record %s is empty (did the run crash before writing it?)", path);
        free(buf);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root) {
        if (json_error_code(&je) == json_error_premature_end_of_input)
            pf_err_set(err, "the run record %s is truncated: it ends at line %d inside the JSON (a run that "
                       "crashed or is still being written)", path, je.line);
        else
            pf_err_set(err, "the run record %s is not valid JSON: line %d, column %d: %s", path, je.line,
                       je.column, je.text);
        return NULL;
    }
    pf_run *run = pf_run_from_json_named(root, path, err);
    json_decref(root);
    return run;
}

/* ---- merge ---- */

int pf_run_merge(pf_run *dst, const pf_run *src, pf_err *err)
{
    if (dst == src)
        return pf_err_set(err, "cannot merge a run into itself");
    /* Validate everything first so that a refused merge leaves dst as it was. */
    for (size_t i = 0; i < pf_run_node_count(src); i++) {
        const char *name = pf_node_name(pf_run_node(src, i));
        if (pf_run_find_node(dst, name))
            return pf_err_set(err, "cannot merge: node '%s' is in both records (two agents reporting one "
                              "hostname? give each node a unique name)", name);
    }
    const char *k;
    json_t *v;
    json_object_foreach(pf_run_sections(src), k, v) {
        json_t *mine = pf_run_section(dst, k);
        if (mine && !json_equal(mine, v))
            return pf_err_set(err, "cannot merge: both records have a different '%s' section", k);
    }
    /* A check's node and peer belong to src (record invariant), and every
     * src node is about to exist in dst, so the links below always resolve. */
    for (size_t i = 0; i < pf_run_node_count(src); i++) {
        pf_node *sn = pf_run_node(src, i);
        pf_node *dn = pf_run_add_node(dst, pf_node_name(sn), pf_node_address(sn));
        json_t *facts = json_deep_copy(pf_node_facts(sn));
        json_object_update(pf_node_facts(dn), facts);
        json_decref(facts);
        json_object_foreach(pf_node_sections(sn), k, v)
            pf_node_set_section(dn, k, json_deep_copy(v));
    }
    for (size_t i = 0; i < pf_run_check_count(src); i++) {
        const pf_check *c = pf_run_check(src, i);
        pf_node *node = pf_check_node(c) ? pf_run_find_node(dst, pf_node_name(pf_check_node(c))) : NULL;
        pf_node *peer = pf_check_peer(c) ? pf_run_find_node(dst, pf_node_name(pf_check_peer(c))) : NULL;
        pf_check *d = pf_check_add(dst, node, pf_check_id(c));
        pf_check_set(d, pf_check_status(c), "%s", pf_check_summary(c));
        if (pf_check_remedy_text(c))
            pf_check_remedy(d, "%s", pf_check_remedy_text(c));
        if (peer)
            pf_check_set_peer(d, peer);
        if (pf_check_has_measure(c))
            pf_check_measure(d, pf_check_measured(c), pf_check_threshold(c), pf_check_unit(c));
        pf_check_set_duration(d, pf_check_duration(c));
        json_t *ev = json_deep_copy(pf_check_evidence((pf_check *)c));
        json_object_update(pf_check_evidence(d), ev);
        json_decref(ev);
    }
    json_object_foreach(pf_run_sections(src), k, v)
        if (!pf_run_section(dst, k))
            pf_run_set_section(dst, k, json_deep_copy(v));
    const char *why = pf_run_incomplete_reason(src);
    if (why) {
        const char *first = pf_run_node_count(src) ? pf_node_name(pf_run_node(src, 0)) : "a merged record";
        pf_run_set_incomplete(dst, "%s: %s", first, why);
    }
    return 0;
}

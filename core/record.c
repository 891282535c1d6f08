/* record.c -- see record.h.
 *
 * Nodes and checks live in arrays of pointers so that the pointers handed to
 * probes stay valid while the arrays grow.
 */
#include "core/record.h"
#include "core/record_priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pf_node {
    char *name;
    char *address;
    json_t *facts;
    json_t *sections; /* written as extra keys of the node object */
};

struct pf_check {
    char *id;
    pf_node *node;
    pf_node *peer;
    pf_status status;
    char *summary;
    char *remedy;
    json_t *evidence;
    bool has_measure;
    double measured, threshold;
    char *unit;
    double duration_s;
};

struct pf_run {
    char *command;
    char started_at[40];
    char finished_at[40];
    double t0, t1;
    char *incomplete;
    pf_node **nodes;
    size_t nnodes, capnodes;
    pf_check **checks;
    size_t nchecks, capchecks;
    json_t *sections;
    char *tool_version; /* PF_VERSION, or what a loaded record says */
    bool strict;        /* what a loaded record was written with */
};

static const char *const status_names[PF_STATUS_COUNT] = {"pass", "warn", "fail", "skip", "error"};

const char *pf_status_name(pf_status st)
{
    return (unsigned)st < PF_STATUS_COUNT ? status_names[st] : "unknown";
}

static int severity(pf_status s)
{
    switch (s) {
    case PF_SKIP: return 0;
    case PF_PASS: return 1;
    case PF_WARN: return 2;
    case PF_ERROR: return 3;
    case PF_FAIL: return 4;
    default: return 3;
    }
}

pf_status pf_status_worst(pf_status a, pf_status b)
{
    return severity(a) >= severity(b) ? a : b;
}

pf_run *pf_run_new(int argc, char *const argv[])
{
    pf_run *run = pf_xcalloc(1, sizeof *run);
    /* Subcommands get argv starting at their own name; the record shows
     * the command line as the user typed it. */
    size_t len = sizeof "preflight";
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    run->command = pf_xcalloc(1, len);
    strcat(run->command, "preflight");
    for (int i = 0; i < argc; i++) {
        strcat(run->command, " ");
        strcat(run->command, argv[i]);
    }
    pf_wall_iso8601(run->started_at, sizeof run->started_at);
    run->t0 = pf_now();
    run->t1 = -1;
    run->sections = json_object();
    run->tool_version = pf_xstrdup(PF_VERSION);
    return run;
}

void pf_run_restore_meta(pf_run *run, const pf_run_meta *m)
{
    free(run->command);
    run->command = pf_xstrdup(m->command);
    free(run->tool_version);
    run->tool_version = pf_xstrdup(m->tool_version);
    pf_strlcpy(run->started_at, m->started_at, sizeof run->started_at);
    pf_strlcpy(run->finished_at, m->finished_at ? m->finished_at : "", sizeof run->finished_at);
    /* duration_s is written as t1 - t0: keep the recorded value exactly */
    run->t0 = 0;
    run->t1 = m->duration_s;
    run->strict = m->strict;
}

bool pf_run_strict(const pf_run *run) { return run->strict; }

static void check_free(pf_check *c)
{
    free(c->id);
    free(c->summary);
    free(c->remedy);
    free(c->unit);
    json_decref(c->evidence);
    free(c);
}

void pf_run_drop_checks(pf_run *run, size_t from)
{
    while (run->nchecks > from)
        check_free(run->checks[--run->nchecks]);
}

void pf_run_free(pf_run *run)
{
    if (!run)
        return;
    for (size_t i = 0; i < run->nnodes; i++) {
        free(run->nodes[i]->name);
        free(run->nodes[i]->address);
        json_decref(run->nodes[i]->facts);
        json_decref(run->nodes[i]->sections);
        free(run->nodes[i]);
    }
    for (size_t i = 0; i < run->nchecks; i++)
        check_free(run->checks[i]);
    free(run->nodes);
    free(run->checks);
    free(run->command);
    free(run->incomplete);
    json_decref(run->sections);
    free(run->tool_version);
    free(run);
}

void pf_run_finish(pf_run *run)
{
    pf_wall_iso8601(run->finished_at, sizeof run->finished_at);
    run->t1 = pf_now();
}

void pf_run_set_incomplete(pf_run *run, const char *fmt, ...)
{
    if (run->incomplete)
        return;
    va_list ap;
    va_start(ap, fmt);
    run->incomplete = pf_xvasprintf(fmt, ap);
    va_end(ap);
}

const char *pf_run_incomplete_reason(const pf_run *run)
{
    return run->incomplete;
}

pf_node *pf_run_find_node(const pf_run *run, const char *name)
{
    for (size_t i = 0; name && i < run->nnodes; i++)
        if (strcmp(run->nodes[i]->name, name) == 0)
            return run->nodes[i];
    return NULL;
}

pf_node *pf_run_add_node(pf_run *run, const char *name, const char *address)
{
    pf_node *old = pf_run_find_node(run, name ? name : "");
    if (old) {
        if (!old->address && address)
            old->address = pf_xstrdup(address);
        return old;
    }
    if (run->nnodes == run->capnodes) {
        run->capnodes = run->capnodes ? run->capnodes * 2 : 4;
        run->nodes = pf_xrealloc(run->nodes, run->capnodes * sizeof *run->nodes);
    }
    pf_node *n = pf_xcalloc(1, sizeof *n);
    n->name = pf_xstrdup(name ? name : "");
    n->address = address ? pf_xstrdup(address) : NULL;
    n->facts = json_object();
    n->sections = json_object();
    run->nodes[run->nnodes++] = n;
    return n;
}

size_t pf_run_node_count(const pf_run *run) { return run->nnodes; }
pf_node *pf_run_node(const pf_run *run, size_t i) { return i < run->nnodes ? run->nodes[i] : NULL; }
const char *pf_node_name(const pf_node *node) { return node ? node->name : NULL; }
const char *pf_node_address(const pf_node *node) { return node ? node->address : NULL; }
json_t *pf_node_facts(pf_node *node) { return node->facts; }

static bool node_key_reserved(const char *key)
{
    return !strcmp(key, "name") || !strcmp(key, "address") || !strcmp(key, "facts");
}

void pf_node_set_section(pf_node *n, const char *key, json_t *steal)
{
    if (node_key_reserved(key)) {
        json_decref(steal);
        return;
    }
    json_object_set_new(n->sections, key, steal ? steal : json_null());
}

json_t *pf_node_section(const pf_node *n, const char *key) { return json_object_get(n->sections, key); }
json_t *pf_node_sections(const pf_node *n) { return n->sections; }

pf_check *pf_check_add(pf_run *run, pf_node *node, const char *id)
{
    if (run->nchecks == run->capchecks) {
        run->capchecks = run->capchecks ? run->capchecks * 2 : 16;
        run->checks = pf_xrealloc(run->checks, run->capchecks * sizeof *run->checks);
    }
    pf_check *c = pf_xcalloc(1, sizeof *c);
    c->id = pf_xstrdup(id);
    c->node = node;
    c->status = PF_ERROR;
    c->summary = pf_xstrdup("not evaluated");
    c->evidence = json_object();
    c->duration_s = -1;
    run->checks[run->nchecks++] = c;
    return c;
}

void pf_check_set(pf_check *c, pf_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(c->summary);
    c->summary = pf_xvasprintf(fmt, ap);
    va_end(ap);
    c->status = st;
}

void pf_check_remedy(pf_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(c->remedy);
    c->remedy = pf_xvasprintf(fmt, ap);
    va_end(ap);
}

void pf_check_measure(pf_check *c, double measured, double threshold, const char *unit)
{
    c->has_measure = true;
    c->measured = measured;
    c->threshold = threshold;
    free(c->unit);
    c->unit = unit ? pf_xstrdup(unit) : NULL;
}

void pf_check_set_peer(pf_check *c, pf_node *peer) { c->peer = peer; }
void pf_check_set_duration(pf_check *c, double seconds) { c->duration_s = seconds; }
json_t *pf_check_evidence(pf_check *c) { return c->evidence; }
const char *pf_check_id(const pf_check *c) { return c->id; }
pf_status pf_check_status(const pf_check *c) { return c->status; }
const char *pf_check_summary(const pf_check *c) { return c->summary; }
const char *pf_check_remedy_text(const pf_check *c) { return c->remedy; }
const pf_node *pf_check_node(const pf_check *c) { return c->node; }
const pf_node *pf_check_peer(const pf_check *c) { return c->peer; }
double pf_check_duration(const pf_check *c) { return c->duration_s; }
bool pf_check_has_measure(const pf_check *c) { return c->has_measure; }
double pf_check_measured(const pf_check *c) { return c->measured; }
double pf_check_threshold(const pf_check *c) { return c->threshold; }
const char *pf_check_unit(const pf_check *c) { return c->unit; }

size_t pf_run_check_count(const pf_run *run) { return run->nchecks; }
pf_check *pf_run_check(const pf_run *run, size_t i) { return i < run->nchecks ? run->checks[i] : NULL; }

void pf_run_counts(const pf_run *run, size_t counts[PF_STATUS_COUNT])
{
    memset(counts, 0, PF_STATUS_COUNT * sizeof counts[0]);
    for (size_t i = 0; i < run->nchecks; i++)
        counts[run->checks[i]->status]++;
}

bool pf_record_key_reserved(const char *key)
{
    static const char *const keys[] = {"schema", "tool", "command", "started_at", "finished_at",
                                       "duration_s", "complete", "incomplete_reason", "strict",
                                       "exit_code", "summary", "nodes", "checks"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

void pf_run_set_section(pf_run *run, const char *key, json_t *value)
{
    if (pf_record_key_reserved(key)) {
        json_decref(value);
        return;
    }
    json_object_set_new(run->sections, key, value ? value : json_null());
}

json_t *pf_run_sections(const pf_run *run) { return run->sections; }

json_t *pf_run_section(const pf_run *run, const char *key)
{
    return json_object_get(run->sections, key);
}

int pf_run_exit_code(const pf_run *run, bool strict)
{
    size_t n[PF_STATUS_COUNT];
    pf_run_counts(run, n);
    if (n[PF_FAIL] || (strict && n[PF_WARN]))
        return PF_EXIT_FAILED;
    if (n[PF_ERROR] || run->incomplete)
        return PF_EXIT_INCOMPLETE;
    return PF_EXIT_OK;
}

/* JSON has no NaN or infinity; a measurement that is not finite is null. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *pf_run_to_json(const pf_run *run, bool strict)
{
    json_t *root = json_object();
    json_object_set_new(root, "schema", json_string(PF_RECORD_SCHEMA));
    json_object_set_new(root, "tool", json_pack("{s:s,s:s}", "name", "preflight", "version", run->tool_version));
    json_object_set_new(root, "command", json_string(run->command));
    json_object_set_new(root, "started_at", json_string(run->started_at));
    json_object_set_new(root, "finished_at", run->finished_at[0] ? json_string(run->finished_at) : json_null());
    double end = run->t1 >= 0 ? run->t1 : pf_now();
    json_object_set_new(root, "duration_s", json_real(end - run->t0));
    json_object_set_new(root, "complete", json_boolean(run->incomplete == NULL));
    json_object_set_new(root, "incomplete_reason", str_or_null(run->incomplete));
    json_object_set_new(root, "strict", json_boolean(strict));
    json_object_set_new(root, "exit_code", json_integer(pf_run_exit_code(run, strict)));

    size_t counts[PF_STATUS_COUNT];
    pf_run_counts(run, counts);
    json_t *summary = json_object();
    for (int s = 0; s < PF_STATUS_COUNT; s++)
        json_object_set_new(summary, status_names[s], json_integer((json_int_t)counts[s]));
    json_object_set_new(root, "summary", summary);

    json_t *nodes = json_array();
    for (size_t i = 0; i < run->nnodes; i++) {
        pf_node *n = run->nodes[i];
        json_t *jn = json_pack("{s:s,s:o,s:O}", "name", n->name, "address", str_or_null(n->address),
                               "facts", n->facts);
        const char *k;
        json_t *v;
        json_object_foreach(n->sections, k, v)
            json_object_set(jn, k, v);
        json_array_append_new(nodes, jn);
    }
    json_object_set_new(root, "nodes", nodes);

    json_t *checks = json_array();
    for (size_t i = 0; i < run->nchecks; i++) {
        pf_check *c = run->checks[i];
        json_t *jc = json_object();
        json_object_set_new(jc, "id", json_string(c->id));
        json_object_set_new(jc, "node", str_or_null(c->node ? c->node->name : NULL));
        json_object_set_new(jc, "peer", str_or_null(c->peer ? c->peer->name : NULL));
        json_object_set_new(jc, "status", json_string(pf_status_name(c->status)));
        json_object_set_new(jc, "summary", json_string(c->summary));
        json_object_set_new(jc, "remedy", str_or_null(c->remedy));
        json_object_set(jc, "evidence", c->evidence);
        if (c->has_measure) {
            json_object_set_new(jc, "measured", num_or_null(c->measured));
            json_object_set_new(jc, "threshold", num_or_null(c->threshold));
            json_object_set_new(jc, "unit", str_or_null(c->unit));
        }
        json_object_set_new(jc, "duration_s", c->duration_s >= 0 ? json_real(c->duration_s) : json_null());
        json_array_append_new(checks, jc);
    }
    json_object_set_new(root, "checks", checks);

    const char *key;
    json_t *value;
    json_object_foreach(run->sections, key, value)
        json_object_set(root, key, value);
    return root;
}

int pf_run_write_json(const pf_run *run, bool strict, const char *path, pf_err *err)
{
    json_t *root = pf_run_to_json(run, strict);
    int rc = 0;
    size_t flags = JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10);
    if (strcmp(path, "-") == 0) {
        if (json_dumpf(root, stdout, flags) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
            rc = pf_err_errno(err, errno, "cannot write the JSON record to stdout");
        json_decref(root);
        return rc;
    }
    /* Write beside the target and rename, so a reader never sees half a record. */
    char *tmp = pf_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = pf_err_errno(err, errno, "cannot write the JSON record to %s", path);
    } else {
        int bad = json_dumpf(root, f, flags) != 0 || fputc('\n', f) == EOF;
        int e = errno;
        if (fclose(f) != 0 && !bad) {
            bad = 1;
            e = errno;
        }
        if (bad) {
            rc = pf_err_errno(err, e, "cannot write the JSON record to %s", path);
            unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            rc = pf_err_errno(err, errno, "cannot move the JSON record into place at %s", path);
            unlink(tmp);
        }
    }
    free(tmp);
    json_decref(root);
    return rc;
}

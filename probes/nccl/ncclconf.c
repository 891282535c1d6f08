/* ncclconf.c -- see ncclconf.h. */
#include "probes/nccl/ncclconf.h"
#include "probes/net/net_verdict.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCCL_NAME_MAX 1023     /* envVar[1024] in setEnvFile */
#define NCCL_VALUE_MAX 1023    /* envValue[1024] */
#define NCCL_LINE_MAX_NEW 4095 /* fgets(line, 4096) from 2.30.3 */
#define CONF_MAX_BYTES (4 << 20)

static bool version_strips_cr(int v) { return v == 0 || v >= 23003; }

static char *shorten(const char *s, size_t n)
{
    size_t max = 160;
    if (n <= max)
        return pf_xasprintf("%.*s", (int)n, s);
    return pf_xasprintf("%.*s...", (int)max, s);
}

static void add_issue(pf_nccl_conf_file *f, int line, const char *text, size_t textlen,
                      bool nccl, char *problem)
{
    f->issues = pf_xrealloc(f->issues, (f->nissues + 1) * sizeof *f->issues);
    pf_nccl_conf_issue *is = &f->issues[f->nissues++];
    is->line = line;
    is->text = shorten(text, textlen);
    is->problem = problem;
    is->affects_nccl = nccl;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

static bool valid_env_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* The NCCL_* name a malformed name was probably meant to be. */
static bool mentions_nccl(const char *s) { return strstr(s, "NCCL_") != NULL; }

/* One line exactly as setEnvFile sees it (no '\n'; maybe a '\r'). */
static void parse_line(pf_nccl_conf_file *f, int lineno, char *line, size_t len, int ver)
{
    bool had_cr = len > 0 && line[len - 1] == '\r';
    if (had_cr && version_strips_cr(ver))
        line[--len] = '\0';
    if (line[0] == '#')
        return;
    char *eq = strchr(line, '=');
    if (!eq) {
        /* Blank or whitespace-only lines are harmless; anything else was
         * meant to say something and NCCL drops it without a word. */
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            if (!isspace((unsigned char)line[i]))
                blank = false;
        if (!blank)
            add_issue(f, lineno, line, len, mentions_nccl(line),
                      pf_xstrdup("no '=' in the line: NCCL ignores it"));
        return;
    }
    size_t nlen = (size_t)(eq - line);
    char name[NCCL_NAME_MAX + 1];
    size_t ncopy = nlen < NCCL_NAME_MAX ? nlen : NCCL_NAME_MAX;
    memcpy(name, line, ncopy);
    name[ncopy] = '\0';
    const char *value_full = eq + 1;
    char value[NCCL_VALUE_MAX + 1];
    pf_strlcpy(value, value_full, sizeof value);
    bool nccl = mentions_nccl(name);

    if (nlen == 0) {
        add_issue(f, lineno, line, len, mentions_nccl(value_full),
                  pf_xstrdup("empty variable name: setenv() rejects it and NCCL ignores the line"));
        return;
    }
    if (nlen > NCCL_NAME_MAX)
        add_issue(f, lineno, line, len, nccl,
                  pf_xasprintf("variable name longer than %d bytes: NCCL truncates it", NCCL_NAME_MAX));
    if (strlen(value_full) > NCCL_VALUE_MAX)
        add_issue(f, lineno, line, len, nccl,
                  pf_xasprintf("value longer than %d bytes: NCCL truncates it", NCCL_VALUE_MAX));

    if (pf_str_startswith(name, "export ") || pf_str_startswith(name, "export\t")) {
        add_issue(f, lineno, line, len, nccl,
                  pf_xasprintf("'export' is not shell syntax here: NCCL sets a variable literally named '%s', "
                               "so the intended variable stays unset; drop 'export'", name));
    } else if (has_space(name)) {
        add_issue(f, lineno, line, len, nccl,
                  pf_xasprintf("variable name '%s' contains whitespace: NCCL does not trim, so it sets that "
                               "literal name and the intended variable stays unset; write NAME=value with no spaces",
                               name));
    } else if (!valid_env_name(name)) {
        add_issue(f, lineno, line, len, nccl,
                  pf_xasprintf("'%s' is not a valid variable name: nothing will read it", name));
    }

    size_t vlen = strlen(value);
    if (had_cr && !version_strips_cr(ver)) {
        add_issue(f, lineno, line, len, nccl,
                  pf_xstrdup("CRLF line ending: NCCL before 2.30.3 keeps the '\\r' in the value "
                             "(an interface name 'eth0\\r' matches nothing); convert the file with dos2unix"));
    } else if (had_cr) {
        add_issue(f, lineno, line, len, false,
                  pf_xstrdup("CRLF line ending: stripped by NCCL 2.30.3 and later only; older NCCL keeps "
                             "'\\r' in the value"));
    }
    if (vlen > 0 && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[vlen - 1])))
        add_issue(f, lineno, line, len, nccl,
                  pf_xstrdup("value has leading or trailing whitespace, which NCCL keeps "
                             "(for interface lists, ' eth0' matches nothing)"));
    if (vlen >= 2 && ((value[0] == '"' && value[vlen - 1] == '"') || (value[0] == '\'' && value[vlen - 1] == '\'')))
        add_issue(f, lineno, line, len, nccl,
                  pf_xstrdup("value is quoted: NCCL keeps the quote characters as part of the value"));
    const char *hash = strchr(value, '#');
    if (hash && hash > value && isspace((unsigned char)hash[-1]))
        add_issue(f, lineno, line, len, nccl,
                  pf_xstrdup("'#' after the value is not a comment: it becomes part of the value"));

    for (size_t i = 0; i < f->names.n; i++) {
        if (strcmp(f->names.v[i], name) == 0) {
            add_issue(f, lineno, line, len, nccl,
                      pf_xasprintf("%s is set again; the first assignment (line %d) wins because NCCL "
                                   "applies files with setenv(..., 0)", name, f->lines[i]));
            break;
        }
    }
    f->lines = pf_xrealloc(f->lines, (f->names.n + 1) * sizeof *f->lines);
    f->lines[f->names.n] = lineno;
    pf_strv_push(&f->names, name);
    pf_strv_push(&f->values, value);
}

void pf_nccl_conf_parse_text(const char *path_label, const char *text, size_t len, int ver,
                             pf_nccl_conf_file *out)
{
    memset(out, 0, sizeof *out);
    out->path = pf_xstrdup(path_label ? path_label : "(text)");
    out->present = true;
    bool pieces = ver == 0 || ver >= 23003;
    int lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - start) : len - pos;
        size_t consumed = nl ? llen + 1 : llen;
        lineno++;
        if (pieces && llen > NCCL_LINE_MAX_NEW) {
            /* fgets hands out 4095-byte pieces; each is parsed as a line. */
            add_issue(out, lineno, start, llen, mentions_nccl(start),
                      pf_xasprintf("line longer than %d bytes: NCCL 2.30.3+ reads it in pieces and "
                                   "parses each piece as a line of its own", NCCL_LINE_MAX_NEW));
            for (size_t off = 0; off < llen; off += NCCL_LINE_MAX_NEW) {
                size_t pl = llen - off < NCCL_LINE_MAX_NEW ? llen - off : NCCL_LINE_MAX_NEW;
                char *piece = pf_xasprintf("%.*s", (int)pl, start + off);
                parse_line(out, lineno, piece, strlen(piece), ver);
                free(piece);
            }
        } else {
            /* A NUL byte ends the line for NCCL's string functions too. */
            char *copy = pf_xasprintf("%.*s", (int)llen, start);
            parse_line(out, lineno, copy, strlen(copy), ver);
            free(copy);
        }
        pos += consumed;
    }
}

void pf_nccl_conf_load(const char *path, int ver, pf_nccl_conf_file *out)
{
    pf_err err;
    size_t len = 0;
    errno = 0;
    /* Only "is it there": O_NONBLOCK so that a FIFO cannot hang the check
     * (pf_read_file below then refuses it as not a regular file). */
    int probe = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (probe < 0) {
        int e = errno;
        memset(out, 0, sizeof *out);
        out->path = pf_xstrdup(path);
        out->present = e != ENOENT && e != ENOTDIR;
        if (out->present)
            out->error = pf_xasprintf("%s: %s", path, strerror(e));
        return;
    }
    close(probe);
    char *text = pf_read_file(path, CONF_MAX_BYTES, &len, &err);
    if (!text) {
        memset(out, 0, sizeof *out);
        out->path = pf_xstrdup(path);
        out->present = true;
        out->error = pf_xstrdup(err.msg);
        return;
    }
    pf_nccl_conf_parse_text(path, text, len, ver, out);
    free(text);
}

void pf_nccl_conf_file_free(pf_nccl_conf_file *f)
{
    if (!f)
        return;
    free(f->path);
    free(f->error);
    pf_strv_free(&f->names);
    pf_strv_free(&f->values);
    free(f->lines);
    for (size_t i = 0; i < f->nissues; i++) {
        free(f->issues[i].text);
        free(f->issues[i].problem);
    }
    free(f->issues);
    memset(f, 0, sizeof *f);
}

/* ---- effective environment -------------------------------------------- */

struct pf_nccl_env {
    pf_strv names, values, sources;
    pf_nccl_conf_file files[2];
    size_t nfiles;
};

static long env_index(const pf_nccl_env *e, const char *name)
{
    for (size_t i = 0; i < e->names.n; i++)
        if (strcmp(e->names.v[i], name) == 0)
            return (long)i;
    return -1;
}

static void env_setdefault(pf_nccl_env *e, const char *name, const char *value, const char *source)
{
    if (env_index(e, name) >= 0)
        return; /* setenv(..., 0): whoever came first wins */
    pf_strv_push(&e->names, name);
    pf_strv_push(&e->values, value);
    pf_strv_push(&e->sources, source);
}

pf_nccl_env *pf_nccl_env_load(char *const *envp, const char *home_dir, const char *etc_conf, int ver)
{
    pf_nccl_env *e = pf_xcalloc(1, sizeof *e);
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq)
            continue;
        char *name = pf_xasprintf("%.*s", (int)(eq - envp[i]), envp[i]);
        env_setdefault(e, name, eq + 1, "environment");
        free(name);
    }
    long ci = env_index(e, "NCCL_CONF_FILE");
    const char *conf_file = ci >= 0 ? e->values.v[ci] : NULL;
    char *first = NULL;
    if (conf_file && *conf_file)
        first = pf_xstrdup(conf_file);
    else if (home_dir && *home_dir)
        first = pf_path_join(home_dir, ".nccl.conf");
    if (first) {
        pf_nccl_conf_load(first, ver, &e->files[e->nfiles++]);
        free(first);
    }
    pf_nccl_conf_load(etc_conf ? etc_conf : "/etc/nccl.conf", ver, &e->files[e->nfiles++]);
    for (size_t f = 0; f < e->nfiles; f++) {
        const pf_nccl_conf_file *cf = &e->files[f];
        for (size_t i = 0; i < cf->names.n; i++)
            env_setdefault(e, cf->names.v[i], cf->values.v[i], cf->path);
    }
    return e;
}

void pf_nccl_env_free(pf_nccl_env *e)
{
    if (!e)
        return;
    pf_strv_free(&e->names);
    pf_strv_free(&e->values);
    pf_strv_free(&e->sources);
    for (size_t i = 0; i < e->nfiles; i++)
        pf_nccl_conf_file_free(&e->files[i]);
    free(e);
}

const char *pf_nccl_env_get(const pf_nccl_env *e, const char *name, const char **source)
{
    long i = env_index(e, name);
    if (source)
        *source = i >= 0 ? e->sources.v[i] : NULL;
    return i >= 0 ? e->values.v[i] : NULL;
}

size_t pf_nccl_env_file_count(const pf_nccl_env *e) { return e->nfiles; }

const pf_nccl_conf_file *pf_nccl_env_file(const pf_nccl_env *e, size_t i)
{
    return i < e->nfiles ? &e->files[i] : NULL;
}

size_t pf_nccl_env_issue_count(const pf_nccl_env *e, bool only_nccl)
{
    size_t n = 0;
    for (size_t f = 0; f < e->nfiles; f++) {
        for (size_t i = 0; i < e->files[f].nissues; i++)
            n += !only_nccl || e->files[f].issues[i].affects_nccl;
        if (e->files[f].error)
            n++;
    }
    return n;
}

char *pf_nccl_home_dir(void)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) != 0 || !res || !res->pw_dir)
        return NULL;
    return pf_xstrdup(res->pw_dir);
}

json_t *pf_nccl_env_to_json(const pf_nccl_env *e)
{
    json_t *o = json_object();
    json_t *files = json_array();
    for (size_t f = 0; f < e->nfiles; f++) {
        const pf_nccl_conf_file *cf = &e->files[f];
        json_t *fo = json_object();
        json_object_set_new(fo, "path", pf_net_jstr(cf->path));
        json_object_set_new(fo, "present", json_boolean(cf->present));
        if (cf->error)
            json_object_set_new(fo, "error", pf_net_jstr(cf->error));
        json_t *as = json_object();
        for (size_t i = 0; i < cf->names.n; i++)
            if (!json_object_get(as, cf->names.v[i]))
                json_object_set_new(as, cf->names.v[i], pf_net_jstr(cf->values.v[i]));
        json_object_set_new(fo, "assignments", as);
        json_t *is = json_array();
        for (size_t i = 0; i < cf->nissues; i++) {
            json_t *io = json_object();
            json_object_set_new(io, "line", json_integer(cf->issues[i].line));
            json_object_set_new(io, "text", pf_net_jstr(cf->issues[i].text));
            json_object_set_new(io, "problem", pf_net_jstr(cf->issues[i].problem));
            json_array_append_new(is, io);
        }
        json_object_set_new(fo, "issues", is);
        json_array_append_new(files, fo);
    }
    json_object_set_new(o, "files", files);
    json_t *eff = json_object();
    for (size_t i = 0; i < e->names.n; i++) {
        if (!pf_str_startswith(e->names.v[i], "NCCL_"))
            continue;
        json_t *v = json_object();
        json_object_set_new(v, "value", pf_net_jstr(e->values.v[i]));
        json_object_set_new(v, "source", pf_net_jstr(e->sources.v[i]));
        json_object_set_new(eff, e->names.v[i], v);
    }
    json_object_set_new(o, "effective", eff);
    return o;
}

/* env.c -- see env.h.
 *
 * Storage: entry i is one heap string "NAME=VALUE" (kv[i]), its NAME alone
 * (names[i]) and the length of NAME.  kv is kept NULL-terminated at all
 * times, so pf_env_envp is just kv and needs no lazy (mutating) build on a
 * const env.  Lookups are linear:
 * an environment has a few hundred entries and checks look up a handful.
 */
#include "core/env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

struct pf_env {
    char *source;
    char **kv;      /* n entries + NULL */
    char **names;   /* n entries */
    size_t *nlen;   /* length of NAME in kv[i] */
    size_t n, cap;
};

pf_env *pf_env_new(const char *source)
{
    pf_env *e = pf_xcalloc(1, sizeof *e);
    e->source = pf_xstrdup(source ? source : "");
    e->cap = 16;
    e->kv = pf_xcalloc(e->cap + 1, sizeof *e->kv);
    e->nlen = pf_xcalloc(e->cap, sizeof *e->nlen);
    e->names = pf_xcalloc(e->cap, sizeof *e->names);
    return e;
}

void pf_env_free(pf_env *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->kv[i]);
        free(e->names[i]);
    }
    free(e->kv);
    free(e->names);
    free(e->nlen);
    free(e->source);
    free(e);
}

void pf_env_set_source(pf_env *e, const char *source)
{
    free(e->source);
    e->source = pf_xstrdup(source ? source : "");
}

bool pf_env_name_valid(const char *name)
{
    if (!name || !(*name == '_' || (*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z')))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static long find(const pf_env *e, const char *name, size_t len)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->nlen[i] == len && memcmp(e->kv[i], name, len) == 0)
            return (long)i;
    return -1;
}

/* Insert or replace without validating the name (environ may hold names a
 * shell would not accept; we keep them as they are). */
static void put(pf_env *e, const char *name, size_t len, const char *value)
{
    char *kv = pf_xasprintf("%.*s=%s", (int)len, name, value);
    long i = find(e, name, len);
    if (i >= 0) {
        free(e->kv[i]);
        e->kv[i] = kv;
        return;
    }
    if (e->n == e->cap) {
        e->cap *= 2;
        e->kv = pf_xrealloc(e->kv, (e->cap + 1) * sizeof *e->kv);
        e->nlen = pf_xrealloc(e->nlen, e->cap * sizeof *e->nlen);
        e->names = pf_xrealloc(e->names, e->cap * sizeof *e->names);
    }
    e->names[e->n] = pf_xasprintf("%.*s", (int)len, name);
    e->kv[e->n] = kv;
    e->nlen[e->n] = len;
    e->kv[++e->n] = NULL;
}

int pf_env_set(pf_env *e, const char *name, const char *value, pf_err *err)
{
    if (!pf_env_name_valid(name))
        return pf_err_set(err, "'%s' is not a valid environment variable name", name ? name : "(null)");
    if (!value)
        return pf_err_set(err, "environment variable %s has no value", name);
    put(e, name, strlen(name), value);
    return 0;
}

pf_env *pf_env_from_process(void)
{
    pf_env *e = pf_env_new("process");
    for (char **p = environ; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (!eq || eq == *p)
            continue;
        put(e, *p, (size_t)(eq - *p), eq + 1);
    }
    return e;
}

const char *pf_env_get(const pf_env *e, const char *name)
{
    if (!e || !name)
        return NULL;
    size_t len = strlen(name);
    long i = find(e, name, len);
    return i >= 0 ? e->kv[i] + len + 1 : NULL;
}

size_t pf_env_count(const pf_env *e) { return e ? e->n : 0; }
const char *pf_env_source(const pf_env *e) { return e ? e->source : NULL; }
char *const *pf_env_envp(const pf_env *e) { return e->kv; }

const char *pf_env_name(const pf_env *e, size_t i)
{
    return e && i < e->n ? e->names[i] : NULL;
}

const char *pf_env_value(const pf_env *e, size_t i)
{
    return e && i < e->n ? e->kv[i] + e->nlen[i] + 1 : NULL;
}

json_t *pf_env_to_json(const pf_env *e)
{
    json_t *o = json_object();
    for (size_t i = 0; i < e->n; i++)
        json_object_set_new(o, e->names[i], json_string(e->kv[i] + e->nlen[i] + 1));
    return o;
}

/* ---- the env file ---------------------------------------------------- */

/* Read a regular file of at most max bytes.  O_NONBLOCK so that opening a
 * FIFO someone left at the path cannot block us; fstat after open (not stat
 * before) so the check and the read concern the same file. */
static char *read_regular(const char *path, size_t max, size_t *len, pf_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        pf_err_errno(err, errno, "cannot open the env file %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        pf_err_errno(err, errno, "cannot stat the env file %s", path);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        pf_err_set(err, "the env file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > max) {
        pf_err_set(err, "the env file %s is %lld bytes, more than the %zu allowed", path,
                   (long long)st.st_size, max);
        close(fd);
        return NULL;
    }
    char *buf = pf_xmalloc(max + 1);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, max + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pf_err_errno(err, errno, "cannot read the env file %s", path);
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > max) {
            pf_err_set(err, "the env file %s grew past the %zu bytes allowed while being read", path, max);
            free(buf);
            close(fd);
            return NULL;
        }
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* Characters an unquoted value may not hold: the shell and systemd would
 * read them differently (word splitting, expansion, redirection, comments,
 * quoting), so we ask for quotes instead of guessing which one is meant. */
static const char unquoted_bad[] = " \t\"'`$\\;&|<>()#~";

/* Parse one value starting at p (just after '='), into a heap string.
 * NULL with *why set on a malformed value. */
static char *parse_value(const char *p, const char **why)
{
    size_t cap = strlen(p) + 1, n = 0;
    char *out = pf_xmalloc(cap);
    if (*p == '\'') {
        const char *q = strchr(p + 1, '\'');
        if (!q) {
            *why = "a single-quoted value has no closing quote (values span one line)";
            goto bad;
        }
        n = (size_t)(q - p - 1);
        memcpy(out, p + 1, n);
        p = q + 1;
    } else if (*p == '"') {
        for (p++;; p++) {
            if (*p == '\0') {
                *why = "a double-quoted value has no closing quote (values span one line)";
                goto bad;
            }
            if (*p == '"')
                break;
            if (*p == '\\') {
                if (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`') {
                    out[n++] = *++p;
                    continue;
                }
                *why = "a backslash inside double quotes must escape one of \" \\ $ ` "
                       "(the shell and systemd read other escapes differently)";
                goto bad;
            }
            if (*p == '$' || *p == '`') {
                *why = "an unescaped $ or ` inside double quotes (the shell would expand it, "
                       "systemd would not): write \\$ or use single quotes";
                goto bad;
            }
            out[n++] = *p;
        }
        p++;
    } else {
        size_t k = strcspn(p, unquoted_bad);
        memcpy(out, p, k);
        n = k;
        p += k;
        if (*p && *p != ' ' && *p != '\t') {
            *why = "the unquoted value holds a character the shell treats specially "
                   "(one of \" ' ` $ \\ ; & | < > ( ) # ~): quote the value";
            goto bad;
        }
        if (*p) {
            p += strspn(p, " \t");
            *why = *p ? "the unquoted value holds a blank: quote the value"
                      : "trailing blanks after an unquoted value (systemd keeps them, the shell drops them): "
                        "remove them or quote the value";
            goto bad;
        }
    }
    p += strspn(p, " \t");
    if (*p) {
        *why = "text after the closing quote";
        goto bad;
    }
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

pf_env *pf_env_from_file(const char *path, pf_err *err)
{
    size_t len = 0;
    char *buf = read_regular(path, PF_ENV_FILE_MAX, &len, err);
    if (!buf)
        return NULL;
    if (memchr(buf, '\0', len)) {
        pf_err_set(err, "the env file %s holds a NUL byte (not a text file)", path);
        free(buf);
        return NULL;
    }
    char *src = pf_xasprintf("file:%s", path);
    pf_env *e = pf_env_new(src);
    free(src);
    unsigned line = 0;
    const char *why = NULL;
    char *end = buf + len, *next;
    for (char *p = buf; p < end; p = next) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        next = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        size_t ll = strlen(p);
        if (ll && p[ll - 1] == '\r') {
            why = "the line ends with a carriage return (a Windows file? convert it with dos2unix)";
            goto bad;
        }
        char *s = p + strspn(p, " \t");
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
            s += 6 + strspn(s + 6, " \t");
        size_t nlen = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        if (nlen == 0 || (s[0] >= '0' && s[0] <= '9')) {
            why = "expected NAME=VALUE, where NAME is letters, digits and _ not starting with a digit";
            goto bad;
        }
        if (s[nlen] != '=') {
            why = (s[nlen] == ' ' || s[nlen] == '\t') ? "blanks around '=' (the shell would run a command)"
                                                      : "expected NAME=VALUE";
            goto bad;
        }
        char *value = parse_value(s + nlen + 1, &why);
        if (!value)
            goto bad;
        put(e, s, nlen, value);
        free(value);
    }
    free(buf);
    return e;
bad:
    pf_err_set(err, "%s:%u: %s", path, line, why);
    pf_env_free(e);
    free(buf);
    return NULL;
}

pf_env *pf_env_from_json(const json_t *obj, pf_err *err)
{
    if (!json_is_object(obj)) {
        pf_err_set(err, "the environment must be a JSON object of \"NAME\": \"VALUE\" strings");
        return NULL;
    }
    pf_env *e = pf_env_new("json");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (!json_is_string(v)) {
            pf_err_set(err, "environment variable %s: the value must be a string", key);
            pf_env_free(e);
            return NULL;
        }
        if (pf_env_set(e, key, json_string_value(v), err) != 0) {
            pf_env_free(e);
            return NULL;
        }
    }
    return e;
}

char *pf_env_which(const pf_env *e, const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? pf_xstrdup(name) : NULL;
    const char *path = pf_env_get(e, "PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = pf_xstrdup(path), *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = pf_path_join(*dir ? dir : ".", name);
        if (pf_is_file(cand) && access(cand, X_OK) == 0) {
            free(copy);
            return cand;
        }
        free(cand);
    }
    free(copy);
    return NULL;
}

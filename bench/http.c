/* http.c -- blocking helper requests (see http.h). */
#include "bench/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pf_http_headers_init(pf_http_headers *h)
{
    memset(h, 0, sizeof *h);
}

int pf_http_headers_add(pf_http_headers *h, const char *kv, pf_err *err)
{
    const char *sep = strpbrk(kv, "=:");
    if (!sep || sep == kv)
        return pf_err_set(err, "--header '%s' is not KEY=VALUE", kv);
    if (strchr(kv, '\r') || strchr(kv, '\n'))
        return pf_err_set(err, "--header '%s' contains a line break", kv);
    const char *v = sep + 1;
    while (*v == ' ')
        v++;
    pf_strv_push_owned(&h->lines, pf_xasprintf("%.*s: %s", (int)(sep - kv), kv, v));
    return 0;
}

bool pf_http_header_is_secret(const char *name, size_t len)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "x-api-key",
                                         "api-key", "cookie"};
    while (len && name[len - 1] == ' ')
        len--;
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strlen(secret[i]) == len && strncasecmp(name, secret[i], len) == 0)
            return true;
    return false;
}

char *pf_http_header_redact(const char *line)
{
    const char *sep = strpbrk(line, "=:");
    if (!sep || !pf_http_header_is_secret(line, (size_t)(sep - line)))
        return pf_xstrdup(line);
    return pf_xasprintf("%.*s%c <redacted>", (int)(sep - line), line, *sep);
}

/* A flag name ("--api-key", "--hf_token") that announces a secret value. */
static bool secret_flag(const char *a, size_t len)
{
    static const char *const words[] = {"key", "token", "secret", "password", "passwd", "auth"};
    if (len < 3 || a[0] != '-')
        return false;
    char low[64];
    if (len >= sizeof low)
        len = sizeof low - 1;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
    low[len] = '\0';
    /* "--api-key-env NAME" names a variable; the name is no secret */
    if (pf_str_endswith(low, "-env") || pf_str_endswith(low, "_env"))
        return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

char *pf_http_redact_arg(const char *prev, const char *arg)
{
    if (prev && strcmp(prev, "--header") == 0)
        return pf_http_header_redact(arg);
    if (pf_str_startswith(arg, "--header=")) {
        char *h = pf_http_header_redact(arg + 9);
        char *r = pf_xasprintf("--header=%s", h);
        free(h);
        return r;
    }
    if (prev && prev[0] == '-' && !strchr(prev, '=') && secret_flag(prev, strlen(prev)) && arg[0] != '-')
        return pf_xstrdup("<redacted>");
    const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;
    if (eq && secret_flag(arg, (size_t)(eq - arg)))
        return pf_xasprintf("%.*s=<redacted>", (int)(eq - arg), arg);
    return pf_xstrdup(arg);
}

bool pf_http_headers_has_auth(const pf_http_headers *h)
{
    for (size_t i = 0; i < h->lines.n; i++)
        if (strncasecmp(h->lines.v[i], "Authorization:", 14) == 0)
            return true;
    return false;
}

int pf_http_headers_add_auth(pf_http_headers *h, const char *env_name, pf_err *err)
{
    if (pf_http_headers_has_auth(h))
        return 0;
    const char *k;
    if (env_name) {
        k = getenv(env_name);
        if (!k || !*k)
            return pf_err_set(err, "--api-key-env %s: that environment variable is %s", env_name,
                              k ? "empty" : "not set");
        if (strchr(k, '\r') || strchr(k, '\n'))
            return pf_err_set(err, "--api-key-env %s: the key contains a line break", env_name);
        pf_strv_push_owned(&h->lines, pf_xasprintf("Authorization: Bearer %s", k));
        return 0;
    }
    /* bench_serving: OPENAI_API_KEY as a bearer token, else API_KEY verbatim */
    const char *name = "OPENAI_API_KEY";
    k = getenv(name);
    if (!k || !*k) {
        name = "API_KEY";
        k = getenv(name);
    }
    if (!k || !*k)
        return 0;
    if (strchr(k, '\r') || strchr(k, '\n'))
        return pf_err_set(err, "$%s contains a line break", name);
    if (strcmp(name, "OPENAI_API_KEY") == 0)
        pf_strv_push_owned(&h->lines, pf_xasprintf("Authorization: Bearer %s", k));
    else
        pf_strv_push_owned(&h->lines, pf_xasprintf("Authorization: %s", k));
    return 0;
}

void pf_http_headers_free(pf_http_headers *h)
{
    pf_strv_free(&h->lines);
}

void *pf_http_slist(const pf_http_headers *h, const char *const *extra)
{
    struct curl_slist *sl = NULL;
    for (const char *const *e = extra; e && *e; e++)
        sl = curl_slist_append(sl, *e);
    for (size_t i = 0; h && i < h->lines.n; i++)
        sl = curl_slist_append(sl, h->lines.v[i]);
    return sl;
}

typedef struct sink {
    char *buf;
    size_t len, max;
} sink;

static size_t sink_write(char *p, size_t sz, size_t nm, void *ud)
{
    sink *s = ud;
    size_t n = sz * nm, room = s->max > s->len ? s->max - s->len : 0;
    size_t take = n < room ? n : room;
    s->buf = pf_xrealloc(s->buf, s->len + take + 1);
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return n; /* keep reading; the excess is dropped */
}

int pf_http_get(const char *url, const pf_http_headers *h, double timeout_s, size_t max_body,
                pf_http_resp *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c)
        return pf_err_set(err, "curl_easy_init failed");
    sink s = {pf_xcalloc(1, 1), 0, max_body ? max_body : (size_t)1 << 20};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *sl = pf_http_slist(h, NULL);
    long ms = timeout_s > 0 ? (long)(timeout_s * 1000.0) : 10000;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc != CURLE_OK) {
        ret = pf_err_set(err, "GET %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        free(s.buf);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        out->content_type = ct ? pf_xstrdup(ct) : NULL;
        out->body = s.buf;
        out->len = s.len;
    }
    curl_slist_free_all(sl);
    curl_easy_cleanup(c);
    return ret;
}

void pf_http_resp_free(pf_http_resp *r)
{
    free(r->body);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

char *pf_url_join(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (!path || !*path)
        return pf_xasprintf("%.*s", (int)n, base);
    return pf_xasprintf("%.*s%s%s", (int)n, base, path[0] == '/' ? "" : "/", path);
}

int pf_url_check(const char *url, pf_err *err)
{
    const char *rest = NULL;
    if (pf_str_startswith(url, "http://"))
        rest = url + 7;
    else if (pf_str_startswith(url, "https://"))
        rest = url + 8;
    if (!rest)
        return pf_err_set(err, "--url '%s' must start with http:// or https://", url);
    if (!*rest || *rest == '/' || *rest == ':')
        return pf_err_set(err, "--url '%s' has no host", url);
    if (strchr(url, ' '))
        return pf_err_set(err, "--url '%s' contains a space", url);
    /* Then curl's own parser, so a URL it would refuse ("http://[::1",
     * a port of 99999) is a usage error now, not "server unreachable"
     * after the first request. */
    CURLU *u = curl_url();
    if (!u)
        return pf_err_set(err, "--url '%s': out of memory parsing it", url);
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *host = NULL;
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_free(host);
    curl_url_cleanup(u);
    if (rc != CURLUE_OK)
        return pf_err_set(err, "--url '%s' is not a valid URL (%s)", url, curl_url_strerror(rc));
    return 0;
}

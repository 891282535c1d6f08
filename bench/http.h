/* http.h -- the small blocking HTTP calls around a benchmark run: model
 * discovery (GET /v1/models), readiness polling, /server_info.  The load
 * itself goes through driver.h.  Proxies are never used: a benchmark through
 * a proxy measures the proxy.
 */
#ifndef PF_BENCH_HTTP_H
#define PF_BENCH_HTTP_H

#include <stddef.h>

#include "core/util.h"

typedef struct pf_http_resp {
    long status;          /* 0 when no response */
    char *body;           /* NUL-terminated, maybe truncated to max_body */
    size_t len;
    char *content_type;   /* NULL when absent */
} pf_http_resp;

/* Request headers every call sends: the --header "K: V" lines plus the
 * bench_serving auth header from $OPENAI_API_KEY ("Bearer ...") or $API_KEY. */
typedef struct pf_http_headers {
    pf_strv lines;
} pf_http_headers;

void pf_http_headers_init(pf_http_headers *h);
/* "K=V" or "K: V" -> "K: V"; -1 with err when malformed. */
int pf_http_headers_add(pf_http_headers *h, const char *kv, pf_err *err);
void pf_http_headers_add_auth_from_env(pf_http_headers *h);
void pf_http_headers_free(pf_http_headers *h);
/* A curl_slist (as void * to keep curl out of this header) with the lines plus
 * extra ones; free with pf_http_slist_free. */
void *pf_http_slist(const pf_http_headers *h, const char *const *extra);
void pf_http_slist_free(void *slist);

/* GET url with a total deadline.  Returns 0 when an HTTP response arrived
 * (any status), -1 with err naming the URL and curl's reason otherwise. */
int pf_http_get(const char *url, const pf_http_headers *h, double timeout_s, size_t max_body,
                pf_http_resp *out, pf_err *err);
void pf_http_resp_free(pf_http_resp *r);

/* base ("http://h:p" or "http://h:p/") + path ("/v1/models") -> heap URL. */
char *pf_url_join(const char *base, const char *path);
/* Whether url is http:// (https is accepted too) with a host; -1 + err if not. */
int pf_url_check(const char *url, pf_err *err);

#endif

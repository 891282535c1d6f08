/* http.h -- the small blocking HTTP calls around a benchmark run: model
 * discovery (GET /v1/models), readiness polling, /server_info.  The load
 * itself goes through driver.h.  Proxies are never used: a benchmark through
 * a proxy measures the proxy.
 */
#ifndef PF_BENCH_HTTP_H
#define PF_BENCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

typedef struct pf_http_resp {
    long status;          /* 0 when no response */
    char *body;           /* NUL-terminated, maybe truncated to max_body */
    size_t len;
    char *content_type;   /* NULL when absent */
} pf_http_resp;

/* Request headers EVERY request of a run sends (the load, /v1/models,
 * /server_info, /metrics, the readiness probes and warm-up of --launch): the
 * --header "K: V" lines plus the Authorization line from the environment.
 *
 * Secrets: the Authorization value comes from an environment variable, never
 * from the command line, and lives only in `lines`; nothing prints `lines`
 * or puts it in a record.  Anything that shows a request's headers must pass
 * each line through pf_http_header_redact first. */
typedef struct pf_http_headers {
    pf_strv lines;
} pf_http_headers;

void pf_http_headers_init(pf_http_headers *h);
/* "K=V" or "K: V" -> "K: V"; -1 with err when malformed. */
int pf_http_headers_add(pf_http_headers *h, const char *kv, pf_err *err);
/* The Authorization header, as bench_serving makes it: with env_name NULL,
 * "Bearer $OPENAI_API_KEY", else "$API_KEY" as it is, else none; with
 * env_name (--api-key-env NAME), "Bearer $NAME", and an unset or empty NAME
 * is an error (the user asked for a key that is not there).  An Authorization
 * line already given with --header wins and nothing is added.  0 or -1. */
int pf_http_headers_add_auth(pf_http_headers *h, const char *env_name, pf_err *err);
/* Whether an Authorization header will be sent. */
bool pf_http_headers_has_auth(const pf_http_headers *h);
void pf_http_headers_free(pf_http_headers *h);

/* Header names whose values are secrets (Authorization, Proxy-Authorization,
 * X-API-Key, Api-Key, Cookie; any case). */
bool pf_http_header_is_secret(const char *name, size_t len);
/* A copy of one "K: V" or "K=V" header line fit to show or record: a secret
 * header's value becomes "<redacted>".  Heap string. */
char *pf_http_header_redact(const char *line);
/* One command-line word fit to record, given the word before it (NULL for
 * the first): the value of --header (a secret header's value), and the value
 * of any flag whose name says it is a secret (--api-key, --token,
 * --hf-token, --password, --secret, in "--x V" and "--x=V" form), become
 * "<redacted>".  For the record's command lines (ours and the launched
 * server's).  Heap string. */
char *pf_http_redact_arg(const char *prev, const char *arg);
/* A curl_slist (as void * to keep curl out of this header) with the lines plus
 * extra ones; the caller frees it with curl_slist_free_all. */
void *pf_http_slist(const pf_http_headers *h, const char *const *extra);

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

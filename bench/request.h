/* request.h -- what goes over the wire for one benchmark request, per API,
 * and how one streamed response is turned into timings.
 *
 * Three APIs, as in SGLang's bench_serving (reference serving-bench.md 1.1):
 * SGLang's native POST /generate, POST /v1/completions and POST
 * /v1/chat/completions.  Body building and chunk interpretation are pure
 * functions; pf_resp replays bench_serving's per-request measurement loop
 * (reference 1.3) on lines handed to it with their arrival times, so the
 * driver only moves bytes and reads the clock.
 */
#ifndef PF_BENCH_REQUEST_H
#define PF_BENCH_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/sse.h"
#include "core/util.h"

typedef enum pf_api {
    PF_API_GENERATE,    /* SGLang native /generate: cumulative text + meta_info */
    PF_API_COMPLETIONS, /* /v1/completions: choices[0].text deltas */
    PF_API_CHAT,        /* /v1/chat/completions: choices[0].delta.content */
} pf_api;

const char *pf_api_name(pf_api api); /* "generate", "completions", "chat" */
/* bench_serving's --backend names -> API and path; -1 for an unknown name. */
int pf_backend_lookup(const char *backend, pf_api *api, const char **path);
/* The API an endpoint path serves, judged by its ending; -1 if unknown. */
int pf_api_from_path(const char *path, pf_api *api);
/* Whether the API accepts a prompt given as token ids. */
bool pf_api_takes_ids(pf_api api);

typedef struct pf_body_opts {
    pf_api api;
    const char *model;   /* NULL: field omitted (native /generate needs none) */
    bool ignore_eos;     /* bench_serving default: true */
    bool stream_usage;   /* OpenAI APIs: stream_options.include_usage */
    double temperature;  /* bench_serving default 0.0 */
    const json_t *extra; /* --extra-request-body object, merged last; may be NULL */
} pf_body_opts;

/* The JSON body (heap string, *len its length) for one request: text prompt
 * when ids is NULL, token-id prompt otherwise. */
char *pf_request_body(const pf_body_opts *o, const char *text, const int32_t *ids, size_t n_ids,
                      long max_tokens, size_t *len);

/* What one `data:` payload says. */
typedef struct pf_chunk {
    bool has_text;           /* content-bearing (bench_serving's `if content:`) */
    size_t text_len;         /* bytes of that text (cumulative for /generate) */
    long completion_tokens;  /* usage / meta_info; -1 when absent */
    long prompt_tokens;      /* -1 when absent */
    bool error;              /* an error object instead of a chunk */
    char message[200];       /* the error message, when error */
    char id[96];             /* response id when present */
} pf_chunk;

/* Parse one data payload (not "[DONE]").  -1 with err on malformed JSON or
 * a shape the API does not allow (e.g. /generate text without meta_info). */
int pf_chunk_parse(pf_api api, const char *data, size_t len, pf_chunk *out, pf_err *err);
/* The same through a jansson tree: the reference the fast path (jscan.h) is
 * tested against, and where it hands anything unusual. */
int pf_chunk_parse_jansson(pf_api api, const char *data, size_t len, pf_chunk *out, pf_err *err);

/* Per-request measurement state, fed line by line. */
typedef struct pf_resp {
    pf_api api;
    double st;               /* start: slot acquired, request about to be sent */
    double ttft;             /* set at the first content-bearing event (content_events > 0) */
    double most_recent;      /* time of the last content-bearing event */
    double last_line;        /* time of the last non-empty line (E2E end) */
    double *itl;
    size_t n_itl, cap_itl;
    long output_len;         /* requested max tokens until usage says otherwise */
    bool output_from_usage;
    long last_output_len;    /* /generate: completion_tokens at the previous event */
    long server_prompt_tokens; /* -1 until reported */
    bool done;               /* "data: [DONE]" seen */
    size_t data_lines, content_events;
    size_t text_bytes;
    char id[96];
    char *error;             /* first fatal problem (malformed chunk, error event) */
} pf_resp;

void pf_resp_init(pf_resp *r, pf_api api, double st, long requested_output_len);
void pf_resp_free(pf_resp *r);
/* One SSE line read at time t.  Returns 0, or -1 once the stream is known
 * bad (r->error says why); later lines are then ignored. */
int pf_resp_line(pf_resp *r, pf_sse_kind kind, const char *value, size_t vlen, double t);

#endif

/* request.c -- request bodies per API and bench_serving's per-request
 * measurement loop (reference serving-bench.md 1.2, 1.3). */
#include "bench/request.h"

#include "bench/jscan.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *backend;
    pf_api api;
    const char *path;
} BACKENDS[] = {
    {"sglang", PF_API_GENERATE, "/generate"},
    {"sglang-native", PF_API_GENERATE, "/generate"},
    {"sglang-oai", PF_API_COMPLETIONS, "/v1/completions"},
    {"sglang-oai-chat", PF_API_CHAT, "/v1/chat/completions"},
    {"vllm", PF_API_COMPLETIONS, "/v1/completions"},
    {"vllm-chat", PF_API_CHAT, "/v1/chat/completions"},
    {"lmdeploy", PF_API_COMPLETIONS, "/v1/completions"},
    {"lmdeploy-chat", PF_API_CHAT, "/v1/chat/completions"},
};

const char *pf_api_name(pf_api api)
{
    switch (api) {
    case PF_API_GENERATE: return "generate";
    case PF_API_COMPLETIONS: return "completions";
    case PF_API_CHAT: return "chat";
    }
    return "?";
}

int pf_backend_lookup(const char *backend, pf_api *api, const char **path)
{
    for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++)
        if (strcmp(BACKENDS[i].backend, backend) == 0) {
            *api = BACKENDS[i].api;
            *path = BACKENDS[i].path;
            return 0;
        }
    return -1;
}

int pf_api_from_path(const char *path, pf_api *api)
{
    /* query strings do not change the API */
    size_t n = strcspn(path, "?#");
    char *p = pf_xasprintf("%.*s", (int)n, path);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    int rc = 0;
    if (pf_str_endswith(p, "/chat/completions"))
        *api = PF_API_CHAT;
    else if (pf_str_endswith(p, "/completions"))
        *api = PF_API_COMPLETIONS;
    else if (pf_str_endswith(p, "/generate"))
        *api = PF_API_GENERATE;
    else
        rc = -1;
    free(p);
    return rc;
}

bool pf_api_takes_ids(pf_api api)
{
    return api == PF_API_GENERATE || api == PF_API_COMPLETIONS;
}

static json_t *ids_array(const int32_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

char *pf_request_body(const pf_body_opts *o, const char *text, const int32_t *ids, size_t n_ids,
                      long max_tokens, size_t *len)
{
    json_t *b = json_object();
    json_t *prompt = ids ? ids_array(ids, n_ids) : json_string(text ? text : "");
    switch (o->api) {
    case PF_API_GENERATE: {
        json_object_set_new(b, ids ? "input_ids" : "text", prompt);
        json_t *sp = json_object();
        json_object_set_new(sp, "temperature", json_real(o->temperature));
        json_object_set_new(sp, "max_new_tokens", json_integer(max_tokens));
        json_object_set_new(sp, "ignore_eos", json_boolean(o->ignore_eos));
        json_object_set_new(b, "sampling_params", sp);
        json_object_set_new(b, "stream", json_true());
        break;
    }
    case PF_API_COMPLETIONS:
        if (o->model)
            json_object_set_new(b, "model", json_string(o->model));
        json_object_set_new(b, "prompt", prompt);
        json_object_set_new(b, "best_of", json_integer(1));
        json_object_set_new(b, "max_tokens", json_integer(max_tokens));
        json_object_set_new(b, "stream", json_true());
        json_object_set_new(b, "temperature", json_real(o->temperature));
        json_object_set_new(b, "ignore_eos", json_boolean(o->ignore_eos));
        break;
    case PF_API_CHAT: {
        if (o->model)
            json_object_set_new(b, "model", json_string(o->model));
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string("user"));
        if (ids) {
            /* chat takes text only; callers never pass ids here */
            json_decref(prompt);
            prompt = json_string("");
        }
        json_object_set_new(msg, "content", prompt);
        json_t *msgs = json_array();
        json_array_append_new(msgs, msg);
        json_object_set_new(b, "messages", msgs);
        /* SGLang's client sends max_completion_tokens, older ones and
         * llama.cpp read max_tokens; the same value in both is safe. */
        json_object_set_new(b, "max_completion_tokens", json_integer(max_tokens));
        json_object_set_new(b, "max_tokens", json_integer(max_tokens));
        json_object_set_new(b, "stream", json_true());
        json_object_set_new(b, "temperature", json_real(o->temperature));
        json_object_set_new(b, "ignore_eos", json_boolean(o->ignore_eos));
        break;
    }
    }
    if (o->stream_usage && o->api != PF_API_GENERATE) {
        json_t *so = json_object();
        json_object_set_new(so, "include_usage", json_true());
        json_object_set_new(b, "stream_options", so);
    }
    if (o->extra && json_is_object(o->extra))
        json_object_update(b, (json_t *)o->extra);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (!s)
        abort(); /* only on out of memory */
    if (len)
        *len = strlen(s);
    return s;
}

static long int_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    /* the same rule as pf_jfield_long (jscan.h): out of [0, PF_TOKENS_MAX]
     * is not a token count */
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && i <= PF_TOKENS_MAX ? (long)i : -1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d >= 0 && d <= (double)PF_TOKENS_MAX ? (long)d : -1;
    }
    return -1;
}

static size_t str_len(json_t *v)
{
    return json_is_string(v) ? json_string_length(v) : 0;
}

static void take_id(json_t *v, pf_chunk *out)
{
    if (json_is_string(v))
        pf_strlcpy(out->id, json_string_value(v), sizeof out->id);
}

/* {"error": {...} | "..."} or {"object": "error", "message": ...} */
static bool error_object(json_t *root, pf_chunk *out)
{
    json_t *e = json_object_get(root, "error");
    json_t *obj = json_object_get(root, "object");
    const char *msg = NULL;
    if (e && !json_is_null(e) && !json_object_get(root, "choices")) {
        if (json_is_string(e))
            msg = json_string_value(e);
        else if (json_is_object(e))
            msg = json_string_value(json_object_get(e, "message"));
        if (!msg)
            msg = "(no message)";
    } else if (json_is_string(obj) && strcmp(json_string_value(obj), "error") == 0) {
        msg = json_string_value(json_object_get(root, "message"));
        if (!msg)
            msg = "(no message)";
    }
    if (!msg)
        return false;
    out->error = true;
    pf_strlcpy(out->message, msg, sizeof out->message);
    return true;
}

int pf_chunk_parse_jansson(pf_api api, const char *data, size_t len, pf_chunk *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    out->completion_tokens = -1;
    out->prompt_tokens = -1;
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!root)
        return pf_err_set(err, "malformed JSON in stream chunk: %s at column %d: %.*s", je.text,
                          je.column, (int)(len < 80 ? len : 80), data); /* data is not NUL-terminated */
    int rc = 0;
    if (!json_is_object(root)) {
        rc = pf_err_set(err, "stream chunk is not a JSON object: %.*s", (int)(len < 80 ? len : 80), data);
        goto out;
    }
    if (error_object(root, out))
        goto out;
    json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        out->completion_tokens = int_field(usage, "completion_tokens");
        out->prompt_tokens = int_field(usage, "prompt_tokens");
    }
    if (api == PF_API_GENERATE) {
        json_t *meta = json_object_get(root, "meta_info");
        json_t *text = json_object_get(root, "text");
        if (json_is_object(meta)) {
            out->completion_tokens = int_field(meta, "completion_tokens");
            out->prompt_tokens = int_field(meta, "prompt_tokens");
            take_id(json_object_get(meta, "id"), out);
        }
        out->text_len = str_len(text);
        out->has_text = out->text_len > 0;
        if (out->has_text && out->completion_tokens < 0)
            rc = pf_err_set(err, "/generate chunk has text but no meta_info.completion_tokens");
        goto out;
    }
    take_id(json_object_get(root, "id"), out);
    json_t *choices = json_object_get(root, "choices");
    if (choices && !json_is_array(choices) && !json_is_null(choices)) {
        rc = pf_err_set(err, "stream chunk has a non-array \"choices\"");
        goto out;
    }
    json_t *c0 = json_array_get(choices, 0); /* NULL for [] (usage-only chunk) */
    if (!c0)
        goto out;
    if (api == PF_API_COMPLETIONS) {
        out->text_len = str_len(json_object_get(c0, "text"));
    } else {
        json_t *delta = json_object_get(c0, "delta");
        /* bench_serving (S-new): reasoning_content or reasoning, then content */
        size_t r = str_len(json_object_get(delta, "reasoning_content"));
        if (!r)
            r = str_len(json_object_get(delta, "reasoning"));
        out->text_len = r + str_len(json_object_get(delta, "content"));
    }
    out->has_text = out->text_len > 0;
out:
    json_decref(root);
    return rc;
}

/* The fast path: one validating pass with no allocation (jscan.h).  Anything
 * out of the ordinary -- an error object, escaped ids, odd shapes, invalid
 * JSON -- goes to the jansson path, which decides and words the message. */
enum {
    F_ID, F_CHOICES, F_C0, F_C0_TEXT, F_C0_DELTA, F_DELTA_CONTENT, F_DELTA_RC, F_DELTA_R,
    F_USAGE, F_USAGE_CT, F_USAGE_PT, F_TEXT, F_META, F_META_CT, F_META_PT, F_META_ID,
    F_ERROR, F_OBJECT, F_COUNT
};

static const char *const FIELD_PATHS[F_COUNT] = {
    "id", "choices", "choices[0]", "choices[0].text", "choices[0].delta",
    "choices[0].delta.content", "choices[0].delta.reasoning_content", "choices[0].delta.reasoning",
    "usage", "usage.completion_tokens", "usage.prompt_tokens", "text", "meta_info",
    "meta_info.completion_tokens", "meta_info.prompt_tokens", "meta_info.id", "error", "object",
};

static bool fast_id(const pf_jfield *f, pf_chunk *out)
{
    if (f->type != PF_J_STRING)
        return true;
    if (memchr(f->raw, '\\', f->raw_len))
        return false; /* escaped: let jansson decode it */
    size_t n = f->raw_len < sizeof out->id - 1 ? f->raw_len : sizeof out->id - 1;
    memcpy(out->id, f->raw, n);
    out->id[n] = '\0';
    return true;
}

static size_t fast_strlen(const pf_jfield *f)
{
    return f->type == PF_J_STRING ? f->len : 0;
}

int pf_chunk_parse(pf_api api, const char *data, size_t len, pf_chunk *out, pf_err *err)
{
    pf_jfield f[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        f[i].path = FIELD_PATHS[i];
    size_t lead = 0;
    while (lead < len && (data[lead] == ' ' || data[lead] == '\t'))
        lead++;
    if (lead == len || data[lead] != '{' || pf_jscan(data, len, f, F_COUNT) != PF_JSCAN_OK)
        return pf_chunk_parse_jansson(api, data, len, out, err);
    if ((f[F_ERROR].type != PF_J_ABSENT && f[F_ERROR].type != PF_J_NULL) ||
        (f[F_OBJECT].type == PF_J_STRING && f[F_OBJECT].raw_len == 5 &&
         memcmp(f[F_OBJECT].raw, "error", 5) == 0))
        return pf_chunk_parse_jansson(api, data, len, out, err);
    memset(out, 0, sizeof *out);
    out->completion_tokens = -1;
    out->prompt_tokens = -1;
    if (f[F_USAGE].type == PF_J_OBJECT) {
        out->completion_tokens = pf_jfield_long(&f[F_USAGE_CT]);
        out->prompt_tokens = pf_jfield_long(&f[F_USAGE_PT]);
    }
    if (api == PF_API_GENERATE) {
        if (f[F_META].type == PF_J_OBJECT) {
            out->completion_tokens = pf_jfield_long(&f[F_META_CT]);
            out->prompt_tokens = pf_jfield_long(&f[F_META_PT]);
            if (!fast_id(&f[F_META_ID], out))
                return pf_chunk_parse_jansson(api, data, len, out, err);
        }
        out->text_len = fast_strlen(&f[F_TEXT]);
        out->has_text = out->text_len > 0;
        if (out->has_text && out->completion_tokens < 0)
            return pf_err_set(err, "/generate chunk has text but no meta_info.completion_tokens");
        return 0;
    }
    if (!fast_id(&f[F_ID], out))
        return pf_chunk_parse_jansson(api, data, len, out, err);
    pf_jtype ct = f[F_CHOICES].type;
    if (ct != PF_J_ABSENT && ct != PF_J_ARRAY && ct != PF_J_NULL)
        return pf_err_set(err, "stream chunk has a non-array \"choices\"");
    if (f[F_C0].type == PF_J_ABSENT)
        return 0; /* no choices, or [] (usage-only chunk) */
    if (api == PF_API_COMPLETIONS) {
        out->text_len = fast_strlen(&f[F_C0_TEXT]);
    } else {
        size_t r = fast_strlen(&f[F_DELTA_RC]);
        if (!r)
            r = fast_strlen(&f[F_DELTA_R]);
        out->text_len = r + fast_strlen(&f[F_DELTA_CONTENT]);
    }
    out->has_text = out->text_len > 0;
    return 0;
}

void pf_resp_init(pf_resp *r, pf_api api, double st, long requested_output_len)
{
    double *itl = r->itl;
    size_t cap = r->cap_itl;
    memset(r, 0, sizeof *r);
    r->itl = itl; /* keep the allocation across reuse */
    r->cap_itl = cap;
    r->api = api;
    r->st = st;
    r->most_recent = st;
    r->last_line = st;
    r->output_len = requested_output_len;
    r->server_prompt_tokens = -1;
}

void pf_resp_free(pf_resp *r)
{
    free(r->itl);
    free(r->error);
    memset(r, 0, sizeof *r);
}

static void push_itl(pf_resp *r, double v)
{
    if (r->n_itl == r->cap_itl) {
        r->cap_itl = r->cap_itl ? r->cap_itl * 2 : 64;
        r->itl = pf_xrealloc(r->itl, r->cap_itl * sizeof *r->itl);
    }
    r->itl[r->n_itl++] = v;
}

static int fail(pf_resp *r, const char *msg)
{
    if (!r->error)
        r->error = pf_utf8_sanitize(msg); /* server text: must survive into JSON */
    return -1;
}

int pf_resp_line(pf_resp *r, pf_sse_kind kind, const char *value, size_t vlen, double t)
{
    if (r->error)
        return -1;
    r->last_line = t; /* bench_serving: latency = time of the last line read */
    if (kind != PF_SSE_DATA)
        return 0;
    r->data_lines++;
    if (vlen == 6 && memcmp(value, "[DONE]", 6) == 0) {
        r->done = true;
        return 0;
    }
    pf_chunk c;
    pf_err err;
    if (pf_chunk_parse(r->api, value, vlen, &c, &err) < 0)
        return fail(r, err.msg);
    if (c.error) {
        char *m = pf_xasprintf("server error event in stream: %s", c.message);
        fail(r, m);
        free(m);
        return -1;
    }
    if (c.id[0] && !r->id[0])
        pf_strlcpy(r->id, c.id, sizeof r->id);
    if (c.prompt_tokens > 0)
        r->server_prompt_tokens = c.prompt_tokens;
    if (r->api != PF_API_GENERATE && c.completion_tokens >= 0) {
        r->output_len = c.completion_tokens;
        r->output_from_usage = true;
    }
    if (!c.has_text)
        return 0;
    if (r->api == PF_API_GENERATE) {
        r->text_bytes = c.text_len; /* cumulative */
        r->output_len = c.completion_tokens;
        r->output_from_usage = true;
        if (r->content_events == 0) {
            r->ttft = t - r->st;
        } else {
            /* native API: split the gap evenly over the new tokens; an event
             * without new tokens leaves the clock where it was */
            long n_new = c.completion_tokens - r->last_output_len;
            if (n_new == 0)
                return 0;
            double gap = t - r->most_recent;
            for (long k = 0; k < n_new; k++)
                push_itl(r, gap / (double)n_new);
        }
        r->content_events++;
        r->most_recent = t;
        r->last_output_len = c.completion_tokens;
        return 0;
    }
    r->text_bytes += c.text_len;
    if (r->content_events == 0)
        r->ttft = t - r->st;
    else
        push_itl(r, t - r->most_recent);
    r->content_events++;
    r->most_recent = t;
    return 0;
}

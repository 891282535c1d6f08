/* The SSE line splitter (bench/sse.c) fed in random-sized pieces, and each
 * data line through the chunk scanner (bench/jscan.c via pf_chunk_parse)
 * with jansson as the differential oracle: where both accept a chunk they
 * must agree on what it says (text, token counts, error, id).  Then the
 * whole stream through pf_resp_line, as the client does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/request.h"
#include "bench/sse.h"

typedef struct ctx {
    pf_api api;
    pf_resp resp;
    double t;
} ctx;

static void differential(pf_api api, const char *v, size_t n)
{
    pf_chunk a, b;
    pf_err ea, eb;
    int ra = pf_chunk_parse(api, v, n, &a, &ea);
    int rb = pf_chunk_parse_jansson(api, v, n, &b, &eb);
    if (ra != rb) {
        /* The scanner may accept bytes jansson refuses (it reads only the
         * fields it needs); it must never refuse a chunk jansson accepts. */
        if (ra == 0)
            return;
        fprintf(stderr, "the scanner refused a chunk jansson accepts: %s\n", ea.msg);
        abort();
    }
    if (ra != 0)
        return;
    if (a.error != b.error || a.has_text != b.has_text || a.text_len != b.text_len ||
        a.completion_tokens != b.completion_tokens || a.prompt_tokens != b.prompt_tokens ||
        strcmp(a.id, b.id) != 0) {
        fprintf(stderr, "scanner and jansson disagree on %.*s:\n  scan: err=%d text=%d/%zu ct=%ld pt=%ld id=%s\n  json: err=%d text=%d/%zu ct=%ld pt=%ld id=%s\n",
                (int)(n < 300 ? n : 300), v, a.error, a.has_text, a.text_len, a.completion_tokens, a.prompt_tokens, a.id,
                b.error, b.has_text, b.text_len, b.completion_tokens, b.prompt_tokens, b.id);
        abort();
    }
}

static int on_line(void *ud, pf_sse_kind kind, const char *value, size_t vlen, const char *line, size_t llen)
{
    (void)line, (void)llen;
    ctx *c = ud;
    if (kind == PF_SSE_DATA && !(vlen == 6 && memcmp(value, "[DONE]", 6) == 0))
        differential(c->api, value, vlen);
    c->t += 0.001;
    pf_resp_line(&c->resp, kind, value, vlen, c->t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    ctx c;
    memset(&c, 0, sizeof c);
    c.api = (pf_api)(data[0] % 3);
    size_t piece = (size_t)data[1] + 1;
    data += 2, size -= 2;
    pf_resp_init(&c.resp, c.api, 0.0, 16);
    pf_sse p;
    pf_sse_init(&p, 1 << 16);
    for (size_t off = 0; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        /* each piece in its own allocation: ASan sees any read past it */
        char *buf = malloc(n);
        memcpy(buf, data + off, n);
        int rc = pf_sse_feed(&p, buf, n, on_line, &c);
        free(buf);
        if (rc != 0)
            break;
    }
    pf_sse_finish(&p, on_line, &c);
    pf_sse_free(&p);
    pf_resp_free(&c.resp);
    return 0;
}

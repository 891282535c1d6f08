/* sse.h -- incremental parser for text/event-stream bodies.
 *
 * Bytes arrive in arbitrary pieces (one HTTP chunk may hold half a line or
 * ten events); the parser splits them into lines (LF, CRLF or lone CR, per
 * the WHATWG EventSource grammar) and reports every non-empty line as it
 * completes.  It deliberately works per line, not per blank-line-terminated
 * event: SGLang's bench_serving timestamps each non-empty line, and OpenAI-
 * compatible servers put one JSON object on each `data:` line.
 *
 * Complete lines inside one feed are reported in place (no copy); only a line
 * split across feeds is buffered.  A line longer than max_line is an error:
 * the stream is then unusable and the caller fails the request.
 */
#ifndef PF_BENCH_SSE_H
#define PF_BENCH_SSE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum pf_sse_kind {
    PF_SSE_DATA,    /* "data:" field; value has the one optional space removed */
    PF_SSE_COMMENT, /* ":" comment (keep-alive pings) */
    PF_SSE_FIELD,   /* event:, id:, retry: or an unknown field name */
} pf_sse_kind;

/* Return 0 to continue, non-zero to stop feeding (the value is returned by
 * pf_sse_feed). `line` is the whole line, value the field value. */
typedef int (*pf_sse_line_fn)(void *ud, pf_sse_kind kind, const char *value, size_t vlen,
                              const char *line, size_t llen);

typedef struct pf_sse {
    char *buf;          /* partial line carried between feeds */
    size_t len, cap;
    size_t max_line;
    bool after_cr;      /* last byte seen was CR: a following LF is not a new line */
    bool started;       /* past the optional UTF-8 BOM */
    bool overflow;
    size_t lines;       /* non-empty lines reported */
} pf_sse;

void pf_sse_init(pf_sse *p, size_t max_line); /* 0: 16 MiB */
void pf_sse_reset(pf_sse *p);                 /* keep the buffer, forget the state */
void pf_sse_free(pf_sse *p);
/* Feed bytes.  Returns 0, the callback's non-zero value, or -1 when a line
 * exceeded max_line (p->overflow is then set and further feeds return -1). */
int pf_sse_feed(pf_sse *p, const char *data, size_t len, pf_sse_line_fn fn, void *ud);
/* At end of stream: a final line without terminator is reported (the spec
 * drops an unterminated event; we report the line so the caller can decide). */
int pf_sse_finish(pf_sse *p, pf_sse_line_fn fn, void *ud);
/* Bytes of an unterminated line currently buffered. */
size_t pf_sse_pending(const pf_sse *p);

#endif

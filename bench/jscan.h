/* jscan.h -- a validating, allocation-free JSON scanner that picks out the
 * values at a few paths.
 *
 * Every streamed event is one small JSON object of which the benchmark needs
 * four or five values.  Building a jansson tree per event cost ~2.5 us and
 * was 85% of the client's CPU at high event rates; this scanner checks the
 * whole text against RFC 8259 (UTF-8 included) and records the wanted values
 * in one pass.  It is deliberately at least as strict as jansson: whatever it
 * cannot handle plainly (escaped keys, \u0000, nesting deeper than 64, a
 * wanted value given twice) it reports as "fall back", and the caller parses
 * with jansson, which also words every error message.
 *
 * Paths: object keys joined by '.', array elements as [i]:
 * "choices[0].delta.content", "usage.completion_tokens", "id".
 */
#ifndef PF_BENCH_JSCAN_H
#define PF_BENCH_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum pf_jtype {
    PF_J_ABSENT = 0,
    PF_J_STRING,
    PF_J_NUMBER,
    PF_J_TRUE,
    PF_J_FALSE,
    PF_J_NULL,
    PF_J_OBJECT,
    PF_J_ARRAY,
} pf_jtype;

typedef struct pf_jfield {
    const char *path;  /* in: what to find */
    pf_jtype type;     /* out */
    const char *raw;   /* out: string contents without quotes (escapes kept), number text */
    size_t raw_len;
    size_t len;        /* out: decoded UTF-8 bytes of a string; elements of an array */
} pf_jfield;

typedef enum pf_jscan_rc {
    PF_JSCAN_OK = 0,       /* valid JSON; fields filled */
    PF_JSCAN_FALLBACK = 1, /* not decided here: parse with jansson */
} pf_jscan_rc;

/* Scan text[0..n) as one JSON value.  Fields not present stay PF_J_ABSENT. */
pf_jscan_rc pf_jscan(const char *text, size_t n, pf_jfield *fields, size_t nfields);

/* A number field as an integer (truncating a fraction, as (long)double does);
 * -1 when absent, not a number, or outside [0, PF_TOKENS_MAX]. */
/* Token counts above this are not token counts (no model has a context of
 * four billion tokens); they are treated as absent, so that a hostile or
 * broken server cannot overflow the run's sums (1e9 requests x 2^32 still
 * fits in int64). */
#define PF_TOKENS_MAX (1L << 32)
long pf_jfield_long(const pf_jfield *f);

#endif

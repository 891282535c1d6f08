/* dataset.h -- the prompts a benchmark sends, with their lengths.
 *
 * Random (bench_serving's --dataset-name random lengths), ShareGPT JSON and
 * JSONL files of prompts.  There is no tokenizer in this C program, so:
 *  - random prompts are token ids where the API accepts them (/generate
 *    input_ids, /v1/completions prompt as an id array): their prompt_len is
 *    exact;
 *  - random text prompts (chat) are L common English words, each one token in
 *    the GPT-2 / Llama-3 / Qwen2 BPE vocabularies, so about L tokens; the
 *    declared prompt_len is L (bench_serving also records the requested L);
 *  - ShareGPT and JSONL text without a declared length get an estimate,
 *    ceil(code points / 4), marked inexact.
 * The server's own count (usage.prompt_tokens) is recorded next to it for
 * every request.  See docs/bench.md.
 */
#ifndef PF_BENCH_DATASET_H
#define PF_BENCH_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/rng.h"
#include "core/util.h"

typedef struct pf_prompt {
    char *text;            /* text prompt, NULL when ids are used */
    int32_t *ids;          /* token-id prompt */
    size_t n_ids;
    long prompt_len;       /* tokens, exact or estimated */
    bool prompt_len_exact;
    long output_len;       /* max tokens to ask for */
} pf_prompt;

typedef struct pf_dataset {
    pf_prompt *rows;
    size_t n;
    char *desc;            /* "random ids 1024/1024 r=0.00", "sharegpt FILE", ... */
    size_t skipped;        /* rows dropped by filters */
} pf_dataset;

void pf_dataset_free(pf_dataset *d);

/* bench_serving's compute_random_lens: U[max(int(L*r), 1), L], all 0 when L <= 0. */
void pf_random_lens(long len, double range_ratio, size_t n, pf_rng *rng, long *out);
/* ceil(UTF-8 code points / 4), at least 1 for non-empty text. */
long pf_estimate_tokens(const char *text);

typedef struct pf_random_opts {
    long input_len, output_len;   /* --random-input-len / --random-output-len */
    double range_ratio;           /* --random-range-ratio, in [0, 1] */
    bool ids;                     /* token-id prompts (else word text) */
    int32_t id_lo, id_hi;         /* ids drawn uniformly from [id_lo, id_hi) */
} pf_random_opts;

int pf_dataset_random(const pf_random_opts *o, size_t n, pf_rng *rng, pf_dataset *out, pf_err *err);

/* ShareGPT JSON (a list of {"conversations": [{"from","value"}, ...]}): first
 * two turns, shuffled with rng, rows with prompt or output under 2 tokens
 * dropped; output_len = fixed_output_len when > 0, else the estimate of the
 * reply.  At most n rows. */
int pf_dataset_sharegpt(const char *path, size_t n, long fixed_output_len, pf_rng *rng,
                        pf_dataset *out, pf_err *err);

/* JSONL: one object per line with "prompt" (string or token-id array) or
 * "input_ids", optional "output_len" (or "max_tokens") and "prompt_len".
 * Rows without an output length get default_output_len.  First n rows, in
 * order.  Errors name the file and line. */
int pf_dataset_jsonl(const char *path, size_t n, long default_output_len, pf_dataset *out,
                     pf_err *err);

#endif

/* dataset.c -- random, ShareGPT and JSONL prompt sets (see dataset.h). */
#include "bench/dataset.h"
#include "core/file.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frequent English words; with a leading space each is a single token in
 * the GPT-2, Llama-3 and Qwen2 byte-level BPE vocabularies (the reason for
 * choosing them: text of L words is about L tokens). */
static const char *const WORDS[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on",
    "be", "at", "by", "this", "had", "not", "are", "but", "from", "or", "have", "an",
    "they", "which", "one", "you", "were", "her", "all", "she", "there", "would",
    "their", "we", "him", "been", "has", "when", "who", "will", "more", "no", "if",
    "out", "so", "said", "what", "up", "its", "about", "into", "than", "them", "can",
    "only", "other", "new", "some", "could", "time", "these", "two", "may", "then",
    "do", "first", "any", "my", "now", "such", "like", "our", "over", "man", "me",
    "even", "most", "made", "after", "also", "did", "many", "before", "must", "through",
    "back", "years", "where", "much", "your", "way", "well", "down", "should", "because",
    "each", "just", "those", "people", "how", "too", "little", "state", "good", "very",
    "make", "world", "still", "own", "see", "men", "work", "long", "get", "here",
    "between", "both", "life", "being", "under", "never", "day", "same", "another",
    "know", "while", "last", "might", "us", "great", "old", "year", "off", "come",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])
/* The largest dataset file read (ShareGPT_V3_unfiltered_cleaned_split.json is
 * 642 MB); anything bigger is refused with a message, never read unbounded. */
#define PF_DATASET_MAX_BYTES ((size_t)2 << 30)

void pf_dataset_free(pf_dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->rows[i].text);
        free(d->rows[i].ids);
    }
    free(d->rows);
    free(d->desc);
    memset(d, 0, sizeof *d);
}

void pf_random_lens(long len, double range_ratio, size_t n, pf_rng *rng, long *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    if (len <= 0)
        return;
    long lo = (long)((double)len * range_ratio); /* int() truncates */
    if (lo < 1)
        lo = 1;
    if (lo > len)
        lo = len;
    for (size_t i = 0; i < n; i++)
        out[i] = (long)pf_rng_range(rng, lo, len);
}

long pf_estimate_tokens(const char *text)
{
    size_t cps = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            cps++;
    if (cps == 0)
        return 0;
    return (long)((cps + 3) / 4);
}

static char *word_text(long n, pf_rng *rng)
{
    size_t cap = (size_t)n * 8 + 1, len = 0;
    char *s = pf_xmalloc(cap);
    for (long i = 0; i < n; i++) {
        const char *w = WORDS[pf_rng_range(rng, 0, (int64_t)NWORDS - 1)];
        size_t wl = strlen(w);
        if (len + wl + 2 > cap) {
            cap *= 2;
            s = pf_xrealloc(s, cap);
        }
        if (i)
            s[len++] = ' ';
        memcpy(s + len, w, wl);
        len += wl;
    }
    s[len] = '\0';
    return s;
}

int pf_dataset_random(const pf_random_opts *o, size_t n, pf_rng *rng, pf_dataset *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    if (o->range_ratio < 0 || o->range_ratio > 1)
        return pf_err_set(err, "--random-range-ratio %g is outside [0, 1]", o->range_ratio);
    if (o->ids && !(o->id_lo >= 0 && o->id_lo < o->id_hi))
        return pf_err_set(err, "token id range [%d, %d) is empty", (int)o->id_lo, (int)o->id_hi);
    long *in = pf_xcalloc(n + 1, sizeof *in), *outl = pf_xcalloc(n + 1, sizeof *outl);
    pf_random_lens(o->input_len, o->range_ratio, n, rng, in);
    pf_random_lens(o->output_len, o->range_ratio, n, rng, outl);
    out->rows = pf_xcalloc(n + 1, sizeof *out->rows);
    for (size_t i = 0; i < n; i++) {
        pf_prompt *p = &out->rows[out->n];
        if (in[i] <= 0)
            continue; /* bench_serving skips empty prompts */
        p->prompt_len = in[i];
        p->output_len = outl[i];
        if (o->ids) {
            p->ids = pf_xmalloc((size_t)in[i] * sizeof *p->ids);
            p->n_ids = (size_t)in[i];
            for (long k = 0; k < in[i]; k++)
                p->ids[k] = (int32_t)pf_rng_range(rng, o->id_lo, (int64_t)o->id_hi - 1);
            p->prompt_len_exact = true;
        } else {
            p->text = word_text(in[i], rng);
            p->prompt_len_exact = false;
        }
        out->n++;
    }
    out->skipped = n - out->n;
    out->desc = pf_xasprintf("random %s input %ld output %ld range-ratio %.2f",
                             o->ids ? "token-ids" : "text", o->input_len, o->output_len,
                             o->range_ratio);
    free(in);
    free(outl);
    return 0;
}

static const char *turn_text(json_t *turn)
{
    json_t *v = json_object_get(turn, "value");
    if (!json_is_string(v))
        v = json_object_get(turn, "content");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int pf_dataset_sharegpt(const char *path, size_t n, long fixed_output_len, pf_rng *rng,
                        pf_dataset *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    /* A regular file only, and bounded: /dev/zero or a FIFO must not hang
     * or eat memory (the real ShareGPT_V3 file is 642 MB). */
    pf_err rerr;
    json_t *root = pf_file_load_json(path, PF_DATASET_MAX_BYTES, 0, &rerr);
    if (!root)
        return pf_err_set(err, "ShareGPT file: %s", rerr.msg);
    if (!json_is_array(root)) {
        json_decref(root);
        return pf_err_set(err, "ShareGPT file %s: expected a JSON list of conversations", path);
    }
    size_t total = json_array_size(root);
    size_t *order = pf_xmalloc((total + 1) * sizeof *order);
    for (size_t i = 0; i < total; i++)
        order[i] = i;
    for (size_t i = total; i > 1; i--) { /* Fisher-Yates, like random.shuffle */
        size_t j = (size_t)pf_rng_range(rng, 0, (int64_t)i - 1);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    out->rows = pf_xcalloc(n + 1, sizeof *out->rows);
    size_t usable = 0;
    for (size_t k = 0; k < total && out->n < n; k++) {
        json_t *conv = json_object_get(json_array_get(root, order[k]), "conversations");
        if (!json_is_array(conv) || json_array_size(conv) < 2) {
            out->skipped++;
            continue;
        }
        const char *prompt = turn_text(json_array_get(conv, 0));
        const char *reply = turn_text(json_array_get(conv, 1));
        if (!prompt || !reply) {
            out->skipped++;
            continue;
        }
        usable++;
        long plen = pf_estimate_tokens(prompt);
        long olen = fixed_output_len > 0 ? fixed_output_len : pf_estimate_tokens(reply);
        if (plen < 2 || olen < 2) { /* bench_serving drops these */
            out->skipped++;
            continue;
        }
        pf_prompt *p = &out->rows[out->n++];
        p->text = pf_xstrdup(prompt);
        p->prompt_len = plen;
        p->prompt_len_exact = false;
        p->output_len = olen;
    }
    free(order);
    json_decref(root);
    if (out->n == 0) {
        free(out->rows);
        out->rows = NULL;
        if (usable == 0)
            return pf_err_set(err, "ShareGPT file %s: no usable conversation (need entries with "
                              "\"conversations\" holding two turns with \"value\" strings; none of "
                              "the %zu entries had them)", path, total);
        /* Some had two turns, but every one of them was too short: say that,
         * not "no usable conversation ... 1 of 3 had them". */
        return pf_err_set(err, "ShareGPT file %s: no usable conversation: %zu of %zu entries have two "
                          "turns, but every prompt or reply is shorter than 2 tokens (bench_serving "
                          "drops those)", path, usable, total);
    }
    out->desc = pf_xasprintf("sharegpt %s", path);
    return 0;
}

static int parse_ids(json_t *arr, pf_prompt *p, const char *path, size_t line, pf_err *err)
{
    size_t m = json_array_size(arr);
    if (m == 0)
        return pf_err_set(err, "%s:%zu: empty token-id prompt", path, line);
    p->ids = pf_xmalloc(m * sizeof *p->ids);
    for (size_t i = 0; i < m; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return pf_err_set(err, "%s:%zu: token id #%zu is not a non-negative integer", path,
                              line, i);
        p->ids[i] = (int32_t)json_integer_value(v);
    }
    p->n_ids = m;
    p->prompt_len = (long)m;
    p->prompt_len_exact = true;
    return 0;
}

static int jsonl_row(json_t *o, pf_prompt *p, long default_output_len, const char *path,
                     size_t line, pf_err *err)
{
    if (!json_is_object(o))
        return pf_err_set(err, "%s:%zu: line is not a JSON object", path, line);
    json_t *pr = json_object_get(o, "prompt");
    json_t *ids = json_object_get(o, "input_ids");
    if (json_is_string(pr)) {
        if (json_string_length(pr) == 0)
            return pf_err_set(err, "%s:%zu: empty \"prompt\"", path, line);
        p->text = pf_xstrdup(json_string_value(pr));
        p->prompt_len = pf_estimate_tokens(p->text);
    } else if (json_is_array(pr) || json_is_array(ids)) {
        if (parse_ids(json_is_array(pr) ? pr : ids, p, path, line, err) < 0)
            return -1;
    } else {
        return pf_err_set(err, "%s:%zu: no \"prompt\" string or token-id array (nor \"input_ids\")",
                          path, line);
    }
    json_t *pl = json_object_get(o, "prompt_len");
    if (pl) {
        if (!json_is_integer(pl) || json_integer_value(pl) < 1)
            return pf_err_set(err, "%s:%zu: \"prompt_len\" must be a positive integer", path, line);
        p->prompt_len = (long)json_integer_value(pl);
        p->prompt_len_exact = true;
    }
    json_t *ol = json_object_get(o, "output_len");
    if (!ol)
        ol = json_object_get(o, "max_tokens");
    if (ol) {
        if (!json_is_integer(ol) || json_integer_value(ol) < 1)
            return pf_err_set(err, "%s:%zu: \"output_len\" must be a positive integer", path, line);
        p->output_len = (long)json_integer_value(ol);
    } else {
        p->output_len = default_output_len;
    }
    return 0;
}

int pf_dataset_jsonl(const char *path, size_t n, long default_output_len, pf_dataset *out,
                     pf_err *err)
{
    memset(out, 0, sizeof *out);
    /* A regular file only, read whole with a cap: a FIFO, /dev/zero or a
     * file with no newline cannot hang us or grow memory without bound. */
    size_t flen = 0;
    pf_err rerr;
    char *text = pf_file_read(path, PF_DATASET_MAX_BYTES, &flen, &rerr);
    if (!text)
        return pf_err_set(err, "JSONL dataset: %s", rerr.msg);
    out->rows = pf_xcalloc(n + 1, sizeof *out->rows);
    size_t lineno = 0, pos = 0;
    int rc = 0;
    while (out->n < n && pos < flen) {
        char *line = text + pos;
        char *nl = memchr(line, '\n', flen - pos);
        size_t got = nl ? (size_t)(nl - line) + 1 : flen - pos;
        pos += got;
        lineno++;
        size_t len = got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
        if (len == 0)
            continue;
        json_error_t je;
        json_t *o = json_loadb(line, len, 0, &je);
        if (!o) {
            rc = pf_err_set(err, "%s:%zu: malformed JSON at column %d: %s", path, lineno,
                            je.column, je.text);
            break;
        }
        pf_prompt *p = &out->rows[out->n];
        rc = jsonl_row(o, p, default_output_len, path, lineno, err);
        json_decref(o);
        if (rc < 0) {
            free(p->text);
            free(p->ids);
            memset(p, 0, sizeof *p);
            break;
        }
        out->n++;
    }
    free(text);
    if (rc == 0 && out->n == 0)
        rc = pf_err_set(err, "JSONL dataset %s has no prompts", path);
    if (rc < 0) {
        pf_dataset_free(out);
        return -1;
    }
    out->desc = pf_xasprintf("jsonl %s", path);
    return 0;
}

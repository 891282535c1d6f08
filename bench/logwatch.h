/* logwatch.h -- classify a launched server's log lines against known
 * signatures: the fatal errors a preflight check would have predicted, hints
 * that explain a hang, and the lines that say the server is ready.
 *
 * Two layers:
 *  - pf_logwatch_match() is a pure function of one line: it walks a static
 *    table (first matching row wins) and returns the signature or NULL.
 *    Matching is ASCII case-insensitive substring search; a row matches when
 *    every one of its `all` needles occurs and none of its `unless` needles
 *    does.  Specific rows come before general ones.
 *  - pf_logwatch is the incremental front end: feed it arbitrary chunks of
 *    the log (partial lines, CR-redrawn progress bars, NUL bytes, megabyte
 *    lines) and it splits them into lines, sanitises them, matches each, and
 *    remembers the first occurrence of every signature plus the last N lines
 *    for error reports.  It never reads files or clocks: the caller feeds
 *    bytes and says what time it is, so tests drive it with recorded logs.
 *
 * Levels: FATAL means the server cannot come up (stop it and report the
 * check id); HINT means the line is worth showing if the server later hangs
 * or dies, but is not a reason to stop (warnings, retries); READY marks a
 * server's own "I am ready" line.
 */
#ifndef PF_LOGWATCH_H
#define PF_LOGWATCH_H

#include <stdbool.h>
#include <stddef.h>

typedef enum pf_logwatch_level {
    PF_LOGWATCH_READY = 1,
    PF_LOGWATCH_HINT = 2,
    PF_LOGWATCH_FATAL = 3,
} pf_logwatch_level;

typedef struct pf_logwatch_sig {
    const char *name;          /* stable signature name, "cuda.no_kernel_image" */
    const char *check_id;      /* preflight check that predicts it; NULL for READY rows */
    pf_logwatch_level level;
    const char *what;          /* one sentence: what the line means */
    const char *remedy;        /* what to do; NULL for READY rows */
} pf_logwatch_sig;

/* Longest line kept whole; a longer line is matched in overlapping segments
 * so a signature anywhere in it is still found. */
#define PF_LOGWATCH_LINE_MAX 8192
/* Stored copies (hits, tail) are cut to this many bytes for display. */
#define PF_LOGWATCH_SHOW_MAX 1024

const char *pf_logwatch_level_name(pf_logwatch_level lv); /* "fatal", "hint", "ready" */

/* Pure: the signature one line (without its newline) matches, or NULL. */
const pf_logwatch_sig *pf_logwatch_match(const char *line);

/* The distinct signatures (one entry per name, table order), for docs and
 * tests.  *count gets the number of entries. */
const pf_logwatch_sig *const *pf_logwatch_signatures(size_t *count);
/* The matching rows' signatures, for the consistency test. */
size_t pf_logwatch_row_count(void);
const pf_logwatch_sig *pf_logwatch_row_sig(size_t i);

/* --- incremental watcher --- */

typedef struct pf_logwatch pf_logwatch;

typedef struct pf_logwatch_hit {
    const pf_logwatch_sig *sig;
    char line[PF_LOGWATCH_SHOW_MAX]; /* first matching line, sanitised, maybe cut */
    unsigned long line_no;           /* 1-based line number of that first match */
    double t;                        /* caller's time when it was fed */
    unsigned long count;             /* how many lines matched this signature */
} pf_logwatch_hit;

/* keep_lines: how many recent lines to keep for reports (0 means 20). */
pf_logwatch *pf_logwatch_new(size_t keep_lines);
void pf_logwatch_free(pf_logwatch *w);

/* Feed a chunk read at time t (any clock the caller likes; it is only
 * stored).  Returns the number of FATAL hits that are new with this chunk
 * (first occurrences of a fatal signature), so "did it just break?" is one
 * comparison. */
int pf_logwatch_feed(pf_logwatch *w, const char *buf, size_t len, double t);
/* End of input: a trailing line without a newline is matched too. */
int pf_logwatch_finish(pf_logwatch *w, double t);

/* Hits in order of first appearance (one per signature). */
size_t pf_logwatch_hit_count(const pf_logwatch *w);
const pf_logwatch_hit *pf_logwatch_hit_at(const pf_logwatch *w, size_t i);
/* First hit of the given level, or NULL. */
const pf_logwatch_hit *pf_logwatch_first(const pf_logwatch *w, pf_logwatch_level lv);

/* Complete lines seen so far (a CR-terminated progress redraw counts). */
unsigned long pf_logwatch_line_count(const pf_logwatch *w);
/* The most recent non-empty line, "" before any. */
const char *pf_logwatch_last_line(const pf_logwatch *w);
/* Copy pointers to the last lines, oldest first, into lines[max]; returns the
 * number copied.  The strings belong to the watcher and stay valid until the
 * next feed. */
size_t pf_logwatch_tail(const pf_logwatch *w, const char **lines, size_t max);
/* Bytes fed in total. */
unsigned long long pf_logwatch_bytes(const pf_logwatch *w);

#endif

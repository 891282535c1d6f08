/* util.h -- small helpers every module uses: errors, time, files, strings.
 *
 * Errors: a function that can fail takes a `pf_err *` as its last argument,
 * returns -1 (or NULL) and writes one human sentence naming the file, tool or
 * value at fault.  Callers decide whether that is fatal; nothing here prints.
 */
#ifndef PF_UTIL_H
#define PF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pf_err {
    char msg[512];
} pf_err;

/* Format into err (if err is non-NULL).  Always returns -1 so that
 * `return pf_err_set(err, ...)` reads naturally. */
int pf_err_set(pf_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like pf_err_set, then appends ": strerror(errno_value)". */
int pf_err_errno(pf_err *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Monotonic seconds (CLOCK_MONOTONIC); only differences mean anything. */
double pf_now(void);
/* Wall clock as "2026-11-24T10:11:12.345Z" into buf (>= 32 bytes). */
void pf_wall_iso8601(char *buf, size_t len);

/* Read a whole file (up to max bytes; more is an error) into a NUL-terminated
 * heap buffer.  *len (if non-NULL) gets the byte count.  Works on /proc and
 * /sys files whose stat size is 0.  Same as pf_file_read (core/file.h):
 * never blocks on a FIFO, refuses anything but a regular file. */
char *pf_read_file(const char *path, size_t max, size_t *len, pf_err *err);
/* First line of a small file, trailing whitespace stripped; NULL if unreadable. */
char *pf_read_line(const char *path);

/* Allocation that never returns NULL: out of memory aborts with a message,
 * since no check can say anything useful without memory. */
void *pf_xmalloc(size_t n);
void *pf_xcalloc(size_t n, size_t size);
void *pf_xrealloc(void *p, size_t n);
char *pf_xstrdup(const char *s);
char *pf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *pf_xvasprintf(const char *fmt, va_list ap);

/* strlcpy semantics: always terminates, returns strlen(src). */
size_t pf_strlcpy(char *dst, const char *src, size_t size);
bool pf_str_startswith(const char *s, const char *prefix);
bool pf_str_endswith(const char *s, const char *suffix);
/* Strip leading/trailing ASCII whitespace in place; returns s. */
char *pf_str_trim(char *s);

/* Valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF)? */
bool pf_utf8_valid(const char *s, size_t len);
/* A heap copy of s in which every byte that is not part of valid UTF-8 is
 * written as the four characters \xNN, so that text from outside (a server's
 * error, a file name, a log line) survives into JSON, which jansson would
 * otherwise refuse (json_string returns NULL and the field silently goes). */
char *pf_utf8_sanitize(const char *s);
/* The value of one hex digit (0-9, a-f, A-F), -1 for any other byte. */
int pf_hexval(char c);

/* A growable vector of owned strings. */
typedef struct pf_strv {
    char **v;
    size_t n, cap;
} pf_strv;
void pf_strv_push(pf_strv *sv, const char *s);          /* copies s */
void pf_strv_push_owned(pf_strv *sv, char *s);           /* takes s */
bool pf_strv_contains(const pf_strv *sv, const char *s);
void pf_strv_free(pf_strv *sv);

/* Join path parts with exactly one '/' between them; heap string. */
char *pf_path_join(const char *a, const char *b);
bool pf_is_dir(const char *path);
bool pf_is_file(const char *path);
/* Resolve an executable name through $PATH (or accept a path containing
 * '/'); heap string or NULL. */
char *pf_which(const char *name);

#endif

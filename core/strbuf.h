/* strbuf.h -- a growable string with an optional cap, for summaries that
 * list things (devices, libraries, interfaces, nodes).  With many nodes a
 * list can be long; a summary must then say how much it left out, never cut
 * a name in half or drop the tail silently.
 *
 *     pf_strbuf b;
 *     pf_strbuf_init(&b, 200);              // cap 200 bytes; 0: no cap
 *     for (i = 0; i < n; i++)
 *         pf_strbuf_item(&b, ", ", name[i]); // whole items only
 *     pf_check_set(chk, PF_FAIL, "%s", pf_strbuf_str(&b));
 *     pf_strbuf_free(&b);
 *
 * With a cap, an item that does not fit is not written; the buffer counts
 * it, and pf_strbuf_str ends the text with " … (N more)" (the marker may
 * go past the cap; it is what says the cap was hit).  Plain appends
 * (append/appendf) that do not fit are cut at the cap and marked the same
 * way, counted as one.
 *
 * Ownership: the buffer owns its memory; pf_strbuf_str's pointer is valid
 * until the next call on the buffer; pf_strbuf_take hands the string over.
 * Allocation failure aborts (pf_xrealloc), as everywhere here. */
#ifndef PF_STRBUF_H
#define PF_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A value type (like pf_strv): callers hold it by value and use only the
 * functions below; the fields are not part of the interface. */
typedef struct pf_strbuf {
    char *s;          /* NUL-terminated; NULL until something is written */
    size_t len;       /* bytes in s, excluding the NUL and any marker */
    size_t alloc;
    size_t cap;       /* most bytes of content; 0: unlimited */
    size_t items;     /* items written with pf_strbuf_item */
    size_t dropped;   /* items (or cut appends) left out because of cap */
    bool marked;      /* the marker is appended after len */
} pf_strbuf;

void pf_strbuf_init(pf_strbuf *b, size_t cap);
/* Append text (cut at the cap, then marked). */
void pf_strbuf_append(pf_strbuf *b, const char *text);
void pf_strbuf_appendf(pf_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pf_strbuf_vappendf(pf_strbuf *b, const char *fmt, va_list ap);
/* Append one list item, preceded by sep unless it is the first item: all
 * of it (sep included) if it fits under the cap, else nothing and it is
 * counted in "(N more)".  Once one item is dropped, later ones are too, so
 * the list never skips one and shows a later one. */
void pf_strbuf_item(pf_strbuf *b, const char *sep, const char *item);
void pf_strbuf_itemf(pf_strbuf *b, const char *sep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Count one more item as left out, without formatting it (a caller that
 * knows it already stopped). */
void pf_strbuf_drop(pf_strbuf *b, size_t n);
/* The text, with " … (N more)" when anything was left out; never NULL. */
const char *pf_strbuf_str(pf_strbuf *b);
size_t pf_strbuf_dropped(const pf_strbuf *b);
/* Bytes of text so far (without the marker). */
size_t pf_strbuf_len(const pf_strbuf *b);
/* The text as a heap string the caller frees; the buffer is left empty. */
char *pf_strbuf_take(pf_strbuf *b);
void pf_strbuf_free(pf_strbuf *b);

#endif

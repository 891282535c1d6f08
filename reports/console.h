/* console.h -- the run record as a compact table for a terminal or a log. */
#ifndef PF_CONSOLE_H
#define PF_CONSOLE_H

#include <stdbool.h>
#include <stdio.h>

#include "core/record.h"

typedef struct pf_console_opts {
    int verbosity; /* -1: only problems and the total; 0: every check; 1: plus evidence */
    bool color;    /* ANSI colours (callers decide: TTY and no NO_COLOR) */
    bool strict;   /* affects the exit code printed in the total line */
} pf_console_opts;

void pf_console_render(FILE *f, const pf_run *run, const pf_console_opts *o);

/* Terminal safety.  Text from outside -- file names, server messages and log
 * lines, node names, NCCL lines -- can hold ESC sequences that recolour,
 * retitle or rewrite a terminal, or a newline that forges a line of our
 * output.  Everything preflight prints from outside data goes through these:
 * C0 controls (tab and, in pf_console_escape_nl, newline excepted), DEL, C1
 * controls (raw or UTF-8 encoded) and bytes that are not valid UTF-8 are
 * written as \xNN; ordinary UTF-8 (accents, CJK) is kept. */
void pf_console_put(FILE *f, const char *s, size_t n);
/* A heap copy of s escaped as above (newlines too). */
char *pf_console_escape(const char *s);

#endif

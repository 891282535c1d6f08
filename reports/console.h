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

#endif

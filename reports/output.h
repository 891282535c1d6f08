/* output.h -- what every subcommand does at the end: render the record to
 * the console, write the JSON record, and turn it into the exit code.
 *
 * Subcommands parse their own flags but share these output flags:
 *   --json FILE (or - for stdout)   -q / --quiet   -v / --verbose
 *   --strict (warnings fail)        --no-color (NO_COLOR is honoured too)
 */
#ifndef PF_OUTPUT_H
#define PF_OUTPUT_H

#include <stdbool.h>

#include "core/record.h"

typedef struct pf_output_opts {
    const char *json_path; /* NULL: no JSON file */
    int verbosity;         /* -1 quiet, 0 normal, 1 verbose */
    bool strict;
    bool color;            /* decided by pf_output_opts_init: TTY and no NO_COLOR */
} pf_output_opts;

void pf_output_opts_init(pf_output_opts *o);
/* If argv[*i] is one of the shared output flags, consume it (and its value)
 * and return 1; return 0 if it is not one; -1 on a missing value (err set). */
int pf_output_parse_flag(pf_output_opts *o, int argc, char **argv, int *i, pf_err *err);
/* Usage lines for the shared flags, for --help texts. */
const char *pf_output_flags_help(void);
/* Finish the run, print the console table (to stdout, or stderr when the
 * JSON goes to stdout), write JSON, return the exit code by the contract.
 * A JSON write failure marks the run incomplete (exit 3) but still prints. */
int pf_output_finish(pf_run *run, const pf_output_opts *o);

#endif

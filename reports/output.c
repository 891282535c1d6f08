/* output.c -- see output.h. */
#include "reports/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/console.h"

void pf_output_opts_init(pf_output_opts *o)
{
    memset(o, 0, sizeof *o);
    const char *nc = getenv("NO_COLOR");
    o->color = isatty(STDOUT_FILENO) && !(nc && *nc);
}

int pf_output_parse_flag(pf_output_opts *o, int argc, char **argv, int *i, pf_err *err)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        if (*i + 1 >= argc)
            return pf_err_set(err, "--json needs a file name (or - for stdout)");
        o->json_path = argv[++*i];
        return 1;
    }
    if (strncmp(a, "--json=", 7) == 0) {
        o->json_path = a + 7;
        if (!*o->json_path)
            return pf_err_set(err, "--json needs a file name (or - for stdout)");
        return 1;
    }
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
        o->verbosity = -1;
        return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        o->verbosity = 1;
        return 1;
    }
    if (strcmp(a, "--strict") == 0) {
        o->strict = true;
        return 1;
    }
    if (strcmp(a, "--no-color") == 0) {
        o->color = false;
        return 1;
    }
    return 0;
}

const char *pf_output_flags_help(void)
{
    return "  --json FILE        write the run record as JSON to FILE (- for stdout)\n"
           "  -q, --quiet        print only problems and the total\n"
           "  -v, --verbose      print evidence and remedies for every check\n"
           "  --strict           warnings fail the run (exit 1)\n"
           "  --no-color         no ANSI colours (NO_COLOR is honoured too)\n";
}

int pf_output_finish(pf_run *run, const pf_output_opts *o)
{
    pf_run_finish(run);
    bool json_to_stdout = o->json_path && strcmp(o->json_path, "-") == 0;
    pf_err err = {{0}};
    int json_rc = 0;
    if (o->json_path) {
        json_rc = pf_run_write_json(run, o->strict, o->json_path, &err);
        if (json_rc != 0)
            pf_run_set_incomplete(run, "%s", err.msg);
    }
    /* With the JSON on stdout the table goes to stderr so pipes stay clean. */
    FILE *f = json_to_stdout ? stderr : stdout;
    pf_console_opts co = {.verbosity = o->verbosity,
                          .color = o->color && isatty(fileno(f)),
                          .strict = o->strict};
    pf_console_render(f, run, &co);
    fflush(f);
    if (json_rc != 0) {
        fputs("preflight: ", stderr);
        pf_console_put(stderr, err.msg, strlen(err.msg)); /* names a path from the user */
        fputc('\n', stderr);
    }
    return pf_run_exit_code(run, o->strict);
}

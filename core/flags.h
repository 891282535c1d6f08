/* flags.h -- command-line flags described once, in a table that both the
 * parser and --help read, so a flag can never be parsed but undocumented,
 * documented but unparsed, or documented with a stale default.
 *
 * A command declares one table of rows over its options struct:
 *
 *     static const pf_flag T[] = {
 *         PF_FLAGS_SECTION("server:"),
 *         {PF_FLAG_STR, "--url", "URL", "base URL, e.g. http://127.0.0.1:30000",
 *          .off = offsetof(opts, url)},
 *         {PF_FLAG_SIZE, "--num-prompts", "N", "requests per level (1000)",
 *          .off = offsetof(opts, num_prompts), .lo = 1, .hi = 1e8},
 *         {PF_FLAG_FN, "--concurrency", "LIST", "closed loop: 1,8,64", .fn = set_levels},
 *     };
 *
 * and its loop offers each argv[i] to pf_flags_take (after the flags it
 * handles itself), then prints help with pf_flags_help.
 *
 * Values: a STR row stores argv's own pointer (argv outlives the options);
 * numbers are validated whole ("12x", "", "nan" are errors naming the flag).
 * No state outside the caller's options struct. */
#ifndef PF_FLAGS_H
#define PF_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/util.h"

typedef enum pf_flag_kind {
    PF_FLAG_SECTION,  /* not a flag: a heading in --help (name; "" is a blank line) */
    PF_FLAG_DOC,      /* shown in --help, parsed by the caller itself (e.g. --launch -- CMD) */
    PF_FLAG_SET,      /* no value: bool at off becomes true */
    PF_FLAG_CLEAR,    /* no value: bool at off becomes false */
    PF_FLAG_STR,      /* const char * at off */
    PF_FLAG_LONG,     /* long at off, an integer in [lo, hi] */
    PF_FLAG_SIZE,     /* size_t at off, an integer in [lo, hi] */
    PF_FLAG_DOUBLE,   /* double at off, a finite number >= lo */
    PF_FLAG_FN,       /* fn(opts, name, value, err) validates and stores */
} pf_flag_kind;

/* Store `value` (NULL for a row without metavar) into opts; 0 or -1 + err. */
typedef int (*pf_flag_fn)(void *opts, const char *name, const char *value, pf_err *err);

typedef struct pf_flag {
    pf_flag_kind kind;
    const char *name;     /* "--url" */
    const char *metavar;  /* the value in --help ("URL"); NULL: takes no value */
    const char *help;     /* '\n' starts another line; NULL: accepted but not shown (aliases) */
    size_t off;           /* offsetof(the options struct, field) */
    double lo, hi;        /* LONG, SIZE: inclusive bounds; DOUBLE: lower bound */
    pf_flag_fn fn;        /* FN */
    unsigned group;       /* 0: always accepted; else only when group & accept */
    const char *needs;    /* "--x needs <needs> (see --help)" when the value is missing;
                           * NULL: "--x needs a value" */
} pf_flag;

/* A heading row ("" for a blank line). */
#define PF_FLAGS_SECTION(title) {.kind = PF_FLAG_SECTION, .name = (title)}

enum {
    PF_FLAGS_EQ = 1u << 0,  /* also accept "--flag=value" for flags that take a value */
};

/* If argv[*i] is a row of t[0..n) in `accept` (rows with group 0 always),
 * apply it to opts, advance *i past its value and return 1; 0 when it is no
 * such flag; -1 with err naming the flag on a missing or invalid value. */
int pf_flags_take(const pf_flag *t, size_t n, unsigned accept, unsigned options, void *opts,
                  int argc, char **argv, int *i, pf_err *err);

/* The --help lines of the rows in `accept`: "  --name METAVAR", the help
 * text from column `col` (on the same line when it fits), continuation
 * lines indented to `col`. */
void pf_flags_help(FILE *f, const pf_flag *t, size_t n, unsigned accept, int col);

/* The number parsers the rows use, for FN rows that need the same messages:
 * "--x: 'v' is not an integer in [lo, hi]" / "is not a number >= lo". */
int pf_flags_long(const char *name, const char *v, long lo, long hi, long *out, pf_err *err);
int pf_flags_double(const char *name, const char *v, double lo, bool inf_ok, double *out,
                    pf_err *err);

#endif

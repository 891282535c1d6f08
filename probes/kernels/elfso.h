/* elfso.h -- the few facts about a shared library that decide which copy the
 * dynamic loader picks and which build it is: DT_NEEDED, DT_RPATH vs
 * DT_RUNPATH, DT_SONAME, the GNU build-id, and strings in .rodata.
 *
 * Reads the file with mmap and bounds-checks every offset, so a truncated or
 * corrupt library yields an error naming it, never a crash.  Only
 * little-endian ELF64 (x86_64, aarch64) is read.
 */
#ifndef PF_ELFSO_H
#define PF_ELFSO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

typedef struct pf_elfso {
    uint16_t machine;       /* e_machine: 62 x86_64, 183 aarch64 */
    char build_id[65];      /* lowercase hex, "" when absent */
    pf_strv needed;         /* DT_NEEDED in order */
    char *soname;           /* NULL when absent */
    char *rpath;            /* DT_RPATH (searched before LD_LIBRARY_PATH), NULL when absent */
    char *runpath;          /* DT_RUNPATH (searched after it), NULL when absent */
} pf_elfso;

int pf_elfso_read(const char *path, pf_elfso *out, pf_err *err);
void pf_elfso_free(pf_elfso *e);

/* The first NUL-terminated string starting with `prefix` in the file's
 * .rodata section (the whole file when it has none) that `accept` (NULL:
 * any) approves, skipping matches in the middle of a longer string and
 * printf formats (containing '%'); heap copy (at most 255 bytes) or NULL
 * (err says whether it was absent or the file unreadable). */
typedef bool (*pf_elfso_accept_fn)(const char *s);
char *pf_elfso_find_string(const char *path, const char *prefix, pf_elfso_accept_fn accept, pf_err *err);

/* e_machine of the running binary (so foreign-arch libraries are skipped). */
uint16_t pf_elfso_host_machine(void);

#endif

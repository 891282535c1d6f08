/* load.h -- read a run record (schema preflight.run/1) back from its JSON
 * file for the renderers, saying clearly what is wrong with it.
 *
 * Every renderer in reports/ reads the record's JSON (the output of
 * pf_run_to_json), so `preflight report RUN.json` and `--html FILE` on a live
 * command take exactly the same path.  Loading is forgiving on purpose: a
 * crashed run leaves a truncated file, an older or newer preflight may write
 * another schema version, a section may be missing.  In all those cases the
 * loader keeps whatever it can, marks the record incomplete and lists the
 * problems as sentences naming the file, and the renderers show a banner.
 * Only input with nothing to show (unreadable, empty, not JSON at all, not a
 * JSON object) is an error.
 *
 * Ownership: pf_loaded owns `root` and `problems`; pf_load_free releases them.
 */
#ifndef PF_LOAD_H
#define PF_LOAD_H

#include <jansson.h>
#include <stdbool.h>

#include "core/util.h"

/* Largest record accepted (a 32-node run with a sweep is ~1 MB). */
#define PF_LOAD_MAX_BYTES (256u * 1024 * 1024)

typedef struct pf_loaded {
    json_t *root;       /* a JSON object; sections may be missing */
    char *label;        /* the file name (or "this run" for a live record) */
    bool incomplete;    /* the record says so, or the loader had to repair it */
    pf_strv problems;   /* one sentence each, naming the file */
} pf_loaded;

/* Read and check path.  Returns 0 (possibly with problems), or -1 with err
 * set when nothing can be rendered. */
int pf_load_file(const char *path, pf_loaded *out, pf_err *err);
/* The same checks on JSON text already in memory (label names it). */
int pf_load_text(const char *text, size_t len, const char *label, pf_loaded *out, pf_err *err);
/* Wrap a record that is already JSON (a live run); steals root. */
void pf_load_json(json_t *root, const char *label, pf_loaded *out);
void pf_load_free(pf_loaded *l);

#endif

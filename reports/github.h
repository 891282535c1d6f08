/* github.h -- GitHub Actions workflow commands from a run record.
 *
 * One `::error` (fail, error) or `::warning` (warn; fail-level with strict)
 * annotation per problem, titled "node/check", message = summary and fix.
 * Data is escaped as the runner expects (% CR LF; in properties also : and ,).
 * The runner shows at most 10 annotations of each kind per step, so the
 * first 10 of each are written and one more line says how many were left
 * out.  The Markdown summary goes to $GITHUB_STEP_SUMMARY (reports/markdown.h).
 */
#ifndef PF_GITHUB_H
#define PF_GITHUB_H

#include <stdbool.h>
#include <stdio.h>

#include "reports/load.h"

/* Should --github behaviour be on without the flag?  GITHUB_ACTIONS=true. */
bool pf_github_detected(void);
void pf_github_annotate(FILE *f, const pf_loaded *run, bool strict);
/* Escape for the message part (out must hold 3*strlen+1); properties too when prop. */
void pf_github_escape(char *out, size_t outlen, const char *s, bool prop);

#endif

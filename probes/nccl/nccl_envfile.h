/* nccl_envfile.h -- the environment the NCCL probe runs under: an env file
 * (`preflight plan` writes one; any `NAME=value` / `export NAME=value`
 * file with # comments works) read into a NAME=value list, and NCCL's own
 * variables checked for values NCCL would reject.
 *
 * NCCL reads integer parameters with strtoll and, on junk, logs "Invalid
 * value X for NAME, using default" and carries on (misc/param.cc) -- so a
 * typo silently changes nothing.  We say so before the run.
 */
#ifndef PF_NCCL_ENVFILE_H
#define PF_NCCL_ENVFILE_H

#include "core/util.h"

/* Read path into env (NAME=value strings, quotes removed).  -1 with err
 * naming the file and line on a line that is not an assignment. */
int pf_ncclenv_load(const char *path, pf_strv *env, pf_err *err);
/* Parse one text (for tests); `what` names it in errors. */
int pf_ncclenv_parse(const char *text, const char *what, pf_strv *env, pf_err *err);
/* Sentences about values NCCL will not accept, appended to problems; the
 * number found. */
int pf_ncclenv_validate(const pf_strv *env, pf_strv *problems);

#endif

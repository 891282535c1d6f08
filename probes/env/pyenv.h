/* pyenv.h -- find the Python environment the server will run in, and read
 * facts from it without running Python where possible.
 *
 * Order (as documented for `--venv`): the --venv option, else $VIRTUAL_ENV,
 * else the first python3 on PATH (asked for sys.prefix and its site dirs,
 * with a deadline).  Package versions come from *.dist-info/METADATA, so a
 * broken interpreter still yields facts.
 */
#ifndef PF_PYENV_H
#define PF_PYENV_H

#include <stddef.h>

#include "core/env.h"
#include "core/util.h"

typedef struct pf_pyenv pf_pyenv;

/* NULL on failure (err names the path or tool at fault). */
pf_pyenv *pf_pyenv_discover(const char *venv_opt, pf_err *err);
/* The same, judging `env` (core/env.h) instead of this process's: its
 * VIRTUAL_ENV, and else the python3 on its PATH.  That interpreter runs with
 * preflight's own environment except PYTHONHOME, which is taken from `env`
 * (set or unset as there) because it moves sys.prefix; nothing else it reads
 * changes the three facts asked (prefix, version, site directories). */
pf_pyenv *pf_pyenv_discover_in(const char *venv_opt, const pf_env *env, pf_err *err);
/* Build from an explicit prefix (tests, --venv). */
pf_pyenv *pf_pyenv_from_prefix(const char *prefix, const char *origin, pf_err *err);
void pf_pyenv_free(pf_pyenv *env);

const char *pf_pyenv_prefix(const pf_pyenv *env);
const char *pf_pyenv_origin(const pf_pyenv *env);          /* "--venv", "$VIRTUAL_ENV", "python3 on PATH" */
const char *pf_pyenv_python_version(const pf_pyenv *env);  /* "3.12" or "" when unknown */
size_t pf_pyenv_site_count(const pf_pyenv *env);
const char *pf_pyenv_site(const pf_pyenv *env, size_t i);  /* site-packages directories that exist */

/* Version of an installed distribution ("torch" matches torch-2.11.0.dist-info;
 * '-', '_' and '.' compare equal, case-insensitive).  Heap string or NULL. */
char *pf_pyenv_dist_version(const pf_pyenv *env, const char *dist);
/* <site>/<name> for the first site dir where it is a directory; heap or NULL. */
char *pf_pyenv_package_dir(const pf_pyenv *env, const char *name);

#endif

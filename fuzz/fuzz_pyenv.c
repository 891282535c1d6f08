/* pyvenv.cfg and a package's METADATA (probes/env/pyenv.c): the input, split
 * at the first NUL, becomes both files of a venv. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "probes/env/pyenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char venv[300];
    if (!venv[0]) {
        snprintf(venv, sizeof venv, "%s/venv", fuzz_dir());
        char p[400];
        mkdir(venv, 0700);
        snprintf(p, sizeof p, "%s/lib", venv), mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/lib/python3.12", venv), mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/lib/python3.12/site-packages", venv), mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/lib/python3.12/site-packages/torch-2.9.0.dist-info", venv), mkdir(p, 0700);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t a = nul ? (size_t)(nul - data) : size;
    fuzz_write("venv/pyvenv.cfg", data, a);
    fuzz_write("venv/lib/python3.12/site-packages/torch-2.9.0.dist-info/METADATA", nul ? nul + 1 : data,
               nul ? size - a - 1 : size);
    pf_err err;
    pf_pyenv *env = pf_pyenv_from_prefix(venv, "--venv", &err);
    if (env) {
        (void)pf_pyenv_python_version(env);
        free(pf_pyenv_dist_version(env, "torch"));
        free(pf_pyenv_package_dir(env, "torch"));
        pf_pyenv_free(env);
    }
    return 0;
}

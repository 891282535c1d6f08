/* ptxas_fixtures.h -- files the ptxas tests run against, written at test
 * time into a fresh directory under the build dir: stand-ins that print
 * ptxas 12.8/12.9's exact `--version` text and error messages, a Triton 3.6
 * venv as pip lays it out (with torch/bin/ptxas), and broken binaries. */
#ifndef PF_TEST_PTXAS_FIXTURES_H
#define PF_TEST_PTXAS_FIXTURES_H

#include <stdbool.h>

#define PTXAS_FX_REAL_CUDA "/usr/local/cuda"
#define PTXAS_FX_REAL_PTXAS PTXAS_FX_REAL_CUDA "/bin/ptxas"

typedef struct ptxas_fx {
    char root[512];
    char prefix[600];   /* the venv: pyvenv.cfg, lib/python3.12/site-packages */
    char site[700];
    char bundled[800], bundled_bw[800], torch_ptxas[800];
    char f128[600], f129[600];      /* stand-ins for 12.8.93 and 12.9.86 */
    char hang[600], hang_pid[600];  /* sleeps on every call; writes its pid */
    char asm_hang[600];             /* answers --version (13.0), sleeps assembling */
    char noexec[600];               /* mode 0644 */
    char garbage[600];              /* --version prints no release */
    char fail[600];                 /* --version exits 127 */
    char nocuda[600];               /* an empty "toolkit" directory */
    char tmpdir[600];               /* empty, for TMPDIR */
    char emptybin[600];             /* empty, for PATH */
} ptxas_fx;

/* 0 on success; the directory is PF_BINARY_DIR/ptxas-fixtures-XXXXXX. */
int ptxas_fx_create(ptxas_fx *fx);
void ptxas_fx_destroy(ptxas_fx *fx);
bool ptxas_fx_have_real(void);

#endif

/* test_ptxas_rules.c -- the pure half of toolchain.ptxas: naming, parsing,
 * and table-driven verdicts for the layouts met in practice (Triton 3.4 to
 * 3.7, broken overrides, torch inductor, no Triton).  The facts are the ones
 * the reference notes recorded on real binaries (ptxas 12.8.93, 12.9.86,
 * 13.0.88) -- see docs/ptxas.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/toolchain/ptxas.h"

#define B "/venv/lib/python3.12/site-packages/triton/backends/nvidia/bin/ptxas"
#define BW "/venv/lib/python3.12/site-packages/triton/backends/nvidia/bin/ptxas-blackwell"
#define TORCH "/venv/lib/python3.12/site-packages/torch/bin/ptxas"
#define CUDA "/usr/local/cuda/bin/ptxas"
#define CUDA128 "/opt/cuda-12.8/bin/ptxas"

/* Error lines as the reference recorded them (three spaces before ':'). */
#define E110_BW "ptxas-blackwell fatal   : Value 'sm_110a' is not defined for option 'gpu-name'"
#define E110 "ptxas fatal   : Value 'sm_110a' is not defined for option 'gpu-name'"
#define E121 "ptxas fatal   : Value 'sm_121a' is not defined for option 'gpu-name'"

static void test_gpu_name(void **state)
{
    (void)state;
    char b[16];
    pf_ptxas_gpu_name(110, b, sizeof b);
    assert_string_equal(b, "sm_110a");
    pf_ptxas_gpu_name(121, b, sizeof b);
    assert_string_equal(b, "sm_121a");
    pf_ptxas_gpu_name(90, b, sizeof b);
    assert_string_equal(b, "sm_90a");
    pf_ptxas_gpu_name(89, b, sizeof b);
    assert_string_equal(b, "sm_89");
    pf_ptxas_gpu_name(80, b, sizeof b);
    assert_string_equal(b, "sm_80");
}

static void test_triton_isa(void **state)
{
    (void)state;
    static const int t[][3] = {{12, 8, 87}, {12, 9, 88}, {13, 0, 90}, {13, 1, 91}, {13, 4, 94}, {14, 0, 100},
                               {12, 6, 85}, {12, 5, 85}, {12, 4, 84}, {12, 0, 80}, {11, 8, 78}, {10, 2, 65},
                               {9, 2, -1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(pf_ptxas_triton_isa(t[i][0], t[i][1]), t[i][2]);
}

static void test_arch_req(void **state)
{
    (void)state;
    assert_int_equal(pf_ptxas_arch_req(110).min_isa, 90);
    assert_int_equal(pf_ptxas_arch_req(110).min_cuda, 1300);
    assert_int_equal(pf_ptxas_arch_req(121).min_isa, 88);
    assert_int_equal(pf_ptxas_arch_req(121).min_cuda, 1209);
    assert_int_equal(pf_ptxas_arch_req(103).min_isa, 88);
    assert_int_equal(pf_ptxas_arch_req(120).min_isa, 87);
    assert_int_equal(pf_ptxas_arch_req(100).min_isa, 87);
    assert_int_equal(pf_ptxas_arch_req(101).max_cuda, 1209);
    assert_int_equal(pf_ptxas_arch_req(130).min_isa, 0);
}

static void test_parse_version(void **state)
{
    (void)state;
    const char *real = "ptxas: NVIDIA (R) Ptx optimizing assembler\nCopyright (c) 2005-2025 NVIDIA Corporation\n"
                       "Built on Wed_Aug_20_01:55:12_PM_PDT_2025\n"
                       "Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0.r13.0/compiler.36424714_0\n";
    int a = 0, b = 0;
    char full[32];
    assert_int_equal(pf_ptxas_parse_version(real, &a, &b, full, sizeof full), 0);
    assert_int_equal(a, 13);
    assert_int_equal(b, 0);
    assert_string_equal(full, "V13.0.88");
    assert_int_equal(pf_ptxas_parse_version("Cuda compilation tools, release 12.9, V12.9.86", &a, &b, full,
                                            sizeof full), 0);
    assert_int_equal(a * 100 + b, 1209);
    assert_string_equal(full, "V12.9.86");
    /* Triton's regex needs digits on both sides of the dot. */
    assert_int_equal(pf_ptxas_parse_version("release notes\nrelease x.y\n", &a, &b, full, sizeof full), -1);
    assert_int_equal(pf_ptxas_parse_version("", &a, &b, full, sizeof full), -1);
    assert_int_equal(pf_ptxas_parse_version(NULL, &a, &b, full, sizeof full), -1);
    assert_int_equal(pf_ptxas_parse_version("foo release 12.8\n", &a, &b, full, sizeof full), 0);
    assert_string_equal(full, "");
}

static void test_classify(void **state)
{
    (void)state;
    char line[256];
    assert_int_equal(pf_ptxas_classify(255, true, E110_BW "\n", line, sizeof line), PF_PTXAS_ASM_NO_TARGET);
    assert_string_equal(line, E110_BW);
    assert_int_equal(pf_ptxas_classify(255, true,
                                       "ptxas s.ptx, line 2; error   : PTX .version 8.8 does not support .target "
                                       "sm_110a\nptxas fatal   : Ptx assembly aborted due to errors\n",
                                       line, sizeof line),
                     PF_PTXAS_ASM_ISA_TOO_OLD);
    assert_string_equal(line, "ptxas s.ptx, line 2; error   : PTX .version 8.8 does not support .target sm_110a");
    assert_int_equal(pf_ptxas_classify(255, true,
                                       "ptxas s.ptx, line 1; fatal   : Unsupported .version 9.1; current version "
                                       "is '9.0'\nptxas fatal   : Ptx assembly aborted due to errors\n",
                                       line, sizeof line),
                     PF_PTXAS_ASM_ISA_TOO_NEW);
    assert_int_equal(pf_ptxas_classify(0, true, "", line, sizeof line), PF_PTXAS_ASM_OK);
    assert_string_equal(line, "");
    assert_int_equal(pf_ptxas_classify(139, true, "\n  Segmentation fault\n", line, sizeof line),
                     PF_PTXAS_ASM_FAILED);
    assert_string_equal(line, "Segmentation fault");
    assert_int_equal(pf_ptxas_classify(0, false, "", line, sizeof line), PF_PTXAS_ASM_FAILED);
}

/* ---- table-driven verdicts ---- */

typedef struct cspec {
    pf_ptxas_source src;
    const char *path;
    pf_ptxas_state st;
    int maj, min;
    pf_ptxas_asm rc;
    const char *err; /* state_detail or asm_detail */
} cspec;

typedef struct vcase {
    const char *name;
    int arch;
    bool no_pyenv;
    bool triton;
    const char *tver; /* NULL: unknown */
    cspec c[8];
    pf_status want;
    pf_ptxas_role role;
    const char *winner;      /* NULL: no winner */
    const char *remedy;      /* substring; NULL: no remedy */
    const char *summary;     /* substring */
    const char *summary2;    /* another substring or NULL */
} vcase;

#define OK(src, p, ma, mi) {src, p, PF_PTXAS_OK, ma, mi, PF_PTXAS_ASM_OK, ""}
#define NOTGT(src, p, ma, mi, e) {src, p, PF_PTXAS_OK, ma, mi, PF_PTXAS_ASM_NO_TARGET, e}
#define BAD(src, p, st, why) {src, p, st, 0, 0, PF_PTXAS_ASM_NOT_RUN, why}

static const vcase cases[] = {
    {"triton 3.6 on Thor: bundled ptxas-blackwell 12.9 lacks sm_110a, CUDA 13.0 works", 110, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, BW, "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA " (", E110_BW,
     "bundled default, TRITON_PTXAS_BLACKWELL_PATH is unset"},
    {"triton 3.6 on H100: bundled ptxas 12.8 assembles sm_90a", 90, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED, B, 12, 8), OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_PTXAS, B, NULL, "runs " B " (CUDA 12.8) for sm_90a", NULL},
    {"triton 3.6 on GB10: bundled ptxas-blackwell 12.9 assembles sm_121a", 121, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E121), OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_BLACKWELL, BW, NULL, "assembles sm_121a", NULL},
    {"triton 3.6 on Thor: TRITON_PTXAS_PATH=CUDA 13 has no effect for arch >= 100", 110, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      OK(PF_PTXAS_SRC_ENV, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, BW, "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA, "has no effect", NULL},
    {"triton 3.6 on Thor: TRITON_PTXAS_BLACKWELL_PATH=CUDA 13 wins", 110, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      OK(PF_PTXAS_SRC_ENV_BW, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_BLACKWELL, CUDA, NULL, "TRITON_PTXAS_BLACKWELL_PATH=" CUDA, NULL},
    {"triton 3.6 on GB10: missing override falls back silently to a bundled binary that works", 121, false, true,
     "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9), BAD(PF_PTXAS_SRC_ENV_BW, "/nope/ptxas", PF_PTXAS_ABSENT, "does not exist"),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_WARN, PF_PTXAS_ROLE_BLACKWELL, BW, "`unset TRITON_PTXAS_BLACKWELL_PATH`, or point it at a working ptxas: "
     "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA, "TRITON_PTXAS_BLACKWELL_PATH=/nope/ptxas is missing",
     "silently falls back"},
    {"triton 3.6 on GB10: override that fails --version falls back silently", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      BAD(PF_PTXAS_SRC_ENV_BW, "/opt/x/ptxas", PF_PTXAS_BAD_VERSION, "`--version` exit 1: boom")},
     PF_WARN, PF_PTXAS_ROLE_BLACKWELL, BW, "`unset TRITON_PTXAS_BLACKWELL_PATH` (now it `--version` exit 1: boom)",
     "is broken", NULL},
    {"triton 3.6 on Thor: missing override, bundled fallback cannot assemble", 110, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      BAD(PF_PTXAS_SRC_ENV_BW, "/nope/ptxas", PF_PTXAS_ABSENT, "does not exist"), OK(PF_PTXAS_SRC_PATH, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, BW, "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA,
     "after silently skipping TRITON_PTXAS_BLACKWELL_PATH=/nope/ptxas (does not exist)", NULL},
    {"triton 3.6: a non-executable override makes Triton raise", 110, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      BAD(PF_PTXAS_SRC_ENV_BW, "/opt/p", PF_PTXAS_NOT_EXEC, "is not executable (mode 0644)"),
      OK(PF_PTXAS_SRC_CUDA_HOME, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, NULL, "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA, "PermissionError", NULL},
    {"triton 3.6: a hanging override hangs Triton", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      BAD(PF_PTXAS_SRC_ENV_BW, "/opt/h", PF_PTXAS_HUNG, "`--version` timed out after 0.5 s (killed)")},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, NULL, "export TRITON_PTXAS_BLACKWELL_PATH=" BW, "hangs", NULL},
    {"triton 3.5 on GB10: one bundled ptxas 12.8, TRITON_PTXAS_PATH is the knob", 121, false, true, "3.5.1",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E121), OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_PTXAS, B, "export TRITON_PTXAS_PATH=" CUDA, E121, NULL},
    {"triton 3.4 on Thor with TRITON_PTXAS_PATH=CUDA 13", 110, false, true, "3.4.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), OK(PF_PTXAS_SRC_ENV, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_PTXAS, CUDA, NULL, "TRITON_PTXAS_PATH=" CUDA, NULL},
    {"triton 3.7 on Thor: bundled ptxas-blackwell 13.1", 110, false, true, "3.7.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 13, 1)},
     PF_PASS, PF_PTXAS_ROLE_BLACKWELL, BW, NULL, "(CUDA 13.1)", NULL},
    {"triton 3.7 on H100", 90, false, true, "3.7.0",
     {OK(PF_PTXAS_SRC_BUNDLED, B, 12, 8), OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 13, 1)},
     PF_PASS, PF_PTXAS_ROLE_PTXAS, B, NULL, "for sm_90a", NULL},
    {"triton 3.6 on Thor: nothing on the node works", 110, false, true, "3.6.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      NOTGT(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA128, 12, 8, E110)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, BW, "Install a CUDA >= 13.0 toolkit", "cannot assemble sm_110a", NULL},
    {"triton without dist-info but with ptxas-blackwell: treated as >= 3.6", 110, false, true, NULL,
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E110), NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, BW, "TRITON_PTXAS_BLACKWELL_PATH=" CUDA, "version unknown", NULL},
    {"triton without dist-info nor ptxas-blackwell: one ptxas", 121, false, true, NULL,
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E121), BAD(PF_PTXAS_SRC_BUNDLED_BW, BW, PF_PTXAS_ABSENT, "does not exist"),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_PTXAS, B, "export TRITON_PTXAS_PATH=" CUDA, E121, NULL},
    {"triton 3.6 install broken: no bundled ptxas-blackwell, no override", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED, B, 12, 8), BAD(PF_PTXAS_SRC_BUNDLED_BW, BW, PF_PTXAS_ABSENT, "does not exist"),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, NULL, "export TRITON_PTXAS_BLACKWELL_PATH=" CUDA,
     "Cannot find ptxas-blackwell", NULL},
    {"triton 3.5 on GB10: torch/bin/ptxas works only for torch.compile workers", 121, false, true, "3.5.0",
     {NOTGT(PF_PTXAS_SRC_BUNDLED, B, 12, 8, E121), OK(PF_PTXAS_SRC_TORCH, TORCH, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_PTXAS, B, "export TRITON_PTXAS_PATH=" TORCH, E121, NULL},
    {"triton 3.6 on H100: torch/bin/ptxas too old for sm_90a breaks torch.compile", 90, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED, B, 12, 8),
      NOTGT(PF_PTXAS_SRC_TORCH, TORCH, 11, 7, "ptxas fatal   : Value 'sm_90a' is not defined for option 'gpu-name'"),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_FAIL, PF_PTXAS_ROLE_PTXAS, B, "inductor leaves a variable that is already set alone",
     "torch.compile workers set TRITON_PTXAS_PATH=" TORCH, NULL},
    {"triton 3.6 on GB10: torch/bin/ptxas does not matter for arch >= 100", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9),
      NOTGT(PF_PTXAS_SRC_TORCH, TORCH, 12, 8, E121), OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_BLACKWELL, BW, NULL, "has no effect for arch >= 100", NULL},
    {"triton 3.6 on GB10 works, but the CUDA 12.8 toolkit breaks JIT extensions", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9), NOTGT(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA128, 12, 8, E121)},
     PF_WARN, PF_PTXAS_ROLE_BLACKWELL, BW, "Install a CUDA >= 12.9 toolkit", "JIT-built CUDA extensions", NULL},
    {"triton works, CUDA_HOME toolkit too old but /usr/local/cuda is fine", 121, false, true, "3.6.0",
     {OK(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9), NOTGT(PF_PTXAS_SRC_CUDA_HOME, CUDA128, 12, 8, E121),
      OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_WARN, PF_PTXAS_ROLE_BLACKWELL, BW, "export CUDA_HOME=/usr/local/cuda ", CUDA128, NULL},
    {"no triton: toolkit 13.0 assembles sm_110a", 110, false, false, NULL,
     {OK(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_NONE, NULL, NULL, "no Triton in the Python environment", NULL},
    {"no triton: toolkit 12.8 cannot assemble sm_110a", 110, false, false, NULL,
     {NOTGT(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA128, 12, 8, E110)},
     PF_WARN, PF_PTXAS_ROLE_NONE, NULL, "Install a CUDA >= 13.0 toolkit (its ptxas supports sm_110a) and export CUDA_HOME to it", E110, NULL},
    {"no triton, no toolkit: nothing runs ptxas", 110, false, false, NULL,
     {BAD(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, PF_PTXAS_ABSENT, "does not exist")},
     PF_SKIP, PF_PTXAS_ROLE_NONE, NULL, NULL, "nothing on this node runs ptxas for sm_110a", NULL},
    {"no python environment at all", 121, true, false, NULL,
     {OK(PF_PTXAS_SRC_PATH, CUDA, 13, 0)},
     PF_PASS, PF_PTXAS_ROLE_NONE, NULL, NULL, "no Python environment found (no python3 on PATH)", NULL},
    {"legacy Thor (10.1) without Triton: CUDA 13 dropped sm_101", 101, false, false, NULL,
     {NOTGT(PF_PTXAS_SRC_CUDA_DEFAULT, CUDA, 13, 0, "ptxas fatal   : Value 'sm_101a' is not defined for option 'gpu-name'")},
     PF_WARN, PF_PTXAS_ROLE_NONE, NULL, "a CUDA 12.8-12.9 toolkit", "sm_101a", NULL},
    {"ISA too old: the explanation names both versions", 110, false, true, "3.6.0",
     {{PF_PTXAS_SRC_ENV_BW, "/opt/weird/ptxas", PF_PTXAS_OK, 12, 9, PF_PTXAS_ASM_ISA_TOO_OLD,
       "ptxas probe.ptx, line 2; error   : PTX .version 8.8 does not support .target sm_110a"},
      NOTGT(PF_PTXAS_SRC_BUNDLED_BW, BW, 12, 9, E110_BW)},
     PF_FAIL, PF_PTXAS_ROLE_BLACKWELL, "/opt/weird/ptxas", "Install a CUDA >= 13.0 toolkit",
     "Triton writes .version 8.8 for CUDA 12.9; sm_110a needs >= 9.0", NULL},
};

static void build(const vcase *k, pf_ptxas_facts *f)
{
    memset(f, 0, sizeof *f);
    f->arch = k->arch;
    f->pyenv_found = !k->no_pyenv;
    if (k->no_pyenv)
        snprintf(f->pyenv_why, sizeof f->pyenv_why, "no python3 on PATH");
    f->triton_present = k->triton;
    f->triton_major = f->triton_minor = -1;
    if (k->tver) {
        snprintf(f->triton_version, sizeof f->triton_version, "%s", k->tver);
        assert_int_equal(sscanf(k->tver, "%d.%d", &f->triton_major, &f->triton_minor), 2);
    }
    for (size_t i = 0; i < 8 && k->c[i].path; i++) {
        pf_ptxas_cand *c = &f->cand[f->ncand++];
        const cspec *s = &k->c[i];
        c->source = s->src;
        snprintf(c->path, sizeof c->path, "%s", s->path);
        c->state = s->st;
        c->cuda_major = s->maj;
        c->cuda_minor = s->min;
        if (s->st == PF_PTXAS_OK) {
            c->isa = pf_ptxas_triton_isa(s->maj, s->min);
            c->asm_rc = s->rc;
            snprintf(c->asm_detail, sizeof c->asm_detail, "%s", s->err);
        } else {
            snprintf(c->state_detail, sizeof c->state_detail, "%s", s->err);
        }
    }
}

static void test_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vcase *k = &cases[i];
        pf_ptxas_facts f;
        pf_ptxas_verdict v;
        build(k, &f);
        pf_ptxas_decide(&f, &v);
        print_message("case %zu: %s\n  -> %s: %s\n  remedy: %s\n", i, k->name, pf_status_name(v.status), v.summary,
                      v.remedy ? v.remedy : "(none)");
        assert_string_equal(pf_status_name(v.status), pf_status_name(k->want));
        assert_int_equal(v.role, k->role);
        if (k->winner) {
            assert_true(v.winner >= 0);
            assert_string_equal(f.cand[v.winner].path, k->winner);
        } else {
            assert_int_equal(v.winner, -1);
        }
        if (k->remedy) {
            assert_non_null(v.remedy);
            if (!strstr(v.remedy, k->remedy))
                fail_msg("case %zu: remedy lacks \"%s\"", i, k->remedy);
        } else {
            assert_null(v.remedy);
        }
        assert_non_null(v.summary);
        if (!strstr(v.summary, k->summary))
            fail_msg("case %zu: summary lacks \"%s\"", i, k->summary);
        if (k->summary2 && !strstr(v.summary, k->summary2))
            fail_msg("case %zu: summary lacks \"%s\"", i, k->summary2);
        /* The remedy names a binary only if it was verified to work. */
        if (v.remedy && strstr(v.remedy, "_PATH=/")) {
            assert_true(v.good >= 0);
            assert_int_equal(f.cand[v.good].asm_rc, PF_PTXAS_ASM_OK);
        }
        pf_ptxas_verdict_free(&v);
    }
}

static void test_evidence(void **state)
{
    (void)state;
    pf_ptxas_facts f;
    pf_ptxas_verdict v;
    build(&cases[0], &f);
    pf_ptxas_decide(&f, &v);
    json_t *e = pf_ptxas_evidence(&f, &v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "target"), "gpu_name")), "sm_110a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "target"), "min_ptx_isa")), "9.0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "triton"), "version")), "3.6.0");
    assert_string_equal(json_string_value(json_object_get(e, "role")), "ptxas-blackwell");
    assert_string_equal(json_string_value(json_object_get(e, "variable")), "TRITON_PTXAS_BLACKWELL_PATH");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "winner"), "path")), BW);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "verified_alternative"), "path")), CUDA);
    json_t *cands = json_object_get(e, "candidates");
    assert_int_equal(json_array_size(cands), 3);
    json_t *bw = json_array_get(cands, 1);
    assert_string_equal(json_string_value(json_object_get(bw, "source")), "bundled");
    assert_string_equal(json_string_value(json_object_get(bw, "version")), "12.9");
    assert_string_equal(json_string_value(json_object_get(bw, "ptx_isa")), "8.8");
    assert_true(json_is_true(json_object_get(bw, "wins")));
    json_t *a = json_object_get(bw, "assemble");
    assert_string_equal(json_string_value(json_object_get(a, "result")), "gpu-name-unsupported");
    assert_string_equal(json_string_value(json_object_get(a, "error")), E110_BW);
    json_t *cu = json_array_get(cands, 2);
    assert_string_equal(json_string_value(json_object_get(cu, "source")), "cuda");
    assert_true(json_is_true(json_object_get(json_object_get(cu, "assemble"), "ok")));
    assert_true(json_is_false(json_object_get(cu, "wins")));
    json_decref(e);
    pf_ptxas_verdict_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_name),   cmocka_unit_test(test_triton_isa), cmocka_unit_test(test_arch_req),
        cmocka_unit_test(test_parse_version), cmocka_unit_test(test_classify), cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

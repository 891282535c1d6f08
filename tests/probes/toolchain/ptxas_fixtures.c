/* ptxas_fixtures.c -- see ptxas_fixtures.h. */
#include "ptxas_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0 || chmod(path, mode) != 0)
        return -1;
    return 0;
}

/* A stand-in ptxas: the real release's `--version` text and error texts
 * (three spaces before the colon, prefixed with the binary's own name, as
 * recorded in the reference notes).  It accepts the listed --gpu-name
 * values, rejects a .version above its own and below the target's minimum. */
static int write_standin(const char *path, const char *rel, const char *full, const char *gpus, int maxisa)
{
    char *s = pf_xasprintf(
        "#!/bin/sh\n"
        "# stand-in for ptxas %s, written by the ptxas tests\n"
        "PATH=/usr/bin:/bin; export PATH\n"
        "name=${0##*/}\n"
        "if [ \"$1\" = \"--version\" ]; then\n"
        "  printf 'ptxas: NVIDIA (R) Ptx optimizing assembler\\nCopyright (c) 2005-2025 NVIDIA Corporation\\n'\n"
        "  printf 'Built on Thu_Jan_01_00:00:00_PST_2025\\nCuda compilation tools, release %s, %s\\n'\n"
        "  printf 'Build cuda_%s.r%s/compiler.0_0\\n'\n"
        "  exit 0\n"
        "fi\n"
        "gpu=; in=; out=\n"
        "while [ $# -gt 0 ]; do\n"
        "  case \"$1\" in\n"
        "    --gpu-name=*) gpu=${1#--gpu-name=} ;;\n"
        "    -o) shift; out=$1 ;;\n"
        "    -*) ;;\n"
        "    *) in=$1 ;;\n"
        "  esac\n"
        "  shift\n"
        "done\n"
        "case \" %s \" in\n"
        "  *\" $gpu \"*) ;;\n"
        "  *) echo \"$name fatal   : Value '$gpu' is not defined for option 'gpu-name'\" >&2; exit 255 ;;\n"
        "esac\n"
        "dotted=$(sed -n 's/^\\.version \\([0-9.]*\\)$/\\1/p' \"$in\")\n"
        "ver=$(echo \"$dotted\" | tr -d .)\n"
        "if [ \"$ver\" -gt %d ]; then\n"
        "  echo \"$name $in, line 1; fatal   : Unsupported .version $dotted; current version is '%d.%d'\" >&2\n"
        "  echo \"$name fatal   : Ptx assembly aborted due to errors\" >&2; exit 255\n"
        "fi\n"
        "case \"$gpu\" in\n"
        "  sm_110*) need=90 ;; sm_121*|sm_103*|sm_120f|sm_121f) need=88 ;;\n"
        "  sm_100*|sm_120*) need=87 ;; sm_101*) need=86 ;; *) need=60 ;;\n"
        "esac\n"
        "if [ \"$ver\" -lt \"$need\" ]; then\n"
        "  echo \"$name $in, line 2; error   : PTX .version $dotted does not support .target $gpu\" >&2\n"
        "  echo \"$name fatal   : Ptx assembly aborted due to errors\" >&2; exit 255\n"
        "fi\n"
        "echo stand-in > \"$out\"\n",
        rel, rel, full, rel, rel, gpus, maxisa, maxisa / 10, maxisa % 10);
    int rc = write_file(path, s, 0755);
    free(s);
    return rc;
}

#define GPUS_128 "sm_75 sm_80 sm_86 sm_87 sm_89 sm_90 sm_90a sm_100 sm_100a sm_101 sm_101a sm_120 sm_120a"
#define GPUS_129 GPUS_128 " sm_100f sm_101f sm_103 sm_103a sm_103f sm_120f sm_121 sm_121a sm_121f"

int ptxas_fx_create(ptxas_fx *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->root, sizeof fx->root, "%s/ptxas-fixtures-XXXXXX", PF_BINARY_DIR);
    if (!mkdtemp(fx->root))
        return -1;
    const char *r = fx->root;
    snprintf(fx->f128, sizeof fx->f128, "%s/bin/ptxas-12.8", r);
    snprintf(fx->f129, sizeof fx->f129, "%s/bin/ptxas-12.9", r);
    snprintf(fx->hang, sizeof fx->hang, "%s/bin/ptxas-hang", r);
    snprintf(fx->hang_pid, sizeof fx->hang_pid, "%s/hang.pid", r);
    snprintf(fx->asm_hang, sizeof fx->asm_hang, "%s/bin/ptxas-asm-hang", r);
    snprintf(fx->noexec, sizeof fx->noexec, "%s/bin/ptxas-noexec", r);
    snprintf(fx->garbage, sizeof fx->garbage, "%s/bin/ptxas-garbage", r);
    snprintf(fx->fail, sizeof fx->fail, "%s/bin/ptxas-fail", r);
    snprintf(fx->nocuda, sizeof fx->nocuda, "%s/no-cuda", r);
    snprintf(fx->tmpdir, sizeof fx->tmpdir, "%s/tmp", r);
    snprintf(fx->emptybin, sizeof fx->emptybin, "%s/emptybin", r);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/bin", r);
    mkdirs(dir);
    mkdirs(fx->nocuda);
    mkdirs(fx->tmpdir);
    mkdirs(fx->emptybin);
    int rc = 0;
    rc |= write_standin(fx->f128, "12.8", "V12.8.93", GPUS_128, 87);
    rc |= write_standin(fx->f129, "12.9", "V12.9.86", GPUS_129, 88);
    char *s = pf_xasprintf("#!/bin/sh\necho $$ > '%s'\nexec /bin/sleep 1000\n", fx->hang_pid);
    rc |= write_file(fx->hang, s, 0755);
    free(s);
    rc |= write_file(fx->asm_hang,
                     "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Cuda compilation tools, release 13.0, "
                     "V13.0.88'; exit 0; fi\nexec /bin/sleep 1000\n", 0755);
    rc |= write_file(fx->noexec, "#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n", 0644);
    rc |= write_file(fx->garbage, "#!/bin/sh\necho 'this is not ptxas'\n", 0755);
    rc |= write_file(fx->fail, "#!/bin/sh\necho 'ptxas: error while loading shared libraries: libx.so' >&2\n"
                               "exit 127\n", 0755);

    /* Triton 3.6 and torch as pip lays them out in a venv. */
    snprintf(fx->prefix, sizeof fx->prefix, "%s/venv", r);
    snprintf(fx->site, sizeof fx->site, "%s/lib/python3.12/site-packages", fx->prefix);
    char p[1024];
    snprintf(p, sizeof p, "%s/triton/backends/nvidia/bin", fx->site);
    mkdirs(p);
    snprintf(p, sizeof p, "%s/triton-3.6.0.dist-info", fx->site);
    mkdirs(p);
    snprintf(p, sizeof p, "%s/torch/bin", fx->site);
    mkdirs(p);
    snprintf(p, sizeof p, "%s/triton-3.6.0.dist-info/METADATA", fx->site);
    rc |= write_file(p, "Metadata-Version: 2.1\nName: triton\nVersion: 3.6.0\n", 0644);
    snprintf(p, sizeof p, "%s/pyvenv.cfg", fx->prefix);
    rc |= write_file(p, "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.3\n", 0644);
    snprintf(fx->bundled, sizeof fx->bundled, "%s/triton/backends/nvidia/bin/ptxas", fx->site);
    snprintf(fx->bundled_bw, sizeof fx->bundled_bw, "%s/triton/backends/nvidia/bin/ptxas-blackwell", fx->site);
    snprintf(fx->torch_ptxas, sizeof fx->torch_ptxas, "%s/torch/bin/ptxas", fx->site);
    rc |= write_standin(fx->bundled, "12.8", "V12.8.93", GPUS_128, 87);
    rc |= write_standin(fx->bundled_bw, "12.9", "V12.9.86", GPUS_129, 88);
    rc |= write_standin(fx->torch_ptxas, "12.8", "V12.8.93", GPUS_128, 87);
    return rc ? -1 : 0;
}

void ptxas_fx_destroy(ptxas_fx *fx)
{
    if (!fx->root[0] || !strstr(fx->root, "/ptxas-fixtures-"))
        return;
    char *cmd = pf_xasprintf("rm -rf '%s'", fx->root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx->root);
    free(cmd);
}

bool ptxas_fx_have_real(void)
{
    return access(PTXAS_FX_REAL_PTXAS, X_OK) == 0;
}

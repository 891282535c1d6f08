/* kernels_cli.c -- `preflight kernels [options] PATH...`.
 *
 * One check per library ("kernels.file") and one per collection of bare
 * cubins under one PATH ("kernels.cubins"), so a directory of 16,000
 * flashinfer cubins is one verdict, not 16,000.  A file that cannot be read
 * is an error check of its own and the scan goes on (exit 3 if nothing
 * failed).  --list prints the entries like `cuobjdump --list-elf/--list-ptx`.
 */
#include "probes/kernels/kernels_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/output.h"
#include "probes/gpu/arch.h"
#include "probes/probe_flags.h"
#include "probes/kernels/kernels.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: preflight kernels [options] PATH...\n"
            "       preflight kernels [options] --venv DIR [PATH...]\n"
            "\n"
            "Find the CUDA kernels in shared libraries, cubins and fatbins (PATH may be a file or a\n"
            "directory, searched recursively for *.so, *.so.N, *.cubin, *.fatbin) and say whether\n"
            "they run on a GPU: native SASS, only through PTX JIT, or not at all.  One check per\n"
            "library; files without device code are summed up in one line.\n"
            "\n"
            "  --venv DIR            judge the serving stack installed in this Python environment\n"
            "                        (torch, vllm, sgl_kernel, flashinfer, nvidia/*, ...) as one\n"
            "                        gpu.kernels check, as `preflight check` does\n"
            "  --env-file FILE       with --venv: judge TORCH_CUDA_ARCH_LIST from FILE (NAME=VALUE lines)\n"
            "                        instead of this shell's environment\n"
            "  --arch X.Y            judge for compute capability X.Y (11.0 Jetson Thor, 12.1 DGX Spark\n"
            "                        GB10, 9.0 H100); default: the local GPUs, or inventory only\n"
            "  --driver X.Y          CUDA driver version to check PTX JIT against (default: the local\n"
            "                        driver; with --arch: assumed new enough)\n"
            "  --list                print every fatbin entry first, like cuobjdump --list-elf/--list-ptx\n"
            "%s"
            "  -h, --help            this text\n"
            "\n"
            "Exit codes: 0 every library runs (or was not judged), 1 a library has no usable kernels\n"
            "for the GPU (or, with --strict, only JIT/partial coverage), 2 usage error, 3 a file could\n"
            "not be read and nothing failed.\n",
            pf_output_flags_help());
}

static const char *kind_word(uint16_t k)
{
    return k == PF_FB_KIND_ELF ? "ELF" : k == PF_FB_KIND_PTX ? "PTX" : k == PF_FB_KIND_LTOIR ? "LTO" : "OLD";
}

static void list_entries(FILE *out, const pf_kfile *f)
{
    const pf_fatbin *fb = f->fb;
    fprintf(out, "%s: %zu container%s, %zu entr%s\n", f->path, pf_fatbin_container_count(fb),
            pf_fatbin_container_count(fb) == 1 ? "" : "s", pf_fatbin_entry_count(fb),
            pf_fatbin_entry_count(fb) == 1 ? "y" : "ies");
    size_t nth[4] = {0};
    for (size_t ci = 0; ci < pf_fatbin_container_count(fb); ci++) {
        const pf_fatbin_container *c = pf_fatbin_container_at(fb, ci);
        for (uint32_t k = 0; k < c->count; k++) {
            const pf_fatbin_entry *e = pf_fatbin_entry_at(fb, c->first + k);
            int slot = e->kind == PF_FB_KIND_ELF ? 0 : e->kind == PF_FB_KIND_PTX ? 1 : e->kind == PF_FB_KIND_LTOIR ? 2 : 3;
            char name[32], isa[32] = "";
            pf_fatbin_entry_name(e, name, sizeof name);
            if (e->kind == PF_FB_KIND_PTX)
                snprintf(isa, sizeof isa, ", PTX ISA %u.%u", e->ver_major, e->ver_minor);
            fprintf(out, "%s file %4zu: %-12s (container %zu at 0x%llx in %s, %s, %llu bytes%s%s%s)\n",
                    kind_word(e->kind), ++nth[slot], name, ci + 1, (unsigned long long)c->offset,
                    pf_fatbin_section_name(fb, c->section), pf_fatbin_codec_name(e->codec),
                    (unsigned long long)(e->uncompressed_size ? e->uncompressed_size : e->payload_size), isa,
                    e->debug ? ", debug" : "", e->kind == PF_FB_KIND_ELF && e->has_code == 0 ? ", no kernels" : "");
        }
    }
    for (size_t i = 0; i < pf_fatbin_problem_kept(fb); i++)
        fprintf(out, "problem: %s\n", pf_fatbin_problem(fb, i));
}

static int parse_version(const char *s, int *out)
{
    int a = 0, b = 0, used = 0;
    if (sscanf(s, "%d.%d%n", &a, &b, &used) != 2 || s[used] || a < 1 || a > 99 || b < 0 || b > 9)
        return -1;
    *out = a * 1000 + b * 10;
    return 0;
}

int pf_kernels_main(int argc, char **argv)
{
    pf_output_opts oo;
    pf_output_opts_init(&oo);
    pf_probe_opts po;
    pf_probe_opts_init(&po);
    pf_strv paths = {0};
    int driver = -1;
    bool list = false;
    int rc = PF_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pf_probe_take_flag("kernels", &oo, &po, PF_PF_ARCH | PF_PF_VENV | PF_PF_ENVFILE, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = PF_EXIT_OK;
            goto out;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--driver") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "preflight kernels: --driver needs a value (see --help)\n");
                goto out;
            }
            const char *v = argv[++i];
            if (parse_version(v, &driver) != 0) {
                fprintf(stderr, "preflight kernels: --driver '%s' is not a CUDA version (expected X.Y such as "
                                "12.8, 13.0)\n", v);
                goto out;
            }
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                pf_strv_push(&paths, argv[i]);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "preflight kernels: unknown option '%s' (see --help)\n", a);
            goto out;
        } else {
            pf_strv_push(&paths, a);
        }
    }
    if (paths.n == 0 && !po.venv) {
        fprintf(stderr, "preflight kernels: name at least one library, cubin, fatbin or directory, or "
                        "--venv DIR (see --help)\n");
        goto out;
    }

    pf_env *env = NULL;
    if (po.env_file) {
        pf_err eerr = {{0}};
        if (!(env = pf_env_from_file(po.env_file, &eerr))) {
            fprintf(stderr, "preflight kernels: --env-file: %s\n", eerr.msg);
            goto out;
        }
    }
    pf_run *run = pf_run_new(argc, argv);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    pf_node *node = pf_run_add_node(run, host, NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, run, node);
    if (env)
        pf_ctx_set_env(&ctx, env);
    const pf_target *targets = NULL;
    size_t nt = pf_ctx_targets(&ctx, &targets);
    if (driver < 0)
        driver = po.arch ? 0 : pf_ctx_cuda_facts(&ctx)->driver_version;

    if (po.venv) {
        const char *why = NULL;
        if (!pf_ctx_pyenv(&ctx, &why)) {
            fprintf(stderr, "preflight kernels: %s\n", why && *why ? why : "--venv: not a Python environment");
            pf_ctx_free(&ctx);
            pf_run_free(run);
            pf_env_free(env);
            goto out;
        }
        /* gpu.kernels judges TORCH_CUDA_ARCH_LIST: say from which environment */
        json_object_set_new(pf_node_facts(node), "env_source", json_string(pf_env_source(ctx.env)));
        double t0 = pf_now();
        pf_probe_gpu_kernels(&ctx);
        pf_check_set_duration(pf_run_check(run, pf_run_check_count(run) - 1), pf_now() - t0);
    }

    pf_kscan *ks = pf_kscan_new();
    pf_strv nodev = {0};
    FILE *lo = oo.json_path && strcmp(oo.json_path, "-") == 0 ? stderr : stdout;
    for (size_t p = 0; p < paths.n; p++) {
        size_t first = pf_kscan_count(ks);
        double t0 = pf_now();
        if (pf_kscan_add(ks, paths.v[p], paths.v[p], true) == 0 && pf_kscan_count(ks) == first) {
            pf_check *c = pf_check_add(run, node, "kernels.file");
            json_object_set_new(pf_check_evidence(c), "path", json_string(paths.v[p]));
            pf_check_set(c, PF_SKIP, "%s: no shared libraries, cubins or fatbins found", paths.v[p]);
            continue;
        }
        /* Libraries one by one, then this PATH's bare cubins as one unit. */
        const pf_fatbin **cubins = NULL;
        size_t ncub = 0;
        for (size_t i = first; i < pf_kscan_count(ks); i++) {
            const pf_kfile *f = pf_kscan_file(ks, i);
            if (list && f->fb)
                list_entries(lo, f);
            if (!f->fb) {
                pf_check *c = pf_check_add(run, node, "kernels.file");
                json_object_set_new(pf_check_evidence(c), "path", json_string(f->path));
                pf_check_set(c, PF_ERROR, "%s", f->error);
                continue;
            }
            if (pf_fatbin_kind(f->fb) == PF_FB_FILE_CUBIN) {
                cubins = pf_xrealloc(cubins, (ncub + 1) * sizeof *cubins);
                cubins[ncub++] = f->fb;
                continue;
            }
            if (!f->explicit_path && !pf_kernels_has_device_code(f->fb)) {
                pf_strv_push(&nodev, f->path);
                continue;
            }
            pf_check *c = pf_check_add(run, node, "kernels.file");
            pf_kernels_unit u = {f->path, f->package, false, &f->fb, 1};
            pf_kernels_evaluate_unit(&u, targets, nt, driver, c);
        }
        if (ncub) {
            pf_check *c = pf_check_add(run, node, "kernels.cubins");
            pf_kernels_unit u = {paths.v[p], paths.v[p], ncub > 1, cubins, ncub};
            pf_kernels_evaluate_unit(&u, targets, nt, driver, c);
            pf_check_set_duration(c, pf_now() - t0);
        }
        free(cubins);
    }
    if (nodev.n) {
        /* One line for all libraries without device code (cudart, nvrtc,
         * host-only extensions): they cannot miss kernels. */
        pf_check *c = pf_check_add(run, node, "kernels.file");
        json_t *arr = json_array();
        for (size_t i = 0; i < nodev.n; i++)
            json_array_append_new(arr, json_string(nodev.v[i]));
        json_object_set_new(pf_check_evidence(c), "no_device_code", arr);
        const char *b = strrchr(nodev.v[0], '/');
        pf_check_set(c, PF_SKIP, "%zu file%s without CUDA device code (%s%s), not judged", nodev.n,
                     nodev.n == 1 ? "" : "s", b ? b + 1 : nodev.v[0], nodev.n > 1 ? ", ..." : "");
    }
    pf_strv_free(&nodev);
    if (list)
        fflush(lo);
    rc = pf_output_finish(run, &oo);
    pf_kscan_free(ks);
    pf_ctx_free(&ctx);
    pf_run_free(run);
    pf_env_free(env);
out:
    pf_strv_free(&paths);
    pf_probe_opts_free(&po);
    return rc;
}

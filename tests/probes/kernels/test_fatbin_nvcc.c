/* The scanner on real nvcc 13 output, built when the test runs: sm_110a,
 * sm_110f, sm_121, sm_121a, compute_90 PTX, LZ4 and ZSTD compression,
 * -rdc relocatable objects (__nv_relfatbin), -G debug, a bare cubin and a raw
 * fatbin.  Without nvcc (or with one older than CUDA 13.0, which cannot
 * build sm_110) the test exits 77, which CTest reports as skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proc.h"
#include "probes/kernels/elf.h"
#include "probes/kernels/fatbin.h"
#include "probes/kernels/kernels.h"

static char dir[64];
static char *nvcc;

static const char *kernel_src = "__global__ void scale(float *x, float a) { x[threadIdx.x] *= a; }\n"
                                "__global__ void add(float *x, const float *y) { x[threadIdx.x] += y[threadIdx.x]; }\n";

static void run_nvcc(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", dir, nvcc, args);
    char *argv[] = {"sh", "-c", cmd, NULL};
    pf_proc_opts o = {.timeout_s = 240};
    pf_proc_result r;
    pf_err err = {{0}};
    if (pf_proc_run(argv, &o, &r, &err) != 0)
        fail_msg("cannot run nvcc: %s", err.msg);
    if (!r.exited || r.exit_code != 0)
        fail_msg("nvcc %s failed:\n%s", args, r.out);
    pf_proc_result_free(&r);
}

static int build_fixtures(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pf_nvcc_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char *src = pf_path_join(dir, "k.cu");
    FILE *f = fopen(src, "w");
    fputs(kernel_src, f);
    fclose(f);
    free(src);
    const char *so = "-shared -Xcompiler -fPIC k.cu";
    char args[512];
    snprintf(args, sizeof args, "-gencode arch=compute_110a,code=sm_110a -gencode arch=compute_121,code=[sm_121,compute_121] "
                                "-gencode arch=compute_90,code=compute_90 %s -o a.so", so);
    run_nvcc(args);
    snprintf(args, sizeof args, "-gencode arch=compute_110f,code=sm_110f -gencode arch=compute_121a,code=sm_121a %s -o b.so", so);
    run_nvcc(args);
    snprintf(args, sizeof args, "-gencode arch=compute_121a,code=[sm_121a,compute_121a] --compress-mode=speed "
                                "-Xfatbin -compress-all %s -o lz4.so", so);
    run_nvcc(args);
    snprintf(args, sizeof args, "-gencode arch=compute_121a,code=[sm_121a,compute_121a] -Xfatbin -compress-all %s -o zstd.so", so);
    run_nvcc(args);
    run_nvcc("-rdc=true -c -Xcompiler -fPIC -gencode arch=compute_90,code=[sm_90,compute_90] k.cu -o rdc.o");
    snprintf(args, sizeof args, "-rdc=true -gencode arch=compute_90,code=[sm_90,compute_90] %s -o rdc.so", so);
    run_nvcc(args);
    snprintf(args, sizeof args, "-G -gencode arch=compute_90,code=sm_90 %s -o debug.so", so);
    run_nvcc(args);
    run_nvcc("-cubin -arch=sm_110f k.cu -o f.cubin");
    run_nvcc("-cubin -arch=sm_121a k.cu -o a.cubin");
    run_nvcc("-fatbin -gencode arch=compute_120,code=sm_120 k.cu -o k.fatbin");
    return 0;
}

static int remove_fixtures(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static pf_fatbin *scan(const char *name)
{
    char *p = pf_path_join(dir, name);
    pf_err err = {{0}};
    pf_fatbin *fb = pf_fatbin_scan_file(p, &err);
    if (!fb)
        fail_msg("%s: %s", p, err.msg);
    free(p);
    assert_int_equal(pf_fatbin_problem_count(fb), 0);
    return fb;
}

/* Count entries with this name ("sm_110a") and optional codec/section. */
static size_t count(const pf_fatbin *fb, const char *name, int codec, const char *section)
{
    size_t n = 0;
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
        const pf_fatbin_entry *e = pf_fatbin_entry_at(fb, i);
        char b[32];
        pf_fatbin_entry_name(e, b, sizeof b);
        const pf_fatbin_container *c = pf_fatbin_container_at(fb, e->container);
        if (strcmp(b, name) == 0 && (codec < 0 || e->codec == codec) &&
            (!section || strcmp(pf_fatbin_section_name(fb, c->section), section) == 0))
            n++;
    }
    return n;
}

static pf_lib_verdict verdict(const pf_fatbin *fb, int dev)
{
    pf_lib_coverage c;
    pf_kernels_coverage_init(&c, dev, 13000);
    pf_kernels_coverage_add(&c, fb);
    return pf_kernels_verdict(&c);
}

static void test_reference_build(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("a.so");
    /* -shared runs a device link: the dlink container plus the TU's */
    assert_int_equal(pf_fatbin_container_count(fb), 2);
    assert_int_equal(count(fb, "sm_110a", -1, ".nv_fatbin"), 2);
    assert_int_equal(count(fb, "sm_121", -1, ".nv_fatbin"), 2);
    assert_int_equal(count(fb, "compute_121", PF_FB_ZSTD, ".nv_fatbin"), 1); /* PTX is ZSTD by default */
    assert_int_equal(count(fb, "compute_90", PF_FB_ZSTD, ".nv_fatbin"), 1);
    assert_int_equal(count(fb, "sm_110a", PF_FB_RAW, NULL), 2); /* SASS raw by default */
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
        const pf_fatbin_entry *e = pf_fatbin_entry_at(fb, i);
        if (e->kind == PF_FB_KIND_PTX)
            assert_int_equal(e->ver_major, 9); /* CUDA 13.x emits PTX ISA 9.x */
    }
    /* The device-link cubins hold no kernels (a stub, like libcufftw's only
     * container); the TU's cubins do.  Raw cubins are read, not guessed. */
    assert_true(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 0)));
    assert_false(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 1)));
    assert_int_equal(verdict(fb, 110), PF_LIB_NATIVE);
    assert_int_equal(verdict(fb, 121), PF_LIB_NATIVE);
    assert_int_equal(verdict(fb, 90), PF_LIB_JIT_ONLY);
    assert_int_equal(verdict(fb, 120), PF_LIB_JIT_ONLY); /* compute_90 JITs; sm_121 does not run on 12.0 */
    assert_int_equal(verdict(fb, 80), PF_LIB_MISSING);
    pf_fatbin_free(fb);
}

static void test_variants(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("b.so");
    assert_true(count(fb, "sm_110f", -1, NULL) >= 1);
    assert_true(count(fb, "sm_121a", -1, NULL) >= 1);
    assert_int_equal(count(fb, "sm_110", -1, NULL), 0);
    assert_int_equal(verdict(fb, 110), PF_LIB_NATIVE);
    assert_int_equal(verdict(fb, 121), PF_LIB_NATIVE);
    assert_int_equal(verdict(fb, 120), PF_LIB_MISSING); /* 121a is not 12.0 */
    pf_fatbin_free(fb);
}

static void test_compression(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("lz4.so");
    assert_true(count(fb, "sm_121a", PF_FB_LZ4, NULL) >= 1);
    assert_int_equal(count(fb, "compute_121a", PF_FB_LZ4, NULL), 1);
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
        const pf_fatbin_entry *e = pf_fatbin_entry_at(fb, i);
        assert_true(e->compressed_size > 0 && e->compressed_size <= e->payload_size);
        assert_true(e->uncompressed_size > 0);
        assert_int_equal(e->has_code, -1); /* not decompressed: unknown */
    }
    pf_fatbin_free(fb);
    fb = scan("zstd.so");
    assert_true(count(fb, "sm_121a", PF_FB_ZSTD, NULL) >= 1);
    assert_int_equal(count(fb, "compute_121a", PF_FB_ZSTD, NULL), 1);
    assert_int_equal(count(fb, "sm_121a", PF_FB_RAW, NULL), 0);
    pf_fatbin_free(fb);
}

static void test_relocatable(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("rdc.o");
    assert_true(pf_fatbin_container_count(fb) >= 1);
    assert_true(count(fb, "sm_90", -1, "__nv_relfatbin") >= 1);
    assert_true(count(fb, "compute_90", -1, "__nv_relfatbin") >= 1);
    assert_int_equal(count(fb, "sm_90", -1, ".nv_fatbin"), 0);
    for (size_t i = 0; i < pf_fatbin_container_count(fb); i++)
        assert_true(pf_fatbin_container_at(fb, i)->named);
    pf_fatbin_free(fb);
    fb = scan("rdc.so");
    assert_true(count(fb, "sm_90", -1, "__nv_relfatbin") >= 1);
    assert_true(count(fb, "sm_90", -1, ".nv_fatbin") >= 1);
    assert_int_equal(verdict(fb, 90), PF_LIB_NATIVE);
    pf_fatbin_free(fb);
}

static void test_debug(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("debug.so");
    size_t dbg = 0;
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++)
        dbg += pf_fatbin_entry_at(fb, i)->debug;
    assert_true(dbg >= 1);
    pf_fatbin_free(fb);
}

static void test_bare_cubin_and_fatbin(void **state)
{
    (void)state;
    pf_fatbin *fb = scan("f.cubin");
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_CUBIN);
    assert_int_equal(count(fb, "sm_110f", -1, NULL), 1);
    assert_non_null(strstr(pf_fatbin_cubin_toolkit(fb), "Cuda compilation tools, release 13"));
    pf_fatbin_free(fb);
    fb = scan("a.cubin");
    assert_int_equal(count(fb, "sm_121a", -1, NULL), 1);
    pf_fatbin_free(fb);
    char *p = pf_path_join(dir, "f.cubin");
    pf_elf *e = pf_elf_open(p, NULL);
    pf_elf_cubin cu;
    assert_int_equal(pf_elf_cubin_info(e, &cu, NULL), 0);
    assert_int_equal(cu.abi_version, 8);
    assert_int_equal(cu.sm, 110);
    assert_string_equal(cu.producer, "ptxas");
    assert_non_null(strstr(cu.options, "sm_110f"));
    pf_elf_close(e);
    free(p);
    fb = scan("k.fatbin");
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_FATBIN);
    assert_int_equal(count(fb, "sm_120", -1, NULL), 1);
    pf_fatbin_free(fb);
}

static int nvcc_major(void)
{
    char *argv[] = {nvcc, "--version", NULL};
    pf_proc_opts o = {.timeout_s = 30};
    pf_proc_result r;
    if (pf_proc_run(argv, &o, &r, NULL) != 0)
        return -1;
    int major = -1, minor = 0;
    const char *rel = r.out ? strstr(r.out, "release ") : NULL;
    if (rel)
        sscanf(rel, "release %d.%d", &major, &minor);
    pf_proc_result_free(&r);
    return major;
}

int main(void)
{
    const char *env = getenv("NVCC");
    nvcc = env && *env ? pf_xstrdup(env) : pf_which("nvcc");
    if (!nvcc && pf_is_file("/usr/local/cuda/bin/nvcc"))
        nvcc = pf_xstrdup("/usr/local/cuda/bin/nvcc");
    if (!nvcc) {
        printf("SKIP: nvcc not found (set NVCC or put the CUDA 13 toolkit on PATH)\n");
        return 77;
    }
    int major = nvcc_major();
    if (major < 13) {
        printf("SKIP: %s is CUDA %d; these fixtures (sm_110, sm_121f) need CUDA >= 13.0\n", nvcc, major);
        free(nvcc);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_build), cmocka_unit_test(test_variants),
        cmocka_unit_test(test_compression),     cmocka_unit_test(test_relocatable),
        cmocka_unit_test(test_debug),           cmocka_unit_test(test_bare_cubin_and_fatbin),
    };
    int rc = cmocka_run_group_tests(tests, build_fixtures, remove_fixtures);
    free(nvcc);
    return rc;
}

/* gpu.kernels decisions: the verdict table from coverage counts, coverage of
 * built libraries shaped like the real cases (libtorch 2.11+cu130 x86,
 * cuBLASLt's arch-specialised containers, FA3's sm_90a-only build, a 12.0a
 * build on GB10, Thor's old sm_101 name, PTX-only, a driver too old for the
 * PTX), and the whole probe on a fake serving venv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fatbin_builder.h"
#include "testfix.h"
#include "probes/kernels/kernels.h"
#include "probes/kernels/kernels_remedy.h"

/* ---- verdicts from counts ---- */

typedef struct {
    const char *what;
    size_t containers, native, jit, missing, driver_old, other_gpu_specific;
    pf_lib_verdict want;
} count_case;

static const count_case count_cases[] = {
    {"libtorch on H100: 444/444 native", 444, 444, 0, 0, 0, 0, PF_LIB_NATIVE},
    {"libtorch x86 on Thor: 444 missing", 444, 0, 0, 444, 0, 0, PF_LIB_MISSING},
    {"cuSOLVER x86 on Thor: 4 JIT, 222 missing", 226, 0, 4, 222, 0, 0, PF_LIB_MISSING},
    {"cuSPARSE x86 on Thor: 42 JIT, 105 missing", 167, 0, 42, 105, 0, 0, PF_LIB_MISSING},
    {"cuBLASLt on A100: 482 native of 3165, rest specialised", 3165, 482, 0, 0, 0, 0, PF_LIB_NATIVE},
    {"cuDNN precompiled on H100: 117 missing = 17%", 1501, 582, 0, 117, 0, 0, PF_LIB_NATIVE},
    {"cuBLASLt on B200: 247 missing = 14%", 3165, 1543, 1, 247, 0, 0, PF_LIB_NATIVE},
    {"a third of portable modules missing", 300, 200, 0, 100, 0, 0, PF_LIB_PARTIAL},
    {"exactly half missing is partial", 200, 100, 0, 100, 0, 0, PF_LIB_PARTIAL},
    {"more than half missing", 201, 100, 0, 101, 0, 0, PF_LIB_MISSING},
    {"cuFFT on H100: native + lots of JIT", 11256, 393, 8131, 0, 0, 0, PF_LIB_NATIVE},
    {"PTX only", 10, 0, 10, 0, 0, 0, PF_LIB_JIT_ONLY},
    {"one unrelated family, nothing here", 12, 0, 0, 0, 0, 0, PF_LIB_MISSING},
    {"FA3: only sm_90a on 12.1", 30, 0, 0, 0, 0, 30, PF_LIB_OTHER_GPU_ONLY},
    {"only PTX newer than the driver", 10, 0, 0, 0, 10, 0, PF_LIB_DRIVER_TOO_OLD},
    {"no containers", 0, 0, 0, 0, 0, 0, PF_LIB_NO_DEVICE_CODE},
};

static void test_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof count_cases / sizeof count_cases[0]; i++) {
        const count_case *k = &count_cases[i];
        pf_lib_coverage c;
        pf_kernels_coverage_init(&c, 90, 0);
        c.containers = k->containers;
        c.native = k->native;
        c.jit = k->jit;
        c.missing = k->missing;
        c.driver_old = k->driver_old;
        c.other_gpu_specific = k->other_gpu_specific;
        c.other = k->containers - k->native - k->jit - k->missing - k->driver_old;
        pf_lib_verdict v = pf_kernels_verdict(&c);
        if (v != k->want)
            fail_msg("%s: got %s, want %s", k->what, pf_lib_verdict_name(v), pf_lib_verdict_name(k->want));
    }
    assert_int_equal(pf_lib_verdict_status(PF_LIB_MISSING, false), PF_FAIL);
    assert_int_equal(pf_lib_verdict_status(PF_LIB_MISSING, true), PF_WARN);
    assert_int_equal(pf_lib_verdict_status(PF_LIB_JIT_ONLY, false), PF_WARN);
    assert_int_equal(pf_lib_verdict_status(PF_LIB_OTHER_GPU_ONLY, false), PF_SKIP);
}

/* ---- coverage of built libraries ---- */

static fb_ent E(uint16_t kind, uint16_t arch, char v) { return (fb_ent){kind, arch, v, 9, 0, FB_ZSTD, 0, NULL, 0}; }

/* n containers, each with the same entry list */
static pf_fatbin *lib(size_t n, const fb_ent *e, size_t ne)
{
    fb_buf b = {0};
    for (size_t i = 0; i < n; i++)
        fb_container(&b, e, ne);
    fb_sec secs[] = {{".nv_fatbin", 1, 2, b.p, b.n, 0}};
    fb_buf elf = fb_elf(secs, 1, 3, 62, 0, 0);
    pf_fatbin *fb = pf_fatbin_scan_memory(elf.p, elf.n, "lib.so", NULL);
    assert_non_null(fb);
    free(b.p);
    free(elf.p);
    return fb;
}

static pf_lib_verdict judge(const pf_fatbin *fb, int dev, int driver, pf_lib_coverage *out)
{
    pf_kernels_coverage_init(out, dev, driver);
    pf_kernels_coverage_add(out, fb);
    return pf_kernels_verdict(out);
}

static void test_libtorch_shape(void **state)
{
    (void)state;
    /* torch 2.11.0+cu130 x86: every container sm_75/80/86/90/100/120, no PTX */
    fb_ent e[] = {E(2, 75, 0), E(2, 80, 0), E(2, 86, 0), E(2, 90, 0), E(2, 100, 0), E(2, 120, 0)};
    pf_fatbin *fb = lib(444, e, 6);
    pf_lib_coverage c;
    assert_int_equal(judge(fb, 90, 13000, &c), PF_LIB_NATIVE);
    assert_int_equal(c.native, 444);
    assert_int_equal(judge(fb, 121, 13000, &c), PF_LIB_NATIVE); /* sm_120 runs on GB10 */
    assert_int_equal(judge(fb, 110, 0, &c), PF_LIB_MISSING);
    assert_int_equal(c.missing, 444);
    assert_int_equal(judge(fb, 87, 0, &c), PF_LIB_NATIVE);      /* Orin: sm_86 */
    size_t n = 0;
    pf_kernels_best(&c, &n);
    assert_int_equal(n, 444);
    pf_fatbin_free(fb);
}

static void test_specialised_library(void **state)
{
    (void)state;
    /* cuBLASLt-like: a few portable containers, many arch-specific ones */
    fb_buf b = {0};
    fb_ent portable[] = {E(1, 120, 0), E(2, 75, 0), E(2, 80, 0), E(2, 86, 0), E(2, 90, 0), E(2, 100, 0), E(2, 120, 0)};
    fb_ent hopper[] = {E(2, 90, 'a'), E(2, 120, 'f')};
    fb_ent dc[] = {E(2, 100, 0)};
    fb_ent turing[] = {E(2, 75, 0)};
    for (int i = 0; i < 60; i++)
        fb_container(&b, portable, 7);
    for (int i = 0; i < 800; i++)
        fb_container(&b, hopper, 2);
    for (int i = 0; i < 700; i++)
        fb_container(&b, dc, 1);
    for (int i = 0; i < 30; i++)
        fb_container(&b, turing, 1);
    pf_fatbin *fb = pf_fatbin_scan_memory(b.p, b.n, "lt.fatbin", NULL);
    pf_lib_coverage c;
    assert_int_equal(judge(fb, 80, 0, &c), PF_LIB_NATIVE); /* 60 of 1590: the rest is for other GPUs */
    assert_int_equal(c.native, 60);
    assert_int_equal(c.missing, 0);
    assert_int_equal(judge(fb, 75, 0, &c), PF_LIB_NATIVE);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_NATIVE);
    assert_int_equal(judge(fb, 110, 0, &c), PF_LIB_MISSING); /* portable ones skip 11.0 */
    assert_int_equal(c.missing, 60);
    pf_fatbin_free(fb);
    free(b.p);
}

static void test_arch_specific_cases(void **state)
{
    (void)state;
    pf_lib_coverage c;
    /* FA3: sm_90a only */
    fb_ent fa3[] = {E(2, 90, 'a')};
    pf_fatbin *fb = lib(20, fa3, 1);
    assert_int_equal(judge(fb, 90, 0, &c), PF_LIB_NATIVE);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_OTHER_GPU_ONLY);
    pf_fatbin_free(fb);
    /* an extension built with TORCH_CUDA_ARCH_LIST=12.0a, run on GB10 */
    fb_ent a120[] = {E(2, 120, 'a')};
    fb = lib(8, a120, 1);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_MISSING);
    assert_int_equal(c.sibling_specific, 8);
    assert_int_equal(judge(fb, 120, 0, &c), PF_LIB_NATIVE);
    pf_fatbin_free(fb);
    /* 120f runs on GB10; 100f does not */
    fb_ent f120[] = {E(2, 120, 'f')}, f100[] = {E(2, 100, 'f'), E(2, 103, 'a')};
    fb = lib(5, f120, 1);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_NATIVE);
    pf_fatbin_free(fb);
    fb = lib(5, f100, 2);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_MISSING);
    assert_int_equal(judge(fb, 103, 0, &c), PF_LIB_NATIVE);
    pf_fatbin_free(fb);
    /* Thor's old name: sm_101 code on a CUDA 13 Thor */
    fb_ent thor[] = {E(2, 87, 0), E(2, 101, 0)};
    fb = lib(6, thor, 2);
    assert_int_equal(judge(fb, 110, 0, &c), PF_LIB_MISSING);
    assert_int_equal(c.thor_renamed, 6);
    assert_int_equal(judge(fb, 101, 0, &c), PF_LIB_NATIVE);
    pf_fatbin_free(fb);
}

static void test_ptx_cases(void **state)
{
    (void)state;
    pf_lib_coverage c;
    fb_ent ptx90[] = {E(2, 80, 0), E(1, 90, 0)}; /* PTX ISA 9.0 (nvcc 13.0) */
    pf_fatbin *fb = lib(10, ptx90, 2);
    assert_int_equal(judge(fb, 121, 13000, &c), PF_LIB_JIT_ONLY);
    assert_int_equal(c.jit, 10);
    assert_int_equal(judge(fb, 121, 0, &c), PF_LIB_JIT_ONLY);           /* driver unknown: assumed new */
    assert_int_equal(judge(fb, 121, 12080, &c), PF_LIB_DRIVER_TOO_OLD); /* 12.8 driver, ISA 9.0 */
    assert_int_equal(c.driver_old, 10);
    assert_int_equal(judge(fb, 86, 12080, &c), PF_LIB_NATIVE);
    assert_int_equal(judge(fb, 75, 13000, &c), PF_LIB_MISSING);        /* older than every code */
    pf_fatbin_free(fb);
    /* LTO-IR only and kernel-less stubs are not device code */
    fb_ent lto[] = {{8, 75, 0, 0, 0, FB_LZ4, 0, NULL, 0}};
    fb = lib(4, lto, 1);
    assert_int_equal(judge(fb, 90, 0, &c), PF_LIB_NO_DEVICE_CODE);
    assert_int_equal(c.lto_only, 4);
    pf_fatbin_free(fb);
    fb_buf stub = fb_cubin(75, 0, 0, NULL);
    fb_ent st[] = {{2, 75, 0, 0, 0, FB_RAW, 0, stub.p, stub.n}};
    fb = lib(1, st, 1);
    assert_int_equal(judge(fb, 90, 0, &c), PF_LIB_NO_DEVICE_CODE); /* libcufftw */
    assert_int_equal(c.empty_stubs, 1);
    pf_fatbin_free(fb);
    free(stub.p);
}

static void test_remedy_helpers(void **state)
{
    (void)state;
    char b[16];
    pf_kremedy_torch_item(110, b, sizeof b);
    assert_string_equal(b, "11.0a");
    pf_kremedy_torch_item(121, b, sizeof b);
    assert_string_equal(b, "12.1a");
    pf_kremedy_torch_item(86, b, sizeof b);
    assert_string_equal(b, "8.6");
    assert_string_equal(pf_kremedy_min_cuda(121), "12.9");
    assert_string_equal(pf_kremedy_min_cuda(110), "13.0");
    assert_null(pf_kremedy_min_cuda(55));
}

/* ---- the probe on a fake serving venv ---- */



static void put_lib(const char *rel, size_t n, const fb_ent *e, size_t ne)
{
    fb_buf b = {0};
    for (size_t i = 0; i < n; i++)
        fb_container(&b, e, ne);
    fb_sec secs[] = {{".nv_fatbin", 1, 2, b.p, b.n, 0}};
    fb_buf elf = fb_elf(secs, 1, 3, 62, 0, 0);
    tf_put_bytes(rel, elf.p, elf.n);
    free(b.p);
    free(elf.p);
}

#define SP "lib/python3.12/site-packages/"

static int venv_setup(void **state)
{
    (void)state;
    assert_int_equal(tf_tmpdir_create("kvenv"), 0);
    const char *meta = "Metadata-Version: 2.1\nName: torch\nVersion: 2.11.0+cu130\n";
    tf_put_bytes(SP "torch-2.11.0+cu130.dist-info/METADATA", meta, strlen(meta));
    fb_ent torch[] = {E(2, 75, 0), E(2, 80, 0), E(2, 86, 0), E(2, 90, 0), E(2, 100, 0), E(2, 120, 0)};
    put_lib(SP "torch/lib/libtorch_cuda.so", 40, torch, 6);
    tf_put_bytes(SP "torch/lib/libc10.so", "\177ELF", 4); /* broken: must not stop the scan */
    put_lib(SP "nvidia/cublas/lib/libcublas.so.13", 20, (fb_ent[]){E(1, 120, 0), E(2, 75, 0), E(2, 90, 0), E(2, 120, 0)}, 4);
    /* sgl-kernel: one build per architecture, the loader picks one */
    put_lib(SP "sgl_kernel/sm90/common_ops.abi3.so", 10, (fb_ent[]){E(2, 90, 'a')}, 1);
    put_lib(SP "sgl_kernel/sm100/common_ops.abi3.so", 10, (fb_ent[]){E(2, 80, 0), E(2, 100, 'a'), E(2, 120, 0)}, 3);
    put_lib(SP "vllm/vllm_flash_attn/_vllm_fa3_C.abi3.so", 10, (fb_ent[]){E(2, 90, 'a')}, 1);
    fb_buf c1 = fb_cubin(100, 0, 1, "-arch sm_100f -m 64 "), c2 = fb_cubin(90, 1, 1, NULL);
    tf_put_bytes(SP "flashinfer_cubin/cubins/x/fmhaSm100fKernel_a.cubin", c1.p, c1.n);
    tf_put_bytes(SP "flashinfer_cubin/cubins/x/fmhaSm100fKernel_b.cubin", c1.p, c1.n);
    tf_put_bytes(SP "flashinfer_cubin/cubins/y/deep_gemm_sm90a.cubin", c2.p, c2.n);
    tf_put_bytes(SP "flashinfer_cubin/cubins/z/sm_110a/checksums.txt", "x", 1);
    free(c1.p);
    free(c2.p);
    return 0;
}

static int venv_teardown(void **state)
{
    (void)state;
    return tf_tmpdir_remove();
}

static pf_check *run_probe(pf_run **run, const char *arch)
{
    pf_probe_opts po;
    pf_probe_opts_init(&po);
    po.arch = arch;
    po.venv = tf_tmpdir();
    po.cuda_lib = "/nonexistent/libcuda.so.1";
    *run = pf_run_new(0, NULL);
    pf_node *node = pf_run_add_node(*run, "test", NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &po, *run, node);
    pf_probe_gpu_kernels(&ctx);
    pf_ctx_free(&ctx);
    pf_probe_opts_free(&po);
    assert_int_equal(pf_run_check_count(*run), 1);
    pf_check *c = pf_run_check(*run, 0);
    assert_string_equal(pf_check_id(c), "gpu.kernels");
    return c;
}

static const char *target_status_of(pf_check *c, const char *file)
{
    json_t *t = json_array_get(json_object_get(pf_check_evidence(c), "targets"), 0);
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(t, "libraries"), i, l)
    {
        if (strstr(json_string_value(json_object_get(l, "path")), file))
            return json_string_value(json_object_get(l, "status"));
    }
    return "absent";
}

static void test_probe_h100(void **state)
{
    (void)state;
    unsetenv("TORCH_CUDA_ARCH_LIST");
    pf_run *run;
    pf_check *c = run_probe(&run, "9.0");
    /* the broken libc10.so is an error in evidence and makes it a warning */
    assert_int_equal(pf_check_status(c), PF_WARN);
    assert_non_null(strstr(pf_check_summary(c), "torch 2.11.0+cu130"));
    assert_non_null(strstr(pf_check_summary(c), "1 file could not be read"));
    json_t *ev = pf_check_evidence(c);
    assert_int_equal(json_array_size(json_object_get(ev, "errors")), 1);
    assert_string_equal(target_status_of(c, "libtorch_cuda.so"), "pass");
    assert_string_equal(target_status_of(c, "sm90/common_ops"), "pass");
    assert_string_equal(target_status_of(c, "sm100/common_ops"), "alternative");
    assert_string_equal(target_status_of(c, "flashinfer_cubin"), "pass");
    assert_true(json_array_size(json_object_get(ev, "arch_dirs")) >= 1);
    assert_non_null(json_object_get(ev, "driver_note"));
    pf_run_free(run);
}

static void test_probe_thor(void **state)
{
    (void)state;
    unsetenv("TORCH_CUDA_ARCH_LIST");
    pf_run *run;
    pf_check *c = run_probe(&run, "11.0");
    assert_int_equal(pf_check_status(c), PF_FAIL);
    const char *s = pf_check_summary(c);
    assert_non_null(strstr(s, "libtorch_cuda.so (torch)"));
    assert_non_null(strstr(s, "no usable kernels for 11.0"));
    const char *r = pf_check_remedy_text(c);
    assert_non_null(r);
    assert_non_null(strstr(r, "aarch64"));
    assert_non_null(strstr(r, "cu130"));
    assert_non_null(strstr(r, "sm_110"));
    assert_non_null(strstr(r, "TORCH_CUDA_ARCH_LIST=\"11.0a\"")); /* sgl_kernel: an extension */
    assert_string_equal(target_status_of(c, "libtorch_cuda.so"), "fail");
    assert_string_equal(target_status_of(c, "_vllm_fa3_C"), "skip"); /* sm_90a only: other GPU */
    assert_string_equal(target_status_of(c, "flashinfer_cubin"), "warn");
    pf_run_free(run);
}

static void test_probe_gb10_torch_list(void **state)
{
    (void)state;
    setenv("TORCH_CUDA_ARCH_LIST", "9.0", 1);
    pf_run *run;
    pf_check *c = run_probe(&run, "12.1");
    assert_int_equal(pf_check_status(c), PF_WARN);
    assert_string_equal(target_status_of(c, "libtorch_cuda.so"), "pass");
    assert_string_equal(target_status_of(c, "sm100/common_ops"), "pass");
    assert_string_equal(target_status_of(c, "sm90/common_ops"), "alternative");
    assert_non_null(strstr(pf_check_summary(c), "TORCH_CUDA_ARCH_LIST='9.0'"));
    assert_non_null(strstr(pf_check_remedy_text(c), "TORCH_CUDA_ARCH_LIST=\"12.1a\""));
    pf_run_free(run);
    setenv("TORCH_CUDA_ARCH_LIST", "12.0f", 1);
    c = run_probe(&run, "12.1");
    assert_non_null(strstr(pf_check_summary(c), "Unknown CUDA arch (12.0f)"));
    pf_run_free(run);
    unsetenv("TORCH_CUDA_ARCH_LIST");
}

static void test_probe_no_target(void **state)
{
    (void)state;
    pf_run *run;
    pf_check *c = run_probe(&run, NULL);
    assert_int_equal(pf_check_status(c), PF_SKIP);
    assert_non_null(strstr(pf_check_summary(c), "no --arch"));
    pf_run_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),          cmocka_unit_test(test_libtorch_shape),
        cmocka_unit_test(test_specialised_library), cmocka_unit_test(test_arch_specific_cases),
        cmocka_unit_test(test_ptx_cases),         cmocka_unit_test(test_remedy_helpers),
        cmocka_unit_test(test_probe_h100),        cmocka_unit_test(test_probe_thor),
        cmocka_unit_test(test_probe_gb10_torch_list), cmocka_unit_test(test_probe_no_target),
    };
    return cmocka_run_group_tests(tests, venv_setup, venv_teardown);
}

/* The scanner against the real CUDA libraries of this machine
 * (/usr/local/cuda/lib64, or $PF_CUDA_LIB64): every container a brute-force
 * search finds must be found, libcublas.so.13 must list exactly what
 * cuobjdump lists (sm_75..sm_120 + compute_120, no sm_110 on x86-64), and
 * no library may be flagged on a GPU NVIDIA builds it for.  Exits 77
 * (skipped) when the directory or libcublas.so.13 is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/kernels/fatbin.h"
#include "probes/kernels/kernels.h"

static const char *lib64;

/* Independent count: every 8-byte-aligned file offset holding the
 * container signature, by a plain loop (no skipping, no ELF parsing). */
static size_t brute_force_signatures(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 16) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    const uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 0;
    static const uint8_t sig[8] = {0x50, 0xed, 0x55, 0xba, 0x01, 0x00, 0x10, 0x00};
    size_t n = 0;
    for (size_t i = 0; i + 16 <= (size_t)st.st_size; i += 8)
        n += memcmp(m + i, sig, 8) == 0;
    munmap((void *)m, (size_t)st.st_size);
    return n;
}

static pf_fatbin *scan_lib(const char *name)
{
    char *p = pf_path_join(lib64, name);
    pf_err err = {{0}};
    pf_fatbin *fb = pf_fatbin_scan_file(p, &err);
    if (!fb)
        fail_msg("%s", err.msg);
    free(p);
    return fb;
}

static bool has(const pf_fatbin *fb, const char *name)
{
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
        char b[32];
        pf_fatbin_entry_name(pf_fatbin_entry_at(fb, i), b, sizeof b);
        if (strcmp(b, name) == 0)
            return true;
    }
    return false;
}

static void test_cublas_inventory(void **state)
{
    (void)state;
    pf_fatbin *fb = scan_lib("libcublas.so.13");
    static const char *const want[] = {"sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has(fb, want[i]))
            fail_msg("libcublas.so.13 lacks %s", want[i]);
    /* nothing else: no sm_110 (x86-64 build), no other PTX */
    for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
        char b[32];
        pf_fatbin_entry_name(pf_fatbin_entry_at(fb, i), b, sizeof b);
        bool listed = false;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            listed |= strcmp(b, want[k]) == 0;
        if (!listed)
            fail_msg("libcublas.so.13 has unexpected %s", b);
    }
    assert_false(has(fb, "sm_110"));
    assert_true(pf_fatbin_container_count(fb) > 100);
    for (size_t i = 0; i < pf_fatbin_container_count(fb); i++)
        assert_string_equal(pf_fatbin_section_name(fb, pf_fatbin_container_at(fb, i)->section), ".nv_fatbin");
    assert_int_equal(pf_fatbin_problem_count(fb), 0);
    pf_fatbin_free(fb);
}

static size_t in_section(const pf_fatbin *fb, const char *sec)
{
    size_t n = 0;
    for (size_t i = 0; i < pf_fatbin_container_count(fb); i++)
        n += strcmp(pf_fatbin_section_name(fb, pf_fatbin_container_at(fb, i)->section), sec) == 0;
    return n;
}

/* Libraries that keep fatbins outside .nv_fatbin (CUDA 13.0 x86-64). */
static void test_unusual_sections(void **state)
{
    (void)state;
    static const struct {
        const char *lib, *section;
        size_t at_least;
    } t[] = {
        {"libcufft.so.12", ".ldata", 10000},       /* the real cuFFT kernels */
        {"libcublasLt.so.13", ".cask_resource", 100},
        {"libcusparse.so.12", ".rodata", 10},
        {"libnccl.so.2", "__nv_relfatbin", 10},
        {"libcupti.so.13", ".rodata", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *p = pf_path_join(lib64, t[i].lib);
        bool present = pf_is_file(p);
        free(p);
        if (!present)
            continue; /* a smaller toolkit install */
        pf_fatbin *fb = scan_lib(t[i].lib);
        if (in_section(fb, t[i].section) < t[i].at_least)
            fail_msg("%s: %zu containers in %s, expected >= %zu", t[i].lib, in_section(fb, t[i].section),
                     t[i].section, t[i].at_least);
        pf_fatbin_free(fb);
    }
}

/* Every file: the scanner finds exactly the containers a brute-force
 * search finds, so no library with device code goes unnoticed. */
static void test_every_library_found(void **state)
{
    (void)state;
    DIR *d = opendir(lib64);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0, with_code = 0;
    while ((de = readdir(d)) != NULL) {
        char *p = pf_path_join(lib64, de->d_name);
        struct stat lst;
        if (lstat(p, &lst) != 0 || !S_ISREG(lst.st_mode) || !strstr(de->d_name, ".so")) {
            free(p);
            continue;
        }
        files++;
        size_t brute = brute_force_signatures(p);
        pf_err err = {{0}};
        pf_fatbin *fb = pf_fatbin_scan_file(p, &err);
        if (!fb)
            fail_msg("%s", err.msg);
        if (pf_fatbin_container_count(fb) != brute)
            fail_msg("%s: scanner found %zu containers, brute force %zu", p, pf_fatbin_container_count(fb), brute);
        with_code += brute > 0;
        pf_fatbin_free(fb);
        free(p);
    }
    closedir(d);
    print_message("%zu libraries, %zu with fatbins, all found\n", files, with_code);
    assert_true(with_code >= 10);
}

/* The libraries NVIDIA ships work on the GPUs it builds them for: none may
 * be called missing or partial there.  Thor (11.0) is not among the x86-64
 * targets.  JIT-only is a true statement, not a false alarm: the CUDA 13.0.2
 * toolkit's libcufile.so.1.15.1 (on the H100 machine) carries sm_75/80/86 and
 * compute_86 only, so on 9.0 it really does JIT -- it loads, and says so. */
static void test_no_false_alarms(void **state)
{
    (void)state;
    static const int supported[] = {75, 80, 86, 87, 89, 90, 100, 103, 120, 121};
    DIR *d = opendir(lib64);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *p = pf_path_join(lib64, de->d_name);
        struct stat lst;
        if (lstat(p, &lst) != 0 || !S_ISREG(lst.st_mode) || !strstr(de->d_name, ".so")) {
            free(p);
            continue;
        }
        pf_fatbin *fb = pf_fatbin_scan_file(p, NULL);
        assert_non_null(fb);
        for (size_t k = 0; k < sizeof supported / sizeof supported[0]; k++) {
            pf_lib_coverage c;
            pf_kernels_coverage_init(&c, supported[k], 13000);
            pf_kernels_coverage_add(&c, fb);
            pf_lib_verdict v = pf_kernels_verdict(&c);
            if (v == PF_LIB_JIT_ONLY)
                printf("note: %s runs on %d.%d through PTX JIT only\n", de->d_name, supported[k] / 10,
                       supported[k] % 10);
            else if (v != PF_LIB_NATIVE && v != PF_LIB_NO_DEVICE_CODE)
                fail_msg("%s flagged %s on %d.%d (native %zu jit %zu missing %zu of %zu)", de->d_name,
                         pf_lib_verdict_name(v), supported[k] / 10, supported[k] % 10, c.native, c.jit, c.missing,
                         c.containers);
        }
        pf_fatbin_free(fb);
        free(p);
    }
    closedir(d);
}

static void test_thor_verdicts(void **state)
{
    (void)state;
    static const struct {
        const char *lib;
        pf_lib_verdict want;
    } t[] = {
        {"libcublas.so.13", PF_LIB_MISSING},    {"libcublasLt.so.13", PF_LIB_MISSING},
        {"libcufft.so.12", PF_LIB_NATIVE},      /* x86 cuFFT does carry sm_110 */
        {"libnccl.so.2", PF_LIB_NATIVE},        {"libcufftw.so.12", PF_LIB_NO_DEVICE_CODE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *p = pf_path_join(lib64, t[i].lib);
        bool present = pf_is_file(p);
        free(p);
        if (!present)
            continue;
        pf_fatbin *fb = scan_lib(t[i].lib);
        pf_lib_coverage c;
        pf_kernels_coverage_init(&c, 110, 0);
        pf_kernels_coverage_add(&c, fb);
        if (pf_kernels_verdict(&c) != t[i].want)
            fail_msg("%s on 11.0: %s, want %s", t[i].lib, pf_lib_verdict_name(pf_kernels_verdict(&c)),
                     pf_lib_verdict_name(t[i].want));
        pf_fatbin_free(fb);
    }
}

int main(void)
{
    lib64 = getenv("PF_CUDA_LIB64");
    if (!lib64 || !*lib64)
        lib64 = "/usr/local/cuda/lib64";
    char *probe = pf_path_join(lib64, "libcublas.so.13");
    bool ok = pf_is_file(probe);
    free(probe);
    if (!ok) {
        printf("SKIP: %s/libcublas.so.13 not found (no CUDA 13 toolkit libraries here)\n", lib64);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cublas_inventory), cmocka_unit_test(test_unusual_sections),
        cmocka_unit_test(test_every_library_found), cmocka_unit_test(test_no_false_alarms),
        cmocka_unit_test(test_thor_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

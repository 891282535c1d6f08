/* The fatbin scanner and ELF reader on built-by-hand files: every field,
 * every place containers hide, and damaged or hostile input (truncated at
 * every offset, sizes that overrun, random bytes, empty files, directories,
 * FIFOs, dangling symlinks).  Run it under -DPF_SANITIZE=ON too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fatbin_builder.h"
#include "testfix.h"
#include "probes/kernels/elf.h"
#include "probes/kernels/fatbin.h"


static char *write_file(const char *name, const void *data, size_t n)
{
    char *p = pf_path_join(tf_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    return tf_tmpdir_create("fatbin");
}

static int teardown(void **state)
{
    (void)state;
    return tf_tmpdir_remove();
}

/* The reference's k1.so: sm_110a + sm_121 + compute_121 + compute_90. */
static fb_buf sample_fatbin(void)
{
    fb_buf b = {0};
    fb_ent dlink[] = {{2, 110, 'a', 0, 0, FB_RAW, 0, NULL, 0}, {2, 121, 0, 0, 0, FB_RAW, 0, NULL, 0}};
    fb_ent tu[] = {{2, 110, 'a', 0, 0, FB_RAW, 0, NULL, 0},
                   {2, 121, 0, 0, 0, FB_RAW, 0, NULL, 0},
                   {1, 121, 0, 9, 0, FB_ZSTD, 0, NULL, 0x17b},
                   {1, 90, 0, 9, 0, FB_ZSTD, 0, NULL, 0x180}};
    fb_container(&b, dlink, 2);
    fb_container(&b, tu, 4);
    return b;
}

static void test_raw_fatbin_fields(void **state)
{
    (void)state;
    fb_buf b = {0};
    fb_ent e[] = {{2, 110, 'a', 0, 0, FB_RAW, 0, NULL, 0},   {2, 110, 'f', 0, 0, FB_LZ4, 0, NULL, 0},
                  {1, 120, 'f', 9, 0, FB_ZSTD, 1, NULL, 0}, {8, 75, 0, 0, 0, FB_LZ4, 0, NULL, 0},
                  {1, 90, 0, 8, 8, FB_RAW, 0, NULL, 0}};
    fb_container(&b, e, 5);
    pf_err err = {{0}};
    pf_fatbin *fb = pf_fatbin_scan_memory(b.p, b.n, "raw", &err);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_FATBIN);
    assert_int_equal(pf_fatbin_container_count(fb), 1);
    assert_int_equal(pf_fatbin_entry_count(fb), 5);
    const pf_fatbin_entry *x = pf_fatbin_entry_at(fb, 0);
    assert_int_equal(x->kind, PF_FB_KIND_ELF);
    assert_int_equal(x->arch, 110);
    assert_int_equal(x->variant, 'a');
    assert_int_equal(x->codec, PF_FB_RAW);
    x = pf_fatbin_entry_at(fb, 1);
    assert_int_equal(x->variant, 'f');
    assert_int_equal(x->codec, PF_FB_LZ4);
    x = pf_fatbin_entry_at(fb, 2);
    assert_int_equal(x->kind, PF_FB_KIND_PTX);
    assert_int_equal(x->ver_major, 9);
    assert_int_equal(x->ver_minor, 0);
    assert_int_equal(x->codec, PF_FB_ZSTD);
    assert_true(x->debug);
    assert_int_equal(x->compressed_size, 0x100 - 3);
    assert_int_equal(x->uncompressed_size, 0x300);
    x = pf_fatbin_entry_at(fb, 3);
    assert_int_equal(x->kind, PF_FB_KIND_LTOIR);
    x = pf_fatbin_entry_at(fb, 4);
    assert_int_equal(x->ver_major, 8);
    assert_int_equal(x->ver_minor, 8);
    char name[32];
    pf_fatbin_entry_name(pf_fatbin_entry_at(fb, 2), name, sizeof name);
    assert_string_equal(name, "compute_120f");
    pf_fatbin_entry_name(pf_fatbin_entry_at(fb, 3), name, sizeof name);
    assert_string_equal(name, "lto_75");
    assert_int_equal(pf_fatbin_problem_count(fb), 0);
    pf_fatbin_free(fb);
    free(b.p);
}

/* Containers in .nv_fatbin, in .rodata, in a section that starts off the
 * 8-byte grid (cuFFT's .ldata), in __nv_relfatbin; none read from a
 * non-allocated section; a .so whose .nv_fatbin has only a kernel-less
 * stub is still found by its other sections. */
static void test_elf_sections(void **state)
{
    (void)state;
    fb_buf nv = sample_fatbin(), ro = {0}, ld = {0}, rel = {0}, dbg = {0};
    uint8_t pre[24] = {1, 2, 3};
    fb_put(&ro, pre, sizeof pre);
    fb_container(&ro, (fb_ent[]){{2, 90, 0, 0, 0, FB_ZSTD, 0, NULL, 0}}, 1);
    fb_container(&ld, (fb_ent[]){{1, 75, 0, 7, 0, FB_LZ4, 0, NULL, 0}}, 1);
    fb_container(&ld, (fb_ent[]){{2, 86, 0, 0, 0, FB_LZ4, 0, NULL, 0}}, 1);
    fb_container(&rel, (fb_ent[]){{2, 80, 0, 0, 0, FB_ZSTD, 0, NULL, 0}}, 1);
    fb_container(&dbg, (fb_ent[]){{2, 70, 0, 0, 0, FB_RAW, 0, NULL, 0}}, 1);
    fb_sec secs[] = {
        {".text", 1, 6, (const uint8_t *)"\x90\x90\x90\x90\x90\x90\x90\x90", 8, 0},
        {".nv_fatbin", 1, 2, nv.p, nv.n, 0},
        {".rodata", 1, 2, ro.p, ro.n, 0},
        {".ldata", 1, 3, ld.p, ld.n, 4},
        {"__nv_relfatbin", 1, 2, rel.p, rel.n, 0},
        {".debug_info", 1, 0, dbg.p, dbg.n, 0},
        {".bss", 8, 3, NULL, 4096, 0},
    };
    fb_buf elf = fb_elf(secs, sizeof secs / sizeof secs[0], 3, 62, 0, 0);
    char *path = write_file("lib.so", elf.p, elf.n);
    pf_err err = {{0}};
    pf_fatbin *fb = pf_fatbin_scan_file(path, &err);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_ELF);
    assert_int_equal(pf_fatbin_container_count(fb), 6); /* 2 + 1 + 2 + 1, not the .debug_info one */
    int named = 0, in_ldata = 0;
    for (size_t i = 0; i < pf_fatbin_container_count(fb); i++) {
        const pf_fatbin_container *c = pf_fatbin_container_at(fb, i);
        named += c->named;
        in_ldata += strcmp(pf_fatbin_section_name(fb, c->section), ".ldata") == 0;
        assert_string_not_equal(pf_fatbin_section_name(fb, c->section), ".debug_info");
    }
    assert_int_equal(named, 3);
    assert_int_equal(in_ldata, 2);
    assert_int_equal(pf_fatbin_entry_count(fb), 6 + 1 + 2 + 1);
    assert_int_equal(pf_fatbin_problem_count(fb), 0);
    pf_fatbin_free(fb);

    /* the ELF reader itself */
    pf_elf *e = pf_elf_open(path, &err);
    assert_non_null(e);
    assert_true(pf_elf_is_elf(e));
    assert_int_equal(pf_elf_machine(e), 62);
    assert_non_null(pf_elf_section_by_name(e, ".ldata"));
    assert_null(pf_elf_section_by_name(e, ".nope"));
    pf_elf_cubin cu;
    assert_int_equal(pf_elf_cubin_info(e, &cu, &err), -1);
    assert_non_null(strstr(err.msg, "not a CUDA cubin"));
    pf_elf_close(e);
    free(path);
    free(nv.p);
    free(ro.p);
    free(ld.p);
    free(rel.p);
    free(dbg.p);
    free(elf.p);
}

static void test_bare_cubins(void **state)
{
    (void)state;
    static const struct {
        int sm, a, kernel;
        const char *opts;
        char want;
    } t[] = {{110, 1, 1, "-arch sm_110a -m 64 ", 'a'}, {110, 0, 1, "-arch sm_110f -m 64 ", 'f'},
             {121, 0, 1, "-arch sm_121 -m 64 ", 0},    {90, 1, 1, NULL, 'a'},
             {120, 0, 0, "-arch sm_120 -m 64 ", 0}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        fb_buf c = fb_cubin(t[i].sm, t[i].a, t[i].kernel, t[i].opts);
        char name[32];
        snprintf(name, sizeof name, "k%zu.cubin", i);
        char *path = write_file(name, c.p, c.n);
        pf_err err = {{0}};
        pf_elf *e = pf_elf_open(path, &err);
        assert_non_null(e);
        pf_elf_cubin cu;
        assert_int_equal(pf_elf_cubin_info(e, &cu, &err), 0);
        assert_int_equal(cu.sm, t[i].sm);
        assert_int_equal(cu.variant, t[i].want);
        assert_int_equal(cu.has_code, t[i].kernel);
        if (t[i].opts) {
            assert_string_equal(cu.toolkit, "Cuda compilation tools, release 13.0, V13.0.88");
            assert_string_equal(cu.producer, "ptxas");
        }
        pf_elf_close(e);
        pf_fatbin *fb = pf_fatbin_scan_file(path, &err);
        assert_non_null(fb);
        assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_CUBIN);
        assert_int_equal(pf_fatbin_entry_count(fb), 1);
        assert_int_equal(pf_fatbin_entry_at(fb, 0)->arch, t[i].sm);
        assert_int_equal(pf_fatbin_entry_at(fb, 0)->variant, t[i].want);
        assert_int_equal(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 0)), !t[i].kernel);
        pf_fatbin_free(fb);
        free(path);
        free(c.p);
    }
}

/* An uncompressed cubin without kernels inside a container (libcufftw's
 * device-link stub) makes the container "empty"; one with a kernel not. */
static void test_stub_detection(void **state)
{
    (void)state;
    fb_buf stub = fb_cubin(75, 0, 0, NULL), real = fb_cubin(75, 0, 1, NULL), b = {0};
    fb_container(&b, (fb_ent[]){{2, 75, 0, 0, 0, FB_RAW, 0, stub.p, stub.n}}, 1);
    fb_container(&b, (fb_ent[]){{2, 75, 0, 0, 0, FB_RAW, 0, real.p, real.n}}, 1);
    fb_container(&b, (fb_ent[]){{2, 75, 0, 0, 0, FB_ZSTD, 0, NULL, 0}}, 1);
    pf_fatbin *fb = pf_fatbin_scan_memory(b.p, b.n, "stub", NULL);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_container_count(fb), 3);
    assert_true(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 0)));
    assert_false(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 1)));
    assert_false(pf_fatbin_container_is_empty(fb, pf_fatbin_container_at(fb, 2))); /* compressed: unknown */
    assert_int_equal(pf_fatbin_entry_at(fb, 0)->has_code, 0);
    assert_int_equal(pf_fatbin_entry_at(fb, 1)->has_code, 1);
    assert_int_equal(pf_fatbin_entry_at(fb, 2)->has_code, -1);
    pf_fatbin_free(fb);
    free(stub.p);
    free(real.p);
    free(b.p);
}

/* Damaged containers in .nv_fatbin: skipped with a problem, the good one
 * after them still found, nothing read out of bounds. */
static void test_damaged_containers(void **state)
{
    (void)state;
    struct {
        const char *what;
        size_t field; /* offset inside the first container to patch */
        uint64_t value;
        int width;
        const char *problem;
    } t[] = {
        {"fatSize overruns the section", 8, 0x7fffffffffffull, 8, "runs past the end"},
        {"fatSize zero", 8, 0, 8, "empty"},
        {"entry headerSize 0", 16 + 4, 0, 4, "implausible entry header size"},
        {"entry headerSize huge", 16 + 4, 0x100000, 4, "implausible entry header size"},
        {"absurd payloadSize", 16 + 8, 0xffffffffffffff00ull, 8, "payload runs past"},
        {"unknown kind", 16, 3, 2, "unknown entry kind"},
        {"arch 0", 16 + 0x1c, 0, 4, "implausible architecture"},
        {"arch 4000", 16 + 0x1c, 4000, 4, "implausible architecture"},
        {"both LZ4 and ZSTD", 16 + 0x28, 0xa011, 8, "compression"},
        {"a and f", 16 + 0x28, 0x300011, 8, "both 'a' and 'f'"},
        {"payload does not tile", 16 + 8, 0x108, 8, "entry 1 at"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        fb_buf b = {0};
        fb_container(&b, (fb_ent[]){{2, 90, 0, 0, 0, FB_RAW, 0, NULL, 0}, {2, 80, 0, 0, 0, FB_RAW, 0, NULL, 0}}, 2);
        size_t good = fb_container(&b, (fb_ent[]){{2, 120, 0, 0, 0, FB_RAW, 0, NULL, 0}}, 1);
        if (t[i].width == 8)
            fb_set64(&b, t[i].field, t[i].value);
        else if (t[i].width == 4)
            fb_set32(&b, t[i].field, (uint32_t)t[i].value);
        else
            memcpy(b.p + t[i].field, &(uint16_t){(uint16_t)t[i].value}, 2);
        fb_sec secs[] = {{".nv_fatbin", 1, 2, b.p, b.n, 0}};
        fb_buf elf = fb_elf(secs, 1, 3, 62, 0, 0);
        pf_fatbin *fb = pf_fatbin_scan_memory(elf.p, elf.n, "damaged.so", NULL);
        assert_non_null(fb);
        bool found_good = false;
        for (size_t k = 0; k < pf_fatbin_container_count(fb); k++)
            found_good |= pf_fatbin_entry_at(fb, pf_fatbin_container_at(fb, k)->first)->arch == 120;
        if (!found_good)
            fail_msg("%s: the intact container at 0x%zx was lost", t[i].what, good);
        assert_true(pf_fatbin_problem_count(fb) >= 1);
        bool said = false;
        for (size_t k = 0; k < pf_fatbin_problem_kept(fb); k++)
            said |= strstr(pf_fatbin_problem(fb, k), t[i].problem) != NULL;
        if (!said)
            fail_msg("%s: no problem mentions '%s' (first: %s)", t[i].what, t[i].problem, pf_fatbin_problem(fb, 0));
        pf_fatbin_free(fb);
        free(b.p);
        free(elf.p);
    }
}

/* Truncate a valid .so at every offset (and every byte value flipped at a
 * sample of offsets): every result is a clean error or a clean scan. */
static void test_truncation_and_corruption(void **state)
{
    (void)state;
    fb_buf nv = sample_fatbin();
    fb_sec secs[] = {{".nv_fatbin", 1, 2, nv.p, nv.n, 0}, {".rodata", 1, 2, nv.p, nv.n, 0}};
    fb_buf elf = fb_elf(secs, 2, 3, 62, 0, 0);
    size_t errors = 0, scans = 0;
    for (size_t len = 1; len < elf.n; len++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, elf.p, len);
        pf_err err = {{0}};
        pf_fatbin *fb = pf_fatbin_scan_memory(copy, len, "trunc.so", &err);
        if (fb) {
            scans++;
            assert_true(pf_fatbin_container_count(fb) <= 4);
            pf_fatbin_free(fb);
        } else {
            errors++;
            assert_non_null(strstr(err.msg, "trunc.so"));
        }
        free(copy);
    }
    /* The section table sits at the end, so most truncations are errors
     * that name the file. */
    assert_true(errors > elf.n / 2);
    assert_true(scans > 0);
    srand(7);
    for (size_t k = 0; k < 4000; k++) {
        uint8_t *copy = malloc(elf.n);
        memcpy(copy, elf.p, elf.n);
        for (int f = 0; f < 4; f++)
            copy[(size_t)rand() % elf.n] = (uint8_t)rand();
        pf_fatbin *fb = pf_fatbin_scan_memory(copy, elf.n, "flip.so", NULL);
        pf_fatbin_free(fb);
        free(copy);
    }
    free(nv.p);
    free(elf.p);
}

static void test_random_bytes_make_nothing(void **state)
{
    (void)state;
    size_t n = 4 << 20;
    uint8_t *r = malloc(n);
    srand(11);
    for (size_t i = 0; i < n; i++)
        r[i] = (uint8_t)rand();
    /* plant container signatures with garbage after them */
    static const uint8_t sig[8] = {0x50, 0xed, 0x55, 0xba, 0x01, 0x00, 0x10, 0x00};
    for (size_t i = 4096; i + 64 < n; i += 65536)
        memcpy(r + i, sig, 8);
    fb_sec secs[] = {{".rodata", 1, 2, r, n, 0}};
    fb_buf elf = fb_elf(secs, 1, 3, 62, 0, 0);
    pf_fatbin *fb = pf_fatbin_scan_memory(elf.p, elf.n, "random.so", NULL);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_container_count(fb), 0);
    assert_int_equal(pf_fatbin_entry_count(fb), 0);
    pf_fatbin_free(fb);
    /* random bytes as a whole file: not ELF, not a fatbin */
    fb = pf_fatbin_scan_memory(r, n, "random.bin", NULL);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_OTHER);
    assert_non_null(strstr(pf_fatbin_describe_other(fb), "neither an ELF file nor a CUDA fatbin"));
    pf_fatbin_free(fb);
    free(elf.p);
    free(r);
}

static void expect_error(const char *path, const char *needle)
{
    pf_err err = {{0}};
    pf_fatbin *fb = pf_fatbin_scan_file(path, &err);
    if (fb)
        fail_msg("%s: scanned, expected an error with '%s'", path, needle);
    if (!strstr(err.msg, needle) || !strstr(err.msg, path))
        fail_msg("%s: error '%s' lacks '%s' or the path", path, err.msg, needle);
}

static void test_hostile_files(void **state)
{
    (void)state;
    char *empty = write_file("empty.so", NULL, 0);
    expect_error(empty, "empty (0 bytes)");
    expect_error(tf_tmpdir(), "a directory");
    char *fifo = pf_path_join(tf_tmpdir(), "pipe.so");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_error(fifo, "a FIFO"); /* must not block waiting for a writer */
    char *dangling = pf_path_join(tf_tmpdir(), "dangling.so");
    assert_int_equal(symlink("/nonexistent/libx.so", dangling), 0);
    expect_error(dangling, "No such file");
    expect_error("/nonexistent/dir/lib.so", "No such file");
    /* ELF headers that lie */
    fb_buf nv = sample_fatbin();
    fb_sec secs[] = {{".nv_fatbin", 1, 2, nv.p, nv.n, 0}};
    fb_buf elf = fb_elf(secs, 1, 3, 62, 0, 0);
    struct {
        const char *name;
        size_t off;
        uint64_t v;
        int w;
        const char *needle;
    } lies[] = {
        {"shoff.so", 0x28, 0xffffffffffull, 8, "beyond the end"},
        {"shnum.so", 0x3c, 0xfff0, 2, "runs past the end"},
        {"shentsize.so", 0x3a, 8, 2, "smaller than 64"},
        {"shstrndx.so", 0x3e, 0x7777, 2, "out of range"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        fb_buf c = {0};
        fb_put(&c, elf.p, elf.n);
        if (lies[i].w == 8)
            fb_set64(&c, lies[i].off, lies[i].v);
        else
            memcpy(c.p + lies[i].off, &(uint16_t){(uint16_t)lies[i].v}, 2);
        char *p = write_file(lies[i].name, c.p, c.n);
        expect_error(p, lies[i].needle);
        free(p);
        free(c.p);
    }
    /* 32-bit and big-endian ELF */
    fb_buf c = {0};
    fb_put(&c, elf.p, elf.n);
    c.p[4] = 1;
    char *p32 = write_file("elf32.so", c.p, c.n);
    expect_error(p32, "32-bit");
    c.p[4] = 2;
    c.p[5] = 2;
    char *pbe = write_file("be.so", c.p, c.n);
    expect_error(pbe, "big-endian");
    /* tiny ELF */
    char *tiny = write_file("tiny.so", "\177ELF\2\1", 6);
    expect_error(tiny, "truncated ELF header");
    /* a section whose range lies outside the file: a problem, not a crash */
    fb_buf d = {0};
    fb_put(&d, elf.p, elf.n);
    uint64_t shoff;
    memcpy(&shoff, d.p + 0x28, 8);
    fb_set64(&d, shoff + 64 + 0x18, 0xfffffffff0ull); /* section 1 offset */
    pf_fatbin *fb = pf_fatbin_scan_memory(d.p, d.n, "outside.so", NULL);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_container_count(fb), 0);
    assert_non_null(strstr(pf_fatbin_problem(fb, 0), "lies outside the file"));
    pf_fatbin_free(fb);
    /* a text file named .so: scanned as "other", not an error */
    char *script = write_file("libc.so", "/* GNU ld script */\nGROUP ( libc.so.6 )\n", 40);
    fb = pf_fatbin_scan_file(script, NULL);
    assert_non_null(fb);
    assert_int_equal(pf_fatbin_kind(fb), PF_FB_FILE_OTHER);
    pf_fatbin_free(fb);
    free(script);
    free(d.p);
    free(c.p);
    free(p32);
    free(pbe);
    free(tiny);
    free(empty);
    free(fifo);
    free(dangling);
    free(nv.p);
    free(elf.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_fatbin_fields),   cmocka_unit_test(test_elf_sections),
        cmocka_unit_test(test_bare_cubins),         cmocka_unit_test(test_stub_detection),
        cmocka_unit_test(test_damaged_containers),  cmocka_unit_test(test_truncation_and_corruption),
        cmocka_unit_test(test_random_bytes_make_nothing), cmocka_unit_test(test_hostile_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* /proc/meminfo parsing against recorded and reconstructed samples
 * (tests/probes/mem/data/meminfo/README.md says where each comes from). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/mem/meminfo.h"

#define KB 1024LL
#define DATA PF_SOURCE_DIR "/tests/probes/mem/data/meminfo/"

static void test_gb10_pagecache(void **state)
{
    pf_meminfo m;
    pf_err e = {{0}};
    assert_int_equal(pf_meminfo_read(DATA "gb10-pagecache.txt", &m, &e), 0);
    assert_int_equal(m.mem_total, 127601213 * KB);
    assert_int_equal(m.mem_free, 43536876 * KB);
    assert_int_equal(m.mem_available, 121267814 * KB);
    assert_int_equal(m.cached, 75319214 * KB);
    assert_int_equal(m.swap_free, 16777212 * KB);
    assert_int_equal(m.cma_total, 0);
    assert_int_equal(m.hugepages_total, 0);
    assert_int_equal(m.nvmap_mem_used, -1); /* absent on the nvidia.ko stack */
    /* the unsloth numbers: 115.65 - 41.52 = 74.13 GiB reclaimable */
    double rec = (double)pf_meminfo_reclaimable(&m) / (1024.0 * 1024 * 1024);
    assert_true(rec > 74.12 && rec < 74.14);
    json_t *j = pf_meminfo_to_json(&m);
    assert_int_equal(json_integer_value(json_object_get(j, "mem_free_bytes")), 43536876 * KB);
    assert_int_equal(json_integer_value(json_object_get(j, "reclaimable_bytes")), pf_meminfo_reclaimable(&m));
    assert_null(json_object_get(j, "nvmap_mem_used_bytes"));
    json_decref(j);
}

static void test_jetson_cma_hugepages(void **state)
{
    pf_meminfo m;
    pf_err e = {{0}};
    assert_int_equal(pf_meminfo_read(DATA "jetson-cma-hugepages.txt", &m, &e), 0);
    assert_int_equal(m.cma_total, 524288 * KB);
    assert_int_equal(m.cma_free, 498176 * KB);
    assert_int_equal(m.hugepages_total, 2048); /* a count, not kB */
    assert_int_equal(m.hugepages_free, 2048);
    assert_int_equal(m.hugepagesize, 2048 * KB);
    assert_int_equal(m.hugetlb, 4194304 * KB);
    assert_int_equal(pf_meminfo_reclaimable(&m), (112043008 - 98911232) * KB);
}

static void test_x86_recorded(void **state)
{
    pf_meminfo m;
    pf_err e = {{0}};
    assert_int_equal(pf_meminfo_read(DATA "x86-vm-recorded.txt", &m, &e), 0);
    assert_int_equal(m.mem_total, 24684084 * KB);
    assert_int_equal(m.mem_free, 21472412 * KB);
    assert_true(m.mem_available > m.mem_free);
    assert_int_equal(m.swap_total, 0);
    assert_int_equal(m.cma_total, -1); /* no CMA line on this kernel */
}

static void expect_error(const char *file, const char *needle)
{
    pf_meminfo m;
    pf_err e = {{0}};
    assert_int_equal(pf_meminfo_read(file, &m, &e), -1);
    if (!strstr(e.msg, needle))
        fail_msg("error '%s' lacks '%s'", e.msg, needle);
}

static void test_malformed(void **state)
{
    expect_error(DATA "truncated.txt", "without a newline");
    expect_error(DATA "truncated.txt", "truncated.txt");
    expect_error(DATA "garbage.txt", "NUL bytes");
    expect_error(DATA "no-colon.txt", "line 2 has no 'Key:'");
    expect_error(DATA "bad-value.txt", "MemFree has an unreadable value");
    expect_error(DATA "no-memtotal.txt", "no MemTotal");
    expect_error(DATA "does-not-exist.txt", "does-not-exist.txt");

    pf_meminfo m;
    pf_err e = {{0}};
    assert_int_equal(pf_meminfo_parse("", "x", &m, &e), -1);
    assert_int_equal(pf_meminfo_parse("MemTotal: 10 kB\nMemFree: 20 kB\n", "x", &m, &e), -1);
    assert_non_null(strstr(e.msg, "exceeds MemTotal"));
    assert_int_equal(pf_meminfo_parse("MemTotal: 99999999999999999999 kB\nMemFree: 1 kB\n", "x", &m, &e), -1);
    assert_int_equal(pf_meminfo_parse("MemTotal: 10 MB\nMemFree: 1 kB\n", "x", &m, &e), -1);
    assert_int_equal(pf_meminfo_parse("HugePages_Total: 4 kB\nMemTotal: 10 kB\nMemFree: 1 kB\n", "x", &m, &e), -1);
    /* unknown keys with odd values are ignored */
    assert_int_equal(pf_meminfo_parse("MemTotal: 10 kB\nMemFree: 1 kB\nFoo: bar baz\n", "x", &m, &e), 0);
    assert_int_equal(m.mem_available, -1);
    assert_int_equal(pf_meminfo_reclaimable(&m), 0);
}

static void test_live(void **state)
{
    pf_meminfo m;
    pf_err e = {{0}};
    if (pf_meminfo_read("/proc/meminfo", &m, &e) != 0)
        fail_msg("live /proc/meminfo: %s", e.msg);
    assert_true(m.mem_total > 0 && m.mem_free >= 0 && m.mem_free <= m.mem_total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gb10_pagecache), cmocka_unit_test(test_jetson_cma_hugepages),
        cmocka_unit_test(test_x86_recorded),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* mem.headroom decisions, one row per situation (numbers from the H100
 * machine, the unsloth GB10 measurements, and made-up model sizes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "probes/mem/mem_headroom.h"

#define GIB(x) ((uint64_t)((x) * 1073741824.0))
#define DATA PF_SOURCE_DIR "/tests/probes/mem/data/meminfo/"

typedef struct row {
    const char *name;
    int integrated;
    uint64_t free_b, total_b;
    const char *meminfo;      /* sample file, NULL: none */
    double fraction;
    int nprocs;               /* -1: unknown */
    int64_t procs_bytes;
    double model_gib;         /* 0: no --model */
    int pp;
    double stage_max_gib;     /* largest stage */
    pf_status want;
    const char *summary_has;
    const char *remedy_has;   /* NULL: no remedy expected */
    int want_cache_problem;   /* -1: don't care */
    int want_vllm_refuse;     /* -1: don't care */
} row;

static const row rows[] = {
    {"H100 idle, no model", 0, 84465090560ULL, 85017493504ULL, NULL, 0.85, 0, -1, 0, 1, 0, PF_PASS,
     "78.7 of 79.2 GiB free; static pool 0.85 x free = 66.9 GiB", NULL, 0, 0},
    {"H100, another process holds 20 GiB", 0, GIB(58.6), GIB(79.2), NULL, 0.85, 1, (int64_t)GIB(20), 0, 1, 0,
     PF_WARN, "1 other process on the GPU (4242 python3) holding 20.0 GiB", "Stop the other", 0, 1},
    {"H100 almost full, processes unknown", 0, GIB(2), GIB(79.2), NULL, 0.85, -1, -1, 0, 1, 0, PF_WARN,
     "vLLM refuses to start", "Lower --mem-fraction-static", 0, 1},
    {"GB10 page cache, no model", 1, GIB(41.52), GIB(121.69), "gb10-pagecache.txt", 0.85, -1, -1, 0, 1, 0,
     PF_WARN, "only 34% of the device is free", "drop_caches", 1, 1},
    {"GB10 page cache, 70 GiB model: fails now, fits after drop_caches", 1, GIB(41.52), GIB(121.69),
     "gb10-pagecache.txt", 0.85, -1, -1, 70, 1, 70, PF_FAIL, "the model holds 70.0 GiB of weights but the static "
     "pool is 35.3 GiB", "drop_caches", 1, 1},
    {"GB10 clean, 140 GiB model over pp=2", 1, GIB(115.0), GIB(121.69), NULL, 0.85, 0, -1, 140, 2, 70.5,
     PF_PASS, "the largest pipeline stage (stage 1 of 2) (70.5 GiB of weights) fits, leaving 27.2 GiB", NULL, 0, 0},
    {"GB10 page cache, 240 GiB model over pp=2: too big even after drop", 1, GIB(41.52), GIB(121.69),
     "gb10-pagecache.txt", 0.85, -1, -1, 240, 2, 120, PF_FAIL, "stage 0 of 2", "(--pp)", 0, 1},
    {"discrete, stage fits with < 1 GiB KV room", 0, GIB(79), GIB(80), NULL, 0.85, 0, -1, 133.4, 2, 66.7,
     PF_WARN, "leaves only 0.45 GiB for the KV cache", "--mem-fraction-static to at least 0.86", 0, 0},
    {"discrete, pp share does not fit", 0, GIB(79), GIB(80), NULL, 0.85, 0, -1, 150, 2, 75, PF_FAIL,
     "holds 75.0 GiB of weights but the static pool is 67.1 GiB", "Split the model", 0, 0},
    {"fraction out of range", 0, GIB(79), GIB(80), NULL, 1.5, 0, -1, 0, 1, 0, PF_ERROR,
     "--mem-fraction-static 1.5 is outside", NULL, -1, -1},
    {"driver reports nothing", 0, 0, 0, NULL, 0.85, 0, -1, 0, 1, 0, PF_ERROR, "0 bytes free of 0 total", NULL, -1,
     -1},
    {"integrated without /proc/meminfo", 1, GIB(41.52), GIB(121.69), NULL, 0.85, -1, -1, 0, 1, 0, PF_WARN,
     "only 34%", "Lower --mem-fraction-static", 0, 1},
    {"GB10 with some page cache but plenty free", 1, GIB(110), GIB(121.69), "jetson-cma-hugepages.txt", 0.85, 0,
     -1, 0, 1, 0, PF_PASS, "12.5 GiB is reclaimable page cache", "drop_caches", 0, 0},
    {"Thor-like, processes present and pool too small after drop", 1, GIB(20), GIB(122), "gb10-pagecache.txt",
     0.90, 2, -1, 0, 1, 0, PF_WARN, "2 other processes on the GPU (4242 python3, 4243 python3)", "Stop the other",
     0, 1},
};

static void run_row(const row *r)
{
    pf_mem_facts f;
    memset(&f, 0, sizeof f);
    snprintf(f.label, sizeof f.label, "GPU 0 test");
    f.integrated = r->integrated;
    f.free_b = r->free_b;
    f.total_b = r->total_b;
    f.fraction = r->fraction;
    f.allowance = PF_MEM_KV_ALLOWANCE;
    if (r->meminfo) {
        pf_err e;
        char path[512];
        snprintf(path, sizeof path, DATA "%s", r->meminfo);
        assert_int_equal(pf_meminfo_read(path, &f.mi, &e), 0);
        f.have_meminfo = true;
    }
    if (r->nprocs >= 0) {
        f.procs_known = true;
        f.nprocs = (size_t)r->nprocs;
        f.procs_bytes = r->procs_bytes;
        snprintf(f.procs_list, sizeof f.procs_list, "%s", r->nprocs == 1 ? "4242 python3" : "4242 python3, 4243 python3");
    }
    f.pp = r->pp;
    if (r->model_gib > 0) {
        f.have_model = true;
        f.weight_bytes = GIB(r->model_gib);
        f.stage_max = GIB(r->stage_max_gib);
        f.stage_max_index = r->pp > 1 && r->stage_max_gib * r->pp > r->model_gib + 0.01 ? r->pp - 1 : 0;
    }
    pf_mem_verdict v;
    pf_mem_decide(&f, &v);
    if (v.status != r->want || !strstr(v.summary, r->summary_has))
        fail_msg("[%s] status %s summary '%s' (wanted %s containing '%s')", r->name, pf_status_name(v.status),
                 v.summary, pf_status_name(r->want), r->summary_has);
    if (r->remedy_has ? !strstr(v.remedy, r->remedy_has) : v.remedy[0] != '\0')
        fail_msg("[%s] remedy '%s' (wanted %s)", r->name, v.remedy, r->remedy_has ? r->remedy_has : "none");
    if (r->want_cache_problem >= 0 && v.cache_is_the_problem != (r->want_cache_problem == 1))
        fail_msg("[%s] cache_is_the_problem=%d", r->name, v.cache_is_the_problem);
    if (r->want_vllm_refuse >= 0 && v.vllm_would_refuse != (r->want_vllm_refuse == 1))
        fail_msg("[%s] vllm_would_refuse=%d", r->name, v.vllm_would_refuse);
}

static void test_rows(void **state)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* The pool is free x fraction, not total x fraction: SGLang measures free
 * memory before loading (pre_model_load_memory). */
static void test_budget_is_free_times_fraction(void **state)
{
    pf_mem_facts f;
    memset(&f, 0, sizeof f);
    f.free_b = GIB(50);
    f.total_b = GIB(80);
    f.fraction = 0.8;
    pf_mem_verdict v;
    pf_mem_decide(&f, &v);
    assert_true(v.budget_b > (double)GIB(40) - 2 && v.budget_b < (double)GIB(40) + 2);
    assert_true(v.vllm_would_refuse); /* 50 < 80 * 0.8 */
    f.free_b = GIB(65);
    pf_mem_decide(&f, &v);
    assert_false(v.vllm_would_refuse);
    assert_int_equal(v.status, PF_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_budget_is_free_times_fraction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

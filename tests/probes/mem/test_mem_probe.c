/* The mem.headroom probe end to end: on a machine without a GPU (skip, with
 * /proc/meminfo and model facts in the evidence), with a corrupt model
 * (error naming the file), and -- where libcuda.so.1 and a GPU exist -- the
 * real driver path, run repeatedly to show that no context is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testfix.h"
#include "probes/mem/mem_headroom.h"
#include "st_fixture.h"


typedef struct probe_run {
    pf_run *run;
    pf_check *c;
    json_t *ev;
} probe_run;

static void run_probe(probe_run *r, pf_probe_ctx *reuse, const pf_probe_opts *o)
{
    char *argv[] = {"check"};
    r->run = pf_run_new(1, argv);
    pf_node *node = pf_run_add_node(r->run, "local", NULL);
    pf_probe_ctx own, *ctx = reuse ? reuse : &own;
    if (!reuse)
        pf_ctx_init(&own, o, r->run, node);
    else
        ctx->run = r->run, ctx->node = node;
    pf_probe_mem_headroom(ctx);
    if (!reuse)
        pf_ctx_free(&own);
    assert_int_equal(pf_run_check_count(r->run), 1);
    r->c = pf_run_check(r->run, 0);
    assert_string_equal(pf_check_id(r->c), "mem.headroom");
    r->ev = pf_check_evidence(r->c);
}

/* A two-layer model: 4 KiB of embeddings, two 1 KiB layers, 4 KiB head. */
static void write_model(const char *dir, bool corrupt)
{
    mkdir(dir, 0755);
    const char *hdr =
        "{\"model.embed_tokens.weight\":{\"dtype\":\"BF16\",\"shape\":[128,16],\"data_offsets\":[0,4096]},"
        "\"model.layers.0.w\":{\"dtype\":\"F32\",\"shape\":[256],\"data_offsets\":[4096,5120]},"
        "\"model.layers.1.w\":{\"dtype\":\"F32\",\"shape\":[256],\"data_offsets\":[5120,6144]},"
        "\"lm_head.weight\":{\"dtype\":\"BF16\",\"shape\":[128,16],\"data_offsets\":[6144,10240]}}";
    char p[700];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    /* corrupt: the header claims 5000 bytes more than the file has */
    assert_int_equal(st_write_raw(p, hdr, corrupt ? 0 : 10240, corrupt ? strlen(hdr) + 5000 : 0), 0);
    FILE *f;
    snprintf(p, sizeof p, "%s/config.json", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"model_type\":\"llama\",\"num_hidden_layers\":2}", f);
    fclose(f);
}

static void no_gpu_opts(pf_probe_opts *o)
{
    pf_probe_opts_init(o);
    o->cuda_lib = "/nonexistent/libcuda.so.1";
}

static void test_no_gpu(void **state)
{
    pf_probe_opts o;
    no_gpu_opts(&o);
    probe_run r;
    run_probe(&r, NULL, &o);
    assert_int_equal(pf_check_status(r.c), PF_SKIP);
    assert_non_null(strstr(pf_check_summary(r.c), "no GPU on this node"));
    json_t *mi = json_object_get(r.ev, "meminfo");
    assert_non_null(mi);
    assert_true(json_integer_value(json_object_get(mi, "mem_total_bytes")) > 0);
    assert_non_null(json_object_get(r.ev, "skip_reason"));
    assert_true(json_real_value(json_object_get(r.ev, "mem_fraction_static")) == 0.85);
    pf_run_free(r.run);

    o.arch = "12.1";
    run_probe(&r, NULL, &o);
    assert_int_equal(pf_check_status(r.c), PF_SKIP);
    assert_non_null(strstr(pf_check_summary(r.c), "--arch 12.1"));
    pf_run_free(r.run);
    pf_probe_opts_free(&o);
}

static void test_no_gpu_with_model(void **state)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/model", tf_tmpdir());
    write_model(dir, false);
    pf_probe_opts o;
    no_gpu_opts(&o);
    o.model_dir = dir;
    o.pp = 2;
    probe_run r;
    run_probe(&r, NULL, &o);
    assert_int_equal(pf_check_status(r.c), PF_SKIP);
    json_t *m = json_object_get(r.ev, "model");
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "weight_bytes")), 10240);
    json_t *st = json_object_get(m, "stage_bytes");
    assert_int_equal(json_array_size(st), 2);
    assert_int_equal(json_integer_value(json_array_get(st, 0)), 4096 + 1024);
    assert_int_equal(json_integer_value(json_array_get(st, 1)), 1024 + 4096);
    pf_run_free(r.run);

    /* an explicit partition from the environment, as SGLang reads it */
    setenv("SGLANG_PP_LAYER_PARTITION", "2,0", 1);
    run_probe(&r, NULL, &o);
    st = json_object_get(json_object_get(r.ev, "model"), "stage_bytes");
    assert_int_equal(json_integer_value(json_array_get(st, 0)), 4096 + 2048);
    pf_run_free(r.run);
    unsetenv("SGLANG_PP_LAYER_PARTITION");

    /* more stages than layers is a usage problem the check reports */
    o.pp = 3;
    run_probe(&r, NULL, &o);
    assert_int_equal(pf_check_status(r.c), PF_ERROR);
    assert_non_null(strstr(pf_check_summary(r.c), "--pp 3 exceeds the model's 2 layers"));
    pf_run_free(r.run);
    pf_probe_opts_free(&o);
}

static void test_corrupt_model(void **state)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/corrupt", tf_tmpdir());
    write_model(dir, true);
    pf_probe_opts o;
    no_gpu_opts(&o);
    o.model_dir = dir;
    probe_run r;
    run_probe(&r, NULL, &o);
    assert_int_equal(pf_check_status(r.c), PF_ERROR);
    assert_non_null(strstr(pf_check_summary(r.c), "corrupt/model.safetensors"));
    assert_non_null(json_object_get(r.ev, "model_error"));
    assert_non_null(json_object_get(r.ev, "meminfo")); /* nothing already measured is lost */
    pf_run_free(r.run);
    pf_probe_opts_free(&o);
}

/* ---- on a GPU machine ---------------------------------------------------- */

typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_count_fn)(int *);
typedef int (*cu_get_fn)(int *, int);
typedef int (*cu_state_fn)(int, unsigned *, int *);

static void test_gpu_no_context_left(void **state)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        skip(); /* no driver: nothing to check here */
    cu_init_fn init = (cu_init_fn)dlsym(h, "cuInit");
    cu_count_fn count = (cu_count_fn)dlsym(h, "cuDeviceGetCount");
    cu_get_fn get = (cu_get_fn)dlsym(h, "cuDeviceGet");
    cu_state_fn pstate = (cu_state_fn)dlsym(h, "cuDevicePrimaryCtxGetState");
    int n = 0;
    if (!init || !count || !get || !pstate || init(0) != 0 || count(&n) != 0 || n < 1) {
        dlclose(h);
        skip();
    }
    pf_probe_opts o;
    pf_probe_opts_init(&o);
    char *argv[] = {"check"};
    pf_run *holder = pf_run_new(1, argv);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &o, holder, pf_run_add_node(holder, "local", NULL));
    long long first = -1;
    for (int round = 0; round < 3; round++) {
        probe_run r;
        run_probe(&r, &ctx, &o);
        pf_status st = pf_check_status(r.c);
        printf("# round %d: %s: %s\n", round, pf_status_name(st), pf_check_summary(r.c));
        assert_true(st == PF_PASS || st == PF_WARN || st == PF_FAIL);
        json_t *d0 = json_array_get(json_object_get(r.ev, "devices"), 0);
        long long freeb = json_integer_value(json_object_get(d0, "free_bytes"));
        long long total = json_integer_value(json_object_get(d0, "total_bytes"));
        printf("# round %d: free %lld total %lld integrated %lld processes via %s\n", round, freeb, total,
               json_integer_value(json_object_get(d0, "integrated")),
               json_string_value(json_object_get(json_object_get(d0, "processes"), "source")));
        assert_true(freeb > 0 && total >= freeb);
        if (first < 0)
            first = freeb;
        /* a context left behind would cost hundreds of MiB per round */
        long long drift = freeb > first ? freeb - first : first - freeb;
        if (drift > (64LL << 20))
            fail_msg("free memory moved by %lld bytes between rounds: a context leaks?", drift);
        for (int i = 0; i < n; i++) {
            int dev = -1, active = -1;
            unsigned flags = 0;
            assert_int_equal(get(&dev, i), 0);
            assert_int_equal(pstate(dev, &flags, &active), 0);
            if (active != 0)
                fail_msg("primary context of device %d still active after the probe", i);
        }
        pf_run_free(r.run);
    }
    pf_ctx_free(&ctx);
    pf_run_free(holder);
    pf_probe_opts_free(&o);
    dlclose(h);
}

static int setup(void **state)
{
    return tf_tmpdir_create("memprobe");
}

static int teardown(void **state)
{
    return tf_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_gpu),
        cmocka_unit_test(test_no_gpu_with_model),
        cmocka_unit_test(test_corrupt_model),
        cmocka_unit_test(test_gpu_no_context_left),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

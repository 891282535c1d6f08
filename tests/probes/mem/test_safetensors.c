/* safetensors sizing: files generated here (valid, sharded, corrupt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testfix.h"
#include "probes/mem/safetensors.h"
#include "st_fixture.h"


static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/%s", dir, name);
    return p;
}

static char *mkdir_in(const char *name)
{
    char *p = path_in(tf_tmpdir(), name);
    assert_int_equal(mkdir(p, 0755), 0);
    return p;
}

static void write_raw(const char *path, const char *header, uint64_t data, uint64_t len_override)
{
    assert_int_equal(st_write_raw(path, header, data, len_override), 0);
}

typedef struct tdef {
    const char *name, *dtype;
    int64_t shape[4];
    int rank;
    uint64_t bytes;
} tdef;

/* A valid file holding the tensors, offsets laid out back to back. */
static uint64_t write_st(const char *path, const tdef *t, size_t n)
{
    json_t *h = json_object();
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int k = 0; k < t[i].rank; k++)
            json_array_append_new(shape, json_integer(t[i].shape[k]));
        json_object_set_new(h, t[i].name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", t[i].dtype, "shape", shape, "data_offsets",
                                      (json_int_t)off, (json_int_t)(off + t[i].bytes)));
        off += t[i].bytes;
    }
    char *s = json_dumps(h, JSON_COMPACT);
    write_raw(path, s, off, 0);
    free(s);
    json_decref(h);
    return off;
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(tf_write_file(path, text), 0);
}

static const tdef llama[] = {
    {"model.embed_tokens.weight", "BF16", {100, 16}, 2, 3200},
    {"model.layers.0.self_attn.q_proj.weight", "F16", {16, 16}, 2, 512},
    {"model.layers.1.mlp.up_proj.weight", "F32", {16, 4}, 2, 256},
    {"model.layers.1.mlp.scale", "I8", {10}, 1, 10},
    {"model.layers.2.mlp.down_proj.weight", "F8_E4M3", {3, 5}, 2, 15},
    {"model.layers.2.packed", "F4", {3}, 1, 2},
    {"model.layers.2.bias", "I64", {2}, 1, 16},
    {"model.norm.weight", "F32", {16}, 1, 64},
    {"lm_head.weight", "BF16", {100, 16}, 2, 3200},
};

static void test_single_file_and_stages(void **state)
{
    char *dir = mkdir_in("llama");
    char *f = path_in(dir, "model.safetensors");
    uint64_t total = write_st(f, llama, sizeof llama / sizeof llama[0]);
    char *cfg = path_in(dir, "config.json");
    write_text(cfg, "{\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],\"num_hidden_layers\":3,"
                    "\"torch_dtype\":\"bfloat16\",\"tie_word_embeddings\":false}");
    pf_st_model m;
    pf_err e = {{0}};
    if (pf_st_read_model(dir, &m, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(m.total_bytes, total);
    assert_int_equal(m.total_bytes, 3200 + 512 + 256 + 10 + 15 + 2 + 16 + 64 + 3200);
    assert_int_equal(m.nfiles, 1);
    assert_int_equal(m.nt, 9);
    assert_string_equal(m.model_type, "llama");
    assert_string_equal(m.architecture, "LlamaForCausalLM");
    assert_int_equal(m.num_hidden_layers, 3);
    assert_int_equal(m.tie_word_embeddings, 0);
    assert_string_equal(m.config_error, "");

    uint64_t st[4];
    /* 3 layers over 2 stages: get_pp_indices gives [2, 1] */
    assert_int_equal(pf_st_stage_bytes(&m, 2, NULL, st, &e), 0);
    assert_int_equal(st[0], 3200 + 512 + 256 + 10);
    assert_int_equal(st[1], 15 + 2 + 16 + 64 + 3200);
    assert_int_equal(pf_st_stage_bytes(&m, 1, NULL, st, &e), 0);
    assert_int_equal(st[0], total);
    /* explicit partition, as SGLANG_PP_LAYER_PARTITION */
    assert_int_equal(pf_st_stage_bytes(&m, 2, "1,2", st, &e), 0);
    assert_int_equal(st[0], 3200 + 512);
    assert_int_equal(pf_st_stage_bytes(&m, 2, "1,1", st, &e), -1);
    assert_non_null(strstr(e.msg, "summing to 2"));
    assert_int_equal(pf_st_stage_bytes(&m, 2, "1,x", st, &e), -1);
    assert_int_equal(pf_st_stage_bytes(&m, 4, NULL, st, &e), -1);
    assert_non_null(strstr(e.msg, "exceeds the model's 3 layers"));
    assert_int_equal(pf_st_stage_bytes(&m, 0, NULL, st, &e), -1);

    json_t *j = pf_st_model_to_json(&m);
    assert_int_equal(json_integer_value(json_object_get(j, "weight_bytes")), (json_int_t)total);
    assert_int_equal(json_integer_value(json_object_get(j, "num_hidden_layers")), 3);
    json_decref(j);
    pf_st_model_free(&m);

    /* tied embeddings without an lm_head tensor: the last stage holds a copy */
    char *tied = mkdir_in("tied");
    char *tf = path_in(tied, "model.safetensors");
    write_st(tf, llama, 8); /* everything but lm_head */
    char *tcfg = path_in(tied, "config.json");
    write_text(tcfg, "{\"num_hidden_layers\":3,\"tie_word_embeddings\":true}");
    assert_int_equal(pf_st_read_model(tied, &m, &e), 0);
    assert_int_equal(pf_st_stage_bytes(&m, 2, NULL, st, &e), 0);
    assert_int_equal(st[1], 15 + 2 + 16 + 64 + 3200);
    assert_int_equal(pf_st_stage_bytes(&m, 1, NULL, st, &e), 0);
    assert_int_equal(st[0], m.total_bytes); /* one stage: no copy */
    pf_st_model_free(&m);
    free(dir), free(f), free(cfg), free(tied), free(tf), free(tcfg);
}

static void test_sharded(void **state)
{
    char *dir = mkdir_in("sharded");
    char *s1 = path_in(dir, "model-00001-of-00002.safetensors");
    char *s2 = path_in(dir, "model-00002-of-00002.safetensors");
    uint64_t a = write_st(s1, llama, 4);
    uint64_t b = write_st(s2, llama + 4, 5);
    char *idx = path_in(dir, "model.safetensors.index.json");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"total_size\":%llu},\"weight_map\":{"
             "\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
             "\"model.layers.0.self_attn.q_proj.weight\":\"model-00001-of-00002.safetensors\","
             "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}}",
             (unsigned long long)(a + b));
    write_text(idx, text);
    /* a stray file that the index does not list must not be counted */
    char *stray = path_in(dir, "consolidated.safetensors");
    write_st(stray, llama, 9);
    pf_st_model m;
    pf_err e = {{0}};
    if (pf_st_read_model(dir, &m, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(m.nfiles, 2);
    assert_int_equal(m.total_bytes, a + b);
    assert_int_equal(m.index_total_size, (int64_t)(a + b));
    assert_non_null(strstr(m.config_error, "config.json")); /* absent: recorded, not fatal */
    assert_int_equal(m.num_hidden_layers, -1);
    uint64_t st[2];
    /* no config: layer count from the names (0..2) */
    assert_int_equal(pf_st_stage_bytes(&m, 2, NULL, st, &e), 0);
    assert_int_equal(st[0] + st[1], a + b);
    pf_st_model_free(&m);

    unlink(s2);
    assert_int_equal(pf_st_read_model(dir, &m, &e), -1);
    assert_non_null(strstr(e.msg, "model-00002-of-00002.safetensors"));
    assert_non_null(strstr(e.msg, "missing"));
    pf_st_model_free(&m);

    write_text(idx, "{\"weight_map\": {\"x\": \"../etc/passwd\"}}");
    assert_int_equal(pf_st_read_model(dir, &m, &e), -1);
    assert_non_null(strstr(e.msg, "unusable file name"));
    pf_st_model_free(&m);
    write_text(idx, "{\"weight_map\": ");
    assert_int_equal(pf_st_read_model(dir, &m, &e), -1);
    assert_non_null(strstr(e.msg, "model.safetensors.index.json is not valid JSON"));
    pf_st_model_free(&m);
    free(dir), free(s1), free(s2), free(idx), free(stray);
}

static void expect_corrupt(const char *name, const char *header, uint64_t data, uint64_t len_override,
                           const char *needle)
{
    char *p = path_in(tf_tmpdir(), name);
    write_raw(p, header, data, len_override);
    pf_st_model m;
    memset(&m, 0, sizeof m);
    pf_err e = {{0}};
    if (pf_st_read_file(&m, p, &e) != -1)
        fail_msg("%s: accepted", name);
    if (!strstr(e.msg, needle) || !strstr(e.msg, name))
        fail_msg("%s: error '%s' lacks '%s' or the file name", name, e.msg, needle);
    assert_int_equal(m.nt, 0);
    assert_int_equal(m.total_bytes, 0);
    pf_st_model_free(&m);
    free(p);
}

static void test_corrupt(void **state)
{
    expect_corrupt("len-too-big.safetensors", "{}", 0, 1000, "does not fit");
    expect_corrupt("len-zero.safetensors", "", 16, 0, "header length 0");
    expect_corrupt("not-json.safetensors", "this is not json", 0, 0, "not valid JSON");
    expect_corrupt("array.safetensors", "[1,2,3]", 0, 0, "not an object");
    expect_corrupt("neg-shape.safetensors",
                   "{\"w\":{\"dtype\":\"F16\",\"shape\":[-4,2],\"data_offsets\":[0,16]}}", 16, 0,
                   "negative dimension");
    expect_corrupt("overflow.safetensors",
                   "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}}", 16, 0,
                   "overflows 64 bits");
    expect_corrupt("bigint.safetensors",
                   "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}", 4, 0,
                   "not valid JSON");
    expect_corrupt("mismatch.safetensors",
                   "{\"w\":{\"dtype\":\"BF16\",\"shape\":[4,4],\"data_offsets\":[0,16]}}", 16, 0,
                   "32 bytes but data_offsets span 16");
    expect_corrupt("past-end.safetensors",
                   "{\"w\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 16, 0,
                   "outside the 16 data bytes");
    expect_corrupt("no-dtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0, "no \"dtype\"");
    expect_corrupt("dup-key.safetensors",
                   "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                   "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0, "not valid JSON");
    /* a file shorter than the length field */
    char *p = path_in(tf_tmpdir(), "tiny.safetensors");
    write_text(p, "abc");
    pf_st_model m;
    memset(&m, 0, sizeof m);
    pf_err e = {{0}};
    assert_int_equal(pf_st_read_file(&m, p, &e), -1);
    assert_non_null(strstr(e.msg, "too short"));
    free(p);
    /* an unknown (future) dtype is sized by its declared span */
    p = path_in(tf_tmpdir(), "future.safetensors");
    write_raw(p, "{\"w\":{\"dtype\":\"F3_NEW\",\"shape\":[7],\"data_offsets\":[0,3]}}", 3, 0);
    assert_int_equal(pf_st_read_file(&m, p, &e), 0);
    assert_int_equal(m.total_bytes, 3);
    pf_st_model_free(&m);
    free(p);
}

static void test_dirs(void **state)
{
    pf_st_model m;
    pf_err e = {{0}};
    char *none = path_in(tf_tmpdir(), "nope");
    assert_int_equal(pf_st_read_model(none, &m, &e), -1);
    assert_non_null(strstr(e.msg, "does not exist"));
    pf_st_model_free(&m);
    char *empty = mkdir_in("empty");
    char *bin = path_in(empty, "pytorch_model.bin");
    write_text(bin, "x");
    assert_int_equal(pf_st_read_model(empty, &m, &e), -1);
    assert_non_null(strstr(e.msg, "holds no *.safetensors"));
    pf_st_model_free(&m);

    /* multimodal: layer count from text_config, the vision tower on stage 0 */
    char *mm = mkdir_in("mm");
    static const tdef t[] = {
        {"model.vision_tower.encoder.layers.0.w", "F16", {8}, 1, 16},
        {"model.vision_tower.encoder.layers.1.w", "F16", {8}, 1, 16},
        {"model.language_model.embed_tokens.weight", "F16", {4}, 1, 8},
        {"model.language_model.layers.0.w", "F16", {2}, 1, 4},
        {"model.language_model.layers.1.w", "F16", {2}, 1, 4},
        {"lm_head.weight", "F16", {4}, 1, 8},
    };
    char *f = path_in(mm, "model-a.safetensors");
    write_st(f, t, 6);
    char *cfg = path_in(mm, "config.json");
    write_text(cfg, "{\"model_type\":\"qwen2_5_vl\",\"text_config\":{\"num_hidden_layers\":2},\"vision_config\":"
                    "{\"depth\":2}}");
    assert_int_equal(pf_st_read_model(mm, &m, &e), 0);
    assert_int_equal(m.num_hidden_layers, 2);
    uint64_t st[2];
    assert_int_equal(pf_st_stage_bytes(&m, 2, NULL, st, &e), 0);
    assert_int_equal(st[0], 16 + 16 + 8 + 4);
    assert_int_equal(st[1], 4 + 8);
    pf_st_model_free(&m);

    /* a corrupt config.json is recorded, the weights still count */
    write_text(cfg, "{not json");
    assert_int_equal(pf_st_read_model(mm, &m, &e), 0);
    assert_non_null(strstr(m.config_error, "config.json"));
    assert_int_equal(m.total_bytes, 56);
    pf_st_model_free(&m);
    free(none), free(empty), free(bin), free(mm), free(f), free(cfg);
}

static void test_dtype_bits(void **state)
{
    assert_int_equal(pf_st_dtype_bits("BF16"), 16);
    assert_int_equal(pf_st_dtype_bits("F8_E5M2"), 8);
    assert_int_equal(pf_st_dtype_bits("F4"), 4);
    assert_int_equal(pf_st_dtype_bits("F64"), 64);
    assert_int_equal(pf_st_dtype_bits("bf16"), 0); /* case matters in the format */
}

static int setup(void **state)
{
    return tf_tmpdir_create("st");
}

static int teardown(void **state)
{
    return tf_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_file_and_stages), cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_corrupt), cmocka_unit_test(test_dirs), cmocka_unit_test(test_dtype_bits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

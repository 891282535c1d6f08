/* safetensors: a shard header (the 8-byte length + JSON), and with the first
 * input byte odd, a model directory whose model.safetensors.index.json and
 * config.json are the input (split at the first NUL). */
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "probes/mem/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_err err;
    pf_st_model m;
    if (size && (data[0] & 1)) {
        const uint8_t *nul = memchr(data + 1, 0, size - 1);
        size_t a = nul ? (size_t)(nul - data - 1) : size - 1;
        char dir[300];
        snprintf(dir, sizeof dir, "%s/model", fuzz_dir());
        mkdir(dir, 0700);
        char name[340];
        snprintf(name, sizeof name, "model/model.safetensors.index.json");
        fuzz_write(name, data + 1, a);
        snprintf(name, sizeof name, "model/config.json");
        fuzz_write(name, nul ? nul + 1 : data, nul ? size - a - 2 : 0);
        /* the one shard every index may name */
        static const char shard[] = "\x02\x00\x00\x00\x00\x00\x00\x00{}";
        fuzz_write("model/model-00001-of-00001.safetensors", (const uint8_t *)shard, sizeof shard - 1);
        if (pf_st_read_model(dir, &m, &err) == 0) {
            uint64_t stage[8];
            pf_st_stage_bytes(&m, 2, NULL, stage, &err);
            json_decref(pf_st_model_to_json(&m));
        }
        pf_st_model_free(&m);
        return 0;
    }
    const char *p = fuzz_write("shard.safetensors", data, size);
    memset(&m, 0, sizeof m);
    if (pf_st_read_file(&m, p, &err) == 0) {
        uint64_t stage[8];
        pf_st_stage_bytes(&m, 4, NULL, stage, &err);
    }
    pf_st_model_free(&m);
    return 0;
}

/* Datasets (bench/dataset.c): the input as a JSONL prompt file and as a
 * ShareGPT JSON file, read the way --dataset-path reads them. */
#include <stdint.h>

#include "bench/dataset.h"
#include "bench/rng.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_write("dataset.json", data, size);
    pf_err err;
    pf_dataset d;
    if (pf_dataset_jsonl(p, 50, 16, &d, &err) == 0)
        pf_dataset_free(&d);
    pf_rng rng;
    pf_rng_seed(&rng, 42);
    if (pf_dataset_sharegpt(p, 50, 0, &rng, &d, &err) == 0)
        pf_dataset_free(&d);
    return 0;
}

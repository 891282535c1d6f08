/* /proc/meminfo text (probes/mem/meminfo.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/mem/meminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    pf_meminfo m;
    pf_err err;
    if (pf_meminfo_parse(text, "fuzz", &m, &err) == 0) {
        (void)pf_meminfo_reclaimable(&m);
        json_decref(pf_meminfo_to_json(&m));
    }
    free(text);
    return 0;
}

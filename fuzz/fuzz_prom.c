/* Prometheus text exposition (bench/prom.c), as scraped from /metrics. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/prom.h"

static void on_sample(void *ud, const char *name, const char *labels, double v)
{
    (void)v;
    *(size_t *)ud += strlen(name) + strlen(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exactly the bytes received, not NUL-terminated (curl's buffer) */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    size_t acc = 0;
    pf_prom_stats st;
    memset(&st, 0, sizeof st);
    pf_prom_parse(text, size, on_sample, &acc, &st);
    json_t *series = json_object();
    static const char *const prefixes[] = {"sglang:", "vllm:", NULL};
    memset(&st, 0, sizeof st);
    pf_prom_collect(series, 1.0, text, size, prefixes, &st);
    json_decref(series);
    free(text);
    return 0;
}

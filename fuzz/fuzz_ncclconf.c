/* nccl.conf / NCCL_CONF_FILE text (probes/nccl/ncclconf.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/nccl/ncclconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the loader hands the parser a NUL-terminated copy (pf_read_file) */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    pf_nccl_conf_file f;
    pf_nccl_conf_parse_text("fuzz.conf", text, size, 22809, &f);
    pf_nccl_conf_file_free(&f);
    free(text);
    return 0;
}

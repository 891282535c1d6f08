/* A rank's NCCL_DEBUG=INFO log (probes/nccl/nccl_log.c) and the failure
 * classifier on it (probes/nccl/nccl_class.c), through the entry the rank
 * uses: pf_nccljudge_annotate(result, log text), which parses the log,
 * writes it to JSON and diagnoses the result's "failure" object.
 * Input: byte 0 picks the phase, byte 1 the kind, byte 2 NCCL's result
 * code (255: unknown); the rest is the log; the text after its last
 * "\nLast error:\n" (as torch prints ncclGetLastError) is also the
 * failure's last_error.  Seeds: the real logs of tests/probes/nccl/data/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "probes/nccl/nccl_judge.h"

static const char *const phases[] = {
    "load", "bootstrap", "init", "connect all_reduce", "connect all_gather", "all_reduce 64 MiB",
    "all_gather 1 MiB", "p2p prefill forward", "teardown", "", NULL,
};
static const char *const kinds[] = {"error", "timeout", "died", "absent", "", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const char *phase = phases[data[0] % (sizeof phases / sizeof phases[0])];
    const char *kind = kinds[data[1] % (sizeof kinds / sizeof kinds[0])];
    int result = data[2] == 255 ? -1 : data[2] % 16;
    data += 3, size -= 3;
    char *text = malloc(size + 1); /* the rank reads the file NUL-terminated */
    memcpy(text, data, size);
    text[size] = '\0';
    const char *last = NULL;
    for (const char *p = text; (p = strstr(p, "\nLast error:\n")); p++)
        last = p + 13;

    json_t *res = json_object();
    json_t *f = json_object();
    if (phase)
        json_object_set_new(f, "phase", json_string(phase));
    if (kind)
        json_object_set_new(f, "kind", json_string(kind));
    if (result >= 0)
        json_object_set_new(f, "nccl_result", json_integer(result));
    json_object_set_new(f, "message", json_string("the runner's message"));
    if (last)
        json_object_set_new(f, "last_error", pf_json_text(last));
    json_object_set_new(res, "failure", f);
    pf_nccljudge_annotate(res, text);
    /* what goes into the record must be JSON that writes out */
    char *s = json_dumps(res, JSON_COMPACT);
    if (!s || !json_is_object(json_object_get(res, "nccl_log")) ||
        !json_is_object(json_object_get(res, "diagnosis")))
        abort();
    free(s);
    json_decref(res);
    free(text);
    return 0;
}

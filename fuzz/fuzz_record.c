/* The run-record loader (core/record_load.c): what `preflight report`,
 * `preflight compare` and the coordinator (merging the agents' records)
 * read.  The input goes through pf_run_load via a file, exactly as a
 * record on disk is read (empty, truncated, not JSON, wrong shape), and
 * through jansson + pf_run_from_json as the coordinator does with an
 * agent's reply.  A record it accepts must round-trip: writing the loaded
 * run (pf_run_to_json with its own strict flag) and loading that again
 * gives a run that writes the same JSON.  Then the renderers' forgiving
 * loader (reports/load.c: pf_load_text), which repairs a truncated record
 * and keeps what it can.  Seeds: real records
 * (preflight check --json, tests/cluster/data/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/record.h"
#include "reports/load.h"
#include "fuzz_util.h"

static void roundtrip(pf_run *run)
{
    pf_err err = {{0}};
    json_t *j1 = pf_run_to_json(run, pf_run_strict(run));
    pf_run *again = pf_run_from_json(j1, &err);
    if (!again) {
        fprintf(stderr, "a loaded record, written again, does not load: %s\n", err.msg);
        abort();
    }
    json_t *j2 = pf_run_to_json(again, pf_run_strict(again));
    if (!json_equal(j1, j2)) {
        fprintf(stderr, "a loaded record changed when written and loaded again\n");
        abort();
    }
    json_decref(j2);
    json_decref(j1);
    pf_run_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_err err = {{0}};
    pf_run *run = pf_run_load(fuzz_write("run.json", data, size), &err);
    if (run) {
        roundtrip(run);
        pf_run_free(run);
    } else if (!err.msg[0]) {
        abort(); /* a refusal always says why */
    }

    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (root) {
        pf_err e2 = {{0}};
        pf_run *r2 = pf_run_from_json_named(root, "the agent on fuzz", &e2);
        if (r2)
            pf_run_free(r2);
        else if (!e2.msg[0])
            abort();
        json_decref(root);
    }

    pf_loaded l;
    pf_err e3 = {{0}};
    if (pf_load_text((const char *)data, size, "fuzz.json", &l, &e3) == 0) {
        if (!json_is_object(l.root))
            abort(); /* 0 means there is an object to render */
        pf_load_free(&l);
    } else if (!e3.msg[0]) {
        abort();
    }
    return 0;
}

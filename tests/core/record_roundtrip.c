/* record_roundtrip IN OUT -- load a run record with pf_run_load and write it
 * again with the strict flag it was written with.  The round-trip test runs
 * it on records the real binary wrote and compares IN and OUT byte for byte;
 * on a load error it prints the error and exits 1 (the bad-input cases check
 * the message). */
#include <stdio.h>

#include "core/record.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: record_roundtrip IN OUT\n");
        return 2;
    }
    pf_err err = {{0}};
    pf_run *run = pf_run_load(argv[1], &err);
    if (!run) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int rc = pf_run_write_json(run, pf_run_strict(run), argv[2], &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.msg);
    pf_run_free(run);
    return rc ? 1 : 0;
}

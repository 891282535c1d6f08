/* nccl_flags.c -- the shared NCCL probe flags (see nccl_flags.h). */
#include "probes/nccl/nccl_flags.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per numeric flag: where it goes and its range. */
typedef struct row {
    const char *name;
    size_t off; /* offsetof(pf_ncclflags, a double) */
    double lo, hi;
} row;

static const row rows[] = {
    {"-f", offsetof(pf_ncclflags, factor), 2, 1024},
    {"-n", offsetof(pf_ncclflags, iters), 1, 100000},
    {"-w", offsetof(pf_ncclflags, warmup), 1, 1000},
    {"--hidden", offsetof(pf_ncclflags, hidden), 1, 1 << 20},
    {"--dtype-bytes", offsetof(pf_ncclflags, dtype_bytes), 1, 8},
    {"--chunked-prefill-size", offsetof(pf_ncclflags, prefill), 1, 1 << 20},
    {"--decode-batch", offsetof(pf_ncclflags, decode), 1, 1 << 16},
    {"--init-timeout", offsetof(pf_ncclflags, init_timeout_s), 0.1, 3600},
    {"--op-timeout", offsetof(pf_ncclflags, op_timeout_s), 0.1, 3600},
};

void pf_ncclflags_init(pf_ncclflags *f)
{
    memset(f, 0, sizeof *f);
    f->bmin = 1024;
    f->bmax = 256ull << 20;
    f->factor = 4;
    f->iters = 20;
    f->warmup = 2;
    f->hidden = 4096;
    f->dtype_bytes = 2;
    f->prefill = 8192;
    f->decode = 1;
    f->init_timeout_s = 20;
    f->op_timeout_s = 20;
    f->allgather = true;
}

const char *pf_ncclflags_help(void)
{
    return "  --libnccl PATH          this libnccl.so.2 instead of the venv's\n"
           "  --libcuda PATH          this CUDA driver library (default libcuda.so.1)\n"
           "  -b SIZE, -e SIZE, -f N  sweep sizes from -b to -e, times -f (default 1K, 256M, 4)\n"
           "  -n N, -w N              timed iterations (at most; default 20) and warm-up calls (2)\n"
           "  --no-allgather          all-reduce only\n"
           "  --hidden N              model hidden size for the pipeline hand-offs (default 4096)\n"
           "  --dtype-bytes N         bytes per activation element (default 2: bf16)\n"
           "  --chunked-prefill-size N  tokens of a prefill chunk (default 8192, as SGLang)\n"
           "  --decode-batch N        tokens of a decode step (default 1)\n"
           "  --init-timeout S        bootstrap + init deadline per rank (default 20)\n"
           "  --op-timeout S          deadline of each step (default 20)\n";
}

int pf_ncclflags_take(const char *cmd, pf_ncclflags *f, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--no-allgather")) {
        f->allgather = false;
        return 1;
    }
    bool known = !strcmp(a, "--libnccl") || !strcmp(a, "--libcuda") || !strcmp(a, "-b") || !strcmp(a, "-e");
    const row *r = NULL;
    for (size_t k = 0; k < sizeof rows / sizeof rows[0] && !known; k++)
        if (!strcmp(a, rows[k].name))
            r = &rows[k];
    if (!known && !r)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "preflight %s: %s needs a value (see --help)\n", cmd, a);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "--libnccl")) {
        f->libnccl = v;
    } else if (!strcmp(a, "--libcuda")) {
        f->libcuda = v;
    } else if (!strcmp(a, "-b") || !strcmp(a, "-e")) {
        pf_err err = {{0}};
        if (pf_ncclsweep_parse_size(v, !strcmp(a, "-b") ? &f->bmin : &f->bmax, &err) != 0) {
            fprintf(stderr, "preflight %s: %s: %s\n", cmd, a, err.msg);
            return -1;
        }
    } else if (r) { /* every other known flag has its row */
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno || *end || end == v || d < r->lo || d > r->hi) {
            fprintf(stderr, "preflight %s: %s '%s' must be a number from %g to %g\n", cmd, a, v, r->lo, r->hi);
            return -1;
        }
        *(double *)((char *)f + r->off) = d;
    }
    return 1;
}

int pf_ncclflags_apply(const pf_ncclflags *f, int nranks, pf_ncclrank_opts *ro, uint64_t *sizes, pf_err *err)
{
    int n = pf_ncclsweep_sizes(f->bmin, f->bmax, (unsigned)f->factor, nranks, sizes, PF_NCCL_MAX_SIZES, err);
    if (n < 0)
        return -1;
    ro->libnccl = f->libnccl;
    ro->libcuda = f->libcuda;
    ro->init_timeout_s = f->init_timeout_s;
    ro->op_timeout_s = f->op_timeout_s;
    ro->teardown_timeout_s = 10;
    ro->sizes = sizes;
    ro->n_sizes = n;
    ro->allreduce = true;
    ro->allgather = f->allgather;
    ro->p2p_bytes[0] = pf_ncclsweep_stage_bytes((uint64_t)f->hidden, (uint64_t)f->prefill, (unsigned)f->dtype_bytes);
    ro->p2p_name[0] = "prefill";
    ro->p2p_bytes[1] = pf_ncclsweep_stage_bytes((uint64_t)f->hidden, (uint64_t)f->decode, (unsigned)f->dtype_bytes);
    ro->p2p_name[1] = "decode";
    ro->n_p2p = 2;
    ro->iters = (int)f->iters;
    ro->warmup = (int)f->warmup;
    return n;
}

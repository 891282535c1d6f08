/* nccl_sweep.c -- sizes and nccl-tests' bandwidth formulas. */
#include "probes/nccl/nccl_sweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int pf_ncclsweep_parse_size(const char *s, uint64_t *out, pf_err *err)
{
    if (!s || !isdigit((unsigned char)*s))
        return pf_err_set(err, "size '%s' is not a number of bytes (e.g. 8K, 64M, 1G)", s ? s : "");
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    default: break;
    }
    if (toupper((unsigned char)*end) == 'B' || (*end == 'i' && toupper((unsigned char)end[1]) == 'B'))
        end += *end == 'i' ? 2 : 1;
    if (errno || *end || v > (UINT64_MAX >> shift))
        return pf_err_set(err, "size '%s' is not a number of bytes (e.g. 8K, 64M, 1G)", s);
    *out = (uint64_t)v << shift;
    return 0;
}

int pf_ncclsweep_sizes(uint64_t min, uint64_t max, unsigned factor, int nranks, uint64_t *out, int cap,
                       pf_err *err)
{
    if (nranks < 1)
        return pf_err_set(err, "%d ranks: need at least 1", nranks);
    uint64_t unit = 4ull * (uint64_t)nranks;
    if (min < unit)
        min = unit;
    if (max < min)
        return pf_err_set(err, "size range %llu..%llu bytes is empty (-e below -b)", (unsigned long long)min,
                          (unsigned long long)max);
    if (factor < 2)
        return pf_err_set(err, "size factor %u: must be 2 or more", factor);
    int n = 0;
    for (uint64_t s = min; s <= max; s *= factor) {
        if (n == cap)
            return pf_err_set(err, "size range %llu..%llu with factor %u gives more than %d sizes",
                              (unsigned long long)min, (unsigned long long)max, factor, cap);
        out[n++] = s / unit * unit;
        if (s > UINT64_MAX / factor)
            break;
    }
    return n;
}

double pf_ncclsweep_busbw_factor(pf_ncclcoll c, int nranks)
{
    if (nranks < 1)
        return 0;
    switch (c) {
    case PF_NCCL_ALLREDUCE: return 2.0 * (nranks - 1) / nranks;
    case PF_NCCL_ALLGATHER: return (double)(nranks - 1) / nranks;
    case PF_NCCL_SENDRECV: return 1.0;
    }
    return 0;
}

double pf_ncclsweep_algbw(uint64_t bytes, double seconds)
{
    return seconds > 0 ? (double)bytes / seconds / 1e9 : 0;
}

uint64_t pf_ncclsweep_stage_bytes(uint64_t hidden, uint64_t tokens, unsigned dtype_bytes)
{
    return hidden * tokens * dtype_bytes;
}

void pf_ncclsweep_size_str(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = (double)b;
    while (v >= 1024 && u < 4 && b % ((uint64_t)1 << (10 * (u + 1))) == 0) {
        v /= 1024;
        u++;
    }
    if (u == 0 && b >= 1024) { /* not a whole unit: one decimal */
        while (v >= 1024 && u < 4) {
            v /= 1024;
            u++;
        }
        snprintf(buf, len, "%.1f %s", v, unit[u]);
        return;
    }
    snprintf(buf, len, "%.0f %s", v, unit[u]);
}

const char *pf_ncclsweep_coll_name(pf_ncclcoll c)
{
    return c == PF_NCCL_ALLREDUCE ? "all_reduce" : c == PF_NCCL_ALLGATHER ? "all_gather" : "sendrecv";
}

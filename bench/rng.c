/* rng.c -- xoshiro256** and the few distributions the benchmark needs. */
#include "bench/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void pf_rng_seed(pf_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t pf_rng_next(pf_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

int64_t pf_rng_range(pf_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1; /* 0 means the full 2^64 range */
    if (span == 0)
        return (int64_t)pf_rng_next(r);
    /* reject the low (2^64 mod span) values so every residue is equally likely */
    uint64_t threshold = (0 - span) % span;
    uint64_t v;
    do {
        v = pf_rng_next(r);
    } while (v < threshold);
    return lo + (int64_t)(v % span);
}

double pf_rng_double(pf_rng *r)
{
    return (double)(pf_rng_next(r) >> 11) * 0x1.0p-53;
}

static double normal(pf_rng *r)
{
    /* Box-Muller; one value per call is enough here */
    double u1 = pf_rng_double(r), u2 = pf_rng_double(r);
    return sqrt(-2.0 * log1p(-u1)) * cos(2.0 * M_PI * u2);
}

double pf_rng_gamma(pf_rng *r, double shape, double scale)
{
    if (shape < 1.0) {
        /* boost: Gamma(a) = Gamma(a + 1) * U^(1/a) */
        double u = pf_rng_double(r);
        return pf_rng_gamma(r, shape + 1.0, scale) * pow(1.0 - u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = pf_rng_double(r);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v * scale;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v * scale;
    }
}

/* rng.h -- a small seeded generator for reproducible datasets and arrivals.
 *
 * xoshiro256** seeded through splitmix64 (Blackman & Vigna).  The same
 * --seed gives the same prompts, lengths and arrival schedule on every run and
 * machine.  It does not reproduce numpy's MT19937 streams, so the concrete
 * lengths differ from bench_serving's for the same seed; the distributions are
 * the same (see docs/bench.md).
 */
#ifndef PF_BENCH_RNG_H
#define PF_BENCH_RNG_H

#include <stdint.h>

typedef struct pf_rng {
    uint64_t s[4];
} pf_rng;

void pf_rng_seed(pf_rng *r, uint64_t seed);
uint64_t pf_rng_next(pf_rng *r);
/* Uniform integer in [lo, hi] (inclusive), unbiased; lo <= hi. */
int64_t pf_rng_range(pf_rng *r, int64_t lo, int64_t hi);
/* Uniform double in [0, 1). */
double pf_rng_double(pf_rng *r);
/* Gamma(shape, scale), Marsaglia & Tsang; shape > 0. */
double pf_rng_gamma(pf_rng *r, double shape, double scale);

#endif

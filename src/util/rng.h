/* rng.h: the counter-based random stream behind random:SEED weights, the
 * re-drawn layers of --check randomize and SmoothGrad's noise.
 *
 * Value i of stream `seed` is splitmix64's output function applied to
 * seed + (i + 1) * 0x9E3779B97F4A7C15: it depends on (seed, i) alone, so any
 * part of the stream can be drawn on its own, in any order, on any thread,
 * and test/gen/make_fixtures.py reproduces it in NumPy.
 */
#ifndef GUIDEDBP_RNG_H
#define GUIDEDBP_RNG_H

#include <math.h>
#include <stdint.h>

static inline uint64_t rng_at(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits: exact in float and in double. */
static inline double rng_uniform(uint64_t seed, uint64_t i) {
    return (double)(rng_at(seed, i) >> 40) * 0x1p-24;
}

/* A standard normal from values i and i + 1 (Box-Muller's cosine branch):
 * sqrt(-2 ln u1) cos(2 pi u2), u1 = rng_uniform(seed, i) + 2^-24 in (0, 1]
 * so the logarithm is finite, u2 = rng_uniform(seed, i + 1). */
static inline double rng_gaussian(uint64_t seed, uint64_t i) {
    double u1 = rng_uniform(seed, i) + 0x1p-24, u2 = rng_uniform(seed, i + 1);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

#endif

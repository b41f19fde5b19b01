/* The library's one random generator (xoshiro256**, seeded through
 * splitmix64), passed down explicitly; never rand() (STYLE.md). Cheap to
 * copy; the whole state is the struct. */
#ifndef EVOOPT_RNG_INTERNAL_H
#define EVOOPT_RNG_INTERNAL_H

#include <stdint.h>

typedef struct evo_rng {
  uint64_t s[4];
} evo_rng;

/* Seeds the generator; every seed (0 included) gives a distinct stream. */
void evo_rng_seed(evo_rng *r, uint64_t seed);
uint64_t evo_rng_u64(evo_rng *r);
/* Uniform double in [0, 1), 53 random bits. */
double evo_rng_uniform(evo_rng *r);
/* Uniform double in [lo, hi). */
double evo_rng_range(evo_rng *r, double lo, double hi);
/* Uniform integer in [0, n), unbiased (n >= 1). */
uint64_t evo_rng_below(evo_rng *r, uint64_t n);
/* Standard normal (Box-Muller, one draw of two uniforms per call). */
double evo_rng_normal(evo_rng *r);
/* True with probability p. */
int evo_rng_bernoulli(evo_rng *r, double p);
/* A seed derived from a tuple, e.g. (run seed, generation, index), by
 * mixing with splitmix64: distinct tuples give unrelated streams. */
uint64_t evo_seed_derive(uint64_t a, uint64_t b, uint64_t c);

#endif

/* xoshiro256** by Blackman and Vigna (public domain algorithm), seeded with
 * splitmix64. */
#include <math.h>

#include "core/rng_internal.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void evo_rng_seed(evo_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t evo_rng_u64(evo_rng *r) {
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

double evo_rng_uniform(evo_rng *r) {
  return (double)(evo_rng_u64(r) >> 11) * 0x1.0p-53;
}

double evo_rng_range(evo_rng *r, double lo, double hi) {
  return lo + (hi - lo) * evo_rng_uniform(r);
}

uint64_t evo_rng_below(evo_rng *r, uint64_t n) {
  if (n <= 1)
    return 0;
  /* Rejection of the short top range keeps it unbiased. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = evo_rng_u64(r);
  while (x >= limit);
  return x % n;
}

double evo_rng_normal(evo_rng *r) {
  double u1 = 1.0 - evo_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = evo_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int evo_rng_bernoulli(evo_rng *r, double p) { return evo_rng_uniform(r) < p; }

uint64_t evo_seed_derive(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a;
  uint64_t h = splitmix64(&x);
  x = h ^ b;
  h = splitmix64(&x);
  x = h ^ c;
  return splitmix64(&x);
}

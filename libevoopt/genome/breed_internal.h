/* The genetic operators of doc/algorithm.md §4 over the internal genome struct,
 * each drawing from a generator passed in, so that tests can call them
 * with an explicit evo_rng and measure their distributions. Never
 * installed. */
#ifndef EVOOPT_BREED_INTERNAL_H
#define EVOOPT_BREED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "genome/genome_internal.h"
#include "core/rng_internal.h"

/* The mutation schedule at generation @p gen (0-based) of @p generations
 * (doc/algorithm.md §4, "Mutation"): d = 1 - 0.5·gen/G, then p_num = 0.35d,
 * p_struct = 0.15d, p_flag = 0.1d, σ = 0.3d. */
typedef struct evo_mutation_rates {
  double d, p_num, p_struct, p_flag, sigma;
} evo_mutation_rates;

/* The mutation clamps of doc/algorithm.md §1 (column "range"). */
#define EVO_CLAMP_LR_LO (-5.0)
#define EVO_CLAMP_LR_HI (-1.0)
#define EVO_CLAMP_BETA1_HI 0.999
#define EVO_CLAMP_BETA2_HI 0.9999
#define EVO_CLAMP_EPS_LO (-10.0)
#define EVO_CLAMP_EPS_HI (-4.0)
#define EVO_CLAMP_WD_LO (-6.0)
#define EVO_CLAMP_WD_HI (-2.0)
#define EVO_CLAMP_ALPHA 5.0

/* @p generations >= 1 and @p gen < @p generations. */
evo_mutation_rates evo_breed_rates(uint32_t gen, uint32_t generations);

/* Fills @p g with a random genome (doc/algorithm.md §4, "Random genome"). */
void evo_breed_random(evo_genome *g, evo_rng *r);

/* Tournament selection (doc/algorithm.md §4): @p k distinct indices of 0..n-1
 * drawn without replacement (a partial Fisher-Yates shuffle of @p perm,
 * n entries of scratch), the highest fitness wins, ties go to the first
 * drawn. @p k is clamped to 1..n; n >= 1. Returns the winner's index. */
size_t evo_breed_tournament(const double *fitness, size_t n, size_t k,
                            size_t *perm, evo_rng *r);

/* Crossover (doc/algorithm.md §4): child terms = A[:a] + B[b:] cut to
 * EVO_MAX_TERMS, a uniform in 1..len(A), b uniform in 0..len(B)-1;
 * [GRAD], [1.0] when that leaves nothing (only possible for parents
 * without terms); every other gene from A or B with probability ½ each.
 * @p child may alias a parent. */
void evo_breed_crossover(evo_genome *child, const evo_genome *a,
                         const evo_genome *b, evo_rng *r);

/* Mutation at generation @p gen of @p generations (doc/algorithm.md §4), in
 * place. */
void evo_breed_mutate(evo_genome *g, uint32_t gen, uint32_t generations,
                      evo_rng *r);

/* An (fitness, index) pair for ranking. */
typedef struct evo_ranked {
  double fitness;
  size_t index;
} evo_ranked;

/* Fills @p order (n entries) with 0..n-1 sorted by fitness, highest first;
 * equal fitness keeps index order (a stable ranking: elitism and the
 * history's best are independent of the sort algorithm). */
void evo_breed_rank(const double *fitness, size_t n, evo_ranked *order);

#endif

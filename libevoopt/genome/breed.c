/* The genetic operators (doc/algorithm.md §4): random genome, tournament,
 * crossover, mutation and ranking; plus the public evo_genome_random() and
 * evo_genome_breed() built on them. Every draw comes from the evo_rng the
 * caller passes, in a fixed order, so a seed fixes the outcome. */
#include <math.h>
#include <stdlib.h>

#include "genome/breed_internal.h"
#include "core/common_internal.h"
#include "evoopt/genome.h"

/* ---- schedule --------------------------------------------------------- */

evo_mutation_rates evo_breed_rates(uint32_t gen, uint32_t generations) {
  /* doc/algorithm.md §4, "Mutation at generation gen (0-based) of G". */
  double d = 1.0 - 0.5 * (double)gen / (double)generations;
  return (evo_mutation_rates){.d = d,
                              .p_num = 0.35 * d,
                              .p_struct = 0.15 * d,
                              .p_flag = 0.1 * d,
                              .sigma = 0.3 * d};
}

/* ---- random genome ---------------------------------------------------- */

static int random_code(evo_rng *r) {
  return (int)evo_rng_below(r, EVO_TERM_COUNT); /* codes 0..6 */
}

void evo_breed_random(evo_genome *g, evo_rng *r) {
  /* doc/algorithm.md §4, "Random genome (initial population)", gene by gene. */
  evo_genome_init_defaults(g);
  g->n_terms = 1 + (size_t)evo_rng_below(r, 3);
  for (size_t i = 0; i < g->n_terms; i++) {
    g->terms[i] = random_code(r);
    g->alphas[i] = evo_rng_range(r, -1.0, 1.0);
  }
  g->lr_log10 = evo_rng_range(r, -4.0, -2.0);
  g->beta1 = evo_rng_range(r, 0.5, 0.99);
  g->beta2 = evo_rng_range(r, 0.9, 0.9999);
  g->eps_log10 = evo_rng_range(r, -9.0, -6.0);
  g->wd_log10 = evo_rng_range(r, -5.0, -3.0);
  g->use_m = evo_rng_bernoulli(r, 0.7);
  g->use_v = evo_rng_bernoulli(r, 0.7);
  g->use_bias_correction = evo_rng_bernoulli(r, 0.6);
  g->use_gradient_clipping = evo_rng_bernoulli(r, 0.2);
  g->clip_value = evo_rng_range(r, 0.5, 2.0);
  g->use_warmup = evo_rng_bernoulli(r, 0.3);
  g->warmup_steps = 50 + (int64_t)evo_rng_below(r, 151); /* 50..200 */
  g->use_cosine_decay = evo_rng_bernoulli(r, 0.3);
}

/* ---- selection -------------------------------------------------------- */

size_t evo_breed_tournament(const double *fitness, size_t n, size_t k,
                            size_t *perm, evo_rng *r) {
  if (k < 1)
    k = 1;
  if (k > n)
    k = n;
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  size_t best = 0;
  /* doc/algorithm.md §4, "Tournament": k distinct draws (a partial Fisher-Yates
   * shuffle); strict '>' keeps the first drawn among equals. */
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)evo_rng_below(r, (uint64_t)(n - i));
    size_t pick = perm[j];
    perm[j] = perm[i];
    perm[i] = pick;
    if (i == 0 || fitness[pick] > fitness[best])
      best = pick;
  }
  return best;
}

static int ranked_cmp(const void *pa, const void *pb) {
  const evo_ranked *a = pa, *b = pb;
  if (a->fitness != b->fitness)
    return a->fitness > b->fitness ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

void evo_breed_rank(const double *fitness, size_t n, evo_ranked *order) {
  for (size_t i = 0; i < n; i++)
    order[i] = (evo_ranked){fitness[i], i};
  qsort(order, n, sizeof *order, ranked_cmp);
}

/* ---- crossover -------------------------------------------------------- */

static const evo_genome *either(const evo_genome *a, const evo_genome *b,
                                evo_rng *r) {
  return evo_rng_bernoulli(r, 0.5) ? a : b;
}

/* Child terms A[:cut_a] + B[cut_b:], capped at EVO_MAX_TERMS. */
static void splice_terms(evo_genome *c, const evo_genome *a, size_t cut_a,
                         const evo_genome *b, size_t cut_b) {
  size_t n = 0;
  for (size_t i = 0; i < cut_a && n < EVO_MAX_TERMS; i++, n++) {
    c->terms[n] = a->terms[i];
    c->alphas[n] = a->alphas[i];
  }
  for (size_t i = cut_b; i < b->n_terms && n < EVO_MAX_TERMS; i++, n++) {
    c->terms[n] = b->terms[i];
    c->alphas[n] = b->alphas[i];
  }
  c->n_terms = n;
  if (n == 0) { /* doc/algorithm.md §4: "(if empty: [GRAD], [1.0])" */
    c->terms[0] = EVO_TERM_GRAD;
    c->alphas[0] = 1.0;
    c->n_terms = 1;
  }
}

void evo_breed_crossover(evo_genome *child, const evo_genome *a,
                         const evo_genome *b, evo_rng *r) {
  evo_genome c;
  evo_genome_init_defaults(&c);
  /* doc/algorithm.md §4, "Crossover": a in 1..len(A) (1 when A has one term),
   * b in 0..len(B)-1. The guards only matter for term-less parents. */
  size_t cut_a = a->n_terms ? 1 + (size_t)evo_rng_below(r, a->n_terms) : 0;
  size_t cut_b = b->n_terms ? (size_t)evo_rng_below(r, b->n_terms) : 0;
  splice_terms(&c, a, cut_a, b, cut_b);
  /* Every other gene from A or B with probability ½, independently; a
   * zero weight decay (wd_log10 = -INFINITY) is inherited like any value. */
  c.lr_log10 = either(a, b, r)->lr_log10;
  c.beta1 = either(a, b, r)->beta1;
  c.beta2 = either(a, b, r)->beta2;
  c.eps_log10 = either(a, b, r)->eps_log10;
  c.wd_log10 = either(a, b, r)->wd_log10;
  c.use_m = either(a, b, r)->use_m;
  c.use_v = either(a, b, r)->use_v;
  c.use_bias_correction = either(a, b, r)->use_bias_correction;
  c.use_gradient_clipping = either(a, b, r)->use_gradient_clipping;
  c.clip_value = either(a, b, r)->clip_value;
  c.use_warmup = either(a, b, r)->use_warmup;
  c.warmup_steps = either(a, b, r)->warmup_steps;
  c.use_cosine_decay = either(a, b, r)->use_cosine_decay;
  *child = c;
}

/* ---- mutation --------------------------------------------------------- */

static double clamp(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

/* With probability @p p: x += N(0, sigma), then clamped (doc/algorithm.md
 * §4). */
static void nudge(double *x, double p, double sigma, double lo, double hi,
                  evo_rng *r) {
  if (evo_rng_bernoulli(r, p))
    *x = clamp(*x + sigma * evo_rng_normal(r), lo, hi);
}

static void flip(bool *flag, double p, evo_rng *r) {
  if (evo_rng_bernoulli(r, p))
    *flag = !*flag;
}

enum { STRUCT_ADD, STRUCT_REMOVE, STRUCT_CHANGE };

/* One of add / remove / change, uniformly (doc/algorithm.md §4). An operation
 * that is not allowed (add at EVO_MAX_TERMS terms, remove of the only term)
 * leaves the genome unchanged, as the reference notebook does: no other
 * operation is drawn instead. */
static void mutate_structure(evo_genome *g, evo_rng *r) {
  switch ((int)evo_rng_below(r, 3)) {
  case STRUCT_ADD:
    if (g->n_terms < EVO_MAX_TERMS) {
      g->terms[g->n_terms] = random_code(r);
      g->alphas[g->n_terms] = evo_rng_range(r, -1.0, 1.0);
      g->n_terms++;
    }
    break;
  case STRUCT_REMOVE:
    if (g->n_terms > 1) {
      size_t at = (size_t)evo_rng_below(r, g->n_terms);
      for (size_t i = at; i + 1 < g->n_terms; i++) {
        g->terms[i] = g->terms[i + 1];
        g->alphas[i] = g->alphas[i + 1];
      }
      g->n_terms--;
    }
    break;
  default: { /* STRUCT_CHANGE: a new code, α kept */
    /* The position, then the code (doc/algorithm.md §4), in two
     * statements: in one (terms[draw] = draw) C leaves the order open,
     * and clang drew them in the opposite order to GCC's. */
    size_t at = (size_t)evo_rng_below(r, g->n_terms);
    g->terms[at] = random_code(r);
    break;
  }
  }
}

void evo_breed_mutate(evo_genome *g, uint32_t gen, uint32_t generations,
                      evo_rng *r) {
  evo_mutation_rates m = evo_breed_rates(gen, generations);
  /* Numeric genes, each with p_num, clamped to doc/algorithm.md §1's ranges. */
  nudge(&g->lr_log10, m.p_num, m.sigma, EVO_CLAMP_LR_LO, EVO_CLAMP_LR_HI, r);
  nudge(&g->beta1, m.p_num, 0.2 * m.sigma, 0.0, EVO_CLAMP_BETA1_HI, r);
  nudge(&g->beta2, m.p_num, 0.1 * m.sigma, 0.0, EVO_CLAMP_BETA2_HI, r);
  nudge(&g->eps_log10, m.p_num, m.sigma, EVO_CLAMP_EPS_LO, EVO_CLAMP_EPS_HI,
        r);
  /* doc/algorithm.md §1 extension: a genome with λ = 0 keeps it. */
  if (g->wd_log10 != -INFINITY)
    nudge(&g->wd_log10, m.p_num, m.sigma, EVO_CLAMP_WD_LO, EVO_CLAMP_WD_HI,
          r);
  for (size_t i = 0; i < g->n_terms; i++)
    if (evo_rng_bernoulli(r, m.p_num))
      g->alphas[i] = clamp(g->alphas[i] * exp(m.sigma * evo_rng_normal(r)),
                           -EVO_CLAMP_ALPHA, EVO_CLAMP_ALPHA);
  if (evo_rng_bernoulli(r, m.p_struct))
    mutate_structure(g, r);
  flip(&g->use_m, m.p_flag, r);
  flip(&g->use_v, m.p_flag, r);
  flip(&g->use_bias_correction, m.p_flag, r);
  flip(&g->use_gradient_clipping, m.p_flag, r);
  flip(&g->use_warmup, m.p_flag, r);
  flip(&g->use_cosine_decay, m.p_flag, r);
  /* clip_value and warmup_steps are never mutated (doc/algorithm.md §4). */
}

/* ---- public wrappers (population.h) ----------------------------------- */

EVO_API int evo_genome_random(evo_genome **out, uint64_t seed) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  evo_genome *g = evo_calloc(1, sizeof *g);
  if (g == NULL)
    return EVO_ENOMEM;
  evo_rng r;
  evo_rng_seed(&r, seed);
  evo_breed_random(g, &r);
  *out = g;
  return EVO_OK;
}

EVO_API int evo_genome_breed(evo_genome **out, const evo_genome *a,
                             const evo_genome *b, uint32_t generation,
                             uint32_t generations, uint64_t seed) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(a);
  EVO_CHECK_ARG(b);
  if (generation >= generations)
    return evo_set_error(EVO_ERANGE,
                         "evo_genome_breed: generation %u is not below the "
                         "number of generations %u",
                         generation, generations);
  evo_genome *c = evo_calloc(1, sizeof *c);
  if (c == NULL)
    return EVO_ENOMEM;
  evo_rng r;
  evo_rng_seed(&r, seed);
  evo_breed_crossover(c, a, b, &r);
  evo_breed_mutate(c, generation, generations, &r);
  *out = c;
  return EVO_OK;
}

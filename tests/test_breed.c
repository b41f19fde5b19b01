/* The genetic operators of doc/algorithm.md §4, called with explicit
 * generators: their distributions are measured over many draws and compared
 * with that section's numbers (binomial bounds of 5 standard deviations; the
 * seeds are fixed, so the outcome is reproducible). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "genome/breed_internal.h"
#include "evoopt/population.h"

/* ---- statistics helpers ------------------------------------------------- */

/* hits/n within 5 binomial standard deviations of p (exactly 0 when p is 0
 * or n when p is 1). */
static void check_freq(const char *what, size_t hits, size_t n, double p) {
  double f = (double)hits / (double)n;
  double tol = 5.0 * sqrt(p * (1.0 - p) / (double)n);
  ck_assert_msg(fabs(f - p) <= tol + 1e-12,
                "%s: frequency %.5f (%zu/%zu), expected %.5f +- %.5f", what, f,
                hits, n, p, tol);
}

typedef struct moments {
  double sum, sum2;
  size_t n;
} moments;

static void add_sample(moments *m, double x) {
  m->sum += x;
  m->sum2 += x * x;
  m->n++;
}

static double sample_mean(const moments *m) { return m->sum / (double)m->n; }

static double sample_std(const moments *m) {
  double mean = sample_mean(m);
  return sqrt((m->sum2 - (double)m->n * mean * mean) / (double)(m->n - 1));
}

/* The sample mean of U[lo, hi) within 5 standard errors of the middle. */
static void check_uniform_mean(const char *what, const moments *m, double lo,
                               double hi) {
  double se = (hi - lo) / sqrt(12.0 * (double)m->n);
  double mid = 0.5 * (lo + hi);
  ck_assert_msg(fabs(sample_mean(m) - mid) <= 5.0 * se,
                "%s: mean %.5f, expected %.5f +- %.5f", what, sample_mean(m),
                mid, 5.0 * se);
}

/* The sample std of N(0, sigma) within 5 standard errors (≈ σ/√(2n)). */
static void check_normal_std(const char *what, const moments *m,
                             double sigma) {
  double se = sigma / sqrt(2.0 * (double)m->n);
  ck_assert_msg(fabs(sample_std(m) - sigma) <= 5.0 * se,
                "%s: std %.5f over %zu, expected %.5f +- %.5f", what,
                sample_std(m), m->n, sigma, 5.0 * se);
  ck_assert_msg(fabs(sample_mean(m)) <= 5.0 * sigma / sqrt((double)m->n),
                "%s: mean %.5f, expected 0", what, sample_mean(m));
}

static evo_genome preset(const char *name) {
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, name), EVO_OK);
  evo_genome copy = *g;
  evo_genome_free(g);
  return copy;
}

/* ---- schedule ----------------------------------------------------------- */

START_TEST(test_rates) {
  /* doc/algorithm.md §4: d = 1 - 0.5 gen/G; at gen 0 d = 1, at gen 9 of 10
   * d = 0.55. */
  evo_mutation_rates m = evo_breed_rates(0, 10);
  ck_assert_double_eq_tol(m.d, 1.0, 1e-15);
  ck_assert_double_eq_tol(m.p_num, 0.35, 1e-15);
  ck_assert_double_eq_tol(m.p_struct, 0.15, 1e-15);
  ck_assert_double_eq_tol(m.p_flag, 0.1, 1e-15);
  ck_assert_double_eq_tol(m.sigma, 0.3, 1e-15);
  m = evo_breed_rates(9, 10);
  ck_assert_double_eq_tol(m.d, 0.55, 1e-15);
  ck_assert_double_eq_tol(m.p_num, 0.35 * 0.55, 1e-15);
  ck_assert_double_eq_tol(m.p_struct, 0.15 * 0.55, 1e-15);
  ck_assert_double_eq_tol(m.p_flag, 0.1 * 0.55, 1e-15);
  ck_assert_double_eq_tol(m.sigma, 0.3 * 0.55, 1e-15);
}
END_TEST

/* ---- random genome ------------------------------------------------------ */

#define N_RANDOM 20000

typedef struct random_stats {
  size_t k[4], codes[EVO_TERM_COUNT], n_terms;
  size_t flags[6];
  moments alpha, lr, b1, b2, eps, wd, clip, warm;
  int64_t warm_min, warm_max;
} random_stats;

static void in_range(const char *what, double x, double lo, double hi) {
  ck_assert_msg(x >= lo && x < hi, "%s = %.17g outside [%g, %g)", what, x, lo,
                hi);
}

static void tally_random(random_stats *s, const evo_genome *g) {
  ck_assert_int_eq(evo_genome_validate(g), EVO_OK);
  ck_assert(g->n_terms >= 1 && g->n_terms <= 3);
  s->k[g->n_terms]++;
  for (size_t i = 0; i < g->n_terms; i++) {
    s->codes[g->terms[i]]++;
    s->n_terms++;
    in_range("alpha", g->alphas[i], -1.0, 1.0);
    add_sample(&s->alpha, g->alphas[i]);
  }
  in_range("lr_log10", g->lr_log10, -4.0, -2.0);
  in_range("beta1", g->beta1, 0.5, 0.99);
  in_range("beta2", g->beta2, 0.9, 0.9999);
  in_range("eps_log10", g->eps_log10, -9.0, -6.0);
  in_range("wd_log10", g->wd_log10, -5.0, -3.0);
  in_range("clip_value", g->clip_value, 0.5, 2.0);
  ck_assert(g->warmup_steps >= 50 && g->warmup_steps <= 200);
  add_sample(&s->lr, g->lr_log10);
  add_sample(&s->b1, g->beta1);
  add_sample(&s->b2, g->beta2);
  add_sample(&s->eps, g->eps_log10);
  add_sample(&s->wd, g->wd_log10);
  add_sample(&s->clip, g->clip_value);
  add_sample(&s->warm, (double)g->warmup_steps);
  if (g->warmup_steps < s->warm_min)
    s->warm_min = g->warmup_steps;
  if (g->warmup_steps > s->warm_max)
    s->warm_max = g->warmup_steps;
  const bool f[6] = {g->use_m, g->use_v, g->use_bias_correction,
                     g->use_gradient_clipping, g->use_warmup,
                     g->use_cosine_decay};
  for (int i = 0; i < 6; i++)
    s->flags[i] += f[i];
}

START_TEST(test_random_distribution) {
  random_stats s;
  memset(&s, 0, sizeof s);
  s.warm_min = INT64_MAX;
  s.warm_max = INT64_MIN;
  evo_rng r;
  evo_rng_seed(&r, 1234);
  for (size_t i = 0; i < N_RANDOM; i++) {
    evo_genome g;
    evo_breed_random(&g, &r);
    tally_random(&s, &g);
  }
  /* doc/algorithm.md §4, "Random genome". */
  for (int k = 1; k <= 3; k++)
    check_freq("K", s.k[k], N_RANDOM, 1.0 / 3.0);
  for (int c = 0; c < EVO_TERM_COUNT; c++)
    check_freq("term code", s.codes[c], s.n_terms, 1.0 / 7.0);
  check_uniform_mean("alpha", &s.alpha, -1.0, 1.0);
  check_uniform_mean("lr_log10", &s.lr, -4.0, -2.0);
  check_uniform_mean("beta1", &s.b1, 0.5, 0.99);
  check_uniform_mean("beta2", &s.b2, 0.9, 0.9999);
  check_uniform_mean("eps_log10", &s.eps, -9.0, -6.0);
  check_uniform_mean("wd_log10", &s.wd, -5.0, -3.0);
  check_uniform_mean("clip_value", &s.clip, 0.5, 2.0);
  check_uniform_mean("warmup_steps", &s.warm, 49.5, 200.5);
  ck_assert_int_eq(s.warm_min, 50);
  ck_assert_int_eq(s.warm_max, 200);
  const double p[6] = {0.7, 0.7, 0.6, 0.2, 0.3, 0.3};
  const char *names[6] = {"use_m", "use_v", "bias correction", "clipping",
                          "warmup", "cosine"};
  for (int i = 0; i < 6; i++)
    check_freq(names[i], s.flags[i], N_RANDOM, p[i]);
}
END_TEST

START_TEST(test_random_public) {
  evo_genome *a = NULL, *b = NULL, *c = NULL;
  ck_assert_int_eq(evo_genome_random(&a, 7), EVO_OK);
  ck_assert_int_eq(evo_genome_random(&b, 7), EVO_OK);
  ck_assert_int_eq(evo_genome_random(&c, 8), EVO_OK);
  ck_assert(evo_genome_equal(a, b));
  ck_assert(!evo_genome_equal(a, c));
  ck_assert_int_eq(evo_genome_validate(a), EVO_OK);
  ck_assert_int_eq(evo_genome_random(NULL, 1), EVO_EINVAL);
  evo_genome_free(a);
  evo_genome_free(b);
  evo_genome_free(c);
}
END_TEST

/* ---- tournament --------------------------------------------------------- */

#define N_TOURNAMENTS 40000

static double binomial(unsigned n, unsigned k) {
  if (k > n)
    return 0.0;
  double c = 1.0;
  for (unsigned i = 1; i <= k; i++)
    c = c * (double)(n - k + i) / (double)i;
  return c;
}

START_TEST(test_tournament_distinct) {
  /* Fitness = index: the winner is the largest of k distinct indices, so
   * P(win = j) = C(j, k-1) / C(n, k). Drawing with replacement would let
   * small j win (e.g. n = 5, k = 4: 0.6^4 = 13% of wins below 3). */
  const unsigned sizes[][2] = {{5, 4}, {10, 3}, {7, 1}};
  for (size_t t = 0; t < 3; t++) {
    unsigned n = sizes[t][0], k = sizes[t][1];
    double fitness[10];
    size_t perm[10], wins[10] = {0};
    for (unsigned i = 0; i < n; i++)
      fitness[i] = (double)i;
    evo_rng r;
    evo_rng_seed(&r, 99 + t);
    for (size_t i = 0; i < N_TOURNAMENTS; i++)
      wins[evo_breed_tournament(fitness, n, k, perm, &r)]++;
    for (unsigned j = 0; j < n; j++)
      check_freq("tournament winner", wins[j], N_TOURNAMENTS,
                 binomial(j, k - 1) / binomial(n, k));
  }
}
END_TEST

START_TEST(test_tournament_full) {
  /* k = size always returns the best, wherever it is. */
  evo_rng r, fr;
  evo_rng_seed(&r, 5);
  evo_rng_seed(&fr, 6);
  double fitness[12];
  size_t perm[12];
  for (int trial = 0; trial < 2000; trial++) {
    size_t best = 0;
    for (size_t i = 0; i < 12; i++) {
      fitness[i] = evo_rng_range(&fr, -1.0, 1.0);
      if (fitness[i] > fitness[best])
        best = i;
    }
    ck_assert_uint_eq(evo_breed_tournament(fitness, 12, 12, perm, &r), best);
    /* k above the size is clamped to it */
    ck_assert_uint_eq(evo_breed_tournament(fitness, 12, 40, perm, &r), best);
  }
}
END_TEST

START_TEST(test_tournament_ties) {
  /* All equal and k = n: the first drawn wins, which is uniform; breaking
   * ties by index would always pick the same one. */
  double fitness[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  size_t perm[6], wins[6] = {0};
  evo_rng r;
  evo_rng_seed(&r, 11);
  for (size_t i = 0; i < N_TOURNAMENTS; i++)
    wins[evo_breed_tournament(fitness, 6, 6, perm, &r)]++;
  for (int j = 0; j < 6; j++)
    check_freq("tie winner", wins[j], N_TOURNAMENTS, 1.0 / 6.0);
}
END_TEST

START_TEST(test_rank_stable) {
  const double fitness[] = {1.0, 3.0, 3.0, -1.0, 2.0, 3.0};
  const size_t want[] = {1, 2, 5, 4, 0, 3};
  evo_ranked order[6];
  evo_breed_rank(fitness, 6, order);
  for (size_t i = 0; i < 6; i++) {
    ck_assert_uint_eq(order[i].index, want[i]);
    ck_assert(order[i].fitness == fitness[want[i]]);
  }
}
END_TEST

/* ---- crossover ---------------------------------------------------------- */

/* A parent whose term i has code codes[i] and alpha sign·(1 + (i+1)/10),
 * so that the source of every child term can be read off its alpha. */
static evo_genome parent(size_t n, double sign) {
  evo_genome g = preset("adam");
  g.n_terms = n;
  for (size_t i = 0; i < n; i++) {
    g.terms[i] = (int)i;
    g.alphas[i] = sign * (1.0 + 0.1 * (double)(i + 1));
  }
  return g;
}

/* Reads the cuts back from a child of parent(la, +1), parent(lb, -1):
 * a = leading positive alphas, b = index in B of the first negative one
 * (lb when the child holds no term of B). Checks the child is exactly
 * A[:a] + B[b:] cut to 4 terms. */
static void read_cuts(const evo_genome *c, size_t la, size_t lb, size_t *a,
                      size_t *b) {
  size_t i = 0;
  while (i < c->n_terms && c->alphas[i] > 0)
    i++;
  *a = i;
  *b = lb;
  if (i < c->n_terms)
    *b = (size_t)lround((-c->alphas[i] - 1.0) * 10.0) - 1;
  ck_assert_uint_eq(c->n_terms, *a + lb - *b < 4 ? *a + lb - *b : 4);
  for (size_t j = 0; j < c->n_terms; j++) {
    bool from_a = j < *a;
    size_t src = from_a ? j : *b + (j - *a);
    ck_assert(src < (from_a ? la : lb));
    ck_assert_double_eq(c->alphas[j],
                        (from_a ? 1.0 : -1.0) * (1.0 + 0.1 * (double)(src + 1)));
    ck_assert_int_eq(c->terms[j], (int)src);
  }
}

#define N_CROSS 30000

START_TEST(test_crossover_cuts) {
  const size_t lens[][2] = {{3, 3}, {1, 4}, {4, 1}, {4, 4}, {2, 2}};
  evo_rng r;
  evo_rng_seed(&r, 21);
  for (size_t t = 0; t < 5; t++) {
    size_t la = lens[t][0], lb = lens[t][1];
    evo_genome pa = parent(la, 1.0), pb = parent(lb, -1.0);
    size_t count_a[5] = {0}, count_b[5] = {0}, capped = 0, capped_want = 0;
    size_t known_b = 0;
    for (size_t i = 0; i < N_CROSS; i++) {
      evo_genome c;
      evo_breed_crossover(&c, &pa, &pb, &r);
      size_t a, b;
      read_cuts(&c, la, lb, &a, &b);
      ck_assert(a >= 1 && a <= la); /* a uniform in 1..len(A) */
      count_a[a]++;
      if (b == lb) { /* all four from A: B's cut is cut off, a > 4 - 1 */
        ck_assert_uint_eq(a, 4);
        capped++;
        continue;
      }
      ck_assert(b <= lb - 1); /* b uniform in 0..len(B)-1 */
      count_b[b]++;
      known_b++;
      capped += a + lb - b > 4;
    }
    for (size_t a = 1; a <= la; a++)
      check_freq("cut a", count_a[a], N_CROSS, 1.0 / (double)la);
    for (size_t b = 0; b < lb; b++)
      check_freq("cut b", count_b[b], known_b, 1.0 / (double)lb);
    for (size_t a = 1; a <= la; a++) /* pairs (a, b) whose splice is > 4 */
      for (size_t b = 0; b < lb; b++)
        capped_want += a + lb - b > 4;
    check_freq("truncated to 4", capped, N_CROSS,
               (double)capped_want / (double)(la * lb));
  }
}
END_TEST

START_TEST(test_crossover_empty_fallback) {
  /* Unreachable from valid genomes (a >= 1); parents without terms show
   * the rule: [GRAD], [1.0]. */
  evo_genome a = preset("adam"), b = preset("sgd");
  a.n_terms = 0;
  b.n_terms = 0;
  evo_rng r;
  evo_rng_seed(&r, 3);
  evo_genome c;
  evo_breed_crossover(&c, &a, &b, &r);
  ck_assert_uint_eq(c.n_terms, 1);
  ck_assert_int_eq(c.terms[0], EVO_TERM_GRAD);
  ck_assert_double_eq(c.alphas[0], 1.0);
}
END_TEST

/* Two parents differing in every gene; A has zero weight decay. */
static void distinct_parents(evo_genome *a, evo_genome *b) {
  *a = preset("adam");
  *b = preset("rmsprop");
  a->wd_log10 = -INFINITY;
  a->eps_log10 = -7.0;
  a->use_gradient_clipping = true;
  a->clip_value = 0.7;
  a->use_warmup = true;
  a->warmup_steps = 60;
  b->use_cosine_decay = true;
  b->lr_log10 = -2.0;
  b->beta1 = 0.6;
  b->use_v = false;
}

#define N_GENES 13

/* Which genes of @p c came from A (bit set) rather than B. */
static unsigned genes_from_a(const evo_genome *c, const evo_genome *a) {
  const bool from_a[N_GENES] = {
      c->lr_log10 == a->lr_log10,
      c->beta1 == a->beta1,
      c->beta2 == a->beta2,
      c->eps_log10 == a->eps_log10,
      c->wd_log10 == a->wd_log10,
      c->use_m == a->use_m,
      c->use_v == a->use_v,
      c->use_bias_correction == a->use_bias_correction,
      c->use_gradient_clipping == a->use_gradient_clipping,
      c->clip_value == a->clip_value,
      c->use_warmup == a->use_warmup,
      c->warmup_steps == a->warmup_steps,
      c->use_cosine_decay == a->use_cosine_decay};
  unsigned bits = 0;
  for (int i = 0; i < N_GENES; i++)
    bits |= (unsigned)from_a[i] << i;
  return bits;
}

START_TEST(test_crossover_genes) {
  evo_genome a, b;
  distinct_parents(&a, &b);
  ck_assert_uint_eq(genes_from_a(&a, &a), (1u << N_GENES) - 1);
  ck_assert_uint_eq(genes_from_a(&b, &a), 0); /* every gene differs */
  size_t single[N_GENES] = {0}, pair[N_GENES][N_GENES] = {{0}};
  evo_rng r;
  evo_rng_seed(&r, 77);
  for (size_t t = 0; t < N_CROSS; t++) {
    evo_genome c;
    evo_breed_crossover(&c, &a, &b, &r);
    ck_assert(c.wd_log10 == -INFINITY || c.wd_log10 == b.wd_log10);
    unsigned bits = genes_from_a(&c, &a);
    for (int i = 0; i < N_GENES; i++)
      for (int j = i; j < N_GENES; j++)
        pair[i][j] += ((bits >> i) & 1u) && ((bits >> j) & 1u);
  }
  for (int i = 0; i < N_GENES; i++) {
    single[i] = pair[i][i];
    check_freq("gene from A", single[i], N_CROSS, 0.5);
    for (int j = i + 1; j < N_GENES; j++) /* independent draws */
      check_freq("gene pair from A", pair[i][j], N_CROSS, 0.25);
  }
}
END_TEST

START_TEST(test_crossover_alias) {
  evo_genome a, b;
  distinct_parents(&a, &b);
  evo_genome expect;
  evo_rng r1, r2;
  evo_rng_seed(&r1, 8);
  r2 = r1;
  evo_breed_crossover(&expect, &a, &b, &r1);
  evo_breed_crossover(&a, &a, &b, &r2); /* child overwrites parent A */
  ck_assert(evo_genome_equal(&a, &expect));
}
END_TEST

/* ---- mutation ----------------------------------------------------------- */

#define N_MUT 40000
#define G 10

/* A genome with every gene in the middle of its clamp, so that one
 * mutation step (σ <= 0.3) never reaches a clamp. */
static evo_genome mid_genome(size_t n_terms) {
  evo_genome g = preset("adam");
  g.n_terms = n_terms;
  for (size_t i = 0; i < n_terms; i++) {
    g.terms[i] = 0;
    g.alphas[i] = 1.0;
  }
  g.lr_log10 = -3.0;
  g.beta1 = 0.5;
  g.beta2 = 0.5;
  g.eps_log10 = -7.0;
  g.wd_log10 = -4.0;
  return g;
}

typedef struct mut_stats {
  size_t changed[6]; /* lr, b1, b2, eps, wd, alpha0 */
  moments delta[6];
  size_t flips[6];
} mut_stats;

static void tally_mutation(mut_stats *s, const evo_genome *before,
                           const evo_genome *after) {
  const double x0[6] = {before->lr_log10, before->beta1, before->beta2,
                        before->eps_log10, before->wd_log10,
                        log(before->alphas[0])};
  const double x1[6] = {after->lr_log10, after->beta1, after->beta2,
                        after->eps_log10, after->wd_log10,
                        log(after->alphas[0])};
  for (int i = 0; i < 6; i++) {
    if (x0[i] != x1[i]) {
      s->changed[i]++;
      add_sample(&s->delta[i], x1[i] - x0[i]);
    }
  }
  const bool f0[6] = {before->use_m, before->use_v,
                      before->use_bias_correction,
                      before->use_gradient_clipping, before->use_warmup,
                      before->use_cosine_decay};
  const bool f1[6] = {after->use_m, after->use_v, after->use_bias_correction,
                      after->use_gradient_clipping, after->use_warmup,
                      after->use_cosine_decay};
  for (int i = 0; i < 6; i++)
    s->flips[i] += f0[i] != f1[i];
  ck_assert(after->clip_value == before->clip_value);
  ck_assert_int_eq(after->warmup_steps, before->warmup_steps);
}

static void check_mutation_at(uint32_t gen) {
  double d = 1.0 - 0.5 * (double)gen / (double)G; /* doc/algorithm.md §4 */
  double p_num = 0.35 * d, p_flag = 0.1 * d, sigma = 0.3 * d;
  /* σ of lr, β1, β2, eps, wd (doc/algorithm.md §4) and of log|α|
   * (α·exp(N(0,σ))) */
  const double sig[6] = {sigma, 0.2 * sigma, 0.1 * sigma, sigma, sigma,
                         sigma};
  const char *names[6] = {"lr", "beta1", "beta2", "eps", "wd", "alpha"};
  mut_stats s;
  memset(&s, 0, sizeof s);
  evo_rng r;
  evo_rng_seed(&r, 1000 + gen);
  evo_genome before = mid_genome(1);
  for (size_t t = 0; t < N_MUT; t++) {
    evo_genome g = before;
    evo_breed_mutate(&g, gen, G, &r);
    tally_mutation(&s, &before, &g);
  }
  for (int i = 0; i < 6; i++) {
    check_freq(names[i], s.changed[i], N_MUT, p_num);
    check_normal_std(names[i], &s.delta[i], sig[i]);
    check_freq("flag flip", s.flips[i], N_MUT, p_flag);
  }
}

START_TEST(test_mutation_gen0) { check_mutation_at(0); }
END_TEST

START_TEST(test_mutation_last_gen) { check_mutation_at(G - 1); }
END_TEST

START_TEST(test_mutation_structure) {
  /* p_struct = 0.15d split evenly over add, remove, change; a disallowed
   * operation does nothing. */
  const uint32_t gens[2] = {0, G - 1};
  for (int gi = 0; gi < 2; gi++) {
    double p_op = 0.15 * (1.0 - 0.5 * (double)gens[gi] / G) / 3.0;
    for (size_t k = 1; k <= 4; k++) {
      evo_rng r;
      evo_rng_seed(&r, 500 + 10 * k + (size_t)gi);
      size_t grew = 0, shrank = 0, recoded = 0;
      evo_genome before = mid_genome(k);
      for (size_t t = 0; t < N_MUT; t++) {
        evo_genome g = before;
        evo_breed_mutate(&g, gens[gi], G, &r);
        grew += g.n_terms == k + 1;
        shrank += g.n_terms + 1 == k;
        ck_assert(g.n_terms >= k - (size_t)(k > 1) &&
                  g.n_terms <= k + (size_t)(k < 4));
        if (g.n_terms == k)
          for (size_t i = 0; i < k; i++)
            recoded += g.terms[i] != 0;
        if (g.n_terms == k + 1) { /* the new term: uniform code, α U[-1,1] */
          ck_assert(g.alphas[k] >= -1.0 && g.alphas[k] < 1.0);
          ck_assert(g.terms[k] >= 0 && g.terms[k] < EVO_TERM_COUNT);
        }
      }
      check_freq("add", grew, N_MUT, k < 4 ? p_op : 0.0);
      check_freq("remove", shrank, N_MUT, k > 1 ? p_op : 0.0);
      /* change draws a uniform code: 6 of 7 differ from the old one */
      check_freq("change", recoded, N_MUT, p_op * 6.0 / 7.0);
    }
  }
}
END_TEST

static bool within_clamps(const evo_genome *g) {
  bool ok = g->lr_log10 >= -5.0 && g->lr_log10 <= -1.0 && g->beta1 >= 0.0 &&
            g->beta1 <= 0.999 && g->beta2 >= 0.0 && g->beta2 <= 0.9999 &&
            g->eps_log10 >= -10.0 && g->eps_log10 <= -4.0 &&
            (g->wd_log10 == -INFINITY ||
             (g->wd_log10 >= -6.0 && g->wd_log10 <= -2.0));
  for (size_t i = 0; i < g->n_terms; i++)
    ok = ok && g->alphas[i] >= -5.0 && g->alphas[i] <= 5.0;
  return ok && g->n_terms >= 1 && g->n_terms <= 4;
}

START_TEST(test_mutation_clamps) {
  /* Long mutation chains random-walk into every clamp (doc/algorithm.md §1). */
  evo_rng r;
  evo_rng_seed(&r, 31);
  size_t at_bound = 0;
  for (int chain = 0; chain < 40; chain++) {
    evo_genome g;
    evo_breed_random(&g, &r);
    g.alphas[0] = chain % 2 ? 4.9 : -4.9;
    double clip = g.clip_value;
    int64_t warm = g.warmup_steps;
    for (int step = 0; step < 3000; step++) {
      evo_breed_mutate(&g, 0, G, &r);
      ck_assert_msg(within_clamps(&g), "chain %d step %d left the clamps",
                    chain, step);
      at_bound += g.lr_log10 == -5.0 || g.lr_log10 == -1.0;
    }
    ck_assert(g.clip_value == clip && g.warmup_steps == warm);
  }
  ck_assert_uint_gt(at_bound, 0); /* the clamps did bite */
}
END_TEST

START_TEST(test_mutation_outside_clamp) {
  /* A user genome may start outside the clamps (lr_log10 = 0 is
   * accepted): untouched it stays, mutated it is clamped to -1. */
  evo_rng r;
  evo_rng_seed(&r, 41);
  size_t kept = 0;
  for (size_t t = 0; t < N_MUT; t++) {
    evo_genome g = mid_genome(1);
    g.lr_log10 = 0.0;
    evo_breed_mutate(&g, 0, G, &r);
    if (g.lr_log10 == 0.0)
      kept++;
    else
      ck_assert(g.lr_log10 <= -1.0);
  }
  check_freq("lr untouched", kept, N_MUT, 1.0 - 0.35);
}
END_TEST

START_TEST(test_mutation_zero_decay) {
  evo_rng r;
  evo_rng_seed(&r, 51);
  evo_genome g = preset("adam-nowd");
  ck_assert(g.wd_log10 == -INFINITY);
  for (int t = 0; t < 20000; t++) {
    evo_breed_mutate(&g, 0, G, &r);
    ck_assert(g.wd_log10 == -INFINITY);
  }
}
END_TEST

START_TEST(test_breed_public) {
  evo_genome *a = NULL, *b = NULL, *c1 = NULL, *c2 = NULL;
  ck_assert_int_eq(evo_genome_preset(&a, "adam"), EVO_OK);
  ck_assert_int_eq(evo_genome_preset(&b, "sgd"), EVO_OK);
  ck_assert_int_eq(evo_genome_breed(&c1, a, b, 3, 3, 1), EVO_ERANGE);
  ck_assert_ptr_null(c1);
  ck_assert_int_eq(evo_genome_breed(&c1, a, b, 0, 0, 1), EVO_ERANGE);
  ck_assert_int_eq(evo_genome_breed(&c1, NULL, b, 0, 1, 1), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_breed(NULL, a, b, 0, 1, 1), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_breed(&c1, a, b, 2, 3, 99), EVO_OK);
  ck_assert_int_eq(evo_genome_breed(&c2, a, b, 2, 3, 99), EVO_OK);
  ck_assert(evo_genome_equal(c1, c2));
  ck_assert_int_eq(evo_genome_validate(c1), EVO_OK);
  /* the same as crossover then mutation with one generator */
  evo_rng r;
  evo_rng_seed(&r, 99);
  evo_genome expect;
  evo_breed_crossover(&expect, a, b, &r);
  evo_breed_mutate(&expect, 2, 3, &r);
  ck_assert(evo_genome_equal(c1, &expect));
  evo_genome_free(a);
  evo_genome_free(b);
  evo_genome_free(c1);
  evo_genome_free(c2);
}
END_TEST

static Suite *breed_suite(void) {
  Suite *s = suite_create("breed");
  TCase *tc = tcase_create("operators");
  tcase_add_test(tc, test_rates);
  tcase_add_test(tc, test_random_distribution);
  tcase_add_test(tc, test_random_public);
  tcase_add_test(tc, test_tournament_distinct);
  tcase_add_test(tc, test_tournament_full);
  tcase_add_test(tc, test_tournament_ties);
  tcase_add_test(tc, test_rank_stable);
  tcase_add_test(tc, test_crossover_cuts);
  tcase_add_test(tc, test_crossover_empty_fallback);
  tcase_add_test(tc, test_crossover_genes);
  tcase_add_test(tc, test_crossover_alias);
  tcase_add_test(tc, test_mutation_gen0);
  tcase_add_test(tc, test_mutation_last_gen);
  tcase_add_test(tc, test_mutation_structure);
  tcase_add_test(tc, test_mutation_clamps);
  tcase_add_test(tc, test_mutation_outside_clamp);
  tcase_add_test(tc, test_mutation_zero_decay);
  tcase_add_test(tc, test_breed_public);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(breed_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The exact evaluation cache (population.h, "The evaluation cache"): the
 * canonical form gene by gene against doc/algorithm.md §2 and against the
 * optimizer's own trajectories; runs with and without the cache; hits and
 * misses; groups within a generation; failures; checkpoint and resume. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evolve/cache_internal.h"
#include "evoopt/optimizer.h"
#include "evoopt/population.h"
#include "core/io_internal.h"
#include "pop_testlib.h"
#include "evolve/population_internal.h"
#include "core/rng_internal.h"

/* ---- genomes ------------------------------------------------------------ */

/* A genome with the given terms (α 1, 0.5, -0.25, 2 in turn) and flags
 * use_m, use_v, bias correction. */
static evo_genome *make(const evo_term *terms, size_t n, int m, int v, int bc) {
  static const double alphas[] = {1.0, 0.5, -0.25, 2.0};
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  ck_assert_int_eq(evo_genome_set_term(g, 0, terms[0], alphas[0]), EVO_OK);
  for (size_t i = 1; i < n; i++)
    ck_assert_int_eq(evo_genome_add_term(g, terms[i], alphas[i]), EVO_OK);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_USE_M, m), EVO_OK);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_USE_V, v), EVO_OK);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_BIAS_CORRECTION, bc),
                   EVO_OK);
  return g;
}

static bool same_canonical(const evo_genome *a, const evo_genome *b) {
  evo_genome ca, cb;
  evo_genome_canonical(a, &ca);
  evo_genome_canonical(b, &cb);
  return evo_genome_equal(&ca, &cb);
}

/* Whether changing @p gene of @p g to @p value keeps the canonical form. */
static bool gene_irrelevant(const evo_genome *g, evo_gene gene, double value) {
  evo_genome h = *g;
  ck_assert_int_eq(evo_genome_set(&h, gene, value), EVO_OK);
  ck_assert(!evo_genome_equal(g, &h));
  return same_canonical(g, &h);
}

static bool flag_irrelevant(const evo_genome *g, evo_flag flag) {
  evo_genome h = *g;
  int v;
  ck_assert_int_eq(evo_genome_get_flag(&h, flag, &v), EVO_OK);
  ck_assert_int_eq(evo_genome_set_flag(&h, flag, !v), EVO_OK);
  return same_canonical(g, &h);
}

#define T(...) ((const evo_term[]){__VA_ARGS__})
#define NT(...) (sizeof((const evo_term[]){__VA_ARGS__}) / sizeof(evo_term))
/* A genome from a term list and the flags m, v, bc. */
#define G(m, v, bc, ...) make(T(__VA_ARGS__), NT(__VA_ARGS__), m, v, bc)

/* One expectation: gene or flag of a genome, irrelevant or not, the
 * reason quoted from doc/algorithm.md §2. */
typedef struct gene_case {
  evo_genome *g;
  int is_flag;
  int which;
  double value; /* for genes */
  bool irrelevant;
  const char *why;
} gene_case;

static void check_cases(gene_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool got = c[i].is_flag
                   ? flag_irrelevant(c[i].g, (evo_flag)c[i].which)
                   : gene_irrelevant(c[i].g, (evo_gene)c[i].which, c[i].value);
    ck_assert_msg(got == c[i].irrelevant, "case %zu (%s): irrelevant = %d", i,
                  c[i].why, (int)got);
    evo_genome_free(c[i].g);
  }
}

enum { GENE = 0, FLAG = 1 };

START_TEST(test_canonical_moments) {
  gene_case c[] = {
      /* β1 acts through m (step 3) and m̂'s correction (step 5), read by
       * MOMENTUM, ADAM_TERM, NESTEROV only */
      {G(1, 1, 1, EVO_TERM_MOMENTUM), GENE, EVO_GENE_BETA1, 0.7, false,
       "beta1, momentum"},
      {G(1, 1, 1, EVO_TERM_ADAM), GENE, EVO_GENE_BETA1, 0.7, false,
       "beta1, adam"},
      {G(1, 0, 0, EVO_TERM_NESTEROV), GENE, EVO_GENE_BETA1, 0.7, false,
       "beta1, nesterov without bias correction"},
      {G(0, 1, 1, EVO_TERM_MOMENTUM), GENE, EVO_GENE_BETA1, 0.7, true,
       "beta1 without use_m: m stands for g"},
      {G(1, 1, 1, EVO_TERM_GRAD, EVO_TERM_SIGN, EVO_TERM_UNIT,
         EVO_TERM_RMS_NORM),
       GENE, EVO_GENE_BETA1, 0.7, true, "beta1, nothing reads m"},
      /* β2 acts through v (step 4), read by RMS_NORM and ADAM_TERM only */
      {G(1, 1, 1, EVO_TERM_RMS_NORM), GENE, EVO_GENE_BETA2, 0.99, false,
       "beta2, rms"},
      {G(1, 1, 0, EVO_TERM_ADAM), GENE, EVO_GENE_BETA2, 0.99, false,
       "beta2, adam without bias correction"},
      {G(1, 0, 1, EVO_TERM_ADAM), GENE, EVO_GENE_BETA2, 0.99, true,
       "beta2 without use_v"},
      {G(1, 1, 1, EVO_TERM_MOMENTUM, EVO_TERM_UNIT, EVO_TERM_NESTEROV), GENE,
       EVO_GENE_BETA2, 0.99, true, "beta2, nothing reads v"},
      /* use_m and use_v decide what m and v stand for */
      {G(1, 1, 1, EVO_TERM_NESTEROV), FLAG, EVO_FLAG_USE_M, 0, false,
       "use_m, nesterov"},
      {G(0, 1, 1, EVO_TERM_SIGN, EVO_TERM_MOMENTUM), FLAG, EVO_FLAG_USE_M, 0,
       false, "use_m off, momentum"},
      {G(1, 1, 1, EVO_TERM_GRAD, EVO_TERM_RMS_NORM), FLAG, EVO_FLAG_USE_M, 0,
       true, "use_m, nothing reads m"},
      {G(1, 1, 1, EVO_TERM_RMS_NORM), FLAG, EVO_FLAG_USE_V, 0, false,
       "use_v, rms"},
      {G(1, 0, 1, EVO_TERM_ADAM), FLAG, EVO_FLAG_USE_V, 0, false,
       "use_v off, adam"},
      {G(1, 1, 1, EVO_TERM_MOMENTUM, EVO_TERM_UNIT), FLAG, EVO_FLAG_USE_V, 0,
       true, "use_v, nothing reads v"},
      /* bias correction divides a kept moment that is read */
      {G(1, 0, 1, EVO_TERM_MOMENTUM), FLAG, EVO_FLAG_BIAS_CORRECTION, 0, false,
       "bias correction, kept m read"},
      {G(0, 1, 1, EVO_TERM_RMS_NORM), FLAG, EVO_FLAG_BIAS_CORRECTION, 0, false,
       "bias correction, kept v read"},
      {G(0, 0, 1, EVO_TERM_ADAM), FLAG, EVO_FLAG_BIAS_CORRECTION, 0, true,
       "bias correction, no moment kept"},
      {G(1, 0, 1, EVO_TERM_RMS_NORM), FLAG, EVO_FLAG_BIAS_CORRECTION, 0, true,
       "bias correction, kept m not read, v not kept"},
      {G(1, 1, 0, EVO_TERM_GRAD, EVO_TERM_SIGN), FLAG, EVO_FLAG_BIAS_CORRECTION,
       0, true, "bias correction, nothing read"},
  };
  check_cases(c, sizeof c / sizeof c[0]);
}
END_TEST

START_TEST(test_canonical_scalars) {
  evo_genome *clip = G(1, 1, 1, EVO_TERM_GRAD);
  ck_assert_int_eq(evo_genome_set_flag(clip, EVO_FLAG_GRADIENT_CLIPPING, 1),
                   EVO_OK);
  evo_genome *warm = G(1, 1, 1, EVO_TERM_GRAD);
  ck_assert_int_eq(evo_genome_set_flag(warm, EVO_FLAG_WARMUP, 1), EVO_OK);
  gene_case c[] = {
      /* ε appears in RMS_NORM, ADAM_TERM and UNIT_GRAD only */
      {G(1, 1, 1, EVO_TERM_RMS_NORM), GENE, EVO_GENE_EPS_LOG10, -6, false,
       "eps, rms"},
      {G(1, 1, 1, EVO_TERM_ADAM), GENE, EVO_GENE_EPS_LOG10, -6, false,
       "eps, adam"},
      {G(0, 0, 0, EVO_TERM_UNIT), GENE, EVO_GENE_EPS_LOG10, -6, false,
       "eps, unit"},
      {G(1, 1, 1, EVO_TERM_GRAD, EVO_TERM_MOMENTUM, EVO_TERM_SIGN,
         EVO_TERM_NESTEROV),
       GENE, EVO_GENE_EPS_LOG10, -6, true, "eps, no division"},
      /* step 1 only with clipping; η_s's warmup only with warmup */
      {G(1, 1, 1, EVO_TERM_GRAD), GENE, EVO_GENE_CLIP_VALUE, 0.5, true,
       "clip value without clipping"},
      {clip, GENE, EVO_GENE_CLIP_VALUE, 0.5, false, "clip value, clipping"},
      {G(1, 1, 1, EVO_TERM_GRAD), GENE, EVO_GENE_WARMUP_STEPS, 50, true,
       "warmup steps without warmup"},
      {warm, GENE, EVO_GENE_WARMUP_STEPS, 50, false, "warmup steps, warmup"},
      /* always live: η, λ (also exactly 0), the schedule flags, clipping */
      {G(0, 0, 0, EVO_TERM_SIGN), GENE, EVO_GENE_LR_LOG10, -2, false, "lr"},
      {G(0, 0, 0, EVO_TERM_SIGN), GENE, EVO_GENE_WD_LOG10, -3, false, "wd"},
      {G(0, 0, 0, EVO_TERM_SIGN), GENE, EVO_GENE_WD_LOG10, -INFINITY, false,
       "wd = 0"},
      {G(0, 0, 0, EVO_TERM_SIGN), FLAG, EVO_FLAG_GRADIENT_CLIPPING, 0, false,
       "clipping (sign(clamp(g)) = sign(g), but not provably kept)"},
      {G(0, 0, 0, EVO_TERM_SIGN), FLAG, EVO_FLAG_WARMUP, 0, false, "warmup"},
      {G(0, 0, 0, EVO_TERM_SIGN), FLAG, EVO_FLAG_COSINE_DECAY, 0, false,
       "cosine"},
  };
  check_cases(c, sizeof c / sizeof c[0]);
}
END_TEST

/* A copy of @p g with term @p i's weight set to @p alpha. */
static evo_genome with_alpha(const evo_genome *g, size_t i, double alpha) {
  evo_genome h = *g;
  evo_term kind;
  ck_assert_int_eq(evo_genome_get_term(&h, i, &kind, NULL), EVO_OK);
  ck_assert_int_eq(evo_genome_set_term(&h, i, kind, alpha), EVO_OK);
  return h;
}

START_TEST(test_canonical_terms) {
  /* other kinds may trade places: each kind's weights are summed apart
   * and the kinds are combined in a fixed order */
  evo_genome *a = G(1, 1, 1, EVO_TERM_SIGN, EVO_TERM_ADAM, EVO_TERM_GRAD);
  evo_genome *b = G(1, 1, 1, EVO_TERM_ADAM, EVO_TERM_GRAD, EVO_TERM_SIGN);
  evo_genome sb = with_alpha(b, 0, 0.5); /* ADAM 0.5, GRAD -0.25, SIGN 1 */
  sb = with_alpha(&sb, 1, -0.25);
  sb = with_alpha(&sb, 2, 1.0);
  ck_assert(!evo_genome_equal(a, &sb));
  ck_assert(same_canonical(a, &sb));
  /* a weight's change is seen, even one below float resolution (the
   * optimizer sums a kind's weights before it rounds them to float) */
  evo_genome c = with_alpha(a, 1, 0.75);
  ck_assert(!same_canonical(a, &c));
  double x = 0.3, y = nextafter(0.3, 1.0);
  ck_assert((float)x == (float)y && x != y);
  evo_genome d = with_alpha(a, 0, x), e = with_alpha(a, 0, y);
  ck_assert(!same_canonical(&d, &e));
  /* α = -0 adds what +0 adds; α = 0 is still a term (0·∞ is NaN) */
  evo_genome z0 = with_alpha(a, 0, 0.0), z1 = with_alpha(a, 0, -0.0);
  ck_assert(same_canonical(&z0, &z1));
  evo_genome *one = G(1, 1, 1, EVO_TERM_GRAD);
  evo_genome two = *one;
  ck_assert_int_eq(evo_genome_add_term(&two, EVO_TERM_SIGN, 0.0), EVO_OK);
  ck_assert(!same_canonical(one, &two));
  /* within a kind: the first two commute, a third may not move */
  evo_genome *k3 = G(1, 1, 1, EVO_TERM_GRAD, EVO_TERM_GRAD, EVO_TERM_GRAD);
  evo_genome p = *k3, q = *k3, r = *k3; /* α 1, 0.5, -0.25 */
  p = with_alpha(&p, 0, 0.5);
  p = with_alpha(&p, 1, 1.0); /* 0.5, 1, -0.25: first two swapped */
  q = with_alpha(&q, 1, -0.25);
  q = with_alpha(&q, 2, 0.5); /* 1, -0.25, 0.5: last two swapped */
  ck_assert(same_canonical(k3, &p));
  ck_assert(!same_canonical(k3, &q));
  /* and two of a kind are not one term of their sum */
  evo_genome *sum1 = G(1, 1, 1, EVO_TERM_GRAD);
  r = *sum1;
  evo_genome *pair = G(1, 1, 1, EVO_TERM_GRAD, EVO_TERM_GRAD);
  r = with_alpha(&r, 0, 1.5);
  ck_assert(!same_canonical(pair, &r));
  /* unused slots never count */
  evo_genome s1 = *k3;
  ck_assert_int_eq(evo_genome_remove_term(&s1, 2), EVO_OK);
  evo_genome s2 = s1;
  s2.terms[2] = EVO_TERM_ADAM;
  s2.alphas[3] = 4.0;
  evo_genome c1, c2;
  evo_genome_canonical(&s1, &c1);
  evo_genome_canonical(&s2, &c2);
  ck_assert(memcmp(c1.terms, c2.terms, sizeof c1.terms) == 0);
  ck_assert(memcmp(c1.alphas, c2.alphas, sizeof c1.alphas) == 0);
  evo_genome_free(a);
  evo_genome_free(b);
  evo_genome_free(one);
  evo_genome_free(k3);
  evo_genome_free(sum1);
  evo_genome_free(pair);
}
END_TEST

/* ---- the optimizer agrees ----------------------------------------------- */

#define TRAJ_N 37
#define TRAJ_STEPS 40

/* Parameters after TRAJ_STEPS optimizer steps on a fixed gradient stream
 * with zeros, tiny and large values (so clipping, ε and sign matter). */
static void trajectory(const evo_genome *g, float out[TRAJ_N]) {
  float p[TRAJ_N], gr[TRAJ_N];
  evo_rng r;
  evo_rng_seed(&r, 99);
  for (size_t i = 0; i < TRAJ_N; i++)
    p[i] = (float)evo_rng_range(&r, -1.0, 1.0);
  evo_optimizer *opt = NULL;
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, gr, TRAJ_N), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, TRAJ_STEPS), EVO_OK);
  for (int s = 0; s < TRAJ_STEPS; s++) {
    for (size_t i = 0; i < TRAJ_N; i++) {
      double u = evo_rng_uniform(&r);
      double scale = u < 0.1 ? 0.0 : u < 0.2 ? 1e-9 : u < 0.3 ? 30.0 : 1.0;
      gr[i] = (float)(scale * evo_rng_normal(&r)) + 0.1f * p[i];
    }
    ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
  }
  memcpy(out, p, sizeof p);
  evo_optimizer_free(opt);
}

/* doc/algorithm.md §2 read by hand: which genes cannot change the update. */
typedef struct dead_genes {
  bool beta1, beta2, use_m, use_v, bc, eps, clip, warmup;
} dead_genes;

static dead_genes dead_by_protocol(const evo_genome *g) {
  bool rm = false, rv = false, re = false;
  for (size_t i = 0; i < g->n_terms; i++) {
    int t = g->terms[i];
    rm |=
        t == EVO_TERM_MOMENTUM || t == EVO_TERM_ADAM || t == EVO_TERM_NESTEROV;
    rv |= t == EVO_TERM_RMS_NORM || t == EVO_TERM_ADAM;
    re |= t == EVO_TERM_RMS_NORM || t == EVO_TERM_ADAM || t == EVO_TERM_UNIT;
  }
  bool ml = rm && g->use_m, vl = rv && g->use_v;
  return (dead_genes){
      !ml,           !vl, !rm, !rv, !ml && !vl, !re, !g->use_gradient_clipping,
      !g->use_warmup};
}

/* @p g with every dead gene redrawn. */
static evo_genome redraw_dead(const evo_genome *g, evo_rng *r) {
  dead_genes d = dead_by_protocol(g);
  evo_genome h = *g;
  if (d.beta1)
    h.beta1 = evo_rng_range(r, 0.0, 0.999);
  if (d.beta2)
    h.beta2 = evo_rng_range(r, 0.0, 0.9999);
  if (d.use_m)
    h.use_m = evo_rng_bernoulli(r, 0.5);
  if (d.use_v)
    h.use_v = evo_rng_bernoulli(r, 0.5);
  if (d.bc)
    h.use_bias_correction = evo_rng_bernoulli(r, 0.5);
  if (d.eps)
    h.eps_log10 = evo_rng_range(r, -10.0, -4.0);
  if (d.clip)
    h.clip_value = evo_rng_range(r, 0.5, 2.0);
  if (d.warmup)
    h.warmup_steps = 1 + (int64_t)evo_rng_below(r, 300);
  return h;
}

static bool same_floats(const float *a, const float *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

START_TEST(test_canonical_trajectories) {
  /* For random genomes: the canonical form, and a genome with every gene
   * doc/algorithm.md §2 calls dead redrawn, give the same canonical form and
   * the same parameters bit for bit; a live gene changed gives another form. */
  evo_rng r;
  evo_rng_seed(&r, 2024);
  size_t dead_total = 0, swaps = 0;
  for (int trial = 0; trial < 300; trial++) {
    evo_genome g;
    evo_breed_random(&g, &r);
    g.use_gradient_clipping = evo_rng_bernoulli(&r, 0.5);
    g.use_warmup = evo_rng_bernoulli(&r, 0.5);
    if (trial % 3 == 0) /* repeated kinds, shuffled */
      evo_breed_mutate(&g, 0, 1, &r);
    evo_genome c, cc, h = redraw_dead(&g, &r);
    evo_genome_canonical(&g, &c);
    evo_genome_canonical(&c, &cc);
    ck_assert(evo_genome_equal(&c, &cc)); /* idempotent */
    ck_assert_int_eq(evo_genome_validate(&c), EVO_OK);
    ck_assert(same_canonical(&g, &h));
    float pg[TRAJ_N], pc[TRAJ_N], ph[TRAJ_N];
    trajectory(&g, pg);
    trajectory(&c, pc);
    trajectory(&h, ph);
    if (!same_floats(pg, pc, TRAJ_N)) {
      char *jg = NULL, *jc = NULL;
      evo_genome_to_json(&g, &jg);
      evo_genome_to_json(&c, &jc);
      ck_abort_msg("trial %d: canonical differs: %s vs %s", trial, jg, jc);
    }
    ck_assert_msg(same_floats(pg, ph, TRAJ_N), "trial %d: dead genes", trial);
    /* the first two terms of a kind trade places */
    for (size_t i = 0; i + 1 < g.n_terms; i++) {
      size_t j = i + 1;
      while (j < g.n_terms && g.terms[j] != g.terms[i])
        j++;
      bool first = true;
      for (size_t k = 0; k < i; k++)
        first &= g.terms[k] != g.terms[i];
      if (!first || j == g.n_terms)
        continue;
      evo_genome s2 = g;
      s2.alphas[i] = g.alphas[j];
      s2.alphas[j] = g.alphas[i];
      float ps[TRAJ_N];
      trajectory(&s2, ps);
      ck_assert(same_canonical(&g, &s2));
      ck_assert_msg(same_floats(pg, ps, TRAJ_N), "trial %d: swap", trial);
      swaps++;
    }
    dead_genes d = dead_by_protocol(&g);
    dead_total += (size_t)(d.beta1 + d.beta2 + d.eps + d.bc);
    /* live genes are kept */
    evo_genome l = g;
    l.lr_log10 += 0.25;
    ck_assert(!same_canonical(&g, &l));
    if (!d.beta1) {
      l = g;
      l.beta1 = g.beta1 > 0.5 ? 0.3 : 0.8;
      ck_assert(!same_canonical(&g, &l));
    }
    if (!d.eps) {
      l = g;
      l.eps_log10 += 1.0;
      ck_assert(!same_canonical(&g, &l));
    }
  }
  ck_assert_uint_gt(dead_total, 100); /* the test did exercise them */
  ck_assert_uint_gt(swaps, 10);
}
END_TEST

/* ---- a fitness that sees the genome only through the optimizer ---------- */

typedef struct count_ctx {
  atomic_size_t calls;
  size_t fail_terms; /* genomes with this many terms fail (0: none) */
} count_ctx;

#define Q_N 16
#define Q_STEPS 25

/* Minimises a noisy quadratic with the genome's optimizer; the fitness is
 * 1 / (1 + final loss), -1 when it diverged (doc/algorithm.md §3's
 * convention). */
static int quad_fitness(void *user, const evo_genome *g, uint64_t seed,
                        evo_report *report) {
  count_ctx *ctx = user;
  atomic_fetch_add(&ctx->calls, 1);
  if (ctx->fail_terms != 0 && evo_genome_term_count(g) == ctx->fail_terms) {
    evo_genome *none = NULL;
    return evo_genome_preset(&none, "quad-failure");
  }
  float p[Q_N], gr[Q_N];
  evo_rng r;
  evo_rng_seed(&r, seed);
  for (size_t i = 0; i < Q_N; i++)
    p[i] = (float)evo_rng_range(&r, -1.0, 1.0);
  evo_optimizer *opt = NULL;
  int rc = evo_optimizer_new(&opt, g);
  if (rc == EVO_OK)
    rc = evo_optimizer_add_params(opt, p, gr, Q_N);
  if (rc == EVO_OK)
    rc = evo_optimizer_set_total_steps(opt, Q_STEPS);
  for (int s = 0; s < Q_STEPS && rc == EVO_OK; s++) {
    for (size_t i = 0; i < Q_N; i++)
      gr[i] =
          2.0f * (p[i] - (float)i / Q_N) + (float)(0.05 * evo_rng_normal(&r));
    rc = evo_optimizer_step(opt);
  }
  evo_optimizer_free(opt);
  if (rc != EVO_OK)
    return rc;
  double loss = 0.0;
  for (size_t i = 0; i < Q_N; i++)
    loss += ((double)p[i] - (double)i / Q_N) * ((double)p[i] - (double)i / Q_N);
  double f = isfinite(loss) ? 1.0 / (1.0 + loss / Q_N) : -1.0;
  rc = evo_report_add_task(report, "quad", f);
  return rc == EVO_OK ? evo_report_set_fitness(report, f) : rc;
}

/* ---- runs --------------------------------------------------------------- */

typedef struct run_cfg {
  int64_t size, generations, elites, workers, cache, fresh;
} run_cfg;

/* Calls and hits seen at each generation event. */
typedef struct gen_log {
  count_ctx *fit;
  size_t calls[32], n;
  size_t evals, hit_events;
  size_t cancel_at_eval; /* 0: never */
} gen_log;

static int log_progress(void *user, evo_event event, const evo_population *pop,
                        size_t generation, size_t index) {
  gen_log *l = user;
  if (event == EVO_EVENT_EVALUATION) {
    int cached;
    ck_assert_int_eq(evo_population_individual_cached(pop, index, &cached),
                     EVO_OK);
    l->hit_events += (size_t)cached;
    l->evals++;
    return l->cancel_at_eval != 0 && l->evals == l->cancel_at_eval;
  }
  ck_assert_uint_lt(generation, 32);
  l->calls[generation] = atomic_load(&l->fit->calls);
  l->n = generation + 1;
  return 0;
}

static evo_population *make_pop(const run_cfg *c, count_ctx *fit) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  const struct {
    evo_pop_setting s;
    int64_t v;
  } set[] = {{EVO_POP_SIZE, c->size},     {EVO_POP_GENERATIONS, c->generations},
             {EVO_POP_ELITES, c->elites}, {EVO_POP_TOURNAMENT, 3},
             {EVO_POP_RUN_SEED, 5},       {EVO_POP_WORKERS, c->workers},
             {EVO_POP_CACHE, c->cache},   {EVO_POP_FRESH_SEEDS, c->fresh},
             {EVO_POP_HALL_OF_FAME, 20}};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    ck_assert_int_eq(evo_population_set(pop, set[i].s, set[i].v), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, quad_fitness, fit), EVO_OK);
  return pop;
}

static double hits_of(const evo_population *pop, size_t g) {
  double v;
  ck_assert_int_eq(evo_population_history(pop, g, EVO_HIST_CACHE_HITS, &v),
                   EVO_OK);
  return v;
}

static evo_population *logged_run(const run_cfg *c, count_ctx *fit,
                                  gen_log *log) {
  memset(log, 0, sizeof *log);
  log->fit = fit;
  evo_population *pop = make_pop(c, fit);
  ck_assert_int_eq(evo_population_set_progress(pop, log_progress, log), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

START_TEST(test_same_run_with_and_without) {
  static const run_cfg base = {14, 8, 3, 1, 0, 0};
  count_ctx f0 = {0}, f1 = {0}, f2 = {0};
  gen_log l0, l1, l2;
  run_cfg c = base;
  evo_population *off = logged_run(&c, &f0, &l0);
  c.cache = EVO_CACHE_CANONICAL;
  evo_population *on = logged_run(&c, &f1, &l1);
  c.cache = EVO_CACHE_EXACT;
  evo_population *exact = logged_run(&c, &f2, &l2);
  pt_assert_same_run(off, on, false);
  pt_assert_same_run(off, exact, false);
  ck_assert_uint_eq(atomic_load(&f0.calls), 14 * 8);
  size_t hits = 0, exact_hits = 0, prev = 0;
  for (size_t g = 0; g < 8; g++) {
    ck_assert(hits_of(off, g) == 0.0);
    /* every individual is evaluated or a hit */
    size_t calls = l1.calls[g] - prev;
    prev = l1.calls[g];
    ck_assert_uint_eq(calls + (size_t)hits_of(on, g), 14);
    if (g > 0) /* the elites at least, evaluated the generation before */
      ck_assert(hits_of(on, g) >= 3.0 && hits_of(exact, g) >= 3.0);
    ck_assert(hits_of(on, g) >= hits_of(exact, g));
    hits += (size_t)hits_of(on, g);
    exact_hits += (size_t)hits_of(exact, g);
  }
  ck_assert_uint_eq(atomic_load(&f1.calls), 14 * 8 - hits);
  ck_assert_uint_eq(l1.hit_events, hits); /* the event still fires */
  ck_assert_uint_eq(l1.evals, 14 * 8);
  ck_assert_uint_eq(evo_population_cache_count(on), atomic_load(&f1.calls));
  ck_assert_uint_eq(evo_population_cache_count(off), 0);
  ck_assert_uint_eq(atomic_load(&f2.calls), 14 * 8 - exact_hits);
  evo_population_free(off);
  evo_population_free(on);
  evo_population_free(exact);
}
END_TEST

/* Exact mode: the calls are the distinct genomes of the whole run, seen
 * through the snapshots of every generation. */
typedef struct distinct_log {
  evo_genome seen[512];
  size_t n;
} distinct_log;

static int collect_distinct(void *user, evo_event event,
                            const evo_population *pop, size_t generation,
                            size_t index) {
  distinct_log *d = user;
  (void)generation;
  (void)index;
  if (event != EVO_EVENT_GENERATION)
    return 0;
  for (size_t i = 0; i < evo_population_size(pop); i++) {
    const evo_genome *g;
    ck_assert_int_eq(evo_population_individual(pop, i, &g, NULL), EVO_OK);
    size_t j = 0;
    while (j < d->n && !evo_genome_equal(&d->seen[j], g))
      j++;
    if (j == d->n) {
      ck_assert_uint_lt(d->n, 512);
      d->seen[d->n++] = *g;
    }
  }
  return 0;
}

START_TEST(test_exact_counts_distinct) {
  static distinct_log d;
  memset(&d, 0, sizeof d);
  count_ctx f = {0};
  run_cfg c = {12, 10, 2, 1, EVO_CACHE_EXACT, 0};
  evo_population *pop = make_pop(&c, &f);
  ck_assert_int_eq(evo_population_set_progress(pop, collect_distinct, &d),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(atomic_load(&f.calls), d.n);
  ck_assert_uint_lt(d.n, 12 * 10);
  evo_population_free(pop);
}
END_TEST

/* A one-generation run of the given genomes; returns the population. */
static evo_population *run_genomes(const evo_genome *const *g, size_t n,
                                   int64_t cache, int64_t generations,
                                   count_ctx *fit) {
  run_cfg c = {(int64_t)n, generations, 1, 1, cache, 0};
  evo_population *pop = make_pop(&c, fit);
  ck_assert_int_eq(evo_population_set_initial(pop, g, n), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  return pop;
}

static int cached_at(const evo_population *pop, size_t i) {
  int v;
  ck_assert_int_eq(evo_population_individual_cached(pop, i, &v), EVO_OK);
  return v;
}

static double fitness_at(const evo_population *pop, size_t i) {
  double f;
  ck_assert_int_eq(evo_population_individual(pop, i, NULL, &f), EVO_OK);
  return f;
}

START_TEST(test_hit_and_miss) {
  /* sgd: MOMENTUM, no v. β2 and ε are dead there, β1 is live. */
  evo_genome *base = NULL;
  ck_assert_int_eq(evo_genome_preset(&base, "sgd"), EVO_OK);
  evo_genome dead = *base, live = *base;
  ck_assert_int_eq(evo_genome_set(&dead, EVO_GENE_BETA2, 0.5), EVO_OK);
  ck_assert_int_eq(evo_genome_set(&dead, EVO_GENE_EPS_LOG10, -5), EVO_OK);
  ck_assert_int_eq(evo_genome_set(&live, EVO_GENE_BETA1, 0.8), EVO_OK);
  const evo_genome *g[3] = {base, &dead, &live};
  count_ctx f = {0};
  evo_population *pop = run_genomes(g, 3, EVO_CACHE_CANONICAL, 1, &f);
  ck_assert_uint_eq(atomic_load(&f.calls), 2);
  ck_assert(!cached_at(pop, 0) && cached_at(pop, 1) && !cached_at(pop, 2));
  ck_assert(pt_same_bits(fitness_at(pop, 0), fitness_at(pop, 1)));
  ck_assert(!pt_same_bits(fitness_at(pop, 0), fitness_at(pop, 2)));
  ck_assert(hits_of(pop, 0) == 1.0);
  const evo_report *best;
  ck_assert_int_eq(evo_population_history_best(pop, 0, NULL, &best), EVO_OK);
  ck_assert_uint_eq(evo_report_task_count(best), 1); /* the breakdown too */
  evo_population_free(pop);
  /* the exact key tells the dead-gene variant apart */
  atomic_store(&f.calls, 0);
  pop = run_genomes(g, 3, EVO_CACHE_EXACT, 1, &f);
  ck_assert_uint_eq(atomic_load(&f.calls), 3);
  ck_assert(hits_of(pop, 0) == 0.0);
  evo_population_free(pop);
  /* a genome the population already holds hits in exact mode */
  const evo_genome *twice[3] = {base, &live, base};
  atomic_store(&f.calls, 0);
  pop = run_genomes(twice, 3, EVO_CACHE_EXACT, 1, &f);
  ck_assert_uint_eq(atomic_load(&f.calls), 2);
  ck_assert(cached_at(pop, 2) && !cached_at(pop, 0));
  evo_population_free(pop);
  /* in the next generation the elite is a hit: results persist */
  pop = run_genomes(twice, 3, EVO_CACHE_EXACT, 2, &f);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  ck_assert(evo_population_finished(pop));
  ck_assert(cached_at(pop, 0));
  ck_assert(hits_of(pop, 1) >= 1.0);
  evo_population_free(pop);
  evo_genome_free(base);
}
END_TEST

START_TEST(test_failures_not_cached) {
  /* Three copies of a failing genome, one of a good one: the first copy
   * fails, so the next is evaluated too (failures are not results), and
   * so on; nothing fails into the cache. */
  evo_genome *bad = NULL, *good = NULL;
  ck_assert_int_eq(evo_genome_preset(&bad, "paper-evolved"), EVO_OK);
  ck_assert_int_eq(evo_genome_preset(&good, "adam"), EVO_OK);
  size_t bad_terms = evo_genome_term_count(bad);
  ck_assert_uint_ne(bad_terms, evo_genome_term_count(good));
  const evo_genome *g[5] = {bad, good, bad, bad, good};
  count_ctx f = {.fail_terms = bad_terms};
  evo_population *pop = run_genomes(g, 5, EVO_CACHE_CANONICAL, 1, &f);
  ck_assert_uint_eq(atomic_load(&f.calls), 4);
  for (size_t i = 0; i < 5; i++) {
    int status;
    const char *msg;
    ck_assert_int_eq(evo_population_individual_error(pop, i, &status, &msg),
                     EVO_OK);
    bool failing = i != 1 && i != 4;
    ck_assert_int_eq(status, failing ? EVO_ENOTFOUND : EVO_OK);
    ck_assert_int_eq(cached_at(pop, i), i == 4);
    if (failing)
      ck_assert_ptr_nonnull(strstr(msg, "quad-failure"));
  }
  ck_assert(hits_of(pop, 0) == 1.0);
  double failed;
  ck_assert_int_eq(evo_population_history(pop, 0, EVO_HIST_FAILED, &failed),
                   EVO_OK);
  ck_assert(failed == 3.0);
  ck_assert_uint_eq(evo_population_cache_count(pop), 1);
  evo_population_free(pop);
  evo_genome_free(bad);
  evo_genome_free(good);
}
END_TEST

START_TEST(test_workers_and_fresh_seeds) {
  run_cfg c = {16, 6, 3, 1, EVO_CACHE_CANONICAL, 0};
  count_ctx f = {0};
  gen_log l;
  for (int fresh = 0; fresh <= 1; fresh++) {
    c.fresh = fresh;
    c.workers = 1;
    c.cache = EVO_CACHE_CANONICAL;
    evo_population *ref = logged_run(&c, &f, &l);
    for (int64_t w = 2; w <= 4; w += 2) {
      c.workers = w;
      evo_population *pop = logged_run(&c, &f, &l);
      pt_assert_same_run(ref, pop, false);
      for (size_t g = 0; g < 6; g++) /* the hits too */
        ck_assert(hits_of(ref, g) == hits_of(pop, g));
      evo_population_free(pop);
    }
    c.cache = EVO_CACHE_OFF;
    evo_population *off = logged_run(&c, &f, &l);
    pt_assert_same_run(ref, off, false);
    if (fresh) /* every evaluation has its own seed: nothing repeats */
      for (size_t g = 0; g < 6; g++)
        ck_assert(hits_of(ref, g) == 0.0);
    evo_population_free(off);
    evo_population_free(ref);
  }
}
END_TEST

/* ---- settings ----------------------------------------------------------- */

START_TEST(test_cache_setting) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  int64_t v = -1;
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_CACHE, &v), EVO_OK);
  ck_assert_int_eq(v, 0); /* off unless asked for */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, 3), EVO_ERANGE);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, -1), EVO_ERANGE);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, 2), EVO_OK);
  count_ctx f = {0};
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, quad_fitness, &f), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, 0), EVO_ESTATE);
  ck_assert_int_eq(evo_population_individual_cached(pop, 50, (int[1]){0}),
                   EVO_ERANGE);
  ck_assert_int_eq(evo_population_individual_cached(pop, 0, NULL), EVO_EINVAL);
  ck_assert_uint_eq(evo_population_cache_count(NULL), 0);
  evo_population_free(pop);
}
END_TEST

/* ---- checkpoints -------------------------------------------------------- */

/* Cancels after @p first evaluations, then after every @p again after
 * each resume; returns the finished population and the calls made. */
static evo_population *interrupted_run(const run_cfg *c, size_t first,
                                       size_t again, size_t *calls) {
  pt_tmp t;
  pt_tmp_make(&t);
  count_ctx f = {0};
  gen_log l = {.fit = &f, .cancel_at_eval = first};
  evo_population *pop = make_pop(c, &f);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "quad"), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, log_progress, &l), EVO_OK);
  int rc = evo_population_run(pop);
  ck_assert_int_eq(rc, EVO_ECANCELED);
  for (int resumes = 0; rc == EVO_ECANCELED; resumes++) {
    ck_assert_int_lt(resumes, 100);
    evo_population_free(pop);
    ck_assert_int_eq(evo_population_resume(&pop, t.file, "quad"), EVO_OK);
    ck_assert_int_eq(evo_population_set_fitness(pop, quad_fitness, &f), EVO_OK);
    l = (gen_log){.fit = &f, .cancel_at_eval = again};
    ck_assert_int_eq(evo_population_set_progress(pop, log_progress, &l),
                     EVO_OK);
    rc = evo_population_run(pop);
  }
  ck_assert_int_eq(rc, EVO_OK);
  *calls = atomic_load(&f.calls);
  pt_tmp_remove(&t);
  return pop;
}

START_TEST(test_resume_hits_the_same) {
  run_cfg c = {12, 6, 3, 1, EVO_CACHE_CANONICAL, 0};
  count_ctx f = {0};
  gen_log l;
  evo_population *ref = logged_run(&c, &f, &l);
  const size_t cuts[][2] = {{1, 0}, {13, 5}, {40, 3}};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    for (int64_t w = 1; w <= 3; w += 2) {
      c.workers = w;
      size_t calls = 0;
      evo_population *pop = interrupted_run(&c, cuts[k][0], cuts[k][1], &calls);
      pt_assert_same_run(ref, pop, false);
      for (size_t g = 0; g < 6; g++)
        ck_assert_msg(hits_of(ref, g) == hits_of(pop, g),
                      "cut %zu, generation %zu", k, g);
      ck_assert_uint_eq(evo_population_cache_count(pop),
                        evo_population_cache_count(ref));
      if (w == 1) /* one worker: nothing in flight at a stop */
        ck_assert_uint_eq(calls, atomic_load(&f.calls));
      evo_population_free(pop);
    }
  }
  evo_population_free(ref);
}
END_TEST

START_TEST(test_checkpoint_keeps_cache) {
  /* A finished run's checkpoint holds its cache entry for entry; damaged
   * copies are refused or read, never crash (see the sanitizer builds). */
  pt_tmp t;
  pt_tmp_make(&t);
  run_cfg c = {10, 3, 2, 1, EVO_CACHE_CANONICAL, 0};
  count_ctx f = {0};
  evo_population *pop = make_pop(&c, &f);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population *back = NULL;
  ck_assert_int_eq(evo_population_resume(&back, t.file, NULL), EVO_OK);
  ck_assert_uint_eq(evo_population_cache_count(back),
                    evo_population_cache_count(pop));
  for (size_t i = 0; i < pop->cache.n; i++) {
    const evo_cache_entry *a = &pop->cache.entries[i];
    const evo_cache_entry *b =
        evo_cache_find(&back->cache, &a->genome, a->seed, a->rung);
    ck_assert_ptr_nonnull(b); /* the checkpoint stores entries sorted */
    ck_assert(evo_genome_equal(&a->genome, &b->genome));
    ck_assert(a->seed == b->seed && pt_same_bits(a->fitness, b->fitness));
    evo_report ra, rb;
    evo_cache_get_report(&pop->cache, a, &ra);
    evo_cache_get_report(&back->cache, b, &rb);
    ck_assert(memcmp(&ra, &rb, sizeof ra) == 0);
  }
  for (size_t i = 0; i < evo_population_size(pop); i++)
    ck_assert_int_eq(cached_at(pop, i), cached_at(back, i));
  evo_population_free(back);
  /* fuzz the payload's second half (mostly the cache) under a correct
   * frame */
  unsigned char *file = NULL;
  size_t size = 0;
  ck_assert_int_eq(evo_read_file(t.file, (size_t)1 << 30, &file, &size),
                   EVO_OK);
  const unsigned char *payload = file + 20;
  size_t n = size - 24;
  pt_fuzz_checkpoint(t.file, payload, n, n / 2, 3, 200, 3);
  free(file);
  evo_population_free(pop);
  pt_tmp_remove(&t);
}
END_TEST

static Suite *cache_suite(void) {
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("canonical");
  tcase_add_test(tc, test_canonical_moments);
  tcase_add_test(tc, test_canonical_scalars);
  tcase_add_test(tc, test_canonical_terms);
  tcase_add_test(tc, test_canonical_trajectories);
  suite_add_tcase(s, tc);
  TCase *run = tcase_create("run");
  tcase_add_test(run, test_same_run_with_and_without);
  tcase_add_test(run, test_exact_counts_distinct);
  tcase_add_test(run, test_hit_and_miss);
  tcase_add_test(run, test_failures_not_cached);
  tcase_add_test(run, test_workers_and_fresh_seeds);
  tcase_add_test(run, test_cache_setting);
  suite_add_tcase(s, run);
  TCase *ck = tcase_create("checkpoint");
  tcase_add_test(ck, test_resume_hits_the_same);
  tcase_add_test(ck, test_checkpoint_keeps_cache);
  suite_add_tcase(s, ck);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cache_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Check suite for the drop-in optimizer (optimizer.h). Every update is
 * compared with a scalar double-precision implementation of doc/algorithm.md §2
 * written here from the text (never with the library's own output), over
 * several steps and tensor sizes that leave vector tails; the `adamw` and
 * `adam-nowd` presets are compared with PyTorch trajectories stored by
 * tests/ref/adamw_reference.py. With EVO_OPT_THREADS, every thread count
 * must give bit for bit what one thread gives.
 * The torch-* presets are compared with torch.optim's own updates stored by
 * tests/ref/torch_presets.py. Gradients given at step time, per-tensor
 * steps, the gradient scale, freezing and clones (issue 13) are compared
 * with the same double-precision reference.
 * Usage: test_optimizer ADAMW_REFERENCE_TXT TORCH_PRESETS_TXT (tests/ref) */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bomb_testlib.h"
#include "core/io_internal.h"
#include "optimizer/optimizer_internal.h"

static const char *reference_path;

#define PI 3.14159265358979323846
#define MAX_TENSORS 4
/* Float elements against the double reference: the parameters are stored
 * in float after every step, so an absolute error of a few float ulps of
 * |p| <= 1 builds up; updates are made large (lr 1e-2, ε 1e-3, λ 0.1) so
 * that any formula error shows far above it. */
#define RTOL 1e-6
#define ATOL 5e-7

/* ---- the reference: doc/algorithm.md §2, in double, one element at a time
 * -------- */

typedef struct ref_tensor {
  size_t n;
  double *p, *m, *v;
  uint64_t t;
  double lr_scale;
  bool decay;
} ref_tensor;

typedef struct ref_opt {
  evo_genome g;
  double base_lr;
  double grad_scale; /* EVO_OPT_GRAD_SCALE, applied in double */
  uint64_t s, total;
  ref_tensor t[MAX_TENSORS];
  size_t nt;
} ref_opt;

/* η_s for global step @p s. */
static double ref_rate_at(const ref_opt *r, uint64_t s) {
  const evo_genome *g = &r->g;
  double lr = r->base_lr;
  if (g->use_warmup && s < (uint64_t)g->warmup_steps)
    lr = lr * (double)(s + 1) / (double)g->warmup_steps;
  if (g->use_cosine_decay)
    lr = lr * 0.5 * (1.0 + cos(PI * (double)s / (double)r->total));
  return lr;
}

/* The term table of doc/algorithm.md §2. */
static double ref_term(int code, double g, double mh, double vh, double eps) {
  switch (code) {
  case EVO_TERM_GRAD: return g;
  case EVO_TERM_MOMENTUM: return mh;
  case EVO_TERM_RMS_NORM: return g / (sqrt(vh) + eps);
  case EVO_TERM_ADAM: return mh / (sqrt(vh) + eps);
  case EVO_TERM_SIGN: return g > 0 ? 1.0 : (g < 0 ? -1.0 : g); /* 0, NaN */
  case EVO_TERM_UNIT: return g / (fabs(g) + eps);
  case EVO_TERM_NESTEROV: return mh + 0.9 * (g - mh);
  }
  ck_abort_msg("bad term code %d", code);
  return 0;
}

static void ref_element(const evo_genome *G, ref_tensor *rt, size_t i,
                        double g, double lr) {
  double lambda = pow(10.0, G->wd_log10), eps = pow(10.0, G->eps_log10);
  double c = G->clip_value;
  if (G->use_gradient_clipping)
    g = g > c ? c : (g < -c ? -c : g);
  if (lambda != 0.0 && rt->decay)
    rt->p[i] = rt->p[i] * (1.0 - lr * lambda);
  double m = g, v = g * g;
  if (G->use_m)
    m = rt->m[i] = G->beta1 * rt->m[i] + (1.0 - G->beta1) * g;
  if (G->use_v)
    v = rt->v[i] = G->beta2 * rt->v[i] + (1.0 - G->beta2) * g * g;
  double mh = m, vh = v;
  if (G->use_bias_correction && G->use_m)
    mh = m / (1.0 - pow(G->beta1, (double)rt->t));
  if (G->use_bias_correction && G->use_v)
    vh = v / (1.0 - pow(G->beta2, (double)rt->t));
  double u = 0.0;
  for (size_t k = 0; k < G->n_terms; k++)
    u += G->alphas[k] * ref_term(G->terms[k], g, mh, vh, eps);
  rt->p[i] -= lr * u;
}

/* One step of tensor @p k alone with gradient @p grad at global step @p s
 * (the global count is the caller's business). */
static void ref_step_tensor(ref_opt *r, size_t k, const float *grad,
                            uint64_t s) {
  double lr_s = ref_rate_at(r, s);
  ref_tensor *rt = &r->t[k];
  rt->t++;
  for (size_t i = 0; i < rt->n; i++)
    ref_element(&r->g, rt, i, r->grad_scale * (double)grad[i],
                lr_s * rt->lr_scale);
}

/* A step of every tensor whose gradient is not NULL; s goes up. */
static void ref_step(ref_opt *r, const float *const *grads) {
  for (size_t k = 0; k < r->nt; k++)
    if (grads[k] != NULL)
      ref_step_tensor(r, k, grads[k], r->s);
  r->s++;
}

/* ---- a library optimizer and the reference side by side ----------------- */

typedef struct pair {
  evo_optimizer *opt;
  ref_opt ref;
  float *p[MAX_TENSORS], *g[MAX_TENSORS];
  size_t nt;
} pair;

static double init_param(size_t k, size_t i) {
  return 0.5 * cos(0.11 * (double)i + 0.2 + 0.7 * (double)k);
}

/* The gradient of element i of tensor k at step s: some exact zeros (sign(0)
 * = 0), values past the clip bound, both signs. */
static float grad_value(size_t k, size_t i, uint64_t s) {
  if (i % 11 == 5)
    return 0.0f;
  return (float)(1.6 * sin(0.37 * (double)i + 1.3 * (double)s +
                           0.5 * (double)k));
}

static void pair_new(pair *pr, const evo_genome *g) {
  memset(pr, 0, sizeof *pr);
  ck_assert_int_eq(evo_optimizer_new(&pr->opt, g), EVO_OK);
  pr->ref.g = *g;
  pr->ref.base_lr = pow(10.0, g->lr_log10);
  pr->ref.grad_scale = 1.0;
}

/* Adds a tensor of @p n elements; its gradient array pr->g[k] is bound
 * when @p bind, else the tensor is registered without one. */
static void pair_add_ex(pair *pr, size_t n, bool bind) {
  size_t k = pr->nt++;
  ck_assert_uint_lt(k, MAX_TENSORS);
  ref_tensor *rt = &pr->ref.t[k];
  pr->p[k] = calloc(n, sizeof(float));
  pr->g[k] = calloc(n, sizeof(float));
  *rt = (ref_tensor){n, calloc(n, sizeof(double)), calloc(n, sizeof(double)),
                     calloc(n, sizeof(double)), 0, 1.0, true};
  for (size_t i = 0; i < n; i++) {
    pr->p[k][i] = (float)init_param(k, i);
    rt->p[i] = (double)pr->p[k][i];
  }
  pr->ref.nt = pr->nt;
  ck_assert_int_eq(
      evo_optimizer_add_params(pr->opt, pr->p[k], bind ? pr->g[k] : NULL, n),
      EVO_OK);
}

static void pair_add(pair *pr, size_t n) {
  pair_add_ex(pr, n, true);
}

static void pair_total(pair *pr, uint64_t total) {
  pr->ref.total = total;
  ck_assert_int_eq(evo_optimizer_set_total_steps(pr->opt, total), EVO_OK);
}

static void pair_fill(pair *pr) {
  for (size_t k = 0; k < pr->nt; k++)
    for (size_t i = 0; i < pr->ref.t[k].n; i++)
      pr->g[k][i] = grad_value(k, i, pr->ref.s);
}

static bool close_to(float got, double want) {
  if (isnan(want))
    return isnan(got);
  if (isinf(want))
    return (double)got == want;
  return fabs((double)got - want) <= RTOL * fabs(want) + ATOL;
}

/* @p got[stride·i] against @p want[i]. (Check records every assertion
 * that passes, so hot loops only call it on a failure.) */
static void check_array(const float *got, size_t stride, const double *want,
                        size_t n, const char *what, size_t k,
                        const char *ctx) {
  for (size_t i = 0; i < n; i++)
    if (!close_to(got[stride * i], want[i]))
      ck_abort_msg("%s: %s of tensor %zu element %zu is %.9g, reference %.9g",
                   ctx, what, k, i, (double)got[stride * i], want[i]);
}

/* Compares parameters and the moments the genome keeps (interleaved in
 * one block, optimizer_internal.h); no block without moments. */
static void pair_check(const pair *pr, const char *ctx) {
  const evo_genome *g = &pr->ref.g;
  size_t stride = (size_t)g->use_m + (size_t)g->use_v;
  for (size_t k = 0; k < pr->nt; k++) {
    const evo_param_tensor *pt = &pr->opt->tensors[k];
    const ref_tensor *rt = &pr->ref.t[k];
    check_array(pr->p[k], 1, rt->p, rt->n, "p", k, ctx);
    ck_assert_msg((pt->state != NULL) == (stride > 0),
                  "%s: state allocated wrongly", ctx);
    if (g->use_m)
      check_array(pt->state, stride, rt->m, rt->n, "m", k, ctx);
    if (g->use_v)
      check_array(pt->state + (g->use_m ? 1 : 0), stride, rt->v, rt->n, "v",
                  k, ctx);
    ck_assert_uint_eq(pt->t, rt->t);
  }
}

/* One step on both sides with fresh gradients, then the comparison. */
static void pair_step(pair *pr, const char *ctx) {
  pair_fill(pr);
  int rc = evo_optimizer_step(pr->opt);
  ck_assert_msg(rc == EVO_OK, "%s: step: %s", ctx, evo_last_error());
  ref_step(&pr->ref, (const float *const *)pr->g);
  pair_check(pr, ctx);
}

static void pair_free(pair *pr) {
  evo_optimizer_free(pr->opt);
  for (size_t k = 0; k < pr->nt; k++) {
    free(pr->p[k]);
    free(pr->g[k]);
    free(pr->ref.t[k].p);
    free(pr->ref.t[k].m);
    free(pr->ref.t[k].v);
  }
}

/* ---- genomes -------------------------------------------------------------- */

/* Flag combinations of doc/algorithm.md §1 (λ = 0 exactly where wd is -inf). */
typedef struct flags_case {
  const char *name;
  bool m, v, bc, clip, warmup, cosine;
  double wd_log10;
} flags_case;

static const flags_case flag_cases[] = {
    {"no moments", 0, 0, 0, 0, 0, 0, -INFINITY},
    {"m", 1, 0, 0, 0, 0, 0, -INFINITY},
    {"v", 0, 1, 0, 0, 0, 0, -INFINITY},
    {"m+v", 1, 1, 0, 0, 0, 0, -INFINITY},
    {"m+v+bias correction", 1, 1, 1, 0, 0, 0, -INFINITY},
    {"m+bias correction", 1, 0, 1, 0, 0, 0, -INFINITY},
    {"v+bias correction", 0, 1, 1, 0, 0, 0, -INFINITY},
    {"bias correction without moments", 0, 0, 1, 0, 0, 0, -INFINITY},
    {"clipping", 1, 1, 1, 1, 0, 0, -INFINITY},
    {"clipping without moments", 0, 0, 0, 1, 0, 0, -INFINITY},
    {"weight decay", 1, 1, 1, 0, 0, 0, -1.0},
    {"weight decay without moments", 0, 0, 0, 0, 0, 0, -1.0},
    {"warmup", 1, 1, 1, 0, 1, 0, -1.3},
    {"cosine", 1, 1, 1, 0, 0, 1, -INFINITY},
    {"warmup+cosine", 1, 1, 1, 1, 1, 1, -1.0},
};
#define N_FLAG_CASES (sizeof flag_cases / sizeof flag_cases[0])
#define WARMUP 3
#define TOTAL 5 /* shorter than the runs: the cosine goes past π */
#define STEPS 8

static evo_genome test_genome(const flags_case *f) {
  evo_genome g;
  evo_genome_init_defaults(&g);
  g.lr_log10 = -2.0;
  g.beta1 = 0.85;
  g.beta2 = 0.95;
  g.eps_log10 = -3.0;
  g.wd_log10 = f->wd_log10;
  g.use_m = f->m;
  g.use_v = f->v;
  g.use_bias_correction = f->bc;
  g.use_gradient_clipping = f->clip;
  g.clip_value = 0.8;
  g.use_warmup = f->warmup;
  g.warmup_steps = WARMUP;
  g.use_cosine_decay = f->cosine;
  return g;
}

static const size_t sizes[] = {1, 7, 1003};

/* Runs @p g on one tensor of each size for STEPS steps, comparing after
 * every step. */
static void run_genome(const evo_genome *g, const char *name) {
  for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s, n = %zu", name, sizes[z]);
    pair pr;
    pair_new(&pr, g);
    pair_add(&pr, sizes[z]);
    if (g->use_cosine_decay)
      pair_total(&pr, TOTAL);
    for (int s = 0; s < STEPS; s++)
      pair_step(&pr, ctx);
    pair_free(&pr);
  }
}

/* ---- every term kind under every flag combination ------------------------ */

START_TEST(test_term_kinds) {
  int kind = _i;
  for (size_t c = 0; c < N_FLAG_CASES; c++) {
    evo_genome g = test_genome(&flag_cases[c]);
    g.terms[0] = kind;
    g.alphas[0] = kind % 2 ? -0.7 : 1.3;
    char name[120];
    snprintf(name, sizeof name, "%s, %s", evo_term_name((evo_term)kind),
             flag_cases[c].name);
    run_genome(&g, name);
  }
}
END_TEST

/* Several terms, repeated kinds (alphas summed), the paper's genome. */
START_TEST(test_term_mixes) {
  static const struct {
    size_t n;
    int terms[4];
    double alphas[4];
  } mixes[] = {
      {4, {4, 4, 3, 3}, {0.41205802174892475, 0.32238621456272765,
                         2.0030004279455267, 1.6322011630060542}},
      {4, {0, 2, 5, 6}, {0.5, -1.2, 0.8, 2.0}},
      {4, {1, 3, 4, 0}, {-0.3, 1.1, 0.25, 0.9}},
      {3, {2, 2, 1}, {0.6, -0.1, 1.5}},
      {2, {3, 3}, {1.0, -1.0}}, /* sums to exactly zero */
      {2, {2, 5}, {0.7, 0.4}},  /* divisions only, no linear term */
      {3, {3, 2, 3}, {0.5, 0.3, 0.2}},
  };
  for (size_t x = 0; x < sizeof mixes / sizeof mixes[0]; x++)
    for (size_t c = 0; c < N_FLAG_CASES; c++) {
      evo_genome g = test_genome(&flag_cases[c]);
      g.n_terms = mixes[x].n;
      memcpy(g.terms, mixes[x].terms, sizeof g.terms);
      memcpy(g.alphas, mixes[x].alphas, sizeof g.alphas);
      char name[120];
      snprintf(name, sizeof name, "mix %zu, %s", x, flag_cases[c].name);
      run_genome(&g, name);
    }
}
END_TEST

/* Without EVO_OPT_REFUSE_NONFINITE, NaN and ±inf go through the formulas:
 * in particular a term that is absent adds nothing (a sign-descent step
 * stays finite under an infinite gradient, as the formula says). */
START_TEST(test_nonfinite_through_formulas) {
  for (int kind = 0; kind < EVO_TERM_COUNT; kind++)
    for (size_t c = 0; c < N_FLAG_CASES; c++) {
      evo_genome g = test_genome(&flag_cases[c]);
      g.terms[0] = kind;
      pair pr;
      pair_new(&pr, &g);
      pair_add(&pr, 9);
      pair_total(&pr, TOTAL);
      char ctx[120];
      snprintf(ctx, sizeof ctx, "non-finite, %s, %s",
               evo_term_name((evo_term)kind), flag_cases[c].name);
      for (int s = 0; s < 3; s++) {
        pair_fill(&pr);
        pr.g[0][1] = INFINITY;
        pr.g[0][2] = -INFINITY;
        pr.g[0][3] = NAN;
        ck_assert_int_eq(evo_optimizer_step(pr.opt), EVO_OK);
        ref_step(&pr.ref, (const float *const *)pr.g);
        pair_check(&pr, ctx);
      }
      if (kind == EVO_TERM_SIGN && !g.use_gradient_clipping)
        ck_assert_msg(isfinite(pr.p[0][1]) && isnan(pr.p[0][3]),
                      "%s: sign step of inf must stay finite", ctx);
      pair_free(&pr);
    }
}
END_TEST

/* ---- schedule ------------------------------------------------------------- */

START_TEST(test_schedule_values) {
  /* η = 1e-2, W = 4, S = 10, written out by hand from doc/algorithm.md §2. */
  evo_genome g = test_genome(&flag_cases[14]);
  g.warmup_steps = 4;
  const double expect[21] = {
      0.01 * 0.25 * 1.0,
      0.01 * 0.50 * 0.5 * (1 + cos(0.1 * PI)),
      0.01 * 0.75 * 0.5 * (1 + cos(0.2 * PI)),
      0.01 * 1.00 * 0.5 * (1 + cos(0.3 * PI)),
      0.01 * 0.5 * (1 + cos(0.4 * PI)),
      0.01 * 0.5,
      0.01 * 0.5 * (1 + cos(0.6 * PI)),
      0.01 * 0.5 * (1 + cos(0.7 * PI)),
      0.01 * 0.5 * (1 + cos(0.8 * PI)),
      0.01 * 0.5 * (1 + cos(0.9 * PI)),
      0.0, /* s = S */
      0.01 * 0.5 * (1 + cos(1.1 * PI)), /* past S the cosine continues */
      0.01 * 0.5 * (1 + cos(1.2 * PI)),
      0.01 * 0.5 * (1 + cos(1.3 * PI)),
      0.01 * 0.5 * (1 + cos(1.4 * PI)),
      0.005,
      0.01 * 0.5 * (1 + cos(1.6 * PI)),
      0.01 * 0.5 * (1 + cos(1.7 * PI)),
      0.01 * 0.5 * (1 + cos(1.8 * PI)),
      0.01 * 0.5 * (1 + cos(1.9 * PI)),
      0.01};
  evo_optimizer *opt;
  float p = 1.0f, dp = 0.5f;
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, &p, &dp, 1), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 10), EVO_OK);
  for (uint64_t s = 0; s < 21; s++) {
    double lr;
    uint64_t count;
    ck_assert_int_eq(evo_optimizer_current_lr(opt, &lr), EVO_OK);
    ck_assert_int_eq(evo_optimizer_step_count(opt, &count), EVO_OK);
    ck_assert_uint_eq(count, s);
    ck_assert_msg(fabs(lr - expect[s]) <= 1e-15, "s = %d: lr %.17g, not %.17g",
                  (int)s, lr, expect[s]);
    ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
  }
  evo_optimizer_free(opt);
}
END_TEST

/* ---- per-tensor and optimizer options ------------------------------------- */

START_TEST(test_per_tensor_options) {
  evo_genome g = test_genome(&flag_cases[14]);
  g.n_terms = 2;
  g.terms[0] = EVO_TERM_ADAM;
  g.terms[1] = EVO_TERM_SIGN;
  g.alphas[1] = 0.3;
  pair pr;
  pair_new(&pr, &g);
  pair_add(&pr, 13);
  pair_add(&pr, 9);
  pair_add(&pr, 1);
  pair_total(&pr, 12);
  ck_assert_int_eq(evo_optimizer_set_param_option(pr.opt, 1, EVO_PARAM_LR_SCALE,
                                                  0.25),
                   EVO_OK);
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 2, EVO_PARAM_WEIGHT_DECAY, 0),
      EVO_OK);
  pr.ref.t[1].lr_scale = 0.25;
  pr.ref.t[2].decay = false;
  double v;
  ck_assert_int_eq(
      evo_optimizer_get_param_option(pr.opt, 1, EVO_PARAM_LR_SCALE, &v), EVO_OK);
  ck_assert(v == 0.25);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(pr.opt, 2, EVO_PARAM_WEIGHT_DECAY, &v),
      EVO_OK);
  ck_assert(v == 0.0);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(pr.opt, 0, EVO_PARAM_WEIGHT_DECAY, &v),
      EVO_OK);
  ck_assert(v == 1.0);
  for (int s = 0; s < 3; s++)
    pair_step(&pr, "per-tensor options");
  /* A tensor added late counts its own steps from 1 while s goes on. */
  pair_add(&pr, 7);
  ck_assert_uint_eq(evo_optimizer_param_count(pr.opt), 4);
  /* An external base rate; warmup and cosine still apply to it. */
  ck_assert_int_eq(evo_optimizer_set_option(pr.opt, EVO_OPT_BASE_LR, 0.03),
                   EVO_OK);
  ck_assert_int_eq(evo_optimizer_get_option(pr.opt, EVO_OPT_BASE_LR, &v),
                   EVO_OK);
  ck_assert(v == 0.03);
  pr.ref.base_lr = 0.03;
  for (int s = 0; s < 6; s++)
    pair_step(&pr, "late tensor, base lr");
  ck_assert_uint_eq(pr.opt->tensors[3].t, 6);
  ck_assert_uint_eq(pr.opt->tensors[0].t, 9);
  pair_free(&pr);
}
END_TEST

START_TEST(test_rebind) {
  evo_genome g = test_genome(&flag_cases[10]);
  g.terms[0] = EVO_TERM_ADAM;
  pair pr;
  pair_new(&pr, &g);
  pair_add(&pr, 10);
  pair_step(&pr, "before rebind");
  /* Move the tensor's memory; moments and t must follow it. */
  float *p2 = malloc(10 * sizeof(float)), *g2 = malloc(10 * sizeof(float));
  memcpy(p2, pr.p[0], 10 * sizeof(float));
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 0, p2, g2), EVO_OK);
  free(pr.p[0]);
  free(pr.g[0]);
  pr.p[0] = p2;
  pr.g[0] = g2;
  for (int s = 0; s < 3; s++)
    pair_step(&pr, "after rebind");
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 1, p2, g2), EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 0, NULL, g2), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 0, p2, p2 + 3), EVO_EINVAL);
  pair_free(&pr);
}
END_TEST

/* Copies of everything a step could change, to prove nothing did. */
typedef struct snapshot {
  void *state;
  size_t state_size;
  float *p[MAX_TENSORS];
} snapshot;

static void snap_take(snapshot *sn, const pair *pr) {
  ck_assert_int_eq(evo_optimizer_save_mem(pr->opt, &sn->state,
                                          &sn->state_size),
                   EVO_OK);
  for (size_t k = 0; k < pr->nt; k++) {
    size_t n = pr->ref.t[k].n;
    sn->p[k] = malloc(n * sizeof(float));
    memcpy(sn->p[k], pr->p[k], n * sizeof(float));
  }
}

static void snap_check_and_free(snapshot *sn, const pair *pr) {
  void *now;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(pr->opt, &now, &size), EVO_OK);
  ck_assert_msg(size == sn->state_size &&
                    memcmp(now, sn->state, size) == 0,
                "optimizer state changed");
  for (size_t k = 0; k < pr->nt; k++) {
    ck_assert_msg(memcmp(sn->p[k], pr->p[k],
                         pr->ref.t[k].n * sizeof(float)) == 0,
                  "parameters of tensor %zu changed", k);
    free(sn->p[k]);
  }
  evo_free(now);
  evo_free(sn->state);
}

START_TEST(test_refuse_nonfinite) {
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t b = 0; b < 3; b++) {
    evo_genome g = test_genome(&flag_cases[14]);
    g.terms[0] = EVO_TERM_ADAM;
    pair pr;
    pair_new(&pr, &g);
    pair_add(&pr, 17);
    pair_add(&pr, 5);
    pair_total(&pr, 20);
    ck_assert_int_eq(
        evo_optimizer_set_option(pr.opt, EVO_OPT_REFUSE_NONFINITE, 1), EVO_OK);
    double v;
    ck_assert_int_eq(
        evo_optimizer_get_option(pr.opt, EVO_OPT_REFUSE_NONFINITE, &v), EVO_OK);
    ck_assert(v == 1.0);
    pair_step(&pr, "refuse, finite step 1");
    pair_step(&pr, "refuse, finite step 2");
    pair_fill(&pr);
    pr.g[1][3] = bad[b];
    snapshot sn;
    snap_take(&sn, &pr);
    ck_assert_int_eq(evo_optimizer_step(pr.opt), EVO_ENONFINITE);
    ck_assert_msg(strstr(evo_last_error(), "tensor 1, element 3") != NULL,
                  "message: %s", evo_last_error());
    snap_check_and_free(&sn, &pr);
    /* The next finite step goes on as if the refused one never happened. */
    pair_step(&pr, "refuse, after the refused step");
    pair_free(&pr);
  }
}
END_TEST

/* ---- state save and load -------------------------------------------------- */

/* A state with everything set: two tensors with options, cosine, warmup,
 * both moments, a changed base rate, refusal on. */
static void state_pair(pair *pr, size_t n0) {
  evo_genome g = test_genome(&flag_cases[14]);
  g.n_terms = 3;
  g.terms[0] = EVO_TERM_ADAM;
  g.terms[1] = EVO_TERM_SIGN;
  g.terms[2] = EVO_TERM_NESTEROV;
  g.alphas[1] = 0.4;
  g.alphas[2] = -0.2;
  pair_new(pr, &g);
  pair_add(pr, n0);
  pair_add(pr, 33);
  pair_total(pr, 40);
  ck_assert_int_eq(evo_optimizer_set_param_option(pr->opt, 1,
                                                  EVO_PARAM_LR_SCALE, 0.5),
                   EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_param_option(
                       pr->opt, 1, EVO_PARAM_WEIGHT_DECAY, 0),
                   EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_option(pr->opt, EVO_OPT_BASE_LR, 0.02),
                   EVO_OK);
  ck_assert_int_eq(
      evo_optimizer_set_option(pr->opt, EVO_OPT_REFUSE_NONFINITE, 1), EVO_OK);
  pr->ref.t[1].lr_scale = 0.5;
  pr->ref.t[1].decay = false;
  pr->ref.base_lr = 0.02;
}

/* A fresh optimizer for the same genome and sizes, options left at their
 * defaults (the load must bring them back), parameters copied. */
static void fresh_like(pair *to, const pair *from) {
  pair_new(to, &from->ref.g);
  for (size_t k = 0; k < from->nt; k++) {
    pair_add(to, from->ref.t[k].n);
    memcpy(to->p[k], from->p[k], from->ref.t[k].n * sizeof(float));
  }
}

static void continue_identically(bool via_file) {
  pair a, b;
  state_pair(&a, 101);
  state_pair(&b, 101);
  for (int s = 0; s < 12; s++)
    pair_step(&a, "uninterrupted");
  for (int s = 0; s < 5; s++)
    pair_step(&b, "before saving");
  pair c;
  fresh_like(&c, &b);
  if (via_file) {
    char path[] = "/tmp/evoopt-test-state-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(evo_optimizer_save(b.opt, path), EVO_OK);
    ck_assert_int_eq(evo_optimizer_load(c.opt, path), EVO_OK);
    unlink(path);
  } else {
    void *buf;
    size_t size;
    ck_assert_int_eq(evo_optimizer_save_mem(b.opt, &buf, &size), EVO_OK);
    ck_assert_int_eq(evo_optimizer_load_mem(c.opt, buf, size), EVO_OK);
    evo_free(buf);
  }
  c.ref.s = b.ref.s; /* the gradients' step index (pair_fill) */
  for (int s = 0; s < 7; s++) {
    pair_fill(&c);
    ck_assert_int_eq(evo_optimizer_step(c.opt), EVO_OK);
    c.ref.s++;
  }
  for (size_t k = 0; k < a.nt; k++)
    ck_assert_msg(memcmp(a.p[k], c.p[k],
                         a.ref.t[k].n * sizeof(float)) == 0,
                  "tensor %zu differs after save, load, continue", k);
  void *sa, *sc;
  size_t na, nc;
  ck_assert_int_eq(evo_optimizer_save_mem(a.opt, &sa, &na), EVO_OK);
  ck_assert_int_eq(evo_optimizer_save_mem(c.opt, &sc, &nc), EVO_OK);
  ck_assert_msg(na == nc && memcmp(sa, sc, na) == 0, "states differ");
  evo_free(sa);
  evo_free(sc);
  pair_free(&a);
  pair_free(&b);
  pair_free(&c);
}

START_TEST(test_save_load_continue) { continue_identically(false); }
END_TEST

START_TEST(test_save_load_file) { continue_identically(true); }
END_TEST

/* The state holds exactly the moments the genome uses. */
START_TEST(test_state_size_follows_moments) {
  size_t sizes_mv[4];
  for (int mv = 0; mv < 4; mv++) {
    flags_case f = flag_cases[0];
    f.m = mv & 1;
    f.v = (mv >> 1) & 1;
    evo_genome g = test_genome(&f);
    pair pr;
    pair_new(&pr, &g);
    pair_add(&pr, 100);
    void *buf;
    ck_assert_int_eq(evo_optimizer_save_mem(pr.opt, &buf, &sizes_mv[mv]),
                     EVO_OK);
    evo_free(buf);
    pair_free(&pr);
  }
  ck_assert_uint_eq(sizes_mv[1], sizes_mv[0] + 400);
  ck_assert_uint_eq(sizes_mv[2], sizes_mv[0] + 400);
  ck_assert_uint_eq(sizes_mv[3], sizes_mv[0] + 800);
}
END_TEST

static void assert_error_names(int rc, int want, const char *needle) {
  ck_assert_msg(rc == want, "status %d, expected %d (%s)", rc, want,
                evo_last_error());
  ck_assert_msg(strstr(evo_last_error(), needle) != NULL,
                "message '%s' does not name '%s'", evo_last_error(), needle);
}

/* Loads @p buf into @p pr expecting @p want, and checks nothing changed. */
static void load_fails(pair *pr, const void *buf, size_t size, int want,
                       const char *needle) {
  snapshot sn;
  snap_take(&sn, pr);
  assert_error_names(evo_optimizer_load_mem(pr->opt, buf, size), want, needle);
  snap_check_and_free(&sn, pr);
}

START_TEST(test_load_mismatch) {
  pair src, dst;
  state_pair(&src, 20);
  for (int s = 0; s < 3; s++)
    pair_step(&src, "source");
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(src.opt, &buf, &size), EVO_OK);

  state_pair(&dst, 21); /* another size */
  pair_step(&dst, "target");
  load_fails(&dst, buf, size, EVO_EMISMATCH, "tensor 0 has 20 elements");
  pair_free(&dst);

  state_pair(&dst, 20); /* another genome */
  dst.ref.g.beta1 = 0.8501;
  evo_optimizer_free(dst.opt);
  ck_assert_int_eq(evo_optimizer_new(&dst.opt, &dst.ref.g), EVO_OK);
  for (size_t k = 0; k < dst.nt; k++)
    ck_assert_int_eq(evo_optimizer_add_params(dst.opt, dst.p[k], dst.g[k],
                                              dst.ref.t[k].n),
                     EVO_OK);
  load_fails(&dst, buf, size, EVO_EMISMATCH, "another genome");
  pair_free(&dst);

  state_pair(&dst, 20); /* another tensor count */
  pair_add(&dst, 3);
  load_fails(&dst, buf, size, EVO_EMISMATCH, "2 tensors in the state but 3");
  pair_free(&dst);
  evo_free(buf);
  pair_free(&src);
}
END_TEST

START_TEST(test_load_damaged) {
  pair src, dst;
  state_pair(&src, 3);
  pair_step(&src, "source");
  state_pair(&dst, 3);
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(src.opt, &buf, &size), EVO_OK);
  unsigned char *bad = malloc(size);
  /* Every single flipped byte, every truncation. */
  for (size_t i = 0; i < size; i++) {
    memcpy(bad, buf, size);
    bad[i] ^= 0x5a;
    load_fails(&dst, bad, size, EVO_EFORMAT, "optimizer state");
  }
  for (size_t len = 0; len < size; len++)
    load_fails(&dst, buf, len, EVO_EFORMAT, "");
  free(bad);
  /* Well framed (valid checksum) but wrong inside. The genome record
   * (genome_internal.h): u32 count, 4 × u32 codes, 4 × f64 alphas,
   * 6 × f64, u64, then one byte of flag bits. */
  const size_t flags_at = 4 + 4 * 4 + 4 * 8 + 6 * 8 + 8;
  /* Format 2 (optimizer.c): u8 refuse, f64 base lr, f64 gradient scale,
   * u64 s, S, count; tensor 0: u64 n, f64 scale, u8 decay, u8 frozen, u8
   * round. */
  const size_t scale_top_at = flags_at + 1 + 1 + 8 + 7;
  const size_t tensor0_wd_at = flags_at + 1 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 8;
  const struct {
    uint32_t version;
    size_t at; /* payload byte to set, or SIZE_MAX to append one */
    unsigned char value;
    const char *needle;
  } edits[] = {
      {3, 0, 3, "version 3"},
      {0, 0, 3, "version 0"},
      {2, 0, 9, "damaged genome"},                         /* 9 terms */
      {2, flags_at, 0x40, "damaged genome"},               /* a 7th flag bit */
      {2, scale_top_at, 0x7f, "invalid optimizer option"}, /* scale inf */
      {2, scale_top_at, 0x00, "invalid optimizer option"}, /* 1e-306 */
      {2, tensor0_wd_at, 7, "per-tensor option"},
      {2, tensor0_wd_at + 1, 2, "per-tensor option"}, /* frozen 2 */
      {2, tensor0_wd_at + 2, 2, "per-tensor option"}, /* round flag 2 */
      {2, SIZE_MAX, 0, "trailing bytes"},
  };
  static const char magic[8] = "EVOOPTS";
  for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
    evo_wbuf w = {0};
    evo_wbuf_bytes(&w, (const unsigned char *)buf + 20, size - 24);
    if (edits[e].at == SIZE_MAX)
      evo_wbuf_u8(&w, edits[e].value);
    else
      w.data[edits[e].at] = edits[e].value;
    unsigned char *framed;
    size_t framed_size;
    ck_assert_int_eq(evo_frame_wrap(magic, edits[e].version, &w, &framed,
                                    &framed_size),
                     EVO_OK);
    load_fails(&dst, framed, framed_size, EVO_EFORMAT, edits[e].needle);
    free(framed);
    evo_wbuf_free(&w);
  }
  /* The good one still loads. */
  ck_assert_int_eq(evo_optimizer_load_mem(dst.opt, buf, size), EVO_OK);
  evo_free(buf);
  assert_error_names(evo_optimizer_load(dst.opt, "/nonexistent/state.bin"),
                     EVO_EIO, "/nonexistent/state.bin");
  pair_free(&src);
  pair_free(&dst);
}
END_TEST

/* Saves @p pr's state to a fresh temporary file, named in @p path. */
static void save_temp(const pair *pr, char path[64]) {
  snprintf(path, 64, "/tmp/evoopt-test-state-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(evo_optimizer_save(pr->opt, path), EVO_OK);
}

/* Through a file, a state larger than the optimizer's (which is read only
 * as far as the optimizer's own size) and a smaller one name the same
 * field; a padded file names its sizes. */
START_TEST(test_load_file_mismatch) {
  pair big, small;
  state_pair(&big, 21);
  state_pair(&small, 20);
  char path[64];
  save_temp(&big, path);
  snapshot sn;
  snap_take(&sn, &small);
  assert_error_names(evo_optimizer_load(small.opt, path), EVO_EMISMATCH,
                     "tensor 0 has 21 elements in the state but 20");
  ck_assert_ptr_nonnull(strstr(evo_last_error(), path));
  snap_check_and_free(&sn, &small);
  unlink(path);
  save_temp(&small, path);
  assert_error_names(evo_optimizer_load(big.opt, path), EVO_EMISMATCH,
                     "tensor 0 has 20 elements in the state but 21");
  /* The same state with one byte more declared and present (CRC fixed): the
   * payload is the file's size less 24 bytes of frame. */
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(small.opt, &buf, &size), EVO_OK);
  evo_wbuf w = {0};
  evo_wbuf_bytes(&w, (const unsigned char *)buf + 20, size - 24);
  evo_wbuf_u8(&w, 0);
  unsigned char *padded;
  size_t padded_size;
  ck_assert_int_eq(
      evo_frame_wrap((const char *)buf, 2, &w, &padded, &padded_size), EVO_OK);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(padded, 1, padded_size, f), padded_size);
  ck_assert_int_eq(fclose(f), 0);
  char needle[96];
  snprintf(needle, sizeof needle, "declares %zu bytes, more than the %zu",
           size - 23, size - 24);
  assert_error_names(evo_optimizer_load(small.opt, path), EVO_EFORMAT, needle);
  unlink(path);
  free(padded);
  evo_wbuf_free(&w);
  evo_free(buf);
  pair_free(&big);
  pair_free(&small);
}
END_TEST

/* Issue 14, item 3: gzip bombs of about 1.2 MB that inflate to 1.2 GiB fail
 * fast, without inflating: in under 2 s (a few ms here) and with the peak
 * memory of the process up by less than 16 MiB. */
START_TEST(test_load_gzip_bomb) {
  pair dst;
  state_pair(&dst, 20);
  void *good;
  size_t good_size;
  ck_assert_int_eq(evo_optimizer_save_mem(dst.opt, &good, &good_size), EVO_OK);
  unsigned char huge[20]; /* a state's frame header declaring 1.2 GiB */
  memcpy(huge, good, 12);
  uint64_t declared = (uint64_t)1200 << 20;
  for (int i = 0; i < 8; i++)
    huge[12 + i] = (unsigned char)(declared >> (8 * i));
  const struct {
    const void *head;
    size_t head_len;
    int want;
    const char *needle;
  } bombs[] = {
      {NULL, 0, EVO_EFORMAT, "wrong magic bytes (not an optimizer state)"},
      {huge, sizeof huge, EVO_EFORMAT, "optimizer state"},
      {good, good_size, EVO_EFORMAT, "larger than"},
  };
  char path[] = "/tmp/evoopt-test-bomb-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  for (size_t b = 0; b < sizeof bombs / sizeof bombs[0]; b++) {
    ck_assert_int_eq(bomb_write(path, bombs[b].head, bombs[b].head_len, 1200),
                     0);
    snapshot sn;
    snap_take(&sn, &dst);
    size_t rss = bomb_peak_rss();
    double start = bomb_now();
    int rc = evo_optimizer_load(dst.opt, path);
    double seconds = bomb_now() - start;
    size_t grown = bomb_peak_rss() - rss;
    assert_error_names(rc, bombs[b].want, bombs[b].needle);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), path));
    ck_assert_msg(grown < ((size_t)16 << 20) && seconds < 2.0,
                  "bomb %zu: peak memory up by %zu MiB, %.2f s", b, grown >> 20,
                  seconds);
    snap_check_and_free(&sn, &dst);
  }
  unlink(path);
  evo_free(good);
  pair_free(&dst);
}
END_TEST

/* ---- argument errors ------------------------------------------------------ */

START_TEST(test_arguments) {
  evo_genome g = test_genome(&flag_cases[13]); /* cosine */
  evo_optimizer *opt = NULL;
  float p[4] = {0}, dp[4] = {0};
  double v;
  uint64_t u;
  ck_assert_int_eq(evo_optimizer_new(NULL, &g), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_new(&opt, NULL), EVO_EINVAL);
  evo_genome bad = g;
  bad.n_terms = 0;
  ck_assert_int_eq(evo_optimizer_new(&opt, &bad), EVO_ERANGE);
  ck_assert_ptr_null(opt);
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  evo_optimizer_free(NULL);
  ck_assert_uint_eq(evo_optimizer_param_count(NULL), 0);
  assert_error_names(evo_optimizer_step(opt), EVO_ESTATE, "no tensors");
  ck_assert_int_eq(evo_optimizer_step(NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_add_params(NULL, p, dp, 4), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_add_params(opt, NULL, dp, 4), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, dp, 0), EVO_EINVAL);
  assert_error_names(evo_optimizer_add_params(opt, p, p + 2, 4), EVO_EINVAL,
                     "overlap");
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, dp, 4), EVO_OK);
  /* Cosine decay needs S. */
  assert_error_names(evo_optimizer_step(opt), EVO_ESTATE, "total_steps");
  assert_error_names(evo_optimizer_current_lr(opt, &v), EVO_ESTATE,
                     "total_steps");
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_set_total_steps(NULL, 5), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 5), EVO_OK);
  ck_assert_int_eq(evo_optimizer_current_lr(opt, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_current_lr(NULL, &v), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_step_count(opt, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_step_count(NULL, &u), EVO_EINVAL);
  /* Options. */
  const double bad_scales[] = {-1.0, NAN, INFINITY};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_LR_SCALE,
                                                    bad_scales[i]),
                     EVO_ERANGE);
    ck_assert_int_eq(
        evo_optimizer_set_option(opt, EVO_OPT_BASE_LR, bad_scales[i]),
        EVO_ERANGE);
  }
  ck_assert_int_eq(
      evo_optimizer_set_param_option(opt, 0, EVO_PARAM_WEIGHT_DECAY, 0.5),
      EVO_ERANGE);
  ck_assert_int_eq(
      evo_optimizer_set_param_option(opt, 1, EVO_PARAM_WEIGHT_DECAY, 0),
      EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_set_param_option(opt, 0,
                                                  (evo_param_option)99, 0),
                   EVO_EINVAL);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(opt, 1, EVO_PARAM_LR_SCALE, &v),
      EVO_ERANGE);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(opt, 0, EVO_PARAM_LR_SCALE, NULL),
      EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_get_param_option(opt, 0,
                                                  (evo_param_option)99, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE, 2),
                   EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_set_option(opt, (evo_optimizer_option)99, 0),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_get_option(opt, (evo_optimizer_option)99, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_BASE_LR, NULL),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_set_option(NULL, EVO_OPT_BASE_LR, 1),
                   EVO_EINVAL);
  /* Save and load. */
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(NULL, &buf, &size), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_save_mem(opt, NULL, &size), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_save_mem(opt, &buf, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_load_mem(opt, NULL, 10), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_load_mem(NULL, p, 10), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_save(opt, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_save(NULL, "/tmp/x"), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_load(opt, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_load(NULL, "/tmp/x"), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
  evo_optimizer_free(opt);
}
END_TEST

/* ---- threads (EVO_OPT_THREADS) ------------------------------------------- */

/* optimizer.h: tensors under 65536 elements are never split and no slice is
 * planned under 65536 elements. */
#define SLICE_MIN 65536
static const size_t thread_counts[] = {1, 2, 3, 8};
#define N_THREAD_COUNTS (sizeof thread_counts / sizeof thread_counts[0])

/* Sizes around the split threshold and odd ones: 589,843 elements, so up
 * to 9 slices; each tensor also starts 0 to 3 floats past a 64-byte
 * boundary (cuts are aligned to the parameters' addresses). */
static const size_t thread_sizes[] = {65535, 1,      65536,  7,
                                      65537, 262147, 131075, 17};
#define N_THREAD_SIZES (sizeof thread_sizes / sizeof thread_sizes[0])

/* One optimizer per thread count over its own parameters, sharing the
 * gradients (only read). */
typedef struct thread_runs {
  evo_optimizer *opt[N_THREAD_COUNTS];
  float *p_block[N_THREAD_COUNTS][N_THREAD_SIZES];
  float *p[N_THREAD_COUNTS][N_THREAD_SIZES];
  float *g[N_THREAD_SIZES];
} thread_runs;

/* 64-byte aligned room for n floats placed @p skew floats in. */
static float *skewed(float **block, size_t n, size_t skew) {
  size_t bytes = ((n + skew) * sizeof(float) + 63) / 64 * 64;
  *block = aligned_alloc(64, bytes);
  ck_assert_ptr_nonnull(*block);
  return *block + skew;
}

static void runs_new(thread_runs *r, const evo_genome *g) {
  memset(r, 0, sizeof *r);
  float *gb;
  for (size_t k = 0; k < N_THREAD_SIZES; k++) {
    r->g[k] = skewed(&gb, thread_sizes[k], 0);
    ck_assert_ptr_eq(gb, r->g[k]);
  }
  for (size_t c = 0; c < N_THREAD_COUNTS; c++) {
    ck_assert_int_eq(evo_optimizer_new(&r->opt[c], g), EVO_OK);
    ck_assert_int_eq(evo_optimizer_set_option(r->opt[c], EVO_OPT_THREADS,
                                              (double)thread_counts[c]),
                     EVO_OK);
    ck_assert_int_eq(evo_optimizer_set_total_steps(r->opt[c], 3), EVO_OK);
    for (size_t k = 0; k < N_THREAD_SIZES; k++) {
      size_t n = thread_sizes[k];
      float *p = r->p[c][k] = skewed(&r->p_block[c][k], n, k % 4);
      for (size_t i = 0; i < n; i++)
        p[i] = (float)init_param(k, i);
      ck_assert_int_eq(evo_optimizer_add_params(r->opt[c], p, r->g[k], n),
                       EVO_OK);
    }
  }
}

static void runs_free(thread_runs *r) {
  for (size_t c = 0; c < N_THREAD_COUNTS; c++) {
    evo_optimizer_free(r->opt[c]);
    for (size_t k = 0; k < N_THREAD_SIZES; k++)
      free(r->p_block[c][k]);
  }
  for (size_t k = 0; k < N_THREAD_SIZES; k++)
    free(r->g[k]);
}

/* Every run's parameters and moments equal run 0's bit for bit. */
static void runs_compare(const thread_runs *r, const char *ctx, int step) {
  size_t moments = evo_optimizer_moments(&r->opt[0]->genome);
  for (size_t c = 1; c < N_THREAD_COUNTS; c++)
    for (size_t k = 0; k < N_THREAD_SIZES; k++) {
      size_t n = thread_sizes[k];
      ck_assert_msg(memcmp(r->p[c][k], r->p[0][k], n * sizeof(float)) == 0,
                    "%s, step %d: parameters of tensor %zu differ with %zu "
                    "threads",
                    ctx, step, k, thread_counts[c]);
      ck_assert_msg(moments == 0 ||
                        memcmp(r->opt[c]->tensors[k].state,
                               r->opt[0]->tensors[k].state,
                               n * moments * sizeof(float)) == 0,
                    "%s, step %d: moments of tensor %zu differ with %zu "
                    "threads",
                    ctx, step, k, thread_counts[c]);
    }
}

/* Presets and a genome with every kernel group (linear, divisions, unit
 * gradient) under clipping, warmup and cosine decay. */
static evo_genome thread_genome(int which, char *name, size_t size) {
  static const char *const presets[] = {"sgd", "adam", "adamw",
                                        "paper-evolved", "sign-descent"};
  if (which < 5) {
    evo_genome *p;
    ck_assert_int_eq(evo_genome_preset(&p, presets[which]), EVO_OK);
    evo_genome g = *p;
    evo_genome_free(p);
    snprintf(name, size, "%s", presets[which]);
    return g;
  }
  evo_genome g = test_genome(&flag_cases[14]);
  g.n_terms = 4;
  g.terms[0] = EVO_TERM_ADAM;
  g.terms[1] = EVO_TERM_SIGN;
  g.terms[2] = EVO_TERM_UNIT;
  g.terms[3] = EVO_TERM_NESTEROV;
  g.alphas[1] = g.alphas[2] = g.alphas[3] = 0.3;
  snprintf(name, size, "all groups, clip, warmup, cosine");
  return g;
}
#define N_THREAD_GENOMES 6

/* Thread counts 1, 2, 3, 8 give bit-identical parameters and moments after
 * every step, with EVO_OPT_REFUSE_NONFINITE off and on. */
START_TEST(test_threads_identical) {
  char name[64];
  evo_genome g = thread_genome(_i, name, sizeof name);
  thread_runs r;
  runs_new(&r, &g);
  for (int s = 0; s < 4; s++) {
    for (size_t k = 0; k < N_THREAD_SIZES; k++)
      for (size_t i = 0; i < thread_sizes[k]; i++)
        r.g[k][i] = grad_value(k, i, (uint64_t)s);
    for (size_t c = 0; c < N_THREAD_COUNTS; c++) {
      ck_assert_int_eq(evo_optimizer_set_option(
                           r.opt[c], EVO_OPT_REFUSE_NONFINITE, s % 2),
                       EVO_OK);
      ck_assert_msg(evo_optimizer_step(r.opt[c]) == EVO_OK, "%s: %s", name,
                    evo_last_error());
    }
    runs_compare(&r, name, s);
  }
  /* The 589,843 elements make 9 slices at most. */
  const size_t want_slices[] = {1, 2, 3, 8};
  for (size_t c = 0; c < N_THREAD_COUNTS; c++)
    ck_assert_uint_eq(evo_optimizer_slices(r.opt[c]), want_slices[c]);
  runs_free(&r);
}
END_TEST

/* An optimizer with @p threads over tensors of @p ns elements, tensor k
 * starting skews[k] floats past a 64-byte boundary; checks the slices and
 * the cuts b(1) .. b(m-1), worked out by hand from the rule of optimizer.h
 * (cuts inside a tensor under 65536 elements go to its nearer edge, the
 * far one on a tie; others move down to a 64-byte boundary of the
 * parameters, i.e. to an element i with skew + i = 0 mod 16). */
static void check_cuts(size_t threads, size_t nt, const size_t *ns,
                       const size_t *skews, size_t want_m,
                       const size_t *want_cuts) {
  evo_genome g = test_genome(&flag_cases[3]);
  evo_optimizer *opt;
  float *blocks[4], *grads[4];
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  ck_assert_int_eq(
      evo_optimizer_set_option(opt, EVO_OPT_THREADS, (double)threads),
      EVO_OK);
  size_t w = 0;
  for (size_t k = 0; k < nt; k++) {
    float *p = skewed(&blocks[k], ns[k], skews[k]);
    grads[k] = calloc(ns[k], sizeof(float));
    ck_assert_int_eq(evo_optimizer_add_params(opt, p, grads[k], ns[k]),
                     EVO_OK);
    w += ns[k];
  }
  ck_assert_uint_eq(evo_optimizer_slices(opt), want_m);
  ck_assert_uint_eq(evo_optimizer_boundary(opt, 0, want_m), 0);
  for (size_t j = 1; j < want_m; j++)
    ck_assert_msg(evo_optimizer_boundary(opt, j, want_m) == want_cuts[j - 1],
                  "%zu threads: cut %zu at %zu, want %zu", threads, j,
                  evo_optimizer_boundary(opt, j, want_m), want_cuts[j - 1]);
  ck_assert_uint_eq(evo_optimizer_boundary(opt, want_m, want_m), w);
  evo_optimizer_free(opt);
  for (size_t k = 0; k < nt; k++) {
    free(blocks[k]);
    free(grads[k]);
  }
}

START_TEST(test_thread_slices) {
  /* 200,000 elements, 1 float past a boundary: 200000 / 65536 = 3 slices
   * even with 8 threads; j·W/3 = 66666 and 133333 move down to 66655 and
   * 133327 (1 + 66655 = 16·4166, 1 + 133327 = 16·8333). */
  const size_t one[] = {200000}, one_skew[] = {1};
  check_cuts(8, 1, one, one_skew, 3, (const size_t[]){66655, 133327});
  check_cuts(2, 1, one, one_skew, 2, (const size_t[]){99999}); /* 16·6250 */
  check_cuts(1, 1, one, one_skew, 1, NULL);
  /* 100,000 + 60,000 (small) + 100,000 (3 floats past a boundary). Two
   * threads: 130000 is element 30000 of the small tensor, a tie: its far
   * edge, 160000. Three: 86666 is in tensor 0 (aligned): 86656; 173333 is
   * element 13333 of tensor 2: 3 + 13325 = 16·833, so 160000 + 13325. */
  const size_t three[] = {100000, 60000, 100000}, three_skew[] = {0, 2, 3};
  check_cuts(2, 3, three, three_skew, 2, (const size_t[]){160000});
  check_cuts(3, 3, three, three_skew, 3, (const size_t[]){86656, 173325});
  /* One element more in the small tensor: 130000 is element 30000 of
   * 60001, nearer its start: 100000. */
  const size_t three_b[] = {100000, 60001, 100000};
  check_cuts(2, 3, three_b, three_skew, 2, (const size_t[]){100000});
  /* 65535 (small) + 65540 (3 floats past a boundary): 131075 / 2 = 65537
   * is element 2 of tensor 1, whose boundary below lies before its start:
   * the cut stays at its start, 65535. */
  const size_t two[] = {65535, 65540}, two_skew[] = {0, 3};
  check_cuts(2, 2, two, two_skew, 2, (const size_t[]){65535});
  /* Under 2 · 65536 elements in all: one slice whatever the count. */
  const size_t small[] = {65535, 65536}, small_skew[] = {0, 0};
  check_cuts(8, 2, small, small_skew, 1, NULL);
}
END_TEST

/* With refusal on, the first non-finite gradient in tensor order is named
 * whichever slice holds it, and nothing changes. */
START_TEST(test_threads_refuse) {
  evo_genome g = thread_genome(1, (char[16]){0}, 16);
  thread_runs r;
  runs_new(&r, &g);
  for (size_t k = 0; k < N_THREAD_SIZES; k++)
    for (size_t i = 0; i < thread_sizes[k]; i++)
      r.g[k][i] = grad_value(k, i, 0);
  /* Tensor 5 (262,147 elements) spans several slices with 8 threads; a
   * later slice also holds a bad element. */
  r.g[5][200001] = NAN;
  r.g[6][3] = INFINITY;
  r.g[5][250000] = -INFINITY;
  for (size_t c = 0; c < N_THREAD_COUNTS; c++) {
    ck_assert_int_eq(
        evo_optimizer_set_option(r.opt[c], EVO_OPT_REFUSE_NONFINITE, 1),
        EVO_OK);
    ck_assert_int_eq(evo_optimizer_step(r.opt[c]), EVO_ENONFINITE);
    ck_assert_msg(strstr(evo_last_error(), "tensor 5, element 200001") !=
                      NULL,
                  "%zu threads: %s", thread_counts[c], evo_last_error());
    for (size_t k = 0; k < N_THREAD_SIZES; k++)
      for (size_t i = 0; i < thread_sizes[k]; i++)
        if (r.p[c][k][i] != (float)init_param(k, i))
          ck_abort_msg("%zu threads: tensor %zu element %zu changed",
                       thread_counts[c], k, i);
    uint64_t steps;
    ck_assert_int_eq(evo_optimizer_step_count(r.opt[c], &steps), EVO_OK);
    ck_assert_uint_eq(steps, 0);
  }
  runs_compare(&r, "refused step", 0); /* the moments stayed zero alike */
  runs_free(&r);
}
END_TEST

/* The option's range, its value, its effect on the saved state (none), and
 * an optimizer freed with its threads idle, after steps, or never used
 * (ASan and the test's timeout catch leaks and hangs). */
START_TEST(test_thread_option) {
  evo_genome g = test_genome(&flag_cases[4]);
  evo_optimizer *opt;
  double v;
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_THREADS, &v),
                   EVO_OK);
  ck_assert(v == 1.0);
  const double bad[] = {0, -1, 0.5, 1.5, 257, 1e300, NAN, INFINITY};
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
    assert_error_names(evo_optimizer_set_option(opt, EVO_OPT_THREADS, bad[b]),
                       EVO_ERANGE, "EVO_OPT_THREADS");
    ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_THREADS, &v),
                     EVO_OK);
    ck_assert(v == 1.0);
  }
  const double good[] = {256, 3, 3, 1, 2};
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
    ck_assert_int_eq(evo_optimizer_set_option(opt, EVO_OPT_THREADS, good[k]),
                     EVO_OK);
    ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_THREADS, &v),
                     EVO_OK);
    ck_assert(v == good[k]);
  }
  /* Two threads, 2^17 elements: two slices; a few steps. */
  enum { N = 1 << 17 };
  float *p = calloc(N, sizeof(float)), *dp = calloc(N, sizeof(float));
  for (size_t i = 0; i < N; i++)
    dp[i] = grad_value(0, i, 0);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, dp, N), EVO_OK);
  ck_assert_uint_eq(evo_optimizer_slices(opt), 2);
  for (int s = 0; s < 3; s++)
    ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
  /* The count is not saved: a state from 2 threads equals one from a
   * single-threaded twin, and loading it keeps the loader's count. */
  evo_optimizer *twin;
  float *q = calloc(N, sizeof(float));
  ck_assert_int_eq(evo_optimizer_new(&twin, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(twin, q, dp, N), EVO_OK);
  for (int s = 0; s < 3; s++)
    ck_assert_int_eq(evo_optimizer_step(twin), EVO_OK);
  ck_assert(memcmp(p, q, N * sizeof(float)) == 0);
  void *a, *b;
  size_t na, nb;
  ck_assert_int_eq(evo_optimizer_save_mem(opt, &a, &na), EVO_OK);
  ck_assert_int_eq(evo_optimizer_save_mem(twin, &b, &nb), EVO_OK);
  ck_assert(na == nb && memcmp(a, b, na) == 0);
  ck_assert_int_eq(evo_optimizer_load_mem(twin, a, na), EVO_OK);
  ck_assert_int_eq(evo_optimizer_get_option(twin, EVO_OPT_THREADS, &v),
                   EVO_OK);
  ck_assert(v == 1.0);
  evo_free(a);
  evo_free(b);
  evo_optimizer_free(twin);
  evo_optimizer_free(opt); /* threads idle after steps */
  /* Threads started and never used. */
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_option(opt, EVO_OPT_THREADS, 8), EVO_OK);
  evo_optimizer_free(opt);
  free(p);
  free(q);
  free(dp);
}
END_TEST

/* The saved states of @p a and @p b are the same bytes. */
static void assert_same_state(const evo_optimizer *a, const evo_optimizer *b,
                              const char *ctx) {
  void *sa, *sb;
  size_t na, nb;
  ck_assert_int_eq(evo_optimizer_save_mem(a, &sa, &na), EVO_OK);
  ck_assert_int_eq(evo_optimizer_save_mem(b, &sb, &nb), EVO_OK);
  ck_assert_msg(na == nb && memcmp(sa, sb, na) == 0, "%s: states differ", ctx);
  evo_free(sa);
  evo_free(sb);
}

/* ---- gradients given at step time (optimizer.h, "Gradients") ------------- */

/* The genome of the tests below: both moments, bias correction, clipping,
 * decay, warmup over 3 steps and cosine over 5, so that a wrong global
 * step, a missed skip or a stray decay shows. */
static evo_genome schedule_genome(void) {
  evo_genome g = test_genome(&flag_cases[14]);
  g.n_terms = 2;
  g.terms[0] = EVO_TERM_ADAM;
  g.terms[1] = EVO_TERM_SIGN;
  g.alphas[1] = 0.3;
  return g;
}

/* The library steps once with what it was given; the reference steps the
 * tensors whose entry of @p use is not NULL; then both are compared. */
static void given_step(pair *pr, const float *const *use, int want,
                       const char *ctx) {
  int rc = evo_optimizer_step(pr->opt);
  ck_assert_msg(rc == want, "%s: status %d (%s)", ctx, rc, evo_last_error());
  if (rc == EVO_OK)
    ref_step(&pr->ref, use);
  pair_check(pr, ctx);
}

START_TEST(test_grads_given) {
  evo_genome g = schedule_genome();
  pair pr;
  pair_new(&pr, &g);
  pair_add_ex(&pr, 13, false);   /* tensor 0: no gradient bound */
  pair_add_ex(&pr, 7, true);     /* tensor 1: bound */
  pair_add_ex(&pr, 1003, false); /* tensor 2: none bound */
  pair_total(&pr, 5);
  float **gr = pr.g;
  /* Every tensor has one. */
  pair_fill(&pr);
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 0, gr[0]), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, gr[2]), EVO_OK);
  given_step(&pr, (const float *[]){gr[0], gr[1], gr[2]}, EVO_OK, "given");
  /* Nothing given again: the pointers were for one step; 0 and 2 are
   * left alone, 1 reads its bound array. */
  pair_fill(&pr);
  given_step(&pr, (const float *[]){NULL, gr[1], NULL}, EVO_OK,
             "pointers dropped");
  ck_assert_uint_eq(pr.opt->tensors[0].t, 1);
  ck_assert_uint_eq(pr.opt->tensors[1].t, 2);
  /* The array call: a NULL entry gives nothing. */
  pair_fill(&pr);
  ck_assert_int_eq(
      evo_optimizer_step_grads(pr.opt, (const float *[]){gr[0], NULL, NULL}, 3),
      EVO_OK);
  ref_step(&pr.ref, (const float *[]){gr[0], gr[1], NULL});
  pair_check(&pr, "step_grads");
  /* A pointer taken back; a fresh buffer each step, freed afterwards (as
   * libtorch reallocates its gradients). */
  pair_fill(&pr);
  float *fresh = malloc(13 * sizeof(float));
  memcpy(fresh, gr[0], 13 * sizeof(float));
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, gr[2]), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, NULL), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 0, fresh), EVO_OK);
  given_step(&pr, (const float *[]){fresh, gr[1], NULL}, EVO_OK,
             "fresh buffer");
  free(fresh); /* never read again: the next step must not touch it */
  pair_fill(&pr);
  given_step(&pr, (const float *[]){NULL, gr[1], NULL}, EVO_OK,
             "after the freed buffer");
  /* Nobody has a gradient: refused, nothing changed, the message says
   * why and names the call. */
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 1, pr.p[1], NULL), EVO_OK);
  snapshot sn;
  snap_take(&sn, &pr);
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ESTATE,
                     "evo_optimizer_step: no tensor to update: 0 frozen, 3 "
                     "without a gradient");
  assert_error_names(
      evo_optimizer_step_grads(pr.opt, (const float *[]){NULL, NULL, NULL}, 3),
      EVO_ESTATE, "evo_optimizer_step_grads: no tensor");
  /* Bad arguments of the array call change nothing either. */
  assert_error_names(
      evo_optimizer_step_grads(pr.opt, (const float *[]){gr[0], gr[1]}, 2),
      EVO_EINVAL, "2 gradient pointers for 3 tensors");
  assert_error_names(evo_optimizer_step_grads(
                         pr.opt, (const float *[]){gr[0], pr.p[1], NULL}, 3),
                     EVO_EINVAL, "grads[1] overlaps the params of tensor 1");
  assert_error_names(evo_optimizer_step_grads(pr.opt, NULL, 3), EVO_EINVAL,
                     "evo_optimizer_step_grads: argument 'grads' is NULL");
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ESTATE, "no tensor");
  assert_error_names(evo_optimizer_set_grad(pr.opt, 1, pr.p[1] + 3), EVO_EINVAL,
                     "evo_optimizer_set_grad: params and grads "
                     "overlap");
  assert_error_names(evo_optimizer_set_grad(pr.opt, 3, gr[0]), EVO_ERANGE,
                     "evo_optimizer_set_grad: no tensor 3 (3 registered)");
  ck_assert_int_eq(evo_optimizer_set_grad(NULL, 0, gr[0]), EVO_EINVAL);
  /* Rebinding drops a pointer given for the tensor, so does a load. */
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 0, gr[0]), EVO_OK);
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 0, pr.p[0], NULL), EVO_OK);
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ESTATE, "no tensor");
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 0, gr[0]), EVO_OK);
  ck_assert_int_eq(evo_optimizer_load_mem(pr.opt, sn.state, sn.state_size),
                   EVO_OK);
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ESTATE, "no tensor");
  snap_check_and_free(&sn, &pr);
  /* A step refused for a non-finite gradient keeps the given pointer: the
   * next step reads it (now finite). */
  ck_assert_int_eq(
      evo_optimizer_set_option(pr.opt, EVO_OPT_REFUSE_NONFINITE, 1), EVO_OK);
  pair_fill(&pr);
  gr[2][5] = NAN;
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, gr[2]), EVO_OK);
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ENONFINITE,
                     "evo_optimizer_step: gradient of tensor 2, element 5");
  gr[2][5] = 0.25f;
  given_step(&pr, (const float *[]){NULL, NULL, gr[2]}, EVO_OK,
             "after a refused step");
  ck_assert_uint_eq(pr.opt->tensors[2].t, 2);
  uint64_t steps;
  ck_assert_int_eq(evo_optimizer_step_count(pr.opt, &steps), EVO_OK);
  ck_assert_uint_eq(steps, 6);
  pair_free(&pr);
}
END_TEST

/* ---- per-tensor steps (evo_optimizer_step_tensor) ------------------------ */

/* Stepping each tensor once per round, in an order that changes from
 * round to round, gives bit for bit what evo_optimizer_step() gives (and
 * so the reference); s advances when the round is complete. Tensors
 * without a bound gradient get theirs as the argument. */
static void step_tensor_matches(size_t threads, const size_t *ns, size_t nt,
                                const char *ctx) {
  evo_genome g = schedule_genome();
  pair a;
  pair_new(&a, &g);
  for (size_t k = 0; k < nt; k++)
    pair_add(&a, ns[k]);
  pair_total(&a, 5);
  evo_optimizer *b;
  float *bp[MAX_TENSORS];
  ck_assert_int_eq(evo_optimizer_new(&b, &g), EVO_OK);
  ck_assert_int_eq(
      evo_optimizer_set_option(b, EVO_OPT_THREADS, (double)threads), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(b, 5), EVO_OK);
  for (size_t k = 0; k < nt; k++) {
    bp[k] = malloc(ns[k] * sizeof(float));
    memcpy(bp[k], a.p[k], ns[k] * sizeof(float));
    ck_assert_int_eq(evo_optimizer_add_params(b, bp[k], NULL, ns[k]), EVO_OK);
  }
  for (uint64_t s = 0; s < 7; s++) {
    pair_step(&a, ctx);
    for (size_t j = 0; j < nt; j++) {
      size_t k = (j + s) % nt; /* rotating order */
      uint64_t count;
      ck_assert_int_eq(evo_optimizer_step_count(b, &count), EVO_OK);
      ck_assert_uint_eq(count, s);
      ck_assert_msg(evo_optimizer_step_tensor(b, k, a.g[k]) == EVO_OK, "%s: %s",
                    ctx, evo_last_error());
    }
    uint64_t count;
    ck_assert_int_eq(evo_optimizer_step_count(b, &count), EVO_OK);
    ck_assert_uint_eq(count, s + 1);
    size_t moments = evo_optimizer_moments(&g);
    for (size_t k = 0; k < nt; k++) {
      ck_assert_msg(memcmp(bp[k], a.p[k], ns[k] * sizeof(float)) == 0,
                    "%s, round %d: tensor %zu differs from a whole step", ctx,
                    (int)s, k);
      ck_assert_msg(memcmp(b->tensors[k].state, a.opt->tensors[k].state,
                           ns[k] * moments * sizeof(float)) == 0,
                    "%s, round %d: moments of tensor %zu differ", ctx, (int)s,
                    k);
      ck_assert_uint_eq(b->tensors[k].t, s + 1);
    }
  }
  evo_optimizer_free(b);
  for (size_t k = 0; k < nt; k++)
    free(bp[k]);
  pair_free(&a);
}

START_TEST(test_step_tensor_matches_step) {
  step_tensor_matches(1, (const size_t[]){1, 7, 1003}, 3, "one thread");
  /* A tensor split across threads (2 and 3 slices of 196,611 elements). */
  step_tensor_matches(2, (const size_t[]){7, 196611}, 2, "two threads");
  step_tensor_matches(3, (const size_t[]){196611, 5, 1}, 3, "three threads");
}
END_TEST

/* One step of tensor @p k by evo_optimizer_step_tensor() with its bound
 * gradient, filled for reference step @p s, and the reference's at global
 * step @p s; then the step count must be @p count. */
static void tensor_step(pair *pr, size_t k, uint64_t s, uint64_t count,
                        const char *ctx) {
  for (size_t i = 0; i < pr->ref.t[k].n; i++)
    pr->g[k][i] = grad_value(k, i, s);
  int rc = evo_optimizer_step_tensor(pr->opt, k, NULL);
  ck_assert_msg(rc == EVO_OK, "%s: %s", ctx, evo_last_error());
  ref_step_tensor(&pr->ref, k, pr->g[k], s);
  pair_check(pr, ctx);
  uint64_t got;
  ck_assert_int_eq(evo_optimizer_step_count(pr->opt, &got), EVO_OK);
  ck_assert_msg(got == count, "%s: step count %llu, expected %llu", ctx,
                (unsigned long long)got, (unsigned long long)count);
  pr->ref.s = count; /* for pair_step() after it */
}

/* The round rule of optimizer.h ("Rounds"), step by step, s worked out by
 * hand: W = 3 and S = 5 make every s's rate different. */
START_TEST(test_step_tensor_rounds) {
  evo_genome g = schedule_genome();
  pair pr;
  pair_new(&pr, &g);
  pair_add(&pr, 5);
  pair_add(&pr, 9);
  pair_add(&pr, 1);
  pair_total(&pr, 5);
  tensor_step(&pr, 0, 0, 0, "round 0, tensor 0");
  tensor_step(&pr, 1, 0, 0, "round 0, tensor 1");
  double lr;
  ck_assert_int_eq(evo_optimizer_current_lr(pr.opt, &lr), EVO_OK);
  ck_assert(fabs(lr - ref_rate_at(&pr.ref, 0)) <= 1e-15);
  /* Tensor 0 again before 2 came: round 0 closes, 0 opens round 1. */
  tensor_step(&pr, 0, 1, 1, "tensor 0 again: round 1");
  tensor_step(&pr, 2, 1, 1, "round 1, tensor 2");
  tensor_step(&pr, 1, 1, 2, "round 1 complete");
  /* A frozen tensor does not hold a round up, and its calls change
   * nothing. */
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 2, EVO_PARAM_FROZEN, 1), EVO_OK);
  tensor_step(&pr, 0, 2, 2, "round 2, tensor 0");
  snapshot sn;
  snap_take(&sn, &pr);
  ck_assert_int_eq(evo_optimizer_step_tensor(pr.opt, 2, pr.g[2]), EVO_OK);
  snap_check_and_free(&sn, &pr);
  tensor_step(&pr, 1, 2, 3, "round 2 complete without the frozen tensor");
  /* evo_optimizer_step() closes an open round first: round 3 holds tensor
   * 0 alone, the whole step is s = 4. */
  tensor_step(&pr, 0, 3, 3, "round 3, tensor 0");
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; i < pr.ref.t[k].n; i++)
      pr.g[k][i] = grad_value(k, i, 4);
  ck_assert_int_eq(evo_optimizer_step(pr.opt), EVO_OK);
  pr.ref.s = 4;
  ref_step(&pr.ref, (const float *[]){pr.g[0], pr.g[1], NULL});
  pair_check(&pr, "a whole step after an open round");
  uint64_t count;
  ck_assert_int_eq(evo_optimizer_step_count(pr.opt, &count), EVO_OK);
  ck_assert_uint_eq(count, 5);
  /* Unfrozen, tensor 2 goes on from its own t (1, from round 1); a tensor
   * added while a round is open joins it. */
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 2, EVO_PARAM_FROZEN, 0), EVO_OK);
  tensor_step(&pr, 2, 5, 5, "round 5, the unfrozen tensor");
  ck_assert_uint_eq(pr.opt->tensors[2].t, 2);
  pair_add(&pr, 3);
  tensor_step(&pr, 0, 5, 5, "round 5, tensor 0");
  tensor_step(&pr, 1, 5, 5, "round 5, tensor 1");
  tensor_step(&pr, 3, 5, 6, "round 5 complete with the added tensor");
  ck_assert_uint_eq(pr.opt->tensors[3].t, 1);
  /* No gradient: refused, nothing changed, the call named. */
  ck_assert_int_eq(evo_optimizer_rebind(pr.opt, 1, pr.p[1], NULL), EVO_OK);
  snap_take(&sn, &pr);
  assert_error_names(evo_optimizer_step_tensor(pr.opt, 1, NULL), EVO_ESTATE,
                     "evo_optimizer_step_tensor: tensor 1 has no gradient");
  assert_error_names(evo_optimizer_step_tensor(pr.opt, 4, pr.g[0]), EVO_ERANGE,
                     "evo_optimizer_step_tensor: no tensor 4 (4 registered)");
  assert_error_names(evo_optimizer_step_tensor(pr.opt, 0, pr.p[0] + 1),
                     EVO_EINVAL,
                     "evo_optimizer_step_tensor: params and "
                     "grads overlap");
  ck_assert_int_eq(evo_optimizer_step_tensor(NULL, 0, pr.g[0]), EVO_EINVAL);
  pr.g[0][2] = INFINITY;
  ck_assert_int_eq(
      evo_optimizer_set_option(pr.opt, EVO_OPT_REFUSE_NONFINITE, 1), EVO_OK);
  assert_error_names(evo_optimizer_step_tensor(pr.opt, 0, NULL), EVO_ENONFINITE,
                     "evo_optimizer_step_tensor: gradient of tensor 0, "
                     "element 2");
  ck_assert_int_eq(
      evo_optimizer_set_option(pr.opt, EVO_OPT_REFUSE_NONFINITE, 0), EVO_OK);
  snap_check_and_free(&sn, &pr);
  /* A step given as the argument is used once; s stays in the round. */
  for (size_t i = 0; i < 9; i++)
    pr.g[1][i] = grad_value(1, i, 6);
  ck_assert_int_eq(evo_optimizer_step_tensor(pr.opt, 1, pr.g[1]), EVO_OK);
  ref_step_tensor(&pr.ref, 1, pr.g[1], 6);
  pair_check(&pr, "round 6, the argument");
  assert_error_names(evo_optimizer_step_tensor(pr.opt, 1, NULL), EVO_ESTATE,
                     "tensor 1 has no gradient");
  pair_free(&pr);
}
END_TEST

/* ---- gradient scale, freezing ------------------------------------------- */

START_TEST(test_grad_scale) {
  evo_genome g = schedule_genome();
  /* darknet's form with a batch of 4: the array holds -4·g (exact in
   * float), the scale is -1/4 (exact): bit for bit the unscaled run, with
   * clipping at 0.8 applied after the scale (-4·g reaches 6.4). */
  pair a, b;
  pair_new(&a, &g);
  pair_new(&b, &g);
  pair_add(&a, 29);
  pair_add(&b, 29);
  pair_total(&a, 5);
  pair_total(&b, 5);
  ck_assert_int_eq(evo_optimizer_set_option(b.opt, EVO_OPT_GRAD_SCALE, -0.25),
                   EVO_OK);
  for (int s = 0; s < 6; s++) {
    pair_step(&a, "unscaled");
    for (size_t i = 0; i < 29; i++)
      b.g[0][i] = -4.0f * a.g[0][i];
    ck_assert_int_eq(evo_optimizer_step(b.opt), EVO_OK);
    ck_assert_msg(memcmp(a.p[0], b.p[0], 29 * sizeof(float)) == 0,
                  "step %d: scale -1/4 of -4 g differs from g", s);
    for (size_t i = 0; i < 29; i++) /* the caller's array is unchanged */
      ck_assert(b.g[0][i] == -4.0f * a.g[0][i]);
  }
  pair_free(&a);
  pair_free(&b);
  /* A batch of 3 (-1/3 is rounded) against the reference, which applies
   * the scale in double. */
  pair_new(&a, &g);
  pair_add(&a, 13);
  pair_add(&a, 1003);
  pair_total(&a, 5);
  ck_assert_int_eq(
      evo_optimizer_set_option(a.opt, EVO_OPT_GRAD_SCALE, -1.0 / 3.0), EVO_OK);
  a.ref.grad_scale = -1.0 / 3.0;
  for (int s = 0; s < 8; s++)
    pair_step(&a, "scale -1/3");
  /* The range: finite, normal-float magnitudes; a refusal keeps the value
   * and names the option. */
  const double bad[] = {0.0,  -0.0,  NAN,   INFINITY, -INFINITY,
                        4e38, -4e38, 1e-39, -1e-39};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_error_names(
        evo_optimizer_set_option(a.opt, EVO_OPT_GRAD_SCALE, bad[i]), EVO_ERANGE,
        "evo_optimizer_set_option: "
        "EVO_OPT_GRAD_SCALE");
    double v;
    ck_assert_int_eq(evo_optimizer_get_option(a.opt, EVO_OPT_GRAD_SCALE, &v),
                     EVO_OK);
    ck_assert(v == -1.0 / 3.0);
  }
  const double good[] = {FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 1.0};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    ck_assert_int_eq(
        evo_optimizer_set_option(a.opt, EVO_OPT_GRAD_SCALE, good[i]), EVO_OK);
    double v;
    ck_assert_int_eq(evo_optimizer_get_option(a.opt, EVO_OPT_GRAD_SCALE, &v),
                     EVO_OK);
    ck_assert(v == good[i]);
  }
  a.ref.grad_scale = 1.0;
  pair_step(&a, "scale back to 1");
  pair_free(&a);
}
END_TEST

START_TEST(test_frozen) {
  evo_genome g = schedule_genome();
  pair pr;
  pair_new(&pr, &g);
  pair_add(&pr, 11);
  pair_add(&pr, 1003);
  pair_add_ex(&pr, 6, false);
  pair_total(&pr, 5);
  float **gr = pr.g;
  double v;
  ck_assert_int_eq(
      evo_optimizer_get_param_option(pr.opt, 1, EVO_PARAM_FROZEN, &v), EVO_OK);
  ck_assert(v == 0.0);
  pair_fill(&pr);
  ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, gr[2]), EVO_OK);
  given_step(&pr, (const float *[]){gr[0], gr[1], gr[2]}, EVO_OK, "thawed");
  /* Tensor 1 frozen for three steps: no decay, no moment, no t change;
   * tensor 2 frozen with a pointer given: the step drops it. */
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 1, EVO_PARAM_FROZEN, 1), EVO_OK);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(pr.opt, 1, EVO_PARAM_FROZEN, &v), EVO_OK);
  ck_assert(v == 1.0);
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 2, EVO_PARAM_FROZEN, 1), EVO_OK);
  float *p1 = malloc(1003 * sizeof(float));
  memcpy(p1, pr.p[1], 1003 * sizeof(float));
  for (int s = 0; s < 3; s++) {
    pair_fill(&pr);
    ck_assert_int_eq(evo_optimizer_set_grad(pr.opt, 2, gr[2]), EVO_OK);
    given_step(&pr, (const float *[]){gr[0], NULL, NULL}, EVO_OK, "frozen");
  }
  ck_assert(memcmp(p1, pr.p[1], 1003 * sizeof(float)) == 0);
  ck_assert_uint_eq(pr.opt->tensors[1].t, 1);
  free(p1);
  /* Every tensor frozen: refused. */
  ck_assert_int_eq(
      evo_optimizer_set_param_option(pr.opt, 0, EVO_PARAM_FROZEN, 1), EVO_OK);
  assert_error_names(evo_optimizer_step(pr.opt), EVO_ESTATE,
                     "no tensor to update: 3 frozen, 0 without");
  /* Thawed, 1 goes on with t = 2; 2 had its pointer dropped: skipped. */
  for (size_t k = 0; k < 3; k++)
    ck_assert_int_eq(
        evo_optimizer_set_param_option(pr.opt, k, EVO_PARAM_FROZEN, 0), EVO_OK);
  pair_fill(&pr);
  given_step(&pr, (const float *[]){gr[0], gr[1], NULL}, EVO_OK,
             "thawed again");
  ck_assert_uint_eq(pr.opt->tensors[1].t, 2);
  ck_assert_uint_eq(pr.opt->tensors[2].t, 1);
  const double bad[] = {0.5, -1.0, 2.0, NAN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_error_names(
        evo_optimizer_set_param_option(pr.opt, 0, EVO_PARAM_FROZEN, bad[i]),
        EVO_ERANGE,
        "evo_optimizer_set_param_option: tensor 0: "
        "EVO_PARAM_FROZEN must be 0 or 1");
  assert_error_names(
      evo_optimizer_set_param_option(pr.opt, 3, EVO_PARAM_FROZEN, 1),
      EVO_ERANGE, "no tensor 3");
  pair_free(&pr);
}
END_TEST

/* ---- clones ---------------------------------------------------------------
 */

/* A clone taken mid-run (options set, a round open, threads) and pointed at
 * copies of the parameters goes on bit for bit like the original, which
 * goes on like the reference. */
START_TEST(test_clone) {
  pair a;
  state_pair(&a, 70001);
  pair_add(&a, 131075); /* split in two by the threads */
  ck_assert_int_eq(evo_optimizer_set_option(a.opt, EVO_OPT_THREADS, 2), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_option(a.opt, EVO_OPT_GRAD_SCALE, 0.5),
                   EVO_OK);
  a.ref.grad_scale = 0.5;
  for (int s = 0; s < 3; s++)
    pair_step(&a, "before the clone");
  tensor_step(&a, 1, 3, 3, "a round left open");
  evo_optimizer *c;
  ck_assert_int_eq(evo_optimizer_clone(&c, a.opt), EVO_OK);
  double v;
  ck_assert_int_eq(evo_optimizer_get_option(c, EVO_OPT_THREADS, &v), EVO_OK);
  ck_assert(v == 2.0);
  ck_assert_uint_eq(evo_optimizer_param_count(c), 3);
  float *cp[3];
  for (size_t k = 0; k < 3; k++) {
    size_t n = a.ref.t[k].n;
    cp[k] = malloc(n * sizeof(float));
    memcpy(cp[k], a.p[k], n * sizeof(float));
    ck_assert_int_eq(evo_optimizer_rebind(c, k, cp[k], a.g[k]), EVO_OK);
  }
  /* Both finish the round, then take whole steps on the same gradients. */
  for (size_t k = 0; k < 3; k += 2) {
    tensor_step(&a, k, 3, k == 2 ? 4 : 3, "original, the round");
    ck_assert_int_eq(evo_optimizer_step_tensor(c, k, NULL), EVO_OK);
  }
  for (int s = 0; s < 3; s++) {
    pair_step(&a, "original after the clone");
    ck_assert_int_eq(evo_optimizer_step(c), EVO_OK);
  }
  for (size_t k = 0; k < 3; k++)
    ck_assert_msg(memcmp(cp[k], a.p[k], a.ref.t[k].n * sizeof(float)) == 0,
                  "tensor %zu: the clone differs", k);
  assert_same_state(a.opt, c, "clone");
  evo_optimizer_free(c);
  for (size_t k = 0; k < 3; k++)
    free(cp[k]);
  pair_free(&a);
  /* Given pointers are not copied; the clone is independent. */
  evo_genome g = schedule_genome();
  float p[4] = {1, 2, 3, 4}, q[4] = {1, 2, 3, 4}, dp[4] = {.5f, .5f, .5f, .5f};
  evo_optimizer *o;
  ck_assert_int_eq(evo_optimizer_new(&o, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(o, 5), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(o, p, NULL, 4), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_grad(o, 0, dp), EVO_OK);
  ck_assert_int_eq(evo_optimizer_clone(&c, o), EVO_OK);
  ck_assert_int_eq(evo_optimizer_rebind(c, 0, q, NULL), EVO_OK);
  assert_error_names(evo_optimizer_step(c), EVO_ESTATE, "no tensor");
  ck_assert_int_eq(evo_optimizer_step(o), EVO_OK);
  ck_assert(q[0] == 1.0f && p[0] != 1.0f);
  ck_assert_uint_eq(c->tensors[0].t, 0);
  evo_optimizer_free(c);
  evo_optimizer_free(o);
  /* No tensors; bad arguments. */
  ck_assert_int_eq(evo_optimizer_new(&o, &g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_clone(&c, o), EVO_OK);
  ck_assert_uint_eq(evo_optimizer_param_count(c), 0);
  evo_optimizer_free(c);
  assert_error_names(evo_optimizer_clone(NULL, o), EVO_EINVAL,
                     "evo_optimizer_clone: argument 'out' is NULL");
  assert_error_names(evo_optimizer_clone(&c, NULL), EVO_EINVAL,
                     "evo_optimizer_clone: argument 'opt' is NULL");
  evo_optimizer_free(o);
}
END_TEST

/* ---- the state keeps the new options and the open round ----------------- */

START_TEST(test_state_round_and_options) {
  pair a, b;
  for (int which = 0; which < 2; which++) {
    pair *pr = which == 0 ? &a : &b;
    state_pair(pr, 17);
    pair_add(pr, 5);
    ck_assert_int_eq(
        evo_optimizer_set_option(pr->opt, EVO_OPT_GRAD_SCALE, -0.75), EVO_OK);
    pr->ref.grad_scale = -0.75;
    for (int s = 0; s < 2; s++)
      pair_step(pr, "before saving");
    tensor_step(pr, 0, 2, 2, "round 2 left open");
    ck_assert_int_eq(
        evo_optimizer_set_param_option(pr->opt, 2, EVO_PARAM_FROZEN, 1),
        EVO_OK);
  }
  /* b saved and loaded into a fresh optimizer c (options at defaults). */
  pair c;
  fresh_like(&c, &b);
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(b.opt, &buf, &size), EVO_OK);
  ck_assert_int_eq(evo_optimizer_load_mem(c.opt, buf, size), EVO_OK);
  evo_free(buf);
  double v;
  ck_assert_int_eq(evo_optimizer_get_option(c.opt, EVO_OPT_GRAD_SCALE, &v),
                   EVO_OK);
  ck_assert(v == -0.75);
  ck_assert_int_eq(
      evo_optimizer_get_param_option(c.opt, 2, EVO_PARAM_FROZEN, &v), EVO_OK);
  ck_assert(v == 1.0);
  /* Tensor 0 again closes round 2 in both; then tensor 1 completes round
   * 3 (2 is frozen); then whole steps. */
  evo_optimizer *opts[2] = {a.opt, c.opt};
  for (int which = 0; which < 2; which++) {
    pair *pr = which == 0 ? &a : &c;
    for (size_t k = 0; k < 3; k++)
      for (size_t i = 0; i < pr->ref.t[k].n; i++)
        pr->g[k][i] = grad_value(k, i, 9);
    ck_assert_int_eq(evo_optimizer_step_tensor(opts[which], 0, NULL), EVO_OK);
    ck_assert_int_eq(evo_optimizer_step_tensor(opts[which], 1, NULL), EVO_OK);
    uint64_t count;
    ck_assert_int_eq(evo_optimizer_step_count(opts[which], &count), EVO_OK);
    ck_assert_uint_eq(count, 4);
    ck_assert_int_eq(evo_optimizer_step(opts[which]), EVO_OK);
  }
  for (size_t k = 0; k < 3; k++)
    ck_assert_msg(memcmp(a.p[k], c.p[k], a.ref.t[k].n * sizeof(float)) == 0,
                  "tensor %zu differs after save, load, continue", k);
  assert_same_state(a.opt, c.opt, "save, load, continue in a round");
  pair_free(&a);
  pair_free(&b);
  pair_free(&c);
}
END_TEST

/* A state of format version 1 (before the gradient scale, freezing and
 * rounds) still loads, with scale 1 and nothing frozen; saved again it is
 * the version-2 state of the same optimizer. The version-1 payload is cut
 * from a version-2 one by the layout of optimizer.c. */
START_TEST(test_state_version_1) {
  pair a;
  state_pair(&a, 19);
  for (int s = 0; s < 3; s++)
    pair_step(&a, "steps");
  void *buf;
  size_t size;
  ck_assert_int_eq(evo_optimizer_save_mem(a.opt, &buf, &size), EVO_OK);
  const unsigned char *v2 = (const unsigned char *)buf + 20;
  size_t v2_size = size - 24;
  const size_t genome_bytes = 4 + 4 * 4 + 4 * 8 + 6 * 8 + 8 + 1;
  const size_t scale_at = genome_bytes + 1 + 8;
  evo_wbuf w = {0};
  evo_wbuf_bytes(&w, v2, scale_at);             /* genome, refuse, base lr */
  evo_wbuf_bytes(&w, v2 + scale_at + 8, 8 * 3); /* s, S, tensor count */
  size_t at = scale_at + 8 + 8 * 3;
  for (size_t k = 0; k < a.nt; k++) {
    size_t n = a.ref.t[k].n, moments = 2;
    evo_wbuf_bytes(&w, v2 + at, 8 + 8 + 1); /* n, lr scale, decay */
    at += 8 + 8 + 1 + 2;                    /* without frozen, round */
    evo_wbuf_bytes(&w, v2 + at, 8 + 4 * n * moments); /* t, moments */
    at += 8 + 4 * n * moments;
  }
  ck_assert_uint_eq(at, v2_size);
  unsigned char *v1;
  size_t v1_size;
  ck_assert_int_eq(evo_frame_wrap("EVOOPTS", 1, &w, &v1, &v1_size), EVO_OK);
  pair c;
  fresh_like(&c, &a);
  ck_assert_int_eq(evo_optimizer_set_option(c.opt, EVO_OPT_GRAD_SCALE, 3.0),
                   EVO_OK);
  ck_assert_int_eq(evo_optimizer_load_mem(c.opt, v1, v1_size), EVO_OK);
  double v;
  ck_assert_int_eq(evo_optimizer_get_option(c.opt, EVO_OPT_GRAD_SCALE, &v),
                   EVO_OK);
  ck_assert(v == 1.0);
  void *again;
  size_t again_size;
  ck_assert_int_eq(evo_optimizer_save_mem(c.opt, &again, &again_size), EVO_OK);
  ck_assert_msg(again_size == size && memcmp(again, buf, size) == 0,
                "a version-1 state saved again differs from version 2");
  evo_free(again);
  free(v1);
  evo_wbuf_free(&w);
  evo_free(buf);
  pair_free(&a);
  pair_free(&c);
}
END_TEST

/* Messages name the public call, never an internal function. */
START_TEST(test_messages_name_the_call) {
  evo_genome g = test_genome(&flag_cases[13]); /* cosine */
  evo_optimizer *opt;
  float p[4] = {0}, dp[4] = {0};
  double v;
  ck_assert_int_eq(evo_optimizer_new(&opt, &g), EVO_OK);
  assert_error_names(evo_optimizer_add_params(opt, NULL, dp, 4), EVO_EINVAL,
                     "evo_optimizer_add_params: argument 'params' is NULL");
  assert_error_names(evo_optimizer_add_params(opt, p, p + 1, 4), EVO_EINVAL,
                     "evo_optimizer_add_params: params and grads overlap");
  assert_error_names(evo_optimizer_add_params(opt, p, dp, 0), EVO_EINVAL,
                     "evo_optimizer_add_params: n = 0");
  assert_error_names(evo_optimizer_step(opt), EVO_ESTATE,
                     "evo_optimizer_step: no tensors registered");
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, NULL, 4), EVO_OK);
  assert_error_names(evo_optimizer_rebind(opt, 0, NULL, dp), EVO_EINVAL,
                     "evo_optimizer_rebind: argument 'params' is NULL");
  assert_error_names(evo_optimizer_rebind(opt, 0, p, p), EVO_EINVAL,
                     "evo_optimizer_rebind: params and grads overlap");
  assert_error_names(evo_optimizer_step(opt), EVO_ESTATE,
                     "evo_optimizer_step: the genome uses cosine decay");
  assert_error_names(evo_optimizer_step_tensor(opt, 0, dp), EVO_ESTATE,
                     "evo_optimizer_step_tensor: the genome uses cosine "
                     "decay");
  assert_error_names(evo_optimizer_current_lr(opt, &v), EVO_ESTATE,
                     "evo_optimizer_current_lr: the genome uses cosine");
  assert_error_names(evo_optimizer_set_total_steps(opt, 0), EVO_ERANGE,
                     "evo_optimizer_set_total_steps: total steps");
  assert_error_names(evo_optimizer_set_option(opt, EVO_OPT_THREADS, 0),
                     EVO_ERANGE, "evo_optimizer_set_option: EVO_OPT_THREADS");
  assert_error_names(evo_optimizer_set_option(opt, EVO_OPT_BASE_LR, -1),
                     EVO_ERANGE, "evo_optimizer_set_option: EVO_OPT_BASE_LR");
  assert_error_names(evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE, 3),
                     EVO_ERANGE,
                     "evo_optimizer_set_option: EVO_OPT_REFUSE_NONFINITE");
  assert_error_names(evo_optimizer_set_option(opt, (evo_optimizer_option)99, 0),
                     EVO_EINVAL,
                     "evo_optimizer_set_option: unknown optimizer option 99");
  assert_error_names(
      evo_optimizer_get_option(opt, (evo_optimizer_option)99, &v), EVO_EINVAL,
      "evo_optimizer_get_option: unknown optimizer option 99");
  assert_error_names(
      evo_optimizer_set_param_option(opt, 0, EVO_PARAM_LR_SCALE, -1),
      EVO_ERANGE, "evo_optimizer_set_param_option: tensor 0: learning-rate");
  assert_error_names(
      evo_optimizer_set_param_option(opt, 0, EVO_PARAM_WEIGHT_DECAY, 3),
      EVO_ERANGE, "evo_optimizer_set_param_option: tensor 0: weight decay");
  assert_error_names(
      evo_optimizer_get_param_option(opt, 0, (evo_param_option)99, &v),
      EVO_EINVAL, "evo_optimizer_get_param_option: unknown per-tensor");
  assert_error_names(evo_optimizer_save(NULL, "/tmp/x"), EVO_EINVAL,
                     "evo_optimizer_save: argument 'opt' is NULL");
  evo_optimizer_free(opt);
}
END_TEST

/* ---- PyTorch reference trajectories -------------------------------------- */

/* The lines "<preset> <step> <n values>" of @p preset in @p path, in file
 * order: their steps in @p steps, their values in rows[r·stride + i];
 * returns how many (at most @p max_rows). */
static int read_rows(const char *path, const char *preset, size_t n, int *steps,
                     float *rows, size_t stride, int max_rows) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char line[8192];
  int count = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    char name[32];
    int step, used;
    if (line[0] == '#' || sscanf(line, "%31s %d%n", name, &step, &used) != 2 ||
        strcmp(name, preset) != 0)
      continue;
    ck_assert_int_lt(count, max_rows);
    steps[count] = step;
    const char *q = line + used;
    for (size_t i = 0; i < n; i++) {
      char *end;
      rows[(size_t)count * stride + i] = strtof(q, &end);
      ck_assert_msg(end != q, "%s: short line for %s step %d", path, preset,
                    step);
      q = end;
    }
    count++;
  }
  fclose(f);
  return count;
}

/* The rows of @p preset in the adamw reference, steps 0, 1, 2, … in
 * order, into traj[step][i]; returns the number of steps + 1 (step 0 =
 * initial). */
static int read_trajectory(const char *preset, size_t n, float traj[][64],
                           int max_steps) {
  int steps[64];
  ck_assert_int_le(max_steps, 64);
  int count =
      read_rows(reference_path, preset, n, steps, &traj[0][0], 64, max_steps);
  for (int r = 0; r < count; r++)
    ck_assert_int_eq(steps[r], r);
  return count;
}

/* doc/algorithm.md §4: `adamw` equals torch.optim.AdamW(lr=1e-3, betas=(0.9,
 * 0.999), eps=1e-8, weight_decay=1e-2); `adam-nowd` torch.optim.Adam(lr=
 * 1e-3). Same tensor, same gradients (formulas shared with the script). */
START_TEST(test_torch_reference) {
  static const char *const presets[] = {"adamw", "adam-nowd"};
  enum { N = 13, MAX_STEPS = 64 };
  const char *preset = presets[_i];
  if (reference_path == NULL)
    ck_abort_msg("no reference file given on the command line");
  static float traj[MAX_STEPS][64];
  int steps = read_trajectory(preset, N, traj, MAX_STEPS);
  ck_assert_int_ge(steps, 20);
  evo_genome *g;
  evo_optimizer *opt;
  float p[N], dp[N];
  ck_assert_int_eq(evo_genome_preset(&g, preset), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  for (size_t i = 0; i < N; i++) {
    p[i] = (float)(0.5 * cos(0.11 * (double)i + 0.2));
    ck_assert_msg(p[i] == traj[0][i], "initial p[%zu] differs", i);
  }
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, dp, N), EVO_OK);
  for (int s = 1; s < steps; s++) {
    for (size_t i = 0; i < N; i++)
      dp[i] = (float)sin(0.37 * (double)i + 1.3 * (double)s);
    ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
    for (size_t i = 0; i < N; i++) {
      double want = (double)traj[s][i];
      ck_assert_msg(fabs((double)p[i] - want) <= 1e-6 * fabs(want) + 1e-8,
                    "%s step %d element %zu: %.9g, torch %.9g", preset, s, i,
                    (double)p[i], want);
    }
  }
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

/* ---- torch.optim's defaults: the torch-* presets (genome.h) ------------- */

static const char *torch_presets_path;

/* tests/ref/torch_presets.py's generator, splitmix64 (Steele, Lea, Flood
 * 2014), and its draw (k - 2^23) / 2^23 from the top 24 bits k: exact in
 * float, so both sides use the very same numbers. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double unit_draw(uint64_t *x) {
  return (double)((int64_t)(splitmix64(x) >> 40) - ((int64_t)1 << 23)) /
         8388608.0;
}

#define TORCH_N 37
#define TORCH_STEPS 50
#define TORCH_MAX_ROWS 64
static const char *const torch_presets[] = {
    "torch-sgd",  "torch-sgd-momentum", "torch-sgd-nesterov",
    "torch-adam", "torch-adamw",        "torch-rmsprop"};
#define N_TORCH_PRESETS 6

/* Each torch-* preset against torch.optim's update with its defaults on
 * the same float32 gradients, 50 steps, at every recorded step: within
 * 1e-6 relative to the element's size, the largest |p| it has had so far.
 * (Both sides round to float in their own order and with their own
 * constants: torch's addcdiv computes (lr·g)/d where the kernel computes
 * lr·(g/d); SGD's lr·b is η·m here with η = 0.01f, 1 - β1 = 0.1f, each a
 * few 1e-8 off. Relative to the distance travelled that is far below
 * 1e-6; an element that ends near zero after large steps carries it as
 * an absolute error, not one relative to its last value.) */
START_TEST(test_torch_presets) {
  const char *preset = torch_presets[_i];
  if (torch_presets_path == NULL)
    ck_abort_msg("no torch_presets.txt given on the command line");
  int steps[TORCH_MAX_ROWS];
  static float rows[TORCH_MAX_ROWS][TORCH_N];
  int n_rows = read_rows(torch_presets_path, preset, TORCH_N, steps,
                         &rows[0][0], TORCH_N, TORCH_MAX_ROWS);
  ck_assert_msg(n_rows >= 10 && steps[0] == 0 &&
                    steps[n_rows - 1] == TORCH_STEPS,
                "%s: %d rows in %s", preset, n_rows, torch_presets_path);
  evo_genome *g;
  evo_optimizer *opt;
  float p[TORCH_N], dp[TORCH_N];
  double size[TORCH_N]; /* max |p| so far */
  uint64_t x = UINT64_C(0x5EED2024);
  for (size_t i = 0; i < TORCH_N; i++) {
    p[i] = (float)(0.5 * unit_draw(&x));
    ck_assert_msg(p[i] == rows[0][i], "%s: initial p[%zu] differs", preset, i);
    size[i] = fabs((double)p[i]);
  }
  ck_assert_int_eq(evo_genome_preset(&g, preset), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, dp, TORCH_N), EVO_OK);
  int row = 1;
  double worst = 0;
  for (int s = 1; s <= TORCH_STEPS; s++) {
    for (size_t i = 0; i < TORCH_N; i++)
      dp[i] = (float)ldexp(unit_draw(&x), s % 5 - 2);
    ck_assert_int_eq(evo_optimizer_step(opt), EVO_OK);
    for (size_t i = 0; i < TORCH_N; i++)
      size[i] = fmax(size[i], fabs((double)p[i]));
    if (row == n_rows || steps[row] != s)
      continue;
    for (size_t i = 0; i < TORCH_N; i++) {
      double want = (double)rows[row][i];
      double rel = fabs((double)p[i] - want) / size[i];
      ck_assert_msg(rel <= 1e-6,
                    "%s step %d element %zu: %.9g, torch %.9g (largest |p| "
                    "so far %.9g)",
                    preset, s, i, (double)p[i], want, size[i]);
      worst = fmax(worst, rel);
    }
    row++;
  }
  ck_assert_int_eq(row, n_rows);
  printf("%s: worst relative difference to torch %.2g\n", preset, worst);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

static Suite *optimizer_suite(void) {
  Suite *s = suite_create("optimizer");
  TCase *c = tcase_create("core");
  tcase_add_loop_test(c, test_term_kinds, 0, EVO_TERM_COUNT);
  tcase_add_test(c, test_term_mixes);
  tcase_add_test(c, test_nonfinite_through_formulas);
  tcase_add_test(c, test_schedule_values);
  tcase_add_test(c, test_per_tensor_options);
  tcase_add_test(c, test_rebind);
  tcase_add_test(c, test_refuse_nonfinite);
  tcase_add_test(c, test_save_load_continue);
  tcase_add_test(c, test_save_load_file);
  tcase_add_test(c, test_state_size_follows_moments);
  tcase_add_test(c, test_load_mismatch);
  tcase_add_test(c, test_load_damaged);
  tcase_add_test(c, test_load_file_mismatch);
  tcase_add_test(c, test_load_gzip_bomb);
  tcase_add_test(c, test_arguments);
  tcase_add_loop_test(c, test_torch_reference, 0, 2);
  suite_add_tcase(s, c);
  /* Issue 13, part 2: frameworks as they are. */
  TCase *f = tcase_create("frameworks");
  tcase_set_timeout(f, 60);
  tcase_add_test(f, test_grads_given);
  tcase_add_test(f, test_step_tensor_matches_step);
  tcase_add_test(f, test_step_tensor_rounds);
  tcase_add_test(f, test_grad_scale);
  tcase_add_test(f, test_frozen);
  tcase_add_test(f, test_clone);
  tcase_add_test(f, test_state_round_and_options);
  tcase_add_test(f, test_state_version_1);
  tcase_add_test(f, test_messages_name_the_call);
  tcase_add_loop_test(f, test_torch_presets, 0, N_TORCH_PRESETS);
  suite_add_tcase(s, f);
  /* Larger tensors (sizes around the split threshold), more time under
   * ASan; a hang ends in the timeout. */
  TCase *t = tcase_create("threads");
  tcase_set_timeout(t, 60);
  tcase_add_loop_test(t, test_threads_identical, 0, N_THREAD_GENOMES);
  tcase_add_test(t, test_thread_slices);
  tcase_add_test(t, test_threads_refuse);
  tcase_add_test(t, test_thread_option);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv) {
  reference_path = argc > 1 ? argv[1] : NULL;
  torch_presets_path = argc > 2 ? argv[2] : NULL;
  SRunner *r = srunner_create(optimizer_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

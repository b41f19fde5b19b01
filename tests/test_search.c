/* Search methods beyond the paper's genetic algorithm (population.h,
 * doc/algorithm.md §9): multi-fidelity evaluation (rungs, promotion by
 * successive halving), random search and the compute budget, with a cheap
 * synthetic fitness that depends on the genome and the rung.
 *
 * Every expected value is computed here, independently of the library:
 * promoted sets by re-ranking what the fitness callback returned,
 * evaluation counts from ceil(n/η), costs and stopping points by summing
 * the callback's costs in evaluation order, the random genomes'
 * distributions from doc/algorithm.md §4.2 (chi-square, Kolmogorov–Smirnov
 * and binomial tests). Runs are compared bit for bit with pop_testlib's
 * pt_assert_same_run and, at the end, byte for byte through their
 * checkpoints. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/io_internal.h"
#include "evoopt/population.h"
#include "evolve/population_internal.h"
#include "pop_testlib.h"

#define MAX_RUNGS 8

/* ---- genomes ------------------------------------------------------------ */

static double u01(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

/* ---- synthetic fitness -------------------------------------------------- */

/* A smooth function of the genes (best near lr 10^-2.5, β1 0.85 and a few
 * sign/adam terms) clamped into [0, 0.9], plus noise of up to 0.1 drawn
 * from (genome, rung), so that the order of genomes changes from one rung
 * to the next, plus a trace of the seed. */
static double model_fitness(const evo_genome *g, uint64_t h, uint64_t seed,
                            uint32_t rung, int coarse) {
  double lr = pt_gene(g, EVO_GENE_LR_LOG10), b1 = pt_gene(g, EVO_GENE_BETA1);
  double s = 0.0;
  for (size_t i = 0; i < evo_genome_term_count(g); i++) {
    evo_term t;
    double a;
    PT_REQUIRE(evo_genome_get_term(g, i, &t, &a) == EVO_OK);
    s += a * (t == EVO_TERM_SIGN || t == EVO_TERM_ADAM ? 1.0 : -0.3);
  }
  double f = 0.9 - 0.05 * (lr + 2.5) * (lr + 2.5) -
             0.3 * (b1 - 0.85) * (b1 - 0.85) - 0.02 * (s - 2.0) * (s - 2.0);
  f = f < 0.0 ? 0.0 : f > 0.9 ? 0.9 : f;
  if (coarse && rung == 0) /* many equal values: ties go to the lower index */
    return floor(f * 5.0) / 5.0;
  f += 0.1 * u01(pt_mix64(h ^ (UINT64_C(0x9e3779b97f4a7c15) * (rung + 1))));
  return f + 1e-4 * (double)(seed % 1000) / 1000.0;
}

/* One call of the fitness callback, as it saw it. */
typedef struct call_rec {
  evo_genome g;
  uint64_t seed;
  uint32_t rung;
  double f;
  int failed;
} call_rec;

#define MAX_LOG 20000

typedef struct fit_ctx {
  uint64_t fail_mod;  /* fail at rung 0 when hash % fail_mod == 0 (0: none) */
  uint32_t fail_at;   /* ... and every genome fails at this rung (0: none) */
  int jitter;         /* sleep a genome-dependent few microseconds */
  int coarse;         /* rung 0 rounded to 0.2 steps (ties) */
  int constant;       /* fitness 0.5 for every genome */
  double cost;        /* cost at rung r: cost·(r + 1) core-seconds */
  double scale;       /* fitness = scale·model + shift (0: scale 1) */
  double shift;
  int only_rung0;     /* the callback must only see rung 0 */
  pthread_mutex_t mu; /* guards what follows */
  size_t calls[MAX_RUNGS];
  call_rec *log; /* every call in order when not NULL (MAX_LOG) */
  size_t n_log;
} fit_ctx;

static void fit_init(fit_ctx *f) {
  memset(f, 0, sizeof *f);
  ck_assert_int_eq(pthread_mutex_init(&f->mu, NULL), 0);
}

static void fit_log(fit_ctx *f) {
  f->log = calloc(MAX_LOG, sizeof *f->log);
  ck_assert_ptr_nonnull(f->log);
}

static void fit_done(fit_ctx *f) {
  free(f->log);
  pthread_mutex_destroy(&f->mu);
}

static size_t fit_total_calls(fit_ctx *f) {
  pthread_mutex_lock(&f->mu);
  size_t n = 0;
  for (int r = 0; r < MAX_RUNGS; r++)
    n += f->calls[r];
  pthread_mutex_unlock(&f->mu);
  return n;
}

/* The fitness a genome gets at a rung (what fitness_rung_cb reports when
 * it does not fail). */
static double fit_value(const fit_ctx *ctx, const evo_genome *g, uint64_t h,
                        uint64_t seed, uint32_t rung) {
  if (ctx->constant)
    return 0.5;
  double scale = ctx->scale != 0.0 ? ctx->scale : 1.0;
  return scale * model_fitness(g, h, seed, rung, ctx->coarse) + ctx->shift;
}

static int fitness_rung_cb(void *user, const evo_genome *g, uint64_t seed,
                           uint32_t rung, evo_report *report) {
  fit_ctx *ctx = user;
  uint64_t h = pt_genome_hash(g, 0);
  double f = fit_value(ctx, g, h, seed, rung);
  int fail = (ctx->fail_mod != 0 && rung == 0 && h % ctx->fail_mod == 0) ||
             (ctx->fail_at != 0 && rung == ctx->fail_at);
  if (ctx->jitter) {
    struct timespec ts = {0, (long)(1000 * (h % 300))};
    nanosleep(&ts, NULL);
  }
  PT_REQUIRE(rung < MAX_RUNGS);
  if (ctx->only_rung0)
    PT_REQUIRE(rung == 0);
  pthread_mutex_lock(&ctx->mu);
  ctx->calls[rung]++;
  if (ctx->log != NULL) {
    PT_REQUIRE(ctx->n_log < MAX_LOG);
    ctx->log[ctx->n_log++] = (call_rec){*g, seed, rung, f, fail};
  }
  pthread_mutex_unlock(&ctx->mu);
  if (ctx->cost > 0.0)
    PT_REQUIRE(
        evo_report_set_cost(report, ctx->cost * (double)(rung + 1)) == EVO_OK);
  if (fail) { /* a library call that fails */
    evo_genome *none = NULL;
    return evo_genome_preset(&none, "synthetic-failure");
  }
  PT_REQUIRE(evo_report_add_task(report, "a", f) == EVO_OK);
  return evo_report_set_fitness(report, f);
}

static int fitness_plain_cb(void *user, const evo_genome *g, uint64_t seed,
                            evo_report *report) {
  return fitness_rung_cb(user, g, seed, 0, report);
}

/* ---- runs --------------------------------------------------------------- */

typedef struct cfg {
  int64_t size, generations, elites, tournament, workers, fresh, cache;
  int64_t algorithm, rungs, promote, budget;
  uint64_t seed;
  int plain; /* evo_population_set_fitness (no rung) instead */
} cfg;

/* Multi-fidelity search on 12 genomes: 12, 4 and 2 evaluations a
 * generation (ceil(12/3) = 4, ceil(4/3) = 2). */
static const cfg mf_cfg = {.size = 12, .generations = 4, .elites = 2,
                           .tournament = 3, .workers = 1, .fresh = 0,
                           .cache = 0, .algorithm = EVO_ALGO_GA,
                           .rungs = 3, .promote = 3, .budget = 0,
                           .seed = 11, .plain = 0};

static evo_population *make_pop(const cfg *c, fit_ctx *fit) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  pt_set_ok(pop, EVO_POP_SIZE, c->size);
  pt_set_ok(pop, EVO_POP_GENERATIONS, c->generations);
  pt_set_ok(pop, EVO_POP_ELITES, c->elites);
  pt_set_ok(pop, EVO_POP_TOURNAMENT, c->tournament);
  pt_set_ok(pop, EVO_POP_WORKERS, c->workers);
  pt_set_ok(pop, EVO_POP_FRESH_SEEDS, c->fresh);
  pt_set_ok(pop, EVO_POP_CACHE, c->cache);
  pt_set_ok(pop, EVO_POP_HALL_OF_FAME, 1000);
  pt_set_ok(pop, EVO_POP_RUN_SEED, (int64_t)c->seed);
  pt_set_ok(pop, EVO_POP_ALGORITHM, c->algorithm);
  pt_set_ok(pop, EVO_POP_RUNGS, c->rungs);
  pt_set_ok(pop, EVO_POP_PROMOTE, c->promote);
  pt_set_ok(pop, EVO_POP_BUDGET, c->budget);
  if (c->plain)
    ck_assert_int_eq(evo_population_set_fitness(pop, fitness_plain_cb, fit),
                     EVO_OK);
  else
    ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_rung_cb,
                                                     fit),
                     EVO_OK);
  return pop;
}

static evo_population *full_run(const cfg *c, fit_ctx *fit,
                                 const char *ckpt) {
  evo_population *pop = make_pop(c, fit);
  if (ckpt != NULL)
    ck_assert_int_eq(evo_population_set_checkpoint(pop, ckpt, "search"),
                     EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

/* ---- progress: cancels -------------------------------------------------- */

typedef struct prog_ctx {
  size_t evals, gens;        /* events seen */
  size_t cancel_after_evals; /* stop at this evaluation event (0: never) */
  size_t cancel_at_gen;      /* stop at this generation event (0: never) */
  uint32_t cancel_rung;      /* stop at the first evaluation at this rung */
  size_t cancel_rung_gen;    /* ... of this generation (rung 0: never) */
  size_t stopped_index;      /* the index of the stopping event */
} prog_ctx;

static int progress_cb(void *user, evo_event event, const evo_population *pop,
                       size_t generation, size_t index) {
  prog_ctx *p = user;
  PT_REQUIRE(generation == evo_population_generation(pop));
  if (event == EVO_EVENT_GENERATION) {
    p->gens++;
    return p->cancel_at_gen != 0 && p->gens == p->cancel_at_gen;
  }
  p->evals++;
  uint32_t rung;
  PT_REQUIRE(evo_population_individual_rung(pop, index, &rung) == EVO_OK);
  if ((p->cancel_after_evals != 0 && p->evals == p->cancel_after_evals) ||
      (p->cancel_rung != 0 && rung == p->cancel_rung &&
       generation == p->cancel_rung_gen)) {
    p->stopped_index = index;
    p->cancel_rung = 0;
    return 1;
  }
  return 0;
}

/* What a resumed run gets: the rung callback on fit and a progress
 * callback that cancels every `again` evaluations. */
typedef struct reattach {
  fit_ctx *fit;
  size_t again;
  prog_ctx q;
} reattach;

static void reattach_cb(evo_population *pop, void *user) {
  reattach *r = user;
  ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_rung_cb,
                                                   r->fit),
                   EVO_OK);
  r->q = (prog_ctx){.cancel_after_evals = r->again};
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &r->q),
                   EVO_OK);
}

/* Runs @p c with a checkpoint, stopped at evaluation event @p evals or
 * generation event @p gen_event, then resumes (stopping every @p again
 * evaluations when not 0) until finished; the run must equal @p ref and
 * its last checkpoint @p ref_ckpt byte for byte. */
static void cancel_and_resume(const cfg *c, const evo_population *ref,
                              const char *ref_ckpt, size_t evals,
                              size_t gen_event, size_t again) {
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 7;
  fit.cost = 1.5;
  fit.jitter = c->workers > 1;
  pt_tmp t;
  pt_tmp_make_shm(&t);
  prog_ctx p = {.cancel_after_evals = evals, .cancel_at_gen = gen_event};
  evo_population *pop = make_pop(c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "search"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_ECANCELED);
  evo_population_free(pop);
  reattach r = {.fit = &fit, .again = again};
  pop = pt_resume_until_done(t.file, "search", reattach_cb, &r);
  pt_assert_same_end(ref, pop, ref_ckpt, t.file, false, 0);
  evo_population_free(pop);
  pt_tmp_remove(&t);
  fit_done(&fit);
}

/* ---- 1. one rung is the paper's algorithm ------------------------------- */

START_TEST(test_one_rung_is_paper) {
  /* The old way: only the paper's settings and evo_population_set_fitness;
   * against RUNGS = 1 set explicitly, with the rung callback (which must
   * only ever see rung 0) and with the plain one, and with η changed
   * (unused with one rung). */
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 6;
  fit.only_rung0 = 1;
  evo_population *old = NULL;
  ck_assert_int_eq(evo_population_new(&old), EVO_OK);
  pt_set_ok(old, EVO_POP_SIZE, 16);
  pt_set_ok(old, EVO_POP_GENERATIONS, 5);
  pt_set_ok(old, EVO_POP_ELITES, 2);
  pt_set_ok(old, EVO_POP_TOURNAMENT, 3);
  pt_set_ok(old, EVO_POP_RUN_SEED, 5);
  pt_set_ok(old, EVO_POP_HALL_OF_FAME, 1000);
  ck_assert_int_eq(evo_population_set_fitness(old, fitness_plain_cb, &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(old), EVO_OK);
  ck_assert_uint_eq(fit_total_calls(&fit), 16 * 5);
  cfg c = {.size = 16, .generations = 5, .elites = 2, .tournament = 3,
           .workers = 1, .algorithm = EVO_ALGO_GA, .rungs = 1,
           .promote = 3, .seed = 5};
  for (int variant = 0; variant < 4; variant++) {
    c.plain = variant == 1;
    c.promote = variant == 2 ? 2 : 3;
    c.workers = variant == 3 ? 3 : 1;
    evo_population *pop = full_run(&c, &fit, NULL);
    pt_assert_same_run(old, pop, true);
    evo_population_free(pop);
  }
  /* the rung callback through a back end made for rungs, too */
  evo_backend *be = NULL;
  ck_assert_int_eq(evo_backend_threads_new_rung(&be, fitness_rung_cb, &fit,
                                                2),
                   EVO_OK);
  ck_assert_int_eq(evo_backend_has_rungs(be), 1);
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  pt_assert_same_run(old, pop, true);
  evo_population_free(pop);
  evo_backend_free(be);
  /* every individual sits at rung 0 */
  for (size_t i = 0; i < 16; i++) {
    uint32_t rung = 99;
    ck_assert_int_eq(evo_population_individual_rung(old, i, &rung), EVO_OK);
    ck_assert_uint_eq(rung, 0);
  }
  evo_population_free(old);
  fit_done(&fit);
}
END_TEST

/* ---- 2. promotion ------------------------------------------------------- */

#define PN 20
#define MAX_FULL 4096

/* What one generation's callback calls gave, per rung and index, paired
 * with the evaluation events (one worker, no cache: exactly one call
 * before each event, for that individual). */
typedef struct promo_ctx {
  fit_ctx *fit;
  size_t eta, rungs, elites;
  size_t paired; /* log entries paired with an event so far */
  int done[MAX_RUNGS][PN], failed[MAX_RUNGS][PN];
  double f[MAX_RUNGS][PN];
  size_t calls_before[MAX_RUNGS]; /* the callback's counts at the start */
  size_t calls_total;             /* every call so far */
  size_t failures, reorders, gens;
  evo_genome elite[PN]; /* the genomes the next generation must open with */
  size_t n_elite;
  /* every successful full (rung R-1) evaluation of the run, in the order
   * the hall of fame sees them: generation, then index */
  evo_genome full_g[MAX_FULL];
  double full_f[MAX_FULL];
  size_t full_gen[MAX_FULL], n_full;
} promo_ctx;

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Sorts @p idx (n indices) by value[idx] descending, index ascending. */
static void sort_desc(size_t *idx, size_t n, const double *value) {
  for (size_t i = 1; i < n; i++) /* insertion sort: stable */
    for (size_t j = i; j > 0 && value[idx[j]] > value[idx[j - 1]]; j--) {
      size_t t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
}

static void promo_evaluation(promo_ctx *p, const evo_population *pop,
                             size_t index) {
  fit_ctx *fit = p->fit;
  ck_assert_uint_eq(fit->n_log, p->paired + 1);
  const call_rec *e = &fit->log[p->paired++];
  const evo_genome *g;
  double f;
  uint32_t rung = 99;
  ck_assert_int_eq(evo_population_individual(pop, index, &g, &f), EVO_OK);
  ck_assert(evo_genome_equal(g, &e->g));
  ck_assert_int_eq(evo_population_individual_rung(pop, index, &rung), EVO_OK);
  ck_assert_uint_eq(rung, e->rung);
  ck_assert(!p->done[rung][index]);
  ck_assert(rung == 0 || p->done[rung - 1][index]);
  p->done[rung][index] = 1;
  p->failed[rung][index] = e->failed;
  p->f[rung][index] = e->failed ? -1.0 : e->f;
  ck_assert(pt_same_bits(f, p->f[rung][index]));
}

/* The individuals the test expects at rung r + 1: the best
 * ceil(n_r/η) successes of rung r. */
static size_t expected_promoted(const promo_ctx *p, size_t r, int *out) {
  size_t idx[PN], m = 0, n = 0;
  for (size_t i = 0; i < PN; i++) {
    n += (size_t)p->done[r][i];
    if (p->done[r][i] && !p->failed[r][i])
      idx[m++] = i;
  }
  sort_desc(idx, m, p->f[r]);
  size_t k = ceil_div(n, p->eta);
  memset(out, 0, PN * sizeof *out);
  for (size_t j = 0; j < k && j < m; j++)
    out[idx[j]] = 1;
  return k < m ? k : m;
}

static void promo_generation(promo_ctx *p, const evo_population *pop,
                             size_t gen) {
  size_t R = p->rungs;
  /* counts: 20 at rung 0, then ceil(n/η) of the n of the rung before
   * (enough successes here: checked) */
  size_t want = PN;
  for (size_t r = 0; r < R; r++) {
    size_t n = 0;
    for (size_t i = 0; i < PN; i++)
      n += (size_t)p->done[r][i];
    ck_assert_msg(n == want, "generation %zu rung %zu: %zu evaluations, "
                  "expected %zu", gen, r, n, want);
    ck_assert_uint_eq(p->fit->calls[r] - p->calls_before[r], want);
    if (r + 1 < R) {
      int exp[PN];
      ck_assert_uint_eq(expected_promoted(p, r, exp), ceil_div(want, p->eta));
      for (size_t i = 0; i < PN; i++)
        ck_assert_msg(exp[i] == p->done[r + 1][i],
                      "generation %zu: individual %zu %s to rung %zu", gen, i,
                      exp[i] ? "not promoted" : "wrongly promoted", r + 1);
    }
    want = ceil_div(want, p->eta);
  }
  /* did the noise change the order? (pairs of genomes evaluated at two
   * rungs in a row whose order differs) */
  for (size_t r = 1; r < R; r++)
    for (size_t i = 0; i < PN; i++)
      for (size_t j = i + 1; j < PN; j++)
        if (p->done[r][i] && p->done[r][j] && !p->failed[r][i] &&
            !p->failed[r][j])
          p->reorders += (size_t)((p->f[r][i] > p->f[r][j]) !=
                                  (p->f[r - 1][i] > p->f[r - 1][j]));
  /* rungs reached, and the selection order: higher rung first, then
   * fitness there, then index */
  double reached[PN], fit_at[PN], key[PN];
  size_t order[PN];
  size_t failed = 0;
  for (size_t i = 0; i < PN; i++) {
    size_t top = 0;
    for (size_t r = 0; r < R; r++)
      if (p->done[r][i])
        top = r;
    uint32_t rung = 99;
    ck_assert_int_eq(evo_population_individual_rung(pop, i, &rung), EVO_OK);
    ck_assert_uint_eq(rung, top);
    reached[i] = (double)top;
    fit_at[i] = p->f[top][i];
    failed += (size_t)p->failed[top][i];
    p->failures += (size_t)p->failed[0][i];
    order[i] = i;
  }
  /* stable two-key sort: by fitness, then (stably) by rung */
  sort_desc(order, PN, fit_at);
  for (size_t i = 0; i < PN; i++)
    key[i] = reached[i];
  sort_desc(order, PN, key);
  double best, median, worst, failed_h, evals_h, compute_h;
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_BEST, &best), 0);
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_MEDIAN, &median),
                   0);
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_WORST, &worst),
                   0);
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_FAILED,
                                          &failed_h),
                   0);
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_EVALUATIONS,
                                          &evals_h),
                   0);
  ck_assert_int_eq(evo_population_history(pop, gen, EVO_HIST_COMPUTE,
                                          &compute_h),
                   0);
  /* BEST: the best full evaluation (every full evaluation succeeded) */
  double best_full = -INFINITY;
  for (size_t i = 0; i < PN; i++) {
    ck_assert(!p->done[R - 1][i] || !p->failed[R - 1][i]);
    if (p->done[R - 1][i] && p->f[R - 1][i] > best_full)
      best_full = p->f[R - 1][i];
  }
  ck_assert(pt_same_bits(best, best_full));
  ck_assert(pt_same_bits(best, fit_at[order[0]]));
  ck_assert(pt_same_bits(worst, fit_at[order[PN - 1]]));
  ck_assert(pt_same_bits(median, 0.5 * (fit_at[order[PN / 2 - 1]] +
                                        fit_at[order[PN / 2]])));
  ck_assert(pt_same_bits(failed_h, (double)failed));
  p->calls_total = p->fit->n_log;
  ck_assert(pt_same_bits(evals_h, (double)p->calls_total));
  ck_assert(pt_same_bits(compute_h, 0.0));
  /* the elites of the next generation, in this order */
  p->n_elite = p->elites;
  for (size_t j = 0; j < p->elites; j++) {
    const evo_genome *g;
    ck_assert_int_eq(evo_population_individual(pop, order[j], &g, NULL), 0);
    p->elite[j] = *g;
  }
  /* the full evaluations, for the hall of fame */
  for (size_t i = 0; i < PN; i++)
    if (p->done[R - 1][i] && !p->failed[R - 1][i]) {
      const evo_genome *g;
      ck_assert_uint_lt(p->n_full, MAX_FULL);
      ck_assert_int_eq(evo_population_individual(pop, i, &g, NULL), 0);
      p->full_g[p->n_full] = *g;
      p->full_f[p->n_full] = p->f[R - 1][i];
      p->full_gen[p->n_full++] = gen;
    }
  memset(p->done, 0, sizeof p->done);
  memset(p->failed, 0, sizeof p->failed);
  for (size_t r = 0; r < MAX_RUNGS; r++)
    p->calls_before[r] = p->fit->calls[r];
  p->gens++;
}

static int promo_progress(void *user, evo_event event,
                          const evo_population *pop, size_t generation,
                          size_t index) {
  promo_ctx *p = user;
  if (event == EVO_EVENT_EVALUATION) {
    if (index == 0 && p->n_elite > 0) { /* the first event of a generation */
      for (size_t j = 0; j < p->n_elite; j++) {
        const evo_genome *g;
        ck_assert_int_eq(evo_population_individual(pop, j, &g, NULL), 0);
        ck_assert_msg(evo_genome_equal(g, &p->elite[j]),
                      "generation %zu: elite %zu is not the genome ranked "
                      "%zu",
                      generation, j, j);
      }
      p->n_elite = 0;
    }
    promo_evaluation(p, pop, index);
  } else {
    promo_generation(p, pop, generation);
  }
  return 0;
}

/* The hall of fame the test expects: the distinct genomes of the full
 * evaluations, best first, equal fitness in the order first seen, each
 * with its best fitness and first generation. */
static void check_hof(const promo_ctx *p, const evo_population *pop) {
  static size_t first[MAX_FULL];
  static double best[MAX_FULL];
  size_t n = 0;
  for (size_t k = 0; k < p->n_full; k++) {
    size_t j;
    for (j = 0; j < n; j++)
      if (evo_genome_equal(&p->full_g[first[j]], &p->full_g[k]))
        break;
    if (j == n) {
      first[n] = k;
      best[n++] = p->full_f[k];
    } else if (p->full_f[k] > best[j]) {
      best[j] = p->full_f[k];
    }
  }
  size_t idx[MAX_FULL];
  for (size_t j = 0; j < n; j++)
    idx[j] = j;
  sort_desc(idx, n, best);
  ck_assert_uint_eq(evo_population_hof_count(pop), n);
  for (size_t r = 0; r < n; r++) {
    const evo_genome *g;
    double f;
    size_t gen;
    ck_assert_int_eq(evo_population_hof(pop, r, &g, &f, &gen), EVO_OK);
    ck_assert(evo_genome_equal(g, &p->full_g[first[idx[r]]]));
    ck_assert(pt_same_bits(f, best[idx[r]]));
    ck_assert_uint_eq(gen, p->full_gen[first[idx[r]]]);
  }
}

static void promotion_case(size_t eta, size_t rungs, int coarse,
                           uint64_t fail_mod) {
  fit_ctx fit;
  fit_init(&fit);
  fit_log(&fit);
  fit.fail_mod = fail_mod;
  fit.coarse = coarse;
  static promo_ctx p;
  memset(&p, 0, sizeof p);
  p.fit = &fit;
  p.eta = eta;
  p.rungs = rungs;
  p.elites = 2;
  cfg c = {.size = PN, .generations = 6, .elites = 2, .tournament = 3,
           .workers = 1, .algorithm = EVO_ALGO_GA, .rungs = (int64_t)rungs,
           .promote = (int64_t)eta, .seed = 23};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_progress(pop, promo_progress, &p),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(p.gens, 6);
  ck_assert_uint_eq(p.paired, fit.n_log);
  if (fail_mod != 0)
    ck_assert_uint_gt(p.failures, 0); /* failures were there to skip */
  if (!coarse)
    ck_assert_uint_gt(p.reorders, 0); /* the rungs did disagree */
  check_hof(&p, pop);
  /* the hall holds rung R-1 fitness, which differs from rung 0's */
  const evo_genome *g;
  double f;
  ck_assert_int_eq(evo_population_hof(pop, 0, &g, &f, NULL), EVO_OK);
  ck_assert(
      !pt_same_bits(f, fit_value(&fit, g, pt_genome_hash(g, 0), 0, 0)));
  evo_population_free(pop);
  fit_done(&fit);
}

START_TEST(test_promotion_exact) {
  /* η = 3, R = 3 on 20: 20, 7, 3 a generation; failures at rung 0 */
  promotion_case(3, 3, 0, 5);
  /* η = 2, R = 4: 20, 10, 5, 3 */
  promotion_case(2, 4, 0, 4);
  /* η = 4, R = 2 without failures: 20, 5 */
  promotion_case(4, 2, 0, 0);
  /* many ties at rung 0: the lower index goes on */
  promotion_case(3, 3, 1, 9);
}
END_TEST

START_TEST(test_rungs_rank_any_fitness) {
  /* A higher rung ranks above a lower one whatever the fitness values
   * (population.h: "ranks a genome that reached a higher rung above every
   * genome that did not"), also far outside [-1, 1]. */
  fit_ctx fit;
  fit_init(&fit);
  fit_log(&fit);
  fit.scale = 1000.0;
  fit.shift = -500.0;
  static promo_ctx p;
  memset(&p, 0, sizeof p);
  p.fit = &fit;
  p.eta = 3;
  p.rungs = 3;
  p.elites = 4;
  cfg c = {.size = PN, .generations = 4, .elites = 4, .tournament = 3,
           .workers = 1, .algorithm = EVO_ALGO_GA, .rungs = 3, .promote = 3,
           .seed = 29};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_progress(pop, promo_progress, &p),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(p.gens, 4);
  check_hof(&p, pop);
  evo_population_free(pop);
  fit_done(&fit);
}
END_TEST

START_TEST(test_failure_at_top_ranks_last) {
  /* Every genome that reaches rung 2 fails there: those results rank below
   * every sound one (doc/algorithm.md §9.2), so the generation's best is
   * the best rung-1 result among the genomes not promoted further, computed
   * here from the callback's log. */
  fit_ctx fit;
  fit_init(&fit);
  fit_log(&fit);
  fit.fail_at = 2;
  cfg c = mf_cfg;
  c.generations = 1;
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  double want = -INFINITY;
  for (size_t i = 0; i < fit.n_log; i++) {
    const call_rec *a = &fit.log[i];
    if (a->rung != 1)
      continue;
    int promoted = 0;
    for (size_t j = 0; j < fit.n_log; j++)
      promoted |= fit.log[j].rung == 2 &&
                  evo_genome_equal(&fit.log[j].g, &a->g) &&
                  fit.log[j].seed == a->seed;
    if (!promoted && a->f > want)
      want = a->f;
  }
  ck_assert_uint_eq(fit.calls[2], 2); /* ceil(ceil(12/3)/3) */
  ck_assert(isfinite(want));
  double best = 0.0;
  ck_assert_int_eq(evo_population_history(pop, 0, EVO_HIST_BEST, &best),
                   EVO_OK);
  ck_assert(pt_same_bits(best, want));
  ck_assert_uint_eq(evo_population_hof_count(pop), 0); /* no full result */
  evo_population_free(pop);
  fit_done(&fit);
}
END_TEST

/* ---- 3. identity: workers, cache, cancel and resume --------------------- */

static void workers_identical(const cfg *base, fit_ctx *fit) {
  pt_tmp t1, t2;
  pt_tmp_make_shm(&t1);
  pt_tmp_make_shm(&t2);
  size_t before = fit_total_calls(fit);
  evo_population *ref = full_run(base, fit, t1.file);
  size_t calls = fit_total_calls(fit) - before;
  for (int64_t w = 2; w <= 4; w += 2) {
    cfg c = *base;
    c.workers = w;
    evo_population *pop = full_run(&c, fit, t2.file);
    pt_assert_same_end(ref, pop, t1.file, t2.file, false, 0);
    evo_population_free(pop);
  }
  ck_assert_uint_eq(fit_total_calls(fit) - before, 3 * calls);
  if (base->cache != 0) {
    double hits = 0.0, h;
    for (size_t g = 0; g < evo_population_history_count(ref); g++) {
      ck_assert_int_eq(evo_population_history(ref, g, EVO_HIST_CACHE_HITS,
                                              &h),
                       EVO_OK);
      hits += h;
    }
    ck_assert(hits > 0.0); /* the cache did serve */
  }
  evo_population_free(ref);
  pt_tmp_remove(&t1);
  pt_tmp_remove(&t2);
}

START_TEST(test_workers_identical) {
  fit_ctx fit;
  fit_init(&fit);
  fit.jitter = 1;
  fit.fail_mod = 7;
  fit.cost = 1.5;
  cfg c = {.size = 16, .generations = 4, .elites = 2, .tournament = 3,
           .workers = 1, .fresh = 1, .algorithm = EVO_ALGO_GA, .rungs = 3,
           .promote = 3, .seed = 31};
  workers_identical(&c, &fit); /* multi-fidelity, fresh seeds */
  c.fresh = 0;
  c.cache = 2;
  workers_identical(&c, &fit); /* multi-fidelity with the cache */
  c.cache = 0;
  c.algorithm = EVO_ALGO_RANDOM;
  workers_identical(&c, &fit); /* random search, with rungs */
  c.rungs = 1;
  c.fresh = 1;
  workers_identical(&c, &fit); /* random search, full evaluations */
  fit_done(&fit);
}
END_TEST

static void resume_identity(const cfg *c, const size_t *points, size_t n) {
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 7;
  fit.cost = 1.5;
  pt_tmp t;
  pt_tmp_make_shm(&t);
  evo_population *ref = full_run(c, &fit, t.file);
  size_t total = fit_total_calls(&fit);
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_le(points[i], total);
    cancel_and_resume(c, ref, t.file, points[i], 0, 0);
  }
  for (size_t g = 1; g <= (size_t)c->generations; g++)
    cancel_and_resume(c, ref, t.file, 0, g, 0);
  cancel_and_resume(c, ref, t.file, 2, 0, 5); /* stopped again and again */
  evo_population_free(ref);
  pt_tmp_remove(&t);
  fit_done(&fit);
}

START_TEST(test_resume_multi_fidelity) {
  /* 12 + 4 + 2 = 18 evaluations a generation (fewer when more than 8 of
   * 12 fail at rung 0, which the seed avoids: checked by the total):
   * every evaluation of generations 0 and 1, the rung boundaries of the
   * later ones, the last one. */
  cfg c = mf_cfg;
  size_t points[48], n = 0;
  for (size_t k = 1; k <= 36; k++)
    points[n++] = k;
  const size_t later[] = {48, 49, 53, 54, 55, 72};
  for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
    points[n++] = later[i];
  resume_identity(&c, points, n);
}
END_TEST

START_TEST(test_resume_multi_fidelity_cache_workers) {
  cfg c = mf_cfg;
  c.cache = 2;
  c.workers = 2;
  const size_t points[] = {1, 11, 12, 13, 16, 17, 18, 19, 30, 40, 60};
  resume_identity(&c, points, sizeof points / sizeof points[0]);
}
END_TEST

START_TEST(test_resume_random_search) {
  cfg c = mf_cfg;
  c.algorithm = EVO_ALGO_RANDOM;
  c.rungs = 1;
  const size_t points[] = {1, 4, 11, 12, 13, 23, 24, 25, 36, 47, 48};
  resume_identity(&c, points, sizeof points / sizeof points[0]);
  c.rungs = 3; /* random search with multi-fidelity evaluation */
  const size_t mf_points[] = {1, 12, 13, 16, 17, 18, 19, 36, 50, 72};
  resume_identity(&c, mf_points, sizeof mf_points / sizeof mf_points[0]);
}
END_TEST

/* ---- 4. the compute budget ---------------------------------------------- */

/* The costs of an unbudgeted run's evaluations in the order one worker
 * makes them, when no evaluation fails: per generation n_0 = size at rung
 * 0, then n_{r+1} = ceil(n_r/η) at rung r + 1, each costing cost·(r + 1).
 * Returns their number; per_gen receives a generation's count. */
static size_t plan_costs(const cfg *c, double cost, double *out, size_t cap,
                         size_t *per_gen) {
  size_t k = 0;
  *per_gen = 0;
  for (int64_t g = 0; g < c->generations; g++) {
    size_t n = (size_t)c->size;
    for (int64_t r = 0; r < c->rungs; r++) {
      for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(k, cap);
        out[k++] = cost * (double)(r + 1);
      }
      if (g == 0)
        *per_gen += n;
      n = ceil_div(n, (size_t)c->promote);
    }
  }
  return k;
}

/* How many evaluations one worker makes under budget @p budget (0:
 * none): up to the first whose cumulative cost reaches it. */
static size_t stop_point(const double *costs, size_t n, int64_t budget,
                         double *spent) {
  double sum = 0.0;
  for (size_t k = 0; k < n; k++) {
    sum += costs[k];
    if (budget > 0 && sum >= (double)budget) {
      *spent = sum;
      return k + 1;
    }
  }
  *spent = sum;
  return n;
}

/* Individuals evaluated in the open generation after @p done of its
 * evaluations: the promoted ones wait again (n_0 - n_p + done - Σ_{q<p}
 * n_q, p the rung being evaluated, which moves on as soon as the rung
 * before is complete). */
static size_t open_evaluated(const cfg *c, size_t done) {
  size_t n[MAX_RUNGS], sum = 0, p = 0;
  n[0] = (size_t)c->size;
  for (int64_t r = 1; r < c->rungs; r++)
    n[r] = ceil_div(n[r - 1], (size_t)c->promote);
  while ((int64_t)p + 1 < c->rungs && sum + n[p] <= done)
    sum += n[p++];
  return n[0] - n[p] + (done - sum);
}

START_TEST(test_budget) {
  /* One worker, 1.5 core-seconds per evaluation at rung 0, 3 at rung 1,
   * 4.5 at rung 2: 12·1.5 + 4·3 + 2·4.5 = 39 a generation of 18
   * evaluations. Budgets in turn: 1 (the first evaluation), 39 (the end
   * of generation 0 exactly), 50 (in rung 0 of generation 1), 57 (the end
   * of its rung 0 exactly), 60 (in its rung 1), 100, then none; each time
   * resumed from the checkpoint with the budget raised. */
  cfg c = mf_cfg;
  static double costs[1000];
  size_t per_gen;
  size_t total = plan_costs(&c, 1.5, costs, 1000, &per_gen);
  ck_assert_uint_eq(per_gen, 18);
  fit_ctx fit;
  fit_init(&fit);
  fit.cost = 1.5;
  evo_population *ref = full_run(&c, &fit, NULL);
  ck_assert_uint_eq(fit_total_calls(&fit), total);
  ck_assert(pt_same_bits(evo_population_compute(ref), 4 * 39.0));
  for (size_t g = 0; g < 4; g++) { /* hand sums: 39 and 18 a generation */
    double v;
    ck_assert_int_eq(evo_population_history(ref, g, EVO_HIST_COMPUTE, &v), 0);
    ck_assert(pt_same_bits(v, 39.0 * (double)(g + 1)));
    ck_assert_int_eq(evo_population_history(ref, g, EVO_HIST_EVALUATIONS, &v),
                     0);
    ck_assert(pt_same_bits(v, 18.0 * (double)(g + 1)));
  }
  fit_done(&fit);

  const int64_t budgets[] = {1, 39, 50, 57, 60, 100, 0};
  pt_tmp t;
  pt_tmp_make_shm(&t);
  fit_init(&fit);
  fit.cost = 1.5;
  evo_population *pop = NULL;
  for (size_t s = 0; s < sizeof budgets / sizeof budgets[0]; s++) {
    if (s == 0) {
      c.budget = budgets[0];
      pop = make_pop(&c, &fit);
      ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "search"),
                       EVO_OK);
    } else {
      ck_assert_int_eq(evo_population_resume(&pop, t.file, "search"), EVO_OK);
      ck_assert_int_eq(evo_population_finished(pop), 1); /* still spent */
      ck_assert_int_eq(evo_population_run(pop), EVO_OK); /* nothing to do */
      ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_rung_cb,
                                                       &fit),
                       EVO_OK);
      pt_set_ok(pop, EVO_POP_BUDGET, budgets[s]); /* allowed after the start */
      ck_assert_int_eq(evo_population_finished(pop), 0);
    }
    ck_assert_int_eq(evo_population_run(pop), EVO_OK);
    ck_assert_int_eq(evo_population_finished(pop), 1);
    double spent;
    size_t k = stop_point(costs, total, budgets[s], &spent);
    ck_assert_msg(fit_total_calls(&fit) == k,
                  "budget %lld: %zu evaluations, expected %zu",
                  (long long)budgets[s], fit_total_calls(&fit), k);
    ck_assert_msg(pt_same_bits(evo_population_compute(pop), spent),
                  "budget %lld: compute %.17g, expected %.17g",
                  (long long)budgets[s], evo_population_compute(pop), spent);
    ck_assert_uint_eq(evo_population_history_count(pop), k / per_gen);
    ck_assert_uint_eq(evo_population_generation(pop), k / per_gen);
    if (k < total) {
      ck_assert_uint_eq(evo_population_evaluated(pop),
                        open_evaluated(&c, k % per_gen));
      ck_assert_uint_eq(pop->evaluations, k);
      ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE);
    }
    for (size_t g = 0; g < evo_population_history_count(pop); g++) {
      double v;
      ck_assert_int_eq(evo_population_history(pop, g, EVO_HIST_COMPUTE, &v),
                       0);
      ck_assert(pt_same_bits(v, 39.0 * (double)(g + 1)));
      ck_assert_int_eq(evo_population_history(pop, g, EVO_HIST_EVALUATIONS,
                                              &v),
                       0);
      ck_assert(pt_same_bits(v, 18.0 * (double)(g + 1)));
    }
    if (s + 1 < sizeof budgets / sizeof budgets[0])
      evo_population_free(pop);
  }
  ck_assert_uint_eq(evo_population_generation(pop), 4);
  pt_assert_same_run(ref, pop, true);
  pt_assert_same_accounting(ref, pop, false);
  evo_population_free(pop);
  evo_population_free(ref);
  pt_tmp_remove(&t);
  fit_done(&fit);
}
END_TEST

START_TEST(test_budget_workers) {
  /* W workers: the evaluation that reaches the budget is the k-th result
   * (every rung-0 evaluation costs the same, so k does not depend on the
   * finishing order); the W - 1 submitted with it are still running and
   * are recorded too, and no further one is submitted. The jobs go out in
   * index order, so individuals 0..k+W-2 of the open generation are the
   * evaluated ones. Budget 50: k = 8 in generation 1 (39 + 8·1.5 ≥ 50). */
  cfg c = mf_cfg;
  fit_ctx fit;
  fit_init(&fit);
  fit.cost = 1.5;
  fit.jitter = 1;
  evo_population *ref = full_run(&c, &fit, NULL);
  for (int64_t w = 1; w <= 4; w++) {
    fit_done(&fit);
    fit_init(&fit);
    fit.cost = 1.5;
    fit.jitter = 1;
    c.workers = w;
    c.budget = 50;
    evo_population *pop = make_pop(&c, &fit);
    ck_assert_int_eq(evo_population_run(pop), EVO_OK);
    ck_assert_int_eq(evo_population_finished(pop), 1);
    size_t open = 8 + (size_t)w - 1;
    ck_assert_uint_eq(fit_total_calls(&fit), 18 + open);
    ck_assert(pt_same_bits(evo_population_compute(pop),
                           39.0 + 1.5 * (double)open));
    ck_assert_uint_eq(evo_population_generation(pop), 1);
    ck_assert_uint_eq(evo_population_evaluated(pop), open);
    for (size_t i = 0; i < 12; i++) {
      double f;
      ck_assert_int_eq(evo_population_individual(pop, i, NULL, &f), EVO_OK);
      ck_assert_msg(isnan(f) == (i >= open), "workers %lld: individual %zu",
                    (long long)w, i);
    }
    pt_set_ok(pop, EVO_POP_BUDGET, 0); /* on the same object */
    ck_assert_int_eq(evo_population_run(pop), EVO_OK);
    pt_assert_same_run(ref, pop, true);
    pt_assert_same_accounting(ref, pop, false);
    evo_population_free(pop);
  }
  evo_population_free(ref);
  fit_done(&fit);
}
END_TEST

/* ---- 5. random search --------------------------------------------------- */

#define RS_SIZE 100
#define RS_GENS 21 /* generations 1..20: 2000 random genomes */

typedef struct rs_ctx {
  evo_genome *g; /* RS_GENS × RS_SIZE */
} rs_ctx;

static int rs_progress(void *user, evo_event event, const evo_population *pop,
                       size_t generation, size_t index) {
  rs_ctx *r = user;
  (void)index;
  if (event != EVO_EVENT_GENERATION)
    return 0;
  PT_REQUIRE(generation < RS_GENS);
  for (size_t i = 0; i < RS_SIZE; i++) {
    const evo_genome *g;
    PT_REQUIRE(evo_population_individual(pop, i, &g, NULL) == EVO_OK);
    r->g[generation * RS_SIZE + i] = *g;
  }
  return 0;
}

static evo_genome *rs_genomes(int64_t algorithm, fit_ctx *fit) {
  rs_ctx r = {calloc(RS_GENS * RS_SIZE, sizeof(evo_genome))};
  ck_assert_ptr_nonnull(r.g);
  cfg c = {.size = RS_SIZE, .generations = RS_GENS, .elites = 3,
           .tournament = 4, .workers = 1, .algorithm = algorithm,
           .rungs = 1, .promote = 3, .seed = 97, .plain = 1};
  evo_population *pop = make_pop(&c, fit);
  ck_assert_int_eq(evo_population_set_progress(pop, rs_progress, &r), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population_free(pop);
  return r.g;
}

/* Pearson's chi-square of @p counts against equal expected counts. */
static double chi_square_uniform(const size_t *counts, size_t bins) {
  size_t n = 0;
  for (size_t i = 0; i < bins; i++)
    n += counts[i];
  double e = (double)n / (double)bins, x = 0.0;
  for (size_t i = 0; i < bins; i++)
    x += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
  return x;
}

/* The chi-square quantile at 0.999 with @p df degrees of freedom by
 * Wilson and Hilferty (z_0.999 = 3.0902), within 0.5 % for df ≥ 30. */
static double chi_square_999(double df) {
  double a = 2.0 / (9.0 * df);
  return df * pow(1.0 - a + 3.0902 * sqrt(a), 3.0);
}

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

static int cmp_u64(const void *pa, const void *pb) {
  uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
  return (a > b) - (a < b);
}

/* The Kolmogorov–Smirnov statistic of @p x (sorted in place) against
 * U[lo, hi]. */
static double ks_uniform(double *x, size_t n, double lo, double hi) {
  qsort(x, n, sizeof *x, cmp_double);
  double d = 0.0;
  for (size_t i = 0; i < n; i++) {
    PT_REQUIRE(x[i] >= lo && x[i] <= hi);
    double u = (x[i] - lo) / (hi - lo);
    double a = (double)(i + 1) / (double)n - u, b = u - (double)i / (double)n;
    d = fmax(d, fmax(a, b));
  }
  return d;
}

/* Critical KS distance at α = 0.001 for large n: sqrt(-ln(α/2)/2)/sqrt(n)
 * = 1.9495/sqrt(n). */
static void assert_ks(double *x, size_t n, double lo, double hi,
                      const char *what) {
  double d = ks_uniform(x, n, lo, hi), crit = 1.9495 / sqrt((double)n);
  ck_assert_msg(d < crit, "%s: KS distance %.4f ≥ %.4f (n = %zu)", what, d,
                crit, n);
}

START_TEST(test_random_search_uniform) {
  /* doc/algorithm.md §4.2, "Random genome", over the 2000 genomes of
   * generations 1..20 of random search; each test at the 0.001 level. */
  fit_ctx fit;
  fit_init(&fit);
  fit.constant = 1;
  evo_genome *all = rs_genomes(EVO_ALGO_RANDOM, &fit);
  const evo_genome *gs = all + RS_SIZE; /* generation 0 holds baselines */
  const size_t n = (RS_GENS - 1) * RS_SIZE;
  static double lr[2000], b1[2000], b2[2000], eps[2000], wd[2000],
      clip[2000], alpha[8000];
  static uint64_t hashes[2000];
  size_t kcount[3] = {0}, codes[7] = {0}, warm[151] = {0}, flags[6] = {0};
  size_t n_alpha = 0;
  for (size_t i = 0; i < n; i++) {
    const evo_genome *g = &gs[i];
    size_t k = evo_genome_term_count(g);
    PT_REQUIRE(k >= 1 && k <= 3);
    kcount[k - 1]++;
    for (size_t t = 0; t < k; t++) {
      evo_term code;
      double a;
      PT_REQUIRE(evo_genome_get_term(g, t, &code, &a) == EVO_OK);
      PT_REQUIRE((unsigned)code < 7);
      codes[code]++;
      alpha[n_alpha++] = a;
    }
    lr[i] = pt_gene(g, EVO_GENE_LR_LOG10);
    b1[i] = pt_gene(g, EVO_GENE_BETA1);
    b2[i] = pt_gene(g, EVO_GENE_BETA2);
    eps[i] = pt_gene(g, EVO_GENE_EPS_LOG10);
    wd[i] = pt_gene(g, EVO_GENE_WD_LOG10);
    clip[i] = pt_gene(g, EVO_GENE_CLIP_VALUE);
    double w = pt_gene(g, EVO_GENE_WARMUP_STEPS);
    PT_REQUIRE(w == floor(w) && w >= 50 && w <= 200);
    warm[(size_t)w - 50]++;
    for (int f = 0; f < 6; f++)
      flags[f] += (size_t)pt_flag(g, (evo_flag)f);
    hashes[i] = pt_genome_hash(g, 0);
  }
  /* no genome drawn twice (equal genomes have equal hashes) */
  qsort(hashes, n, sizeof *hashes, cmp_u64);
  for (size_t i = 1; i < n; i++)
    PT_REQUIRE(hashes[i] != hashes[i - 1]);
  /* chi-square quantiles at 0.999: 13.816 (2 df), 22.458 (6 df) */
  double x = chi_square_uniform(kcount, 3);
  ck_assert_msg(x < 13.816, "term counts %zu %zu %zu: chi-square %.2f",
                kcount[0], kcount[1], kcount[2], x);
  x = chi_square_uniform(codes, 7);
  ck_assert_msg(x < 22.458, "term codes: chi-square %.2f", x);
  x = chi_square_uniform(warm, 151);
  ck_assert_msg(x < chi_square_999(150), "warmup steps: chi-square %.2f", x);
  ck_assert(warm[0] > 0 && warm[150] > 0); /* both ends are drawn */
  assert_ks(lr, n, -4.0, -2.0, "lr_log10");
  assert_ks(b1, n, 0.5, 0.99, "beta1");
  assert_ks(b2, n, 0.9, 0.9999, "beta2");
  assert_ks(eps, n, -9.0, -6.0, "eps_log10");
  assert_ks(wd, n, -5.0, -3.0, "wd_log10");
  assert_ks(clip, n, 0.5, 2.0, "clip_value");
  assert_ks(alpha, n_alpha, -1.0, 1.0, "alphas");
  /* flags: binomial z = (count - n p) / sqrt(n p (1 - p)), |z| < 4 */
  const double prob[6] = {0.7, 0.7, 0.6, 0.2, 0.3, 0.3};
  for (int f = 0; f < 6; f++) {
    double np = (double)n * prob[f];
    double z = ((double)flags[f] - np) / sqrt(np * (1.0 - prob[f]));
    ck_assert_msg(fabs(z) < 4.0, "flag %d: %zu of %zu, z = %.2f", f,
                  flags[f], n, z);
  }
  /* Generation g + 1 does not depend on generation g's fitness: another
   * fitness gives the same genomes; generation 0 is the GA's. */
  fit_ctx other;
  fit_init(&other);
  other.fail_mod = 3;
  evo_genome *again = rs_genomes(EVO_ALGO_RANDOM, &other);
  for (size_t i = 0; i < RS_GENS * RS_SIZE; i++)
    PT_REQUIRE(evo_genome_equal(&all[i], &again[i]));
  evo_genome *ga = rs_genomes(EVO_ALGO_GA, &fit);
  for (size_t i = 0; i < RS_SIZE; i++)
    PT_REQUIRE(evo_genome_equal(&all[i], &ga[i]));
  size_t same = 0;
  for (size_t i = RS_SIZE; i < 2 * RS_SIZE; i++)
    same += (size_t)evo_genome_equal(&all[i], &ga[i]);
  ck_assert_uint_eq(same, 0); /* the GA breeds, random search draws */
  free(ga);
  free(again);
  free(all);
  fit_done(&other);
  fit_done(&fit);
}
END_TEST

/* ---- 6. settings -------------------------------------------------------- */

START_TEST(test_settings) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  /* defaults: the paper's GA, one rung, η = 3, no budget */
  const int64_t defaults[][2] = {{EVO_POP_ALGORITHM, EVO_ALGO_GA},
                                 {EVO_POP_RUNGS, 1},
                                 {EVO_POP_PROMOTE, 3},
                                 {EVO_POP_BUDGET, 0}};
  for (size_t i = 0; i < 4; i++) {
    int64_t v = -7;
    ck_assert_int_eq(
        evo_population_get(pop, (evo_pop_setting)defaults[i][0], &v), EVO_OK);
    ck_assert_int_eq(v, defaults[i][1]);
  }
  /* lo - 1 refused, lo and hi taken, hi + 1 refused (population.h); the
   * algorithms run from the GA to steady-state evolution, random search
   * between them */
  pt_set_ok(pop, EVO_POP_ALGORITHM, EVO_ALGO_RANDOM);
  const int64_t ranges[][3] = {{EVO_POP_ALGORITHM, EVO_ALGO_GA,
                                EVO_ALGO_STEADY},
                               {EVO_POP_RUNGS, 1, 8},
                               {EVO_POP_PROMOTE, 2, 1000},
                               {EVO_POP_BUDGET, 0, INT64_C(1) << 40}};
  for (size_t i = 0; i < 4; i++) {
    evo_pop_setting s = (evo_pop_setting)ranges[i][0];
    int64_t lo = ranges[i][1], hi = ranges[i][2], v;
    ck_assert_int_eq(evo_population_set(pop, s, lo - 1), EVO_ERANGE);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), "outside"));
    ck_assert_int_eq(evo_population_set(pop, s, lo), EVO_OK);
    ck_assert_int_eq(evo_population_get(pop, s, &v), EVO_OK);
    ck_assert_int_eq(v, lo);
    ck_assert_int_eq(evo_population_set(pop, s, hi), EVO_OK);
    ck_assert_int_eq(evo_population_get(pop, s, &v), EVO_OK);
    ck_assert_int_eq(v, hi);
    ck_assert_int_eq(evo_population_set(pop, s, hi + 1), EVO_ERANGE);
    ck_assert_int_eq(evo_population_get(pop, s, &v), EVO_OK);
    ck_assert_int_eq(v, hi); /* a refused value changes nothing */
  }
  evo_population_free(pop);

  /* R > 1 needs the rung: a plain callback or back end is refused */
  fit_ctx fit;
  fit_init(&fit);
  cfg c = mf_cfg;
  c.plain = 1;
  c.generations = 2;
  pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_step(pop), EVO_EUNSUPPORTED);
  ck_assert_ptr_nonnull(
      strstr(evo_last_error(), "evo_population_set_fitness_rung"));
  ck_assert_uint_eq(fit_total_calls(&fit), 0);
  evo_backend *plain = NULL, *rung = NULL;
  ck_assert_int_eq(evo_backend_threads_new(&plain, fitness_plain_cb, &fit, 2),
                   EVO_OK);
  ck_assert_int_eq(evo_backend_has_rungs(plain), 0);
  ck_assert_int_eq(evo_population_set_backend(pop, plain), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "evo_backend_new_rung"));
  ck_assert_uint_eq(fit_total_calls(&fit), 0);
  /* a back end made for rungs goes on, and equals the rung callback */
  ck_assert_int_eq(evo_backend_threads_new_rung(&rung, fitness_rung_cb, &fit,
                                                2),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_backend(pop, rung), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  /* once started: the budget may change, the rest may not */
  pt_set_ok(pop, EVO_POP_BUDGET, 1000);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_BUDGET, -1), EVO_ERANGE);
  /* (each with a value in range, other than its own) */
  const int64_t frozen[][2] = {{EVO_POP_ALGORITHM, EVO_ALGO_RANDOM},
                               {EVO_POP_RUNGS, 2},
                               {EVO_POP_PROMOTE, 2}};
  for (size_t i = 0; i < 3; i++) {
    evo_pop_setting s = (evo_pop_setting)frozen[i][0];
    int64_t v;
    ck_assert_int_eq(evo_population_get(pop, s, &v), EVO_OK);
    ck_assert_int_ne(v, frozen[i][1]);
    ck_assert_int_eq(evo_population_set(pop, s, frozen[i][1]), EVO_ESTATE);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), "started"));
  }
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  c.plain = 0;
  evo_population *ref = full_run(&c, &fit, NULL);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(ref);
  evo_population_free(pop);
  evo_backend_free(plain);
  evo_backend_free(rung);
  fit_done(&fit);
}
END_TEST

static int set_budget_progress(void *user, evo_event event,
                               const evo_population *pop, size_t generation,
                               size_t index) {
  int *rc = user;
  (void)event;
  (void)generation;
  (void)index;
  *rc = evo_population_set((evo_population *)pop, EVO_POP_BUDGET, 5);
  return 0;
}

START_TEST(test_budget_not_from_callback) {
  fit_ctx fit;
  fit_init(&fit);
  cfg c = mf_cfg;
  c.generations = 1;
  evo_population *pop = make_pop(&c, &fit);
  int rc = EVO_OK;
  ck_assert_int_eq(evo_population_set_progress(pop, set_budget_progress, &rc),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_int_eq(rc, EVO_ESTATE);
  int64_t v;
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_BUDGET, &v), EVO_OK);
  ck_assert_int_eq(v, 0);
  evo_population_free(pop);
  fit_done(&fit);
}
END_TEST

/* ---- 7. the checkpoint between rungs ------------------------------------ */

/* Stops generation 1 at its first evaluation at rung @p rung (right after
 * the promotion to it) or, with @p rung 0, at its last rung-0 evaluation
 * (before the promotion), and checks what the checkpoint brings back. */
static void between_rungs(uint32_t rung, const evo_population *ref,
                          const char *ref_ckpt) {
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 7;
  fit.cost = 1.5;
  pt_tmp t;
  pt_tmp_make_shm(&t);
  cfg c = mf_cfg;
  prog_ctx p = {0};
  if (rung == 0)
    p.cancel_after_evals = 18 + 12;
  else
    p.cancel_rung = rung, p.cancel_rung_gen = 1;
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "search"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_ECANCELED);
  /* what the test expects: 18 evaluations in generation 0 (no rung-0
   * failure there reaches the promotion: checked by the reference), then
   * 12 at rung 0, then one at the rung stopped at */
  size_t calls = fit_total_calls(&fit);
  size_t want_calls = rung == 0 ? 30 : rung == 1 ? 31 : 35;
  double want_compute = rung == 0   ? 39.0 + 18.0
                        : rung == 1 ? 39.0 + 18.0 + 3.0
                                    : 39.0 + 18.0 + 12.0 + 4.5;
  ck_assert_uint_eq(calls, want_calls);
  ck_assert(pt_same_bits(evo_population_compute(pop), want_compute));
  evo_population *back = NULL;
  ck_assert_int_eq(evo_population_resume(&back, t.file, "search"), EVO_OK);
  ck_assert_uint_eq(evo_population_generation(back), 1);
  ck_assert_uint_eq(back->phase, rung);
  ck_assert_uint_eq(back->evaluations, want_calls);
  ck_assert(pt_same_bits(evo_population_compute(back), want_compute));
  ck_assert_uint_eq(evo_population_evaluated(back),
                    evo_population_evaluated(pop));
  ck_assert_uint_eq(evo_population_evaluated(back),
                    rung == 0 ? 12 : rung == 1 ? 12 - 4 + 1 : 12 - 2 + 1);
  size_t at_rung = 0;
  for (size_t i = 0; i < 12; i++) {
    uint32_t ra, rb;
    double fa, fb;
    ck_assert_int_eq(evo_population_individual_rung(pop, i, &ra), EVO_OK);
    ck_assert_int_eq(evo_population_individual_rung(back, i, &rb), EVO_OK);
    ck_assert_uint_eq(ra, rb);
    at_rung += rb == rung;
    ck_assert_int_eq(evo_population_individual(pop, i, NULL, &fa), EVO_OK);
    ck_assert_int_eq(evo_population_individual(back, i, NULL, &fb), EVO_OK);
    ck_assert(pt_same_bits(fa, fb) || (isnan(fa) && isnan(fb)));
  }
  ck_assert_uint_eq(at_rung, rung == 0 ? 12 : rung == 1 ? 4 : 2);
  ck_assert_uint_eq(p.stopped_index < 12, 1);
  evo_population_free(pop);
  ck_assert_int_eq(evo_population_set_fitness_rung(back, fitness_rung_cb,
                                                   &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(back), EVO_OK);
  pt_assert_same_end(ref, back, ref_ckpt, t.file, false, 0);
  evo_population_free(back);
  pt_tmp_remove(&t);
  fit_done(&fit);
}

START_TEST(test_checkpoint_between_rungs) {
  fit_ctx fit;
  fit_init(&fit);
  fit_log(&fit);
  fit.fail_mod = 7;
  fit.cost = 1.5;
  pt_tmp t;
  pt_tmp_make_shm(&t);
  evo_population *ref = full_run(&mf_cfg, &fit, t.file);
  /* generations 0 and 1 had 18 evaluations each (enough successes) */
  double v;
  ck_assert_int_eq(evo_population_history(ref, 1, EVO_HIST_EVALUATIONS, &v),
                   EVO_OK);
  ck_assert(pt_same_bits(v, 36.0));
  for (uint32_t rung = 0; rung < 3; rung++)
    between_rungs(rung, ref, t.file);
  evo_population_free(ref);
  pt_tmp_remove(&t);
  fit_done(&fit);
}
END_TEST

/* ------------------------------------------------------------------------- */

static Suite *search_suite(void) {
  Suite *s = suite_create("search");
  TCase *tc = tcase_create("search");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_one_rung_is_paper);
  tcase_add_test(tc, test_promotion_exact);
  tcase_add_test(tc, test_rungs_rank_any_fitness);
  tcase_add_test(tc, test_failure_at_top_ranks_last);
  tcase_add_test(tc, test_workers_identical);
  tcase_add_test(tc, test_resume_multi_fidelity);
  tcase_add_test(tc, test_resume_multi_fidelity_cache_workers);
  tcase_add_test(tc, test_resume_random_search);
  tcase_add_test(tc, test_budget);
  tcase_add_test(tc, test_budget_workers);
  tcase_add_test(tc, test_random_search_uniform);
  tcase_add_test(tc, test_settings);
  tcase_add_test(tc, test_budget_not_from_callback);
  tcase_add_test(tc, test_checkpoint_between_rungs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(search_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

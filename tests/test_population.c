/* The generation loop (population.h, doc/algorithm.md §4) with a cheap
 * synthetic fitness function: settings, generation 0, history, elites, hall of
 * fame, failing callbacks, determinism across worker counts, checkpoints
 * (cancel + resume identity, refusal of damaged or foreign files). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evoopt/population.h"
#include "core/io_internal.h"
#include "pop_testlib.h"
#include "evolve/population_internal.h"
#include "train/report_internal.h"

/* ---- synthetic fitness -------------------------------------------------- */

typedef struct fit_ctx {
  size_t fail_terms; /* fail genomes with this many terms (0: none) */
  size_t nan_terms;  /* report NaN for this many terms (0: none) */
  int jitter;        /* sleep a genome-dependent few microseconds */
} fit_ctx;

static double gene(const evo_genome *g, evo_gene which) {
  double v;
  ck_assert_int_eq(evo_genome_get(g, which, &v), EVO_OK);
  return v;
}

static int flag(const evo_genome *g, evo_flag which) {
  int v;
  ck_assert_int_eq(evo_genome_get_flag(g, which, &v), EVO_OK);
  return v;
}

/* A smooth, deterministic function of the genes and the seed, with its
 * best near lr 10^-2.5, β1 0.85 and a few sign/adam terms. */
static double synthetic(const evo_genome *g, uint64_t seed) {
  double lr = gene(g, EVO_GENE_LR_LOG10), b1 = gene(g, EVO_GENE_BETA1);
  double wd = gene(g, EVO_GENE_WD_LOG10), s = 0.0;
  for (size_t i = 0; i < evo_genome_term_count(g); i++) {
    evo_term t;
    double a;
    ck_assert_int_eq(evo_genome_get_term(g, i, &t, &a), EVO_OK);
    s += a * (t == EVO_TERM_SIGN || t == EVO_TERM_ADAM ? 1.0 : -0.3);
  }
  double f = 0.9 - 0.05 * (lr + 2.5) * (lr + 2.5) -
             0.3 * (b1 - 0.85) * (b1 - 0.85) - 0.02 * (s - 2.0) * (s - 2.0);
  f += 0.01 * flag(g, EVO_FLAG_USE_M) + 0.005 * flag(g, EVO_FLAG_WARMUP);
  if (isfinite(wd))
    f -= 0.002 * (wd + 3.0) * (wd + 3.0);
  return f + 1e-4 * (double)(seed % 1000) / 1000.0;
}

static int fitness_cb(void *user, const evo_genome *g, uint64_t seed,
                      evo_report *report) {
  const fit_ctx *ctx = user;
  size_t k = evo_genome_term_count(g);
  double f = synthetic(g, seed);
  if (ctx != NULL && ctx->jitter) {
    struct timespec ts = {0, (long)(1000.0 * fmod(fabs(f) * 1e6, 300.0))};
    nanosleep(&ts, NULL);
  }
  if (ctx != NULL && k == ctx->fail_terms) { /* a library call that fails */
    evo_genome *none = NULL;
    return evo_genome_preset(&none, "synthetic-failure");
  }
  if (ctx != NULL && k == ctx->nan_terms) {
    report->fitness = NAN; /* what a buggy evaluator could leave */
    return EVO_OK;
  }
  ck_assert_int_eq(evo_report_add_task(report, "a", f + 0.01), EVO_OK);
  ck_assert_int_eq(evo_report_add_task(report, "b", f - 0.01), EVO_OK);
  return evo_report_set_fitness(report, f);
}

/* ---- progress: snapshots and cancels ------------------------------------ */

#define MAX_N 64
#define MAX_G 16

/* The evaluated individuals of one generation, copied at its event. */
typedef struct snapshot {
  size_t n;
  evo_genome g[MAX_N];
  double f[MAX_N];
  int status[MAX_N];
  char msg[MAX_N][128];
} snapshot;

typedef struct prog_ctx {
  size_t evals, gens;           /* events seen */
  size_t cancel_after_evals;    /* stop at this evaluation event (0: never) */
  size_t cancel_at_gen;         /* stop at this generation event (+1; 0 never) */
  snapshot *snaps;              /* one per generation, or NULL */
  size_t last_index;            /* index of the last evaluation event */
  int reenter_rc;               /* what a re-entrant step returned */
} prog_ctx;

static void take_snapshot(snapshot *s, const evo_population *pop) {
  s->n = evo_population_size(pop);
  ck_assert_uint_le(s->n, MAX_N);
  for (size_t i = 0; i < s->n; i++) {
    const evo_genome *g;
    const char *msg;
    ck_assert_int_eq(evo_population_individual(pop, i, &g, &s->f[i]),
                     EVO_OK);
    s->g[i] = *g;
    ck_assert_int_eq(
        evo_population_individual_error(pop, i, &s->status[i], &msg), EVO_OK);
    snprintf(s->msg[i], sizeof s->msg[i], "%s", msg);
  }
}

static int progress_cb(void *user, evo_event event, const evo_population *pop,
                       size_t generation, size_t index) {
  prog_ctx *p = user;
  ck_assert_uint_eq(generation, evo_population_generation(pop));
  if (event == EVO_EVENT_EVALUATION) {
    p->evals++;
    p->last_index = index;
    double f;
    ck_assert_int_eq(evo_population_individual(pop, index, NULL, &f), EVO_OK);
    ck_assert(!isnan(f)); /* recorded before the event */
    return p->cancel_after_evals != 0 && p->evals == p->cancel_after_evals;
  }
  ck_assert_int_eq(event, EVO_EVENT_GENERATION);
  ck_assert_uint_eq(evo_population_history_count(pop), generation + 1);
  if (p->snaps != NULL) {
    ck_assert_uint_lt(generation, MAX_G);
    take_snapshot(&p->snaps[generation], pop);
  }
  p->gens++;
  return p->cancel_at_gen != 0 && p->gens == p->cancel_at_gen;
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct run_cfg {
  int64_t size, generations, elites, tournament, workers, fresh, hof;
  uint64_t seed;
} run_cfg;

static const run_cfg small_cfg = {12, 5, 2, 3, 1, 0, 1000, 7};

static evo_population *make_pop(const run_cfg *c, fit_ctx *fit) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, c->size), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS,
                                      c->generations),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, c->elites),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_TOURNAMENT, c->tournament),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, c->workers),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_FRESH_SEEDS, c->fresh),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_HALL_OF_FAME, c->hof),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUN_SEED,
                                      (int64_t)c->seed),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_cb, fit), EVO_OK);
  return pop;
}

static evo_population *reference_run(const run_cfg *c, fit_ctx *fit) {
  evo_population *pop = make_pop(c, fit);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

static unsigned char *read_all(const char *path, size_t *size) {
  unsigned char *buf = NULL;
  ck_assert_int_eq(evo_read_file(path, (size_t)1 << 30, &buf, size), EVO_OK);
  return buf;
}

static void write_all(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, size, f), size);
  ck_assert_int_eq(fclose(f), 0);
}

/* ---- settings ----------------------------------------------------------- */

START_TEST(test_defaults) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  /* doc/algorithm.md §4, "The paper settings" */
  const int64_t want[] = {50, 50, 3, 4, 42, 1, 0, 10};
  for (int s = 0; s < 8; s++) {
    int64_t v;
    ck_assert_int_eq(evo_population_get(pop, (evo_pop_setting)s, &v), EVO_OK);
    ck_assert_int_eq(v, want[s]);
  }
  ck_assert_uint_eq(evo_population_size(pop), 0);
  ck_assert_uint_eq(evo_population_generation(pop), 0);
  ck_assert(!evo_population_finished(pop));
  ck_assert_int_eq(evo_population_individual(pop, 0, NULL, NULL), EVO_ERANGE);
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE); /* no fitness */
  evo_population_free(pop);
  evo_population_free(NULL);
}
END_TEST

START_TEST(test_settings_ranges) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  const struct {
    evo_pop_setting s;
    int64_t bad;
  } bad[] = {{EVO_POP_SIZE, 1},       {EVO_POP_SIZE, -5},
             {EVO_POP_GENERATIONS, 0}, {EVO_POP_ELITES, -1},
             {EVO_POP_TOURNAMENT, 0}, {EVO_POP_WORKERS, 0},
             {EVO_POP_WORKERS, 257},  {EVO_POP_FRESH_SEEDS, 2},
             {EVO_POP_HALL_OF_FAME, 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_int_eq(evo_population_set(pop, bad[i].s, bad[i].bad),
                     EVO_ERANGE);
  ck_assert_int_eq(evo_population_set(pop, (evo_pop_setting)99, 1),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_set(NULL, EVO_POP_SIZE, 10), EVO_EINVAL);
  int64_t v;
  ck_assert_int_eq(evo_population_get(pop, (evo_pop_setting)99, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUN_SEED, -1), EVO_OK);
  /* elites >= size is caught by the first step */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 3), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_cb, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ERANGE); /* elites 3 */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 1), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ERANGE); /* k 4 > 3 */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_TOURNAMENT, 2), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ERANGE); /* 4 seeds > 3 */
  ck_assert_int_eq(evo_population_set_initial(pop, NULL, 0), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  /* frozen once started, except the worker count */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 10), EVO_ESTATE);
  ck_assert_int_eq(evo_population_set_initial(pop, NULL, 0), EVO_ESTATE);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  ck_assert(evo_population_finished(pop));
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population_free(pop);
}
END_TEST

START_TEST(test_set_initial) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 3), EVO_OK);
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "paper-evolved"), EVO_OK);
  const evo_genome *four[4] = {g, g, g, g};
  ck_assert_int_eq(evo_population_set_initial(pop, four, 4), EVO_ERANGE);
  const evo_genome *with_null[2] = {g, NULL};
  ck_assert_int_eq(evo_population_set_initial(pop, with_null, 2), EVO_EINVAL);
  ck_assert_int_eq(evo_population_set_initial(pop, NULL, 1), EVO_EINVAL);
  evo_population_free(pop);
  evo_genome_free(g);
}
END_TEST

/* ---- generation 0 ------------------------------------------------------- */

/* With one generation nothing is bred: the final population is
 * generation 0. */
static evo_population *one_generation(uint64_t seed, int baselines) {
  run_cfg c = small_cfg;
  c.generations = 1;
  c.seed = seed;
  evo_population *pop = make_pop(&c, NULL);
  if (!baselines)
    ck_assert_int_eq(evo_population_set_initial(pop, NULL, 0), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

START_TEST(test_generation0) {
  evo_population *a = one_generation(7, 1), *b = one_generation(7, 1);
  evo_population *c = one_generation(8, 1), *d = one_generation(7, 0);
  const char *names[4] = {"sgd", "adam", "adamw", "rmsprop"};
  ck_assert_uint_eq(evo_population_size(a), 12);
  for (size_t i = 0; i < 12; i++) {
    const evo_genome *ga, *gb, *gc, *gd;
    ck_assert_int_eq(evo_population_individual(a, i, &ga, NULL), EVO_OK);
    ck_assert_int_eq(evo_population_individual(b, i, &gb, NULL), EVO_OK);
    ck_assert_int_eq(evo_population_individual(c, i, &gc, NULL), EVO_OK);
    ck_assert_int_eq(evo_population_individual(d, i, &gd, NULL), EVO_OK);
    ck_assert(evo_genome_equal(ga, gb)); /* same run seed */
    ck_assert_int_eq(evo_genome_validate(ga), EVO_OK);
    if (i < 4) { /* the four baselines open generation 0 */
      evo_genome *p = NULL;
      ck_assert_int_eq(evo_genome_preset(&p, names[i]), EVO_OK);
      ck_assert(evo_genome_equal(ga, p));
      ck_assert(evo_genome_equal(gc, p));
      ck_assert(!evo_genome_equal(gd, p));
      evo_genome_free(p);
    } else {
      ck_assert(!evo_genome_equal(ga, gc)); /* another run seed */
      ck_assert(evo_genome_equal(ga, gd));  /* random i depends on i only */
    }
    for (size_t j = 0; j < i; j++) { /* random genomes are distinct */
      const evo_genome *gj;
      ck_assert_int_eq(evo_population_individual(d, j, &gj, NULL), EVO_OK);
      ck_assert(!evo_genome_equal(gd, gj));
    }
  }
  evo_population_free(a);
  evo_population_free(b);
  evo_population_free(c);
  evo_population_free(d);
}
END_TEST

/* ---- history, elites, hall of fame -------------------------------------- */

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* Recomputes generation @p g's history from its snapshot. */
static void check_history_entry(const evo_population *pop, size_t g,
                                const snapshot *s) {
  double sorted[MAX_N], sum = 0.0, failed = 0.0;
  uint32_t terms[EVO_TERM_COUNT] = {0}, got_terms[EVO_TERM_COUNT];
  size_t best = 0;
  for (size_t i = 0; i < s->n; i++) {
    sorted[i] = s->f[i];
    sum += s->f[i];
    failed += s->status[i] != EVO_OK;
    if (s->f[i] > s->f[best])
      best = i;
    for (size_t t = 0; t < evo_genome_term_count(&s->g[i]); t++) {
      evo_term kind;
      ck_assert_int_eq(evo_genome_get_term(&s->g[i], t, &kind, NULL), EVO_OK);
      terms[kind]++;
    }
  }
  qsort(sorted, s->n, sizeof sorted[0], cmp_double);
  double median = s->n % 2 ? sorted[s->n / 2]
                           : 0.5 * (sorted[s->n / 2 - 1] + sorted[s->n / 2]);
  const double want[6] = {sorted[s->n - 1], sum / (double)s->n, median,
                          sorted[0], failed, 0.0};
  for (int k = 0; k < 6; k++) {
    double v;
    ck_assert_int_eq(evo_population_history(pop, g, (evo_history_key)k, &v),
                     EVO_OK);
    ck_assert_double_eq_tol(v, want[k], 1e-12);
  }
  const evo_genome *bg;
  const evo_report *br;
  ck_assert_int_eq(evo_population_history_best(pop, g, &bg, &br), EVO_OK);
  ck_assert(evo_genome_equal(bg, &s->g[best])); /* first of the best */
  double bf, fa;
  ck_assert_int_eq(evo_report_fitness(br, &bf), EVO_OK);
  ck_assert(bf == s->f[best]);
  if (s->status[best] == EVO_OK) {
    ck_assert_uint_eq(evo_report_task_count(br), 2);
    ck_assert_int_eq(evo_report_task(br, 0, NULL, &fa), EVO_OK);
    ck_assert_double_eq_tol(fa, bf + 0.01, 1e-15);
  } else {
    ck_assert_uint_eq(evo_report_task_count(br), 0);
  }
  ck_assert_int_eq(evo_population_history_terms(pop, g, got_terms), EVO_OK);
  ck_assert(memcmp(terms, got_terms, sizeof terms) == 0);
}

static snapshot snaps[MAX_G];

static evo_population *logged_run(const run_cfg *c, fit_ctx *fit,
                                  prog_ctx *p) {
  memset(p, 0, sizeof *p);
  memset(snaps, 0, sizeof snaps);
  p->snaps = snaps;
  evo_population *pop = make_pop(c, fit);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

START_TEST(test_history) {
  prog_ctx p;
  run_cfg c = small_cfg;
  c.size = 13; /* an odd size: the median is the middle value */
  for (int pass = 0; pass < 2; pass++) {
    evo_population *pop = logged_run(&c, NULL, &p);
    ck_assert_uint_eq(p.gens, (size_t)c.generations);
    ck_assert_uint_eq(p.evals, (size_t)(c.generations * c.size));
    ck_assert_uint_eq(evo_population_history_count(pop),
                      (size_t)c.generations);
    for (size_t g = 0; g < (size_t)c.generations; g++)
      check_history_entry(pop, g, &snaps[g]);
    double v;
    ck_assert_int_eq(evo_population_history(pop, (size_t)c.generations,
                                             EVO_HIST_BEST, &v),
                     EVO_ERANGE);
    ck_assert_int_eq(evo_population_history(pop, 0, (evo_history_key)9, &v),
                     EVO_EINVAL);
    evo_population_free(pop);
    c.size = 12; /* and an even one */
  }
}
END_TEST

/* Indices of @p s sorted by fitness, highest first, ties by index. */
static void rank_snapshot(const snapshot *s, size_t *order) {
  for (size_t i = 0; i < s->n; i++)
    order[i] = i;
  for (size_t i = 1; i < s->n; i++) /* insertion sort: stable */
    for (size_t j = i; j > 0 && s->f[order[j]] > s->f[order[j - 1]]; j--) {
      size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
}

START_TEST(test_elites) {
  prog_ctx p;
  run_cfg c = small_cfg;
  c.elites = 3;
  evo_population *pop = logged_run(&c, NULL, &p);
  for (size_t g = 0; g + 1 < (size_t)c.generations; g++) {
    size_t order[MAX_N];
    rank_snapshot(&snaps[g], order);
    for (size_t e = 0; e < 3; e++) { /* copied unchanged, in rank order */
      ck_assert(evo_genome_equal(&snaps[g + 1].g[e], &snaps[g].g[order[e]]));
      ck_assert(pt_same_bits(snaps[g + 1].f[e], snaps[g].f[order[e]]));
    }
  }
  /* so the best never gets worse, with common seeds */
  for (size_t g = 1; g < (size_t)c.generations; g++) {
    double before, now;
    ck_assert_int_eq(evo_population_history(pop, g - 1, EVO_HIST_BEST,
                                            &before),
                     EVO_OK);
    ck_assert_int_eq(evo_population_history(pop, g, EVO_HIST_BEST, &now),
                     EVO_OK);
    ck_assert(now >= before);
  }
  evo_population_free(pop);
}
END_TEST

START_TEST(test_hall_of_fame) {
  prog_ctx p;
  run_cfg c = small_cfg; /* room for every genome: hof = 1000 */
  evo_population *pop = logged_run(&c, NULL, &p);
  /* distinct genomes with the generation each was first seen */
  static evo_genome seen[MAX_N * MAX_G];
  size_t first[MAX_N * MAX_G], n_seen = 0;
  for (size_t g = 0; g < (size_t)c.generations; g++)
    for (size_t i = 0; i < snaps[g].n; i++) {
      size_t j = 0;
      while (j < n_seen && !evo_genome_equal(&seen[j], &snaps[g].g[i]))
        j++;
      if (j == n_seen) {
        seen[n_seen] = snaps[g].g[i];
        first[n_seen++] = g;
      }
    }
  ck_assert_uint_eq(evo_population_hof_count(pop), n_seen);
  double prev = INFINITY;
  for (size_t r = 0; r < n_seen; r++) {
    const evo_genome *g;
    double f;
    size_t gen;
    ck_assert_int_eq(evo_population_hof(pop, r, &g, &f, &gen), EVO_OK);
    ck_assert(f <= prev);
    prev = f;
    ck_assert(pt_same_bits(f, synthetic(g, 0))); /* common seed 0 */
    size_t j = 0;
    while (!evo_genome_equal(&seen[j], g))
      j++;
    ck_assert_uint_eq(gen, first[j]);
  }
  ck_assert_int_eq(evo_population_hof(pop, n_seen, NULL, NULL, NULL),
                   EVO_ERANGE);
  evo_population_free(pop);

  /* a small hall keeps the best few */
  c.hof = 3;
  pop = make_pop(&c, NULL);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(evo_population_hof_count(pop), 3);
  double best;
  ck_assert_int_eq(evo_population_hof(pop, 0, NULL, &best, NULL), EVO_OK);
  for (size_t g = 0; g < (size_t)c.generations; g++) {
    double v;
    ck_assert_int_eq(evo_population_history(pop, g, EVO_HIST_BEST, &v),
                     EVO_OK);
    ck_assert(v <= best);
  }
  evo_population_free(pop);
}
END_TEST

/* ---- failing callbacks -------------------------------------------------- */

START_TEST(test_failing_callback) {
  fit_ctx fit = {.fail_terms = 2, .nan_terms = 3};
  prog_ctx p;
  run_cfg c = small_cfg;
  c.workers = 2;
  evo_population *pop = logged_run(&c, &fit, &p);
  size_t failures = 0;
  for (size_t g = 0; g < (size_t)c.generations; g++) {
    const snapshot *s = &snaps[g];
    for (size_t i = 0; i < s->n; i++) {
      size_t k = evo_genome_term_count(&s->g[i]);
      if (k == 2 || k == 3) {
        failures++;
        ck_assert(s->f[i] == -1.0);
        ck_assert_int_eq(s->status[i], k == 2 ? EVO_ENOTFOUND : EVO_ECALLBACK);
        ck_assert_ptr_nonnull(strstr(s->msg[i], k == 2 ? "synthetic-failure"
                                                       : "non-finite"));
      } else {
        ck_assert(s->f[i] == synthetic(&s->g[i], 0));
        ck_assert_int_eq(s->status[i], EVO_OK);
        ck_assert_str_eq(s->msg[i], "");
      }
    }
    check_history_entry(pop, g, s);
  }
  ck_assert_uint_gt(failures, 0);
  for (size_t r = 0; r < evo_population_hof_count(pop); r++) {
    const evo_genome *g;
    ck_assert_int_eq(evo_population_hof(pop, r, &g, NULL, NULL), EVO_OK);
    size_t k = evo_genome_term_count(g);
    ck_assert(k != 2 && k != 3); /* failures never enter */
  }
  evo_population_free(pop);
}
END_TEST

/* ---- workers ------------------------------------------------------------ */

START_TEST(test_workers_identical) {
  fit_ctx fit = {.jitter = 1, .fail_terms = 4};
  for (int fresh = 0; fresh <= 1; fresh++) {
    run_cfg c = small_cfg;
    c.fresh = fresh;
    c.size = 16;
    evo_population *ref = reference_run(&c, &fit);
    for (int64_t w = 2; w <= 4; w += 2) {
      c.workers = w;
      evo_population *pop = reference_run(&c, &fit);
      pt_assert_same_run(ref, pop, true);
      evo_population_free(pop);
    }
    if (fresh) { /* fresh seeds do reach the callback */
      run_cfg common = c;
      common.fresh = 0;
      evo_population *pop = reference_run(&common, &fit);
      double a, b;
      ck_assert_int_eq(evo_population_history(ref, 0, EVO_HIST_MEAN, &a), 0);
      ck_assert_int_eq(evo_population_history(pop, 0, EVO_HIST_MEAN, &b), 0);
      ck_assert(a != b);
      evo_population_free(pop);
    }
    evo_population_free(ref);
  }
}
END_TEST

static int reenter_cb(void *user, evo_event event, const evo_population *pop,
                      size_t generation, size_t index) {
  prog_ctx *p = user;
  (void)event;
  (void)generation;
  (void)index;
  /* a callback that casts the constness away is still refused */
  p->reenter_rc = evo_population_step((evo_population *)pop);
  return 0;
}

START_TEST(test_reentry_refused) {
  prog_ctx p = {0};
  run_cfg c = small_cfg;
  c.generations = 1;
  evo_population *pop = make_pop(&c, NULL);
  ck_assert_int_eq(evo_population_set_progress(pop, reenter_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_int_eq(p.reenter_rc, EVO_ESTATE);
  evo_population_free(pop);
}
END_TEST

/* ---- checkpoints: cancel and resume ------------------------------------- */

/* What a resumed run gets: the fitness callback on fit and a progress
 * callback that cancels every `again` evaluations. */
typedef struct reattach {
  fit_ctx *fit;
  size_t again;
  prog_ctx q;
} reattach;

static void reattach_cb(evo_population *pop, void *user) {
  reattach *r = user;
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_cb, r->fit),
                   EVO_OK);
  r->q = (prog_ctx){.cancel_after_evals = r->again};
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &r->q),
                   EVO_OK);
}

/* Runs with a checkpoint and a cancel, then resumes until finished and
 * compares with @p ref. @p evals / @p gen_event say where to stop (0:
 * nowhere); @p again stops every so many evaluations after each resume. */
static void cancel_and_resume(const run_cfg *c, const evo_population *ref,
                              size_t evals, size_t gen_event, size_t again) {
  /* with several workers, jitter lets evaluations overlap the checkpoint
   * writes (a data race there shows in the -fsanitize=thread build) */
  fit_ctx fit = {.jitter = c->workers > 1};
  pt_tmp t;
  pt_tmp_make(&t);
  prog_ctx p = {.cancel_after_evals = evals, .cancel_at_gen = gen_event};
  evo_population *pop = make_pop(c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "synthetic v1"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_ECANCELED);
  evo_population_free(pop);
  reattach r = {.fit = &fit, .again = again};
  pop = pt_resume_until_done(t.file, "synthetic v1", reattach_cb, &r);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(pop);
  pt_tmp_remove(&t);
}

START_TEST(test_cancel_resume) {
  run_cfg c = small_cfg; /* 12 individuals, 5 generations */
  for (int64_t w = 1; w <= 3; w += 2) {
    c.workers = w;
    evo_population *ref = reference_run(&c, NULL);
    /* mid-generation, the last evaluation of a generation, the first of
     * the next, deep in the run */
    const size_t evals[] = {1, 5, 11, 12, 13, 24, 30, 59};
    for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++)
      cancel_and_resume(&c, ref, evals[i], 0, 0);
    /* at generation events, the last one included (the run is then done) */
    for (size_t g = 1; g <= 5; g++)
      cancel_and_resume(&c, ref, 0, g, 0);
    /* stopped again and again */
    cancel_and_resume(&c, ref, 3, 0, 7);
    evo_population_free(ref);
  }
}
END_TEST

START_TEST(test_cancel_stops_work) {
  /* With one worker a cancel at evaluation k leaves exactly k evaluated. */
  pt_tmp t;
  pt_tmp_make(&t);
  prog_ctx p = {.cancel_after_evals = 5};
  evo_population *pop = make_pop(&small_cfg, NULL);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ECANCELED);
  ck_assert_uint_eq(evo_population_evaluated(pop), 5);
  ck_assert_uint_eq(p.last_index, 4);
  double f;
  ck_assert_int_eq(evo_population_individual(pop, 5, NULL, &f), EVO_OK);
  ck_assert(isnan(f));
  evo_population *back = NULL;
  ck_assert_int_eq(evo_population_resume(&back, t.file, NULL), EVO_OK);
  ck_assert_uint_eq(evo_population_evaluated(back), 5);
  ck_assert_uint_eq(evo_population_generation(back), 0);
  int64_t v;
  ck_assert_int_eq(evo_population_get(back, EVO_POP_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, small_cfg.size);
  ck_assert_int_eq(evo_population_step(back), EVO_ESTATE); /* no fitness */
  /* the same step continues in the original object too */
  p.cancel_after_evals = 0;
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  ck_assert_uint_eq(p.evals, 12);
  evo_population_free(back);
  evo_population_free(pop);
  pt_tmp_remove(&t);
}
END_TEST

START_TEST(test_cancel_with_workers) {
  /* After a stop no event comes, but the evaluations still running are
   * recorded and checkpointed. */
  pt_tmp t;
  pt_tmp_make(&t);
  fit_ctx fit = {.jitter = 1};
  run_cfg c = small_cfg;
  c.workers = 3;
  prog_ctx p = {.cancel_after_evals = 1};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ECANCELED);
  ck_assert_uint_eq(p.evals, 1);
  size_t done = evo_population_evaluated(pop);
  ck_assert_uint_ge(done, 1);
  evo_population *back = NULL;
  ck_assert_int_eq(evo_population_resume(&back, t.file, NULL), EVO_OK);
  ck_assert_uint_eq(evo_population_evaluated(back), done);
  for (size_t i = 0; i < (size_t)c.size; i++) {
    double a, b;
    ck_assert_int_eq(evo_population_individual(pop, i, NULL, &a), EVO_OK);
    ck_assert_int_eq(evo_population_individual(back, i, NULL, &b), EVO_OK);
    ck_assert(pt_same_bits(a, b) || (isnan(a) && isnan(b)));
  }
  evo_population_free(back);
  evo_population_free(pop);
  pt_tmp_remove(&t);
}
END_TEST

START_TEST(test_checkpoint_write_error) {
  run_cfg c = small_cfg;
  evo_population *ref = reference_run(&c, NULL);
  evo_population *pop = make_pop(&c, NULL);
  ck_assert_int_eq(evo_population_set_checkpoint(
                       pop, "/nonexistent-folder/x/run.ckpt", "t"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_EIO);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "/nonexistent-folder/x"));
  ck_assert_uint_eq(evo_population_evaluated(pop), 1);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, NULL, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK); /* goes on */
  pt_assert_same_run(ref, pop, true);
  evo_population_free(pop);
  evo_population_free(ref);
}
END_TEST

START_TEST(test_checkpoint_bit_exact) {
  /* Odd genomes survive a checkpoint bit for bit: λ = 0, -0.0, a removed
   * term (stale slot), long mantissas. */
  evo_genome *g[3] = {NULL, NULL, NULL};
  ck_assert_int_eq(evo_genome_preset(&g[0], "adam-nowd"), EVO_OK);
  ck_assert_int_eq(evo_genome_preset(&g[1], "paper-evolved"), EVO_OK);
  ck_assert_int_eq(evo_genome_remove_term(g[1], 1), EVO_OK);
  ck_assert_int_eq(evo_genome_set_term(g[1], 0, EVO_TERM_UNIT, -0.0), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g[1], EVO_GENE_LR_LOG10, 0.1 + 0.2 - 3.0),
                   EVO_OK);
  ck_assert_int_eq(evo_genome_random(&g[2], 123), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g[2], EVO_GENE_LR_LOG10, 0.0), EVO_OK);
  pt_tmp t;
  pt_tmp_make(&t);
  prog_ctx p = {.cancel_after_evals = 2};
  evo_population *pop = make_pop(&small_cfg, NULL);
  const evo_genome *init[3] = {g[0], g[1], g[2]};
  ck_assert_int_eq(evo_population_set_initial(pop, init, 3), EVO_OK);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "x"), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_ECANCELED);
  evo_population *back = NULL;
  ck_assert_int_eq(evo_population_resume(&back, t.file, "x"), EVO_OK);
  for (size_t i = 0; i < 12; i++) {
    const evo_genome *a, *b;
    double fa, fb;
    ck_assert_int_eq(evo_population_individual(pop, i, &a, &fa), EVO_OK);
    ck_assert_int_eq(evo_population_individual(back, i, &b, &fb), EVO_OK);
    ck_assert(evo_genome_equal(a, b));
    ck_assert(memcmp(a->terms, b->terms, sizeof a->terms) == 0);
    ck_assert(memcmp(a->alphas, b->alphas, sizeof a->alphas) == 0);
    ck_assert(pt_same_bits(fa, fb));
    if (i < 3)
      ck_assert(evo_genome_equal(b, g[i]));
  }
  ck_assert(back->initial[1].alphas[3] == g[1]->alphas[3]); /* stale slot */
  ck_assert(signbit(back->ind[1].genome.alphas[0]));
  evo_population_free(back);
  evo_population_free(pop);
  for (int i = 0; i < 3; i++)
    evo_genome_free(g[i]);
  pt_tmp_remove(&t);
}
END_TEST

/* ---- checkpoints: refusal ----------------------------------------------- */

/* A finished two-generation run's checkpoint, as bytes. */
static unsigned char *valid_checkpoint(const char *path, size_t *size) {
  run_cfg c = small_cfg;
  c.generations = 2;
  evo_population *pop = make_pop(&c, NULL);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, path, "tag-A"), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population_free(pop);
  return read_all(path, size);
}

/* Writes @p bytes to the checkpoint, expects resume to fail with @p want
 * and the file to be untouched. */
static void expect_refused(const pt_tmp *t, const void *bytes, size_t size,
                           const char *tag, int want) {
  write_all(t->file, bytes, size);
  static int sentinel;
  evo_population *pop = (evo_population *)&sentinel; /* must become NULL */
  int rc = evo_population_resume(&pop, t->file, tag);
  ck_assert_msg(rc == want, "resume gave %d (%s), expected %d", rc,
                evo_last_error(), want);
  ck_assert_ptr_null(pop);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), t->file));
  size_t after_size;
  unsigned char *after = read_all(t->file, &after_size);
  ck_assert_uint_eq(after_size, size);
  ck_assert(size == 0 || memcmp(after, bytes, size) == 0);
  free(after);
}

START_TEST(test_checkpoint_refused) {
  pt_tmp t;
  pt_tmp_make(&t);
  size_t size;
  unsigned char *good = valid_checkpoint(t.file, &size);
  unsigned char *bad = malloc(size);
  ck_assert_ptr_nonnull(bad);
  /* a flipped byte anywhere: magic, version, length, payload, CRC */
  const size_t at[] = {0, 9, 13, 40, size / 2, size - 10, size - 1};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    memcpy(bad, good, size);
    bad[at[i]] ^= 0x20;
    expect_refused(&t, bad, size, "tag-A", EVO_EFORMAT);
  }
  /* truncated */
  const size_t keep[] = {size - 1, size / 2, 30, 10, 0};
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    expect_refused(&t, good, keep[i], "tag-A", EVO_EFORMAT);
  /* another tag */
  expect_refused(&t, good, size, "tag-B", EVO_EMISMATCH);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "tag-A"));
  /* random bytes */
  evo_rng r;
  evo_rng_seed(&r, 1);
  for (size_t i = 0; i < size; i++)
    bad[i] = (unsigned char)evo_rng_below(&r, 256);
  expect_refused(&t, bad, size, NULL, EVO_EFORMAT);
  /* the right tag or none works on the original */
  write_all(t.file, good, size);
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_resume(&pop, t.file, NULL), EVO_OK);
  ck_assert(evo_population_finished(pop));
  evo_population_free(pop);
  ck_assert_int_eq(evo_population_resume(&pop, t.file, "tag-A"), EVO_OK);
  evo_population_free(pop);
  ck_assert_int_eq(evo_population_resume(&pop, "/nonexistent/ckpt", NULL),
                   EVO_EIO);
  ck_assert_int_eq(evo_population_resume(NULL, t.file, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_population_resume(&pop, NULL, NULL), EVO_EINVAL);
  free(bad);
  free(good);
  pt_tmp_remove(&t);
}
END_TEST

/* Frames @p payload with @p magic and @p version and expects refusal. */
static void expect_frame_refused(const pt_tmp *t, const char magic[8],
                                 uint32_t version, const void *payload,
                                 size_t n, int want) {
  evo_wbuf w = {0};
  evo_wbuf_bytes(&w, payload, n);
  unsigned char *file;
  size_t size;
  ck_assert_int_eq(evo_frame_wrap(magic, version, &w, &file, &size), EVO_OK);
  expect_refused(t, file, size, NULL, want);
  free(file);
  evo_wbuf_free(&w);
}

START_TEST(test_checkpoint_foreign) {
  pt_tmp t;
  pt_tmp_make(&t);
  size_t size;
  unsigned char *good = valid_checkpoint(t.file, &size);
  const unsigned char *payload = good + 20; /* magic, version, length */
  size_t n = size - 24;                     /* ... and the CRC */
  /* the same payload under another format's magic (e.g. optimizer state) */
  expect_frame_refused(&t, "EVOOPTST", 1, payload, n, EVO_EFORMAT);
  /* a later format version, and version 1 (before the cache) */
  expect_frame_refused(&t, "EVOOPTCK", 6, payload, n, EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "version 6"));
  expect_frame_refused(&t, "EVOOPTCK", 1, payload, n, EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "version 1"));
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "versions 2 to 5"));
  /* a version 5 payload under the version 2, 3 and 4 frames: read as
   * those, it does not parse */
  expect_frame_refused(&t, "EVOOPTCK", 2, payload, n, EVO_EFORMAT);
  expect_frame_refused(&t, "EVOOPTCK", 3, payload, n, EVO_EFORMAT);
  expect_frame_refused(&t, "EVOOPTCK", 4, payload, n, EVO_EFORMAT);
  /* a valid frame around a short, padded or garbage payload */
  expect_frame_refused(&t, "EVOOPTCK", 5, payload, n / 2, EVO_EFORMAT);
  unsigned char *padded = calloc(n + 3, 1);
  ck_assert_ptr_nonnull(padded);
  memcpy(padded, payload, n);
  expect_frame_refused(&t, "EVOOPTCK", 5, padded, n + 3, EVO_EFORMAT);
  free(padded);
  /* a few bytes changed under a correct checksum */
  pt_fuzz_checkpoint(t.file, payload, n, 0, 5, 300, 2);
  free(good);
  pt_tmp_remove(&t);
}
END_TEST

static Suite *population_suite(void) {
  Suite *s = suite_create("population");
  TCase *tc = tcase_create("loop");
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_settings_ranges);
  tcase_add_test(tc, test_set_initial);
  tcase_add_test(tc, test_generation0);
  tcase_add_test(tc, test_history);
  tcase_add_test(tc, test_elites);
  tcase_add_test(tc, test_hall_of_fame);
  tcase_add_test(tc, test_failing_callback);
  tcase_add_test(tc, test_workers_identical);
  tcase_add_test(tc, test_reentry_refused);
  suite_add_tcase(s, tc);
  TCase *ck = tcase_create("checkpoint");
  tcase_add_test(ck, test_cancel_resume);
  tcase_add_test(ck, test_cancel_stops_work);
  tcase_add_test(ck, test_cancel_with_workers);
  tcase_add_test(ck, test_checkpoint_write_error);
  tcase_add_test(ck, test_checkpoint_bit_exact);
  tcase_add_test(ck, test_checkpoint_refused);
  tcase_add_test(ck, test_checkpoint_foreign);
  suite_add_tcase(s, ck);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(population_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Steady-state ("aging") evolution (population.h, doc/algorithm.md §9.4):
 * the same run for any number of workers and any finishing order at one
 * window W; the window rule and the aging rule, recomputed here from what
 * the fitness callback saw; kill-and-resume identity; the budget; ASHA
 * promotions; the bounds of EVO_POP_WINDOW.
 *
 * Every expected value is computed here: the population at each commit
 * from the log of evaluations (the last N committed, job j in slot
 * j mod N), each child from the documented rule with evo_genome_breed()
 * and seeds derived as doc/algorithm.md §4.4 says (splitmix64 chained over
 * the tuple, written out below), the history from the logged fitness
 * values, promotions by re-ranking each rung's results, stopping points
 * by summing the callback's costs. */
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
#include "genome/genome_internal.h" /* genomes by value in the logs */
#include "pop_testlib.h"

/* ---- seeds, as doc/algorithm.md §4.4 defines them ----------------------- */

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint64_t derive(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a, h = splitmix(&x);
  x = h ^ b;
  h = splitmix(&x);
  x = h ^ c;
  return splitmix(&x);
}

/* ASCII "steady": the stream of child k's crossover and mutation. */
#define TAG_STEADY UINT64_C(0x737465616479)

/* ---- a synthetic fitness ------------------------------------------------ */

#define MAX_LOG 4096

/* One call of the fitness callback. */
typedef struct call_rec {
  evo_genome g;
  uint64_t seed;
  uint32_t rung;
  double f; /* what the run must record: -1 for a failure */
} call_rec;

typedef struct fit_ctx {
  uint64_t fail_mod; /* fail when hash % fail_mod == 0 (0: never) */
  int jitter;        /* sleep a genome-dependent few microseconds */
  double cost;       /* core-seconds per evaluation, times (rung + 1) */
  pthread_mutex_t mu;
  call_rec *log; /* every call, in call order */
  size_t n_log;
} fit_ctx;

static void fit_init(fit_ctx *f) {
  memset(f, 0, sizeof *f);
  ck_assert_int_eq(pthread_mutex_init(&f->mu, NULL), 0);
  f->log = calloc(MAX_LOG, sizeof *f->log);
  ck_assert_ptr_nonnull(f->log);
}

static void fit_done(fit_ctx *f) {
  free(f->log);
  pthread_mutex_destroy(&f->mu);
}

/* In (0.1, 0.9): a function of the genome and the rung, so that distinct
 * genomes (as good as) never tie, plus a trace of the seed. */
static double fit_value(uint64_t h, uint64_t seed, uint32_t rung) {
  uint64_t m = pt_mix64(h ^ (UINT64_C(0x9e3779b97f4a7c15) * (rung + 1)));
  return 0.1 + 0.8 * (double)(m >> 11) * 0x1.0p-53 +
         1e-6 * (double)(seed % 1000);
}

static int fitness_cb(void *user, const evo_genome *g, uint64_t seed,
                      uint32_t rung, evo_report *report) {
  fit_ctx *ctx = user;
  uint64_t h = pt_genome_hash(g, 1);
  int fail = ctx->fail_mod != 0 && h % ctx->fail_mod == 0;
  double f = fit_value(h, seed, rung);
  if (ctx->jitter) {
    struct timespec ts = {0, (long)(1000 * (h % 400))};
    nanosleep(&ts, NULL);
  }
  pthread_mutex_lock(&ctx->mu);
  ck_assert_uint_lt(ctx->n_log, MAX_LOG);
  ctx->log[ctx->n_log++] = (call_rec){*g, seed, rung, fail ? -1.0 : f};
  pthread_mutex_unlock(&ctx->mu);
  if (ctx->cost > 0.0)
    ck_assert_int_eq(
        evo_report_set_cost(report, ctx->cost * (double)(rung + 1)), EVO_OK);
  if (fail) {
    evo_genome *none = NULL;
    return evo_genome_preset(&none, "no-such-preset"); /* a real failure */
  }
  ck_assert_int_eq(evo_report_add_task(report, "t", f), EVO_OK);
  return evo_report_set_fitness(report, f);
}

static int fitness_plain_cb(void *user, const evo_genome *g, uint64_t seed,
                            evo_report *report) {
  return fitness_cb(user, g, seed, 0, report);
}

/* ---- runs --------------------------------------------------------------- */

typedef struct cfg {
  int64_t size, generations, tournament, window, workers, fresh, cache;
  int64_t rungs, promote, budget;
  uint64_t seed;
} cfg;

static evo_population *make_pop(const cfg *c, fit_ctx *fit) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  pt_set_ok(pop, EVO_POP_ALGORITHM, EVO_ALGO_STEADY);
  pt_set_ok(pop, EVO_POP_SIZE, c->size);
  pt_set_ok(pop, EVO_POP_GENERATIONS, c->generations);
  pt_set_ok(pop, EVO_POP_ELITES, 1);
  pt_set_ok(pop, EVO_POP_TOURNAMENT, c->tournament);
  pt_set_ok(pop, EVO_POP_WINDOW, c->window);
  pt_set_ok(pop, EVO_POP_WORKERS, c->workers > 0 ? c->workers : 1);
  pt_set_ok(pop, EVO_POP_FRESH_SEEDS, c->fresh);
  pt_set_ok(pop, EVO_POP_CACHE, c->cache);
  pt_set_ok(pop, EVO_POP_RUNGS, c->rungs > 0 ? c->rungs : 1);
  pt_set_ok(pop, EVO_POP_PROMOTE, c->promote > 0 ? c->promote : 3);
  pt_set_ok(pop, EVO_POP_BUDGET, c->budget);
  pt_set_ok(pop, EVO_POP_HALL_OF_FAME, 1000);
  pt_set_ok(pop, EVO_POP_RUN_SEED, (int64_t)c->seed);
  ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_cb, fit),
                   EVO_OK);
  return pop;
}

/* Resumes the checkpoint at @p path with the fitness callback on @p fit. */
static evo_population *resume_steady(const char *path, fit_ctx *fit) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_resume(&pop, path, "steady"), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_cb, fit),
                   EVO_OK);
  return pop;
}

/* ---- a back end that finishes jobs in a scrambled order ----------------- */

#define MAX_SLOTS 64

typedef struct held_job {
  uint64_t id, seed;
  uint32_t rung;
  evo_genome g;
} held_job;

/* Holds up to `slots` jobs and hands back a pseudo-random one; checks the
 * window rule at every submit against the commits the progress callback
 * has counted. */
typedef struct shuffle_be {
  fit_ctx *fit;
  size_t slots, n;
  held_job held[MAX_SLOTS];
  uint64_t state;
  const size_t *committed; /* the progress callback's count */
  uint64_t size, window;
  size_t max_held, submitted, collected;
  size_t fail_at; /* collect fails (the back end is lost) at this call */
} shuffle_be;

static int shuffle_submit(void *user, uint64_t job, const evo_genome *g,
                          uint64_t seed, uint32_t rung) {
  shuffle_be *b = user;
  ck_assert_uint_lt(b->n, b->slots);
  if (job >= b->size) /* a child: jobs 0..job-W are committed */
    ck_assert_msg(job < *b->committed + b->window,
                  "job %llu submitted with %zu committed, window %llu",
                  (unsigned long long)job, *b->committed,
                  (unsigned long long)b->window);
  b->held[b->n++] = (held_job){job, seed, rung, *g};
  b->submitted++;
  if (b->n > b->max_held)
    b->max_held = b->n;
  return EVO_OK;
}

static int shuffle_collect(void *user, uint64_t *job, evo_report *report,
                           int *status, char *message, size_t cap) {
  shuffle_be *b = user;
  ck_assert_uint_gt(b->n, 0);
  if (++b->collected == b->fail_at) {
    b->n = 0; /* every job forgotten, as backend.h asks */
    return EVO_EIO;
  }
  b->state = pt_mix64(b->state + 1);
  size_t i = (size_t)(b->state % b->n);
  held_job h = b->held[i];
  b->held[i] = b->held[--b->n];
  *job = h.id;
  *status = fitness_cb(b->fit, &h.g, h.seed, h.rung, report);
  if (*status != EVO_OK)
    snprintf(message, cap, "%s", evo_last_error());
  return EVO_OK;
}

/* ---- progress: a log of commits ----------------------------------------- */

typedef struct commit_rec {
  evo_genome g;
  double f;
  uint32_t rung;
} commit_rec;

typedef struct prog_ctx {
  size_t committed, gens;
  size_t stop_at;            /* stop at this commit (1-based; 0: never) */
  const char *snapshot_from; /* copy the checkpoint at every commit */
  char snapshot_dir[96];
  commit_rec *log; /* every commit as the getters show it (or NULL) */
  size_t size;
  int check_events; /* generation and index against the count */
} prog_ctx;

static void copy_file(const char *from, const char *to) {
  unsigned char *b = NULL;
  size_t n = 0;
  ck_assert_int_eq(evo_read_file(from, (size_t)1 << 30, &b, &n), EVO_OK);
  FILE *f = fopen(to, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
  free(b);
}

static int progress_cb(void *user, evo_event event, const evo_population *pop,
                       size_t generation, size_t index) {
  prog_ctx *p = user;
  ck_assert_uint_eq(generation, evo_population_generation(pop));
  if (event == EVO_EVENT_GENERATION) {
    ck_assert_uint_eq(evo_population_history_count(pop), generation + 1);
    if (p->check_events) { /* a run followed from its start */
      ck_assert_uint_eq(generation, p->gens);
      ck_assert_uint_eq(p->committed, (generation + 1) * p->size);
    }
    p->gens++;
    return 0;
  }
  if (p->check_events) /* job j is individual j mod N of generation j / N */
    ck_assert_uint_eq(generation * p->size + index, p->committed);
  if (p->log != NULL) {
    commit_rec *r = &p->log[p->committed];
    const evo_genome *g = NULL;
    ck_assert_int_eq(evo_population_individual(pop, index, &g, &r->f), EVO_OK);
    r->g = *g;
    ck_assert_int_eq(evo_population_individual_rung(pop, index, &r->rung),
                     EVO_OK);
  }
  p->committed++;
  if (p->snapshot_from != NULL) {
    char to[160];
    snprintf(to, sizeof to, "%s/kill-%zu", p->snapshot_dir, p->committed);
    copy_file(p->snapshot_from, to);
  }
  return p->stop_at != 0 && p->committed == p->stop_at;
}

/* An evaluation back end on @p sb. */
static evo_backend *shuffle_backend(shuffle_be *sb) {
  evo_backend *be = NULL;
  ck_assert_int_eq(evo_backend_new_rung(&be, sb->slots, shuffle_submit,
                                        shuffle_collect, NULL, sb),
                   EVO_OK);
  return be;
}

/* A population of @p c evaluating through @p be, reporting to @p p. */
static evo_population *make_pop_on(const cfg *c, fit_ctx *fit,
                                   evo_backend *be, prog_ctx *p) {
  evo_population *pop = make_pop(c, fit);
  ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, p), EVO_OK);
  return pop;
}

/* ---- 1. the same run for any number of workers -------------------------- */

/* A run of @p c with checkpoints at @p path: its fitness calls counted. */
static evo_population *run_to_end(const cfg *c, fit_ctx *fit,
                                  const char *path) {
  evo_population *pop = make_pop(c, fit);
  if (path != NULL)
    ck_assert_int_eq(evo_population_set_checkpoint(pop, path, "steady"),
                     EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert(evo_population_finished(pop));
  return pop;
}

/* The setting of the tests that compare with an uninterrupted run: a
 * checkpoint file for the reference and one for the run under test, the
 * fitness (failing when hash % @p fail_mod == 0, 0 never; @p cost
 * core-seconds per evaluation; @p jitter as fit_ctx's) and the reference
 * run of @p c, returned. */
static evo_population *start_ref(const cfg *c, fit_ctx *fit, pt_tmp *ref_t,
                                 pt_tmp *t, uint64_t fail_mod, double cost,
                                 int jitter) {
  pt_tmp_make_shm(ref_t);
  pt_tmp_make_shm(t);
  fit_init(fit);
  fit->fail_mod = fail_mod;
  fit->cost = cost;
  fit->jitter = jitter;
  return run_to_end(c, fit, ref_t->file);
}

/* Frees what start_ref() made. */
static void end_ref(evo_population *ref, fit_ctx *fit, pt_tmp *ref_t,
                    pt_tmp *t) {
  evo_population_free(ref);
  fit_done(fit);
  pt_tmp_remove(ref_t);
  pt_tmp_remove(t);
}

static void check_workers(const cfg *base) {
  pt_tmp t[4];
  evo_population *ref = NULL;
  size_t ref_calls = 0;
  const int64_t workers[] = {1, 2, 4};
  for (int w = 0; w < 3; w++) {
    cfg c = *base;
    c.workers = workers[w];
    fit_ctx fit;
    fit_init(&fit);
    fit.fail_mod = 9;
    fit.cost = 0.5;
    fit.jitter = c.workers > 1;
    pt_tmp_make_shm(&t[w]);
    evo_population *pop = run_to_end(&c, &fit, t[w].file);
    if (w == 0) {
      ref = pop;
      ref_calls = fit.n_log;
    } else {
      pt_assert_same_end(ref, pop, t[0].file, t[w].file, true, 5);
      ck_assert_uint_eq(fit.n_log, ref_calls); /* hits are the same too */
      evo_population_free(pop);
    }
    fit_done(&fit);
  }
  /* Results handed back in a scrambled order, 7 slots. */
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 9;
  fit.cost = 0.5;
  prog_ctx p = {.size = (size_t)base->size, .check_events = 1};
  shuffle_be sb = {.fit = &fit,
                   .slots = 7,
                   .state = 99,
                   .committed = &p.committed,
                   .size = (uint64_t)base->size,
                   .window = (uint64_t)base->window};
  evo_backend *be = shuffle_backend(&sb);
  pt_tmp_make_shm(&t[3]);
  evo_population *pop = make_pop_on(base, &fit, be, &p);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t[3].file, "steady"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  pt_assert_same_end(ref, pop, t[0].file, t[3].file, true, 5);
  ck_assert_uint_eq(fit.n_log, ref_calls);
  ck_assert_uint_eq(p.committed, (size_t)(base->size * base->generations));
  ck_assert_uint_eq(p.gens, (size_t)base->generations);
  /* generation 0 fills the slots; later at most W are out */
  ck_assert_uint_eq(sb.max_held, sb.slots);
  evo_population_free(pop);
  evo_backend_free(be);
  fit_done(&fit);
  evo_population_free(ref);
  for (int w = 0; w < 4; w++)
    pt_tmp_remove(&t[w]);
}

START_TEST(test_workers) {
  /* fresh seeds, the cache, failures; a window below and above the size */
  cfg c = {.size = 10,
           .generations = 6,
           .tournament = 3,
           .window = 3,
           .fresh = 1,
           .cache = 2,
           .seed = 7};
  check_workers(&c);
  c.window = 13;
  c.fresh = 0;
  c.cache = 1;
  check_workers(&c);
}
END_TEST

/* A window of W keeps at most W children out at once, whatever the slots. */
START_TEST(test_window_in_flight) {
  for (int64_t w = 1; w <= 5; w += 2) {
    fit_ctx fit;
    fit_init(&fit);
    prog_ctx p = {.size = 6};
    shuffle_be sb = {.fit = &fit,
                     .slots = 20,
                     .state = 5,
                     .committed = &p.committed,
                     .size = 6,
                     .window = (uint64_t)w};
    evo_backend *be = shuffle_backend(&sb);
    cfg c = {
        .size = 6, .generations = 5, .tournament = 2, .window = w, .seed = 3};
    evo_population *pop = make_pop_on(&c, &fit, be, &p);
    ck_assert_int_eq(evo_population_run(pop), EVO_OK);
    ck_assert_uint_eq(sb.submitted, 30);
    ck_assert_uint_eq(sb.max_held, 6); /* generation 0, all at once */
    evo_population_free(pop);
    evo_backend_free(be);
    fit_done(&fit);
  }
}
END_TEST

/* A back end that fails mid-run: the run stops with its error, keeps what
 * it had, and goes on (in the same object, or from its checkpoint) to the
 * uninterrupted run. */
START_TEST(test_backend_failure) {
  cfg c = {.size = 6,
           .generations = 5,
           .tournament = 2,
           .window = 4,
           .cache = 2,
           .seed = 12};
  pt_tmp ref_t, t;
  fit_ctx fit;
  evo_population *ref = start_ref(&c, &fit, &ref_t, &t, 0, 0.5, 0);
  for (size_t fail_at = 3; fail_at < 30; fail_at += 5) {
    for (int from_file = 0; from_file < 2; from_file++) {
      prog_ctx p = {.size = 6};
      shuffle_be sb = {.fit = &fit,
                       .slots = 5,
                       .state = fail_at,
                       .committed = &p.committed,
                       .size = 6,
                       .window = 4,
                       .fail_at = fail_at};
      evo_backend *be = shuffle_backend(&sb);
      evo_population *pop = make_pop_on(&c, &fit, be, &p);
      ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "steady"),
                       EVO_OK);
      ck_assert_int_eq(evo_population_run(pop), EVO_EIO);
      ck_assert_uint_lt(p.committed, 30);
      ck_assert_ptr_nonnull(strstr(evo_last_error(), "evaluation back end"));
      ck_assert_int_eq(evo_population_set_backend(pop, NULL), EVO_OK);
      if (from_file) {
        evo_population_free(pop);
        pop = resume_steady(t.file, &fit);
      }
      ck_assert_int_eq(evo_population_run(pop), EVO_OK);
      pt_assert_same_end(ref, pop, ref_t.file, t.file, true, 5);
      evo_population_free(pop);
      evo_backend_free(be);
    }
  }
  end_ref(ref, &fit, &ref_t, &t);
}
END_TEST

/* ---- 2. another window, another run ------------------------------------- */

START_TEST(test_window_changes_run) {
  cfg c = {
      .size = 8, .generations = 5, .tournament = 3, .window = 1, .seed = 21};
  fit_ctx fa, fb;
  fit_init(&fa);
  fit_init(&fb);
  evo_population *a = run_to_end(&c, &fa, NULL);
  c.window = 6;
  evo_population *b = run_to_end(&c, &fb, NULL);
  /* Generation 0 is the same; children differ from the first one bred
   * from another population: job 8 is bred from jobs 0..7 with W = 1 and
   * W = 6 alike, but job 9 from jobs 1..8 with W = 1, 0..7 with W = 6. */
  ck_assert_uint_eq(fa.n_log, 40);
  ck_assert_uint_eq(fb.n_log, 40);
  for (size_t k = 0; k < 9; k++)
    ck_assert(evo_genome_equal(&fa.log[k].g, &fb.log[k].g));
  size_t differ = 0;
  for (size_t k = 9; k < 40; k++)
    differ += !evo_genome_equal(&fa.log[k].g, &fb.log[k].g);
  ck_assert_uint_gt(differ, 20);
  evo_population_free(a);
  evo_population_free(b);
  fit_done(&fa);
  fit_done(&fb);
}
END_TEST

/* ---- 3. the aging rule and the window rule, recomputed ------------------ */

/* The best of jobs [from, to) in the log (distinct fitness values). */
static size_t best_of(const fit_ctx *fit, size_t from, size_t to) {
  size_t best = from;
  for (size_t j = from + 1; j < to; j++)
    if (fit->log[j].f > fit->log[best].f)
      best = j;
  return best;
}

static void check_rules(int64_t n, int64_t g, int64_t w, int fresh) {
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 11;
  size_t total = (size_t)(n * g);
  prog_ctx p = {.size = (size_t)n,
                .check_events = 1,
                .log = calloc(total, sizeof(commit_rec))};
  ck_assert_ptr_nonnull(p.log);
  /* The tournament over the whole population picks its best, so both
   * parents of child k are the best of the population it is bred from. */
  cfg c = {.size = n,
           .generations = g,
           .tournament = n,
           .window = w,
           .fresh = fresh,
           .seed = 1234};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_msg(evo_population_run(pop) == EVO_OK, "%s", evo_last_error());
  /* One worker, no cache: the callback saw the jobs in order. */
  ck_assert_uint_eq(fit.n_log, total);
  for (size_t k = 0; k < total; k++) {
    /* what was committed as job k is what was evaluated as job k */
    ck_assert(evo_genome_equal(&p.log[k].g, &fit.log[k].g));
    ck_assert(pt_same_bits(p.log[k].f, fit.log[k].f));
    uint64_t seed = fresh ? derive(c.seed, k / (size_t)n, k % (size_t)n) : 0;
    ck_assert_uint_eq(fit.log[k].seed, seed);
    if (k < (size_t)n)
      continue;
    /* bred once jobs 0..k-W were committed: from jobs c-N..c-1 */
    size_t from =
        k + 1 >= (size_t)w + (size_t)n ? k + 1 - (size_t)w : (size_t)n;
    const evo_genome *best = &fit.log[best_of(&fit, from - (size_t)n, from)].g;
    evo_genome *child = NULL;
    ck_assert_int_eq(evo_genome_breed(&child, best, best,
                                      (uint32_t)(k / (size_t)n), (uint32_t)g,
                                      derive(c.seed, k, TAG_STEADY)),
                     EVO_OK);
    ck_assert_msg(evo_genome_equal(child, &fit.log[k].g),
                  "job %zu (N %lld, W %lld) is not the child of the best of "
                  "jobs %zu..%zu",
                  k, (long long)n, (long long)w, from - (size_t)n, from - 1);
    evo_genome_free(child);
  }
  /* The population at the end: the last N jobs, job j in slot j mod N. */
  for (size_t i = 0; i < (size_t)n; i++) {
    size_t j = total - (size_t)n + i;
    const evo_genome *gi;
    double f;
    ck_assert_int_eq(evo_population_individual(pop, j % (size_t)n, &gi, &f),
                     EVO_OK);
    ck_assert(evo_genome_equal(gi, &fit.log[j].g));
    ck_assert(pt_same_bits(f, fit.log[j].f));
  }
  /* History entry h over jobs hN..hN+N-1 (the population at its close). */
  for (size_t h = 0; h < (size_t)g; h++) {
    double best = -2, worst = 2, sum = 0, v;
    size_t failed = 0;
    for (size_t j = h * (size_t)n; j < (h + 1) * (size_t)n; j++) {
      double f = fit.log[j].f;
      best = f > best ? f : best;
      worst = f < worst ? f : worst;
      sum += f;
      failed += f == -1.0;
    }
    ck_assert_int_eq(evo_population_history(pop, h, EVO_HIST_BEST, &v), EVO_OK);
    ck_assert(pt_same_bits(v, best));
    ck_assert_int_eq(evo_population_history(pop, h, EVO_HIST_WORST, &v),
                     EVO_OK);
    ck_assert(pt_same_bits(v, worst));
    ck_assert_int_eq(evo_population_history(pop, h, EVO_HIST_MEAN, &v), EVO_OK);
    ck_assert(pt_same_bits(v, sum / (double)n));
    ck_assert_int_eq(evo_population_history(pop, h, EVO_HIST_FAILED, &v),
                     EVO_OK);
    ck_assert(v == (double)failed);
    ck_assert_int_eq(evo_population_history(pop, h, EVO_HIST_EVALUATIONS, &v),
                     EVO_OK);
    ck_assert(v == (double)((h + 1) * (size_t)n));
  }
  /* The hall of fame's best: the best job of the run. */
  double hof_f;
  ck_assert_int_eq(evo_population_hof(pop, 0, NULL, &hof_f, NULL), EVO_OK);
  ck_assert(pt_same_bits(hof_f, fit.log[best_of(&fit, 0, total)].f));
  evo_population_free(pop);
  free(p.log);
  fit_done(&fit);
}

START_TEST(test_rules) {
  check_rules(6, 6, 1, 0);
  check_rules(6, 6, 4, 1);
  check_rules(5, 7, 9, 0); /* W > N: children 5..12 from generation 0 */
  check_rules(4, 10, 2, 1);
}
END_TEST

/* The population at every commit is the last N committed (the oldest
 * retired), as the getters show it from the progress callback. */
typedef struct aging_ctx {
  prog_ctx p;
  fit_ctx *fit;
  size_t violations;
} aging_ctx;

static int aging_cb(void *user, evo_event event, const evo_population *pop,
                    size_t generation, size_t index) {
  aging_ctx *a = user;
  if (event != EVO_EVENT_EVALUATION)
    return 0;
  size_t n = a->p.size, c = a->p.committed + 1; /* jobs 0..c-1 committed */
  (void)generation;
  (void)index;
  pthread_mutex_lock(&a->fit->mu);
  for (size_t i = 0; i < n && c >= n; i++) {
    /* slot i holds the last committed job j with j mod N = i */
    size_t j = c - n + ((i + n - (c - n) % n) % n);
    const evo_genome *g;
    double f;
    ck_assert_int_eq(evo_population_individual(pop, i, &g, &f), EVO_OK);
    ck_assert_uint_eq(j % n, i);
    /* the committed job j is the one the callback evaluated as j: with
     * one worker, the j-th call */
    a->violations += !evo_genome_equal(g, &a->fit->log[j].g) ||
                     !pt_same_bits(f, a->fit->log[j].f);
  }
  pthread_mutex_unlock(&a->fit->mu);
  a->p.committed++;
  return 0;
}

START_TEST(test_aging) {
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 7;
  aging_ctx a = {.p = {.size = 7}, .fit = &fit};
  cfg c = {
      .size = 7, .generations = 6, .tournament = 3, .window = 2, .seed = 77};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_progress(pop, aging_cb, &a), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(a.p.committed, 42);
  ck_assert_uint_eq(a.violations, 0);
  evo_population_free(pop);
  fit_done(&fit);
}
END_TEST

/* ---- 4. kill and resume ------------------------------------------------- */

/* A reference run that copies its checkpoint after every commit (the file
 * a kill at that moment leaves); each copy resumed and finished must give
 * the reference run and its final checkpoint byte for byte. */
static void check_kills(const cfg *c, size_t every) {
  pt_tmp t;
  pt_tmp_make_shm(&t);
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 8;
  fit.cost = 0.25;
  prog_ctx p = {.size = (size_t)c->size, .snapshot_from = t.file};
  snprintf(p.snapshot_dir, sizeof p.snapshot_dir, "%s", t.dir);
  evo_population *ref = make_pop(c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(ref, t.file, "steady"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(ref, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(ref), EVO_OK);
  size_t total = (size_t)(c->size * c->generations);
  ck_assert_uint_eq(p.committed, total);
  for (size_t k = 1; k < total; k += every) {
    char kill[160], end[160];
    snprintf(kill, sizeof kill, "%s/kill-%zu", t.dir, k);
    snprintf(end, sizeof end, "%s/end-%zu", t.dir, k);
    copy_file(kill, end);
    evo_population *pop = resume_steady(end, &fit);
    int64_t v;
    ck_assert_int_eq(evo_population_get(pop, EVO_POP_WINDOW, &v), EVO_OK);
    ck_assert_int_eq(v, c->window);
    ck_assert_uint_eq(evo_population_generation(pop), (k - 1) / p.size);
    pt_set_ok(pop, EVO_POP_WORKERS, 1 + (int64_t)(k % 3));
    ck_assert_int_eq(evo_population_run(pop), EVO_OK);
    pt_assert_same_end(ref, pop, t.file, end, true, 5);
    evo_population_free(pop);
    remove(kill);
    remove(end);
  }
  for (size_t k = 1; k <= total; k++) {
    char kill[160];
    snprintf(kill, sizeof kill, "%s/kill-%zu", t.dir, k);
    remove(kill);
  }
  evo_population_free(ref);
  fit_done(&fit);
  pt_tmp_remove(&t);
}

START_TEST(test_kill_resume) {
  cfg c = {.size = 6,
           .generations = 5,
           .tournament = 2,
           .window = 3,
           .fresh = 1,
           .cache = 2,
           .seed = 8};
  check_kills(&c, 1);
  c.window = 8;
  c.cache = 0;
  check_kills(&c, 2);
}
END_TEST

/* Stopping from the progress callback (results in flight are still
 * committed) and resuming, again and again. */
START_TEST(test_stop_resume) {
  cfg c = {.size = 8,
           .generations = 5,
           .tournament = 3,
           .window = 4,
           .workers = 3,
           .cache = 2,
           .seed = 31};
  pt_tmp ref_t, t;
  fit_ctx fit;
  evo_population *ref = start_ref(&c, &fit, &ref_t, &t, 6, 1.0, 1);
  for (size_t first = 1; first < 40; first += 7) {
    prog_ctx p = {.size = 8, .stop_at = first};
    evo_population *pop = make_pop(&c, &fit);
    ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "steady"),
                     EVO_OK);
    ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
    int rc = evo_population_run(pop);
    for (int resumes = 0; rc == EVO_ECANCELED; resumes++) {
      ck_assert_int_lt(resumes, 100);
      evo_population_free(pop);
      pop = resume_steady(t.file, &fit);
      prog_ctx q = {.size = 8, .stop_at = 5};
      ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &q),
                       EVO_OK);
      if (evo_population_finished(pop)) /* stopped at its last commit */
        rc = EVO_OK;
      else if (resumes % 2)
        rc = evo_population_step(pop);
      else
        rc = evo_population_run(pop);
      if (rc == EVO_OK && !evo_population_finished(pop))
        rc = EVO_ECANCELED; /* a step: go on from the checkpoint */
    }
    ck_assert_msg(rc == EVO_OK, "%d: %s", rc, evo_last_error());
    pt_assert_same_end(ref, pop, ref_t.file, t.file, true, 5);
    evo_population_free(pop);
  }
  end_ref(ref, &fit, &ref_t, &t);
}
END_TEST

/* Steps: one generation each, the same run as evo_population_run. */
START_TEST(test_steps) {
  cfg c = {.size = 5,
           .generations = 4,
           .tournament = 2,
           .window = 3,
           .workers = 2,
           .seed = 4};
  fit_ctx fit;
  fit_init(&fit);
  evo_population *ref = run_to_end(&c, &fit, NULL);
  evo_population *pop = make_pop(&c, &fit);
  for (size_t g = 0; g < 4; g++) {
    ck_assert_int_eq(evo_population_step(pop), EVO_OK);
    ck_assert_uint_eq(evo_population_generation(pop), g + 1);
    ck_assert_uint_eq(evo_population_history_count(pop), g + 1);
  }
  ck_assert(evo_population_finished(pop));
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(pop);
  evo_population_free(ref);
  fit_done(&fit);
}
END_TEST

/* ---- 5. the budget ------------------------------------------------------ */

START_TEST(test_budget) {
  /* Every evaluation costs 1.5 core-seconds; a budget of 10 is reached by
   * the 7th result (10.5), after which nothing more is handed out. */
  cfg c = {
      .size = 6, .generations = 4, .tournament = 2, .window = 2, .seed = 9};
  pt_tmp ref_t, t;
  fit_ctx fit;
  evo_population *ref = start_ref(&c, &fit, &ref_t, &t, 0, 1.5, 0);
  ck_assert(pt_same_bits(evo_population_compute(ref), 24 * 1.5));
  c.budget = 10;
  fit.n_log = 0;
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "steady"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert(evo_population_finished(pop));
  ck_assert_uint_eq(fit.n_log, 7);
  ck_assert(pt_same_bits(evo_population_compute(pop), 10.5));
  ck_assert_uint_eq(evo_population_generation(pop), 1);
  ck_assert_uint_eq(evo_population_evaluated(pop), 1);
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE); /* finished */
  evo_population_free(pop);
  /* resumed: still spent; a budget of 20 reaches 21 at the 14th result */
  pop = resume_steady(t.file, &fit);
  ck_assert(evo_population_finished(pop));
  pt_set_ok(pop, EVO_POP_BUDGET, 20);
  ck_assert(!evo_population_finished(pop));
  pt_set_ok(pop, EVO_POP_WORKERS, 3); /* more may be out: stops at >= 20 */
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert(evo_population_finished(pop));
  double spent = evo_population_compute(pop);
  ck_assert(spent >= 21.0 && spent <= 21.0 + 2 * 1.5);
  /* no budget: the end of the uninterrupted run */
  pt_set_ok(pop, EVO_POP_BUDGET, 0);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  pt_assert_same_end(ref, pop, ref_t.file, t.file, true, 5);
  evo_population_free(pop);
  end_ref(ref, &fit, &ref_t, &t);
}
END_TEST

/* ---- 6. asynchronous successive halving --------------------------------- */

/* The test's own ASHA: for every committed result at rung r < R-1, its
 * rank among rung r's results so far; promotions queued; each job created
 * when its time comes takes the oldest promotion, else is a new child. */
typedef struct asha_model {
  size_t n, w, total, rungs, eta;
  double f[4][MAX_LOG]; /* successes per rung, in commit order */
  size_t m[4], results[4];
  size_t queue[MAX_LOG], q_head, q_tail; /* committed jobs to promote */
  uint32_t q_rung[MAX_LOG];
  int is_promotion[MAX_LOG];
  size_t origin[MAX_LOG]; /* the committed job whose genome it takes */
  uint32_t rung[MAX_LOG];
  size_t created, promotions[4];
} asha_model;

static void model_create(asha_model *m, size_t committed) {
  if (committed < m->n)
    return;
  while (m->created < m->total && m->created < committed + m->w) {
    size_t k = m->created++;
    if (m->q_head < m->q_tail) {
      m->is_promotion[k] = 1;
      m->origin[k] = m->queue[m->q_head];
      m->rung[k] = m->q_rung[m->q_head++];
    } else {
      m->rung[k] = 0;
    }
  }
}

/* Job j committed with fitness f (-1: failed) at rung r. */
static void model_commit(asha_model *m, size_t j, double f, uint32_t r,
                         int failed) {
  if (r + 1 < m->rungs) {
    m->results[r]++;
    if (!failed) {
      size_t rank = 0;
      for (size_t i = 0; i < m->m[r]; i++)
        rank += m->f[r][i] >= f; /* earlier ones first on a tie */
      m->f[r][m->m[r]++] = f;
      if (rank * m->eta < m->results[r]) {
        m->queue[m->q_tail] = j;
        m->q_rung[m->q_tail++] = r + 1;
        m->promotions[r + 1]++;
      }
    }
  }
  model_create(m, j + 1);
}

START_TEST(test_asha) {
  cfg c = {.size = 9,
           .generations = 8,
           .tournament = 3,
           .window = 3,
           .rungs = 3,
           .promote = 3,
           .fresh = 1,
           .seed = 17};
  fit_ctx fit;
  fit_init(&fit);
  fit.fail_mod = 10;
  size_t total = 72;
  prog_ctx p = {
      .size = 9, .check_events = 1, .log = calloc(total, sizeof(commit_rec))};
  ck_assert_ptr_nonnull(p.log);
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(fit.n_log, total);
  asha_model *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  *m = (asha_model){
      .n = 9, .w = 3, .total = total, .rungs = 3, .eta = 3, .created = 9};
  for (size_t j = 0; j < total; j++) {
    const call_rec *e = &fit.log[j]; /* one worker: calls in job order */
    ck_assert_uint_eq(e->rung, m->rung[j]);
    ck_assert_uint_eq(p.log[j].rung, m->rung[j]);
    ck_assert(evo_genome_equal(&p.log[j].g, &e->g));
    ck_assert(pt_same_bits(p.log[j].f, e->f));
    if (m->is_promotion[j]) /* the same genome and seed, one rung up */
      ck_assert(evo_genome_equal(&e->g, &fit.log[m->origin[j]].g) &&
                e->seed == fit.log[m->origin[j]].seed &&
                e->rung == fit.log[m->origin[j]].rung + 1);
    model_commit(m, j, e->f, e->rung, e->f == -1.0);
  }
  ck_assert_uint_gt(m->promotions[1], 3);
  ck_assert_uint_gt(m->promotions[2], 0);
  /* The hall of fame: full evaluations only, the best first. */
  double best = -1;
  for (size_t j = 0; j < total; j++)
    if (fit.log[j].rung == 2 && fit.log[j].f > best)
      best = fit.log[j].f;
  double hof_f;
  ck_assert_int_eq(evo_population_hof(pop, 0, NULL, &hof_f, NULL), EVO_OK);
  ck_assert(pt_same_bits(hof_f, best));
  for (size_t r = 0; r < evo_population_hof_count(pop); r++) {
    const evo_genome *g;
    ck_assert_int_eq(evo_population_hof(pop, r, &g, &hof_f, NULL), EVO_OK);
    int found = 0;
    for (size_t j = 0; j < total && !found; j++)
      found = fit.log[j].rung == 2 && evo_genome_equal(g, &fit.log[j].g);
    ck_assert(found);
  }
  free(m);
  free(p.log);
  evo_population_free(pop);
  fit_done(&fit);
  /* the same with workers and the cache, and kills */
  c.cache = 2;
  check_workers(&c);
  check_kills(&c, 3);
}
END_TEST

/* ---- 7. settings -------------------------------------------------------- */

START_TEST(test_bounds) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  int64_t v = 0;
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_WINDOW, &v), EVO_OK);
  ck_assert_int_eq(v, 4);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WINDOW, 0), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "window"));
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WINDOW, -1), EVO_ERANGE);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WINDOW, (1 << 20) + 1),
                   EVO_ERANGE);
  pt_set_ok(pop, EVO_POP_WINDOW, 1 << 20);
  pt_set_ok(pop, EVO_POP_WINDOW, 1);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ALGORITHM, 3), EVO_ERANGE);
  pt_set_ok(pop, EVO_POP_ALGORITHM, EVO_ALGO_STEADY);
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_ALGORITHM, &v), EVO_OK);
  ck_assert_int_eq(v, 2);
  /* A window of 2^20 on a small run: room for the run's jobs only. */
  pt_set_ok(pop, EVO_POP_WINDOW, 1 << 20);
  pt_set_ok(pop, EVO_POP_SIZE, 4);
  pt_set_ok(pop, EVO_POP_GENERATIONS, 3);
  pt_set_ok(pop, EVO_POP_ELITES, 1);
  pt_set_ok(pop, EVO_POP_TOURNAMENT, 2);
  fit_ctx fit;
  fit_init(&fit);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_plain_cb, &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  /* frozen once started */
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WINDOW, 2), EVO_ESTATE);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_uint_eq(fit.n_log, 12);
  evo_population_free(pop);
  /* Rungs need a callback that takes the rung, as for the GA. */
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  pt_set_ok(pop, EVO_POP_ALGORITHM, EVO_ALGO_STEADY);
  pt_set_ok(pop, EVO_POP_RUNGS, 2);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_plain_cb, &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_EUNSUPPORTED);
  evo_population_free(pop);
  fit_done(&fit);
}
END_TEST

/* A damaged steady-state checkpoint is refused, never a crash. */
START_TEST(test_damaged_checkpoint) {
  pt_tmp t;
  pt_tmp_make_shm(&t);
  fit_ctx fit;
  fit_init(&fit);
  cfg c = {.size = 5,
           .generations = 3,
           .tournament = 2,
           .window = 3,
           .rungs = 2,
           .promote = 2,
           .cache = 2,
           .seed = 2};
  prog_ctx p = {.size = 5, .stop_at = 8};
  evo_population *pop = make_pop(&c, &fit);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "steady"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, progress_cb, &p), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_ECANCELED);
  evo_population_free(pop);
  size_t n = 0;
  unsigned char *payload = pt_ckpt_payload(t.file, &n, 5);
  memset(payload + 8 * EVO_POP_WORKERS, 0, 8);
  payload[8 * EVO_POP_WORKERS] = 1; /* a valid worker count */
  char path[160];
  snprintf(path, sizeof path, "%s/fuzz", t.dir);
  pt_fuzz_checkpoint(path, payload, n, 0, 5, 300, 5);
  pt_fuzz_checkpoint(path, payload, n, n > 400 ? n - 400 : 0, 5, 300, 6);
  free(payload);
  remove(path);
  fit_done(&fit);
  pt_tmp_remove(&t);
}
END_TEST

/* Version 3 checkpoints (before EVO_POP_WINDOW) are still read: a GA
 * run's version 5 payload without its costs section (version 4) and
 * without the 14th setting, framed as version 3,
 * resumes with the window at its default and ends as the uninterrupted
 * run; one claiming steady-state evolution is refused (version 3 had
 * none). */
static void write_frame(const char *path, const unsigned char *payload,
                        size_t n, uint32_t version) {
  evo_wbuf w = {0};
  evo_wbuf_bytes(&w, payload, n);
  unsigned char *file = NULL;
  size_t size = 0;
  ck_assert_int_eq(evo_frame_wrap("EVOOPTCK", version, &w, &file, &size),
                   EVO_OK);
  ck_assert_int_eq(evo_write_file_atomic(path, file, size), EVO_OK);
  free(file);
  evo_wbuf_free(&w);
}

START_TEST(test_read_v3) {
  pt_tmp ref_t, t;
  pt_tmp_make_shm(&ref_t);
  pt_tmp_make_shm(&t);
  fit_ctx fit;
  fit_init(&fit);
  evo_population *ref = NULL, *pop = NULL;
  ck_assert_int_eq(evo_population_new(&ref), EVO_OK);
  pt_set_ok(ref, EVO_POP_SIZE, 6);
  pt_set_ok(ref, EVO_POP_GENERATIONS, 3);
  pt_set_ok(ref, EVO_POP_WINDOW, 9); /* not used by the GA */
  ck_assert_int_eq(evo_population_set_fitness(ref, fitness_plain_cb, &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_checkpoint(ref, ref_t.file, "v3"),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(ref), EVO_OK); /* generation 0 */
  size_t n = 0;
  unsigned char *v4 = pt_ckpt_payload(ref_t.file, &n, 5);
  v4[8 * EVO_POP_WORKERS] = 1;
  /* the costs section ends the payload: u32 count, a f64 per evaluated
   * individual and history entry */
  size_t costs = evo_population_history_count(ref);
  for (size_t i = 0; i < evo_population_size(ref); i++) {
    double f = NAN;
    ck_assert_int_eq(evo_population_individual(ref, i, NULL, &f), EVO_OK);
    if (!isnan(f))
      costs++;
  }
  ck_assert_uint_ge(costs, 1); /* generation 0's history */
  n -= 4 + 8 * costs;
  ck_assert_uint_eq((unsigned)(v4[n] | v4[n + 1] << 8), costs); /* the count */
  unsigned char *v3 = malloc(n - 8);
  ck_assert_ptr_nonnull(v3);
  memcpy(v3, v4, 13 * 8); /* settings 0..12, then what follows the 14th */
  memcpy(v3 + 13 * 8, v4 + 14 * 8, n - 14 * 8);
  write_frame(t.file, v3, n - 8, 3);
  ck_assert_int_eq(evo_population_resume(&pop, t.file, "v3"), EVO_OK);
  int64_t w = 0;
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_WINDOW, &w), EVO_OK);
  ck_assert_int_eq(w, 4);
  ck_assert_uint_eq(evo_population_generation(pop), 1);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness_plain_cb, &fit),
                   EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_int_eq(evo_population_run(ref), EVO_OK);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(pop);
  /* algorithm 2 in a version 3 file */
  v3[8 * EVO_POP_ALGORITHM] = EVO_ALGO_STEADY;
  write_frame(t.file, v3, n - 8, 3);
  pop = NULL;
  ck_assert_int_eq(evo_population_resume(&pop, t.file, "v3"), EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "before version 4"));
  ck_assert_ptr_null(pop);
  free(v3);
  free(v4);
  end_ref(ref, &fit, &ref_t, &t);
}
END_TEST

static Suite *steady_suite(void) {
  Suite *s = suite_create("steady");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_workers);
  tcase_add_test(tc, test_window_in_flight);
  tcase_add_test(tc, test_backend_failure);
  tcase_add_test(tc, test_window_changes_run);
  tcase_add_test(tc, test_rules);
  tcase_add_test(tc, test_aging);
  tcase_add_test(tc, test_kill_resume);
  tcase_add_test(tc, test_stop_resume);
  tcase_add_test(tc, test_steps);
  tcase_add_test(tc, test_budget);
  tcase_add_test(tc, test_asha);
  tcase_add_test(tc, test_bounds);
  tcase_add_test(tc, test_damaged_checkpoint);
  tcase_add_test(tc, test_read_v3);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(steady_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Checkpoints across format versions and the reports' costs (issue 11):
 *
 * - Format 4 checkpoints written by the library before version 5 (the
 *   fixtures in tests/fixtures/checkpoint-v4, made by this very program,
 *   `test_ckpt_compat --write-fixtures DIR`, built against libevoopt
 *   0.1.0 at commit f600b6c) resume with this library and end as the
 *   uninterrupted run does: every history value, the hall of fame, the
 *   final generation, the accounting and the checkpoint's bytes up to its
 *   costs section; the costs of the reports made before the resume are 0
 *   (version 4 did not keep them), every other cost is the uninterrupted
 *   run's. A genetic algorithm with multi-fidelity evaluation and the cache
 *   (as the `discover` preset), and steady-state evolution with
 *   multi-fidelity evaluation, each stopped in the middle of a generation.
 * - Kill-and-resume keeps every report's cost: a run stopped after every
 *   few evaluations and resumed until done ends with the checkpoint of the
 *   uninterrupted run byte for byte, and every cost the getters show is
 *   the one the fitness callback set (COST · (rung + 1) core-seconds, 0 for
 *   a cache hit).
 *
 * Stopping is the progress callback's request (the checkpoint is written
 * after every evaluation, so a process killed after an evaluation leaves
 * the same file). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_internal.h"
#include "evoopt/population.h"
#include "evoopt/report.h"
#include "pop_testlib.h"

#define COST 0.125 /* core-seconds at rung 0; COST · (r + 1) at rung r */

/* ---- the runs ------------------------------------------------------------ */

/* A smooth function of the learning rate, β1 and the term count, with a
 * step per rung and a trace of the seed: deterministic, costs exact in
 * binary. */
static int fitness_rung(void *user, const evo_genome *g, uint64_t seed,
                        uint32_t rung, evo_report *report) {
  (void)user;
  double lr = pt_gene(g, EVO_GENE_LR_LOG10), b1 = pt_gene(g, EVO_GENE_BETA1);
  double f = 0.6 + 0.1 * sin(1.7 * lr) - 0.2 * (b1 - 0.9) * (b1 - 0.9) +
             0.01 * (double)evo_genome_term_count(g) + 0.02 * rung +
             1e-6 * (double)(seed % 997);
  PT_REQUIRE(evo_report_add_task(report, "compat", f) == EVO_OK);
  PT_REQUIRE(evo_report_set_cost(report, COST * (rung + 1)) == EVO_OK);
  return evo_report_set_fitness(report, f);
}

/* Stops the run once @p every more evaluations were recorded (0: never). */
typedef struct stopper {
  size_t every, seen;
} stopper;

static int stop_every(void *user, evo_event event, const evo_population *pop,
                      size_t generation, size_t index) {
  (void)pop;
  (void)generation;
  (void)index;
  stopper *s = user;
  if (event != EVO_EVENT_EVALUATION || s->every == 0)
    return 0;
  return ++s->seen % s->every == 0;
}

typedef struct config {
  const char *name; /* the fixture's file name, without .evo */
  int64_t algorithm, size, generations, rungs, promote, cache, window;
  size_t stop_after; /* the fixture: stopped after this many evaluations */
} config;

static const config CONFIGS[] = {
    /* as the discover preset: GA, rungs, promotion 3, the cache; stopped
     * within generation 1 */
    {"ga_mf", EVO_ALGO_GA, 9, 4, 3, 3, 1, 4, 17},
    /* steady-state with rungs, window 3 */
    {"steady_mf", EVO_ALGO_STEADY, 8, 4, 2, 2, 1, 3, 13},
};
#define N_CONFIGS (sizeof CONFIGS / sizeof CONFIGS[0])
#define TAG "ckpt-compat"

static void attach(evo_population *pop, void *user) {
  ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_rung, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(pop, stop_every, user), EVO_OK);
}

static evo_population *new_run(const config *c, const char *ckpt,
                               stopper *stop) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  pt_set_ok(pop, EVO_POP_RUN_SEED, 2026);
  pt_set_ok(pop, EVO_POP_ALGORITHM, c->algorithm);
  pt_set_ok(pop, EVO_POP_SIZE, c->size);
  pt_set_ok(pop, EVO_POP_GENERATIONS, c->generations);
  pt_set_ok(pop, EVO_POP_ELITES, 2);
  pt_set_ok(pop, EVO_POP_TOURNAMENT, 3);
  pt_set_ok(pop, EVO_POP_HALL_OF_FAME, 5);
  pt_set_ok(pop, EVO_POP_RUNGS, c->rungs);
  pt_set_ok(pop, EVO_POP_PROMOTE, c->promote);
  pt_set_ok(pop, EVO_POP_CACHE, c->cache);
  pt_set_ok(pop, EVO_POP_WINDOW, c->window);
  pt_set_ok(pop, EVO_POP_BUDGET, 100000);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, ckpt, TAG), EVO_OK);
  attach(pop, stop);
  return pop;
}

/* ---- writing the fixtures (with the library of the format to test) ----- */

static int copy_file(const char *from, const char *to) {
  unsigned char *b = NULL;
  size_t n = 0;
  if (evo_read_file(from, (size_t)1 << 24, &b, &n) != EVO_OK)
    return 1;
  FILE *f = fopen(to, "wbx"); /* never over an existing file */
  int rc = f == NULL || fwrite(b, 1, n, f) != n;
  if (f != NULL && fclose(f) != 0)
    rc = 1;
  free(b);
  return rc;
}

static const char *fixture_dir;

static int write_fixtures(const char *dir) {
  for (size_t i = 0; i < N_CONFIGS; i++) {
    pt_tmp t;
    pt_tmp_make(&t);
    stopper stop = {CONFIGS[i].stop_after, 0};
    evo_population *pop = new_run(&CONFIGS[i], t.file, &stop);
    int rc = evo_population_run(pop);
    evo_population_free(pop);
    char to[512];
    snprintf(to, sizeof to, "%s/%s.evo", dir, CONFIGS[i].name);
    if (rc != EVO_ECANCELED || copy_file(t.file, to) != 0) {
      fprintf(stderr, "%s: run status %d, or %s not written (exists?)\n",
              CONFIGS[i].name, rc, to);
      return 1;
    }
    printf("wrote %s\n", to);
    pt_tmp_remove(&t);
  }
  return 0;
}

START_TEST(write_fixtures_test) {
  ck_assert_int_eq(write_fixtures(fixture_dir), 0);
}
END_TEST

/* ---- the costs section (version 5) --------------------------------------- */

static double f64_at(const unsigned char *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++)
    u |= (uint64_t)p[i] << (8 * i);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* The number of costs a run's checkpoint holds: its evaluated individuals
 * and its history entries (checkpoint.c). */
static size_t cost_count(const evo_population *pop) {
  size_t n = evo_population_history_count(pop);
  for (size_t i = 0; i < evo_population_size(pop); i++) {
    double f = NAN;
    ck_assert_int_eq(evo_population_individual(pop, i, NULL, &f), EVO_OK);
    if (!isnan(f))
      n++;
  }
  return n;
}

/* The payload of the version 5 checkpoint at @p path and where its costs
 * section starts (it ends the payload: u32 count, count f64). */
static unsigned char *payload_costs(const char *path, const evo_population *pop,
                                    size_t *n, size_t *costs_at) {
  unsigned char *p = pt_ckpt_payload(path, n, 5);
  size_t count = cost_count(pop);
  ck_assert_uint_ge(*n, 4 + 8 * count);
  *costs_at = *n - 8 * count - 4;
  const unsigned char *c = p + *costs_at;
  uint32_t stored = (uint32_t)c[0] | (uint32_t)c[1] << 8 |
                    (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
  ck_assert_uint_eq(stored, count);
  return p;
}

/* ---- format 4 fixtures --------------------------------------------------- */

START_TEST(resume_v4_fixture) {
  const config *c = &CONFIGS[_i];
  char fixture[512];
  snprintf(fixture, sizeof fixture, "%s/%s.evo", fixture_dir, c->name);
  pt_tmp ref_t, t;
  pt_tmp_make_shm(&ref_t);
  pt_tmp_make_shm(&t);
  /* the fixture is version 4; resumed from a copy (a run writes to its
   * checkpoint) */
  size_t n4 = 0;
  free(pt_ckpt_payload(fixture, &n4, 4));
  ck_assert_int_eq(copy_file(fixture, t.file), 0);
  stopper none = {0, 0};
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_resume(&pop, t.file, TAG), EVO_OK);
  ck_assert(!evo_population_finished(pop));
  /* what version 4 held is there: the evaluations run before the stop */
  double before = evo_population_compute(pop);
  ck_assert_double_gt(before, 0.0);
  attach(pop, &none);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  /* the uninterrupted run with this library */
  evo_population *ref = new_run(c, ref_t.file, &none);
  ck_assert_int_eq(evo_population_run(ref), EVO_OK);
  pt_assert_same_run(ref, pop, true);
  pt_assert_same_accounting(ref, pop, true);
  /* the checkpoints: equal up to the costs; a cost is the reference's, or
   * 0 for a report made before the resume */
  size_t na, nb, ca, cb;
  unsigned char *a = payload_costs(ref_t.file, ref, &na, &ca);
  unsigned char *b = payload_costs(t.file, pop, &nb, &cb);
  ck_assert_uint_eq(na, nb);
  ck_assert_uint_eq(ca, cb);
  ck_assert_msg(memcmp(a, b, ca) == 0,
                "%s: the checkpoints differ before the costs", c->name);
  size_t kept = 0, lost = 0;
  for (size_t at = ca + 4; at < na; at += 8) {
    double want = f64_at(a + at), got = f64_at(b + at);
    ck_assert_msg(pt_same_bits(got, want) || got == 0.0,
                  "%s: cost %g, the uninterrupted run's %g", c->name, got,
                  want);
    kept += pt_same_bits(got, want) && want > 0.0;
    lost += !pt_same_bits(got, want);
  }
  /* the last generation was evaluated after the resume */
  ck_assert_uint_gt(kept, evo_population_size(pop) / 2);
  printf("%s: %zu costs kept, %zu made before the resume (0)\n", c->name, kept,
         lost);
  free(a);
  free(b);
  evo_population_free(pop);
  evo_population_free(ref);
  pt_tmp_remove(&ref_t);
  pt_tmp_remove(&t);
}
END_TEST

/* ---- kill and resume keeps the costs ------------------------------------ */

/* The costs in the checkpoint at @p path are those the callback set:
 * an individual's COST · (rung + 1), or 0 for a hit taken from the cache
 * (a repeat of a genome evaluated in the same generation shows that
 * evaluation's); a history entry's, its best report's as the getter shows
 * it, one of those values. */
static void check_costs(const evo_population *pop, const char *path,
                        const char *name) {
  size_t n = 0, at = 0;
  unsigned char *p = payload_costs(path, pop, &n, &at);
  at += 4;
  int64_t rungs = 0;
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_RUNGS, &rungs), EVO_OK);
  for (size_t i = 0; i < evo_population_size(pop); i++, at += 8) {
    double f = NAN, cost = f64_at(p + at);
    ck_assert_int_eq(evo_population_individual(pop, i, NULL, &f), EVO_OK);
    ck_assert(!isnan(f)); /* a finished run: all evaluated */
    uint32_t rung = 99;
    int cached = -1;
    ck_assert_int_eq(evo_population_individual_rung(pop, i, &rung), EVO_OK);
    ck_assert_int_eq(evo_population_individual_cached(pop, i, &cached), EVO_OK);
    double want = COST * (rung + 1);
    ck_assert_msg(cost == want || (cached && cost == 0.0),
                  "%s: individual %zu (rung %u%s) cost %g, expected %g", name,
                  i, rung, cached ? ", a hit" : "", cost, want);
  }
  for (size_t g = 0; g < evo_population_history_count(pop); g++, at += 8) {
    const evo_report *rep = NULL;
    double cost = -1.0;
    ck_assert_int_eq(evo_population_history_best(pop, g, NULL, &rep), EVO_OK);
    ck_assert_int_eq(evo_report_cost(rep, &cost), EVO_OK);
    ck_assert(pt_same_bits(cost, f64_at(p + at)));
    int ok = cost == 0.0;
    for (int64_t r = 0; r < rungs; r++)
      ok |= cost == COST * (double)(r + 1);
    ck_assert_msg(ok, "%s: generation %zu's best cost %g", name, g, cost);
  }
  ck_assert_uint_eq(at, n);
  free(p);
}

START_TEST(kill_resume_costs) {
  const config *c = &CONFIGS[_i];
  pt_tmp ref_t, t;
  pt_tmp_make_shm(&ref_t);
  pt_tmp_make_shm(&t);
  stopper none = {0, 0}, stop = {3, 0};
  evo_population *ref = new_run(c, ref_t.file, &none);
  ck_assert_int_eq(evo_population_run(ref), EVO_OK);
  evo_population *first = new_run(c, t.file, &stop);
  ck_assert_int_eq(evo_population_run(first), EVO_ECANCELED);
  evo_population_free(first);
  evo_population *pop = pt_resume_until_done(t.file, TAG, attach, &stop);
  pt_assert_same_end(ref, pop, ref_t.file, t.file, true, 5);
  check_costs(ref, ref_t.file, c->name);
  check_costs(pop, t.file, c->name);
  /* the history's best reports, cost for cost */
  for (size_t g = 0; g < evo_population_history_count(ref); g++) {
    const evo_report *ra = NULL, *rb = NULL;
    double ca = -1.0, cb = -2.0;
    ck_assert_int_eq(evo_population_history_best(ref, g, NULL, &ra), EVO_OK);
    ck_assert_int_eq(evo_population_history_best(pop, g, NULL, &rb), EVO_OK);
    ck_assert_int_eq(evo_report_cost(ra, &ca), EVO_OK);
    ck_assert_int_eq(evo_report_cost(rb, &cb), EVO_OK);
    ck_assert(pt_same_bits(ca, cb));
  }
  evo_population_free(pop);
  evo_population_free(ref);
  pt_tmp_remove(&ref_t);
  pt_tmp_remove(&t);
}
END_TEST

int main(int argc, char **argv) {
  bool writing = argc == 3 && strcmp(argv[1], "--write-fixtures") == 0;
  if (argc != 2 && !writing) {
    fprintf(stderr, "usage: %s FIXTURE-DIR | --write-fixtures DIR\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[argc - 1];
  Suite *s = suite_create("ckpt_compat");
  TCase *tc = tcase_create("versions");
  tcase_set_timeout(tc, 120);
  if (writing) {
    tcase_add_test(tc, write_fixtures_test);
  } else {
    tcase_add_loop_test(tc, resume_v4_fixture, 0, (int)N_CONFIGS);
    tcase_add_loop_test(tc, kill_resume_costs, 0, (int)N_CONFIGS);
  }
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

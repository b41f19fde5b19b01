/* Check suite: the 0.2 getters and uniform calls (issue 10 item 4). Every
 * value set is read back as set; NULLs and out-of-range arguments give the
 * status the header lists and write nothing; the caller-sized history
 * array is never written past its size (guard words after it, compared
 * with counts recomputed here from the individuals' genomes). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "evoopt/evoopt.h"

/* ---- optimizer ---------------------------------------------------------- */

START_TEST(optimizer_total_steps) {
  evo_genome *g = NULL;
  evo_optimizer *opt = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  uint64_t s = 99;
  ck_assert_int_eq(evo_optimizer_get_total_steps(opt, &s), EVO_OK);
  ck_assert_uint_eq(s, 0); /* unset */
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 1234), EVO_OK);
  ck_assert_int_eq(evo_optimizer_get_total_steps(opt, &s), EVO_OK);
  ck_assert_uint_eq(s, 1234);
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, UINT64_MAX), EVO_OK);
  ck_assert_int_eq(evo_optimizer_get_total_steps(opt, &s), EVO_OK);
  ck_assert(s == UINT64_MAX);
  /* a refused value leaves the old one */
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_get_total_steps(opt, &s), EVO_OK);
  ck_assert(s == UINT64_MAX);
  ck_assert_int_eq(evo_optimizer_get_total_steps(NULL, &s), EVO_EINVAL);
  ck_assert_int_eq(evo_optimizer_get_total_steps(opt, NULL), EVO_EINVAL);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

/* ---- evaluator ---------------------------------------------------------- */

START_TEST(evaluator_steps_seeds) {
  evo_evaluator *e = NULL;
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  uint64_t steps = 0;
  uint32_t seeds = 0;
  /* the documented defaults: 500 steps, 2 seeds */
  ck_assert_int_eq(evo_evaluator_get_steps(e, &steps), EVO_OK);
  ck_assert_uint_eq(steps, 500);
  ck_assert_int_eq(evo_evaluator_get_seeds(e, &seeds), EVO_OK);
  ck_assert_uint_eq(seeds, 2);
  ck_assert_int_eq(evo_evaluator_set_steps(e, EVO_MAX_STEPS), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 1000), EVO_OK);
  ck_assert_int_eq(evo_evaluator_get_steps(e, &steps), EVO_OK);
  ck_assert(steps == EVO_MAX_STEPS);
  ck_assert_int_eq(evo_evaluator_get_seeds(e, &seeds), EVO_OK);
  ck_assert_uint_eq(seeds, 1000);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 1001), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_get_seeds(e, &seeds), EVO_OK);
  ck_assert_uint_eq(seeds, 1000);
  ck_assert_int_eq(evo_evaluator_get_steps(NULL, &steps), EVO_EINVAL);
  ck_assert_int_eq(evo_evaluator_get_steps(e, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_evaluator_get_seeds(NULL, &seeds), EVO_EINVAL);
  ck_assert_int_eq(evo_evaluator_get_seeds(e, NULL), EVO_EINVAL);
  evo_evaluator_free(e);
}
END_TEST

START_TEST(evaluator_rungs) {
  evo_evaluator *e = NULL;
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 300), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 3), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_rung(e, 0, 10, 1, 100), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_rung(e, 1, 50, 2, 0), EVO_OK);
  uint64_t steps = 0, limit = 7;
  uint32_t seeds = 0;
  ck_assert_int_eq(evo_evaluator_get_rung(e, 0, &steps, &seeds, &limit),
                   EVO_OK);
  ck_assert_uint_eq(steps, 10);
  ck_assert_uint_eq(seeds, 1);
  ck_assert_uint_eq(limit, 100);
  ck_assert_int_eq(evo_evaluator_get_rung(e, 1, &steps, &seeds, &limit),
                   EVO_OK);
  ck_assert_uint_eq(steps, 50);
  ck_assert_uint_eq(seeds, 2);
  ck_assert_uint_eq(limit, 0);
  /* rung 2 is the full evaluation: the evaluator's steps and seeds */
  limit = 7;
  ck_assert_int_eq(evo_evaluator_get_rung(e, 2, &steps, &seeds, &limit),
                   EVO_OK);
  ck_assert_uint_eq(steps, 300);
  ck_assert_uint_eq(seeds, 3);
  ck_assert_uint_eq(limit, 0);
  /* every output may be NULL */
  ck_assert_int_eq(evo_evaluator_get_rung(e, 1, NULL, NULL, NULL), EVO_OK);
  /* redefining a rung reads back the new one */
  ck_assert_int_eq(evo_evaluator_set_rung(e, 0, 20, 4, 5), EVO_OK);
  ck_assert_int_eq(evo_evaluator_get_rung(e, 0, &steps, &seeds, &limit),
                   EVO_OK);
  ck_assert_uint_eq(steps, 20);
  ck_assert_uint_eq(seeds, 4);
  ck_assert_uint_eq(limit, 5);
  /* past the last rung: ERANGE, nothing written */
  steps = 77;
  ck_assert_int_eq(evo_evaluator_get_rung(e, 3, &steps, &seeds, &limit),
                   EVO_ERANGE);
  ck_assert_uint_eq(steps, 77);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "rung 3"));
  ck_assert_int_eq(evo_evaluator_get_rung(e, UINT32_MAX, &steps, NULL, NULL),
                   EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_get_rung(NULL, 0, &steps, NULL, NULL),
                   EVO_EINVAL);
  evo_evaluator_free(e);
}
END_TEST

START_TEST(blas_threads) {
  int n = 0, before = 0;
  ck_assert_int_eq(evo_blas_get_threads(&before), EVO_OK);
  ck_assert_int_ge(before, 1);
  ck_assert_int_eq(evo_blas_set_threads(1), EVO_OK);
  ck_assert_int_eq(evo_blas_get_threads(&n), EVO_OK);
  ck_assert_int_eq(n, 1);
  if (evo_blas_set_threads(2) == EVO_OK) { /* OpenBLAS */
    ck_assert_int_eq(evo_blas_get_threads(&n), EVO_OK);
    ck_assert_int_eq(n, 2);
  } else {
    ck_assert_int_eq(evo_blas_get_threads(&n), EVO_OK);
    ck_assert_int_eq(n, 1);
  }
  ck_assert_int_eq(evo_blas_set_threads(0), EVO_ERANGE); /* value kept */
  ck_assert_int_eq(evo_blas_get_threads(&n), EVO_OK);
  ck_assert_int_ge(n, 1);
  ck_assert_int_eq(evo_blas_get_threads(NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_blas_set_threads(1), EVO_OK);
}
END_TEST

/* ---- population --------------------------------------------------------- */

START_TEST(population_option_spelling) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  int64_t v = 0;
  /* the paper default of the size, through both spellings */
  ck_assert_int_eq(evo_population_get_option(pop, EVO_POP_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 50);
  ck_assert_int_eq(evo_population_set_option(pop, EVO_POP_SIZE, 12), EVO_OK);
  ck_assert_int_eq(evo_population_get(pop, EVO_POP_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 12);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUN_SEED, -5), EVO_OK);
  ck_assert_int_eq(evo_population_get_option(pop, EVO_POP_RUN_SEED, &v),
                   EVO_OK);
  ck_assert_int_eq(v, -5);
  /* out of range (size 1 < 2) and unknown keys: refused, value kept */
  ck_assert_int_eq(evo_population_set_option(pop, EVO_POP_SIZE, 1), EVO_ERANGE);
  ck_assert_int_eq(evo_population_get_option(pop, EVO_POP_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 12);
  ck_assert_int_eq(evo_population_set_option(pop, (evo_pop_setting)999, 1),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_get_option(pop, (evo_pop_setting)999, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_get_option(pop, (evo_pop_setting)-1, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_get_option(NULL, EVO_POP_SIZE, &v),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_get_option(pop, EVO_POP_SIZE, NULL),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_set_option(NULL, EVO_POP_SIZE, 4),
                   EVO_EINVAL);
  evo_population_free(pop);
}
END_TEST

START_TEST(population_checkpoint_getter) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  const char *path = "x", *tag = "y";
  ck_assert_int_eq(evo_population_get_checkpoint(pop, &path, &tag), EVO_OK);
  ck_assert_ptr_null(path);
  ck_assert_ptr_null(tag);
  char buf[32] = "/tmp/run.evo";
  ck_assert_int_eq(evo_population_set_checkpoint(pop, buf, "mnist 500"),
                   EVO_OK);
  buf[0] = 'X'; /* the population keeps a copy */
  ck_assert_int_eq(evo_population_get_checkpoint(pop, &path, &tag), EVO_OK);
  ck_assert_str_eq(path, "/tmp/run.evo");
  ck_assert_str_eq(tag, "mnist 500");
  ck_assert_int_eq(evo_population_set_checkpoint(pop, "/tmp/b.evo", NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_get_checkpoint(pop, &path, NULL), EVO_OK);
  ck_assert_str_eq(path, "/tmp/b.evo");
  ck_assert_int_eq(evo_population_get_checkpoint(pop, NULL, &tag), EVO_OK);
  ck_assert_str_eq(tag, "");
  ck_assert_int_eq(evo_population_set_checkpoint(pop, NULL, "t"), EVO_OK);
  ck_assert_int_eq(evo_population_get_checkpoint(pop, &path, &tag), EVO_OK);
  ck_assert_ptr_null(path);
  ck_assert_ptr_null(tag);
  ck_assert_int_eq(evo_population_get_checkpoint(NULL, &path, &tag),
                   EVO_EINVAL);
  evo_population_free(pop);
}
END_TEST

/* A pure fitness: the number of terms, so every genome is valid. */
static int count_fitness(void *user, const evo_genome *g, uint64_t seed,
                         evo_report *rep) {
  (void)user;
  (void)seed;
  return evo_report_set_fitness(rep, (double)evo_genome_term_count(g));
}

/* One generation of 9 random genomes; the counts recomputed from them. */
static evo_population *one_generation(uint32_t want[EVO_TERM_COUNT]) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set_option(pop, EVO_POP_SIZE, 9), EVO_OK);
  ck_assert_int_eq(evo_population_set_option(pop, EVO_POP_GENERATIONS, 1),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, count_fitness, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  memset(want, 0, EVO_TERM_COUNT * sizeof want[0]);
  for (size_t i = 0; i < 9; i++) {
    const evo_genome *g = NULL;
    ck_assert_int_eq(evo_population_individual(pop, i, &g, NULL), EVO_OK);
    for (size_t k = 0; k < evo_genome_term_count(g); k++) {
      evo_term t;
      ck_assert_int_eq(evo_genome_get_term(g, k, &t, NULL), EVO_OK);
      ck_assert_int_lt((int)t, EVO_TERM_COUNT);
      want[t]++;
    }
  }
  return pop;
}

START_TEST(history_terms_n) {
  uint32_t want[EVO_TERM_COUNT];
  evo_population *pop = one_generation(want);
  uint32_t total = 0;
  for (int k = 0; k < EVO_TERM_COUNT; k++)
    total += want[k];
  ck_assert_uint_ge(total, 9); /* every genome has a term */

  /* a full array plus guard words: exactly EVO_TERM_COUNT written */
  uint32_t buf[EVO_TERM_COUNT + 3];
  memset(buf, 0xAB, sizeof buf);
  size_t written = 99;
  ck_assert_int_eq(
      evo_population_history_terms_n(pop, 0, buf, EVO_TERM_COUNT + 3, &written),
      EVO_OK);
  ck_assert_uint_eq(written, EVO_TERM_COUNT);
  for (int k = 0; k < EVO_TERM_COUNT; k++)
    ck_assert_uint_eq(buf[k], want[k]);
  for (int k = EVO_TERM_COUNT; k < EVO_TERM_COUNT + 3; k++)
    ck_assert_uint_eq(buf[k], 0xABABABABu);

  /* a shorter array (an older caller): only n written */
  memset(buf, 0xAB, sizeof buf);
  ck_assert_int_eq(evo_population_history_terms_n(pop, 0, buf, 3, &written),
                   EVO_OK);
  ck_assert_uint_eq(written, 3);
  for (int k = 0; k < 3; k++)
    ck_assert_uint_eq(buf[k], want[k]);
  for (int k = 3; k < EVO_TERM_COUNT + 3; k++)
    ck_assert_uint_eq(buf[k], 0xABABABABu);

  /* n = 0 with NULL counts; written may be NULL */
  ck_assert_int_eq(evo_population_history_terms_n(pop, 0, NULL, 0, &written),
                   EVO_OK);
  ck_assert_uint_eq(written, 0);
  ck_assert_int_eq(evo_population_history_terms_n(pop, 0, buf, 1, NULL),
                   EVO_OK);

  /* the deprecated call agrees */
  uint32_t old[EVO_TERM_COUNT];
  ck_assert_int_eq(evo_population_history_terms(pop, 0, old), EVO_OK);
  ck_assert_mem_eq(old, want, sizeof old);

  /* errors write nothing */
  memset(buf, 0xAB, sizeof buf);
  written = 99;
  ck_assert_int_eq(evo_population_history_terms_n(pop, 1, buf, 7, &written),
                   EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "generation 1"));
  ck_assert_uint_eq(written, 99);
  ck_assert_uint_eq(buf[0], 0xABABABABu);
  ck_assert_int_eq(evo_population_history_terms_n(pop, 0, NULL, 2, &written),
                   EVO_EINVAL);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "counts"));
  ck_assert_uint_eq(written, 99);
  ck_assert_int_eq(evo_population_history_terms_n(NULL, 0, buf, 7, &written),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_population_history_terms_n(pop, SIZE_MAX, buf, 7, NULL),
                   EVO_ERANGE);
  evo_population_free(pop);
}
END_TEST

static Suite *getters_suite(void) {
  Suite *s = suite_create("api_getters");
  TCase *tc = tcase_create("getters");
  tcase_add_test(tc, optimizer_total_steps);
  tcase_add_test(tc, evaluator_steps_seeds);
  tcase_add_test(tc, evaluator_rungs);
  tcase_add_test(tc, blas_threads);
  tcase_add_test(tc, population_option_spelling);
  tcase_add_test(tc, population_checkpoint_getter);
  tcase_add_test(tc, history_terms_n);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(getters_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}

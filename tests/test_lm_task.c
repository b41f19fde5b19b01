/* Check suite for the language-model task shakespeare_char (issue 12;
 * doc/algorithm.md §7): its fitness by hand, the text's checks (missing,
 * empty, a wrong vocabulary, too short) on small files written here, the
 * split and the held-out windows by formula, training with divergence,
 * the same bits for any thread count. `test_lm_task shakespeare` runs a
 * short real run on tiny Shakespeare (exit 77 when it is missing). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common_internal.h"
#include "evoopt/evoopt.h"
#include "train/fitness_internal.h"
#include "train/lm_task_internal.h"

static double get(const evo_train_result *r, evo_result_key k) {
  double v = 0;
  ck_assert_int_eq(evo_train_result_get(r, k, &v), EVO_OK);
  return v;
}

/* ---- fitness ------------------------------------------------------------ */

START_TEST(fitness_by_hand) {
  /* ln 65 = 4.17438727; 1.93 / 4.17438727 = 0.46234330; the bonus
   * 0.05 · 0.53765670 = 0.02688283. */
  ck_assert_double_eq_tol(evo_lm_loss_scale(), 4.17438727, 1e-8);
  ck_assert_double_eq_tol(evo_task_fitness(0.40, 1.93, log(65.0)),
                          0.42688283, 1e-8);
  /* A uniform guess (L = ln 65) or worse earns nothing. */
  ck_assert_double_eq(evo_task_fitness(0.30, log(65.0), log(65.0)), 0.30);
  ck_assert_double_eq(evo_task_fitness(0.30, 7.0, log(65.0)), 0.30);
  /* L = 0: the full 0.05. */
  ck_assert_double_eq_tol(evo_task_fitness(0.5, 0.0, log(65.0)), 0.55, 1e-15);
  /* The image tasks' rule (scale 1): 0.9 + 0.05 · 0.8. */
  ck_assert_double_eq_tol(evo_task_fitness(0.9, 0.2, 1.0), 0.94, 1e-15);
}
END_TEST

/* ---- texts written here ------------------------------------------------- */

static char root[64];

/* root/tinyshakespeare/input.txt with @p n bytes: the 65 symbols of
 * tiny Shakespeare's vocabulary ('\n', ' ' .. and letters) cycled, or only
 * the first @p vocab of them. */
static void write_text(size_t n, size_t vocab) {
  static const char symbols[] =
      "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ck_assert_uint_eq(sizeof symbols - 1, 65);
  char dir[128], path[160];
  snprintf(dir, sizeof dir, "%s/tinyshakespeare", root);
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/input.txt", dir);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  /* A repeating text with a little structure: i·7 mod vocab. */
  for (size_t i = 0; i < n; i++)
    fputc(symbols[(i * 7 + i / 13) % vocab], f);
  fclose(f);
}

static void setup(void) {
  snprintf(root, sizeof root, "/tmp/evo_lm_task_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

static int open_here(evo_task **t) {
  return evo_task_open(t, "shakespeare_char", root);
}

START_TEST(bad_texts_refused) {
  evo_task *t = (evo_task *)&t;
  ck_assert_int_eq(open_here(&t), EVO_ENOTFOUND); /* no file */
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "tinyshakespeare"));
  write_text(0, 65);
  ck_assert_int_eq(open_here(&t), EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "is empty"));
  write_text(5000, 3);
  ck_assert_int_eq(open_here(&t), EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "has 3 distinct characters"));
  write_text(5000, 64);
  ck_assert_int_eq(open_here(&t), EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "has 64 distinct"));
  /* 600 characters: 540 to train, 60 held out, less than 64 + 1. */
  write_text(600, 65);
  ck_assert_int_eq(open_here(&t), EVO_EFORMAT);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "too short"));
  ck_assert_ptr_null(t);
}
END_TEST

/* The split is ⌊0.9·n⌋ / the rest; the held-out windows ⌊(n_test - 1)/64⌋.
 * 1930 characters: 1737 and 193, so (193 - 1) / 64 = 3 windows; 1920:
 * 1728 and 192, 191 / 64 = 2 windows (the third's last target would be
 * past the end). */
START_TEST(split_and_windows_by_formula) {
  evo_task *t = NULL;
  write_text(1930, 65);
  ck_assert_int_eq(open_here(&t), EVO_OK);
  ck_assert_ptr_nonnull(strstr(evo_task_describe(t),
                               "1737 training characters, 193 held-out (3 "
                               "windows of 64), 65 symbols"));
  int64_t v = 0;
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_BATCH_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 32);
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_DECAY_ALL, &v), EVO_OK);
  ck_assert_int_eq(v, 0);
  evo_task_free(t);
  write_text(1920, 65);
  ck_assert_int_eq(open_here(&t), EVO_OK);
  ck_assert_ptr_nonnull(strstr(evo_task_describe(t),
                               "1728 training characters, 192 held-out (2 "
                               "windows of 64)"));
  evo_task_free(t);
}
END_TEST

/* A short run: the accuracy is a count over 3·64 positions, the fitness
 * the formula of §7 on the run's accuracy and L, and 1 and 3 threads give
 * the same bits. */
START_TEST(training_scores_and_threads) {
  write_text(1930, 65);
  evo_task *t = NULL;
  ck_assert_int_eq(open_here(&t), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 4), EVO_OK);
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  evo_train_result *r1 = NULL, *r3 = NULL;
  evo_train_result_new(&r1);
  evo_train_result_new(&r3);
  ck_assert_int_eq(evo_task_train(t, g, 4, 7, r1), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 3), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 4, 7, r3), EVO_OK);
  double acc = get(r1, EVO_RESULT_ACCURACY), L = get(r1, EVO_RESULT_MEAN_LOSS);
  double hits = acc * 192.0;
  ck_assert_double_eq_tol(hits, round(hits), 1e-9);
  ck_assert(L > 2.0 && L < 10.0); /* about ln 65 = 4.17 at the start */
  ck_assert_double_eq_tol(get(r1, EVO_RESULT_FITNESS),
                          acc + 0.05 * fmax(0.0, 1.0 - L / log(65.0)), 1e-12);
  ck_assert_double_eq(get(r1, EVO_RESULT_STEPS), 4);
  for (int k = 0; k <= EVO_RESULT_STEPS; k++) {
    double a = get(r1, (evo_result_key)k), b = get(r3, (evo_result_key)k);
    ck_assert_mem_eq(&a, &b, sizeof a);
  }
  /* The held-out curve every 2 steps: 2 points, the last the final
   * accuracy, and the run's bits unchanged. */
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_EVAL_EVERY, 2), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 4, 7, r3), EVO_OK);
  const uint64_t *at = NULL;
  const double *curve = NULL;
  size_t points = 0;
  ck_assert_int_eq(evo_train_result_eval_curve(r3, &at, &curve, &points),
                   EVO_OK);
  ck_assert_uint_eq(points, 2);
  ck_assert_uint_eq(at[0], 2);
  ck_assert_uint_eq(at[1], 4);
  ck_assert_double_eq(curve[1], acc);
  double f1 = get(r1, EVO_RESULT_FITNESS), f3 = get(r3, EVO_RESULT_FITNESS);
  ck_assert_mem_eq(&f1, &f3, sizeof f1);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_EVAL_EVERY, 0), EVO_OK);
  /* A test limit of 1 window: a count over 64 positions. */
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_TEST_LIMIT, 1), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 2, 7, r1), EVO_OK);
  hits = get(r1, EVO_RESULT_ACCURACY) * 64.0;
  ck_assert_double_eq_tol(hits, round(hits), 1e-9);
  /* Too large a batch is refused before anything is allocated. */
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 257), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 2, 7, r1), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "257"));
  evo_train_result_free(r1);
  evo_train_result_free(r3);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

START_TEST(divergence_scores_minus_one) {
  write_text(1930, 65);
  evo_task *t = NULL;
  ck_assert_int_eq(open_here(&t), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 2), EVO_OK);
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "plain-sgd"), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, 1.0), EVO_OK);
  evo_train_result *r = NULL;
  evo_train_result_new(&r);
  ck_assert_int_eq(evo_task_train(t, g, 30, 0, r), EVO_OK);
  ck_assert_double_eq(get(r, EVO_RESULT_DIVERGED), 1);
  ck_assert_double_eq(get(r, EVO_RESULT_FITNESS), -1.0);
  double step = get(r, EVO_RESULT_DIVERGED_STEP);
  ck_assert(step >= 1 && step < 30);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

/* ---- the real text ------------------------------------------------------ */

/* tiny Shakespeare: 1,115,394 bytes, so ⌊0.9·n⌋ = 1,003,854 to train and
 * 111,540 held out, ⌊111,539 / 64⌋ = 1,742 windows; 30 steps of Adam on 4
 * windows of held-out text beat the uniform guess (1/65). */
static int shakespeare_run(void) {
  evo_task *t = NULL;
  int rc = evo_task_open(&t, "shakespeare_char", NULL);
  if (rc == EVO_ENOTFOUND) {
    printf("SKIP: tiny Shakespeare not found: %s\n", evo_last_error());
    return 77;
  }
  if (rc != EVO_OK) {
    printf("FAIL: %s\n", evo_last_error());
    return 1;
  }
  int ok = strstr(evo_task_describe(t),
                  "1003854 training characters, 111540 held-out (1742 "
                  "windows of 64), 65 symbols") != NULL;
  printf("%s\n", evo_task_describe(t));
  evo_genome *g = NULL;
  evo_train_result *r = NULL;
  evo_genome_preset(&g, "adam");
  evo_train_result_new(&r);
  evo_task_set_option(t, EVO_TASK_TEST_LIMIT, 8);
  rc = evo_task_train(t, g, 30, 0, r);
  double acc = 0, f = 0, L = 0;
  evo_train_result_get(r, EVO_RESULT_ACCURACY, &acc);
  evo_train_result_get(r, EVO_RESULT_FITNESS, &f);
  evo_train_result_get(r, EVO_RESULT_MEAN_LOSS, &L);
  printf("shakespeare_char, adam, 30 steps: accuracy %.4f, L %.4f, fitness "
         "%.4f\n",
         acc, L, f);
  int trained = rc == EVO_OK && acc > 2.0 / 65.0 && L < log(65.0);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
  printf("%d passed, %d failed\n", ok + trained, !ok + !trained);
  return ok && trained ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "shakespeare") == 0)
    return shakespeare_run();
  Suite *s = suite_create("lm_task");
  TCase *tc = tcase_create("shakespeare_char");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, fitness_by_hand);
  tcase_add_test(tc, bad_texts_refused);
  tcase_add_test(tc, split_and_windows_by_formula);
  tcase_add_test(tc, training_scores_and_threads);
  tcase_add_test(tc, divergence_scores_minus_one);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Tasks, training runs and the evaluator (issue 3): real short runs on the
 * bundled digits and on MNIST from EVOOPT_DATA_PATH, divergence, the
 * fitness formula, determinism, augmentation and errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evoopt/evoopt.h"
#include "train/task_internal.h"

static evo_genome *preset(const char *name) {
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, name), EVO_OK);
  return g;
}

static double get(const evo_train_result *r, evo_result_key k) {
  double v = NAN;
  ck_assert_int_eq(evo_train_result_get(r, k, &v), EVO_OK);
  return v;
}

START_TEST(digits_adam_learns) {
  evo_task *t = NULL;
  evo_genome *g = preset("adam");
  evo_train_result *r = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_RECORD_CURVE, 1), EVO_OK);
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 150, 0, r), EVO_OK);
  double acc = get(r, EVO_RESULT_ACCURACY), L = get(r, EVO_RESULT_MEAN_LOSS);
  ck_assert_double_eq(get(r, EVO_RESULT_DIVERGED), 0);
  ck_assert_double_eq(get(r, EVO_RESULT_STEPS), 150);
  ck_assert_msg(acc > 0.8, "digits accuracy %g after 150 steps", acc);
  /* L is the mean of the last 50 recorded losses (doc/algorithm.md §3, step
   * 3). */
  const float *curve = NULL;
  size_t n = 0;
  ck_assert_int_eq(evo_train_result_curve(r, &curve, &n), EVO_OK);
  ck_assert_uint_eq(n, 150);
  double sum = 0;
  for (size_t i = 100; i < 150; i++)
    sum += curve[i];
  ck_assert_double_eq_tol(L, sum / 50, 1e-6 * (1 + L));
  ck_assert_msg(curve[149] < curve[0], "loss did not fall: %g -> %g",
                curve[0], curve[149]);
  /* Fitness = acc + 0.05 max(0, 1 - L) (doc/algorithm.md §3, step 4); accuracy
   * is a whole number of the 360 test images. */
  ck_assert_double_eq_tol(get(r, EVO_RESULT_FITNESS),
                          acc + 0.05 * fmax(0.0, 1.0 - L), 1e-12);
  ck_assert_double_eq_tol(acc * 360, round(acc * 360), 1e-9);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

START_TEST(same_seed_same_result) {
  evo_task *t = NULL;
  evo_genome *g = preset("paper-evolved");
  evo_train_result *a = NULL, *b = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  evo_train_result_new(&a);
  evo_train_result_new(&b);
  ck_assert_int_eq(evo_task_train(t, g, 40, 7, a), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 40, 7, b), EVO_OK);
  double fa = get(a, EVO_RESULT_FITNESS), fb = get(b, EVO_RESULT_FITNESS);
  ck_assert_int_eq(memcmp(&fa, &fb, sizeof fa), 0);
  /* The engine's threads never change a result. */
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 2), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 40, 7, b), EVO_OK);
  fb = get(b, EVO_RESULT_FITNESS);
  ck_assert_int_eq(memcmp(&fa, &fb, sizeof fa), 0);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 65), EVO_ERANGE);
  ck_assert_int_eq(evo_task_train(t, g, 40, 8, b), EVO_OK);
  ck_assert_double_ne(get(a, EVO_RESULT_MEAN_LOSS), get(b, EVO_RESULT_MEAN_LOSS));
  evo_train_result_free(a);
  evo_train_result_free(b);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

START_TEST(divergence_scores_minus_one) {
  evo_task *t = NULL;
  evo_genome *g = preset("plain-sgd");
  evo_train_result *r = NULL;
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, 1.0), EVO_OK); /* lr 10 */
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  evo_train_result_new(&r);
  ck_assert_int_eq(evo_task_train(t, g, 200, 0, r), EVO_OK);
  ck_assert_double_eq(get(r, EVO_RESULT_DIVERGED), 1);
  ck_assert_double_eq(get(r, EVO_RESULT_FITNESS), -1.0);
  double step = get(r, EVO_RESULT_DIVERGED_STEP);
  ck_assert(step >= 1 && step < 200);
  ck_assert_double_eq(get(r, EVO_RESULT_STEPS), step);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

/* Issue 14, item 2: the step count has a documented maximum, refused with
 * its value in the message at set time and at train time. */
START_TEST(steps_bound) {
  ck_assert_uint_eq(EVO_MAX_STEPS, 10000000u); /* task.h: 10^7 */
  evo_task *t = NULL;
  evo_evaluator *e = NULL;
  evo_train_result *r = NULL;
  evo_genome *g = preset("adam");
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, EVO_MAX_STEPS), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, EVO_MAX_STEPS + 1), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "1..10000000"));
  ck_assert_int_eq(evo_evaluator_set_steps(e, (uint64_t)1 << 32), EVO_ERANGE);
  ck_assert_int_eq(evo_task_train(t, g, EVO_MAX_STEPS + 1, 0, r), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "1..10000000"));
  ck_assert_int_eq(evo_task_train(t, g, UINT64_MAX, 0, r), EVO_ERANGE);
  /* Fewer than 50 steps: L is the mean of all of them (doc/algorithm.md §3). */
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_RECORD_CURVE, 1), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 37, 3, r), EVO_OK);
  const float *curve = NULL;
  size_t n = 0;
  ck_assert_int_eq(evo_train_result_curve(r, &curve, &n), EVO_OK);
  ck_assert_uint_eq(n, 37);
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += curve[i];
  double L = get(r, EVO_RESULT_MEAN_LOSS);
  ck_assert_double_eq_tol(L, sum / 37, 1e-6 * (1 + L));
  evo_train_result_free(r);
  evo_evaluator_free(e);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
/* The process's address space in bytes (/proc/self/statm, first field). */
static size_t address_space(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f != NULL && fscanf(f, "%lu", &pages) != 1)
    pages = 0;
  if (f != NULL)
    fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a child whose address space may grow by 48 MB only: a run planned for
 * EVO_MAX_STEPS steps that diverges early. A run that allocated 8 bytes a
 * planned step (80 MB here) fails with EVO_ENOMEM (issue 14, item 2). */
static int bounded_child(void) {
  evo_task *t = NULL;
  evo_train_result *r = NULL;
  evo_genome *g = NULL;
  if (evo_genome_preset(&g, "plain-sgd") != EVO_OK ||
      evo_genome_set(g, EVO_GENE_LR_LOG10, 1.0) != EVO_OK || /* lr 10 */
      evo_task_open(&t, "digits", NULL) != EVO_OK ||
      evo_train_result_new(&r) != EVO_OK ||
      evo_task_train(t, g, 5, 0, r) != EVO_OK) /* warms up the BLAS */
    return 2;
  struct rlimit lim = {address_space() + ((size_t)48 << 20), RLIM_INFINITY};
  lim.rlim_max = lim.rlim_cur;
  if (setrlimit(RLIMIT_AS, &lim) != 0)
    return 3;
  /* The limit bites: 8 bytes a planned step would not fit. */
  /* volatile: clang would drop a malloc whose result is only compared. */
  void *volatile per_step = malloc((size_t)EVO_MAX_STEPS * sizeof(double));
  free(per_step);
  if (per_step != NULL)
    return 4;
  int rc = evo_task_train(t, g, EVO_MAX_STEPS, 0, r);
  double diverged = 0;
  evo_train_result_get(r, EVO_RESULT_DIVERGED, &diverged);
  if (rc != EVO_OK)
    fprintf(stderr, "train: %s\n", evo_last_error());
  return rc == EVO_OK && diverged == 1 ? 0 : 1;
}
#endif

START_TEST(memory_does_not_grow_with_steps) {
#ifdef UNDER_ASAN
  printf("memory_does_not_grow_with_steps: skipped under ASan (its shadow "
         "memory defeats RLIMIT_AS)\n");
#else
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(bounded_child());
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "a run planned for %llu steps needed more than 48 MB "
                "(child status %d)",
                (unsigned long long)EVO_MAX_STEPS, status);
#endif
}
END_TEST

/* Trains adam on digits for @p steps steps (seed 3) with held-out scoring
 * every @p every steps and the loss curve recorded. */
static evo_train_result *train_scored(evo_task *t, const evo_genome *g,
                                      uint64_t steps, int64_t every) {
  evo_train_result *r = NULL;
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_EVAL_EVERY, every), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, steps, 3, r), EVO_OK);
  ck_assert_double_eq(get(r, EVO_RESULT_DIVERGED), 0);
  return r;
}

static size_t eval_points(const evo_train_result *r, const uint64_t **st,
                          const double **acc) {
  size_t n = 12345;
  ck_assert_int_eq(evo_train_result_eval_curve(r, st, acc, &n), EVO_OK);
  return n;
}

/* The same bits: two doubles, or two loss curves of @p n floats. */
#define SAME_BITS(a, b, n) (memcmp((a), (b), (n) * sizeof *(a)) == 0)

/* EVO_TASK_EVAL_EVERY = K (issue 12, item 2): floor(steps / K) points, at
 * steps K, 2K, ...; with K = steps the point is the final accuracy itself;
 * a point equals the final accuracy of a run that stops there (adam has no
 * schedule, so a 14-step run is the first 14 steps of a 30-step one); and
 * scoring on the way changes no bit of the training run. */
START_TEST(held_out_curve) {
  evo_task *t = NULL;
  evo_genome *g = preset("adam");
  const uint64_t *st = NULL;
  const double *acc = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 32), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_RECORD_CURVE, 1), EVO_OK);
  evo_train_result *off = train_scored(t, g, 30, 0);
  ck_assert_uint_eq(eval_points(off, &st, &acc), 0);
  ck_assert_ptr_null(st);
  ck_assert_ptr_null(acc);
  evo_train_result *short14 = train_scored(t, g, 14, 0);
  double final = get(off, EVO_RESULT_ACCURACY);
  double at14 = get(short14, EVO_RESULT_ACCURACY);

  evo_train_result *whole = train_scored(t, g, 30, 30);
  ck_assert_uint_eq(eval_points(whole, &st, &acc), 1);
  ck_assert_uint_eq(st[0], 30);
  ck_assert_msg(SAME_BITS(&acc[0], &final, 1), "last point %.17g, final %.17g",
                acc[0], final);

  evo_train_result *every7 = train_scored(t, g, 30, 7);
  ck_assert_uint_eq(eval_points(every7, &st, &acc), 4); /* floor(30 / 7) */
  const uint64_t want[4] = {7, 14, 21, 28};
  for (size_t i = 0; i < 4; i++) {
    ck_assert_uint_eq(st[i], want[i]);
    /* a whole number of the 360 test images */
    ck_assert_double_eq_tol(acc[i] * 360, round(acc[i] * 360), 1e-9);
  }
  ck_assert_msg(SAME_BITS(&acc[1], &at14, 1), "point at 14 %.17g, a 14-step "
                "run %.17g", acc[1], at14);

  /* The trajectory: every loss, L, the accuracy and the fitness. */
  const float *c0 = NULL, *c1 = NULL;
  size_t n0 = 0, n1 = 0;
  ck_assert_int_eq(evo_train_result_curve(off, &c0, &n0), EVO_OK);
  ck_assert_int_eq(evo_train_result_curve(every7, &c1, &n1), EVO_OK);
  ck_assert_uint_eq(n0, 30);
  ck_assert_uint_eq(n1, 30);
  ck_assert(SAME_BITS(c0, c1, 30));
  const evo_result_key keys[] = {EVO_RESULT_MEAN_LOSS, EVO_RESULT_ACCURACY,
                                 EVO_RESULT_FITNESS};
  for (size_t k = 0; k < 3; k++) {
    double a = get(off, keys[k]), b = get(every7, keys[k]),
           c = get(whole, keys[k]);
    ck_assert(SAME_BITS(&a, &b, 1) && SAME_BITS(&a, &c, 1));
  }

  /* K beyond the steps: no point; a run reuses its result's curve. */
  evo_train_result *none = train_scored(t, g, 30, 31);
  ck_assert_uint_eq(eval_points(none, &st, &acc), 0);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_EVAL_EVERY, 10), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 30, 3, every7), EVO_OK);
  ck_assert_uint_eq(eval_points(every7, &st, &acc), 3);
  ck_assert_uint_eq(st[2], 30);
  ck_assert(SAME_BITS(&acc[2], &final, 1));
  size_t n = 0;
  ck_assert_int_eq(evo_train_result_eval_curve(NULL, &st, &acc, &n),
                   EVO_EINVAL);
  ck_assert_int_eq(evo_train_result_eval_curve(every7, NULL, &acc, &n),
                   EVO_EINVAL);
  evo_train_result *results[] = {off, short14, whole, every7, none};
  for (size_t i = 0; i < 5; i++)
    evo_train_result_free(results[i]);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

/* A run that diverges keeps the points scored before it diverged. */
START_TEST(held_out_curve_divergence) {
  evo_task *t = NULL;
  evo_genome *g = preset("plain-sgd");
  evo_train_result *r = NULL;
  const uint64_t *st = NULL;
  const double *acc = NULL;
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, 1.0), EVO_OK);
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_EVAL_EVERY, 1), EVO_OK);
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  ck_assert_int_eq(evo_task_train(t, g, 200, 0, r), EVO_OK);
  ck_assert_double_eq(get(r, EVO_RESULT_DIVERGED), 1);
  double step = get(r, EVO_RESULT_DIVERGED_STEP);
  /* Steps 0 .. step-1 were taken, each followed by a point. */
  size_t n = eval_points(r, &st, &acc);
  ck_assert_uint_eq(n, (size_t)step);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(st[i], i + 1);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

START_TEST(evaluator_means) {
  evo_task *t = NULL;
  evo_evaluator *e = NULL;
  evo_report *rep = NULL;
  evo_train_result *r = NULL;
  evo_genome *g = preset("adam");
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  ck_assert_int_eq(evo_evaluator_run(e, g, 0, rep), EVO_ESTATE);
  ck_assert_int_eq(evo_evaluator_add_task(e, t), EVO_OK);
  ck_assert_int_eq(evo_evaluator_add_task(e, t), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 30), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 3), EVO_OK);
  ck_assert_int_eq(evo_evaluator_fitness(e, g, 5, rep), EVO_OK);
  /* Independently: the mean over seeds 5, 6, 7 of single runs. */
  evo_train_result_new(&r);
  double sum = 0;
  for (uint64_t s = 5; s < 8; s++) {
    ck_assert_int_eq(evo_task_train(t, g, 30, s, r), EVO_OK);
    sum += get(r, EVO_RESULT_FITNESS);
  }
  double f, tf;
  const char *name;
  ck_assert_int_eq(evo_report_fitness(rep, &f), EVO_OK);
  ck_assert_uint_eq(evo_report_task_count(rep), 2);
  ck_assert_int_eq(evo_report_task(rep, 1, &name, &tf), EVO_OK);
  ck_assert_str_eq(name, "digits");
  ck_assert_double_eq_tol(tf, sum / 3, 1e-12);
  ck_assert_double_eq_tol(f, sum / 3, 1e-12);
  ck_assert_int_eq(evo_report_task(rep, 2, &name, &tf), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 0), EVO_ERANGE);
  evo_train_result_free(r);
  evo_report_free(rep);
  evo_evaluator_free(e);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

START_TEST(errors) {
  evo_task *t = NULL;
  ck_assert_int_eq(evo_task_open(&t, "imagenet", NULL), EVO_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "imagenet"));
  ck_assert_int_eq(evo_task_open(&t, "mnist", "/nonexistent/folder"),
                   EVO_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "/nonexistent/folder"));
  ck_assert_int_eq(evo_task_open(NULL, "mnist", NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_task_set_option(t, (evo_task_option)99, 0), EVO_EINVAL);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_RECORD_CURVE, 2), EVO_ERANGE);
  int64_t v = 0;
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_TRAIN_SUBSET, &v), EVO_OK);
  ck_assert_int_eq(v, 15000); /* doc/algorithm.md §3 */
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_BATCH_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 128);
  evo_genome *g = preset("adam");
  evo_train_result *r = NULL;
  evo_train_result_new(&r);
  ck_assert_int_eq(evo_task_train(t, g, 0, 0, r), EVO_ERANGE);
  ck_assert_int_eq(evo_task_train(NULL, g, 1, 0, r), EVO_EINVAL);
  ck_assert_int_eq(evo_train_result_get(r, (evo_result_key)42, &(double){0}),
                   EVO_EINVAL);
  evo_train_result_free(r);
  evo_train_result_free(NULL);
  evo_genome_free(g);
  evo_task_free(t);
  evo_task_free(NULL);
}
END_TEST

/* Flip and pad-4 crop (doc/algorithm.md §3): every augmented image equals one
 * of the 2 × 9 × 9 flips and shifts of the original, computed here directly,
 * with lut[0] where the crop leaves the image; all occur, flips about half
 * the time. */
START_TEST(cifar_augmentation) {
  evo_dataset d;
  memset(&d, 0, sizeof d);
  d.channels = 3;
  d.height = d.width = 32;
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < 256; p++)
      d.lut[c][p] = (float)(1000 * c + p);
  uint8_t img[3 * 32 * 32];
  for (int i = 0; i < 3 * 32 * 32; i++)
    img[i] = (uint8_t)(1 + (i * 7) % 250);
  static float out[3 * 32 * 32];
  int seen[2][9][9] = {{{0}}};
  evo_rng rng;
  evo_rng_seed(&rng, 3);
  int flips = 0, trials = 2000;
  for (int trial = 0; trial < trials; trial++) {
    evo_task_augment_image(&d, img, out, &rng);
    int matches = 0;
    for (int f = 0; f < 2; f++)
      for (int dy = -4; dy <= 4; dy++)
        for (int dx = -4; dx <= 4; dx++) {
          int ok = 1;
          for (int c = 0; c < 3 && ok; c++)
            for (int y = 0; y < 32 && ok; y++)
              for (int x = 0; x < 32 && ok; x++) {
                /* padded image P(y', x') = I(y'-4, x'-4); crop at 4+dy,
                 * 4+dx of the flipped image. */
                int sy = y + dy, sx = x + dx;
                float want = (float)(1000 * c);
                if (sy >= 0 && sy < 32 && sx >= 0 && sx < 32)
                  want += img[c * 1024 + sy * 32 + (f ? 31 - sx : sx)];
                ok = out[c * 1024 + y * 32 + x] == want;
              }
          if (ok) {
            matches++;
            seen[f][dy + 4][dx + 4]++;
            flips += f;
          }
        }
    ck_assert_int_eq(matches, 1);
  }
  for (int f = 0; f < 2; f++)
    for (int i = 0; i < 9; i++)
      for (int j = 0; j < 9; j++)
        ck_assert_int_gt(seen[f][i][j], 0);
  /* Binomial(2000, 0.5): sd 22; allow 5 sd. */
  ck_assert_int_gt(flips, 1000 - 112);
  ck_assert_int_lt(flips, 1000 + 112);
}
END_TEST

/* A short real run on MNIST (issue 3, "Tests in CI"): 60 steps beat chance
 * by a wide margin. Skipped (77) when MNIST is missing. */
static int mnist_run(void) {
  evo_task *t = NULL;
  int rc = evo_task_open(&t, "mnist", NULL);
  if (rc == EVO_ENOTFOUND) {
    printf("SKIP: MNIST not found: %s\n", evo_last_error());
    return 77;
  }
  if (rc != EVO_OK) {
    printf("FAIL: %s\n", evo_last_error());
    return 1;
  }
  evo_genome *g = NULL;
  evo_train_result *r = NULL;
  evo_genome_preset(&g, "adam");
  evo_train_result_new(&r);
  evo_task_set_option(t, EVO_TASK_TEST_LIMIT, 2000);
  rc = evo_task_train(t, g, 60, 0, r);
  double acc = 0, f = 0;
  evo_train_result_get(r, EVO_RESULT_ACCURACY, &acc);
  evo_train_result_get(r, EVO_RESULT_FITNESS, &f);
  printf("mnist, adam, 60 steps: accuracy %.4f, fitness %.4f\n", acc, f);
  int ok = rc == EVO_OK && acc > 0.7;
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
  printf("%d passed, %d failed\n", ok, !ok);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "mnist") == 0)
    return mnist_run();
  Suite *s = suite_create("task");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, digits_adam_learns);
  tcase_add_test(tc, same_seed_same_result);
  tcase_add_test(tc, divergence_scores_minus_one);
  tcase_add_test(tc, evaluator_means);
  tcase_add_test(tc, steps_bound);
  tcase_add_test(tc, memory_does_not_grow_with_steps);
  tcase_add_test(tc, held_out_curve);
  tcase_add_test(tc, held_out_curve_divergence);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, cifar_augmentation);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

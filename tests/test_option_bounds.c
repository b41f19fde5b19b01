/* Every documented bound of every task option, optimizer option and
 * per-tensor option, from both sides (issue 14, item 10): lo - 1 refused,
 * lo accepted, hi accepted, hi + 1 refused; for real values the next value
 * outside (a negative, an infinity, a NaN, a fraction). The bounds are
 * stated here by hand from task.h and optimizer.h, not read from the
 * library. A refused value leaves the option as it was and gets
 * EVO_ERANGE with a message naming the option; an accepted threads value
 * also works where it is used (a training run, an optimizer step). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "evoopt/evoopt.h"

/* ---- task options (task.h, evo_task_option) ---- */

static const struct {
  evo_task_option option;
  const char *name;
  int64_t lo, hi;     /* documented, inclusive */
  int has_lo, has_hi; /* 0: "any value" on that side */
} task_bounds[] = {
    {EVO_TASK_TRAIN_SUBSET, "EVO_TASK_TRAIN_SUBSET", 0, INT64_MAX, 1, 0},
    {EVO_TASK_DATA_SEED, "EVO_TASK_DATA_SEED", INT64_MIN, INT64_MAX, 0, 0},
    {EVO_TASK_BATCH_SIZE, "EVO_TASK_BATCH_SIZE", 1, 4096, 1, 1},
    {EVO_TASK_TEST_LIMIT, "EVO_TASK_TEST_LIMIT", 0, INT64_MAX, 1, 0},
    {EVO_TASK_RECORD_CURVE, "EVO_TASK_RECORD_CURVE", 0, 1, 1, 1},
    {EVO_TASK_DECAY_ALL, "EVO_TASK_DECAY_ALL", 0, 1, 1, 1},
    {EVO_TASK_REFUSE_NONFINITE, "EVO_TASK_REFUSE_NONFINITE", 0, 1, 1, 1},
    {EVO_TASK_THREADS, "EVO_TASK_THREADS", 1, 8, 1, 1},
    {EVO_TASK_EVAL_EVERY, "EVO_TASK_EVAL_EVERY", 0, 10000000, 1, 1},
};
#define N_TASK_BOUNDS (int)(sizeof task_bounds / sizeof task_bounds[0])

static int64_t task_get(const evo_task *t, evo_task_option o) {
  int64_t v = -12345;
  ck_assert_int_eq(evo_task_get_option(t, o, &v), EVO_OK);
  return v;
}

static void task_refuses(evo_task *t, evo_task_option o, const char *name,
                         int64_t value) {
  int64_t before = task_get(t, o);
  int rc = evo_task_set_option(t, o, value);
  ck_assert_msg(rc == EVO_ERANGE, "%s = %lld: status %d, expected EVO_ERANGE",
                name, (long long)value, rc);
  ck_assert_msg(strstr(evo_last_error(), name) != NULL,
                "message '%s' does not name %s", evo_last_error(), name);
  ck_assert_int_eq(task_get(t, o), before);
}

static void task_accepts(evo_task *t, evo_task_option o, const char *name,
                         int64_t value) {
  int rc = evo_task_set_option(t, o, value);
  ck_assert_msg(rc == EVO_OK, "%s = %lld: status %d (%s)", name,
                (long long)value, rc, evo_last_error());
  ck_assert_int_eq(task_get(t, o), value);
}

START_TEST(task_option_bounds) {
  evo_task *t = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  const char *name = task_bounds[_i].name;
  evo_task_option o = task_bounds[_i].option;
  int64_t lo = task_bounds[_i].lo, hi = task_bounds[_i].hi;
  if (task_bounds[_i].has_lo)
    task_refuses(t, o, name, lo - 1);
  task_accepts(t, o, name, lo);
  task_accepts(t, o, name, hi);
  if (task_bounds[_i].has_hi)
    task_refuses(t, o, name, hi + 1);
  if (task_bounds[_i].has_lo)
    task_refuses(t, o, name, INT64_MIN);
  if (task_bounds[_i].has_hi)
    task_refuses(t, o, name, INT64_MAX);
  evo_task_free(t);
}
END_TEST

/* The threads bound is the engine's: a run at the highest accepted value
 * trains (before issue 14, 9..64 were accepted here and every run then
 * failed with "9 threads outside 1..8"). */
START_TEST(task_threads_bound_is_the_engines) {
  evo_task *t = NULL;
  evo_genome *g = NULL;
  evo_train_result *r = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 8), EVO_OK);
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 16), EVO_OK);
  int rc = evo_task_train(t, g, 3, 0, r);
  ck_assert_msg(rc == EVO_OK, "8 threads: %s", evo_last_error());
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 9), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "1..8"));
  ck_assert_int_eq(evo_task_set_option(t, EVO_TASK_THREADS, 64), EVO_ERANGE);
  evo_train_result_free(r);
  evo_genome_free(g);
  evo_task_free(t);
}
END_TEST

/* ---- evaluator (task.h) ---- */

START_TEST(evaluator_bounds) {
  evo_evaluator *e = NULL;
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 1), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 10000000), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(e, 10000001), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 1), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 1000), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(e, 1001), EVO_ERANGE);
  evo_evaluator_free(e);
}
END_TEST

/* ---- optimizer-wide and per-tensor options (optimizer.h) ---- */

static const struct {
  int per_tensor; /* 1: evo_param_option, 0: evo_optimizer_option */
  int option;
  const char *name; /* what the message names */
  double lo, hi;
  double out[5]; /* values refused: just outside a bound, or no real */
  int n_out;
  int integer; /* 1: fractions inside the range are refused too */
} opt_bounds[] = {
    {0,
     EVO_OPT_REFUSE_NONFINITE,
     "EVO_OPT_REFUSE_NONFINITE",
     0,
     1,
     {-1, 2, NAN},
     3,
     1},
    {0,
     EVO_OPT_BASE_LR,
     "EVO_OPT_BASE_LR",
     0,
     DBL_MAX,
     {-DBL_MIN, -1, INFINITY, NAN},
     4,
     0},
    {0, EVO_OPT_THREADS, "EVO_OPT_THREADS", 1, 256, {0, 257, NAN}, 3, 1},
    /* |s| in [FLT_MIN, FLT_MAX] (the range of a normal float), either
     * sign: the positive side here, the negative side in
     * optimizer_grad_scale_negative. The values just outside are the next
     * doubles (FLT_MIN and FLT_MAX are exact in double). */
    {0,
     EVO_OPT_GRAD_SCALE,
     "EVO_OPT_GRAD_SCALE",
     FLT_MIN,
     FLT_MAX,
     {0, 0x1.fffffffffffffp-127, 0x1.fffffe0000001p+127, INFINITY, NAN},
     5,
     0},
    {1,
     EVO_PARAM_LR_SCALE,
     "learning-rate scale",
     0,
     DBL_MAX,
     {-DBL_MIN, -1, INFINITY, NAN},
     4,
     0},
    {1, EVO_PARAM_WEIGHT_DECAY, "weight decay", 0, 1, {-1, 2, NAN}, 3, 1},
    {1, EVO_PARAM_FROZEN, "EVO_PARAM_FROZEN", 0, 1, {-1, 2, NAN}, 3, 1},
};
#define N_OPT_BOUNDS (int)(sizeof opt_bounds / sizeof opt_bounds[0])

static int opt_set(evo_optimizer *o, int i, double v) {
  return opt_bounds[i].per_tensor
             ? evo_optimizer_set_param_option(
                   o, 0, (evo_param_option)opt_bounds[i].option, v)
             : evo_optimizer_set_option(
                   o, (evo_optimizer_option)opt_bounds[i].option, v);
}

static double opt_get(const evo_optimizer *o, int i) {
  double v = -12345;
  int rc = opt_bounds[i].per_tensor
               ? evo_optimizer_get_param_option(
                     o, 0, (evo_param_option)opt_bounds[i].option, &v)
               : evo_optimizer_get_option(
                     o, (evo_optimizer_option)opt_bounds[i].option, &v);
  ck_assert_int_eq(rc, EVO_OK);
  return v;
}

static void opt_refuses(evo_optimizer *o, int i, double v) {
  double before = opt_get(o, i);
  int rc = opt_set(o, i, v);
  ck_assert_msg(rc == EVO_ERANGE, "%s = %g: status %d, expected EVO_ERANGE",
                opt_bounds[i].name, v, rc);
  ck_assert_msg(strstr(evo_last_error(), opt_bounds[i].name) != NULL,
                "message '%s' does not name '%s'", evo_last_error(),
                opt_bounds[i].name);
  ck_assert_double_eq(opt_get(o, i), before);
}

/* Sets @p v and takes a step with it: an accepted value must work. */
static void opt_accepts(evo_optimizer *o, int i, double v) {
  int rc = opt_set(o, i, v);
  ck_assert_msg(rc == EVO_OK, "%s = %g: status %d (%s)", opt_bounds[i].name, v,
                rc, evo_last_error());
  ck_assert_double_eq(opt_get(o, i), v);
  ck_assert_int_eq(evo_optimizer_step(o), EVO_OK);
}

START_TEST(optimizer_option_bounds) {
  static float p[64], g[64], p1[8], g1[8];
  for (int k = 0; k < 64; k++)
    g[k] = 0.01f * (float)(k - 32);
  for (int k = 0; k < 8; k++)
    g1[k] = 0.5f;
  evo_genome *genome = NULL;
  evo_optimizer *o = NULL;
  ck_assert_int_eq(evo_genome_preset(&genome, "adamw"), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&o, genome), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(o, p, g, 64), EVO_OK);
  /* Tensor 1 keeps a step possible when tensor 0 is frozen (a step with
   * every tensor frozen is refused, optimizer.h). */
  ck_assert_int_eq(evo_optimizer_add_params(o, p1, g1, 8), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(o, 100), EVO_OK);
  opt_accepts(o, _i, opt_bounds[_i].lo);
  opt_accepts(o, _i, opt_bounds[_i].hi);
  for (int k = 0; k < opt_bounds[_i].n_out; k++)
    opt_refuses(o, _i, opt_bounds[_i].out[k]);
  if (opt_bounds[_i].integer)
    opt_refuses(o, _i, opt_bounds[_i].lo + 0.5);
  opt_accepts(o, _i, opt_bounds[_i].lo);
  evo_optimizer_free(o);
  evo_genome_free(genome);
}
END_TEST

/* EVO_OPT_GRAD_SCALE's negative side: -FLT_MAX to -FLT_MIN accepted, the
 * next doubles outside refused; a step runs with each accepted value. */
START_TEST(optimizer_grad_scale_negative) {
  static float p[16], g[16];
  for (int k = 0; k < 16; k++)
    g[k] = 0.125f * (float)(k - 8);
  evo_genome *genome = NULL;
  evo_optimizer *o = NULL;
  ck_assert_int_eq(evo_genome_preset(&genome, "plain-sgd"), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&o, genome), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(o, p, g, 16), EVO_OK);
  const double accepted[] = {-(double)FLT_MIN, -(double)FLT_MAX, -1.0};
  const double refused[] = {-0x1.fffffffffffffp-127, -0x1.fffffe0000001p+127,
                            -INFINITY, -0.0};
  for (size_t k = 0; k < sizeof accepted / sizeof accepted[0]; k++) {
    ck_assert_int_eq(evo_optimizer_set_option(o, EVO_OPT_GRAD_SCALE,
                                              accepted[k]),
                     EVO_OK);
    double v = 0;
    ck_assert_int_eq(evo_optimizer_get_option(o, EVO_OPT_GRAD_SCALE, &v),
                     EVO_OK);
    ck_assert_double_eq(v, accepted[k]);
    ck_assert_int_eq(evo_optimizer_step(o), EVO_OK);
  }
  for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
    ck_assert_int_eq(evo_optimizer_set_option(o, EVO_OPT_GRAD_SCALE,
                                              refused[k]),
                     EVO_ERANGE);
    ck_assert_msg(strstr(evo_last_error(), "EVO_OPT_GRAD_SCALE") != NULL,
                  "message '%s'", evo_last_error());
    double v = 0;
    ck_assert_int_eq(evo_optimizer_get_option(o, EVO_OPT_GRAD_SCALE, &v),
                     EVO_OK);
    ck_assert_double_eq(v, -1.0);
  }
  evo_optimizer_free(o);
  evo_genome_free(genome);
}
END_TEST

/* The planned steps S: at least 1 (optimizer.h), any larger count. */
START_TEST(optimizer_total_steps_bound) {
  evo_genome *genome = NULL;
  evo_optimizer *o = NULL;
  ck_assert_int_eq(evo_genome_preset(&genome, "adamw"), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&o, genome), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(o, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_optimizer_set_total_steps(o, 1), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_total_steps(o, UINT64_MAX), EVO_OK);
  evo_optimizer_free(o);
  evo_genome_free(genome);
}
END_TEST

int main(void) {
  Suite *s = suite_create("option_bounds");
  TCase *tc = tcase_create("bounds");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, task_option_bounds, 0, N_TASK_BOUNDS);
  tcase_add_test(tc, task_threads_bound_is_the_engines);
  tcase_add_test(tc, evaluator_bounds);
  tcase_add_loop_test(tc, optimizer_option_bounds, 0, N_OPT_BOUNDS);
  tcase_add_test(tc, optimizer_grad_scale_negative);
  tcase_add_test(tc, optimizer_total_steps_bound);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

/* The typed option calls of 0.2 (issue 10 item 4, doc/api-conventions.md):
 * `_set_option_i64` / `_f64`, `_get_option_i64` / `_f64` and
 * `_option_bounds` on the optimizer (optimizer-wide and per tensor), the
 * task and the population. For every key: the bounds call reports the
 * value type and range stated here by hand from optimizer.h, task.h and
 * population.h; both sides of each bound through the new calls (the value
 * just outside refused with EVO_ERANGE and nothing changed, the bound
 * itself accepted and read back); the call of the other value type refused
 * with EVO_EINVAL naming the right one; the old calls see what the new
 * ones wrote and the other way round. Keys the library reports beyond
 * these tables (added later) get the same checks from the bounds it
 * reports, so that no key escapes the typed calls. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "evoopt/evoopt.h"

/* One key as its header documents it. */
typedef struct row {
  int key;
  const char *name;
  int real;
  int64_t lo, hi;         /* integer keys */
  double flo, fhi, mag;   /* real keys: range, least |value| (0: none) */
} row;

#define I(k, lo, hi) {k, #k, 0, lo, hi, 0, 0, 0}
#define R(k, flo, fhi, mag) {k, #k, 1, 0, 0, flo, fhi, mag}

static const row opt_rows[] = {
    I(EVO_OPT_REFUSE_NONFINITE, 0, 1),
    R(EVO_OPT_BASE_LR, 0.0, DBL_MAX, 0.0),
    I(EVO_OPT_THREADS, 1, 256),
    R(EVO_OPT_GRAD_SCALE, -FLT_MAX, FLT_MAX, FLT_MIN),
};
static const row param_rows[] = {
    R(EVO_PARAM_LR_SCALE, 0.0, DBL_MAX, 0.0),
    I(EVO_PARAM_WEIGHT_DECAY, 0, 1),
    I(EVO_PARAM_FROZEN, 0, 1),
};
static const row task_rows[] = {
    I(EVO_TASK_TRAIN_SUBSET, 0, INT64_MAX),
    I(EVO_TASK_DATA_SEED, INT64_MIN, INT64_MAX),
    I(EVO_TASK_BATCH_SIZE, 1, 4096),
    I(EVO_TASK_TEST_LIMIT, 0, INT64_MAX),
    I(EVO_TASK_RECORD_CURVE, 0, 1),
    I(EVO_TASK_DECAY_ALL, 0, 1),
    I(EVO_TASK_REFUSE_NONFINITE, 0, 1),
    I(EVO_TASK_THREADS, 1, 8),
    I(EVO_TASK_EVAL_EVERY, 0, 10000000),
};
static const row pop_rows[] = {
    I(EVO_POP_SIZE, 2, 1000000),
    I(EVO_POP_GENERATIONS, 1, 4294967295),
    I(EVO_POP_ELITES, 0, 999999),
    I(EVO_POP_TOURNAMENT, 1, 1000000),
    I(EVO_POP_RUN_SEED, INT64_MIN, INT64_MAX),
    I(EVO_POP_WORKERS, 1, 256),
    I(EVO_POP_FRESH_SEEDS, 0, 1),
    I(EVO_POP_HALL_OF_FAME, 1, 1000000),
    I(EVO_POP_CACHE, 0, 2),
    I(EVO_POP_ALGORITHM, 0, 2),
    I(EVO_POP_RUNGS, 1, 8),
    I(EVO_POP_PROMOTE, 2, 1000),
    I(EVO_POP_BUDGET, 0, INT64_C(1) << 40),
    I(EVO_POP_WINDOW, 1, INT64_C(1) << 20),
};
#define COUNT(a) (int)(sizeof a / sizeof a[0])

/* ---- one family behind a common face ---------------------------------- */

/* The five typed calls and the old pair of one family, on one object
 * (tensor 0 for per-tensor options). The old calls' values are converted
 * here (optimizer: double; task, population: int64_t). */
typedef struct family {
  const char *name;
  const row *rows;
  int n_rows;
  void *obj;
  int (*bounds)(int key, evo_option_bounds *out);
  int (*set_i64)(void *obj, int key, int64_t v);
  int (*set_f64)(void *obj, int key, double v);
  int (*get_i64)(const void *obj, int key, int64_t *out);
  int (*get_f64)(const void *obj, int key, double *out);
  int old_real; /* the old calls' value type */
  int (*old_set_f)(void *obj, int key, double v);
  int (*old_get_f)(const void *obj, int key, double *out);
  int (*old_set_i)(void *obj, int key, int64_t v);
  int (*old_get_i)(const void *obj, int key, int64_t *out);
} family;

/* optimizer-wide */
static int ob(int k, evo_option_bounds *o) {
  return evo_optimizer_option_bounds((evo_optimizer_option)k, o);
}
static int osi(void *p, int k, int64_t v) {
  return evo_optimizer_set_option_i64(p, (evo_optimizer_option)k, v);
}
static int osf(void *p, int k, double v) {
  return evo_optimizer_set_option_f64(p, (evo_optimizer_option)k, v);
}
static int ogi(const void *p, int k, int64_t *v) {
  return evo_optimizer_get_option_i64(p, (evo_optimizer_option)k, v);
}
static int ogf(const void *p, int k, double *v) {
  return evo_optimizer_get_option_f64(p, (evo_optimizer_option)k, v);
}
static int oos(void *p, int k, double v) {
  return evo_optimizer_set_option(p, (evo_optimizer_option)k, v);
}
static int oog(const void *p, int k, double *v) {
  return evo_optimizer_get_option(p, (evo_optimizer_option)k, v);
}
/* per tensor, tensor 0 */
static int pb(int k, evo_option_bounds *o) {
  return evo_optimizer_param_option_bounds((evo_param_option)k, o);
}
static int psi(void *p, int k, int64_t v) {
  return evo_optimizer_set_param_option_i64(p, 0, (evo_param_option)k, v);
}
static int psf(void *p, int k, double v) {
  return evo_optimizer_set_param_option_f64(p, 0, (evo_param_option)k, v);
}
static int pgi(const void *p, int k, int64_t *v) {
  return evo_optimizer_get_param_option_i64(p, 0, (evo_param_option)k, v);
}
static int pgf(const void *p, int k, double *v) {
  return evo_optimizer_get_param_option_f64(p, 0, (evo_param_option)k, v);
}
static int pos(void *p, int k, double v) {
  return evo_optimizer_set_param_option(p, 0, (evo_param_option)k, v);
}
static int pog(const void *p, int k, double *v) {
  return evo_optimizer_get_param_option(p, 0, (evo_param_option)k, v);
}
/* task */
static int tb(int k, evo_option_bounds *o) {
  return evo_task_option_bounds((evo_task_option)k, o);
}
static int tsi(void *p, int k, int64_t v) {
  return evo_task_set_option_i64(p, (evo_task_option)k, v);
}
static int tsf(void *p, int k, double v) {
  return evo_task_set_option_f64(p, (evo_task_option)k, v);
}
static int tgi(const void *p, int k, int64_t *v) {
  return evo_task_get_option_i64(p, (evo_task_option)k, v);
}
static int tgf(const void *p, int k, double *v) {
  return evo_task_get_option_f64(p, (evo_task_option)k, v);
}
static int tos(void *p, int k, int64_t v) {
  return evo_task_set_option(p, (evo_task_option)k, v);
}
static int tog(const void *p, int k, int64_t *v) {
  return evo_task_get_option(p, (evo_task_option)k, v);
}
/* population */
static int qb(int k, evo_option_bounds *o) {
  return evo_population_option_bounds((evo_pop_setting)k, o);
}
static int qsi(void *p, int k, int64_t v) {
  return evo_population_set_option_i64(p, (evo_pop_setting)k, v);
}
static int qsf(void *p, int k, double v) {
  return evo_population_set_option_f64(p, (evo_pop_setting)k, v);
}
static int qgi(const void *p, int k, int64_t *v) {
  return evo_population_get_option_i64(p, (evo_pop_setting)k, v);
}
static int qgf(const void *p, int k, double *v) {
  return evo_population_get_option_f64(p, (evo_pop_setting)k, v);
}
static int qos(void *p, int k, int64_t v) {
  return evo_population_set(p, (evo_pop_setting)k, v);
}
static int qog(const void *p, int k, int64_t *v) {
  return evo_population_get(p, (evo_pop_setting)k, v);
}

/* ---- checks ------------------------------------------------------------ */

static float params[4], grads[4];
static evo_genome *genome;

static family make(int which) {
  family f = {0};
  if (which <= 1) {
    ck_assert_int_eq(evo_genome_preset(&genome, "adamw"), EVO_OK);
    evo_optimizer *o = NULL;
    ck_assert_int_eq(evo_optimizer_new(&o, genome), EVO_OK);
    ck_assert_int_eq(evo_optimizer_add_params(o, params, grads, 4), EVO_OK);
    f.obj = o;
    f.old_real = 1;
  }
  if (which == 0) {
    f = (family){"optimizer", opt_rows, COUNT(opt_rows), f.obj, ob, osi,
                 osf, ogi, ogf, 1, oos, oog, NULL, NULL};
  } else if (which == 1) {
    f = (family){"per-tensor", param_rows, COUNT(param_rows), f.obj, pb, psi,
                 psf, pgi, pgf, 1, pos, pog, NULL, NULL};
  } else if (which == 2) {
    evo_task *t = NULL;
    ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
    f = (family){"task", task_rows, COUNT(task_rows), t, tb, tsi, tsf, tgi,
                 tgf, 0, NULL, NULL, tos, tog};
  } else {
    evo_population *p = NULL;
    ck_assert_int_eq(evo_population_new(&p), EVO_OK);
    f = (family){"population", pop_rows, COUNT(pop_rows), p, qb, qsi, qsf,
                 qgi, qgf, 0, NULL, NULL, qos, qog};
  }
  return f;
}

static void unmake(int which, family *f) {
  if (which <= 1)
    evo_optimizer_free(f->obj);
  else if (which == 2)
    evo_task_free(f->obj);
  else
    evo_population_free(f->obj);
  evo_genome_free(genome);
  genome = NULL;
}

/* The value of @p key through the new getter of its type, as a double
 * (integers compared exactly as int64 where it matters, below). */
static int64_t get_i(const family *f, int key) {
  int64_t v = -12345;
  ck_assert_int_eq(f->get_i64(f->obj, key, &v), EVO_OK);
  return v;
}
static double get_f(const family *f, int key) {
  double v = -12345;
  ck_assert_int_eq(f->get_f64(f->obj, key, &v), EVO_OK);
  return v;
}

/* Whether the thread's message names the key (a later key's name is not
 * known here: any message will do). */
static int names(const row *r) {
  return r->name[0] == '(' || strstr(evo_last_error(), r->name) != NULL;
}

static void refuse_i(const family *f, const row *r, int64_t v) {
  int64_t before = get_i(f, r->key);
  int rc = f->set_i64(f->obj, r->key, v);
  ck_assert_msg(rc == EVO_ERANGE, "%s %s = %lld: status %d, not EVO_ERANGE",
                f->name, r->name, (long long)v, rc);
  ck_assert_msg(names(r), "message '%s' does not name %s", evo_last_error(),
                r->name);
  ck_assert_int_eq(get_i(f, r->key), before);
}

/* Accepted through the new setter, read back by both getters. */
static void accept_i(const family *f, const row *r, int64_t v) {
  int rc = f->set_i64(f->obj, r->key, v);
  ck_assert_msg(rc == EVO_OK, "%s %s = %lld: status %d (%s)", f->name,
                r->name, (long long)v, rc, evo_last_error());
  ck_assert_int_eq(get_i(f, r->key), v);
  if (f->old_real) {
    double d = -1;
    ck_assert_int_eq(f->old_get_f(f->obj, r->key, &d), EVO_OK);
    ck_assert_double_eq(d, (double)v);
  } else {
    int64_t o = -1;
    ck_assert_int_eq(f->old_get_i(f->obj, r->key, &o), EVO_OK);
    ck_assert_int_eq(o, v);
  }
}

static void refuse_f(const family *f, const row *r, double v) {
  double before = get_f(f, r->key);
  int rc = f->set_f64(f->obj, r->key, v);
  ck_assert_msg(rc == EVO_ERANGE, "%s %s = %g: status %d, not EVO_ERANGE",
                f->name, r->name, v, rc);
  ck_assert_msg(names(r), "message '%s' does not name %s", evo_last_error(),
                r->name);
  ck_assert(get_f(f, r->key) == before);
}

static void accept_f(const family *f, const row *r, double v) {
  int rc = f->set_f64(f->obj, r->key, v);
  ck_assert_msg(rc == EVO_OK, "%s %s = %g: status %d (%s)", f->name, r->name,
                v, rc, evo_last_error());
  ck_assert(get_f(f, r->key) == v);
  double d = -1;
  ck_assert_int_eq(f->old_get_f(f->obj, r->key, &d), EVO_OK);
  ck_assert(d == v);
}

/* The old setter writes, the new getter reads (one value inside). */
static void old_to_new(const family *f, const row *r) {
  if (r->real) {
    double v = r->mag > 0 ? 0.5 : 0.25;
    ck_assert_int_eq(f->old_set_f(f->obj, r->key, v), EVO_OK);
    ck_assert(get_f(f, r->key) == v);
    return;
  }
  int64_t v = r->hi; /* the bound itself, set through the old call */
  if (f->old_real)
    ck_assert_int_eq(f->old_set_f(f->obj, r->key, (double)v), EVO_OK);
  else
    ck_assert_int_eq(f->old_set_i(f->obj, r->key, v), EVO_OK);
  ck_assert_int_eq(get_i(f, r->key), v);
}

/* The call of the other value type is refused, naming the right one. */
static void wrong_type(const family *f, const row *r) {
  if (r->real) {
    int64_t i = 0;
    double before = get_f(f, r->key);
    ck_assert_int_eq(f->set_i64(f->obj, r->key, 1), EVO_EINVAL);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), "_f64"));
    ck_assert_msg(names(r), "message '%s' does not name %s",
                  evo_last_error(), r->name);
    ck_assert_int_eq(f->get_i64(f->obj, r->key, &i), EVO_EINVAL);
    ck_assert(get_f(f, r->key) == before);
  } else {
    double d = 0;
    int64_t before = get_i(f, r->key);
    ck_assert_int_eq(f->set_f64(f->obj, r->key, 1.0), EVO_EINVAL);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), "_i64"));
    ck_assert_msg(names(r), "message '%s' does not name %s",
                  evo_last_error(), r->name);
    ck_assert_int_eq(f->get_f64(f->obj, r->key, &d), EVO_EINVAL);
    ck_assert_int_eq(get_i(f, r->key), before);
  }
}

static void check_row(const family *f, const row *r) {
  evo_option_bounds b;
  memset(&b, 0x5a, sizeof b);
  ck_assert_int_eq(f->bounds(r->key, &b), EVO_OK);
  ck_assert_msg(b.is_real == r->real, "%s: is_real %d", r->name, b.is_real);
  if (r->real) {
    ck_assert_int_eq(b.min_i64, 0);
    ck_assert_int_eq(b.max_i64, 0);
    ck_assert(b.min_f64 == r->flo && b.max_f64 == r->fhi);
    ck_assert(b.min_magnitude == r->mag);
  } else {
    ck_assert_msg(b.min_i64 == r->lo && b.max_i64 == r->hi,
                  "%s: bounds %lld..%lld", r->name, (long long)b.min_i64,
                  (long long)b.max_i64);
    ck_assert(b.min_f64 == (double)r->lo && b.max_f64 == (double)r->hi);
    ck_assert(b.min_magnitude == 0.0);
  }
  wrong_type(f, r);
  if (r->real) {
    if (r->flo > -DBL_MAX)
      refuse_f(f, r, nextafter(r->flo, -INFINITY));
    accept_f(f, r, r->flo);
    accept_f(f, r, r->fhi);
    if (r->fhi < DBL_MAX)
      refuse_f(f, r, nextafter(r->fhi, INFINITY));
    refuse_f(f, r, INFINITY);
    refuse_f(f, r, -INFINITY);
    refuse_f(f, r, NAN);
    if (r->mag > 0) {
      refuse_f(f, r, 0.0);
      refuse_f(f, r, nextafter(r->mag, 0.0));
      refuse_f(f, r, -nextafter(r->mag, 0.0));
      accept_f(f, r, r->mag);
      accept_f(f, r, -r->mag);
    }
  } else {
    if (r->lo > INT64_MIN) {
      refuse_i(f, r, r->lo - 1);
      refuse_i(f, r, INT64_MIN);
    }
    accept_i(f, r, r->lo);
    accept_i(f, r, r->hi);
    if (r->hi < INT64_MAX) {
      refuse_i(f, r, r->hi + 1);
      refuse_i(f, r, INT64_MAX);
    }
  }
  old_to_new(f, r);
}

START_TEST(every_key) {
  family f = make(_i);
  for (int k = 0; k < f.n_rows; k++) {
    ck_assert_int_eq(f.rows[k].key, k); /* the tables follow the enums */
    check_row(&f, &f.rows[k]);
  }
  /* Keys added after these tables: the same checks from the bounds the
   * library reports (the type and range then come from the header). */
  int k = f.n_rows;
  evo_option_bounds b;
  for (; k < 64 && f.bounds(k, &b) == EVO_OK; k++) {
    row r = {k, "(a later key)", b.is_real, b.min_i64, b.max_i64,
             b.min_f64, b.max_f64, b.min_magnitude};
    check_row(&f, &r);
  }
  ck_assert_int_lt(k, 64);
  /* Unknown keys and NULL: EVO_EINVAL from every call. */
  const int unknown[] = {-1, k, 999};
  for (int u = 0; u < 3; u++) {
    int64_t i = 7;
    double d = 7;
    ck_assert_int_eq(f.bounds(unknown[u], &b), EVO_EINVAL);
    ck_assert_int_eq(f.set_i64(f.obj, unknown[u], 0), EVO_EINVAL);
    ck_assert_int_eq(f.set_f64(f.obj, unknown[u], 0), EVO_EINVAL);
    ck_assert_int_eq(f.get_i64(f.obj, unknown[u], &i), EVO_EINVAL);
    ck_assert_int_eq(f.get_f64(f.obj, unknown[u], &d), EVO_EINVAL);
    ck_assert(i == 7 && d == 7);
  }
  int64_t i = 0;
  double d = 0;
  ck_assert_int_eq(f.bounds(0, NULL), EVO_EINVAL);
  ck_assert_int_eq(f.set_i64(NULL, 0, 0), EVO_EINVAL);
  ck_assert_int_eq(f.set_f64(NULL, 0, 0), EVO_EINVAL);
  ck_assert_int_eq(f.get_i64(NULL, 0, &i), EVO_EINVAL);
  ck_assert_int_eq(f.get_f64(NULL, 0, &d), EVO_EINVAL);
  ck_assert_int_eq(f.get_i64(f.obj, 0, NULL), EVO_EINVAL);
  ck_assert_int_eq(f.get_f64(f.obj, 0, NULL), EVO_EINVAL);
  unmake(_i, &f);
}
END_TEST

/* Per-tensor calls on a tensor that does not exist: EVO_ERANGE, as the old
 * calls give. */
START_TEST(per_tensor_index) {
  evo_optimizer *o = NULL;
  ck_assert_int_eq(evo_genome_preset(&genome, "adamw"), EVO_OK);
  ck_assert_int_eq(evo_optimizer_new(&o, genome), EVO_OK);
  int64_t i = 0;
  double d = 0;
  ck_assert_int_eq(
      evo_optimizer_set_param_option_i64(o, 0, EVO_PARAM_FROZEN, 1),
      EVO_ERANGE);
  ck_assert_int_eq(
      evo_optimizer_set_param_option_f64(o, 0, EVO_PARAM_LR_SCALE, 1.0),
      EVO_ERANGE);
  ck_assert_int_eq(
      evo_optimizer_get_param_option_i64(o, 0, EVO_PARAM_FROZEN, &i),
      EVO_ERANGE);
  ck_assert_int_eq(
      evo_optimizer_get_param_option_f64(o, 0, EVO_PARAM_LR_SCALE, &d),
      EVO_ERANGE);
  evo_optimizer_free(o);
  evo_genome_free(genome);
  genome = NULL;
}
END_TEST

/* A population setting that may not change once the run has started is
 * refused through the new call as through the old one (EVO_ESTATE). */
static int fit_one(void *user, const evo_genome *g, uint64_t seed,
                   evo_report *rep) {
  (void)user, (void)g, (void)seed;
  return evo_report_set_fitness(rep, 1.0);
}

START_TEST(population_started) {
  evo_population *p = NULL;
  ck_assert_int_eq(evo_population_new(&p), EVO_OK);
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_SIZE, 4), EVO_OK);
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_ELITES, 1),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_TOURNAMENT, 2),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_GENERATIONS, 2),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(p, fit_one, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_step(p), EVO_OK);
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_SIZE, 5),
                   EVO_ESTATE);
  /* the refusal names the call made, not the one it shares code with */
  ck_assert_str_eq(evo_last_error(),
                   "evo_population_set_option_i64: the run has started");
  ck_assert_int_eq(evo_population_set_option(p, EVO_POP_SIZE, 5), EVO_ESTATE);
  ck_assert_str_eq(evo_last_error(),
                   "evo_population_set_option: the run has started");
  ck_assert_int_eq(evo_population_set(p, EVO_POP_SIZE, 5), EVO_ESTATE);
  ck_assert_str_eq(evo_last_error(),
                   "evo_population_set: the run has started");
  int64_t v = 0;
  ck_assert_int_eq(evo_population_get_option_i64(p, EVO_POP_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 4);
  /* workers may change between steps, through either call */
  ck_assert_int_eq(evo_population_set_option_i64(p, EVO_POP_WORKERS, 2),
                   EVO_OK);
  ck_assert_int_eq(evo_population_get(p, EVO_POP_WORKERS, &v), EVO_OK);
  ck_assert_int_eq(v, 2);
  evo_population_free(p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("option_typed");
  TCase *tc = tcase_create("typed");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, every_key, 0, 4);
  tcase_add_test(tc, per_tensor_index);
  tcase_add_test(tc, population_started);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

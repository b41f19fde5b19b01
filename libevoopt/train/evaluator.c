/* The multi-task evaluator: tasks × seeds, the mean over seeds then over
 * tasks (doc/algorithm.md §3, "Multi-task fitness"), shaped as the population's
 * fitness callback. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/common_internal.h"
#include "train/evaluator_internal.h"
#include "train/report_internal.h"
#include "train/task_internal.h"

/* One rung of evaluation: steps, seeds, test images (0: all). */
typedef struct evo_rung {
  uint64_t steps;
  uint32_t seeds;
  uint64_t test_limit;
} evo_rung;

/* The most cheap rungs an evaluator holds (the full one comes after). */
#define EVO_MAX_CHEAP_RUNGS 7
/* The full rung's test limit: each task's own EVO_TASK_TEST_LIMIT. */
#define FULL_TEST UINT64_MAX

struct evo_evaluator {
  const evo_task *tasks[EVO_REPORT_MAX_TASKS];
  size_t n_tasks;
  uint64_t steps;
  uint32_t seeds;
  evo_rung cheap[EVO_MAX_CHEAP_RUNGS]; /* doc/algorithm.md §9 */
  size_t n_cheap;
};

EVO_API int evo_evaluator_new(evo_evaluator **out) {
  EVO_CHECK_ARG(out);
  *out = evo_calloc(1, sizeof **out);
  if (*out == NULL)
    return EVO_ENOMEM;
  (*out)->steps = 500; /* doc/algorithm.md §4, the paper settings */
  (*out)->seeds = 2;
  return EVO_OK;
}

EVO_API void evo_evaluator_free(evo_evaluator *e) { free(e); }

EVO_API int evo_evaluator_add_task(evo_evaluator *e, const evo_task *task) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(task);
  if (e->n_tasks >= EVO_REPORT_MAX_TASKS)
    return evo_set_error(EVO_ERANGE, "an evaluator holds at most %d tasks",
                         EVO_REPORT_MAX_TASKS);
  e->tasks[e->n_tasks++] = task;
  return EVO_OK;
}

static int check_steps(uint64_t steps) {
  if (steps == 0 || steps > EVO_MAX_STEPS)
    return evo_set_error(
        EVO_ERANGE, "steps must be in 1..%llu (EVO_MAX_STEPS), got %llu",
        (unsigned long long)EVO_MAX_STEPS, (unsigned long long)steps);
  return EVO_OK;
}

static int check_seeds(uint32_t n) {
  if (n == 0 || n > 1000)
    return evo_set_error(EVO_ERANGE, "seeds must be in 1..1000, got %u", n);
  return EVO_OK;
}

EVO_API int evo_evaluator_set_steps(evo_evaluator *e, uint64_t steps) {
  EVO_CHECK_ARG(e);
  int rc = check_steps(steps);
  if (rc == EVO_OK)
    e->steps = steps;
  return rc;
}

EVO_API int evo_evaluator_set_seeds(evo_evaluator *e, uint32_t n) {
  EVO_CHECK_ARG(e);
  int rc = check_seeds(n);
  if (rc == EVO_OK)
    e->seeds = n;
  return rc;
}

EVO_API int evo_evaluator_set_rung(evo_evaluator *e, uint32_t rung,
                                   uint64_t steps, uint32_t seeds,
                                   uint64_t test_limit) {
  EVO_CHECK_ARG(e);
  if (rung >= EVO_MAX_CHEAP_RUNGS || rung > e->n_cheap)
    return evo_set_error(EVO_ERANGE,
                         "evo_evaluator_set_rung: rung %u must be at most "
                         "%zu (the rungs defined) and below %d",
                         rung, e->n_cheap, EVO_MAX_CHEAP_RUNGS);
  int rc = check_steps(steps);
  if (rc == EVO_OK)
    rc = check_seeds(seeds);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "evo_evaluator_set_rung: rung %u", rung);
  e->cheap[rung] = (evo_rung){steps, seeds, test_limit};
  if (rung == e->n_cheap)
    e->n_cheap++;
  return EVO_OK;
}

EVO_API size_t evo_evaluator_rungs(const evo_evaluator *e) {
  return e ? e->n_cheap + 1 : 0;
}

EVO_API int evo_evaluator_get_steps(const evo_evaluator *e, uint64_t *out) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(out);
  *out = e->steps;
  return EVO_OK;
}

EVO_API int evo_evaluator_get_seeds(const evo_evaluator *e, uint32_t *out) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(out);
  *out = e->seeds;
  return EVO_OK;
}

EVO_API int evo_evaluator_get_rung(const evo_evaluator *e, uint32_t rung,
                                   uint64_t *steps, uint32_t *seeds,
                                   uint64_t *test_limit) {
  EVO_CHECK_ARG(e);
  if (rung > e->n_cheap)
    return evo_set_error(EVO_ERANGE,
                         "evo_evaluator_get_rung: no rung %u (%zu rungs)",
                         rung, e->n_cheap + 1);
  evo_rung r = rung < e->n_cheap ? e->cheap[rung]
                                 : (evo_rung){e->steps, e->seeds, 0};
  if (steps != NULL)
    *steps = r.steps;
  if (seeds != NULL)
    *seeds = r.seeds;
  if (test_limit != NULL)
    *test_limit = r.test_limit;
  return EVO_OK;
}

/* A rung's test images for task @p t: a cheap rung's own limit, or, at
 * the full rung (FULL_TEST), the task's EVO_TASK_TEST_LIMIT. */
static uint64_t test_limit(const evo_rung *r, const evo_task *t) {
  int64_t limit = 0;
  if (r->test_limit != FULL_TEST)
    return r->test_limit;
  evo_task_get_option(t, EVO_TASK_TEST_LIMIT, &limit);
  return limit > 0 ? (uint64_t)limit : 0;
}

/* The engine threads a task's runs use: a run's cost is its thread's CPU
 * time times these (the team shares the work evenly). */
static double task_threads(const evo_task *t) {
  int64_t n = 1;
  if (evo_task_get_option(t, EVO_TASK_THREADS, &n) != EVO_OK || n < 1)
    n = 1;
  return (double)n;
}

/* One (task, seed) run at rung settings @p r: its fitness, and its cost
 * (CPU seconds times the task's engine threads). */
static int run_one(const evo_rung *r, const evo_task *t, const evo_genome *g,
                   uint64_t seed, evo_train_result *res, double *fitness,
                   double *cost) {
  double f = -1.0, seconds = 0.0;
  int rc = evo_task_train_limit(t, g, r->steps, seed, test_limit(r, t), res);
  if (rc == EVO_OK)
    rc = evo_train_result_get(res, EVO_RESULT_FITNESS, &f);
  if (rc == EVO_OK)
    rc = evo_train_result_get(res, EVO_RESULT_CPU_SECONDS, &seconds);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "task '%s'", t->name);
  *fitness = f;
  *cost = seconds * task_threads(t);
  return EVO_OK;
}

/* Rung @p rung's settings: a cheap rung, or the full evaluation. */
static evo_rung rung_settings(const evo_evaluator *e, uint32_t rung) {
  evo_rung r = {e->steps, e->seeds, FULL_TEST};
  if (rung < e->n_cheap)
    r = e->cheap[rung];
  return r;
}

/* The parts' values, from reports or from plain arrays. */
typedef struct parts_view {
  const evo_report *const *reports; /* or NULL: */
  const double *fitness, *cost;
} parts_view;

static double part_fitness(const parts_view *v, size_t k) {
  return v->reports != NULL ? v->reports[k]->fitness : v->fitness[k];
}

static double part_cost(const parts_view *v, size_t k) {
  return v->reports != NULL ? v->reports[k]->cost : v->cost[k];
}

/* The mean over seeds, then over tasks (doc/algorithm.md §3); the costs
 * summed in the parts' order. A whole evaluation (evo_evaluator_run_rung)
 * and one combined from separate parts both come here, so that their
 * results have the same bits. */
static int combine(const evo_evaluator *e, uint32_t rung,
                   const parts_view *v, size_t n, evo_report *report) {
  if (e->n_tasks == 0)
    return evo_set_error(EVO_ESTATE, "the evaluator has no tasks");
  evo_rung r = rung_settings(e, rung);
  if (n != e->n_tasks * r.seeds)
    return evo_set_error(EVO_ERANGE,
                         "evo_evaluator_combine: %zu parts given, an "
                         "evaluation at rung %u has %zu (tasks x seeds)",
                         n, rung, e->n_tasks * r.seeds);
  evo_report_clear(report);
  double total = 0.0, cost = 0.0;
  int rc = EVO_OK;
  for (size_t i = 0; i < e->n_tasks && rc == EVO_OK; i++) {
    double sum = 0.0;
    for (uint32_t s = 0; s < r.seeds; s++) {
      sum += part_fitness(v, i * r.seeds + s);
      cost += part_cost(v, i * r.seeds + s);
    }
    double mean = sum / (double)r.seeds;
    rc = evo_report_add_task(report, e->tasks[i]->name, mean);
    total += mean;
  }
  if (rc == EVO_OK)
    rc = evo_report_set_fitness(report, total / (double)e->n_tasks);
  if (rc == EVO_OK)
    rc = evo_report_set_cost(report, cost);
  return rc;
}

EVO_API int evo_evaluator_run_rung(const evo_evaluator *e,
                                   const evo_genome *g, uint64_t seed_base,
                                   uint32_t rung, evo_report *report) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(report);
  if (e->n_tasks == 0)
    return evo_set_error(EVO_ESTATE, "the evaluator has no tasks");
  evo_report_clear(report);
  evo_rung r = rung_settings(e, rung);
  size_t n = e->n_tasks * r.seeds;
  double *fitness = calloc(2 * n, sizeof *fitness);
  if (fitness == NULL)
    return evo_set_error(EVO_ENOMEM, "out of memory (%zu runs)", n);
  double *cost = fitness + n;
  evo_train_result *res = NULL;
  int rc = evo_train_result_new(&res);
  /* Task-major: part k is task k / seeds, seed seed_base + k % seeds. */
  for (size_t k = 0; k < n && rc == EVO_OK; k++)
    rc = run_one(&r, e->tasks[k / r.seeds], g, seed_base + k % r.seeds, res,
                 &fitness[k], &cost[k]);
  evo_train_result_free(res);
  if (rc == EVO_OK) {
    parts_view v = {NULL, fitness, cost};
    rc = combine(e, rung, &v, n, report);
  }
  free(fitness);
  return rc;
}

EVO_API int evo_evaluator_run(const evo_evaluator *e, const evo_genome *g,
                              uint64_t seed_base, evo_report *report) {
  return evo_evaluator_run_rung(e, g, seed_base, UINT32_MAX, report);
}

EVO_API int evo_evaluator_fitness_rung(void *user, const evo_genome *g,
                                       uint64_t seed, uint32_t rung,
                                       evo_report *report) {
  return evo_evaluator_run_rung(user, g, seed, rung, report);
}

EVO_API int evo_evaluator_fitness(void *user, const evo_genome *g,
                                  uint64_t seed, evo_report *report) {
  return evo_evaluator_run(user, g, seed, report);
}

/* ---- one evaluation as separate (task, seed) runs (issue 11, item 4) ---- */

EVO_API size_t evo_evaluator_parts(const evo_evaluator *e, uint32_t rung) {
  return e ? e->n_tasks * rung_settings(e, rung).seeds : 0;
}

EVO_API int evo_evaluator_run_part(const evo_evaluator *e,
                                   const evo_genome *g, uint64_t seed_base,
                                   uint32_t rung, size_t part,
                                   evo_report *report) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(report);
  if (e->n_tasks == 0)
    return evo_set_error(EVO_ESTATE, "the evaluator has no tasks");
  evo_rung r = rung_settings(e, rung);
  if (part >= e->n_tasks * r.seeds)
    return evo_set_error(EVO_ERANGE,
                         "evo_evaluator_run_part: part %zu of an evaluation "
                         "with %zu (tasks x seeds) at rung %u",
                         part, e->n_tasks * r.seeds, rung);
  /* Task-major, as evo_evaluator_run_rung() runs them. */
  const evo_task *t = e->tasks[part / r.seeds];
  uint64_t seed = seed_base + (uint64_t)(part % r.seeds);
  evo_train_result *res = NULL;
  int rc = evo_train_result_new(&res);
  if (rc != EVO_OK)
    return rc;
  evo_report_clear(report);
  double f = -1.0, cost = 0.0;
  rc = run_one(&r, t, g, seed, res, &f, &cost);
  evo_train_result_free(res);
  if (rc != EVO_OK)
    return rc;
  rc = evo_report_add_task(report, t->name, f);
  if (rc == EVO_OK)
    rc = evo_report_set_fitness(report, f);
  if (rc == EVO_OK)
    rc = evo_report_set_cost(report, cost);
  return rc;
}

EVO_API int evo_evaluator_combine(const evo_evaluator *e, uint32_t rung,
                                  const evo_report *const *parts, size_t n,
                                  evo_report *report) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(parts);
  EVO_CHECK_ARG(report);
  for (size_t k = 0; k < n; k++)
    if (parts[k] == NULL || parts[k] == report)
      return evo_set_error(EVO_EINVAL,
                           "evo_evaluator_combine: part %zu is %s", k,
                           parts[k] == NULL ? "NULL" : "the output report");
  parts_view v = {parts, NULL, NULL};
  return combine(e, rung, &v, n, report);
}

int evo_evaluator_combine_values(const evo_evaluator *e, uint32_t rung,
                                 const double *fitness, const double *cost,
                                 size_t n, evo_report *report) {
  parts_view v = {NULL, fitness, cost};
  return combine(e, rung, &v, n, report);
}

EVO_API int evo_blas_set_threads(int n) {
  if (n < 1 || n > 1024)
    return evo_set_error(EVO_ERANGE, "BLAS threads must be in 1..1024, got %d",
                         n);
#ifdef EVO_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(n);
#else
  /* Another CBLAS: no portable way to set its threads (meson.build). */
  if (n != 1)
    return evo_set_error(EVO_EUNSUPPORTED,
                         "BLAS threads: this libevoopt was built with a BLAS "
                         "other than OpenBLAS, which cannot set its thread "
                         "count; only 1 is accepted, got %d",
                         n);
#endif
  return EVO_OK;
}

EVO_API int evo_blas_get_threads(int *out) {
  EVO_CHECK_ARG(out);
#ifdef EVO_HAVE_OPENBLAS_THREADS
  *out = openblas_get_num_threads();
#else
  *out = 1; /* the only count evo_blas_set_threads() accepts here */
#endif
  return EVO_OK;
}

/* The multi-task evaluator: tasks × seeds, the mean over seeds then over
 * tasks (doc/algorithm.md §3, "Multi-task fitness"), shaped as the population's
 * fitness callback. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/common_internal.h"
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
    return evo_set_error(EVO_ERANGE,
                         "steps must be in 1..%llu (EVO_MAX_STEPS), got %llu",
                         (unsigned long long)EVO_MAX_STEPS,
                         (unsigned long long)steps);
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

/* The engine threads a task's runs use, to turn time into core-seconds. */
static double task_threads(const evo_task *t) {
  int64_t n = 1;
  if (evo_task_get_option(t, EVO_TASK_THREADS, &n) != EVO_OK || n < 1)
    n = 1;
  return (double)n;
}

EVO_API int evo_evaluator_run_rung(const evo_evaluator *e,
                                   const evo_genome *g, uint64_t seed_base,
                                   uint32_t rung, evo_report *report) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(report);
  if (e->n_tasks == 0)
    return evo_set_error(EVO_ESTATE, "the evaluator has no tasks");
  evo_rung r = {e->steps, e->seeds, 0};
  if (rung < e->n_cheap)
    r = e->cheap[rung];
  evo_train_result *res = NULL;
  int rc = evo_train_result_new(&res);
  if (rc != EVO_OK)
    return rc;
  evo_report_clear(report);
  double total = 0.0, cost = 0.0;
  for (size_t i = 0; i < e->n_tasks && rc == EVO_OK; i++) {
    double sum = 0.0, threads = task_threads(e->tasks[i]);
    for (uint32_t s = 0; s < r.seeds && rc == EVO_OK; s++) {
      double f = -1.0, seconds = 0.0;
      rc = evo_task_train_limit(e->tasks[i], g, r.steps, seed_base + s,
                                r.test_limit, res);
      if (rc == EVO_OK)
        rc = evo_train_result_get(res, EVO_RESULT_FITNESS, &f);
      if (rc == EVO_OK)
        rc = evo_train_result_get(res, EVO_RESULT_SECONDS, &seconds);
      sum += f;
      cost += seconds * threads;
    }
    if (rc != EVO_OK) {
      rc = evo_wrap_error(rc, "task '%s'", e->tasks[i]->name);
      break;
    }
    double mean = sum / (double)r.seeds;
    rc = evo_report_add_task(report, e->tasks[i]->name, mean);
    total += mean;
  }
  if (rc == EVO_OK)
    rc = evo_report_set_fitness(report, total / (double)e->n_tasks);
  if (rc == EVO_OK)
    rc = evo_report_set_cost(report, cost);
  evo_train_result_free(res);
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

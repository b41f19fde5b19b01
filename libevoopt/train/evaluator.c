/* The multi-task evaluator: tasks × seeds, the mean over seeds then over
 * tasks (PROTOCOL §3, "Multi-task fitness"), shaped as the population's
 * fitness callback. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/common_internal.h"
#include "train/report_internal.h"
#include "train/task_internal.h"

struct evo_evaluator {
  const evo_task *tasks[EVO_REPORT_MAX_TASKS];
  size_t n_tasks;
  uint64_t steps;
  uint32_t seeds;
};

EVO_API int evo_evaluator_new(evo_evaluator **out) {
  EVO_CHECK_ARG(out);
  *out = evo_calloc(1, sizeof **out);
  if (*out == NULL)
    return EVO_ENOMEM;
  (*out)->steps = 500; /* PROTOCOL §4, the paper settings */
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

EVO_API int evo_evaluator_set_steps(evo_evaluator *e, uint64_t steps) {
  EVO_CHECK_ARG(e);
  if (steps == 0 || steps > EVO_MAX_STEPS)
    return evo_set_error(EVO_ERANGE,
                         "steps must be in 1..%llu (EVO_MAX_STEPS), got %llu",
                         (unsigned long long)EVO_MAX_STEPS,
                         (unsigned long long)steps);
  e->steps = steps;
  return EVO_OK;
}

EVO_API int evo_evaluator_set_seeds(evo_evaluator *e, uint32_t n) {
  EVO_CHECK_ARG(e);
  if (n == 0 || n > 1000)
    return evo_set_error(EVO_ERANGE, "seeds must be in 1..1000, got %u", n);
  e->seeds = n;
  return EVO_OK;
}

EVO_API int evo_evaluator_run(const evo_evaluator *e, const evo_genome *g,
                              uint64_t seed_base, evo_report *report) {
  EVO_CHECK_ARG(e);
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(report);
  if (e->n_tasks == 0)
    return evo_set_error(EVO_ESTATE, "the evaluator has no tasks");
  evo_train_result *r = NULL;
  int rc = evo_train_result_new(&r);
  if (rc != EVO_OK)
    return rc;
  evo_report_clear(report);
  double total = 0.0;
  for (size_t i = 0; i < e->n_tasks && rc == EVO_OK; i++) {
    double sum = 0.0;
    for (uint32_t s = 0; s < e->seeds && rc == EVO_OK; s++) {
      double f = -1.0;
      rc = evo_task_train(e->tasks[i], g, e->steps, seed_base + s, r);
      if (rc == EVO_OK)
        rc = evo_train_result_get(r, EVO_RESULT_FITNESS, &f);
      sum += f;
    }
    if (rc != EVO_OK) {
      rc = evo_wrap_error(rc, "task '%s'", e->tasks[i]->name);
      break;
    }
    double mean = sum / (double)e->seeds;
    rc = evo_report_add_task(report, e->tasks[i]->name, mean);
    total += mean;
  }
  if (rc == EVO_OK)
    rc = evo_report_set_fitness(report, total / (double)e->n_tasks);
  evo_train_result_free(r);
  return rc;
}

EVO_API int evo_evaluator_fitness(void *user, const evo_genome *g,
                                  uint64_t seed, evo_report *report) {
  return evo_evaluator_run(user, g, seed, report);
}

EVO_API int evo_blas_set_threads(int n) {
  if (n < 1 || n > 1024)
    return evo_set_error(EVO_ERANGE, "BLAS threads must be in 1..1024, got %d",
                         n);
  openblas_set_num_threads(n);
  return EVO_OK;
}

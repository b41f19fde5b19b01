/* Evaluation reports: overall fitness plus a per-task breakdown (task.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "train/report_internal.h"

EVO_API int evo_report_new(evo_report **out) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  evo_report *rep = evo_calloc(1, sizeof *rep);
  if (rep == NULL)
    return EVO_ENOMEM;
  rep->fitness = -1.0;
  *out = rep;
  return EVO_OK;
}

EVO_API void evo_report_free(evo_report *rep) { free(rep); }

EVO_API int evo_report_clear(evo_report *rep) {
  EVO_CHECK_ARG(rep);
  memset(rep, 0, sizeof *rep);
  rep->fitness = -1.0;
  return EVO_OK;
}

void evo_report_copy(evo_report *dst, const evo_report *src) {
  memcpy(dst, src, sizeof *dst);
}

EVO_API int evo_report_set_fitness(evo_report *rep, double fitness) {
  EVO_CHECK_ARG(rep);
  if (!isfinite(fitness))
    return evo_set_error(EVO_ERANGE, "report fitness must be finite, got %g",
                         fitness);
  rep->fitness = fitness;
  return EVO_OK;
}

EVO_API int evo_report_add_task(evo_report *rep, const char *task,
                                double fitness) {
  EVO_CHECK_ARG(rep);
  EVO_CHECK_ARG(task);
  if (rep->n_tasks >= EVO_REPORT_MAX_TASKS)
    return evo_set_error(EVO_ERANGE, "a report holds at most %d tasks",
                         EVO_REPORT_MAX_TASKS);
  if (strlen(task) >= EVO_REPORT_NAME_CAP)
    return evo_set_error(EVO_ERANGE, "task name '%.20s...' is longer than %d "
                         "bytes", task, EVO_REPORT_NAME_CAP - 1);
  if (!isfinite(fitness))
    return evo_set_error(EVO_ERANGE, "fitness of task '%s' must be finite",
                         task);
  strcpy(rep->names[rep->n_tasks], task);
  rep->task_fitness[rep->n_tasks] = fitness;
  rep->n_tasks++;
  return EVO_OK;
}

EVO_API int evo_report_fitness(const evo_report *rep, double *out) {
  EVO_CHECK_ARG(rep);
  EVO_CHECK_ARG(out);
  *out = rep->fitness;
  return EVO_OK;
}

EVO_API size_t evo_report_task_count(const evo_report *rep) {
  return rep ? rep->n_tasks : 0;
}

EVO_API int evo_report_task(const evo_report *rep, size_t index,
                            const char **name, double *fitness) {
  EVO_CHECK_ARG(rep);
  if (index >= rep->n_tasks)
    return evo_set_error(EVO_ERANGE, "report has %zu tasks, asked for #%zu",
                         rep->n_tasks, index);
  if (name)
    *name = rep->names[index];
  if (fitness)
    *fitness = rep->task_fitness[index];
  return EVO_OK;
}

EVO_API int evo_report_set_cost(evo_report *rep, double core_seconds) {
  EVO_CHECK_ARG(rep);
  if (!isfinite(core_seconds) || core_seconds < 0.0)
    return evo_set_error(EVO_ERANGE,
                         "evo_report_set_cost: the cost must be finite and "
                         "at least 0, got %g",
                         core_seconds);
  rep->cost = core_seconds;
  return EVO_OK;
}

EVO_API int evo_report_cost(const evo_report *rep, double *out) {
  EVO_CHECK_ARG(rep);
  EVO_CHECK_ARG(out);
  *out = rep->cost;
  return EVO_OK;
}

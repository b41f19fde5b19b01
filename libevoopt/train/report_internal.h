/* The evaluation report (task.h): fixed-size, so copying is a memcpy and a
 * report never allocates after creation. Never installed. */
#ifndef EVOOPT_REPORT_INTERNAL_H
#define EVOOPT_REPORT_INTERNAL_H

#include "evoopt/task.h"

#define EVO_REPORT_MAX_TASKS 64
#define EVO_REPORT_NAME_CAP 64

struct evo_report {
  double fitness;
  size_t n_tasks;
  char names[EVO_REPORT_MAX_TASKS][EVO_REPORT_NAME_CAP];
  double task_fitness[EVO_REPORT_MAX_TASKS];
  double cost; /* CPU core-seconds the evaluation took (0: unknown) */
};

/* Copies @p src into @p dst (both valid). */
void evo_report_copy(evo_report *dst, const evo_report *src);

#endif

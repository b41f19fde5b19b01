/* The evaluator's calls for code inside the library that keeps the parts
 * of an evaluation as plain numbers (the MPI back end, dist/backend_mpi.c).
 * Never installed. */
#ifndef EVOOPT_EVALUATOR_INTERNAL_H
#define EVOOPT_EVALUATOR_INTERNAL_H

#include "evoopt/task.h"

/* evo_evaluator_combine() of @p n parts given as their fitness and cost
 * (part k = task k / seeds, seed k % seeds), with the same bits. */
int evo_evaluator_combine_values(const evo_evaluator *e, uint32_t rung,
                                 const double *fitness, const double *cost,
                                 size_t n, evo_report *report);

#endif

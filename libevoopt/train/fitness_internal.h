/* The fitness of one training run (doc/algorithm.md §3 step 4, §7) and
 * the divergence rules, shared by the image tasks (task.c) and the
 * language-model task (lm_task.c). Never installed. */
#ifndef EVOOPT_FITNESS_INTERNAL_H
#define EVOOPT_FITNESS_INTERNAL_H

#include <math.h>

/* Divergence threshold on the batch loss (doc/algorithm.md §3, step 2). */
#define EVO_LOSS_LIMIT 50.0
/* Losses averaged into L (doc/algorithm.md §3, step 3). */
#define EVO_LOSS_TAIL 50

/* accuracy + 0.05·max(0, 1 - L/scale): scale 1 for the image tasks
 * (doc/algorithm.md §3 step 4), ln 65 for shakespeare_char (§7), so that a
 * uniform guess over the 65 characters earns no bonus. */
static inline double evo_task_fitness(double accuracy, double mean_loss,
                                      double scale) {
  return accuracy + 0.05 * fmax(0.0, 1.0 - mean_loss / scale);
}

#endif

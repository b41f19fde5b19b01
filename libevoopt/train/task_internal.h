/* The task's representation, shared by task.c and evaluator.c. Never
 * installed. */
#ifndef EVOOPT_TASK_INTERNAL_H
#define EVOOPT_TASK_INTERNAL_H

#include "data/data_internal.h"
#include "core/rng_internal.h"
#include "evoopt/task.h"

#define EVO_TASK_OPTION_COUNT 9

struct evo_task {
  char name[32];
  int arch;    /* evo_arch */
  int augment; /* CIFAR-10 augmentation */
  evo_dataset *data;
  int64_t opt[EVO_TASK_OPTION_COUNT];
  size_t *subset; /* training indices; the first subset_n are used */
  size_t subset_n;
  char description[EVO_DATA_PATH_CAP + 512];
};

/* CIFAR-10 training augmentation of one CHW image (doc/algorithm.md §3): random
 * horizontal flip, then a random crop of the image zero-padded by 4, then
 * normalisation through d->lut. Draws flip, then dy, then dx from @p rng. */
void evo_task_augment_image(const evo_dataset *d, const uint8_t *src,
                            float *dst, evo_rng *rng);

/* evo_task_train() scoring on the first @p test_limit test images (all
 * when 0), whatever the task's EVO_TASK_TEST_LIMIT: the evaluator's cheap
 * rungs (doc/algorithm.md §9) share one task between rungs. */
int evo_task_train_limit(const evo_task *task, const evo_genome *g,
                         uint64_t steps, uint64_t seed, uint64_t test_limit,
                         evo_train_result *result);

#endif

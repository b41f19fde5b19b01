/* The language-model task shakespeare_char (lm_task.c; doc/algorithm.md
 * §7), as task.c uses it. Never installed. */
#ifndef EVOOPT_LM_TASK_INTERNAL_H
#define EVOOPT_LM_TASK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "data/data_internal.h"
#include "evoopt/genome.h"
#include "train/fitness_internal.h"
#include "train/task_internal.h"

/* Sequences per batch at most (memory grows by about 2.4 MB a sequence). */
#define EVO_LM_MAX_BATCH 256

/* A text task: its data set has a vocabulary (image sets have none). */
static inline int evo_task_is_lm(const evo_task *t) {
  return t->data != NULL && t->data->vocab > 0;
}

/* The model's vocabulary (65) and context (64), and the fitness's scale
 * ln 65. */
size_t evo_lm_vocab(void);
size_t evo_lm_context(void);
double evo_lm_loss_scale(void);

/* EVO_EFORMAT naming the file unless its vocabulary is the model's and
 * both parts hold at least one window of context + 1 characters. */
int evo_lm_check_data(const evo_dataset *d);

/* Held-out windows (doc/algorithm.md §7): inputs at offsets 0, T, 2T, ...
 * while a window's targets stay inside: ⌊(n_test - 1) / T⌋ (1,742 for
 * tiny Shakespeare). */
size_t evo_lm_eval_windows(const evo_dataset *d);

/* One training run: the model (initialised from the run's seed), the
 * optimizer, the batch buffers and the window stream, all allocated here.
 * Errors: EVO_ERANGE (batch above EVO_LM_MAX_BATCH), the optimizer's,
 * EVO_ENOMEM. */
typedef struct evo_lm_run evo_lm_run;
int evo_lm_run_new(evo_lm_run **out, const evo_task *t, const evo_genome *g,
                   uint64_t steps, uint64_t seed);
void evo_lm_run_free(evo_lm_run *r);

/* What the training loop reads and writes (task.c's run buffers). */
typedef struct evo_lm_loop {
  double *losses;                  /* in: ring of EVO_LOSS_TAIL */
  float *curve;                    /* in: every loss, or NULL */
  uint64_t eval_every, test_limit; /* in: held-out curve every K steps */
  uint64_t *eval_steps;            /* in: room for steps / K points */
  double *eval_acc;
  size_t eval_len;                 /* out: points written */
  uint64_t recorded;               /* out: losses recorded */
  int64_t diverged_at;             /* out: the step that diverged, or -1 */
} evo_lm_loop;

/* The training loop of doc/algorithm.md §3 step 2 on random windows (§7),
 * with the same divergence rules. */
int evo_lm_run_train(evo_lm_run *r, uint64_t steps, evo_lm_loop *loop);

/* Held-out accuracy over the first @p limit windows (all when 0). */
int evo_lm_run_accuracy(evo_lm_run *r, uint64_t limit, double *acc);

#endif

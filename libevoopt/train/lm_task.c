/* The character-level language-model task shakespeare_char
 * (doc/algorithm.md §7): the text's checks, one training run of the GPT
 * (nn/gpt_internal.h) on random windows of the training part, the held-out
 * accuracy over consecutive windows, and the task's fitness. task.c opens
 * the task and scores the run; this file is the part that differs from the
 * image tasks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "evoopt/optimizer.h"
#include "nn/gpt_internal.h"
#include "train/lm_task_internal.h"

/* Independent stream of the windows, as task.c's streams (STREAM_ORDER). */
enum { STREAM_INIT = 1, STREAM_WINDOWS = 2 };

struct evo_lm_run {
  const evo_task *task;
  evo_gpt *model;
  evo_optimizer *opt;
  uint8_t *tok, *tgt; /* [batch][ctx] */
  size_t batch;
  evo_rng windows;
};

static const evo_gpt_config char_config = EVO_GPT_CHAR_CONFIG;

size_t evo_lm_vocab(void) {
  return char_config.vocab;
}

size_t evo_lm_context(void) {
  return char_config.ctx;
}

size_t evo_lm_eval_windows(const evo_dataset *d) {
  const size_t t = char_config.ctx;
  return d->n_test > t ? (d->n_test - 1) / t : 0;
}

int evo_lm_check_data(const evo_dataset *d) {
  const size_t t = char_config.ctx;
  if (d->vocab != char_config.vocab)
    return evo_set_error(EVO_EFORMAT,
                         "shakespeare_char: '%s' has %zu distinct "
                         "characters; the task's model reads %zu (tiny "
                         "Shakespeare's)",
                         d->source, d->vocab, char_config.vocab);
  if (d->n_train < t + 1 || d->n_test < t + 1)
    return evo_set_error(EVO_EFORMAT,
                         "shakespeare_char: '%s' is too short: its training "
                         "part (%zu characters) and held-out part (%zu) "
                         "each need at least %zu, one window of %zu + 1",
                         d->source, d->n_train, d->n_test, t + 1, t);
  return EVO_OK;
}

double evo_lm_loss_scale(void) {
  return log((double)char_config.vocab);
}

/* ---- set-up ---- */

/* Every tensor to the optimizer; weight decay only on the linear layers'
 * weights unless EVO_TASK_DECAY_ALL (doc/algorithm.md §7). */
static int register_params(evo_lm_run *r, uint64_t steps) {
  float *params = evo_gpt_params(r->model), *grads = evo_gpt_grads(r->model);
  for (size_t i = 0; i < evo_gpt_tensor_count(r->model); i++) {
    const evo_net_tensor *ten = evo_gpt_tensor_at(r->model, i);
    int rc = evo_optimizer_add_params(r->opt, params + ten->offset,
                                      grads + ten->offset, ten->size);
    if (rc == EVO_OK && !r->task->opt[EVO_TASK_DECAY_ALL] &&
        ten->kind != EVO_TENSOR_WEIGHT)
      rc = evo_optimizer_set_param_option(r->opt, i, EVO_PARAM_WEIGHT_DECAY, 0);
    if (rc != EVO_OK)
      return rc;
  }
  int rc = evo_optimizer_set_total_steps(r->opt, steps);
  if (rc == EVO_OK && r->task->opt[EVO_TASK_REFUSE_NONFINITE])
    rc = evo_optimizer_set_option(r->opt, EVO_OPT_REFUSE_NONFINITE, 1);
  return rc;
}

int evo_lm_run_new(evo_lm_run **out, const evo_task *t, const evo_genome *g,
                   uint64_t steps, uint64_t seed) {
  *out = NULL;
  size_t batch = (size_t)t->opt[EVO_TASK_BATCH_SIZE];
  if (batch > EVO_LM_MAX_BATCH)
    return evo_set_error(EVO_ERANGE,
                         "shakespeare_char: EVO_TASK_BATCH_SIZE %zu is above "
                         "its %d sequences of %zu characters",
                         batch, EVO_LM_MAX_BATCH, char_config.ctx);
  evo_lm_run *r = evo_calloc(1, sizeof *r);
  if (r == NULL)
    return EVO_ENOMEM;
  r->task = t;
  r->batch = batch;
  int rc = evo_gpt_new(&r->model, &char_config, batch);
  if (rc == EVO_OK && t->opt[EVO_TASK_THREADS] > 1)
    rc = evo_gpt_set_threads(r->model, (size_t)t->opt[EVO_TASK_THREADS]);
  if (rc == EVO_OK) {
    evo_rng init;
    evo_rng_seed(&init, evo_seed_derive(seed, STREAM_INIT, 0));
    evo_gpt_init(r->model, &init);
    rc = evo_optimizer_new(&r->opt, g);
  }
  if (rc == EVO_OK)
    rc = register_params(r, steps);
  if (rc == EVO_OK) {
    r->tok = evo_calloc(batch * char_config.ctx, 1);
    r->tgt = evo_calloc(batch * char_config.ctx, 1);
    if (!r->tok || !r->tgt)
      rc = EVO_ENOMEM;
  }
  if (rc != EVO_OK) {
    evo_lm_run_free(r);
    return rc;
  }
  /* doc/algorithm.md §7: the windows come from the run's seed, mixed with
   * the data seed (the image tasks' subset seed). */
  evo_rng_seed(&r->windows,
               evo_seed_derive(seed, STREAM_WINDOWS,
                               (uint64_t)t->opt[EVO_TASK_DATA_SEED]));
  *out = r;
  return EVO_OK;
}

void evo_lm_run_free(evo_lm_run *r) {
  if (r == NULL)
    return;
  evo_gpt_free(r->model);
  evo_optimizer_free(r->opt);
  free(r->tok);
  free(r->tgt);
  free(r);
}

/* ---- training ---- */

/* B windows of T + 1 characters at uniform offsets 0 .. n_train - T - 1:
 * the first T the input, the last T the targets (doc/algorithm.md §7). */
static void draw_batch(evo_lm_run *r) {
  const evo_dataset *d = r->task->data;
  const size_t t = char_config.ctx;
  for (size_t b = 0; b < r->batch; b++) {
    size_t o = (size_t)evo_rng_below(&r->windows, (uint64_t)(d->n_train - t));
    memcpy(r->tok + b * t, d->train_x + o, t);
    memcpy(r->tgt + b * t, d->train_x + o + 1, t);
  }
}

int evo_lm_run_train(evo_lm_run *r, uint64_t steps, evo_lm_loop *loop) {
  loop->recorded = 0;
  loop->diverged_at = -1;
  for (uint64_t s = 0; s < steps; s++) {
    draw_batch(r);
    double loss;
    int rc = evo_gpt_forward(r->model, r->tok, r->batch);
    if (rc == EVO_OK)
      rc = evo_gpt_loss(r->model, r->tgt, &loss, NULL);
    if (rc != EVO_OK)
      return rc;
    /* doc/algorithm.md §3 step 2, as task.c's loop */
    if (!isfinite(loss) || loss > EVO_LOSS_LIMIT) {
      loop->diverged_at = (int64_t)s;
      return EVO_OK;
    }
    loop->losses[loop->recorded % EVO_LOSS_TAIL] = loss;
    if (loop->curve != NULL)
      loop->curve[loop->recorded] = (float)loss;
    loop->recorded++;
    rc = evo_gpt_backward(r->model);
    if (rc == EVO_OK)
      rc = evo_optimizer_step(r->opt);
    if (rc == EVO_ENONFINITE) { /* a refused step counts as divergence */
      loop->diverged_at = (int64_t)s;
      return EVO_OK;
    }
    if (rc == EVO_OK && loop->eval_every > 0 &&
        (s + 1) % loop->eval_every == 0) {
      double acc = 0.0;
      rc = evo_lm_run_accuracy(r, loop->test_limit, &acc);
      if (rc == EVO_OK) {
        loop->eval_steps[loop->eval_len] = s + 1;
        loop->eval_acc[loop->eval_len++] = acc;
      }
    }
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* ---- held-out accuracy ---- */

int evo_lm_run_accuracy(evo_lm_run *r, uint64_t limit, double *acc) {
  const evo_dataset *d = r->task->data;
  const size_t t = char_config.ctx;
  size_t windows = evo_lm_eval_windows(d), total = 0;
  if (limit > 0 && limit < windows)
    windows = (size_t)limit;
  for (size_t w0 = 0; w0 < windows; w0 += r->batch) {
    size_t n = windows - w0 < r->batch ? windows - w0 : r->batch, correct = 0;
    for (size_t b = 0; b < n; b++) { /* window w at offset w·T */
      memcpy(r->tok + b * t, d->test_x + (w0 + b) * t, t);
      memcpy(r->tgt + b * t, d->test_x + (w0 + b) * t + 1, t);
    }
    int rc = evo_gpt_forward(r->model, r->tok, n);
    if (rc == EVO_OK)
      rc = evo_gpt_count_correct(r->model, r->tgt, &correct);
    if (rc != EVO_OK)
      return rc;
    total += correct;
  }
  *acc = windows ? (double)total / (double)(windows * t) : 0.0;
  return EVO_OK;
}

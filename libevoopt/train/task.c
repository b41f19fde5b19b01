/* Tasks: a data set with its network, and one training run scored by the
 * paper's fitness (doc/algorithm.md §3, "One evaluation of a genome"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/option_internal.h"
#include "data/data_internal.h"
#include "evoopt/optimizer.h"
#include "nn/nn_internal.h"
#include "train/fitness_internal.h"
#include "train/lm_task_internal.h"
#include "train/task_internal.h"

/* Independent streams derived from the run's seed. */
enum { STREAM_INIT = 1, STREAM_ORDER = 2, STREAM_DROPOUT = 3, STREAM_AUGMENT = 4 };

struct evo_train_result {
  double fitness, accuracy, mean_loss, seconds, cpu_seconds;
  int diverged;
  int64_t diverged_step;
  uint64_t steps;
  float *curve; /* capacity curve_cap, steps valid when recorded */
  size_t curve_cap, curve_len;
  /* The held-out curve (EVO_TASK_EVAL_EVERY): capacity eval_cap, eval_len
   * points valid. */
  uint64_t *eval_steps;
  double *eval_acc;
  size_t eval_cap, eval_len;
};

static const struct task_kind {
  const char *name;
  evo_arch arch;
  int augment; /* CIFAR-10 flip and pad-4 crop (doc/algorithm.md §3) */
} task_kinds[] = {
    {"mnist", EVO_ARCH_SMALL_CNN, 0},
    {"fashion_mnist", EVO_ARCH_SMALL_CNN, 0},
    {"cifar10", EVO_ARCH_CIFAR10_CNN, 1},
    {"digits", EVO_ARCH_DIGITS_CNN, 0},
    /* doc/algorithm.md §7: a text set, the GPT of nn/gpt_internal.h (no
     * CNN: arch unused); lm_task.c trains it. */
    {"shakespeare_char", EVO_ARCH_SMALL_CNN, 0},
};

/* ---- opening and options ---- */

static int draw_subset(evo_task *t) {
  if (evo_task_is_lm(t)) /* every window of the training part is used */
    return EVO_OK;
  size_t n = t->data->n_train;
  size_t want = t->opt[EVO_TASK_TRAIN_SUBSET] == 0
                    ? n
                    : (size_t)t->opt[EVO_TASK_TRAIN_SUBSET];
  if (want > n)
    want = n;
  size_t *idx = evo_calloc(n, sizeof *idx);
  if (idx == NULL)
    return EVO_ENOMEM;
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  /* A partial Fisher-Yates shuffle: the first `want` entries are a uniform
   * draw without replacement (doc/algorithm.md §3, training subset). */
  evo_rng rng;
  evo_rng_seed(&rng, (uint64_t)t->opt[EVO_TASK_DATA_SEED]);
  for (size_t i = 0; i < want && want < n; i++) {
    size_t j = i + (size_t)evo_rng_below(&rng, (uint64_t)(n - i));
    size_t tmp = idx[i];
    idx[i] = idx[j];
    idx[j] = tmp;
  }
  free(t->subset);
  t->subset = idx;
  t->subset_n = want;
  return EVO_OK;
}

static void task_update_description(evo_task *t) {
  if (evo_task_is_lm(t)) {
    snprintf(t->description, sizeof t->description,
             "%s: %zu training characters, %zu held-out (%zu windows of "
             "%zu), %zu symbols, from %s",
             t->name, t->data->n_train, t->data->n_test,
             evo_lm_eval_windows(t->data), evo_lm_context(), t->data->vocab,
             t->data->source);
    return;
  }
  snprintf(t->description, sizeof t->description,
           "%s: %zu training images (%zu used per run), %zu test images, "
           "from %s%s%s",
           t->name, t->data->n_train, t->subset_n, t->data->n_test,
           t->data->source, t->data->detail[0] ? "; " : "", t->data->detail);
}

EVO_API int evo_task_open(evo_task **out, const char *name,
                          const char *data_folder) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(name);
  const struct task_kind *kind = NULL;
  for (size_t i = 0; i < sizeof task_kinds / sizeof *task_kinds; i++)
    if (strcmp(task_kinds[i].name, name) == 0)
      kind = &task_kinds[i];
  if (kind == NULL)
    return evo_set_error(EVO_ENOTFOUND,
                         "unknown task '%s' (known: mnist, fashion_mnist, "
                         "cifar10, digits, shakespeare_char)",
                         name);
  evo_task *t = evo_calloc(1, sizeof *t);
  if (t == NULL)
    return EVO_ENOMEM;
  snprintf(t->name, sizeof t->name, "%s", name);
  t->arch = (int)kind->arch;
  t->augment = kind->augment;
  t->opt[EVO_TASK_TRAIN_SUBSET] = 15000;
  t->opt[EVO_TASK_DATA_SEED] = 0;
  t->opt[EVO_TASK_BATCH_SIZE] = 128;
  t->opt[EVO_TASK_TEST_LIMIT] = 0;
  t->opt[EVO_TASK_RECORD_CURVE] = 0;
  t->opt[EVO_TASK_DECAY_ALL] = 1;
  t->opt[EVO_TASK_REFUSE_NONFINITE] = 1;
  t->opt[EVO_TASK_THREADS] = 1;
  t->opt[EVO_TASK_EVAL_EVERY] = 0;
  int rc = evo_dataset_load(&t->data, name, data_folder);
  if (rc == EVO_OK && evo_task_is_lm(t)) { /* doc/algorithm.md §7 */
    rc = evo_lm_check_data(t->data);
    t->opt[EVO_TASK_BATCH_SIZE] = 32;
    t->opt[EVO_TASK_DECAY_ALL] = 0;
  }
  if (rc == EVO_OK)
    rc = draw_subset(t);
  if (rc != EVO_OK) {
    evo_task_free(t);
    return rc;
  }
  task_update_description(t);
  *out = t;
  return EVO_OK;
}

EVO_API void evo_task_free(evo_task *task) {
  if (task == NULL)
    return;
  evo_dataset_free(task->data);
  free(task->subset);
  free(task);
}

EVO_API const char *evo_task_name(const evo_task *task) {
  return task ? task->name : NULL;
}

EVO_API const char *evo_task_describe(const evo_task *task) {
  return task ? task->description : NULL;
}

/* Each option's name and accepted values, as task.h documents them. The
 * engine's own bound is the threads' bound, so that a value accepted here
 * never fails a run. */
static const struct option_range {
  const char *name;
  int64_t lo, hi;
} option_ranges[EVO_TASK_OPTION_COUNT] = {
    [EVO_TASK_TRAIN_SUBSET] = {"EVO_TASK_TRAIN_SUBSET", 0, INT64_MAX},
    [EVO_TASK_DATA_SEED] = {"EVO_TASK_DATA_SEED", INT64_MIN, INT64_MAX},
    [EVO_TASK_BATCH_SIZE] = {"EVO_TASK_BATCH_SIZE", 1, 4096},
    [EVO_TASK_TEST_LIMIT] = {"EVO_TASK_TEST_LIMIT", 0, INT64_MAX},
    [EVO_TASK_RECORD_CURVE] = {"EVO_TASK_RECORD_CURVE", 0, 1},
    [EVO_TASK_DECAY_ALL] = {"EVO_TASK_DECAY_ALL", 0, 1},
    [EVO_TASK_REFUSE_NONFINITE] = {"EVO_TASK_REFUSE_NONFINITE", 0, 1},
    [EVO_TASK_THREADS] = {"EVO_TASK_THREADS", 1, EVO_NET_MAX_THREADS},
    [EVO_TASK_EVAL_EVERY] = {"EVO_TASK_EVAL_EVERY", 0,
                             (int64_t)EVO_MAX_STEPS},
};

EVO_API int evo_task_set_option(evo_task *task, evo_task_option option,
                                int64_t value) {
  EVO_CHECK_ARG(task);
  if ((unsigned)option >= EVO_TASK_OPTION_COUNT)
    return evo_set_error(EVO_EINVAL, "unknown task option %d", (int)option);
  const struct option_range *r = &option_ranges[option];
  if (value < r->lo || value > r->hi)
    return evo_set_error(EVO_ERANGE, "%s must be in %lld..%lld, got %lld",
                         r->name, (long long)r->lo, (long long)r->hi,
                         (long long)value);
  int64_t old = task->opt[option];
  task->opt[option] = value;
  if (option == EVO_TASK_TRAIN_SUBSET || option == EVO_TASK_DATA_SEED) {
    int rc = draw_subset(task);
    if (rc != EVO_OK) {
      task->opt[option] = old;
      return rc;
    }
    task_update_description(task);
  }
  return EVO_OK;
}

EVO_API int evo_task_get_option(const evo_task *task, evo_task_option option,
                                int64_t *out) {
  EVO_CHECK_ARG(task);
  EVO_CHECK_ARG(out);
  if ((unsigned)option >= EVO_TASK_OPTION_COUNT)
    return evo_set_error(EVO_EINVAL, "unknown task option %d", (int)option);
  *out = task->opt[option];
  return EVO_OK;
}

/* ---- typed options (0.2; doc/api-conventions.md): every task option is
 * an integer, its range the one evo_task_set_option() checks ---- */

/* The spec of @p option, or false with EVO_EINVAL set. */
static bool task_spec(evo_task_option option, const char *fn,
                      evo_option_spec *out) {
  if ((unsigned)option >= EVO_TASK_OPTION_COUNT) {
    evo_set_error(EVO_EINVAL, "%s: unknown task option %d", fn, (int)option);
    return false;
  }
  const struct option_range *r = &option_ranges[option];
  *out = (evo_option_spec){r->name, false, r->lo, r->hi, 0.0, 0.0, 0.0};
  return true;
}

EVO_API int evo_task_option_bounds(evo_task_option option,
                                   evo_option_bounds *out) {
  EVO_CHECK_ARG(out);
  evo_option_spec s;
  if (!task_spec(option, __func__, &s))
    return EVO_EINVAL;
  evo_option_spec_bounds(&s, out);
  return EVO_OK;
}

EVO_API int evo_task_set_option_i64(evo_task *task, evo_task_option option,
                                    int64_t value) {
  return evo_task_set_option(task, option, value);
}

EVO_API int evo_task_get_option_i64(const evo_task *task,
                                    evo_task_option option, int64_t *out) {
  return evo_task_get_option(task, option, out);
}

EVO_API int evo_task_set_option_f64(evo_task *task, evo_task_option option,
                                    double value) {
  (void)value;
  EVO_CHECK_ARG(task);
  evo_option_spec s;
  if (!task_spec(option, __func__, &s))
    return EVO_EINVAL;
  return evo_option_check_type(__func__, &s, true);
}

EVO_API int evo_task_get_option_f64(const evo_task *task,
                                    evo_task_option option, double *out) {
  EVO_CHECK_ARG(task);
  EVO_CHECK_ARG(out);
  evo_option_spec s;
  if (!task_spec(option, __func__, &s))
    return EVO_EINVAL;
  return evo_option_check_type(__func__, &s, true);
}

/* ---- results ---- */

EVO_API int evo_train_result_new(evo_train_result **out) {
  EVO_CHECK_ARG(out);
  *out = evo_calloc(1, sizeof **out);
  if (*out == NULL)
    return EVO_ENOMEM;
  (*out)->fitness = -1.0;
  (*out)->diverged_step = -1;
  return EVO_OK;
}

EVO_API void evo_train_result_free(evo_train_result *r) {
  if (r == NULL)
    return;
  free(r->curve);
  free(r->eval_steps);
  free(r->eval_acc);
  free(r);
}

EVO_API int evo_train_result_get(const evo_train_result *r,
                                 evo_result_key key, double *out) {
  EVO_CHECK_ARG(r);
  EVO_CHECK_ARG(out);
  switch (key) {
  case EVO_RESULT_FITNESS: *out = r->fitness; return EVO_OK;
  case EVO_RESULT_ACCURACY: *out = r->accuracy; return EVO_OK;
  case EVO_RESULT_MEAN_LOSS: *out = r->mean_loss; return EVO_OK;
  case EVO_RESULT_DIVERGED: *out = r->diverged; return EVO_OK;
  case EVO_RESULT_DIVERGED_STEP: *out = (double)r->diverged_step; return EVO_OK;
  case EVO_RESULT_STEPS: *out = (double)r->steps; return EVO_OK;
  case EVO_RESULT_SECONDS: *out = r->seconds; return EVO_OK;
  case EVO_RESULT_CPU_SECONDS: *out = r->cpu_seconds; return EVO_OK;
  }
  return evo_set_error(EVO_EINVAL, "unknown result key %d", (int)key);
}

EVO_API int evo_train_result_curve(const evo_train_result *r,
                                   const float **losses, size_t *n) {
  EVO_CHECK_ARG(r);
  EVO_CHECK_ARG(losses);
  EVO_CHECK_ARG(n);
  *losses = r->curve_len ? r->curve : NULL;
  *n = r->curve_len;
  return EVO_OK;
}

EVO_API int evo_train_result_eval_curve(const evo_train_result *r,
                                        const uint64_t **steps,
                                        const double **accuracy, size_t *n) {
  EVO_CHECK_ARG(r);
  EVO_CHECK_ARG(steps);
  EVO_CHECK_ARG(accuracy);
  EVO_CHECK_ARG(n);
  *steps = r->eval_len ? r->eval_steps : NULL;
  *accuracy = r->eval_len ? r->eval_acc : NULL;
  *n = r->eval_len;
  return EVO_OK;
}

/* ---- one training run ---- */

/* Everything a run allocates, once, before its first step. */
typedef struct run_buffers {
  evo_net *net;
  evo_optimizer *opt;
  float *x;       /* batch × image floats */
  uint8_t *y;     /* batch labels */
  size_t *order;  /* a permutation of the training subset */
  evo_lm_run *lm; /* shakespeare_char's run, instead of the above */
  double losses[EVO_LOSS_TAIL]; /* the last losses, a ring: step s at s % 50 */
  float *curve; /* every loss (the result's), only when recorded */
  /* The held-out curve (the result's arrays), every eval_every steps on
   * the first test_limit test images; eval_every 0: none. */
  uint64_t eval_every, test_limit;
  uint64_t *eval_steps;
  double *eval_acc;
  size_t eval_len;
} run_buffers;

static void run_buffers_free(run_buffers *b) {
  evo_net_free(b->net);
  evo_optimizer_free(b->opt);
  free(b->x);
  free(b->y);
  free(b->order);
  evo_lm_run_free(b->lm);
}

static int register_params(const evo_task *t, run_buffers *b,
                           uint64_t steps) {
  float *params = evo_net_params(b->net);
  float *grads = evo_net_grads(b->net);
  for (size_t i = 0; i < evo_net_tensor_count(b->net); i++) {
    const evo_net_tensor *ten = evo_net_tensor_at(b->net, i);
    int rc = evo_optimizer_add_params(b->opt, params + ten->offset,
                                      grads + ten->offset, ten->size);
    if (rc == EVO_OK && !t->opt[EVO_TASK_DECAY_ALL] &&
        ten->kind != EVO_TENSOR_WEIGHT)
      rc = evo_optimizer_set_param_option(b->opt, i, EVO_PARAM_WEIGHT_DECAY, 0);
    if (rc != EVO_OK)
      return rc;
  }
  int rc = evo_optimizer_set_total_steps(b->opt, steps);
  if (rc == EVO_OK && t->opt[EVO_TASK_REFUSE_NONFINITE])
    rc = evo_optimizer_set_option(b->opt, EVO_OPT_REFUSE_NONFINITE, 1);
  return rc;
}

static int run_setup(const evo_task *t, const evo_genome *g, uint64_t steps,
                     uint64_t seed, run_buffers *b) {
  size_t batch = (size_t)t->opt[EVO_TASK_BATCH_SIZE];
  size_t image = evo_dataset_image_size(t->data);
  int rc = evo_net_new(&b->net, (evo_arch)t->arch, batch);
  if (rc == EVO_OK && t->opt[EVO_TASK_THREADS] > 1)
    rc = evo_net_set_threads(b->net, (size_t)t->opt[EVO_TASK_THREADS]);
  if (rc != EVO_OK)
    return rc;
  evo_rng init;
  evo_rng_seed(&init, evo_seed_derive(seed, STREAM_INIT, 0));
  evo_net_init(b->net, &init);
  rc = evo_optimizer_new(&b->opt, g);
  if (rc != EVO_OK)
    return rc;
  rc = register_params(t, b, steps);
  if (rc != EVO_OK)
    return rc;
  b->x = evo_calloc(batch * image, sizeof *b->x);
  b->y = evo_calloc(batch, sizeof *b->y);
  b->order = evo_calloc(t->subset_n, sizeof *b->order);
  if (!b->x || !b->y || !b->order)
    return EVO_ENOMEM;
  memcpy(b->order, t->subset, t->subset_n * sizeof *b->order);
  return EVO_OK;
}

/* Reshuffles the epoch's order (doc/algorithm.md §3: reshuffled every
 * epoch). */
static void shuffle(size_t *order, size_t n, evo_rng *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)evo_rng_below(rng, (uint64_t)i);
    size_t tmp = order[i - 1];
    order[i - 1] = order[j];
    order[j] = tmp;
  }
}

/* One CIFAR-10 training image: random horizontal flip (p = 0.5), then a
 * random 32×32 crop of the image zero-padded by 4 (padding value: pixel 0,
 * i.e. before normalisation), then normalisation (doc/algorithm.md §3). */
void evo_task_augment_image(const evo_dataset *d, const uint8_t *src,
                            float *dst, evo_rng *rng) {
  const int pad = 4;
  int flip = evo_rng_bernoulli(rng, 0.5);
  int dy = (int)evo_rng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
  int dx = (int)evo_rng_below(rng, (uint64_t)(2 * pad + 1)) - pad;
  int h = d->height, w = d->width;
  for (int c = 0; c < d->channels; c++) {
    const float *lut = d->lut[c];
    const uint8_t *plane = src + (size_t)c * (size_t)(h * w);
    for (int y = 0; y < h; y++) {
      int sy = y + dy;
      for (int x = 0; x < w; x++) {
        int fx = x + dx; /* column in the flipped, padded image */
        int sx = flip ? w - 1 - fx : fx;
        int inside = sy >= 0 && sy < h && fx >= 0 && fx < w;
        *dst++ = inside ? lut[plane[sy * w + sx]] : lut[0];
      }
    }
  }
}

static void load_batch(const evo_task *t, const size_t *idx, size_t n,
                       run_buffers *b, evo_rng *aug) {
  const evo_dataset *d = t->data;
  size_t image = evo_dataset_image_size(d);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *src = d->train_x + idx[i] * image;
    if (t->augment)
      evo_task_augment_image(d, src, b->x + i * image, aug);
    else
      evo_dataset_to_float(d, src, 1, b->x + i * image);
    b->y[i] = d->train_y[idx[i]];
  }
}

/* Accuracy on the first @p limit test images (all when 0 or more). */
static int test_accuracy(const evo_task *t, run_buffers *b, uint64_t limit,
                         double *acc) {
  const evo_dataset *d = t->data;
  size_t n = d->n_test, batch = (size_t)t->opt[EVO_TASK_BATCH_SIZE];
  if (limit > 0 && limit < n)
    n = (size_t)limit;
  size_t image = evo_dataset_image_size(d), total = 0;
  for (size_t i = 0; i < n; i += batch) {
    size_t m = n - i < batch ? n - i : batch, correct = 0;
    evo_dataset_to_float(d, d->test_x + i * image, m, b->x);
    int rc = evo_net_count_correct(b->net, b->x, d->test_y + i, m, &correct);
    if (rc != EVO_OK)
      return rc;
    total += correct;
  }
  *acc = n ? (double)total / (double)n : 0.0;
  return EVO_OK;
}

/* One point of the held-out curve (EVO_TASK_EVAL_EVERY) after @p step
 * steps. Scoring runs the network in eval mode on the test images only: it
 * draws no random number and changes no weight, statistic or moment, so
 * training goes on exactly as without it. */
static int record_held_out(const evo_task *t, run_buffers *b, uint64_t step) {
  double acc = 0.0;
  int rc = test_accuracy(t, b, b->test_limit, &acc);
  if (rc == EVO_OK) {
    b->eval_steps[b->eval_len] = step;
    b->eval_acc[b->eval_len++] = acc;
  }
  return rc;
}

/* The training loop of doc/algorithm.md §3, step 2. Returns the number of
 * recorded losses; *diverged_at is the step that diverged, or -1. */
static int train_loop(const evo_task *t, uint64_t steps, uint64_t seed,
                      run_buffers *b, uint64_t *recorded,
                      int64_t *diverged_at) {
  evo_rng order, dropout, aug;
  evo_rng_seed(&order, evo_seed_derive(seed, STREAM_ORDER, 0));
  evo_rng_seed(&dropout, evo_seed_derive(seed, STREAM_DROPOUT, 0));
  evo_rng_seed(&aug, evo_seed_derive(seed, STREAM_AUGMENT, 0));
  size_t batch = (size_t)t->opt[EVO_TASK_BATCH_SIZE], pos = t->subset_n;
  *recorded = 0;
  *diverged_at = -1;
  for (uint64_t s = 0; s < steps; s++) {
    if (pos >= t->subset_n) { /* a new epoch; the last batch is the rest */
      shuffle(b->order, t->subset_n, &order);
      pos = 0;
    }
    size_t n = t->subset_n - pos < batch ? t->subset_n - pos : batch;
    load_batch(t, b->order + pos, n, b, &aug);
    pos += n;
    double loss;
    int rc = evo_net_forward(b->net, b->x, n, true, &dropout);
    if (rc == EVO_OK)
      rc = evo_net_loss(b->net, b->y, &loss);
    if (rc != EVO_OK)
      return rc;
    if (!isfinite(loss) || loss > EVO_LOSS_LIMIT) {
      *diverged_at = (int64_t)s;
      return EVO_OK;
    }
    b->losses[*recorded % EVO_LOSS_TAIL] = loss;
    if (b->curve != NULL)
      b->curve[*recorded] = (float)loss;
    (*recorded)++;
    rc = evo_net_backward(b->net);
    if (rc != EVO_OK)
      return rc;
    rc = evo_optimizer_step(b->opt);
    if (rc == EVO_ENONFINITE) { /* a refused step counts as divergence */
      *diverged_at = (int64_t)s;
      return EVO_OK;
    }
    if (rc == EVO_OK && b->eval_every > 0 && (s + 1) % b->eval_every == 0)
      rc = record_held_out(t, b, s + 1);
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* Room for a whole curve of @p steps losses in the result, before the run
 * (4 bytes a step, only when the task records curves). */
static int reserve_curve(evo_train_result *r, uint64_t steps) {
  if (steps > r->curve_cap) {
    float *c = realloc(r->curve, (size_t)steps * sizeof *c);
    if (c == NULL)
      return evo_set_error(EVO_ENOMEM,
                           "out of memory keeping the loss "
                           "curve of %llu steps",
                           (unsigned long long)steps);
    r->curve = c;
    r->curve_cap = (size_t)steps;
  }
  return EVO_OK;
}

/* Room for the held-out curve of a run of @p steps steps (floor(steps /
 * K) points, EVO_TASK_EVAL_EVERY = K > 0) in the result, before the run;
 * @p b then writes into it. */
static int reserve_eval_curve(const evo_task *t, evo_train_result *r,
                              uint64_t steps, uint64_t test_limit,
                              run_buffers *b) {
  uint64_t every = (uint64_t)t->opt[EVO_TASK_EVAL_EVERY];
  size_t points = (size_t)(steps / every);
  if (points > r->eval_cap) {
    uint64_t *st = realloc(r->eval_steps, points * sizeof *st);
    if (st != NULL)
      r->eval_steps = st;
    double *acc = st != NULL ? realloc(r->eval_acc, points * sizeof *acc)
                             : NULL;
    if (acc == NULL)
      return evo_set_error(EVO_ENOMEM,
                           "out of memory keeping the held-out curve of "
                           "%zu points",
                           points);
    r->eval_acc = acc;
    r->eval_cap = points;
  }
  b->eval_every = every;
  b->test_limit = test_limit;
  b->eval_steps = r->eval_steps;
  b->eval_acc = r->eval_acc;
  return EVO_OK;
}

/* shakespeare_char's loop (lm_task.c) on the run's buffers. */
static int lm_train_loop(uint64_t steps, run_buffers *b, uint64_t *recorded,
                         int64_t *diverged_at) {
  evo_lm_loop loop = {.losses = b->losses,
                      .curve = b->curve,
                      .eval_every = b->eval_every,
                      .test_limit = b->test_limit,
                      .eval_steps = b->eval_steps,
                      .eval_acc = b->eval_acc};
  int rc = evo_lm_run_train(b->lm, steps, &loop);
  b->eval_len = loop.eval_len;
  *recorded = loop.recorded;
  *diverged_at = loop.diverged_at;
  return rc;
}

/* @p losses: the ring of the last EVO_LOSS_TAIL of @p n losses; @p scale:
 * the loss that earns no bonus (evo_task_fitness). */
static void score(evo_train_result *r, const double *losses, uint64_t n,
                  double acc, double scale) {
  size_t tail = n < EVO_LOSS_TAIL ? (size_t)n : EVO_LOSS_TAIL;
  size_t oldest = (size_t)((n - tail) % EVO_LOSS_TAIL);
  double sum = 0.0; /* oldest first, as the losses came */
  for (size_t i = 0; i < tail; i++)
    sum += losses[(oldest + i) % EVO_LOSS_TAIL];
  r->accuracy = acc;
  r->mean_loss = tail ? sum / (double)tail : 0.0;
  r->fitness = evo_task_fitness(acc, r->mean_loss, scale);
}

EVO_API int evo_task_train(const evo_task *task, const evo_genome *g,
                           uint64_t steps, uint64_t seed,
                           evo_train_result *result) {
  EVO_CHECK_ARG(task);
  return evo_task_train_limit(task, g, steps, seed,
                              (uint64_t)task->opt[EVO_TASK_TEST_LIMIT],
                              result);
}

int evo_task_train_limit(const evo_task *task, const evo_genome *g,
                         uint64_t steps, uint64_t seed, uint64_t test_limit,
                         evo_train_result *result) {
  EVO_CHECK_ARG(task);
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(result);
  if (steps == 0 || steps > EVO_MAX_STEPS)
    return evo_set_error(
        EVO_ERANGE, "steps must be in 1..%llu (EVO_MAX_STEPS), got %llu",
        (unsigned long long)EVO_MAX_STEPS, (unsigned long long)steps);
  double start = evo_now_seconds(), cpu_start = evo_thread_cpu_seconds();
  run_buffers b = {0};
  uint64_t recorded = 0;
  int64_t diverged_at = -1;
  result->curve_len = 0;
  result->eval_len = 0;
  int rc = EVO_OK;
  if (task->opt[EVO_TASK_RECORD_CURVE]) {
    rc = reserve_curve(result, steps);
    b.curve = result->curve;
  }
  if (rc == EVO_OK && task->opt[EVO_TASK_EVAL_EVERY] > 0)
    rc = reserve_eval_curve(task, result, steps, test_limit, &b);
  const int lm = evo_task_is_lm(task);
  if (rc == EVO_OK)
    rc = lm ? evo_lm_run_new(&b.lm, task, g, steps, seed)
            : run_setup(task, g, steps, seed, &b);
  if (rc == EVO_OK)
    rc = lm ? lm_train_loop(steps, &b, &recorded, &diverged_at)
            : train_loop(task, steps, seed, &b, &recorded, &diverged_at);
  result->steps = recorded;
  result->diverged = diverged_at >= 0;
  result->diverged_step = diverged_at;
  if (rc == EVO_OK && b.curve != NULL)
    result->curve_len = (size_t)recorded;
  if (rc == EVO_OK)
    result->eval_len = b.eval_len;
  if (rc == EVO_OK && !result->diverged) {
    double acc = 0.0;
    rc = lm ? evo_lm_run_accuracy(b.lm, test_limit, &acc)
            : test_accuracy(task, &b, test_limit, &acc);
    if (rc == EVO_OK)
      score(result, b.losses, recorded, acc,
            lm ? evo_lm_loss_scale() : 1.0);
  } else if (rc == EVO_OK) {
    result->fitness = -1.0; /* doc/algorithm.md §3: diverged ⇒ exactly -1 */
    result->accuracy = 0.0;
    result->mean_loss = NAN;
  }
  result->seconds = evo_now_seconds() - start;
  result->cpu_seconds = evo_thread_cpu_seconds() - cpu_start;
  run_buffers_free(&b);
  return rc;
}

/* Sequence cross-entropy (doc/algorithm.md §7): the mean softmax
 * cross-entropy over all n·t positions of a batch, its gradient, and the
 * count of positions whose arg-max is the target (held-out accuracy).
 * Positions are cut into EVO_SLICES fixed slices; each slice's loss and
 * count are kept apart and added in slice order, so the result does not
 * depend on the thread count. */
#include <math.h>

#include "nn/layers_internal.h"

typedef struct ce_job {
  float *dlogits;
  const float *logits;
  const uint8_t *targets;
  size_t m, k;
  double loss[EVO_SLICES];
  size_t correct[EVO_SLICES];
} ce_job;

static void ce_rows(ce_job *j, size_t s, size_t lo, size_t hi) {
  const size_t k = j->k;
  double total = 0.0;
  size_t right = 0;
  for (size_t i = lo; i < hi; i++) {
    const float *z = j->logits + i * k;
    size_t arg = 0;
    for (size_t c = 1; c < k; c++)
      arg = z[c] > z[arg] ? c : arg;
    const size_t target = j->targets[i];
    right += arg == target;
    double zmax = (double)z[arg], sum = 0.0;
    for (size_t c = 0; c < k; c++)
      sum += exp((double)z[c] - zmax);
    double lse = zmax + log(sum);
    total += lse - (double)z[target];
    if (!j->dlogits)
      continue;
    float *g = j->dlogits + i * k;
    for (size_t c = 0; c < k; c++) {
      double prob = exp((double)z[c] - lse);
      g[c] = (float)((prob - (c == target ? 1.0 : 0.0)) / (double)j->m);
    }
  }
  j->loss[s] = total;
  j->correct[s] = right;
}

static void ce_task(void *ctx, size_t thread, size_t threads) {
  ce_job *j = ctx;
  for (size_t s = thread; s < EVO_SLICES; s += threads) {
    size_t lo, hi;
    evo_slice(j->m, s, &lo, &hi);
    ce_rows(j, s, lo, hi);
  }
}

double evo_seq_ce(float *dlogits, size_t *correct, const float *logits,
                  const uint8_t *targets, size_t m, size_t k,
                  evo_workers *team) {
  ce_job j = {dlogits, logits, targets, m, k, {0}, {0}};
  evo_workers_run(team, evo_workers_count(team), ce_task, &j);
  double total = 0.0;
  size_t right = 0;
  for (size_t s = 0; s < EVO_SLICES; s++) {
    total += j.loss[s];
    right += j.correct[s];
  }
  if (correct)
    *correct = right;
  return m ? total / (double)m : 0.0;
}

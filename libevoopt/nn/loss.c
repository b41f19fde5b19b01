/* Softmax cross-entropy, mean over the batch (doc/algorithm.md §3), with the
 * log-sum-exp shifted by the row maximum. */
#include <math.h>

#include "nn/layers_internal.h"

double evo_softmax_ce(float *dlogits, const float *logits,
                      const uint8_t *labels, size_t n, size_t k) {
  double total = 0.0;
  for (size_t i = 0; i < n; i++) {
    const float *z = logits + i * k;
    double zmax = z[0];
    for (size_t j = 1; j < k; j++)
      zmax = z[j] > zmax ? z[j] : zmax;
    double sum = 0.0;
    for (size_t j = 0; j < k; j++)
      sum += exp((double)z[j] - zmax);
    double lse = zmax + log(sum);
    total += lse - (double)z[labels[i]];
    if (!dlogits)
      continue;
    for (size_t j = 0; j < k; j++) {
      double prob = exp((double)z[j] - lse);
      dlogits[i * k + j] =
          (float)((prob - (j == labels[i] ? 1.0 : 0.0)) / (double)n);
    }
  }
  return n ? total / (double)n : 0.0;
}

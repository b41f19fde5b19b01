/* Residual add of the pre-LayerNorm blocks (doc/algorithm.md §7): the
 * stream plus a branch's output; backward adds a branch's input gradient
 * into the stream's. Element-wise, memory-bound: one thread. */
#include "nn/layers_internal.h"

EVO_VECTOR_CLONES static void add(float *y, const float *a, const float *b,
                                  size_t n) {
  for (size_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void evo_residual_forward(float *y, const float *a, const float *b, size_t n) {
  add(y, a, b, n);
}

void evo_residual_backward(float *ds, const float *dx, size_t n) {
  add(ds, ds, dx, n);
}

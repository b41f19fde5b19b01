/* Layout changes: the caller's NCHW input to the engine's NHWC, and the
 * flatten to PyTorch's (C,H,W) order (doc/algorithm.md §3). */
#include "nn/layers_internal.h"

void evo_nhwc_to_nchw(float *y, const float *x, size_t n, size_t hw, size_t c) {
  for (size_t img = 0; img < n; img++) {
    const float *xi = x + img * hw * c;
    float *yi = y + img * hw * c;
    for (size_t k = 0; k < c; k++)
      for (size_t p = 0; p < hw; p++)
        yi[k * hw + p] = xi[p * c + k];
  }
}

void evo_nchw_to_nhwc(float *y, const float *x, size_t n, size_t hw, size_t c) {
  for (size_t img = 0; img < n; img++) {
    const float *xi = x + img * hw * c;
    float *yi = y + img * hw * c;
    for (size_t p = 0; p < hw; p++)
      for (size_t k = 0; k < c; k++)
        yi[p * c + k] = xi[k * hw + p];
  }
}

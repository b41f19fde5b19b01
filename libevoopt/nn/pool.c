/* 2x2 max-pool, stride 2, floor mode, NHWC: a window's four pixels are
 * compared channel-vector by channel-vector, so the inner loops run over
 * contiguous channels, branch-free. */
#include <string.h>

#include "nn/layers_internal.h"

/* One output pixel: the four input channel vectors of its window. */
EVO_INLINE void pool_pixel(float *restrict y, uint8_t *restrict arg,
                           const float *a0, const float *a1, const float *a2,
                           const float *a3, size_t c) {
  for (size_t k = 0; k < c; k++) {
    float best = a0[k], v;
    uint8_t at = 0;
    /* The first maximum wins; a NaN wins and then stays, as PyTorch's
     * (val > max || isnan(val)). */
    v = a1[k];
    at = (v > best || v != v) ? 1 : at;
    best = (v > best || v != v) ? v : best;
    v = a2[k];
    at = (v > best || v != v) ? 2 : at;
    best = (v > best || v != v) ? v : best;
    v = a3[k];
    at = (v > best || v != v) ? 3 : at;
    best = (v > best || v != v) ? v : best;
    y[k] = best;
    arg[k] = at;
  }
}

/* Each entry point calls a static clone (layers_internal.h says why). */
EVO_VECTOR_CLONES static void maxpool_forward(float *y, uint8_t *arg,
                                              const float *x, size_t n,
                                              size_t h, size_t w, size_t c) {
  const size_t oh = h / 2, ow = w / 2;
  for (size_t img = 0; img < n; img++)
    for (size_t i = 0; i < oh; i++)
      for (size_t j = 0; j < ow; j++) {
        const float *a0 = x + ((img * h + 2 * i) * w + 2 * j) * c;
        size_t o = ((img * oh + i) * ow + j) * c;
        pool_pixel(y + o, arg + o, a0, a0 + c, a0 + w * c, a0 + w * c + c, c);
      }
}

void evo_maxpool_forward(float *y, uint8_t *arg, const float *x, size_t n,
                         size_t h, size_t w, size_t c) {
  maxpool_forward(y, arg, x, n, h, w, c);
}

/* d[k] = dy[k] where arg[k] == t, else 0 (both loaded: no branch). */
EVO_INLINE void scatter(float *restrict d, const float *restrict dy,
                        const uint8_t *restrict arg, uint8_t t, size_t c) {
  for (size_t k = 0; k < c; k++) {
    float g = dy[k];
    d[k] = arg[k] == t ? g : 0.0f;
  }
}

EVO_VECTOR_CLONES static void maxpool_backward(float *dx, const float *dy,
                                               const uint8_t *arg, size_t n,
                                               size_t h, size_t w, size_t c) {
  const size_t oh = h / 2, ow = w / 2;
  if (h % 2 || w % 2) /* floor mode: the last odd row/column gets nothing */
    memset(dx, 0, n * h * w * c * sizeof *dx);
  for (size_t img = 0; img < n; img++)
    for (size_t i = 0; i < oh; i++)
      for (size_t j = 0; j < ow; j++) {
        float *d0 = dx + ((img * h + 2 * i) * w + 2 * j) * c;
        size_t o = ((img * oh + i) * ow + j) * c;
        scatter(d0, dy + o, arg + o, 0, c);
        scatter(d0 + c, dy + o, arg + o, 1, c);
        scatter(d0 + w * c, dy + o, arg + o, 2, c);
        scatter(d0 + w * c + c, dy + o, arg + o, 3, c);
      }
}

void evo_maxpool_backward(float *dx, const float *dy, const uint8_t *arg,
                          size_t n, size_t h, size_t w, size_t c) {
  maxpool_backward(dx, dy, arg, n, h, w, c);
}

/* 2x2 max-pool, stride 2, floor mode, NHWC: a window's four pixels are
 * compared channel-vector by channel-vector, so the inner loop runs over
 * contiguous channels. */
#include <string.h>

#include "nn/layers_internal.h"

void evo_maxpool_forward(float *y, uint8_t *arg, const float *x, size_t n,
                         size_t h, size_t w, size_t c) {
  const size_t oh = h / 2, ow = w / 2;
  for (size_t img = 0; img < n; img++)
    for (size_t i = 0; i < oh; i++)
      for (size_t j = 0; j < ow; j++) {
        const float *x00 = x + ((img * h + 2 * i) * w + 2 * j) * c;
        const float *win[4] = {x00, x00 + c, x00 + w * c, x00 + w * c + c};
        size_t o = ((img * oh + i) * ow + j) * c;
        float *restrict yo = y + o;
        uint8_t *restrict ao = arg + o;
        for (size_t k = 0; k < c; k++) {
          yo[k] = win[0][k];
          ao[k] = 0;
        }
        /* The first maximum wins; a NaN wins and then stays (PyTorch). */
        for (uint8_t t = 1; t < 4; t++)
          for (size_t k = 0; k < c; k++) {
            float v = win[t][k];
            bool take = (v > yo[k]) || (v != v);
            take = take && (yo[k] == yo[k]);
            yo[k] = take ? v : yo[k];
            ao[k] = take ? t : ao[k];
          }
      }
}

void evo_maxpool_backward(float *dx, const float *dy, const uint8_t *arg,
                          size_t n, size_t h, size_t w, size_t c) {
  const size_t oh = h / 2, ow = w / 2;
  if (h % 2 || w % 2) /* floor mode: the last odd row/column gets nothing */
    memset(dx, 0, n * h * w * c * sizeof *dx);
  for (size_t img = 0; img < n; img++)
    for (size_t i = 0; i < oh; i++)
      for (size_t j = 0; j < ow; j++) {
        float *x00 = dx + ((img * h + 2 * i) * w + 2 * j) * c;
        float *win[4] = {x00, x00 + c, x00 + w * c, x00 + w * c + c};
        size_t o = ((img * oh + i) * ow + j) * c;
        const float *dyo = dy + o;
        const uint8_t *ao = arg + o;
        for (uint8_t t = 0; t < 4; t++) {
          float *restrict d = win[t];
          for (size_t k = 0; k < c; k++)
            d[k] = ao[k] == t ? dyo[k] : 0.0f;
        }
      }
}

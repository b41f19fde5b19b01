/* Element-wise layers: ReLU, the bias + ReLU epilogue of conv and linear,
 * column sums for bias gradients, and inverted dropout (doc/algorithm.md
 * §3). */
#include <string.h>

#include "nn/layers_internal.h"

/* Each entry point calls a static clone (layers_internal.h says why). */
EVO_VECTOR_CLONES static void relu_forward(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void evo_relu_forward(float *y, const float *x, size_t n) {
  relu_forward(y, x, n);
}

/* The gradient at 0 is 0, as PyTorch's threshold_backward. Both operands
 * are loaded before the select, so that it compiles to a branch-free,
 * vectorised blend (a conditional load would be a mispredicted branch). */
EVO_VECTOR_CLONES static void relu_backward(float *dx, const float *dy,
                                            const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float g = dy[i];
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
}

void evo_relu_backward(float *dx, const float *dy, const float *y, size_t n) {
  relu_backward(dx, dy, y, n);
}

EVO_VECTOR_CLONES static void bias_act(float *y, const float *b, size_t rows,
                                       size_t cols, bool relu) {
  for (size_t r = 0; r < rows; r++) {
    float *restrict yr = y + r * cols;
    if (relu)
      for (size_t j = 0; j < cols; j++) {
        float v = yr[j] + b[j];
        yr[j] = v > 0.0f ? v : 0.0f;
      }
    else
      for (size_t j = 0; j < cols; j++)
        yr[j] += b[j];
  }
}

void evo_bias_act(float *y, const float *b, size_t rows, size_t cols,
                  bool relu) {
  bias_act(y, b, rows, cols, relu);
}

EVO_VECTOR_CLONES static void col_sums_add(float *out, const float *x,
                                           size_t rows, size_t cols) {
  /* Blocks of rows summed in float, blocks added in double: short float
   * chains, and the inner loop stays vectorisable. */
  enum { BLOCK = 64 };
  for (size_t j0 = 0; j0 < cols; j0 += BLOCK) {
    size_t nj = cols - j0 < BLOCK ? cols - j0 : BLOCK;
    double acc[BLOCK] = {0};
    float part[BLOCK];
    for (size_t r0 = 0; r0 < rows; r0 += BLOCK) {
      size_t nr = rows - r0 < BLOCK ? rows - r0 : BLOCK;
      memset(part, 0, sizeof part);
      for (size_t r = r0; r < r0 + nr; r++)
        for (size_t j = 0; j < nj; j++)
          part[j] += x[r * cols + j0 + j];
      for (size_t j = 0; j < nj; j++)
        acc[j] += part[j];
    }
    for (size_t j = 0; j < nj; j++)
      out[j0 + j] = (float)((double)out[j0 + j] + acc[j]);
  }
}

void evo_col_sums_add(float *out, const float *x, size_t rows, size_t cols) {
  col_sums_add(out, x, rows, cols);
}

void evo_col_sums(float *out, const float *x, size_t rows, size_t cols) {
  memset(out, 0, cols * sizeof *out);
  col_sums_add(out, x, rows, cols);
}

/* Two keep/drop decisions per 64-bit draw, each from 32 bits: a unit drops
 * when its 32 bits fall below p·2³² (p rounded to a multiple of 2⁻³²). */
void evo_dropout_mask(uint8_t *mask, size_t n, float p, evo_rng *rng) {
  const uint64_t threshold = (uint64_t)((double)p * 4294967296.0 + 0.5);
  for (size_t i = 0; i < n; i += 2) {
    uint64_t r = evo_rng_u64(rng);
    mask[i] = (r & 0xffffffffu) >= threshold;
    if (i + 1 < n)
      mask[i + 1] = (r >> 32) >= threshold;
  }
}

/* x times the noise mask/(1-p), as PyTorch's dropout (so a dropped NaN
 * stays NaN). */
EVO_VECTOR_CLONES static void dropout_forward(float *y, const float *x,
                                              const uint8_t *mask, size_t n,
                                              float p) {
  const float scale = 1.0f / (1.0f - p);
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] * ((float)mask[i] * scale);
}

void evo_dropout_forward(float *y, const float *x, const uint8_t *mask,
                         size_t n, float p) {
  dropout_forward(y, x, mask, n, p);
}

void evo_dropout_backward(float *dx, const float *dy, const uint8_t *mask,
                          size_t n, float p) {
  dropout_forward(dx, dy, mask, n, p);
}

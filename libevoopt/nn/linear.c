/* Linear layer y = x·Wᵀ + b with PyTorch's weight layout w[out][in]; every
 * product is one sgemm over the whole batch. */
#include <cblas.h>

#include "nn/layers_internal.h"

void evo_linear_forward(float *y, const float *x, const float *w,
                        const float *b, size_t n, size_t in, size_t out,
                        bool relu) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out,
              (int)in, 1.0f, x, (int)in, w, (int)in, 0.0f, y, (int)out);
  evo_bias_act(y, b, n, out, relu);
}

void evo_linear_backward(float *dx, float *dw, float *db, float *dy,
                         const float *y, const float *x, const float *w,
                         size_t n, size_t in, size_t out, bool relu) {
  if (relu)
    evo_relu_backward(dy, dy, y, n * out);
  evo_col_sums(db, dy, n, out);
  /* dw[out][in] = dyᵀ[out][n] × x[n][in] */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in,
              (int)n, 1.0f, dy, (int)out, x, (int)in, 0.0f, dw, (int)in);
  if (dx) /* dx[n][in] = dy[n][out] × w[out][in] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in,
                (int)out, 1.0f, dy, (int)out, w, (int)in, 0.0f, dx, (int)in);
}

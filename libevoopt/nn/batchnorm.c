/* Batch norm 2-D over x[m][c] (NHWC: a channel is a column), PROTOCOL §3:
 * training normalises with the batch's biased variance and moves the
 * running variance with the unbiased one; evaluation uses the running
 * statistics. Sums run in double, over rows, so the inner loop is a
 * contiguous channel vector. */
#include <math.h>
#include <string.h>

#include "nn/layers_internal.h"

/* Channels per block of the affine pass (its per-channel factors live on
 * the stack). */
#define BLOCK 64

/* acc[j] = Σ_i x[i][j] */
EVO_VECTOR_CLONES static void sum_rows(double *acc, const float *x, size_t m, size_t c) {
  memset(acc, 0, c * sizeof *acc);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < c; j++)
      acc[j] += (double)x[i * c + j];
}

/* acc[j] = Σ_i (x[i][j] - mean[j])² */
EVO_VECTOR_CLONES static void sum_sq_dev(double *acc, const float *x, const double *mean,
                       size_t m, size_t c) {
  memset(acc, 0, c * sizeof *acc);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < c; j++) {
      double d = (double)x[i * c + j] - mean[j];
      acc[j] += d * d;
    }
}

/* y = (x - mean)·rstd·gamma + beta per channel, as x·scale + shift (the
 * form PyTorch's CPU kernel uses), ReLU when asked. */
EVO_VECTOR_CLONES static void affine(float *y, const float *x, const float *mean,
                   const float *rstd, const float *gamma, const float *beta,
                   size_t m, size_t c, bool relu) {
  for (size_t j0 = 0; j0 < c; j0 += BLOCK) {
    size_t nb = c - j0 < BLOCK ? c - j0 : BLOCK;
    float scale[BLOCK], shift[BLOCK];
    for (size_t j = 0; j < nb; j++) {
      scale[j] = rstd[j0 + j] * gamma[j0 + j];
      shift[j] = beta[j0 + j] - mean[j0 + j] * scale[j];
    }
    for (size_t i = 0; i < m; i++) {
      const float *restrict xi = x + i * c + j0;
      float *restrict yi = y + i * c + j0;
      for (size_t j = 0; j < nb; j++) {
        float v = xi[j] * scale[j] + shift[j];
        yi[j] = relu && v < 0.0f ? 0.0f : v;
      }
    }
  }
}

void evo_bn_forward_train(float *y, float *mean, float *rstd, float *rmean,
                          float *rvar, const float *x, const float *gamma,
                          const float *beta, size_t m, size_t c, bool relu,
                          double *acc) {
  double *mu = acc, *ss = acc + c;
  sum_rows(mu, x, m, c);
  for (size_t j = 0; j < c; j++)
    mu[j] /= (double)m;
  sum_sq_dev(ss, x, mu, m, c);
  for (size_t j = 0; j < c; j++) {
    double var = ss[j] / (double)m; /* biased: the normalisation */
    double unbiased = ss[j] / (double)(m - 1); /* the running variance */
    mean[j] = (float)mu[j];
    rstd[j] = (float)(1.0 / sqrt(var + EVO_BN_EPS));
    rmean[j] = (float)((1.0 - EVO_BN_MOMENTUM) * (double)rmean[j] +
                       EVO_BN_MOMENTUM * mu[j]);
    rvar[j] = (float)((1.0 - EVO_BN_MOMENTUM) * (double)rvar[j] +
                      EVO_BN_MOMENTUM * unbiased);
  }
  affine(y, x, mean, rstd, gamma, beta, m, c, relu);
}

EVO_VECTOR_CLONES void evo_bn_forward_eval(float *y, const float *x, const float *gamma,
                         const float *beta, const float *rmean,
                         const float *rvar, size_t m, size_t c, bool relu) {
  for (size_t j0 = 0; j0 < c; j0 += BLOCK) {
    size_t nb = c - j0 < BLOCK ? c - j0 : BLOCK;
    float rstd[BLOCK];
    for (size_t j = 0; j < nb; j++)
      rstd[j] = (float)(1.0 / sqrt((double)rvar[j0 + j] + EVO_BN_EPS));
    /* One channel block at a time: the row stride stays c. */
    for (size_t i = 0; i < m; i++) {
      const float *restrict xi = x + i * c + j0;
      float *restrict yi = y + i * c + j0;
      for (size_t j = 0; j < nb; j++) {
        float v = (xi[j] - rmean[j0 + j]) * rstd[j] * gamma[j0 + j] +
                  beta[j0 + j];
        yi[j] = relu && v < 0.0f ? 0.0f : v;
      }
    }
  }
}

/* The incoming gradient through the fused ReLU (read, not written back);
 * relu is a constant in each instance, so the loops stay branch-free. */
EVO_INLINE float masked(const float *dy, const float *y, size_t i,
                        const bool relu) {
  float g = dy[i];
  return relu && !(y[i] > 0.0f) ? 0.0f : g;
}

/* sg[j] = Σ g, sgx[j] = Σ g·xhat over the rows. The float factors go
 * through a block buffer first: a select feeding a double conversion
 * directly is not if-converted (trapping math), and the loop would stay
 * scalar. */
EVO_INLINE void grad_sums(double *sg, double *sgx, const float *dy,
                          const float *y, const float *x, const float *mean,
                          const float *rstd, size_t m, size_t c,
                          const bool relu) {
  memset(sg, 0, c * sizeof *sg);
  memset(sgx, 0, c * sizeof *sgx);
  for (size_t i = 0; i < m; i++)
    for (size_t j0 = 0; j0 < c; j0 += BLOCK) {
      size_t nb = c - j0 < BLOCK ? c - j0 : BLOCK;
      float g[BLOCK], xhat[BLOCK];
      for (size_t j = 0; j < nb; j++) {
        g[j] = masked(dy, y, i * c + j0 + j, relu);
        xhat[j] = (x[i * c + j0 + j] - mean[j0 + j]) * rstd[j0 + j];
      }
      for (size_t j = 0; j < nb; j++) {
        sg[j0 + j] += (double)g[j];
        sgx[j0 + j] += (double)g[j] * (double)xhat[j];
      }
    }
}

/* dx = k1·(g - k2 - xhat·k3) for one block of nb channels from j0 */
EVO_INLINE void grad_input(float *dx, const float *dy, const float *y,
                           const float *x, const float *mean,
                           const float *rstd, const float *k1,
                           const float *k2, const float *k3, size_t m,
                           size_t c, size_t j0, size_t nb, const bool relu) {
  for (size_t i = 0; i < m; i++) {
    const float *restrict xi = x + i * c + j0;
    float *restrict di = dx + i * c + j0;
    for (size_t j = 0; j < nb; j++) {
      float xhat = (xi[j] - mean[j0 + j]) * rstd[j0 + j];
      float g = masked(dy, y, i * c + j0 + j, relu);
      di[j] = k1[j] * (g - k2[j] - xhat * k3[j]);
    }
  }
}

/* With xhat = (x - mean)·rstd and g the (ReLU-masked) incoming gradient:
 * dbeta = Σg, dgamma = Σg·xhat, dx = gamma·rstd·(g - dbeta/m - xhat·dgamma/m) */
EVO_VECTOR_CLONES void evo_bn_backward(float *dx, float *dgamma, float *dbeta,
                                       const float *dy, const float *y,
                                       const float *x, const float *mean,
                                       const float *rstd, const float *gamma,
                                       size_t m, size_t c, bool relu,
                                       double *acc) {
  double *sg = acc, *sgx = acc + c;
  if (relu)
    grad_sums(sg, sgx, dy, y, x, mean, rstd, m, c, true);
  else
    grad_sums(sg, sgx, dy, y, x, mean, rstd, m, c, false);
  for (size_t j0 = 0; j0 < c; j0 += BLOCK) {
    size_t nb = c - j0 < BLOCK ? c - j0 : BLOCK;
    float k1[BLOCK], k2[BLOCK], k3[BLOCK];
    for (size_t j = 0; j < nb; j++) {
      size_t jj = j0 + j;
      dbeta[jj] = (float)sg[jj];
      dgamma[jj] = (float)sgx[jj];
      k1[j] = gamma[jj] * rstd[jj];
      k2[j] = (float)(sg[jj] / (double)m);
      k3[j] = (float)(sgx[jj] / (double)m);
    }
    if (relu)
      grad_input(dx, dy, y, x, mean, rstd, k1, k2, k3, m, c, j0, nb, true);
    else
      grad_input(dx, dy, y, x, mean, rstd, k1, k2, k3, m, c, j0, nb, false);
  }
}

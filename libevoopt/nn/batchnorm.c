/* Batch norm 2-D over x[m][c] (NHWC: a channel is a column), doc/algorithm.md
 * §3: training normalises with the batch's biased variance and moves the
 * running variance with the unbiased one; evaluation uses the running
 * statistics. Sums run in double, over rows, so the inner loop is a
 * contiguous channel vector; every pass runs over slices of rows (sums
 * kept per slice, added in slice order: the same for any thread count). */
#include <math.h>
#include <string.h>

#include "nn/layers_internal.h"

/* Channels per block of a pass whose per-channel factors live on the
 * stack. */
#define BLOCK 64

/* acc[j] = Σ_i x[i][j] */
EVO_VECTOR_CLONES static void sum_rows(double *acc, const float *x, size_t m,
                                       size_t c) {
  memset(acc, 0, c * sizeof *acc);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < c; j++)
      acc[j] += (double)x[i * c + j];
}

/* acc[j] = Σ_i (x[i][j] - mean[j])² */
EVO_VECTOR_CLONES static void sum_sq_dev(double *acc, const float *x,
                                         const double *mean, size_t m,
                                         size_t c) {
  memset(acc, 0, c * sizeof *acc);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < c; j++) {
      double d = (double)x[i * c + j] - mean[j];
      acc[j] += d * d;
    }
}

/* y = (x - mean)·rstd·gamma + beta per channel, as x·scale + shift (the
 * form PyTorch's CPU kernel uses), ReLU when asked. */
EVO_VECTOR_CLONES static void affine(float *y, const float *x,
                                     const float *mean, const float *rstd,
                                     const float *gamma, const float *beta,
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

/* Evaluation: (x - rmean)·(1/√(rvar + ε))·gamma + beta. */
EVO_VECTOR_CLONES static void eval_rows(float *y, const float *x,
                                        const float *gamma, const float *beta,
                                        const float *rmean, const float *rvar,
                                        size_t m, size_t c, bool relu) {
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
        float v =
            (xi[j] - rmean[j0 + j]) * rstd[j] * gamma[j0 + j] + beta[j0 + j];
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
EVO_INLINE void grad_sums_k(double *sg, double *sgx, const float *dy,
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

EVO_VECTOR_CLONES static void grad_sums(double *sg, double *sgx,
                                        const float *dy, const float *y,
                                        const float *x, const float *mean,
                                        const float *rstd, size_t m, size_t c,
                                        bool relu) {
  if (relu)
    grad_sums_k(sg, sgx, dy, y, x, mean, rstd, m, c, true);
  else
    grad_sums_k(sg, sgx, dy, y, x, mean, rstd, m, c, false);
}

/* dx = k1·(g - k2 - xhat·k3) per channel (k held in double, rounded once
 * per block). */
EVO_INLINE void grad_input_k(float *dx, const float *dy, const float *y,
                             const float *x, const float *mean,
                             const float *rstd, const double *k, size_t m,
                             size_t c, const bool relu) {
  for (size_t j0 = 0; j0 < c; j0 += BLOCK) {
    size_t nb = c - j0 < BLOCK ? c - j0 : BLOCK;
    float k1[BLOCK], k2[BLOCK], k3[BLOCK];
    for (size_t j = 0; j < nb; j++) {
      k1[j] = (float)k[j0 + j];
      k2[j] = (float)k[c + j0 + j];
      k3[j] = (float)k[2 * c + j0 + j];
    }
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
}

EVO_VECTOR_CLONES static void grad_input(float *dx, const float *dy,
                                         const float *y, const float *x,
                                         const float *mean, const float *rstd,
                                         const double *k, size_t m, size_t c,
                                         bool relu) {
  if (relu)
    grad_input_k(dx, dy, y, x, mean, rstd, k, m, c, true);
  else
    grad_input_k(dx, dy, y, x, mean, rstd, k, m, c, false);
}

/* ---- the passes over slices of rows ------------------------------------- */

typedef enum bn_pass {
  SUM,
  SQ_DEV,
  AFFINE,
  EVAL,
  GRAD_SUMS,
  GRAD_INPUT
} bn_pass;

typedef struct bn_job {
  bn_pass pass;
  size_t m, c;
  bool relu;
  float *out;              /* y or dx */
  const float *x, *dy, *y; /* y: the fused ReLU's output */
  const float *mean, *rstd, *gamma, *beta, *rmean, *rvar;
  double *acc;          /* per slice: c (or 2c) partial sums */
  const double *mu, *k; /* the batch mean; grad_input's factors */
} bn_job;

static void bn_task(void *p, size_t thread, size_t threads) {
  const bn_job *j = p;
  const size_t c = j->c;
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    evo_slice(j->m, sl, &lo, &hi);
    const float *x = j->x + lo * c, *dy = j->dy ? j->dy + lo * c : NULL;
    const float *y = j->y ? j->y + lo * c : NULL;
    float *out = j->out ? j->out + lo * c : NULL;
    size_t rows = hi - lo;
    switch (j->pass) {
    case SUM: sum_rows(j->acc + sl * c, x, rows, c); break;
    case SQ_DEV: sum_sq_dev(j->acc + sl * c, x, j->mu, rows, c); break;
    case AFFINE:
      affine(out, x, j->mean, j->rstd, j->gamma, j->beta, rows, c, j->relu);
      break;
    case EVAL:
      eval_rows(out, x, j->gamma, j->beta, j->rmean, j->rvar, rows, c, j->relu);
      break;
    case GRAD_SUMS:
      grad_sums(j->acc + 2 * sl * c, j->acc + (2 * sl + 1) * c, dy, y, x,
                j->mean, j->rstd, rows, c, j->relu);
      break;
    case GRAD_INPUT:
      grad_input(out, dy, y, x, j->mean, j->rstd, j->k, rows, c, j->relu);
      break;
    }
  }
}

static void run(bn_job *j, bn_pass pass, evo_workers *team) {
  j->pass = pass;
  evo_workers_run(team, evo_workers_count(team), bn_task, j);
}

/* out[i] = Σ_s acc[s·stride + i], in slice order, for i < n (out may be
 * acc: each out[i] is written after its own sum). */
static void add_slices(double *out, const double *acc, size_t stride,
                       size_t n) {
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t sl = 0; sl < EVO_SLICES; sl++)
      s += acc[sl * stride + i];
    out[i] = s;
  }
}

void evo_bn_forward_train(float *y, float *mean, float *rstd, float *rmean,
                          float *rvar, const float *x, const float *gamma,
                          const float *beta, size_t m, size_t c, bool relu,
                          double *acc, evo_workers *team) {
  /* acc: partials of slices 0..7 (c each), then the same for the squared
   * deviations; the mean goes where slice 0's partial was. */
  double *mu = acc, *ss = acc + EVO_SLICES * c;
  bn_job j = {SUM,  m,     c,    relu, y,    x,   NULL, NULL, mean,
              rstd, gamma, beta, NULL, NULL, acc, mu,   NULL};
  run(&j, SUM, team);
  add_slices(mu, acc, c, c);
  for (size_t i = 0; i < c; i++)
    mu[i] /= (double)m;
  j.acc = ss;
  run(&j, SQ_DEV, team);
  add_slices(ss, ss, c, c);
  for (size_t i = 0; i < c; i++) {
    double var = ss[i] / (double)m;            /* biased: the normalisation */
    double unbiased = ss[i] / (double)(m - 1); /* the running variance */
    mean[i] = (float)mu[i];
    rstd[i] = (float)(1.0 / sqrt(var + EVO_BN_EPS));
    rmean[i] = (float)((1.0 - EVO_BN_MOMENTUM) * (double)rmean[i] +
                       EVO_BN_MOMENTUM * mu[i]);
    rvar[i] = (float)((1.0 - EVO_BN_MOMENTUM) * (double)rvar[i] +
                      EVO_BN_MOMENTUM * unbiased);
  }
  run(&j, AFFINE, team);
}

void evo_bn_forward_eval(float *y, const float *x, const float *gamma,
                         const float *beta, const float *rmean,
                         const float *rvar, size_t m, size_t c, bool relu,
                         evo_workers *team) {
  bn_job j = {EVAL, m,     c,    relu,  y,    x,    NULL, NULL, NULL,
              NULL, gamma, beta, rmean, rvar, NULL, NULL, NULL};
  run(&j, EVAL, team);
}

/* With xhat = (x - mean)·rstd and g the (ReLU-masked) incoming gradient:
 * dbeta = Σg, dgamma = Σg·xhat, dx = gamma·rstd·(g - dbeta/m - xhat·dgamma/m)
 */
void evo_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *y, const float *x, const float *mean,
                     const float *rstd, const float *gamma, size_t m, size_t c,
                     bool relu, double *acc, evo_workers *team) {
  bn_job j = {GRAD_SUMS, m,     c,    relu, dx,   x,   dy,   y,   mean,
              rstd,      gamma, NULL, NULL, NULL, acc, NULL, NULL};
  run(&j, GRAD_SUMS, team);
  /* Slice s holds Σg at acc[2sc], Σg·xhat at acc[(2s+1)c]; the totals go
   * to slice 0's places, then k1, k2, k3 after them. */
  add_slices(acc, acc, 2 * c, 2 * c);
  double *k = acc + 2 * c;
  for (size_t i = 0; i < c; i++) {
    dbeta[i] = (float)acc[i];
    dgamma[i] = (float)acc[c + i];
    k[i] = (double)(gamma[i] * rstd[i]);
    k[c + i] = acc[i] / (double)m;
    k[2 * c + i] = acc[c + i] / (double)m;
  }
  j.k = k;
  run(&j, GRAD_INPUT, team);
}

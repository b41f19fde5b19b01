/* Layer norm over a row's c features (doc/algorithm.md §7), as PyTorch's
 * nn.LayerNorm: y = (x - mean)·rstd·gamma + beta, rstd = 1/√(var + ε),
 * var the biased variance. Row statistics in double. Rows are cut into
 * EVO_SLICES fixed slices; the parameter gradients are summed per slice and
 * the slices added in order, so the bits never depend on the thread count. */
#include <math.h>
#include <string.h>

#include "nn/layers_internal.h"

static void ln_rows(float *y, float *mean, float *rstd, const float *x,
                    const float *gamma, const float *beta, size_t m,
                    size_t c) {
  for (size_t i = 0; i < m; i++) {
    const float *restrict xi = x + i * c;
    float *restrict yi = y + i * c;
    double s = 0.0;
    for (size_t j = 0; j < c; j++)
      s += (double)xi[j];
    double mu = s / (double)c, ss = 0.0;
    for (size_t j = 0; j < c; j++) {
      double dv = (double)xi[j] - mu;
      ss += dv * dv;
    }
    float mf = (float)mu, rf = (float)(1.0 / sqrt(ss / (double)c + EVO_LN_EPS));
    mean[i] = mf;
    rstd[i] = rf;
    for (size_t j = 0; j < c; j++)
      yi[j] = (xi[j] - mf) * rf * gamma[j] + beta[j];
  }
}

/* With xhat = (x - mean)·rstd, g = dy·gamma:
 *   dbeta += dy, dgamma += dy·xhat (into this slice's sums),
 *   dx = rstd·(g - mean(g) - xhat·mean(g·xhat)) per row. */
static void ln_grad_rows(float *dx, double *sb, double *sg, const float *dy,
                         const float *x, const float *mean, const float *rstd,
                         const float *gamma, size_t m, size_t c) {
  memset(sb, 0, c * sizeof *sb);
  memset(sg, 0, c * sizeof *sg);
  for (size_t i = 0; i < m; i++) {
    const float *restrict xi = x + i * c, *gi = dy + i * c;
    const float mu = mean[i], r = rstd[i];
    double s1 = 0.0, s2 = 0.0;
    for (size_t j = 0; j < c; j++) {
      float xhat = (xi[j] - mu) * r;
      float g = gi[j] * gamma[j];
      sb[j] += (double)gi[j];
      sg[j] += (double)gi[j] * (double)xhat;
      s1 += (double)g;
      s2 += (double)g * (double)xhat;
    }
    const float k1 = (float)(s1 / (double)c), k2 = (float)(s2 / (double)c);
    float *di = dx + i * c; /* may be dy's row: each read before written */
    for (size_t j = 0; j < c; j++) {
      float xhat = (xi[j] - mu) * r;
      float g = gi[j] * gamma[j];
      di[j] = r * (g - k1 - xhat * k2);
    }
  }
}

typedef struct ln_job {
  float *out, *mean;
  float *rstd_out;
  const float *x, *dy, *gamma, *beta, *rstd;
  const float *mean_in;
  double *acc;
  size_t m, c;
} ln_job;

static void ln_task(void *p, size_t thread, size_t threads) {
  const ln_job *j = p;
  const size_t c = j->c;
  for (size_t s = thread; s < EVO_SLICES; s += threads) {
    size_t lo, hi;
    evo_slice(j->m, s, &lo, &hi);
    if (j->dy)
      ln_grad_rows(j->out + lo * c, j->acc + 2 * s * c,
                   j->acc + (2 * s + 1) * c, j->dy + lo * c, j->x + lo * c,
                   j->mean_in + lo, j->rstd + lo, j->gamma, hi - lo, c);
    else
      ln_rows(j->out + lo * c, j->mean + lo, j->rstd_out + lo, j->x + lo * c,
              j->gamma, j->beta, hi - lo, c);
  }
}

void evo_ln_forward(float *y, float *mean, float *rstd, const float *x,
                    const float *gamma, const float *beta, size_t m, size_t c,
                    evo_workers *team) {
  ln_job j = {y, mean, rstd, x, NULL, gamma, beta, NULL, NULL, NULL, m, c};
  evo_workers_run(team, evo_workers_count(team), ln_task, &j);
}

void evo_ln_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *x, const float *mean, const float *rstd,
                     const float *gamma, size_t m, size_t c, double *acc,
                     evo_workers *team) {
  ln_job j = {dx, NULL, NULL, x, dy, gamma, NULL, rstd, mean, acc, m, c};
  evo_workers_run(team, evo_workers_count(team), ln_task, &j);
  for (size_t f = 0; f < c; f++) {
    double b = 0.0, g = 0.0;
    for (size_t s = 0; s < EVO_SLICES; s++) {
      b += acc[2 * s * c + f];
      g += acc[(2 * s + 1) * c + f];
    }
    dbeta[f] = (float)b;
    dgamma[f] = (float)g;
  }
}

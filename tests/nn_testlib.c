/* Helpers shared by the layer test suites (nn_testlib.h). */
#include "nn_testlib.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

float *fvec(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  ck_assert_ptr_nonnull(p);
  return p;
}

void fill_normal(float *p, size_t n, evo_rng *rng, double scale) {
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(scale * evo_rng_normal(rng));
}

double dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double)a[i] * (double)b[i];
  return s;
}

double fd_worst(const fd_case *c, float *v, const float *ana, size_t n,
                   float h, size_t stride, double atol, double rtol) {
  double worst = 0.0;
  for (size_t i = 0; i < n; i += stride) {
    float keep = v[i];
    v[i] = keep + h;
    double up = (double)v[i];
    double lp = c->loss(c->ctx);
    v[i] = keep - h;
    double down = (double)v[i];
    double lm = c->loss(c->ctx);
    v[i] = keep;
    double num = (lp - lm) / (up - down);
    double err = fabs(num - (double)ana[i]) / (atol + rtol * fabs(ana[i]));
    worst = fmax(worst, err);
  }
  c->loss(c->ctx); /* leave the forward state as it was */
  return worst;
}

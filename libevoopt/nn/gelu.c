/* GELU, exact form x·Φ(x) (PyTorch's nn.GELU() default, nanoGPT's MLP;
 * doc/algorithm.md §7), in float: erf by a vectorised rational function
 * (the C library's erff in the far negative tail), and the density's
 * exponential by a vectorised polynomial.
 * Element-wise: slices of the elements on the team's threads, every
 * element computed the same way on any thread, so the bits never depend on
 * the thread count. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/layers_internal.h"

#define SQRT1_2 0.70710678118654752440f /* 1/√2 */
#define INV_SQRT_2PI 0.39894228040143267794f /* 1/√(2π) */

/* erf(z) as a rational function of z (odd over even polynomials in z²,
 * z clamped to ±4 where erf is ±1 in float: Eigen's generic_fast_erf_float
 * coefficients), plain IEEE operations the compiler vectorises; within
 * 4.2e-7 of erf. */
EVO_INLINE float erf_rational(float z) {
  const float x = z < -4.0f ? -4.0f : z > 4.0f ? 4.0f : z, x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return x * p / q;
}

/* Below z = -2.5 the rational erf's absolute error (4e-7) would be large
 * next to GELU(x) = x·(1 + erf(z))/2 itself: those (rare) elements take
 * the C library's erff in a second, scalar pass. The first pass leaves x
 * there, so that the second reads only y (y may alias x); every other
 * output is above -0.2, never taken for such an x. */
#define ERF_TAIL -2.5f

EVO_VECTOR_CLONES static void gelu_fwd(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i], z = v * SQRT1_2;
    y[i] = z < ERF_TAIL ? v : 0.5f * v * (1.0f + erf_rational(z));
  }
  for (size_t i = 0; i < n; i++)
    if (y[i] * SQRT1_2 < ERF_TAIL)
      y[i] = 0.5f * y[i] * (1.0f + erff(y[i] * SQRT1_2));
}

/* e^t for t <= 0 in plain IEEE operations the compiler vectorises:
 * t = k·ln 2 + r with |r| <= ln 2 (ln 2 split in two parts), e^r by its
 * Taylor polynomial of degree 7, 2^k built in the exponent bits. Below
 * t = -87 (e^t under float's normal range) it gives e^-87. */
EVO_INLINE float exp_nonpositive(float t) {
  const float u = t < -87.0f ? -87.0f : t;
  const float kf = (float)(int32_t)(u * 1.44269504088896341f - 0.5f);
  const float r = (u - kf * 0.693145751953125f) - kf * 1.42860682030941723e-6f;
  float p = r * (1.0f / 5040.0f) + 1.0f / 720.0f;
  p = r * p + 1.0f / 120.0f;
  p = r * p + 1.0f / 24.0f;
  p = r * p + 1.0f / 6.0f;
  p = r * p + 0.5f;
  p = r * p + 1.0f;
  p = r * p + 1.0f;
  const uint32_t bits = (uint32_t)((int32_t)kf + 127) << 23;
  float two_k;
  memcpy(&two_k, &bits, sizeof two_k);
  return p * two_k;
}

/* d/dx x·Φ(x) = Φ(x) + x·φ(x), one vectorised pass (dx may alias dy): the
 * rational erf's 4e-7 is small next to a derivative of order 1. */
EVO_VECTOR_CLONES static void gelu_bwd(float *dx, const float *dy,
                                       const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    const float pdf = INV_SQRT_2PI * exp_nonpositive(-0.5f * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + erf_rational(v * SQRT1_2)) + v * pdf);
  }
}

typedef struct gelu_job {
  float *out;
  const float *x, *dy; /* dy NULL: forward */
  size_t n;
} gelu_job;

static void gelu_task(void *p, size_t thread, size_t threads) {
  const gelu_job *j = p;
  for (size_t s = thread; s < EVO_SLICES; s += threads) {
    size_t lo, hi;
    evo_slice(j->n, s, &lo, &hi);
    if (j->dy)
      gelu_bwd(j->out + lo, j->dy + lo, j->x + lo, hi - lo);
    else
      gelu_fwd(j->out + lo, j->x + lo, hi - lo);
  }
}

void evo_gelu_forward(float *y, const float *x, size_t n, evo_workers *team) {
  gelu_job j = {y, x, NULL, n};
  evo_workers_run(team, evo_workers_count(team), gelu_task, &j);
}

void evo_gelu_backward(float *dx, const float *dy, const float *x, size_t n,
                       evo_workers *team) {
  gelu_job j = {dx, x, dy, n};
  evo_workers_run(team, evo_workers_count(team), gelu_task, &j);
}

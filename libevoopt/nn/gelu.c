/* GELU, exact form x·Φ(x) (PyTorch's nn.GELU() default, nanoGPT's MLP;
 * doc/algorithm.md §7), in float: erf by a vectorised rational function
 * (the C library's erff in the far negative tail), expf for the density.
 * Element-wise: slices of the elements on the team's threads, every
 * element computed the same way on any thread, so the bits never depend on
 * the thread count. */
#include <math.h>

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

/* Below z = -2.5 the rational erf's absolute error would be large next to
 * Φ(x) = (1 + erf(z))/2 itself: those (rare) elements take the C
 * library's erff in a second, scalar pass. */
#define ERF_TAIL -2.5f

EVO_INLINE float cdf_of(float v) {
  const float z = v * SQRT1_2;
  return 0.5f * (1.0f + (z < ERF_TAIL ? erff(z) : erf_rational(z)));
}

EVO_VECTOR_CLONES static void gelu_fwd(float *restrict y,
                                       const float *restrict x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    y[i] = 0.5f * v * (1.0f + erf_rational(v * SQRT1_2));
  }
  for (size_t i = 0; i < n; i++)
    if (x[i] * SQRT1_2 < ERF_TAIL)
      y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
}

/* d/dx x·Φ(x) = Φ(x) + x·φ(x) */
EVO_VECTOR_CLONES static void gelu_bwd(float *dx, const float *dy,
                                       const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    float pdf = INV_SQRT_2PI * expf(-0.5f * v * v);
    dx[i] = dy[i] * (cdf_of(v) + v * pdf);
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

/* GELU, exact form x·Φ(x) (PyTorch's nn.GELU() default, nanoGPT's MLP;
 * doc/algorithm.md §7), in float with the C library's erff and expf, as
 * PyTorch's CPU kernel computes it in float. Element-wise: slices of the
 * elements on the team's threads, every element computed the same way on
 * any thread, so the bits never depend on the thread count. */
#include <math.h>

#include "nn/layers_internal.h"

#define SQRT1_2 0.70710678118654752440f /* 1/√2 */
#define INV_SQRT_2PI 0.39894228040143267794f /* 1/√(2π) */

static void gelu_fwd(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    y[i] = 0.5f * v * (1.0f + erff(v * SQRT1_2));
  }
}

/* d/dx x·Φ(x) = Φ(x) + x·φ(x) */
static void gelu_bwd(float *dx, const float *dy, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    float cdf = 0.5f * (1.0f + erff(v * SQRT1_2));
    float pdf = INV_SQRT_2PI * expf(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
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

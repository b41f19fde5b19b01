/* Helpers shared by the layer test suites (test_nn.c,
 * test_nn_transformer.c): float buffers, normal fills, and the
 * finite-difference check of an analytic gradient. */
#ifndef EVOOPT_NN_TESTLIB_H
#define EVOOPT_NN_TESTLIB_H

#include <stddef.h>

#include "core/rng_internal.h"

/* @p n zeroed floats (at least one); the test fails when out of memory. */
float *fvec(size_t n);

/* p[i] = scale · a standard normal draw of @p rng, for i < @p n. */
void fill_normal(float *p, size_t n, evo_rng *rng, double scale);

/* Σ a[i]·b[i] in double. */
double dot(const float *a, const float *b, size_t n);

/* A differentiable case: loss(ctx) runs the forward pass and returns L. */
typedef struct fd_case {
  double (*loss)(void *ctx);
  void *ctx;
} fd_case;

/* Central differences (step @p h) of L with respect to v[i], i = 0,
 * stride, ..., against the analytic gradient ana[i]. Returns the worst
 * |num - ana| / (atol + rtol·|ana|): the check passes when it is <= 1.
 * Runs the forward pass once more at the end, so that its state is as it
 * was. */
double fd_worst(const fd_case *c, float *v, const float *ana, size_t n,
                   float h, size_t stride, double atol, double rtol);

#endif

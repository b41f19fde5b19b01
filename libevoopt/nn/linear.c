/* Linear layer y = x·Wᵀ + b with PyTorch's weight layout w[out][in]. Each
 * product is cut into slices of output columns (or of dw's rows, or of
 * dx's columns), one sgemm each, run on the team's threads. A slice never
 * splits a sum, and the slices depend only on the shapes, so the result is
 * the same for any number of threads. */
#include <cblas.h>

#include "nn/layers_internal.h"

/* Slices of a dimension of d: up to EVO_SLICES, at least 32 wide. */
static size_t slices_of(size_t d) {
  size_t s = d / 32;
  return s < 1 ? 1 : s > EVO_SLICES ? EVO_SLICES : s;
}

typedef enum lin_part {
  FORWARD,
  BIAS_ACT,
  MASK,
  WEIGHT_GRAD,
  INPUT_GRAD
} lin_part;

typedef struct lin_job {
  lin_part part;
  size_t n, in, out;
  bool relu;
  float *y, *dx, *dw, *dy;
  const float *x, *w, *b, *yr; /* yr: the forward output, for the mask */
} lin_job;

/* The dimension a part is cut along. */
static size_t split_dim(const lin_job *j) {
  switch (j->part) {
  case FORWARD:
  case WEIGHT_GRAD: return j->out;
  case INPUT_GRAD: return j->in;
  default: return j->n; /* BIAS_ACT, MASK: rows */
  }
}

static void lin_slice(const lin_job *j, size_t s, size_t ns) {
  const size_t n = j->n, in = j->in, out = j->out, d = split_dim(j);
  const size_t lo = d * s / ns, hi = d * (s + 1) / ns, m = hi - lo;
  if (m == 0)
    return;
  switch (j->part) {
  case FORWARD: /* y[:, lo:hi] = x × w[lo:hi]ᵀ */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m,
                (int)in, 1.0f, j->x, (int)in, j->w + lo * in, (int)in, 0.0f,
                j->y + lo, (int)out);
    break;
  case BIAS_ACT: evo_bias_act(j->y + lo * out, j->b, m, out, j->relu); break;
  case MASK:
    evo_relu_backward(j->dy + lo * out, j->dy + lo * out, j->yr + lo * out,
                      m * out);
    break;
  case WEIGHT_GRAD: /* dw[lo:hi] = dy[:, lo:hi]ᵀ × x */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)in,
                (int)n, 1.0f, j->dy + lo, (int)out, j->x, (int)in, 0.0f,
                j->dw + lo * in, (int)in);
    break;
  case INPUT_GRAD: /* dx[:, lo:hi] = dy × w[:, lo:hi] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m,
                (int)out, 1.0f, j->dy, (int)out, j->w + lo, (int)in, 0.0f,
                j->dx + lo, (int)in);
    break;
  }
}

static void lin_task(void *p, size_t thread, size_t threads) {
  const lin_job *j = p;
  size_t ns = slices_of(split_dim(j));
  for (size_t s = thread; s < ns; s += threads)
    lin_slice(j, s, ns);
}

static void run(lin_job *j, lin_part part, evo_workers *team) {
  j->part = part;
  evo_workers_run(team, evo_workers_count(team), lin_task, j);
}

void evo_linear_forward(float *y, const float *x, const float *w,
                        const float *b, size_t n, size_t in, size_t out,
                        bool relu, evo_workers *team) {
  lin_job j = {FORWARD, n, in, out, relu, y, NULL, NULL, NULL, x, w, b, NULL};
  run(&j, FORWARD, team);
  run(&j, BIAS_ACT, team);
}

void evo_linear_backward(float *dx, float *dw, float *db, float *dy,
                         const float *y, const float *x, const float *w,
                         size_t n, size_t in, size_t out, bool relu,
                         evo_workers *team) {
  lin_job j = {MASK, n, in, out, relu, NULL, dx, dw, dy, x, w, NULL, y};
  if (relu)
    run(&j, MASK, team);
  evo_col_sums(db, dy, n, out);
  run(&j, WEIGHT_GRAD, team);
  if (dx)
    run(&j, INPUT_GRAD, team);
}

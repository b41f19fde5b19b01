/* Check suite for the small-CNN engine (libevoopt/nn, issue 3).
 *
 * Every layer's backward is compared with central finite differences of a
 * loss L = Σ r·y (r random, L summed in double) taken through its forward;
 * the conv forward with a direct double-precision convolution written here;
 * batch norm's running statistics, dropout's scaling and the loss with
 * their formulas from doc/algorithm.md §3 written here; a whole network's
 * gradient with finite differences of its loss. Parity with PyTorch itself is
 * the separate test nn_parity (tests/ref/nn_parity.py). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "nn/layers_internal.h"
#include "nn/nn_internal.h"
#include "nn_testlib.h"

/* ---- helpers ------------------------------------------------------------ */

static double max_abs(const float *a, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs((double)a[i]));
  return m;
}

/* ---- conv --------------------------------------------------------------- */

typedef struct conv_ctx {
  evo_conv cv;
  size_t n;
  float *x, *w, *b, *y, *ws, *r;
  float *dx, *dw, *db, *dy;
} conv_ctx;

static size_t conv_out_size(const conv_ctx *c) {
  return c->n * c->cv.h * c->cv.w * c->cv.cout;
}

static double conv_loss(void *p) {
  conv_ctx *c = p;
  evo_conv_forward(&c->cv, c->y, c->x, c->w, c->b, c->n, c->ws);
  return dot(c->r, c->y, conv_out_size(c));
}

/* algo: an evo_conv_algo; chunk (0: default) is the im2col chunk in pixels
 * or the Winograd chunk in tiles. */
static void conv_ctx_init(conv_ctx *c, size_t cin, size_t cout, size_t h,
                          size_t w, size_t n, size_t chunk, int algo, bool relu,
                          evo_rng *rng) {
  evo_conv_setup(&c->cv, cin, cout, h, w, relu);
  c->cv.algo = (evo_conv_algo)algo;
  if (chunk && algo == EVO_CONV_WINOGRAD)
    c->cv.tiles = chunk;
  else if (chunk)
    c->cv.chunk = chunk;
  c->n = n;
  size_t nx = n * h * w * cin, nw = cout * cin * 9, ny = n * h * w * cout;
  c->x = fvec(nx), c->w = fvec(nw), c->b = fvec(cout), c->y = fvec(ny);
  c->r = fvec(ny), c->dy = fvec(ny);
  c->dx = fvec(nx), c->dw = fvec(nw), c->db = fvec(cout);
  c->ws = fvec(evo_conv_ws_floats(&c->cv));
  fill_normal(c->x, nx, rng, 1.0);
  fill_normal(c->w, nw, rng, 0.5);
  fill_normal(c->b, cout, rng, 0.5);
  fill_normal(c->r, ny, rng, 1.0);
}

static void conv_ctx_free(conv_ctx *c) {
  free(c->x), free(c->w), free(c->b), free(c->y), free(c->ws), free(c->r);
  free(c->dx), free(c->dw), free(c->db), free(c->dy);
}

static void conv_backward_of_r(conv_ctx *c, bool want_dx) {
  conv_loss(c);
  memcpy(c->dy, c->r, conv_out_size(c) * sizeof *c->dy);
  evo_conv_backward(&c->cv, want_dx ? c->dx : NULL, c->dw, c->db, c->dy, c->y,
                    c->x, c->w, c->n, c->ws);
}

/* Direct convolution in double, NHWC, from the definition (doc/algorithm.md §3:
 * 3x3, stride 1, zero padding 1). */
static double conv_ref_at(const conv_ctx *c, size_t img, size_t y, size_t x,
                          size_t co) {
  const evo_conv *v = &c->cv;
  double s = c->b[co];
  for (size_t ci = 0; ci < v->cin; ci++)
    for (int kh = 0; kh < 3; kh++)
      for (int kw = 0; kw < 3; kw++) {
        long yy = (long)y + kh - 1, xx = (long)x + kw - 1;
        if (yy < 0 || xx < 0 || yy >= (long)v->h || xx >= (long)v->w)
          continue;
        double in =
            c->x[((img * v->h + (size_t)yy) * v->w + (size_t)xx) * v->cin + ci];
        s += in * c->w[(co * v->cin + ci) * 9 + (size_t)(kh * 3 + kw)];
      }
  return s;
}

static const struct {
  size_t cin, cout, h, w, n, chunk;
} conv_shapes[] = {{1, 4, 5, 7, 2, 0},   {3, 5, 6, 5, 2, 7},
                   {4, 3, 1, 1, 3, 1},   {2, 6, 4, 9, 1, 5},
                   {5, 2, 3, 3, 2, 100}, {16, 8, 2, 3, 2, 4},
                   {7, 9, 1, 6, 2, 3}};
#define N_CONV_SHAPES (sizeof conv_shapes / sizeof conv_shapes[0])

/* Loop index _i: shape _i / 3 with algorithm _i % 3 (im2col, Winograd,
 * direct; direct only where cin allows, else im2col again). */
static void conv_ctx_for(conv_ctx *c, int i, evo_rng *rng) {
  size_t s = (size_t)i / 3;
  int algo = i % 3;
  if (algo == EVO_CONV_DIRECT && conv_shapes[s].cin > EVO_DIRECT_MAX_CIN)
    algo = EVO_CONV_IM2COL;
  conv_ctx_init(c, conv_shapes[s].cin, conv_shapes[s].cout, conv_shapes[s].h,
                conv_shapes[s].w, conv_shapes[s].n, conv_shapes[s].chunk, algo,
                false, rng);
}

START_TEST(conv_forward_matches_direct) {
  evo_rng rng;
  evo_rng_seed(&rng, 11 + (uint64_t)_i);
  conv_ctx c;
  conv_ctx_for(&c, _i, &rng);
  conv_loss(&c);
  const evo_conv *v = &c.cv;
  for (size_t img = 0; img < c.n; img++)
    for (size_t y = 0; y < v->h; y++)
      for (size_t x = 0; x < v->w; x++)
        for (size_t co = 0; co < v->cout; co++) {
          double ref = conv_ref_at(&c, img, y, x, co);
          double got = c.y[((img * v->h + y) * v->w + x) * v->cout + co];
          ck_assert_msg(fabs(got - ref) <= 1e-5 * (1.0 + fabs(ref)),
                        "case %d: y[%zu,%zu,%zu,%zu] = %g, direct %g", _i, img,
                        y, x, co, got, ref);
        }
  conv_ctx_free(&c);
}
END_TEST

START_TEST(conv_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 21 + (uint64_t)_i);
  conv_ctx c;
  conv_ctx_for(&c, _i, &rng);
  conv_backward_of_r(&c, true);
  fd_case fc = {conv_loss, &c};
  size_t nx = c.n * c.cv.h * c.cv.w * c.cv.cin, nw = c.cv.cout * c.cv.cin * 9;
  /* Linear in each input: central differences are exact but for rounding. */
  ck_assert_double_le(fd_worst(&fc, c.x, c.dx, nx, 0.05f, 1, 2e-3, 2e-3), 1.0);
  ck_assert_double_le(fd_worst(&fc, c.w, c.dw, nw, 0.05f, 1, 2e-3, 2e-3), 1.0);
  ck_assert_double_le(fd_worst(&fc, c.b, c.db, c.cv.cout, 0.05f, 1, 2e-3, 2e-3),
                      1.0);
  /* Without dx (a first layer; the direct algorithm's own path). */
  memset(c.dw, 0, nw * sizeof(float));
  conv_backward_of_r(&c, false);
  ck_assert_double_le(fd_worst(&fc, c.w, c.dw, nw, 0.05f, 1, 2e-3, 2e-3), 1.0);
  conv_ctx_free(&c);
}
END_TEST

/* The fused ReLU equals ReLU after the conv, forward and backward; the
 * first layer's backward (dx skipped) gives the same dw, db. Loop index:
 * the algorithm. */
START_TEST(conv_fused_relu_and_no_dx) {
  evo_rng rng;
  evo_rng_seed(&rng, 31);
  conv_ctx a, b;
  conv_ctx_init(&a, 3, 5, 6, 7, 2, 9, _i, true, &rng);
  evo_rng_seed(&rng, 31);
  conv_ctx_init(&b, 3, 5, 6, 7, 2, 9, _i, false, &rng);
  size_t ny = conv_out_size(&a), nx = 2 * 6 * 7 * 3, nw = 5 * 3 * 9;
  conv_loss(&a);
  conv_loss(&b);
  for (size_t i = 0; i < ny; i++)
    ck_assert_float_eq(a.y[i], b.y[i] > 0.0f ? b.y[i] : 0.0f);
  memcpy(a.dy, a.r, ny * sizeof(float));
  evo_conv_backward(&a.cv, a.dx, a.dw, a.db, a.dy, a.y, a.x, a.w, 2, a.ws);
  for (size_t i = 0; i < ny; i++) /* ReLU's gradient by hand */
    b.dy[i] = b.y[i] > 0.0f ? b.r[i] : 0.0f;
  evo_conv_backward(&b.cv, b.dx, b.dw, b.db, b.dy, b.y, b.x, b.w, 2, b.ws);
  ck_assert_mem_eq(a.dx, b.dx, nx * sizeof(float));
  ck_assert_mem_eq(a.dw, b.dw, nw * sizeof(float));
  ck_assert_mem_eq(a.db, b.db, 5 * sizeof(float));
  for (size_t i = 0; i < ny; i++)
    b.dy[i] = b.y[i] > 0.0f ? b.r[i] : 0.0f;
  memset(b.dw, 0, nw * sizeof(float));
  evo_conv_backward(&b.cv, NULL, b.dw, b.db, b.dy, b.y, b.x, b.w, 2, b.ws);
  /* The direct algorithm's dw-only path sums in another order. */
  double scale = max_abs(a.dw, nw);
  for (size_t i = 0; i < nw; i++)
    ck_assert_double_eq_tol(b.dw[i], a.dw[i], 1e-6 * scale);
  /* ... and applies the fused ReLU's mask itself. */
  memcpy(a.dy, a.r, ny * sizeof(float));
  evo_conv_backward(&a.cv, NULL, b.dw, b.db, a.dy, a.y, a.x, a.w, 2, a.ws);
  for (size_t i = 0; i < nw; i++)
    ck_assert_double_eq_tol(b.dw[i], a.dw[i], 1e-6 * scale);
  for (size_t i = 0; i < 5; i++)
    ck_assert_double_eq_tol(b.db[i], a.db[i], 1e-6 * max_abs(a.db, 5));
  conv_ctx_free(&a);
  conv_ctx_free(&b);
}
END_TEST

/* A team of threads gives the same bits as one thread (fixed slices).
 * Loop index: the algorithm (im2col runs single-threaded anyway). */
START_TEST(conv_threads_same_result) {
  evo_rng rng;
  evo_rng_seed(&rng, 33);
  conv_ctx a, b;
  conv_ctx_init(&a, 3, 20, 7, 9, 3, 5, _i, true, &rng);
  evo_rng_seed(&rng, 33);
  conv_ctx_init(&b, 3, 20, 7, 9, 3, 5, _i, true, &rng);
  evo_workers *team;
  ck_assert_int_eq(evo_workers_new(&team, 3), EVO_OK);
  free(b.ws);
  b.cv.team = team;
  b.cv.threads = 3;
  b.ws = fvec(evo_conv_ws_floats(&b.cv));
  size_t ny = conv_out_size(&a), nx = 3 * 7 * 9 * 3, nw = 20 * 3 * 9;
  conv_loss(&a);
  conv_loss(&b);
  ck_assert_mem_eq(a.y, b.y, ny * sizeof(float));
  for (int with_dx = 0; with_dx < 2; with_dx++) {
    memcpy(a.dy, a.r, ny * sizeof(float));
    memcpy(b.dy, b.r, ny * sizeof(float));
    evo_conv_backward(&a.cv, with_dx ? a.dx : NULL, a.dw, a.db, a.dy, a.y, a.x,
                      a.w, 3, a.ws);
    evo_conv_backward(&b.cv, with_dx ? b.dx : NULL, b.dw, b.db, b.dy, b.y, b.x,
                      b.w, 3, b.ws);
    if (with_dx)
      ck_assert_mem_eq(a.dx, b.dx, nx * sizeof(float));
    ck_assert_mem_eq(a.dw, b.dw, nw * sizeof(float));
    ck_assert_mem_eq(a.db, b.db, 20 * sizeof(float));
  }
  evo_workers_free(team);
  conv_ctx_free(&a);
  conv_ctx_free(&b);
}
END_TEST

/* ---- linear ------------------------------------------------------------- */

typedef struct lin_ctx {
  size_t n, in, out;
  bool relu;
  float *x, *w, *b, *y, *r, *dx, *dw, *db, *dy;
  evo_workers *team;
} lin_ctx;

static double lin_loss(void *p) {
  lin_ctx *c = p;
  evo_linear_forward(c->y, c->x, c->w, c->b, c->n, c->in, c->out, c->relu,
                     c->team);
  return dot(c->r, c->y, c->n * c->out);
}

static void lin_backward_of_r(lin_ctx *c) {
  lin_loss(c);
  memcpy(c->dy, c->r, c->n * c->out * sizeof(float));
  evo_linear_backward(c->dx, c->dw, c->db, c->dy, c->y, c->x, c->w, c->n, c->in,
                      c->out, c->relu, c->team);
}

/* Loop index: bit 0 the fused ReLU, bit 1 a team of 3 threads (which must
 * give the single thread's bits: the products are cut into slices of 32
 * columns or more, here 2 of each dimension). */
START_TEST(linear_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 41);
  lin_ctx c = {3,    70,   65,   _i & 1, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL,   NULL, NULL, NULL};
  size_t nx = c.n * c.in, nw = c.in * c.out, ny = c.n * c.out;
  c.x = fvec(nx), c.w = fvec(nw), c.b = fvec(c.out), c.y = fvec(ny);
  c.r = fvec(ny), c.dx = fvec(nx), c.dw = fvec(nw), c.db = fvec(c.out);
  c.dy = fvec(ny);
  fill_normal(c.x, nx, &rng, 1.0);
  fill_normal(c.w, nw, &rng, 0.2);
  fill_normal(c.b, c.out, &rng, 0.5);
  fill_normal(c.r, ny, &rng, 1.0);
  if (c.relu) { /* outputs near the kink are left out of the loss */
    evo_linear_forward(c.y, c.x, c.w, c.b, c.n, c.in, c.out, false, NULL);
    for (size_t i = 0; i < ny; i++)
      if (fabsf(c.y[i]) < 0.05f)
        c.r[i] = 0.0f;
  }
  lin_backward_of_r(&c);
  fd_case fc = {lin_loss, &c};
  float h = c.relu ? 1e-3f : 0.05f;
  ck_assert_double_le(fd_worst(&fc, c.x, c.dx, nx, h, 1, 2e-3, 2e-3), 1.0);
  ck_assert_double_le(fd_worst(&fc, c.w, c.dw, nw, h, 1, 2e-3, 2e-3), 1.0);
  ck_assert_double_le(fd_worst(&fc, c.b, c.db, c.out, h, 1, 2e-3, 2e-3), 1.0);
  if (_i & 2) {
    float *y1 = fvec(ny), *dx1 = fvec(nx), *dw1 = fvec(nw);
    lin_backward_of_r(&c);
    memcpy(y1, c.y, ny * sizeof(float));
    memcpy(dx1, c.dx, nx * sizeof(float));
    memcpy(dw1, c.dw, nw * sizeof(float));
    ck_assert_int_eq(evo_workers_new(&c.team, 3), EVO_OK);
    lin_backward_of_r(&c);
    ck_assert_mem_eq(y1, c.y, ny * sizeof(float));
    ck_assert_mem_eq(dx1, c.dx, nx * sizeof(float));
    ck_assert_mem_eq(dw1, c.dw, nw * sizeof(float));
    evo_workers_free(c.team);
    free(y1), free(dx1), free(dw1);
  }
  free(c.x), free(c.w), free(c.b), free(c.y), free(c.r);
  free(c.dx), free(c.dw), free(c.db), free(c.dy);
}
END_TEST

/* ---- ReLU --------------------------------------------------------------- */

typedef struct ew_ctx {
  size_t n;
  float *x, *y, *r;
  const uint8_t *mask;
  float p;
} ew_ctx;

static double relu_loss(void *p) {
  ew_ctx *c = p;
  evo_relu_forward(c->y, c->x, c->n);
  return dot(c->r, c->y, c->n);
}

START_TEST(relu_forward_backward) {
  evo_rng rng;
  evo_rng_seed(&rng, 51);
  enum { N = 37 };
  float x[N], y[N], r[N], dx[N];
  for (size_t i = 0; i < N; i++) { /* away from the kink at 0 */
    double v = evo_rng_normal(&rng);
    x[i] = (float)(v + (v < 0 ? -0.1 : 0.1));
    r[i] = (float)evo_rng_normal(&rng);
  }
  ew_ctx c = {N, x, y, r, NULL, 0};
  relu_loss(&c);
  for (size_t i = 0; i < N; i++)
    ck_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0.0f);
  evo_relu_backward(dx, r, y, N);
  fd_case fc = {relu_loss, &c};
  ck_assert_double_le(fd_worst(&fc, x, dx, N, 1e-3f, 1, 1e-3, 1e-3), 1.0);
  /* The gradient at exactly 0 is 0 (PyTorch's convention). */
  float zero = 0.0f, g = 5.0f, out;
  evo_relu_backward(&out, &g, &zero, 1);
  ck_assert_float_eq(out, 0.0f);
}
END_TEST

/* ---- max-pool ----------------------------------------------------------- */

START_TEST(maxpool_argmax_by_hand) {
  /* One image 4x4, 2 channels (NHWC). Channel 0 is 0..15 row-major, so each
   * window's maximum is its bottom-right pixel (arg 3). Channel 1 has a tie
   * (the first maximum, top-left, wins), a maximum at top-right (arg 1), at
   * bottom-left (arg 2) and a NaN (it wins). */
  float x[4 * 4 * 2];
  static const float ch1[16] = {7, 7, 1,   9,  /* window (0,0): tie 7 at 0, 1 */
                                7, 2, 3,   4,  /* window (0,1): 9 at 1 */
                                0, 1, NAN, 5,  /* window (1,1): NaN at 0 */
                                8, 2, 6,   1}; /* window (1,0): 8 at 2 */
  for (size_t p = 0; p < 16; p++) {
    x[p * 2] = (float)p;
    x[p * 2 + 1] = ch1[p];
  }
  float y[2 * 2 * 2];
  uint8_t arg[2 * 2 * 2];
  evo_maxpool_forward(y, arg, x, 1, 4, 4, 2);
  static const float y0[4] = {5, 7, 13, 15};
  static const uint8_t a1[4] = {0, 1, 2, 0};
  for (size_t o = 0; o < 4; o++) {
    ck_assert_float_eq(y[o * 2], y0[o]);
    ck_assert_uint_eq(arg[o * 2], 3);
    ck_assert_uint_eq(arg[o * 2 + 1], a1[o]);
  }
  ck_assert_float_eq(y[0 * 2 + 1], 7.0f);
  ck_assert_float_eq(y[1 * 2 + 1], 9.0f);
  ck_assert_float_eq(y[2 * 2 + 1], 8.0f);
  ck_assert(isnan(y[3 * 2 + 1]));
  /* Backward: each window's gradient goes to its winner only. */
  float dy[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dx[32];
  evo_maxpool_backward(dx, dy, arg, 1, 4, 4, 2);
  double sum = 0;
  for (size_t i = 0; i < 32; i++)
    sum += dx[i];
  ck_assert_double_eq(sum, 36.0);
  ck_assert_float_eq(dx[5 * 2], 1.0f);      /* pixel (1,1), channel 0 */
  ck_assert_float_eq(dx[0 * 2 + 1], 2.0f);  /* tie: top-left */
  ck_assert_float_eq(dx[3 * 2 + 1], 4.0f);  /* pixel (0,3) */
  ck_assert_float_eq(dx[12 * 2 + 1], 6.0f); /* pixel (3,0) */
  ck_assert_float_eq(dx[10 * 2 + 1], 8.0f); /* the NaN's place (2,2) */
}
END_TEST

typedef struct pool_ctx {
  size_t n, h, w, c;
  float *x, *y, *r;
  uint8_t *arg;
} pool_ctx;

static double pool_loss(void *p) {
  pool_ctx *c = p;
  evo_maxpool_forward(c->y, c->arg, c->x, c->n, c->h, c->w, c->c);
  return dot(c->r, c->y, c->n * (c->h / 2) * (c->w / 2) * c->c);
}

/* Odd sizes (floor mode: the last row and column are never chosen). */
START_TEST(maxpool_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 61);
  pool_ctx c = {2, 5, 7, 3, NULL, NULL, NULL, NULL};
  size_t nx = c.n * c.h * c.w * c.c, ny = c.n * 2 * 3 * c.c;
  c.x = fvec(nx), c.y = fvec(ny), c.r = fvec(ny);
  c.arg = calloc(ny, 1);
  float *dx = fvec(nx);
  /* Distinct values 0.1 apart: a 1e-2 step never changes a winner. */
  for (size_t i = 0; i < nx; i++)
    c.x[i] = 0.1f * (float)((i * 37) % nx);
  fill_normal(c.r, ny, &rng, 1.0);
  pool_loss(&c);
  evo_maxpool_backward(dx, c.r, c.arg, c.n, c.h, c.w, c.c);
  fd_case fc = {pool_loss, &c};
  ck_assert_double_le(fd_worst(&fc, c.x, dx, nx, 1e-2f, 1, 1e-3, 1e-3), 1.0);
  for (size_t img = 0; img < c.n; img++) /* last row: never a winner */
    for (size_t k = 0; k < c.w * c.c; k++)
      ck_assert_float_eq(dx[(img * c.h + c.h - 1) * c.w * c.c + k], 0.0f);
  free(c.x), free(c.y), free(c.r), free(c.arg), free(dx);
}
END_TEST

/* ---- batch norm --------------------------------------------------------- */

typedef struct bn_ctx {
  size_t m, c;
  bool relu;
  float *x, *y, *r, *gamma, *beta, *mean, *rstd, *rmean, *rvar;
  double *acc;
  evo_workers *team;
} bn_ctx;

static double bn_loss(void *p) {
  bn_ctx *c = p;
  evo_bn_forward_train(c->y, c->mean, c->rstd, c->rmean, c->rvar, c->x,
                       c->gamma, c->beta, c->m, c->c, c->relu, c->acc, c->team);
  return dot(c->r, c->y, c->m * c->c);
}

static void bn_ctx_init(bn_ctx *c, size_t m, size_t ch, evo_rng *rng) {
  c->m = m, c->c = ch, c->relu = false;
  c->x = fvec(m * ch), c->y = fvec(m * ch), c->r = fvec(m * ch);
  c->gamma = fvec(ch), c->beta = fvec(ch), c->mean = fvec(ch);
  c->rstd = fvec(ch), c->rmean = fvec(ch), c->rvar = fvec(ch);
  c->acc = calloc(EVO_BN_ACC_DOUBLES(ch), sizeof(double));
  c->team = NULL;
  for (size_t i = 0; i < m * ch; i++) /* channel j: mean j, std 1 + j/4 */
    c->x[i] = (float)((double)(i % ch) +
                      (1.0 + 0.25 * (double)(i % ch)) * evo_rng_normal(rng));
  fill_normal(c->r, m * ch, rng, 1.0);
  for (size_t j = 0; j < ch; j++) {
    c->gamma[j] = (float)evo_rng_range(rng, 0.5, 1.5);
    c->beta[j] = (float)evo_rng_range(rng, -0.5, 0.5);
    c->rvar[j] = 1.0f;
  }
}

static void bn_ctx_free(bn_ctx *c) {
  free(c->x), free(c->y), free(c->r), free(c->gamma), free(c->beta);
  free(c->mean), free(c->rstd), free(c->rmean), free(c->rvar), free(c->acc);
}

START_TEST(batchnorm_train_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 71);
  bn_ctx c;
  bn_ctx_init(&c, 18, 5, &rng); /* e.g. n 2, 3x3 pixels, 5 channels */
  float *dx = fvec(c.m * c.c), *dy = fvec(c.m * c.c);
  float dg[5], db[5];
  bn_loss(&c);
  memcpy(dy, c.r, c.m * c.c * sizeof(float));
  evo_bn_backward(dx, dg, db, dy, c.y, c.x, c.mean, c.rstd, c.gamma, c.m, c.c,
                  false, c.acc, NULL);
  fd_case fc = {bn_loss, &c};
  ck_assert_double_le(fd_worst(&fc, c.x, dx, c.m * c.c, 1e-2f, 1, 2e-3, 5e-3),
                      1.0);
  ck_assert_double_le(fd_worst(&fc, c.gamma, dg, c.c, 1e-2f, 1, 2e-3, 2e-3),
                      1.0);
  ck_assert_double_le(fd_worst(&fc, c.beta, db, c.c, 1e-2f, 1, 2e-3, 2e-3),
                      1.0);
  /* The fused ReLU: the same as masking the gradient by hand first. */
  float *dx2 = fvec(c.m * c.c), dg2[5], db2[5];
  c.relu = true;
  bn_loss(&c);
  for (size_t i = 0; i < c.m * c.c; i++)
    dy[i] = c.y[i] > 0.0f ? c.r[i] : 0.0f;
  evo_bn_backward(dx, dg, db, dy, c.y, c.x, c.mean, c.rstd, c.gamma, c.m, c.c,
                  false, c.acc, NULL);
  evo_bn_backward(dx2, dg2, db2, c.r, c.y, c.x, c.mean, c.rstd, c.gamma, c.m,
                  c.c, true, c.acc, NULL);
  ck_assert_mem_eq(dx, dx2, c.m * c.c * sizeof(float));
  ck_assert_mem_eq(dg, dg2, sizeof dg);
  ck_assert_mem_eq(db, db2, sizeof db);
  free(dx), free(dy), free(dx2);
  bn_ctx_free(&c);
}
END_TEST

/* Output statistics and the running-statistics update against doc/algorithm.md
 * §3's formulas, computed here in double. */
START_TEST(batchnorm_statistics_by_formula) {
  evo_rng rng;
  evo_rng_seed(&rng, 81);
  bn_ctx c;
  bn_ctx_init(&c, 50, 3, &rng);
  for (size_t j = 0; j < c.c; j++) {
    c.rmean[j] = 0.3f * (float)j;
    c.rvar[j] = 2.0f + (float)j;
  }
  double mean[3] = {0}, ss[3] = {0};
  for (size_t i = 0; i < c.m; i++)
    for (size_t j = 0; j < c.c; j++)
      mean[j] += c.x[i * c.c + j] / (double)c.m;
  for (size_t i = 0; i < c.m; i++)
    for (size_t j = 0; j < c.c; j++)
      ss[j] += pow(c.x[i * c.c + j] - mean[j], 2);
  bn_loss(&c);
  for (size_t j = 0; j < c.c; j++) {
    double var_biased = ss[j] / (double)c.m, var_unbiased = ss[j] / 49.0;
    double rm = 0.9 * 0.3 * (double)j + 0.1 * mean[j];
    double rv = 0.9 * (2.0 + (double)j) + 0.1 * var_unbiased;
    ck_assert_double_eq_tol(c.rmean[j], rm, 1e-6 * (1 + fabs(rm)));
    ck_assert_double_eq_tol(c.rvar[j], rv, 1e-6 * rv);
    /* y = γ·(x - mean)/sqrt(var_biased + ε) + β, element by element */
    for (size_t i = 0; i < c.m; i++) {
      double ref =
          c.gamma[j] * (c.x[i * c.c + j] - mean[j]) / sqrt(var_biased + 1e-5) +
          c.beta[j];
      ck_assert_double_eq_tol(c.y[i * c.c + j], ref, 1e-5);
    }
  }
  /* Evaluation: the running statistics, no update. */
  float *ye = fvec(c.m * c.c);
  float rm0 = c.rmean[1], rv0 = c.rvar[1];
  evo_bn_forward_eval(ye, c.x, c.gamma, c.beta, c.rmean, c.rvar, c.m, c.c,
                      false, NULL);
  ck_assert_float_eq(c.rmean[1], rm0);
  ck_assert_float_eq(c.rvar[1], rv0);
  for (size_t i = 0; i < c.m * c.c; i++) {
    size_t j = i % c.c;
    double ref =
        c.gamma[j] * (c.x[i] - c.rmean[j]) / sqrt(c.rvar[j] + 1e-5) + c.beta[j];
    ck_assert_double_eq_tol(ye[i], ref, 1e-5);
  }
  /* Fused ReLU, both modes. */
  float *yr = fvec(c.m * c.c);
  evo_bn_forward_eval(yr, c.x, c.gamma, c.beta, c.rmean, c.rvar, c.m, c.c, true,
                      NULL);
  for (size_t i = 0; i < c.m * c.c; i++)
    ck_assert_float_eq(yr[i], ye[i] > 0 ? ye[i] : 0.0f);
  free(ye), free(yr);
  bn_ctx_free(&c);
}
END_TEST

/* Batch norm on a team of threads: the same bits as on one. */
START_TEST(batchnorm_threads_same_result) {
  evo_rng rng;
  evo_rng_seed(&rng, 85);
  bn_ctx a, b;
  bn_ctx_init(&a, 61, 70, &rng); /* more channels than one block of 64 */
  evo_rng_seed(&rng, 85);
  bn_ctx_init(&b, 61, 70, &rng);
  ck_assert_int_eq(evo_workers_new(&b.team, 2), EVO_OK);
  a.relu = b.relu = true;
  bn_loss(&a);
  bn_loss(&b);
  size_t n = 61 * 70;
  ck_assert_mem_eq(a.y, b.y, n * sizeof(float));
  ck_assert_mem_eq(a.rvar, b.rvar, 70 * sizeof(float));
  float *dxa = fvec(n), *dxb = fvec(n), dga[70], dgb[70], dba[70], dbb[70];
  evo_bn_backward(dxa, dga, dba, a.r, a.y, a.x, a.mean, a.rstd, a.gamma, a.m,
                  a.c, true, a.acc, NULL);
  evo_bn_backward(dxb, dgb, dbb, b.r, b.y, b.x, b.mean, b.rstd, b.gamma, b.m,
                  b.c, true, b.acc, b.team);
  ck_assert_mem_eq(dxa, dxb, n * sizeof(float));
  ck_assert_mem_eq(dga, dgb, sizeof dga);
  ck_assert_mem_eq(dba, dbb, sizeof dba);
  evo_bn_forward_eval(a.y, a.x, a.gamma, a.beta, a.rmean, a.rvar, a.m, a.c,
                      false, NULL);
  evo_bn_forward_eval(b.y, b.x, b.gamma, b.beta, b.rmean, b.rvar, b.m, b.c,
                      false, b.team);
  ck_assert_mem_eq(a.y, b.y, n * sizeof(float));
  evo_workers_free(b.team);
  free(dxa), free(dxb);
  bn_ctx_free(&a);
  bn_ctx_free(&b);
}
END_TEST

/* ---- dropout ------------------------------------------------------------ */

static double dropout_loss(void *p) {
  ew_ctx *c = p;
  evo_dropout_forward(c->y, c->x, c->mask, c->n, c->p);
  return dot(c->r, c->y, c->n);
}

START_TEST(dropout_fixed_mask_scaling_and_gradient) {
  enum { N = 12 };
  static const uint8_t mask[N] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1};
  float x[N], y[N], r[N], dx[N];
  evo_rng rng;
  evo_rng_seed(&rng, 91);
  fill_normal(x, N, &rng, 1.0);
  fill_normal(r, N, &rng, 1.0);
  ew_ctx c = {N, x, y, r, mask, 0.3f};
  dropout_loss(&c);
  for (size_t i = 0; i < N; i++) /* inverted: kept units times 1/(1-p) */
    ck_assert_double_eq_tol(y[i], mask[i] ? x[i] / 0.7 : 0.0, 1e-6);
  evo_dropout_backward(dx, r, mask, N, 0.3f);
  for (size_t i = 0; i < N; i++)
    ck_assert_double_eq_tol(dx[i], mask[i] ? r[i] / 0.7 : 0.0, 1e-6);
  fd_case fc = {dropout_loss, &c};
  ck_assert_double_le(fd_worst(&fc, x, dx, N, 0.05f, 1, 1e-3, 1e-3), 1.0);
}
END_TEST

START_TEST(dropout_mask_rate_and_seed) {
  enum { N = 200000 };
  uint8_t *a = malloc(N), *b = malloc(N);
  evo_rng r1, r2;
  evo_rng_seed(&r1, 5);
  evo_rng_seed(&r2, 5);
  evo_dropout_mask(a, N, 0.3f, &r1);
  evo_dropout_mask(b, N, 0.3f, &r2);
  ck_assert_mem_eq(a, b, N); /* one seed, one mask */
  size_t dropped = 0;
  for (size_t i = 0; i < N; i++)
    dropped += a[i] == 0;
  /* 0.3 within 5 standard deviations sqrt(0.21/N) ≈ 0.001 */
  ck_assert_double_eq_tol((double)dropped / N, 0.3, 0.005);
  evo_dropout_mask(a, N, 0.0f, &r1);
  for (size_t i = 0; i < N; i++)
    ck_assert_uint_eq(a[i], 1);
  free(a), free(b);
}
END_TEST

/* ---- flatten and loss --------------------------------------------------- */

START_TEST(flatten_is_channel_major) {
  enum { N = 2, HW = 6, C = 4 }; /* 2 images of 2x3 pixels, 4 channels */
  float x[N * HW * C], y[N * HW * C], back[N * HW * C];
  for (size_t i = 0; i < N * HW * C; i++)
    x[i] = (float)i;
  evo_flatten_forward(y, x, N, HW, C);
  for (size_t img = 0; img < N; img++)
    for (size_t c = 0; c < C; c++)
      for (size_t p = 0; p < HW; p++) /* PyTorch: y[n][c·HW + p] */
        ck_assert_float_eq(y[img * HW * C + c * HW + p],
                           x[(img * HW + p) * C + c]);
  evo_flatten_backward(back, y, N, HW, C); /* its own inverse */
  ck_assert_mem_eq(back, x, sizeof x);
}
END_TEST

typedef struct ce_ctx {
  float *z;
  const uint8_t *labels;
  size_t n, k;
} ce_ctx;

static double ce_loss(void *p) {
  ce_ctx *c = p;
  return evo_softmax_ce(NULL, c->z, c->labels, c->n, c->k);
}

START_TEST(softmax_cross_entropy) {
  float z[3 * 4] = {0}, dz[12];
  static const uint8_t labels[3] = {0, 3, 2};
  /* Uniform logits: log(k) per image. */
  ck_assert_double_eq_tol(evo_softmax_ce(dz, z, labels, 3, 4), log(4.0), 1e-12);
  ck_assert_double_eq_tol(dz[0], (0.25 - 1.0) / 3, 1e-7);
  ck_assert_double_eq_tol(dz[1], 0.25 / 3, 1e-7);
  /* Large logits stay finite (log-sum-exp). */
  float big[2] = {1000.0f, 0.0f};
  uint8_t l0 = 0, l1 = 1;
  ck_assert_double_eq_tol(evo_softmax_ce(NULL, big, &l0, 1, 2), 0.0, 1e-12);
  ck_assert_double_eq_tol(evo_softmax_ce(NULL, big, &l1, 1, 2), 1000.0, 1e-9);
  /* The mean of -log softmax, by hand, and the gradient by differences. */
  evo_rng rng;
  evo_rng_seed(&rng, 101);
  fill_normal(z, 12, &rng, 2.0);
  double ref = 0;
  for (size_t i = 0; i < 3; i++) {
    double s = 0;
    for (size_t j = 0; j < 4; j++)
      s += exp(z[i * 4 + j]);
    ref += (log(s) - z[i * 4 + labels[i]]) / 3;
  }
  ck_assert_double_eq_tol(evo_softmax_ce(dz, z, labels, 3, 4), ref, 1e-9);
  ce_ctx c = {z, labels, 3, 4};
  fd_case fc = {ce_loss, &c};
  ck_assert_double_le(fd_worst(&fc, z, dz, 12, 1e-3f, 1, 1e-4, 1e-3), 1.0);
}
END_TEST

/* ---- the network -------------------------------------------------------- */

static evo_net *make_net(evo_arch arch, size_t batch, uint64_t seed) {
  evo_net *net = NULL;
  ck_assert_int_eq(evo_net_new(&net, arch, batch), EVO_OK);
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  evo_net_init(net, &rng);
  return net;
}

START_TEST(net_tensor_tables) {
  /* PyTorch's parameter counts of the doc/algorithm.md §3 networks, by hand. */
  static const size_t counts[EVO_ARCH_COUNT] = {
      (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 256 + 256) + (2560 + 10),
      (32 * 27 + 32) + 64 + (32 * 288 + 32) + (64 * 288 + 64) + 128 +
          (64 * 576 + 64) + (4096 * 512 + 512) + (5120 + 10),
      (16 * 9 + 16) + (256 * 64 + 64) + (640 + 10)};
  static const char *const c10[] = {
      "conv1.weight", "conv1.bias", "bn1.weight",   "bn1.bias",
      "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
      "bn2.weight",   "bn2.bias",   "conv4.weight", "conv4.bias",
      "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias"};
  for (int a = 0; a < EVO_ARCH_COUNT; a++) {
    evo_net *net = make_net((evo_arch)a, 2, 1);
    ck_assert_uint_eq(evo_net_param_count(net), counts[a]);
    size_t next = 0; /* tensors tile the arena in order */
    for (size_t i = 0; i < evo_net_tensor_count(net); i++) {
      const evo_net_tensor *t = evo_net_tensor_at(net, i);
      ck_assert_uint_eq(t->offset, next);
      next += t->size;
    }
    ck_assert_uint_eq(next, counts[a]);
    ck_assert_ptr_null(evo_net_tensor_at(net, evo_net_tensor_count(net)));
    evo_arch back;
    ck_assert_int_eq(evo_arch_from_name(&back, evo_arch_name((evo_arch)a)),
                     EVO_OK);
    ck_assert_int_eq(back, a);
    evo_net_free(net);
  }
  evo_net *net = make_net(EVO_ARCH_CIFAR10_CNN, 2, 1);
  ck_assert_uint_eq(evo_net_tensor_count(net), 16);
  for (size_t i = 0; i < 16; i++)
    ck_assert_str_eq(evo_net_tensor_at(net, i)->name, c10[i]);
  ck_assert_uint_eq(evo_net_stats_count(net), 2 * (32 + 64));
  ck_assert_str_eq(evo_net_stat_tensor_at(net, 3)->name, "bn2.running_var");
  ck_assert_int_eq(evo_net_tensor_at(net, 2)->kind, EVO_TENSOR_BN_WEIGHT);
  ck_assert_int_eq(evo_net_tensor_at(net, 13)->kind, EVO_TENSOR_BIAS);
  evo_net_free(net);
}
END_TEST

/* doc/algorithm.md §3: weights and biases U[-1/√fan_in, 1/√fan_in]; BN γ 1, β
 * 0, running mean 0, variance 1. */
START_TEST(net_init_ranges) {
  for (int a = 0; a < EVO_ARCH_COUNT; a++) {
    evo_net *net = make_net((evo_arch)a, 1, 7);
    const float *p = evo_net_params(net);
    size_t fan = 0;
    for (size_t i = 0; i < evo_net_tensor_count(net); i++) {
      const evo_net_tensor *t = evo_net_tensor_at(net, i);
      const float *v = p + t->offset;
      if (t->kind == EVO_TENSOR_BN_WEIGHT || t->kind == EVO_TENSOR_BN_BIAS) {
        for (size_t j = 0; j < t->size; j++)
          ck_assert_float_eq(v[j], t->kind == EVO_TENSOR_BN_WEIGHT ? 1 : 0);
        continue;
      }
      if (t->kind == EVO_TENSOR_WEIGHT) /* the next tensor is its bias */
        fan = t->size / evo_net_tensor_at(net, i + 1)->size;
      double bound = 1.0 / sqrt((double)fan), mean = 0;
      for (size_t j = 0; j < t->size; j++) {
        ck_assert_msg(fabs(v[j]) <= bound, "%s[%zu] = %g outside ±%g", t->name,
                      j, v[j], bound);
        mean += v[j] / (double)t->size;
      }
      /* uniform: spans the range, mean 0 within 5σ = 5·bound/√(3n) */
      if (t->size >= 64)
        ck_assert_double_ge(max_abs(v, t->size), 0.9 * bound);
      ck_assert_double_le(fabs(mean), 5 * bound / sqrt(3.0 * (double)t->size));
    }
    for (size_t i = 0; i < evo_net_stat_tensor_count(net); i++) {
      const evo_net_tensor *t = evo_net_stat_tensor_at(net, i);
      for (size_t j = 0; j < t->size; j++)
        ck_assert_float_eq(evo_net_stats(net)[t->offset + j],
                           t->kind == EVO_TENSOR_BN_VAR ? 1 : 0);
    }
    evo_net_free(net);
  }
  /* The same seed, the same weights. */
  evo_net *a = make_net(EVO_ARCH_DIGITS_CNN, 1, 3);
  evo_net *b = make_net(EVO_ARCH_DIGITS_CNN, 4, 3);
  ck_assert_mem_eq(evo_net_params(a), evo_net_params(b),
                   evo_net_param_count(a) * sizeof(float));
  evo_net_free(a);
  evo_net_free(b);
}
END_TEST

typedef struct net_ctx {
  evo_net *net;
  const float *x;
  const uint8_t *y;
  size_t n;
} net_ctx;

static double net_loss(void *p) {
  net_ctx *c = p;
  double loss = NAN;
  ck_assert_int_eq(evo_net_forward(c->net, c->x, c->n, true, NULL), EVO_OK);
  ck_assert_int_eq(evo_net_loss(c->net, c->y, &loss), EVO_OK);
  return loss;
}

static void random_batch(evo_net *net, size_t n, uint64_t seed, float **x,
                         uint8_t **y) {
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  size_t nx = n * evo_net_input_size(net);
  *x = fvec(nx);
  *y = malloc(n);
  fill_normal(*x, nx, &rng, 1.0);
  for (size_t i = 0; i < n; i++)
    (*y)[i] = (uint8_t)evo_rng_below(&rng, 10);
}

/* Central difference of the net's loss in parameter i with step h. */
static double net_fd(net_ctx *c, float *p, size_t i, float h) {
  float keep = p[i];
  p[i] = keep + h;
  double lp = net_loss(c), up = p[i];
  p[i] = keep - h;
  double lm = net_loss(c), down = p[i];
  p[i] = keep;
  return (lp - lm) / (up - down);
}

/* The whole network's gradient (training mode, dropout off, batch norm on
 * batch statistics) against differences of its loss, for a sample of every
 * tensor. A ReLU or max-pool kink within a step of a sampled point spoils
 * its difference; such points are recognised without the gradient (two
 * step sizes disagree) and skipped, at most a quarter of them. */
static void check_net_gradient(evo_arch arch, size_t n, size_t samples) {
  evo_net *net = make_net(arch, n, 17);
  evo_net_set_dropout(net, false);
  net_ctx c = {net, NULL, NULL, n};
  float *x;
  uint8_t *y;
  random_batch(net, n, 19, &x, &y);
  c.x = x, c.y = y;
  net_loss(&c);
  ck_assert_int_eq(evo_net_backward(net), EVO_OK);
  size_t np = evo_net_param_count(net), skipped = 0, total = 0;
  float *grad = fvec(np);
  memcpy(grad, evo_net_grads(net), np * sizeof(float));
  float *p = evo_net_params(net);
  evo_rng rng;
  evo_rng_seed(&rng, 23);
  for (size_t t = 0; t < evo_net_tensor_count(net); t++) {
    const evo_net_tensor *tt = evo_net_tensor_at(net, t);
    double diff2 = 0, ref2 = 0;
    for (size_t s = 0; s < samples; s++, total++) {
      size_t i = tt->offset + (size_t)evo_rng_below(&rng, tt->size);
      double coarse = net_fd(&c, p, i, 2e-3f), fine = net_fd(&c, p, i, 1e-3f);
      if (fabs(coarse - fine) > 1e-3 * fabs(fine) + 1e-5) {
        skipped++;
        continue;
      }
      diff2 += pow(fine - grad[i], 2);
      ref2 += pow(fine, 2);
    }
    ck_assert_msg(sqrt(diff2) <=
                      2e-3 * sqrt(ref2) + 1e-5 * sqrt((double)samples),
                  "%s %s: |num - grad| = %g, |num| = %g", evo_arch_name(arch),
                  tt->name, sqrt(diff2), sqrt(ref2));
  }
  ck_assert_uint_le(4 * skipped, total);
  free(grad), free(x), free(y);
  evo_net_free(net);
}

/* The whole-net check on the digits net; the two networks of
 * doc/algorithm.md §3.1, whose many kinks make differences of their loss
 * too rough in float, are compared with PyTorch instead (nn_parity). */
START_TEST(net_gradient_digits) {
  check_net_gradient(EVO_ARCH_DIGITS_CNN, 4, 24);
}
END_TEST

/* Backward overwrites the gradient arena: two identical steps, the same
 * gradient (not twice it). */
START_TEST(net_backward_overwrites) {
  evo_net *net = make_net(EVO_ARCH_CIFAR10_CNN, 3, 29);
  evo_net_set_dropout(net, false);
  float *x;
  uint8_t *y;
  random_batch(net, 3, 31, &x, &y);
  net_ctx c = {net, x, y, 3};
  size_t np = evo_net_param_count(net);
  float *first = fvec(np);
  net_loss(&c);
  ck_assert_int_eq(evo_net_backward(net), EVO_OK);
  memcpy(first, evo_net_grads(net), np * sizeof(float));
  net_loss(&c);
  ck_assert_int_eq(evo_net_backward(net), EVO_OK);
  ck_assert_mem_eq(first, evo_net_grads(net), np * sizeof(float));
  free(first), free(x), free(y);
  evo_net_free(net);
}
END_TEST

/* Two threads: the same logits and gradients, bit for bit, as one. */
START_TEST(net_threads_same_result) {
  evo_net *one = make_net(EVO_ARCH_CIFAR10_CNN, 3, 29);
  evo_net *two = make_net(EVO_ARCH_CIFAR10_CNN, 3, 29);
  ck_assert_int_eq(evo_net_set_threads(two, 2), EVO_OK);
  ck_assert_uint_eq(evo_net_threads(two), 2);
  ck_assert_int_eq(evo_net_set_threads(two, 9), EVO_ERANGE);
  ck_assert_uint_eq(evo_net_threads(two), 2);
  float *x;
  uint8_t *y;
  random_batch(one, 3, 31, &x, &y);
  evo_rng r1, r2;
  evo_rng_seed(&r1, 3);
  evo_rng_seed(&r2, 3);
  evo_net *nets[2] = {one, two};
  evo_rng *rngs[2] = {&r1, &r2};
  for (int i = 0; i < 2; i++) {
    double loss;
    ck_assert_int_eq(evo_net_forward(nets[i], x, 3, true, rngs[i]), EVO_OK);
    ck_assert_int_eq(evo_net_loss(nets[i], y, &loss), EVO_OK);
    ck_assert_int_eq(evo_net_backward(nets[i]), EVO_OK);
  }
  ck_assert_mem_eq(evo_net_logits(one), evo_net_logits(two),
                   30 * sizeof(float));
  ck_assert_mem_eq(evo_net_grads(one), evo_net_grads(two),
                   evo_net_param_count(one) * sizeof(float));
  ck_assert_mem_eq(evo_net_stats(one), evo_net_stats(two),
                   evo_net_stats_count(one) * sizeof(float));
  for (int i = 0; i < 2; i++) /* evaluation mode too */
    ck_assert_int_eq(evo_net_forward(nets[i], x, 3, false, NULL), EVO_OK);
  ck_assert_mem_eq(evo_net_logits(one), evo_net_logits(two),
                   30 * sizeof(float));
  free(x), free(y);
  evo_net_free(one);
  evo_net_free(two);
}
END_TEST

/* Dropout acts in training mode only; evaluation is deterministic and, for
 * a net without batch norm, equals training with dropout off. */
START_TEST(net_dropout_modes) {
  evo_net *net = make_net(EVO_ARCH_SMALL_CNN, 4, 37);
  float *x;
  uint8_t *y;
  random_batch(net, 4, 41, &x, &y);
  size_t nz = 4 * 10;
  float *eval = fvec(nz), *plain = fvec(nz), *drop = fvec(nz);
  evo_rng r1, r2;
  evo_rng_seed(&r1, 1);
  evo_rng_seed(&r2, 2);
  ck_assert_int_eq(evo_net_forward(net, x, 4, false, &r1), EVO_OK);
  memcpy(eval, evo_net_logits(net), nz * sizeof(float));
  ck_assert_int_eq(evo_net_forward(net, x, 4, false, &r2), EVO_OK);
  ck_assert_mem_eq(eval, evo_net_logits(net), nz * sizeof(float));
  evo_net_set_dropout(net, false);
  ck_assert_int_eq(evo_net_forward(net, x, 4, true, NULL), EVO_OK);
  memcpy(plain, evo_net_logits(net), nz * sizeof(float));
  ck_assert_mem_eq(eval, plain, nz * sizeof(float));
  evo_net_set_dropout(net, true);
  ck_assert_int_eq(evo_net_forward(net, x, 4, true, &r1), EVO_OK);
  memcpy(drop, evo_net_logits(net), nz * sizeof(float));
  ck_assert(memcmp(drop, plain, nz * sizeof(float)) != 0);
  free(eval), free(plain), free(drop), free(x), free(y);
  evo_net_free(net);
}
END_TEST

/* Accuracy over more images than one batch: with every weight 0 and only
 * fc2.bias[3] set, every prediction is class 3. */
START_TEST(net_count_correct) {
  evo_net *net = make_net(EVO_ARCH_DIGITS_CNN, 4, 43);
  memset(evo_net_params(net), 0, evo_net_param_count(net) * sizeof(float));
  const evo_net_tensor *b =
      evo_net_tensor_at(net, evo_net_tensor_count(net) - 1);
  ck_assert_str_eq(b->name, "fc2.bias");
  evo_net_params(net)[b->offset + 3] = 1.0f;
  enum { N = 11 };
  float *x = fvec(N * 64);
  static const uint8_t labels[N] = {3, 1, 3, 3, 0, 9, 3, 2, 3, 5, 3};
  size_t correct = 0;
  ck_assert_int_eq(evo_net_count_correct(net, x, labels, N, &correct), EVO_OK);
  ck_assert_uint_eq(correct, 6);
  free(x);
  evo_net_free(net);
}
END_TEST

START_TEST(net_errors) {
  evo_net *net = NULL;
  evo_arch a;
  ck_assert_int_eq(evo_net_new(&net, EVO_ARCH_COUNT, 4), EVO_EINVAL);
  ck_assert_int_eq(evo_net_new(&net, EVO_ARCH_DIGITS_CNN, 0), EVO_EINVAL);
  ck_assert_ptr_null(net);
  ck_assert_int_eq(evo_arch_from_name(&a, "resnet"), EVO_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "resnet"));
  net = make_net(EVO_ARCH_DIGITS_CNN, 4, 1);
  float x[5 * 64] = {0}, v = 0;
  uint8_t y[5] = {0, 1, 2, 3, 10};
  double loss;
  ck_assert_int_eq(evo_net_loss(net, y, &loss), EVO_ESTATE);
  ck_assert_int_eq(evo_net_backward(net), EVO_ESTATE);
  ck_assert_int_eq(evo_net_forward(net, x, 0, false, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_net_forward(net, x, 5, false, NULL), EVO_EINVAL);
  /* digits_cnn has no dropout, yet training with dropout on asks for an
   * rng: the contract does not depend on the architecture. */
  ck_assert_int_eq(evo_net_forward(net, x, 4, true, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_net_forward(net, x, 4, false, NULL), EVO_OK);
  ck_assert_int_eq(evo_net_loss(net, y + 1, &loss), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "label 10"));
  ck_assert_int_eq(evo_net_loss(net, y, &loss), EVO_OK);
  ck_assert_int_eq(evo_net_backward(net), EVO_ESTATE); /* eval forward */
  ck_assert_int_eq(evo_net_set_params(net, &v, 1), EVO_EMISMATCH);
  ck_assert_int_eq(evo_net_get_stats(net, &v, 1), EVO_EMISMATCH);
  ck_assert_int_eq(evo_net_set_stats(net, &v, 0), EVO_OK); /* no BN */
  evo_net_free(net);
  evo_net_free(NULL);
}
END_TEST

static Suite *nn_suite(void) {
  Suite *s = suite_create("nn");
  TCase *layers = tcase_create("layers");
  tcase_add_loop_test(layers, conv_forward_matches_direct, 0,
                      3 * (int)N_CONV_SHAPES);
  tcase_add_loop_test(layers, conv_gradients_match_finite_differences, 0,
                      3 * (int)N_CONV_SHAPES);
  tcase_add_loop_test(layers, conv_fused_relu_and_no_dx, 0, 3);
  tcase_add_loop_test(layers, conv_threads_same_result, 0, 3);
  tcase_add_loop_test(layers, linear_gradients_match_finite_differences, 0, 4);
  tcase_add_test(layers, relu_forward_backward);
  tcase_add_test(layers, maxpool_argmax_by_hand);
  tcase_add_test(layers, maxpool_gradients_match_finite_differences);
  tcase_add_test(layers, batchnorm_train_gradients_match_finite_differences);
  tcase_add_test(layers, batchnorm_statistics_by_formula);
  tcase_add_test(layers, batchnorm_threads_same_result);
  tcase_add_test(layers, dropout_fixed_mask_scaling_and_gradient);
  tcase_add_test(layers, dropout_mask_rate_and_seed);
  tcase_add_test(layers, flatten_is_channel_major);
  tcase_add_test(layers, softmax_cross_entropy);
  suite_add_tcase(s, layers);
  TCase *net = tcase_create("net");
  tcase_set_timeout(net, 60);
  tcase_add_test(net, net_tensor_tables);
  tcase_add_test(net, net_init_ranges);
  tcase_add_test(net, net_gradient_digits);
  tcase_add_test(net, net_backward_overwrites);
  tcase_add_test(net, net_threads_same_result);
  tcase_add_test(net, net_dropout_modes);
  tcase_add_test(net, net_count_correct);
  tcase_add_test(net, net_errors);
  suite_add_tcase(s, net);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(nn_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

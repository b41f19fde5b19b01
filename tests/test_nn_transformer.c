/* Check suite for the transformer layers of libevoopt/nn (issue 12):
 * embedding, layer norm, GELU, causal self-attention, residual add and the
 * sequence cross-entropy.
 *
 * Forwards are compared with double-precision formulas written here from
 * doc/algorithm.md §7 (and PyTorch's definitions); backwards with central
 * finite differences of L = Σ r·y (r random, L summed in double) through
 * the float forward. Tolerances: with step h = 1e-2 on values of order 1,
 * the central difference's truncation error is about h²/6·|f'''| ≈ 2e-5,
 * and the float rounding of L (about 6e-8·√N·|r·y| over N ≤ 2,000 outputs)
 * divided by 2h adds ≤ 1e-4; so |num - ana| ≤ 2e-3 + 2e-3·|ana| leaves a
 * margin of 10 while any wrong term (a missing factor, a transposed index)
 * is off by O(1). Every threaded layer is also run on 1 and 3 threads and
 * must give the same bits. Parity with PyTorch itself is the separate test
 * transformer_parity (tests/ref/transformer_parity.py). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "nn/layers_internal.h"
#include "nn_testlib.h"

#define FD_H 1e-2f
#define FD_ATOL 2e-3
#define FD_RTOL 2e-3

/* ---- helpers ------------------------------------------------------------ */

/* fd_worst over every element with this file's step and tolerances. */
static double fd_check(const fd_case *c, float *v, const float *ana,
                       size_t n) {
  return fd_worst(c, v, ana, n, FD_H, 1, FD_ATOL, FD_RTOL);
}

static evo_workers *team_of(size_t n) {
  evo_workers *w = NULL;
  ck_assert_int_eq(evo_workers_new(&w, n), EVO_OK);
  return w;
}

/* ---- embedding ---------------------------------------------------------- */

enum { EB_N = 2, EB_T = 5, EB_D = 6, EB_V = 7 };

typedef struct emb_ctx {
  uint8_t tok[EB_N * EB_T];
  float wte[EB_V * EB_D], wpe[EB_T * EB_D], y[EB_N * EB_T * EB_D];
  float r[EB_N * EB_T * EB_D];
} emb_ctx;

static double emb_loss(void *p) {
  emb_ctx *c = p;
  evo_embed_forward(c->y, c->tok, c->wte, c->wpe, EB_N, EB_T, EB_D);
  return dot(c->r, c->y, EB_N * EB_T * EB_D);
}

START_TEST(embedding_forward_backward) {
  evo_rng rng;
  evo_rng_seed(&rng, 1);
  static emb_ctx c;
  /* Token 3 twice in one sequence and once in the other; token 6 never. */
  const uint8_t tok[EB_N * EB_T] = {3, 0, 3, 1, 2, 5, 3, 4, 0, 1};
  memcpy(c.tok, tok, sizeof tok);
  fill_normal(c.wte, EB_V * EB_D, &rng, 1.0);
  fill_normal(c.wpe, EB_T * EB_D, &rng, 1.0);
  fill_normal(c.r, EB_N * EB_T * EB_D, &rng, 1.0);
  emb_loss(&c);
  for (size_t b = 0; b < EB_N; b++)
    for (size_t i = 0; i < EB_T; i++)
      for (size_t j = 0; j < EB_D; j++)
        ck_assert_float_eq(c.y[(b * EB_T + i) * EB_D + j],
                           c.wte[tok[b * EB_T + i] * EB_D + j] +
                               c.wpe[i * EB_D + j]);
  float dwte[EB_V * EB_D], dwpe[EB_T * EB_D];
  memset(dwte, 0x7f, sizeof dwte); /* overwritten, not accumulated */
  memset(dwpe, 0x7f, sizeof dwpe);
  evo_embed_backward(dwte, dwpe, c.r, c.tok, EB_N, EB_T, EB_D, EB_V);
  fd_case fc = {emb_loss, &c};
  ck_assert_double_le(fd_check(&fc, c.wte, dwte, EB_V * EB_D), 1.0);
  ck_assert_double_le(fd_check(&fc, c.wpe, dwpe, EB_T * EB_D), 1.0);
  for (size_t j = 0; j < EB_D; j++) /* token 6 never occurs */
    ck_assert_float_eq(dwte[6 * EB_D + j], 0.0f);
}
END_TEST

/* ---- layer norm --------------------------------------------------------- */

typedef struct ln_ctx {
  size_t m, c;
  float *x, *gamma, *beta, *y, *mean, *rstd, *r;
  evo_workers *team;
} ln_ctx;

static double ln_loss(void *p) {
  ln_ctx *c = p;
  evo_ln_forward(c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->m, c->c,
                 c->team);
  return dot(c->r, c->y, c->m * c->c);
}

static void ln_ctx_init(ln_ctx *c, size_t m, size_t ch, evo_rng *rng) {
  c->m = m, c->c = ch, c->team = NULL;
  c->x = fvec(m * ch), c->y = fvec(m * ch), c->r = fvec(m * ch);
  c->gamma = fvec(ch), c->beta = fvec(ch), c->mean = fvec(m), c->rstd = fvec(m);
  fill_normal(c->x, m * ch, rng, 2.0);
  for (size_t i = 0; i < m * ch; i++) /* rows with different offsets */
    c->x[i] += (float)(i / ch) - 1.0f;
  for (size_t j = 0; j < ch; j++) {
    c->gamma[j] = (float)evo_rng_range(rng, 0.5, 1.5);
    c->beta[j] = (float)evo_rng_range(rng, -0.5, 0.5);
  }
  fill_normal(c->r, m * ch, rng, 1.0);
}

static void ln_ctx_free(ln_ctx *c) {
  free(c->x), free(c->y), free(c->r), free(c->gamma), free(c->beta);
  free(c->mean), free(c->rstd);
}

START_TEST(layernorm_forward_by_formula) {
  evo_rng rng;
  evo_rng_seed(&rng, 2);
  ln_ctx c;
  ln_ctx_init(&c, 4, 9, &rng);
  ln_loss(&c);
  for (size_t i = 0; i < c.m; i++) {
    double mu = 0.0, var = 0.0;
    for (size_t j = 0; j < c.c; j++)
      mu += c.x[i * c.c + j];
    mu /= (double)c.c;
    for (size_t j = 0; j < c.c; j++)
      var += (c.x[i * c.c + j] - mu) * (c.x[i * c.c + j] - mu);
    var /= (double)c.c; /* biased, as nn.LayerNorm */
    ck_assert_double_eq_tol(c.mean[i], mu, 1e-6);
    ck_assert_double_eq_tol(c.rstd[i], 1.0 / sqrt(var + 1e-5),
                            1e-6 / sqrt(var + 1e-5));
    for (size_t j = 0; j < c.c; j++) {
      double ref = (c.x[i * c.c + j] - mu) / sqrt(var + 1e-5) * c.gamma[j] +
                   c.beta[j];
      ck_assert_double_eq_tol(c.y[i * c.c + j], ref, 1e-5);
    }
  }
  ln_ctx_free(&c);
}
END_TEST

START_TEST(layernorm_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 3);
  ln_ctx c;
  ln_ctx_init(&c, 5, 12, &rng);
  size_t n = c.m * c.c;
  float *dx = fvec(n), dg[12], db[12];
  double acc[EVO_LN_ACC_DOUBLES(12)];
  ln_loss(&c);
  evo_ln_backward(dx, dg, db, c.r, c.x, c.mean, c.rstd, c.gamma, c.m, c.c, acc,
                  NULL);
  fd_case fc = {ln_loss, &c};
  ck_assert_double_le(fd_check(&fc, c.x, dx, n), 1.0);
  ck_assert_double_le(fd_check(&fc, c.gamma, dg, c.c), 1.0);
  ck_assert_double_le(fd_check(&fc, c.beta, db, c.c), 1.0);
  /* dx may alias dy. */
  float *dy = fvec(n);
  memcpy(dy, c.r, n * sizeof *dy);
  evo_ln_backward(dy, dg, db, dy, c.x, c.mean, c.rstd, c.gamma, c.m, c.c, acc,
                  NULL);
  ck_assert_mem_eq(dy, dx, n * sizeof *dx);
  free(dx), free(dy);
  ln_ctx_free(&c);
}
END_TEST

START_TEST(layernorm_threads_same_result) {
  evo_rng rng;
  evo_rng_seed(&rng, 4);
  ln_ctx c;
  ln_ctx_init(&c, 67, 40, &rng);
  size_t n = c.m * c.c;
  float *y1 = fvec(n), *dx1 = fvec(n), *dx3 = fvec(n);
  float dg1[40], db1[40], dg3[40], db3[40];
  double *acc = calloc(EVO_LN_ACC_DOUBLES(40), sizeof *acc);
  ln_loss(&c);
  memcpy(y1, c.y, n * sizeof *y1);
  evo_ln_backward(dx1, dg1, db1, c.r, c.x, c.mean, c.rstd, c.gamma, c.m, c.c,
                  acc, NULL);
  c.team = team_of(3);
  ln_loss(&c);
  ck_assert_mem_eq(y1, c.y, n * sizeof *y1);
  evo_ln_backward(dx3, dg3, db3, c.r, c.x, c.mean, c.rstd, c.gamma, c.m, c.c,
                  acc, c.team);
  ck_assert_mem_eq(dx1, dx3, n * sizeof *dx1);
  ck_assert_mem_eq(dg1, dg3, sizeof dg1);
  ck_assert_mem_eq(db1, db3, sizeof db1);
  evo_workers_free(c.team);
  free(y1), free(dx1), free(dx3), free(acc);
  ln_ctx_free(&c);
}
END_TEST

/* ---- GELU --------------------------------------------------------------- */

typedef struct gelu_ctx {
  size_t n;
  float *x, *y, *r;
} gelu_ctx;

static double gelu_loss(void *p) {
  gelu_ctx *c = p;
  evo_gelu_forward(c->y, c->x, c->n, NULL);
  return dot(c->r, c->y, c->n);
}

START_TEST(gelu_formula_gradient_threads) {
  evo_rng rng;
  evo_rng_seed(&rng, 5);
  enum { N = 301 };
  gelu_ctx c = {N, fvec(N), fvec(N), fvec(N)};
  fill_normal(c.x, N, &rng, 2.5);
  fill_normal(c.r, N, &rng, 1.0);
  gelu_loss(&c);
  for (size_t i = 0; i < N; i++) { /* x·Φ(x), Φ from erf in double */
    double x = c.x[i], ref = 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    ck_assert_double_eq_tol(c.y[i], ref, 1e-6 * (1.0 + fabs(ref)));
  }
  /* Hand values: GELU(0) = 0, GELU(1) = Φ(1) = 0.841344746..., GELU(-1)
   * = -(1 - Φ(1)). */
  float hx[3] = {0.0f, 1.0f, -1.0f}, hy[3];
  evo_gelu_forward(hy, hx, 3, NULL);
  ck_assert_float_eq(hy[0], 0.0f);
  ck_assert_double_eq_tol(hy[1], 0.8413447460685429, 1e-7);
  ck_assert_double_eq_tol(hy[2], -0.15865525393145707, 1e-7);
  float *dx = fvec(N), *dx3 = fvec(N), *y3 = fvec(N);
  evo_gelu_backward(dx, c.r, c.x, N, NULL);
  fd_case fc = {gelu_loss, &c};
  ck_assert_double_le(fd_check(&fc, c.x, dx, N), 1.0);
  evo_workers *team = team_of(3);
  evo_gelu_forward(y3, c.x, N, team);
  ck_assert_mem_eq(y3, c.y, N * sizeof *y3);
  memcpy(y3, c.x, N * sizeof *y3); /* in place, the tail (x < -3.5) too */
  evo_gelu_forward(y3, y3, N, team);
  ck_assert_mem_eq(y3, c.y, N * sizeof *y3);
  evo_gelu_backward(dx3, c.r, c.x, N, team);
  ck_assert_mem_eq(dx3, dx, N * sizeof *dx);
  memcpy(dx3, c.r, N * sizeof *dx3); /* in place */
  evo_gelu_backward(dx3, dx3, c.x, N, team);
  ck_assert_mem_eq(dx3, dx, N * sizeof *dx);
  evo_workers_free(team);
  free(c.x), free(c.y), free(c.r), free(dx), free(dx3), free(y3);
}
END_TEST

/* ---- causal self-attention ---------------------------------------------- */

typedef struct attn_ctx {
  size_t n, t, d, nh;
  float *qkv, *y, *prob, *r, *ws;
  evo_workers *team;
} attn_ctx;

static double attn_loss(void *p) {
  attn_ctx *c = p;
  evo_attention_forward(c->y, c->prob, c->qkv, c->n, c->t, c->d, c->nh,
                        c->team);
  return dot(c->r, c->y, c->n * c->t * c->d);
}

static void attn_ctx_init(attn_ctx *c, size_t n, size_t t, size_t d,
                          size_t nh, evo_rng *rng) {
  *c = (attn_ctx){n, t, d, nh, NULL, NULL, NULL, NULL, NULL, NULL};
  c->qkv = fvec(n * t * 3 * d), c->y = fvec(n * t * d);
  c->prob = fvec(n * nh * t * t), c->r = fvec(n * t * d);
  c->ws = fvec(EVO_ATTN_WS_FLOATS(t));
  fill_normal(c->qkv, n * t * 3 * d, rng, 1.0);
  fill_normal(c->r, n * t * d, rng, 1.0);
}

static void attn_ctx_free(attn_ctx *c) {
  free(c->qkv), free(c->y), free(c->prob), free(c->r), free(c->ws);
}

/* y[b][i][h·hd + e] from the definition, in double. */
static double attn_ref(const attn_ctx *c, size_t b, size_t i, size_t h,
                       size_t e) {
  const size_t hd = c->d / c->nh, d3 = 3 * c->d;
  const float *base = c->qkv + b * c->t * d3 + h * hd;
  double s[64], mx = -INFINITY, sum = 0.0, out = 0.0;
  for (size_t k = 0; k <= i; k++) {
    s[k] = 0.0;
    for (size_t f = 0; f < hd; f++)
      s[k] += (double)base[i * d3 + f] * base[k * d3 + c->d + f];
    s[k] /= sqrt((double)hd);
    mx = fmax(mx, s[k]);
  }
  for (size_t k = 0; k <= i; k++)
    sum += exp(s[k] - mx);
  for (size_t k = 0; k <= i; k++)
    out += exp(s[k] - mx) / sum * base[k * d3 + 2 * c->d + e];
  return out;
}

START_TEST(attention_forward_by_definition) {
  evo_rng rng;
  evo_rng_seed(&rng, 6);
  attn_ctx c;
  attn_ctx_init(&c, 2, 7, 12, 3, &rng);
  attn_loss(&c);
  for (size_t b = 0; b < c.n; b++)
    for (size_t i = 0; i < c.t; i++)
      for (size_t h = 0; h < c.nh; h++) {
        const float *p = c.prob + ((b * c.nh + h) * c.t + i) * c.t;
        double s = 0.0;
        for (size_t k = 0; k < c.t; k++) {
          if (k > i)
            ck_assert_float_eq(p[k], 0.0f); /* causal: no future */
          s += p[k];
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-6);
        for (size_t e = 0; e < c.d / c.nh; e++)
          ck_assert_double_eq_tol(c.y[(b * c.t + i) * c.d + h * 4 + e],
                                  attn_ref(&c, b, i, h, e), 1e-5);
      }
  /* The first position sees only itself: its output is its own v. */
  for (size_t e = 0; e < c.d; e++)
    ck_assert_float_eq(c.y[e], c.qkv[2 * c.d + e]);
  attn_ctx_free(&c);
}
END_TEST

START_TEST(attention_gradients_match_finite_differences) {
  evo_rng rng;
  evo_rng_seed(&rng, 7);
  attn_ctx c;
  attn_ctx_init(&c, 2, 6, 8, 2, &rng);
  size_t nq = c.n * c.t * 3 * c.d;
  float *dqkv = fvec(nq);
  memset(dqkv, 0x7f, nq * sizeof *dqkv); /* overwritten everywhere */
  attn_loss(&c);
  evo_attention_backward(dqkv, c.r, c.qkv, c.prob, c.n, c.t, c.d, c.nh, c.ws,
                         NULL);
  fd_case fc = {attn_loss, &c};
  ck_assert_double_le(fd_check(&fc, c.qkv, dqkv, nq), 1.0);
  /* The last position's key and value reach no other position's output:
   * only its own (checked above); a sequence's gradient never leaks into
   * the other's: the loss of sequence 0 alone leaves sequence 1's at 0. */
  memset(c.r + c.t * c.d, 0, c.t * c.d * sizeof *c.r);
  attn_loss(&c);
  evo_attention_backward(dqkv, c.r, c.qkv, c.prob, c.n, c.t, c.d, c.nh, c.ws,
                         NULL);
  for (size_t i = nq / 2; i < nq; i++)
    ck_assert_float_eq(dqkv[i], 0.0f);
  free(dqkv);
  attn_ctx_free(&c);
}
END_TEST

START_TEST(attention_threads_same_result) {
  evo_rng rng;
  evo_rng_seed(&rng, 8);
  attn_ctx c;
  attn_ctx_init(&c, 5, 9, 16, 4, &rng); /* 20 pairs over 8 slices */
  size_t ny = c.n * c.t * c.d, nq = 3 * ny, np = c.n * c.nh * c.t * c.t;
  float *y1 = fvec(ny), *p1 = fvec(np), *d1 = fvec(nq), *d3 = fvec(nq);
  attn_loss(&c);
  memcpy(y1, c.y, ny * sizeof *y1);
  memcpy(p1, c.prob, np * sizeof *p1);
  evo_attention_backward(d1, c.r, c.qkv, c.prob, c.n, c.t, c.d, c.nh, c.ws,
                         NULL);
  c.team = team_of(3);
  attn_loss(&c);
  ck_assert_mem_eq(y1, c.y, ny * sizeof *y1);
  ck_assert_mem_eq(p1, c.prob, np * sizeof *p1);
  evo_attention_backward(d3, c.r, c.qkv, c.prob, c.n, c.t, c.d, c.nh, c.ws,
                         c.team);
  ck_assert_mem_eq(d1, d3, nq * sizeof *d1);
  evo_workers_free(c.team);
  free(y1), free(p1), free(d1), free(d3);
  attn_ctx_free(&c);
}
END_TEST

/* ---- residual ----------------------------------------------------------- */

START_TEST(residual_by_hand) {
  float a[3] = {1.0f, -2.0f, 0.5f}, b[3] = {0.25f, 2.0f, -1.5f}, y[3];
  evo_residual_forward(y, a, b, 3);
  ck_assert_float_eq(y[0], 1.25f);
  ck_assert_float_eq(y[1], 0.0f);
  ck_assert_float_eq(y[2], -1.0f);
  evo_residual_forward(a, a, b, 3); /* in place */
  ck_assert_mem_eq(a, y, sizeof y);
  float ds[3] = {1.0f, 2.0f, 3.0f}, dx[3] = {0.5f, -2.0f, 4.0f};
  evo_residual_backward(ds, dx, 3);
  ck_assert_float_eq(ds[0], 1.5f);
  ck_assert_float_eq(ds[1], 0.0f);
  ck_assert_float_eq(ds[2], 7.0f);
}
END_TEST

/* ---- sequence cross-entropy --------------------------------------------- */

typedef struct ce_ctx {
  size_t m, k;
  float *z, *r;
  uint8_t *tgt;
} ce_ctx;

/* L = Σ r·dlogits would be second order; the loss itself is the scalar. */
static double ce_loss(void *p) {
  ce_ctx *c = p;
  return evo_seq_ce(NULL, NULL, c->z, c->tgt, c->m, c->k, NULL);
}

START_TEST(seq_ce_loss_gradient_accuracy) {
  evo_rng rng;
  evo_rng_seed(&rng, 9);
  enum { M = 37, K = 11 };
  ce_ctx c = {M, K, fvec(M * K), NULL, malloc(M)};
  fill_normal(c.z, M * K, &rng, 2.0);
  double ref = 0.0;
  size_t right = 0;
  for (size_t i = 0; i < M; i++) {
    c.tgt[i] = (uint8_t)evo_rng_below(&rng, K);
    if (i % 3 == 0) /* a third of the positions predicted right */
      c.z[i * K + c.tgt[i]] = 9.0f;
    double s = 0.0;
    size_t arg = 0;
    for (size_t j = 0; j < K; j++) {
      s += exp((double)c.z[i * K + j]);
      if (c.z[i * K + j] > c.z[i * K + arg])
        arg = j;
    }
    ref += log(s) - c.z[i * K + c.tgt[i]];
    right += arg == c.tgt[i];
  }
  ref /= M;
  ck_assert_uint_ge(right, (M + 2) / 3);
  float *g = fvec(M * K), *g3 = fvec(M * K);
  size_t correct = 0, correct3 = 0;
  double loss = evo_seq_ce(g, &correct, c.z, c.tgt, M, K, NULL);
  ck_assert_double_eq_tol(loss, ref, 1e-9 * ref);
  ck_assert_uint_eq(correct, right);
  fd_case fc = {ce_loss, &c};
  ck_assert_double_le(fd_check(&fc, c.z, g, M * K), 1.0);
  for (size_t i = 0; i < M; i++) { /* a row's gradient sums to 0 */
    double s = 0.0;
    for (size_t j = 0; j < K; j++)
      s += g[i * K + j];
    ck_assert_double_eq_tol(s, 0.0, 1e-8);
  }
  evo_workers *team = team_of(3);
  double loss3 = evo_seq_ce(g3, &correct3, c.z, c.tgt, M, K, team);
  ck_assert_mem_eq(&loss, &loss3, sizeof loss);
  ck_assert_uint_eq(correct, correct3);
  ck_assert_mem_eq(g, g3, M * K * sizeof *g);
  evo_workers_free(team);
  /* Ties: the first maximum is the prediction. */
  float tie[4] = {1.0f, 3.0f, 3.0f, 0.0f};
  uint8_t t1 = 1, t2 = 2;
  evo_seq_ce(NULL, &correct, tie, &t1, 1, 4, NULL);
  ck_assert_uint_eq(correct, 1);
  evo_seq_ce(NULL, &correct, tie, &t2, 1, 4, NULL);
  ck_assert_uint_eq(correct, 0);
  free(c.z), free(c.tgt), free(g), free(g3);
}
END_TEST

static Suite *transformer_suite(void) {
  Suite *s = suite_create("nn_transformer");
  TCase *tc = tcase_create("layers");
  tcase_add_test(tc, embedding_forward_backward);
  tcase_add_test(tc, layernorm_forward_by_formula);
  tcase_add_test(tc, layernorm_gradients_match_finite_differences);
  tcase_add_test(tc, layernorm_threads_same_result);
  tcase_add_test(tc, gelu_formula_gradient_threads);
  tcase_add_test(tc, attention_forward_by_definition);
  tcase_add_test(tc, attention_gradients_match_finite_differences);
  tcase_add_test(tc, attention_threads_same_result);
  tcase_add_test(tc, residual_by_hand);
  tcase_add_test(tc, seq_ce_loss_gradient_accuracy);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(transformer_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

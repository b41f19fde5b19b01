/* The layers of the small-CNN engine (issue 3), llm.c style: each layer a
 * *_forward / *_backward pair over plain float arrays, its shapes in one
 * comment line. Never installed.
 *
 * Layout: image activations are NHWC (channels last, per image row-major
 * pixels), so that a 3x3 convolution is one GEMM over pixels with the
 * channels of a pixel contiguous; flatten turns NHWC into PyTorch's (C,H,W)
 * order (doc/algorithm.md §3). Feature activations are [n][features].
 *
 * Conventions: backward functions OVERWRITE their gradient outputs (they
 * never accumulate); a fused ReLU's backward may mask the incoming
 * gradient in place (said per layer). No function allocates: workspaces
 * are passed in. Functions that take a team (evo_workers) split their work
 * into fixed slices for it; their results do not depend on its size. */
#ifndef EVOOPT_NN_LAYERS_INTERNAL_H
#define EVOOPT_NN_LAYERS_INTERNAL_H

/* Every clone (EVO_VECTOR_CLONES below) computes the same bits: IEEE
 * operations only, never fused into FMA (AVX-512 brings it). GCC leaves
 * contraction off in ISO C mode; clang contracts a*b+c by default, so it
 * is told not to. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng_internal.h"
#include "core/workers_internal.h"
#include "nn/nn_internal.h"

/* Before a loop whose iterations are independent although the compiler
 * cannot prove it (several output streams at run-time distances), so that
 * it vectorises the loop without run-time alias checks. */
#if defined(__clang__)
#define EVO_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define EVO_IVDEP _Pragma("GCC ivdep")
#else
#define EVO_IVDEP
#endif

/* On a hot element-wise function: compiled again for AVX-512 and AVX2 and
 * chosen at load time by the CPU (function multiversioning; the library
 * itself is built for baseline x86-64). Elsewhere a no-op, and under
 * ThreadSanitizer, whose instrumented ifunc resolvers would run before it
 * is initialised (and crash at load time).
 * Only on a static function: clang 14 defines an external multiversioned
 * function under no plain name (just name.ifunc), so a caller in another
 * file would not link; an external entry point calls a static clone. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#if defined(__clang__) && defined(__has_feature)
#if !__has_feature(thread_sanitizer) && !__has_feature(memory_sanitizer)
#define EVO_VECTOR_CLONES                                                      \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#elif !defined(__SANITIZE_THREAD__)
#define EVO_VECTOR_CLONES                                                      \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#endif
#ifndef EVO_VECTOR_CLONES
#define EVO_VECTOR_CLONES
#endif

/* A helper of an EVO_VECTOR_CLONES function: inlined, so that it is
 * compiled for each clone's instruction set. */
#if defined(__GNUC__)
#define EVO_INLINE static inline __attribute__((always_inline))
#else
#define EVO_INLINE static inline
#endif

/* ---- threads (evo_workers: workers_internal.h) -------------------------- */

/* Parallel loops cut their items into EVO_SLICES fixed slices; thread i of
 * m takes slices i, i + m, ...; partial sums are kept per slice and added
 * in slice order. So every result is the same for any number of threads
 * (up to EVO_SLICES, the useful maximum). */
#define EVO_SLICES EVO_NET_MAX_THREADS

/* Slice s of n items: [*lo, *hi). */
static inline void evo_slice(size_t n, size_t s, size_t *lo, size_t *hi) {
  *lo = n * s / EVO_SLICES;
  *hi = n * (s + 1) / EVO_SLICES;
}

/* ---- 3x3 convolution, stride 1, padding 1 (doc/algorithm.md §3) ---------- */

typedef enum evo_conv_algo {
  EVO_CONV_IM2COL = 0, /* im2col + sgemm, any shape */
  EVO_CONV_WINOGRAD,   /* Winograd F(2x2,3x3): many channels */
  EVO_CONV_DIRECT      /* direct, in registers: cin <= EVO_DIRECT_MAX_CIN */
} evo_conv_algo;

#define EVO_DIRECT_MAX_CIN 4

typedef struct evo_conv {
  size_t cin, cout, h, w;
  bool relu; /* ReLU fused into the output */
  evo_conv_algo algo;
  size_t chunk;      /* im2col: pixels per im2col + sgemm pass (>= 1) */
  size_t tiles;      /* Winograd: 2x2 tiles per transform + GEMM pass */
  evo_workers *team; /* threads for the loops (im2col: one), or NULL */
  size_t threads;    /* threads the workspace has room for (>= 1) */
} evo_conv;

/* Fills @p c with the shapes, the algorithm for them, cache-sized chunks
 * and one thread; a caller may then change algo, chunk, tiles, team and
 * threads (tests do) before sizing the workspace. */
void evo_conv_setup(evo_conv *c, size_t cin, size_t cout, size_t h, size_t w,
                    bool relu);
/* Floats of workspace a forward or backward pass needs, for c->threads
 * threads (a multiple of 16: give it 64-byte aligned for aligned parts). */
size_t evo_conv_ws_floats(const evo_conv *c);
/* FLOPs of one pass over @p n images: forward 2·Cout·Cin·9·H·W·n. */
double evo_conv_flops(const evo_conv *c, size_t n);

/* x[n][h][w][cin], w[cout][cin][3][3], b[cout] -> y[n][h][w][cout] */
void evo_conv_forward(const evo_conv *c, float *y, const float *x,
                      const float *w, const float *b, size_t n, float *ws);
/* dy[n][h][w][cout] (may be masked in place when relu), y, x, w
 *   -> dx[n][h][w][cin] (skipped when NULL), dw[cout][cin][3][3], db[cout] */
void evo_conv_backward(const evo_conv *c, float *dx, float *dw, float *db,
                       float *dy, const float *y, const float *x,
                       const float *w, size_t n, float *ws);

/* The algorithms behind evo_conv_* (winograd.c, conv_direct.c): same
 * shapes; Winograd's backward takes dy already masked and leaves the bias
 * to its caller; the direct one computes no input gradient. */
size_t evo_wino_default_tiles(size_t cin, size_t cout);
size_t evo_wino_ws_floats(const evo_conv *c);
/* The per-slice sums of the bias gradient at the end of the workspace. */
#define EVO_CONV_SUMS_FLOATS(c) (EVO_SLICES * (c)->cout)
void evo_wino_forward(const evo_conv *c, float *y, const float *x,
                      const float *w, const float *b, size_t n, float *ws);
void evo_wino_backward(const evo_conv *c, float *dx, float *dw, const float *dy,
                       const float *x, const float *w, size_t n, float *ws);
size_t evo_direct_ws_floats(const evo_conv *c);
void evo_direct_forward(const evo_conv *c, float *y, const float *x,
                        const float *w, const float *b, size_t n, float *ws);
/* dy read only (the ReLU mask applied on the fly); no input gradient. */
void evo_direct_backward(const evo_conv *c, float *dw, float *db,
                         const float *dy, const float *y, const float *x,
                         size_t n, float *ws);

/* ---- linear ------------------------------------------------------------- */

/* x[n][in], w[out][in], b[out] -> y[n][out] (ReLU fused when relu);
 * team: threads or NULL */
void evo_linear_forward(float *y, const float *x, const float *w,
                        const float *b, size_t n, size_t in, size_t out,
                        bool relu, evo_workers *team);
/* dy[n][out] (masked in place when relu), y, x, w
 *   -> dx[n][in] (skipped when NULL), dw[out][in], db[out] */
void evo_linear_backward(float *dx, float *dw, float *db, float *dy,
                         const float *y, const float *x, const float *w,
                         size_t n, size_t in, size_t out, bool relu,
                         evo_workers *team);

/* ---- batch norm 2-D over the channels of x[m][c], m = n·h·w ------------- */

#define EVO_BN_EPS 1e-5 /* doc/algorithm.md §3 */
#define EVO_BN_ACC_DOUBLES(c) (2 * EVO_SLICES * (c))
#define EVO_BN_MOMENTUM 0.1 /* doc/algorithm.md §3 */

/* Training: batch statistics, biased variance for the normalisation, the
 * running variance updated with the unbiased one (doc/algorithm.md §3).
 * x[m][c], gamma[c], beta[c] -> y[m][c] (ReLU fused when relu),
 * mean[c], rstd[c] saved for backward, rmean[c], rvar[c] updated;
 * acc: EVO_BN_ACC_DOUBLES(c) of workspace; team: threads or NULL. m >= 2. */
void evo_bn_forward_train(float *y, float *mean, float *rstd, float *rmean,
                          float *rvar, const float *x, const float *gamma,
                          const float *beta, size_t m, size_t c, bool relu,
                          double *acc, evo_workers *team);
/* Evaluation: x[m][c], running rmean[c], rvar[c] -> y[m][c] */
void evo_bn_forward_eval(float *y, const float *x, const float *gamma,
                         const float *beta, const float *rmean,
                         const float *rvar, size_t m, size_t c, bool relu,
                         evo_workers *team);
/* dy[m][c] (read only: the ReLU mask is applied on the fly), y, x, mean,
 * rstd, gamma -> dx[m][c] (not aliasing dy), dgamma[c], dbeta[c];
 * acc: EVO_BN_ACC_DOUBLES(c) */
void evo_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *y, const float *x, const float *mean,
                     const float *rstd, const float *gamma, size_t m, size_t c,
                     bool relu, double *acc, evo_workers *team);

/* ---- 2x2 max-pool, stride 2, floor mode (PyTorch's default) ------------- */

/* x[n][h][w][c] -> y[n][h/2][w/2][c], arg[n][h/2][w/2][c]: the winner's
 * place in its window, 2·dy + dx (the first maximum, NaN wins, as PyTorch) */
void evo_maxpool_forward(float *y, uint8_t *arg, const float *x, size_t n,
                         size_t h, size_t w, size_t c);
/* dy[n][h/2][w/2][c], arg -> dx[n][h][w][c] (every element written) */
void evo_maxpool_backward(float *dx, const float *dy, const uint8_t *arg,
                          size_t n, size_t h, size_t w, size_t c);

/* ---- element-wise: ReLU, bias, dropout ---------------------------------- */

/* x[n] -> y[n] = max(x, 0) (y may alias x) */
void evo_relu_forward(float *y, const float *x, size_t n);
/* dy[n], y[n] -> dx[n] = dy where y > 0, else 0 (dx may alias dy) */
void evo_relu_backward(float *dx, const float *dy, const float *y, size_t n);
/* y[rows][cols] += b[cols], then max(·, 0) when relu */
void evo_bias_act(float *y, const float *b, size_t rows, size_t cols,
                  bool relu);
/* out[cols] = column sums of x[rows][cols] (accumulated in double) */
void evo_col_sums(float *out, const float *x, size_t rows, size_t cols);
/* out[cols] += the same sums */
void evo_col_sums_add(float *out, const float *x, size_t rows, size_t cols);

/* mask[n]: 1 keeps a unit (probability 1 - p), from @p rng */
void evo_dropout_mask(uint8_t *mask, size_t n, float p, evo_rng *rng);
/* x[n], mask[n] -> y[n] = x·mask/(1-p) (inverted dropout; y may alias x) */
void evo_dropout_forward(float *y, const float *x, const uint8_t *mask,
                         size_t n, float p);
/* dy[n], mask[n] -> dx[n] = dy·mask/(1-p) (dx may alias dy) */
void evo_dropout_backward(float *dx, const float *dy, const uint8_t *mask,
                          size_t n, float p);

/* ---- layout: flatten and the input transposition ----------------------- */

/* x[n][hw][c] (NHWC) -> y[n][c][hw] (NCHW: PyTorch's flatten order) */
void evo_nhwc_to_nchw(float *y, const float *x, size_t n, size_t hw, size_t c);
/* x[n][c][hw] (NCHW) -> y[n][hw][c] (NHWC) */
void evo_nchw_to_nhwc(float *y, const float *x, size_t n, size_t hw, size_t c);
/* Flatten x[n][h·w][c] -> y[n][c·h·w] in (C,H,W) order, and its backward. */
#define evo_flatten_forward evo_nhwc_to_nchw
#define evo_flatten_backward evo_nchw_to_nhwc

/* ---- loss -------------------------------------------------------------- */

/* logits[n][k], labels[n] (each < k) -> mean softmax cross-entropy over the
 * batch (log-sum-exp, in double); dlogits[n][k] = (softmax - onehot)/n
 * unless NULL. */
double evo_softmax_ce(float *dlogits, const float *logits,
                      const uint8_t *labels, size_t n, size_t k);

/* ---- transformer layers (issue 12; doc/algorithm.md §7) ---------------- *
 * Activations are [n][t][d]: n sequences of t positions, a position's d
 * features contiguous (the [m][features] layout with m = n·t rows). Tokens
 * and targets are uint8_t indices (a vocabulary of at most 256: the
 * characters of shakespeare_char). */

/* Token + position embedding:
 * tok[n][t] (each < vocab), wte[vocab][d], wpe[>= t][d] -> y[n][t][d],
 * y[b][i] = wte[tok[b][i]] + wpe[i] */
void evo_embed_forward(float *y, const uint8_t *tok, const float *wte,
                       const float *wpe, size_t n, size_t t, size_t d);
/* dy[n][t][d], tok -> dwte[vocab][d], dwpe[t][d], both overwritten: the
 * positions' gradients summed per token and per position, in position
 * order (rows of dwte whose token does not occur are 0). */
void evo_embed_backward(float *dwte, float *dwpe, const float *dy,
                        const uint8_t *tok, size_t n, size_t t, size_t d,
                        size_t vocab);

/* Layer norm over the last dimension, PyTorch's nn.LayerNorm (biased
 * variance, eps inside the square root). The same in training and
 * evaluation. */
#define EVO_LN_EPS 1e-5
/* Doubles of workspace evo_ln_backward needs. */
#define EVO_LN_ACC_DOUBLES(c) (2 * EVO_SLICES * (c))
/* x[m][c], gamma[c], beta[c] -> y[m][c], mean[m], rstd[m] (saved for
 * backward); team: threads or NULL */
void evo_ln_forward(float *y, float *mean, float *rstd, const float *x,
                    const float *gamma, const float *beta, size_t m, size_t c,
                    evo_workers *team);
/* dy[m][c], x, mean, rstd, gamma -> dx[m][c] (may alias dy), dgamma[c],
 * dbeta[c]; acc: EVO_LN_ACC_DOUBLES(c) */
void evo_ln_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                     const float *x, const float *mean, const float *rstd,
                     const float *gamma, size_t m, size_t c, double *acc,
                     evo_workers *team);

/* GELU, the exact form x·Φ(x) = x/2·(1 + erf(x/√2)): PyTorch's nn.GELU()
 * default and nanoGPT's (not the tanh approximation of GPT-2 and llm.c).
 * x[n] -> y[n] (y may alias x) */
void evo_gelu_forward(float *y, const float *x, size_t n, evo_workers *team);
/* dy[n], x[n] -> dx[n] = dy·(Φ(x) + x·φ(x)) (dx may alias dy) */
void evo_gelu_backward(float *dx, const float *dy, const float *x, size_t n,
                       evo_workers *team);

/* Causal multi-head self-attention, the part between the two linear
 * layers: qkv[n][t][3d] (the qkv linear's output: q, k, v each d wide,
 * head h in columns h·d/nh .. of each), heads nh dividing d ->
 * y[n][t][d] (heads side by side, the projection's input),
 * prob[n][nh][t][t] (softmax(q·kᵀ/√(d/nh)) with the causal mask, 0 above
 * the diagonal; saved for backward). Work is cut by (sequence, head). */
void evo_attention_forward(float *y, float *prob, const float *qkv, size_t n,
                           size_t t, size_t d, size_t nh, evo_workers *team);
/* Floats of workspace evo_attention_backward needs. */
#define EVO_ATTN_WS_FLOATS(t) (EVO_SLICES * (t))
/* dy[n][t][d], qkv, prob -> dqkv[n][t][3d] (overwritten);
 * ws: EVO_ATTN_WS_FLOATS(t) */
void evo_attention_backward(float *dqkv, const float *dy, const float *qkv,
                            const float *prob, size_t n, size_t t, size_t d,
                            size_t nh, float *ws, evo_workers *team);

/* Residual add: a[n], b[n] -> y[n] = a + b (y may alias a or b). Its
 * backward hands dy to both branches unchanged; evo_residual_backward adds
 * a branch's input gradient into the stream's: ds[n] += dx[n]. */
void evo_residual_forward(float *y, const float *a, const float *b, size_t n);
void evo_residual_backward(float *ds, const float *dx, size_t n);

/* Sequence cross-entropy: logits[m][k] (m = n·t positions), targets[m]
 * (each < k) -> the mean softmax cross-entropy over the m positions
 * (log-sum-exp in double); dlogits[m][k] = (softmax - onehot)/m unless
 * NULL (may not alias logits); *correct = positions whose arg-max (the
 * first maximum) is the target, unless NULL. Per-slice sums added in slice
 * order: the same for any team. */
double evo_seq_ce(float *dlogits, size_t *correct, const float *logits,
                  const uint8_t *targets, size_t m, size_t k,
                  evo_workers *team);

#endif

/* Direct 3x3 convolution for layers with few input channels (a network's
 * first layer: 1 or 3), NHWC. With K = 9·Cin of 9 or 27, im2col + sgemm
 * spends its time building and packing col, not multiplying; here each
 * pixel's patch is gathered once and multiplied in registers, 16 output
 * channels to a vector (GCC's vector extension: one AVX-512 register in
 * the avx512f clone, four SSE registers in the baseline one).
 *
 * Backward computes the weight and bias gradients only (a first layer
 * needs no input gradient; conv.c sends a call that wants one to im2col),
 * in one pass that also applies the fused ReLU's mask: per chunk of
 * pixels, dwᵀ[k][co] = Σ patch[k]·g[co] with one vector accumulator per k,
 * the chunk sums added in double. */
#include <string.h>

#include "nn/layers_internal.h"

#if !defined(__GNUC__)
#error "conv_direct.c needs GCC's vector extension (GCC or Clang)"
#endif

#define TAPS 9
#define CO 16     /* output channels per vector */
#define PIX 4     /* pixels per block of the forward kernel */
#define CHUNK 256 /* pixels per chunk of the weight gradient */
#define KMAX (TAPS * EVO_DIRECT_MAX_CIN)

typedef float vf __attribute__((vector_size(CO * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(CO * sizeof(float))));

/* An unaligned vector load (a macro: a function returning vf would change
 * the ABI between clones). */
#define LOAD(v, p) memcpy(&(v), (p), sizeof(v))

static size_t padded(size_t cout) {
  return (cout + CO - 1) / CO * CO;
}

/* Shared: wt[K][cout_pad] | bias[cout_pad] | per slice (K + 1)·cout double
 * accumulators (dw, then db); per thread: patches[CHUNK][K] |
 * dyp[CHUNK][cout_pad]. Every part a multiple of 16 floats. */
static size_t shared_floats(const evo_conv *c) {
  size_t k = TAPS * c->cin, cp = padded(c->cout);
  return k * cp + cp + 2 * EVO_SLICES * (k + 1) * c->cout;
}

static size_t thread_floats(const evo_conv *c) {
  return CHUNK * (TAPS * c->cin + padded(c->cout));
}

size_t evo_direct_ws_floats(const evo_conv *c) {
  return shared_floats(c) + c->threads * thread_floats(c);
}

static size_t team_size(const evo_conv *c) {
  size_t n = evo_workers_count(c->team);
  return n < c->threads ? n : c->threads;
}

/* One pass, its rows or pixels cut into slices for the threads. */
typedef struct direct_job {
  const evo_conv *c;
  float *ws, *y;
  const float *x, *dy, *yrelu;
  size_t items;
} direct_job;

/* xv[(kh,kw,ci)] = the 3x3 patch of pixel (y, x) of image img,
 * zero-padded; cin is a constant after inlining (no memcpy calls). */
EVO_INLINE void gather(float *restrict xv, const float *restrict x,
                       const evo_conv *c, size_t img, size_t y, size_t xx,
                       const size_t cin) {
  for (size_t kh = 0; kh < 3; kh++) {
    bool row_in = y + kh >= 1 && y + kh <= c->h;
    for (size_t kw = 0; kw < 3; kw++) {
      float *d = xv + (kh * 3 + kw) * cin;
      if (row_in && xx + kw >= 1 && xx + kw <= c->w) {
        const float *s =
            x + ((img * c->h + y + kh - 1) * c->w + xx + kw - 1) * cin;
        for (size_t ci = 0; ci < cin; ci++)
          d[ci] = s[ci];
      } else {
        for (size_t ci = 0; ci < cin; ci++)
          d[ci] = 0.0f;
      }
    }
  }
}

/* One image row, PIX pixels at a time; k = 9·cin, a constant after
 * inlining, so the tap loop unrolls and the accumulators stay in
 * registers. */
EVO_INLINE void forward_row_k(const evo_conv *c, float *y, const float *x,
                              const float *wt, const float *bias, size_t img,
                              size_t row, const size_t k) {
  const size_t cp = padded(c->cout), cout = c->cout;
  float xv[PIX * KMAX];
  for (size_t x0 = 0; x0 < c->w; x0 += PIX) {
    size_t np = c->w - x0 < PIX ? c->w - x0 : PIX;
    for (size_t p = 0; p < PIX; p++)
      if (p < np)
        gather(xv + p * k, x, c, img, row, x0 + p, k / TAPS);
      else
        memset(xv + p * k, 0, k * sizeof *xv);
    for (size_t co0 = 0; co0 < cout; co0 += CO) {
      vf b, w, acc[PIX];
      LOAD(b, bias + co0);
      for (size_t p = 0; p < PIX; p++)
        acc[p] = b;
      for (size_t i = 0; i < k; i++) {
        LOAD(w, wt + i * cp + co0);
        for (size_t p = 0; p < PIX; p++)
          acc[p] += xv[p * k + i] * w;
      }
      size_t nj = cout - co0 < CO ? cout - co0 : CO;
      for (size_t p = 0; p < np; p++) {
        if (c->relu) /* the lanes where acc > 0 kept, the rest +0 */
          acc[p] = (vf)((vi)acc[p] & (acc[p] > (vf){0}));
        float *yp = y + ((img * c->h + row) * c->w + x0 + p) * cout + co0;
        if (nj == CO)
          memcpy(yp, &acc[p], sizeof acc[p]);
        else
          memcpy(yp, &acc[p], nj * sizeof *yp);
      }
    }
  }
}

/* Image rows [r0, r1) of the batch (row r: image r / h, row r % h). */
EVO_VECTOR_CLONES static void forward_rows(const evo_conv *c, float *y,
                                           const float *x, const float *wt,
                                           const float *bias, size_t r0,
                                           size_t r1) {
  for (size_t r = r0; r < r1; r++) {
    size_t img = r / c->h, row = r % c->h;
    switch (c->cin) { /* one instance per first-layer channel count */
    case 1: forward_row_k(c, y, x, wt, bias, img, row, TAPS); break;
    case 3: forward_row_k(c, y, x, wt, bias, img, row, 3 * TAPS); break;
    default: forward_row_k(c, y, x, wt, bias, img, row, TAPS * c->cin);
    }
  }
}

static void forward_task(void *p, size_t thread, size_t threads) {
  const direct_job *j = p;
  const size_t cp = padded(j->c->cout), k = TAPS * j->c->cin;
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    evo_slice(j->items, sl, &lo, &hi);
    forward_rows(j->c, j->y, j->x, j->ws, j->ws + k * cp, lo, hi);
  }
}

void evo_direct_forward(const evo_conv *c, float *y, const float *x,
                        const float *w, const float *b, size_t n, float *ws) {
  const size_t k = TAPS * c->cin, cp = padded(c->cout);
  float *wt = ws, *bias = ws + k * cp;
  memset(ws, 0, (k * cp + cp) * sizeof *ws);
  for (size_t co = 0; co < c->cout; co++) {
    bias[co] = b[co];
    for (size_t ci = 0; ci < c->cin; ci++)
      for (size_t t = 0; t < TAPS; t++)
        wt[(t * c->cin + ci) * cp + co] = w[(co * c->cin + ci) * TAPS + t];
  }
  direct_job j = {c, ws, y, x, NULL, NULL, n * c->h};
  evo_workers_run(c->team, team_size(c), forward_task, &j);
}

/* Over the np pixels from p0, with g = dy masked by the fused ReLU (y > 0)
 * when y is given: dwacc[i][co] += Σ_p patch_p[i]·g[p][co] and
 * dbacc[co] += Σ_p g[p][co]; k + 1 vector accumulators per block of CO
 * channels (k a constant after inlining). Rows @p ld floats apart, whole
 * blocks of CO. */
EVO_INLINE void chunk_grad_k(const evo_conv *c, double *dwacc, double *dbacc,
                             float *patches, const float *dy, const float *y,
                             size_t ld, const float *x, size_t p0, size_t np,
                             const size_t k) {
  const size_t hw = c->h * c->w;
  for (size_t p = 0; p < np; p++) {
    size_t q = p0 + p;
    gather(patches + p * k, x, c, q / hw, (q % hw) / c->w, q % c->w, k / TAPS);
  }
  for (size_t co0 = 0; co0 < c->cout; co0 += CO) {
    vf acc[KMAX], accb = {0}, d, yv;
    for (size_t i = 0; i < k; i++)
      acc[i] = (vf){0};
    for (size_t p = 0; p < np; p++) {
      LOAD(d, dy + p * ld + co0);
      if (y) {
        LOAD(yv, y + p * ld + co0);
        d = (vf)((vi)d & (yv > (vf){0}));
      }
      accb += d;
      for (size_t i = 0; i < k; i++)
        acc[i] += patches[p * k + i] * d;
    }
    size_t nj = c->cout - co0 < CO ? c->cout - co0 : CO;
    for (size_t j = 0; j < nj; j++) {
      dbacc[co0 + j] += (double)accb[j];
      for (size_t i = 0; i < k; i++)
        dwacc[i * c->cout + co0 + j] += (double)acc[i][j];
    }
  }
}

EVO_VECTOR_CLONES static void chunk_grad(const evo_conv *c, double *dwacc,
                                         double *dbacc, float *patches,
                                         const float *dy, const float *y,
                                         size_t ld, const float *x, size_t p0,
                                         size_t np) {
  switch (c->cin) {
  case 1:
    chunk_grad_k(c, dwacc, dbacc, patches, dy, y, ld, x, p0, np, TAPS);
    break;
  case 3:
    chunk_grad_k(c, dwacc, dbacc, patches, dy, y, ld, x, p0, np, 3 * TAPS);
    break;
  default:
    chunk_grad_k(c, dwacc, dbacc, patches, dy, y, ld, x, p0, np, TAPS * c->cin);
  }
}

/* Per slice of pixels: its partial dw, db sums, chunk by chunk. */
static void backward_task(void *p, size_t thread, size_t threads) {
  const direct_job *j = p;
  const evo_conv *c = j->c;
  const size_t k = TAPS * c->cin, cp = padded(c->cout), cout = c->cout;
  double *acc = (double *)(void *)(j->ws + k * cp + cp);
  float *patches = j->ws + shared_floats(c) + thread * thread_floats(c);
  float *dyp = patches + CHUNK * k;
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    double *dwacc = acc + sl * (k + 1) * cout, *dbacc = dwacc + k * cout;
    evo_slice(j->items, sl, &lo, &hi);
    memset(dwacc, 0, (k + 1) * cout * sizeof *dwacc);
    for (size_t p0 = lo; p0 < hi; p0 += CHUNK) {
      size_t np = hi - p0 < CHUNK ? hi - p0 : CHUNK;
      const float *rows = j->dy + p0 * cout;
      const float *ys = c->relu ? j->yrelu + p0 * cout : NULL;
      if (cout != cp) { /* copied (masked) into whole, zero-padded blocks */
        memset(dyp, 0, CHUNK * cp * sizeof *dyp);
        for (size_t q = 0; q < np; q++)
          for (size_t i = 0; i < cout; i++) {
            size_t at = (p0 + q) * cout + i;
            bool off = c->relu && !(j->yrelu[at] > 0.0f);
            dyp[q * cp + i] = off ? 0.0f : j->dy[at];
          }
        rows = dyp, ys = NULL;
      }
      chunk_grad(c, dwacc, dbacc, patches, rows, ys, cp, j->x, p0, np);
    }
  }
}

void evo_direct_backward(const evo_conv *c, float *dw, float *db,
                         const float *dy, const float *y, const float *x,
                         size_t n, float *ws) {
  const size_t k = TAPS * c->cin, cp = padded(c->cout), cout = c->cout;
  direct_job j = {c, ws, NULL, x, dy, y, n * c->h * c->w};
  evo_workers_run(c->team, team_size(c), backward_task, &j);
  /* The slices' partials, added in slice order. */
  const double *acc = (const double *)(const void *)(ws + k * cp + cp);
  for (size_t co = 0; co < cout; co++) {
    double sb = 0.0;
    for (size_t sl = 0; sl < EVO_SLICES; sl++)
      sb += acc[(sl * (k + 1) + k) * cout + co];
    db[co] = (float)sb;
    for (size_t ci = 0; ci < c->cin; ci++)
      for (size_t t = 0; t < TAPS; t++) {
        size_t i = t * c->cin + ci;
        double sw = 0.0;
        for (size_t sl = 0; sl < EVO_SLICES; sl++)
          sw += acc[(sl * (k + 1) + i) * cout + co];
        dw[(co * c->cin + ci) * TAPS + t] = (float)sw;
      }
  }
}

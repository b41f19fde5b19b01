/* 3x3 convolution, stride 1, padding 1 (doc/algorithm.md §3), NHWC, by one of
 * three algorithms: direct (conv_direct.c) for few input channels,
 * Winograd F(2x2,3x3) (winograd.c) when both channel counts are large
 * enough, else im2col + sgemm (here).
 *
 * im2col: the pixels of the whole batch are cut into chunks; per chunk,
 * im2col builds col[pixel][(kh,kw,ci)] (each row three contiguous runs of
 * 3·Cin floats, since NHWC keeps a pixel's left and right neighbours next
 * to it) and one sgemm gives y[pixel][cout] = col × Wpᵀ, where Wp is the
 * weight in (co, kh, kw, ci) order. A chunk's col fits in the L2 cache, so
 * the GEMM reads it hot (measured: ~95 GFLOP/s against ~55 for one
 * batch-wide GEMM). Backward per chunk: dWpᵀ += colᵀ × dy, then
 * dcol = dy × Wp (in the col buffer) and col2im adds it into dx. */
#include <cblas.h>
#include <string.h>

#include "nn/layers_internal.h"

#define TAPS 9
/* The col buffer's target size in floats (L2 is 1 MiB a core here). */
#define COL_TARGET_FLOATS ((size_t)96 * 1024)
#define WINOGRAD_MIN_CHANNELS 8

void evo_conv_setup(evo_conv *c, size_t cin, size_t cout, size_t h, size_t w,
                    bool relu) {
  c->cin = cin;
  c->cout = cout;
  c->h = h;
  c->w = w;
  c->relu = relu;
  size_t chunk = COL_TARGET_FLOATS / (TAPS * cin);
  c->chunk = chunk ? chunk : 1;
  /* Winograd's GEMMs have the channel counts as inner dimensions: worth it
   * from a few channels on; a first layer (1 or 3 channels) goes direct. */
  if (cin <= EVO_DIRECT_MAX_CIN)
    c->algo = EVO_CONV_DIRECT;
  else if (cin >= WINOGRAD_MIN_CHANNELS && cout >= WINOGRAD_MIN_CHANNELS)
    c->algo = EVO_CONV_WINOGRAD;
  else
    c->algo = EVO_CONV_IM2COL;
  c->tiles = evo_wino_default_tiles(cin, cout);
  c->team = NULL;
  c->threads = 1;
}

static size_t max3(size_t a, size_t b, size_t d) {
  size_t m = a > b ? a : b;
  return m > d ? m : d;
}

/* The largest of the algorithms' workspaces (im2col, one thread:
 * Wp[cout][9cin] | dWpᵀ[9cin][cout] | col[chunk][9cin]), so that a caller
 * may switch the algorithm, then the bias gradient's sums per slice. */
size_t evo_conv_ws_floats(const evo_conv *c) {
  size_t k = TAPS * c->cin;
  size_t im2col = 2 * c->cout * k + c->chunk * k;
  size_t direct = c->cin <= EVO_DIRECT_MAX_CIN ? evo_direct_ws_floats(c) : 0;
  size_t most = max3(im2col, evo_wino_ws_floats(c), direct);
  return (most + 15) / 16 * 16 + EVO_CONV_SUMS_FLOATS(c);
}

double evo_conv_flops(const evo_conv *c, size_t n) {
  return 2.0 * (double)c->cout * (double)c->cin * TAPS * (double)c->h *
         (double)c->w * (double)n;
}

/* w[co][ci][kh][kw] -> wp[co][kh][kw][ci] */
static void permute_weights(float *wp, const float *w, size_t cin,
                            size_t cout) {
  for (size_t co = 0; co < cout; co++)
    for (size_t ci = 0; ci < cin; ci++)
      for (size_t t = 0; t < TAPS; t++)
        wp[(co * TAPS + t) * cin + ci] = w[(co * cin + ci) * TAPS + t];
}

/* dwt[kh][kw][ci][co] -> dw[co][ci][kh][kw] */
static void unpermute_grad(float *dw, const float *dwt, size_t cin,
                           size_t cout) {
  for (size_t co = 0; co < cout; co++)
    for (size_t ci = 0; ci < cin; ci++)
      for (size_t t = 0; t < TAPS; t++)
        dw[(co * cin + ci) * TAPS + t] = dwt[(t * cin + ci) * cout + co];
}

/* Where one kernel row of a pixel lands: image row @p src (NULL when the
 * row is padding), with @p lead zero taps on the left, @p len real taps,
 * the rest (3 - lead - len) zero taps on the right. */
typedef struct tap_row {
  size_t offset; /* float offset of the first real tap in the image */
  size_t lead, len;
  bool pad;
} tap_row;

static tap_row tap_row_at(const evo_conv *c, size_t img, size_t y, size_t x,
                          size_t kh) {
  tap_row r = {0, 0, 0, true};
  if ((kh == 0 && y == 0) || (kh == 2 && y + 1 >= c->h))
    return r;
  size_t yy = y + kh - 1;
  size_t x0 = x ? x - 1 : 0;
  size_t x1 = x + 1 < c->w ? x + 1 : x; /* inclusive */
  r.pad = false;
  r.lead = x ? 0 : 1;
  r.len = x1 - x0 + 1;
  r.offset = ((img * c->h + yy) * c->w + x0) * c->cin;
  return r;
}

/* col[i][(kh,kw,ci)] for pixels p0 .. p0+np-1 of x[n][h][w][cin] */
static void im2col(float *restrict col, const float *restrict x,
                   const evo_conv *c, size_t p0, size_t np) {
  const size_t cin = c->cin, k = TAPS * cin, hw = c->h * c->w;
  for (size_t i = 0; i < np; i++) {
    size_t p = p0 + i, img = p / hw, y = (p % hw) / c->w, xx = p % c->w;
    for (size_t kh = 0; kh < 3; kh++) {
      float *d = col + i * k + kh * 3 * cin;
      tap_row r = tap_row_at(c, img, y, xx, kh);
      if (r.pad) {
        memset(d, 0, 3 * cin * sizeof *d);
        continue;
      }
      size_t tail = 3 - r.lead - r.len;
      memset(d, 0, r.lead * cin * sizeof *d);
      memcpy(d + r.lead * cin, x + r.offset, r.len * cin * sizeof *d);
      memset(d + (r.lead + r.len) * cin, 0, tail * cin * sizeof *d);
    }
  }
}

/* dx[n][h][w][cin] += the col2im of col for pixels p0 .. p0+np-1 */
EVO_VECTOR_CLONES static void col2im(float *restrict dx,
                                     const float *restrict col,
                                     const evo_conv *c, size_t p0, size_t np) {
  const size_t cin = c->cin, k = TAPS * cin, hw = c->h * c->w;
  for (size_t i = 0; i < np; i++) {
    size_t p = p0 + i, img = p / hw, y = (p % hw) / c->w, xx = p % c->w;
    for (size_t kh = 0; kh < 3; kh++) {
      tap_row r = tap_row_at(c, img, y, xx, kh);
      if (r.pad)
        continue;
      const float *s = col + i * k + (kh * 3 + r.lead) * cin;
      float *d = dx + r.offset;
      for (size_t j = 0; j < r.len * cin; j++)
        d[j] += s[j];
    }
  }
}

void evo_conv_forward(const evo_conv *c, float *y, const float *x,
                      const float *w, const float *b, size_t n, float *ws) {
  if (c->algo == EVO_CONV_WINOGRAD) {
    evo_wino_forward(c, y, x, w, b, n, ws);
    return;
  }
  if (c->algo == EVO_CONV_DIRECT) {
    evo_direct_forward(c, y, x, w, b, n, ws);
    return;
  }
  const size_t k = TAPS * c->cin, cout = c->cout, pixels = n * c->h * c->w;
  float *wp = ws, *col = ws + 2 * cout * k;
  permute_weights(wp, w, c->cin, cout);
  for (size_t p0 = 0; p0 < pixels; p0 += c->chunk) {
    size_t np = pixels - p0 < c->chunk ? pixels - p0 : c->chunk;
    float *yc = y + p0 * cout;
    im2col(col, x, c, p0, np);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)np, (int)cout,
                (int)k, 1.0f, col, (int)k, wp, (int)k, 0.0f, yc, (int)cout);
    evo_bias_act(yc, b, np, cout, c->relu);
  }
}

/* The fused ReLU's mask on dy, in place, and the bias gradient's partial
 * sums per slice of pixels, block by block so that float sums stay short. */
typedef struct mask_job {
  const evo_conv *c;
  float *dy, *sums;
  const float *y;
  size_t pixels;
} mask_job;

static void mask_task(void *p, size_t thread, size_t threads) {
  const mask_job *j = p;
  const size_t cout = j->c->cout, block = 256;
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    float *part = j->sums + sl * cout;
    evo_slice(j->pixels, sl, &lo, &hi);
    memset(part, 0, cout * sizeof *part);
    for (size_t p0 = lo; p0 < hi; p0 += block) {
      size_t np = hi - p0 < block ? hi - p0 : block;
      float *dyc = j->dy + p0 * cout;
      if (j->c->relu)
        evo_relu_backward(dyc, dyc, j->y + p0 * cout, np * cout);
      evo_col_sums_add(part, dyc, np, cout);
    }
  }
}

static void mask_and_bias_grad(const evo_conv *c, float *db, float *dy,
                               const float *y, size_t pixels, float *sums) {
  mask_job j = {c, dy, sums, y, pixels};
  size_t n = evo_workers_count(c->team);
  evo_workers_run(c->team, n < c->threads ? n : c->threads, mask_task, &j);
  for (size_t i = 0; i < c->cout; i++) {
    float sum = 0.0f;
    for (size_t sl = 0; sl < EVO_SLICES; sl++)
      sum += sums[sl * c->cout + i];
    db[i] = sum;
  }
}

/* im2col backward per chunk: dWpᵀ += colᵀ × dy, dcol = dy × Wp, col2im. */
static void im2col_backward(const evo_conv *c, float *dx, float *dw,
                            const float *dy, const float *x, const float *w,
                            size_t n, float *ws) {
  const size_t k = TAPS * c->cin, cout = c->cout, pixels = n * c->h * c->w;
  float *wp = ws, *dwt = ws + cout * k, *col = dwt + cout * k;
  if (dx) {
    permute_weights(wp, w, c->cin, cout);
    memset(dx, 0, pixels * c->cin * sizeof *dx);
  }
  for (size_t p0 = 0; p0 < pixels; p0 += c->chunk) {
    size_t np = pixels - p0 < c->chunk ? pixels - p0 : c->chunk;
    const float *dyc = dy + p0 * cout;
    im2col(col, x, c, p0, np);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)cout,
                (int)np, 1.0f, col, (int)k, dyc, (int)cout, p0 ? 1.0f : 0.0f,
                dwt, (int)cout);
    if (!dx)
      continue;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)np, (int)k,
                (int)cout, 1.0f, dyc, (int)cout, wp, (int)k, 0.0f, col, (int)k);
    col2im(dx, col, c, p0, np);
  }
  if (pixels)
    unpermute_grad(dw, dwt, c->cin, cout);
  else
    memset(dw, 0, cout * k * sizeof *dw);
}

void evo_conv_backward(const evo_conv *c, float *dx, float *dw, float *db,
                       float *dy, const float *y, const float *x,
                       const float *w, size_t n, float *ws) {
  const size_t pixels = n * c->h * c->w;
  float *sums = ws + evo_conv_ws_floats(c) - EVO_CONV_SUMS_FLOATS(c);
  if (c->algo == EVO_CONV_DIRECT && !dx) {
    evo_direct_backward(c, dw, db, dy, y, x, n, ws);
    return;
  }
  mask_and_bias_grad(c, db, dy, y, pixels, sums);
  if (c->algo == EVO_CONV_WINOGRAD)
    evo_wino_backward(c, dx, dw, dy, x, w, n, ws);
  else /* the direct algorithm sends an input gradient here */
    im2col_backward(c, dx, dw, dy, x, w, n, ws);
}

/* Winograd F(2x2, 3x3) for the 3x3, stride 1, padding 1 convolution, NHWC
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * CVPR 2016): every 2x2 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A with d the
 * 4x4 input patch, so the channel sums become 16 GEMMs, one per position ξ
 * of the 4x4 transformed tile, with 16 instead of 36 multiplications per
 * output tile and channel pair (2.25x fewer FLOPs than im2col).
 *
 * NHWC keeps a pixel's channels contiguous, so each transform is a loop
 * over a channel vector, branch-free. Tiles are cut into chunks whose
 * transformed data stay in the cache between the transforms and the GEMMs.
 *
 * Backward: the input gradient is the forward algorithm applied to dy with
 * the flipped, transposed kernel; the weight gradient sums, per ξ, the
 * transformed input times the transformed output gradient A·dy·Aᵀ over all
 * tiles (16 GEMMs with the tiles as inner dimension), then Gᵀ·dU·G. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/layers_internal.h"

#define XI 16 /* positions of a 4x4 transformed tile */

/* The target floats of one chunk's two transformed buffers. */
#define CHUNK_TARGET_FLOATS ((size_t)192 * 1024)

typedef struct geom {
  size_t h, w, th, tw; /* image size, tiles per column and per row */
} geom;

static geom geom_of(const evo_conv *c) {
  geom g = {c->h, c->w, (c->h + 1) / 2, (c->w + 1) / 2};
  return g;
}

static size_t max_channels(const evo_conv *c) {
  return c->cin > c->cout ? c->cin : c->cout;
}

size_t evo_wino_default_tiles(size_t cin, size_t cout) {
  size_t per_tile = XI * 2 * (cin > cout ? cin : cout);
  size_t t = CHUNK_TARGET_FLOATS / per_tile;
  return t ? t : 1;
}

static size_t round16(size_t n) {
  return (n + 15) / 16 * 16;
}

/* Floats between two ξ planes: one cache line more than a plane, so that
 * the 16 planes a transform writes never fall on the same cache sets (a
 * plane of 32 tiles of 32 channels is 4 KiB: measured 1.5x slower). */
static size_t plane_stride(const evo_conv *c) {
  return round16(c->tiles * max_channels(c)) + 16;
}

/* Per thread: A[XI][stride] | B[XI][stride] | sink[cmax] */
static size_t thread_floats(const evo_conv *c) {
  return 2 * XI * plane_stride(c) + round16(max_channels(c));
}

/* Shared: U | U2 | du per slice | zero[cmax]; then one block per thread. */
static size_t shared_floats(const evo_conv *c) {
  return (2 + EVO_SLICES) * XI * c->cin * c->cout + round16(max_channels(c));
}

size_t evo_wino_ws_floats(const evo_conv *c) {
  return round16(shared_floats(c)) + c->threads * thread_floats(c);
}

/* ---- weight transforms -------------------------------------------------- */

/* u[4][4] = G g Gᵀ, G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1] */
static void weight_tile(float u[XI], const float g[9]) {
  float t[4][3];
  for (int j = 0; j < 3; j++) {
    t[0][j] = g[j];
    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
    t[3][j] = g[6 + j];
  }
  for (int i = 0; i < 4; i++) {
    u[i * 4 + 0] = t[i][0];
    u[i * 4 + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
    u[i * 4 + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
    u[i * 4 + 3] = t[i][2];
  }
}

/* Forward: u[ξ][ci][co] from w[co][ci][3][3]. Flipped (for dx): the kernel
 * rotated by 180° with in and out swapped, u[ξ][co][ci]. */
static void transform_weights(float *u, const float *w, size_t cin, size_t cout,
                              bool flip) {
  for (size_t co = 0; co < cout; co++)
    for (size_t ci = 0; ci < cin; ci++) {
      const float *g = w + (co * cin + ci) * 9;
      float gg[9], t[XI];
      for (int i = 0; i < 9; i++)
        gg[i] = flip ? g[8 - i] : g[i];
      weight_tile(t, gg);
      for (size_t x = 0; x < XI; x++)
        if (flip)
          u[(x * cout + co) * cin + ci] = t[x];
        else
          u[(x * cin + ci) * cout + co] = t[x];
    }
}

/* dw[co][ci] = Gᵀ du[ξ][ci][co] G (the adjoint of weight_tile). */
static void weight_grad(float *dw, const float *du, size_t cin, size_t cout) {
  for (size_t co = 0; co < cout; co++)
    for (size_t ci = 0; ci < cin; ci++) {
      float d[XI], r[3][4];
      for (size_t x = 0; x < XI; x++)
        d[x] = du[(x * cin + ci) * cout + co];
      for (int j = 0; j < 4; j++) {
        r[0][j] = d[j] + 0.5f * (d[4 + j] + d[8 + j]);
        r[1][j] = 0.5f * (d[4 + j] - d[8 + j]);
        r[2][j] = 0.5f * (d[4 + j] + d[8 + j]) + d[12 + j];
      }
      float *g = dw + (co * cin + ci) * 9;
      for (int i = 0; i < 3; i++) {
        g[i * 3 + 0] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
        g[i * 3 + 1] = 0.5f * (r[i][1] - r[i][2]);
        g[i * 3 + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
      }
    }
}

/* ---- data transforms, one channel vector at a time ---------------------- */

/* The size x size pixels of tile t's window from offset `from` (-1: the
 * 4x4 input patch, 0: the 2x2 outputs) as channel vectors of a[n][h][w][c],
 * row-major into p; a pixel outside (padding, past an odd edge) is
 * @p other. */
static void tile_pixels(const float **p, const float *a, const geom *g,
                        size_t c, size_t t, long from, int size,
                        const float *other) {
  size_t per = g->th * g->tw, img = t / per;
  long y0 = 2 * (long)((t % per) / g->tw) + from;
  long x0 = 2 * (long)(t % g->tw) + from;
  for (int r = 0; r < size; r++)
    for (int s = 0; s < size; s++) {
      long y = y0 + r, x = x0 + s;
      bool in = y >= 0 && x >= 0 && y < (long)g->h && x < (long)g->w;
      p[r * size + s] =
          in ? a + ((img * g->h + (size_t)y) * g->w + (size_t)x) * c : other;
    }
}

/* The 1-D transforms, on four values (or two) @p n apart. */
/* Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
#define BT4(o, i, n)                                                           \
  ((o)[0] = (i)[0] - (i)[2 * (n)], (o)[1] = (i)[n] + (i)[2 * (n)],             \
   (o)[2] = (i)[2 * (n)] - (i)[n], (o)[3] = (i)[n] - (i)[3 * (n)])
/* Aᵀ = [1 1 1 0; 0 1 -1 -1] */
#define AT2(o, i, n)                                                           \
  ((o)[0] = (i)[0] + (i)[n] + (i)[2 * (n)],                                    \
   (o)[1] = (i)[n] - (i)[2 * (n)] - (i)[3 * (n)])
/* A = [1 0; 1 1; 1 -1; 0 -1] */
#define A4(o, i, n)                                                            \
  ((o)[0] = (i)[0], (o)[1] = (i)[0] + (i)[n], (o)[2] = (i)[0] - (i)[n],        \
   (o)[3] = -(i)[n])

/* v[ξ][i][k] = (Bᵀ d B)_ξ for tiles t0 .. t0+nt-1 of a[n][h][w][c]; the ξ
 * planes lie @p stride floats apart (never overlapping: EVO_IVDEP). */
EVO_VECTOR_CLONES static void input_transform(float *v, size_t stride,
                                              const float *a, const geom *g,
                                              size_t c, const float *zero,
                                              size_t t0, size_t nt) {
  for (size_t i = 0; i < nt; i++) {
    const float *p[XI];
    tile_pixels(p, a, g, c, t0 + i, -1, 4, zero);
    float *out = v + i * c;
    EVO_IVDEP
    for (size_t k = 0; k < c; k++) {
      float d[XI], e[XI], o[XI];
      for (int j = 0; j < XI; j++)
        d[j] = p[j][k];
      for (int s = 0; s < 4; s++) /* Bᵀ d, column by column */
        BT4(e + 4 * s, d + s, 4);
      for (int r = 0; r < 4; r++) /* (Bᵀ d) B, row by row */
        BT4(o + 4 * r, e + r, 4);
      for (int j = 0; j < XI; j++)
        out[(size_t)j * stride + k] = o[j];
    }
  }
}

/* y tiles = Aᵀ m A (+ bias, ReLU); pixels past an odd edge go to @p sink. */
EVO_VECTOR_CLONES static void output_transform(float *y, size_t c,
                                               const float *m, size_t stride,
                                               const geom *g, const float *bias,
                                               bool relu, float *sink,
                                               size_t t0, size_t nt) {
  const float lo = relu ? 0.0f : -INFINITY;
  for (size_t i = 0; i < nt; i++) {
    const float *p[4];
    tile_pixels(p, y, g, c, t0 + i, 0, 2, sink);
    float *o[4] = {(float *)p[0], (float *)p[1], (float *)p[2], (float *)p[3]};
    const float *in = m + i * c;
    EVO_IVDEP
    for (size_t k = 0; k < c; k++) {
      float d[XI], e[8], q[4];
      for (int j = 0; j < XI; j++)
        d[j] = in[(size_t)j * stride + k];
      for (int s = 0; s < 4; s++) /* Aᵀ m, column by column */
        AT2(e + 2 * s, d + s, 4);
      for (int a = 0; a < 2; a++) /* (Aᵀ m) A, row by row */
        AT2(q + 2 * a, e + a, 2);
      float bk = bias ? bias[k] : 0.0f;
      for (int j = 0; j < 4; j++) {
        float v = q[j] + bk;
        o[j][k] = v > lo ? v : lo;
      }
    }
  }
}

/* dm[ξ][i][k] = (A dy Aᵀ)_ξ: the gradient of the transformed tile from its
 * 2x2 output gradient (zero past an edge). */
EVO_VECTOR_CLONES static void grad_transform(float *dm, size_t stride,
                                             const float *dy, const geom *g,
                                             size_t c, const float *zero,
                                             size_t t0, size_t nt) {
  for (size_t i = 0; i < nt; i++) {
    const float *p[4];
    tile_pixels(p, dy, g, c, t0 + i, 0, 2, zero);
    float *out = dm + i * c;
    EVO_IVDEP
    for (size_t k = 0; k < c; k++) {
      float d[4], e[8], o[XI];
      for (int j = 0; j < 4; j++)
        d[j] = p[j][k];
      for (int b = 0; b < 2; b++) /* A dy, column by column */
        A4(e + 4 * b, d + b, 2);
      for (int r = 0; r < 4; r++) /* (A dy) Aᵀ, row by row */
        A4(o + 4 * r, e + r, 4);
      for (int j = 0; j < XI; j++)
        out[(size_t)j * stride + k] = o[j];
    }
  }
}

/* ---- the passes --------------------------------------------------------- */

typedef struct wino_ws {
  float *u, *u2, *du, *zero; /* shared: du holds one partial per slice */
  float *a, *b, *sink;       /* the calling thread's */
  size_t stride;             /* floats between ξ planes of a and b */
} wino_ws;

static wino_ws carve_ws(const evo_conv *c, float *ws, size_t thread) {
  size_t wsz = XI * c->cin * c->cout;
  wino_ws s;
  s.u = ws;
  s.u2 = s.u + wsz;
  s.du = s.u2 + wsz;
  s.zero = s.du + EVO_SLICES * wsz;
  s.stride = plane_stride(c);
  s.a = ws + round16(shared_floats(c)) + thread * thread_floats(c);
  s.b = s.a + XI * s.stride;
  s.sink = s.b + XI * s.stride;
  return s;
}

/* One chunk of a forward-style pass: out tiles = conv of in (cin channels)
 * with the transformed kernel u[ξ][cin][cout]. */
static void forward_chunk(const wino_ws *s, float *out, size_t cout,
                          const float *in, size_t cin, const float *u,
                          const geom *g, const float *bias, bool relu,
                          size_t t0, size_t nt) {
  input_transform(s->a, s->stride, in, g, cin, s->zero, t0, nt);
  for (size_t x = 0; x < XI; x++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nt, (int)cout,
                (int)cin, 1.0f, s->a + x * s->stride, (int)cin,
                u + x * cin * cout, (int)cout, 0.0f, s->b + x * s->stride,
                (int)cout);
  output_transform(out, cout, s->b, s->stride, g, bias, relu, s->sink, t0, nt);
}

/* One pass over all tiles, cut into slices for the threads. */
typedef struct wino_job {
  const evo_conv *c;
  geom g;
  float *ws;
  size_t tiles;
  float *y, *dx, *dw;
  const float *x, *dy, *bias;
} wino_job;

static void forward_task(void *p, size_t thread, size_t threads) {
  const wino_job *j = p;
  const evo_conv *c = j->c;
  wino_ws s = carve_ws(c, j->ws, thread);
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    evo_slice(j->tiles, sl, &lo, &hi);
    for (size_t t0 = lo; t0 < hi; t0 += c->tiles) {
      size_t nt = hi - t0 < c->tiles ? hi - t0 : c->tiles;
      forward_chunk(&s, j->y, c->cout, j->x, c->cin, s.u, &j->g, j->bias,
                    c->relu, t0, nt);
    }
  }
}

static size_t team_size(const evo_conv *c) {
  size_t n = evo_workers_count(c->team);
  return n < c->threads ? n : c->threads;
}

void evo_wino_forward(const evo_conv *c, float *y, const float *x,
                      const float *w, const float *b, size_t n, float *ws) {
  wino_ws s = carve_ws(c, ws, 0);
  memset(s.zero, 0, max_channels(c) * sizeof *s.zero);
  transform_weights(s.u, w, c->cin, c->cout, false);
  wino_job j = {c, geom_of(c), ws, 0, y, NULL, NULL, x, NULL, b};
  j.tiles = n * j.g.th * j.g.tw;
  evo_workers_run(c->team, team_size(c), forward_task, &j);
}

/* Per slice: its partial du[ξ][cin][cout] = Σ aᵀ b over its tiles, and the
 * input gradient of its tiles. */
static void backward_task(void *p, size_t thread, size_t threads) {
  const wino_job *j = p;
  const evo_conv *c = j->c;
  const size_t cin = c->cin, cout = c->cout, wsz = XI * cin * cout;
  wino_ws s = carve_ws(c, j->ws, thread);
  for (size_t sl = thread; sl < EVO_SLICES; sl += threads) {
    size_t lo, hi;
    float *du = s.du + sl * wsz;
    evo_slice(j->tiles, sl, &lo, &hi);
    if (lo == hi)
      memset(du, 0, wsz * sizeof *du);
    for (size_t t0 = lo; t0 < hi; t0 += c->tiles) {
      size_t nt = hi - t0 < c->tiles ? hi - t0 : c->tiles;
      input_transform(s.a, s.stride, j->x, &j->g, cin, s.zero, t0, nt);
      grad_transform(s.b, s.stride, j->dy, &j->g, cout, s.zero, t0, nt);
      for (size_t k = 0; k < XI; k++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cin,
                    (int)cout, (int)nt, 1.0f, s.a + k * s.stride, (int)cin,
                    s.b + k * s.stride, (int)cout, t0 > lo ? 1.0f : 0.0f,
                    du + k * cin * cout, (int)cout);
      if (j->dx)
        forward_chunk(&s, j->dx, cin, j->dy, cout, s.u2, &j->g, NULL, false, t0,
                      nt);
    }
  }
}

/* dy already masked by the fused ReLU. dx (unless NULL) and dw are written
 * over. */
void evo_wino_backward(const evo_conv *c, float *dx, float *dw, const float *dy,
                       const float *x, const float *w, size_t n, float *ws) {
  wino_ws s = carve_ws(c, ws, 0);
  const size_t wsz = XI * c->cin * c->cout;
  memset(s.zero, 0, max_channels(c) * sizeof *s.zero);
  if (dx)
    transform_weights(s.u2, w, c->cin, c->cout, true);
  wino_job j = {c, geom_of(c), ws, 0, NULL, dx, dw, x, dy, NULL};
  j.tiles = n * j.g.th * j.g.tw;
  evo_workers_run(c->team, team_size(c), backward_task, &j);
  /* The slices' partials, added in slice order into u. */
  memcpy(s.u, s.du, wsz * sizeof *s.u);
  for (size_t sl = 1; sl < EVO_SLICES; sl++)
    for (size_t i = 0; i < wsz; i++)
      s.u[i] += s.du[sl * wsz + i];
  weight_grad(dw, s.u, c->cin, c->cout);
}

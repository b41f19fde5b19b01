/* Causal multi-head self-attention between the qkv and output linear
 * layers (doc/algorithm.md §7), as nanoGPT's CausalSelfAttention:
 * att = softmax(q·kᵀ/√hd) with position i seeing positions 0..i, y = att·v,
 * per head of hd = d/nh features. One (sequence, head) pair is one unit of
 * work: it reads its own columns of qkv and writes its own columns of y
 * (or dqkv) and its own block of prob, always in the same order, so the
 * bits never depend on which thread runs it or how many there are. */
#include <math.h>
#include <string.h>

#include "nn/layers_internal.h"

typedef struct attn_job {
  float *y, *prob, *dqkv, *ws;
  const float *qkv, *dy, *prob_in;
  size_t n, t, d, nh;
} attn_job;

/* A dot product in 8 interleaved partial sums added in a fixed order: the
 * compiler vectorises it (a single running sum it may not reorder), and
 * the bits depend only on the inputs. */
#define DOT_LANES 8
EVO_INLINE float dotf(const float *a, const float *b, size_t n) {
  float acc[DOT_LANES] = {0.0f};
  size_t i = 0;
  for (; i + DOT_LANES <= n; i += DOT_LANES)
    for (size_t l = 0; l < DOT_LANES; l++)
      acc[l] += a[i + l] * b[i + l];
  for (; i < n; i++)
    acc[i % DOT_LANES] += a[i] * b[i];
  float s = 0.0f;
  for (size_t l = 0; l < DOT_LANES; l++)
    s += acc[l];
  return s;
}

/* Pair (b, h): rows i of q, k, v start at qkv + (b·t + i)·3d + {0, d, 2d}
 * + h·hd. */
EVO_VECTOR_CLONES static void attn_fwd_pair(const attn_job *j, size_t b,
                                            size_t h) {
  const size_t t = j->t, d = j->d, hd = d / j->nh, d3 = 3 * d;
  const float scale = (float)(1.0 / sqrt((double)hd));
  const float *base = j->qkv + b * t * d3 + h * hd;
  float *p = j->prob + (b * j->nh + h) * t * t;
  for (size_t i = 0; i < t; i++) {
    const float *q = base + i * d3;
    float *pi = p + i * t, mx = -INFINITY;
    for (size_t k = 0; k <= i; k++) {
      pi[k] = dotf(q, base + k * d3 + d, hd) * scale;
      mx = pi[k] > mx ? pi[k] : mx;
    }
    double sum = 0.0;
    for (size_t k = 0; k <= i; k++) {
      pi[k] = expf(pi[k] - mx);
      sum += (double)pi[k];
    }
    const float inv = (float)(1.0 / sum);
    for (size_t k = 0; k <= i; k++)
      pi[k] *= inv;
    for (size_t k = i + 1; k < t; k++)
      pi[k] = 0.0f;
    float *restrict yi = j->y + (b * t + i) * d + h * hd;
    memset(yi, 0, hd * sizeof *yi);
    for (size_t k = 0; k <= i; k++) {
      const float *restrict v = base + k * d3 + 2 * d;
      const float a = pi[k];
      for (size_t e = 0; e < hd; e++)
        yi[e] += a * v[e];
    }
  }
}

/* With P the probabilities, S = q·kᵀ·scale:
 *   dP[i][k] = dy_i · v_k,   dv_k += P[i][k]·dy_i,
 *   dS[i][k] = P[i][k]·(dP[i][k] - Σ_k' P[i][k']·dP[i][k']),
 *   dq_i += scale·Σ_k dS[i][k]·k_k,   dk_k += scale·dS[i][k]·q_i.
 * dp: t floats of scratch (this slice's). */
EVO_VECTOR_CLONES static void attn_bwd_pair(const attn_job *j, size_t b,
                                            size_t h, float *dp) {
  const size_t t = j->t, d = j->d, hd = d / j->nh, d3 = 3 * d;
  const float scale = (float)(1.0 / sqrt((double)hd));
  const float *base = j->qkv + b * t * d3 + h * hd;
  float *dbase = j->dqkv + b * t * d3 + h * hd;
  const float *p = j->prob_in + (b * j->nh + h) * t * t;
  for (size_t i = 0; i < t; i++)
    for (size_t part = 0; part < 3; part++)
      memset(dbase + i * d3 + part * d, 0, hd * sizeof *dbase);
  for (size_t i = 0; i < t; i++) {
    const float *gi = j->dy + (b * t + i) * d + h * hd;
    const float *pi = p + i * t, *q = base + i * d3;
    float *restrict dq = dbase + i * d3;
    double dot_pd = 0.0;
    for (size_t k = 0; k <= i; k++) {
      dp[k] = dotf(gi, base + k * d3 + 2 * d, hd);
      dot_pd += (double)pi[k] * (double)dp[k];
      float *restrict dv = dbase + k * d3 + 2 * d;
      for (size_t e = 0; e < hd; e++)
        dv[e] += pi[k] * gi[e];
    }
    const float c = (float)dot_pd;
    for (size_t k = 0; k <= i; k++) {
      const float ds = pi[k] * (dp[k] - c) * scale;
      const float *restrict kk = base + k * d3 + d;
      float *restrict dk = dbase + k * d3 + d;
      for (size_t e = 0; e < hd; e++) {
        dq[e] += ds * kk[e];
        dk[e] += ds * q[e];
      }
    }
  }
}

static void attn_task(void *ctx, size_t thread, size_t threads) {
  const attn_job *j = ctx;
  const size_t pairs = j->n * j->nh;
  for (size_t s = thread; s < EVO_SLICES; s += threads) {
    size_t lo, hi;
    evo_slice(pairs, s, &lo, &hi);
    for (size_t u = lo; u < hi; u++) {
      if (j->dy)
        attn_bwd_pair(j, u / j->nh, u % j->nh, j->ws + s * j->t);
      else
        attn_fwd_pair(j, u / j->nh, u % j->nh);
    }
  }
}

void evo_attention_forward(float *y, float *prob, const float *qkv, size_t n,
                           size_t t, size_t d, size_t nh, evo_workers *team) {
  attn_job j = {y, prob, NULL, NULL, qkv, NULL, NULL, n, t, d, nh};
  evo_workers_run(team, evo_workers_count(team), attn_task, &j);
}

void evo_attention_backward(float *dqkv, const float *dy, const float *qkv,
                            const float *prob, size_t n, size_t t, size_t d,
                            size_t nh, float *ws, evo_workers *team) {
  attn_job j = {NULL, NULL, dqkv, ws, qkv, dy, prob, n, t, d, nh};
  evo_workers_run(team, evo_workers_count(team), attn_task, &j);
}

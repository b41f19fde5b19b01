/* Runs the transformer layers of libevoopt/nn (issue 12) as one small
 * GPT-style block and writes weights, inputs, every activation, the loss
 * and every gradient to a file that tests/ref/transformer_parity.py replays
 * in PyTorch.
 *
 * Usage: transformer_parity_dump OUT_FILE [SEED [THREADS]]
 *
 * The block: token + position embedding -> x0; x1 = x0 + proj(attn(qkv(
 * ln1(x0)))); x2 = x1 + fc2(gelu(fc1(ln2(x1)))); logits = head(lnf(x2));
 * sequence cross-entropy against the targets. Shapes: B = 3 sequences of
 * T = 16 tokens, vocabulary 65, width 32, 4 heads, MLP 128. A test program,
 * so it allocates freely; the layers it calls never do.
 *
 * File: records of  u32 name length | name | u64 count | count float32,
 * little-endian: "p:<tensor>" each parameter ("p:lm_head.bias" twice:
 * the later record, with one token favoured, counts), "tok", "tgt" (as
 * floats), the activations "a:<name>", "loss", "correct", "g:<tensor>" each
 * gradient; then a second batch run forward only (evaluation): "tok2",
 * "tgt2", "logits2", "loss2", "correct2". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "nn/layers_internal.h"

enum { B = 3, T = 16, V = 65, D = 32, NH = 4, F = 4 * D, M = B * T };
enum { FAVOURED = 7 };

enum {
  WTE, WPE, LN1W, LN1B, QKVW, QKVB, PROJW, PROJB, LN2W, LN2B,
  FCW, FCB, MPW, MPB, LNFW, LNFB, HEADW, HEADB, NTENSORS
};

static const struct {
  const char *name;
  size_t size;
  double scale; /* normal(0, scale); LN weights 1 + that */
} TENSORS[NTENSORS] = {
    {"wte.weight", V * D, 1.0},         {"wpe.weight", T * D, 1.0},
    {"ln1.weight", D, 0.3},             {"ln1.bias", D, 0.3},
    {"attn.c_attn.weight", 3 * D * D, 0.18}, {"attn.c_attn.bias", 3 * D, 0.1},
    {"attn.c_proj.weight", D * D, 0.18},     {"attn.c_proj.bias", D, 0.1},
    {"ln2.weight", D, 0.3},             {"ln2.bias", D, 0.3},
    {"mlp.c_fc.weight", F * D, 0.18},   {"mlp.c_fc.bias", F, 0.1},
    {"mlp.c_proj.weight", D * F, 0.09}, {"mlp.c_proj.bias", D, 0.1},
    {"ln_f.weight", D, 0.3},            {"ln_f.bias", D, 0.3},
    {"lm_head.weight", V * D, 0.18},    {"lm_head.bias", V, 0.1},
};

/* Activations, named as in the file. */
enum {
  X0, LN1, QKV, ATT, PROJ, X1, LN2, FC, GE, MLP, X2, LNF, LOGITS, NACTS
};
static const struct {
  const char *name;
  size_t size;
} ACTS[NACTS] = {{"x0", M * D},  {"ln1", M * D},    {"qkv", M * 3 * D},
                 {"att", M * D}, {"proj", M * D},   {"x1", M * D},
                 {"ln2", M * D}, {"fc", M * F},     {"gelu", M * F},
                 {"mlp", M * D}, {"x2", M * D},     {"lnf", M * D},
                 {"logits", M * V}};

typedef struct model {
  float *p[NTENSORS], *g[NTENSORS], *a[NACTS];
  float *prob, *mean[3], *rstd[3];
  /* gradient buffers */
  float *dlogits, *dlnf, *dx2, *dge, *dfc, *dln2, *dtmp, *dx1, *datt, *dqkv,
      *dln1, *dx0, *attn_ws;
  double *acc;
  evo_workers *team;
} model;

static void put(evo_wbuf *w, const char *name, const float *p, size_t n) {
  evo_wbuf_str(w, name);
  evo_wbuf_u64(w, n);
  evo_wbuf_f32s(w, p, n);
}

static float *alloc_f(size_t n, int *bad) {
  float *p = calloc(n, sizeof *p);
  *bad |= p == NULL;
  return p;
}

static int model_new(model *m, size_t threads) {
  int bad = 0;
  memset(m, 0, sizeof *m);
  for (size_t i = 0; i < NTENSORS; i++) {
    m->p[i] = alloc_f(TENSORS[i].size, &bad);
    m->g[i] = alloc_f(TENSORS[i].size, &bad);
  }
  for (size_t i = 0; i < NACTS; i++)
    m->a[i] = alloc_f(ACTS[i].size, &bad);
  m->prob = alloc_f((size_t)B * NH * T * T, &bad);
  for (size_t i = 0; i < 3; i++) {
    m->mean[i] = alloc_f(M, &bad);
    m->rstd[i] = alloc_f(M, &bad);
  }
  float **md[] = {&m->dlnf, &m->dx2, &m->dln2, &m->dtmp, &m->dx1,
                  &m->datt, &m->dln1, &m->dx0};
  for (size_t i = 0; i < sizeof md / sizeof *md; i++)
    *md[i] = alloc_f(M * D, &bad);
  m->dlogits = alloc_f(M * V, &bad);
  m->dge = alloc_f(M * F, &bad);
  m->dfc = alloc_f(M * F, &bad);
  m->dqkv = alloc_f(M * 3 * D, &bad);
  m->attn_ws = alloc_f(EVO_ATTN_WS_FLOATS(T), &bad);
  m->acc = calloc(EVO_LN_ACC_DOUBLES(D), sizeof *m->acc);
  bad |= m->acc == NULL;
  if (bad)
    return EVO_ENOMEM;
  return threads > 1 ? evo_workers_new(&m->team, threads) : EVO_OK;
}

static void model_free(model *m) {
  for (size_t i = 0; i < NTENSORS; i++)
    free(m->p[i]), free(m->g[i]);
  for (size_t i = 0; i < NACTS; i++)
    free(m->a[i]);
  for (size_t i = 0; i < 3; i++)
    free(m->mean[i]), free(m->rstd[i]);
  free(m->prob), free(m->dlnf), free(m->dx2), free(m->dln2), free(m->dtmp);
  free(m->dx1), free(m->datt), free(m->dln1), free(m->dx0), free(m->dlogits);
  free(m->dge), free(m->dfc), free(m->dqkv), free(m->attn_ws), free(m->acc);
  evo_workers_free(m->team);
}

static void forward(model *m, const uint8_t *tok) {
  float **a = m->a, **p = m->p;
  evo_workers *tm = m->team;
  evo_embed_forward(a[X0], tok, p[WTE], p[WPE], B, T, D);
  evo_ln_forward(a[LN1], m->mean[0], m->rstd[0], a[X0], p[LN1W], p[LN1B], M, D,
                 tm);
  evo_linear_forward(a[QKV], a[LN1], p[QKVW], p[QKVB], M, D, 3 * D, false, tm);
  evo_attention_forward(a[ATT], m->prob, a[QKV], B, T, D, NH, tm);
  evo_linear_forward(a[PROJ], a[ATT], p[PROJW], p[PROJB], M, D, D, false, tm);
  evo_residual_forward(a[X1], a[X0], a[PROJ], M * D);
  evo_ln_forward(a[LN2], m->mean[1], m->rstd[1], a[X1], p[LN2W], p[LN2B], M, D,
                 tm);
  evo_linear_forward(a[FC], a[LN2], p[FCW], p[FCB], M, D, F, false, tm);
  evo_gelu_forward(a[GE], a[FC], M * F, tm);
  evo_linear_forward(a[MLP], a[GE], p[MPW], p[MPB], M, F, D, false, tm);
  evo_residual_forward(a[X2], a[X1], a[MLP], M * D);
  evo_ln_forward(a[LNF], m->mean[2], m->rstd[2], a[X2], p[LNFW], p[LNFB], M, D,
                 tm);
  evo_linear_forward(a[LOGITS], a[LNF], p[HEADW], p[HEADB], M, D, V, false,
                     tm);
}

/* The gradient of the stream: a branch's input gradient added into it. */
static void backward(model *m, const uint8_t *tok) {
  float **a = m->a, **p = m->p, **g = m->g;
  evo_workers *tm = m->team;
  evo_linear_backward(m->dlnf, g[HEADW], g[HEADB], m->dlogits, a[LOGITS],
                      a[LNF], p[HEADW], M, D, V, false, tm);
  evo_ln_backward(m->dx2, g[LNFW], g[LNFB], m->dlnf, a[X2], m->mean[2],
                  m->rstd[2], p[LNFW], M, D, m->acc, tm);
  evo_linear_backward(m->dge, g[MPW], g[MPB], m->dx2, a[MLP], a[GE], p[MPW], M,
                      F, D, false, tm);
  evo_gelu_backward(m->dfc, m->dge, a[FC], M * F, tm);
  evo_linear_backward(m->dln2, g[FCW], g[FCB], m->dfc, a[FC], a[LN2], p[FCW],
                      M, D, F, false, tm);
  evo_ln_backward(m->dtmp, g[LN2W], g[LN2B], m->dln2, a[X1], m->mean[1],
                  m->rstd[1], p[LN2W], M, D, m->acc, tm);
  memcpy(m->dx1, m->dx2, M * D * sizeof *m->dx1);
  evo_residual_backward(m->dx1, m->dtmp, M * D);
  evo_linear_backward(m->datt, g[PROJW], g[PROJB], m->dx1, a[PROJ], a[ATT],
                      p[PROJW], M, D, D, false, tm);
  evo_attention_backward(m->dqkv, m->datt, a[QKV], m->prob, B, T, D, NH,
                         m->attn_ws, tm);
  evo_linear_backward(m->dln1, g[QKVW], g[QKVB], m->dqkv, a[QKV], a[LN1],
                      p[QKVW], M, D, 3 * D, false, tm);
  evo_ln_backward(m->dtmp, g[LN1W], g[LN1B], m->dln1, a[X0], m->mean[0],
                  m->rstd[0], p[LN1W], M, D, m->acc, tm);
  memcpy(m->dx0, m->dx1, M * D * sizeof *m->dx0);
  evo_residual_backward(m->dx0, m->dtmp, M * D);
  evo_embed_backward(g[WTE], g[WPE], m->dx0, tok, B, T, D, V);
}

static void draw_tokens(evo_rng *rng, uint8_t *tok, uint8_t *tgt, float *ft,
                        float *fg) {
  for (size_t i = 0; i < M; i++) {
    tok[i] = (uint8_t)evo_rng_below(rng, V);
    /* Every other target is the token the head favours (see run), so
     * that the arg-max count is far from 0. */
    tgt[i] = i % 2 ? FAVOURED : (uint8_t)evo_rng_below(rng, V);
    ft[i] = (float)tok[i];
    fg[i] = (float)tgt[i];
  }
}

static void run(model *m, evo_wbuf *w, evo_rng *rng) {
  for (size_t i = 0; i < NTENSORS; i++) {
    bool ln_weight = strstr(TENSORS[i].name, "ln") == TENSORS[i].name &&
                     strstr(TENSORS[i].name, ".weight") != NULL;
    for (size_t j = 0; j < TENSORS[i].size; j++)
      m->p[i][j] = (float)((ln_weight ? 1.0 : 0.0) +
                           TENSORS[i].scale * evo_rng_normal(rng));
    char name[64];
    snprintf(name, sizeof name, "p:%s", TENSORS[i].name);
    put(w, name, m->p[i], TENSORS[i].size);
  }
  m->p[HEADB][FAVOURED] += 3.0f; /* a token often predicted */
  put(w, "p:lm_head.bias", m->p[HEADB], V);
  uint8_t tok[M], tgt[M];
  float ft[M], fg[M];
  draw_tokens(rng, tok, tgt, ft, fg);
  put(w, "tok", ft, M);
  put(w, "tgt", fg, M);
  forward(m, tok);
  size_t correct = 0;
  double loss = evo_seq_ce(m->dlogits, &correct, m->a[LOGITS], tgt, M, V,
                           m->team);
  backward(m, tok);
  char name[64];
  for (size_t i = 0; i < NACTS; i++) {
    snprintf(name, sizeof name, "a:%s", ACTS[i].name);
    put(w, name, m->a[i], ACTS[i].size);
  }
  float v = (float)loss;
  put(w, "loss", &v, 1);
  v = (float)correct;
  put(w, "correct", &v, 1);
  for (size_t i = 0; i < NTENSORS; i++) {
    snprintf(name, sizeof name, "g:%s", TENSORS[i].name);
    put(w, name, m->g[i], TENSORS[i].size);
  }
  draw_tokens(rng, tok, tgt, ft, fg);
  put(w, "tok2", ft, M);
  put(w, "tgt2", fg, M);
  forward(m, tok);
  loss = evo_seq_ce(NULL, &correct, m->a[LOGITS], tgt, M, V, m->team);
  put(w, "logits2", m->a[LOGITS], M * V);
  v = (float)loss;
  put(w, "loss2", &v, 1);
  v = (float)correct;
  put(w, "correct2", &v, 1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUT_FILE [SEED [THREADS]]\n", argv[0]);
    return 2;
  }
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
  size_t threads = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
  if (threads < 1 || threads > EVO_NET_MAX_THREADS) {
    fprintf(stderr, "transformer_parity_dump: THREADS must be 1..%d\n",
            EVO_NET_MAX_THREADS);
    return 2;
  }
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  evo_wbuf w = {0};
  model m;
  int rc = model_new(&m, threads);
  if (!rc) {
    run(&m, &w, &rng);
    rc = w.status;
  }
  if (!rc)
    rc = evo_write_file_atomic(argv[1], w.data, w.size);
  if (rc)
    fprintf(stderr, "transformer_parity_dump: %s\n", evo_last_error());
  evo_wbuf_free(&w);
  model_free(&m);
  return rc ? 1 : 0;
}

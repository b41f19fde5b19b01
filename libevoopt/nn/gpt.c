/* The character-level GPT (gpt_internal.h; doc/algorithm.md §7): the
 * transformer layers of layers_internal.h chained as nanoGPT's model, every
 * buffer carved at creation from one 64-byte-aligned block. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "nn/gpt_internal.h"
#include "nn/layers_internal.h"

#define ALIGN 64
#define MAX_BATCH_LIMIT ((size_t)1 << 16)
/* Tensors: wte, wpe, 12 per block, ln_f weight and bias, head weight and
 * bias. */
#define PER_BLOCK 12
#define MAX_TENSORS (2 + PER_BLOCK * EVO_GPT_MAX_LAYERS + 4)

/* A block's tensors, in arena order (PyTorch's named_parameters order). */
enum {
  LN1W, LN1B, QKVW, QKVB, PROJW, PROJB, LN2W, LN2B, FCW, FCB, MPW, MPB
};
static const char *const block_names[PER_BLOCK] = {
    "ln1.weight",        "ln1.bias",           "attn.c_attn.weight",
    "attn.c_attn.bias",  "attn.c_proj.weight", "attn.c_proj.bias",
    "ln2.weight",        "ln2.bias",           "mlp.c_fc.weight",
    "mlp.c_fc.bias",     "mlp.c_proj.weight",  "mlp.c_proj.bias"};

/* A block's saved activations ([max_batch·ctx] rows). */
typedef struct gpt_block {
  size_t t0; /* index of its first tensor */
  float *ln1, *mean1, *rstd1, *qkv, *att, *prob;
  float *ln2, *mean2, *rstd2, *fc, *ge;
} gpt_block;

struct evo_gpt {
  evo_gpt_config cfg;
  size_t max_batch;
  evo_net_tensor tensors[MAX_TENSORS];
  size_t n_tensors, n_params;
  gpt_block blocks[EVO_GPT_MAX_LAYERS];
  float *params, *grads;
  float *stream[2 * EVO_GPT_MAX_LAYERS + 1]; /* the residual stream */
  float *lnf, *meanf, *rstdf, *logits, *dlogits;
  float *tmp;                      /* a branch's output */
  float *ds, *dmid, *dqkv, *dbig;  /* gradients */
  float *attn_ws;                  /* EVO_ATTN_WS_FLOATS(ctx) */
  double *acc;                     /* EVO_LN_ACC_DOUBLES(width) */
  uint8_t *tok;                    /* the last forward's tokens */
  evo_workers *team;               /* NULL: one thread */
  size_t threads;
  void *block;
  size_t block_bytes;
  size_t n; /* sequences of the last forward, 0 when none */
  bool have_loss;
};

size_t evo_gpt_config_params(const evo_gpt_config *c) {
  const size_t v = c->vocab, t = c->ctx, d = c->width;
  return v * d + t * d + c->layers * (12 * d * d + 13 * d) + 2 * d + v * d + v;
}

/* ---- tensors ------------------------------------------------------------ */

static void add_tensor(evo_gpt *m, const char *name, evo_tensor_kind kind,
                       size_t size) {
  evo_net_tensor *t = &m->tensors[m->n_tensors++];
  size_t len = strlen(name); /* at most 23 for 16 layers */
  if (len >= sizeof t->name)
    len = sizeof t->name - 1;
  memcpy(t->name, name, len);
  t->name[len] = '\0';
  t->kind = kind;
  t->offset = m->n_params;
  t->size = size;
  m->n_params += size;
}

static evo_tensor_kind block_kind(size_t k) {
  if (k == LN1W || k == LN2W)
    return EVO_TENSOR_LN_WEIGHT;
  if (k == LN1B || k == LN2B)
    return EVO_TENSOR_LN_BIAS;
  return k % 2 == 0 ? EVO_TENSOR_WEIGHT : EVO_TENSOR_BIAS;
}

static void layout_tensors(evo_gpt *m) {
  const size_t v = m->cfg.vocab, d = m->cfg.width, f = 4 * d;
  const size_t sizes[PER_BLOCK] = {d, d, 3 * d * d, 3 * d, d * d, d,
                                   d, d, f * d,     f,     d * f, d};
  add_tensor(m, "wte.weight", EVO_TENSOR_EMBEDDING, v * d);
  add_tensor(m, "wpe.weight", EVO_TENSOR_EMBEDDING, m->cfg.ctx * d);
  for (size_t l = 0; l < m->cfg.layers; l++) {
    m->blocks[l].t0 = m->n_tensors;
    for (size_t k = 0; k < PER_BLOCK; k++) {
      char name[32];
      snprintf(name, sizeof name, "h.%zu.%s", l, block_names[k]);
      add_tensor(m, name, block_kind(k), sizes[k]);
    }
  }
  add_tensor(m, "ln_f.weight", EVO_TENSOR_LN_WEIGHT, d);
  add_tensor(m, "ln_f.bias", EVO_TENSOR_LN_BIAS, d);
  add_tensor(m, "lm_head.weight", EVO_TENSOR_WEIGHT, v * d);
  add_tensor(m, "lm_head.bias", EVO_TENSOR_BIAS, v);
}

/* ---- memory (the carving of net.c: measure with base NULL, then assign) */

typedef struct carver {
  char *base;
  size_t used;
} carver;

static float *carve(carver *cv, size_t floats) {
  void *p = cv->base ? cv->base + cv->used : NULL;
  cv->used += (floats * sizeof(float) + ALIGN - 1) / ALIGN * ALIGN;
  return p;
}

static void carve_all(evo_gpt *m, carver *cv) {
  const size_t rows = m->max_batch * m->cfg.ctx, d = m->cfg.width;
  const size_t f = 4 * d, v = m->cfg.vocab, t = m->cfg.ctx;
  m->params = carve(cv, m->n_params);
  m->grads = carve(cv, m->n_params);
  for (size_t i = 0; i < 2 * m->cfg.layers + 1; i++)
    m->stream[i] = carve(cv, rows * d);
  for (size_t l = 0; l < m->cfg.layers; l++) {
    gpt_block *b = &m->blocks[l];
    b->ln1 = carve(cv, rows * d);
    b->mean1 = carve(cv, rows);
    b->rstd1 = carve(cv, rows);
    b->qkv = carve(cv, rows * 3 * d);
    b->att = carve(cv, rows * d);
    b->prob = carve(cv, m->max_batch * m->cfg.heads * t * t);
    b->ln2 = carve(cv, rows * d);
    b->mean2 = carve(cv, rows);
    b->rstd2 = carve(cv, rows);
    b->fc = carve(cv, rows * f);
    b->ge = carve(cv, rows * f);
  }
  m->lnf = carve(cv, rows * d);
  m->meanf = carve(cv, rows);
  m->rstdf = carve(cv, rows);
  m->logits = carve(cv, rows * v);
  m->dlogits = carve(cv, rows * v);
  m->tmp = carve(cv, rows * d);
  m->ds = carve(cv, rows * d);
  m->dmid = carve(cv, rows * d);
  m->dqkv = carve(cv, rows * 3 * d);
  m->dbig = carve(cv, rows * f);
  m->attn_ws = carve(cv, EVO_ATTN_WS_FLOATS(t));
  m->acc = (double *)(void *)carve(cv, 2 * EVO_LN_ACC_DOUBLES(d));
  m->tok = (uint8_t *)(void *)carve(cv, (rows + sizeof(float) - 1) /
                                            sizeof(float));
}

static int check_config(const evo_gpt_config *c, size_t max_batch) {
  if (c->vocab < 2 || c->vocab > 256)
    return evo_set_error(EVO_EINVAL, "evo_gpt_new: vocabulary %zu outside "
                                     "2..256", c->vocab);
  if (c->layers == 0 || c->layers > EVO_GPT_MAX_LAYERS)
    return evo_set_error(EVO_EINVAL, "evo_gpt_new: %zu layers outside 1..%d",
                         c->layers, EVO_GPT_MAX_LAYERS);
  if (c->heads == 0 || c->width == 0 || c->width % c->heads != 0 ||
      c->width > 4096)
    return evo_set_error(EVO_EINVAL,
                         "evo_gpt_new: width %zu is not a multiple of %zu "
                         "heads in 1..4096",
                         c->width, c->heads);
  if (c->ctx == 0 || c->ctx > 4096)
    return evo_set_error(EVO_EINVAL, "evo_gpt_new: context %zu outside "
                                     "1..4096", c->ctx);
  if (max_batch == 0 || max_batch > MAX_BATCH_LIMIT ||
      max_batch * c->ctx > ((size_t)1 << 24))
    return evo_set_error(EVO_EINVAL,
                         "evo_gpt_new: max_batch %zu outside 1..%zu or more "
                         "than 2^24 positions",
                         max_batch, MAX_BATCH_LIMIT);
  return EVO_OK;
}

int evo_gpt_new(evo_gpt **out, const evo_gpt_config *c, size_t max_batch) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(c);
  int rc = check_config(c, max_batch);
  if (rc)
    return rc;
  evo_gpt *m = evo_calloc(1, sizeof *m);
  if (!m)
    return EVO_ENOMEM;
  m->cfg = *c;
  m->max_batch = max_batch;
  layout_tensors(m);
  carver cv = {NULL, 0};
  carve_all(m, &cv);
  m->block = aligned_alloc(ALIGN, cv.used);
  if (!m->block) {
    free(m);
    return evo_set_error(EVO_ENOMEM,
                         "evo_gpt_new: cannot allocate %zu bytes for batch "
                         "%zu",
                         cv.used, max_batch);
  }
  memset(m->block, 0, cv.used); /* no page faults in the first step */
  m->block_bytes = cv.used;
  cv = (carver){m->block, 0};
  carve_all(m, &cv);
  m->threads = 1;
  *out = m;
  return EVO_OK;
}

void evo_gpt_free(evo_gpt *m) {
  if (!m)
    return;
  evo_workers_free(m->team);
  free(m->block);
  free(m);
}

int evo_gpt_set_threads(evo_gpt *m, size_t threads) {
  EVO_CHECK_ARG(m);
  if (threads == 0 || threads > EVO_SLICES)
    return evo_set_error(EVO_ERANGE,
                         "evo_gpt_set_threads: %zu threads outside 1..%d",
                         threads, EVO_SLICES);
  evo_workers *team = NULL;
  int rc = threads > 1 ? evo_workers_new(&team, threads) : EVO_OK;
  if (rc)
    return rc;
  evo_workers_free(m->team);
  m->team = team;
  m->threads = threads;
  return EVO_OK;
}

size_t evo_gpt_threads(const evo_gpt *m) {
  return m->threads;
}
const evo_gpt_config *evo_gpt_get_config(const evo_gpt *m) {
  return &m->cfg;
}
size_t evo_gpt_max_batch(const evo_gpt *m) {
  return m->max_batch;
}
size_t evo_gpt_memory(const evo_gpt *m) {
  return m->block_bytes;
}
float *evo_gpt_params(evo_gpt *m) {
  return m->params;
}
float *evo_gpt_grads(evo_gpt *m) {
  return m->grads;
}
size_t evo_gpt_param_count(const evo_gpt *m) {
  return m->n_params;
}
size_t evo_gpt_tensor_count(const evo_gpt *m) {
  return m->n_tensors;
}
const evo_net_tensor *evo_gpt_tensor_at(const evo_gpt *m, size_t i) {
  return i < m->n_tensors ? &m->tensors[i] : NULL;
}

/* ---- initialisation ------------------------------------------------------ */

void evo_gpt_init(evo_gpt *m, evo_rng *rng) {
  for (size_t i = 0; i < m->n_tensors; i++) {
    const evo_net_tensor *t = &m->tensors[i];
    float *p = m->params + t->offset;
    /* A linear layer's fan-in: its weight's size over its bias's. */
    const evo_net_tensor *w = t->kind == EVO_TENSOR_BIAS ? t - 1 : t;
    double bound = 1.0 / sqrt((double)w->size / (double)w[1].size);
    for (size_t j = 0; j < t->size; j++) {
      switch (t->kind) {
      case EVO_TENSOR_EMBEDDING: p[j] = (float)evo_rng_normal(rng); break;
      case EVO_TENSOR_LN_WEIGHT: p[j] = 1.0f; break;
      case EVO_TENSOR_LN_BIAS: p[j] = 0.0f; break;
      default: p[j] = (float)evo_rng_range(rng, -bound, bound); break;
      }
    }
  }
}

/* ---- forward ------------------------------------------------------------ */

static void block_forward(evo_gpt *m, size_t l, size_t n) {
  const gpt_block *b = &m->blocks[l];
  const float *p = m->params;
  const evo_net_tensor *t = &m->tensors[b->t0];
  const size_t d = m->cfg.width, f = 4 * d, rows = n * m->cfg.ctx;
  const float *x = m->stream[2 * l];
  float *mid = m->stream[2 * l + 1], *y = m->stream[2 * l + 2];
  evo_workers *tm = m->team;
  evo_ln_forward(b->ln1, b->mean1, b->rstd1, x, p + t[LN1W].offset,
                 p + t[LN1B].offset, rows, d, tm);
  evo_linear_forward(b->qkv, b->ln1, p + t[QKVW].offset, p + t[QKVB].offset,
                     rows, d, 3 * d, false, tm);
  evo_attention_forward(b->att, b->prob, b->qkv, n, m->cfg.ctx, d,
                        m->cfg.heads, tm);
  evo_linear_forward(m->tmp, b->att, p + t[PROJW].offset, p + t[PROJB].offset,
                     rows, d, d, false, tm);
  evo_residual_forward(mid, x, m->tmp, rows * d);
  evo_ln_forward(b->ln2, b->mean2, b->rstd2, mid, p + t[LN2W].offset,
                 p + t[LN2B].offset, rows, d, tm);
  evo_linear_forward(b->fc, b->ln2, p + t[FCW].offset, p + t[FCB].offset, rows,
                     d, f, false, tm);
  evo_gelu_forward(b->ge, b->fc, rows * f, tm);
  evo_linear_forward(m->tmp, b->ge, p + t[MPW].offset, p + t[MPB].offset, rows,
                     f, d, false, tm);
  evo_residual_forward(y, mid, m->tmp, rows * d);
}

int evo_gpt_forward(evo_gpt *m, const uint8_t *tok, size_t n) {
  EVO_CHECK_ARG(m);
  EVO_CHECK_ARG(tok);
  if (n == 0 || n > m->max_batch)
    return evo_set_error(EVO_EINVAL,
                         "evo_gpt_forward: batch %zu outside 1..%zu", n,
                         m->max_batch);
  const size_t t = m->cfg.ctx, d = m->cfg.width, rows = n * t;
  for (size_t i = 0; i < rows; i++)
    if (tok[i] >= m->cfg.vocab)
      return evo_set_error(EVO_ERANGE,
                           "evo_gpt_forward: token %u at position %zu of "
                           "sequence %zu is not below the vocabulary %zu",
                           (unsigned)tok[i], i % t, i / t, m->cfg.vocab);
  m->n = n;
  m->have_loss = false;
  memcpy(m->tok, tok, rows);
  const float *p = m->params;
  const evo_net_tensor *ts = m->tensors, *tf = &m->tensors[m->n_tensors - 4];
  evo_embed_forward(m->stream[0], tok, p + ts[0].offset, p + ts[1].offset, n,
                    t, d);
  for (size_t l = 0; l < m->cfg.layers; l++)
    block_forward(m, l, n);
  evo_ln_forward(m->lnf, m->meanf, m->rstdf, m->stream[2 * m->cfg.layers],
                 p + tf[0].offset, p + tf[1].offset, rows, d, m->team);
  evo_linear_forward(m->logits, m->lnf, p + tf[2].offset, p + tf[3].offset,
                     rows, d, m->cfg.vocab, false, m->team);
  return EVO_OK;
}

const float *evo_gpt_logits(const evo_gpt *m) {
  return m->logits;
}

static int check_targets(const evo_gpt *m, const uint8_t *targets,
                         const char *what) {
  if (m->n == 0)
    return evo_set_error(EVO_ESTATE, "%s: no forward pass yet", what);
  const size_t rows = m->n * m->cfg.ctx;
  for (size_t i = 0; i < rows; i++)
    if (targets[i] >= m->cfg.vocab)
      return evo_set_error(EVO_ERANGE,
                           "%s: target %u at position %zu of sequence %zu "
                           "is not below the vocabulary %zu",
                           what, (unsigned)targets[i], i % m->cfg.ctx,
                           i / m->cfg.ctx, m->cfg.vocab);
  return EVO_OK;
}

int evo_gpt_loss(evo_gpt *m, const uint8_t *targets, double *loss,
                 size_t *correct) {
  EVO_CHECK_ARG(m);
  EVO_CHECK_ARG(targets);
  EVO_CHECK_ARG(loss);
  int rc = check_targets(m, targets, "evo_gpt_loss");
  if (rc)
    return rc;
  *loss = evo_seq_ce(m->dlogits, correct, m->logits, targets,
                     m->n * m->cfg.ctx, m->cfg.vocab, m->team);
  m->have_loss = true;
  return EVO_OK;
}

int evo_gpt_count_correct(evo_gpt *m, const uint8_t *targets,
                          size_t *correct) {
  EVO_CHECK_ARG(m);
  EVO_CHECK_ARG(targets);
  EVO_CHECK_ARG(correct);
  int rc = check_targets(m, targets, "evo_gpt_count_correct");
  if (rc)
    return rc;
  (void)evo_seq_ce(NULL, correct, m->logits, targets, m->n * m->cfg.ctx,
                   m->cfg.vocab, m->team);
  return EVO_OK;
}

/* ---- backward ----------------------------------------------------------- */

/* m->ds holds the gradient of block l's output; leaves that of its input.
 * A branch's input gradient is added into the stream's. */
static void block_backward(evo_gpt *m, size_t l, size_t n) {
  const gpt_block *b = &m->blocks[l];
  const float *p = m->params;
  float *g = m->grads;
  const evo_net_tensor *t = &m->tensors[b->t0];
  const size_t d = m->cfg.width, f = 4 * d, rows = n * m->cfg.ctx;
  const float *x = m->stream[2 * l], *mid = m->stream[2 * l + 1];
  evo_workers *tm = m->team;
  evo_linear_backward(m->dbig, g + t[MPW].offset, g + t[MPB].offset, m->ds,
                      m->tmp, b->ge, p + t[MPW].offset, rows, f, d, false, tm);
  evo_gelu_backward(m->dbig, m->dbig, b->fc, rows * f, tm);
  evo_linear_backward(m->dmid, g + t[FCW].offset, g + t[FCB].offset, m->dbig,
                      b->fc, b->ln2, p + t[FCW].offset, rows, d, f, false, tm);
  evo_ln_backward(m->dmid, g + t[LN2W].offset, g + t[LN2B].offset, m->dmid,
                  mid, b->mean2, b->rstd2, p + t[LN2W].offset, rows, d, m->acc,
                  tm);
  evo_residual_backward(m->ds, m->dmid, rows * d);
  evo_linear_backward(m->dmid, g + t[PROJW].offset, g + t[PROJB].offset, m->ds,
                      m->tmp, b->att, p + t[PROJW].offset, rows, d, d, false,
                      tm);
  evo_attention_backward(m->dqkv, m->dmid, b->qkv, b->prob, n, m->cfg.ctx, d,
                         m->cfg.heads, m->attn_ws, tm);
  evo_linear_backward(m->dmid, g + t[QKVW].offset, g + t[QKVB].offset, m->dqkv,
                      b->qkv, b->ln1, p + t[QKVW].offset, rows, d, 3 * d,
                      false, tm);
  evo_ln_backward(m->dmid, g + t[LN1W].offset, g + t[LN1B].offset, m->dmid, x,
                  b->mean1, b->rstd1, p + t[LN1W].offset, rows, d, m->acc, tm);
  evo_residual_backward(m->ds, m->dmid, rows * d);
}

int evo_gpt_backward(evo_gpt *m) {
  EVO_CHECK_ARG(m);
  if (!m->have_loss)
    return evo_set_error(EVO_ESTATE, "evo_gpt_backward: needs a forward pass "
                                     "and evo_gpt_loss first");
  const size_t n = m->n, d = m->cfg.width, v = m->cfg.vocab;
  const size_t rows = n * m->cfg.ctx;
  const float *p = m->params;
  float *g = m->grads;
  const evo_net_tensor *ts = m->tensors, *tf = &m->tensors[m->n_tensors - 4];
  evo_linear_backward(m->dmid, g + tf[2].offset, g + tf[3].offset, m->dlogits,
                      m->logits, m->lnf, p + tf[2].offset, rows, d, v, false,
                      m->team);
  evo_ln_backward(m->ds, g + tf[0].offset, g + tf[1].offset, m->dmid,
                  m->stream[2 * m->cfg.layers], m->meanf, m->rstdf,
                  p + tf[0].offset, rows, d, m->acc, m->team);
  for (size_t l = m->cfg.layers; l-- > 0;)
    block_backward(m, l, n);
  evo_embed_backward(g + ts[0].offset, g + ts[1].offset, m->ds, m->tok, n,
                     m->cfg.ctx, d, v);
  m->have_loss = false;
  return EVO_OK;
}

/* The network object (nn_internal.h): an architecture table (doc/algorithm.md
 * §3) compiled into a list of layers, with ReLUs fused into the layer before
 * them and dropout done in place; every buffer carved at creation from one
 * 64-byte-aligned block. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "nn/layers_internal.h"
#include "nn/nn_internal.h"

#define MAX_OPS 16
#define MAX_TENSORS 16
#define MAX_STAT_TENSORS 4
#define MAX_BATCH_LIMIT ((size_t)1 << 16)
#define ALIGN 64

/* ---- architecture tables (doc/algorithm.md §3) --------------------------- */

typedef enum spec_kind {
  S_END = 0,
  S_CONV,
  S_BN,
  S_RELU,
  S_POOL,
  S_DROPOUT,
  S_FLATTEN,
  S_LINEAR
} spec_kind;

typedef struct spec {
  spec_kind kind;
  size_t in, out; /* channels (conv) or features (linear) */
  float p;        /* dropout probability */
} spec;

/* One line per block of doc/algorithm.md §3's text. */
// clang-format off
static const spec small_cnn[] = {
    {S_CONV, 1, 32, 0}, {S_RELU, 0, 0, 0}, {S_POOL, 0, 0, 0},
    {S_CONV, 32, 64, 0}, {S_RELU, 0, 0, 0}, {S_POOL, 0, 0, 0},
    {S_FLATTEN, 0, 0, 0},
    {S_LINEAR, 3136, 256, 0}, {S_RELU, 0, 0, 0}, {S_DROPOUT, 0, 0, 0.3f},
    {S_LINEAR, 256, 10, 0},
    {S_END, 0, 0, 0}};

static const spec cifar10_cnn[] = {
    {S_CONV, 3, 32, 0}, {S_BN, 0, 0, 0}, {S_RELU, 0, 0, 0},
    {S_CONV, 32, 32, 0}, {S_RELU, 0, 0, 0},
    {S_POOL, 0, 0, 0}, {S_DROPOUT, 0, 0, 0.25f},
    {S_CONV, 32, 64, 0}, {S_BN, 0, 0, 0}, {S_RELU, 0, 0, 0},
    {S_CONV, 64, 64, 0}, {S_RELU, 0, 0, 0},
    {S_POOL, 0, 0, 0}, {S_DROPOUT, 0, 0, 0.25f},
    {S_FLATTEN, 0, 0, 0},
    {S_LINEAR, 4096, 512, 0}, {S_RELU, 0, 0, 0}, {S_DROPOUT, 0, 0, 0.5f},
    {S_LINEAR, 512, 10, 0},
    {S_END, 0, 0, 0}};

/* doc/algorithm.md §3 "digits": conv 1→16, ReLU, pool, linear 256→64, ReLU,
 * linear 64→10. */
static const spec digits_cnn[] = {
    {S_CONV, 1, 16, 0}, {S_RELU, 0, 0, 0}, {S_POOL, 0, 0, 0},
    {S_FLATTEN, 0, 0, 0},
    {S_LINEAR, 256, 64, 0}, {S_RELU, 0, 0, 0},
    {S_LINEAR, 64, 10, 0},
    {S_END, 0, 0, 0}};
// clang-format on

typedef struct arch_def {
  const char *name;
  size_t c, h, w, classes;
  const spec *layers;
} arch_def;

static const arch_def arches[EVO_ARCH_COUNT] = {
    {"small_cnn", 1, 28, 28, 10, small_cnn},
    {"cifar10_cnn", 3, 32, 32, 10, cifar10_cnn},
    {"digits_cnn", 1, 8, 8, 10, digits_cnn}};

/* ---- the object --------------------------------------------------------- */

typedef struct net_op {
  evo_layer_kind kind;
  bool relu;         /* ReLU fused into the output */
  float p;           /* dropout probability */
  size_t c, h, w;    /* input per image (features: c, h = w = 1) */
  size_t oc, oh, ow; /* output per image */
  evo_conv conv;
  size_t w_off, b_off; /* parameter offsets (conv, BN, linear) */
  size_t stat_off;     /* BN running mean; running variance at + oc */
  float *out;          /* [max_batch][oh][ow][oc]; dropout: its input */
  uint8_t *mask;       /* pool argmax or dropout mask */
  float *mean, *rstd;  /* BN batch statistics of the last forward */
  bool active;         /* dropout applied in the last forward */
} net_op;

struct evo_net {
  evo_arch arch;
  const arch_def *def;
  size_t max_batch;
  net_op ops[MAX_OPS];
  size_t n_ops;
  evo_net_tensor tensors[MAX_TENSORS], stat_tensors[MAX_STAT_TENSORS];
  size_t n_tensors, n_stat_tensors, n_params, n_stats;
  size_t max_act; /* floats per image of the largest activation */
  size_t ws_floats, acc_doubles;
  float *params, *grads, *stats;
  float *input; /* NHWC copy of the batch */
  float *g[2];  /* ping-pong gradient buffers */
  float *dlogits;
  float *ws;         /* conv workspace, shared by every conv (own block) */
  double *acc;       /* BN sums */
  evo_workers *team; /* NULL: one thread */
  size_t threads;
  void *block;
  size_t block_bytes;
  size_t n; /* batch of the last forward, 0 when none */
  bool trained, have_loss, dropout;
  bool timing;
  evo_net_timing times;
};

const char *evo_arch_name(evo_arch arch) {
  return (unsigned)arch < EVO_ARCH_COUNT ? arches[arch].name : NULL;
}

int evo_arch_from_name(evo_arch *out, const char *name) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(name);
  for (int a = 0; a < EVO_ARCH_COUNT; a++)
    if (strcmp(arches[a].name, name) == 0) {
      *out = (evo_arch)a;
      return EVO_OK;
    }
  return evo_set_error(EVO_ENOTFOUND,
                       "unknown network '%s' (small_cnn, cifar10_cnn, "
                       "digits_cnn)",
                       name);
}

/* ---- compiling the table ------------------------------------------------ */

static void add_tensor(evo_net_tensor *list, size_t *count, size_t *total,
                       const char *prefix, size_t index, const char *suffix,
                       evo_tensor_kind kind, size_t size) {
  evo_net_tensor *t = &list[(*count)++];
  snprintf(t->name, sizeof t->name, "%s%zu.%s", prefix, index, suffix);
  t->kind = kind;
  t->offset = *total;
  t->size = size;
  *total += size;
}

/* Shapes, parameter offsets and workspace sizes of one layer. */
static void compile_layer(evo_net *net, net_op *op, const spec *s,
                          size_t counts[3]) {
  op->oc = op->c, op->oh = op->h, op->ow = op->w;
  switch (s->kind) {
  case S_CONV:
    op->kind = EVO_LAYER_CONV;
    op->oc = s->out;
    evo_conv_setup(&op->conv, s->in, s->out, op->h, op->w, false);
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "conv",
               ++counts[0], "weight", EVO_TENSOR_WEIGHT, s->out * s->in * 9);
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "conv", counts[0],
               "bias", EVO_TENSOR_BIAS, s->out);
    break;
  case S_BN:
    op->kind = EVO_LAYER_BN;
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "bn", ++counts[1],
               "weight", EVO_TENSOR_BN_WEIGHT, op->c);
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "bn", counts[1],
               "bias", EVO_TENSOR_BN_BIAS, op->c);
    add_tensor(net->stat_tensors, &net->n_stat_tensors, &net->n_stats, "bn",
               counts[1], "running_mean", EVO_TENSOR_BN_MEAN, op->c);
    add_tensor(net->stat_tensors, &net->n_stat_tensors, &net->n_stats, "bn",
               counts[1], "running_var", EVO_TENSOR_BN_VAR, op->c);
    if (EVO_BN_ACC_DOUBLES(op->c) > net->acc_doubles)
      net->acc_doubles = EVO_BN_ACC_DOUBLES(op->c);
    break;
  case S_POOL:
    op->kind = EVO_LAYER_POOL;
    op->oh = op->h / 2, op->ow = op->w / 2;
    break;
  case S_DROPOUT:
    op->kind = EVO_LAYER_DROPOUT;
    op->p = s->p;
    break;
  case S_FLATTEN:
    op->kind = EVO_LAYER_FLATTEN;
    op->oc = op->c * op->h * op->w, op->oh = op->ow = 1;
    break;
  default: /* S_LINEAR */
    op->kind = EVO_LAYER_LINEAR;
    op->oc = s->out;
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "fc", ++counts[2],
               "weight", EVO_TENSOR_WEIGHT, s->out * s->in);
    add_tensor(net->tensors, &net->n_tensors, &net->n_params, "fc", counts[2],
               "bias", EVO_TENSOR_BIAS, s->out);
    break;
  }
}

/* Parameter offsets: the tensors added by the layer, in order. */
static void link_params(const evo_net *net, net_op *op, size_t first_tensor,
                        size_t first_stat) {
  if (op->kind == EVO_LAYER_CONV || op->kind == EVO_LAYER_LINEAR ||
      op->kind == EVO_LAYER_BN) {
    op->w_off = net->tensors[first_tensor].offset;
    op->b_off = net->tensors[first_tensor + 1].offset;
  }
  if (op->kind == EVO_LAYER_BN)
    op->stat_off = net->stat_tensors[first_stat].offset;
}

static void compile(evo_net *net) {
  size_t c = net->def->c, h = net->def->h, w = net->def->w;
  size_t counts[3] = {0, 0, 0};
  net->max_act = c * h * w;
  for (const spec *s = net->def->layers; s->kind != S_END; s++) {
    if (s->kind == S_RELU) { /* fused into the layer before */
      net_op *prev = &net->ops[net->n_ops - 1];
      prev->relu = true;
      prev->conv.relu = true;
      continue;
    }
    net_op *op = &net->ops[net->n_ops++];
    size_t t0 = net->n_tensors, s0 = net->n_stat_tensors;
    op->c = c, op->h = h, op->w = w;
    compile_layer(net, op, s, counts);
    link_params(net, op, t0, s0);
    c = op->oc, h = op->oh, w = op->ow;
    if (c * h * w > net->max_act)
      net->max_act = c * h * w;
  }
}

/* ---- memory ------------------------------------------------------------- */

/* Hands out 64-byte-aligned pieces of one block; with base NULL it only
 * measures (the same carving code runs twice: measure, then assign). */
typedef struct carver {
  char *base;
  size_t used;
} carver;

static void *carve(carver *cv, size_t bytes) {
  void *p = cv->base ? cv->base + cv->used : NULL;
  cv->used += (bytes + ALIGN - 1) / ALIGN * ALIGN;
  return p;
}

static void carve_all(evo_net *net, carver *cv) {
  const size_t nb = net->max_batch, fl = sizeof(float);
  net->params = carve(cv, net->n_params * fl);
  net->grads = carve(cv, net->n_params * fl);
  net->stats = carve(cv, net->n_stats * fl);
  net->input = carve(cv, nb * net->def->c * net->def->h * net->def->w * fl);
  for (size_t i = 0; i < net->n_ops; i++) {
    net_op *op = &net->ops[i];
    size_t out = nb * op->oc * op->oh * op->ow;
    if (op->kind == EVO_LAYER_DROPOUT) {
      op->out = i ? net->ops[i - 1].out : net->input;
      op->mask = carve(cv, out);
      continue;
    }
    op->out = carve(cv, out * fl);
    if (op->kind == EVO_LAYER_POOL)
      op->mask = carve(cv, out);
    if (op->kind == EVO_LAYER_BN) {
      op->mean = carve(cv, op->c * fl);
      op->rstd = carve(cv, op->c * fl);
    }
  }
  net->g[0] = carve(cv, nb * net->max_act * fl);
  net->g[1] = carve(cv, nb * net->max_act * fl);
  net->dlogits = carve(cv, nb * net->def->classes * fl);
  net->acc = carve(cv, net->acc_doubles * sizeof(double));
}

int evo_net_new(evo_net **out, evo_arch arch, size_t max_batch) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  if ((unsigned)arch >= EVO_ARCH_COUNT)
    return evo_set_error(EVO_EINVAL, "evo_net_new: unknown architecture %d",
                         (int)arch);
  if (max_batch == 0 || max_batch > MAX_BATCH_LIMIT)
    return evo_set_error(EVO_EINVAL,
                         "evo_net_new: max_batch %zu outside 1..%zu", max_batch,
                         MAX_BATCH_LIMIT);
  evo_net *net = evo_calloc(1, sizeof *net);
  if (!net)
    return EVO_ENOMEM;
  net->arch = arch;
  net->def = &arches[arch];
  net->max_batch = max_batch;
  net->dropout = true;
  compile(net);
  carver cv = {NULL, 0};
  carve_all(net, &cv);
  net->block = aligned_alloc(ALIGN, cv.used);
  if (!net->block) {
    free(net);
    return evo_set_error(EVO_ENOMEM,
                         "evo_net_new: cannot allocate %zu bytes for %s with "
                         "batch %zu",
                         cv.used, arches[arch].name, max_batch);
  }
  /* Touching every page now keeps page faults out of the first step. */
  memset(net->block, 0, cv.used);
  net->block_bytes = cv.used;
  cv = (carver){net->block, 0};
  carve_all(net, &cv);
  int rc = evo_net_set_threads(net, 1);
  if (rc) {
    evo_net_free(net);
    return rc;
  }
  *out = net;
  return EVO_OK;
}

void evo_net_free(evo_net *net) {
  if (!net)
    return;
  evo_workers_free(net->team);
  free(net->ws);
  free(net->block);
  free(net);
}

/* ---- threads ------------------------------------------------------------ */

/* The conv workspace for @p threads (each conv's, the largest). */
static size_t ws_floats_for(evo_net *net, size_t threads) {
  size_t most = 0;
  for (size_t i = 0; i < net->n_ops; i++) {
    evo_conv cv = net->ops[i].conv;
    cv.threads = threads;
    if (net->ops[i].kind == EVO_LAYER_CONV && evo_conv_ws_floats(&cv) > most)
      most = evo_conv_ws_floats(&cv);
  }
  return (most + 15) / 16 * 16;
}

int evo_net_set_threads(evo_net *net, size_t threads) {
  EVO_CHECK_ARG(net);
  if (threads == 0 || threads > EVO_SLICES)
    return evo_set_error(EVO_ERANGE,
                         "evo_net_set_threads: %zu threads outside 1..%d",
                         threads, EVO_SLICES);
  evo_workers *team = NULL;
  size_t floats = ws_floats_for(net, threads);
  float *ws = aligned_alloc(ALIGN, floats * sizeof *ws);
  if (!ws)
    return evo_set_error(EVO_ENOMEM,
                         "evo_net_set_threads: cannot allocate "
                         "%zu bytes of workspace",
                         floats * sizeof *ws);
  memset(ws, 0, floats * sizeof *ws);
  int rc = threads > 1 ? evo_workers_new(&team, threads) : EVO_OK;
  if (rc) {
    free(ws);
    return rc;
  }
  evo_workers_free(net->team);
  free(net->ws);
  net->team = team;
  net->ws = ws;
  net->ws_floats = floats;
  net->threads = threads;
  for (size_t i = 0; i < net->n_ops; i++) {
    net->ops[i].conv.team = team;
    net->ops[i].conv.threads = threads;
  }
  return EVO_OK;
}

size_t evo_net_threads(const evo_net *net) {
  return net->threads;
}

/* ---- accessors ---------------------------------------------------------- */

evo_arch evo_net_arch(const evo_net *net) {
  return net->arch;
}
size_t evo_net_max_batch(const evo_net *net) {
  return net->max_batch;
}
size_t evo_net_memory(const evo_net *net) {
  return net->block_bytes + net->ws_floats * sizeof(float);
}
size_t evo_net_num_classes(const evo_net *net) {
  return net->def->classes;
}

void evo_net_input_shape(const evo_net *net, size_t *c, size_t *h, size_t *w) {
  *c = net->def->c;
  *h = net->def->h;
  *w = net->def->w;
}

size_t evo_net_input_size(const evo_net *net) {
  return net->def->c * net->def->h * net->def->w;
}

float *evo_net_params(evo_net *net) {
  return net->params;
}
float *evo_net_grads(evo_net *net) {
  return net->grads;
}
size_t evo_net_param_count(const evo_net *net) {
  return net->n_params;
}
size_t evo_net_tensor_count(const evo_net *net) {
  return net->n_tensors;
}
float *evo_net_stats(evo_net *net) {
  return net->stats;
}
size_t evo_net_stats_count(const evo_net *net) {
  return net->n_stats;
}

size_t evo_net_stat_tensor_count(const evo_net *net) {
  return net->n_stat_tensors;
}

const evo_net_tensor *evo_net_tensor_at(const evo_net *net, size_t i) {
  return i < net->n_tensors ? &net->tensors[i] : NULL;
}

const evo_net_tensor *evo_net_stat_tensor_at(const evo_net *net, size_t i) {
  return i < net->n_stat_tensors ? &net->stat_tensors[i] : NULL;
}

static int copy_arena(float *dst, const float *src, size_t n, size_t size,
                      const char *what) {
  EVO_CHECK_ARG(src);
  EVO_CHECK_ARG(dst);
  if (n != size)
    return evo_set_error(EVO_EMISMATCH, "%s: %zu floats given, the net has %zu",
                         what, n, size);
  memcpy(dst, src, n * sizeof *dst);
  return EVO_OK;
}

int evo_net_set_params(evo_net *net, const float *src, size_t n) {
  EVO_CHECK_ARG(net);
  return copy_arena(net->params, src, n, net->n_params, "evo_net_set_params");
}

int evo_net_get_params(const evo_net *net, float *dst, size_t n) {
  EVO_CHECK_ARG(net);
  return copy_arena(dst, net->params, n, net->n_params, "evo_net_get_params");
}

int evo_net_set_stats(evo_net *net, const float *src, size_t n) {
  EVO_CHECK_ARG(net);
  return copy_arena(net->stats, src, n, net->n_stats, "evo_net_set_stats");
}

int evo_net_get_stats(const evo_net *net, float *dst, size_t n) {
  EVO_CHECK_ARG(net);
  return copy_arena(dst, net->stats, n, net->n_stats, "evo_net_get_stats");
}

void evo_net_set_dropout(evo_net *net, bool enabled) {
  net->dropout = enabled;
}

/* ---- initialisation (doc/algorithm.md §3) -------------------------------- */

/* fan_in of the layer owning weight tensor @p t: the size of one output
 * unit's weights (in_channels·3·3 for conv, in_features for linear). */
static size_t fan_in(const evo_net_tensor *weight, const evo_net_tensor *bias) {
  return weight->size / bias->size;
}

void evo_net_init(evo_net *net, evo_rng *rng) {
  for (size_t i = 0; i < net->n_tensors; i++) {
    const evo_net_tensor *t = &net->tensors[i];
    float *p = net->params + t->offset;
    if (t->kind == EVO_TENSOR_BN_WEIGHT || t->kind == EVO_TENSOR_BN_BIAS) {
      float v = t->kind == EVO_TENSOR_BN_WEIGHT ? 1.0f : 0.0f;
      for (size_t j = 0; j < t->size; j++)
        p[j] = v;
      continue;
    }
    /* A weight is always followed by its bias; a bias uses the weight's. */
    const evo_net_tensor *w = t->kind == EVO_TENSOR_WEIGHT ? t : t - 1;
    double bound = 1.0 / sqrt((double)fan_in(w, w + 1));
    for (size_t j = 0; j < t->size; j++)
      p[j] = (float)evo_rng_range(rng, -bound, bound);
  }
  for (size_t i = 0; i < net->n_stat_tensors; i++) {
    const evo_net_tensor *t = &net->stat_tensors[i];
    float v = t->kind == EVO_TENSOR_BN_VAR ? 1.0f : 0.0f;
    for (size_t j = 0; j < t->size; j++)
      net->stats[t->offset + j] = v;
  }
}

/* ---- timing ------------------------------------------------------------- */

void evo_net_set_timing(evo_net *net, bool enabled) {
  net->timing = enabled;
  memset(&net->times, 0, sizeof net->times);
}

void evo_net_get_timing(const evo_net *net, evo_net_timing *out) {
  *out = net->times;
}

const char *evo_layer_kind_name(evo_layer_kind kind) {
  static const char *const names[EVO_LAYER_KIND_COUNT] = {
      "conv", "batchnorm", "maxpool", "dropout", "flatten", "linear"};
  return (unsigned)kind < EVO_LAYER_KIND_COUNT ? names[kind] : NULL;
}

/* FLOPs of one layer pass (conv and linear; dir 0 forward, 1 backward,
 * where the first layer computes no input gradient). */
static double layer_flops(const net_op *op, size_t n, int dir, bool first) {
  double f = 0.0;
  if (op->kind == EVO_LAYER_CONV)
    f = evo_conv_flops(&op->conv, n);
  else if (op->kind == EVO_LAYER_LINEAR)
    f = 2.0 * (double)(op->c * op->oc) * (double)n;
  return dir == 0 ? f : (first ? f : 2.0 * f);
}

static void record(evo_net *net, const net_op *op, int dir, double t0,
                   bool first) {
  net->times.seconds[op->kind][dir] += evo_now_seconds() - t0;
  net->times.flops[op->kind][dir] += layer_flops(op, net->n, dir, first);
}

/* ---- forward ------------------------------------------------------------ */

static const float *input_of(const evo_net *net, size_t i) {
  return i ? net->ops[i - 1].out : net->input;
}

/* The per-image layers (pool, dropout's product, flatten) on slices of the
 * batch's images, for the team. dir 0: in = x, out = y; 1: in = dy,
 * out = dx. */
typedef struct image_job {
  const net_op *op;
  int dir;
  float *out;
  const float *in;
  size_t n;
} image_job;

static void image_task(void *p, size_t thread, size_t threads) {
  const image_job *j = p;
  const net_op *op = j->op;
  const size_t xs = op->c * op->h * op->w, ys = op->oc * op->oh * op->ow;
  for (size_t s = thread; s < EVO_SLICES; s += threads) {
    size_t lo, hi;
    evo_slice(j->n, s, &lo, &hi);
    size_t m = hi - lo;
    const float *in = j->in + lo * (j->dir ? ys : xs);
    float *out = j->out + lo * (j->dir ? xs : ys);
    if (op->kind == EVO_LAYER_POOL && j->dir == 0)
      evo_maxpool_forward(out, op->mask + lo * ys, in, m, op->h, op->w, op->c);
    else if (op->kind == EVO_LAYER_POOL)
      evo_maxpool_backward(out, in, op->mask + lo * ys, m, op->h, op->w, op->c);
    else if (op->kind == EVO_LAYER_DROPOUT) /* its backward is its forward */
      evo_dropout_forward(out, in, op->mask + lo * xs, m * xs, op->p);
    else if (j->dir == 0)
      evo_flatten_forward(out, in, m, op->h * op->w, op->c);
    else
      evo_flatten_backward(out, in, m, op->h * op->w, op->c);
  }
}

static void per_image(evo_net *net, const net_op *op, int dir, float *out,
                      const float *in) {
  image_job j = {op, dir, out, in, net->n};
  evo_workers_run(net->team, net->threads, image_task, &j);
}

static void layer_forward(evo_net *net, net_op *op, const float *in,
                          bool training, evo_rng *rng) {
  const float *prm = net->params;
  const size_t n = net->n, m = n * op->h * op->w;
  switch (op->kind) {
  case EVO_LAYER_CONV:
    evo_conv_forward(&op->conv, op->out, in, prm + op->w_off, prm + op->b_off,
                     n, net->ws);
    break;
  case EVO_LAYER_BN:
    if (training)
      evo_bn_forward_train(
          op->out, op->mean, op->rstd, net->stats + op->stat_off,
          net->stats + op->stat_off + op->c, in, prm + op->w_off,
          prm + op->b_off, m, op->c, op->relu, net->acc, net->team);
    else
      evo_bn_forward_eval(op->out, in, prm + op->w_off, prm + op->b_off,
                          net->stats + op->stat_off,
                          net->stats + op->stat_off + op->c, m, op->c, op->relu,
                          net->team);
    break;
  case EVO_LAYER_POOL:
  case EVO_LAYER_FLATTEN: per_image(net, op, 0, op->out, in); break;
  case EVO_LAYER_DROPOUT:
    op->active = training && net->dropout && op->p > 0.0f;
    if (op->active) { /* the mask in one stream, the product in slices */
      evo_dropout_mask(op->mask, m * op->c, op->p, rng);
      per_image(net, op, 0, op->out, in);
    }
    break;
  default:
    evo_linear_forward(op->out, in, prm + op->w_off, prm + op->b_off, n, op->c,
                       op->oc, op->relu, net->team);
    break;
  }
}

int evo_net_forward(evo_net *net, const float *x, size_t n, bool training,
                    evo_rng *rng) {
  EVO_CHECK_ARG(net);
  EVO_CHECK_ARG(x);
  if (n == 0 || n > net->max_batch)
    return evo_set_error(EVO_EINVAL,
                         "evo_net_forward: batch %zu outside 1..%zu", n,
                         net->max_batch);
  if (training && net->dropout && !rng)
    return evo_set_error(EVO_EINVAL,
                         "evo_net_forward: training with dropout needs an rng");
  const arch_def *d = net->def;
  net->n = n;
  net->trained = training;
  net->have_loss = false;
  evo_nchw_to_nhwc(net->input, x, n, d->h * d->w, d->c);
  for (size_t i = 0; i < net->n_ops; i++) {
    double t0 = net->timing ? evo_now_seconds() : 0.0;
    layer_forward(net, &net->ops[i], input_of(net, i), training, rng);
    if (net->timing)
      record(net, &net->ops[i], 0, t0, i == 0);
  }
  return EVO_OK;
}

const float *evo_net_logits(const evo_net *net) {
  return net->ops[net->n_ops - 1].out;
}

int evo_net_loss(evo_net *net, const uint8_t *labels, double *loss) {
  EVO_CHECK_ARG(net);
  EVO_CHECK_ARG(labels);
  EVO_CHECK_ARG(loss);
  if (net->n == 0)
    return evo_set_error(EVO_ESTATE, "evo_net_loss: no forward pass yet");
  for (size_t i = 0; i < net->n; i++)
    if (labels[i] >= net->def->classes)
      return evo_set_error(EVO_ERANGE,
                           "evo_net_loss: label %u of image %zu is not below "
                           "%zu classes",
                           (unsigned)labels[i], i, net->def->classes);
  *loss = evo_softmax_ce(net->dlogits, evo_net_logits(net), labels, net->n,
                         net->def->classes);
  net->have_loss = true;
  return EVO_OK;
}

/* ---- backward ----------------------------------------------------------- */

/* Writes the gradient of the layer's input into @p dx (NULL for the first
 * layer, whose input is the data); @p dy may be overwritten. Returns the
 * gradient of the input: dx, or dy for in-place layers. */
static float *layer_backward(evo_net *net, net_op *op, float *dx, float *dy,
                             const float *in) {
  const float *prm = net->params;
  float *grd = net->grads;
  const size_t n = net->n, m = n * op->h * op->w;
  switch (op->kind) {
  case EVO_LAYER_CONV:
    evo_conv_backward(&op->conv, dx, grd + op->w_off, grd + op->b_off, dy,
                      op->out, in, prm + op->w_off, n, net->ws);
    return dx;
  case EVO_LAYER_BN:
    evo_bn_backward(dx, grd + op->w_off, grd + op->b_off, dy, op->out, in,
                    op->mean, op->rstd, prm + op->w_off, m, op->c, op->relu,
                    net->acc, net->team);
    return dx;
  case EVO_LAYER_POOL:
  case EVO_LAYER_FLATTEN: per_image(net, op, 1, dx, dy); return dx;
  case EVO_LAYER_DROPOUT:
    if (op->active)
      per_image(net, op, 1, dy, dy);
    return dy;
  default:
    evo_linear_backward(dx, grd + op->w_off, grd + op->b_off, dy, op->out, in,
                        prm + op->w_off, n, op->c, op->oc, op->relu, net->team);
    return dx;
  }
}

int evo_net_backward(evo_net *net) {
  EVO_CHECK_ARG(net);
  if (!net->trained || !net->have_loss)
    return evo_set_error(EVO_ESTATE,
                         "evo_net_backward: needs a training-mode forward "
                         "pass and evo_net_loss first");
  float *dy = net->dlogits;
  for (size_t i = net->n_ops; i-- > 0;) {
    /* The other ping-pong buffer than the one dy is in. */
    float *dx = i == 0 ? NULL : (dy == net->g[0] ? net->g[1] : net->g[0]);
    double t0 = net->timing ? evo_now_seconds() : 0.0;
    dy = layer_backward(net, &net->ops[i], dx, dy, input_of(net, i));
    if (net->timing)
      record(net, &net->ops[i], 1, t0, i == 0);
  }
  net->have_loss = false; /* the masked dy buffers are spent */
  return EVO_OK;
}

/* ---- evaluation --------------------------------------------------------- */

static size_t argmax(const float *z, size_t k) {
  size_t best = 0;
  for (size_t j = 1; j < k; j++)
    if (z[j] > z[best])
      best = j;
  return best;
}

int evo_net_count_correct(evo_net *net, const float *x, const uint8_t *labels,
                          size_t n, size_t *correct) {
  EVO_CHECK_ARG(net);
  EVO_CHECK_ARG(labels);
  EVO_CHECK_ARG(correct);
  const size_t k = net->def->classes, per = evo_net_input_size(net);
  size_t hits = 0;
  for (size_t i0 = 0; i0 < n; i0 += net->max_batch) {
    size_t nb = n - i0 < net->max_batch ? n - i0 : net->max_batch;
    int rc = evo_net_forward(net, x + i0 * per, nb, false, NULL);
    if (rc)
      return rc;
    const float *z = evo_net_logits(net);
    for (size_t i = 0; i < nb; i++)
      hits += argmax(z + i * k, k) == labels[i0 + i];
  }
  *correct = hits;
  return EVO_OK;
}

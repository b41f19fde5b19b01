/* Writes one network's weights, batches and the engine's outputs to a file
 * that tests/ref/nn_parity.py replays in PyTorch (issue 3, "Exactness").
 *
 * Usage: nn_parity_dump ARCH OUT_FILE [SEED [BATCH]]
 *
 * File: records of  u32 name length | name | u64 count | count float32,
 * little-endian. Records: the tensor table ("tensor:<name>" with offset and
 * size), "params", "stats0", then for the training step (dropout off) "x1",
 * "y1", "logits1", "loss1", "grads", "stats1"; a second training forward
 * "x2" -> "stats2"; an evaluation forward "x3", "y3" -> "logits3",
 * "loss3". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "nn/nn_internal.h"

static void put(evo_wbuf *w, const char *name, const float *p, size_t n) {
  evo_wbuf_str(w, name);
  evo_wbuf_u64(w, n);
  evo_wbuf_f32s(w, p, n);
}

static void put_scalar(evo_wbuf *w, const char *name, double v) {
  float f = (float)v;
  put(w, name, &f, 1);
}

/* A normal batch and uniform labels; labels also stored as floats. */
static void draw_batch(evo_rng *rng, float *x, size_t nx, uint8_t *y, float *yf,
                       size_t n) {
  for (size_t i = 0; i < nx; i++)
    x[i] = (float)evo_rng_normal(rng);
  for (size_t i = 0; i < n; i++) {
    y[i] = (uint8_t)evo_rng_below(rng, 10);
    yf[i] = (float)y[i];
  }
}

/* Moves batch-norm γ, β away from 1, 0 so that their use is tested. */
static void perturb_bn(evo_net *net, evo_rng *rng) {
  for (size_t i = 0; i < evo_net_tensor_count(net); i++) {
    const evo_net_tensor *t = evo_net_tensor_at(net, i);
    float *p = evo_net_params(net) + t->offset;
    if (t->kind == EVO_TENSOR_BN_WEIGHT || t->kind == EVO_TENSOR_BN_BIAS)
      for (size_t j = 0; j < t->size; j++)
        p[j] = (float)evo_rng_range(
            rng, t->kind == EVO_TENSOR_BN_WEIGHT ? 0.5 : -0.5,
            t->kind == EVO_TENSOR_BN_WEIGHT ? 1.5 : 0.5);
  }
}

static void put_table(evo_wbuf *w, const evo_net *net) {
  char name[64];
  for (size_t i = 0; i < evo_net_tensor_count(net); i++) {
    const evo_net_tensor *t = evo_net_tensor_at(net, i);
    float v[2] = {(float)t->offset, (float)t->size};
    snprintf(name, sizeof name, "tensor:%s", t->name);
    put(w, name, v, 2);
  }
  for (size_t i = 0; i < evo_net_stat_tensor_count(net); i++) {
    const evo_net_tensor *t = evo_net_stat_tensor_at(net, i);
    float v[2] = {(float)t->offset, (float)t->size};
    snprintf(name, sizeof name, "stat:%s", t->name);
    put(w, name, v, 2);
  }
}

static int run(evo_net *net, evo_wbuf *w, evo_rng *rng, size_t n) {
  size_t nx = n * evo_net_input_size(net), k = evo_net_num_classes(net);
  float *x = malloc(nx * sizeof *x), *yf = malloc(n * sizeof *yf);
  uint8_t *y = malloc(n);
  double loss = 0.0;
  int rc = EVO_ENOMEM;
  if (!x || !yf || !y)
    goto done;
  draw_batch(rng, x, nx, y, yf, n);
  put(w, "x1", x, nx);
  put(w, "y1", yf, n);
  if ((rc = evo_net_forward(net, x, n, true, NULL)) ||
      (rc = evo_net_loss(net, y, &loss)) || (rc = evo_net_backward(net)))
    goto done;
  put(w, "logits1", evo_net_logits(net), n * k);
  put_scalar(w, "loss1", loss);
  put(w, "grads", evo_net_grads(net), evo_net_param_count(net));
  put(w, "stats1", evo_net_stats(net), evo_net_stats_count(net));
  draw_batch(rng, x, nx, y, yf, n);
  put(w, "x2", x, nx);
  if ((rc = evo_net_forward(net, x, n, true, NULL)))
    goto done;
  put(w, "stats2", evo_net_stats(net), evo_net_stats_count(net));
  draw_batch(rng, x, nx, y, yf, n);
  put(w, "x3", x, nx);
  put(w, "y3", yf, n);
  if ((rc = evo_net_forward(net, x, n, false, NULL)) ||
      (rc = evo_net_loss(net, y, &loss)))
    goto done;
  put(w, "logits3", evo_net_logits(net), n * k);
  put_scalar(w, "loss3", loss);
done:
  free(x);
  free(yf);
  free(y);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ARCH OUT_FILE [SEED [BATCH]]\n", argv[0]);
    return 2;
  }
  uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
  size_t n = argc > 4 ? strtoull(argv[4], NULL, 10) : 8;
  evo_arch arch;
  evo_net *net = NULL;
  evo_wbuf w = {0};
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  int rc = evo_arch_from_name(&arch, argv[1]);
  if (!rc)
    rc = evo_net_new(&net, arch, n);
  if (!rc) {
    evo_net_init(net, &rng);
    perturb_bn(net, &rng);
    evo_net_set_dropout(net, false);
    put_table(&w, net);
    put(&w, "params", evo_net_params(net), evo_net_param_count(net));
    put(&w, "stats0", evo_net_stats(net), evo_net_stats_count(net));
    rc = run(net, &w, &rng, n);
  }
  if (!rc)
    rc = w.status;
  if (!rc)
    rc = evo_write_file_atomic(argv[2], w.data, w.size);
  if (rc)
    fprintf(stderr, "nn_parity_dump: %s\n", evo_last_error());
  evo_wbuf_free(&w);
  evo_net_free(net);
  return rc ? 1 : 0;
}

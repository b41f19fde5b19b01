/* Runs shakespeare_char's GPT (libevoopt/nn/gpt.c, doc/algorithm.md §7) a
 * few training steps on one batch and writes its initial weights, the
 * batch, every step's loss, arg-max count and gradients, and an
 * evaluation-mode batch's logits, loss and count, to a file that
 * tests/ref/gpt_parity.py replays in PyTorch.
 *
 * Usage: gpt_parity_dump OUT_FILE [SEED [THREADS]]
 *
 * The model is the task's (vocabulary 65, context 64, width 128, 4 heads, 4
 * blocks) with PyTorch's default initialisation from SEED, on B = 4
 * sequences of random tokens; the steps are plain SGD, p ← p − LR·g, done
 * here so that the reference can do exactly the same.
 *
 * File: records of  u32 name length | name | u64 count | count float32,
 * little-endian: "p:<tensor>" each initial parameter, "tok", "tgt" (as
 * floats), then for each step s: "loss<s>", "correct<s>", "g<s>:<tensor>";
 * then "eval_tok", "eval_tgt", "eval_logits", "eval_loss", "eval_correct"
 * (evaluation, after the last step's update). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "nn/gpt_internal.h"

enum { B = 4, STEPS = 3 };
#define LR 0.1f

static void put(evo_wbuf *w, const char *name, const float *p, size_t n) {
  evo_wbuf_str(w, name);
  evo_wbuf_u64(w, n);
  evo_wbuf_f32s(w, p, n);
}

static void put1(evo_wbuf *w, const char *name, double v) {
  float f = (float)v;
  put(w, name, &f, 1);
}

/* Random tokens; every other target the token after the input (a pattern
 * the steps can learn, so that the count moves). */
static void draw(evo_rng *rng, uint8_t *tok, uint8_t *tgt, float *ft,
                 float *fg, size_t m, size_t vocab) {
  for (size_t i = 0; i < m; i++) {
    tok[i] = (uint8_t)evo_rng_below(rng, vocab);
    size_t t = i % 2 ? (tok[i] + 1u) % vocab : evo_rng_below(rng, vocab);
    tgt[i] = (uint8_t)t;
    ft[i] = (float)tok[i];
    fg[i] = (float)tgt[i];
  }
}

static int run(evo_gpt *m, evo_wbuf *w, evo_rng *rng) {
  const evo_gpt_config *c = evo_gpt_get_config(m);
  const size_t rows = B * c->ctx, np = evo_gpt_param_count(m);
  uint8_t tok[B * 64], tgt[B * 64];
  float ft[B * 64], fg[B * 64];
  char name[64];
  evo_gpt_init(m, rng);
  float *p = evo_gpt_params(m);
  const float *g = evo_gpt_grads(m);
  for (size_t i = 0; i < evo_gpt_tensor_count(m); i++) {
    const evo_net_tensor *t = evo_gpt_tensor_at(m, i);
    snprintf(name, sizeof name, "p:%s", t->name);
    put(w, name, p + t->offset, t->size);
  }
  draw(rng, tok, tgt, ft, fg, rows, c->vocab);
  put(w, "tok", ft, rows);
  put(w, "tgt", fg, rows);
  for (int s = 0; s < STEPS; s++) {
    double loss;
    size_t correct;
    int rc = evo_gpt_forward(m, tok, B);
    if (!rc)
      rc = evo_gpt_loss(m, tgt, &loss, &correct);
    if (!rc)
      rc = evo_gpt_backward(m);
    if (rc)
      return rc;
    snprintf(name, sizeof name, "loss%d", s);
    put1(w, name, loss);
    snprintf(name, sizeof name, "correct%d", s);
    put1(w, name, (double)correct);
    for (size_t i = 0; i < evo_gpt_tensor_count(m); i++) {
      const evo_net_tensor *t = evo_gpt_tensor_at(m, i);
      snprintf(name, sizeof name, "g%d:%s", s, t->name);
      put(w, name, g + t->offset, t->size);
    }
    for (size_t j = 0; j < np; j++)
      p[j] -= LR * g[j];
  }
  draw(rng, tok, tgt, ft, fg, rows, c->vocab);
  put(w, "eval_tok", ft, rows);
  put(w, "eval_tgt", fg, rows);
  size_t correct;
  int rc = evo_gpt_forward(m, tok, B);
  if (!rc)
    rc = evo_gpt_count_correct(m, tgt, &correct);
  if (rc)
    return rc;
  /* The loss without touching the training state's gradient buffer. */
  double loss;
  rc = evo_gpt_loss(m, tgt, &loss, NULL);
  if (rc)
    return rc;
  put(w, "eval_logits", evo_gpt_logits(m), rows * c->vocab);
  put1(w, "eval_loss", loss);
  put1(w, "eval_correct", (double)correct);
  return EVO_OK;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUT_FILE [SEED [THREADS]]\n", argv[0]);
    return 2;
  }
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
  size_t threads = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
  if (threads < 1 || threads > EVO_NET_MAX_THREADS) {
    fprintf(stderr, "gpt_parity_dump: THREADS must be 1..%d\n",
            EVO_NET_MAX_THREADS);
    return 2;
  }
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  evo_wbuf w = {0};
  evo_gpt *m = NULL;
  const evo_gpt_config cfg = EVO_GPT_CHAR_CONFIG;
  int rc = evo_gpt_new(&m, &cfg, B);
  if (!rc)
    rc = evo_gpt_set_threads(m, threads);
  if (!rc)
    rc = run(m, &w, &rng);
  if (!rc)
    rc = w.status;
  if (!rc)
    rc = evo_write_file_atomic(argv[1], w.data, w.size);
  if (rc)
    fprintf(stderr, "gpt_parity_dump: %s\n", evo_last_error());
  evo_wbuf_free(&w);
  evo_gpt_free(m);
  return rc ? 1 : 0;
}

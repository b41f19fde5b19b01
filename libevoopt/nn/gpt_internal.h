/* The character-level GPT of the shakespeare_char task (issue 12;
 * doc/algorithm.md §7) as one object of the engine, like evo_net
 * (nn_internal.h): every buffer allocated at creation, tensors in one
 * parameter arena and one gradient arena of the same layout, PyTorch's
 * order and layout under nanoGPT-like names. Never installed.
 *
 * Model: token + position embedding; `layers` pre-LayerNorm blocks
 *   x = x + c_proj(attn(c_attn(ln1(x))))     causal, `heads` heads
 *   x = x + mlp.c_proj(gelu(mlp.c_fc(ln2(x))))   width 4·d, exact GELU
 * a final LayerNorm ln_f and an untied linear head lm_head over the
 * vocabulary. No dropout, no running statistics: training and evaluation
 * compute the same function.
 *
 * Typical training step (no allocation inside):
 *
 *   evo_gpt *m;
 *   evo_gpt_config cfg = EVO_GPT_CHAR_CONFIG;
 *   evo_gpt_new(&m, &cfg, 32);
 *   evo_gpt_init(m, &rng);                 // PyTorch's default init
 *   evo_gpt_forward(m, tok, n);            // tok[n][ctx]
 *   evo_gpt_loss(m, targets, &loss, NULL); // check divergence here
 *   evo_gpt_backward(m);                   // overwrites the grads
 *
 * Threads: evo_gpt_set_threads (1 at creation), with the layers' fixed
 * slices, so that results are the same bits for any thread count. A model
 * is not thread-safe; distinct models are independent. */
#ifndef EVOOPT_NN_GPT_INTERNAL_H
#define EVOOPT_NN_GPT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng_internal.h"
#include "nn/nn_internal.h"

typedef struct evo_gpt_config {
  size_t vocab;  /* symbols, 2..256 (tokens are uint8_t) */
  size_t ctx;    /* positions per sequence (the context), >= 1 */
  size_t width;  /* d, a multiple of heads */
  size_t heads;  /* attention heads */
  size_t layers; /* blocks, 1..EVO_GPT_MAX_LAYERS */
} evo_gpt_config;

/* shakespeare_char's model (doc/algorithm.md §7): 65 symbols, context 64,
 * width 128, 4 heads, 4 blocks; 818,241 parameters. */
#define EVO_GPT_CHAR_CONFIG {65, 64, 128, 4, 4}
#define EVO_GPT_MAX_LAYERS 16

typedef struct evo_gpt evo_gpt;

/* Parameters of a model of configuration @p c, by formula
 * (doc/algorithm.md §7): V·d + T·d + L·(12·d² + 13·d) + 2·d + V·d + V. */
size_t evo_gpt_config_params(const evo_gpt_config *c);

/* Creates a model for batches of up to @p max_batch sequences of c->ctx
 * tokens; parameters zero until evo_gpt_init. Errors: EVO_EINVAL (NULL, a
 * bad configuration or max_batch, the message names it), EVO_ENOMEM. */
int evo_gpt_new(evo_gpt **out, const evo_gpt_config *c, size_t max_batch);
void evo_gpt_free(evo_gpt *m);

const evo_gpt_config *evo_gpt_get_config(const evo_gpt *m);
size_t evo_gpt_max_batch(const evo_gpt *m);
/* Bytes the model holds (parameters, gradients, activations, workspaces). */
size_t evo_gpt_memory(const evo_gpt *m);

/* 1 .. EVO_NET_MAX_THREADS; EVO_ERANGE, EVO_ETHREAD (previous kept). */
int evo_gpt_set_threads(evo_gpt *m, size_t threads);
size_t evo_gpt_threads(const evo_gpt *m);

/* PyTorch's default initialisation, tensor by tensor in arena order:
 * embeddings N(0, 1) (nn.Embedding), linear weight and bias
 * U[-1/√in, 1/√in] (nn.Linear), LayerNorm weight 1, bias 0. */
void evo_gpt_init(evo_gpt *m, evo_rng *rng);

float *evo_gpt_params(evo_gpt *m);
float *evo_gpt_grads(evo_gpt *m);
size_t evo_gpt_param_count(const evo_gpt *m);
size_t evo_gpt_tensor_count(const evo_gpt *m);
/* Tensor @p i (NULL when out of range). Kinds: EVO_TENSOR_EMBEDDING
 * (wte, wpe), EVO_TENSOR_LN_WEIGHT / _LN_BIAS, EVO_TENSOR_WEIGHT /
 * EVO_TENSOR_BIAS (the linear layers). */
const evo_net_tensor *evo_gpt_tensor_at(const evo_gpt *m, size_t i);

/* Forward pass over tok[n][ctx], 1 <= n <= max_batch, each token below
 * vocab. Errors: EVO_EINVAL (NULL, n out of range), EVO_ERANGE (a token
 * out of range, the message names its place). */
int evo_gpt_forward(evo_gpt *m, const uint8_t *tok, size_t n);
/* Logits of the last forward pass, [n][ctx][vocab]. */
const float *evo_gpt_logits(const evo_gpt *m);
/* Mean cross-entropy of the last forward pass over its n·ctx positions
 * against targets[n][ctx] into *loss, the gradient kept for backward;
 * *correct (unless NULL) = positions whose arg-max is the target. Errors:
 * EVO_ESTATE (no forward), EVO_ERANGE (a target out of range). */
int evo_gpt_loss(evo_gpt *m, const uint8_t *targets, double *loss,
                 size_t *correct);
/* Like evo_gpt_loss without the gradient (evaluation); same errors. */
int evo_gpt_count_correct(evo_gpt *m, const uint8_t *targets,
                          size_t *correct);
/* Every parameter's gradient of the last loss, over the gradient arena.
 * EVO_ESTATE without a forward pass and evo_gpt_loss since. */
int evo_gpt_backward(evo_gpt *m);

#endif

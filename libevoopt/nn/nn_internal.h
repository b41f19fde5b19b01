/* The small-CNN engine (issue 3): the networks of doc/algorithm.md §3 as one
 * object with every buffer allocated at creation. Never installed.
 *
 * Typical training step (no allocation inside):
 *
 *   evo_net *net;
 *   evo_net_new(&net, EVO_ARCH_SMALL_CNN, 128);
 *   evo_net_init(net, &rng);                      // PyTorch's default init
 *   for (size_t i = 0; i < evo_net_tensor_count(net); i++) {
 *     const evo_net_tensor *t = evo_net_tensor_at(net, i);
 *     evo_optimizer_add_params(opt, evo_net_params(net) + t->offset,
 *                              evo_net_grads(net) + t->offset, t->size);
 *   }
 *   ...
 *   evo_net_forward(net, x, n, true, &rng);       // x: NCHW, normalised
 *   evo_net_loss(net, labels, &loss);             // check divergence here
 *   evo_net_backward(net);                        // overwrites the grads
 *   evo_optimizer_step(opt);
 *
 * Parameters live in one contiguous float arena, gradients in a second with
 * the same layout, tensors in PyTorch's order and layout (conv weight
 * [out][in][3][3], linear weight [out][in]) under PyTorch-like names
 * ("conv1.weight", "bn1.bias", "fc2.weight"). Batch-norm running statistics
 * live in a third arena ("bn1.running_mean", "bn1.running_var").
 *
 * A net is not thread-safe; distinct nets are independent. Threads: a net
 * runs its layers' loops and matrix products on evo_net_set_threads threads
 * (1 by default), each product or loop cut into fixed slices whose partial
 * sums are added in a fixed order, so results do not depend on the number
 * of threads. Keep the BLAS at one thread (OPENBLAS_NUM_THREADS=1 or
 * openblas_set_num_threads(1); the library never sets it): the engine calls
 * it with products already cut for its threads, and OpenBLAS's own idle
 * threads busy-wait after each threaded call, taking cores the engine's
 * threads (or other nets') need. Several nets trained at once on a machine
 * with k cores: one thread each, k nets. */
#ifndef EVOOPT_NN_INTERNAL_H
#define EVOOPT_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng_internal.h"

/* The networks of doc/algorithm.md §3. */
typedef enum evo_arch {
  EVO_ARCH_SMALL_CNN = 0,   /* "small_cnn": MNIST, Fashion-MNIST, 1x28x28 */
  EVO_ARCH_CIFAR10_CNN = 1, /* "cifar10_cnn": CIFAR-10, 3x32x32 */
  EVO_ARCH_DIGITS_CNN = 2,  /* "digits_cnn": UCI digits, 1x8x8 */
  EVO_ARCH_COUNT
} evo_arch;

typedef enum evo_tensor_kind {
  EVO_TENSOR_WEIGHT = 0, /* conv or linear weight */
  EVO_TENSOR_BIAS,       /* conv or linear bias */
  EVO_TENSOR_BN_WEIGHT,  /* batch-norm γ */
  EVO_TENSOR_BN_BIAS,    /* batch-norm β */
  EVO_TENSOR_BN_MEAN,    /* running mean (statistics arena) */
  EVO_TENSOR_BN_VAR,     /* running variance (statistics arena) */
  EVO_TENSOR_EMBEDDING,  /* token or position embedding (gpt_internal.h) */
  EVO_TENSOR_LN_WEIGHT,  /* layer-norm γ */
  EVO_TENSOR_LN_BIAS     /* layer-norm β */
} evo_tensor_kind;

/* One tensor of an arena: floats [offset, offset + size). */
typedef struct evo_net_tensor {
  char name[24];
  evo_tensor_kind kind;
  size_t offset, size;
} evo_net_tensor;

typedef struct evo_net evo_net;

/* Name of an architecture ("small_cnn", ...); NULL when out of range. */
const char *evo_arch_name(evo_arch arch);
/* Architecture by name; EVO_ENOTFOUND naming it otherwise. */
int evo_arch_from_name(evo_arch *out, const char *name);

/* Creates a net for batches of up to @p max_batch images (>= 1), with every
 * activation and workspace allocated; parameters zero until evo_net_init.
 * Errors: EVO_EINVAL (NULL out, bad arch, max_batch 0 or too large),
 * EVO_ENOMEM. */
int evo_net_new(evo_net **out, evo_arch arch, size_t max_batch);
void evo_net_free(evo_net *net);

evo_arch evo_net_arch(const evo_net *net);
size_t evo_net_max_batch(const evo_net *net);
/* Bytes the net holds (parameters, gradients, activations, workspaces),
 * e.g. to size a pool of workers. */
size_t evo_net_memory(const evo_net *net);

/* The most threads a net runs on: its loops are cut into this many fixed
 * slices (EVO_SLICES, layers_internal.h), so that results do not depend on
 * the thread count. Also the bound of EVO_TASK_THREADS (task.h). */
#define EVO_NET_MAX_THREADS 8

/* Runs the net's loops on @p threads threads (1 .. EVO_NET_MAX_THREADS; 1
 * at creation):
 * starts them and sizes the workspace now, so that no step allocates.
 * Errors: EVO_ERANGE, EVO_ENOMEM, EVO_ETHREAD (the net keeps its previous
 * setting). */
int evo_net_set_threads(evo_net *net, size_t threads);
size_t evo_net_threads(const evo_net *net);
/* Input image shape (C, H, W); floats per image = c·h·w. */
void evo_net_input_shape(const evo_net *net, size_t *c, size_t *h, size_t *w);
size_t evo_net_input_size(const evo_net *net);
size_t evo_net_num_classes(const evo_net *net);

/* PyTorch's default initialisation (doc/algorithm.md §3): conv and linear
 * weight and bias U[-1/√fan_in, +1/√fan_in], tensor by tensor in arena order;
 * batch-norm γ 1, β 0, running mean 0, running variance 1. */
void evo_net_init(evo_net *net, evo_rng *rng);

/* The parameter and gradient arenas (same layout, param_count floats). */
float *evo_net_params(evo_net *net);
float *evo_net_grads(evo_net *net);
size_t evo_net_param_count(const evo_net *net);
size_t evo_net_tensor_count(const evo_net *net);
/* Tensor @p i of the parameter arena (NULL when out of range). */
const evo_net_tensor *evo_net_tensor_at(const evo_net *net, size_t i);

/* The batch-norm running statistics (empty for nets without BN). */
float *evo_net_stats(evo_net *net);
size_t evo_net_stats_count(const evo_net *net);
size_t evo_net_stat_tensor_count(const evo_net *net);
const evo_net_tensor *evo_net_stat_tensor_at(const evo_net *net, size_t i);

/* Copies in or out a whole arena; EVO_EMISMATCH when @p n differs from its
 * size (for checkpoints and parity tests). */
int evo_net_set_params(evo_net *net, const float *src, size_t n);
int evo_net_get_params(const evo_net *net, float *dst, size_t n);
int evo_net_set_stats(evo_net *net, const float *src, size_t n);
int evo_net_get_stats(const evo_net *net, float *dst, size_t n);

/* Dropout in training mode on (the default) or off, e.g. for comparisons
 * with a reference. Evaluation mode never drops. */
void evo_net_set_dropout(evo_net *net, bool enabled);

/* Forward pass over @p n images x[n][c][h][w] (NCHW, already normalised),
 * 1 <= n <= max_batch. Training mode: batch-norm batch statistics (and the
 * running statistics updated), dropout masks drawn from @p rng (unused, may
 * be NULL, when dropout is off); x is copied, so it may change afterwards.
 * Evaluation mode: running statistics, no dropout, @p rng unused.
 * Errors: EVO_EINVAL (NULL, n out of range, rng NULL when needed). */
int evo_net_forward(evo_net *net, const float *x, size_t n, bool training,
                    evo_rng *rng);
/* The logits of the last forward pass, [n][num_classes]. */
const float *evo_net_logits(const evo_net *net);

/* Mean softmax cross-entropy of the last forward pass against labels[n]
 * (doc/algorithm.md §3), into *loss; keeps its gradient for evo_net_backward.
 * Errors: EVO_ESTATE (no forward pass), EVO_ERANGE (a label >= classes,
 * message names its index). */
int evo_net_loss(evo_net *net, const uint8_t *labels, double *loss);

/* Gradients of the last loss with respect to every parameter, written over
 * the gradient arena (not accumulated). Needs a training-mode forward and
 * evo_net_loss since; EVO_ESTATE otherwise. */
int evo_net_backward(evo_net *net);

/* Evaluation-mode accuracy count over @p n images (any n, processed in
 * batches of max_batch): *correct = how many argmax(logits) == label (the
 * first maximum wins). Clobbers the last forward pass. */
int evo_net_count_correct(evo_net *net, const float *x, const uint8_t *labels,
                          size_t n, size_t *correct);

/* Optional timing of forward and backward per layer kind, for bench/. */
typedef enum evo_layer_kind {
  EVO_LAYER_CONV = 0,
  EVO_LAYER_BN,
  EVO_LAYER_POOL,
  EVO_LAYER_DROPOUT,
  EVO_LAYER_FLATTEN,
  EVO_LAYER_LINEAR,
  EVO_LAYER_KIND_COUNT
} evo_layer_kind;

typedef struct evo_net_timing {
  double seconds[EVO_LAYER_KIND_COUNT][2]; /* [kind][0 forward, 1 backward] */
  double flops[EVO_LAYER_KIND_COUNT][2];   /* conv and linear only */
} evo_net_timing;

/* Turns timing on or off (off by default) and clears the totals. */
void evo_net_set_timing(evo_net *net, bool enabled);
/* The totals accumulated since timing was turned on. */
void evo_net_get_timing(const evo_net *net, evo_net_timing *out);
const char *evo_layer_kind_name(evo_layer_kind kind);

#endif

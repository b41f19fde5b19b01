/* The optimizer's representation (optimizer.h), for its tests and for
 * library code that inspects the state. Never installed. */
#ifndef EVOOPT_OPTIMIZER_INTERNAL_H
#define EVOOPT_OPTIMIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evoopt/optimizer.h"
#include "genome/genome_internal.h"
#include "core/workers_internal.h"

/* EVO_OPT_THREADS: the largest count accepted. */
#define EVO_OPT_MAX_THREADS 256

/* One registered tensor: the caller's memory plus the state kept for it.
 * Its gradient for a step (optimizer.h, "Gradients"): next_grad when given
 * since its last step, else grads, else none (skipped). */
typedef struct evo_param_tensor {
  float *params;       /* the caller's parameters, updated in place */
  const float *grads;  /* the bound gradients, read at every step; NULL
                        * when none is bound */
  const float *next_grad; /* evo_optimizer_set_grad()'s, for the tensor's
                           * next step only; NULL when none was given */
  const float *use_grad;  /* while a step runs: what it reads; NULL: the
                           * tensor is left alone by that step */
  size_t n;            /* element count, >= 1 */
  size_t offset;       /* elements of the tensors added before it: where it
                        * starts when the step lays them end to end to
                        * split them across threads */
  /* The moments the genome keeps, interleaved per element: (m, v) pairs
   * when it keeps both, else m or v alone; NULL when it keeps neither. One
   * block instead of two separate arrays: three memory streams instead of
   * four in the step, which avoids DRAM bank conflicts between large
   * arrays (measured 1.4x faster on 2^24 floats from memory). */
  float *state;
  uint64_t t;          /* this tensor's step count (doc/algorithm.md §2's t) */
  double lr_scale;     /* EVO_PARAM_LR_SCALE */
  bool weight_decay;   /* EVO_PARAM_WEIGHT_DECAY */
  bool frozen;         /* EVO_PARAM_FROZEN */
  bool in_round;       /* stepped by evo_optimizer_step_tensor() since the
                        * global step last advanced */
} evo_param_tensor;

struct evo_optimizer {
  evo_genome genome;        /* a private copy */
  double base_lr;           /* η, EVO_OPT_BASE_LR */
  bool refuse_nonfinite;    /* EVO_OPT_REFUSE_NONFINITE */
  double grad_scale;        /* EVO_OPT_GRAD_SCALE */
  uint64_t step;            /* global step s of the next step */
  uint64_t total_steps;     /* S; 0 while unset */
  size_t threads;           /* EVO_OPT_THREADS */
  evo_workers *team;        /* its threads; NULL with one */
  evo_param_tensor *tensors;
  size_t n_tensors, cap_tensors;
  size_t n_elements;        /* Σ n over the tensors */
};

/* The step's slicing across EVO_OPT_THREADS (optimizer.c; internal so that
 * the tests can check it): the number of slices m a step uses now, and
 * b(j), where slice i of m covers elements [b(i), b(i+1)) of the tensors
 * laid end to end. */
size_t evo_optimizer_slices(const evo_optimizer *opt);
size_t evo_optimizer_boundary(const evo_optimizer *opt, size_t j, size_t m);

/* The number of moments the genome keeps (0, 1 or 2): the stride of a
 * tensor's state block. */
static inline size_t evo_optimizer_moments(const evo_genome *g) {
  return (size_t)g->use_m + (size_t)g->use_v;
}

#endif

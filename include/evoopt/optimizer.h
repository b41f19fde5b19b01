/**
 * @file optimizer.h
 * @brief The drop-in optimizer: applies a genome's update rule (PROTOCOL §2)
 * to parameter tensors that live in the caller's memory.
 *
 * Typical use from a training loop:
 * @code
 * evo_genome *g; evo_optimizer *opt;
 * evo_genome_preset(&g, "paper-evolved");
 * evo_optimizer_new(&opt, g);              // the optimizer copies the genome
 * evo_optimizer_add_params(opt, w, dw, nw); // tensor 0
 * evo_optimizer_add_params(opt, b, db, nb); // tensor 1
 * evo_optimizer_set_param_option(opt, 1, EVO_PARAM_WEIGHT_DECAY, 0);
 * evo_optimizer_set_total_steps(opt, 1000); // for cosine decay
 * for (step = 0; step < 1000; step++) {
 *   compute_gradients(dw, db);
 *   evo_optimizer_step(opt);
 * }
 * @endcode
 *
 * An optimizer is not thread-safe: one thread at a time may use it. Distinct
 * optimizers are independent and may be used from different threads.
 */
#ifndef EVOOPT_OPTIMIZER_H
#define EVOOPT_OPTIMIZER_H

#include "common.h"
#include "genome.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque optimizer. */
typedef struct evo_optimizer evo_optimizer;

/** Per-tensor options, set with evo_optimizer_set_param_option(). */
typedef enum evo_param_option {
  /** Multiplies the learning rate of this tensor (default 1; any finite
   *  value ≥ 0). Weight decay uses the scaled rate too. */
  EVO_PARAM_LR_SCALE = 0,
  /** 1 (default) applies the genome's weight decay to this tensor, 0 turns
   *  it off (usual for biases and norm layers). */
  EVO_PARAM_WEIGHT_DECAY = 1
} evo_param_option;

/** Optimizer-wide options, set with evo_optimizer_set_option(). */
typedef enum evo_optimizer_option {
  /** 0 (default): a NaN or infinite gradient goes through the formulas as
   *  they are. 1: evo_optimizer_step() first scans every gradient and, if
   *  any element is not finite, returns ::EVO_ENONFINITE leaving every
   *  parameter, moment and the step count untouched. */
  EVO_OPT_REFUSE_NONFINITE = 0,
  /** The base learning rate η (default 10^lr_log10 of the genome), e.g. for
   *  an external scheduler; any finite value ≥ 0. Warmup and cosine decay
   *  still scale it. */
  EVO_OPT_BASE_LR = 1
} evo_optimizer_option;

/**
 * @brief Creates an optimizer for a genome. The genome is copied: the
 * caller may free or change it afterwards.
 * @param out Receives the optimizer.
 * @param g The genome.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_optimizer_new(evo_optimizer **out, const evo_genome *g);

/**
 * @brief Frees an optimizer and its state (not the caller's tensors).
 * @param opt The optimizer, or NULL.
 */
EVO_API void evo_optimizer_free(evo_optimizer *opt);

/**
 * @brief Registers a parameter tensor: @p n floats at @p params updated in
 * place, with gradients read from @p grads at every step. Tensors are
 * numbered 0, 1, … in the order they are added; each has its own moments
 * (allocated here, zeroed, only those the genome uses) and its own step
 * count. The memory must stay valid until the optimizer is freed or the
 * tensor is rebound.
 * @param opt The optimizer.
 * @param params The parameters (written by evo_optimizer_step()).
 * @param grads The gradients (only read).
 * @param n The number of elements, at least 1.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL pointer, n = 0) or ::EVO_ENOMEM.
 */
EVO_API int evo_optimizer_add_params(evo_optimizer *opt, float *params,
                                     const float *grads, size_t n);

/**
 * @brief Points tensor @p index at other memory of the same size, keeping
 * its moments and step count (for bindings whose arrays move).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_rebind(evo_optimizer *opt, size_t index,
                                 float *params, const float *grads);

/**
 * @brief The number of tensors registered.
 * @return The count, 0 for NULL.
 */
EVO_API size_t evo_optimizer_param_count(const evo_optimizer *opt);

/**
 * @brief Sets a per-tensor option.
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param value Its value (see ::evo_param_option).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option) or ::EVO_ERANGE (no
 * such tensor, value not accepted).
 */
EVO_API int evo_optimizer_set_param_option(evo_optimizer *opt, size_t index,
                                           evo_param_option option,
                                           double value);

/**
 * @brief Reads a per-tensor option.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_get_param_option(const evo_optimizer *opt,
                                           size_t index,
                                           evo_param_option option,
                                           double *out);

/**
 * @brief Sets an optimizer-wide option.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option) or ::EVO_ERANGE
 * (value not accepted).
 */
EVO_API int evo_optimizer_set_option(evo_optimizer *opt,
                                     evo_optimizer_option option,
                                     double value);

/**
 * @brief Reads an optimizer-wide option.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_optimizer_get_option(const evo_optimizer *opt,
                                     evo_optimizer_option option, double *out);

/**
 * @brief Sets the planned number of steps S used by cosine decay
 * (PROTOCOL §2). Required before the first step when the genome uses cosine
 * decay; may be changed later.
 * @param opt The optimizer.
 * @param total S, at least 1.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (total = 0).
 */
EVO_API int evo_optimizer_set_total_steps(evo_optimizer *opt, uint64_t total);

/**
 * @brief Applies one step of PROTOCOL §2 to every registered tensor: one
 * fused pass per tensor. Each tensor's step count t goes up by one and the
 * global step s by one.
 * @param opt The optimizer.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL), ::EVO_ESTATE (no tensors, or cosine
 * decay without evo_optimizer_set_total_steps()) or ::EVO_ENONFINITE (only
 * with ::EVO_OPT_REFUSE_NONFINITE; nothing was changed).
 */
EVO_API int evo_optimizer_step(evo_optimizer *opt);

/**
 * @brief The learning rate η_s the next step will use (base rate with warmup
 * and cosine decay applied; per-tensor scales not included).
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_optimizer_current_lr(const evo_optimizer *opt, double *out);

/**
 * @brief The number of steps taken so far (the global step s of the next
 * step).
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_optimizer_step_count(const evo_optimizer *opt, uint64_t *out);

/**
 * @brief Saves the whole state (genome, options, step counts, moments) to
 * memory in a versioned, checksummed format.
 * @param opt The optimizer.
 * @param out Receives the buffer; free it with evo_free().
 * @param size Receives its size in bytes.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_optimizer_save_mem(const evo_optimizer *opt, void **out,
                                   size_t *size);

/**
 * @brief Restores a state saved by evo_optimizer_save_mem() into an
 * optimizer built with the same genome and the same tensor sizes, in the
 * same order. Parameters themselves are not part of the state. Continuing
 * after a load gives bit-identical results to never having stopped.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_EFORMAT (not a state, wrong version,
 * bad checksum, truncated) or ::EVO_EMISMATCH (other genome, tensor count or
 * sizes); on error the optimizer is unchanged.
 */
EVO_API int evo_optimizer_load_mem(evo_optimizer *opt, const void *buf,
                                   size_t size);

/**
 * @brief Saves the state to a file, atomically (temporary file, flush,
 * rename).
 * @return As evo_optimizer_save_mem(), plus ::EVO_EIO.
 */
EVO_API int evo_optimizer_save(const evo_optimizer *opt, const char *path);

/**
 * @brief Restores the state from a file written by evo_optimizer_save().
 * @return As evo_optimizer_load_mem(), plus ::EVO_EIO.
 */
EVO_API int evo_optimizer_load(evo_optimizer *opt, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_OPTIMIZER_H */

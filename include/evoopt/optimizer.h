/**
 * @file optimizer.h
 * @brief The drop-in optimizer: applies a genome's update rule
 * (doc/algorithm.md §2) to parameter tensors that live in the caller's memory.
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
 * A framework that allocates gradients itself registers each tensor
 * without one and hands the current pointers over at every step (see
 * evo_optimizer_add_params(), "Gradients"); one that updates a tensor at a
 * time calls evo_optimizer_step_tensor() (see there, "Rounds"):
 * @code
 * evo_optimizer_add_params(opt, w, NULL, nw);  // no gradient yet
 * ...
 * evo_optimizer_set_grad(opt, 0, current_grad_of_w); // this step only
 * evo_optimizer_step(opt);
 * // or, one tensor at a time (tiny-dnn's update(dW, W), darknet):
 * evo_optimizer_step_tensor(opt, 0, dw);
 * @endcode
 *
 * @par Numerics
 * Elements are computed in float; the per-step scalars (η_s, the decay
 * factor 1 - η_s·λ, the bias corrections) in double, rounded once to float.
 * The kernel uses IEEE operations only (no fused multiply-add, no
 * reassociation), so its results do not depend on the instruction set it
 * was dispatched to (SSE2, AVX2 or AVX-512 on x86-64): a run is
 * bit-reproducible across machines. Gradients are only read; clipping
 * applies to the value used, not to the caller's array.
 *
 * @par Memory
 * Each tensor's moments are allocated once, in evo_optimizer_add_params():
 * 4·n bytes per moment the genome keeps (none for plain SGD, 8·n for
 * Adam). evo_optimizer_step() never allocates.
 *
 * @par Threads
 * An optimizer is not thread-safe: one thread at a time may use it. Distinct
 * optimizers are independent and may be used from different threads. By
 * default the step runs on the calling thread alone; with
 * ::EVO_OPT_THREADS = n it also uses n - 1 threads of the optimizer's own,
 * started when the option is set and ended by evo_optimizer_free(). They
 * touch only the registered tensors and the optimizer's state, and only
 * while evo_optimizer_step() runs (it returns when they are done), so the
 * rule above is unchanged: one caller thread at a time. A process made by
 * fork() has no copy of them: it must not step an optimizer whose
 * ::EVO_OPT_THREADS was above 1 before the fork.
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
  EVO_PARAM_WEIGHT_DECAY = 1,
  /** 1 freezes the tensor, 0 (default) unfreezes it. Steps leave a frozen
   *  tensor exactly as it is: parameters, moments and its step count t
   *  (no decay either); its gradient is not read, and a pointer given for
   *  it with evo_optimizer_set_grad() is dropped by the next step. After
   *  unfreezing, t goes on from where it stopped. A frozen tensor does not
   *  hold up a round of evo_optimizer_step_tensor(). Saved with the state. */
  EVO_PARAM_FROZEN = 2
} evo_param_option;

/** Optimizer-wide options, set with evo_optimizer_set_option(). */
typedef enum evo_optimizer_option {
  /** 0 (default): a NaN or infinite gradient goes through the formulas as
   *  they are, element by element: a NaN makes its parameter NaN; an
   *  infinity is clamped when the genome clips, and otherwise gives what
   *  the formulas give in IEEE arithmetic (terms absent from the genome add
   *  nothing, so a sign-descent step stays finite). 1:
   *  evo_optimizer_step() (evo_optimizer_step_tensor(): its tensor's) first
   *  scans every gradient it would read, as given (before
   *  ::EVO_OPT_GRAD_SCALE), and, if any element is not finite, returns
   *  ::EVO_ENONFINITE leaving every parameter, moment, step count and
   *  given gradient pointer untouched (the scan reads the gradients once
   *  more). */
  EVO_OPT_REFUSE_NONFINITE = 0,
  /** The base learning rate η (default 10^lr_log10 of the genome), e.g. for
   *  an external scheduler; any finite value ≥ 0. Warmup and cosine decay
   *  still scale it. */
  EVO_OPT_BASE_LR = 1,
  /** Threads for evo_optimizer_step() and evo_optimizer_step_tensor()
   *  (default 1; an integer from 1 to 256), the calling thread included.
   *  Setting it starts the other value - 1 threads at once (setting it
   *  again replaces them); they wait between steps, and the step itself
   *  starts none and allocates nothing.
   *  The step lays the tensors end to end and cuts them into one
   *  contiguous slice per thread (fewer when that would leave a slice
   *  under 65536 elements): a tensor under 65536 elements is never split,
   *  and a cut inside a tensor falls on a 64-byte boundary of its
   *  parameters. Results are bit-identical for every value (each element's
   *  update is the same operations whichever thread runs it). Use it for a
   *  large model on an otherwise idle machine: the step is memory-bound,
   *  and threads help as far as one core cannot use the memory bandwidth
   *  alone. Not part of the saved state (it belongs to the machine, not to
   *  the run): evo_optimizer_load_mem() keeps the optimizer's count. Setting
   *  it may also fail with ::EVO_ETHREAD or ::EVO_ENOMEM; the previous
   *  count then stays. evo_optimizer_step_tensor() splits its one tensor
   *  by the same rule. */
  EVO_OPT_THREADS = 2,
  /** A factor s applied to every gradient element as it is read, g ← s·g
   *  in float, before clipping and everything else (default 1, which
   *  leaves g exactly as given; any finite value with 1.2e-38 ≤ |s| ≤
   *  3.4e38, the range of a normal float). For frameworks whose gradient
   *  arrays hold something else than the mean gradient of the loss: darknet
   *  keeps the negated gradient summed over the batch (s = -1/batch);
   *  gradients summed over B examples or over accumulation steps take
   *  s = 1/B. The caller's arrays are not changed. Saved with the state. */
  EVO_OPT_GRAD_SCALE = 3
} evo_optimizer_option;

/**
 * @brief Creates an optimizer for a genome. The genome is copied: the
 * caller may free or change it afterwards.
 * @param out Receives the optimizer.
 * @param g The genome.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL argument), ::EVO_ERANGE (the genome
 * breaks the accepted ranges of genome.h; impossible for a genome made
 * through the API) or ::EVO_ENOMEM.
 */
EVO_API int evo_optimizer_new(evo_optimizer **out, const evo_genome *g);

/**
 * @brief Frees an optimizer and its state (not the caller's tensors).
 * @param opt The optimizer, or NULL.
 */
EVO_API void evo_optimizer_free(evo_optimizer *opt);

/**
 * @brief Makes an independent copy of an optimizer (for wrappers in
 * frameworks whose optimizers are copyable): the genome, every option
 * (::EVO_OPT_THREADS too: the copy starts threads of its own), the global
 * step and the open round, and per tensor its options, step count and a
 * copy of its moments. The copy is registered with the same parameter and
 * bound gradient arrays as @p opt; point it at other memory with
 * evo_optimizer_rebind() before stepping both, or they update the same
 * parameters. Pointers given with evo_optimizer_set_grad() are not copied.
 * Stepping the copy and the original with the same gradients on copies of
 * the same parameters gives bit-identical results.
 * @param out Receives the copy.
 * @param opt The optimizer to copy (not changed).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL argument), ::EVO_ENOMEM or
 * ::EVO_ETHREAD (threads could not be started); nothing is returned on
 * error.
 */
EVO_API int evo_optimizer_clone(evo_optimizer **out, const evo_optimizer *opt);

/**
 * @brief Registers a parameter tensor: @p n floats at @p params updated in
 * place, with gradients read from @p grads at every step, or, when @p grads
 * is NULL, from pointers given step by step. Tensors are numbered 0, 1, …
 * in the order they are added; each has its own moments (allocated here,
 * zeroed, only those the genome uses) and its own step count. The memory
 * must stay valid until the optimizer is freed or the tensor is rebound.
 *
 * @par Gradients
 * A step reads, for each tensor, the first of:
 * 1. the pointer given by evo_optimizer_set_grad() (or the array of
 *    evo_optimizer_step_grads(), or the argument of
 *    evo_optimizer_step_tensor()) since the tensor's last step: used by
 *    one step only. Every evo_optimizer_step() drops all given pointers,
 *    used or not (a frozen tensor's too); evo_optimizer_step_tensor()
 *    drops its tensor's; so do evo_optimizer_rebind() (that tensor's) and
 *    a load (all). A step that fails keeps them.
 * 2. the array bound here or by evo_optimizer_rebind(), when not NULL:
 *    read at every step, so it must hold the current gradient whenever a
 *    step runs. Bind one only when it stays at that address (darknet's,
 *    llm.c's, your own buffers).
 * 3. none: evo_optimizer_step() leaves the tensor exactly as it is
 *    (parameters, moments, step count t), as torch.optim skips a parameter
 *    whose `.grad` is None; evo_optimizer_step_tensor() refuses with
 *    ::EVO_ESTATE.
 *
 * So a pointer is never read after the step it was given for: a framework
 * that frees and reallocates its gradients (libtorch, whose `zero_grad()`
 * sets them to none) registers with @p grads NULL and gives the current
 * pointer, when there is one, before every step. A step in which no
 * tensor has a gradient (all frozen or without one) is refused with
 * ::EVO_ESTATE, naming how many of each, and changes nothing: a loop that
 * forgot to hand its gradients over stops at once instead of training
 * nothing. A skipped tensor is not an error (torch skips it silently too).
 * @param opt The optimizer.
 * @param params The parameters (written by the steps).
 * @param grads The gradients (only read), or NULL; must not overlap
 * @p params.
 * @param n The number of elements, at least 1.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p opt or @p params, n = 0 or too
 * large, overlapping arrays) or ::EVO_ENOMEM.
 */
EVO_API int evo_optimizer_add_params(evo_optimizer *opt, float *params,
                                     const float *grads, size_t n);

/**
 * @brief Points tensor @p index at other memory of the same size, keeping
 * its moments and step count (for bindings whose arrays move). A pointer
 * given with evo_optimizer_set_grad() for this tensor is dropped.
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param params The new parameter array (n floats, as registered).
 * @param grads The new bound gradient array, or NULL to bind none (see
 * evo_optimizer_add_params(), "Gradients"); must not overlap @p params.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p opt or @p params, overlapping
 * arrays) or ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_rebind(evo_optimizer *opt, size_t index,
                                 float *params, const float *grads);

/**
 * @brief The number of tensors registered.
 * @param opt The optimizer, or NULL.
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
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option) or ::EVO_ERANGE (no
 * such tensor).
 */
EVO_API int evo_optimizer_get_param_option(const evo_optimizer *opt,
                                           size_t index,
                                           evo_param_option option,
                                           double *out);

/**
 * @brief Sets an integer per-tensor option (::EVO_PARAM_WEIGHT_DECAY,
 * ::EVO_PARAM_FROZEN): the same as evo_optimizer_set_param_option() with
 * the value as a double, under the typed spelling every option family
 * shares (doc/api-conventions.md). @since 0.2
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param value Its value (evo_optimizer_param_option_bounds()).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, or a real option:
 * use evo_optimizer_set_param_option_f64()) or ::EVO_ERANGE (no such
 * tensor, value not accepted); on error nothing changes.
 */
EVO_API int evo_optimizer_set_param_option_i64(evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               int64_t value);

/**
 * @brief Sets a real per-tensor option (::EVO_PARAM_LR_SCALE), as
 * evo_optimizer_set_param_option() does. @since 0.2
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param value Its value (evo_optimizer_param_option_bounds()).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, or an integer
 * option: use evo_optimizer_set_param_option_i64()) or ::EVO_ERANGE (no
 * such tensor, value not accepted); on error nothing changes.
 */
EVO_API int evo_optimizer_set_param_option_f64(evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               double value);

/**
 * @brief Reads an integer per-tensor option. @since 0.2
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, a real option) or
 * ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_get_param_option_i64(const evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               int64_t *out);

/**
 * @brief Reads a real per-tensor option. @since 0.2
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, an integer option)
 * or ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_get_param_option_f64(const evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               double *out);

/**
 * @brief What a per-tensor option accepts: its value type and range (as
 * zstd's `ZSTD_cParam_getBounds`). Thread-safe; needs no optimizer.
 * @since 0.2
 * @param option Which option.
 * @param out Receives the bounds.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option).
 */
EVO_API int evo_optimizer_param_option_bounds(evo_param_option option,
                                              evo_option_bounds *out);

/**
 * @brief Sets an optimizer-wide option.
 * @param opt The optimizer.
 * @param option Which option.
 * @param value Its value (see ::evo_optimizer_option).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option), ::EVO_ERANGE
 * (value not accepted), or for ::EVO_OPT_THREADS ::EVO_ETHREAD or
 * ::EVO_ENOMEM (threads could not be started; nothing changed).
 */
EVO_API int evo_optimizer_set_option(evo_optimizer *opt,
                                     evo_optimizer_option option,
                                     double value);

/**
 * @brief Reads an optimizer-wide option.
 * @param opt The optimizer.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option).
 */
EVO_API int evo_optimizer_get_option(const evo_optimizer *opt,
                                     evo_optimizer_option option, double *out);

/**
 * @brief Sets an integer optimizer-wide option (::EVO_OPT_REFUSE_NONFINITE,
 * ::EVO_OPT_THREADS): the same as evo_optimizer_set_option() with the value
 * as a double, under the typed spelling every option family shares
 * (doc/api-conventions.md). @since 0.2
 * @param opt The optimizer.
 * @param option Which option.
 * @param value Its value (evo_optimizer_option_bounds()).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, or a real option:
 * use evo_optimizer_set_option_f64()), ::EVO_ERANGE (value not accepted),
 * or for ::EVO_OPT_THREADS ::EVO_ETHREAD or ::EVO_ENOMEM; on error
 * nothing changes.
 */
EVO_API int evo_optimizer_set_option_i64(evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         int64_t value);

/**
 * @brief Sets a real optimizer-wide option (::EVO_OPT_BASE_LR,
 * ::EVO_OPT_GRAD_SCALE), as evo_optimizer_set_option() does. @since 0.2
 * @param opt The optimizer.
 * @param option Which option.
 * @param value Its value (evo_optimizer_option_bounds()).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option, or an integer
 * option: use evo_optimizer_set_option_i64()) or ::EVO_ERANGE (value not
 * accepted); on error nothing changes.
 */
EVO_API int evo_optimizer_set_option_f64(evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         double value);

/**
 * @brief Reads an integer optimizer-wide option. @since 0.2
 * @param opt The optimizer.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option, a real option).
 */
EVO_API int evo_optimizer_get_option_i64(const evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         int64_t *out);

/**
 * @brief Reads a real optimizer-wide option. @since 0.2
 * @param opt The optimizer.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option, an integer
 * option).
 */
EVO_API int evo_optimizer_get_option_f64(const evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         double *out);

/**
 * @brief What an optimizer-wide option accepts: its value type and range
 * (as zstd's `ZSTD_cParam_getBounds`). Thread-safe; needs no optimizer.
 * @since 0.2
 * @param option Which option.
 * @param out Receives the bounds.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option).
 */
EVO_API int evo_optimizer_option_bounds(evo_optimizer_option option,
                                        evo_option_bounds *out);

/**
 * @brief Sets the planned number of steps S used by cosine decay
 * (doc/algorithm.md §2). Required before the first step when the genome uses
 * cosine decay; may be changed later.
 *
 * Past S the formula is kept, as PyTorch's CosineAnnealingLR keeps it: the
 * factor 0.5·(1 + cos(π·s/S)) reaches 0 at s = S and climbs back to 1 at
 * s = 2S (period 2S). Set S to the number of steps you will take.
 * @param opt The optimizer.
 * @param total S, at least 1.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (total = 0).
 */
EVO_API int evo_optimizer_set_total_steps(evo_optimizer *opt, uint64_t total);

/**
 * @brief Reads the planned number of steps S set with
 * evo_optimizer_set_total_steps().
 * @param opt The optimizer.
 * @param out Receives S, or 0 while it has not been set.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL).
 * @since 0.2
 */
EVO_API int evo_optimizer_get_total_steps(const evo_optimizer *opt,
                                          uint64_t *out);

/**
 * @brief Applies one step of doc/algorithm.md §2 to every registered tensor
 * that has a gradient and is not frozen (see evo_optimizer_add_params(),
 * "Gradients"): one fused pass per tensor (split across threads by
 * ::EVO_OPT_THREADS). Each such tensor's step count t goes up by one; the
 * others are left exactly as they are. The global step s goes up by one
 * (when evo_optimizer_step_tensor() left a round open, that round is
 * closed first, see there).
 *
 * In order, for global step s and each tensor (its t counted from 1): the
 * rate η_s = η·(s+1)/W while s < W with warmup, times 0.5·(1 + cos(π·s/S))
 * with cosine decay, times the tensor's ::EVO_PARAM_LR_SCALE; then per
 * element: clipping, decoupled decay p ← p·(1 - η_s·λ) (skipped when λ = 0
 * or the tensor's decay is off), the moment EMAs, bias correction, and
 * p ← p - η_s·Σ α_k·T_k. A tensor added after some steps starts its own t
 * at 1 while s goes on.
 * @param opt The optimizer.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL), ::EVO_ESTATE (no tensors, no
 * tensor with a gradient, or cosine decay without
 * evo_optimizer_set_total_steps(); nothing was changed) or ::EVO_ENONFINITE
 * (only with ::EVO_OPT_REFUSE_NONFINITE; nothing was changed).
 */
EVO_API int evo_optimizer_step(evo_optimizer *opt);

/**
 * @brief Gives tensor @p index's gradient for its next step only (rule 1
 * of evo_optimizer_add_params(), "Gradients"), replacing one given before.
 * The memory is read by that step, not here; it must hold n floats then.
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param grad The gradient, or NULL to take back one given before.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p opt, @p grad overlapping the
 * tensor's parameters) or ::EVO_ERANGE (no such tensor).
 */
EVO_API int evo_optimizer_set_grad(evo_optimizer *opt, size_t index,
                                   const float *grad);

/**
 * @brief evo_optimizer_set_grad() for every tensor whose entry is not NULL,
 * then evo_optimizer_step(): one call per step for a framework that has
 * all its gradient pointers at hand. A NULL entry gives nothing: that
 * tensor's bound array is read if it has one, else it is left alone.
 * @param opt The optimizer.
 * @param grads One pointer (or NULL) per registered tensor, in their order.
 * @param count The number of entries: evo_optimizer_param_count().
 * @return As evo_optimizer_step(), plus ::EVO_EINVAL (NULL @p grads,
 * @p count not the number of tensors, an entry overlapping its tensor's
 * parameters; nothing was changed). When the step fails after the checks,
 * the pointers stay given, as with evo_optimizer_set_grad().
 */
EVO_API int evo_optimizer_step_grads(evo_optimizer *opt,
                                     const float *const *grads, size_t count);

/**
 * @brief Applies one step of doc/algorithm.md §2 to tensor @p index alone,
 * for frameworks that update one tensor at a time (tiny-dnn's
 * `update(dW, W)`, darknet's layer updates, Caffe-style solvers): one
 * optimizer, one genome and one saved state for the whole model. Numbers
 * are those evo_optimizer_step() would give the tensor: stepping every
 * tensor once with evo_optimizer_step_tensor(), in any order, gives
 * bit for bit what one evo_optimizer_step() gives.
 *
 * The gradient is @p grad when not NULL (this step only), else the
 * tensor's per rule 1 or 2 of evo_optimizer_add_params(), "Gradients"; with
 * none the call is refused. A frozen tensor is left as it is (the call
 * succeeds and drops a pointer given for it).
 *
 * @par Rounds
 * The global step s (which drives warmup and cosine decay, and which
 * evo_optimizer_step_count() reports) counts rounds: a round is open from
 * the first tensor stepped after s last advanced, and s advances by one
 * when it closes, which is
 * - as soon as every tensor that is not frozen has been stepped in it, or
 * - when a tensor already stepped in it is stepped again (a tensor left
 *   out of a round, e.g. one the framework did not update this batch,
 *   does not hold the count up): the round closes, then that step opens
 *   the next one with s + 1.
 *
 * Every step in a round uses η_s of the round's s. Calling
 * evo_optimizer_step() while a round is open closes it first. A tensor
 * added while a round is open joins it. The open round is part of the
 * saved state and of a clone.
 * @param opt The optimizer.
 * @param index The tensor's number.
 * @param grad Its gradient for this step (only read; must not overlap the
 * parameters), or NULL for the one given or bound.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p opt, overlapping arrays),
 * ::EVO_ERANGE (no such tensor), ::EVO_ESTATE (no gradient, or cosine
 * decay without evo_optimizer_set_total_steps()) or ::EVO_ENONFINITE (only
 * with ::EVO_OPT_REFUSE_NONFINITE); on error nothing was changed.
 */
EVO_API int evo_optimizer_step_tensor(evo_optimizer *opt, size_t index,
                                      const float *grad);

/**
 * @brief The learning rate η_s the next step will use (base rate with warmup
 * and cosine decay applied; per-tensor scales not included): with
 * evo_optimizer_step_tensor(), that of a tensor not yet stepped in the
 * open round.
 * @param opt The optimizer.
 * @param out Receives η_s.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ESTATE (cosine decay without
 * evo_optimizer_set_total_steps()).
 */
EVO_API int evo_optimizer_current_lr(const evo_optimizer *opt, double *out);

/**
 * @brief The number of steps taken so far (the global step s of the next
 * step; with evo_optimizer_step_tensor(), the number of closed rounds). A
 * refused step does not count.
 * @param opt The optimizer.
 * @param out Receives the count.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_optimizer_step_count(const evo_optimizer *opt, uint64_t *out);

/**
 * @brief Saves the whole state (genome, options, step counts, moments) to
 * memory in a versioned, checksummed format.
 *
 * The format: magic "EVOOPTS\0", a format version (2; version 1, written
 * before ::EVO_OPT_GRAD_SCALE and ::EVO_PARAM_FROZEN existed, is still
 * read), the payload size, the payload, and a CRC-32 of everything before
 * it; the payload holds every gene bit-exactly, the optimizer options, the
 * global step, the total steps, and per tensor its size, options, whether
 * it was stepped in the open round, its step count and moments.
 * Little-endian on every machine. Pointers are never saved.
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
 * same order. Parameters themselves are not part of the state. The
 * state's options (::EVO_OPT_REFUSE_NONFINITE, ::EVO_OPT_BASE_LR,
 * ::EVO_OPT_GRAD_SCALE, the total steps, each tensor's options) replace
 * the optimizer's (a version-1 state gives scale 1 and no tensor frozen);
 * ::EVO_OPT_THREADS is not saved and stays as it is. Bound gradient arrays
 * stay; pointers given with evo_optimizer_set_grad() are dropped.
 * Continuing after a load gives bit-identical results to never having
 * stopped.
 * @param opt The optimizer.
 * @param buf The saved state.
 * @param size Its size in bytes.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_EFORMAT (not a state, wrong version,
 * bad checksum, truncated) or ::EVO_EMISMATCH (other genome, tensor count or
 * sizes; the message says which); on error the optimizer is unchanged.
 */
EVO_API int evo_optimizer_load_mem(evo_optimizer *opt, const void *buf,
                                   size_t size);

/**
 * @brief Saves the state to a file, atomically (temporary file, flush,
 * rename), in the format of evo_optimizer_save_mem().
 * @param opt The optimizer.
 * @param path The file.
 * @return As evo_optimizer_save_mem(), plus ::EVO_EIO.
 */
EVO_API int evo_optimizer_save(const evo_optimizer *opt, const char *path);

/**
 * @brief Restores the state from a file written by evo_optimizer_save().
 * @param opt The optimizer.
 * @param path The file (gzip-compressed copies are read too).
 * @return As evo_optimizer_load_mem(), plus ::EVO_EIO; messages name the
 * file.
 */
EVO_API int evo_optimizer_load(evo_optimizer *opt, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_OPTIMIZER_H */

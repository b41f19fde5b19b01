/**
 * @file task.h
 * @brief Training tasks (a data set with its network) and the paper's
 * fitness protocol (doc/algorithm.md §3): train a genome, score it, and
 * evaluate it over several tasks and seeds. Besides the paper's image
 * tasks, `shakespeare_char` trains a small GPT on tiny Shakespeare
 * (doc/algorithm.md §7).
 *
 * Data flows one way: a task owns a read-only data set loaded once; every
 * training run allocates its own network, optimizer and buffers. So one task
 * may be used for many evaluations at once from many threads; a task's
 * options must be set before it is shared.
 */
#ifndef EVOOPT_TASK_H
#define EVOOPT_TASK_H

#include "common.h"
#include "genome.h"
#include "report.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque task: a data set, its network and its training settings. */
typedef struct evo_task evo_task;

/** The outcome of one training run (one task, one seed). */
typedef struct evo_train_result evo_train_result;

/** A set of tasks × seeds evaluated together (doc/algorithm.md §3,
 * multi-task). */
typedef struct evo_evaluator evo_evaluator;

/**
 * The most training steps one run may take: 10^7, for evo_task_train(),
 * evo_evaluator_set_steps() and every caller that takes a step count from
 * a user (the command-line program reads it from here). A run's memory does
 * not grow with its steps (it keeps the last 50 losses), except the loss
 * curve of ::EVO_TASK_RECORD_CURVE, 4 bytes a step (40 MB at this bound).
 */
#define EVO_MAX_STEPS UINT64_C(10000000)

/** Task options, set with evo_task_set_option() before the task is shared
 *  between threads. */
typedef enum evo_task_option {
  /** Training images drawn (once, from the data seed) from the training
   *  split; default 15000 (doc/algorithm.md §3); any value ≥ 0, capped at
   *  the split's size; 0 means the whole split. Unused by
   *  `shakespeare_char`, whose windows come from its whole training part. */
  EVO_TASK_TRAIN_SUBSET = 0,
  /** Seed of the training-subset draw; default 0; any value.
   *  `shakespeare_char`: mixed with the run's seed into the stream of its
   *  training windows. */
  EVO_TASK_DATA_SEED = 1,
  /** Mini-batch size; default 128; 1..4096. `shakespeare_char`: windows
   *  of 64 characters per batch, default 32, at most 256 (a run with more
   *  fails with ::EVO_ERANGE). */
  EVO_TASK_BATCH_SIZE = 2,
  /** Test images used for accuracy; default 0 = the whole test set; any
   *  value ≥ 0, capped at the test set's size. `shakespeare_char`: the
   *  first held-out windows of 64 characters scored (1,742 in all). */
  EVO_TASK_TEST_LIMIT = 3,
  /** 1: keep every step's training loss in the result (see
   *  evo_train_result_curve()), 4 bytes a step allocated before the run;
   *  default 0. */
  EVO_TASK_RECORD_CURVE = 4,
  /** 1: apply the genome to every tensor, as the paper does (default);
   *  0: biases and batch-norm parameters get no weight decay.
   *  `shakespeare_char` defaults to 0: only the linear layers' weight
   *  matrices decay, not biases, layer norms or embeddings. */
  EVO_TASK_DECAY_ALL = 5,
  /** 1 (default): refuse optimizer steps on non-finite gradients, which
   *  counts as divergence (doc/algorithm.md §3, step 2). */
  EVO_TASK_REFUSE_NONFINITE = 6,
  /** Threads the engine (CNNs and GPT) uses inside each training run (default 1;
   *  1..8, the engine's most: it cuts its loops into 8 fixed slices).
   *  Results are bit-identical for any value. Use 1 when many runs go on
   *  at once (population workers), more to speed up a single run. */
  EVO_TASK_THREADS = 7,
  /** K: score the held-out (test) set every K training steps, after steps
   *  K, 2K, …, and keep the accuracies in the result (a learning curve,
   *  read with evo_train_result_eval_curve()); default 0 = off; 0 to
   *  ::EVO_MAX_STEPS. A run of n steps keeps floor(n / K) points (fewer if
   *  it diverges), 16 bytes each, allocated before its first step; each
   *  point scores the same test images as the final accuracy
   *  (::EVO_TASK_TEST_LIMIT, or the evaluator's rung). Scoring changes no
   *  weight, moment or random stream: the training trajectory, the final
   *  accuracy and the fitness are the same bits as without it; only the
   *  run's time grows.
   *  @since 0.2 */
  EVO_TASK_EVAL_EVERY = 8
} evo_task_option;

/** Values kept in an ::evo_train_result, read with
 *  evo_train_result_get(). */
typedef enum evo_result_key {
  EVO_RESULT_FITNESS = 0,       /**< acc + 0.05·max(0, 1 - L), or -1;
                                     `shakespeare_char`: L / ln 65
                                     for L (doc/algorithm.md §7) */
  EVO_RESULT_ACCURACY = 1,      /**< test accuracy in [0, 1] (0 if diverged) */
  EVO_RESULT_MEAN_LOSS = 2,     /**< L: mean of the last min(50, n) losses */
  EVO_RESULT_DIVERGED = 3,      /**< 1 if training diverged, else 0 */
  EVO_RESULT_DIVERGED_STEP = 4, /**< the step (0-based) it diverged at, or -1 */
  EVO_RESULT_STEPS = 5,         /**< steps whose loss was recorded */
  EVO_RESULT_SECONDS = 6,       /**< wall time of the run */
  EVO_RESULT_CPU_SECONDS = 7    /**< CPU time of the thread that ran it (the
                                     engine's other threads, with
                                     ::EVO_TASK_THREADS > 1, not counted)
                                     @since 0.2 */
} evo_result_key;

/**
 * @brief Opens a named task and loads its data set.
 *
 * Names: `mnist`, `fashion_mnist` (SmallCNN), `cifar10` (Cifar10CNN),
 * `digits`, the UCI 8×8 digits bundled inside the library (needs no files),
 * and `shakespeare_char`: tiny Shakespeare's `input.txt` (in a folder
 * `tinyshakespeare`) for a character-level GPT of 818,241 parameters, the
 * first 90 % of the text to train, the last 10 % held out, next-character
 * accuracy (doc/algorithm.md §7).
 * The data set is looked for in @p data_folder when given, else in each
 * folder of the `EVOOPT_DATA_PATH` environment variable (colon-separated),
 * then in the per-user folder where `evoopt data fetch` downloads
 * (`$XDG_DATA_HOME/evoopt`, or `~/.local/share/evoopt` when `XDG_DATA_HOME`
 * is unset or not an absolute path), then in `/usr/share/datasets/`. The
 * first folder holding any file of the data set is the one read.
 * @param out Receives the task.
 * @param name The task's name.
 * @param data_folder A folder, or NULL to search.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ENOTFOUND (unknown task, or data set
 * missing: the message lists where it looked and how to get it),
 * ::EVO_EFORMAT (a damaged or truncated file, named in the message; for
 * `shakespeare_char` an empty text, one without tiny Shakespeare's 65
 * distinct characters, or too short for a window of 64 + 1 in each part),
 * ::EVO_EIO or ::EVO_ENOMEM.
 */
EVO_API int evo_task_open(evo_task **out, const char *name,
                          const char *data_folder);

/**
 * @brief Frees a task. No training run may still be using it.
 * @param task The task, or NULL.
 */
EVO_API void evo_task_free(evo_task *task);

/**
 * @brief The task's name, as given to evo_task_open().
 * @return A string owned by the task, or NULL for NULL.
 */
EVO_API const char *evo_task_name(const evo_task *task);

/**
 * @brief A one-line description of the loaded data: where it was found and
 * how many training and test images it holds.
 * @return A string owned by the task, or NULL for NULL.
 */
EVO_API const char *evo_task_describe(const evo_task *task);

/**
 * @brief Sets a task option. Not thread-safe: call before sharing the task.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option) or ::EVO_ERANGE.
 */
EVO_API int evo_task_set_option(evo_task *task, evo_task_option option,
                                int64_t value);

/**
 * @brief Reads a task option.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_task_get_option(const evo_task *task, evo_task_option option,
                                int64_t *out);

/**
 * @brief Sets a task option under the typed spelling every option family
 * shares (doc/api-conventions.md): the same as evo_task_set_option(),
 * every task option being an integer. Not thread-safe: call before
 * sharing the task. @since 0.2
 * @param task The task.
 * @param option Which option.
 * @param value Its value (evo_task_option_bounds()).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown option) or ::EVO_ERANGE;
 * on error nothing changes.
 */
EVO_API int evo_task_set_option_i64(evo_task *task, evo_task_option option,
                                    int64_t value);

/**
 * @brief Sets a real task option. No task option is real in this version:
 * every known option gives ::EVO_EINVAL naming evo_task_set_option_i64()
 * (the call is there so that every family has the same calls). @since 0.2
 * @param task The task.
 * @param option Which option.
 * @param value Its value.
 * @return ::EVO_EINVAL (NULL, unknown option, an integer option).
 */
EVO_API int evo_task_set_option_f64(evo_task *task, evo_task_option option,
                                    double value);

/**
 * @brief Reads a task option, as evo_task_get_option(). @since 0.2
 * @param task The task.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option).
 */
EVO_API int evo_task_get_option_i64(const evo_task *task,
                                    evo_task_option option, int64_t *out);

/**
 * @brief Reads a real task option (none in this version). @since 0.2
 * @param task The task.
 * @param option Which option.
 * @param out Receives its value.
 * @return ::EVO_EINVAL (NULL, unknown option, an integer option).
 */
EVO_API int evo_task_get_option_f64(const evo_task *task,
                                    evo_task_option option, double *out);

/**
 * @brief What a task option accepts: its value type and range (as zstd's
 * `ZSTD_cParam_getBounds`). Thread-safe; needs no task. @since 0.2
 * @param option Which option.
 * @param out Receives the bounds.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown option).
 */
EVO_API int evo_task_option_bounds(evo_task_option option,
                                   evo_option_bounds *out);

/** @brief Creates an empty training result. @return ::EVO_OK, ::EVO_EINVAL
 *  or ::EVO_ENOMEM. */
EVO_API int evo_train_result_new(evo_train_result **out);

/** @brief Frees a training result. @param r The result, or NULL. */
EVO_API void evo_train_result_free(evo_train_result *r);

/**
 * @brief Reads a value of a training result.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown key).
 */
EVO_API int evo_train_result_get(const evo_train_result *r,
                                 evo_result_key key, double *out);

/**
 * @brief The training-loss curve of the last run, when the task recorded it
 * (::EVO_TASK_RECORD_CURVE).
 * @param r The result.
 * @param losses Receives a pointer owned by @p r, valid until its next run
 * or free; NULL when nothing was recorded.
 * @param n Receives the number of losses.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_train_result_curve(const evo_train_result *r,
                                   const float **losses, size_t *n);

/**
 * @brief The held-out learning curve of the last run, when the task
 * scored one (::EVO_TASK_EVAL_EVERY = K > 0): point i is the test accuracy
 * after training step steps[i] = (i + 1)·K. With K equal to the run's
 * steps, the one point is the run's ::EVO_RESULT_ACCURACY, exactly.
 * @param r The result.
 * @param steps Receives a pointer owned by @p r (the steps trained at each
 * point), valid until its next run or free; NULL when there is no point.
 * @param accuracy Receives a pointer owned by @p r (the accuracies, in
 * [0, 1]), valid as long; NULL when there is no point.
 * @param n Receives the number of points: floor(steps / K), or the points
 * before the step that diverged.
 * @return ::EVO_OK or ::EVO_EINVAL (a NULL argument). Thread-safe for
 * concurrent reads.
 * @since 0.2
 */
EVO_API int evo_train_result_eval_curve(const evo_train_result *r,
                                        const uint64_t **steps,
                                        const double **accuracy, size_t *n);

/**
 * @brief Trains a genome on a task for @p steps steps and scores it
 * (doc/algorithm.md §3, "one evaluation"; §7 for `shakespeare_char`). The
 * seed fixes the initial weights, the data order (the training windows),
 * the dropout masks and the augmentation: the same arguments give
 * bit-identical results. Divergence is not an error: the result says
 * so and its fitness is -1.
 *
 * Thread-safe: many threads may train on the same task at once.
 * @param task The task.
 * @param g The genome.
 * @param steps Training steps, 1 to ::EVO_MAX_STEPS.
 * @param seed The run's seed.
 * @param result Receives the outcome (overwritten).
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (steps = 0 or above
 * ::EVO_MAX_STEPS; the message gives the bound) or ::EVO_ENOMEM.
 */
EVO_API int evo_task_train(const evo_task *task, const evo_genome *g,
                           uint64_t steps, uint64_t seed,
                           evo_train_result *result);


/**
 * @brief Creates an evaluator with no tasks, 500 steps and 2 seeds
 * (doc/algorithm.md §4, the `paper` settings).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_evaluator_new(evo_evaluator **out);

/** @brief Frees an evaluator (not its tasks). @param e The evaluator, or
 *  NULL. */
EVO_API void evo_evaluator_free(evo_evaluator *e);

/**
 * @brief Adds a task. The task is borrowed: it must outlive the evaluator.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (more than 64 tasks) or
 * ::EVO_ENOMEM.
 */
EVO_API int evo_evaluator_add_task(evo_evaluator *e, const evo_task *task);

/**
 * @brief Sets the training steps per run (default 500).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (0 or above
 * ::EVO_MAX_STEPS).
 */
EVO_API int evo_evaluator_set_steps(evo_evaluator *e, uint64_t steps);

/**
 * @brief Sets the number of seeds per task (default 2). A genome evaluated
 * with base seed b is trained with seeds b, b+1, …, b+n-1 on every task
 * (doc/algorithm.md §3: the paper uses b = 0 for every genome).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (0 or more than 1000).
 */
EVO_API int evo_evaluator_set_seeds(evo_evaluator *e, uint32_t n);

/**
 * @brief Reads the training steps per run (evo_evaluator_set_steps()).
 * @param e The evaluator.
 * @param out Receives the steps.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL).
 * @since 0.2
 */
EVO_API int evo_evaluator_get_steps(const evo_evaluator *e, uint64_t *out);

/**
 * @brief Reads the number of seeds per task (evo_evaluator_set_seeds()).
 * @param e The evaluator.
 * @param out Receives the count.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL).
 * @since 0.2
 */
EVO_API int evo_evaluator_get_seeds(const evo_evaluator *e, uint32_t *out);

/**
 * @brief Defines a cheap evaluation rung for multi-fidelity search
 * (doc/algorithm.md §9): rung @p rung trains @p steps steps on each of
 * @p seeds seeds and scores on the first @p test_limit test images of each
 * task (0: all). Rungs are numbered from the cheapest, 0; the evaluator's
 * own steps and seeds (evo_evaluator_set_steps(), evo_evaluator_set_seeds())
 * with the whole test set are the rung after the last one defined, the
 * full evaluation. Define them in order: @p rung must be at most the
 * number already defined (equal appends, less redefines).
 * @param e The evaluator.
 * @param rung 0 to 6.
 * @param steps 1 to ::EVO_MAX_STEPS.
 * @param seeds 1 to 1000.
 * @param test_limit 0 (all) or the number of test images.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE. Not while the evaluator
 * is in use.
 * @since 0.2
 */
EVO_API int evo_evaluator_set_rung(evo_evaluator *e, uint32_t rung,
                                   uint64_t steps, uint32_t seeds,
                                   uint64_t test_limit);

/**
 * @brief The number of rungs: the cheap ones defined plus the full
 * evaluation (1 when none is defined).
 * @param e The evaluator.
 * @return The count, 0 for NULL.
 * @since 0.2
 */
EVO_API size_t evo_evaluator_rungs(const evo_evaluator *e);

/**
 * @brief Reads rung @p rung as evo_evaluator_set_rung() defined it; the
 * last rung (evo_evaluator_rungs() - 1) is the full evaluation, with the
 * evaluator's steps and seeds and a test limit of 0 (each task's own
 * ::EVO_TASK_TEST_LIMIT).
 * @param e The evaluator.
 * @param rung 0 to evo_evaluator_rungs() - 1.
 * @param steps Receives its steps (may be NULL).
 * @param seeds Receives its seeds (may be NULL).
 * @param test_limit Receives its test limit, 0 for all (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p e) or ::EVO_ERANGE (no such
 * rung; nothing written).
 * @since 0.2
 */
EVO_API int evo_evaluator_get_rung(const evo_evaluator *e, uint32_t rung,
                                   uint64_t *steps, uint32_t *seeds,
                                   uint64_t *test_limit);

/**
 * @brief evo_evaluator_run() at rung @p rung (evo_evaluator_set_rung());
 * rungs at or beyond the last one defined are the full evaluation.
 * @param e The evaluator.
 * @param g The genome.
 * @param seed_base The first seed.
 * @param rung The rung.
 * @param report Receives the fitness, breakdown and cost.
 * @return As evo_evaluator_run(). Thread-safe for concurrent calls.
 * @since 0.2
 */
EVO_API int evo_evaluator_run_rung(const evo_evaluator *e,
                                   const evo_genome *g, uint64_t seed_base,
                                   uint32_t rung, evo_report *report);

/**
 * @brief evo_evaluator_run_rung() shaped as ::evo_fitness_rung_fn (pass the
 * evaluator as @p user), for evo_population_set_fitness_rung() and
 * evo_backend_threads_new_rung().
 * @return As evo_evaluator_run_rung().
 * @since 0.2
 */
EVO_API int evo_evaluator_fitness_rung(void *user, const evo_genome *g,
                                       uint64_t seed, uint32_t rung,
                                       evo_report *report);

/**
 * @brief The number of parts of an evaluation at rung @p rung: its
 * training runs, one per task and seed (tasks × seeds of that rung), each
 * of which evo_evaluator_run_part() runs alone, so that the runs of one
 * evaluation can go to different processes (the MPI back end,
 * evo_backend_mpi_new_parts()). Part k trains task k / seeds with seed
 * seed_base + k % seeds.
 * @param e The evaluator.
 * @param rung The rung (at or beyond the last one defined: the full
 * evaluation).
 * @return The count; 0 for NULL or an evaluator without tasks.
 * Thread-safe.
 * @since 0.2
 */
EVO_API size_t evo_evaluator_parts(const evo_evaluator *e, uint32_t rung);

/**
 * @brief Runs one part of an evaluation (evo_evaluator_parts()): one task
 * trained with one seed. The report holds that run's fitness (also as its
 * one breakdown entry, named after the task) and its cost; combine the
 * parts with evo_evaluator_combine().
 * @param e The evaluator.
 * @param g The genome.
 * @param seed_base The evaluation's first seed, as for
 * evo_evaluator_run_rung().
 * @param rung The rung.
 * @param part 0 to evo_evaluator_parts() - 1.
 * @param report Receives the run's fitness and cost.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ESTATE (no tasks), ::EVO_ERANGE
 * (@p part out of range) or the training run's error, with the message
 * evo_evaluator_run_rung() would give for it. Thread-safe for concurrent
 * calls.
 * @since 0.2
 */
EVO_API int evo_evaluator_run_part(const evo_evaluator *e,
                                   const evo_genome *g, uint64_t seed_base,
                                   uint32_t rung, size_t part,
                                   evo_report *report);

/**
 * @brief Combines the reports of all parts of an evaluation
 * (evo_evaluator_run_part()) into the evaluation's report: for each task
 * the mean over its seeds, then the mean over the tasks (doc/algorithm.md
 * §3), added in the order evo_evaluator_run_rung() adds them, so that the
 * fitness and breakdown have the same bits as that call's; the cost is
 * the parts' costs summed.
 * @param e The evaluator the parts were run with.
 * @param rung Their rung.
 * @param parts The parts' reports, part 0 first.
 * @param n Their number: evo_evaluator_parts() of @p rung.
 * @param report Receives the evaluation's report (may not be one of
 * @p parts).
 * @return ::EVO_OK, ::EVO_EINVAL (a NULL pointer), ::EVO_ESTATE (no tasks)
 * or ::EVO_ERANGE (@p n is not the number of parts). Thread-safe.
 * @since 0.2
 */
EVO_API int evo_evaluator_combine(const evo_evaluator *e, uint32_t rung,
                                  const evo_report *const *parts, size_t n,
                                  evo_report *report);

/**
 * @brief Evaluates a genome: for each task the mean fitness over the seeds,
 * then the mean over the tasks (doc/algorithm.md §3, multi-task fitness). A run
 * that diverges scores -1 and counts in the mean, as in the paper.
 *
 * Thread-safe: many threads may evaluate with the same evaluator at once.
 * @param e The evaluator (at least one task).
 * @param g The genome.
 * @param seed_base The first seed b.
 * @param report Receives the fitness and the per-task breakdown.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ESTATE (no tasks) or ::EVO_ENOMEM.
 */
EVO_API int evo_evaluator_run(const evo_evaluator *e, const evo_genome *g,
                              uint64_t seed_base, evo_report *report);

/**
 * @brief The evaluator as a fitness callback: evo_evaluator_run() with
 * @p user as the evaluator. Has the shape of the population's fitness
 * callback (population.h), so `evo_population_set_fitness(pop,
 * evo_evaluator_fitness, evaluator)` plugs it in.
 * @return As evo_evaluator_run().
 */
EVO_API int evo_evaluator_fitness(void *user, const evo_genome *g,
                                  uint64_t seed, evo_report *report);

/**
 * @brief Sets how many threads the BLAS (OpenBLAS) uses inside each
 * training run. Process-wide: it affects every run in every thread. Use 1
 * when several evaluations run at once on their own threads (e.g. a
 * population with several workers), more to speed up a single run.
 * Only OpenBLAS can be told its thread count: a library built with another
 * CBLAS (meson's fallback) accepts 1, which changes nothing, and refuses
 * more with ::EVO_EUNSUPPORTED.
 * @param n Threads, 1 to 1024.
 * @return ::EVO_OK, ::EVO_ERANGE (@p n outside 1..1024) or
 * ::EVO_EUNSUPPORTED (@p n > 1 without OpenBLAS).
 */
EVO_API int evo_blas_set_threads(int n);

/**
 * @brief Reads how many threads the BLAS uses inside each training run
 * (evo_blas_set_threads(), or OpenBLAS's own start-up count). Process-wide;
 * thread-safe.
 * @param out Receives the count (1 when the library was built with a BLAS
 * other than OpenBLAS).
 * @return ::EVO_OK or ::EVO_EINVAL (NULL).
 * @since 0.2
 */
EVO_API int evo_blas_get_threads(int *out);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_TASK_H */

/**
 * @file population.h
 * @brief The genetic algorithm over genomes (doc/algorithm.md §4) with a
 * pluggable fitness callback or evaluation back end (backend.h), worker
 * threads, an exact evaluation cache, checkpoints and history.
 *
 * @par Threads
 * A population is used by one thread at a time. During
 * evo_population_step() and evo_population_run() the fitness callback is
 * called from up to ::EVO_POP_WORKERS threads at once (never twice for the
 * same individual); with a back end set (evo_population_set_backend()) its
 * submit and collect callbacks are called from the thread that called
 * step/run. The progress callback is always called from that thread, one
 * call at a time.
 *
 * @par Determinism
 * Genetic operators draw from generators seeded by (run seed, generation);
 * evaluation seeds are the common seed 0 (the paper) or, with
 * ::EVO_POP_FRESH_SEEDS, derived from (run seed, generation, index). As long
 * as the fitness callback is a pure function of (genome, seed), a run's
 * history and best genome are bit-identical for any number of workers, any
 * back end, with or without the cache (but for ::EVO_HIST_CACHE_HITS), and
 * across checkpoint/resume.
 *
 * @par Multi-fidelity search
 * With ::EVO_POP_RUNGS = R > 1 a generation is evaluated in R rounds
 * (successive halving, doc/algorithm.md §9): every individual at rung 0
 * (the cheapest), then the best ceil(n/η) of the n just evaluated at rung
 * r (η = ::EVO_POP_PROMOTE; failed evaluations never go on) at rung r + 1,
 * up to rung R - 1, the full evaluation. Selection (elites, tournaments,
 * the generation's best) ranks a genome that reached a higher rung above
 * every genome that did not, and genomes of one rung by their fitness
 * there; the hall of fame holds only full evaluations. The fitness
 * callback learns the rung through evo_population_set_fitness_rung() (or a
 * back end made with evo_backend_new_rung()). R = 1 is the paper's
 * algorithm, bit for bit.
 *
 * @par Steady-state evolution
 * With ::EVO_POP_ALGORITHM = ::EVO_ALGO_STEADY (doc/algorithm.md §9.4)
 * every evaluation is a job numbered k = 0, 1, 2, ...; jobs 0..N-1 (N =
 * ::EVO_POP_SIZE) are generation 0 as in the GA. Results are *committed*
 * in job order (one that comes back early waits for those before it);
 * committing job j ≥ N retires job j - N, so the population is always the
 * N most recently committed results, and individual index i of the
 * getters holds the last committed job j with j mod N = i. Job k ≥ N is
 * created once jobs 0..k-W are committed (W = ::EVO_POP_WINDOW, at least
 * generation 0): a child bred by two tournaments over that population,
 * crossover and mutation at schedule generation k / N, no elites. So a
 * run is the same for any number of workers or ranks; at most W jobs
 * beyond the committed ones are in flight. Each N committed results form
 * a "generation": its history entry, hall-of-fame offers and
 * ::EVO_EVENT_GENERATION come when its last result is committed;
 * ::EVO_EVENT_EVALUATION comes for each commit with generation k / N and
 * index k mod N. The run ends after N × ::EVO_POP_GENERATIONS committed
 * jobs. evo_population_step() returns when the current generation's N
 * results are committed (no job of the next one stays in flight);
 * evo_population_run() keeps every worker busy across generations. With
 * ::EVO_POP_RUNGS = R > 1 (asynchronous successive halving): a result at
 * rung r < R - 1 is promoted when committed, as a new job for the same
 * genome at rung r + 1, if its rank among all rung-r results committed so
 * far (failures last, earlier jobs first on a tie) is below n/η; pending
 * promotions take the next job numbers before new children. The cache is
 * consulted when a job is created (only committed results are in it).
 *
 * @par The evaluation cache
 * With ::EVO_POP_CACHE on, the result of every successful evaluation is
 * kept under a key made of the genome and the evaluation seed; an
 * individual whose key is already known gets that result without being
 * evaluated (a hit), and of several individuals of one generation with the
 * same key only the first (lowest index) is evaluated, the others taking
 * its result (hits too; when it fails, the next one is evaluated). Hits
 * are resolved on the calling thread: before any job is handed out, and
 * when the first of a group is recorded. A hit is recorded like an
 * evaluation (same fitness, breakdown, event and checkpoint) and counted
 * in ::EVO_HIST_CACHE_HITS and evo_population_individual_cached(). Failed
 * evaluations are never cached. The cache is saved in the checkpoint, so
 * a resumed run hits as the uninterrupted one would. The key holds
 * neither the tasks nor the steps: a cache belongs to one run and its
 * fitness setup, which the checkpoint's tag pins down on resume.
 *
 * With ::EVO_POP_CACHE = 1 the key is the genome's canonical form: genes
 * that cannot change the update of doc/algorithm.md §2 are set to fixed values
 * (β1 when m̂ is not read or not kept, β2 likewise for v̂, use_m and use_v
 * when nothing reads them, bias correction when no kept moment is read, ε
 * when no term divides by it, the clip value without clipping, the warmup
 * length without warmup) and the terms are sorted by kind (terms of one
 * kind keep their order, since the optimizer adds their weights in that
 * order). Use it only
 * when the fitness depends on the genome through the library's optimizer
 * alone, as evo_evaluator_fitness() does. ::EVO_POP_CACHE = 2 keys on the
 * genome as it is (evo_genome_equal()), for any pure fitness callback.
 */
#ifndef EVOOPT_POPULATION_H
#define EVOOPT_POPULATION_H

#include "backend.h"
#include "common.h"
#include "genome.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque population: settings, the current generation, history. */
typedef struct evo_population evo_population;

/** Events reported to the progress callback. */
typedef enum evo_event {
  EVO_EVENT_EVALUATION = 0, /**< one evaluation finished */
  EVO_EVENT_GENERATION = 1  /**< a generation was evaluated and recorded */
} evo_event;

/**
 * @brief The progress callback, called from the thread running the
 * population.
 * @param user The pointer given to evo_population_set_progress().
 * @param event What happened.
 * @param pop The population (read-only access through the getters).
 * @param generation The generation (0-based).
 * @param index For ::EVO_EVENT_EVALUATION the individual's index, else 0.
 * @return 0 to go on; non-zero stops the run after the current event
 * (step/run then return ::EVO_ECANCELED; the checkpoint is valid). After
 * a stop request no work is handed out; evaluations already running are
 * finished and recorded (and checkpointed) without further events.
 *
 * ::EVO_EVENT_EVALUATION comes after the individual is recorded and the
 * checkpoint written. ::EVO_EVENT_GENERATION comes after the history and
 * hall of fame are updated but before the next generation is bred, so the
 * getters still show the evaluated individuals; stopping there still
 * breeds the next generation and writes the checkpoint.
 */
typedef int (*evo_progress_fn)(void *user, evo_event event,
                               const evo_population *pop, size_t generation,
                               size_t index);

/** Settings, read and written with evo_population_get() and
 *  evo_population_set() before the first step (::EVO_POP_WORKERS, which
 *  never changes results, also between steps and after a resume).
 *  Defaults are the `paper` settings (doc/algorithm.md §4); ranges in
 * parentheses.
 *  Settings that depend on each other (elites and tournament against the
 *  size, the number of initial genomes) are checked by the first step. */
typedef enum evo_pop_setting {
  EVO_POP_SIZE = 0,        /**< individuals per generation (50; 2..10^6) */
  EVO_POP_GENERATIONS = 1, /**< generations G (50; 1..2^32-1) */
  EVO_POP_ELITES = 2,      /**< elites copied unchanged (3; 0..size-1) */
  EVO_POP_TOURNAMENT = 3,  /**< tournament size k (4; 1..size) */
  EVO_POP_RUN_SEED = 4,    /**< seed of the genetic operators (42; any
                                value, used as its 64 bits) */
  EVO_POP_WORKERS = 5,     /**< evaluation threads (1; 1..256); with 1 the
                                calling thread evaluates; not used when a
                                back end is set */
  EVO_POP_FRESH_SEEDS = 6, /**< 0: every evaluation uses seed 0 (the paper's
                                common random numbers); 1: seeds derived
                                from (run seed, generation, index) */
  EVO_POP_HALL_OF_FAME = 7, /**< best distinct genomes kept (10;
                                1..10^6) */
  EVO_POP_CACHE = 8, /**< the exact evaluation cache (0; 0..2): 0 off; 1 on,
                         keyed by the genome's canonical form (a fitness
                         that sees the genome only through the optimizer);
                         2 on, keyed by the genome as it is (any pure
                         fitness); see the file's notes */
  EVO_POP_ALGORITHM = 9, /**< the search method, an ::evo_algorithm (0, the
                              paper's genetic algorithm; 0..2) @since 0.2 */
  EVO_POP_RUNGS = 10,    /**< evaluation rungs of multi-fidelity search
                              (1: off, every genome gets the full
                              evaluation; 1..8); rung R-1 is the full one
                              (doc/algorithm.md §9) @since 0.2 */
  EVO_POP_PROMOTE = 11,   /**< promotion divisor η (3; 2..1000): of the
                              genomes a generation evaluated at a rung, the
                              best ceil(n/η) go on to the next @since 0.2 */
  EVO_POP_BUDGET = 12,  /**< compute budget in CPU core-seconds (0: none;
                              0..2^40): once the evaluations recorded have
                              cost this much (evo_report_set_cost()), no
                              new evaluation is handed out, those in flight
                              are recorded, the generation stays open (in
                              the checkpoint) and evo_population_finished()
                              says so; may be raised between steps and
                              after a resume to go on @since 0.2 */
  EVO_POP_WINDOW = 13   /**< steady-state evolution's in-flight window W
                              (4; 1..2^20): child k is bred once results
                              0..k-W are committed, so at most W children
                              are evaluated beyond the committed ones; the
                              run depends on W, never on the workers; a
                              slow evaluation holds the commits up, so
                              about twice as many as the workers keeps
                              them busy (doc/algorithm.md §9.4)
                              @since 0.2 */
} evo_pop_setting;

/** Search methods (::EVO_POP_ALGORITHM; doc/algorithm.md §4 and §9). */
typedef enum evo_algorithm {
  EVO_ALGO_GA = 0,    /**< the paper's generational genetic algorithm */
  EVO_ALGO_RANDOM = 1, /**< random search: every generation after the first
                           is fresh random genomes (the baselines of
                           generation 0 included), with the same
                           accounting, history and hall of fame */
  EVO_ALGO_STEADY = 2 /**< steady-state ("aging", regularized) evolution
                           (Real et al. 2019): no generation barrier, each
                           child bred from the N most recently committed
                           results, the oldest retired; see the file's
                           notes and ::EVO_POP_WINDOW */
} evo_algorithm;

/** Values of one generation's history, read with
 *  evo_population_history(). */
typedef enum evo_history_key {
  EVO_HIST_BEST = 0,      /**< best fitness */
  EVO_HIST_MEAN = 1,      /**< mean fitness (failures count as -1) */
  EVO_HIST_MEDIAN = 2,    /**< median fitness (the mean of the two middle
                               values for an even size) */
  EVO_HIST_WORST = 3,     /**< worst fitness */
  EVO_HIST_FAILED = 4,    /**< evaluations whose callback failed */
  EVO_HIST_CACHE_HITS = 5, /**< results taken from the evaluation cache
                               (::EVO_POP_CACHE) instead of evaluated */
  EVO_HIST_COMPUTE = 6,    /**< compute spent by the run up to the end of
                                this generation, CPU core-seconds (the
                                reports' costs) @since 0.2 */
  EVO_HIST_EVALUATIONS = 7 /**< evaluations run (not cache hits) up to the
                                end of this generation, every rung
                                counted @since 0.2 */
} evo_history_key;

/**
 * @brief Creates a population with the `paper` settings, the four
 * baselines (`sgd`, `adam`, `adamw`, `rmsprop`) as initial seed genomes and
 * no fitness callback.
 * @param out Receives the population.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_population_new(evo_population **out);

/** @brief Frees a population. @param pop The population, or NULL. */
EVO_API void evo_population_free(evo_population *pop);

/**
 * @brief Writes a setting. Only before the first step (except
 * ::EVO_POP_WORKERS).
 * @param pop The population.
 * @param setting Which setting.
 * @param value Its new value.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown setting), ::EVO_ERANGE
 * (value outside the range given at ::evo_pop_setting) or ::EVO_ESTATE
 * (the run has started, or called from a callback during a step).
 */
EVO_API int evo_population_set(evo_population *pop, evo_pop_setting setting,
                               int64_t value);

/**
 * @brief Reads a setting.
 * @param pop The population.
 * @param setting Which setting.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_population_get(const evo_population *pop,
                               evo_pop_setting setting, int64_t *out);

/**
 * @brief evo_population_set() under the spelling every enum-keyed option
 * family shares (`evo_<noun>_set_option`, doc/api-conventions.md).
 * @param pop The population.
 * @param setting Which setting.
 * @param value Its new value.
 * @return As evo_population_set().
 * @since 0.2
 */
EVO_API int evo_population_set_option(evo_population *pop,
                                      evo_pop_setting setting, int64_t value);

/**
 * @brief evo_population_get() under the shared spelling
 * (`evo_<noun>_get_option`, doc/api-conventions.md).
 * @param pop The population.
 * @param setting Which setting.
 * @param out Receives its value.
 * @return As evo_population_get().
 * @since 0.2
 */
EVO_API int evo_population_get_option(const evo_population *pop,
                                      evo_pop_setting setting, int64_t *out);

/**
 * @brief Sets a population setting under the typed spelling every option
 * family shares (doc/api-conventions.md): the same as evo_population_set(),
 * every population setting being an integer. @since 0.2
 * @param pop The population.
 * @param setting Which setting.
 * @param value Its new value (evo_population_option_bounds()).
 * @return As evo_population_set(); on error nothing changes.
 */
EVO_API int evo_population_set_option_i64(evo_population *pop,
                                          evo_pop_setting setting,
                                          int64_t value);

/**
 * @brief Sets a real population setting. No population setting is real in
 * this version: every known setting gives ::EVO_EINVAL naming
 * evo_population_set_option_i64() (the call is there so that every family
 * has the same calls). @since 0.2
 * @param pop The population.
 * @param setting Which setting.
 * @param value Its new value.
 * @return ::EVO_EINVAL (NULL, unknown setting, an integer setting).
 */
EVO_API int evo_population_set_option_f64(evo_population *pop,
                                          evo_pop_setting setting,
                                          double value);

/**
 * @brief Reads a population setting, as evo_population_get(). @since 0.2
 * @param pop The population.
 * @param setting Which setting.
 * @param out Receives its value.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown setting).
 */
EVO_API int evo_population_get_option_i64(const evo_population *pop,
                                          evo_pop_setting setting,
                                          int64_t *out);

/**
 * @brief Reads a real population setting (none in this version).
 * @since 0.2
 * @param pop The population.
 * @param setting Which setting.
 * @param out Receives its value.
 * @return ::EVO_EINVAL (NULL, unknown setting, an integer setting).
 */
EVO_API int evo_population_get_option_f64(const evo_population *pop,
                                          evo_pop_setting setting,
                                          double *out);

/**
 * @brief What a population setting accepts on its own: its value type and
 * range (as zstd's `ZSTD_cParam_getBounds`); ::EVO_POP_ELITES and
 * ::EVO_POP_TOURNAMENT are further checked against ::EVO_POP_SIZE by the
 * first step. Thread-safe; needs no population. @since 0.2
 * @param setting Which setting.
 * @param out Receives the bounds.
 * @return ::EVO_OK or ::EVO_EINVAL (NULL, unknown setting).
 */
EVO_API int evo_population_option_bounds(evo_pop_setting setting,
                                         evo_option_bounds *out);

/**
 * @brief Replaces the initial seed genomes (copied) that open generation 0
 * before the random genomes; pass n = 0 for a fully random start. Only
 * before the first generation.
 * @param pop The population.
 * @param genomes @p n genomes (may be NULL when @p n is 0).
 * @param n Their number, at most the population size.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (more than the population
 * size), ::EVO_ESTATE or ::EVO_ENOMEM.
 */
EVO_API int evo_population_set_initial(evo_population *pop,
                                       const evo_genome *const *genomes,
                                       size_t n);

/**
 * @brief Sets the fitness callback (required before stepping, unless a
 * back end is set), run by the default thread pool.
 * @param pop The population.
 * @param fn The callback.
 * @param user Passed to every call of @p fn.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ESTATE (called from a callback
 * during a step).
 */
EVO_API int evo_population_set_fitness(evo_population *pop, evo_fitness_fn fn,
                                       void *user);

/**
 * @brief Sets a fitness callback that takes the evaluation rung, which
 * multi-fidelity search (::EVO_POP_RUNGS > 1) needs; replaces one set with
 * evo_population_set_fitness(). Not used when a back end is set.
 * @param pop The population.
 * @param fn The callback (required).
 * @param user Passed to every call.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ESTATE (from a callback).
 * @since 0.2
 */
EVO_API int evo_population_set_fitness_rung(evo_population *pop,
                                            evo_fitness_rung_fn fn,
                                            void *user);

/**
 * @brief Sets the back end that runs the evaluations (backend.h) instead of
 * the default thread pool (the fitness callback on ::EVO_POP_WORKERS
 * threads). The back end is borrowed: it must outlive its use by the
 * population (until the population is freed or another back end is set).
 * Like the callbacks it is not stored in checkpoints. May be called
 * between steps.
 * @param pop The population.
 * @param backend The back end, or NULL for the default thread pool.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ESTATE (called from a callback
 * during a step).
 */
EVO_API int evo_population_set_backend(evo_population *pop,
                                       evo_backend *backend);

/**
 * @brief Sets the progress callback.
 * @param pop The population.
 * @param fn The callback, or NULL to remove it.
 * @param user Passed to every call of @p fn.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ESTATE (called from a callback
 * during a step).
 */
EVO_API int evo_population_set_progress(evo_population *pop,
                                        evo_progress_fn fn, void *user);

/**
 * @brief Writes a checkpoint to @p path after every evaluation and every
 * generation (atomically: temporary file, flush, rename; versioned and
 * checksummed). NULL turns checkpoints off. @p tag is stored with it and
 * checked on resume (e.g. a description of the tasks and steps, so that a
 * checkpoint is not resumed with another fitness setup). May be called
 * between steps, e.g. to move or stop checkpointing after a resume.
 * @param pop The population.
 * @param path The checkpoint file, or NULL for none.
 * @param tag Stored in the checkpoint (NULL: the empty tag).
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ESTATE (called from a callback
 * during a step) or ::EVO_ENOMEM.
 */
EVO_API int evo_population_set_checkpoint(evo_population *pop,
                                          const char *path, const char *tag);

/**
 * @brief Reads the checkpoint path and tag set with
 * evo_population_set_checkpoint() (or restored by evo_population_resume()).
 * @param pop The population.
 * @param path Receives the path, owned by the population and valid until the
 * next evo_population_set_checkpoint() or evo_population_free(); NULL when
 * checkpoints are off (may be NULL).
 * @param tag Receives the tag, owned likewise; NULL when checkpoints are off
 * (may be NULL).
 * @return ::EVO_OK or ::EVO_EINVAL (NULL @p pop).
 * @since 0.2
 */
EVO_API int evo_population_get_checkpoint(const evo_population *pop,
                                          const char **path,
                                          const char **tag);

/**
 * @brief Restores a population from a checkpoint: settings, current
 * generation (including evaluations already done in it), history, hall
 * of fame and evaluation cache. The callbacks and the back end are not
 * stored: set them again before stepping.
 * Checkpointing continues to the same path.
 * @param out Receives the population.
 * @param path The checkpoint file.
 * @param tag The tag the checkpoint must carry (NULL: not checked).
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_EIO, ::EVO_EFORMAT (not a
 * checkpoint, damaged, other version), ::EVO_EMISMATCH (other tag) or
 * ::EVO_ENOMEM. The file is never modified on error.
 */
EVO_API int evo_population_resume(evo_population **out, const char *path,
                                  const char *tag);

/**
 * @brief Runs one generation: evaluates the individuals not yet evaluated,
 * records the history, then (unless it was the last generation) breeds the
 * next one (elites, tournament, crossover, mutation; doc/algorithm.md §4).
 * For steady-state evolution (::EVO_ALGO_STEADY) it commits results until
 * the current generation's N are in and recorded; no job stays in flight.
 *
 * The first step builds generation 0: the initial genomes, then random
 * genomes (evo_genome_random() with seeds derived from the run seed and
 * the index) up to the size. After an error or a stop, calling step again
 * continues where the run stopped.
 * @param pop The population.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (settings that do not fit
 * together), ::EVO_ESTATE (neither a fitness callback nor a back end, the
 * run is finished, or called from a callback), ::EVO_ECANCELED (the
 * progress callback asked to stop), ::EVO_EIO (a checkpoint could not be
 * written), ::EVO_ETHREAD, ::EVO_ENOMEM, or the status of a back end that
 * failed (backend.h, "Failures"; the message starts with "evaluation back
 * end"). A failing fitness callback is not an error of the step.
 */
EVO_API int evo_population_step(evo_population *pop);

/**
 * @brief Runs generations until the last one is done (at once when the
 * run is already finished).
 * @param pop The population.
 * @return As evo_population_step(), but ::EVO_OK for a finished run.
 */
EVO_API int evo_population_run(evo_population *pop);

/**
 * @brief The current generation (0-based); equals the number of
 * generations when the run is finished.
 * @param pop The population.
 * @return The generation, 0 for NULL.
 */
EVO_API size_t evo_population_generation(const evo_population *pop);

/**
 * @brief Whether the run is over: every generation has been evaluated, or
 * the compute budget (::EVO_POP_BUDGET) is spent at the end of a
 * generation. Raising the budget (evo_population_set()) lets a run that
 * stopped on its budget go on.
 * @param pop The population.
 * @return 1 when finished, else 0 (also for NULL).
 */
EVO_API int evo_population_finished(const evo_population *pop);

/**
 * @brief The number of individuals in the current generation.
 * @param pop The population.
 * @return The count; 0 for NULL and before the first step.
 */
EVO_API size_t evo_population_size(const evo_population *pop);

/**
 * @brief Individual @p index of the current generation.
 * @param pop The population.
 * @param index 0 to evo_population_size() - 1.
 * @param g Receives the genome, owned by the population and valid until the
 * next step (may be NULL).
 * @param fitness Receives its fitness, NaN when not yet evaluated (may be
 * NULL). A cache hit counts as evaluated.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_population_individual(const evo_population *pop, size_t index,
                                      const evo_genome **g, double *fitness);

/**
 * @brief Why the evaluation of individual @p index failed.
 * @param pop The population.
 * @param index 0 to evo_population_size() - 1.
 * @param status Receives the fitness callback's status: ::EVO_OK when it
 * succeeded or the individual is not yet evaluated, else the negative
 * status it returned (::EVO_ECALLBACK when it returned a positive value or
 * reported a non-finite fitness) (may be NULL).
 * @param message Receives the callback thread's evo_last_error() message
 * at that moment, "" when none; owned by the population, valid until the
 * next step (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_population_individual_error(const evo_population *pop,
                                            size_t index, int *status,
                                            const char **message);

/**
 * @brief Whether individual @p index got its result from the evaluation
 * cache (::EVO_POP_CACHE) rather than from an evaluation.
 * @param pop The population.
 * @param index 0 to evo_population_size() - 1.
 * @param cached Receives 1 for a cache hit, 0 for an evaluation or an
 * individual not yet evaluated.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_population_individual_cached(const evo_population *pop,
                                             size_t index, int *cached);

/**
 * @brief The number of results held by the evaluation cache
 * (::EVO_POP_CACHE).
 * @param pop The population.
 * @return The count, 0 for NULL or without the cache.
 */
EVO_API size_t evo_population_cache_count(const evo_population *pop);

/**
 * @brief The number of evaluations finished in the current generation
 * (steady-state evolution: results committed in it).
 * @param pop The population.
 * @return The count, 0 for NULL.
 */
EVO_API size_t evo_population_evaluated(const evo_population *pop);

/**
 * @brief The rung of an individual's result, or the rung it waits for
 * (0 without multi-fidelity search).
 * @param pop The population.
 * @param index The individual, 0 to evo_population_size() - 1.
 * @param rung Receives the rung.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 * @since 0.2
 */
EVO_API int evo_population_individual_rung(const evo_population *pop,
                                           size_t index, uint32_t *rung);

/**
 * @brief The compute the run has spent so far: the costs of every
 * evaluation recorded (evo_report_set_cost()), in CPU core-seconds.
 * @param pop The population.
 * @return The total, 0 for NULL.
 * @since 0.2
 */
EVO_API double evo_population_compute(const evo_population *pop);

/**
 * @brief The number of generations recorded in the history.
 * @param pop The population.
 * @return The count, 0 for NULL.
 */
EVO_API size_t evo_population_history_count(const evo_population *pop);

/**
 * @brief A value of generation @p generation's history.
 * @param pop The population.
 * @param generation A recorded generation (0-based).
 * @param key Which value.
 * @param out Receives it.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown key) or ::EVO_ERANGE (not
 * recorded).
 */
EVO_API int evo_population_history(const evo_population *pop,
                                   size_t generation, evo_history_key key,
                                   double *out);

/**
 * @brief The best genome of generation @p generation and its per-task
 * breakdown.
 * @param pop The population.
 * @param generation A recorded generation.
 * @param g Receives the genome, owned by the population (may be NULL).
 * @param report Receives its report, owned by the population (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_population_history_best(const evo_population *pop,
                                        size_t generation,
                                        const evo_genome **g,
                                        const evo_report **report);

/**
 * @brief How many terms of each kind the population of generation
 * @p generation held (a genome with two `sign` terms counts twice).
 * @param pop The population.
 * @param generation A recorded generation.
 * @param counts Receives ::EVO_TERM_COUNT counts, indexed by ::evo_term.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 * @deprecated Since 0.2: use evo_population_history_terms_n(). This call
 * writes the library's number of term kinds (::EVO_TERM_COUNT, 7 in 0.1)
 * whatever array the caller has, so a program compiled against a header
 * with fewer kinds would be overrun once kinds are added. It stays and
 * keeps working.
 */
EVO_API int evo_population_history_terms(const evo_population *pop,
                                         size_t generation,
                                         uint32_t counts[EVO_TERM_COUNT]);

/**
 * @brief How many genomes of generation @p generation held each term kind,
 * into a caller-sized array: entry k counts ::evo_term k. Writes
 * min(@p n, the library's number of term kinds) entries and never more, so
 * a caller built against a version with fewer kinds stays safe when kinds
 * are added; pass n = ::EVO_TERM_COUNT of the header you compiled with.
 * @param pop The population.
 * @param generation A recorded generation.
 * @param counts Receives the counts (may be NULL only when @p n is 0).
 * @param n The entries @p counts holds.
 * @param written Receives the entries written (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p pop, NULL @p counts with n > 0) or
 * ::EVO_ERANGE (generation not recorded); on error nothing is written.
 * @since 0.2
 */
EVO_API int evo_population_history_terms_n(const evo_population *pop,
                                           size_t generation, uint32_t *counts,
                                           size_t n, size_t *written);

/**
 * @brief The number of genomes in the hall of fame: the best distinct
 * genomes (evo_genome_equal()) seen so far, best first, equal fitness in
 * the order first seen. A genome seen again keeps its first generation and
 * the best fitness it has had (they differ only with
 * ::EVO_POP_FRESH_SEEDS). Evaluations whose callback failed do not enter.
 * @param pop The population.
 * @return The count, 0 for NULL.
 */
EVO_API size_t evo_population_hof_count(const evo_population *pop);

/**
 * @brief Entry @p rank of the hall of fame (0 = best ever seen).
 * @param pop The population.
 * @param rank 0 to evo_population_hof_count() - 1.
 * @param g Receives the genome, owned by the population (may be NULL).
 * @param fitness Receives its fitness (may be NULL).
 * @param generation Receives the generation it was first seen in (may be
 * NULL).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_population_hof(const evo_population *pop, size_t rank,
                               const evo_genome **g, double *fitness,
                               size_t *generation);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_POPULATION_H */

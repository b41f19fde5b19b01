/**
 * @file backend.h
 * @brief Evaluation back ends: where a population's evaluations run. A back
 * end takes evaluations (submit) and hands back results (collect); the
 * population decides what to evaluate, records the results and writes the
 * checkpoints. The library ships two back ends: a thread pool
 * (evo_backend_threads_new(), also what a population uses by default) and
 * MPI ranks (evo_backend_mpi_new(), mpi.h, in builds with MPI); a user
 * plugs in another engine (processes, a cluster queue) with
 * evo_backend_new() and evo_population_set_backend().
 *
 * @warning Experimental until 1.0: the calls of this header (and its
 * types and callbacks) may change or go in any 0.x release, unlike the
 * stable API of the other headers (doc/api-conventions.md, "Stable and
 * experimental"). Their symbols stay in the library's symbol versions
 * while they exist, but a program that uses them should expect to be
 * rebuilt against each 0.x release.
 *
 * @par The protocol
 * During evo_population_step() the population submits up to the back end's
 * number of slots at once, then collects one result, records it, submits
 * the next evaluation, and so on until the generation is evaluated. Every
 * submitted job is collected exactly once, unless collect fails. Results
 * may come back in any order: the population files each under its job id,
 * so a run's history does not depend on the order (population.h,
 * "Determinism").
 *
 * @par Failures
 * An evaluation that fails (a diverged run is not a failure, an error is)
 * is reported by collect with its status and message: the individual gets
 * fitness -1 and the run goes on. A back end that cannot go on (a worker
 * process died and its job cannot be re-run, a connection is lost, a
 * timeout the back end treats as fatal) returns an error from submit or
 * collect: the step then stops and returns that error, the checkpoint
 * holds every result recorded before, and the run continues from it
 * (evo_population_resume(), or another step once the back end works
 * again); the jobs that were in flight are evaluated again. A back end
 * that retries lost jobs itself, or that reports an evaluation that timed
 * out as a failed evaluation, does so inside its callbacks.
 *
 * @par Threads
 * The population calls submit and collect from the thread that runs the
 * step, one call at a time. A back end may be used by one population at a
 * time.
 *
 * @par Writing one (e.g. over MPI)
 * Give it as many slots as evaluations really run at once (e.g. one per
 * worker rank). submit sends the genome (evo_genome_to_json() and
 * evo_genome_from_json() carry it bit for bit), the seed and the job id;
 * collect waits for any answer and fills the report with
 * evo_report_set_fitness() and evo_report_add_task(). Since results depend
 * only on (genome, seed), a job whose worker died may simply be sent again
 * to another worker; when that is not possible, fail collect and let the
 * run resume later from its checkpoint.
 */
#ifndef EVOOPT_BACKEND_H
#define EVOOPT_BACKEND_H

#include "common.h"
#include "genome.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque evaluation back end. */
typedef struct evo_backend evo_backend;

/** The room for a failed evaluation's message that collect fills, in
 *  bytes, the terminating NUL included. */
#define EVO_BACKEND_MESSAGE_CAP 1024

/**
 * @brief The fitness callback: evaluates @p g with evaluation seed @p seed
 * and writes at least the fitness into @p report (evo_report_set_fitness(),
 * optionally a per-task breakdown with evo_report_add_task()).
 *
 * Must be a pure function of (genome, seed) for runs to be reproducible.
 * Called from worker threads (population.h, "Threads").
 * @param user The pointer given with the callback
 * (evo_population_set_fitness(), evo_backend_threads_new()).
 * @param g The genome (read-only, valid during the call).
 * @param seed The evaluation seed.
 * @param report A cleared report to fill.
 * @return ::EVO_OK, or a negative status: the genome then gets fitness -1,
 * the status and evo_last_error() of that thread are recorded (see
 * evo_population_individual_error()), and the run goes on. A positive
 * return, or ::EVO_OK with a non-finite fitness in @p report, counts as a
 * failure with ::EVO_ECALLBACK.
 */
typedef int (*evo_fitness_fn)(void *user, const evo_genome *g, uint64_t seed,
                              evo_report *report);

/**
 * @brief The fitness callback of multi-fidelity search (doc/algorithm.md
 * §9): as ::evo_fitness_fn, at evaluation rung @p rung, 0 the cheapest and
 * ::EVO_POP_RUNGS - 1 the full evaluation (evo_evaluator_fitness_rung()
 * is one). It should also record the evaluation's cost
 * (evo_report_set_cost()) when the population has a compute budget.
 * @since 0.2
 */
typedef int (*evo_fitness_rung_fn)(void *user, const evo_genome *g,
                                   uint64_t seed, uint32_t rung,
                                   evo_report *report);

/**
 * @brief Queues one evaluation: @p g with evaluation seed @p seed.
 *
 * Called only while fewer jobs than the back end's slots are in flight
 * (submitted and not yet collected).
 * @param user The pointer given to evo_backend_new().
 * @param job The job's id, unique among the jobs in flight (the
 * individual's index in its generation); collect hands it back.
 * @param g The genome; it stays valid and unchanged until the job is
 * collected (or until collect fails), so it need not be copied.
 * @param seed The evaluation seed.
 * @return ::EVO_OK when the job was taken, else a negative status (a
 * positive one counts as ::EVO_ECALLBACK): the back end cannot go on. The
 * step then submits nothing more, collects the jobs already in flight and
 * returns this status.
 */
typedef int (*evo_backend_submit_fn)(void *user, uint64_t job,
                                     const evo_genome *g, uint64_t seed);

/**
 * @brief As ::evo_backend_submit_fn, for an evaluation at rung @p rung
 * (back ends made with evo_backend_new_rung()).
 * @since 0.2
 */
typedef int (*evo_backend_submit_rung_fn)(void *user, uint64_t job,
                                          const evo_genome *g, uint64_t seed,
                                          uint32_t rung);

/**
 * @brief Waits until one of the jobs in flight is finished and hands back
 * its result.
 *
 * Called only while at least one job is in flight.
 * @param user The pointer given to evo_backend_new().
 * @param job Receives the finished job's id.
 * @param report A cleared report: receives the evaluation's fitness and
 * breakdown, as the fitness callback fills it.
 * @param status Receives the evaluation's status: ::EVO_OK, or the negative
 * status of a failed evaluation (a positive one, or ::EVO_OK with a
 * non-finite fitness, counts as ::EVO_ECALLBACK).
 * @param message Receives, for a failed evaluation, its message as a
 * NUL-terminated string (e.g. the worker's evo_last_error()); "" on entry.
 * @param message_cap The room at @p message, at least
 * ::EVO_BACKEND_MESSAGE_CAP bytes.
 * @return ::EVO_OK when a result was handed back; a negative status (a
 * positive one counts as ::EVO_ECALLBACK) when the back end cannot go on:
 * the step then stops at once and returns it, and the back end must forget
 * every job it was given (none of them is collected later). Handing back
 * a job id that is not in flight is such a failure too.
 */
typedef int (*evo_backend_collect_fn)(void *user, uint64_t *job,
                                      evo_report *report, int *status,
                                      char *message, size_t message_cap);

/**
 * @brief Releases what the back end holds (threads, connections), called
 * once by evo_backend_free().
 * @param user The pointer given to evo_backend_new().
 */
typedef void (*evo_backend_close_fn)(void *user);

/**
 * @brief Creates a back end from callbacks.
 * @param out Receives the back end.
 * @param slots The most jobs kept in flight at once, 1 to 2^20 (e.g. the
 * number of workers). Keeping this at the number of evaluations that really
 * run at once lets a stop request (the progress callback) take effect
 * quickly, since no job is handed out after it.
 * @param submit Queues an evaluation (required).
 * @param collect Hands back a result (required).
 * @param close Called by evo_backend_free(), or NULL.
 * @param user Passed to every callback.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p out, @p submit or @p collect),
 * ::EVO_ERANGE (@p slots) or ::EVO_ENOMEM. Thread-safe.
 */
EVO_API int evo_backend_new(evo_backend **out, size_t slots,
                            evo_backend_submit_fn submit,
                            evo_backend_collect_fn collect,
                            evo_backend_close_fn close, void *user);

/**
 * @brief Creates the thread-pool back end: @p workers threads call
 * @p fn, each on its own job. The threads start with the first job and
 * live until the back end is freed. With one worker there is no thread:
 * collect runs the job on the calling thread.
 * @param out Receives the back end.
 * @param fn The fitness callback, called from the worker threads.
 * @param user Passed to every call of @p fn.
 * @param workers The number of threads, 1 to 256; also the slots.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (@p workers) or
 * ::EVO_ENOMEM. Its submit returns ::EVO_ETHREAD when the threads cannot
 * be started. Thread-safe.
 */
EVO_API int evo_backend_threads_new(evo_backend **out, evo_fitness_fn fn,
                                    void *user, size_t workers);

/**
 * @brief Creates a back end whose submit callback takes the evaluation
 * rung, which multi-fidelity search needs (::EVO_POP_RUNGS > 1). A back
 * end made with evo_backend_new() runs rung 0 only.
 * @param out Receives the back end.
 * @param slots As for evo_backend_new().
 * @param submit Queues an evaluation at a rung (required).
 * @param collect Hands back a result (required).
 * @param close Called by evo_backend_free(), or NULL.
 * @param user Passed to every callback.
 * @return As evo_backend_new(). Thread-safe.
 * @since 0.2
 */
EVO_API int evo_backend_new_rung(evo_backend **out, size_t slots,
                                 evo_backend_submit_rung_fn submit,
                                 evo_backend_collect_fn collect,
                                 evo_backend_close_fn close, void *user);

/**
 * @brief As evo_backend_threads_new(), with a fitness callback that takes
 * the evaluation rung.
 * @return As evo_backend_threads_new(). Thread-safe.
 * @since 0.2
 */
EVO_API int evo_backend_threads_new_rung(evo_backend **out,
                                         evo_fitness_rung_fn fn, void *user,
                                         size_t workers);

/**
 * @brief Calls the back end's submit callback for an evaluation at rung
 * @p rung.
 * @return As evo_backend_submit(), or ::EVO_EUNSUPPORTED when @p rung is
 * not 0 and the back end was made without rungs (evo_backend_new()).
 * @since 0.2
 */
EVO_API int evo_backend_submit_rung(evo_backend *b, uint64_t job,
                                    const evo_genome *g, uint64_t seed,
                                    uint32_t rung);

/**
 * @brief Whether the back end takes evaluation rungs other than 0.
 * @param b The back end.
 * @return 1 when it was made with evo_backend_new_rung() (or
 * evo_backend_threads_new_rung()), else 0.
 * @since 0.2
 */
EVO_API int evo_backend_has_rungs(const evo_backend *b);

/**
 * @brief Calls the back end's submit callback, for code that drives a back
 * end without a population or wraps one in another (e.g. to time its
 * evaluations). The rules of ::evo_backend_submit_fn hold: at most
 * evo_backend_slots() jobs in flight, @p g valid until collected.
 * @param b The back end.
 * @param job The job's id, unique among the jobs in flight.
 * @param g The genome.
 * @param seed The evaluation seed.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL @p b or @p g), or the callback's
 * negative status (a positive one becomes ::EVO_ECALLBACK). Not
 * thread-safe: one call at a time per back end.
 */
EVO_API int evo_backend_submit(evo_backend *b, uint64_t job,
                               const evo_genome *g, uint64_t seed);

/**
 * @brief Calls the back end's collect callback: waits for one of the jobs
 * in flight and hands back its result (see ::evo_backend_collect_fn).
 * @param b The back end.
 * @param job Receives the finished job's id.
 * @param report Receives its report (cleared first).
 * @param status Receives the evaluation's status.
 * @param message Receives a failed evaluation's message ("" otherwise).
 * @param message_cap The room at @p message, at least
 * ::EVO_BACKEND_MESSAGE_CAP bytes.
 * @return ::EVO_OK, ::EVO_EINVAL (a NULL pointer), ::EVO_ERANGE
 * (@p message_cap too small), or the callback's negative status (a
 * positive one becomes ::EVO_ECALLBACK). Not thread-safe: one call at a
 * time per back end.
 */
EVO_API int evo_backend_collect(evo_backend *b, uint64_t *job,
                                evo_report *report, int *status,
                                char *message, size_t message_cap);

/**
 * @brief The most jobs the back end keeps in flight at once.
 * @param b The back end.
 * @return The slots given at creation, 0 for NULL.
 */
EVO_API size_t evo_backend_slots(const evo_backend *b);

/**
 * @brief Frees a back end: calls its close callback, then releases it. Not
 * while a population uses it (during a step).
 * @param b The back end, or NULL.
 */
EVO_API void evo_backend_free(evo_backend *b);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_BACKEND_H */

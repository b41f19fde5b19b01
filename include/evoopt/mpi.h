/**
 * @file mpi.h
 * @brief The MPI evaluation back end: one process (rank 0) runs the
 * genetic algorithm with evo_backend_mpi_new() (or
 * evo_backend_mpi_new_parts()) as its back end (backend.h), the others
 * (ranks 1 to N-1) serve evaluations with evo_mpi_worker_run() (or its
 * _rung and _evaluator forms).
 *
 * These functions exist in every build, so that the ABI does not depend on
 * how the library was configured; in a library built without MPI
 * (`-Dmpi=disabled`, or libopenmpi-dev missing) they return
 * ::EVO_EUNSUPPORTED (evo_mpi_supported() tells beforehand). The header
 * does not include `<mpi.h>`.
 *
 * @warning Experimental until 1.0: the calls of this header (and its
 * types and callbacks) may change or go in any 0.x release, unlike the
 * stable API of the other headers (doc/api-conventions.md, "Stable and
 * experimental"). Their symbols stay in the library's symbol versions
 * while they exist, but a program that uses them should expect to be
 * rebuilt against each 0.x release.
 *
 * @par Typical use
 * @code
 * evo_mpi_init(&argc, &argv);
 * evo_mpi_rank(&rank, &size);
 * // every rank: open the tasks and build the evaluator (data are loaded
 * // once per rank)
 * if (rank == 0) {
 *   // each (task, seed) run of an evaluation a job of its own:
 *   evo_backend_mpi_new_parts(&backend, evaluator, 3600.0, tag);
 *   evo_population_set_backend(pop, backend);
 *   evo_population_run(pop);
 *   evo_backend_free(backend);
 * } else {
 *   evo_mpi_worker_run_evaluator(evaluator, 1, tag);
 * }
 * evo_mpi_finalize(); // on rank 0 this also stops the workers
 * @endcode
 *
 * @par What travels
 * Rank 0 sends a job id, the evaluation seed, the evaluation rung
 * (multi-fidelity search, ::EVO_POP_RUNGS), which part of the evaluation
 * is asked (all of it, or one (task, seed) run: evo_evaluator_run_part())
 * and the genome (its JSON text, which evo_genome_from_json() restores
 * bit for bit); the worker sends back the job id, the status, the
 * report's fitness, cost (evo_report_cost()) and per-task breakdown as raw
 * IEEE-754 doubles, and a failed evaluation's message. No generator state
 * travels: an evaluation is a pure function of (genome, seed, rung), so
 * any rank computes the same result. Ranks of different libevoopt
 * versions whose messages differ (the protocol, 2 since 0.2) are refused
 * when the back end is made, with a message naming the rank.
 *
 * @par Scheduling
 * Each worker rank offers as many slots as the threads it was started
 * with. The back end hands out one job at a time to an idle slot (of the
 * rank with the fewest busy slots), so fast jobs (diverged runs stop
 * early) free their slot at once. With evo_backend_mpi_new() a job is a
 * whole evaluation, so no more slots are busy than evaluations the
 * population has to give (at most its size, at the generation's end
 * fewer). With evo_backend_mpi_new_parts() a job is one (task, seed)
 * training run, so an evaluation of 3 tasks × 2 seeds keeps 6 slots busy
 * and lasts as long as its longest run; rank 0 combines the runs'
 * fitness in the evaluator's order (evo_evaluator_combine()), so the
 * result has the same bits as the whole evaluation's.
 *
 * @par Failures
 * An evaluation that runs longer than the timeout (its rank died or hangs)
 * (or part) is sent again to another rank, and the silent rank gets no more
 * work until it answers; whichever answer arrives first is taken (both are the
 * same). When no rank is left that answers, collect fails and the
 * population step stops with a valid checkpoint (backend.h, "Failures").
 * Open MPI's mpirun itself, by default, ends the whole job when any rank
 * dies (it sends SIGTERM, then SIGKILL a second later, to every rank), so
 * with a plain `mpirun` a dead worker ends the run and the checkpoint
 * (written after every evaluation) is what survives; with
 * `mpirun --mca orte_enable_recovery 1 --mca orte_abort_on_non_zero_status 0`
 * the job survives and the timeout re-sends the lost work.
 *
 * @par Threads and process state
 * MPI is process-wide, and so is the state behind these calls: call them
 * from the thread that called evo_mpi_init() (MPI_THREAD_FUNNELED). The
 * fitness callback of a worker runs on its own threads when it has more
 * than one, and never calls MPI.
 */
#ifndef EVOOPT_MPI_H
#define EVOOPT_MPI_H

#include "backend.h"
#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Whether this copy of the library was built with MPI.
 * @return 1 when the evo_mpi_* calls work, 0 when they return
 * ::EVO_EUNSUPPORTED. Thread-safe.
 */
EVO_API int evo_mpi_supported(void);

/**
 * @brief Initializes MPI (MPI_Init_thread with MPI_THREAD_FUNNELED) and
 * makes MPI errors on MPI_COMM_WORLD return codes instead of ending the
 * job (MPI_ERRORS_RETURN). When the application has initialized MPI
 * already, only the latter is done, and evo_mpi_finalize() leaves MPI to
 * the application.
 * @param argc The program's argument count, as MPI_Init takes it (may be
 * NULL).
 * @param argv The program's arguments (may be NULL).
 * @return ::EVO_OK, ::EVO_ESTATE (already initialized through this call,
 * or finalized), ::EVO_EIO (MPI refused) or ::EVO_EUNSUPPORTED.
 */
EVO_API int evo_mpi_init(int *argc, char ***argv);

/**
 * @brief This process's rank and the number of processes in
 * MPI_COMM_WORLD.
 * @param rank Receives the rank, 0 to size - 1 (may be NULL).
 * @param size Receives the number of processes (may be NULL).
 * @return ::EVO_OK, ::EVO_ESTATE (evo_mpi_init() not called) or
 * ::EVO_EUNSUPPORTED.
 */
EVO_API int evo_mpi_rank(int *rank, int *size);

/**
 * @brief Creates the MPI back end, on rank 0: waits until every other rank
 * has called evo_mpi_worker_run() and announced its threads and tag; the
 * slots are the sum of the workers' threads.
 *
 * One MPI back end may exist at a time. Freeing it does not stop the
 * workers (evo_mpi_finalize() does), so another one may be created later;
 * results of jobs given to a freed back end are ignored.
 * @param out Receives the back end.
 * @param timeout_seconds The most seconds one evaluation may take before
 * it is sent to another rank (see "Failures"); also how long to wait for
 * the workers' announcements. 0 waits forever. At most 10^7.
 * @param tag A description of the fitness setup (e.g. tasks, steps and
 * seeds) that every worker must have given to evo_mpi_worker_run(), or
 * NULL for "".
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (@p timeout_seconds),
 * ::EVO_ESTATE (not rank 0, fewer than 2 processes, MPI not initialized,
 * or an MPI back end exists), ::EVO_EMISMATCH (a worker's tag or MPI
 * protocol differs; the message names the rank), ::EVO_EIO (MPI failed, or a
 * worker did not announce itself in time), ::EVO_ENOMEM or ::EVO_EUNSUPPORTED.
 * Collect fails with ::EVO_EIO when no worker rank answers any more.
 */
EVO_API int evo_backend_mpi_new(evo_backend **out, double timeout_seconds,
                                const char *tag);

/**
 * @brief Creates the MPI back end that splits every evaluation into its
 * parts, one (task, seed) training run each (evo_evaluator_parts()), and
 * sends each part to a worker slot as a job of its own; an evaluation is
 * handed back to the population when its parts are in, combined on rank
 * 0 with evo_evaluator_combine() (the same bits as the whole evaluation;
 * its cost the sum of the parts'). A failed part fails the evaluation
 * with that part's message (the first failed part's, as the whole
 * evaluation would stop at it); a part whose rank passes the timeout is
 * sent again, as whole evaluations are. Every worker rank must run
 * evo_mpi_worker_run_evaluator() with an evaluator of the same setup.
 *
 * The back end's slots (evo_backend_slots(), the evaluations the
 * population may keep in flight) are W + 1, W the workers' slots: parts
 * differ in length, and an evaluation is in flight until its longest
 * part is in, so evaluations whose parts would just fill the worker
 * slots would leave slots idle. (When evaluations have so many parts
 * that W + 1 of them would need more than 2^22 part records, fewer, but
 * never fewer than ceil(W / P) + 1, P the fewest parts of an evaluation
 * at any rung of @p e.)
 * @param out Receives the back end.
 * @param e The evaluator (at least one task), borrowed: it must outlive
 * the back end, and its tasks, seeds and rungs must not change while the
 * back end exists. Rank 0 only counts and combines parts with it.
 * @param timeout_seconds As for evo_backend_mpi_new(), for one part.
 * @param tag As for evo_backend_mpi_new().
 * @return As evo_backend_mpi_new(); also ::EVO_ESTATE when @p e has no
 * tasks, and ::EVO_EMISMATCH when a worker rank was not started with
 * evo_mpi_worker_run_evaluator() (the message names it). Not thread-safe
 * (see "Threads and process state").
 * @since 0.2
 */
EVO_API int evo_backend_mpi_new_parts(evo_backend **out, const evo_evaluator *e,
                                      double timeout_seconds, const char *tag);

/**
 * @brief Serves evaluations on a worker rank (1 to size - 1) until rank 0
 * says stop (evo_mpi_finalize() on rank 0): announces @p threads slots
 * and @p tag, then receives jobs, evaluates each with @p fn and sends the
 * report back. With @p threads > 1 the evaluations run on that many
 * threads of their own; with 1 on the calling thread. It serves rung 0
 * only: a job at another rung (multi-fidelity search) comes back to rank 0
 * as a failed evaluation (::EVO_EUNSUPPORTED, the message saying why).
 * @param fn The fitness callback (e.g. evo_evaluator_fitness()); a pure
 * function of (genome, seed), as population.h requires.
 * @param user Passed to every call of @p fn.
 * @param threads Evaluations run at once, 1 to 256.
 * @param tag The fitness setup, compared by rank 0 with its own (NULL:
 * "").
 * @return ::EVO_OK after the stop message, ::EVO_EINVAL, ::EVO_ERANGE
 * (@p threads), ::EVO_ESTATE (rank 0, or MPI not initialized),
 * ::EVO_EIO (MPI failed, or a malformed message), ::EVO_ETHREAD,
 * ::EVO_ENOMEM or ::EVO_EUNSUPPORTED. A failing @p fn is reported to rank
 * 0, not returned.
 */
EVO_API int evo_mpi_worker_run(evo_fitness_fn fn, void *user, size_t threads,
                               const char *tag);

/**
 * @brief As evo_mpi_worker_run(), with a fitness callback that takes the
 * evaluation rung, for multi-fidelity search (::EVO_POP_RUNGS > 1): the
 * rung rank 0 asks for is passed to @p fn, and the report's cost
 * (evo_report_set_cost()) travels back with its fitness.
 * @param fn The fitness callback (e.g. evo_evaluator_fitness_rung()); a
 * pure function of (genome, seed, rung).
 * @param user Passed to every call of @p fn.
 * @param threads Evaluations run at once, 1 to 256.
 * @param tag As for evo_mpi_worker_run().
 * @return As evo_mpi_worker_run().
 * @since 0.2
 */
EVO_API int evo_mpi_worker_run_rung(evo_fitness_rung_fn fn, void *user,
                                    size_t threads, const char *tag);

/**
 * @brief Serves evaluations of @p e on a worker rank, as
 * evo_mpi_worker_run_rung() with evo_evaluator_fitness_rung(), and also
 * single parts of evaluations (evo_evaluator_run_part()), which the back
 * end of evo_backend_mpi_new_parts() sends. A worker started otherwise
 * is refused by that back end.
 * @param e The evaluator (at least one task); rank 0's must have the same
 * tasks, steps, seeds and rungs (say so in @p tag).
 * @param threads Jobs run at once, 1 to 256.
 * @param tag As for evo_mpi_worker_run().
 * @return As evo_mpi_worker_run(); also ::EVO_ESTATE when @p e has no
 * tasks.
 * @since 0.2
 */
EVO_API int evo_mpi_worker_run_evaluator(const evo_evaluator *e, size_t threads,
                                         const char *tag);

/**
 * @brief Ends the MPI part of the process. On rank 0 it first tells every
 * worker to stop (so that their evo_mpi_worker_run() returns); then it
 * calls MPI_Finalize (unless the application initialized MPI itself).
 *
 * MPI_Finalize waits for every process of the job: when a worker rank
 * stopped answering (see "Failures"), it would wait forever, so rank 0
 * then does not finalize and returns ::EVO_ESTATE; end the job with
 * evo_mpi_abort().
 * @return ::EVO_OK, ::EVO_ESTATE (not initialized, or a worker rank is
 * silent; the message names it), ::EVO_EIO or ::EVO_EUNSUPPORTED.
 */
EVO_API int evo_mpi_finalize(void);

/**
 * @brief Ends every process of the MPI job, this one included
 * (MPI_Abort on MPI_COMM_WORLD): the way out when evo_mpi_finalize()
 * cannot finalize. Does not return when MPI is initialized; otherwise (or
 * in a build without MPI) it does nothing and returns.
 * @param code The exit status the job reports (mpirun returns it).
 */
EVO_API void evo_mpi_abort(int code);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_MPI_H */

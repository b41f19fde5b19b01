/**
 * @file report.h
 * @brief Evaluation reports: the fitness of one genome with its per-task
 * breakdown and its compute cost. The library's evaluator fills them
 * (task.h); a user fitness callback (population.h) fills one itself.
 *
 * @par Threads
 * A report is used by one thread at a time; distinct reports may be used
 * from distinct threads at once.
 * @since 0.2 (the calls were declared in task.h in 0.1; task.h includes
 * this header, so code that includes task.h is unchanged)
 */
#ifndef EVOOPT_REPORT_H
#define EVOOPT_REPORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The outcome of a multi-task evaluation: fitness and a per-task
 *  breakdown. Also what a user fitness callback fills in. */
typedef struct evo_report evo_report;

/** @brief Creates an empty report. @return ::EVO_OK, ::EVO_EINVAL or
 *  ::EVO_ENOMEM. */
EVO_API int evo_report_new(evo_report **out);

/** @brief Frees a report. @param rep The report, or NULL. */
EVO_API void evo_report_free(evo_report *rep);

/** @brief Empties a report (fitness -1, no tasks, no message).
 *  @return ::EVO_OK or ::EVO_EINVAL. */
EVO_API int evo_report_clear(evo_report *rep);

/**
 * @brief Sets the overall fitness (for user fitness callbacks).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (not finite).
 */
EVO_API int evo_report_set_fitness(evo_report *rep, double fitness);

/**
 * @brief Adds one task's fitness to the breakdown (for user fitness
 * callbacks; the library's evaluator fills it itself).
 * @param rep The report.
 * @param task The task's name (copied; at most 63 bytes).
 * @param fitness Its fitness (mean over seeds).
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (more than 64 tasks, name
 * too long, fitness not finite) or ::EVO_ENOMEM.
 */
EVO_API int evo_report_add_task(evo_report *rep, const char *task,
                                double fitness);

/**
 * @brief The overall fitness.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_report_fitness(const evo_report *rep, double *out);

/**
 * @brief The number of tasks in the breakdown.
 * @return The count, 0 for NULL.
 */
EVO_API size_t evo_report_task_count(const evo_report *rep);

/**
 * @brief Reads entry @p index of the breakdown.
 * @param rep The report.
 * @param index 0 to evo_report_task_count() - 1.
 * @param name Receives the task's name, owned by the report (may be NULL).
 * @param fitness Receives its fitness (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 */
EVO_API int evo_report_task(const evo_report *rep, size_t index,
                            const char **name, double *fitness);

/**
 * @brief Records the compute an evaluation cost, in CPU core-seconds (for
 * user fitness callbacks; the library's evaluator sets it itself from the
 * training runs' time × engine threads). A population adds it up for its
 * compute budget (::EVO_POP_BUDGET) and its history (::EVO_HIST_COMPUTE).
 * @param rep The report.
 * @param core_seconds The cost, finite and at least 0 (0 by default).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE.
 * @since 0.2
 */
EVO_API int evo_report_set_cost(evo_report *rep, double core_seconds);

/**
 * @brief The compute recorded with evo_report_set_cost().
 * @param rep The report.
 * @param out Receives the cost in core-seconds.
 * @return ::EVO_OK or ::EVO_EINVAL.
 * @since 0.2
 */
EVO_API int evo_report_cost(const evo_report *rep, double *out);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_REPORT_H */

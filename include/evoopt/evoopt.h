/**
 * @file evoopt.h
 * @brief The umbrella header: includes every component of libevoopt.
 *
 * libevoopt discovers deep-learning optimizers by evolution (the paper
 * "Evolving Deep Learning Optimizers", arXiv 2512.11853) and ships them as a
 * drop-in optimizer for C and C++ training code.
 *
 * Components:
 * - common.h: version, status codes, last error message.
 * - genome.h: the genome (update terms, hyperparameters, flags, schedules).
 * - optimizer.h: the drop-in optimizer, evo_optimizer_step().
 * - task.h: the bundled CNN tasks and the paper's fitness protocol.
 * - population.h: the genetic algorithm, checkpoints and history.
 * - backend.h: evaluation back ends (the thread pool, or your own engine).
 */
#ifndef EVOOPT_EVOOPT_H
#define EVOOPT_EVOOPT_H

#include "common.h"
#include "genome.h"
#include "optimizer.h"
#include "report.h"
#include "task.h"
#include "population.h"
#include "backend.h"
#include "mpi.h"

#endif /* EVOOPT_EVOOPT_H */

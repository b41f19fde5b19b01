/* The evaluation back end's representation (backend.h), shared by the
 * generic back end (backend.c), the thread pool (backend_threads.c) and
 * the population's evaluation loop (population_eval.c). Never installed. */
#ifndef EVOOPT_BACKEND_INTERNAL_H
#define EVOOPT_BACKEND_INTERNAL_H

#include <stddef.h>

#include "evoopt/backend.h"

/* The most slots a back end may have: bounds what a population keeps in
 * flight (it never needs more than its size). */
#define EVO_BACKEND_MAX_SLOTS ((size_t)1 << 20)
/* The most threads of the thread pool (EVO_POP_WORKERS' range). */
#define EVO_BACKEND_MAX_THREADS 256

struct evo_backend {
  size_t slots;
  evo_backend_submit_fn submit;           /* NULL when submit_rung is set */
  evo_backend_submit_rung_fn submit_rung; /* NULL: rung 0 only */
  evo_backend_collect_fn collect;
  evo_backend_close_fn close;
  void *user;
};

/* Calls @p b's submit (or submit_rung) callback, unchecked; a back end
 * without rungs refuses rung != 0 with EVO_EUNSUPPORTED. */
int evo_backend_call_submit(evo_backend *b, uint64_t job, const evo_genome *g,
                            uint64_t seed, uint32_t rung);

#endif

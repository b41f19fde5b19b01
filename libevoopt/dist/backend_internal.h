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
  evo_backend_submit_fn submit;
  evo_backend_collect_fn collect;
  evo_backend_close_fn close;
  void *user;
};

#endif

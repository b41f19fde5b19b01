/* The MPI calls (mpi.h) in a library built without MPI: they exist, so
 * that the ABI does not depend on the build, and say why they cannot
 * work. */
#include "core/common_internal.h"
#include "evoopt/mpi.h"

static int unsupported(const char *what) {
  return evo_set_error(EVO_EUNSUPPORTED,
                       "%s: this libevoopt was built without MPI (install "
                       "libopenmpi-dev and configure with -Dmpi=enabled)",
                       what);
}

EVO_API int evo_mpi_supported(void) {
  return 0;
}

EVO_API int evo_mpi_init(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return unsupported("evo_mpi_init");
}

EVO_API int evo_mpi_rank(int *rank, int *size) {
  (void)rank;
  (void)size;
  return unsupported("evo_mpi_rank");
}

EVO_API int evo_backend_mpi_new(evo_backend **out, double timeout_seconds,
                                const char *tag) {
  (void)timeout_seconds;
  (void)tag;
  if (out != NULL)
    *out = NULL;
  return unsupported("evo_backend_mpi_new");
}

EVO_API int evo_mpi_worker_run(evo_fitness_fn fn, void *user, size_t threads,
                               const char *tag) {
  (void)fn;
  (void)user;
  (void)threads;
  (void)tag;
  return unsupported("evo_mpi_worker_run");
}

EVO_API int evo_backend_mpi_new_parts(evo_backend **out, const evo_evaluator *e,
                                      double timeout_seconds, const char *tag) {
  (void)e;
  (void)timeout_seconds;
  (void)tag;
  if (out != NULL)
    *out = NULL;
  return unsupported("evo_backend_mpi_new_parts");
}

EVO_API int evo_mpi_worker_run_rung(evo_fitness_rung_fn fn, void *user,
                                    size_t threads, const char *tag) {
  (void)fn;
  (void)user;
  (void)threads;
  (void)tag;
  return unsupported("evo_mpi_worker_run_rung");
}

EVO_API int evo_mpi_worker_run_evaluator(const evo_evaluator *e, size_t threads,
                                         const char *tag) {
  (void)e;
  (void)threads;
  (void)tag;
  return unsupported("evo_mpi_worker_run_evaluator");
}

EVO_API int evo_mpi_finalize(void) {
  return unsupported("evo_mpi_finalize");
}

EVO_API void evo_mpi_abort(int code) {
  (void)code;
}

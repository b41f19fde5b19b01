/* evoopt under mpirun (doc/evoopt.1, "MPI"): which role this process
 * plays. Only `evolve` uses MPI: rank 0 runs the genetic algorithm, prints
 * and writes the run folder; the other ranks serve evaluations and print
 * nothing but their errors. MPI is started only when a launcher started
 * us (its variables are set), never as a singleton. */
#include <stdlib.h>

#include "cli_internal.h"

/* The variables that Open MPI's mpirun, MPICH's hydra and Slurm's srun
 * set in every process they start. */
static long env_number(const char *const names[], long fallback) {
  for (size_t i = 0; names[i] != NULL; i++) {
    const char *v = getenv(names[i]);
    if (v != NULL && v[0] != '\0')
      return strtol(v, NULL, 10);
  }
  return fallback;
}

int cli_mpi_env(int *rank, int *size) {
  static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                          "PMIX_SIZE", NULL};
  static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK",
                                          "PMIX_RANK", NULL};
  long n = env_number(size_vars, 0), r = env_number(rank_vars, -1);
  *size = n > 0 && n < 1L << 30 ? (int)n : 1;
  *rank = r >= 0 && r < *size ? (int)r : 0;
  return n > 0 || r >= 0;
}

int cli_mpi_start(cli_mpi *m, int *argc, char ***argv) {
  m->active = 0;
  if (!cli_mpi_env(&m->rank, &m->size))
    return CLI_EXIT_OK; /* not under a launcher */
  cli_set_rank(m->rank);
  if (!evo_mpi_supported()) {
    if (m->size == 1)
      return CLI_EXIT_OK; /* one process: nothing to share */
    if (m->rank == 0)
      cli_error("this evoopt was built without MPI, so %d processes would "
                "each run the whole evolution: run it without mpirun, or "
                "rebuild with libopenmpi-dev installed (-Dmpi=enabled)",
                m->size);
    return CLI_EXIT_RUNTIME;
  }
  int st = evo_mpi_init(argc, argv);
  if (st == EVO_OK)
    st = evo_mpi_rank(&m->rank, &m->size);
  if (st != EVO_OK)
    return cli_lib_error(st, "cannot start MPI");
  m->active = 1;
  cli_set_rank(m->rank);
  if (m->rank > 0 && freopen("/dev/null", "w", stdout) == NULL)
    return cli_error("rank %d: cannot silence stdout", m->rank);
  return CLI_EXIT_OK;
}

int cli_mpi_end(const cli_mpi *m, int rc) {
  if (!m->active)
    return rc;
  /* A worker that cannot serve (its data, say) ends the job: rank 0 would
   * wait for it. Usage errors are the same on every rank: no need. */
  if (m->rank > 0 && rc == CLI_EXIT_RUNTIME)
    evo_mpi_abort(rc);
  int st = evo_mpi_finalize();
  if (st == EVO_ESTATE && m->rank == 0) {
    /* A worker rank is silent: MPI_Finalize would wait for it forever.
     * Everything is written, so end the job with our exit status. */
    cli_note("%s; the run folder is written, so rank 0 ends the job "
             "(exit status %d)",
             evo_last_error(), rc);
    evo_mpi_abort(rc);
  }
  if (st != EVO_OK)
    return cli_lib_error(st, "cannot end MPI");
  return rc;
}

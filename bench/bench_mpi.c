/* The MPI back end's cost per evaluation (issue 7), beside what an
 * evaluation costs: run under `mpirun -np N` (N >= 2). Rank 0 times
 *   - a no-op evaluation through the in-process thread pool (1 worker),
 *   - a no-op evaluation sent to one worker rank and back (latency: one
 *     job in flight), and with every worker slot busy (throughput),
 *   - one real evaluation on the bundled digits (the smoke-sized setting
 *     of bench_mpi.sh: 100 steps, 1 seed) in process,
 * and prints the messaging overhead as a fraction of that training time.
 * The worker ranks serve the no-op fitness.
 *
 * Usage: mpirun -np N bench_mpi [no-op jobs (default 5000)] */
#define _POSIX_C_SOURCE 200809L
#include <evoopt/evoopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TAG "bench_mpi no-op"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int noop(void *user, const evo_genome *g, uint64_t seed,
                evo_report *report) {
  (void)user;
  (void)g;
  return evo_report_set_fitness(report, (double)(seed % 7));
}

/* Seconds per job: @p jobs no-op jobs with @p depth of them in flight. */
static double time_jobs(evo_backend *b, const evo_genome *g, size_t jobs,
                        size_t depth) {
  evo_report *rep = NULL;
  char message[EVO_BACKEND_MESSAGE_CAP];
  evo_report_new(&rep);
  size_t sent = 0, done = 0;
  double t0 = now();
  while (done < jobs) {
    while (sent < jobs && sent - done < depth)
      if (evo_backend_submit(b, sent, g, sent) == EVO_OK)
        sent++;
    uint64_t job;
    int status;
    if (evo_backend_collect(b, &job, rep, &status, message, sizeof message) !=
        EVO_OK) {
      fprintf(stderr, "collect: %s\n", evo_last_error());
      break;
    }
    done++;
  }
  double t = (now() - t0) / (double)jobs;
  evo_report_free(rep);
  return t;
}

/* Seconds of one digits evaluation (100 steps, 1 seed), best of 5. */
static double time_training(const evo_genome *g) {
  evo_task *task = NULL;
  evo_evaluator *e = NULL;
  evo_report *rep = NULL;
  double best = 1e30;
  if (evo_task_open(&task, "digits", NULL) != EVO_OK ||
      evo_evaluator_new(&e) != EVO_OK ||
      evo_evaluator_add_task(e, task) != EVO_OK ||
      evo_evaluator_set_steps(e, 100) != EVO_OK ||
      evo_evaluator_set_seeds(e, 1) != EVO_OK || evo_report_new(&rep) != EVO_OK)
    fprintf(stderr, "digits: %s\n", evo_last_error());
  else
    for (int i = 0; i < 5; i++) {
      double t0 = now();
      evo_evaluator_run(e, g, 0, rep);
      double t = now() - t0;
      best = t < best ? t : best;
    }
  evo_report_free(rep);
  evo_evaluator_free(e);
  evo_task_free(task);
  return best;
}

static int run_rank0(int size, size_t jobs) {
  evo_genome *g = NULL;
  evo_backend *threads = NULL, *mpi = NULL;
  if (evo_genome_preset(&g, "adam") != EVO_OK ||
      evo_backend_threads_new(&threads, noop, NULL, 1) != EVO_OK ||
      evo_backend_mpi_new(&mpi, 0.0, TAG) != EVO_OK) {
    fprintf(stderr, "set-up: %s\n", evo_last_error());
    return 1;
  }
  size_t slots = evo_backend_slots(mpi);
  time_jobs(mpi, g, jobs / 10, 1); /* warm-up: connections, caches */
  double local = time_jobs(threads, g, jobs, 1);
  double latency = time_jobs(mpi, g, jobs, 1);
  double through = time_jobs(mpi, g, jobs, slots);
  double train = time_training(g);
  printf("MPI back end, %d processes (%zu worker slots), %zu no-op jobs:\n",
         size, slots, jobs);
  printf("  in-process thread pool, no-op      %8.1f us per evaluation\n",
         1e6 * local);
  printf("  MPI round trip, 1 job in flight     %8.1f us per evaluation\n",
         1e6 * latency);
  printf("  MPI, all %zu slots busy              %8.1f us per evaluation "
         "(%.0f evaluations/s)\n",
         slots, 1e6 * through, 1.0 / through);
  printf("  one digits evaluation (100 steps)   %8.1f ms in process\n",
         1e3 * train);
  printf("  overhead / training time            %8.4f%% (round trip over "
         "digits, 100 steps)\n",
         100.0 * (latency - local) / train);
  evo_backend_free(mpi);
  evo_backend_free(threads);
  evo_genome_free(g);
  return 0;
}

int main(int argc, char **argv) {
  size_t jobs = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 5000;
  int rank = 0, size = 0, rc = 1;
  if (evo_mpi_init(&argc, &argv) != EVO_OK ||
      evo_mpi_rank(&rank, &size) != EVO_OK) {
    fprintf(stderr, "bench_mpi: %s\n", evo_last_error());
    return 1;
  }
  if (size < 2)
    fprintf(stderr, "bench_mpi: run under mpirun -np N with N >= 2\n");
  else if (rank == 0)
    rc = run_rank0(size, jobs > 10 ? jobs : 10);
  else
    rc = evo_mpi_worker_run(noop, NULL, 1, TAG) == EVO_OK ? 0 : 1;
  if (evo_mpi_finalize() != EVO_OK)
    evo_mpi_abort(rc);
  return rc;
}

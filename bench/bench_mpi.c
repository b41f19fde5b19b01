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
 * With "stream" it measures evaluations per second instead (issue 11):
 * every rank opens the same evaluator, 3 tasks x 2 seeds like the paper's
 * (the bundled digits three times, each on its own 1000 training images)
 * at a few steps, and the workers serve it; rank 0 keeps the back end
 * full with a stream of evaluations (the four baselines in turn, seeds
 * 0, 1, ...; no generation barrier), first with each (task, seed) run a
 * job of its own (evo_backend_mpi_new_parts), then with whole evaluations
 * (evo_backend_mpi_new). It prints, for each, evaluations/s, the same per
 * worker rank, and the cores the training kept busy (the reports' costs,
 * thread CPU time, over the wall time). bench_mpi.sh compares 1 to 4
 * worker ranks.
 *
 * With "sched" it measures the scheduling of a whole search (issue 11):
 * rank 0 runs a population on the back end that sends each (task, seed)
 * run as a job of its own (evo_backend_mpi_new_parts; the workers serve
 * with evo_mpi_worker_run_evaluator), first the generational GA (a
 * barrier after each generation), then steady-state evolution (no
 * barrier, window 2 x the back end's slots). The training run of a part
 * is replaced by a sleep of fixed length: this program defines its own
 * evo_evaluator_run_part(), which the library's worker loop calls through
 * the dynamic linker (the program is linked with --export-dynamic); part
 * k of the 3 tasks x 2 seeds sleeps MS x (18.4, 86.5, 18.5)[k / 2] /
 * 41.13 milliseconds, the paper's per-task times (doc/scaling.md) scaled
 * to a mean part of MS, and reports that time as its cost. A sleeping
 * part uses no CPU, so any number of worker ranks can sleep at once on
 * this 2-core machine: the rates measure the coordination (rank 0, the
 * messages, the barrier), not the compute. Rank 0 checks that the
 * run's compute is the sum of the sleeps (else the library's training
 * ran and the figures would mean nothing). It prints evaluations/s, per
 * worker rank, and the fraction of the worker slots' time spent in parts.
 *
 * Usage: mpirun -np N bench_mpi [no-op jobs (default 5000)]
 *        mpirun -np N bench_mpi stream [evaluations (48) [steps (100)]]
 *        mpirun -np N bench_mpi sched [population (16) [generations (3)
 *                                      [MS (100)]]] */
#define _POSIX_C_SOURCE 200809L
#include <evoopt/evoopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- stream: evaluations per second, split into parts or whole -------- */

#define STREAM_TAG "bench_mpi stream: digits x3 (1000 images each), 2 seeds"
#define STREAM_TASKS 3

typedef struct stream_setup {
  evo_task *tasks[STREAM_TASKS];
  evo_evaluator *e;
} stream_setup;

static void stream_free(stream_setup *s) {
  evo_evaluator_free(s->e);
  for (int i = 0; i < STREAM_TASKS; i++)
    evo_task_free(s->tasks[i]);
}

/* The same evaluator on every rank: @p steps steps x 2 seeds. */
static int stream_open(stream_setup *s, uint64_t steps) {
  int rc = evo_evaluator_new(&s->e);
  for (int i = 0; i < STREAM_TASKS && rc == EVO_OK; i++) {
    rc = evo_task_open(&s->tasks[i], "digits", NULL);
    if (rc == EVO_OK)
      rc = evo_task_set_option(s->tasks[i], EVO_TASK_TRAIN_SUBSET, 1000);
    if (rc == EVO_OK)
      rc = evo_task_set_option(s->tasks[i], EVO_TASK_DATA_SEED, i);
    if (rc == EVO_OK)
      rc = evo_evaluator_add_task(s->e, s->tasks[i]);
  }
  if (rc == EVO_OK)
    rc = evo_evaluator_set_steps(s->e, steps);
  if (rc == EVO_OK)
    rc = evo_evaluator_set_seeds(s->e, 2);
  return rc;
}

typedef struct stream_result {
  double seconds, cost; /* wall time; the reports' costs */
  size_t slots;
} stream_result;

/* Runs @p n evaluations through @p b, keeping every slot busy. */
static int stream_run(evo_backend *b, size_t n, stream_result *out) {
  static const char *presets[] = {"adam", "sgd", "rmsprop", "adamw"};
  evo_genome *g[4] = {NULL};
  evo_report *rep = NULL;
  char message[EVO_BACKEND_MESSAGE_CAP];
  int rc = evo_report_new(&rep);
  for (int i = 0; i < 4 && rc == EVO_OK; i++)
    rc = evo_genome_preset(&g[i], presets[i]);
  size_t sent = 0, done = 0, slots = evo_backend_slots(b);
  double t0 = now(), cost = 0.0;
  while (rc == EVO_OK && done < n) {
    while (rc == EVO_OK && sent < n && sent - done < slots) {
      rc = evo_backend_submit(b, sent, g[sent % 4], sent);
      sent++;
    }
    uint64_t job = 0;
    int status = EVO_OK;
    double c = 0.0;
    if (rc == EVO_OK)
      rc = evo_backend_collect(b, &job, rep, &status, message, sizeof message);
    if (rc == EVO_OK && status != EVO_OK) {
      fprintf(stderr, "evaluation %llu failed: %s\n", (unsigned long long)job,
              message);
      rc = status;
    }
    if (rc == EVO_OK)
      rc = evo_report_cost(rep, &c);
    cost += c;
    done++;
  }
  *out = (stream_result){now() - t0, cost, slots};
  for (int i = 0; i < 4; i++)
    evo_genome_free(g[i]);
  evo_report_free(rep);
  return rc;
}

/* One back end: made, warmed up (one round of its slots), timed. */
static int stream_backend(const evo_evaluator *e, bool parts, size_t n,
                          stream_result *out) {
  evo_backend *b = NULL;
  int rc = parts ? evo_backend_mpi_new_parts(&b, e, 0.0, STREAM_TAG)
                 : evo_backend_mpi_new(&b, 0.0, STREAM_TAG);
  stream_result warm;
  if (rc == EVO_OK)
    rc = stream_run(b, evo_backend_slots(b), &warm);
  if (rc == EVO_OK)
    rc = stream_run(b, n, out);
  evo_backend_free(b);
  return rc;
}

static void stream_print(const char *label, int workers, size_t n,
                         const stream_result *r) {
  double rate = (double)n / r->seconds;
  printf("  %-34s %2zu %8.2f %10.3f %12.3f %11.2f\n", label, r->slots,
         r->seconds, rate, rate / workers, r->cost / r->seconds);
  printf("STREAM %s workers=%d evaluations/s=%.6f\n",
         label[0] == 'p' ? "parts" : "whole", workers, rate);
}

static int stream_rank0(const evo_evaluator *e, int size, size_t n,
                        uint64_t steps) {
  stream_result split, whole;
  int rc = stream_backend(e, true, n, &split);
  if (rc == EVO_OK)
    rc = stream_backend(e, false, n, &whole);
  if (rc != EVO_OK) {
    fprintf(stderr, "bench_mpi stream: %s\n", evo_last_error());
    return 1;
  }
  int workers = size - 1;
  printf("%d worker ranks (1 slot each), %zu evaluations of 3 tasks x 2 "
         "seeds x %llu steps:\n",
         workers, n, (unsigned long long)steps);
  printf("  %-34s %2s %8s %10s %12s %11s\n", "", "in", "wall (s)", "evals/s",
         "per rank", "cores busy");
  stream_print("parts: one job per (task, seed) run", workers, n, &split);
  stream_print("whole: one job per evaluation", workers, n, &whole);
  return 0;
}

static int stream_main(int rank, int size, size_t n, uint64_t steps) {
  stream_setup s = {{NULL}, NULL};
  int rc = stream_open(&s, steps), failed = 1;
  if (rc != EVO_OK)
    fprintf(stderr, "bench_mpi stream, rank %d: %s\n", rank, evo_last_error());
  else if (rank == 0)
    failed = stream_rank0(s.e, size, n, steps);
  else
    failed = evo_mpi_worker_run_evaluator(s.e, 1, STREAM_TAG) != EVO_OK;
  stream_free(&s);
  return failed;
}

/* ---- sched: a search whose (task, seed) runs sleep ---------------------- */

#define SCHED_TAG "bench_mpi sched: 3 tasks x 2 seeds, sleeping parts"
#define SCHED_SEEDS 2

/* The paper's one-core times per task (doc/scaling.md), s. */
static const double TASK_SECONDS[STREAM_TASKS] = {18.4, 86.5, 18.5};
static double part_ms = 100.0; /* the mean part, set from argv on every rank */

/* Part k's sleep in seconds (k / SCHED_SEEDS is its task). */
static double part_seconds(size_t part) {
  double mean = (TASK_SECONDS[0] + TASK_SECONDS[1] + TASK_SECONDS[2]) / 3.0;
  return 1e-3 * part_ms * TASK_SECONDS[(part / SCHED_SEEDS) % STREAM_TASKS] /
         mean;
}

/* Replaces the library's evo_evaluator_run_part() in this process (see the
 * file's notes): sleeps the part's time, reports a fitness of the genome
 * and the sleep as the cost. Only the worker ranks call it. */
int evo_evaluator_run_part(const evo_evaluator *e, const evo_genome *g,
                           uint64_t seed_base, uint32_t rung, size_t part,
                           evo_report *report) {
  (void)e;
  (void)rung;
  double lr = 0.0, sec = part_seconds(part);
  evo_genome_get(g, EVO_GENE_LR_LOG10, &lr);
  struct timespec nap = {(time_t)sec, (long)((sec - floor(sec)) * 1e9)};
  while (nanosleep(&nap, &nap) != 0)
    ;
  double f = 0.5 + 0.1 * sin(lr) + 1e-3 * (double)part +
             1e-6 * (double)(seed_base % 1000);
  int rc = evo_report_add_task(report, "digits", f);
  if (rc == EVO_OK)
    rc = evo_report_set_cost(report, sec);
  return rc == EVO_OK ? evo_report_set_fitness(report, f) : rc;
}

typedef struct sched_result {
  double seconds, evaluations, compute;
  size_t slots;
  int64_t window;
} sched_result;

/* One search of @p size x @p generations with @p algorithm over a fresh
 * parts back end. */
static int sched_run(const evo_evaluator *e, int64_t algorithm, int64_t size,
                     int64_t generations, sched_result *out) {
  evo_backend *b = NULL;
  evo_population *pop = NULL;
  int rc = evo_backend_mpi_new_parts(&b, e, 0.0, SCHED_TAG);
  if (rc == EVO_OK)
    rc = evo_population_new(&pop);
  size_t slots = rc == EVO_OK ? evo_backend_slots(b) : 0;
  int64_t window = 2 * (int64_t)slots;
  const struct {
    evo_pop_setting key;
    int64_t value;
  } set[] = {{EVO_POP_SIZE, size},           {EVO_POP_GENERATIONS, generations},
             {EVO_POP_ALGORITHM, algorithm}, {EVO_POP_WINDOW, window},
             {EVO_POP_RUN_SEED, 11},         {EVO_POP_CACHE, 0}};
  for (size_t i = 0; i < sizeof set / sizeof set[0] && rc == EVO_OK; i++)
    rc = evo_population_set(pop, set[i].key, set[i].value);
  if (rc == EVO_OK)
    rc = evo_population_set_backend(pop, b);
  double t0 = now();
  if (rc == EVO_OK)
    rc = evo_population_run(pop);
  double t = now() - t0, evals = 0.0;
  size_t n = evo_population_history_count(pop);
  if (rc == EVO_OK && n > 0)
    rc = evo_population_history(pop, n - 1, EVO_HIST_EVALUATIONS, &evals);
  *out = (sched_result){t, evals, evo_population_compute(pop), slots, window};
  evo_population_free(pop);
  evo_backend_free(b);
  return rc;
}

static int sched_rank0(const evo_evaluator *e, int size, int64_t pop_size,
                       int64_t generations) {
  int workers = size - 1;
  double eval_seconds = 0.0;
  for (size_t k = 0; k < STREAM_TASKS * SCHED_SEEDS; k++)
    eval_seconds += part_seconds(k);
  printf("%d worker ranks (1 slot each), population %lld x %lld "
         "generations, 3 tasks x 2 seeds, parts sleeping %.0f ms on average "
         "(an evaluation %.0f ms):\n",
         workers, (long long)pop_size, (long long)generations, part_ms,
         1e3 * eval_seconds);
  printf("  %-22s %5s %6s %8s %7s %9s %9s %10s\n", "", "slots", "window",
         "wall (s)", "evals", "evals/s", "per rank", "ranks busy");
  const int64_t algos[] = {EVO_ALGO_GA, EVO_ALGO_STEADY};
  const char *names[] = {"ga (barrier)", "steady (no barrier)"};
  for (int i = 0; i < 2; i++) {
    sched_result r;
    if (sched_run(e, algos[i], pop_size, generations, &r) != EVO_OK) {
      fprintf(stderr, "bench_mpi sched: %s\n", evo_last_error());
      return 1;
    }
    /* every evaluation slept its parts: anything else means the library's
     * own training ran (the replacement did not take) */
    if (fabs(r.compute - r.evaluations * eval_seconds) > 1e-3 * r.compute) {
      fprintf(stderr,
              "bench_mpi sched: compute %.3f core-s, the sleeps %.3f s: the "
              "parts did not sleep (was bench_mpi linked with "
              "--export-dynamic?)\n",
              r.compute, r.evaluations * eval_seconds);
      return 1;
    }
    double rate = r.evaluations / r.seconds;
    printf("  %-22s %5zu %6lld %8.2f %7.0f %9.3f %9.3f %9.1f%%\n", names[i],
           r.slots, algos[i] == EVO_ALGO_STEADY ? (long long)r.window : 0LL,
           r.seconds, r.evaluations, rate, rate / workers,
           100.0 * r.compute / (r.seconds * workers));
    printf("SCHED %s workers=%d evaluations/s=%.6f ideal=%.6f\n",
           algos[i] == EVO_ALGO_GA ? "ga" : "steady", workers, rate,
           workers / eval_seconds);
  }
  return 0;
}

static int sched_main(int rank, int size, int64_t pop_size,
                      int64_t generations) {
  stream_setup s = {{NULL}, NULL};
  int rc = stream_open(&s, 100), failed = 1;
  if (rc != EVO_OK)
    fprintf(stderr, "bench_mpi sched, rank %d: %s\n", rank, evo_last_error());
  else if (rank == 0)
    failed = sched_rank0(s.e, size, pop_size, generations);
  else
    failed = evo_mpi_worker_run_evaluator(s.e, 1, SCHED_TAG) != EVO_OK;
  stream_free(&s);
  return failed;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "sched") == 0) {
    int64_t pop_size = argc > 2 ? strtoll(argv[2], NULL, 10) : 16;
    int64_t generations = argc > 3 ? strtoll(argv[3], NULL, 10) : 3;
    part_ms = argc > 4 ? strtod(argv[4], NULL) : 100.0;
    int rank = 0, size = 0, rc = 1;
    if (evo_mpi_init(&argc, &argv) != EVO_OK ||
        evo_mpi_rank(&rank, &size) != EVO_OK) {
      fprintf(stderr, "bench_mpi: %s\n", evo_last_error());
      return 1;
    }
    if (size < 2 || pop_size < 4 || generations < 1 ||
        !(part_ms > 0.0 && part_ms < 1e5))
      fprintf(stderr, "usage: mpirun -np N (>= 2) bench_mpi sched "
                      "[population >= 4 [generations >= 1 [MS > 0]]]\n");
    else
      rc = sched_main(rank, size, pop_size, generations);
    if (evo_mpi_finalize() != EVO_OK)
      evo_mpi_abort(rc);
    return rc;
  }
  bool stream = argc > 1 && strcmp(argv[1], "stream") == 0;
  int first = stream ? 2 : 1;
  size_t jobs = argc > first ? (size_t)strtoul(argv[first], NULL, 10)
                             : (stream ? 48 : 5000);
  uint64_t steps = stream && argc > 3 ? strtoull(argv[3], NULL, 10) : 100;
  int rank = 0, size = 0, rc = 1;
  if (evo_mpi_init(&argc, &argv) != EVO_OK ||
      evo_mpi_rank(&rank, &size) != EVO_OK) {
    fprintf(stderr, "bench_mpi: %s\n", evo_last_error());
    return 1;
  }
  if (size < 2)
    fprintf(stderr, "bench_mpi: run under mpirun -np N with N >= 2\n");
  else if (stream)
    rc = stream_main(rank, size, jobs > 0 ? jobs : 1, steps);
  else if (rank == 0)
    rc = run_rank0(size, jobs > 10 ? jobs : 10);
  else
    rc = evo_mpi_worker_run(noop, NULL, 1, TAG) == EVO_OK ? 0 : 1;
  if (evo_mpi_finalize() != EVO_OK)
    evo_mpi_abort(rc);
  return rc;
}

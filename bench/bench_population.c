/* Evolution throughput (issue 4): evaluations per second with 1 and 2
 * workers on real training (the bundled digits task), and the engine's own
 * overhead per evaluation (genetic operators, history, a checkpoint written
 * atomically after every evaluation) measured with a fitness callback that
 * does no work, next to the training time of one evaluation.
 *
 *   bench_population [--steps 200] [--population 16] [--generations 3]
 *                    [--task digits]
 */
#include <evoopt/evoopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "bench_population: %s: %s\n", what, evo_last_error());
  exit(1);
}

/* A fitness that costs nothing but is still a pure function of the genome,
 * so selection behaves as usual. */
static int free_fitness(void *user, const evo_genome *g, uint64_t seed,
                        evo_report *report) {
  (void)user;
  (void)seed;
  double lr = 0;
  evo_genome_get(g, EVO_GENE_LR_LOG10, &lr);
  return evo_report_set_fitness(report, -(lr + 3.0) * (lr + 3.0));
}

/* Runs a whole population; returns the wall time and the evaluations. */
static double run(evo_fitness_fn fn, void *user, int64_t size, int64_t gens,
                  int64_t workers, const char *checkpoint, size_t *evals) {
  evo_population *pop = NULL;
  if (evo_population_new(&pop) != EVO_OK ||
      evo_population_set(pop, EVO_POP_SIZE, size) != EVO_OK ||
      evo_population_set(pop, EVO_POP_GENERATIONS, gens) != EVO_OK ||
      evo_population_set(pop, EVO_POP_WORKERS, workers) != EVO_OK ||
      evo_population_set_fitness(pop, fn, user) != EVO_OK ||
      evo_population_set_checkpoint(pop, checkpoint, "bench") != EVO_OK)
    die("population");
  double t0 = now();
  if (evo_population_run(pop) != EVO_OK)
    die("run");
  double t = now() - t0;
  *evals = (size_t)(size * gens);
  evo_population_free(pop);
  unlink(checkpoint);
  return t;
}

int main(int argc, char **argv) {
  uint64_t steps = 200;
  int64_t size = 16, gens = 3;
  const char *task_name = "digits";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--steps") == 0)
      steps = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--population") == 0)
      size = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--generations") == 0)
      gens = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--task") == 0)
      task_name = argv[i + 1];
  }
  char ckpt[] = "/tmp/bench_population_XXXXXX";
  int fd = mkstemp(ckpt);
  if (fd < 0)
    return 1;
  close(fd);

  /* The engine alone: the paper's 50 × 50 with a free fitness. */
  size_t n = 0;
  double t_free = run(free_fitness, NULL, 50, 50, 1, ckpt, &n);
  double overhead = t_free / (double)n;
  printf("engine overhead: %zu evaluations of a free fitness in %.3f s: "
         "%.3f ms per evaluation (operators, history, checkpoint each time)\n",
         n, t_free, 1e3 * overhead);

  evo_task *task = NULL;
  evo_evaluator *ev = NULL;
  if (evo_task_open(&task, task_name, NULL) != EVO_OK ||
      evo_evaluator_new(&ev) != EVO_OK || evo_evaluator_add_task(ev, task) ||
      evo_evaluator_set_steps(ev, steps) || evo_evaluator_set_seeds(ev, 2))
    die("task");
  evo_blas_set_threads(1);
  double rate[3] = {0};
  for (int w = 1; w <= 2; w++) {
    double t = run(evo_evaluator_fitness, ev, size, gens, w, ckpt, &n);
    rate[w] = (double)n / t;
    printf("%s, %llu steps x 2 seeds, population %lld x %lld generations, "
           "%d worker%s: %.2f evaluations/s (%.3f s each)\n",
           task_name, (unsigned long long)steps, (long long)size,
           (long long)gens, w, w > 1 ? "s" : "", rate[w], 1.0 / rate[w]);
  }
  printf("2 workers / 1 worker: %.2fx (target >= 1.8)\n", rate[2] / rate[1]);
  printf("engine overhead / evaluation time (1 worker): %.4f%%\n",
         100.0 * overhead * rate[1]);
  evo_evaluator_free(ev);
  evo_task_free(task);
  return 0;
}

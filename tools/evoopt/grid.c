/* The evaluation grid behind `eval`, `compare` and the final table of
 * `evolve`: every (genome, task, seed) training run on a few threads, then
 * the means of doc/algorithm.md §3 computed in the library evaluator's order,
 * so the numbers equal evo_evaluator_run()'s bit for bit. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

typedef struct run_result {
  double fitness;
  double accuracy;
  int diverged;
} run_result;

struct cli_grid {
  cli_grid_spec spec;
  size_t total; /* genomes × tasks × seeds */
  run_result *runs;
  size_t points;  /* held-out points per run (EVO_TASK_EVAL_EVERY > 0) */
  double *curves; /* total × points accuracies, NaN after a divergence */
  pthread_mutex_t lock;
  size_t next; /* next run handed out */
  size_t done;
  int status; /* first error, or EVO_OK */
  char message[512];
};

static size_t run_index(const cli_grid *g, size_t genome, size_t task,
                        size_t seed) {
  return (genome * g->spec.tasks->n + task) * g->spec.seeds + seed;
}

static int train_one(cli_grid *g, size_t i, evo_train_result *r) {
  size_t seeds = g->spec.seeds, tasks = g->spec.tasks->n;
  size_t seed = i % seeds, task = (i / seeds) % tasks,
         genome = i / seeds / tasks;
  int rc = evo_task_train(g->spec.tasks->tasks[task], g->spec.genomes[genome],
                          g->spec.steps, (uint64_t)seed, r);
  double diverged = 0.0;
  run_result *out = &g->runs[i];
  if (rc == EVO_OK)
    rc = evo_train_result_get(r, EVO_RESULT_FITNESS, &out->fitness);
  if (rc == EVO_OK)
    rc = evo_train_result_get(r, EVO_RESULT_ACCURACY, &out->accuracy);
  if (rc == EVO_OK)
    rc = evo_train_result_get(r, EVO_RESULT_DIVERGED, &diverged);
  out->diverged = diverged != 0.0;
  const uint64_t *steps = NULL;
  const double *acc = NULL;
  size_t n = 0;
  if (rc == EVO_OK && g->points > 0)
    rc = evo_train_result_eval_curve(r, &steps, &acc, &n);
  for (size_t p = 0; rc == EVO_OK && p < g->points; p++)
    g->curves[i * g->points + p] = p < n ? acc[p] : NAN;
  return rc;
}

/* Takes runs until none is left, an error occurred or a stop was asked. */
static void *worker(void *arg) {
  cli_grid *g = arg;
  evo_train_result *r = NULL;
  int rc = evo_train_result_new(&r);
  pthread_mutex_lock(&g->lock);
  if (rc != EVO_OK && g->status == EVO_OK)
    g->status = rc;
  while (g->status == EVO_OK && g->next < g->total) {
    if (cli_interrupted()) {
      g->status = EVO_ECANCELED;
      break;
    }
    size_t i = g->next++;
    pthread_mutex_unlock(&g->lock);
    rc = train_one(g, i, r);
    pthread_mutex_lock(&g->lock);
    if (rc != EVO_OK && g->status == EVO_OK) {
      g->status = rc;
      snprintf(g->message, sizeof g->message, "%s", evo_last_error());
    }
    g->done++;
    if (rc == EVO_OK && g->spec.progress != NULL)
      g->spec.progress(g->spec.progress_user, g->done, g->total);
  }
  pthread_mutex_unlock(&g->lock);
  evo_train_result_free(r);
  return NULL;
}

static int run_workers(cli_grid *g) {
  unsigned n = g->spec.workers;
  if (n < 1)
    n = 1;
  if ((size_t)n > g->total)
    n = (unsigned)g->total;
  pthread_t threads[256];
  if (n > 256)
    n = 256;
  unsigned started = 0;
  for (; started + 1 < n; started++)
    if (pthread_create(&threads[started], NULL, worker, g) != 0)
      break;
  worker(g); /* the calling thread works too */
  for (unsigned i = 0; i < started; i++)
    pthread_join(threads[i], NULL);
  return g->status;
}

/* The exit code for a grid's status, with its message printed. */
static int report_status(const cli_grid *g, int rc) {
  if (rc == EVO_OK)
    return CLI_EXIT_OK;
  if (rc == EVO_ECANCELED) {
    cli_note("interrupted");
    return CLI_EXIT_INTERRUPTED;
  }
  return cli_error("a training run failed: %s",
                   g->message[0] != '\0' ? g->message : evo_status_str(rc));
}

int cli_grid_run(cli_grid **out, const cli_grid_spec *spec) {
  *out = NULL;
  cli_grid *g = calloc(1, sizeof *g);
  if (g != NULL) {
    g->spec = *spec;
    g->total = spec->n_genomes * spec->tasks->n * spec->seeds;
    g->runs = calloc(g->total > 0 ? g->total : 1, sizeof *g->runs);
    /* The held-out curve that the tasks score (cli_run_grid sets the
     * same EVO_TASK_EVAL_EVERY on all). */
    int64_t every = 0;
    if (spec->tasks->n > 0)
      evo_task_get_option(spec->tasks->tasks[0], EVO_TASK_EVAL_EVERY, &every);
    g->points = every > 0 ? (size_t)(spec->steps / (uint64_t)every) : 0;
    if (g->points > 0)
      g->curves = calloc(g->total * g->points, sizeof *g->curves);
  }
  if (g == NULL || g->runs == NULL || (g->points > 0 && g->curves == NULL)) {
    cli_grid_free(g);
    return cli_error("out of memory");
  }
  pthread_mutex_init(&g->lock, NULL);
  int rc = report_status(g, run_workers(g));
  pthread_mutex_destroy(&g->lock);
  if (rc != CLI_EXIT_OK)
    cli_grid_free(g);
  else
    *out = g;
  return rc;
}

void cli_grid_free(cli_grid *g) {
  if (g == NULL)
    return;
  free(g->runs);
  free(g->curves);
  free(g);
}

double cli_grid_task_fitness(const cli_grid *g, size_t genome, size_t task) {
  double sum = 0.0; /* evo_evaluator_run()'s order: sum, then divide */
  for (size_t s = 0; s < g->spec.seeds; s++)
    sum += g->runs[run_index(g, genome, task, s)].fitness;
  return sum / (double)g->spec.seeds;
}

double cli_grid_overall(const cli_grid *g, size_t genome) {
  double total = 0.0;
  for (size_t t = 0; t < g->spec.tasks->n; t++)
    total += cli_grid_task_fitness(g, genome, t);
  return total / (double)g->spec.tasks->n;
}

double cli_grid_task_accuracy(const cli_grid *g, size_t genome, size_t task,
                              unsigned *diverged) {
  double sum = 0.0;
  *diverged = 0;
  for (size_t s = 0; s < g->spec.seeds; s++) {
    const run_result *r = &g->runs[run_index(g, genome, task, s)];
    sum += r->accuracy;
    *diverged += (unsigned)r->diverged;
  }
  return sum / (double)g->spec.seeds;
}

double cli_grid_run_fitness(const cli_grid *g, size_t genome, size_t task,
                            size_t seed) {
  return g->runs[run_index(g, genome, task, seed)].fitness;
}

size_t cli_grid_curve_points(const cli_grid *g) {
  return g->points;
}

double cli_grid_curve_accuracy(const cli_grid *g, size_t genome, size_t task,
                               size_t seed, size_t point) {
  return g->curves[run_index(g, genome, task, seed) * g->points + point];
}

/* --- what eval, compare and ablate share -------------------------------- */

int cli_run_option(cli_run *r, int id, const char *v) {
  switch (id) {
  case CLI_RUN_TASKS:
    return cli_tasks_parse(&r->tasks, r->cmd, v) == 0 ? CLI_EXIT_OK
                                                      : CLI_EXIT_USAGE;
  case CLI_RUN_STEPS:
    return cli_parse_u64(r->cmd, "steps", v, 1, EVO_MAX_STEPS, &r->steps) == 0
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case CLI_RUN_SEEDS:
    return cli_parse_u64(r->cmd, "seeds", v, 1, 1000, &r->seeds) == 0
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case CLI_RUN_WORKERS:
    return cli_parse_u64(r->cmd, "workers", v, 1, 256, &r->workers) == 0
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case CLI_RUN_DATA: r->data = v; return CLI_EXIT_OK;
  case CLI_RUN_QUIET: r->quiet = 1; return CLI_EXIT_OK;
  default: return -1;
  }
}

static void on_run(void *user, size_t done, size_t total) {
  cli_run *r = user;
  cli_progress_bar(&r->progress, r->cmd, done, total, NAN);
}

int cli_run_grid(cli_run *r, const evo_genome *const *genomes, size_t n,
                 cli_grid **out) {
  *out = NULL;
  int rc = cli_tasks_open(&r->tasks, r->data);
  for (size_t t = 0; rc == CLI_EXIT_OK && t < r->tasks.n; t++) {
    int st = evo_task_set_option(r->tasks.tasks[t], EVO_TASK_EVAL_EVERY,
                                 (int64_t)r->curve_every);
    if (st != EVO_OK)
      rc = cli_lib_error(st, "--curve-every %llu",
                         (unsigned long long)r->curve_every);
  }
  if (rc != CLI_EXIT_OK)
    return rc;
  unsigned workers = r->workers > 0 ? (unsigned)r->workers : cli_cpu_count();
  if (workers > 1)
    evo_blas_set_threads(1);
  cli_grid_spec spec = {
      genomes, n, &r->tasks, r->steps, (uint32_t)r->seeds, workers, on_run, r};
  cli_signals_install();
  cli_progress_init(&r->progress, r->quiet, 0);
  rc = cli_grid_run(out, &spec);
  cli_progress_clear(&r->progress);
  return rc;
}

/* The evaluation grid behind `eval`, `compare` and the final table of
 * `evolve`: every (genome, task, seed) training run on a few threads, then
 * the means of doc/algorithm.md §3 computed in the library evaluator's order,
 * so the numbers equal evo_evaluator_run()'s bit for bit. */
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
  }
  if (g == NULL || g->runs == NULL) {
    free(g);
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

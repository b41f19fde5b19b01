/* Evaluation of a generation (population.h, "Threads"): worker threads
 * pull the indices of individuals not yet evaluated and write each result
 * into its own individual; the population's thread takes the finished
 * indices one at a time, marks them evaluated, writes the checkpoint and
 * calls the progress callback. Results depend only on (genome, seed), so
 * they are the same for any number of workers and any finishing order. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "common_internal.h"
#include "population_internal.h"

/* The evaluation seed (PROTOCOL §4, "The paper settings"): the common seed
 * 0, or (run seed, generation, index) with EVO_POP_FRESH_SEEDS. */
static uint64_t evaluation_seed(const evo_population *pop, size_t index) {
  if (pop->settings[EVO_POP_FRESH_SEEDS] == 0)
    return 0;
  return evo_seed_derive((uint64_t)pop->settings[EVO_POP_RUN_SEED],
                         (uint64_t)pop->generation, (uint64_t)index);
}

/* Runs the fitness callback for one individual and stores the outcome in
 * it. Called on a worker thread: touches only that individual's result
 * fields and the thread's own last-error message. */
static void evaluate_one(const evo_population *pop, evo_individual *ind,
                         uint64_t seed) {
  evo_report_clear(&ind->report);
  evo_set_error(EVO_OK, "%s", ""); /* so that no stale message is kept */
  int rc = pop->fitness_fn(pop->fitness_user, &ind->genome, seed,
                           &ind->report);
  if (rc == EVO_OK && !isfinite(ind->report.fitness))
    rc = evo_set_error(EVO_ECALLBACK, "the fitness callback reported a "
                       "non-finite fitness");
  if (rc == EVO_OK) {
    ind->status = EVO_OK;
    ind->fitness = ind->report.fitness;
    ind->error[0] = 0;
    return;
  }
  /* A failed evaluation scores -1 and the run goes on (population.h). */
  ind->status = rc < 0 ? rc : EVO_ECALLBACK;
  ind->fitness = -1.0;
  snprintf(ind->error, sizeof ind->error, "%s", evo_last_error());
  evo_report_clear(&ind->report);
}

/* The first error wins, except that a cancel gives way to a failure: a
 * stopped run whose checkpoint could not be written reports EVO_EIO. */
static int merge_status(int kept, int now) {
  if (kept == EVO_OK || (kept == EVO_ECANCELED && now != EVO_OK))
    return now;
  return kept;
}

/* On the population's thread: takes a finished evaluation into the
 * generation, writes the checkpoint, and (unless the run is already
 * stopping) reports the event. */
static int record_evaluation(evo_population *pop, size_t index,
                             bool stopping) {
  pop->ind[index].evaluated = true;
  pop->n_evaluated++;
  int rc = pop->ckpt_path ? evo_checkpoint_write(pop) : EVO_OK;
  if (rc != EVO_OK || stopping || pop->progress_fn == NULL)
    return rc;
  if (pop->progress_fn(pop->progress_user, EVO_EVENT_EVALUATION, pop,
                       pop->generation, index) != 0)
    return evo_set_error(EVO_ECANCELED, "the progress callback stopped the "
                         "run in generation %zu",
                         pop->generation);
  return EVO_OK;
}

static int evaluate_inline(evo_population *pop, size_t n_todo) {
  for (size_t i = 0; i < n_todo; i++) {
    size_t index = pop->scratch.todo[i];
    evaluate_one(pop, &pop->ind[index], evaluation_seed(pop, index));
    int rc = record_evaluation(pop, index, false);
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* ---- the worker pool ---------------------------------------------------- */

typedef struct eval_pool {
  evo_population *pop;
  pthread_mutex_t mu;
  pthread_cond_t done_cv; /* a result was queued, or a worker left */
  size_t n_todo, next;    /* work: scratch.todo[next..n_todo) */
  size_t head, tail;      /* results: scratch.done[head..tail) */
  size_t running;         /* evaluations in progress */
  bool stop;              /* hand out no more work */
} eval_pool;

static void *worker_main(void *arg) {
  eval_pool *p = arg;
  evo_population *pop = p->pop;
  pthread_mutex_lock(&p->mu);
  while (!p->stop && p->next < p->n_todo) {
    size_t index = pop->scratch.todo[p->next++];
    p->running++;
    pthread_mutex_unlock(&p->mu);
    evaluate_one(pop, &pop->ind[index], evaluation_seed(pop, index));
    pthread_mutex_lock(&p->mu);
    pop->scratch.done[p->tail++] = index;
    p->running--;
    pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* The population's side: records results as they come until no work is
 * left or running. After a stop it still records the evaluations that
 * were running, so that none is lost. */
static int drain_results(eval_pool *p) {
  int rc = EVO_OK;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->head == p->tail &&
           (p->running > 0 || (!p->stop && p->next < p->n_todo)))
      pthread_cond_wait(&p->done_cv, &p->mu);
    if (p->head == p->tail)
      break;
    size_t index = p->pop->scratch.done[p->head++];
    bool stopping = p->stop;
    pthread_mutex_unlock(&p->mu);
    rc = merge_status(rc, record_evaluation(p->pop, index, stopping));
    pthread_mutex_lock(&p->mu);
    if (rc != EVO_OK)
      p->stop = true;
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

static int evaluate_pool(evo_population *pop, size_t n_todo,
                         size_t n_workers) {
  eval_pool p = {.pop = pop, .n_todo = n_todo};
  pthread_t threads[256];
  size_t started = 0;
  int rc = EVO_OK;
  if (pthread_mutex_init(&p.mu, NULL) != 0)
    return evo_set_error(EVO_ETHREAD, "cannot create a mutex");
  if (pthread_cond_init(&p.done_cv, NULL) != 0) {
    pthread_mutex_destroy(&p.mu);
    return evo_set_error(EVO_ETHREAD, "cannot create a condition variable");
  }
  for (; started < n_workers; started++)
    if (pthread_create(&threads[started], NULL, worker_main, &p) != 0)
      break;
  if (started < n_workers) {
    rc = evo_set_error(EVO_ETHREAD, "cannot start evaluation thread %zu of "
                       "%zu",
                       started + 1, n_workers);
    pthread_mutex_lock(&p.mu);
    p.stop = true; /* record what the started ones finish, then fail */
    pthread_mutex_unlock(&p.mu);
  }
  if (started > 0)
    rc = merge_status(rc, drain_results(&p));
  for (size_t i = 0; i < started; i++)
    pthread_join(threads[i], NULL);
  pthread_cond_destroy(&p.done_cv);
  pthread_mutex_destroy(&p.mu);
  return rc;
}

int evo_population_evaluate(evo_population *pop) {
  size_t n_todo = 0;
  for (size_t i = 0; i < pop->n_ind; i++)
    if (!pop->ind[i].evaluated)
      pop->scratch.todo[n_todo++] = i;
  size_t n_workers = (size_t)pop->settings[EVO_POP_WORKERS];
  if (n_workers > n_todo)
    n_workers = n_todo;
  if (n_todo == 0)
    return EVO_OK;
  return n_workers <= 1 ? evaluate_inline(pop, n_todo)
                        : evaluate_pool(pop, n_todo, n_workers);
}

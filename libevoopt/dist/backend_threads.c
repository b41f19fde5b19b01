/* The thread-pool back end (backend.h): submit puts a job in a queue,
 * worker threads take jobs from it and run the fitness callback, collect
 * takes finished jobs from a second queue. Every job has its own slot
 * (genome, seed, report, status, message), written by the one worker
 * that runs it and read by collect after the worker handed it over under
 * the lock. With one worker there is no thread: collect runs the job. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "dist/backend_internal.h"
#include "core/common_internal.h"
#include "train/report_internal.h"

typedef struct pool_job {
  uint64_t id;
  const evo_genome *g;
  uint64_t seed;
  uint32_t rung;
  int status;
  evo_report report;
  char message[EVO_BACKEND_MESSAGE_CAP];
} pool_job;

/* A FIFO of slot numbers with room for every slot. */
typedef struct ring {
  size_t *at;
  size_t head, n, cap;
} ring;

static void ring_push(ring *r, size_t x) {
  r->at[(r->head + r->n++) % r->cap] = x;
}

static size_t ring_pop(ring *r) {
  size_t x = r->at[r->head];
  r->head = (r->head + 1) % r->cap;
  r->n--;
  return x;
}

typedef struct thread_pool {
  evo_fitness_fn fn;           /* one of fn and fn_rung is set */
  evo_fitness_rung_fn fn_rung;
  void *user;
  size_t workers, started;
  pool_job *jobs; /* `workers` slots */
  ring free_slots, todo, done;
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a job was queued, or quit */
  pthread_cond_t done_cv; /* a job finished */
  bool quit;
  pthread_t threads[EVO_BACKEND_MAX_THREADS];
} thread_pool;

/* Runs the fitness callback for one job, on whatever thread holds it. */
static void run_job(const thread_pool *p, pool_job *job) {
  evo_report_clear(&job->report);
  evo_set_error(EVO_OK, "%s", ""); /* so that no stale message is kept */
  job->status = p->fn_rung != NULL
                    ? p->fn_rung(p->user, job->g, job->seed, job->rung,
                                 &job->report)
                    : p->fn(p->user, job->g, job->seed, &job->report);
  if (job->status != EVO_OK)
    snprintf(job->message, sizeof job->message, "%s", evo_last_error());
  else
    job->message[0] = 0;
}

static void *worker_main(void *arg) {
  thread_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->todo.n == 0)
      pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->quit)
      break;
    pool_job *job = &p->jobs[ring_pop(&p->todo)];
    pthread_mutex_unlock(&p->mu);
    run_job(p, job);
    pthread_mutex_lock(&p->mu);
    ring_push(&p->done, (size_t)(job - p->jobs));
    pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Stops and joins the threads; queued jobs are dropped, running ones are
 * finished first. */
static void stop_threads(thread_pool *p) {
  pthread_mutex_lock(&p->mu);
  p->quit = true;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->started; i++)
    pthread_join(p->threads[i], NULL);
  p->started = 0;
  p->quit = false;
}

/* Starts every worker, or none. */
static int start_threads(thread_pool *p) {
  for (; p->started < p->workers; p->started++) {
    if (pthread_create(&p->threads[p->started], NULL, worker_main, p) != 0) {
      size_t failed = p->started + 1;
      stop_threads(p);
      return evo_set_error(EVO_ETHREAD,
                           "cannot start evaluation thread %zu "
                           "of %zu",
                           failed, p->workers);
    }
  }
  return EVO_OK;
}

static int pool_submit(void *user, uint64_t job, const evo_genome *g,
                       uint64_t seed, uint32_t rung) {
  thread_pool *p = user;
  if (p->workers > 1 && p->started == 0) {
    int rc = start_threads(p);
    if (rc != EVO_OK)
      return rc;
  }
  pthread_mutex_lock(&p->mu);
  if (p->free_slots.n == 0) {
    pthread_mutex_unlock(&p->mu);
    return evo_set_error(EVO_ESTATE,
                         "thread pool: more than %zu jobs "
                         "submitted at once",
                         p->workers);
  }
  size_t slot = ring_pop(&p->free_slots);
  p->jobs[slot].id = job;
  p->jobs[slot].g = g;
  p->jobs[slot].seed = seed;
  p->jobs[slot].rung = rung;
  ring_push(&p->todo, slot);
  pthread_cond_signal(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  return EVO_OK;
}

static int pool_collect(void *user, uint64_t *job, evo_report *report,
                        int *status, char *message, size_t message_cap) {
  thread_pool *p = user;
  pthread_mutex_lock(&p->mu);
  if (p->free_slots.n == p->workers) {
    pthread_mutex_unlock(&p->mu);
    return evo_set_error(EVO_ESTATE, "thread pool: collect with no job in "
                                     "flight");
  }
  if (p->started == 0 && p->done.n == 0) /* no threads: run one here */
    ring_push(&p->done, ring_pop(&p->todo));
  else
    while (p->done.n == 0)
      pthread_cond_wait(&p->done_cv, &p->mu);
  size_t slot = ring_pop(&p->done);
  pthread_mutex_unlock(&p->mu);
  pool_job *j = &p->jobs[slot];
  if (p->started == 0)
    run_job(p, j);
  *job = j->id;
  evo_report_copy(report, &j->report);
  *status = j->status;
  snprintf(message, message_cap, "%s", j->message);
  pthread_mutex_lock(&p->mu);
  ring_push(&p->free_slots, slot);
  pthread_mutex_unlock(&p->mu);
  return EVO_OK;
}

static void pool_close(void *user) {
  thread_pool *p = user;
  if (p == NULL)
    return;
  stop_threads(p);
  pthread_cond_destroy(&p->done_cv);
  pthread_cond_destroy(&p->work_cv);
  pthread_mutex_destroy(&p->mu);
  free(p->free_slots.at);
  free(p->todo.at);
  free(p->done.at);
  free(p->jobs);
  free(p);
}

static int ring_init(ring *r, size_t cap) {
  r->at = evo_calloc(cap, sizeof *r->at);
  r->cap = cap;
  return r->at ? EVO_OK : EVO_ENOMEM;
}

/* The locks of a new pool; all or none. */
static int init_locks(thread_pool *p) {
  if (pthread_mutex_init(&p->mu, NULL) != 0)
    goto fail;
  if (pthread_cond_init(&p->work_cv, NULL) != 0)
    goto fail_mu;
  if (pthread_cond_init(&p->done_cv, NULL) != 0)
    goto fail_cv;
  return EVO_OK;
fail_cv:
  pthread_cond_destroy(&p->work_cv);
fail_mu:
  pthread_mutex_destroy(&p->mu);
fail:
  return evo_set_error(EVO_ETHREAD, "cannot create the thread pool's locks");
}

/* The pool, without its threads. */
static int pool_new(thread_pool **out, evo_fitness_fn fn,
                    evo_fitness_rung_fn fn_rung, void *user, size_t workers) {
  thread_pool *p = evo_calloc(1, sizeof *p);
  if (p == NULL)
    return EVO_ENOMEM;
  *p = (thread_pool){
      .fn = fn, .fn_rung = fn_rung, .user = user, .workers = workers};
  int rc = init_locks(p);
  if (rc != EVO_OK) {
    free(p);
    return rc;
  }
  p->jobs = evo_calloc(workers, sizeof *p->jobs);
  if (p->jobs == NULL || ring_init(&p->free_slots, workers) != EVO_OK ||
      ring_init(&p->todo, workers) != EVO_OK ||
      ring_init(&p->done, workers) != EVO_OK) {
    pool_close(p);
    return EVO_ENOMEM;
  }
  for (size_t i = 0; i < workers; i++)
    ring_push(&p->free_slots, i);
  *out = p;
  return EVO_OK;
}

static int pool_submit_plain(void *user, uint64_t job, const evo_genome *g,
                             uint64_t seed) {
  return pool_submit(user, job, g, seed, 0);
}

static int threads_new(evo_backend **out, evo_fitness_fn fn,
                       evo_fitness_rung_fn fn_rung, void *user,
                       size_t workers) {
  if (workers < 1 || workers > EVO_BACKEND_MAX_THREADS)
    return evo_set_error(EVO_ERANGE,
                         "thread pool workers = %zu is outside "
                         "1..%d",
                         workers, EVO_BACKEND_MAX_THREADS);
  thread_pool *p = NULL;
  int rc = pool_new(&p, fn, fn_rung, user, workers);
  if (rc != EVO_OK)
    return rc;
  rc = fn_rung != NULL
           ? evo_backend_new_rung(out, workers, pool_submit, pool_collect,
                                  pool_close, p)
           : evo_backend_new(out, workers, pool_submit_plain, pool_collect,
                             pool_close, p);
  if (rc != EVO_OK)
    pool_close(p);
  return rc;
}

EVO_API int evo_backend_threads_new(evo_backend **out, evo_fitness_fn fn,
                                    void *user, size_t workers) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(fn);
  return threads_new(out, fn, NULL, user, workers);
}

EVO_API int evo_backend_threads_new_rung(evo_backend **out,
                                         evo_fitness_rung_fn fn, void *user,
                                         size_t workers) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(fn);
  return threads_new(out, NULL, fn, user, workers);
}

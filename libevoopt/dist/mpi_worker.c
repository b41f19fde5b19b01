/* A worker rank (mpi.h, evo_mpi_worker_run and its _rung and _evaluator
 * forms): announces its slots and what it serves, then takes JOB messages
 * from rank 0 while it has a free slot, evaluates them (on the calling
 * thread, or on one thread per slot) and sends each RESULT back, until
 * STOP. A job it cannot serve (a rung for a rung-less callback, a part
 * without an evaluator) comes back as a failed evaluation saying why.
 * Only the calling thread talks MPI; the evaluation threads see nothing
 * but their slot, under one mutex. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "dist/mpi_internal.h"
#include "train/report_internal.h"
#include "evoopt/task.h"

enum { SLOT_FREE, SLOT_TODO, SLOT_DONE };

typedef struct wslot {
  int state;
  evo_mpi_job job;
  evo_genome *g;
  int status;
  evo_report report;
  char message[EVO_BACKEND_MESSAGE_CAP];
} wslot;

typedef struct worker {
  /* What evaluates: one of the three is set. */
  evo_fitness_fn fn;           /* rung 0 only */
  evo_fitness_rung_fn fn_rung; /* whole evaluations at any rung */
  const evo_evaluator *e;      /* whole evaluations and parts */
  void *user;
  size_t threads, started;
  wslot *slots;
  pthread_t *tids;
  pthread_mutex_t mu;
  pthread_cond_t work_cv;
  bool quit;
  evo_mpi_inbox in;
  evo_wbuf out;
} worker;

typedef struct thread_arg {
  worker *w;
  size_t index;
} thread_arg;

/* Evaluates the slot's job: the fitness callback's report, status and
 * (on failure) message. */
static void evaluate(const worker *w, wslot *sl) {
  evo_report_clear(&sl->report);
  evo_set_error(EVO_OK, "%s", "");
  if (sl->g == NULL) /* refused in take_job(): status set already */
    return;
  const evo_mpi_job *j = &sl->job;
  if (w->e != NULL && j->part != EVO_MPI_WHOLE)
    sl->status = evo_evaluator_run_part(w->e, sl->g, j->seed, j->rung, j->part,
                                        &sl->report);
  else if (w->e != NULL)
    sl->status =
        evo_evaluator_run_rung(w->e, sl->g, j->seed, j->rung, &sl->report);
  else if (w->fn_rung != NULL)
    sl->status = w->fn_rung(w->user, sl->g, j->seed, j->rung, &sl->report);
  else
    sl->status = w->fn(w->user, sl->g, j->seed, &sl->report);
  if (sl->status != EVO_OK)
    snprintf(sl->message, sizeof sl->message, "%s", evo_last_error());
}

static void *thread_main(void *p) {
  thread_arg *a = p;
  worker *w = a->w;
  wslot *sl = &w->slots[a->index];
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->quit && sl->state != SLOT_TODO)
      pthread_cond_wait(&w->work_cv, &w->mu);
    if (w->quit)
      break;
    pthread_mutex_unlock(&w->mu);
    evaluate(w, sl);
    pthread_mutex_lock(&w->mu);
    sl->state = SLOT_DONE;
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static int start_threads(worker *w, thread_arg *args) {
  for (; w->started < w->threads; w->started++) {
    args[w->started] = (thread_arg){w, w->started};
    if (pthread_create(&w->tids[w->started], NULL, thread_main,
                       &args[w->started]) != 0)
      return evo_set_error(EVO_ETHREAD,
                           "cannot start evaluation thread %zu "
                           "of %zu",
                           w->started + 1, w->threads);
  }
  return EVO_OK;
}

static void stop_threads(worker *w) {
  pthread_mutex_lock(&w->mu);
  w->quit = true;
  pthread_cond_broadcast(&w->work_cv);
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < w->started; i++)
    pthread_join(w->tids[i], NULL);
}

/* ---- messages
 * ---------------------------------------------------------------- */

static int send_message(worker *w, int tag) {
  if (w->out.status != EVO_OK)
    return w->out.status;
  int rc =
      MPI_Send(w->out.data, (int)w->out.size, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
  w->out.size = 0;
  return rc == MPI_SUCCESS ? EVO_OK : evo_mpi_error(rc, "sending to rank 0");
}

/* Why this worker cannot serve @p job, as a failed evaluation's status
 * and message, or EVO_OK. */
static int refuse(const worker *w, const evo_mpi_job *job) {
  int rank = evo_mpi_get()->rank;
  if (job->part != EVO_MPI_WHOLE && w->e == NULL)
    return evo_set_error(EVO_EUNSUPPORTED,
                         "MPI worker rank %d was started without an "
                         "evaluator, so it runs whole evaluations, not "
                         "part %u of one: start it with "
                         "evo_mpi_worker_run_evaluator()",
                         rank, job->part);
  if (job->rung != 0 && w->fn != NULL)
    return evo_set_error(EVO_EUNSUPPORTED,
                         "MPI worker rank %d was started with "
                         "evo_mpi_worker_run(), whose fitness takes no "
                         "rung, and was sent rung %u: start it with "
                         "evo_mpi_worker_run_rung()",
                         rank, job->rung);
  return EVO_OK;
}

/* Decodes a JOB into a free slot. A genome that does not parse, or a job
 * this worker cannot serve, becomes a failed evaluation, reported like
 * any other. */
static int take_job(worker *w, wslot *sl) {
  char *json = NULL;
  int rc = evo_mpi_get_job(&w->in, &sl->job, &json);
  if (rc != EVO_OK)
    return rc;
  sl->message[0] = 0;
  sl->status = refuse(w, &sl->job);
  if (sl->status == EVO_OK)
    sl->status = evo_genome_from_json(&sl->g, json);
  if (sl->status != EVO_OK)
    snprintf(sl->message, sizeof sl->message, "%s", evo_last_error());
  free(json);
  return EVO_OK;
}

static int send_result(worker *w, wslot *sl) {
  evo_mpi_put_result(&w->out, sl->job.ticket, sl->status, &sl->report,
                     sl->message);
  evo_genome_free(sl->g);
  sl->g = NULL;
  sl->state = SLOT_FREE;
  return send_message(w, EVO_MPI_TAG_RESULT);
}

/* Sends the results of the finished slots; *busy counts the slots still
 * in use. */
static int harvest(worker *w, size_t *busy, bool *sent) {
  *busy = 0;
  for (size_t i = 0; i < w->threads; i++) {
    wslot *sl = &w->slots[i];
    pthread_mutex_lock(&w->mu);
    int st = sl->state;
    pthread_mutex_unlock(&w->mu);
    if (st == SLOT_DONE) {
      int rc = send_result(w, sl);
      if (rc != EVO_OK)
        return rc;
      *sent = true;
    } else if (st != SLOT_FREE) {
      (*busy)++;
    }
  }
  return EVO_OK;
}

/* Hands a received job to a free slot: evaluated here with one thread,
 * else by the slot's thread. */
static int start_job(worker *w) {
  size_t i = 0;
  pthread_mutex_lock(&w->mu); /* harvest() saw one free */
  while (w->slots[i].state != SLOT_FREE)
    i++;
  pthread_mutex_unlock(&w->mu);
  wslot *sl = &w->slots[i];
  int rc = take_job(w, sl);
  if (rc != EVO_OK)
    return rc;
  if (w->threads == 1) {
    evaluate(w, sl);
    return send_result(w, sl);
  }
  pthread_mutex_lock(&w->mu);
  sl->state = SLOT_TODO;
  pthread_cond_broadcast(&w->work_cv);
  pthread_mutex_unlock(&w->mu);
  return EVO_OK;
}

/* The loop: results out, jobs in while a slot is free, until STOP and
 * every running evaluation is done (their results are still sent; rank 0
 * drops what it no longer waits for). */
static int serve(worker *w) {
  bool stopping = false;
  unsigned idle = 0;
  for (;;) {
    size_t busy = 0;
    bool active = false, got = false;
    int rc = harvest(w, &busy, &active);
    if (rc == EVO_OK && busy < w->threads && !stopping)
      rc = evo_mpi_poll(&w->in, 0, MPI_ANY_TAG, &got);
    if (rc == EVO_OK && got && w->in.tag == EVO_MPI_TAG_STOP)
      stopping = true;
    else if (rc == EVO_OK && got && w->in.tag == EVO_MPI_TAG_JOB)
      rc = start_job(w);
    else if (rc == EVO_OK && got)
      rc = evo_set_error(EVO_EIO, "unexpected message (tag %d) from rank 0",
                         w->in.tag);
    if (rc != EVO_OK)
      return rc;
    if (stopping && busy == 0)
      return EVO_OK;
    if (got || active)
      idle = 0;
    else
      evo_mpi_backoff(&idle);
  }
}

/* ---- set-up ----------------------------------------------------------------
 */

static int check_worker(size_t threads) {
  int rc = evo_mpi_check_ready("evo_mpi_worker_run");
  if (rc != EVO_OK)
    return rc;
  if (threads < 1 || threads > EVO_MPI_MAX_THREADS)
    return evo_set_error(EVO_ERANGE,
                         "MPI worker threads = %zu is outside "
                         "1..%d",
                         threads, EVO_MPI_MAX_THREADS);
  if (evo_mpi_get()->rank == 0)
    return evo_set_error(EVO_ESTATE, "evo_mpi_worker_run: rank 0 runs the "
                                     "population, not a worker");
  return EVO_OK;
}

static void worker_free(worker *w) {
  for (size_t i = 0; w->slots != NULL && i < w->threads; i++)
    evo_genome_free(w->slots[i].g);
  free(w->slots);
  free(w->tids);
  evo_mpi_inbox_free(&w->in);
  evo_wbuf_free(&w->out);
}

static uint32_t serves(const worker *w) {
  if (w->e != NULL)
    return EVO_MPI_SERVES_RUNGS | EVO_MPI_SERVES_PARTS;
  return w->fn_rung != NULL ? EVO_MPI_SERVES_RUNGS : 0;
}

static int run_worker(worker *w, const char *tag) {
  thread_arg *args = evo_calloc(w->threads, sizeof *args);
  if (args == NULL)
    return EVO_ENOMEM;
  int rc = w->threads > 1 ? start_threads(w, args) : EVO_OK;
  if (rc == EVO_OK) {
    evo_mpi_put_hello(&w->out, (uint32_t)w->threads, tag, serves(w));
    rc = send_message(w, EVO_MPI_TAG_HELLO);
  }
  if (rc == EVO_OK)
    rc = serve(w);
  stop_threads(w);
  free(args);
  return rc;
}

/* Runs worker @p w (its evaluator or callback set) with @p threads slots. */
static int worker_main(worker *w, size_t threads, const char *tag) {
  int rc = check_worker(threads);
  if (rc != EVO_OK)
    return rc;
  w->threads = threads;
  w->slots = evo_calloc(threads, sizeof *w->slots);
  w->tids = evo_calloc(threads, sizeof *w->tids);
  if (w->slots == NULL || w->tids == NULL) {
    worker_free(w);
    return EVO_ENOMEM;
  }
  if (pthread_mutex_init(&w->mu, NULL) != 0 ||
      pthread_cond_init(&w->work_cv, NULL) != 0) {
    worker_free(w);
    return evo_set_error(EVO_ETHREAD, "cannot create the worker's locks");
  }
  rc = run_worker(w, tag != NULL ? tag : "");
  pthread_cond_destroy(&w->work_cv);
  pthread_mutex_destroy(&w->mu);
  worker_free(w);
  return rc;
}

EVO_API int evo_mpi_worker_run(evo_fitness_fn fn, void *user, size_t threads,
                               const char *tag) {
  EVO_CHECK_ARG(fn);
  worker w = {.fn = fn, .user = user};
  return worker_main(&w, threads, tag);
}

EVO_API int evo_mpi_worker_run_rung(evo_fitness_rung_fn fn, void *user,
                                    size_t threads, const char *tag) {
  EVO_CHECK_ARG(fn);
  worker w = {.fn_rung = fn, .user = user};
  return worker_main(&w, threads, tag);
}

EVO_API int evo_mpi_worker_run_evaluator(const evo_evaluator *e, size_t threads,
                                         const char *tag) {
  EVO_CHECK_ARG(e);
  if (evo_evaluator_parts(e, 0) == 0)
    return evo_set_error(EVO_ESTATE, "evo_mpi_worker_run_evaluator: the "
                                     "evaluator has no tasks");
  worker w = {.e = e};
  return worker_main(&w, threads, tag);
}

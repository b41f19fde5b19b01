/* The MPI back end on rank 0 (mpi.h): the population's evaluations go to
 * idle worker slots, results come back in any order. Made with
 * evo_backend_mpi_new(), an evaluation is one job. Made with
 * evo_backend_mpi_new_parts(), it is split into its parts, one (task,
 * seed) training run each (evo_evaluator_parts()), each part a job of its
 * own; the evaluation is complete when its parts are in, and rank 0
 * combines them with the bits of the whole evaluation
 * (evo_evaluator_combine()). A job whose slot passes the timeout is
 * queued again for another rank and its rank is silent (no new work)
 * until it answers; the first answer to a job is taken, a later one
 * dropped (both are the same: a job is a pure function of genome, seed,
 * rung and part). Collect fails only when every worker rank is silent:
 * the step then stops with a valid checkpoint (backend.h, "Failures"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/backend_internal.h"
#include "core/common_internal.h"
#include "dist/mpi_internal.h"
#include "train/evaluator_internal.h"
#include "train/report_internal.h"

#define NO_JOB SIZE_MAX
/* The most seconds a timeout may be (about 4 months). */
#define MAX_TIMEOUT 1e7

/* A part's state: queued to be sent, sent and unanswered, answered. */
enum { PART_QUEUED = 1, PART_OUT, PART_DONE };

typedef struct mpi_slot {
  int rank;
  bool busy;       /* a job was sent, no answer came yet */
  bool overdue;    /* busy past the timeout; its part was queued again */
  size_t job;      /* its evaluation record, NO_JOB once that is done */
  uint32_t part;   /* the part it runs (0 for a whole evaluation) */
  uint64_t ticket; /* of the sending */
  double sent_at;
  MPI_Request send;
  evo_wbuf msg; /* the JOB message, kept until its send completes */
} mpi_slot;

/* One evaluation of the population: its parts (1 when not split). */
typedef struct mpi_job {
  bool used;
  uint64_t id; /* the population's job id */
  const evo_genome *g;
  uint64_t seed;
  uint32_t rung;
  size_t n_parts, n_done;
  unsigned char *state;   /* PART_* of each part */
  double *fitness, *cost; /* of each part answered (split only) */
  size_t failed;          /* the first failed part answered, or NO_JOB */
  int failed_status;
  char message[EVO_BACKEND_MESSAGE_CAP]; /* that part's message */
} mpi_job;

typedef struct queued {
  size_t job;
  uint32_t part;
} queued;

typedef struct mpi_backend {
  double timeout;         /* 0: none */
  const evo_evaluator *e; /* splits evaluations into parts; NULL: not */
  size_t n_slots;         /* worker slots */
  mpi_slot *slots;
  size_t n_jobs, max_parts; /* evaluation records (the population's
                               slots), parts each at most */
  mpi_job *jobs;
  unsigned char *part_state; /* n_jobs x max_parts, behind jobs[].state */
  double *part_values;       /* 2 x n_jobs x max_parts (split only) */
  queued *pending;           /* parts to send, oldest first: head..tail */
  size_t head, tail;         /* room: n_jobs x max_parts */
  size_t *busy;              /* busy slots per rank */
  evo_mpi_inbox in;
  evo_report *answer; /* a part's answer (split only) */
} mpi_backend;

/* ---- the queue of parts to send -----------------------------------------
 * Each queued part is in it once, so n_jobs x max_parts entries hold it. */

static void queue_part(mpi_backend *b, size_t j, uint32_t p) {
  if (b->tail == b->n_jobs * b->max_parts) { /* room at the front */
    memmove(b->pending, b->pending + b->head,
            (b->tail - b->head) * sizeof *b->pending);
    b->tail -= b->head;
    b->head = 0;
  }
  b->jobs[j].state[p] = PART_QUEUED;
  b->pending[b->tail++] = (queued){j, p};
}

static queued unqueue_first(mpi_backend *b) {
  queued q = b->pending[b->head++];
  if (b->head == b->tail)
    b->head = b->tail = 0;
  return q;
}

/* Takes part @p p of evaluation @p j (every part when @p all) out of the
 * queue. */
static void unqueue(mpi_backend *b, size_t j, uint32_t p, bool all) {
  size_t k = b->head;
  for (size_t i = b->head; i < b->tail; i++) {
    queued q = b->pending[i];
    if (q.job != j || (!all && q.part != p))
      b->pending[k++] = q;
  }
  b->tail = k;
  if (b->head == b->tail)
    b->head = b->tail = 0;
}

/* ---- scheduling ------------------------------------------------------------
 */

/* An idle slot of the answering rank with the fewest busy slots, or
 * NO_JOB. */
static size_t idle_slot(const mpi_backend *b) {
  const evo_mpi_state *s = evo_mpi_get();
  size_t best = NO_JOB;
  for (size_t i = 0; i < b->n_slots; i++) {
    const mpi_slot *sl = &b->slots[i];
    if (sl->busy || evo_mpi_rank_silent(s, sl->rank))
      continue;
    if (best == NO_JOB || b->busy[sl->rank] < b->busy[b->slots[best].rank])
      best = i;
  }
  return best;
}

/* The part a busy slot runs goes back to the queue, unless it was answered
 * or queued again already. */
static void requeue_slot(mpi_backend *b, const mpi_slot *sl) {
  if (sl->job != NO_JOB && b->jobs[sl->job].state[sl->part] == PART_OUT)
    queue_part(b, sl->job, sl->part);
}

/* A rank whose send failed is given up: its parts go back to the queue. */
static void give_up_rank(mpi_backend *b, int rank) {
  evo_mpi_get()->dead[rank] = true;
  for (size_t i = 0; i < b->n_slots; i++)
    if (b->slots[i].rank == rank && b->slots[i].busy)
      requeue_slot(b, &b->slots[i]);
}

static int send_job(mpi_backend *b, mpi_slot *sl, queued q) {
  evo_mpi_state *s = evo_mpi_get();
  mpi_job *jb = &b->jobs[q.job];
  if (sl->send != MPI_REQUEST_NULL) /* answered, so long since delivered */
    MPI_Wait(&sl->send, MPI_STATUS_IGNORE);
  sl->msg.size = 0;
  sl->ticket = s->next_ticket++;
  evo_mpi_job wire = {sl->ticket, jb->seed, jb->rung,
                      b->e != NULL ? q.part : EVO_MPI_WHOLE};
  int rc = evo_mpi_put_job(&sl->msg, &wire, jb->g);
  if (rc != EVO_OK)
    return rc;
  rc = MPI_Isend(sl->msg.data, (int)sl->msg.size, MPI_BYTE, sl->rank,
                 EVO_MPI_TAG_JOB, MPI_COMM_WORLD, &sl->send);
  if (rc != MPI_SUCCESS) {
    queue_part(b, q.job, q.part);
    give_up_rank(b, sl->rank);
    return EVO_OK;
  }
  jb->state[q.part] = PART_OUT;
  sl->busy = true;
  sl->overdue = false;
  sl->job = q.job;
  sl->part = q.part;
  sl->sent_at = evo_now_seconds();
  b->busy[sl->rank]++;
  return EVO_OK;
}

/* Sends queued parts while there are idle slots. */
static int dispatch(mpi_backend *b) {
  while (b->head < b->tail) {
    size_t i = idle_slot(b);
    if (i == NO_JOB)
      return EVO_OK;
    int rc = send_job(b, &b->slots[i], unqueue_first(b));
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* Slots past the timeout: their parts are queued again and their ranks
 * become silent until they answer. */
static void check_timeouts(mpi_backend *b) {
  if (b->timeout <= 0.0)
    return;
  evo_mpi_state *s = evo_mpi_get();
  double now = evo_now_seconds();
  for (size_t i = 0; i < b->n_slots; i++) {
    mpi_slot *sl = &b->slots[i];
    if (!sl->busy || sl->overdue || now - sl->sent_at <= b->timeout)
      continue;
    sl->overdue = true;
    s->overdue[sl->rank]++;
    requeue_slot(b, sl);
  }
}

static bool all_silent(void) {
  const evo_mpi_state *s = evo_mpi_get();
  for (int r = 1; r < s->size; r++)
    if (!evo_mpi_rank_silent(s, r))
      return false;
  return true;
}

/* ---- results
 * ----------------------------------------------------------------- */

/* The busy slot of @p rank that holds @p ticket, or NULL (a late answer to
 * a job given to an earlier back end). */
static mpi_slot *slot_of(mpi_backend *b, int rank, uint64_t ticket) {
  for (size_t i = 0; i < b->n_slots; i++) {
    mpi_slot *sl = &b->slots[i];
    if (sl->rank == rank && sl->busy && sl->ticket == ticket)
      return sl;
  }
  return NULL;
}

/* Frees the slot that answered; returns its evaluation, or NO_JOB when
 * that one is done already. */
static size_t release_slot(mpi_backend *b, mpi_slot *sl) {
  evo_mpi_state *s = evo_mpi_get();
  if (sl->overdue)
    s->overdue[sl->rank]--;
  sl->busy = false;
  sl->overdue = false;
  b->busy[sl->rank]--;
  size_t j = sl->job;
  sl->job = NO_JOB;
  return j;
}

/* The evaluation is done: slots still running its parts will be ignored. */
static void retire_job(mpi_backend *b, size_t j) {
  for (size_t i = 0; i < b->n_slots; i++)
    if (b->slots[i].job == j)
      b->slots[i].job = NO_JOB;
  unqueue(b, j, 0, true);
  b->jobs[j].used = false;
}

/* Records the answer of part @p p (split evaluations). */
static void record_part(mpi_job *jb, uint32_t p, int status,
                        const evo_report *answer, const char *message) {
  jb->fitness[p] = answer->fitness;
  jb->cost[p] = answer->cost;
  if (status != EVO_OK && (jb->failed == NO_JOB || p < jb->failed)) {
    jb->failed = p;
    jb->failed_status = status;
    snprintf(jb->message, sizeof jb->message, "%s", message);
  }
}

/* Whether the evaluation's result is known: every part is in, or a part
 * failed and every part before it is in (the whole evaluation would have
 * stopped at the first failure, with its message). */
static bool parts_complete(const mpi_job *jb) {
  if (jb->n_done == jb->n_parts)
    return true;
  if (jb->failed == NO_JOB)
    return false;
  for (size_t q = 0; q < jb->failed; q++)
    if (jb->state[q] != PART_DONE)
      return false;
  return true;
}

/* The evaluation's result from its parts: their combination, or the first
 * failure with the compute its answered parts cost. */
static void combine_parts(const mpi_backend *b, const mpi_job *jb,
                          evo_report *report, int *status, char *message,
                          size_t message_cap) {
  evo_report_clear(report);
  if (jb->failed != NO_JOB) {
    double spent = 0.0;
    for (size_t q = 0; q < jb->n_parts; q++)
      if (jb->state[q] == PART_DONE)
        spent += jb->cost[q];
    report->cost = spent;
    *status = jb->failed_status;
    snprintf(message, message_cap, "%s", jb->message);
    return;
  }
  *status = evo_evaluator_combine_values(b->e, jb->rung, jb->fitness, jb->cost,
                                         jb->n_parts, report);
  if (*status != EVO_OK)
    snprintf(message, message_cap, "%s", evo_last_error());
}

/* Reads one received RESULT; *done tells whether it completes an
 * evaluation of this back end, whose id, report, status and message are
 * then filled. */
static int take_result(mpi_backend *b, bool *done, uint64_t *id,
                       evo_report *report, int *status, char *message,
                       size_t message_cap) {
  char part_message[EVO_BACKEND_MESSAGE_CAP];
  evo_report *answer = b->e != NULL ? b->answer : report;
  uint64_t ticket = 0;
  int st = EVO_OK;
  *done = false;
  int rc = b->e != NULL ? evo_mpi_get_result(&b->in, &ticket, &st, answer,
                                             part_message, sizeof part_message)
                        : evo_mpi_get_result(&b->in, &ticket, &st, answer,
                                             message, message_cap);
  if (rc != EVO_OK)
    return rc;
  mpi_slot *sl = slot_of(b, b->in.source, ticket);
  if (sl == NULL)
    return EVO_OK;
  uint32_t p = sl->part;
  size_t j = release_slot(b, sl);
  if (j == NO_JOB || b->jobs[j].state[p] == PART_DONE)
    return EVO_OK; /* answered by another slot first */
  mpi_job *jb = &b->jobs[j];
  if (jb->state[p] == PART_QUEUED) /* timed out, but here it is */
    unqueue(b, j, p, false);
  jb->state[p] = PART_DONE;
  jb->n_done++;
  if (b->e != NULL) {
    record_part(jb, p, st, answer, part_message);
    if (!parts_complete(jb))
      return EVO_OK;
    combine_parts(b, jb, report, status, message, message_cap);
  } else {
    *status = st;
  }
  *id = jb->id;
  retire_job(b, j);
  *done = true;
  return EVO_OK;
}

/* After a failed collect the population forgets its jobs, and so do we:
 * answers still coming are dropped. */
static void forget_jobs(mpi_backend *b) {
  for (size_t i = 0; i < b->n_slots; i++)
    b->slots[i].job = NO_JOB;
  for (size_t j = 0; j < b->n_jobs; j++)
    b->jobs[j].used = false;
  b->head = b->tail = 0;
}

static int fail_silent(const mpi_backend *b) {
  return evo_set_error(EVO_EIO,
                       "no MPI worker rank answers: each was silent for more "
                       "than the %g s timeout or could not be reached",
                       b->timeout);
}

/* ---- callbacks ------------------------------------------------------------
 */

static int mpi_submit(void *user, uint64_t job, const evo_genome *g,
                      uint64_t seed, uint32_t rung) {
  mpi_backend *b = user;
  size_t j = 0;
  while (j < b->n_jobs && b->jobs[j].used)
    j++;
  if (j == b->n_jobs)
    return evo_set_error(EVO_ESTATE,
                         "MPI back end: more than %zu jobs "
                         "submitted at once",
                         b->n_jobs);
  size_t n = b->e != NULL ? evo_evaluator_parts(b->e, rung) : 1;
  if (n == 0 || n > b->max_parts)
    return evo_set_error(EVO_ESTATE,
                         "MPI back end: an evaluation at rung %u has %zu "
                         "parts, and the back end was made for 1 to %zu (the "
                         "evaluator changed after "
                         "evo_backend_mpi_new_parts())",
                         rung, n, b->max_parts);
  mpi_job *jb = &b->jobs[j];
  jb->used = true;
  jb->id = job;
  jb->g = g;
  jb->seed = seed;
  jb->rung = rung;
  jb->n_parts = n;
  jb->n_done = 0;
  jb->failed = NO_JOB;
  jb->message[0] = 0;
  for (size_t p = 0; p < n; p++)
    queue_part(b, j, (uint32_t)p);
  return dispatch(b);
}

static int mpi_collect(void *user, uint64_t *job, evo_report *report,
                       int *status, char *message, size_t message_cap) {
  mpi_backend *b = user;
  unsigned idle = 0;
  for (;;) {
    int rc = dispatch(b);
    bool got = false, done = false;
    if (rc == EVO_OK)
      rc = evo_mpi_poll(&b->in, MPI_ANY_SOURCE, EVO_MPI_TAG_RESULT, &got);
    if (rc == EVO_OK && got)
      rc = take_result(b, &done, job, report, status, message, message_cap);
    if (rc == EVO_OK && done)
      return EVO_OK;
    if (rc == EVO_OK && !got) {
      check_timeouts(b);
      if (all_silent())
        rc = fail_silent(b);
    }
    if (rc != EVO_OK) {
      forget_jobs(b);
      return rc;
    }
    if (got)
      idle = 0;
    else
      evo_mpi_backoff(&idle);
  }
}

static void mpi_close(void *user) {
  mpi_backend *b = user;
  if (b == NULL)
    return;
  for (size_t i = 0; b->slots != NULL && i < b->n_slots; i++) {
    mpi_slot *sl = &b->slots[i];
    int done = 1;
    if (sl->send != MPI_REQUEST_NULL)
      MPI_Test(&sl->send, &done, MPI_STATUS_IGNORE);
    if (done)
      evo_wbuf_free(&sl->msg);
    else /* a silent rank: MPI may still read the buffer */
      evo_mpi_keep_buffer(sl->msg.data, &sl->send);
  }
  evo_mpi_inbox_free(&b->in);
  free(b->slots);
  free(b->jobs);
  free(b->part_state);
  free(b->part_values);
  free(b->pending);
  free(b->busy);
  evo_report_free(b->answer);
  free(b);
  evo_mpi_get()->backend_live = false;
}

/* ---- creation
 * ---------------------------------------------------------------- */

/* Records one HELLO; EVO_EMISMATCH when the worker speaks another protocol
 * or its tag is not ours. */
static int take_hello(const evo_mpi_inbox *in, const char *tag) {
  evo_mpi_state *s = evo_mpi_get();
  uint32_t protocol = 0, threads = 0, serves = 0;
  char *their = NULL;
  int rc = evo_mpi_get_hello(in, &protocol, &threads, &their, &serves);
  if (rc != EVO_OK)
    return rc;
  if (protocol != EVO_MPI_PROTOCOL)
    rc = evo_set_error(EVO_EMISMATCH,
                       "rank %d speaks the evoopt MPI protocol %u, rank 0 "
                       "protocol %d (libevoopt %s): every rank must run the "
                       "same libevoopt",
                       in->source, protocol, EVO_MPI_PROTOCOL,
                       evo_version_string());
  else if (threads < 1 || threads > EVO_MPI_MAX_THREADS)
    rc = evo_set_error(EVO_EIO,
                       "rank %d announces %u threads; rank 0 expects 1 to %d",
                       in->source, threads, EVO_MPI_MAX_THREADS);
  else if (strcmp(their, tag) != 0)
    rc = evo_set_error(EVO_EMISMATCH,
                       "rank %d evaluates with the setup "
                       "'%s', rank 0 with '%s'",
                       in->source, their, tag);
  if (rc != EVO_OK) {
    free(their);
    return rc;
  }
  free(s->tags[in->source]);
  s->tags[in->source] = their;
  s->threads[in->source] = threads;
  s->serves[in->source] = serves;
  return EVO_OK;
}

static int missing_hellos(void) {
  const evo_mpi_state *s = evo_mpi_get();
  int n = 0;
  for (int r = 1; r < s->size; r++)
    n += s->threads[r] == 0;
  return n;
}

/* Waits for the HELLO of every worker not yet heard from; a worker heard
 * from before (by an earlier back end) must have had the same tag. */
static int await_workers(double timeout, const char *tag) {
  evo_mpi_state *s = evo_mpi_get();
  for (int r = 1; r < s->size; r++)
    if (s->threads[r] != 0 && strcmp(s->tags[r], tag) != 0)
      return evo_set_error(EVO_EMISMATCH,
                           "rank %d evaluates with the setup "
                           "'%s', rank 0 with '%s'",
                           r, s->tags[r], tag);
  evo_mpi_inbox in = {0};
  unsigned idle = 0;
  double t0 = evo_now_seconds();
  int rc = EVO_OK;
  while (rc == EVO_OK && missing_hellos() > 0) {
    bool got = false;
    rc = evo_mpi_poll(&in, MPI_ANY_SOURCE, EVO_MPI_TAG_HELLO, &got);
    if (rc == EVO_OK && got)
      rc = take_hello(&in, tag);
    else if (rc == EVO_OK && timeout > 0.0 && evo_now_seconds() - t0 > timeout)
      rc = evo_set_error(EVO_EIO,
                         "%d of %d worker ranks did not call "
                         "evo_mpi_worker_run() within %g s",
                         missing_hellos(), s->size - 1, timeout);
    else if (rc == EVO_OK)
      evo_mpi_backoff(&idle);
  }
  evo_mpi_inbox_free(&in);
  return rc;
}

/* Split evaluations need every worker to run parts. */
static int check_parts_served(void) {
  const evo_mpi_state *s = evo_mpi_get();
  for (int r = 1; r < s->size; r++)
    if (!(s->serves[r] & EVO_MPI_SERVES_PARTS))
      return evo_set_error(EVO_EMISMATCH,
                           "rank %d runs whole evaluations only (it was "
                           "started with evo_mpi_worker_run%s()): "
                           "evo_backend_mpi_new_parts() needs "
                           "evo_mpi_worker_run_evaluator() on every worker "
                           "rank",
                           r,
                           s->serves[r] & EVO_MPI_SERVES_RUNGS ? "_rung" : "");
  return EVO_OK;
}

/* The parts of an evaluation, fewest and most over the evaluator's rungs
 * (rungs beyond them are the full evaluation). */
static void parts_range(const evo_evaluator *e, size_t *least, size_t *most) {
  *least = SIZE_MAX;
  *most = 0;
  for (size_t r = 0; r < evo_evaluator_rungs(e); r++) {
    size_t n = evo_evaluator_parts(e, (uint32_t)r);
    *least = n < *least ? n : *least;
    *most = n > *most ? n : *most;
  }
}

/* The most part records (evaluations x parts) a split back end keeps. */
#define MAX_PART_RECORDS ((size_t)1 << 22)

/* The evaluation records, i.e. the back end's slots: one per worker slot
 * for whole evaluations. Split, one per worker slot and one more: parts
 * differ in length (a CIFAR-10 run of the paper's takes 4.7 times an
 * MNIST run), so with just enough evaluations for their parts to fill
 * the worker slots (ceil(W/P) + 1) the slots would idle while each
 * evaluation waits for its longest part (bench/scaling_model.py: the
 * paper's generation on 32 slots takes 606 s so, 413 s with 33, 494 s
 * with whole evaluations). Fewer when evaluations have so many parts that
 * their records would pass MAX_PART_RECORDS, never fewer than
 * ceil(W/P) + 1. */
static void size_jobs(mpi_backend *b) {
  b->n_jobs = b->n_slots;
  b->max_parts = 1;
  if (b->e == NULL)
    return;
  size_t least = 0;
  parts_range(b->e, &least, &b->max_parts);
  size_t enough = (b->n_slots + least - 1) / least + 1;
  b->n_jobs = b->n_slots + 1;
  if (b->n_jobs > MAX_PART_RECORDS / b->max_parts)
    b->n_jobs = MAX_PART_RECORDS / b->max_parts;
  if (b->n_jobs < enough)
    b->n_jobs = enough;
  if (b->n_jobs > EVO_BACKEND_MAX_SLOTS)
    b->n_jobs = EVO_BACKEND_MAX_SLOTS;
}

static int alloc_jobs(mpi_backend *b) {
  size_t n = b->n_jobs * b->max_parts;
  b->jobs = evo_calloc(b->n_jobs, sizeof *b->jobs);
  b->part_state = evo_calloc(n, sizeof *b->part_state);
  b->pending = evo_calloc(n, sizeof *b->pending);
  if (b->e != NULL) {
    b->part_values = evo_calloc(2 * n, sizeof *b->part_values);
    if (evo_report_new(&b->answer) != EVO_OK)
      return EVO_ENOMEM;
  }
  if (!b->jobs || !b->part_state || !b->pending ||
      (b->e != NULL && !b->part_values))
    return EVO_ENOMEM;
  for (size_t j = 0; j < b->n_jobs; j++) {
    b->jobs[j].state = b->part_state + j * b->max_parts;
    if (b->e != NULL) {
      b->jobs[j].fitness = b->part_values + j * b->max_parts;
      b->jobs[j].cost = b->part_values + n + j * b->max_parts;
    }
  }
  return EVO_OK;
}

static int alloc_backend(mpi_backend **out, double timeout,
                         const evo_evaluator *e) {
  const evo_mpi_state *s = evo_mpi_get();
  mpi_backend *b = evo_calloc(1, sizeof *b);
  if (b == NULL)
    return EVO_ENOMEM;
  b->timeout = timeout;
  b->e = e;
  for (int r = 1; r < s->size; r++)
    b->n_slots += s->threads[r];
  size_jobs(b);
  b->slots = evo_calloc(b->n_slots, sizeof *b->slots);
  b->busy = evo_calloc((size_t)s->size, sizeof *b->busy);
  if (!b->slots || !b->busy || alloc_jobs(b) != EVO_OK) {
    mpi_close(b);
    return EVO_ENOMEM;
  }
  size_t i = 0;
  for (int r = 1; r < s->size; r++)
    for (uint32_t t = 0; t < s->threads[r]; t++, i++)
      b->slots[i] =
          (mpi_slot){.rank = r, .job = NO_JOB, .send = MPI_REQUEST_NULL};
  *out = b;
  return EVO_OK;
}

static int check_new(const char *what, double timeout_seconds) {
  int rc = evo_mpi_check_ready(what);
  if (rc != EVO_OK)
    return rc;
  const evo_mpi_state *s = evo_mpi_get();
  if (!(timeout_seconds >= 0.0 && timeout_seconds <= MAX_TIMEOUT))
    return evo_set_error(EVO_ERANGE, "MPI timeout = %g s is outside 0..%g",
                         timeout_seconds, MAX_TIMEOUT);
  if (s->rank != 0 || s->size < 2)
    return evo_set_error(EVO_ESTATE,
                         "%s: runs on rank 0 "
                         "of at least 2 processes (this is rank %d of %d)",
                         what, s->rank, s->size);
  if (s->backend_live)
    return evo_set_error(EVO_ESTATE, "%s: an MPI back end exists already",
                         what);
  return EVO_OK;
}

/* The back end, whole (@p e NULL) or split into @p e's parts. */
static int backend_mpi_new(evo_backend **out, const evo_evaluator *e,
                           double timeout_seconds, const char *tag) {
  const char *what =
      e != NULL ? "evo_backend_mpi_new_parts" : "evo_backend_mpi_new";
  int rc = check_new(what, timeout_seconds);
  if (rc == EVO_OK)
    rc = await_workers(timeout_seconds, tag != NULL ? tag : "");
  if (rc == EVO_OK && e != NULL)
    rc = check_parts_served();
  mpi_backend *b = NULL;
  if (rc == EVO_OK)
    rc = alloc_backend(&b, timeout_seconds, e);
  if (rc != EVO_OK)
    return rc;
  evo_mpi_get()->backend_live = true;
  rc = evo_backend_new_rung(out, b->n_jobs, mpi_submit, mpi_collect, mpi_close,
                            b);
  if (rc != EVO_OK)
    mpi_close(b);
  return rc;
}

EVO_API int evo_backend_mpi_new(evo_backend **out, double timeout_seconds,
                                const char *tag) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  return backend_mpi_new(out, NULL, timeout_seconds, tag);
}

EVO_API int evo_backend_mpi_new_parts(evo_backend **out, const evo_evaluator *e,
                                      double timeout_seconds, const char *tag) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(e);
  if (evo_evaluator_parts(e, 0) == 0)
    return evo_set_error(EVO_ESTATE,
                         "evo_backend_mpi_new_parts: the evaluator has no "
                         "tasks");
  return backend_mpi_new(out, e, timeout_seconds, tag);
}

/* The MPI back end on rank 0 (mpi.h): the population's jobs go one at a
 * time to idle worker slots, results come back in any order. A job whose
 * slot passes the timeout is queued again for another rank and its rank
 * is silent (no new work) until it answers; the first answer to a job is
 * taken, a later one dropped (both are the same: an evaluation is a pure
 * function of genome and seed). Collect fails only when every worker rank
 * is silent: the step then stops with a valid checkpoint (backend.h,
 * "Failures"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/backend_internal.h"
#include "core/common_internal.h"
#include "dist/mpi_internal.h"
#include "train/report_internal.h"

#define NO_JOB SIZE_MAX
/* The most seconds a timeout may be (about 4 months). */
#define MAX_TIMEOUT 1e7

typedef struct mpi_slot {
  int rank;
  bool busy;       /* a job was sent, no answer came yet */
  bool overdue;    /* busy past the timeout; its job was queued again */
  size_t job;      /* its job record, NO_JOB once another slot answered */
  uint64_t ticket; /* of the sending */
  double sent_at;
  MPI_Request send;
  evo_wbuf msg; /* the JOB message, kept until its send completes */
} mpi_slot;

typedef struct mpi_job {
  bool used;
  bool queued; /* waiting in the pending queue */
  uint64_t id; /* the population's job id */
  const evo_genome *g;
  uint64_t seed;
} mpi_job;

typedef struct mpi_backend {
  double timeout; /* 0: none */
  size_t n_slots;
  mpi_slot *slots;
  mpi_job *jobs;   /* n_slots records: the population keeps no more */
  size_t *pending; /* job records to send, oldest first */
  size_t n_pending;
  size_t *busy; /* busy slots per rank */
  evo_mpi_inbox in;
} mpi_backend;

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

static void queue_job(mpi_backend *b, size_t j) {
  b->jobs[j].queued = true;
  b->pending[b->n_pending++] = j;
}

static size_t unqueue_first(mpi_backend *b) {
  size_t j = b->pending[0];
  b->n_pending--;
  memmove(b->pending, b->pending + 1, b->n_pending * sizeof *b->pending);
  b->jobs[j].queued = false;
  return j;
}

static void unqueue(mpi_backend *b, size_t j) {
  for (size_t i = 0; i < b->n_pending; i++)
    if (b->pending[i] == j) {
      b->n_pending--;
      memmove(b->pending + i, b->pending + i + 1,
              (b->n_pending - i) * sizeof *b->pending);
      break;
    }
  b->jobs[j].queued = false;
}

/* A rank whose send failed is given up: its jobs go back to the queue. */
static void give_up_rank(mpi_backend *b, int rank) {
  evo_mpi_get()->dead[rank] = true;
  for (size_t i = 0; i < b->n_slots; i++) {
    mpi_slot *sl = &b->slots[i];
    if (sl->rank == rank && sl->busy && sl->job != NO_JOB &&
        !b->jobs[sl->job].queued)
      queue_job(b, sl->job);
  }
}

static int send_job(mpi_backend *b, mpi_slot *sl, size_t j) {
  evo_mpi_state *s = evo_mpi_get();
  if (sl->send != MPI_REQUEST_NULL) /* answered, so long since delivered */
    MPI_Wait(&sl->send, MPI_STATUS_IGNORE);
  sl->msg.size = 0;
  sl->ticket = s->next_ticket++;
  int rc = evo_mpi_put_job(&sl->msg, sl->ticket, b->jobs[j].seed, b->jobs[j].g);
  if (rc != EVO_OK)
    return rc;
  rc = MPI_Isend(sl->msg.data, (int)sl->msg.size, MPI_BYTE, sl->rank,
                 EVO_MPI_TAG_JOB, MPI_COMM_WORLD, &sl->send);
  if (rc != MPI_SUCCESS) {
    queue_job(b, j);
    give_up_rank(b, sl->rank);
    return EVO_OK;
  }
  sl->busy = true;
  sl->overdue = false;
  sl->job = j;
  sl->sent_at = evo_now_seconds();
  b->busy[sl->rank]++;
  return EVO_OK;
}

/* Sends queued jobs while there are idle slots. */
static int dispatch(mpi_backend *b) {
  while (b->n_pending > 0) {
    size_t i = idle_slot(b);
    if (i == NO_JOB)
      return EVO_OK;
    int rc = send_job(b, &b->slots[i], unqueue_first(b));
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* Slots past the timeout: their jobs are queued again and their ranks
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
    if (sl->job != NO_JOB && !b->jobs[sl->job].queued)
      queue_job(b, sl->job);
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

/* Frees the slot that answered; returns its job, or NO_JOB when that job
 * was already answered by another slot. */
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

/* The job is answered: other slots still working on it will be ignored. */
static void retire_job(mpi_backend *b, size_t j) {
  for (size_t i = 0; i < b->n_slots; i++)
    if (b->slots[i].job == j)
      b->slots[i].job = NO_JOB;
  if (b->jobs[j].queued)
    unqueue(b, j);
  b->jobs[j].used = false;
}

/* Reads one received RESULT; *job is the population's id when it answers
 * a job of this back end for the first time, else NO_JOB. */
static int take_result(mpi_backend *b, size_t *job, uint64_t *id,
                       evo_report *report, int *status, char *message,
                       size_t message_cap) {
  uint64_t ticket = 0;
  *job = NO_JOB;
  int rc =
      evo_mpi_get_result(&b->in, &ticket, status, report, message, message_cap);
  if (rc != EVO_OK)
    return rc;
  mpi_slot *sl = slot_of(b, b->in.source, ticket);
  size_t j = sl != NULL ? release_slot(b, sl) : NO_JOB;
  if (j == NO_JOB)
    return EVO_OK;
  *id = b->jobs[j].id;
  retire_job(b, j);
  *job = j;
  return EVO_OK;
}

/* After a failed collect the population forgets its jobs, and so do we:
 * answers still coming are dropped. */
static void forget_jobs(mpi_backend *b) {
  for (size_t i = 0; i < b->n_slots; i++)
    b->slots[i].job = NO_JOB;
  for (size_t j = 0; j < b->n_slots; j++)
    b->jobs[j].used = b->jobs[j].queued = false;
  b->n_pending = 0;
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
                      uint64_t seed) {
  mpi_backend *b = user;
  size_t j = 0;
  while (j < b->n_slots && b->jobs[j].used)
    j++;
  if (j == b->n_slots)
    return evo_set_error(EVO_ESTATE,
                         "MPI back end: more than %zu jobs "
                         "submitted at once",
                         b->n_slots);
  b->jobs[j] = (mpi_job){true, false, job, g, seed};
  queue_job(b, j);
  return dispatch(b);
}

static int mpi_collect(void *user, uint64_t *job, evo_report *report,
                       int *status, char *message, size_t message_cap) {
  mpi_backend *b = user;
  unsigned idle = 0;
  for (;;) {
    int rc = dispatch(b);
    bool got = false;
    if (rc == EVO_OK)
      rc = evo_mpi_poll(&b->in, MPI_ANY_SOURCE, EVO_MPI_TAG_RESULT, &got);
    size_t j = NO_JOB;
    if (rc == EVO_OK && got)
      rc = take_result(b, &j, job, report, status, message, message_cap);
    if (rc == EVO_OK && j != NO_JOB)
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
  for (size_t i = 0; i < b->n_slots; i++) {
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
  free(b->pending);
  free(b->busy);
  free(b);
  evo_mpi_get()->backend_live = false;
}

/* ---- creation
 * ---------------------------------------------------------------- */

/* Records one HELLO; EVO_EMISMATCH when the worker's tag is not ours. */
static int take_hello(const evo_mpi_inbox *in, const char *tag) {
  evo_mpi_state *s = evo_mpi_get();
  uint32_t protocol = 0, threads = 0;
  char *their = NULL;
  int rc = evo_mpi_get_hello(in, &protocol, &threads, &their);
  if (rc != EVO_OK)
    return rc;
  if (protocol != EVO_MPI_PROTOCOL || threads < 1 ||
      threads > EVO_MPI_MAX_THREADS)
    rc = evo_set_error(EVO_EIO,
                       "rank %d speaks protocol %u with %u threads; "
                       "rank 0 expects protocol %d, 1 to %d threads",
                       in->source, protocol, threads, EVO_MPI_PROTOCOL,
                       EVO_MPI_MAX_THREADS);
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

static int alloc_backend(mpi_backend **out, double timeout) {
  const evo_mpi_state *s = evo_mpi_get();
  size_t n = 0;
  for (int r = 1; r < s->size; r++)
    n += s->threads[r];
  mpi_backend *b = evo_calloc(1, sizeof *b);
  if (b == NULL)
    return EVO_ENOMEM;
  b->timeout = timeout;
  b->n_slots = n;
  b->slots = evo_calloc(n, sizeof *b->slots);
  b->jobs = evo_calloc(n, sizeof *b->jobs);
  b->pending = evo_calloc(n, sizeof *b->pending);
  b->busy = evo_calloc((size_t)s->size, sizeof *b->busy);
  if (!b->slots || !b->jobs || !b->pending || !b->busy) {
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

static int check_new(double timeout_seconds) {
  int rc = evo_mpi_check_ready("evo_backend_mpi_new");
  if (rc != EVO_OK)
    return rc;
  const evo_mpi_state *s = evo_mpi_get();
  if (!(timeout_seconds >= 0.0 && timeout_seconds <= MAX_TIMEOUT))
    return evo_set_error(EVO_ERANGE, "MPI timeout = %g s is outside 0..%g",
                         timeout_seconds, MAX_TIMEOUT);
  if (s->rank != 0 || s->size < 2)
    return evo_set_error(EVO_ESTATE,
                         "evo_backend_mpi_new: runs on rank 0 "
                         "of at least 2 processes (this is rank %d of %d)",
                         s->rank, s->size);
  if (s->backend_live)
    return evo_set_error(EVO_ESTATE, "evo_backend_mpi_new: an MPI back end "
                                     "exists already");
  return EVO_OK;
}

EVO_API int evo_backend_mpi_new(evo_backend **out, double timeout_seconds,
                                const char *tag) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  int rc = check_new(timeout_seconds);
  if (rc == EVO_OK)
    rc = await_workers(timeout_seconds, tag != NULL ? tag : "");
  mpi_backend *b = NULL;
  if (rc == EVO_OK)
    rc = alloc_backend(&b, timeout_seconds);
  if (rc != EVO_OK)
    return rc;
  evo_mpi_get()->backend_live = true;
  rc = evo_backend_new(out, b->n_slots, mpi_submit, mpi_collect, mpi_close, b);
  if (rc != EVO_OK)
    mpi_close(b);
  return rc;
}

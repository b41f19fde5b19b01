/* MPI set-up and tear-down (mpi.h), and the polling helpers shared by the
 * back end on rank 0 (backend_mpi.c) and the workers (mpi_worker.c).
 *
 * MPI is process-wide state, so the state behind it is too: one
 * evo_mpi_state per process, touched only by the thread that called
 * evo_mpi_init() (MPI_THREAD_FUNNELED). It is the library's one global
 * besides the thread-local error message. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common_internal.h"
#include "dist/mpi_internal.h"

static evo_mpi_state state;

/* How long rank 0 waits for its stop messages to leave. */
#define STOP_SEND_SECONDS 10.0

evo_mpi_state *evo_mpi_get(void) {
  return &state;
}

EVO_API int evo_mpi_supported(void) {
  return 1;
}

int evo_mpi_check_ready(const char *what) {
  if (!state.initialized)
    return evo_set_error(EVO_ESTATE, "%s: call evo_mpi_init() first%s", what,
                         state.finalized ? " (MPI was finalized)" : "");
  return EVO_OK;
}

int evo_mpi_error(int mpi_rc, const char *what) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error %d", mpi_rc);
  return evo_set_error(EVO_EIO, "%s: %s", what, text);
}

bool evo_mpi_rank_silent(const evo_mpi_state *s, int r) {
  return s->overdue[r] > 0 || s->dead[r];
}

/* Both sides of a job wait for each other in turn, each with a sleep that
 * grew while the other worked: the longest sleep bounds the latency added
 * to every evaluation (twice 160 µs at worst), and costs a few thousand
 * wake-ups a second, about 1% of a core, while a rank waits. */
void evo_mpi_backoff(unsigned *idle) {
  enum { YIELDS = 16, MAX_SHIFT = 4 }; /* 10 µs << 4 = 160 µs */
  if (*idle < YIELDS) {
    sched_yield();
  } else {
    unsigned shift = *idle - YIELDS;
    long ns = 10000L << (shift < MAX_SHIFT ? shift : MAX_SHIFT);
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
  }
  if (*idle < 1000)
    (*idle)++;
}

/* ---- receiving ------------------------------------------------------------
 */

static int inbox_reserve(evo_mpi_inbox *in, size_t n) {
  if (n > EVO_MPI_MAX_MESSAGE)
    return evo_set_error(EVO_EIO,
                         "a message of %zu bytes from rank %d is "
                         "larger than %zu",
                         n, in->source, EVO_MPI_MAX_MESSAGE);
  if (n <= in->cap)
    return EVO_OK;
  unsigned char *p = realloc(in->data, n);
  if (p == NULL)
    return evo_set_error(EVO_ENOMEM, "out of memory for a %zu-byte message", n);
  in->data = p;
  in->cap = n;
  return EVO_OK;
}

int evo_mpi_poll(evo_mpi_inbox *in, int source, int tag, bool *got) {
  MPI_Status st;
  int flag = 0, count = 0;
  *got = false;
  int rc = MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &st);
  if (rc != MPI_SUCCESS)
    return evo_mpi_error(rc, "MPI_Iprobe");
  if (!flag)
    return EVO_OK;
  in->source = st.MPI_SOURCE;
  in->tag = st.MPI_TAG;
  rc = MPI_Get_count(&st, MPI_BYTE, &count);
  if (rc != MPI_SUCCESS || count < 0)
    return evo_mpi_error(rc, "MPI_Get_count");
  int err = inbox_reserve(in, count > 0 ? (size_t)count : 1);
  if (err != EVO_OK)
    return err;
  rc = MPI_Recv(in->data, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG,
                MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS)
    return evo_mpi_error(rc, "MPI_Recv");
  in->size = (size_t)count;
  *got = true;
  return EVO_OK;
}

void evo_mpi_inbox_free(evo_mpi_inbox *in) {
  free(in->data);
  memset(in, 0, sizeof *in);
}

void evo_mpi_keep_buffer(unsigned char *buf, MPI_Request *req) {
  if (*req != MPI_REQUEST_NULL)
    MPI_Request_free(req);
  if (state.n_kept == state.cap_kept) {
    size_t cap = state.cap_kept ? 2 * state.cap_kept : 8;
    unsigned char **p = realloc(state.kept, cap * sizeof *p);
    if (p == NULL)
      return; /* leaked rather than freed under MPI's feet */
    state.kept = p;
    state.cap_kept = cap;
  }
  state.kept[state.n_kept++] = buf;
}

/* ---- set-up and tear-down --------------------------------------------------
 */

static void free_state(void) {
  for (int r = 0; state.tags != NULL && r < state.size; r++)
    free(state.tags[r]);
  for (size_t i = 0; i < state.n_kept; i++)
    free(state.kept[i]);
  free(state.kept);
  free(state.tags);
  free(state.threads);
  free(state.serves);
  free(state.overdue);
  free(state.dead);
  bool finalized = state.finalized;
  memset(&state, 0, sizeof state);
  state.finalized = finalized;
}

static int alloc_state(void) {
  size_t n = (size_t)state.size;
  state.threads = evo_calloc(n, sizeof *state.threads);
  state.serves = evo_calloc(n, sizeof *state.serves);
  state.tags = evo_calloc(n, sizeof *state.tags);
  state.overdue = evo_calloc(n, sizeof *state.overdue);
  state.dead = evo_calloc(n, sizeof *state.dead);
  if (state.threads && state.serves && state.tags && state.overdue &&
      state.dead)
    return EVO_OK;
  free_state();
  return EVO_ENOMEM;
}

EVO_API int evo_mpi_init(int *argc, char ***argv) {
  if (state.initialized || state.finalized)
    return evo_set_error(EVO_ESTATE, "evo_mpi_init: MPI was already %s",
                         state.finalized ? "finalized" : "initialized");
  int ready = 0, provided = 0, rc = MPI_Initialized(&ready);
  if (rc == MPI_SUCCESS && !ready) {
    rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
      return evo_mpi_error(rc, "MPI_Init_thread");
    state.owns_mpi = true;
  }
  /* A failing peer must come back as an error code, not end the job. */
  if (rc == MPI_SUCCESS)
    rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (rc == MPI_SUCCESS)
    rc = MPI_Comm_rank(MPI_COMM_WORLD, &state.rank);
  if (rc == MPI_SUCCESS)
    rc = MPI_Comm_size(MPI_COMM_WORLD, &state.size);
  if (rc != MPI_SUCCESS)
    return evo_mpi_error(rc, "evo_mpi_init");
  int err = alloc_state();
  if (err != EVO_OK)
    return err;
  state.initialized = true;
  return EVO_OK;
}

EVO_API int evo_mpi_rank(int *rank, int *size) {
  int rc = evo_mpi_check_ready("evo_mpi_rank");
  if (rc != EVO_OK)
    return rc;
  if (rank != NULL)
    *rank = state.rank;
  if (size != NULL)
    *size = state.size;
  return EVO_OK;
}

/* Rank 0: tells every reachable worker to stop; waits a while for the
 * messages to leave (a worker busy with an evaluation reads it after). */
static void stop_workers(void) {
  int n = 0;
  MPI_Request *req = evo_calloc((size_t)state.size, sizeof *req);
  if (req == NULL)
    return;
  for (int r = 1; r < state.size; r++)
    if (!state.dead[r] && MPI_Isend(NULL, 0, MPI_BYTE, r, EVO_MPI_TAG_STOP,
                                    MPI_COMM_WORLD, &req[n]) == MPI_SUCCESS)
      n++;
  unsigned idle = 0;
  int done = 0;
  double t0 = evo_now_seconds();
  while (MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS &&
         !done && evo_now_seconds() - t0 < STOP_SEND_SECONDS)
    evo_mpi_backoff(&idle);
  for (int i = 0; i < n && !done; i++)
    if (req[i] != MPI_REQUEST_NULL)
      MPI_Request_free(&req[i]); /* no buffer: nothing to keep */
  free(req);
}

/* The first silent worker rank, or 0. */
static int first_silent(void) {
  for (int r = 1; r < state.size; r++)
    if (evo_mpi_rank_silent(&state, r))
      return r;
  return 0;
}

EVO_API int evo_mpi_finalize(void) {
  int rc = evo_mpi_check_ready("evo_mpi_finalize");
  if (rc != EVO_OK)
    return rc;
  if (state.rank == 0)
    stop_workers();
  int silent = state.rank == 0 ? first_silent() : 0;
  if (silent != 0)
    return evo_set_error(EVO_ESTATE,
                         "worker rank %d stopped answering, and "
                         "MPI_Finalize would wait for it forever: end the "
                         "job with evo_mpi_abort()",
                         silent);
  if (state.owns_mpi) {
    rc = MPI_Finalize();
    state.finalized = true;
  }
  free_state();
  return rc == MPI_SUCCESS ? EVO_OK : evo_mpi_error(rc, "MPI_Finalize");
}

EVO_API void evo_mpi_abort(int code) {
  int ready = 0, done = 0;
  if (MPI_Initialized(&ready) != MPI_SUCCESS || !ready ||
      MPI_Finalized(&done) != MPI_SUCCESS || done)
    return;
  MPI_Abort(MPI_COMM_WORLD, code);
}

/* The MPI back end's shared parts (mpi.h): the process-wide state behind
 * evo_mpi_* (mpi.c), the messages between rank 0 and the workers
 * (mpi_wire.c), polling helpers. Used by mpi.c, backend_mpi.c and
 * mpi_worker.c, built only with MPI. Never installed.
 *
 * Messages (tag, then the payload in the little-endian evo_wbuf format):
 *   HELLO  worker -> 0  u32 protocol, u32 threads, str tag, u32 serves
 *   JOB    0 -> worker  u64 ticket, u64 seed, u32 rung, u32 part,
 *                       str genome JSON
 *   RESULT worker -> 0  u64 ticket, u32 status (int32), f64 fitness,
 *                       f64 cost, u32 tasks, each (str name, f64 fitness),
 *                       str message
 *   STOP   0 -> worker  empty
 * Doubles travel as their IEEE-754 bits, genomes as JSON that
 * evo_genome_from_json() restores bit for bit (genome.h). A ticket names
 * one sending of a job: a job sent again after a timeout gets a new one.
 * A job's part is EVO_MPI_WHOLE for a whole evaluation, else the index of
 * one (task, seed) run of it (evo_evaluator_run_part()). Protocol 1 had
 * no serves, rung, part nor cost; rank 0 reads a HELLO's protocol before
 * the rest, so that a rank of another protocol is named, not taken for
 * a malformed message. */
#ifndef EVOOPT_MPI_INTERNAL_H
#define EVOOPT_MPI_INTERNAL_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evoopt/mpi.h"
#include "core/io_internal.h"

enum {
  EVO_MPI_TAG_HELLO = 0x4576,
  EVO_MPI_TAG_JOB,
  EVO_MPI_TAG_RESULT,
  EVO_MPI_TAG_STOP
};

#define EVO_MPI_PROTOCOL 2
/* A HELLO's serves: what the worker evaluates besides rung 0. */
#define EVO_MPI_SERVES_RUNGS 1u /* whole evaluations at any rung */
#define EVO_MPI_SERVES_PARTS 2u /* single (task, seed) runs */
/* A JOB's part for a whole evaluation. */
#define EVO_MPI_WHOLE UINT32_MAX
/* The most bytes of one message (a genome's JSON is about 1 KiB, a result
 * at most 64 tasks and a 1 KiB message). */
#define EVO_MPI_MAX_MESSAGE ((size_t)1 << 20)
#define EVO_MPI_MAX_THREADS 256

/* ---- process-wide state (mpi.c) ------------------------------------------ */

typedef struct evo_mpi_state {
  bool initialized; /* evo_mpi_init() succeeded, evo_mpi_finalize() not */
  bool owns_mpi;    /* evo_mpi_init() called MPI_Init_thread */
  bool finalized;
  int rank, size;
  /* Rank 0's view of the workers, one entry per rank (0 unused). */
  uint32_t *threads; /* slots announced by HELLO, 0 until it came */
  uint32_t *serves;  /* their EVO_MPI_SERVES_* */
  char **tags;       /* their tags */
  uint32_t *overdue; /* slots of the rank past the timeout, unanswered */
  bool *dead;        /* a send to the rank failed */
  bool backend_live; /* an MPI back end exists */
  uint64_t next_ticket;
  /* Send buffers whose sends never completed (to a silent rank): kept
   * until MPI is finalized, since MPI may still read them. */
  unsigned char **kept;
  size_t n_kept, cap_kept;
} evo_mpi_state;

/* The state; NULL-free, zeroed until evo_mpi_init(). */
evo_mpi_state *evo_mpi_get(void);
/* EVO_OK when evo_mpi_init() was called and not yet finalized, else
 * EVO_ESTATE with a message naming @p what. */
int evo_mpi_check_ready(const char *what);
/* EVO_EIO with MPI's message for @p mpi_rc, after @p what. */
int evo_mpi_error(int mpi_rc, const char *what);
/* Whether rank @p r is silent: it has slots past the timeout, or a send
 * to it failed. */
bool evo_mpi_rank_silent(const evo_mpi_state *s, int r);
/* Keeps @p buf (malloc'ed) alive until MPI is finalized: @p req, a send
 * from it, may still be in progress. */
void evo_mpi_keep_buffer(unsigned char *buf, MPI_Request *req);

/* Waiting between two polls: a few yields, then sleeps that double from
 * 10 µs up to 160 µs, so that a quick answer is seen at once and a long
 * wait costs little CPU. *idle counts the polls that found nothing; set it
 * to 0 when one finds something. */
void evo_mpi_backoff(unsigned *idle);

/* A receive buffer that grows to the largest message seen. */
typedef struct evo_mpi_inbox {
  unsigned char *data;
  size_t cap, size;
  int source, tag;
} evo_mpi_inbox;

/* Receives one waiting message from @p source (or MPI_ANY_SOURCE) with
 * @p tag (or MPI_ANY_TAG) into @p in, if any: *got tells. */
int evo_mpi_poll(evo_mpi_inbox *in, int source, int tag, bool *got);
void evo_mpi_inbox_free(evo_mpi_inbox *in);

/* ---- messages (mpi_wire.c) ----------------------------------------------- */

void evo_mpi_put_hello(evo_wbuf *w, uint32_t threads, const char *tag,
                       uint32_t serves);
/* @p tag receives a malloc'ed string. EVO_EIO on a malformed message. A
 * HELLO of another protocol is not read beyond its protocol: EVO_OK, with
 * *threads = *serves = 0 and *tag = NULL. */
int evo_mpi_get_hello(const evo_mpi_inbox *in, uint32_t *protocol,
                      uint32_t *threads, char **tag, uint32_t *serves);

/* A job's address: which evaluation, at which rung, which part of it. */
typedef struct evo_mpi_job {
  uint64_t ticket, seed;
  uint32_t rung, part; /* part: EVO_MPI_WHOLE or a part's index */
} evo_mpi_job;

/* EVO_ENOMEM when the genome cannot be written as JSON. */
int evo_mpi_put_job(evo_wbuf *w, const evo_mpi_job *job, const evo_genome *g);
/* @p json receives a malloc'ed string. */
int evo_mpi_get_job(const evo_mpi_inbox *in, evo_mpi_job *job, char **json);

void evo_mpi_put_result(evo_wbuf *w, uint64_t ticket, int status,
                        const evo_report *rep, const char *message);
/* Fills @p rep (cleared first) and @p message (NUL-terminated, cut to
 * @p message_cap). */
int evo_mpi_get_result(const evo_mpi_inbox *in, uint64_t *ticket, int *status,
                       evo_report *rep, char *message, size_t message_cap);

#endif

/* The MPI back end's shared parts (mpi.h): the process-wide state behind
 * evo_mpi_* (mpi.c), the messages between rank 0 and the workers
 * (mpi_wire.c), polling helpers. Used by mpi.c, backend_mpi.c and
 * mpi_worker.c, built only with MPI. Never installed.
 *
 * Messages (tag, then the payload in the little-endian evo_wbuf format):
 *   HELLO  worker -> 0  u32 protocol, u32 threads, str tag
 *   JOB    0 -> worker  u64 ticket, u64 seed, str genome JSON
 *   RESULT worker -> 0  u64 ticket, u32 status (int32), f64 fitness,
 *                       u32 tasks, each (str name, f64 fitness), str message
 *   STOP   0 -> worker  empty
 * Doubles travel as their IEEE-754 bits, genomes as JSON that
 * evo_genome_from_json() restores bit for bit (genome.h). A ticket names
 * one sending of a job: a job sent again after a timeout gets a new one. */
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

#define EVO_MPI_PROTOCOL 1
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

void evo_mpi_put_hello(evo_wbuf *w, uint32_t threads, const char *tag);
/* @p tag receives a malloc'ed string. EVO_EIO on a malformed message. */
int evo_mpi_get_hello(const evo_mpi_inbox *in, uint32_t *protocol,
                      uint32_t *threads, char **tag);

/* EVO_ENOMEM when the genome cannot be written as JSON. */
int evo_mpi_put_job(evo_wbuf *w, uint64_t ticket, uint64_t seed,
                    const evo_genome *g);
/* @p json receives a malloc'ed string. */
int evo_mpi_get_job(const evo_mpi_inbox *in, uint64_t *ticket, uint64_t *seed,
                    char **json);

void evo_mpi_put_result(evo_wbuf *w, uint64_t ticket, int status,
                        const evo_report *rep, const char *message);
/* Fills @p rep (cleared first) and @p message (NUL-terminated, cut to
 * @p message_cap). */
int evo_mpi_get_result(const evo_mpi_inbox *in, uint64_t *ticket, int *status,
                       evo_report *rep, char *message, size_t message_cap);

#endif

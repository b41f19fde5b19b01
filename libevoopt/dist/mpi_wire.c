/* The messages between rank 0 and the worker ranks (mpi_internal.h lists
 * their layout): written with evo_wbuf, read with the bounds-checked
 * evo_rbuf, so a truncated or garbled message is refused, never trusted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "dist/mpi_internal.h"
#include "train/report_internal.h"

static evo_rbuf reader(const evo_mpi_inbox *in) {
  return (evo_rbuf){in->data, in->size, 0, true};
}

/* EVO_OK when the whole message was read and well formed. */
static int finish(const evo_rbuf *r, const char *what, int source) {
  if (r->ok && r->pos == r->size)
    return EVO_OK;
  return evo_set_error(EVO_EIO, "malformed %s message from rank %d (%zu bytes)",
                       what, source, r->size);
}

void evo_mpi_put_hello(evo_wbuf *w, uint32_t threads, const char *tag,
                       uint32_t serves) {
  evo_wbuf_u32(w, EVO_MPI_PROTOCOL);
  evo_wbuf_u32(w, threads);
  evo_wbuf_str(w, tag);
  evo_wbuf_u32(w, serves);
}

int evo_mpi_get_hello(const evo_mpi_inbox *in, uint32_t *protocol,
                      uint32_t *threads, char **tag, uint32_t *serves) {
  evo_rbuf r = reader(in);
  *threads = *serves = 0;
  *tag = NULL;
  *protocol = evo_rbuf_u32(&r);
  if (r.ok && *protocol != EVO_MPI_PROTOCOL)
    return EVO_OK; /* the rest is another layout: the caller refuses it */
  *threads = evo_rbuf_u32(&r);
  *tag = evo_rbuf_str(&r, EVO_MPI_MAX_MESSAGE);
  *serves = evo_rbuf_u32(&r);
  int rc = finish(&r, "hello", in->source);
  if (rc != EVO_OK) {
    free(*tag);
    *tag = NULL;
  }
  return rc;
}

int evo_mpi_put_job(evo_wbuf *w, const evo_mpi_job *job, const evo_genome *g) {
  char *json = NULL;
  int rc = evo_genome_to_json(g, &json);
  if (rc != EVO_OK)
    return rc;
  evo_wbuf_u64(w, job->ticket);
  evo_wbuf_u64(w, job->seed);
  evo_wbuf_u32(w, job->rung);
  evo_wbuf_u32(w, job->part);
  evo_wbuf_str(w, json);
  free(json);
  return w->status;
}

int evo_mpi_get_job(const evo_mpi_inbox *in, evo_mpi_job *job, char **json) {
  evo_rbuf r = reader(in);
  job->ticket = evo_rbuf_u64(&r);
  job->seed = evo_rbuf_u64(&r);
  job->rung = evo_rbuf_u32(&r);
  job->part = evo_rbuf_u32(&r);
  *json = evo_rbuf_str(&r, EVO_MPI_MAX_MESSAGE);
  int rc = finish(&r, "job", in->source);
  if (rc != EVO_OK) {
    free(*json);
    *json = NULL;
  }
  return rc;
}

void evo_mpi_put_result(evo_wbuf *w, uint64_t ticket, int status,
                        const evo_report *rep, const char *message) {
  evo_wbuf_u64(w, ticket);
  evo_wbuf_u32(w, (uint32_t)(int32_t)status);
  evo_wbuf_f64(w, rep->fitness);
  evo_wbuf_f64(w, rep->cost);
  evo_wbuf_u32(w, (uint32_t)rep->n_tasks);
  for (size_t i = 0; i < rep->n_tasks; i++) {
    evo_wbuf_str(w, rep->names[i]);
    evo_wbuf_f64(w, rep->task_fitness[i]);
  }
  evo_wbuf_str(w, message);
}

/* One task of a result into @p rep; false on a malformed entry. */
static bool get_task(evo_rbuf *r, evo_report *rep, size_t i) {
  char *name = evo_rbuf_str(r, EVO_REPORT_NAME_CAP - 1);
  if (name == NULL)
    return false;
  memcpy(rep->names[i], name, strlen(name) + 1);
  free(name);
  rep->task_fitness[i] = evo_rbuf_f64(r);
  return true;
}

int evo_mpi_get_result(const evo_mpi_inbox *in, uint64_t *ticket, int *status,
                       evo_report *rep, char *message, size_t message_cap) {
  evo_rbuf r = reader(in);
  evo_report_clear(rep);
  *ticket = evo_rbuf_u64(&r);
  *status = (int)(int32_t)evo_rbuf_u32(&r);
  rep->fitness = evo_rbuf_f64(&r);
  rep->cost = evo_rbuf_f64(&r);
  if (!(rep->cost >= 0.0 && isfinite(rep->cost)))
    r.ok = false; /* what evo_report_set_cost() refuses */
  uint32_t n = evo_rbuf_u32(&r);
  if (n > EVO_REPORT_MAX_TASKS)
    r.ok = false;
  for (uint32_t i = 0; i < n && r.ok; i++)
    r.ok = get_task(&r, rep, i);
  rep->n_tasks = r.ok ? n : 0;
  char *text = evo_rbuf_str(&r, EVO_MPI_MAX_MESSAGE);
  snprintf(message, message_cap, "%s", text != NULL ? text : "");
  free(text);
  return finish(&r, "result", in->source);
}

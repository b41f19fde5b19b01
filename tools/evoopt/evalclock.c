/* A back end that times another one (backend.h): submit and collect pass
 * through, and the seconds from a job's submit to its collect are summed.
 * The population submits a job only when a slot is free, so that is the
 * evaluation's wall time (plus, under MPI, its messages): the mean that
 * prices a cache hit in evolve's summary. */
#include <stdlib.h>

#include "cli_internal.h"

static int clock_submit(void *user, uint64_t job, const evo_genome *g,
                        uint64_t seed, uint32_t rung) {
  cli_eval_clock *c = user;
  if (job < c->n)
    c->started[job] = cli_now();
  return evo_backend_submit_rung(c->inner, job, g, seed, rung);
}

static int clock_collect(void *user, uint64_t *job, evo_report *report,
                         int *status, char *message, size_t message_cap) {
  cli_eval_clock *c = user;
  int rc =
      evo_backend_collect(c->inner, job, report, status, message, message_cap);
  if (rc == EVO_OK && *job < c->n) {
    c->seconds += cli_now() - c->started[*job];
    c->count++;
  }
  return rc;
}

static void clock_close(void *user) {
  cli_eval_clock *c = user;
  evo_backend_free(c->inner);
  free(c->started);
  c->inner = NULL;
  c->started = NULL;
  c->n = 0;
}

int cli_eval_clock_wrap(evo_backend **out, cli_eval_clock *c,
                        evo_backend *inner, size_t max_jobs) {
  c->started = calloc(max_jobs, sizeof *c->started);
  if (c->started == NULL) {
    evo_backend_free(inner);
    return EVO_ENOMEM;
  }
  c->inner = inner;
  c->n = max_jobs;
  int rc = evo_backend_new_rung(out, evo_backend_slots(inner), clock_submit,
                                clock_collect, clock_close, c);
  if (rc != EVO_OK)
    clock_close(c);
  return rc;
}

double cli_eval_clock_mean(const cli_eval_clock *c) {
  return c->count > 0 ? c->seconds / (double)c->count : 0.0;
}

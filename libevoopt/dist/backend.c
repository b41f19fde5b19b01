/* Evaluation back ends built from callbacks (backend.h). The thread pool
 * lives in backend_threads.c. */
#include <stdlib.h>

#include "dist/backend_internal.h"
#include "core/common_internal.h"

/* One of @p submit and @p submit_rung is set (checked by the callers). */
static int backend_new(evo_backend **out, size_t slots,
                       evo_backend_submit_fn submit,
                       evo_backend_submit_rung_fn submit_rung,
                       evo_backend_collect_fn collect,
                       evo_backend_close_fn close, void *user) {
  if (slots < 1 || slots > EVO_BACKEND_MAX_SLOTS)
    return evo_set_error(EVO_ERANGE, "back end slots = %zu is outside 1..%zu",
                         slots, EVO_BACKEND_MAX_SLOTS);
  evo_backend *b = evo_calloc(1, sizeof *b);
  if (b == NULL)
    return EVO_ENOMEM;
  *b = (evo_backend){slots, submit, submit_rung, collect, close, user};
  *out = b;
  return EVO_OK;
}

EVO_API int evo_backend_new(evo_backend **out, size_t slots,
                            evo_backend_submit_fn submit,
                            evo_backend_collect_fn collect,
                            evo_backend_close_fn close, void *user) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(submit);
  EVO_CHECK_ARG(collect);
  return backend_new(out, slots, submit, NULL, collect, close, user);
}

EVO_API int evo_backend_new_rung(evo_backend **out, size_t slots,
                                 evo_backend_submit_rung_fn submit,
                                 evo_backend_collect_fn collect,
                                 evo_backend_close_fn close, void *user) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(submit);
  EVO_CHECK_ARG(collect);
  return backend_new(out, slots, NULL, submit, collect, close, user);
}

/* A callback's status as the API reports it. */
static int callback_status(int rc) {
  return rc > 0 ? EVO_ECALLBACK : rc;
}

int evo_backend_call_submit(evo_backend *b, uint64_t job, const evo_genome *g,
                            uint64_t seed, uint32_t rung) {
  if (b->submit_rung != NULL)
    return b->submit_rung(b->user, job, g, seed, rung);
  if (rung != 0)
    return evo_set_error(EVO_EUNSUPPORTED,
                         "the evaluation back end takes no rungs (made with "
                         "evo_backend_new, not evo_backend_new_rung): rung "
                         "%u asked",
                         rung);
  return b->submit(b->user, job, g, seed);
}

EVO_API int evo_backend_submit(evo_backend *b, uint64_t job,
                               const evo_genome *g, uint64_t seed) {
  return evo_backend_submit_rung(b, job, g, seed, 0);
}

EVO_API int evo_backend_submit_rung(evo_backend *b, uint64_t job,
                                    const evo_genome *g, uint64_t seed,
                                    uint32_t rung) {
  EVO_CHECK_ARG(b);
  EVO_CHECK_ARG(g);
  return callback_status(evo_backend_call_submit(b, job, g, seed, rung));
}

EVO_API int evo_backend_has_rungs(const evo_backend *b) {
  return b != NULL && b->submit_rung != NULL;
}

EVO_API int evo_backend_collect(evo_backend *b, uint64_t *job,
                                evo_report *report, int *status, char *message,
                                size_t message_cap) {
  EVO_CHECK_ARG(b);
  EVO_CHECK_ARG(job);
  EVO_CHECK_ARG(report);
  EVO_CHECK_ARG(status);
  EVO_CHECK_ARG(message);
  if (message_cap < EVO_BACKEND_MESSAGE_CAP)
    return evo_set_error(EVO_ERANGE, "message_cap = %zu is below %d",
                         message_cap, EVO_BACKEND_MESSAGE_CAP);
  evo_report_clear(report);
  message[0] = 0;
  *status = EVO_OK;
  return callback_status(
      b->collect(b->user, job, report, status, message, message_cap));
}

EVO_API size_t evo_backend_slots(const evo_backend *b) {
  return b ? b->slots : 0;
}

EVO_API void evo_backend_free(evo_backend *b) {
  if (b == NULL)
    return;
  if (b->close != NULL)
    b->close(b->user);
  free(b);
}

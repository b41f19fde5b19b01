/* A fixed team of threads for the library's parallel loops (declared in
 * workers_internal.h): created at set-up (a net, an optimizer), woken per
 * loop through one mutex and two condition variables, so a loop costs no
 * allocation. */
#include <pthread.h>
#include <stdlib.h>

#include "core/common_internal.h"
#include "core/workers_internal.h"

struct evo_workers {
  size_t count; /* threads including the caller */
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t generation; /* bumped per loop */
  size_t active;       /* threads taking part in the current loop */
  size_t pending;      /* helpers still running it */
  bool stop;
  evo_task_fn fn;
  void *ctx;
};

typedef struct helper_arg {
  evo_workers *w;
  size_t index;
} helper_arg;

static void *helper_main(void *p) {
  helper_arg *a = p;
  evo_workers *w = a->w;
  const size_t index = a->index;
  free(a);
  uint64_t seen = 0;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->stop && w->generation == seen)
      pthread_cond_wait(&w->go, &w->mu);
    if (w->stop)
      break;
    seen = w->generation;
    if (index >= w->active)
      continue;
    evo_task_fn fn = w->fn;
    void *ctx = w->ctx;
    size_t active = w->active;
    pthread_mutex_unlock(&w->mu);
    fn(ctx, index, active);
    pthread_mutex_lock(&w->mu);
    if (--w->pending == 0)
      pthread_cond_signal(&w->done);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void stop_helpers(evo_workers *w, size_t started) {
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_broadcast(&w->go);
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < started; i++)
    pthread_join(w->threads[i], NULL);
}

int evo_workers_new(evo_workers **out, size_t count) {
  *out = NULL;
  evo_workers *w = evo_calloc(1, sizeof *w);
  if (!w)
    return EVO_ENOMEM;
  w->count = count ? count : 1;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->go, NULL);
  pthread_cond_init(&w->done, NULL);
  size_t helpers = w->count - 1, started = 0;
  int rc = EVO_OK;
  if (helpers && !(w->threads = evo_calloc(helpers, sizeof *w->threads)))
    rc = EVO_ENOMEM;
  for (; rc == EVO_OK && started < helpers; started++) {
    helper_arg *a = malloc(sizeof *a);
    if (!a) {
      rc = evo_set_error(EVO_ENOMEM, "evo_workers_new: out of memory");
      break;
    }
    *a = (helper_arg){w, started + 1};
    if (pthread_create(&w->threads[started], NULL, helper_main, a) != 0) {
      free(a);
      rc = evo_set_error(EVO_ETHREAD,
                         "evo_workers_new: cannot start "
                         "thread %zu of %zu",
                         started + 1, w->count);
      break;
    }
  }
  if (rc != EVO_OK) {
    stop_helpers(w, started);
    w->count = 1; /* evo_workers_free joins nothing more */
    evo_workers_free(w);
    return rc;
  }
  *out = w;
  return EVO_OK;
}

void evo_workers_free(evo_workers *w) {
  if (!w)
    return;
  if (w->count > 1)
    stop_helpers(w, w->count - 1);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->go);
  pthread_cond_destroy(&w->done);
  free(w->threads);
  free(w);
}

size_t evo_workers_count(const evo_workers *w) {
  return w ? w->count : 1;
}

void evo_workers_run(evo_workers *w, size_t n, evo_task_fn fn, void *ctx) {
  if (!w || n <= 1 || w->count == 1) {
    fn(ctx, 0, 1);
    return;
  }
  if (n > w->count)
    n = w->count;
  pthread_mutex_lock(&w->mu);
  w->fn = fn;
  w->ctx = ctx;
  w->active = n;
  w->pending = n - 1;
  w->generation++;
  pthread_cond_broadcast(&w->go);
  pthread_mutex_unlock(&w->mu);
  fn(ctx, 0, n);
  pthread_mutex_lock(&w->mu);
  while (w->pending)
    pthread_cond_wait(&w->done, &w->mu);
  pthread_mutex_unlock(&w->mu);
}

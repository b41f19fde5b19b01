/* A fixed team of threads (workers.c) for the library's parallel loops: the
 * CNN engine's layers (nn/) and the optimizer's step (optimizer.c). Never
 * installed.
 *
 * The team is created once, at set-up; running a loop allocates nothing
 * (one mutex and two condition variables wake the helpers). The caller is
 * thread 0 of every loop. A NULL team is one thread. */
#ifndef EVOOPT_WORKERS_INTERNAL_H
#define EVOOPT_WORKERS_INTERNAL_H

#include <stddef.h>

typedef struct evo_workers evo_workers;
typedef void (*evo_task_fn)(void *ctx, size_t index, size_t count);

/* @p count threads including the caller (0 counts as 1): starts count - 1
 * helpers. EVO_ENOMEM or EVO_ETHREAD (message set) when it cannot. */
int evo_workers_new(evo_workers **out, size_t count);
/* Stops and joins the helpers; accepts NULL. */
void evo_workers_free(evo_workers *w);
size_t evo_workers_count(const evo_workers *w);
/* Runs fn(ctx, i, m) for i = 0 .. m-1 at once, m = min(n, count), i = 0 on
 * the calling thread; returns when all are done. */
void evo_workers_run(evo_workers *w, size_t n, evo_task_fn fn, void *ctx);

#endif

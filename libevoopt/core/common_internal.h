/* Internal helpers shared by every module: error reporting, checked
 * allocation. Never installed. */
#ifndef EVOOPT_COMMON_INTERNAL_H
#define EVOOPT_COMMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evoopt/common.h"

#if defined(__GNUC__)
#define EVO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EVO_PRINTF(a, b)
#endif

/* Records a detailed message for the calling thread and returns @p code, so
 * that a fault is reported where it is found: `return evo_set_error(...)`. */
int evo_set_error(int code, const char *fmt, ...) EVO_PRINTF(2, 3);

/* Prefixes the thread's current message with "<context>: " and returns
 * @p code; for callers that add what they were doing. */
int evo_wrap_error(int code, const char *fmt, ...) EVO_PRINTF(2, 3);

/* calloc that reports EVO_ENOMEM through evo_set_error on failure. */
void *evo_calloc(size_t count, size_t size);

/* Checked duplicate of a string (NULL and error message on failure). */
char *evo_strdup(const char *s);

/* Seconds on the monotonic clock, for timing runs and timeouts. */
double evo_now_seconds(void);
/* The CPU time the calling thread has used, in seconds: what an
 * evaluation costs whatever else the machine runs. */
double evo_thread_cpu_seconds(void);

/* Checks a non-NULL argument; returns EVO_EINVAL naming it otherwise. */
#define EVO_CHECK_ARG(p)                                                    \
  do {                                                                      \
    if ((p) == NULL)                                                        \
      return evo_set_error(EVO_EINVAL, "%s: argument '%s' is NULL",         \
                           __func__, #p);                                   \
  } while (0)

#endif

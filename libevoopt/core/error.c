/* Status names and the thread-local last-error message: the library's only
 * mutable global state (STYLE.md, "Inside"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common_internal.h"

#define EVO_ERROR_CAP 1024

static _Thread_local char last_error[EVO_ERROR_CAP];

int evo_set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}

int evo_wrap_error(int code, const char *fmt, ...) {
  char old[EVO_ERROR_CAP];
  memcpy(old, last_error, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  size_t used = n < 0 ? 0 : (size_t)n;
  if (used + 3 < sizeof last_error) {
    memcpy(last_error + used, ": ", 2);
    used += 2;
    size_t room = sizeof last_error - used - 1;
    size_t len = strnlen(old, room);
    memcpy(last_error + used, old, len);
    last_error[used + len] = '\0';
  }
  return code;
}

void *evo_calloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p == NULL)
    evo_set_error(EVO_ENOMEM, "out of memory allocating %zu x %zu bytes",
                  count, size);
  return p;
}

char *evo_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = evo_calloc(n, 1);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

double evo_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double evo_thread_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

EVO_API const char *evo_last_error(void) { return last_error; }

EVO_API void evo_free(void *p) { free(p); }

EVO_API const char *evo_status_str(int status) {
  switch (status) {
  case EVO_OK: return "EVO_OK: success";
  case EVO_EINVAL: return "EVO_EINVAL: invalid argument";
  case EVO_ENOMEM: return "EVO_ENOMEM: out of memory";
  case EVO_ERANGE: return "EVO_ERANGE: value out of range";
  case EVO_EPARSE: return "EVO_EPARSE: malformed input";
  case EVO_EIO: return "EVO_EIO: input/output error";
  case EVO_EFORMAT: return "EVO_EFORMAT: wrong or damaged file format";
  case EVO_ENOTFOUND: return "EVO_ENOTFOUND: not found";
  case EVO_EMISMATCH: return "EVO_EMISMATCH: state does not match";
  case EVO_ENONFINITE: return "EVO_ENONFINITE: non-finite gradient";
  case EVO_ESTATE: return "EVO_ESTATE: invalid call in this state";
  case EVO_ECALLBACK: return "EVO_ECALLBACK: callback failed";
  case EVO_EUNSUPPORTED: return "EVO_EUNSUPPORTED: not supported by this build";
  case EVO_ECANCELED: return "EVO_ECANCELED: canceled";
  case EVO_EDIVERGED: return "EVO_EDIVERGED: training diverged";
  case EVO_ETHREAD: return "EVO_ETHREAD: thread error";
  default: return "unknown status";
  }
}

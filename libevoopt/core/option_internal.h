/* The typed option calls every enum-keyed family shares
 * (`evo_<noun>_set_option_i64` / `_f64`, `_get_option_i64` / `_f64`,
 * `evo_<noun>_option_bounds`; doc/api-conventions.md): each family keeps
 * one spec per key, and these helpers turn it into the public bounds and
 * the messages. Never installed. */
#ifndef EVOOPT_OPTION_INTERNAL_H
#define EVOOPT_OPTION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/common_internal.h"

/* One key: its name as the header spells it, its value type and range. */
typedef struct evo_option_spec {
  const char *name; /* e.g. "EVO_OPT_THREADS" */
  bool real;        /* the _f64 calls; else the _i64 calls */
  int64_t lo, hi;   /* an integer key's inclusive range */
  double flo, fhi;  /* a real key's inclusive range */
  double min_mag;   /* a real key's least accepted |value|, or 0 */
} evo_option_spec;

/* The public bounds of @p s. */
static inline void evo_option_spec_bounds(const evo_option_spec *s,
                                          evo_option_bounds *out) {
  out->is_real = s->real ? 1 : 0;
  out->min_i64 = s->real ? 0 : s->lo;
  out->max_i64 = s->real ? 0 : s->hi;
  out->min_f64 = s->real ? s->flo : (double)s->lo;
  out->max_f64 = s->real ? s->fhi : (double)s->hi;
  out->min_magnitude = s->real ? s->min_mag : 0.0;
}

/* EVO_EINVAL when a call of the other value type (@p real: an _f64 call)
 * names @p s, else EVO_OK; @p fn is the public call. */
static inline int evo_option_check_type(const char *fn,
                                        const evo_option_spec *s,
                                        bool real) {
  if (s->real == real)
    return EVO_OK;
  return evo_set_error(EVO_EINVAL,
                       "%s: %s is %s option: use the %s calls", fn, s->name,
                       s->real ? "a real" : "an integer",
                       s->real ? "_f64" : "_i64");
}

/* EVO_ERANGE naming @p s when the integer @p value is outside its range. */
static inline int evo_option_check_i64(const char *fn,
                                       const evo_option_spec *s,
                                       int64_t value) {
  if (value >= s->lo && value <= s->hi)
    return EVO_OK;
  return evo_set_error(EVO_ERANGE, "%s: %s must be in %lld..%lld, got %lld",
                       fn, s->name, (long long)s->lo, (long long)s->hi,
                       (long long)value);
}

#endif

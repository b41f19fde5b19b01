/**
 * @file common.h
 * @brief Version, export macro, status codes and the thread's last error.
 *
 * Every other public header includes this one. The ABI promise: a symbol
 * listed in the library's version script keeps its signature and meaning for
 * the whole 0.x series of `libevoopt.so.0`; status codes never change value;
 * enums only ever gain new members at the end.
 */
#ifndef EVOOPT_COMMON_H
#define EVOOPT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Export macro
 *  Marks a symbol of the public API. The library is built with hidden
 *  visibility, so only symbols marked with this macro are exported.
 *  @{ */
#if defined(EVO_BUILDING_LIBRARY) && defined(__GNUC__)
#define EVO_API __attribute__((visibility("default")))
#else
#define EVO_API
#endif
/** @} */

/** @name Compile-time version
 *  The project's version (meson.build, which refuses to configure when these
 *  numbers differ from it); the number and the string are made from them.
 *  @{ */
#define EVO_VERSION_MAJOR 0 /**< Major version: changes break the ABI. */
#define EVO_VERSION_MINOR 2 /**< Minor version: new features, same ABI. */
#define EVO_VERSION_PATCH 0 /**< Patch version: fixes only. */
/** The version as one number, `major * 10000 + minor * 100 + patch`. */
#define EVO_VERSION_NUMBER \
  (EVO_VERSION_MAJOR * 10000 + EVO_VERSION_MINOR * 100 + EVO_VERSION_PATCH)
/** @cond EVO_INTERNAL */
#define EVO_VERSION_STR_(x) #x
#define EVO_VERSION_XSTR_(x) EVO_VERSION_STR_(x)
/** @endcond */
/** The version as a string, "major.minor.patch". */
#define EVO_VERSION_STRING                                                     \
  EVO_VERSION_XSTR_(EVO_VERSION_MAJOR)                                         \
  "." EVO_VERSION_XSTR_(EVO_VERSION_MINOR) "."                                 \
  EVO_VERSION_XSTR_(EVO_VERSION_PATCH)
/** @} */

/**
 * @brief Status codes. Every fallible call returns one of these as an `int`.
 *
 * `EVO_OK` is zero, every error is negative, and a code never changes its
 * meaning or value. The thread's detailed message for the last error is
 * returned by evo_last_error().
 */
typedef enum evo_status {
  EVO_OK = 0,           /**< Success. */
  EVO_EINVAL = -1,      /**< An argument is invalid (NULL, wrong kind). */
  EVO_ENOMEM = -2,      /**< Out of memory. */
  EVO_ERANGE = -3,      /**< A value lies outside its accepted range. */
  EVO_EPARSE = -4,      /**< Malformed text (JSON, option string). */
  EVO_EIO = -5,         /**< The operating system refused a file operation. */
  EVO_EFORMAT = -6,     /**< A file is of the wrong format, truncated or
                             fails its checksum. */
  EVO_ENOTFOUND = -7,   /**< A named thing (preset, task, data set) does not
                             exist. */
  EVO_EMISMATCH = -8,   /**< Saved state does not fit the object it is loaded
                             into (shapes, genome, version). */
  EVO_ENONFINITE = -9,  /**< A step was refused because a gradient is NaN or
                             infinite (only when asked for). */
  EVO_ESTATE = -10,     /**< The call is not valid in the object's state. */
  EVO_ECALLBACK = -11,  /**< A user callback reported a failure. */
  EVO_EUNSUPPORTED = -12, /**< The feature was not built into this copy. */
  EVO_ECANCELED = -13,  /**< The operation was stopped on request. */
  EVO_EDIVERGED = -14,  /**< Training diverged (NaN, infinite or huge loss). */
  EVO_ETHREAD = -15     /**< A thread could not be started. */
} evo_status;

/**
 * @brief The library's version as a number, `major * 10000 + minor * 100 +
 * patch`, for comparison with ::EVO_VERSION_NUMBER.
 * @return The runtime version. Thread-safe.
 */
EVO_API unsigned evo_version_number(void);

/**
 * @brief The library's version as a string, "major.minor.patch".
 * @return A static string. Thread-safe.
 */
EVO_API const char *evo_version_string(void);

/**
 * @brief The name of a status code, e.g. "EVO_ERANGE: value out of range".
 * @param status Any integer; unknown codes give "unknown status".
 * @return A static string. Thread-safe.
 */
EVO_API const char *evo_status_str(int status);

/**
 * @brief The calling thread's detailed message for the last error the
 * library reported to it, e.g. which JSON key was wrong and why.
 *
 * The message is kept until the next failing call on the same thread;
 * successful calls do not clear it. Each thread has its own message.
 * @return A string owned by the library, valid until the thread's next
 * library call; "" when no error has occurred on this thread.
 */
EVO_API const char *evo_last_error(void);

/**
 * @brief Frees memory the library returned to the caller (JSON text,
 * descriptions, saved state buffers).
 * @param p The pointer, or NULL (then nothing happens).
 */
EVO_API void evo_free(void *p);

/**
 * @brief What an enum-keyed option accepts, as the `_option_bounds` calls
 * report it: evo_optimizer_option_bounds(),
 * evo_optimizer_param_option_bounds(), evo_task_option_bounds(),
 * evo_population_option_bounds() (doc/api-conventions.md). @since 0.2
 *
 * Every option has one value type, the same whatever the object: an
 * integer option (a count, a seed, a switch) is written and read with the
 * `_i64` calls (`evo_<noun>_set_option_i64`, `_get_option_i64`), a real
 * option (a learning rate, a scale) with the `_f64` calls. Ranges are
 * inclusive; NaN is never accepted. Settings that depend on each other
 * (a population's elites against its size) are checked where the header
 * says, not by these bounds.
 */
typedef struct evo_option_bounds {
  int is_real;      /**< 0: an integer option (the `_i64` calls); 1: a real
                         option (the `_f64` calls) */
  int64_t min_i64;  /**< an integer option's least value; 0 for a real one */
  int64_t max_i64;  /**< an integer option's greatest value; 0 for a real
                         one */
  double min_f64;   /**< a real option's least value (an integer option's
                         min_i64 as the nearest double) */
  double max_f64;   /**< a real option's greatest value (an integer
                         option's max_i64 as the nearest double) */
  double min_magnitude; /**< a real option's least accepted |value|: values
                             with |value| below it, 0 included, are
                             refused; 0 when every value from min_f64 to
                             max_f64 is accepted */
} evo_option_bounds;

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_COMMON_H */

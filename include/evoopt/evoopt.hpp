/**
 * @file evoopt.hpp
 * @brief C++ interface: header-only, move-only RAII wrappers over the C API
 * of evoopt.h, with errors reported as exceptions.
 *
 * Every class owns one C handle (genome, optimizer, task, training result,
 * report, evaluator, population), frees it in its destructor and can be
 * moved but not copied (genomes are copied explicitly with
 * evoopt::genome::clone()). A moved-from object is empty: get() returns
 * NULL, it may be destroyed or assigned to, and any other call on it
 * throws evoopt::error with ::EVO_EINVAL. get() hands the C handle to code
 * that uses the C API directly; the object keeps ownership.
 *
 * Every C call that fails throws evoopt::error carrying the status (an
 * ::evo_status) and the calling thread's evo_last_error() message, read at
 * once. Nothing here throws anything else, except std::bad_alloc when
 * memory for a std::string or std::vector runs out.
 *
 * Only the C++ standard library and the C headers are used; the header
 * compiles as C++11 and later (the tests build it as C++11 and C++17 with
 * `-Wall -Wextra -Wpedantic -Werror`). Link as for C:
 * `c++ app.cpp $(pkg-config --cflags --libs evoopt)`.
 *
 * @code
 * #include <evoopt/evoopt.hpp>
 *
 * std::vector<float> w(n), dw(n);
 * evoopt::optimizer opt(evoopt::genome::preset("paper-evolved"));
 * opt.add_params(w, dw);                  // tensor 0, updated in place
 * opt.set_total_steps(steps);             // for cosine decay
 * for (std::uint64_t s = 0; s < steps; s++) {
 *   forward_backward(w, dw);              // your code fills dw
 *   opt.step();
 * }
 * @endcode
 *
 * The threading rules are those of the C objects underneath (see each C
 * header): e.g. one optimizer is used by one thread at a time.
 */
#ifndef EVOOPT_EVOOPT_HPP
#define EVOOPT_EVOOPT_HPP

#include "evoopt.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

/** The C++ interface of libevoopt. */
namespace evoopt {

/**
 * @brief The exception thrown when a library call fails.
 *
 * what() is the calling thread's evo_last_error() message at the time of
 * the failure (or, for a failure found by the wrapper itself, the
 * wrapper's own message naming the call); status() is the ::evo_status.
 */
class error : public std::runtime_error {
public:
  /**
   * @brief An error with a status and a message.
   * @param status The ::evo_status (negative).
   * @param message What went wrong; when empty, evo_status_str() of
   * @p status is used instead.
   */
  error(int status, const std::string &message)
      : std::runtime_error(message.empty() ? std::string(evo_status_str(status))
                                           : message),
        status_(status) {}

  /** @brief The ::evo_status of the failed call. @return A negative code. */
  int status() const noexcept {
    return status_;
  }

  /** @brief The name of the status, e.g. "EVO_ERANGE: value out of range"
   *  (evo_status_str()). @return A static string. */
  const char *status_name() const noexcept {
    return evo_status_str(status_);
  }

private:
  int status_;
};

/// @cond EVOOPT_INTERNAL
namespace detail {

/* Throws for a failed C call; the message is read at once, before any other
 * library call on this thread can replace it. */
inline void check(int status) {
  if (status != EVO_OK) {
    const char *msg = evo_last_error();
    throw error(status, msg != nullptr ? std::string(msg) : std::string());
  }
}

/* Refuses a call on an empty (moved-from) object whose C function would not
 * report NULL itself (those returning a count or a string). */
inline void require(const void *handle, const char *what) {
  if (handle == nullptr)
    throw error(EVO_EINVAL, std::string(what) + ": the object is empty "
                                                "(moved from)");
}

struct free_deleter {
  void operator()(void *p) const noexcept {
    evo_free(p);
  }
};
/* Frees each wrapper's C object with its own call. */
struct deleter {
  void operator()(evo_genome *p) const noexcept {
    evo_genome_free(p);
  }
  void operator()(evo_optimizer *p) const noexcept {
    evo_optimizer_free(p);
  }
  void operator()(evo_task *p) const noexcept {
    evo_task_free(p);
  }
  void operator()(evo_train_result *p) const noexcept {
    evo_train_result_free(p);
  }
  void operator()(evo_report *p) const noexcept {
    evo_report_free(p);
  }
  void operator()(evo_evaluator *p) const noexcept {
    evo_evaluator_free(p);
  }
  void operator()(evo_population *p) const noexcept {
    evo_population_free(p);
  }
};

/* Takes a string the library allocated, frees it even if the copy throws. */
inline std::string take_string(char *s) {
  std::unique_ptr<char, free_deleter> owner(s);
  return s != nullptr ? std::string(s) : std::string();
}

/* Calls a C constructor `int fn(T **out, args...)`, throws on failure, and
 * returns what it made. */
template <typename T, typename... P, typename... A>
T *create(int (*fn)(T **, P...), A &&...args) {
  T *p = nullptr;
  check(fn(&p, std::forward<A>(args)...));
  return p;
}

} // namespace detail
/// @endcond

/** @brief The library's runtime version, "major.minor.patch".
 *  @return evo_version_string(). */
inline std::string version() {
  return evo_version_string();
}

/** @brief The library's runtime version as a number.
 *  @return evo_version_number(), comparable with ::EVO_VERSION_NUMBER. */
inline unsigned version_number() {
  return evo_version_number();
}

/** @brief The names evoopt::genome::preset() accepts, in the library's
 *  order (evo_genome_preset_name()). @return The names. */
inline std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < evo_genome_preset_count(); i++)
    names.push_back(evo_genome_preset_name(i));
  return names;
}

/** @brief Sets the threads of the BLAS, process-wide
 *  (evo_blas_set_threads()). @param n 1 to 1024. @throws error
 *  ::EVO_ERANGE. */
inline void blas_set_threads(int n) {
  detail::check(evo_blas_set_threads(n));
}

/**
 * @brief What every wrapper shares: it owns one C handle, freed with the
 * C API's `*_free` call when the object is destroyed or assigned to, and
 * it is move-only.
 *
 * Moving leaves the source empty: empty() is true, get() returns NULL, the
 * object may be destroyed or assigned to, and any other call on it throws
 * evoopt::error with ::EVO_EINVAL. Copies are refused at compile time (a
 * genome is copied with genome::clone()).
 * @tparam T The C type (e.g. ::evo_genome).
 */
template <typename T> class handle {
public:
  /** @brief The C handle, still owned by this object, for calls to the C
   *  API. @return It, or NULL when the object is empty. */
  T *get() const noexcept {
    return h_.get();
  }

  /** @brief Gives up ownership. @return The C handle, now the caller's to
   *  free with the C API's `*_free` call; the object is left empty. */
  T *release() noexcept {
    return h_.release();
  }

  /** @brief Whether the object holds nothing (moved from or released).
   *  @return true when empty. */
  bool empty() const noexcept {
    return h_ == nullptr;
  }

protected:
  /** @brief Takes ownership of @p owned (NULL: empty). @param owned The C
   *  handle. */
  explicit handle(T *owned) noexcept : h_(owned) {}

  /** @brief Takes @p other's handle, leaving it empty. @param other The
   *  object to move from. */
  handle(handle &&other) noexcept = default;

  /** @brief Frees this handle and takes @p other's, leaving it empty.
   *  @param other The object to move from. @return This object. */
  handle &operator=(handle &&other) noexcept = default;

  /** @brief Frees the handle. Protected and not virtual: a wrapper is
   *  never deleted through a pointer to this class. */
  ~handle() = default;

  /** @brief Frees the handle now, leaving the object empty. */
  void reset() noexcept {
    h_.reset();
  }

private:
  std::unique_ptr<T, detail::deleter> h_;
};

/** One update term of a genome: its kind and weight α. */
struct term {
  evo_term type; /**< The term kind. */
  double alpha;  /**< Its weight α. */
};

/**
 * @brief A genome (genome.h): owns an ::evo_genome.
 *
 * Constructed with the defaults of evo_genome_new(), or from a preset, JSON
 * text, a file or a seed through the static functions; copied with
 * clone().
 */
class genome : public handle<evo_genome> {
public:
  using handle::get; // beside the getter of the same name below

  /** @brief A genome with evo_genome_new()'s defaults. @throws error
   *  ::EVO_ENOMEM. */
  genome() : handle(detail::create(evo_genome_new)) {}

  /** @brief Takes ownership of a C genome (NULL gives an empty object).
   *  @param owned A genome from the C API, freed by this object. */
  explicit genome(evo_genome *owned) noexcept : handle(owned) {}

  /** @brief A named preset (evo_genome_preset(); see preset_names()).
   *  @param name The preset's name. @return The genome.
   *  @throws error ::EVO_ENOTFOUND (unknown name; the message lists the
   *  known ones) or ::EVO_ENOMEM. */
  static genome preset(const std::string &name) {
    return genome(detail::create(evo_genome_preset, name.c_str()));
  }

  /** @brief Reads JSON text (evo_genome_from_json()). @param json The
   *  text. @return The genome. @throws error ::EVO_EPARSE, ::EVO_ERANGE or
   *  ::EVO_ENOMEM; the message names the key at fault. */
  static genome from_json(const std::string &json) {
    return genome(detail::create(evo_genome_from_json, json.c_str()));
  }

  /** @brief Reads a JSON file, plain or gzip-compressed
   *  (evo_genome_load()). @param path The file. @return The genome.
   *  @throws error As from_json(), plus ::EVO_EIO and ::EVO_EFORMAT. */
  static genome load(const std::string &path) {
    return genome(detail::create(evo_genome_load, path.c_str()));
  }

  /** @brief A random genome as the initial population draws it
   *  (evo_genome_random()). @param seed Its seed. @return The genome.
   *  @throws error ::EVO_ENOMEM. */
  static genome random(std::uint64_t seed) {
    return genome(detail::create(evo_genome_random, seed));
  }

  /** @brief Crossover then mutation, as breeding does
   *  (evo_genome_breed()). @param a Parent A. @param b Parent B.
   *  @param generation The generation of the mutation schedule.
   *  @param generations The run's number of generations. @param seed The
   *  breeding's seed. @return The child. @throws error ::EVO_EINVAL,
   *  ::EVO_ERANGE (generation ≥ generations) or ::EVO_ENOMEM. */
  static genome breed(const genome &a, const genome &b,
                      std::uint32_t generation, std::uint32_t generations,
                      std::uint64_t seed) {
    return genome(detail::create(evo_genome_breed, a.get(), b.get(), generation,
                                 generations, seed));
  }

  /** @brief Copies a C genome the caller keeps (evo_genome_clone()), e.g.
   *  one owned by a population. @param g The genome to copy. @return The
   *  copy. @throws error ::EVO_EINVAL (NULL) or ::EVO_ENOMEM. */
  static genome copy_of(const evo_genome *g) {
    return genome(detail::create(evo_genome_clone, g));
  }

  /** @brief A copy (evo_genome_clone()). @return The copy.
   *  @throws error ::EVO_EINVAL (empty) or ::EVO_ENOMEM. */
  genome clone() const {
    return copy_of(get());
  }

  /** @brief Gene-by-gene bit equality (evo_genome_equal()).
   *  @param other The other genome. @return true when equal; false when
   *  either is empty. */
  bool operator==(const genome &other) const noexcept {
    return evo_genome_equal(get(), other.get()) != 0;
  }

  /** @brief The negation of operator==(). @param other The other genome.
   *  @return true when they differ. */
  bool operator!=(const genome &other) const noexcept {
    return !(*this == other);
  }

  /** @brief Reads a real-valued gene (evo_genome_get()). @param gene Which
   *  gene. @return Its value. @throws error ::EVO_EINVAL. */
  double get(evo_gene gene) const {
    double v = 0;
    detail::check(evo_genome_get(get(), gene, &v));
    return v;
  }

  /** @brief Writes a real-valued gene (evo_genome_set()). @param gene
   *  Which gene. @param value Its value. @throws error ::EVO_EINVAL or
   *  ::EVO_ERANGE (the genome is unchanged). */
  void set(evo_gene gene, double value) {
    detail::check(evo_genome_set(get(), gene, value));
  }

  /** @brief Reads a boolean gene (evo_genome_get_flag()). @param f Which
   *  flag. @return Its value. @throws error ::EVO_EINVAL. */
  bool flag(evo_flag f) const {
    int v = 0;
    detail::check(evo_genome_get_flag(get(), f, &v));
    return v != 0;
  }

  /** @brief Writes a boolean gene (evo_genome_set_flag()). @param f Which
   *  flag. @param value Its value. @throws error ::EVO_EINVAL. */
  void set_flag(evo_flag f, bool value) {
    detail::check(evo_genome_set_flag(get(), f, value ? 1 : 0));
  }

  /** @brief The number of terms (evo_genome_term_count()). @return 1 to
   *  ::EVO_MAX_TERMS. @throws error ::EVO_EINVAL (empty). */
  std::size_t term_count() const {
    detail::require(get(), "evoopt::genome::term_count");
    return evo_genome_term_count(get());
  }

  /** @brief Reads a term (evo_genome_get_term()). @param index 0 to
   *  term_count() - 1. @return The term. @throws error ::EVO_EINVAL or
   *  ::EVO_ERANGE. */
  evoopt::term get_term(std::size_t index) const {
    evoopt::term t = {EVO_TERM_GRAD, 0.0};
    detail::check(evo_genome_get_term(get(), index, &t.type, &t.alpha));
    return t;
  }

  /** @brief Replaces a term (evo_genome_set_term()). @param index 0 to
   *  term_count() - 1. @param type The kind. @param alpha The weight, in
   *  [-5, 5]. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  void set_term(std::size_t index, evo_term type, double alpha) {
    detail::check(evo_genome_set_term(get(), index, type, alpha));
  }

  /** @brief Appends a term (evo_genome_add_term()). @param type The kind.
   *  @param alpha The weight, in [-5, 5]. @throws error ::EVO_EINVAL or
   *  ::EVO_ERANGE (already ::EVO_MAX_TERMS terms, α out of range). */
  void add_term(evo_term type, double alpha) {
    detail::check(evo_genome_add_term(get(), type, alpha));
  }

  /** @brief Removes a term (evo_genome_remove_term()). @param index 0 to
   *  term_count() - 1. @throws error ::EVO_EINVAL or ::EVO_ERANGE (no such
   *  term, or the last one). */
  void remove_term(std::size_t index) {
    detail::check(evo_genome_remove_term(get(), index));
  }

  /** @brief The genome as one line of JSON (evo_genome_to_json()).
   *  @return The text. @throws error ::EVO_EINVAL or ::EVO_ENOMEM. */
  std::string to_json() const {
    char *s = nullptr;
    detail::check(evo_genome_to_json(get(), &s));
    return detail::take_string(s);
  }

  /** @brief A one-line human description (evo_genome_describe()).
   *  @return The text (UTF-8). @throws error ::EVO_EINVAL or ::EVO_ENOMEM. */
  std::string describe() const {
    char *s = nullptr;
    detail::check(evo_genome_describe(get(), &s));
    return detail::take_string(s);
  }

  /** @brief Writes the genome to a JSON file atomically
   *  (evo_genome_save()). @param path The file. @throws error
   *  ::EVO_EINVAL, ::EVO_EIO or ::EVO_ENOMEM. */
  void save(const std::string &path) const {
    detail::check(evo_genome_save(get(), path.c_str()));
  }
};

/**
 * @brief The drop-in optimizer (optimizer.h): owns an ::evo_optimizer that
 * updates parameter tensors living in the caller's memory.
 *
 * Registered memory (a std::vector's data or a pointer) must stay valid and
 * in place until the optimizer is freed or the tensor is rebound: do not
 * resize a registered std::vector. Registering a temporary vector does not
 * compile.
 */
class optimizer : public handle<evo_optimizer> {
public:
  /** @brief An optimizer for a genome, which is copied
   *  (evo_optimizer_new()). @param g The genome. @throws error
   *  ::EVO_EINVAL (empty genome) or ::EVO_ENOMEM. */
  explicit optimizer(const genome &g)
      : handle(detail::create(evo_optimizer_new, g.get())) {}

  /** @brief An optimizer for a named preset (genome::preset()).
   *  @param preset_name The preset. @throws error ::EVO_ENOTFOUND or
   *  ::EVO_ENOMEM. */
  explicit optimizer(const std::string &preset_name)
      : handle(detail::create(evo_optimizer_new,
                              genome::preset(preset_name).get())) {}

  /** @brief Takes ownership of a C optimizer (NULL gives an empty object).
   *  @param owned An optimizer from the C API, freed by this object. */
  explicit optimizer(evo_optimizer *owned) noexcept : handle(owned) {}

  /** @brief Registers @p n floats at @p params, with gradients read from
   *  @p grads at every step (evo_optimizer_add_params()).
   *  @param params The parameters, updated in place. @param grads The
   *  gradients, only read; must not overlap @p params. @param n The number
   *  of elements, at least 1. @return The tensor's number.
   *  @throws error ::EVO_EINVAL (NULL pointer, n = 0, overlap) or
   *  ::EVO_ENOMEM. */
  std::size_t add_params(float *params, const float *grads, std::size_t n) {
    std::size_t index = evo_optimizer_param_count(get());
    detail::check(evo_optimizer_add_params(get(), params, grads, n));
    return index;
  }

  /** @brief Registers a std::vector of parameters with its gradients.
   *  @param params The parameters (not resized while registered).
   *  @param grads The gradients, as many as @p params.
   *  @return The tensor's number. @throws error ::EVO_EINVAL (empty
   *  vectors, sizes that differ) or ::EVO_ENOMEM. */
  std::size_t add_params(std::vector<float> &params,
                         const std::vector<float> &grads) {
    same_size("evoopt::optimizer::add_params", params, grads);
    return add_params(params.data(), grads.data(), params.size());
  }

  /** @brief A temporary gradient vector would dangle: refused at compile
   *  time. @return Nothing. */
  std::size_t add_params(std::vector<float> &,
                         const std::vector<float> &&) = delete;

  /** @brief Registers a std::vector of parameters without a gradient
   *  array: give its gradient step by step with set_grad(), step() with
   *  pointers or step_tensor() (evo_optimizer_add_params(), "Gradients").
   *  @param params The parameters (not resized while registered).
   *  @return The tensor's number. @throws error ::EVO_EINVAL (empty
   *  vector) or ::EVO_ENOMEM. */
  std::size_t add_params(std::vector<float> &params) {
    if (params.empty())
      throw error(EVO_EINVAL, "evoopt::optimizer::add_params: params is empty");
    return add_params(params.data(), nullptr, params.size());
  }

  /** @brief Points tensor @p index at other memory of the same size
   *  (evo_optimizer_rebind()). @param index The tensor's number.
   *  @param params The new parameters. @param grads The new gradients, or
   *  nullptr to bind none.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE (no such tensor). */
  void rebind(std::size_t index, float *params, const float *grads) {
    detail::check(evo_optimizer_rebind(get(), index, params, grads));
  }

  /** @brief rebind() to std::vectors, which must have the tensor's size.
   *  @param index The tensor's number. @param params The new parameters.
   *  @param grads The new gradients. @throws error ::EVO_EINVAL (sizes
   *  differ from each other) or ::EVO_ERANGE (no such tensor). The C call
   *  cannot check the size against the registered one: the caller must. */
  void rebind(std::size_t index, std::vector<float> &params,
              const std::vector<float> &grads) {
    same_size("evoopt::optimizer::rebind", params, grads);
    rebind(index, params.data(), grads.data());
  }

  /** @brief A temporary gradient vector would dangle: refused at compile
   *  time. */
  void rebind(std::size_t, std::vector<float> &,
              const std::vector<float> &&) = delete;

  /** @brief The number of registered tensors
   *  (evo_optimizer_param_count()). @return The count. @throws error
   *  ::EVO_EINVAL (empty). */
  std::size_t param_count() const {
    detail::require(get(), "evoopt::optimizer::param_count");
    return evo_optimizer_param_count(get());
  }

  /** @brief Sets a per-tensor option (evo_optimizer_set_param_option()).
   *  @param index The tensor's number. @param option Which option.
   *  @param value Its value. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  void set_param_option(std::size_t index, evo_param_option option,
                        double value) {
    detail::check(evo_optimizer_set_param_option(get(), index, option, value));
  }

  /** @brief Reads a per-tensor option (evo_optimizer_get_param_option()).
   *  @param index The tensor's number. @param option Which option.
   *  @return Its value. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  double param_option(std::size_t index, evo_param_option option) const {
    double v = 0;
    detail::check(evo_optimizer_get_param_option(get(), index, option, &v));
    return v;
  }

  /** @brief Freezes or unfreezes a tensor (::EVO_PARAM_FROZEN): steps
   *  leave a frozen tensor, its moments and step count as they are.
   *  @param index The tensor's number. @param frozen true to freeze.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE (no such tensor). */
  void set_frozen(std::size_t index, bool frozen) {
    set_param_option(index, EVO_PARAM_FROZEN, frozen ? 1.0 : 0.0);
  }

  /** @brief Whether a tensor is frozen (::EVO_PARAM_FROZEN).
   *  @param index The tensor's number. @return true when frozen.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE (no such tensor). */
  bool frozen(std::size_t index) const {
    return param_option(index, EVO_PARAM_FROZEN) != 0;
  }

  /** @brief Sets an optimizer-wide option (evo_optimizer_set_option()).
   *  @param option Which option. @param value Its value. @throws error
   *  ::EVO_EINVAL, ::EVO_ERANGE, ::EVO_ETHREAD or ::EVO_ENOMEM. */
  void set_option(evo_optimizer_option option, double value) {
    detail::check(evo_optimizer_set_option(get(), option, value));
  }

  /** @brief Reads an optimizer-wide option (evo_optimizer_get_option()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL. */
  double option(evo_optimizer_option option) const {
    double v = 0;
    detail::check(evo_optimizer_get_option(get(), option, &v));
    return v;
  }

  /** @brief Sets an integer option under the typed spelling every option
   *  family shares (evo_optimizer_set_option_i64()). @param option Which
   *  option. @param value Its value (option_bounds()). @throws error
   *  ::EVO_EINVAL (a real option), ::EVO_ERANGE, ::EVO_ETHREAD or
   *  ::EVO_ENOMEM. @since 0.2 */
  void set_option_i64(evo_optimizer_option option, std::int64_t value) {
    detail::check(evo_optimizer_set_option_i64(get(), option, value));
  }

  /** @brief Sets a real option (evo_optimizer_set_option_f64()).
   *  @param option Which option. @param value Its value
   *  (option_bounds()). @throws error ::EVO_EINVAL (an integer option) or
   *  ::EVO_ERANGE. @since 0.2 */
  void set_option_f64(evo_optimizer_option option, double value) {
    detail::check(evo_optimizer_set_option_f64(get(), option, value));
  }

  /** @brief Reads an integer option (evo_optimizer_get_option_i64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (a real option). @since 0.2 */
  std::int64_t option_i64(evo_optimizer_option option) const {
    std::int64_t v = 0;
    detail::check(evo_optimizer_get_option_i64(get(), option, &v));
    return v;
  }

  /** @brief Reads a real option (evo_optimizer_get_option_f64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (an integer option). @since 0.2 */
  double option_f64(evo_optimizer_option option) const {
    double v = 0;
    detail::check(evo_optimizer_get_option_f64(get(), option, &v));
    return v;
  }

  /** @brief What an option accepts: its value type and range
   *  (evo_optimizer_option_bounds()). @param option Which option.
   *  @return The bounds. @throws error ::EVO_EINVAL (unknown option).
   *  @since 0.2 */
  static evo_option_bounds option_bounds(evo_optimizer_option option) {
    evo_option_bounds b{};
    detail::check(evo_optimizer_option_bounds(option, &b));
    return b;
  }

  /** @brief Sets an integer per-tensor option
   *  (evo_optimizer_set_param_option_i64()). @param index The tensor's
   *  number. @param option Which option. @param value Its value
   *  (param_option_bounds()). @throws error ::EVO_EINVAL (a real option)
   *  or ::EVO_ERANGE. @since 0.2 */
  void set_param_option_i64(std::size_t index, evo_param_option option,
                            std::int64_t value) {
    detail::check(
        evo_optimizer_set_param_option_i64(get(), index, option, value));
  }

  /** @brief Sets a real per-tensor option
   *  (evo_optimizer_set_param_option_f64()). @param index The tensor's
   *  number. @param option Which option. @param value Its value
   *  (param_option_bounds()). @throws error ::EVO_EINVAL (an integer
   *  option) or ::EVO_ERANGE. @since 0.2 */
  void set_param_option_f64(std::size_t index, evo_param_option option,
                            double value) {
    detail::check(
        evo_optimizer_set_param_option_f64(get(), index, option, value));
  }

  /** @brief Reads an integer per-tensor option
   *  (evo_optimizer_get_param_option_i64()). @param index The tensor's
   *  number. @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (a real option) or ::EVO_ERANGE. @since 0.2 */
  std::int64_t param_option_i64(std::size_t index,
                                evo_param_option option) const {
    std::int64_t v = 0;
    detail::check(evo_optimizer_get_param_option_i64(get(), index, option, &v));
    return v;
  }

  /** @brief Reads a real per-tensor option
   *  (evo_optimizer_get_param_option_f64()). @param index The tensor's
   *  number. @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (an integer option) or ::EVO_ERANGE. @since 0.2 */
  double param_option_f64(std::size_t index, evo_param_option option) const {
    double v = 0;
    detail::check(evo_optimizer_get_param_option_f64(get(), index, option, &v));
    return v;
  }

  /** @brief What a per-tensor option accepts
   *  (evo_optimizer_param_option_bounds()). @param option Which option.
   *  @return The bounds. @throws error ::EVO_EINVAL. @since 0.2 */
  static evo_option_bounds param_option_bounds(evo_param_option option) {
    evo_option_bounds b{};
    detail::check(evo_optimizer_param_option_bounds(option, &b));
    return b;
  }

  /** @brief Sets the factor applied to every gradient element as it is
   *  read (::EVO_OPT_GRAD_SCALE; e.g. -1/batch for darknet's arrays).
   *  @param scale A finite value with 1.2e-38 ≤ |scale| ≤ 3.4e38.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE (nothing changed). */
  void set_grad_scale(double scale) {
    set_option(EVO_OPT_GRAD_SCALE, scale);
  }

  /** @brief The gradient scale (::EVO_OPT_GRAD_SCALE). @return It (1
   *  unless set). @throws error ::EVO_EINVAL (empty). */
  double grad_scale() const {
    return option(EVO_OPT_GRAD_SCALE);
  }

  /** @brief Sets the planned number of steps for cosine decay
   *  (evo_optimizer_set_total_steps()). @param total At least 1.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  void set_total_steps(std::uint64_t total) {
    detail::check(evo_optimizer_set_total_steps(get(), total));
  }

  /** @brief One step over every registered tensor (evo_optimizer_step()).
   *  @throws error ::EVO_EINVAL, ::EVO_ESTATE (no tensors, cosine decay
   *  without total steps) or ::EVO_ENONFINITE (only with
   *  ::EVO_OPT_REFUSE_NONFINITE; nothing was changed). */
  void step() {
    detail::check(evo_optimizer_step(get()));
  }

  /** @brief Gives tensor @p index's gradient for its next step only
   *  (evo_optimizer_set_grad()): read by that step, not here.
   *  @param index The tensor's number. @param grad The gradient (as many
   *  floats as the tensor), or nullptr to take back one given before.
   *  @throws error ::EVO_EINVAL (overlaps the parameters) or ::EVO_ERANGE
   *  (no such tensor). */
  void set_grad(std::size_t index, const float *grad) {
    detail::check(evo_optimizer_set_grad(get(), index, grad));
  }

  /** @brief set_grad() from a std::vector, which must stay alive and
   *  unresized until the next step and have the tensor's size (the C call
   *  cannot check it: the caller must). @param index The tensor's number.
   *  @param grad The gradient. @throws error ::EVO_EINVAL (empty vector,
   *  overlap) or ::EVO_ERANGE (no such tensor). */
  void set_grad(std::size_t index, const std::vector<float> &grad) {
    if (grad.empty())
      throw error(EVO_EINVAL, "evoopt::optimizer::set_grad: grad is empty");
    set_grad(index, grad.data());
  }

  /** @brief A temporary vector would dangle before the step reads it:
   *  refused at compile time. */
  void set_grad(std::size_t, const std::vector<float> &&) = delete;

  /** @brief One step with a gradient pointer (or nullptr) per tensor
   *  (evo_optimizer_step_grads()). @param grads One entry per registered
   *  tensor, in their order; nullptr gives nothing for that tensor.
   *  @throws error As step(), plus ::EVO_EINVAL (wrong count, overlap;
   *  nothing was changed). */
  void step(const std::vector<const float *> &grads) {
    detail::check(evo_optimizer_step_grads(get(), grads.data(), grads.size()));
  }

  /** @brief One step of tensor @p index alone
   *  (evo_optimizer_step_tensor()); every tensor stepped once, in any
   *  order, gives what one step() gives. @param index The tensor's
   *  number. @param grad Its gradient for this step, or nullptr for the
   *  one given or bound. @throws error ::EVO_EINVAL, ::EVO_ERANGE (no such
   *  tensor), ::EVO_ESTATE (no gradient, cosine decay without total steps)
   *  or ::EVO_ENONFINITE; nothing was changed. */
  void step_tensor(std::size_t index, const float *grad = nullptr) {
    detail::check(evo_optimizer_step_tensor(get(), index, grad));
  }

  /** @brief step_tensor() with a std::vector gradient (read during the
   *  call only), which must have the tensor's size. @param index The
   *  tensor's number. @param grad The gradient. @throws error As the
   *  pointer form, plus ::EVO_EINVAL (empty vector). */
  void step_tensor(std::size_t index, const std::vector<float> &grad) {
    if (grad.empty())
      throw error(EVO_EINVAL,
                  "evoopt::optimizer::step_tensor: grad is empty");
    step_tensor(index, grad.data());
  }

  /** @brief An independent copy (evo_optimizer_clone()): genome, options,
   *  step counts, moments. It is registered with the same arrays: rebind()
   *  it to other memory before stepping both. @return The copy.
   *  @throws error ::EVO_EINVAL (empty), ::EVO_ENOMEM or ::EVO_ETHREAD. */
  optimizer clone() const {
    detail::require(get(), "evoopt::optimizer::clone");
    return optimizer(detail::create(evo_optimizer_clone, get()));
  }

  /** @brief The learning rate the next step uses
   *  (evo_optimizer_current_lr()). @return η_s. @throws error
   *  ::EVO_EINVAL or ::EVO_ESTATE. */
  double current_lr() const {
    double v = 0;
    detail::check(evo_optimizer_current_lr(get(), &v));
    return v;
  }

  /** @brief The number of steps taken (evo_optimizer_step_count()).
   *  @return The count. @throws error ::EVO_EINVAL. */
  std::uint64_t step_count() const {
    std::uint64_t v = 0;
    detail::check(evo_optimizer_step_count(get(), &v));
    return v;
  }

  /** @brief The whole state in the versioned, checksummed format of
   *  evo_optimizer_save_mem(). @return The bytes. @throws error
   *  ::EVO_EINVAL or ::EVO_ENOMEM. */
  std::vector<unsigned char> save_mem() const {
    void *buf = nullptr;
    std::size_t size = 0;
    detail::check(evo_optimizer_save_mem(get(), &buf, &size));
    std::unique_ptr<void, detail::free_deleter> owner(buf);
    const unsigned char *bytes = static_cast<const unsigned char *>(buf);
    return std::vector<unsigned char>(bytes, bytes + size);
  }

  /** @brief Restores a state from save_mem() (evo_optimizer_load_mem()).
   *  @param state The bytes. @throws error ::EVO_EINVAL, ::EVO_EFORMAT or
   *  ::EVO_EMISMATCH; the optimizer is then unchanged. */
  void load_mem(const std::vector<unsigned char> &state) {
    detail::check(evo_optimizer_load_mem(
        get(), state.empty() ? nullptr : state.data(), state.size()));
  }

  /** @brief Saves the state to a file atomically (evo_optimizer_save()).
   *  @param path The file. @throws error ::EVO_EINVAL, ::EVO_EIO or
   *  ::EVO_ENOMEM. */
  void save(const std::string &path) const {
    detail::check(evo_optimizer_save(get(), path.c_str()));
  }

  /** @brief Restores the state from a file (evo_optimizer_load()).
   *  @param path The file. @throws error As load_mem(), plus ::EVO_EIO. */
  void load(const std::string &path) {
    detail::check(evo_optimizer_load(get(), path.c_str()));
  }

private:
  static void same_size(const char *call, const std::vector<float> &params,
                        const std::vector<float> &grads) {
    if (params.size() != grads.size())
      throw error(EVO_EINVAL, std::string(call) + ": params has " +
                                  std::to_string(params.size()) +
                                  " elements but grads has " +
                                  std::to_string(grads.size()));
    if (params.empty())
      throw error(EVO_EINVAL, std::string(call) + ": params is empty");
  }
};

/** @brief The outcome of one training run (task.h): owns an
 *  ::evo_train_result. */
class train_result : public handle<evo_train_result> {
public:
  using handle::get; // beside the getter of the same name below

  /** @brief An empty result, to be filled by task::train().
   *  @throws error ::EVO_ENOMEM. */
  train_result() : handle(detail::create(evo_train_result_new)) {}

  /** @brief Reads a value (evo_train_result_get()). @param key Which one.
   *  @return Its value. @throws error ::EVO_EINVAL. */
  double get(evo_result_key key) const {
    double v = 0;
    detail::check(evo_train_result_get(get(), key, &v));
    return v;
  }

  /** @brief The fitness (::EVO_RESULT_FITNESS). @return It.
   *  @throws error ::EVO_EINVAL (empty). */
  double fitness() const {
    return get(EVO_RESULT_FITNESS);
  }

  /** @brief The test accuracy (::EVO_RESULT_ACCURACY). @return It.
   *  @throws error ::EVO_EINVAL (empty). */
  double accuracy() const {
    return get(EVO_RESULT_ACCURACY);
  }

  /** @brief Whether the run diverged (::EVO_RESULT_DIVERGED).
   *  @return true when it did. @throws error ::EVO_EINVAL (empty). */
  bool diverged() const {
    return get(EVO_RESULT_DIVERGED) != 0;
  }

  /** @brief The training-loss curve, when the task recorded it
   *  (evo_train_result_curve()). @return The losses (empty when not
   *  recorded). @throws error ::EVO_EINVAL (empty). */
  std::vector<float> curve() const {
    const float *losses = nullptr;
    std::size_t n = 0;
    detail::check(evo_train_result_curve(get(), &losses, &n));
    return losses != nullptr ? std::vector<float>(losses, losses + n)
                             : std::vector<float>();
  }
};

/**
 * @brief A training task (task.h): owns an ::evo_task and its data set.
 *
 * Set options before sharing the task between threads; train() may then be
 * called from many threads at once.
 */
class task : public handle<evo_task> {
public:
  /** @brief Opens a named task, searching for its data set
   *  (evo_task_open() with NULL folder). @param name `mnist`,
   *  `fashion_mnist`, `cifar10` or `digits` (bundled). @throws error
   *  ::EVO_ENOTFOUND (unknown task, data missing: the message says where it
   *  looked), ::EVO_EFORMAT, ::EVO_EIO or ::EVO_ENOMEM. */
  explicit task(const std::string &name)
      : handle(detail::create(evo_task_open, name.c_str(), nullptr)) {}

  /** @brief Opens a named task with its data set in @p data_folder
   *  (evo_task_open()). @param name The task's name. @param data_folder
   *  The folder. @throws error As task(const std::string &). */
  task(const std::string &name, const std::string &data_folder)
      : handle(
            detail::create(evo_task_open, name.c_str(), data_folder.c_str())) {}

  /** @brief The task's name (evo_task_name()). @return It.
   *  @throws error ::EVO_EINVAL (empty). */
  std::string name() const {
    detail::require(get(), "evoopt::task::name");
    return evo_task_name(get());
  }

  /** @brief Where the data was found and its size (evo_task_describe()).
   *  @return One line. @throws error ::EVO_EINVAL (empty). */
  std::string describe() const {
    detail::require(get(), "evoopt::task::describe");
    return evo_task_describe(get());
  }

  /** @brief Sets an option (evo_task_set_option()). @param option Which
   *  option. @param value Its value. @throws error ::EVO_EINVAL or
   *  ::EVO_ERANGE. */
  void set_option(evo_task_option option, std::int64_t value) {
    detail::check(evo_task_set_option(get(), option, value));
  }

  /** @brief Reads an option (evo_task_get_option()). @param option Which
   *  option. @return Its value. @throws error ::EVO_EINVAL. */
  std::int64_t option(evo_task_option option) const {
    std::int64_t v = 0;
    detail::check(evo_task_get_option(get(), option, &v));
    return v;
  }

  /** @brief Sets an integer option under the typed spelling every option
   *  family shares (evo_task_set_option_i64()). @param option Which
   *  option. @param value Its value (option_bounds()). @throws error
   *  ::EVO_EINVAL (a real option) or ::EVO_ERANGE. @since 0.2 */
  void set_option_i64(evo_task_option option, std::int64_t value) {
    detail::check(evo_task_set_option_i64(get(), option, value));
  }

  /** @brief Sets a real option (evo_task_set_option_f64()).
   *  @param option Which option. @param value Its value
   *  (option_bounds()). @throws error ::EVO_EINVAL (an integer option) or
   *  ::EVO_ERANGE. @since 0.2 */
  void set_option_f64(evo_task_option option, double value) {
    detail::check(evo_task_set_option_f64(get(), option, value));
  }

  /** @brief Reads an integer option (evo_task_get_option_i64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (a real option). @since 0.2 */
  std::int64_t option_i64(evo_task_option option) const {
    std::int64_t v = 0;
    detail::check(evo_task_get_option_i64(get(), option, &v));
    return v;
  }

  /** @brief Reads a real option (evo_task_get_option_f64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (an integer option). @since 0.2 */
  double option_f64(evo_task_option option) const {
    double v = 0;
    detail::check(evo_task_get_option_f64(get(), option, &v));
    return v;
  }

  /** @brief What an option accepts: its value type and range
   *  (evo_task_option_bounds()). @param option Which option.
   *  @return The bounds. @throws error ::EVO_EINVAL (unknown option).
   *  @since 0.2 */
  static evo_option_bounds option_bounds(evo_task_option option) {
    evo_option_bounds b{};
    detail::check(evo_task_option_bounds(option, &b));
    return b;
  }

  /** @brief Trains and scores a genome (evo_task_train()); thread-safe.
   *  @param g The genome. @param steps Training steps, at least 1.
   *  @param seed The run's seed. @param out Receives the outcome.
   *  @throws error ::EVO_EINVAL, ::EVO_ERANGE or ::EVO_ENOMEM. Divergence
   *  is not an error (see train_result::diverged()). */
  void train(const genome &g, std::uint64_t steps, std::uint64_t seed,
             train_result &out) const {
    detail::check(evo_task_train(get(), g.get(), steps, seed, out.get()));
  }

  /** @brief train() into a new result. @param g The genome. @param steps
   *  Training steps. @param seed The run's seed. @return The outcome.
   *  @throws error As the other overload. */
  train_result train(const genome &g, std::uint64_t steps,
                     std::uint64_t seed) const {
    train_result r;
    train(g, steps, seed, r);
    return r;
  }
};

/** @brief The outcome of an evaluation: fitness and per-task breakdown
 *  (task.h): owns an ::evo_report. */
class report : public handle<evo_report> {
public:
  /** @brief An empty report (fitness -1, no tasks). @throws error
   *  ::EVO_ENOMEM. */
  report() : handle(detail::create(evo_report_new)) {}

  /** @brief Empties the report (evo_report_clear()). @throws error
   *  ::EVO_EINVAL. */
  void clear() {
    detail::check(evo_report_clear(get()));
  }

  /** @brief Sets the overall fitness (evo_report_set_fitness()).
   *  @param fitness A finite value. @throws error ::EVO_EINVAL or
   *  ::EVO_ERANGE. */
  void set_fitness(double fitness) {
    detail::check(evo_report_set_fitness(get(), fitness));
  }

  /** @brief Adds a task's fitness to the breakdown
   *  (evo_report_add_task()). @param name The task's name (at most 63
   *  bytes). @param fitness Its fitness. @throws error ::EVO_EINVAL,
   *  ::EVO_ERANGE or ::EVO_ENOMEM. */
  void add_task(const std::string &name, double fitness) {
    detail::check(evo_report_add_task(get(), name.c_str(), fitness));
  }

  /** @brief The overall fitness (evo_report_fitness()). @return It.
   *  @throws error ::EVO_EINVAL. */
  double fitness() const {
    double v = 0;
    detail::check(evo_report_fitness(get(), &v));
    return v;
  }

  /** @brief The number of tasks in the breakdown
   *  (evo_report_task_count()). @return The count. @throws error
   *  ::EVO_EINVAL (empty). */
  std::size_t task_count() const {
    detail::require(get(), "evoopt::report::task_count");
    return evo_report_task_count(get());
  }

  /** @brief The name of breakdown entry @p index (evo_report_task()).
   *  @param index 0 to task_count() - 1. @return The task's name.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  std::string task_name(std::size_t index) const {
    const char *name = nullptr;
    detail::check(evo_report_task(get(), index, &name, nullptr));
    return name != nullptr ? std::string(name) : std::string();
  }

  /** @brief The fitness of breakdown entry @p index (evo_report_task()).
   *  @param index 0 to task_count() - 1. @return Its fitness.
   *  @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  double task_fitness(std::size_t index) const {
    double v = 0;
    detail::check(evo_report_task(get(), index, nullptr, &v));
    return v;
  }
};

/**
 * @brief A set of tasks × seeds evaluated together (task.h): owns an
 * ::evo_evaluator. Tasks are borrowed: each must outlive the evaluator.
 */
class evaluator : public handle<evo_evaluator> {
public:
  /** @brief An evaluator with no tasks, 500 steps and 2 seeds
   *  (evo_evaluator_new()). @throws error ::EVO_ENOMEM. */
  evaluator() : handle(detail::create(evo_evaluator_new)) {}

  /** @brief Adds a task, borrowed (evo_evaluator_add_task()). @param t The
   *  task; it must outlive the evaluator and not be moved from meanwhile.
   *  @throws error ::EVO_EINVAL, ::EVO_ERANGE or ::EVO_ENOMEM. */
  void add_task(const task &t) {
    detail::check(evo_evaluator_add_task(get(), t.get()));
  }

  /** @brief Sets the training steps per run (evo_evaluator_set_steps()).
   *  @param steps At least 1. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  void set_steps(std::uint64_t steps) {
    detail::check(evo_evaluator_set_steps(get(), steps));
  }

  /** @brief Sets the seeds per task (evo_evaluator_set_seeds()).
   *  @param n 1 to 1000. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  void set_seeds(std::uint32_t n) {
    detail::check(evo_evaluator_set_seeds(get(), n));
  }

  /** @brief Evaluates a genome (evo_evaluator_run()); thread-safe.
   *  @param g The genome. @param seed_base The first seed.
   *  @return The fitness and per-task breakdown. @throws error
   *  ::EVO_EINVAL, ::EVO_ESTATE (no tasks) or ::EVO_ENOMEM. */
  report run(const genome &g, std::uint64_t seed_base) const {
    report r;
    detail::check(evo_evaluator_run(get(), g.get(), seed_base, r.get()));
    return r;
  }
};

/**
 * @brief The genetic algorithm (population.h): owns an ::evo_population.
 *
 * A fitness is given as an evaluator, as a C++ function (see
 * set_fitness(fitness_function)) or as a C callback. Genomes read from the
 * population are returned as copies, so they stay valid after the next
 * step.
 */
class population : public handle<evo_population> {
public:
  using handle::get; // beside the getter of the same name below

  /**
   * @brief A fitness written in C++: returns the fitness of @p g evaluated
   * with seed @p seed.
   *
   * Called from the population's worker threads, several at once when
   * ::EVO_POP_WORKERS is above 1, so it must be safe to call concurrently,
   * and a pure function of (genome, seed) for runs to be reproducible. An
   * exception does not escape into the C library: evoopt::error gives its
   * status, any other exception ::EVO_ECALLBACK, and a non-finite return
   * counts as a failure too; the individual then gets fitness -1 and the
   * run goes on (evo_population_individual_error() shows the status).
   */
  typedef std::function<double(const genome &g, std::uint64_t seed)>
      fitness_function;

  /** @brief A population with the `paper` settings and the four baselines
   *  as initial genomes (evo_population_new()). @throws error
   *  ::EVO_ENOMEM. */
  population() : handle(detail::create(evo_population_new)) {}

  /** @brief Takes ownership of a C population (NULL gives an empty
   *  object). @param owned A population from the C API, freed by this
   *  object. */
  explicit population(evo_population *owned) noexcept : handle(owned) {}

  /** @brief Moves a population, its fitness function included; @p other
   *  is left empty. @param other The population to move from. */
  population(population &&other) noexcept = default;

  /** @brief Replaces this population (freed first, then its fitness
   *  function) by @p other, left empty. @param other The population to
   *  move from. @return This population. */
  population &operator=(population &&other) noexcept {
    if (this != &other) {
      reset(); /* the population first: it may call the function */
      fn_ = std::move(other.fn_);
      handle::operator=(std::move(other));
    }
    return *this;
  }

  /** @brief Frees the population, then its fitness function. */
  ~population() {
    reset();
  }

  /** @brief Not available: the C population may call the C++ fitness
   *  function this object keeps, so the two are freed together.
   *  @return Nothing. */
  evo_population *release() noexcept = delete;

  /** @brief Restores a population from a checkpoint, without checking its
   *  tag (evo_population_resume()). Set the fitness again before stepping.
   *  @param path The checkpoint. @return The population. @throws error
   *  ::EVO_EIO, ::EVO_EFORMAT or ::EVO_ENOMEM. */
  static population resume(const std::string &path) {
    return population(
        detail::create(evo_population_resume, path.c_str(), nullptr));
  }

  /** @brief Restores a population from a checkpoint that must carry
   *  @p tag (evo_population_resume()). @param path The checkpoint.
   *  @param tag The tag. @return The population. @throws error As
   *  resume(const std::string &), plus ::EVO_EMISMATCH (other tag). */
  static population resume(const std::string &path, const std::string &tag) {
    return population(
        detail::create(evo_population_resume, path.c_str(), tag.c_str()));
  }

  /** @brief Writes a setting (evo_population_set()). @param setting Which
   *  setting. @param value Its value. @throws error ::EVO_EINVAL,
   *  ::EVO_ERANGE or ::EVO_ESTATE (the run has started). */
  void set(evo_pop_setting setting, std::int64_t value) {
    detail::check(evo_population_set(get(), setting, value));
  }

  /** @brief Reads a setting (evo_population_get()). @param setting Which
   *  setting. @return Its value. @throws error ::EVO_EINVAL. */
  std::int64_t get(evo_pop_setting setting) const {
    std::int64_t v = 0;
    detail::check(evo_population_get(get(), setting, &v));
    return v;
  }

  /** @brief Sets an integer option under the typed spelling every option
   *  family shares (evo_population_set_option_i64()). @param option Which
   *  option. @param value Its value (option_bounds()). @throws error
   *  ::EVO_EINVAL (a real option), ::EVO_ERANGE or ::EVO_ESTATE.
   *  @since 0.2 */
  void set_option_i64(evo_pop_setting option, std::int64_t value) {
    detail::check(evo_population_set_option_i64(get(), option, value));
  }

  /** @brief Sets a real option (evo_population_set_option_f64()).
   *  @param option Which option. @param value Its value
   *  (option_bounds()). @throws error ::EVO_EINVAL (an integer option) or
   *  ::EVO_ERANGE. @since 0.2 */
  void set_option_f64(evo_pop_setting option, double value) {
    detail::check(evo_population_set_option_f64(get(), option, value));
  }

  /** @brief Reads an integer option (evo_population_get_option_i64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (a real option). @since 0.2 */
  std::int64_t option_i64(evo_pop_setting option) const {
    std::int64_t v = 0;
    detail::check(evo_population_get_option_i64(get(), option, &v));
    return v;
  }

  /** @brief Reads a real option (evo_population_get_option_f64()).
   *  @param option Which option. @return Its value. @throws error
   *  ::EVO_EINVAL (an integer option). @since 0.2 */
  double option_f64(evo_pop_setting option) const {
    double v = 0;
    detail::check(evo_population_get_option_f64(get(), option, &v));
    return v;
  }

  /** @brief What an option accepts: its value type and range
   *  (evo_population_option_bounds()). @param option Which option.
   *  @return The bounds. @throws error ::EVO_EINVAL (unknown option).
   *  @since 0.2 */
  static evo_option_bounds option_bounds(evo_pop_setting option) {
    evo_option_bounds b{};
    detail::check(evo_population_option_bounds(option, &b));
    return b;
  }

  /** @brief Replaces the initial genomes, copied
   *  (evo_population_set_initial()). @param genomes The genomes; empty
   *  for a fully random start. @throws error ::EVO_EINVAL, ::EVO_ERANGE,
   *  ::EVO_ESTATE or ::EVO_ENOMEM. */
  void set_initial(const std::vector<genome> &genomes) {
    std::vector<const evo_genome *> ptrs;
    for (std::size_t i = 0; i < genomes.size(); i++)
      ptrs.push_back(genomes[i].get());
    detail::check(evo_population_set_initial(
        get(), ptrs.empty() ? nullptr : ptrs.data(), ptrs.size()));
  }

  /** @brief Evaluates with an evaluator (evo_evaluator_fitness()), which
   *  is borrowed: it must outlive its use by the population. @param e The
   *  evaluator. @throws error ::EVO_EINVAL or ::EVO_ESTATE. */
  void set_fitness(const evaluator &e) {
    set_fitness(evo_evaluator_fitness, e.get());
  }

  /** @brief Evaluates with a C++ function, kept by the population.
   *  @param fn The fitness (see population::fitness_function). @throws error
   *  ::EVO_EINVAL (empty function or population) or ::EVO_ESTATE. */
  void set_fitness(fitness_function fn) {
    if (!fn)
      throw error(EVO_EINVAL,
                  "evoopt::population::set_fitness: the function is empty");
    std::unique_ptr<fitness_function> holder(
        new fitness_function(std::move(fn)));
    set_fitness(call_fitness, holder.get());
    fn_ = std::move(holder);
  }

  /** @brief Evaluates with a C callback (evo_population_set_fitness()).
   *  @param fn The callback. @param user Passed to it. @throws error
   *  ::EVO_EINVAL or ::EVO_ESTATE. */
  void set_fitness(evo_fitness_fn fn, void *user) {
    detail::check(evo_population_set_fitness(get(), fn, user));
  }

  /** @brief Checkpoints to @p path after every evaluation
   *  (evo_population_set_checkpoint()). @param path The file. @param tag
   *  Stored with it, checked by resume(). @throws error ::EVO_EINVAL,
   *  ::EVO_ESTATE or ::EVO_ENOMEM. */
  void set_checkpoint(const std::string &path, const std::string &tag = "") {
    detail::check(
        evo_population_set_checkpoint(get(), path.c_str(), tag.c_str()));
  }

  /** @brief Turns checkpoints off. @throws error ::EVO_EINVAL or
   *  ::EVO_ESTATE. */
  void clear_checkpoint() {
    detail::check(evo_population_set_checkpoint(get(), nullptr, nullptr));
  }

  /** @brief Runs one generation (evo_population_step()). @throws error
   *  ::EVO_ESTATE (no fitness, finished), ::EVO_ECANCELED, ::EVO_EIO and
   *  the others of evo_population_step(). A failing fitness is not an
   *  error of the step. */
  void step() {
    detail::check(evo_population_step(get()));
  }

  /** @brief Runs until the last generation is done
   *  (evo_population_run()). @throws error As step(). */
  void run() {
    detail::check(evo_population_run(get()));
  }

  /** @brief The current generation (evo_population_generation()).
   *  @return It. @throws error ::EVO_EINVAL (empty). */
  std::size_t generation() const {
    detail::require(get(), "evoopt::population::generation");
    return evo_population_generation(get());
  }

  /** @brief Whether every generation was evaluated
   *  (evo_population_finished()). @return true when finished.
   *  @throws error ::EVO_EINVAL (empty). */
  bool finished() const {
    detail::require(get(), "evoopt::population::finished");
    return evo_population_finished(get()) != 0;
  }

  /** @brief The current generation's size (evo_population_size()).
   *  @return The count, 0 before the first step. @throws error
   *  ::EVO_EINVAL (empty). */
  std::size_t size() const {
    detail::require(get(), "evoopt::population::size");
    return evo_population_size(get());
  }

  /** @brief A copy of individual @p index's genome
   *  (evo_population_individual()). @param index 0 to size() - 1.
   *  @return The copy. @throws error ::EVO_EINVAL, ::EVO_ERANGE or
   *  ::EVO_ENOMEM. */
  genome individual(std::size_t index) const {
    const evo_genome *g = nullptr;
    detail::check(evo_population_individual(get(), index, &g, nullptr));
    return genome::copy_of(g);
  }

  /** @brief Individual @p index's fitness (evo_population_individual()).
   *  @param index 0 to size() - 1. @return The fitness, NaN when not yet
   *  evaluated. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  double fitness(std::size_t index) const {
    double f = 0;
    detail::check(evo_population_individual(get(), index, nullptr, &f));
    return f;
  }

  /** @brief The number of recorded generations
   *  (evo_population_history_count()). @return The count. @throws error
   *  ::EVO_EINVAL (empty). */
  std::size_t history_count() const {
    detail::require(get(), "evoopt::population::history_count");
    return evo_population_history_count(get());
  }

  /** @brief A value of a recorded generation (evo_population_history()).
   *  @param generation The generation. @param key Which value.
   *  @return It. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  double history(std::size_t generation, evo_history_key key) const {
    double v = 0;
    detail::check(evo_population_history(get(), generation, key, &v));
    return v;
  }

  /** @brief A copy of a recorded generation's best genome
   *  (evo_population_history_best()). @param generation The generation.
   *  @return The copy. @throws error ::EVO_EINVAL, ::EVO_ERANGE or
   *  ::EVO_ENOMEM. */
  genome history_best(std::size_t generation) const {
    const evo_genome *g = nullptr;
    detail::check(evo_population_history_best(get(), generation, &g, nullptr));
    return genome::copy_of(g);
  }

  /** @brief The number of genomes in the hall of fame
   *  (evo_population_hof_count()). @return The count. @throws error
   *  ::EVO_EINVAL (empty). */
  std::size_t hof_count() const {
    detail::require(get(), "evoopt::population::hof_count");
    return evo_population_hof_count(get());
  }

  /** @brief A copy of hall-of-fame entry @p rank (evo_population_hof()).
   *  @param rank 0 (best) to hof_count() - 1. @return The copy.
   *  @throws error ::EVO_EINVAL, ::EVO_ERANGE or ::EVO_ENOMEM. */
  genome hof_genome(std::size_t rank) const {
    const evo_genome *g = nullptr;
    detail::check(evo_population_hof(get(), rank, &g, nullptr, nullptr));
    return genome::copy_of(g);
  }

  /** @brief The fitness of hall-of-fame entry @p rank
   *  (evo_population_hof()). @param rank 0 (best) to hof_count() - 1.
   *  @return Its fitness. @throws error ::EVO_EINVAL or ::EVO_ERANGE. */
  double hof_fitness(std::size_t rank) const {
    double f = 0;
    detail::check(evo_population_hof(get(), rank, nullptr, &f, nullptr));
    return f;
  }

private:
  /* The C callback behind set_fitness(fitness_function): no exception may
   * cross into the library. */
  static int call_fitness(void *user, const evo_genome *g, std::uint64_t seed,
                          evo_report *rep) {
    try {
      const fitness_function &fn = *static_cast<fitness_function *>(user);
      return evo_report_set_fitness(rep, fn(genome::copy_of(g), seed));
    } catch (const error &e) {
      return e.status() < 0 ? e.status() : EVO_ECALLBACK;
    } catch (...) {
      return EVO_ECALLBACK;
    }
  }
  /* The function set_fitness(fitness_function) gave; the destructor and
   * the move assignment free the population before it. */
  std::unique_ptr<fitness_function> fn_;
};

} // namespace evoopt

#endif /* EVOOPT_EVOOPT_HPP */

// The C++ wrappers of <evoopt/evoopt.hpp> (issue 13, part 3). Built twice by
// meson, as C++11 and as C++17. Expected values are computed here by hand
// or by an independent formula, never copied from the library's output.
#include <evoopt/evoopt.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

int failures = 0;
int checks = 0;

void expect(bool ok, const char *what, int line) {
  checks++;
  if (!ok) {
    failures++;
    std::printf("FAIL line %d: %s\n", line, what);
  }
}
#define EXPECT(cond) expect((cond), #cond, __LINE__)

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

// Runs f, which must throw evoopt::error with @p status; returns its
// message ("" when it did not throw as expected, which is counted).
template <typename F> std::string expect_error(F f, int status, int line) {
  checks++;
  try {
    f();
  } catch (const evoopt::error &e) {
    if (e.status() != status) {
      failures++;
      std::printf("FAIL line %d: status %d (%s), expected %d\n", line,
                  e.status(), e.what(), status);
      return "";
    }
    if (std::string(e.what()).empty()) {
      failures++;
      std::printf("FAIL line %d: empty message\n", line);
    }
    return e.what();
  } catch (...) {
    failures++;
    std::printf("FAIL line %d: another exception type\n", line);
    return "";
  }
  failures++;
  std::printf("FAIL line %d: no exception\n", line);
  return "";
}
#define EXPECT_ERROR(expr, status)                                             \
  expect_error([&]() { expr; }, (status), __LINE__)

// Every wrapper is move-only, and moving never throws.
template <typename T> struct move_only {
  static const bool value = !std::is_copy_constructible<T>::value &&
                            !std::is_copy_assignable<T>::value &&
                            std::is_nothrow_move_constructible<T>::value &&
                            std::is_nothrow_move_assignable<T>::value;
};
static_assert(move_only<evoopt::genome>::value, "genome");
static_assert(move_only<evoopt::optimizer>::value, "optimizer");
static_assert(move_only<evoopt::task>::value, "task");
static_assert(move_only<evoopt::train_result>::value, "train_result");
static_assert(move_only<evoopt::report>::value, "report");
static_assert(move_only<evoopt::evaluator>::value, "evaluator");
static_assert(move_only<evoopt::population>::value, "population");
static_assert(std::is_base_of<std::runtime_error, evoopt::error>::value,
              "error is a std::runtime_error");

// Registering a temporary gradient vector (it would dangle) does not
// compile; an lvalue does. Nor does releasing a population, which may hold
// a C++ fitness function the C object calls.
template <typename G, typename = void> struct registers : std::false_type {};
template <typename G>
struct registers<G,
                 decltype(void(std::declval<evoopt::optimizer &>().add_params(
                     std::declval<std::vector<float> &>(), std::declval<G>())))>
    : std::true_type {};
static_assert(registers<std::vector<float> &>::value, "lvalue gradients");
static_assert(registers<const std::vector<float> &>::value, "const lvalue");
static_assert(!registers<std::vector<float>>::value, "temporary gradients");
// Likewise a temporary given to set_grad(), read only by the next step.
template <typename G, typename = void> struct gives : std::false_type {};
template <typename G>
struct gives<G, decltype(void(std::declval<evoopt::optimizer &>().set_grad(
                    std::size_t(0), std::declval<G>())))> : std::true_type {};
static_assert(gives<std::vector<float> &>::value, "set_grad lvalue");
static_assert(!gives<std::vector<float>>::value, "set_grad temporary");
template <typename T, typename = void> struct releases : std::false_type {};
template <typename T>
struct releases<T, decltype(void(std::declval<T &>().release()))>
    : std::true_type {};
static_assert(releases<evoopt::optimizer>::value, "optimizer::release");
static_assert(!releases<evoopt::population>::value, "population::release");

std::string temp_dir() {
  char tmpl[] = "/tmp/evoopt-cpp-XXXXXX";
  const char *d = mkdtemp(tmpl);
  if (d == nullptr) {
    std::printf("FAIL: mkdtemp\n");
    std::exit(1);
  }
  return d;
}

void test_version_and_errors() {
  EXPECT(evoopt::version() == EVO_VERSION_STRING);
  EXPECT(evoopt::version_number() == EVO_VERSION_NUMBER);
  std::vector<std::string> names = evoopt::preset_names();
  EXPECT(names.size() == evo_genome_preset_count());
  bool has_adam_nowd = false;
  for (std::size_t i = 0; i < names.size(); i++)
    has_adam_nowd = has_adam_nowd || names[i] == "adam-nowd";
  EXPECT(has_adam_nowd);

  // An unknown preset: the status, and the thread's message as it is.
  bool threw = false;
  try {
    evoopt::genome::preset("no-such-preset");
  } catch (const evoopt::error &e) {
    threw = true;
    EXPECT(e.status() == EVO_ENOTFOUND);
    EXPECT(std::string(e.what()) == evo_last_error());
    EXPECT(contains(e.what(), "no-such-preset"));
    EXPECT(contains(e.what(), "adam-nowd")); // the known names are listed
    EXPECT(std::strcmp(e.status_name(), evo_status_str(EVO_ENOTFOUND)) == 0);
  }
  EXPECT(threw);
  // Caught as a std::runtime_error too.
  bool caught = false;
  try {
    evoopt::genome::from_json("{");
  } catch (const std::runtime_error &e) {
    caught = std::string(e.what()).size() > 0;
  }
  EXPECT(caught);
  // An error built without a message falls back to the status's name.
  evoopt::error plain(EVO_ERANGE, "");
  EXPECT(std::string(plain.what()) == evo_status_str(EVO_ERANGE));
  EXPECT_ERROR(evoopt::blas_set_threads(0), EVO_ERANGE);
}

void test_genome() {
  const std::string dir = temp_dir();
  evoopt::genome g; // evo_genome_new's defaults (genome.h)
  EXPECT(!g.empty());
  EXPECT(g.get(EVO_GENE_LR_LOG10) == -3.0);
  EXPECT(g.get(EVO_GENE_BETA1) == 0.9);
  EXPECT(g.flag(EVO_FLAG_USE_M) && !g.flag(EVO_FLAG_WARMUP));
  EXPECT(g.term_count() == 1);
  EXPECT(g.get_term(0).type == EVO_TERM_GRAD && g.get_term(0).alpha == 1.0);

  g.set(EVO_GENE_LR_LOG10, -2.5);
  EXPECT(g.get(EVO_GENE_LR_LOG10) == -2.5);
  std::string msg = EXPECT_ERROR(g.set(EVO_GENE_BETA1, 1.5), EVO_ERANGE);
  EXPECT(contains(msg, "beta1"));
  EXPECT(g.get(EVO_GENE_BETA1) == 0.9); // unchanged
  g.set_flag(EVO_FLAG_WARMUP, true);
  EXPECT(g.flag(EVO_FLAG_WARMUP));
  g.add_term(EVO_TERM_SIGN, 0.5);
  g.set_term(0, EVO_TERM_ADAM, -1.25);
  EXPECT(g.term_count() == 2);
  EXPECT(g.get_term(0).type == EVO_TERM_ADAM && g.get_term(0).alpha == -1.25);
  EXPECT(g.get_term(1).type == EVO_TERM_SIGN && g.get_term(1).alpha == 0.5);
  EXPECT_ERROR(g.get_term(2), EVO_ERANGE);
  EXPECT_ERROR(g.add_term(EVO_TERM_GRAD, 6.0), EVO_ERANGE);
  g.remove_term(0);
  EXPECT(g.term_count() == 1 && g.get_term(0).type == EVO_TERM_SIGN);
  EXPECT_ERROR(g.remove_term(0), EVO_ERANGE); // a genome keeps one term

  // JSON, file and clone round trips are bit-exact.
  evoopt::genome back = evoopt::genome::from_json(g.to_json());
  EXPECT(back == g);
  evoopt::genome copy = g.clone();
  EXPECT(copy == g && copy.get() != g.get());
  copy.set(EVO_GENE_EPS_LOG10, -6);
  EXPECT(copy != g);
  g.save(dir + "/g.json");
  EXPECT(evoopt::genome::load(dir + "/g.json") == g);
  EXPECT_ERROR(evoopt::genome::load(dir + "/missing.json"), EVO_EIO);
  msg =
      EXPECT_ERROR(evoopt::genome::from_json("{\"lr_log10\": -3}"), EVO_EPARSE);
  EXPECT(contains(msg, "term_types"));

  // paper-evolved: 0.734·sign + 3.635·adam (doc/algorithm.md §5).
  evoopt::genome pe = evoopt::genome::preset("paper-evolved");
  std::string d = pe.describe();
  EXPECT(contains(d, "0.734·sign") && contains(d, "3.635·adam"));
  EXPECT(contains(pe.to_json(), "\"term_types\""));

  // Random and bred genomes: the same seed gives the same genome.
  EXPECT(evoopt::genome::random(7) == evoopt::genome::random(7));
  evoopt::genome a = evoopt::genome::preset("adam");
  evoopt::genome b = evoopt::genome::preset("sgd");
  EXPECT(evoopt::genome::breed(a, b, 0, 10, 3) ==
         evoopt::genome::breed(a, b, 0, 10, 3));
  EXPECT_ERROR(evoopt::genome::breed(a, b, 10, 10, 3), EVO_ERANGE);

  // Moves: the moved-from object is empty, refuses calls, destructs fine
  // and can be assigned to again.
  evoopt::genome moved(std::move(a));
  EXPECT(a.empty() && a.get() == nullptr && !moved.empty());
  EXPECT(moved == evoopt::genome::preset("adam"));
  EXPECT(!(a == moved)); // an empty genome equals nothing
  EXPECT_ERROR(a.get(EVO_GENE_BETA1), EVO_EINVAL);
  msg = EXPECT_ERROR(a.term_count(), EVO_EINVAL);
  EXPECT(contains(msg, "evoopt::genome::term_count") &&
         contains(msg, "moved from"));
  EXPECT_ERROR(a.to_json(), EVO_EINVAL);
  EXPECT_ERROR(a.clone(), EVO_EINVAL);
  a = std::move(b); // into an empty object
  EXPECT(b.empty() && a == evoopt::genome::preset("sgd"));
  a = std::move(moved); // over a live one: the old genome is freed
  EXPECT(moved.empty() && a == evoopt::genome::preset("adam"));
  evo_genome *raw = a.release();
  EXPECT(a.empty() && raw != nullptr);
  evoopt::genome owner(raw); // takes it back
  EXPECT(owner == evoopt::genome::preset("adam"));
  std::remove((dir + "/g.json").c_str());
  rmdir(dir.c_str());
}

// Adam on f(x) = ½ Σ a_i x_i², as in torch.optim (doc/algorithm.md §2),
// in double: decoupled decay, the moments, bias correction, the update.
struct adam_ref {
  std::vector<double> x, m, v;
  double lr, b1, b2, eps, wd;
  adam_ref(const std::vector<double> &x0, double wd_)
      : x(x0), m(x0.size(), 0.0), v(x0.size(), 0.0), lr(1e-3), b1(0.9),
        b2(0.999), eps(1e-8), wd(wd_) {}
  void step(const std::vector<double> &a, int t) {
    for (std::size_t i = 0; i < x.size(); i++) {
      double g = a[i] * x[i];
      x[i] *= 1.0 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      double mh = m[i] / (1 - std::pow(b1, t));
      double vh = v[i] / (1 - std::pow(b2, t));
      x[i] -= lr * mh / (std::sqrt(vh) + eps);
    }
  }
};

double max_diff(const std::vector<double> &ref, const float *p) {
  double d = 0;
  for (std::size_t i = 0; i < ref.size(); i++)
    d = std::fmax(d, std::fabs(ref[i] - static_cast<double>(p[i])));
  return d;
}

void test_optimizer() {
  // adamw: Adam with decoupled decay 1e-2 (genome.h). Tensor 0 is a
  // std::vector and decays; tensor 1 is a pointer + size without decay.
  const std::vector<double> a0 = {1.0, 3.0, 0.5}, a1 = {2.0, 0.25};
  std::vector<float> w = {1.0f, -2.0f, 0.5f}, dw(3);
  float b[2] = {0.25f, -0.75f}, db[2];
  evoopt::optimizer opt(evoopt::genome::preset("adamw"));
  EXPECT(opt.add_params(w, dw) == 0);
  EXPECT(opt.add_params(b, db, 2) == 1);
  EXPECT(opt.param_count() == 2);
  opt.set_param_option(1, EVO_PARAM_WEIGHT_DECAY, 0);
  EXPECT(opt.param_option(1, EVO_PARAM_WEIGHT_DECAY) == 0.0);
  EXPECT(opt.param_option(0, EVO_PARAM_WEIGHT_DECAY) == 1.0);
  EXPECT(opt.option(EVO_OPT_BASE_LR) == 1e-3);
  EXPECT(opt.current_lr() == 1e-3);

  auto grads = [&]() {
    for (std::size_t i = 0; i < 3; i++)
      dw[i] = static_cast<float>(a0[i]) * w[i];
    for (std::size_t i = 0; i < 2; i++)
      db[i] = static_cast<float>(a1[i]) * b[i];
  };
  grads();
  opt.step();
  // By hand: the first Adam step moves by lr·g/(|g| + ε) = 1e-3·sign(g)
  // (to 1e-8), after the decay p·(1 - 1e-3·1e-2) on tensor 0 only.
  EXPECT(std::fabs(w[0] - (1.0 * (1 - 1e-5) - 1e-3)) < 1e-6);
  EXPECT(std::fabs(w[1] - (-2.0 * (1 - 1e-5) + 1e-3)) < 1e-6);
  EXPECT(std::fabs(w[2] - (0.5 * (1 - 1e-5) - 1e-3)) < 1e-6);
  EXPECT(std::fabs(b[0] - (0.25 - 1e-3)) < 1e-6);
  EXPECT(std::fabs(b[1] - (-0.75 + 1e-3)) < 1e-6);
  EXPECT(opt.step_count() == 1);

  // Nine more steps against the reference, from the state after step 1
  // recomputed in double.
  adam_ref r0(std::vector<double>{1.0, -2.0, 0.5}, 1e-2);
  adam_ref r1(std::vector<double>{0.25, -0.75}, 0.0);
  r0.step(a0, 1);
  r1.step(a1, 1);
  std::vector<unsigned char> state_after_5;
  std::vector<float> w_after_5;
  for (int t = 2; t <= 10; t++) {
    grads();
    opt.step();
    r0.step(a0, t);
    r1.step(a1, t);
    if (t == 5) {
      state_after_5 = opt.save_mem();
      w_after_5 = w;
    }
  }
  EXPECT(opt.step_count() == 10);
  EXPECT(max_diff(r0.x, w.data()) < 2e-6);
  EXPECT(max_diff(r1.x, b) < 2e-6);
  // And the parameters did move: ten steps of about 1e-3 each.
  EXPECT(std::fabs(w[0] - 1.0f) > 5e-3);

  // Saved state: a new optimizer loaded with the state after step 5 and
  // given the parameters of then repeats steps 6..10 bit for bit.
  std::vector<float> w2 = w_after_5, dw2(3);
  evoopt::optimizer opt2("adamw");
  opt2.add_params(w2, dw2);
  float b2[2] = {0, 0}, db2[2] = {0, 0};
  opt2.add_params(b2, db2, 2);
  opt2.load_mem(state_after_5);
  EXPECT(opt2.step_count() == 5);
  EXPECT(opt2.param_option(1, EVO_PARAM_WEIGHT_DECAY) == 0.0);
  for (int t = 6; t <= 10; t++) {
    for (std::size_t i = 0; i < 3; i++)
      dw2[i] = static_cast<float>(a0[i]) * w2[i];
    opt2.step();
  }
  EXPECT(w2 == w);
  std::vector<unsigned char> bad = state_after_5;
  bad[bad.size() / 2] ^= 0x5a;
  EXPECT_ERROR(opt2.load_mem(bad), EVO_EFORMAT);
  EXPECT_ERROR(opt2.load_mem(std::vector<unsigned char>()), EVO_EINVAL);
  evoopt::optimizer other("sgd");
  std::vector<float> w3(3), dw3(3);
  other.add_params(w3, dw3);
  EXPECT_ERROR(other.load_mem(state_after_5), EVO_EMISMATCH);
  const std::string dir = temp_dir();
  opt.save(dir + "/opt.state");
  opt2.load(dir + "/opt.state");
  EXPECT(opt2.step_count() == 10);
  EXPECT_ERROR(opt2.load(dir + "/missing.state"), EVO_EIO);
  std::remove((dir + "/opt.state").c_str());
  rmdir(dir.c_str());

  // Bad registrations: the status, and a message naming what is wrong.
  std::vector<float> empty, e2, three(3), two(2);
  std::string msg = EXPECT_ERROR(opt.add_params(empty, e2), EVO_EINVAL);
  EXPECT(contains(msg, "add_params") && contains(msg, "empty"));
  msg = EXPECT_ERROR(opt.add_params(three, two), EVO_EINVAL);
  EXPECT(contains(msg, "3 elements") && contains(msg, "grads has 2"));
  msg = EXPECT_ERROR(opt.add_params(nullptr, dw.data(), 3), EVO_EINVAL);
  EXPECT(contains(msg, "params"));
  EXPECT_ERROR(opt.add_params(w.data(), dw.data(), 0), EVO_EINVAL);
  EXPECT_ERROR(opt.add_params(w.data(), w.data(), 3), EVO_EINVAL); // overlap
  EXPECT(opt.param_count() == 2); // nothing was registered
  EXPECT_ERROR(opt.set_param_option(5, EVO_PARAM_LR_SCALE, 1), EVO_ERANGE);
  EXPECT_ERROR(opt.set_option(EVO_OPT_BASE_LR, -1), EVO_ERANGE);
  EXPECT_ERROR(opt.set_total_steps(0), EVO_ERANGE);
  EXPECT_ERROR(opt.rebind(7, three, two), EVO_EINVAL);
  EXPECT_ERROR(opt.rebind(7, three.data(), dw.data()), EVO_ERANGE);
  evoopt::optimizer bare("plain-sgd");
  EXPECT_ERROR(bare.step(), EVO_ESTATE); // no tensors
  EXPECT_ERROR((void)evoopt::optimizer(evoopt::genome(nullptr)), EVO_EINVAL);
  EXPECT_ERROR((void)evoopt::optimizer("no-such-preset"), EVO_ENOTFOUND);

  // Refusing a non-finite gradient leaves everything untouched.
  opt.set_option(EVO_OPT_REFUSE_NONFINITE, 1);
  const std::vector<float> before = w;
  dw[1] = std::nanf("");
  EXPECT_ERROR(opt.step(), EVO_ENONFINITE);
  EXPECT(w == before && opt.step_count() == 10);

  // rebind: plain SGD p -= 1e-2 g on the new memory.
  std::vector<float> p = {1.0f, 2.0f, 3.0f}, gp = {1.0f, -1.0f, 0.0f};
  std::vector<float> q = {1.0f, 1.0f, 1.0f}, gq = {2.0f, 2.0f, 2.0f};
  evoopt::optimizer sgd("plain-sgd");
  sgd.add_params(p, gp);
  sgd.rebind(0, q, gq);
  sgd.step();
  EXPECT(q[0] == 1.0f - 0.02f && p[0] == 1.0f);

  // Moves: the moved-to optimizer goes on with the same state.
  evoopt::optimizer moved(std::move(sgd));
  EXPECT(sgd.empty() && sgd.get() == nullptr);
  EXPECT_ERROR(sgd.step(), EVO_EINVAL);
  EXPECT_ERROR(sgd.param_count(), EVO_EINVAL);
  EXPECT_ERROR(sgd.save_mem(), EVO_EINVAL);
  moved.step();
  EXPECT(moved.step_count() == 2 && q[0] == (1.0f - 0.02f) - 0.02f);
  sgd = std::move(moved);
  EXPECT(moved.empty() && sgd.step_count() == 2);
  evoopt::optimizer raw(sgd.release());
  EXPECT(sgd.empty() && raw.param_count() == 1);
}

// Gradients given at step time, per-tensor steps, the gradient scale,
// freezing and clones (optimizer.h), against plain-sgd's p -= 1e-2 g and
// sgd's m = 0.9 m + 0.1 g, p -= 1e-2 m after decay p·(1 - 1e-2·1e-4),
// worked out by hand in the comments.
void test_optimizer_framework() {
  std::vector<float> a = {1.0f, 2.0f}, b = {1.0f, 1.0f, 1.0f};
  evoopt::optimizer opt("plain-sgd");
  EXPECT(opt.add_params(a) == 0);                  // no gradient array
  EXPECT(opt.add_params(b.data(), nullptr, 3) == 1);
  EXPECT_ERROR(opt.step(), EVO_ESTATE);            // nobody has one
  std::vector<float> empty;
  EXPECT_ERROR(opt.add_params(empty), EVO_EINVAL);

  std::vector<float> ga = {1.0f, -1.0f};
  opt.set_grad(0, ga);
  opt.step();                                      // b skipped
  EXPECT(a[0] == 1.0f - 0.01f && a[1] == 2.0f + 0.01f);
  EXPECT(b[0] == 1.0f && opt.step_count() == 1);
  EXPECT_ERROR(opt.step(), EVO_ESTATE);            // the pointer was used
  opt.set_grad(0, ga);
  opt.set_grad(0, nullptr);                        // taken back
  EXPECT_ERROR(opt.step(), EVO_ESTATE);
  EXPECT_ERROR(opt.set_grad(2, ga), EVO_ERANGE);
  EXPECT_ERROR(opt.set_grad(0, empty), EVO_EINVAL);

  // step() with one pointer per tensor; a wrong count changes nothing.
  const float gb[3] = {2.0f, 2.0f, 2.0f};
  std::vector<const float *> given = {nullptr, gb};
  opt.step(given);
  EXPECT(b[0] == 1.0f - 0.02f && a[0] == 1.0f - 0.01f);
  EXPECT_ERROR(opt.step(std::vector<const float *>{gb}), EVO_EINVAL);
  EXPECT(opt.step_count() == 2);

  // Gradient scale: p -= 1e-2·(0.5 g).
  EXPECT(opt.grad_scale() == 1.0);
  opt.set_grad_scale(0.5);
  EXPECT(opt.grad_scale() == 0.5);
  EXPECT_ERROR(opt.set_grad_scale(0.0), EVO_ERANGE);
  EXPECT_ERROR(opt.set_grad_scale(1e-39), EVO_ERANGE);
  EXPECT(opt.grad_scale() == 0.5);
  const float before_a0 = a[0];
  opt.step_tensor(0, std::vector<float>{4.0f, 4.0f});
  EXPECT(a[0] == before_a0 - 0.01f * 2.0f);
  EXPECT(opt.step_count() == 2);                   // round open: b not yet
  opt.step_tensor(1, gb);
  EXPECT(opt.step_count() == 3);                   // both stepped: closed
  EXPECT_ERROR(opt.step_tensor(0), EVO_ESTATE);    // no gradient
  EXPECT_ERROR(opt.step_tensor(5, gb), EVO_ERANGE);

  // Frozen: left exactly as it is; all frozen is refused.
  EXPECT(!opt.frozen(1));
  opt.set_frozen(1, true);
  EXPECT(opt.frozen(1) && opt.param_option(1, EVO_PARAM_FROZEN) == 1.0);
  const std::vector<float> b_frozen = b;
  opt.step(std::vector<const float *>{ga.data(), gb});
  EXPECT(b == b_frozen);
  opt.set_frozen(0, true);
  EXPECT_ERROR(opt.step(std::vector<const float *>{ga.data(), gb}),
               EVO_ESTATE);
  EXPECT_ERROR(opt.set_frozen(2, true), EVO_ERANGE);

  // Clone: same state, rebound to copies, then both steps bit-identical.
  evoopt::optimizer sgd("sgd");
  std::vector<float> p = {1.0f, -1.0f}, g = {1.0f, 1.0f};
  sgd.add_params(p, g);
  sgd.step();
  sgd.set_grad_scale(2.0);
  evoopt::optimizer twin = sgd.clone();
  EXPECT(twin.step_count() == 1 && twin.grad_scale() == 2.0);
  EXPECT(twin.save_mem() == sgd.save_mem());
  std::vector<float> p2 = p, g2 = g;
  twin.rebind(0, p2, g2);
  sgd.step();
  EXPECT(p2 != p);                                 // the copy untouched
  twin.step();
  EXPECT(p2 == p);                                 // bit-identical
  // By hand, p[0]: step 1 m = 0.1, p = 1·(1 - 1e-6) - 1e-3; step 2 with
  // g·2: m = 0.09 + 0.2 = 0.29, p = p·(1 - 1e-6) - 2.9e-3.
  const double p1 = 1.0 * (1 - 1e-6) - 1e-3;
  EXPECT(std::fabs(p[0] - (p1 * (1 - 1e-6) - 2.9e-3)) < 1e-6);
  evoopt::optimizer gone(static_cast<evo_optimizer *>(nullptr));
  EXPECT_ERROR(gone.clone(), EVO_EINVAL);
}

void test_task_evaluator() {
  EXPECT_ERROR((void)evoopt::task("no-such-task"), EVO_ENOTFOUND);
  evoopt::task t("digits"); // bundled in the library: needs no files
  EXPECT(t.name() == "digits");
  EXPECT(!t.describe().empty());
  t.set_option(EVO_TASK_TRAIN_SUBSET, 256);
  t.set_option(EVO_TASK_BATCH_SIZE, 32);
  t.set_option(EVO_TASK_RECORD_CURVE, 1);
  EXPECT(t.option(EVO_TASK_BATCH_SIZE) == 32);
  EXPECT_ERROR(t.set_option(EVO_TASK_BATCH_SIZE, 0), EVO_ERANGE);

  evoopt::genome g = evoopt::genome::preset("adam");
  evoopt::train_result r = t.train(g, 8, 1);
  EXPECT(r.curve().size() == 8);
  EXPECT(!r.diverged());
  EXPECT(r.accuracy() >= 0 && r.accuracy() <= 1);
  // The fitness of doc/algorithm.md §3.3: acc + 0.05·max(0, 1 - L), L the mean
  // of the last min(50, n) losses: here all eight.
  const std::vector<float> curve = r.curve();
  double mean = 0;
  for (std::size_t i = 0; i < curve.size(); i++)
    mean += static_cast<double>(curve[i]);
  mean /= static_cast<double>(curve.size());
  EXPECT(std::fabs(r.get(EVO_RESULT_MEAN_LOSS) - mean) < 1e-6);
  EXPECT(std::fabs(r.fitness() -
                   (r.accuracy() + 0.05 * std::fmax(0.0, 1.0 - mean))) < 1e-9);
  evoopt::train_result again;
  t.train(g, 8, 1, again);
  EXPECT(again.fitness() == r.fitness()); // same seed, same bits
  EXPECT_ERROR(t.train(g, 0, 1), EVO_ERANGE);
  EXPECT_ERROR(t.train(evoopt::genome(nullptr), 8, 1), EVO_EINVAL);

  // An evaluator over one task and two seeds: the mean of the two runs.
  evoopt::evaluator ev;
  EXPECT_ERROR(ev.run(g, 0), EVO_ESTATE); // no tasks yet
  ev.add_task(t);
  ev.set_steps(8);
  ev.set_seeds(2);
  EXPECT_ERROR(ev.set_seeds(0), EVO_ERANGE);
  evoopt::report rep = ev.run(g, 1);
  const double expected =
      (t.train(g, 8, 1).fitness() + t.train(g, 8, 2).fitness()) / 2;
  if (std::fabs(rep.fitness() - expected) >= 1e-12)
    std::printf("evaluator %.17g, mean of the runs %.17g\n", rep.fitness(),
                expected);
  EXPECT(std::fabs(rep.fitness() - expected) < 1e-12);
  EXPECT(rep.task_count() == 1 && rep.task_name(0) == "digits");
  EXPECT(std::fabs(rep.task_fitness(0) - expected) < 1e-12);
  EXPECT_ERROR(rep.task_name(1), EVO_ERANGE);

  // A report filled by hand.
  evoopt::report own;
  EXPECT(own.fitness() == -1.0 && own.task_count() == 0);
  own.set_fitness(0.5);
  own.add_task("mine", 0.25);
  EXPECT(own.fitness() == 0.5 && own.task_fitness(0) == 0.25);
  EXPECT_ERROR(own.set_fitness(std::nan("")), EVO_ERANGE);
  EXPECT_ERROR(own.add_task(std::string(64, 'x'), 0.0), EVO_ERANGE);
  own.clear();
  EXPECT(own.task_count() == 0);

  // Moves of each.
  evoopt::task t2(std::move(t));
  EXPECT(t.empty() && t2.name() == "digits");
  std::string msg = EXPECT_ERROR(t.name(), EVO_EINVAL);
  EXPECT(contains(msg, "evoopt::task::name"));
  EXPECT_ERROR(t.describe(), EVO_EINVAL);
  EXPECT_ERROR(t.train(g, 8, 1), EVO_EINVAL);
  evoopt::train_result r2(std::move(r));
  EXPECT(r.empty() && r2.curve().size() == 8);
  EXPECT_ERROR(r.fitness(), EVO_EINVAL);
  EXPECT_ERROR(r.curve(), EVO_EINVAL);
  r = std::move(again);
  EXPECT(again.empty() && !r.empty());
  evoopt::report rep2(std::move(rep));
  EXPECT(rep.empty() && rep2.task_count() == 1);
  EXPECT_ERROR(rep.fitness(), EVO_EINVAL);
  EXPECT_ERROR(rep.task_count(), EVO_EINVAL);
  rep = std::move(own);
  EXPECT(own.empty() && rep.fitness() == -1.0);
  evoopt::evaluator ev2(std::move(ev));
  EXPECT(ev.empty() && !ev2.empty());
  EXPECT_ERROR(ev.set_steps(3), EVO_EINVAL);
  ev = std::move(ev2);
  EXPECT(ev2.empty());
  // ev still borrows t2, declared earlier, so destroyed later.
}

// A pure fitness: best at lr 1e-3.
double lr_fitness(const evoopt::genome &g) {
  const double x = g.get(EVO_GENE_LR_LOG10) + 3.0;
  return -x * x;
}

void test_population() {
  const std::string dir = temp_dir();
  const std::string ckpt = dir + "/run.evo";
  evoopt::population pop;
  EXPECT(pop.get(EVO_POP_SIZE) == 50); // the paper's settings
  EXPECT_ERROR(pop.set(EVO_POP_SIZE, 1), EVO_ERANGE);
  pop.set(EVO_POP_SIZE, 6);
  pop.set(EVO_POP_GENERATIONS, 3);
  pop.set(EVO_POP_ELITES, 1);
  pop.set(EVO_POP_TOURNAMENT, 2);
  pop.set(EVO_POP_WORKERS, 2);
  EXPECT_ERROR(pop.step(), EVO_ESTATE); // no fitness yet
  EXPECT_ERROR(pop.set_fitness(evoopt::population::fitness_function()),
               EVO_EINVAL);
  pop.set_fitness(
      [](const evoopt::genome &g, std::uint64_t) { return lr_fitness(g); });
  pop.set_checkpoint(ckpt, "tag");
  pop.step();
  EXPECT(pop.generation() == 1 && !pop.finished());
  pop.run();
  EXPECT(pop.finished() && pop.history_count() == 3);
  EXPECT(pop.size() == 6);
  double best_ever = -1e300;
  for (std::size_t gen = 0; gen < 3; gen++) {
    const double best = pop.history(gen, EVO_HIST_BEST);
    EXPECT(best == lr_fitness(pop.history_best(gen)));
    best_ever = std::fmax(best_ever, best);
  }
  for (std::size_t i = 0; i < pop.size(); i++)
    EXPECT(pop.fitness(i) == lr_fitness(pop.individual(i)));
  EXPECT(pop.hof_count() >= 1);
  EXPECT(pop.hof_fitness(0) == best_ever);
  EXPECT(lr_fitness(pop.hof_genome(0)) == best_ever);
  EXPECT_ERROR(pop.individual(6), EVO_ERANGE);
  EXPECT_ERROR(pop.step(), EVO_ESTATE); // finished

  // Resume: the checkpoint holds the same history.
  evoopt::population back = evoopt::population::resume(ckpt, "tag");
  EXPECT(back.finished() && back.history_count() == 3);
  EXPECT(back.history(2, EVO_HIST_MEAN) == pop.history(2, EVO_HIST_MEAN));
  EXPECT(evoopt::population::resume(ckpt).history_count() == 3);
  EXPECT_ERROR(evoopt::population::resume(ckpt, "other"), EVO_EMISMATCH);
  EXPECT_ERROR(evoopt::population::resume(dir + "/missing.evo"), EVO_EIO);

  // Failing fitness functions: exceptions never reach the library; the
  // individual gets -1 and the status, and the run goes on.
  evoopt::population fail;
  fail.set(EVO_POP_SIZE, 4);
  fail.set(EVO_POP_GENERATIONS, 1);
  fail.set(EVO_POP_ELITES, 0);
  std::vector<evoopt::genome> initial;
  initial.push_back(evoopt::genome::preset("sgd"));
  initial.push_back(evoopt::genome::preset("adam"));
  initial.push_back(evoopt::genome::preset("rmsprop"));
  fail.set_initial(initial);
  const evoopt::genome sgd = evoopt::genome::preset("sgd");
  const evoopt::genome adam = evoopt::genome::preset("adam");
  const evoopt::genome rms = evoopt::genome::preset("rmsprop");
  fail.set_fitness([&](const evoopt::genome &g, std::uint64_t) -> double {
    if (g == sgd)
      throw std::runtime_error("not an evoopt::error");
    if (g == adam)
      throw evoopt::error(EVO_EDIVERGED, "diverged");
    if (g == rms)
      return std::nan("");
    return 0.5;
  });
  fail.run();
  EXPECT(fail.history(0, EVO_HIST_FAILED) == 3);
  const int want[3] = {EVO_ECALLBACK, EVO_EDIVERGED, EVO_ERANGE};
  for (std::size_t i = 0; i < 3; i++) {
    int status = 0;
    EXPECT(evo_population_individual_error(fail.get(), i, &status, nullptr) ==
           EVO_OK);
    EXPECT(status == want[i]);
    EXPECT(fail.fitness(i) == -1.0);
  }
  EXPECT(fail.fitness(3) == 0.5);

  // An evaluator as the fitness.
  evoopt::task t("digits");
  t.set_option(EVO_TASK_TRAIN_SUBSET, 128);
  t.set_option(EVO_TASK_TEST_LIMIT, 50);
  evoopt::evaluator ev;
  ev.add_task(t);
  ev.set_steps(4);
  ev.set_seeds(1);
  evoopt::population with_ev;
  with_ev.set(EVO_POP_SIZE, 2);
  with_ev.set(EVO_POP_GENERATIONS, 1);
  with_ev.set(EVO_POP_ELITES, 0);
  with_ev.set(EVO_POP_TOURNAMENT, 1);
  std::vector<evoopt::genome> one;
  one.push_back(evoopt::genome::preset("adam"));
  with_ev.set_initial(one);
  with_ev.set_fitness(ev);
  with_ev.run();
  EXPECT(with_ev.fitness(0) == ev.run(adam, 0).fitness());

  // Moves keep the fitness function with the population.
  evoopt::population moved(std::move(pop));
  EXPECT(pop.empty() && moved.history_count() == 3);
  std::string msg = EXPECT_ERROR(pop.generation(), EVO_EINVAL);
  EXPECT(contains(msg, "evoopt::population::generation"));
  EXPECT_ERROR(pop.step(), EVO_EINVAL);
  EXPECT_ERROR(pop.size(), EVO_EINVAL);
  evoopt::population again;
  again.set(EVO_POP_SIZE, 3);
  again.set(EVO_POP_GENERATIONS, 1);
  again.set(EVO_POP_ELITES, 0);
  again.set(EVO_POP_TOURNAMENT, 1);
  again.set_initial(std::vector<evoopt::genome>()); // all random
  again.set_fitness(
      [](const evoopt::genome &g, std::uint64_t) { return lr_fitness(g); });
  evoopt::population carrier(std::move(again));
  carrier.run(); // the function moved along
  EXPECT(carrier.finished());
  for (std::size_t i = 0; i < carrier.size(); i++)
    EXPECT(carrier.fitness(i) == lr_fitness(carrier.individual(i)));
  carrier = std::move(fail); // over a live one with its own function
  EXPECT(fail.empty() && carrier.fitness(3) == 0.5);
  std::remove(ckpt.c_str());
  rmdir(dir.c_str());
}

// The typed option calls (issue 10 item 4): the same members on the
// optimizer, the task and the population, agreeing with the old ones.
void test_typed_options() {
  float p[2] = {1, 1}, g[2] = {0, 0};
  evoopt::optimizer opt(evoopt::genome::preset("adamw"));
  opt.add_params(p, g, 2);
  opt.set_option_i64(EVO_OPT_THREADS, 2);
  EXPECT(opt.option(EVO_OPT_THREADS) == 2.0);
  EXPECT(opt.option_i64(EVO_OPT_THREADS) == 2);
  opt.set_option_f64(EVO_OPT_BASE_LR, 0.125);
  EXPECT(opt.option(EVO_OPT_BASE_LR) == 0.125);
  EXPECT_ERROR(opt.set_option_f64(EVO_OPT_THREADS, 2.0), EVO_EINVAL);
  EXPECT_ERROR(opt.set_option_i64(EVO_OPT_THREADS, 257), EVO_ERANGE);
  EXPECT_ERROR((void)opt.option_i64(EVO_OPT_BASE_LR), EVO_EINVAL);
  opt.set_param_option_i64(0, EVO_PARAM_FROZEN, 1);
  EXPECT(opt.frozen(0) && opt.param_option_i64(0, EVO_PARAM_FROZEN) == 1);
  EXPECT_ERROR(opt.set_param_option_i64(1, EVO_PARAM_FROZEN, 1), EVO_ERANGE);
  opt.set_param_option_f64(0, EVO_PARAM_LR_SCALE, 0.5);
  EXPECT(opt.param_option(0, EVO_PARAM_LR_SCALE) == 0.5);
  evo_option_bounds b = evoopt::optimizer::option_bounds(EVO_OPT_THREADS);
  EXPECT(b.is_real == 0 && b.min_i64 == 1 && b.max_i64 == 256);
  b = evoopt::optimizer::param_option_bounds(EVO_PARAM_LR_SCALE);
  EXPECT(b.is_real == 1 && b.min_f64 == 0.0);

  evoopt::task t("digits");
  t.set_option_i64(EVO_TASK_BATCH_SIZE, 4096);
  EXPECT(t.option(EVO_TASK_BATCH_SIZE) == 4096);
  EXPECT(t.option_i64(EVO_TASK_BATCH_SIZE) == 4096);
  EXPECT_ERROR(t.set_option_f64(EVO_TASK_BATCH_SIZE, 32.0), EVO_EINVAL);
  b = evoopt::task::option_bounds(EVO_TASK_BATCH_SIZE);
  EXPECT(b.is_real == 0 && b.min_i64 == 1 && b.max_i64 == 4096);

  evoopt::population pop;
  pop.set_option_i64(EVO_POP_SIZE, 7);
  EXPECT(pop.get(EVO_POP_SIZE) == 7 && pop.option_i64(EVO_POP_SIZE) == 7);
  EXPECT_ERROR(pop.set_option_i64(EVO_POP_SIZE, 1), EVO_ERANGE);
  EXPECT_ERROR((void)pop.option_f64(EVO_POP_SIZE), EVO_EINVAL);
  b = evoopt::population::option_bounds(EVO_POP_PROMOTE);
  EXPECT(b.min_i64 == 2 && b.max_i64 == 1000);
  EXPECT_ERROR((void)evoopt::population::option_bounds(
                   static_cast<evo_pop_setting>(15)),
               EVO_EINVAL);
}

} // namespace

int main() {
  std::printf("C++ standard %ld\n", static_cast<long>(__cplusplus));
  try {
    test_version_and_errors();
    test_genome();
    test_optimizer();
    test_optimizer_framework();
    test_task_evaluator();
    test_population();
    test_typed_options();
  } catch (const evoopt::error &e) {
    std::printf("FAIL: unexpected evoopt::error %d: %s\n", e.status(),
                e.what());
    failures++;
  }
  std::printf("%d checks: %d passed, %d failed\n", checks, checks - failures,
              failures);
  return failures == 0 ? 0 : 1;
}

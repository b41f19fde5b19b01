/* mnist.cpp: tiny-dnn's LeNet-5 MNIST example (tiny-dnn's examples/mnist)
 * trained with libevoopt's optimizer through tiny-dnn's own train().
 *
 * The network is LeNet-5 as tiny-dnn builds it: 32×32 inputs (28×28 images
 * padded by 2, scaled to [-1, 1]); C1 5×5 convolution to 6 maps, S2 2×2
 * average pooling (trainable, as in LeCun et al. 1998), C3 5×5 convolution
 * to 16 maps through the paper's partial connection table, S4 pooling, C5
 * 5×5 convolution to 120, F6 fully connected to 10; tanh everywhere, mean
 * squared error, batches of 16.
 *
 * Usage:
 *   mnist [--data DIR] [--cache DIR] [--optimizer NAME] [--epochs N]
 *         [--seed N]                 train, print test accuracy
 *   mnist --compare [...]            paper-evolved and tiny-dnn's own Adam
 *                                    from the same start, same batches
 *   mnist --check [...]              the quick test (meson test)
 * NAME is a libevoopt preset, or "tiny-dnn-adam" for tiny_dnn::adam.
 * --check exits 1 unless
 *   1. torch-adam's first two updates of C1's weights, inside nn.train(),
 *      equal Adam computed here by hand in double from the same gradients
 *      (within 1e-7);
 *   2. paper-evolved trained on 6,400 images (400 batches) brings the MSE
 *      over 1,000 other training images below half of the untrained
 *      net's;
 *   3. the adapter counted one global step per batch (400).
 * It exits 77 when the MNIST files cannot be found.
 *
 * Data: as examples/libtorch/mnist.cpp (--data, $EVOOPT_DATA_PATH/mnist;
 * .gz unpacked once into --cache DIR).
 *
 * Debian's tiny-dnn package includes headers it does not ship or depend
 * on: apt-get install libcereal-dev libstb-dev libgemmlowp-dev, and put
 * debian-shim/ (beside this file) on the include path for stb. Build by
 * hand:
 *   c++ -std=c++17 -O2 -DCNN_SINGLE_THREAD -isystem debian-shim mnist.cpp \
 *       -I.. $(pkg-config --cflags --libs evoopt) -lz -lpthread
 */
#include "../mnist_idx.hpp"
#include "evoopt_tiny_dnn_optimizer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

using tiny_dnn::label_t;
using tiny_dnn::vec_t;
using Net = tiny_dnn::network<tiny_dnn::sequential>;

/* ---- the network ------------------------------------------------------- */

void build_lenet5(Net &nn) {
  using namespace tiny_dnn;
  using tiny_dnn::activation::tan_h;
  /* LeCun et al. (1998), table 1: which of S2's 6 maps feed each of C3's
   * 16 (rows: S2 maps, columns: C3 maps). */
  static const bool O = true, X = false;
  static const bool table[6 * 16] = {
      O, X, X, X, O, O, O, X, X, O, O, O, O, X, O, O,
      O, O, X, X, X, O, O, O, X, X, O, O, O, O, X, O,
      O, O, O, X, X, X, O, O, O, X, X, O, X, O, O, O,
      X, O, O, O, X, X, O, O, O, O, X, X, O, X, O, O,
      X, X, O, O, O, X, X, O, O, O, O, X, O, O, X, O,
      X, X, X, O, O, O, X, X, O, O, O, O, X, O, O, O};
  nn << convolutional_layer<tan_h>(32, 32, 5, 1, 6)   // C1 → 6×28×28
     << average_pooling_layer<tan_h>(28, 28, 6, 2)    // S2 → 6×14×14
     << convolutional_layer<tan_h>(14, 14, 5, 6, 16,  // C3 → 16×10×10
                                   connection_table(table, 6, 16))
     << average_pooling_layer<tan_h>(10, 10, 16, 2)   // S4 → 16×5×5
     << convolutional_layer<tan_h>(5, 5, 5, 16, 120)  // C5 → 120
     << fully_connected_layer<tan_h>(120, 10);        // F6 → 10
}

/* ---- options ----------------------------------------------------------- */

struct Options {
  std::string data, cache, optimizer = "paper-evolved";
  int epochs = 1;
  unsigned seed = 1;
  bool compare = false, check = false;
};

int usage(const std::string &why) {
  std::fprintf(stderr,
               "mnist: %s\nusage: mnist [--check | --compare] [--data DIR] "
               "[--cache DIR] [--optimizer NAME] [--epochs N] [--seed N]\n",
               why.c_str());
  return 2;
}

bool parse_count(const char *s, long lo, long hi, long *out) {
  char *end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

int parse(int argc, char **argv, Options *o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    long v = 0;
    if (a == "--check" || a == "--compare") {
      (a == "--check" ? o->check : o->compare) = true;
      continue;
    }
    if (i + 1 >= argc)
      return usage("unknown option or missing value: " + a);
    const char *val = argv[++i];
    if (a == "--data")
      o->data = val;
    else if (a == "--cache")
      o->cache = val;
    else if (a == "--optimizer")
      o->optimizer = val;
    else if (a == "--epochs" && parse_count(val, 1, 1000, &v))
      o->epochs = static_cast<int>(v);
    else if (a == "--seed" && parse_count(val, 0, 1L << 30, &v))
      o->seed = static_cast<unsigned>(v);
    else
      return usage("bad option or value: " + a + " " + val);
  }
  if (o->check && o->compare)
    return usage("--check and --compare exclude each other");
  return 0;
}

/* ---- data -------------------------------------------------------------- */

struct Mnist {
  std::vector<vec_t> train_x, test_x;
  std::vector<label_t> train_y, test_y;
};

Mnist load(const std::string &dir) {
  Mnist m;
  tiny_dnn::parse_mnist_images(dir + "/train-images-idx3-ubyte", &m.train_x,
                               -1.0, 1.0, 2, 2);
  tiny_dnn::parse_mnist_labels(dir + "/train-labels-idx1-ubyte", &m.train_y);
  tiny_dnn::parse_mnist_images(dir + "/t10k-images-idx3-ubyte", &m.test_x,
                               -1.0, 1.0, 2, 2);
  tiny_dnn::parse_mnist_labels(dir + "/t10k-labels-idx1-ubyte", &m.test_y);
  return m;
}

const std::size_t kBatch = 16;

/* Mean squared error per image over x, y, with tiny-dnn's targets (the
 * output range's ends). */
double mse(Net &nn, const std::vector<vec_t> &x,
           const std::vector<label_t> &y) {
  auto range = nn[nn.depth() - 1]->out_value_range();
  std::vector<vec_t> t;
  for (label_t label : y) {
    t.emplace_back(10, range.first);
    t.back()[label] = range.second;
  }
  return double(nn.get_loss<tiny_dnn::mse>(x, t)) / double(x.size());
}

double accuracy(Net &nn, const std::vector<vec_t> &x,
                const std::vector<label_t> &y) {
  tiny_dnn::result r = nn.test(x, y);
  return double(r.num_success) / double(r.num_total);
}

/* ---- check 1: the adapter's update against Adam by hand ----------------- */

/* Records the first two updates of the first weight vector it sees. */
class recording_optimizer : public evoopt_tiny_dnn::evo_optimizer {
public:
  recording_optimizer() : evo_optimizer("torch-adam") {}
  void update(const vec_t &dW, vec_t &W, bool parallelize) override {
    bool record = (first_ == nullptr || first_ == &W) && seen_.size() < 2;
    if (record) {
      first_ = &W;
      seen_.push_back({std::vector<double>(W.begin(), W.end()),
                       std::vector<double>(dW.begin(), dW.end()), {}});
    }
    evo_optimizer::update(dW, W, parallelize);
    if (record)
      seen_.back().w_after.assign(W.begin(), W.end());
  }
  struct call {
    std::vector<double> w_before, grad, w_after;
  };
  std::vector<call> seen_;

private:
  const vec_t *first_ = nullptr;
};

/* torch.optim.Adam's defaults, t = 1 and 2, in double (doc/algorithm.md
 * §2 with β1 0.9, β2 0.999, ε 1e-8, lr 1e-3, bias correction, no decay). */
double adam_by_hand_error(const recording_optimizer &opt) {
  const auto &c = opt.seen_;
  if (c.size() != 2 || c[0].w_after.size() != c[0].w_before.size())
    return INFINITY;
  double worst = 0;
  std::vector<double> m(c[0].grad.size(), 0), v(m.size(), 0);
  for (int t = 1; t <= 2; t++) {
    const auto &call = c[std::size_t(t - 1)];
    for (std::size_t i = 0; i < m.size(); i++) {
      double g = call.grad[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      double mh = m[i] / (1 - std::pow(0.9, t));
      double vh = v[i] / (1 - std::pow(0.999, t));
      double want = call.w_before[i] - 1e-3 * mh / (std::sqrt(vh) + 1e-8);
      worst = std::max(worst, std::fabs(want - call.w_after[i]));
    }
  }
  return worst;
}

/* ---- runs -------------------------------------------------------------- */

int run_check(const Mnist &m) {
  int failures = 0;
  {
    tiny_dnn::set_random_seed(1);
    Net nn;
    build_lenet5(nn);
    recording_optimizer opt;
    std::vector<vec_t> x(m.train_x.begin(), m.train_x.begin() + 2 * kBatch);
    std::vector<label_t> y(m.train_y.begin(), m.train_y.begin() + 2 * kBatch);
    nn.train<tiny_dnn::mse>(opt, x, y, kBatch, 1);
    double err = adam_by_hand_error(opt);
    bool ok = err < 1e-7;
    std::printf("torch-adam in nn.train: C1's weights after 2 updates differ "
                "from Adam by hand by %.3g (bound 1e-7)%s\n",
                err, ok ? "" : " -- FAILED");
    failures += ok ? 0 : 1;
  }
  const std::size_t n_train = 400 * kBatch;
  std::vector<vec_t> x(m.train_x.begin(), m.train_x.begin() + n_train);
  std::vector<label_t> y(m.train_y.begin(), m.train_y.begin() + n_train);
  std::vector<vec_t> hx(m.train_x.end() - 1000, m.train_x.end());
  std::vector<label_t> hy(m.train_y.end() - 1000, m.train_y.end());
  tiny_dnn::set_random_seed(2);
  Net nn;
  build_lenet5(nn);
  evoopt_tiny_dnn::evo_optimizer opt("paper-evolved");
  opt.set_total_steps(n_train / kBatch);
  double before = mse(nn, hx, hy);
  nn.train<tiny_dnn::mse>(opt, x, y, kBatch, 1);
  double after = mse(nn, hx, hy);
  bool ok = after < before / 2;
  std::printf("paper-evolved, 400 batches of 16: MSE on 1,000 held-out "
              "training images %.4f before, %.4f after (bound %.4f); test "
              "accuracy on 1,000 images %.4f%s\n",
              before, after, before / 2,
              accuracy(nn,
                       std::vector<vec_t>(m.test_x.begin(),
                                          m.test_x.begin() + 1000),
                       std::vector<label_t>(m.test_y.begin(),
                                            m.test_y.begin() + 1000)),
              ok ? "" : " -- FAILED");
  failures += ok ? 0 : 1;
  ok = opt.step_count() == n_train / kBatch && opt.tensor_count() == 12;
  std::printf("global steps %llu for %zu batches, %zu weight vectors "
              "registered (LeNet-5: 12)%s\n",
              static_cast<unsigned long long>(opt.step_count()),
              n_train / kBatch, opt.tensor_count(), ok ? "" : " -- FAILED");
  failures += ok ? 0 : 1;
  return failures == 0 ? 0 : 1;
}

int run_training(const Options &o, const Mnist &m) {
  std::vector<std::string> names;
  if (o.compare)
    names = {"paper-evolved", "tiny-dnn-adam"};
  else
    names = {o.optimizer};
  const std::size_t per_epoch = (m.train_x.size() + kBatch - 1) / kBatch;
  for (const std::string &name : names) {
    tiny_dnn::set_random_seed(o.seed); /* same start for every optimizer */
    Net nn;
    build_lenet5(nn);
    std::unique_ptr<tiny_dnn::optimizer> opt;
    if (name == "tiny-dnn-adam") {
      opt.reset(new tiny_dnn::adam());
    } else {
      auto *evo = new evoopt_tiny_dnn::evo_optimizer(name);
      evo->set_total_steps(per_epoch * std::size_t(o.epochs));
      opt.reset(evo);
    }
    auto t0 = std::chrono::steady_clock::now();
    int epoch = 0;
    nn.train<tiny_dnn::mse>(
        *opt, m.train_x, m.train_y, kBatch, o.epochs, [] {},
        [&] {
          double s = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
          std::printf("%-14s epoch %d: test accuracy %.4f (%.0f s)\n",
                      name.c_str(), ++epoch,
                      accuracy(nn, m.test_x, m.test_y), s);
          std::fflush(stdout);
          nn.set_netphase(tiny_dnn::net_phase::train);
        });
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int rc = parse(argc, argv, &o))
    return rc;
  if (o.optimizer != "tiny-dnn-adam") {
    evo_genome *g = nullptr;
    if (evo_genome_preset(&g, o.optimizer.c_str()) != EVO_OK)
      return usage("unknown optimizer: " + o.optimizer +
                   " (a libevoopt preset or tiny-dnn-adam)");
    evo_genome_free(g);
  }
  std::string dir;
  if (int rc = mnist_idx::locate_or_explain("mnist", o.data, o.cache, o.check,
                                            &dir))
    return rc;
  try {
    Mnist m = load(dir);
    return o.check ? run_check(m) : run_training(o, m);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "mnist: %s\n", e.what());
    return 1;
  }
}

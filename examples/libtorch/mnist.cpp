/* mnist.cpp: PyTorch's C++ MNIST example (pytorch/examples, cpp/mnist) with
 * libevoopt's optimizer in the place of torch::optim.
 *
 * The network is the example's small CNN: two 5×5 convolutions (1 → 10 →
 * 20 channels) each followed by 2×2 max pooling and ReLU, dropout on the
 * second one's channels, then 320 → 50 → 10 fully connected layers with
 * dropout between them, log-softmax and the negative log-likelihood loss.
 * torch::data::datasets::MNIST reads the data, normalised with MNIST's mean
 * and standard deviation, in random batches of 64.
 *
 * Usage:
 *   mnist [--data DIR] [--cache DIR] [--optimizer NAME] [--epochs N]
 *         [--threads N] [--seed N]          train, print test accuracy
 *   mnist --compare [...]                   paper-evolved and
 *                                           torch::optim::Adam from the
 *                                           same start, same batches;
 *                                           then the identical-gradient
 *                                           check below over 300 steps
 *   mnist --check [...]                     the quick test (meson test)
 * NAME is a preset of libevoopt (evoopt help lists them) or "torch-native"
 * for torch::optim::Adam with its defaults. --check exits 1 unless
 *   1. torch-adam, fed the gradients torch::optim::Adam gets, keeps every
 *      parameter within 1e-6 of Adam's after 200 steps;
 *   2. paper-evolved trained for 300 steps on random batches of 64 (a
 *      fifth of an epoch) brings the mean loss of its last 50 steps below
 *      a third of the first step's loss (ln 10 ≈ 2.30 for an untrained
 *      net);
 *   3. a parameter without a gradient is left exactly as it is,
 *      zero_grad(true) then backward() trains on, and an optimizer
 *      restored with save()/load() steps bit for bit as the original;
 *   4. torch::optim::StepLR changes the rate the adapter uses.
 * It exits 77 when the MNIST files cannot be found.
 *
 * Data: --data DIR, else $EVOOPT_DATA_PATH/mnist. The four IDX files, plain
 * or .gz; .gz files are unpacked once into --cache DIR (default
 * $XDG_CACHE_HOME/evoopt/mnist-idx, else ~/.cache/evoopt/mnist-idx),
 * because libtorch's reader wants them plain.
 *
 * Build by hand (Debian's libtorch-dev):
 *   c++ -std=c++17 -O2 mnist.cpp -I.. -isystem /usr/include/torch/csrc/api/include \
 *       $(pkg-config --cflags --libs evoopt) -ltorch -ltorch_cpu -lc10 -lz
 */
#include "../mnist_idx.hpp"
#include "evoopt_torch_optimizer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

/* ---- the network ------------------------------------------------------- */

struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv1(torch::nn::Conv2dOptions(1, 10, 5)),
        conv2(torch::nn::Conv2dOptions(10, 20, 5)), fc1(320, 50),
        fc2(50, 10) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv2_drop", conv2_drop);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  /* [B, 1, 28, 28] → [B, 10] log-probabilities. */
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(torch::max_pool2d(conv1->forward(x), 2));     // 10×12×12
    x = conv2_drop->forward(conv2->forward(x));
    x = torch::relu(torch::max_pool2d(x, 2));                      // 20×4×4
    x = torch::relu(fc1->forward(x.view({-1, 320})));
    x = torch::dropout(x, 0.5, is_training());
    return torch::log_softmax(fc2->forward(x), 1);
  }

  torch::nn::Conv2d conv1, conv2;
  torch::nn::Dropout2d conv2_drop;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Net);

/* A fresh network whose parameters are copies of src's. */
Net copy_of(Net &src) {
  Net dst;
  torch::NoGradGuard no_grad;
  auto a = src->parameters(), b = dst->parameters();
  for (std::size_t i = 0; i < a.size(); i++)
    b[i].copy_(a[i]);
  return dst;
}

/* ---- options ----------------------------------------------------------- */

struct Options {
  std::string data, cache, optimizer = "paper-evolved";
  int epochs = 1, threads = 1;
  unsigned long seed = 1;
  bool compare = false, check = false;
};

int usage(const char *why) {
  std::fprintf(stderr,
               "mnist: %s\nusage: mnist [--check | --compare] [--data DIR] "
               "[--cache DIR] [--optimizer NAME] [--epochs N] [--threads N] "
               "[--seed N]\n",
               why);
  return 2;
}

/* Parses a whole decimal number in [lo, hi]. */
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
      return usage(("unknown option or missing value: " + a).c_str());
    const char *val = argv[++i];
    if (a == "--data")
      o->data = val;
    else if (a == "--cache")
      o->cache = val;
    else if (a == "--optimizer")
      o->optimizer = val;
    else if (a == "--epochs" && parse_count(val, 1, 1000, &v))
      o->epochs = static_cast<int>(v);
    else if (a == "--threads" && parse_count(val, 1, 256, &v))
      o->threads = static_cast<int>(v);
    else if (a == "--seed" && parse_count(val, 0, 1L << 30, &v))
      o->seed = static_cast<unsigned long>(v);
    else
      return usage(("bad option or value: " + a + " " + val).c_str());
  }
  if (o->check && o->compare)
    return usage("--check and --compare exclude each other");
  return 0;
}

/* ---- data -------------------------------------------------------------- */

using Dataset = decltype(torch::data::datasets::MNIST("")
                             .map(torch::data::transforms::Normalize<>(0, 1))
                             .map(torch::data::transforms::Stack<>()));

Dataset load(const std::string &dir, bool train) {
  return torch::data::datasets::MNIST(
             dir, train ? torch::data::datasets::MNIST::Mode::kTrain
                        : torch::data::datasets::MNIST::Mode::kTest)
      .map(torch::data::transforms::Normalize<>(0.1307, 0.3081))
      .map(torch::data::transforms::Stack<>());
}

const std::size_t kBatch = 64;

/* Test accuracy over the whole test set. */
double accuracy(Net &net, const Dataset &test) {
  torch::NoGradGuard no_grad;
  net->eval();
  auto loader = torch::data::make_data_loader<
      torch::data::samplers::SequentialSampler>(
      test, torch::data::DataLoaderOptions().batch_size(1000));
  std::int64_t right = 0, total = 0;
  for (auto &batch : *loader) {
    auto pred = net->forward(batch.data).argmax(1);
    right += pred.eq(batch.target).sum().item<std::int64_t>();
    total += batch.data.size(0);
  }
  net->train();
  return total > 0 ? double(right) / double(total) : 0.0;
}

/* Either optimizer behind one interface: torch-native is torch::optim::Adam
 * with its defaults, any other name a libevoopt preset. */
std::unique_ptr<torch::optim::Optimizer>
make_optimizer(Net &net, const std::string &name, std::uint64_t total_steps) {
  if (name == "torch-native")
    return std::make_unique<torch::optim::Adam>(net->parameters());
  auto opt = std::make_unique<evoopt_torch::EvoOptimizer>(net->parameters(),
                                                          name);
  opt->set_total_steps(total_steps);
  return opt;
}

/* Trains net for `epochs` epochs, or for max_steps steps when not 0.
 * Fills losses with every step's loss. Batches follow torch's generator,
 * seeded here: two runs with the same seed see the same batches. */
void train(Net &net, torch::optim::Optimizer &opt, const Dataset &data,
           int epochs, std::size_t max_steps, unsigned long seed,
           std::vector<double> *losses) {
  torch::manual_seed(seed);
  auto loader = torch::data::make_data_loader(
      data, torch::data::DataLoaderOptions().batch_size(kBatch));
  net->train();
  for (int e = 0; e < epochs; e++)
    for (auto &batch : *loader) {
      opt.zero_grad();
      auto loss = torch::nll_loss(net->forward(batch.data), batch.target);
      loss.backward();
      opt.step();
      losses->push_back(loss.item<double>());
      if (max_steps != 0 && losses->size() >= max_steps)
        return;
    }
}

/* Feeds torch::optim::Adam and libevoopt's torch-adam the same gradients
 * for `steps` steps; returns the largest |difference| of any parameter. */
double same_gradients(Net &a, const Dataset &data, std::size_t steps,
                      unsigned long seed) {
  Net b = copy_of(a);
  torch::optim::Adam adam(a->parameters());
  evoopt_torch::EvoOptimizer evo(b->parameters(), "torch-adam");
  auto pa = a->parameters(), pb = b->parameters();
  torch::manual_seed(seed);
  auto loader = torch::data::make_data_loader(
      data, torch::data::DataLoaderOptions().batch_size(kBatch));
  std::size_t done = 0;
  while (done < steps)
    for (auto &batch : *loader) {
      adam.zero_grad();
      torch::nll_loss(a->forward(batch.data), batch.target).backward();
      for (std::size_t i = 0; i < pa.size(); i++)
        pb[i].mutable_grad() = pa[i].grad().clone();
      adam.step();
      evo.step();
      if (++done == steps)
        break;
    }
  double worst = 0;
  for (std::size_t i = 0; i < pa.size(); i++)
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

/* Check 3: a parameter without a gradient is not touched, and training
 * goes on after zero_grad(true). Returns the number of failures. */
int check_adapter(const Dataset &data) {
  torch::manual_seed(7);
  Net net;
  torch::Tensor spare = torch::randn({5});
  torch::Tensor spare_before = spare.clone();
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(net->parameters());
  groups.emplace_back(std::vector<torch::Tensor>{spare});
  evoopt_torch::EvoOptimizer opt(std::move(groups),
                                 evoopt::genome::preset("torch-adam"));
  auto loader = torch::data::make_data_loader(
      data, torch::data::DataLoaderOptions().batch_size(kBatch));
  torch::Tensor w_before = net->fc2->weight.clone();
  int steps = 0, failures = 0;
  for (auto &batch : *loader) {
    opt.zero_grad(true);
    if (net->fc2->weight.grad().defined()) {
      std::printf("FAIL: zero_grad(true) left a gradient\n");
      failures++;
    }
    torch::nll_loss(net->forward(batch.data), batch.target).backward();
    opt.step();
    if (++steps == 3)
      break;
  }
  if (!torch::equal(spare, spare_before)) {
    std::printf("FAIL: the parameter without a gradient changed\n");
    failures++;
  }
  /* Adam's first steps move every weight by about lr = 1e-3. */
  double moved = (net->fc2->weight - w_before).abs().max().item<double>();
  if (!(moved > 1e-4 && moved < 1e-2)) {
    std::printf("FAIL: fc2's weights moved by %g in 3 Adam steps, not about "
                "3e-3\n",
                moved);
    failures++;
  }
  if (opt.step_count() != 3) {
    std::printf("FAIL: %llu steps counted, not 3\n",
                static_cast<unsigned long long>(opt.step_count()));
    failures++;
  }
  /* save() then load() into a new optimizer over a copy of the network:
   * one more step on the same gradients gives the same parameters. */
  std::stringstream saved;
  torch::serialize::OutputArchive out;
  opt.save(out);
  out.save_to(saved);
  Net twin = copy_of(net);
  std::vector<torch::optim::OptimizerParamGroup> twin_groups;
  twin_groups.emplace_back(twin->parameters());
  twin_groups.emplace_back(std::vector<torch::Tensor>{spare.clone()});
  evoopt_torch::EvoOptimizer restored(std::move(twin_groups),
                                      evoopt::genome::preset("torch-adam"));
  torch::serialize::InputArchive in;
  in.load_from(saved);
  restored.load(in);
  auto batch = *loader->begin();
  opt.zero_grad();
  torch::nll_loss(net->forward(batch.data), batch.target).backward();
  auto p = net->parameters(), q = twin->parameters();
  for (std::size_t i = 0; i < p.size(); i++)
    q[i].mutable_grad() = p[i].grad().clone();
  opt.step();
  restored.step();
  bool same = restored.step_count() == 4;
  for (std::size_t i = 0; i < p.size(); i++)
    same = same && torch::equal(p[i], q[i]);
  if (!same) {
    std::printf("FAIL: an optimizer restored with load() steps differently\n");
    failures++;
  }
  std::printf("adapter: a tensor without grad left as it was, zero_grad(true) "
              "then backward trains (fc2 moved %.2e in 3 steps), save/load "
              "continues bit for bit%s\n",
              moved, failures == 0 ? "" : " -- FAILED");
  return failures;
}

/* Check 4: torch::optim::StepLR drives the rate. With torch-sgd (p -= lr g,
 * no moments) and g = 1, the parameter after three steps is minus the sum
 * of the three rates the group had, the last one half the genome's 1e-3. */
int check_scheduler() {
  torch::Tensor p = torch::zeros({4});
  evoopt_torch::EvoOptimizer opt(std::vector<torch::Tensor>{p}, "torch-sgd");
  torch::optim::StepLR sched(opt, 1, 0.5);
  double sum = 0, lr = 0;
  for (int k = 0; k < 3; k++) {
    p.mutable_grad() = torch::ones({4});
    lr = opt.param_groups()[0].options().get_lr();
    sum += lr;
    opt.step();
    sched.step();
  }
  double err = (p + sum).abs().max().item<double>();
  bool ok = err < 1e-9 && std::fabs(lr - 5e-4) < 1e-12;
  std::printf("StepLR(1, 0.5) with torch-sgd: rates %.4g ... %.4g, parameter "
              "%.6g, off by %.2g%s\n",
              1e-3, lr, p[0].item<double>(), err, ok ? "" : " -- FAILED");
  return ok ? 0 : 1;
}

int run_check(const Dataset &train_set) {
  int failures = check_scheduler();
  torch::manual_seed(1);
  Net a;
  double diff = same_gradients(a, train_set, 200, 2);
  bool ok = diff < 1e-6;
  std::printf("same gradients: torch-adam vs torch::optim::Adam, 200 steps: "
              "max |difference| %.3g (bound 1e-6)%s\n",
              diff, ok ? "" : " -- FAILED");
  failures += ok ? 0 : 1;

  torch::manual_seed(1);
  Net net;
  auto opt = make_optimizer(net, "paper-evolved", 300);
  std::vector<double> losses;
  train(net, *opt, train_set, 1, 300, 3, &losses);
  double last = 0;
  for (std::size_t i = losses.size() - 50; i < losses.size(); i++)
    last += losses[i] / 50;
  double bound = losses[0] / 3;
  ok = losses.size() == 300 && last < bound;
  std::printf("paper-evolved, 300 steps of 64: first loss %.4f, mean of the "
              "last 50 %.4f (bound %.4f)%s\n",
              losses[0], last, bound, ok ? "" : " -- FAILED");
  failures += ok ? 0 : 1;
  failures += check_adapter(train_set);
  return failures == 0 ? 0 : 1;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

int run_training(const Options &o, const Dataset &train_set,
                 const Dataset &test_set) {
  const std::size_t per_epoch = (60000 + kBatch - 1) / kBatch;
  std::vector<std::string> names;
  if (o.compare)
    names = {"paper-evolved", "torch-native"};
  else
    names = {o.optimizer};
  torch::manual_seed(o.seed);
  Net start;
  for (const std::string &name : names) {
    Net net = copy_of(start);
    auto opt = make_optimizer(net, name, per_epoch * std::size_t(o.epochs));
    auto t0 = std::chrono::steady_clock::now();
    std::vector<double> losses;
    for (int e = 0; e < o.epochs; e++) {
      std::size_t before = losses.size();
      /* each epoch its own seed, the same for every optimizer */
      train(net, *opt, train_set, 1, 0, o.seed + 1000 * std::size_t(e) + 1,
            &losses);
      double mean = 0;
      for (std::size_t i = before; i < losses.size(); i++)
        mean += losses[i] / double(losses.size() - before);
      std::printf("%-14s epoch %d: mean train loss %.4f, test accuracy %.4f "
                  "(%.0f s)\n",
                  name == "torch-native" ? "torch Adam" : name.c_str(), e + 1,
                  mean, accuracy(net, test_set), seconds_since(t0));
      std::fflush(stdout);
    }
  }
  if (o.compare) {
    torch::manual_seed(o.seed);
    Net a;
    double diff = same_gradients(a, train_set, 300, o.seed);
    std::printf("same gradients: torch-adam vs torch::optim::Adam, 300 steps: "
                "max |difference| %.3g\n",
                diff);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int rc = parse(argc, argv, &o))
    return rc;
  if (o.optimizer != "torch-native") {
    evo_genome *g = nullptr;
    if (evo_genome_preset(&g, o.optimizer.c_str()) != EVO_OK)
      return usage(("unknown optimizer: " + o.optimizer +
                    " (a libevoopt preset or torch-native)")
                       .c_str());
    evo_genome_free(g);
  }
  torch::set_num_threads(o.threads);
  std::string dir;
  if (int rc = mnist_idx::locate_or_explain("mnist", o.data, o.cache, o.check,
                                            &dir))
    return rc;
  try {
    Dataset train_set = load(dir, true);
    if (o.check)
      return run_check(train_set);
    Dataset test_set = load(dir, false);
    return run_training(o, train_set, test_set);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "mnist: %s\n", e.what());
    return 1;
  }
}

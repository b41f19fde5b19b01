/* evoopt_tiny_dnn_optimizer.hpp: libevoopt as a tiny-dnn optimizer.
 *
 * Copy this header into your project. It needs tiny-dnn (Debian's
 * tiny-dnn 1.0.0a3, built with float weights: no CNN_USE_DOUBLE) and
 * libevoopt's C++ header <evoopt/evoopt.hpp>.
 *
 *   evoopt_tiny_dnn::evo_optimizer opt("paper-evolved");
 *   opt.set_total_steps(epochs * ((n_train + batch - 1) / batch));
 *   nn.train<tiny_dnn::mse>(opt, images, labels, batch, epochs);
 *
 * tiny-dnn updates one weight vector at a time, `update(dW, W)`, with dW
 * a temporary it makes for the call. The adapter steps that tensor alone
 * with the library's per-tensor step (evo_optimizer_step_tensor()), so
 * one optimizer holds one genome and one state for the whole network, and
 * dW is read in place (no copy).
 *
 * - A weight vector is registered the first time it is updated, keyed by
 *   its address (tiny-dnn's own optimizers key their state the same way).
 *   If its storage moved (the vector was resized or reassigned), it is
 *   rebound with its moments kept.
 * - The global step s, which drives warmup and cosine decay, counts
 *   batches: the library closes a round when every tensor has been
 *   stepped, or when one is stepped a second time (optimizer.h,
 *   "Rounds"). While the first batch registers tensors one by one, a
 *   one-element placeholder tensor, never stepped, keeps that first round
 *   open; the first update of the second batch closes it and freezes the
 *   placeholder for good. So step_count() is the number of batches done.
 * - Layers that are not trainable are never updated and never registered.
 * - reset(), which tiny-dnn calls at the start of every train()/fit(),
 *   keeps the state: a program that calls train() once per epoch goes on
 *   with its moments and schedule. restart() starts over (moments, step
 *   counts, registrations; options set through native() are lost).
 * - The `parallelize` hint is ignored: set EVO_OPT_THREADS through
 *   native() for large layers.
 * - A dW of another size than W throws tiny_dnn::nn_error; a library
 *   error throws evoopt::error.
 */
#ifndef EVOOPT_TINY_DNN_OPTIMIZER_HPP
#define EVOOPT_TINY_DNN_OPTIMIZER_HPP

#include <evoopt/evoopt.hpp>
#include <tiny_dnn/tiny_dnn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace evoopt_tiny_dnn {

static_assert(std::is_same<tiny_dnn::float_t, float>::value,
              "libevoopt updates float tensors: build tiny-dnn without "
              "CNN_USE_DOUBLE");

class evo_optimizer : public tiny_dnn::optimizer {
public:
  /* An optimizer for a preset (evoopt::preset_names() lists them). */
  explicit evo_optimizer(const std::string &preset)
      : genome_(evoopt::genome::preset(preset)), opt_(genome_) {
    add_placeholder();
  }

  /* An optimizer for a genome (copied). */
  explicit evo_optimizer(const evoopt::genome &g)
      : genome_(g.clone()), opt_(genome_) {
    add_placeholder();
  }

  /* tiny-dnn's optimizers are copyable; this one holds library state and
   * memory addresses, so it is not. */
  evo_optimizer(const evo_optimizer &) = delete;
  evo_optimizer &operator=(const evo_optimizer &) = delete;

  /* The planned number of steps (batches), which genomes with cosine decay
   * need before their first update. */
  void set_total_steps(std::uint64_t total) {
    opt_.set_total_steps(total);
    total_steps_ = total;
  }

  /* Batches done (closed rounds). */
  std::uint64_t step_count() const { return opt_.step_count(); }

  /* Weight vectors registered so far. */
  std::size_t tensor_count() const { return slots_.size(); }

  /* The library's optimizer, for its other options. Tensor 0 is the
   * placeholder; weight vectors follow in the order of their first
   * update. */
  evoopt::optimizer &native() { return opt_; }

  void update(const tiny_dnn::vec_t &dW, tiny_dnn::vec_t &W,
              bool /*parallelize*/) override {
    if (dW.size() != W.size() || W.empty())
      throw tiny_dnn::nn_error(
          "evo_optimizer::update: dW has " + std::to_string(dW.size()) +
          " elements but W has " + std::to_string(W.size()));
    auto it = slots_.find(&W);
    std::size_t index;
    if (it == slots_.end()) {
      index = opt_.add_params(W.data(), nullptr, W.size());
      slots_.emplace(&W, slot{index, W.data(), W.size()});
    } else {
      if (placeholder_open_) {
        /* A second batch has begun: the first round may close now. */
        opt_.set_frozen(0, true);
        placeholder_open_ = false;
      }
      slot &s = it->second;
      if (s.size != W.size())
        throw tiny_dnn::nn_error("evo_optimizer::update: a weight vector "
                                 "changed its size from " +
                                 std::to_string(s.size) + " to " +
                                 std::to_string(W.size()));
      if (s.data != W.data()) {
        opt_.rebind(s.index, W.data(), nullptr);
        s.data = W.data();
      }
      index = s.index;
    }
    opt_.step_tensor(index, dW.data());
  }

  /* Called by tiny-dnn at the start of every train()/fit(): keeps the
   * state (see the top of this file). */
  void reset() override {}

  /* Starts over: a fresh optimizer for the same genome and total steps. */
  void restart() {
    opt_ = evoopt::optimizer(genome_);
    slots_.clear();
    add_placeholder();
    if (total_steps_ != 0)
      opt_.set_total_steps(total_steps_);
  }

private:
  struct slot {
    std::size_t index;
    float *data;
    std::size_t size;
  };

  void add_placeholder() {
    opt_.add_params(&placeholder_, nullptr, 1);
    placeholder_open_ = true;
  }

  evoopt::genome genome_;
  evoopt::optimizer opt_;
  std::unordered_map<const tiny_dnn::vec_t *, slot> slots_;
  float placeholder_ = 0;
  bool placeholder_open_ = false;
  std::uint64_t total_steps_ = 0;
};

} // namespace evoopt_tiny_dnn

#endif

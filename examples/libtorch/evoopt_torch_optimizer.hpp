/* evoopt_torch_optimizer.hpp: libevoopt as a libtorch optimizer.
 *
 * Copy this header into your project. It needs libtorch (tested with
 * Debian's libtorch-dev 1.13) and libevoopt's C++ header <evoopt/evoopt.hpp>;
 * link with libevoopt and libtorch as usual.
 *
 *   evoopt_torch::EvoOptimizer opt(model->parameters(), "paper-evolved");
 *   opt.set_total_steps(epochs * batches_per_epoch); // genomes with cosine
 *   for (auto &batch : *loader) {
 *     opt.zero_grad();
 *     auto loss = torch::nll_loss(model->forward(batch.data), batch.target);
 *     loss.backward();
 *     opt.step();
 *   }
 *
 * It is a torch::optim::Optimizer, so code that takes one (a learning-rate
 * scheduler such as torch::optim::StepLR, torch::save/torch::load of the
 * optimizer) takes it too. The update is the genome's (libevoopt's
 * doc/algorithm.md §2), computed by libevoopt on the tensors' own memory:
 *
 * - Parameters are registered with the library at the first step() that
 *   sees them (and on load()), in the order of the parameter groups: a
 *   model moved or re-created between construction and the first step is
 *   fine. A parameter whose storage moved since (e.g. after .set_()) is
 *   rebound at the next step, its moments kept.
 * - Gradients are handed over at every step, as pointers to the current
 *   .grad() tensors: libtorch creates them at the first backward, and
 *   zero_grad(true) (libtorch 2's default) drops them. A parameter whose
 *   .grad() is undefined is left exactly as it is (parameters, moments and
 *   its step count), as torch::optim skips it. A step in which no
 *   parameter has a gradient throws evoopt::error (EVO_ESTATE): a loop
 *   that forgot backward() stops at once.
 * - Parameters must be float32 tensors on the CPU, contiguous; gradients
 *   must be float32 and dense (a non-contiguous gradient is copied for the
 *   step). Anything else throws std::invalid_argument naming the
 *   parameter.
 * - Each group's lr (EvoOptimizerOptions::lr, by default the genome's rate
 *   10^lr_log10) is the rate the genome's warmup and cosine decay then
 *   scale; a scheduler that changes it takes effect at the next step.
 *   EvoOptimizerOptions::weight_decay(false) turns the genome's decoupled
 *   decay off for a group (biases, norm layers).
 * - state() stays empty: the moments live in the library; save() and
 *   load() carry them, in libevoopt's checksummed format, as one uint8
 *   tensor named "evoopt_state".
 * - Not thread-safe, as any torch::optim optimizer.
 */
#ifndef EVOOPT_TORCH_OPTIMIZER_HPP
#define EVOOPT_TORCH_OPTIMIZER_HPP

#include <evoopt/evoopt.hpp>
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace evoopt_torch {

/* A parameter group's options. lr < 0 (the default) means the genome's
 * rate, 10^lr_log10: the optimizer replaces it by that value. */
struct EvoOptimizerOptions
    : public torch::optim::OptimizerCloneableOptions<EvoOptimizerOptions> {
  TORCH_ARG(double, lr) = -1.0;
  TORCH_ARG(bool, weight_decay) = true;

public:
  double get_lr() const override { return lr(); }
  void set_lr(const double value) override { lr(value); }
};

class EvoOptimizer : public torch::optim::Optimizer {
public:
  /* An optimizer applying genome g to params (one group). */
  EvoOptimizer(std::vector<torch::Tensor> params, const evoopt::genome &g,
               EvoOptimizerOptions defaults = {})
      : EvoOptimizer(std::vector<torch::optim::OptimizerParamGroup>{
                         torch::optim::OptimizerParamGroup(std::move(params))},
                     evoopt::optimizer(g), std::move(defaults)) {}

  /* The same for a preset's name (evoopt::preset_names() lists them). */
  EvoOptimizer(std::vector<torch::Tensor> params, const std::string &preset,
               EvoOptimizerOptions defaults = {})
      : EvoOptimizer(std::vector<torch::optim::OptimizerParamGroup>{
                         torch::optim::OptimizerParamGroup(std::move(params))},
                     evoopt::optimizer(preset), std::move(defaults)) {}

  /* Several parameter groups, each with its options or the defaults. */
  EvoOptimizer(std::vector<torch::optim::OptimizerParamGroup> groups,
               const evoopt::genome &g, EvoOptimizerOptions defaults = {})
      : EvoOptimizer(std::move(groups), evoopt::optimizer(g),
                     std::move(defaults)) {}

  /* Sets the planned number of steps, which genomes with cosine decay need
   * before their first step. */
  void set_total_steps(std::uint64_t total) { opt_.set_total_steps(total); }

  /* The rate of the next step for a group whose lr is the genome's
   * (warmup and cosine applied). */
  double current_lr() const { return opt_.current_lr(); }

  /* The steps taken. */
  std::uint64_t step_count() const { return opt_.step_count(); }

  /* The library's optimizer, for its other options (e.g.
   * set_option(EVO_OPT_REFUSE_NONFINITE, 1)). Tensors are numbered in
   * registration order: the groups' parameters in order. */
  evoopt::optimizer &native() { return opt_; }

  /* Runs closure (if any) with gradients enabled, then one step over every
   * parameter that has a gradient. Returns the closure's loss (or an
   * undefined tensor). */
  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::Tensor loss;
    if (closure != nullptr) {
      torch::AutoGradMode enable_grad(true);
      loss = closure();
    }
    sync();
    grads_.assign(slots_.size(), nullptr);
    copies_.clear();
    for (std::size_t i = 0; i < slots_.size(); i++) {
      const torch::Tensor &p = slots_[i].param;
      const torch::Tensor &g = p.grad();
      if (!g.defined())
        continue;
      if (g.is_sparse() || g.scalar_type() != torch::kFloat32 ||
          !g.device().is_cpu() || g.numel() != p.numel())
        throw std::invalid_argument(
            "EvoOptimizer::step: the gradient of parameter " +
            std::to_string(i) +
            " is not a dense float32 CPU tensor of its parameter's size");
      if (g.is_contiguous()) {
        grads_[i] = g.data_ptr<float>();
      } else {
        copies_.push_back(g.contiguous());
        grads_[i] = copies_.back().data_ptr<float>();
      }
    }
    opt_.step(grads_);
    copies_.clear();
    /* In-place changes must be visible to autograd's version checks, as
     * torch's own optimizers' in-place updates are. */
    for (std::size_t i = 0; i < slots_.size(); i++)
      if (grads_[i] != nullptr)
        slots_[i].param.unsafeGetTensorImpl()->bump_version();
    return loss;
  }

  /* Zeroes every gradient in place, or drops it with set_to_none (then
   * .grad() is undefined until the next backward). */
  void zero_grad(bool set_to_none = false) {
    for (auto &group : param_groups())
      for (auto &p : group.params()) {
        torch::Tensor &g = p.mutable_grad();
        if (!g.defined())
          continue;
        if (set_to_none) {
          g.reset();
        } else {
          g = g.detach();
          g.zero_();
        }
      }
  }

  void save(torch::serialize::OutputArchive &archive) const override {
    std::vector<unsigned char> bytes = opt_.save_mem();
    archive.write("evoopt_state",
                  torch::tensor(std::vector<std::uint8_t>(bytes.begin(),
                                                          bytes.end()),
                                torch::kUInt8));
  }

  /* Restores a state saved by save() from an optimizer with the same
   * genome and parameter shapes, in the same order. */
  void load(torch::serialize::InputArchive &archive) override {
    torch::Tensor t;
    archive.read("evoopt_state", t);
    t = t.to(torch::kUInt8).contiguous();
    sync();
    const std::uint8_t *b = t.data_ptr<std::uint8_t>();
    opt_.load_mem(std::vector<unsigned char>(
        b, b + static_cast<std::size_t>(t.numel())));
    for (Slot &s : slots_) {
      s.lr_scale = -1; /* loaded with the state: set again at the next step */
      s.decay = -1;
    }
  }

private:
  /* What the library knows of one registered parameter. */
  struct Slot {
    torch::Tensor param;
    float *data;
    double lr_scale; /* the value set in the library, -1 when unknown */
    int decay;
  };

  EvoOptimizer(std::vector<torch::optim::OptimizerParamGroup> groups,
               evoopt::optimizer opt, EvoOptimizerOptions defaults)
      : torch::optim::Optimizer(
            std::move(groups),
            std::make_unique<EvoOptimizerOptions>(std::move(defaults))),
        opt_(std::move(opt)),
        genome_lr_(opt_.option(EVO_OPT_BASE_LR)) {
    /* An lr left at -1 becomes the genome's now, so that a scheduler
     * reading it (get_lr()) sees the real rate. */
    auto &d = static_cast<EvoOptimizerOptions &>(this->defaults());
    if (d.lr() < 0)
      d.lr(genome_lr_);
    for (auto &group : param_groups())
      if (auto *o = dynamic_cast<EvoOptimizerOptions *>(&group.options()))
        if (o->lr() < 0)
          o->lr(genome_lr_);
  }

  /* Registers new parameters, rebinds moved ones, and passes each group's
   * lr and decay switch on as per-tensor options. */
  void sync() {
    std::size_t number = 0;
    for (auto &group : param_groups()) {
      auto *o = dynamic_cast<EvoOptimizerOptions *>(&group.options());
      if (o == nullptr)
        throw std::invalid_argument(
            "EvoOptimizer: a parameter group has options of another "
            "optimizer; give EvoOptimizerOptions or none");
      if (o->lr() < 0) /* a group added later with the default */
        o->lr(genome_lr_);
      for (auto &p : group.params())
        sync_one(p, number++, o->lr() / genome_lr_, o->weight_decay() ? 1 : 0);
    }
  }

  void sync_one(const torch::Tensor &p, std::size_t number, double lr_scale,
                int decay) {
    if (!p.defined() || p.scalar_type() != torch::kFloat32 ||
        !p.device().is_cpu() || !p.is_contiguous() || p.numel() == 0)
      throw std::invalid_argument(
          "EvoOptimizer: parameter " + std::to_string(number) +
          " is not a non-empty contiguous float32 CPU tensor");
    const void *key = p.unsafeGetTensorImpl();
    auto it = index_.find(key);
    std::size_t i;
    if (it == index_.end()) {
      i = opt_.add_params(p.data_ptr<float>(), nullptr,
                          static_cast<std::size_t>(p.numel()));
      index_.emplace(key, i);
      slots_.push_back(Slot{p, p.data_ptr<float>(), 1.0, 1});
    } else {
      i = it->second;
      if (slots_[i].param.numel() != p.numel())
        throw std::invalid_argument("EvoOptimizer: parameter " +
                                    std::to_string(number) +
                                    " changed its number of elements");
      if (p.data_ptr<float>() != slots_[i].data) {
        opt_.rebind(i, p.data_ptr<float>(), nullptr);
        slots_[i].data = p.data_ptr<float>();
      }
    }
    if (slots_[i].lr_scale != lr_scale) {
      opt_.set_param_option(i, EVO_PARAM_LR_SCALE, lr_scale);
      slots_[i].lr_scale = lr_scale;
    }
    if (slots_[i].decay != decay) {
      opt_.set_param_option(i, EVO_PARAM_WEIGHT_DECAY, decay);
      slots_[i].decay = decay;
    }
  }

  evoopt::optimizer opt_;
  double genome_lr_;
  std::unordered_map<const void *, std::size_t> index_;
  std::vector<Slot> slots_;
  std::vector<const float *> grads_;
  std::vector<torch::Tensor> copies_;
};

} // namespace evoopt_torch

#endif

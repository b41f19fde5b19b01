"""PyTorch adapter: :class:`EvoOptimizer`, a ``torch.optim.Optimizer`` that
runs libevoopt's update (doc/algorithm.md §2) directly on the tensors' memory.

>>> from evoopt.torch import EvoOptimizer
>>> opt = EvoOptimizer(model.parameters(), genome="paper-evolved",
...                    total_steps=1000)
>>> for x, y in batches:
...     opt.zero_grad()
...     loss_fn(model(x), y).backward()
...     opt.step()

Each parameter gets its own library optimizer, created at the first step
where the parameter has a gradient, so a parameter without a gradient is
skipped exactly as torch's optimizers skip it (no decay, no moment update)
and keeps its own step count. Parameters must be CPU float32 contiguous
tensors; the library reads ``p.grad`` and writes ``p`` in place (no
copies). When a gradient tensor is replaced (``zero_grad(set_to_none=True)``
makes a new one at every backward) the library is pointed at the new
memory with ``evo_optimizer_rebind``.

Parameter groups: ``lr`` is the group's base learning rate η (default the
genome's 10^lr_log10), read at every step, so torch's lr schedulers work;
the genome's own warmup and cosine decay scale it further. ``weight_decay``
is a bool: True applies the genome's decoupled decay λ, False none.
``decay_biases=False`` turns decay off for tensors of one dimension
(biases, norm weights).
"""

import torch
from torch.optim import Optimizer as _TorchOptimizer

from .genome import Genome
from .optimizer import Optimizer

__all__ = ["EvoOptimizer"]


def _check_tensor(t, what):
    if t.is_sparse:
        raise TypeError("%s is sparse; EvoOptimizer needs dense tensors"
                        % what)
    if t.device.type != "cpu" or t.dtype != torch.float32:
        raise TypeError("%s must be a CPU float32 tensor, not %s on %s "
                        "(libevoopt updates the memory in place)"
                        % (what, t.dtype, t.device))
    if not t.is_contiguous():
        raise TypeError("%s must be contiguous" % what)


def _weight_decay_flag(value):
    """A group's weight_decay as a bool: the genome's λ or none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value == 0:
        return False
    raise ValueError("EvoOptimizer's weight_decay is True (the genome's "
                     "decay) or False; set the amount in the genome "
                     "(wd_log10), not %r" % (value,))


class _ParamState:
    """One parameter's library optimizer and the memory it points at."""

    __slots__ = ("opt", "ptrs", "numel", "lr", "decay")

    def __init__(self, opt, ptrs, numel):
        self.opt, self.ptrs, self.numel = opt, ptrs, numel
        self.lr = self.decay = None  # pushed by the first _sync()


class EvoOptimizer(_TorchOptimizer):
    """A torch optimizer driven by a libevoopt genome.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        genome: a :class:`~evoopt.Genome`, a preset name ('paper-evolved',
            'adamw', ...), a dict or JSON text; the optimizer keeps a copy.
        lr: the default base learning rate (the genome's 10^lr_log10 when
            None).
        total_steps: the planned number of steps S; required when the
            genome uses cosine decay.
        weight_decay: default for the groups (True: the genome's λ).
        decay_biases: default for the groups; False exempts tensors of one
            dimension from weight decay.
        refuse_nonfinite: raise NonFiniteError instead of stepping on a NaN
            or infinite gradient (the parameter is left unchanged).
    """

    def __init__(self, params, genome="paper-evolved", lr=None,
                 total_steps=None, weight_decay=True, decay_biases=True,
                 refuse_nonfinite=False):
        self.genome = Genome.coerce(genome).copy()
        if self.genome.use_cosine_decay and total_steps is None:
            raise ValueError("this genome uses cosine decay: pass "
                             "total_steps (the planned number of steps)")
        self._total_steps = total_steps
        self._refuse_nonfinite = bool(refuse_nonfinite)
        self._params = {}   # parameter -> _ParamState
        self._pending = {}  # parameter -> saved state awaiting its first step
        defaults = dict(lr=self.genome.lr if lr is None else float(lr),
                        weight_decay=weight_decay, decay_biases=decay_biases)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _weight_decay_flag(group["weight_decay"])
        for p in group["params"]:
            _check_tensor(p, "a parameter")

    @property
    def total_steps(self):
        """The planned number of steps for cosine decay (None if unset)."""
        return self._total_steps

    @total_steps.setter
    def total_steps(self, value):
        self._total_steps = int(value)
        for state in self._params.values():
            state.opt.total_steps = self._total_steps

    def _state(self, p, group):
        """The library optimizer of ``p``, made at its first gradient."""
        state = self._params.get(p)
        if state is not None:
            return state
        opt = Optimizer(self.genome, total_steps=self._total_steps,
                        refuse_nonfinite=self._refuse_nonfinite)
        ptrs = (p.data_ptr(), p.grad.data_ptr())
        opt._add_raw(ptrs[0], ptrs[1], p.numel(), (p.data, p.grad))
        state = _ParamState(opt, ptrs, p.numel())
        self._params[p] = state
        saved = self._pending.pop(p, None)
        if saved is not None:
            opt.load_state_bytes(saved)
        return state

    def _sync(self, state, p, group):
        """Follows moved memory and the group's lr and decay settings."""
        _check_tensor(p.grad, "a gradient")
        ptrs = (p.data_ptr(), p.grad.data_ptr())
        if ptrs != state.ptrs:
            if p.numel() != state.numel:  # the library would overrun it
                raise ValueError("a parameter changed size from %d to %d "
                                 "elements" % (state.numel, p.numel()))
            state.opt._rebind_raw(0, ptrs[0], ptrs[1], (p.data, p.grad))
            state.ptrs = ptrs
        if group["lr"] != state.lr:
            state.opt.base_lr = group["lr"]
            state.lr = group["lr"]
        decay = _weight_decay_flag(group["weight_decay"]) and (
            group["decay_biases"] or p.dim() > 1)
        if decay != state.decay:
            state.opt.set_param_options(0, weight_decay=decay)
            state.decay = decay

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.numel() != p.numel():
                    raise ValueError("a gradient's size differs from its "
                                     "parameter's")
                state = self._state(p, group)
                self._sync(state, p, group)
                state.opt.step()
        return loss

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """torch's state dict plus ``'evo'``: the genome and each
        parameter's library state (bytes), keyed by torch's parameter
        index."""
        out = super().state_dict()
        states = {}
        for index, p in enumerate(self._all_params()):
            if p in self._params:
                states[index] = self._params[p].opt.state_bytes()
            elif p in self._pending:
                states[index] = self._pending[p]
        out["evo"] = {"genome": self.genome.to_json(), "states": states,
                      "total_steps": self._total_steps}
        return out

    def load_state_dict(self, state_dict):
        """Restores a :meth:`state_dict` of an EvoOptimizer with the same
        genome and parameters."""
        state_dict = dict(state_dict)
        evo = state_dict.pop("evo", None)
        if evo is None:
            raise ValueError("not an EvoOptimizer state dict (no 'evo' key)")
        if Genome.from_json(evo["genome"]) != self.genome:
            raise ValueError("the state dict was saved with another genome: "
                             "%s" % Genome.from_json(evo["genome"]))
        super().load_state_dict(state_dict)
        if evo.get("total_steps") is not None:
            self.total_steps = evo["total_steps"]
        params = self._all_params()
        for index, saved in evo["states"].items():
            p = params[int(index)]
            if p in self._params:
                self._params[p].opt.load_state_bytes(saved)
            else:
                self._pending[p] = saved

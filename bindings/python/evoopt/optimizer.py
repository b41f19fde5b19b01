"""The drop-in optimizer over NumPy arrays (optimizer.h): the library
updates float32 arrays in place from their gradient arrays."""

import copy
import ctypes
from ctypes import byref, c_double, c_int64, c_size_t, c_uint64, c_void_p

from . import _lib
from ._lib import lib
from .genome import Genome

__all__ = ["Optimizer"]

_LR_SCALE, _WEIGHT_DECAY, _FROZEN = 0, 1, 2      # evo_param_option
# evo_optimizer_option:
_REFUSE_NONFINITE, _BASE_LR, _THREADS, _GRAD_SCALE = 0, 1, 2, 3


def _check_array(a, what, writable):
    """Raises TypeError unless ``a`` is a float32, C-contiguous, aligned
    NumPy array (writable for parameters), which the library can use in
    place."""
    import numpy as np
    if not isinstance(a, np.ndarray):
        raise TypeError("%s must be a NumPy array, not %s"
                        % (what, type(a).__name__))
    if a.dtype != np.float32:
        raise TypeError("%s must have dtype float32, not %s (the optimizer "
                        "updates the array in place, so it cannot convert "
                        "it: use a.astype(np.float32) once, before "
                        "training)" % (what, a.dtype))
    if not a.flags.c_contiguous or not a.flags.aligned:
        raise TypeError("%s must be C-contiguous and aligned (use "
                        "np.ascontiguousarray once, before training)" % what)
    if writable and not a.flags.writeable:
        raise TypeError("%s must be writable" % what)
    if a.size == 0:
        raise ValueError("%s is empty" % what)


def _address(a):
    """The address of the first element of a NumPy array or a torch
    tensor (the two kinds of arrays the optimizer is registered with)."""
    if hasattr(a, "data_ptr"):
        return a.data_ptr()
    return a.ctypes.data


def _copy_array(a, memo):
    """A deep copy of a registered array (NumPy or torch) that the library
    can use in place; ``memo`` is copy.deepcopy's, so an array copied
    elsewhere in the same deepcopy is the same copy here."""
    if a is None:
        return None
    c = copy.deepcopy(a, memo)
    if hasattr(c, "data_ptr"):
        if not c.is_contiguous():
            raise TypeError("the copy of a registered tensor is not "
                            "contiguous")
    else:
        _check_array(c, "the copy of a registered array", True)
    return c


class Optimizer(_lib.Handle):
    """Applies a genome's update rule (doc/algorithm.md §2) to NumPy arrays.

    ``genome`` is a :class:`Genome` or a preset name; the optimizer keeps
    its own copy. Register each parameter array with its gradient array
    (:meth:`add`), fill the gradients, call :meth:`step`: the parameters are
    updated in place. The optimizer keeps references to the arrays, so
    their memory stays valid while it is registered.

    A parameter may also be registered without a gradient array and given
    its current gradient at step time (optimizer.h, evo_optimizer_add_params,
    "Gradients"): :meth:`set_grad` before :meth:`step`, ``step(grads=[...])``,
    or one tensor at a time with :meth:`step_tensor`. Such an array is used
    by one step only; the optimizer holds a reference to it until that step
    (the library keeps only its address). A tensor with neither is left as
    it is by :meth:`step`, as torch.optim skips a parameter whose ``.grad``
    is None.

    Args:
        genome: a Genome, a preset name, a dict or JSON text.
        total_steps: the planned number of steps S (required for genomes
            with cosine decay).
        refuse_nonfinite: when true, a step whose gradients hold a NaN or
            infinity raises NonFiniteError and changes nothing.
        base_lr: overrides the genome's base learning rate η.
    """

    _free_name = "evo_optimizer_free"

    def __init__(self, genome="adam", total_steps=None,
                 refuse_nonfinite=False, base_lr=None, threads=None):
        self._arrays = []  # (params, grads) per tensor: keeps them alive
        self._given = {}   # index -> arrays given for the next step
        g = Genome.coerce(genome)
        self._adopt(_lib.new_handle(lib.evo_optimizer_new, g.handle))
        if total_steps is not None:
            self.total_steps = total_steps
        if refuse_nonfinite:
            self.refuse_nonfinite = True
        if base_lr is not None:
            self.base_lr = base_lr
        if threads is not None:
            self.threads = threads

    # --- tensors ------------------------------------------------------------
    def add(self, params, grads=None, lr_scale=None, weight_decay=None,
            frozen=None):
        """Registers a parameter array and its gradient array (same size,
        float32, C-contiguous), or no gradient array (``grads`` None: give
        one at step time), and returns its index.

        Args:
            lr_scale: multiplies the learning rate of this tensor.
            weight_decay: False turns the genome's decay off for it.
            frozen: True freezes it (steps leave it as it is).
        Raises:
            TypeError: an array of another dtype, or not contiguous.
        """
        _check_array(params, "params", True)
        if grads is not None:
            self._check_grad(grads, params.size, "grads")
        index = self._add_raw(params.ctypes.data,
                              None if grads is None else grads.ctypes.data,
                              params.size, (params, grads))
        self.set_param_options(index, lr_scale, weight_decay, frozen)
        return index

    add_params = add

    @staticmethod
    def _check_grad(grad, size, what):
        _check_array(grad, what, False)
        if grad.size != size:
            raise ValueError("%s has %d elements but the parameters have %d"
                             % (what, grad.size, size))

    def _add_raw(self, params_ptr, grads_ptr, n, keep):
        """Registers memory by address (``grads_ptr`` may be None);
        ``keep`` is held to keep it alive."""
        lib.evo_optimizer_add_params(self.handle, c_void_p(params_ptr),
                                     c_void_p(grads_ptr), n)
        self._arrays.append(keep)
        return len(self._arrays) - 1

    def _tensor_size(self, index):
        if not 0 <= index < len(self._arrays):
            raise IndexError("no tensor %r: %d registered"
                             % (index, len(self._arrays)))
        params = self._arrays[index][0]
        return params.numel() if hasattr(params, "numel") else params.size

    def rebind(self, index, params, grads=None):
        """Points tensor ``index`` at other arrays of the same size (or no
        gradient array), keeping its moments and step count. A gradient
        given with :meth:`set_grad` for it is dropped."""
        _check_array(params, "params", True)
        size = self._tensor_size(index)
        if params.size != size or (grads is not None and grads.size != size):
            raise ValueError("tensor %d has %d elements; rebind needs arrays "
                             "of the same size" % (index, size))
        if grads is not None:
            _check_array(grads, "grads", False)
        self._rebind_raw(index, params.ctypes.data,
                         None if grads is None else grads.ctypes.data,
                         (params, grads))

    def _rebind_raw(self, index, params_ptr, grads_ptr, keep):
        lib.evo_optimizer_rebind(self.handle, index, c_void_p(params_ptr),
                                 c_void_p(grads_ptr))
        self._arrays[index] = keep
        self._given.pop(index, None)

    def arrays(self, index):
        """The (params, grads) arrays tensor ``index`` is bound to (grads
        None when it has no bound gradient array)."""
        self._tensor_size(index)
        return tuple(self._arrays[index])

    def set_grad(self, index, grad):
        """Gives tensor ``index``'s gradient for its next step only (None
        takes back one given before). The library reads ``grad`` during that
        step, not now: the optimizer holds a reference to it until then, and
        its contents must be the gradient when the step runs."""
        size = self._tensor_size(index)
        if grad is None:
            lib.evo_optimizer_set_grad(self.handle, index, None)
            self._given.pop(index, None)
            return
        self._check_grad(grad, size, "grad")
        lib.evo_optimizer_set_grad(self.handle, index,
                                   c_void_p(grad.ctypes.data))
        # Arrays given before stay held too until the step: harmless.
        self._given.setdefault(index, []).append(grad)

    def __len__(self):
        """The number of registered tensors."""
        return int(lib.evo_optimizer_param_count(self.handle))

    def set_param_options(self, index, lr_scale=None, weight_decay=None,
                          frozen=None):
        """Sets the per-tensor options given (None leaves one unchanged).
        ``frozen`` True freezes the tensor: steps leave its parameters,
        moments and step count exactly as they are, and do not read its
        gradient; after unfreezing its step count goes on."""
        if lr_scale is not None:
            lib.evo_optimizer_set_param_option_f64(self.handle, index,
                                                   _LR_SCALE, float(lr_scale))
        if weight_decay is not None:
            lib.evo_optimizer_set_param_option_i64(
                self.handle, index, _WEIGHT_DECAY, _lib.as_flag(weight_decay))
        if frozen is not None:
            lib.evo_optimizer_set_param_option_i64(self.handle, index,
                                                   _FROZEN,
                                                   _lib.as_flag(frozen))

    def param_options(self, index):
        """The options of tensor ``index`` as a dict (lr_scale,
        weight_decay, frozen)."""
        scale, flag = c_double(), c_int64()
        lib.evo_optimizer_get_param_option_f64(self.handle, index, _LR_SCALE,
                                               byref(scale))
        out = {"lr_scale": scale.value}
        for key, option in (("weight_decay", _WEIGHT_DECAY),
                            ("frozen", _FROZEN)):
            lib.evo_optimizer_get_param_option_i64(self.handle, index, option,
                                                   byref(flag))
            out[key] = bool(flag.value)
        return out

    def frozen(self, index):
        """True when tensor ``index`` is frozen."""
        return self.param_options(index)["frozen"]

    def freeze(self, index, frozen=True):
        """Freezes tensor ``index`` (``frozen`` False unfreezes it)."""
        self.set_param_options(index, frozen=frozen)

    # --- options ------------------------------------------------------------
    # Each reads and writes the library's value (the typed calls of its
    # type, evo_optimizer_option_bounds); nothing is kept here.
    base_lr = _lib.option_property(
        "optimizer", _BASE_LR, "The base learning rate η before warmup and "
        "cosine decay; assign to drive it from an external schedule.", None,
        float)
    refuse_nonfinite = _lib.option_property(
        "optimizer", _REFUSE_NONFINITE, "When true, a step on a NaN or "
        "infinite gradient raises NonFiniteError and changes nothing.",
        bool, _lib.as_flag)
    threads = _lib.option_property(
        "optimizer", _THREADS, "Threads a step uses (1 to 256); results are "
        "bit-identical for any count.", None, _lib.as_int)
    grad_scale = _lib.option_property(
        "optimizer", _GRAD_SCALE, "A factor applied to every gradient "
        "element as it is read (default 1; e.g. 1/B for gradients summed "
        "over B examples); the arrays themselves are not changed.", None,
        float)

    @property
    def total_steps(self):
        """The planned number of steps S for cosine decay (None if unset),
        as the library holds it (evo_optimizer_get_total_steps)."""
        value = c_uint64()
        lib.evo_optimizer_get_total_steps(self.handle, byref(value))
        return value.value or None

    @total_steps.setter
    def total_steps(self, value):
        lib.evo_optimizer_set_total_steps(self.handle,
                                          _lib.as_int(value, c_uint64))

    @property
    def lr(self):
        """The learning rate the next step uses (warmup and cosine decay
        applied, per-tensor scales not)."""
        value = c_double()
        lib.evo_optimizer_current_lr(self.handle, byref(value))
        return value.value

    @property
    def step_count(self):
        """The number of steps taken so far."""
        value = c_uint64()
        lib.evo_optimizer_step_count(self.handle, byref(value))
        return value.value

    # --- stepping and state -------------------------------------------------
    def step(self, grads=None):
        """One update of every registered tensor that has a gradient and is
        not frozen.

        Args:
            grads: None, or one entry per tensor in their order: an array
                used as that tensor's gradient for this step only, or None
                (the one given with :meth:`set_grad`, else the bound one,
                else the tensor is left as it is).
        Raises:
            StateError: no tensor has a gradient (nothing was changed).
        """
        if grads is None:
            lib.evo_optimizer_step(self.handle)
            self._given.clear()
            return
        grads = list(grads)
        if len(grads) != len(self._arrays):
            raise ValueError("step got %d gradients for %d tensors"
                             % (len(grads), len(self._arrays)))
        pointers = (c_void_p * max(1, len(grads)))()
        for index, grad in enumerate(grads):
            if grad is not None:
                self._check_grad(grad, self._tensor_size(index),
                                 "grads[%d]" % index)
                pointers[index] = grad.ctypes.data
        # A step that fails after its checks keeps the pointers given.
        for index, grad in enumerate(grads):
            if grad is not None:
                self._given.setdefault(index, []).append(grad)
        lib.evo_optimizer_step_grads(self.handle, pointers, len(grads))
        self._given.clear()

    def step_tensor(self, index, grad=None):
        """One update of tensor ``index`` alone, from ``grad`` (this step
        only) or else the gradient given or bound; bit for bit what
        :meth:`step` would do to it. The global step count advances when
        every tensor not frozen was stepped (or one is stepped again; see
        optimizer.h, evo_optimizer_step_tensor, "Rounds")."""
        size = self._tensor_size(index)
        pointer = None
        if grad is not None:
            self._check_grad(grad, size, "grad")
            pointer = grad.ctypes.data
        lib.evo_optimizer_step_tensor(self.handle, index, c_void_p(pointer))
        self._given.pop(index, None)

    # --- copies -------------------------------------------------------------
    def clone(self, memo=None):
        """An independent copy: same genome, options, step counts and
        moments, bound to copies of the registered arrays (see
        :meth:`arrays`), so stepping it leaves this optimizer's arrays
        alone. Gradients given with :meth:`set_grad` are not copied.
        ``copy.deepcopy`` does the same, and when the arrays are copied in
        the same deepcopy (a model holding both) binds to those copies."""
        memo = {} if memo is None else memo
        copies = [(_copy_array(p, memo), _copy_array(g, memo))
                  for p, g in self._arrays]
        other = Optimizer.__new__(Optimizer)
        other._arrays = []
        other._given = {}
        other._adopt(_lib.new_handle(lib.evo_optimizer_clone, self.handle))
        for index, (p, g) in enumerate(copies):
            other._arrays.append(None)
            other._rebind_raw(index, _address(p),
                              None if g is None else _address(g), (p, g))
        return other

    def __deepcopy__(self, memo):
        return self.clone(memo)

    def __copy__(self):
        raise TypeError("a shallow copy of an Optimizer would update the "
                        "same arrays: use clone() or copy.deepcopy()")

    def state_bytes(self):
        """The whole state (genome, options, step counts, moments) as bytes
        in the library's versioned, checksummed format."""
        buf, size = c_void_p(), c_size_t()
        lib.evo_optimizer_save_mem(self.handle, byref(buf), byref(size))
        try:
            return ctypes.string_at(buf, size.value)
        finally:
            lib.evo_free(buf)

    def load_state_bytes(self, data):
        """Restores a state from :meth:`state_bytes` into an optimizer with
        the same genome and tensor sizes (else MismatchError)."""
        data = bytes(data)
        lib.evo_optimizer_load_mem(self.handle, data, len(data))
        self._given.clear()

    def save(self, path):
        """Writes the state to a file, atomically."""
        lib.evo_optimizer_save(self.handle, _lib.encode_path(path))

    def load(self, path):
        """Restores the state from a file written by :meth:`save`."""
        lib.evo_optimizer_load(self.handle, _lib.encode_path(path))
        self._given.clear()

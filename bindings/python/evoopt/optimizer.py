"""The drop-in optimizer over NumPy arrays (optimizer.h): the library
updates float32 arrays in place from their gradient arrays."""

import ctypes
from ctypes import byref, c_double, c_size_t, c_uint64, c_void_p

from . import _lib
from ._lib import lib
from .genome import Genome

__all__ = ["Optimizer"]

_LR_SCALE, _WEIGHT_DECAY = 0, 1          # evo_param_option
_REFUSE_NONFINITE, _BASE_LR, _THREADS = 0, 1, 2  # evo_optimizer_option


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


class Optimizer(_lib.Handle):
    """Applies a genome's update rule (doc/algorithm.md §2) to NumPy arrays.

    ``genome`` is a :class:`Genome` or a preset name; the optimizer keeps
    its own copy. Register each parameter array with its gradient array
    (:meth:`add`), fill the gradients, call :meth:`step`: the parameters are
    updated in place. The optimizer keeps references to the arrays, so
    their memory stays valid while it is registered.

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
    def add(self, params, grads, lr_scale=None, weight_decay=None):
        """Registers a parameter array and its gradient array (same size,
        float32, C-contiguous) and returns its index.

        Args:
            lr_scale: multiplies the learning rate of this tensor.
            weight_decay: False turns the genome's decay off for it.
        Raises:
            TypeError: an array of another dtype, or not contiguous.
        """
        _check_array(params, "params", True)
        _check_array(grads, "grads", False)
        if params.size != grads.size:
            raise ValueError("params has %d elements but grads has %d"
                             % (params.size, grads.size))
        index = self._add_raw(params.ctypes.data, grads.ctypes.data,
                              params.size, (params, grads))
        self.set_param_options(index, lr_scale, weight_decay)
        return index

    def _add_raw(self, params_ptr, grads_ptr, n, keep):
        """Registers memory by address; ``keep`` is held to keep it alive."""
        lib.evo_optimizer_add_params(self.handle, c_void_p(params_ptr),
                                     c_void_p(grads_ptr), n)
        self._arrays.append(keep)
        return len(self._arrays) - 1

    def rebind(self, index, params, grads):
        """Points tensor ``index`` at other arrays of the same size, keeping
        its moments and step count."""
        _check_array(params, "params", True)
        _check_array(grads, "grads", False)
        old = self._arrays[index][0]
        if params.size != old.size or grads.size != old.size:
            raise ValueError("tensor %d has %d elements; rebind needs arrays "
                             "of the same size" % (index, old.size))
        self._rebind_raw(index, params.ctypes.data, grads.ctypes.data,
                         (params, grads))

    def _rebind_raw(self, index, params_ptr, grads_ptr, keep):
        lib.evo_optimizer_rebind(self.handle, index, c_void_p(params_ptr),
                                 c_void_p(grads_ptr))
        self._arrays[index] = keep

    def __len__(self):
        """The number of registered tensors."""
        return int(lib.evo_optimizer_param_count(self.handle))

    def set_param_options(self, index, lr_scale=None, weight_decay=None):
        """Sets the per-tensor options given (None leaves one unchanged)."""
        if lr_scale is not None:
            lib.evo_optimizer_set_param_option(self.handle, index, _LR_SCALE,
                                               float(lr_scale))
        if weight_decay is not None:
            lib.evo_optimizer_set_param_option(self.handle, index,
                                               _WEIGHT_DECAY,
                                               1.0 if weight_decay else 0.0)

    def param_options(self, index):
        """The options of tensor ``index`` as a dict."""
        out = {}
        for key, option in (("lr_scale", _LR_SCALE),
                            ("weight_decay", _WEIGHT_DECAY)):
            value = c_double()
            lib.evo_optimizer_get_param_option(self.handle, index, option,
                                               byref(value))
            out[key] = value.value
        out["weight_decay"] = bool(out["weight_decay"])
        return out

    # --- options ------------------------------------------------------------
    base_lr = _lib.keyed_property(
        lib.evo_optimizer_get_option, lib.evo_optimizer_set_option, _BASE_LR,
        c_double, "The base learning rate η before warmup and cosine decay; "
        "assign to drive it from an external schedule.", None, float)
    refuse_nonfinite = _lib.keyed_property(
        lib.evo_optimizer_get_option, lib.evo_optimizer_set_option,
        _REFUSE_NONFINITE, c_double, "When true, a step on a NaN or "
        "infinite gradient raises NonFiniteError and changes nothing.",
        bool, lambda v: float(_lib.as_flag(v)))
    threads = _lib.keyed_property(
        lib.evo_optimizer_get_option, lib.evo_optimizer_set_option, _THREADS,
        c_double, "Threads a step uses (1 to 256); results are "
        "bit-identical for any count.", int, float)
    total_steps = _lib.stored_property(
        lib.evo_optimizer_set_total_steps, "total_steps", int,
        "The planned number of steps S for cosine decay (None if unset).")

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
    def step(self):
        """One update of every registered tensor from its gradients."""
        lib.evo_optimizer_step(self.handle)

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

    def save(self, path):
        """Writes the state to a file, atomically."""
        lib.evo_optimizer_save(self.handle, _lib.encode_path(path))

    def load(self, path):
        """Restores the state from a file written by :meth:`save`."""
        lib.evo_optimizer_load(self.handle, _lib.encode_path(path))

"""The package keeps no copy of a setting (issue 10 item 4): every
property reads the library. A value written through the C API directly
(``evoopt._lib.lib``, as another binding or C code sharing the handle
would) is what Python then reads, and what Python writes the C getters
read back. The typed option calls and their bounds are used the same way
for the optimizer, the task and the population."""

import ctypes
import os

import pytest

import evoopt
from evoopt import Evaluator, Optimizer, Population, Task
from evoopt._lib import OptionBounds, lib, option_bounds

# Keys as the headers number them.
EVO_OPT_REFUSE_NONFINITE, EVO_OPT_BASE_LR, EVO_OPT_THREADS = 0, 1, 2
EVO_OPT_GRAD_SCALE = 3
EVO_PARAM_LR_SCALE, EVO_PARAM_FROZEN = 0, 2
EVO_TASK_BATCH_SIZE, EVO_TASK_RECORD_CURVE = 2, 4
EVO_POP_SIZE, EVO_POP_RUN_SEED, EVO_POP_ALGORITHM = 0, 4, 9


def test_optimizer_reads_what_c_wrote(no_leaks):
    import numpy as np
    p = np.zeros(4, np.float32)
    g = np.zeros(4, np.float32)
    with Optimizer("adam") as opt:
        opt.add_params(p, g)
        assert opt.total_steps is None   # unset: 0 in C
        lib.evo_optimizer_set_total_steps(opt.handle, 123)
        assert opt.total_steps == 123
        lib.evo_optimizer_set_option(opt.handle, EVO_OPT_THREADS, 3.0)
        assert opt.threads == 3
        lib.evo_optimizer_set_option_f64(opt.handle, EVO_OPT_BASE_LR, 0.25)
        assert opt.base_lr == 0.25
        lib.evo_optimizer_set_option_i64(opt.handle, EVO_OPT_REFUSE_NONFINITE,
                                         1)
        assert opt.refuse_nonfinite is True
        lib.evo_optimizer_set_option(opt.handle, EVO_OPT_GRAD_SCALE, -0.5)
        assert opt.grad_scale == -0.5
        lib.evo_optimizer_set_param_option(opt.handle, 0, EVO_PARAM_FROZEN,
                                           1.0)
        lib.evo_optimizer_set_param_option(opt.handle, 0, EVO_PARAM_LR_SCALE,
                                           0.5)
        assert opt.param_options(0) == {"lr_scale": 0.5,
                                        "weight_decay": True,
                                        "frozen": True}
        # ... and the other way: Python writes, the 0.1 C getters read.
        opt.total_steps = 77
        steps = ctypes.c_uint64()
        lib.evo_optimizer_get_total_steps(opt.handle, ctypes.byref(steps))
        assert steps.value == 77
        opt.threads = 2
        value = ctypes.c_double()
        lib.evo_optimizer_get_option(opt.handle, EVO_OPT_THREADS,
                                     ctypes.byref(value))
        assert value.value == 2.0
        with pytest.raises(ValueError, match="whole number"):
            opt.threads = 2.5
        with pytest.raises(evoopt.OutOfRangeError, match="EVO_OPT_THREADS"):
            opt.threads = 257
        assert opt.threads == 2
        # A clone's total steps are the library's copy, not Python's.
        with opt.clone() as twin:
            assert twin.total_steps == 77


def test_task_reads_what_c_wrote(no_leaks):
    with Task("digits") as task:
        lib.evo_task_set_option(task.handle, EVO_TASK_BATCH_SIZE, 17)
        assert task.batch_size == 17
        lib.evo_task_set_option_i64(task.handle, EVO_TASK_RECORD_CURVE, 1)
        assert task.record_curve is True
        task.batch_size = 4096
        out = ctypes.c_int64()
        lib.evo_task_get_option(task.handle, EVO_TASK_BATCH_SIZE,
                                ctypes.byref(out))
        assert out.value == 4096
        with pytest.raises(evoopt.OutOfRangeError,
                           match="EVO_TASK_BATCH_SIZE"):
            task.batch_size = 4097
        assert task.batch_size == 4096


def test_evaluator_reads_what_c_wrote(no_leaks):
    with Evaluator(["digits"], steps=30, seeds=2) as ev:
        lib.evo_evaluator_set_steps(ev.handle, 41)
        lib.evo_evaluator_set_seeds(ev.handle, 3)
        assert (ev.steps, ev.seeds) == (41, 3)
        assert ev.rungs == [] and ev.rung_count == 1
        lib.evo_evaluator_set_rung(ev.handle, 0, 5, 1, 100)
        assert ev.rungs == [(5, 1, 100)] and ev.rung_count == 2
        ev.set_rung(1, "7x2")
        ev.set_rung(0, (6, 1, 50))   # redefining keeps the rest
        assert ev.rungs == [(6, 1, 50), (7, 2, 0)]
        with pytest.raises(evoopt.OutOfRangeError):
            ev.seeds = 0
        assert ev.seeds == 3


def test_population_reads_what_c_wrote(no_leaks, tmp_path):
    with Population() as pop:
        lib.evo_population_set(pop.handle, EVO_POP_SIZE, 9)
        assert pop.size == 9
        lib.evo_population_set_option_i64(pop.handle, EVO_POP_ALGORITHM, 1)
        assert pop.algorithm == "random"
        lib.evo_population_set(pop.handle, EVO_POP_RUN_SEED, -1)
        assert pop.run_seed == 2 ** 64 - 1   # its 64 bits
        assert pop.checkpoint is None and pop.checkpoint_tag is None
        path = os.path.join(str(tmp_path), "c.evo")
        lib.evo_population_set_checkpoint(pop.handle, path.encode(), b"t1")
        assert (pop.checkpoint, pop.checkpoint_tag) == (path, "t1")
        pop.set_checkpoint(None)
        assert pop.checkpoint is None
        pop.size = 12
        out = ctypes.c_int64()
        lib.evo_population_get(pop.handle, EVO_POP_SIZE, ctypes.byref(out))
        assert out.value == 12


def test_blas_threads_read_from_the_library():
    before = evoopt.blas_threads()
    assert before >= 1
    evoopt.set_blas_threads(1)
    assert evoopt.blas_threads() == 1
    n = ctypes.c_int()
    lib.evo_blas_get_threads(ctypes.byref(n))
    assert n.value == 1
    evoopt.set_blas_threads(before)


def test_numbers_the_c_type_cannot_hold_are_refused(no_leaks):
    # ctypes passes 2**64 + 32 to an int64_t as 32 and -1 to a uint32_t as
    # 2**32 - 1: each must be refused, the setting left as it was.
    with Task("digits") as task, Optimizer("adam") as opt, \
            Evaluator(["digits"], steps=30, seeds=2) as ev:
        task.batch_size = 17
        for bad in (2 ** 64 + 32, -2 ** 64 + 32, 2 ** 63):
            with pytest.raises(evoopt.OutOfRangeError, match="64-bit"):
                task.batch_size = bad
        assert task.batch_size == 17
        with pytest.raises(evoopt.OutOfRangeError, match="64-bit"):
            opt.threads = 2 ** 64 + 1
        with pytest.raises(evoopt.OutOfRangeError, match="unsigned"):
            opt.total_steps = -1
        with pytest.raises(evoopt.OutOfRangeError, match="64-bit unsigned"):
            ev.steps = 2 ** 64 + 41
        with pytest.raises(evoopt.OutOfRangeError, match="32-bit unsigned"):
            ev.seeds = 2 ** 32 + 3
        with pytest.raises(evoopt.OutOfRangeError, match="32-bit unsigned"):
            ev.seeds = -1
        assert (ev.steps, ev.seeds) == (30, 2)
        before = evoopt.blas_threads()
        with pytest.raises(evoopt.OutOfRangeError, match="32-bit signed"):
            evoopt.set_blas_threads(2 ** 32 + 1)
        assert evoopt.blas_threads() == before
        task.batch_size = 2 ** 5 + 0.0   # a whole float still passes
        assert task.batch_size == 32


def test_option_bounds_as_the_headers_state():
    # optimizer.h, task.h, population.h (stated by hand)
    assert option_bounds("optimizer", EVO_OPT_THREADS) == (False, 1, 256)
    assert option_bounds("optimizer", EVO_OPT_BASE_LR)[:2] == (True, 0.0)
    assert option_bounds("task", EVO_TASK_BATCH_SIZE) == (False, 1, 4096)
    assert option_bounds("population", EVO_POP_SIZE) == (False, 2, 10 ** 6)
    b = OptionBounds()
    lib.evo_optimizer_option_bounds(EVO_OPT_GRAD_SCALE, ctypes.byref(b))
    assert b.is_real == 1 and b.min_magnitude == pytest.approx(1.17549435e-38)
    with pytest.raises(evoopt.InvalidArgumentError):
        lib.evo_task_option_bounds(99, ctypes.byref(b))
    # the call of the other type is refused, naming the right one
    with Task("digits") as task:
        with pytest.raises(evoopt.InvalidArgumentError, match="_i64"):
            lib.evo_task_set_option_f64(task.handle, EVO_TASK_BATCH_SIZE,
                                        32.0)

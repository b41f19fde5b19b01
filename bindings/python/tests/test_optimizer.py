"""The NumPy optimizer against doc/algorithm.md §2 written out in NumPy."""

import copy
import gc
import math
import weakref

import numpy as np
import pytest

import evoopt
from evoopt import Optimizer


def grads_sequence(n, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) for _ in range(steps)]


def test_plain_sgd_matches_formula(no_leaks):
    # genome.h: plain-sgd is p -= 1e-2 g.
    p = np.linspace(-1, 1, 11).astype(np.float32)
    g = np.zeros_like(p)
    expected = p.astype(np.float64)
    with Optimizer("plain-sgd") as opt:
        assert opt.add(p, g) == 0 and len(opt) == 1
        for grad in grads_sequence(p.size, 20):
            g[:] = grad
            opt.step()
            expected -= 1e-2 * grad
        assert opt.step_count == 20
    np.testing.assert_allclose(p, expected, rtol=1e-6, atol=1e-6)


def adam_reference(p, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=1e-4):
    """doc/algorithm.md §2 with the adam preset's genes, in float64."""
    p = p.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64)
        p *= 1 - lr * wd
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p -= lr * mh / (np.sqrt(vh) + eps)
    return p


def test_adam_matches_formula(no_leaks):
    p = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    g = np.zeros_like(p)
    grads = [x.reshape(4, 5) for x in grads_sequence(20, 30, seed=2)]
    expected = adam_reference(p, grads)
    with Optimizer("adam") as opt:
        opt.add(p, g)
        for grad in grads:
            g[...] = grad
            opt.step()
    np.testing.assert_allclose(p, expected, rtol=2e-6, atol=1e-6)


def test_per_tensor_options(no_leaks):
    a, b = np.ones(4, np.float32), np.ones(4, np.float32)
    ga, gb = np.full(4, 2.0, np.float32), np.full(4, 2.0, np.float32)
    with Optimizer("plain-sgd") as opt:
        opt.add(a, ga)
        opt.add(b, gb, lr_scale=0.5, weight_decay=False)
        assert opt.param_options(1) == {"lr_scale": 0.5,
                                        "weight_decay": False,
                                        "frozen": False}
        assert opt.param_options(0) == {"lr_scale": 1.0, "weight_decay": True,
                                        "frozen": False}
        opt.step()
    np.testing.assert_allclose(a, 1 - 1e-2 * 2, rtol=1e-7)
    np.testing.assert_allclose(b, 1 - 0.5e-2 * 2, rtol=1e-7)


@pytest.mark.parametrize("params, message", [
    (np.ones(4, np.float64), "float32"),
    (np.ones(4, np.int32), "float32"),
    (np.ones((4, 4), np.float32)[:, 1], "contiguous"),
    (np.ones((4, 4), np.float32).T, "contiguous"),
    ([1.0, 2.0], "NumPy array"),
])
def test_refuses_arrays_it_cannot_update_in_place(params, message):
    with Optimizer("adam") as opt:
        with pytest.raises(TypeError, match=message):
            opt.add(params, np.ones(4, np.float32))
        assert len(opt) == 0


def test_refuses_read_only_and_mismatched(no_leaks):
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    with Optimizer("adam") as opt:
        with pytest.raises(TypeError, match="writable"):
            opt.add(ro, np.ones(4, np.float32))
        with pytest.raises(ValueError, match="elements"):
            opt.add(np.ones(4, np.float32), np.ones(5, np.float32))


def test_keeps_registered_arrays_alive(no_leaks):
    opt = Optimizer("plain-sgd")
    p, g = np.ones(1000, np.float32), np.ones(1000, np.float32)
    wp = weakref.ref(p)
    opt.add(p, g)
    del p, g
    gc.collect()
    assert wp() is not None  # the optimizer holds it
    opt.step()
    np.testing.assert_allclose(wp(), 0.99, rtol=1e-7)
    opt.close()
    del opt
    gc.collect()
    assert wp() is None


def run(opt, params, grads_buf, grads):
    for grad in grads:
        grads_buf[:] = grad
        opt.step()
    return params


def test_state_round_trip_is_bit_identical(no_leaks, tmp_path):
    grads = grads_sequence(16, 20, seed=3)
    init = np.random.default_rng(4).standard_normal(16).astype(np.float32)

    p1, g1 = init.copy(), np.zeros(16, np.float32)
    with Optimizer("paper-evolved", total_steps=20) as a:
        a.add(p1, g1)
        run(a, p1, g1, grads[:10])
        blob = a.state_bytes()
        a.save(tmp_path / "state.bin")
        run(a, p1, g1, grads[10:])

    for restore in ("bytes", "file"):
        p2, g2 = init.copy(), np.zeros(16, np.float32)
        # Parameters are not part of the state: replay them.
        with Optimizer("paper-evolved", total_steps=20) as b:
            b.add(p2, g2)
            run(b, p2, g2, grads[:10])
            p_mid = p2.copy()
        p2[:] = p_mid
        with Optimizer("paper-evolved", total_steps=20) as b:
            b.add(p2, g2)
            if restore == "bytes":
                b.load_state_bytes(blob)
            else:
                b.load(tmp_path / "state.bin")
            assert b.step_count == 10
            run(b, p2, g2, grads[10:])
        assert np.array_equal(p1, p2)


def test_state_mismatch_and_damage(no_leaks):
    with Optimizer("adam") as a, Optimizer("adam") as b, \
            Optimizer("sgd") as c:
        a.add(np.ones(4, np.float32), np.ones(4, np.float32))
        b.add(np.ones(5, np.float32), np.ones(5, np.float32))
        c.add(np.ones(4, np.float32), np.ones(4, np.float32))
        blob = a.state_bytes()
        with pytest.raises(evoopt.MismatchError):
            b.load_state_bytes(blob)
        with pytest.raises(evoopt.MismatchError):
            c.load_state_bytes(blob)
        damaged = bytearray(blob)
        damaged[len(damaged) // 2] ^= 0xFF
        with pytest.raises(evoopt.FormatError):
            a.load_state_bytes(bytes(damaged))
        with pytest.raises(evoopt.FormatError):
            a.load_state_bytes(b"not a state")


def test_lr_follows_warmup_and_cosine(no_leaks):
    # doc/algorithm.md §2: eta_s = eta * (s+1)/W * 0.5 (1 + cos(pi s / S)).
    eta, W, S = 10 ** -2.9198932483267144, 100, 400
    with Optimizer("paper-evolved", total_steps=S) as opt:
        opt.add(np.zeros(3, np.float32), np.zeros(3, np.float32))
        for s in range(5):
            cosine = 0.5 * (1 + math.cos(math.pi * s / S))
            expected = eta * (s + 1) / W * cosine
            assert opt.lr == pytest.approx(expected, rel=1e-12)
            opt.step()
        opt.base_lr = 0.1
        assert opt.base_lr == 0.1
        assert opt.lr == pytest.approx(0.1 * 6 / W * 0.5 *
                                       (1 + math.cos(math.pi * 5 / S)))


def test_cosine_needs_total_steps(no_leaks):
    with Optimizer("paper-evolved") as opt:
        opt.add(np.zeros(3, np.float32), np.zeros(3, np.float32))
        with pytest.raises(evoopt.StateError):
            opt.step()
        opt.total_steps = 10
        opt.step()
        assert opt.total_steps == 10


def test_empty_optimizer_cannot_step(no_leaks):
    with Optimizer("adam") as opt:
        with pytest.raises(evoopt.StateError):
            opt.step()


def test_refuse_nonfinite(no_leaks):
    p = np.ones(3, np.float32)
    g = np.array([1, np.nan, 1], np.float32)
    with Optimizer("plain-sgd", refuse_nonfinite=True) as opt:
        assert opt.refuse_nonfinite
        opt.add(p, g)
        with pytest.raises(evoopt.NonFiniteError):
            opt.step()
        assert np.array_equal(p, np.ones(3, np.float32))
        assert opt.step_count == 0


def test_rebind_keeps_moments(no_leaks):
    # sgd keeps m = 0.9 m + 0.1 g; p -= 1e-2 m (plus decay 1e-4).
    g1 = np.ones(2, np.float32)
    p1 = np.zeros(2, np.float32)
    with Optimizer("sgd") as opt:
        opt.add(p1, g1)
        opt.step()                       # m = 0.1
        p2, g2 = np.zeros(2, np.float32), np.ones(2, np.float32)
        opt.rebind(0, p2, g2)
        opt.step()                       # m = 0.19 on the new memory
        with pytest.raises(ValueError):
            opt.rebind(0, np.zeros(3, np.float32), np.zeros(3, np.float32))
    np.testing.assert_allclose(p1, -1e-2 * 0.1, rtol=1e-6)
    np.testing.assert_allclose(p2, -1e-2 * 0.19, rtol=1e-6)


def test_threads_give_identical_results(no_leaks):
    # EVO_OPT_THREADS splits the tensors; an element-wise update must give
    # the same bits for any thread count.
    n = 300_001
    results = []
    for threads in (1, 2):
        p = np.linspace(-1, 1, n).astype(np.float32)
        g = np.zeros_like(p)
        with Optimizer("paper-evolved", total_steps=5, threads=threads) as opt:
            assert opt.threads == threads
            opt.add(p, g)
            for grad in grads_sequence(n, 5, seed=3):
                g[:] = grad
                opt.step()
        results.append(p.copy())
    assert np.array_equal(results[0], results[1])
    with Optimizer("adam") as opt:
        with pytest.raises(evoopt.OutOfRangeError):
            opt.threads = 0


# --- gradients given at step time, per-tensor steps, scale, frozen, clones --
def test_set_grad_holds_the_array_until_the_step(no_leaks):
    # plain-sgd: p -= 1e-2 g; the tensor has no bound gradient array.
    p = np.zeros(4, np.float32)
    with Optimizer("plain-sgd") as opt:
        assert opt.add(p) == 0 and opt.arrays(0)[1] is None
        g = np.full(4, 2.0, np.float32)
        wg = weakref.ref(g)
        opt.set_grad(0, g)
        del g
        gc.collect()
        assert wg() is not None          # the library has only the address
        opt.step()
        gc.collect()
        assert wg() is None              # used by one step, then let go
        np.testing.assert_allclose(p, -2e-2, rtol=1e-6)
        # The next step has no gradient for the only tensor: refused.
        with pytest.raises(evoopt.StateError):
            opt.step()
        np.testing.assert_allclose(p, -2e-2, rtol=1e-6)
        with pytest.raises(ValueError):
            opt.set_grad(0, np.zeros(5, np.float32))
        with pytest.raises(IndexError):
            opt.set_grad(1, np.zeros(4, np.float32))
        opt.set_grad(0, np.ones(4, np.float32))
        opt.set_grad(0, None)            # taken back
        with pytest.raises(evoopt.StateError):
            opt.step()


def test_step_with_grads_skips_tensors_without_one(no_leaks):
    a, b = np.ones(2, np.float32), np.ones(3, np.float32)
    bound = np.full(3, 4.0, np.float32)
    with Optimizer("plain-sgd") as opt:
        opt.add(a)
        opt.add(b, bound)
        opt.step(grads=[np.full(2, 1.0, np.float32), None])
        # a: 1 - 1e-2 * 1; b from its bound array: 1 - 1e-2 * 4.
        np.testing.assert_allclose(a, 0.99, rtol=1e-6)
        np.testing.assert_allclose(b, 0.96, rtol=1e-6)
        opt.step(grads=[None, np.full(3, 1.0, np.float32)])
        np.testing.assert_allclose(a, 0.99, rtol=1e-6)   # skipped
        np.testing.assert_allclose(b, 0.95, rtol=1e-6)   # given beats bound
        with pytest.raises(ValueError):
            opt.step(grads=[None])
        with pytest.raises(ValueError):
            opt.step(grads=[np.ones(3, np.float32), None])
        with pytest.raises(TypeError):
            opt.step(grads=[np.ones(2, np.float64), None])
        assert opt.step_count == 2


def test_step_tensor_is_bit_identical_to_step(no_leaks):
    grads = [grads_sequence(n, 4, seed=n) for n in (5, 7)]
    init = [np.linspace(-1, 1, n).astype(np.float32) for n in (5, 7)]
    whole = [x.copy() for x in init]
    one = [x.copy() for x in init]
    with Optimizer("adam") as a, Optimizer("adam") as b:
        for k in range(2):
            a.add(whole[k])
            b.add(one[k])
        for s in range(4):
            a.step(grads=[grads[0][s], grads[1][s]])
            b.step_tensor(1, grads[1][s])          # any order
            assert b.step_count == s               # round still open
            b.step_tensor(0, grads[0][s])
            assert b.step_count == s + 1           # closed
        with pytest.raises(evoopt.StateError):
            b.step_tensor(0)                       # no gradient
        with pytest.raises(IndexError):
            b.step_tensor(2, grads[0][0])
    for k in range(2):
        assert np.array_equal(whole[k], one[k])


def test_grad_scale(no_leaks):
    p = np.zeros(3, np.float32)
    g = np.array([1, -2, 4], np.float32)
    with Optimizer("plain-sgd") as opt:
        assert opt.grad_scale == 1.0
        opt.grad_scale = -0.25           # darknet-style: -1/batch, batch 4
        assert opt.grad_scale == -0.25
        opt.add(p, g)
        opt.step()
        # p -= 1e-2 * (-0.25 g)
        np.testing.assert_allclose(p, [2.5e-3, -5e-3, 1e-2], rtol=1e-6)
        np.testing.assert_array_equal(g, [1, -2, 4])   # not changed
        for bad in (0.0, float("nan"), float("inf"), 1e-39):
            with pytest.raises(evoopt.OutOfRangeError):
                opt.grad_scale = bad
        assert opt.grad_scale == -0.25
        state = opt.state_bytes()
    with Optimizer("plain-sgd") as other:
        other.add(np.zeros(3, np.float32), g)
        other.load_state_bytes(state)
        assert other.grad_scale == -0.25


def test_frozen_tensor_is_left_alone(no_leaks):
    # sgd: m = 0.9 m + 0.1 g; p -= 1e-2 m, after decay p *= 1 - 1e-2 * 1e-4.
    a, b = np.ones(2, np.float32), np.ones(2, np.float32)
    g = np.ones(2, np.float32)
    with Optimizer("sgd") as opt:
        opt.add(a, g)
        opt.add(b, g, frozen=True)
        assert opt.frozen(1) and not opt.frozen(0)
        assert opt.param_options(1)["frozen"] is True
        opt.step()
        opt.step()
        assert np.array_equal(b, np.ones(2, np.float32))
        opt.freeze(1, False)
        assert opt.param_options(1) == {"lr_scale": 1.0,
                                        "weight_decay": True,
                                        "frozen": False}
        opt.step()
        # b's first step: decay, then m = 0.1, p -= 1e-3.
        np.testing.assert_allclose(b, (1 - 1e-6) - 1e-3, rtol=1e-6)
        opt.freeze(0)
        opt.freeze(1)
        with pytest.raises(evoopt.StateError):
            opt.step()                   # every tensor frozen


def test_clone_binds_copies(no_leaks):
    grads = grads_sequence(6, 6, seed=9)
    p = np.linspace(-1, 1, 6).astype(np.float32)
    g = np.zeros_like(p)
    with Optimizer("adam", total_steps=100) as opt:
        opt.grad_scale = 0.5
        opt.add(p, g, lr_scale=0.5)
        for grad in grads[:3]:
            g[:] = grad
            opt.step()
        with opt.clone() as twin:
            cp, cg = twin.arrays(0)
            assert cp is not p and cg is not g
            assert np.array_equal(cp, p)
            assert twin.step_count == 3 and twin.total_steps == 100
            assert twin.grad_scale == 0.5
            assert twin.param_options(0)["lr_scale"] == 0.5
            before = p.copy()
            for grad in grads[3:]:
                cg[:] = grad
                twin.step()
            assert np.array_equal(p, before)   # the original's untouched
            for grad in grads[3:]:
                g[:] = grad
                opt.step()
            assert np.array_equal(p, cp)       # bit-identical
        # deepcopy of a model holding the arrays and the optimizer binds
        # the copied optimizer to the copied arrays.
        model = {"p": p, "g": g, "opt": opt}
        twin_model = copy.deepcopy(model)
        try:
            tp, tg = twin_model["opt"].arrays(0)
            assert tp is twin_model["p"] and tg is twin_model["g"]
            before = p.copy()
            tg[:] = 1.0
            twin_model["opt"].step()
            assert np.array_equal(p, before)
            assert not np.array_equal(tp, before)
        finally:
            twin_model["opt"].close()
        with pytest.raises(TypeError):
            copy.copy(opt)

"""The NumPy optimizer against doc/algorithm.md §2 written out in NumPy."""

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
                                        "weight_decay": False}
        assert opt.param_options(0) == {"lr_scale": 1.0, "weight_decay": True}
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

"""The PyTorch adapter against torch.optim.AdamW and in training loops."""

import copy
import io

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch (Debian's python3-torch) is not installed")

import evoopt  # noqa: E402
import evoopt.datasets  # noqa: E402
from evoopt.torch import EvoOptimizer  # noqa: E402

F = torch.nn.functional


def mlp(seed=0, inputs=64, hidden=32):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(inputs, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, 10))


def batch(seed=1, n=128, inputs=64):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, inputs, generator=gen),
            torch.randint(0, 10, (n,), generator=gen))


def train_pair(m1, o1, m2, o2, steps, set_to_none=False, sched=()):
    x, y = batch()
    for _ in range(steps):
        for m, o in ((m1, o1), (m2, o2)):
            o.zero_grad(set_to_none=set_to_none)
            F.cross_entropy(m(x), y).backward()
            o.step()
        for s in sched:
            s.step()


def assert_same_params(m1, m2, rel=1e-6):
    """Each tensor within ``rel`` of its largest magnitude, elementwise."""
    for a, b in zip(m1.parameters(), m2.parameters()):
        scale = a.detach().abs().max().item()
        assert (a - b).abs().max().item() <= rel * scale


def test_adamw_genome_matches_torch_adamw(no_leaks):
    # genome.h: 'adamw' equals AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    # weight_decay=1e-2).
    m1 = mlp()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.AdamW(m1.parameters(), lr=1e-3, betas=(0.9, 0.999),
                           eps=1e-8, weight_decay=1e-2)
    o2 = EvoOptimizer(m2.parameters(), genome="adamw")
    assert o2.param_groups[0]["lr"] == pytest.approx(1e-3)
    train_pair(m1, o1, m2, o2, 50)
    assert_same_params(m1, m2)
    moved = sum((a - b).abs().sum().item() for a, b in
                zip(m2.parameters(), mlp().parameters()))
    assert moved > 0.1  # the test is not vacuous
    del o2


def test_param_groups_lr_and_decay(no_leaks):
    # Group 1: lr 1e-2 without decay; decay_biases=False in group 0 exempts
    # the bias of the first layer.
    m1 = mlp()
    m2 = copy.deepcopy(m1)
    l1, l2 = m1[0], m1[2]
    o1 = torch.optim.AdamW([
        {"params": [l1.weight]},
        {"params": [l1.bias], "weight_decay": 0.0},
        {"params": list(l2.parameters()), "lr": 1e-2, "weight_decay": 0.0},
    ], lr=1e-3, weight_decay=1e-2)
    k1, k2 = m2[0], m2[2]
    o2 = EvoOptimizer([
        {"params": list(k1.parameters()), "decay_biases": False},
        {"params": list(k2.parameters()), "lr": 1e-2,
         "weight_decay": False},
    ], genome="adamw")
    train_pair(m1, o1, m2, o2, 30)
    assert_same_params(m1, m2)


def test_scheduler_changes_lr(no_leaks):
    # plain-sgd: p -= lr g, with lr from the group: compare with torch SGD
    # under the same StepLR schedule.
    m1 = mlp()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.SGD(m1.parameters(), lr=0.05)
    o2 = EvoOptimizer(m2.parameters(), genome="plain-sgd", lr=0.05)
    s1 = torch.optim.lr_scheduler.StepLR(o1, step_size=3, gamma=0.5)
    s2 = torch.optim.lr_scheduler.StepLR(o2, step_size=3, gamma=0.5)
    train_pair(m1, o1, m2, o2, 10, sched=(s1, s2))
    assert o2.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** 3)
    assert_same_params(m1, m2)


def test_set_to_none_rebinds_gradients(no_leaks):
    m1 = mlp()
    m2 = copy.deepcopy(m1)
    o1 = EvoOptimizer(m1.parameters(), genome="adam")
    o2 = EvoOptimizer(m2.parameters(), genome="adam")
    x, y = batch()
    for _ in range(5):
        o1.zero_grad(set_to_none=False)
        F.cross_entropy(m1(x), y).backward()
        o1.step()
        o2.zero_grad(set_to_none=True)  # a new .grad tensor every time
        F.cross_entropy(m2(x), y).backward()
        o2.step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_state_dict_round_trip(no_leaks):
    x, y = batch()

    def steps(m, o, n):
        for _ in range(n):
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()

    m1 = mlp()
    o1 = EvoOptimizer(m1.parameters(), genome="paper-evolved",
                      total_steps=20)
    steps(m1, o1, 10)
    buf = io.BytesIO()
    torch.save({"model": m1.state_dict(), "opt": o1.state_dict()}, buf)
    steps(m1, o1, 10)

    buf.seek(0)
    saved = torch.load(buf)
    m2 = mlp(seed=5)
    m2.load_state_dict(saved["model"])
    o2 = EvoOptimizer(m2.parameters(), genome="paper-evolved",
                      total_steps=20)
    o2.load_state_dict(saved["opt"])  # before the first step: deferred
    steps(m2, o2, 10)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    o3 = EvoOptimizer(mlp().parameters(), genome="adam")
    with pytest.raises(ValueError, match="another genome"):
        o3.load_state_dict(saved["opt"])


def test_parameters_without_gradients_are_skipped(no_leaks):
    m = mlp()
    frozen = m[0].weight
    frozen.requires_grad_(False)
    before = frozen.detach().clone()
    o = EvoOptimizer(m.parameters(), genome="adamw")
    x, y = batch()
    for _ in range(3):
        o.zero_grad()
        F.cross_entropy(m(x), y).backward()
        o.step()
    assert torch.equal(frozen, before)  # no decay either
    assert not torch.equal(m[2].weight, mlp()[2].weight)


def test_refuses_what_it_cannot_update_in_place():
    with pytest.raises(TypeError, match="float32"):
        EvoOptimizer(mlp().double().parameters(), genome="adam")
    with pytest.raises(ValueError, match="total_steps"):
        EvoOptimizer(mlp().parameters(), genome="paper-evolved")
    with pytest.raises(ValueError, match="wd_log10"):
        EvoOptimizer(mlp().parameters(), genome="adam", weight_decay=0.01)


def test_refuse_nonfinite_raises(no_leaks):
    m = mlp()
    o = EvoOptimizer(m.parameters(), genome="adam", refuse_nonfinite=True)
    for p in m.parameters():
        p.grad = torch.full_like(p, float("nan"))
    with pytest.raises(evoopt.NonFiniteError):
        o.step()


def load_digits_tensors():
    images, labels = evoopt.datasets.load_digits()
    x = torch.from_numpy(images)
    x = (x - x.mean()) / x.std()
    return x, torch.from_numpy(labels)


def test_training_loop_on_digits(no_leaks):
    x, y = load_digits_tensors()
    n = evoopt.datasets.DIGITS_TRAIN
    model = mlp(seed=3)
    steps = 120
    opt = EvoOptimizer(model.parameters(), genome="paper-evolved",
                       total_steps=steps)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, n, (64,), generator=gen)
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model(x[n:]).argmax(1) == y[n:]).float().mean().item()
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10])
    assert accuracy > 0.8  # chance is 0.1

#!/usr/bin/python3
"""Parity of the small-CNN engine with PyTorch (issue 3, "Exactness").

Usage: nn_parity.py PATH/TO/nn_parity_dump [ARCH ...]

For each network (default: small_cnn, cifar10_cnn, digits_cnn) the C
program nn_parity_dump initialises the net from a seed, draws batches and
writes the weights, inputs and its outputs. This script builds the network
exactly as doc/algorithm.md §3 states, as a torch.nn.Module, loads the same
weights and compares:
  training mode (dropout off, batch norm on batch statistics): logits, loss,
    every parameter gradient, the running statistics after one and after two
    forward passes;
  evaluation mode (running statistics): logits and loss.

Comparison, per tensor a (ours) against b (PyTorch), both of:
    |a - b|_2   <= TOL * |b|_2   + ATOL * |G|_2      (norm-relative)
    max|a - b|  <= TOL * max|b|  + ATOL * max|G|     (element-wise)
with TOL = 1e-4 (TOL_STATS = 1e-6 for the running statistics: the
unbiased variance's factor m/(m-1) differs from 1 by only ~1e-4 here, times
the momentum 0.1). ATOL is 0 except for gradients, where G is the whole
gradient of the net and ATOL = 1e-6: the bias of a conv followed by batch
norm has an exact gradient of 0, which both sides only approximate with
rounding noise (~1e-7 of the gradient's scale). The printed error is the
larger of the two ratios left side / right side (must be <= 1).
Exit 0 when everything matches, 1 otherwise, 77 (skip) when torch cannot be
imported.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reflib  # noqa: E402

TOL = 1e-4
TOL_STATS = 1e-6
ATOL = 1e-6

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # skip, as meson expects
    print(f"SKIP: PyTorch/numpy not importable ({e})")
    sys.exit(77)


class SmallCNN(nn.Module):
    """doc/algorithm.md §3: MNIST / Fashion-MNIST, input 1x28x28."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 256)
        self.fc2 = nn.Linear(256, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)


class Cifar10CNN(nn.Module):
    """doc/algorithm.md §3: CIFAR-10, input 3x32x32."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 8 * 8, 512)
        self.fc2 = nn.Linear(512, 10)
        self.drop1 = nn.Dropout(0.25)
        self.drop2 = nn.Dropout(0.25)
        self.drop3 = nn.Dropout(0.5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.drop1(F.max_pool2d(F.relu(self.conv2(x)), 2, 2))
        x = F.relu(self.bn2(self.conv3(x)))
        x = self.drop2(F.max_pool2d(F.relu(self.conv4(x)), 2, 2))
        x = torch.flatten(x, 1)
        x = self.drop3(F.relu(self.fc1(x)))
        return self.fc2(x)


class DigitsCNN(nn.Module):
    """doc/algorithm.md §3 "digits": input 1x8x8."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


NETS = {
    "small_cnn": (SmallCNN, (1, 28, 28)),
    "cifar10_cnn": (Cifar10CNN, (3, 32, 32)),
    "digits_cnn": (DigitsCNN, (1, 8, 8)),
}


def tensors(rec, prefix):
    """name -> (offset, size) of one arena's table, in file order."""
    return {k[len(prefix):]: (int(v[0]), int(v[1]))
            for k, v in rec.items() if k.startswith(prefix)}


def load_module(rec, arch):
    cls, shape = NETS[arch]
    model = cls()
    table, stat_table = tensors(rec, "tensor:"), tensors(rec, "stat:")
    named = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    if sorted(table) != sorted(named):
        raise SystemExit(f"FAIL {arch}: tensors {sorted(table)} != "
                         f"PyTorch's {sorted(named)}")
    with torch.no_grad():
        for name, (off, size) in table.items():
            p = named[name]
            p.copy_(torch.from_numpy(rec["params"][off:off + size]).view_as(p))
        for name, (off, size) in stat_table.items():
            b = buffers[name]
            b.copy_(torch.from_numpy(rec["stats0"][off:off + size]).view_as(b))
    return model, shape, table, stat_table


def stats_of(model, stat_table):
    buffers = dict(model.named_buffers())
    return np.concatenate([buffers[n].numpy().ravel() for n in stat_table]) \
        if stat_table else np.zeros(0, np.float32)


def compare(arch, dump_prog, seed, batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{arch}.bin")
        subprocess.run([dump_prog, arch, path, str(seed), str(batch)],
                       check=True)
        rec, _ = reflib.read_dump(path)
    model, shape, table, stat_table = load_module(rec, arch)
    check = reflib.Checker(TOL, arch)

    def batch_of(name):
        return torch.from_numpy(rec[name]).view(batch, *shape)

    # Training mode, dropout off (p = 0 makes nn.Dropout the identity).
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    logits = model(batch_of("x1"))
    loss = F.cross_entropy(logits, torch.from_numpy(rec["y1"]).long())
    loss.backward()
    check("train logits", rec["logits1"], logits.detach().numpy())
    check("train loss", rec["loss1"], [loss.item()])
    atols = check.grad_atols([p.grad.numpy() for p in model.parameters()],
                             ATOL)
    for name, p in model.named_parameters():
        off, size = table[name]
        check(f"grad {name}", rec["grads"][off:off + size], p.grad.numpy(),
              *atols)
    if stat_table:
        check("running stats after 1 pass", rec["stats1"],
              stats_of(model, stat_table), tol=TOL_STATS)
    with torch.no_grad():
        model(batch_of("x2"))
    if stat_table:
        check("running stats after 2 passes", rec["stats2"],
              stats_of(model, stat_table), tol=TOL_STATS)

    model.eval()
    with torch.no_grad():
        logits = model(batch_of("x3"))
        loss = F.cross_entropy(logits, torch.from_numpy(rec["y3"]).long())
    check("eval logits", rec["logits3"], logits.numpy())
    check("eval loss", rec["loss3"], [loss.item()])
    print(f"{arch}: {check.failures} failures; worst error {check.worst:.2e}"
          f" of the bound (TOL {TOL:g}, running stats {TOL_STATS:g},"
          f" gradient ATOL {ATOL:g})")
    return check.failures


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    dump_prog = sys.argv[1]
    archs = sys.argv[2:] or list(NETS)
    failures = 0
    for seed, arch in enumerate(archs, start=1):
        failures += compare(arch, dump_prog, seed, batch=8)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch reference trajectories for tests/test_optimizer.c
(doc/algorithm.md §4):

- `adamw`: torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
  weight_decay=1e-2), which the `adamw` preset must equal;
- `adam-nowd`: torch.optim.Adam(lr=1e-3), which the `adam-nowd` preset
  (exactly zero weight decay) must equal.

One float32 tensor of N elements, p0[i] = 0.5 cos(0.11 i + 0.2); at step s
(1-based) the gradient is g[i] = sin(0.37 i + 1.3 s), both computed in double
and rounded to float32, as the C test does.

Usage (with Debian's Python, which has torch):
  /usr/bin/python3 adamw_reference.py > adamw_reference.txt   regenerate
  /usr/bin/python3 adamw_reference.py --check adamw_reference.txt
      re-run torch and compare with the committed file (exit 0 when they
      agree within 1e-6 relative, 1 when not, 77 when torch is missing)
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reflib  # noqa: E402

N = 13  # odd: the C side's vector loops get a tail
STEPS = 20
RTOL = 1e-6


def optimizers(torch):
    return (
        ("adamw", lambda ps: torch.optim.AdamW(
            ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
            foreach=False)),
        ("adam-nowd", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=False)),
    )


def trajectories():
    """{name: {s: p after step s (0: initially)}} for s = 0 .. STEPS."""
    import torch
    torch.set_num_threads(1)
    out = {}
    for name, make in optimizers(torch):
        p = torch.tensor([0.5 * math.cos(0.11 * i + 0.2) for i in range(N)],
                         dtype=torch.float32, requires_grad=True)
        opt = make([p])
        rows = {0: p.detach().tolist()}
        for s in range(1, STEPS + 1):
            p.grad = torch.tensor(
                [math.sin(0.37 * i + 1.3 * s) for i in range(N)],
                dtype=torch.float32)
            opt.step()
            rows[s] = p.detach().tolist()
        out[name] = rows
    return out, torch.__version__


def header(version):
    return ("# PyTorch %s reference trajectories, written by "
            "tests/ref/adamw_reference.py\n" % version
            + "# p0[i] = 0.5 cos(0.11 i + 0.2); gradient at step s: "
            "sin(0.37 i + 1.3 s); float32\n"
            "# adamw: torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), "
            "eps=1e-8, weight_decay=1e-2)\n"
            "# adam-nowd: torch.optim.Adam(lr=1e-3)\n"
            "# line: <preset> <step> <p[0]> ... <p[%d]>\n" % (N - 1))


def within(x, y):
    """torch's x and the file's y agree within RTOL (relative to |x|, at
    least 1e-3)."""
    return abs(x - y) / max(abs(x), 1e-3) <= RTOL


def main():
    return reflib.trajectory_main(__doc__, trajectories, header, within)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch reference trajectories for the torch-* presets (genome.h), read
by tests/test_optimizer.c: each preset must give torch.optim's own update
with its defaults on the same gradients, within 1e-6 relative.

- torch-sgd:          torch.optim.SGD(lr=1e-3)
- torch-sgd-momentum: torch.optim.SGD(lr=1e-3, momentum=0.9)
- torch-sgd-nesterov: torch.optim.SGD(lr=1e-3, momentum=0.9, nesterov=True)
- torch-adam:         torch.optim.Adam()    (lr 1e-3, betas (0.9, 0.999),
                                             eps 1e-8, weight_decay 0)
- torch-adamw:        torch.optim.AdamW()   (the same, weight_decay 1e-2)
- torch-rmsprop:      torch.optim.RMSprop() (lr 1e-2, alpha 0.99, eps 1e-8)

Adam, AdamW and RMSprop are built with no arguments, so that the file
also records what torch's defaults are. SGD's lr has no default before
torch 2.2 and is given.

One float32 tensor of N elements; the initial parameters and the gradient
of every step are drawn from splitmix64 (seed below), each value
(k - 2^23) / 2^23 for the top 24 bits k of a draw, times a power of two:
exact in float32, so that the C test draws the very same numbers. Step s
(1-based) scales its gradient by 2^((s mod 5) - 2), from 1/4 to 4. The
file records the parameters initially, after steps 1 to 5 and after every
fifth step (RECORDED).

Usage (with Debian's Python, which has torch):
  /usr/bin/python3 torch_presets.py > torch_presets.txt   regenerate
  /usr/bin/python3 torch_presets.py --check torch_presets.txt
      re-run torch and compare with the committed file (exit 0 when they
      agree within 1e-6 relative, 1 when not, 77 when torch is missing)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reflib  # noqa: E402

N = 37  # odd, over 32: the C side's vector loops get a tail
STEPS = 50
SEED = 0x5EED2024
RTOL = 1e-6
ATOL = 1e-9  # for elements that pass near zero
MASK = (1 << 64) - 1


def recorded(s):
    """The steps whose parameters the file holds."""
    return s <= 5 or s % 5 == 0


class SplitMix64:
    """splitmix64 (Steele, Lea, Flood 2014), as tests/test_optimizer.c."""

    def __init__(self, seed):
        self.x = seed & MASK

    def next(self):
        self.x = (self.x + 0x9E3779B97F4A7C15) & MASK
        z = self.x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unit(self):
        """(k - 2^23) / 2^23 in [-1, 1), exact in float32."""
        return ((self.next() >> 40) - (1 << 23)) / float(1 << 23)


def draws():
    """(p0, [g_1, ..., g_STEPS]) as lists of floats, all exact in float32."""
    rng = SplitMix64(SEED)
    p0 = [0.5 * rng.unit() for _ in range(N)]
    grads = []
    for s in range(1, STEPS + 1):
        amp = 2.0 ** ((s % 5) - 2)
        grads.append([amp * rng.unit() for _ in range(N)])
    return p0, grads


def optimizers(torch):
    o = torch.optim
    return (
        ("torch-sgd", lambda ps: o.SGD(ps, lr=1e-3)),
        ("torch-sgd-momentum", lambda ps: o.SGD(ps, lr=1e-3, momentum=0.9)),
        ("torch-sgd-nesterov",
         lambda ps: o.SGD(ps, lr=1e-3, momentum=0.9, nesterov=True)),
        ("torch-adam", lambda ps: o.Adam(ps)),
        ("torch-adamw", lambda ps: o.AdamW(ps)),
        ("torch-rmsprop", lambda ps: o.RMSprop(ps)),
    )


def trajectories():
    """{name: {s: p after step s (0: initially)}} for the recorded s."""
    import torch
    torch.set_num_threads(1)
    p0, grads = draws()
    out = {}
    for name, make in optimizers(torch):
        p = torch.tensor(p0, dtype=torch.float32, requires_grad=True)
        opt = make([p])
        rows = {0: p.detach().tolist()}
        for s, g in enumerate(grads, start=1):
            p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
            if recorded(s):
                rows[s] = p.detach().tolist()
        out[name] = rows
    return out, torch.__version__


def header(version):
    return ("# PyTorch %s reference trajectories, written by "
            "tests/ref/torch_presets.py\n" % version
            + "# p0 and gradients: splitmix64 seed 0x%X (see the script); "
            "float32; %d steps\n" % (SEED, STEPS)
            + "# line: <preset> <step> <p[0]> ... <p[%d]>\n" % (N - 1))


def within(x, y):
    """torch's x and the file's y agree within RTOL relative plus ATOL."""
    return abs(x - y) <= RTOL * abs(x) + ATOL


def main():
    return reflib.trajectory_main(__doc__, trajectories, header, within)


if __name__ == "__main__":
    sys.exit(main())

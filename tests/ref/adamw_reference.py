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
import sys

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
    """{name: [p after step 0 (initial), 1, ..., STEPS]} as float lists."""
    import torch
    torch.set_num_threads(1)
    out = {}
    for name, make in optimizers(torch):
        p = torch.tensor([0.5 * math.cos(0.11 * i + 0.2) for i in range(N)],
                         dtype=torch.float32, requires_grad=True)
        opt = make([p])
        rows = [p.detach().tolist()]
        for s in range(1, STEPS + 1):
            p.grad = torch.tensor(
                [math.sin(0.37 * i + 1.3 * s) for i in range(N)],
                dtype=torch.float32)
            opt.step()
            rows.append(p.detach().tolist())
        out[name] = rows
    return out, torch.__version__


def write(out, version, f):
    f.write("# PyTorch %s reference trajectories, written by "
            "tests/ref/adamw_reference.py\n" % version)
    f.write("# p0[i] = 0.5 cos(0.11 i + 0.2); gradient at step s: "
            "sin(0.37 i + 1.3 s); float32\n")
    f.write("# adamw: torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), "
            "eps=1e-8, weight_decay=1e-2)\n")
    f.write("# adam-nowd: torch.optim.Adam(lr=1e-3)\n")
    f.write("# line: <preset> <step> <p[0]> ... <p[%d]>\n" % (N - 1))
    for name, rows in out.items():
        for s, row in enumerate(rows):
            f.write("%s %d %s\n" % (name, s,
                                    " ".join("%.9g" % x for x in row)))


def read(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split()
            rows = out.setdefault(fields[0], [])
            if int(fields[1]) != len(rows):
                raise ValueError("%s: %s step %s out of order"
                                 % (path, fields[0], fields[1]))
            rows.append([float(x) for x in fields[2:]])
    return out


def check(path):
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIP: torch is not importable by %s" % sys.executable)
        return 77
    fresh, version = trajectories()
    stored = read(path)
    if sorted(stored) != sorted(fresh):
        print("FAIL: %s holds %s, torch gives %s"
              % (path, sorted(stored), sorted(fresh)))
        return 1
    worst = 0.0
    for name, rows in fresh.items():
        if len(stored[name]) != len(rows):
            print("FAIL: %s: %d steps stored, %d expected"
                  % (name, len(stored[name]), len(rows)))
            return 1
        for s, (a, b) in enumerate(zip(rows, stored[name])):
            for i, (x, y) in enumerate(zip(a, b)):
                err = abs(x - y) / max(abs(x), 1e-3)
                worst = max(worst, err)
                if err > RTOL:
                    print("FAIL: %s step %d element %d: torch %s gives %.9g, "
                          "file %.9g" % (name, s, i, version, x, y))
                    return 1
    print("ok: %s matches torch %s (worst relative difference %.2g)"
          % (path, version, worst))
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check(sys.argv[2])
    if len(sys.argv) != 1:
        print(__doc__)
        return 2
    out, version = trajectories()
    write(out, version, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

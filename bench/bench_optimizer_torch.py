#!/usr/bin/python3
"""Time per step of torch.optim.Adam(foreach=True) on one float32 tensor, for
bench_optimizer.c, which runs this through popen and reads the last line:

  torch <version> threads <n> ms_per_step <best> triad_ms <best>

Each step is preceded by a triad a = b + s*c (torch.add(..., out=a)) on
tensors of the same size, so that the C side can compare the two runs under
the same machine load (the machine may be shared). The triad runs on
torch's intra-op threads, as the step does: the C side compares it with its
own triad on as many threads.

Usage: bench_optimizer_torch.py N [STEPS] [THREADS]
N parameters; STEPS timed steps after 2 warm-up steps (default 10); THREADS
torch's intra-op thread count (default: torch's own choice). The caller
also sets OMP_NUM_THREADS to THREADS, so that OpenMP starts no more.
"""
import sys
import time


def main():
    try:
        import torch
    except ImportError:
        print("torch not importable by %s" % sys.executable)
        return 77
    n = int(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    if len(sys.argv) > 3:
        torch.set_num_threads(int(sys.argv[3]))
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(n, generator=gen))
    p.grad = torch.randn(n, generator=gen)
    opt = torch.optim.Adam([p], lr=1e-3, foreach=True)
    for _ in range(2):  # allocates the state, touches every page
        opt.step()
    a, b, c = (torch.randn(n, generator=gen) for _ in range(3))
    best = best_triad = float("inf")
    for k in range(steps):
        t0 = time.perf_counter()
        torch.add(b, c, alpha=0.5 + k, out=a)
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        best_triad = min(best_triad, t1 - t0)
        best = min(best, t2 - t1)
    print("torch %s threads %d ms_per_step %.4f triad_ms %.4f"
          % (torch.__version__, torch.get_num_threads(), best * 1e3,
             best_triad * 1e3))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch's training throughput on shakespeare_char's GPT (doc/algorithm.md
§7), the reference for bench_gpt.c (issue 12).

Usage: bench_gpt_torch.py THREADS [BATCH [SECONDS]]
  Prints "steps_per_s <value>" (wall clock) and "steps_per_cpu_s <value>"
  (per second of process CPU time). A step is forward, cross-entropy over
  the batch's BATCH x 64 positions, backward and a plain SGD step, on one
  fixed random batch. Exit 77 when torch is missing.
"""
import os
import sys
import time

# The model exactly as the parity test builds it (one definition); no
# __pycache__ left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "ref"))
from gpt_parity import GPT, T, V  # noqa: E402  (exits 77 without torch)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def main():
    threads = int(sys.argv[1])
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tok = torch.randint(0, V, (batch, T))
    tgt = torch.randint(0, V, (batch, T))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(tok).view(-1, V), tgt.view(-1)).backward()
        opt.step()

    for _ in range(3):
        step()
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"steps_per_s {steps / wall:.3f}")
    print(f"steps_per_cpu_s {steps / cpu:.3f}")
    print(f"torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch's training throughput on the networks of doc/algorithm.md §3, the
reference for bench_cnn.c (issue 3).

Usage: bench_cnn_torch.py ARCH THREADS [BATCH [SECONDS]]
  ARCH: small_cnn or cifar10_cnn. Prints "images_per_s <value>" (wall
  clock) and "images_per_cpu_s <value>" (per second of process CPU time).
A step is forward (training mode, dropout on), cross-entropy, backward and a
plain SGD step, on one fixed random batch. Exit 77 when torch is missing.
"""
import os
import sys
import time

# The networks exactly as the parity test builds them (one definition); no
# __pycache__ left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "ref"))
from nn_parity import NETS  # noqa: E402  (exits 77 when torch is missing)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def main():
    arch, threads = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cls, shape = NETS[arch]
    model = cls().train()  # dropout on, as in training
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"images_per_s {batch * steps / wall:.1f}")
    print(f"images_per_cpu_s {batch * steps / cpu:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

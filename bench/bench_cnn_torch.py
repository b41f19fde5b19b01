#!/usr/bin/python3
"""PyTorch's training throughput on the networks of PROTOCOL §3, the
reference for bench_cnn.c (issue 3).

Usage: bench_cnn_torch.py ARCH THREADS [BATCH [SECONDS]]
  ARCH: small_cnn or cifar10_cnn. Prints one line "images_per_s <value>".
A step is forward (training mode, dropout on), cross-entropy, backward and a
plain SGD step, on one fixed random batch. Exit 77 when torch is missing.
"""
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"SKIP: PyTorch not importable ({e})")
    sys.exit(77)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(3136, 256)
        self.fc2 = nn.Linear(256, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = self.drop(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


class Cifar10CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(4096, 512)
        self.fc2 = nn.Linear(512, 10)
        self.d1, self.d2, self.d3 = nn.Dropout(0.25), nn.Dropout(0.25), nn.Dropout(0.5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.d1(F.max_pool2d(F.relu(self.conv2(x)), 2, 2))
        x = F.relu(self.bn2(self.conv3(x)))
        x = self.d2(F.max_pool2d(F.relu(self.conv4(x)), 2, 2))
        x = self.d3(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


NETS = {"small_cnn": (SmallCNN, (1, 28, 28)),
        "cifar10_cnn": (Cifar10CNN, (3, 32, 32))}


def main():
    arch, threads = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cls, shape = NETS[arch]
    model = cls().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    print(f"images_per_s {batch * steps / (time.perf_counter() - t0):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

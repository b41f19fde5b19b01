#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/
(doc/fuzzing.md): small inputs made from real files.

- genome_json, optimizer_state, checkpoint, settings: written by the
  library's and the program's own writers (the fuzz_seeds program of a fuzz
  build), plus the fixtures of tests/fixtures (the paper's genome; the
  format-4 checkpoints, one of them steady-state);
- idx, cifar, digits: tiny slices of the real data sets (an IDX header with
  its count set to 2, then 2 images; one CIFAR-10 record per batch; two
  rows of the digits CSV, which the digits target repeats to a whole file).

Every file starts with the mode or flags byte its target reads first (see
the target's source). Files named regress-* (inputs of fixed findings) and
old-* (older formats the writers no longer make, still read by the
library: old-v1-* optimizer states, old-v3-* checkpoints) are left alone;
the others are rewritten.

Usage: make_corpus.py BUILDDIR [--data DIR] [--out DIR]
  BUILDDIR  a build configured with -Dfuzz=enabled (fuzz_seeds built)
  --data    the data sets (default: ../shared/data beside the source tree)
  --out     where to write (default: tests/fuzz/corpus)
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
SEP = b"\n=====EVOOPT-FUZZ-NEXT-FILE=====\n"  # FUZZ_SEP in fuzz_common.h
TARGETS = ["genome_json", "optimizer_state", "checkpoint", "idx", "cifar",
           "digits", "settings"]


def read(path):
    """A data file, plain or .gz."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                return f.read()
    sys.exit("make_corpus: %s(.gz) is missing" % path)


def idx_slice(data, header, item, count=2):
    """The IDX header with its count set to @count, then @count items."""
    return data[:4] + count.to_bytes(4, "big") + data[8:header] + \
        data[header:header + count * item]


def put(out, target, name, flags, *parts):
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(bytes([flags]) + SEP.join(parts))


def data_seeds(out, data):
    mnist = os.path.join(data, "mnist")
    files = [idx_slice(read(os.path.join(mnist, "train-images-idx3-ubyte")), 16, 784),
             idx_slice(read(os.path.join(mnist, "train-labels-idx1-ubyte")), 8, 1),
             idx_slice(read(os.path.join(mnist, "t10k-images-idx3-ubyte")), 16, 784),
             idx_slice(read(os.path.join(mnist, "t10k-labels-idx1-ubyte")), 8, 1)]
    put(out, "idx", "mnist-2-images", 0, *files)
    put(out, "idx", "mnist-2-images-gzip", 1, *files)
    put(out, "idx", "mnist-2-images-gz-names", 3, *files)

    cifar = os.path.join(data, "cifar10")
    record = 3073
    test = read(os.path.join(cifar, "test_batch.bin"))[:record]
    b1 = read(os.path.join(cifar, "data_batch_1.bin"))[:record]
    b2 = read(os.path.join(cifar, "data_batch_2.bin"))[:record]
    put(out, "cifar", "test-and-batch1", 0, test, b1)
    put(out, "cifar", "test-and-batches12-gzip", 1, test, b1, b2)
    put(out, "cifar", "test-only", 0, test)

    rows = read(os.path.join(data, "digits", "digits.csv")).split(b"\n")
    two = b"\n".join(rows[:2]) + b"\n"
    put(out, "digits", "two-rows-repeated", 4, two)
    put(out, "digits", "two-rows-repeated-gzip", 5, two)
    put(out, "digits", "three-rows", 0, b"\n".join(rows[:3]) + b"\n")
    put(out, "digits", "constant-repeated", 4, b",".join([b"3"] * 64) + b",1\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--data", default=os.path.join(SOURCE, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    seeds = os.path.join(args.build, "tests", "fuzz", "fuzz_seeds")
    if not os.access(seeds, os.X_OK):
        sys.exit("make_corpus: %s is missing: build with -Dfuzz=enabled" % seeds)
    for t in TARGETS:
        d = os.path.join(args.out, t)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if not name.startswith(("regress-", "old-")):
                os.remove(os.path.join(d, name))
    # fuzz_seeds writes into OUT/<target>/; a scratch copy keeps the run's
    # temporary files out of the corpus.
    with tempfile.TemporaryDirectory() as tmp:
        for t in TARGETS:
            os.makedirs(os.path.join(tmp, t))
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        subprocess.run([seeds, tmp], check=True, env=env)
        for t in TARGETS:
            for name in sorted(os.listdir(os.path.join(tmp, t))):
                shutil.copy(os.path.join(tmp, t, name), os.path.join(args.out, t, name))
    fixtures = os.path.join(SOURCE, "tests", "fixtures")
    shutil.copy(os.path.join(fixtures, "genome", "paper-evolved.json"),
                os.path.join(args.out, "genome_json", "fixture-paper-evolved.json"))
    v4 = os.path.join(fixtures, "checkpoint-v4")
    for name in sorted(os.listdir(v4)):
        with open(os.path.join(v4, name), "rb") as f:
            ckpt = f.read()
        stem = "fixture-v4-" + os.path.splitext(name)[0]
        put(args.out, "checkpoint", stem + "-mode0", 0, ckpt)  # frame fixed
        put(args.out, "checkpoint", stem + "-mode2", 2, ckpt)  # as it is
    data_seeds(args.out, os.path.realpath(args.data))
    total = 0
    for t in TARGETS:
        d = os.path.join(args.out, t)
        size = sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))
        total += size
        print("%-16s %3d files %7d bytes" % (t, len(os.listdir(d)), size))
    print("%-16s           %7d bytes" % ("total", total))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The library's include graph runs one way (issue 10 item 1,
libevoopt/meson.build):

    evolve -> dist -> train -> optimizer -> {nn, genome, data} -> core

Reads every #include "..." line of libevoopt/<layer>/*.{c,h} and fails on an
include that points up the graph: a file may include its own folder's
headers and those of the layers below it, never one above nor one of a
sibling layer ({nn, genome, data} do not include each other). The public
headers count as the layer that implements them (include/evoopt/task.h is
train's, population.h evolve's, ...), so a low layer cannot reach a high
one through them either. System headers (<...>) are not looked at.

usage: check_layers.py LIBEVOOPT_DIR
Exit 0: no upward include; 1: some (each printed as file:line).
"""
import os
import re
import sys

# Rank: a file may include a layer of lower rank, or its own folder.
RANK = {"core": 0, "nn": 1, "genome": 1, "data": 1, "optimizer": 2,
        "train": 3, "dist": 4, "evolve": 5}
# Public headers: the layer whose code implements them.
PUBLIC = {"common.h": "core", "genome.h": "genome",
          "optimizer.h": "optimizer", "report.h": "train", "task.h": "train",
          "backend.h": "dist", "mpi.h": "dist", "population.h": "evolve",
          "evoopt.h": "evolve", "evoopt.hpp": "evolve"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def target_layer(path, own):
    """The layer an include names: its folder (core/x.h), a public header
    (evoopt/task.h), or the including file's own folder (a bare name)."""
    parts = path.split("/")
    if len(parts) == 1:
        return own
    if parts[0] == "evoopt":
        return PUBLIC.get(parts[-1])
    return parts[0] if parts[0] in RANK else None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    problems, checked = [], 0
    for layer in sorted(RANK):
        folder = os.path.join(root, layer)
        if not os.path.isdir(folder):
            problems.append("%s: the layer's folder is missing" % folder)
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    checked += 1
                    to = target_layer(m.group(1), layer)
                    where = "%s/%s:%d" % (layer, name, number)
                    if to is None:
                        problems.append('%s: #include "%s" names no layer'
                                        % (where, m.group(1)))
                    elif to != layer and RANK[to] >= RANK[layer]:
                        problems.append(
                            '%s: #include "%s" goes from %s up to %s'
                            % (where, m.group(1), layer, to))
    for p in problems:
        print("FAIL: " + p)
    print("%d includes checked, %d upward" % (checked, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

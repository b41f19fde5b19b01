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

With the static library and nm as further arguments, it also reads which
object file calls which (their undefined and defined symbols) and fails on
a call up the layers or on files that call each other round a cycle
(issue 10 item 2: no cycles), e.g. a reader calling back into the file
that dispatches to it.

usage: check_layers.py LIBEVOOPT_DIR [LIBEVOOPT.a NM]
Exit 0: no upward include or call, no cycle; 1: some (each printed).
"""
import os
import re
import subprocess
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


def call_graph(archive, nm):
    """{object: {objects it calls}} of the static library's members, as nm
    lists their defined (T, D, B, R) and undefined (U) symbols."""
    out = subprocess.run([nm, "-A", archive], capture_output=True,
                         text=True, check=True).stdout
    defined, undefined = {}, {}
    for line in out.splitlines():
        parts = line.split(":")
        if len(parts) < 3:
            continue
        member, fields = parts[-2], parts[-1].split()
        defined.setdefault(member, set())
        undefined.setdefault(member, set())
        if len(fields) == 3 and fields[1] in "TDBR":
            defined[member].add(fields[2])
        elif len(fields) == 2 and fields[0] == "U":
            undefined[member].add(fields[1])
    owner = {sym: m for m, syms in defined.items() for sym in syms}
    return {m: {owner[s] for s in undefined[m] if owner.get(s, m) != m}
            for m in defined}


def cycles(graph):
    """The strongly connected components of more than one node."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check_calls(archive, nm, problems):
    """Adds calls up the layers and cycles between object files; returns
    how many calls were looked at. Members are named layer_file.c.o."""
    graph = call_graph(archive, nm)
    calls = 0
    for member in sorted(graph):
        layer = member.split("_")[0]
        for callee in sorted(graph[member]):
            calls += 1
            to = callee.split("_")[0]
            if layer in RANK and to in RANK and to != layer and \
                    RANK[to] >= RANK[layer]:
                problems.append("%s calls %s: from %s up to %s"
                                % (member, callee, layer, to))
    for comp in cycles(graph):
        problems.append("these files call each other round a cycle: %s"
                        % ", ".join(comp))
    return calls


def main():
    if len(sys.argv) not in (2, 4):
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
    calls = 0
    if len(sys.argv) == 4:
        calls = check_calls(sys.argv[2], sys.argv[3], problems)
        if calls == 0:
            problems.append("%s: no call between object files found"
                            % sys.argv[2])
    for p in problems:
        print("FAIL: " + p)
    print("%d includes and %d calls between files checked, %d problems"
          % (checked, calls, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

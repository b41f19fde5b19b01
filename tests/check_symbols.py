#!/usr/bin/env python3
"""Debian symbols file check (issue 13, item 4): debian/libevoopt0.symbols
must list exactly the symbols of the linker version script
libevoopt/libevoopt.map, each under its own version node, plus one line per
node (NODE@NODE, which dpkg-gensymbols reports too). With the built library
as third argument, the library must also export each symbol at the node the
map puts it in.

Symbols policy (doc/packaging.md): a symbol's minimal version is the
upstream version of the first package that carried it, and one node's
symbols share one version. --write rewrites the file from the map, keeping
the versions already recorded and giving a new node meson.build's project
version; a symbol is never removed from a node (that is an ABI break: a new
soname).

usage: check_symbols.py MAP SYMBOLS [LIB.so]
       check_symbols.py --write MAP SYMBOLS PROJECT_VERSION
"""
import re
import subprocess
import sys

HEADER = "libevoopt.so.0 libevoopt0 #MINVER#"
META = "* Build-Depends-Package: libevoopt-dev"


def map_nodes(path):
    """[(node, [symbol, ...]), ...] in the map's order."""
    text = re.sub(r"/\*.*?\*/", "", open(path, encoding="utf-8").read(),
                  flags=re.S)
    nodes = []
    for name, body in re.findall(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}", text,
                                 flags=re.S):
        glob = re.search(r"global:(.*?)(?:local:|$)", body, flags=re.S)
        syms = [s.strip() for s in (glob.group(1) if glob else "").split(";")
                if s.strip()]
        bad = [s for s in syms if not re.fullmatch(r"[A-Za-z_]\w*", s)]
        if bad:
            raise SystemExit("%s: node %s has entries that are not plain "
                             "symbol names (no wildcards in global:): %s"
                             % (path, name, ", ".join(bad)))
        nodes.append((name, syms))
    if not nodes:
        raise SystemExit("%s: no version node found" % path)
    return nodes


def read_symbols(path):
    """(header lines, {(symbol, node): version}, [problems])."""
    header, entries, problems = [], {}, []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            header.append(line)
            continue
        m = re.fullmatch(r" ([A-Za-z_][\w.]*)@([\w.]+) (\S+)", line)
        if not m:
            problems.append("%s:%d: not ' symbol@NODE version': %r"
                            % (path, n, line))
            continue
        key = (m.group(1), m.group(2))
        if key in entries:
            problems.append("%s:%d: %s@%s listed twice" % (path, n, *key))
        entries[key] = m.group(3)
    return header, entries, problems


def wanted(nodes):
    """[(symbol, node)] the symbols file must list, in the map's order."""
    out = []
    for node, syms in nodes:
        out.append((node, node))
        out += [(s, node) for s in syms]
    return out


def exported(lib):
    """{(symbol, node)} of the library's default-version dynamic symbols,
    and (NODE, NODE) for each version node it defines (nm shows those as
    absolute symbols without a version)."""
    text = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                          capture_output=True, text=True).stdout
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and "@@" in parts[2]:
            out.add(tuple(parts[2].split("@@", 1)))
        elif len(parts) == 3 and parts[1] == "A" and "@" not in parts[2]:
            out.add((parts[2], parts[2]))
    return out


def check(mapfile, symfile, lib=None):
    nodes = map_nodes(mapfile)
    header, entries, problems = read_symbols(symfile)
    if header != [HEADER, META]:
        problems.append("%s: the first lines must be %r and %r, not %r"
                        % (symfile, HEADER, META, header))
    want = wanted(nodes)
    for key in want:
        if key not in entries:
            problems.append("%s@%s: in %s but not in %s"
                            % (key[0], key[1], mapfile, symfile))
    for key in entries:
        if key not in want:
            problems.append("%s@%s: in %s but not in %s (a symbol is never "
                            "removed without a new soname)"
                            % (key[0], key[1], symfile, mapfile))
    for node, _ in nodes:
        versions = {v for (s, n), v in entries.items() if n == node}
        if len(versions) > 1:
            problems.append("%s: node %s has several minimal versions %s "
                            "(one node, one version)"
                            % (symfile, node, sorted(versions)))
    if lib:
        have = exported(lib)
        for key in want:
            if key not in have:
                problems.append("%s@@%s: not exported by %s"
                                % (key[0], key[1], lib))
        for key in sorted(have - set(want)):
            problems.append("%s@@%s: exported by %s but not in %s"
                            % (key[0], key[1], lib, mapfile))
    for p in problems:
        print("FAIL: " + p)
    if problems:
        print("Regenerate with: tests/check_symbols.py --write %s %s VERSION"
              % (mapfile, symfile))
        return 1
    print("%s: %d symbols in %d nodes (%s), as in %s%s"
          % (symfile, len(want) - len(nodes), len(nodes),
             ", ".join(n for n, _ in nodes), mapfile,
             " and exported by " + lib if lib else ""))
    return 0


def write(mapfile, symfile, project_version):
    nodes = map_nodes(mapfile)
    try:
        _, old, _ = read_symbols(symfile)
    except FileNotFoundError:
        old = {}
    node_version = {}
    for (_, node), version in old.items():
        node_version.setdefault(node, version)
    lines = [HEADER, META]
    for sym, node in wanted(nodes):
        lines.append(" %s@%s %s"
                     % (sym, node, node_version.get(node, project_version)))
    with open(symfile, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d lines" % (symfile, len(lines)))
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "--write":
        return write(*argv[1:])
    if len(argv) in (2, 3):
        return check(*argv)
    print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
    print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

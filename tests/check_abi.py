#!/usr/bin/env python3
"""ABI check (issue 2): the shared library's exported symbols, the linker
version script and the EVO_API declarations of the public headers must be
the same set; the soname must be libevoopt.so.0; every public header must
compile alone as strict C99 and as C++.

usage: check_abi.py LIB.so MAP INCLUDE_DIR CC [CXX]
"""
import os
import re
import subprocess
import sys
import tempfile


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVW" and "@" in parts[2]:
            name, _, version = parts[2].partition("@")
            syms[name] = version.lstrip("@")
    return syms


def in_map(path):
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    names = set()
    for block in re.findall(r"global:(.*?)(?:local:|\})", text, flags=re.S):
        names.update(n.strip() for n in block.split(";") if n.strip())
    return names


def declared(include_dir):
    names = set()
    for h in sorted(os.listdir(include_dir)):
        if h.endswith(".h"):
            text = open(os.path.join(include_dir, h)).read()
            names.update(re.findall(r"\bEVO_API\b[^;{]*?\b(evo_\w+)\s*\(",
                                    text, flags=re.S))
    return names


def compile_alone(include_root, header, compiler, std, lang):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "t." + ("cpp" if lang == "c++" else "c"))
        with open(src, "w") as f:
            f.write("#include <evoopt/%s>\n#include <evoopt/%s>\n"
                    "int main(void) { return 0; }\n" % (header, header))
        cmd = [compiler, "-std=" + std, "-pedantic-errors", "-Wall",
               "-Wextra", "-Werror", "-I", include_root, "-c", src,
               "-o", os.path.join(tmp, "t.o")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode == 0, r.stderr


def main():
    lib, mapfile, include_dir, cc = sys.argv[1:5]
    cxx = sys.argv[5] if len(sys.argv) > 5 else None
    failures = []
    exp, mapped, decl = exported(lib), in_map(mapfile), declared(include_dir)
    for name, what in ((set(exp) - mapped, "exported but not in the map"),
                       (mapped - set(exp), "in the map but not exported"),
                       (decl - set(exp), "declared EVO_API but not exported"),
                       (set(exp) - decl, "exported but not declared EVO_API")):
        for n in sorted(name):
            failures.append("%s: %s" % (n, what))
    bad_version = sorted(n for n, v in exp.items() if not v.startswith("EVOOPT_"))
    failures += ["%s: no EVOOPT_ version node" % n for n in bad_version]
    soname = subprocess.run(["readelf", "-d", lib], capture_output=True,
                            text=True).stdout
    if "[libevoopt.so.0]" not in soname:
        failures.append("soname is not libevoopt.so.0")
    include_root = os.path.dirname(os.path.abspath(include_dir))
    headers = sorted(h for h in os.listdir(include_dir) if h.endswith(".h"))
    for h in headers:
        ok, err = compile_alone(include_root, h, cc, "c99", "c")
        if not ok:
            failures.append("%s does not compile alone as C99:\n%s" % (h, err))
        if cxx:
            ok, err = compile_alone(include_root, h, cxx, "c++11", "c++")
            if not ok:
                failures.append("%s does not compile alone as C++11:\n%s" % (h, err))
    print("%d exported symbols, %d in the map, %d declared; %d headers "
          "compiled as C99%s" % (len(exp), len(mapped), len(decl), len(headers),
                                 " and C++11" if cxx else ""))
    for f in failures:
        print("FAIL:", f)
    print("%d passed, %d failed" % (1 if not failures else 0, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

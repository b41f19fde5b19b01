#!/usr/bin/env python3
"""Every dependency('NAME') of the meson.build files has its Debian package
in debian/control's Build-Depends (a package build runs in a clean chroot:
what the CI machine happens to have installed does not count).

Usage: check_build_depends.py SOURCE_ROOT. Exit 0 pass, 1 fail."""
import os
import re
import sys

# pkg-config / meson dependency name -> the Debian 12 package providing it
# (None: part of the toolchain). A new dependency() needs a row here.
PACKAGES = {
    "threads": None,
    "openblas": "libopenblas-dev",
    "cblas": "libopenblas-dev",
    "zlib": "zlib1g-dev",
    "jansson": "libjansson-dev",
    "mpi": "libopenmpi-dev",
    "check": "check",
    "libcrypto": "libssl-dev",
    "libcurl": "libcurl4-openssl-dev",
    "libarchive": "libarchive-dev",
}


def meson_dependencies(root):
    names = set()
    for top in ("meson.build", "libevoopt", "tools", "tests"):
        path = os.path.join(root, top)
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, fs in os.walk(path)
            for f in fs if f == "meson.build"]
        for f in files:
            with open(f, encoding="utf-8") as fh:
                names.update(re.findall(r"\bdependency\(\s*'([^']+)'",
                                        fh.read()))
    return names


def build_depends(root):
    with open(os.path.join(root, "debian", "control"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^Build-Depends:(.*?)^\S", text, re.M | re.S)
    if m is None:
        return set()
    return {re.split(r"[\s(<\[:]", p.strip())[0]
            for p in m.group(1).split(",") if p.strip()}


def main():
    root = sys.argv[1]
    deps, have = meson_dependencies(root), build_depends(root)
    failures = 0
    for name in sorted(deps):
        if name not in PACKAGES:
            print(f"FAIL: dependency('{name}') has no Debian package in "
                  f"{os.path.basename(__file__)}'s table")
            failures += 1
        elif PACKAGES[name] is not None and PACKAGES[name] not in have:
            print(f"FAIL: dependency('{name}') needs {PACKAGES[name]} in "
                  f"debian/control's Build-Depends")
            failures += 1
    print(f"{len(deps)} dependencies, {failures} failures")
    return 1 if failures or not deps else 0


if __name__ == "__main__":
    sys.exit(main())

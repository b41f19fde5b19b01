"""`pip install bindings/python` works offline and gives a usable package."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import PACKAGE_ROOT

# Looked up, not imported: importing setuptools here would clash with the
# distutils that other tests' imports may have loaded.
for _module, _package in (("pip", "python3-pip"),
                          ("setuptools", "python3-setuptools"),
                          ("wheel", "python3-wheel")):
    if importlib.util.find_spec(_module) is None:
        pytest.skip("%s (Debian's %s) is missing" % (_module, _package),
                    allow_module_level=True)


def test_pip_install_offline(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info beside the
    # sources, which must not land in the checkout.
    src = tmp_path / "src"
    shutil.copytree(PACKAGE_ROOT, src, ignore=shutil.ignore_patterns(
        "tests", "__pycache__", "build", "*.egg-info"))
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-index", "--no-deps", "--disable-pip-version-check", "--quiet",
         "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("__init__.py", "_lib.py", "genome.py", "optimizer.py",
                 "task.py", "population.py", "torch.py", "errors.py",
                 "datasets.py"):
        assert (target / "evoopt" / name).is_file(), name
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import evoopt; print(evoopt.__file__); "
            "print(evoopt.Genome.preset('adam').lr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert run.returncode == 0, run.stderr
    path, lr = run.stdout.split()
    assert path.startswith(str(target))
    assert float(lr) == pytest.approx(1e-3)

"""Loading the library, the version check and the error model."""

import os
import re
import subprocess
import sys

import pytest

import evoopt
from evoopt import _lib, errors
from conftest import PACKAGE_ROOT, subprocess_env


def test_loaded_version_is_mesons(meson_version):
    # meson.build's project version, passed by `meson test`; the number is
    # major * 10000 + minor * 100 + patch (common.h).
    assert evoopt.library_version == meson_version
    assert evoopt.__version__ == meson_version
    major, minor, patch = (int(p) for p in meson_version.split("."))
    assert _lib.lib.evo_version_number() == major * 10000 + minor * 100 + patch
    assert _lib.version_number(meson_version) == _lib.lib.evo_version_number()


def test_pyproject_version_is_mesons(meson_version):
    # pip needs a literal version in pyproject.toml: it must be meson's.
    with open(os.path.join(PACKAGE_ROOT, "pyproject.toml")) as f:
        found = re.search(r'^version = "([^"]*)"', f.read(), re.M)
    assert found is not None and found.group(1) == meson_version


def test_no_expected_version_checks_nothing(monkeypatch):
    # A checkout or a pip install knows no version to expect.
    monkeypatch.setattr(_lib, "EXPECTED_VERSION", None)
    _lib.check_version(10000)
    _lib.check_version(_lib.lib.evo_version_number())


@pytest.mark.parametrize("runtime, expected", [
    (100, 100), (101, 100), (200, 100), (1500, 100), (10100, 10000)])
def test_compatible_versions_pass(runtime, expected):
    _lib.check_version(runtime, expected)


@pytest.mark.parametrize("runtime, expected, names", [
    (100, 200, ("0.1.0", "0.2.0")),      # runtime minor older
    (10100, 100, ("1.1.0", "0.1.0")),    # other major, newer
    (100, 10000, ("0.1.0", "1.0.0")),    # other major, older
])
def test_incompatible_versions_name_both(runtime, expected, names):
    with pytest.raises(errors.VersionMismatchError) as info:
        _lib.check_version(runtime, expected)
    for name in names:
        assert name in str(info.value)


def test_open_library_refuses_a_mismatch(monkeypatch):
    # The package pretends to be installed for the next major version: the
    # library loaded is refused with both versions named.
    runtime = _lib.lib.evo_version_number()
    wanted = (runtime // 10000 + 1) * 10000
    monkeypatch.setattr(_lib, "EXPECTED_VERSION", wanted)
    with pytest.raises(errors.VersionMismatchError) as info:
        _lib.open_library(_lib.lib.path)
    assert "libevoopt %s was loaded" % evoopt.library_version in str(info.value)
    assert "installed for libevoopt %d.0.0" % (wanted // 10000) in str(
        info.value)
    assert isinstance(info.value, ImportError)


def test_open_library_with_a_bad_path():
    with pytest.raises(errors.LibraryNotFoundError) as info:
        _lib.open_library("/nonexistent/libevoopt.so")
    assert "/nonexistent/libevoopt.so" in str(info.value)


def test_import_honours_evoopt_library():
    # EVOOPT_LIBRARY is used, and only it, when set.
    code = "import evoopt"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=subprocess_env(
                              EVOOPT_LIBRARY="/nonexistent/libevoopt.so.0"))
    assert proc.returncode != 0
    assert "LibraryNotFoundError" in proc.stderr
    assert "/nonexistent/libevoopt.so.0 (EVOOPT_LIBRARY)" in proc.stderr


def test_every_status_has_its_class():
    # common.h's table of codes, written out by hand.
    expected = {-1: "InvalidArgumentError", -2: "OutOfMemoryError",
                -3: "OutOfRangeError", -4: "ParseError", -5: "FileIOError",
                -6: "FormatError", -7: "NotFoundError", -8: "MismatchError",
                -9: "NonFiniteError", -10: "StateError",
                -11: "CallbackError", -12: "UnsupportedError",
                -13: "CanceledError", -14: "DivergedError",
                -15: "ThreadError"}
    for status, name in expected.items():
        cls = errors.error_class(status)
        assert cls.__name__ == name and cls.status == status
        assert issubclass(cls, evoopt.EvoError)
    assert errors.error_class(-99) is evoopt.EvoError


def test_error_carries_status_name_and_message():
    with pytest.raises(evoopt.NotFoundError) as info:
        evoopt.Genome.preset("no-such-preset")
    exc = info.value
    assert exc.status == -7
    assert exc.name.startswith("EVO_ENOTFOUND")
    assert "no-such-preset" in exc.message and "paper-evolved" in exc.message
    assert exc.function == "evo_genome_preset"
    assert "no-such-preset" in str(exc) and "EVO_ENOTFOUND" in str(exc)
    assert isinstance(exc, LookupError)


def test_io_errors_are_oserrors(tmp_path):
    with pytest.raises(OSError) as info:
        evoopt.Genome.load(tmp_path / "missing.json")
    assert isinstance(info.value, evoopt.FileIOError)
    assert "missing.json" in str(info.value)

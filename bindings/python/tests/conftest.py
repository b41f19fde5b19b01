"""Shared fixtures. The tests run against the library named by
EVOOPT_LIBRARY (meson test sets it to the build tree's copy)."""

import gc
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)              # bindings/python
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))

if PACKAGE_ROOT not in sys.path:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, PACKAGE_ROOT)


def pytest_addoption(parser):
    parser.addoption("--meson-version", default=None,
                     help="meson.build's project version (meson test "
                          "passes it)")


@pytest.fixture
def meson_version(request):
    """meson.build's project version, as `meson test` passes it."""
    value = request.config.getoption("--meson-version")
    if not value:
        pytest.skip("no --meson-version: run through `meson test python`, "
                    "which passes meson.build's version")
    return value


@pytest.fixture
def no_leaks():
    """Asserts that a test closes or drops every handle it opened."""
    import evoopt
    before = evoopt.live_handles()

    def leaked():
        # Only growth counts: objects of earlier tests may be freed
        # meanwhile (pytest keeps a failing test's traceback for a while).
        return {k: n - before.get(k, 0) for k, n in
                evoopt.live_handles().items() if n > before.get(k, 0)}
    yield
    if leaked():  # collecting is slow with torch loaded: only when needed
        gc.collect()
    assert not leaked(), "handles left open: %s" % leaked()


@pytest.fixture
def digits_task():
    import evoopt
    with evoopt.Task("digits") as task:
        yield task


def subprocess_env(**extra):
    """The environment for a child interpreter that imports evoopt."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(
            os.pathsep) if p])
    env.update(extra)
    return env

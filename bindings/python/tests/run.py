"""Runs the bindings' pytest suite for `meson test` (suite 'python').

Exit 77 (meson's "skipped") when pytest is not installed for this
interpreter; pytest's exit 5 ("no tests collected") counts as a failure.
Extra arguments go to pytest, e.g. `-k torch`.
"""

import os
import sys


def main():
    try:
        import pytest
    except ImportError:
        print("SKIP: pytest is not installed for %s (Debian: apt-get install "
              "python3-pytest)" % sys.executable)
        return 77
    here = os.path.dirname(os.path.abspath(__file__))
    code = int(pytest.main(["-q", "-p", "no:cacheprovider", here]
                           + sys.argv[1:]))
    if code == 5:
        print("FAIL: pytest collected no tests in %s" % here)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

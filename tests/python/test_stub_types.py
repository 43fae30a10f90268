"""The .pyi stub is accurate: mypy (Debian python3-mypy) accepts typical typed use
(stub_checks/good_use.py) and rejects exactly the misuses marked in stub_checks/bad_use.py (a str for an
int property, text where a buffer belongs, writing a by-value parameter, an unknown parameter,
read-only bytes where a writable buffer belongs)."""
import os
import re
import subprocess
import sys

import pytest

import sftpkit

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stub_checks")


def mypy(path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is missing (scripts/install-deps installs python3-mypy)")
    pkg_root = os.path.dirname(os.path.dirname(sftpkit.__file__))
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
                        "--cache-dir", os.devnull, os.path.join(HERE, path)],
                       cwd=pkg_root, env=dict(os.environ, MYPYPATH=pkg_root), capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout


def test_typical_use_type_checks():
    rc, out = mypy("good_use.py")
    assert rc == 0, out


def test_misuses_are_rejected_exactly_where_marked():
    rc, out = mypy("bad_use.py")
    assert rc == 1, out
    got = sorted({int(m.group(1)) for m in re.finditer(r"bad_use\.py:(\d+): error", out)})
    with open(os.path.join(HERE, "bad_use.py"), encoding="utf-8") as f:
        want = [i for i, line in enumerate(f, 1) if "# error:" in line]
    assert got == want, out

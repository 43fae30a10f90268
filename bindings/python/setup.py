"""Packages the sftpkit Python binding from a build tree.

`make` (CMake) builds the complete package directory <build>/python/sftpkit: the SWIG extension
module, a copy of libsftpkit.so.1 beside it (the extension's RUNPATH is $ORIGIN), the generated
layer and the hand-written files of this directory. This script only copies that directory into
the wheel, so `python3 -m pip install --no-build-isolation ./bindings/python` needs no network and
no compiler. The build tree is <repo>/build unless SFTPKIT_BUILD_DIR names another one.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.abspath(os.environ.get("SFTPKIT_BUILD_DIR") or os.path.join(HERE, "..", "..", "build"))
PKG_DIR = os.path.join(BUILD_DIR, "python", "sftpkit")


def built_files():
    if not os.path.isdir(PKG_DIR) or not any(f.startswith("_sftpkit_native") and f.endswith(".so")
                                             for f in os.listdir(PKG_DIR)):
        raise SystemExit("sftpkit: no built package in %s. Run `make` first (or set SFTPKIT_BUILD_DIR "
                         "to the CMake build directory)." % PKG_DIR)
    keep = (".py", ".pyi", ".so", ".so.1", "py.typed")
    return sorted(f for f in os.listdir(PKG_DIR) if f.endswith(keep) and not f.startswith("."))


class BuildFromTree(build_py):
    """Copies <build>/python/sftpkit instead of compiling anything."""

    def run(self):
        dest = os.path.join(self.build_lib, "sftpkit")
        os.makedirs(dest, exist_ok=True)
        for name in built_files():
            shutil.copy2(os.path.join(PKG_DIR, name), os.path.join(dest, name))


class BinaryDistribution(Distribution):
    """The wheel carries native code: tag it for this interpreter and platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildFromTree}, distclass=BinaryDistribution)

"""Packages the sftpkit Python binding.

Three ways in, tried in this order:

1. SFTPKIT_PACKAGE_DIR names a finished package directory: packaging/build_packages.py stages one
   per platform (the SWIG extension, libsftpkit.so.1 and the bundled libssh/OpenSSL/zlib/Kerberos
   copies with RUNPATH $ORIGIN, natives.json, THIRD-PARTY-NOTICES.txt, licenses/) and builds the
   release wheels from it with an explicit --plat-name (manylinux_2_XX_<arch>).
2. A CMake build tree: `make` builds <build>/python/sftpkit (extension + libsftpkit.so.1 beside it,
   linked against the system's libssh). The build tree is <repo>/build unless SFTPKIT_BUILD_DIR
   names another one. `python3 -m pip install --no-build-isolation ./bindings/python` packages it.
3. The sdist: it carries the C sources in sftpkit-src/ (packaging/build_packages.py puts them
   there), and this script builds them with CMake (needs cmake, a C compiler, swig, pkg-config and
   the libssh, OpenSSL and zlib development files: Debian's libssh-dev libssl-dev zlib1g-dev).
   A wheel built that way links the machine's own libssh and OpenSSL.
"""
import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_TREE = os.path.join(HERE, "sftpkit-src")  # present in the sdist only


def tree_package_dir():
    build_dir = os.environ.get("SFTPKIT_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
    return os.path.join(os.path.abspath(build_dir), "python", "sftpkit")


def has_extension(pkg_dir):
    return os.path.isdir(pkg_dir) and any(f.startswith("_sftpkit_native") and f.endswith(".so")
                                          for f in os.listdir(pkg_dir))


def build_from_source(build_temp):
    """Configures and builds the Python package directory from sftpkit-src/ with CMake."""
    build_dir = os.path.abspath(os.path.join(build_temp, "sftpkit-cmake"))
    missing = [tool for tool in ("cmake", "swig", "pkg-config") if shutil.which(tool) is None]
    if missing:
        raise SystemExit("sftpkit: building from source needs %s on PATH (Debian: apt-get install cmake swig "
                         "pkg-config build-essential libssh-dev libssl-dev zlib1g-dev python3-dev)"
                         % ", ".join(missing))
    configure = ["cmake", "-S", SOURCE_TREE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DSFTPKIT_TESTS=OFF", "-DSFTPKIT_BINDING_LANGS=python", "-DSFTPKIT_PYTHON=" + sys.executable]
    subprocess.check_call(configure)
    jobs = os.environ.get("SFTPKIT_BUILD_JOBS", "2")
    subprocess.check_call(["cmake", "--build", build_dir, "-j" + jobs, "--target", "sftpkit_python_package"])
    return os.path.join(build_dir, "python", "sftpkit")


def package_dir(build_temp):
    staged = os.environ.get("SFTPKIT_PACKAGE_DIR")
    if staged:
        if not has_extension(staged):
            raise SystemExit("sftpkit: SFTPKIT_PACKAGE_DIR=%s holds no _sftpkit_native*.so" % staged)
        return staged
    if os.path.isdir(SOURCE_TREE):
        return build_from_source(build_temp)
    tree = tree_package_dir()
    if not has_extension(tree):
        raise SystemExit("sftpkit: no built package in %s. Run `make` first (or set SFTPKIT_BUILD_DIR "
                         "to the CMake build directory)." % tree)
    return tree


def package_files(pkg_dir):
    """Every file of the package directory (sub-directories such as licenses/ included), except
    build leftovers."""
    keep = (".py", ".pyi", ".so", ".json", ".txt", ".copyright", "py.typed")
    out = []
    for root, _, files in os.walk(pkg_dir):
        for f in files:
            if f.startswith(".") or f.endswith(".pyc"):
                continue
            if f.endswith(keep) or ".so." in f:
                out.append(os.path.relpath(os.path.join(root, f), pkg_dir))
    return sorted(out)


class BuildPackage(build_py):
    """Copies the finished package directory instead of compiling Python sources one by one."""

    def run(self):
        build_temp = os.path.join(HERE, "build", "temp-" + sysconfig.get_platform())
        src = package_dir(build_temp)
        dest = os.path.join(self.build_lib, "sftpkit")
        for rel in package_files(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(os.path.join(src, rel), os.path.join(dest, rel))


class BinaryDistribution(Distribution):
    """The wheel carries native code: tag it for this interpreter and platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPackage}, distclass=BinaryDistribution)

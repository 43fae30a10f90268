#!/usr/bin/python3
"""Proves the release packages work on a machine that has never seen libssh or OpenSSL.

    test_no_deps.py PACKAGES_DIR [SCENARIO...]     (python sdist java net8.0 net10.0 errors; default all)

Each scenario installs one package from scratch and starts the smallest real server with it
(packaging/consumers/) under packaging/hide-libs, which covers the system's libssh, libcrypto,
libssl and the Kerberos libraries with empty files in a private mount namespace:
  python   a fresh venv, `pip install --no-index` of the manylinux wheel, python server.py
  java     javac against the jar, then `java -cp sftpkit-V.jar:classes NoDepsServer`
  net8.0   a new net8.0 console project referencing SFTPKit from a local source (self-contained
           publish for linux-x64: this machine has no .NET 8 runtime), run as its apphost
  net10.0  the same as a framework-dependent net10.0 project, run with `dotnet app.dll`
  sdist    (not hidden: it links the system's libraries by design) the sdist built from source by
           `pip wheel --no-build-isolation`, installed in a fresh venv
  errors   those installs with the bundled libssh covered too (Java: -Dos.arch=riscv64): each must
           fail with an error naming the platform and the library
Then, from outside the namespace, paramiko logs in, uploads 256 KiB, lists, downloads them back and
the bytes are compared (and the file on the server's disk too). The server process's memory map
must show the bundled, hash-named libssh and libcrypto from the package and no system copy.
Before anything, a check that the masking works: loading libssh.so.4 inside must fail.

The compile/restore/publish steps run outside the namespace: the .NET SDK's own HTTPS needs the
system's OpenSSL, and that is the SDK's dependency, not the package's. zlib stays visible (the
interpreters themselves link it); the map check shows the bundled copy is the one sftpkit uses.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HIDE_LIBS = os.path.join(HERE, "hide-libs")
CONSUMERS = os.path.join(HERE, "consumers")
PYTHON = "/usr/bin/python3"
TRIPLET = "x86_64-linux-gnu"
# What a machine without libssh and OpenSSL lacks (libssh-4, libssl3 and libssh's Kerberos deps).
HIDDEN_SONAMES = ["libssh.so.4", "libcrypto.so.3", "libssl.so.3", "libgssapi_krb5.so.2", "libkrb5.so.3",
                  "libk5crypto.so.3", "libkrb5support.so.0"]
START_TIMEOUT = 240   # venv + pip, or a JVM: seconds until the server says READY
PAYLOAD = 256 * 1024


def version():
    return json.load(open(os.path.join(REPO, "spec", "sftpkit.json")))["version"]


def hidden_files():
    files = []
    for so in HIDDEN_SONAMES:
        p = os.path.join("/usr/lib", TRIPLET, so)
        if os.path.exists(p):
            files.append(os.path.realpath(p))
    return sorted(set(files))


def hidden(cmd):
    return [HIDE_LIBS, *hidden_files(), "--", *cmd]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, **kw):
    print("  +", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def check_masking(work):
    """Inside the namespace the system's libssh and libcrypto must not load (else the test proves nothing)."""
    probe = "import ctypes,sys\nfor n in %r:\n    try:\n        ctypes.CDLL(n)\n        sys.exit('loaded ' + n)\n" \
            "    except OSError:\n        pass\n" % (["libssh.so.4", "libcrypto.so.3"],)
    res = subprocess.run(hidden([PYTHON, "-c", probe]), capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError("masking failed: the system's library still loads inside hide-libs: " + res.stderr.strip())
    outside = subprocess.run([PYTHON, "-c", "import ctypes; ctypes.CDLL('libssh.so.4')"])
    if outside.returncode != 0:
        raise AssertionError("libssh.so.4 does not load outside the namespace either: the check would prove nothing")


def transfer(port, root):
    import paramiko
    data = os.urandom(PAYLOAD)
    t = paramiko.Transport(("127.0.0.1", port))
    try:
        t.connect(username="demo", password="demo")
        sftp = paramiko.SFTPClient.from_transport(t)
        with sftp.open("upload.bin", "wb") as f:
            f.write(data)
        if "upload.bin" not in sftp.listdir("."):
            raise AssertionError("upload.bin missing from the listing: %r" % sftp.listdir("."))
        with sftp.open("upload.bin", "rb") as f:
            back = f.read()
        sftp.close()
    finally:
        t.close()
    if back != data:
        raise AssertionError("downloaded %d bytes differ from the %d uploaded" % (len(back), len(data)))
    on_disk = open(os.path.join(root, "upload.bin"), "rb").read()
    if hashlib.sha256(on_disk).digest() != hashlib.sha256(data).digest():
        raise AssertionError("the file on the server's disk differs from what was uploaded")


def check_maps(pid, where):
    """The server's own mappings: the bundled libssh/libcrypto from the package, no system copy."""
    paths = set()
    for line in open("/proc/%d/maps" % pid).read().split("\n"):
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/"):
            # the Java loader deletes its extracted copies once loaded: "... (deleted)"
            paths.add(fields[5].removesuffix(" (deleted)"))
    system = [p for p in paths if os.path.dirname(p) in ("/usr/lib/" + TRIPLET, "/lib/" + TRIPLET)
              and os.path.basename(p).startswith(("libssh.", "libcrypto.", "libgssapi_krb5."))]
    if system:
        raise AssertionError("the server mapped the system's %s" % system)
    for stem in ("libssh-", "libcrypto-", "libsftpkit.so"):
        hits = [p for p in paths if os.path.basename(p).startswith(stem)]
        if not hits:
            raise AssertionError("no %s* mapped by the server (maps: %s)" % (stem, sorted(p for p in paths if "lib" in p)))
        for h in hits:
            if not h.startswith(where):
                raise AssertionError("%s mapped from %s, not from the package under %s" % (stem, h, where))
    return sorted(os.path.basename(p) for p in paths if os.path.basename(p).startswith(("libssh-", "libcrypto-")))


def serve_and_transfer(name, cmd, root, port, where, env=None):
    """Starts cmd (already wrapped), waits for READY, transfers, stops it by closing stdin."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    lines = []
    try:
        deadline = time.time() + START_TIMEOUT
        while True:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError("%s exited (%s) before READY:\n%s" % (name, proc.wait(), "".join(lines)))
            lines.append(line)
            if line.startswith("READY"):
                print("  " + line.strip(), flush=True)
                break
            if time.time() > deadline:
                raise AssertionError("%s: no READY within %ds:\n%s" % (name, START_TIMEOUT, "".join(lines)))
        mapped = check_maps(proc.pid, where)
        print("  mapped from the package: " + ", ".join(mapped), flush=True)
        transfer(port, root)
        proc.stdin.close()
        rc = proc.wait(timeout=60)
        if rc != 0:
            raise AssertionError("%s exited %d after the transfer:\n%s" % (name, rc, "".join(lines) + proc.stdout.read()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


# ---- scenarios ---------------------------------------------------------------------------------
def scenario_python(pkgs, work):
    wheels = [w for w in os.listdir(os.path.join(pkgs, "python")) if w.endswith("manylinux_2_34_x86_64.whl")
              or (w.endswith("_x86_64.whl") and "manylinux" in w)]
    if len(wheels) != 1:
        raise AssertionError("expected one x86_64 manylinux wheel in %s/python, found %s" % (pkgs, wheels))
    wheel = os.path.join(pkgs, "python", wheels[0])
    d = fresh(os.path.join(work, "python"))
    root = fresh(os.path.join(d, "root"))
    venv = os.path.join(d, "venv")
    port = free_port()
    inner = ("set -e; %s -m venv %s; %s/bin/pip install -q --no-index --no-deps %s; exec %s/bin/python %s %d %s"
             % (PYTHON, venv, venv, wheel, venv, os.path.join(CONSUMERS, "server.py"), port, root))
    serve_and_transfer("python", hidden(["/bin/sh", "-c", inner]), root, port, venv + "/")


def scenario_java(pkgs, work):
    jar = os.path.join(pkgs, "java", "sftpkit-%s.jar" % version())
    d = fresh(os.path.join(work, "java"))
    root = fresh(os.path.join(d, "root"))
    classes = os.path.join(d, "classes")
    run(["javac", "--release", "17", "-cp", jar, "-d", classes, os.path.join(CONSUMERS, "java", "NoDepsServer.java")])
    tmp = fresh(os.path.join(d, "tmp"))  # the loader extracts its natives here
    port = free_port()
    cmd = ["java", "-Djava.io.tmpdir=" + tmp, "-cp", jar + ":" + classes, "NoDepsServer", str(port), root]
    serve_and_transfer("java", hidden(cmd), root, port, tmp + "/")


def scenario_dotnet(pkgs, work, tfm):
    d = fresh(os.path.join(work, "dotnet-" + tfm))
    root = fresh(os.path.join(d, "root"))
    proj = fresh(os.path.join(d, "NoDeps"))
    nuget = os.path.join(work, "nuget-packages")   # kept between runs for Microsoft's packs; SFTPKit dropped
    shutil.rmtree(os.path.join(nuget, "sftpkit"), ignore_errors=True)
    self_contained = tfm == "net8.0"  # no .NET 8 runtime here: the app brings its own
    rid = "<RuntimeIdentifier>linux-x64</RuntimeIdentifier><SelfContained>true</SelfContained>" if self_contained else ""
    with open(os.path.join(proj, "NoDeps.csproj"), "w") as f:
        f.write('<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n'
                '    <TargetFramework>%s</TargetFramework>\n    <ImplicitUsings>disable</ImplicitUsings>\n'
                '    <Nullable>disable</Nullable>\n    %s\n  </PropertyGroup>\n  <ItemGroup>\n'
                '    <PackageReference Include="SFTPKit" Version="%s" />\n  </ItemGroup>\n</Project>\n'
                % (tfm, rid, version()))
    with open(os.path.join(proj, "nuget.config"), "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources>\n    <clear />\n'
                '    <add key="sftpkit-release" value="%s" />\n'
                '    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />\n'
                '  </packageSources>\n</configuration>\n' % os.path.join(pkgs, "dotnet"))
    shutil.copy2(os.path.join(CONSUMERS, "dotnet", "Program.cs"), proj)
    env = dict(os.environ, NUGET_PACKAGES=nuget, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    out = os.path.join(d, "out")
    run(["dotnet", "publish", proj, "-c", "Release", "-o", out, "--nologo", "-v", "q"], env=env)
    port = free_port()
    if self_contained:
        cmd = [os.path.join(out, "NoDeps"), str(port), root]
        where = out + "/"
    else:
        cmd = ["dotnet", os.path.join(out, "NoDeps.dll"), str(port), root]
        where = os.path.join(out, "runtimes", "linux-x64", "native") + "/"
    serve_and_transfer("dotnet " + tfm, hidden(cmd), root, port, where, env=env)


def scenario_sdist(pkgs, work):
    """The sdist builds from source (CMake, the machine's libssh/OpenSSL -dev packages) into a wheel
    that installs in a fresh venv and serves. Not under hide-libs: such a wheel links the system's
    libraries by design."""
    sdist = os.path.join(pkgs, "python", "sftpkit-%s.tar.gz" % version())
    d = fresh(os.path.join(work, "sdist"))
    run(["tar", "xzf", sdist, "-C", d])
    src = os.path.join(d, "sftpkit-%s" % version())
    wheels = os.path.join(d, "wheels")
    # the build happens inside src, so ccache (when CMAKE_C_COMPILER_LAUNCHER says so) sees the same
    # relative paths every run
    env = dict(os.environ, CCACHE_BASEDIR=d)
    run([PYTHON, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", src, "-w", wheels], env=env, cwd=src)
    built = os.listdir(wheels)
    if len(built) != 1 or not built[0].endswith("_x86_64.whl"):
        raise AssertionError("the sdist built %s, expected one x86_64 wheel" % built)
    root = fresh(os.path.join(d, "root"))
    venv = os.path.join(d, "venv")
    run([PYTHON, "-m", "venv", venv])
    run([os.path.join(venv, "bin", "pip"), "install", "-q", "--no-index", "--no-deps", os.path.join(wheels, built[0])])
    port = free_port()
    cmd = [os.path.join(venv, "bin", "python"), os.path.join(CONSUMERS, "server.py"), str(port), root]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY"):
            raise AssertionError("the sdist-built server did not start: %s%s" % (line, proc.stdout.read()))
        print("  " + line.strip(), flush=True)
        transfer(port, root)
        proc.stdin.close()
        if proc.wait(timeout=60) != 0:
            raise AssertionError("the sdist-built server exited %d" % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def expect_failure(name, cmd, must_say, env=None):
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, env=env)
    out = res.stdout + res.stderr
    if res.returncode == 0:
        raise AssertionError("%s: started although its native library cannot load:\n%s" % (name, out))
    missing = [w for w in must_say if w not in out]
    if missing:
        raise AssertionError("%s: the error does not say %s:\n%s" % (name, missing, out[-3000:]))
    line = next((l for l in out.splitlines() if must_say[0] in l), "")
    print("  %s: %s" % (name, line.strip()[:300]), flush=True)


def scenario_errors(pkgs, work):
    """What a user sees when the natives cannot load: the installs of the python, java and net10.0
    scenarios with the bundled libssh also covered (or, for Java, a platform the jar lacks). Each
    must fail with an error naming the platform and the library."""
    venv_pkg = os.path.join(work, "python", "venv", "lib", "python3.11", "site-packages", "sftpkit")
    dotnet_native = os.path.join(work, "dotnet-net10.0", "out", "runtimes", "linux-x64", "native")
    classes = os.path.join(work, "java", "classes")
    for need in (venv_pkg, dotnet_native, classes):
        if not os.path.isdir(need):
            raise AssertionError("errors runs after the python, java and net10.0 scenarios (%s missing)" % need)
    bundled = lambda d: [os.path.join(d, f) for f in os.listdir(d) if f.startswith("libssh-")]
    py = [HIDE_LIBS, *hidden_files(), *bundled(venv_pkg), "--", os.path.join(work, "python", "venv", "bin", "python"),
          "-c", "import sftpkit"]
    expect_failure("python", py, ["sftpkit: cannot load its native library on Linux x86_64", "libssh-", "glibc"])
    net = [HIDE_LIBS, *hidden_files(), *bundled(dotnet_native), "--", "dotnet",
           os.path.join(work, "dotnet-net10.0", "out", "NoDeps.dll"), "1", "/nonexistent"]
    expect_failure("net10.0", net, ["SFTPKit: cannot load the native library libsftpkit_csharp.so", "linux-x64", "libssh-"])
    jar = os.path.join(pkgs, "java", "sftpkit-%s.jar" % version())
    java = [HIDE_LIBS, *hidden_files(), "--", "java", "-Dos.arch=riscv64", "-cp", jar + ":" + classes, "NoDepsServer",
            "1", "/nonexistent"]
    expect_failure("java", java, ["sftpkit: this jar carries no native libraries for linux-riscv64", "linux-aarch64"])


SCENARIOS = {
    "python": scenario_python,
    "sdist": scenario_sdist,
    "java": scenario_java,
    "net8.0": lambda p, w: scenario_dotnet(p, w, "net8.0"),
    "net10.0": lambda p, w: scenario_dotnet(p, w, "net10.0"),
    "errors": scenario_errors,
}


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    pkgs = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    work = os.path.join(os.path.dirname(pkgs), "packages-test")
    os.makedirs(work, exist_ok=True)
    print("no-deps: hiding %s" % ", ".join(hidden_files()), flush=True)
    check_masking(work)
    passed = failed = 0
    for name in names:
        t0 = time.time()
        print("no-deps: %s" % name, flush=True)
        try:
            SCENARIOS[name](pkgs, work)
            passed += 1
            print("PASS %s (%.0f s)" % (name, time.time() - t0), flush=True)
        except Exception as e:  # report every scenario, then fail
            failed += 1
            print("FAIL %s (%.0f s): %s" % (name, time.time() - t0, e), flush=True)
    print("no-deps: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

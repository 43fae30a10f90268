#!/usr/bin/env python3
"""Builds the release packages: self-contained for linux-x86_64 and (when its cross build is
there) linux-aarch64.

    build_packages.py BUILD_DIR [ARM64_BUILD_DIR] OUT_DIR

BUILD_DIR is `make build`'s tree (x86_64); ARM64_BUILD_DIR the cross build of the native targets
(packaging/build-arm64). Writes into OUT_DIR:
  python/sftpkit-V-cp311-cp311-manylinux_2_XX_<arch>.whl (one per architecture) and sftpkit-V.tar.gz
  java/sftpkit-V.jar (natives/linux-x86_64 + natives/linux-aarch64), -sources.jar, -javadoc.jar, .pom
  dotnet/SFTPKit.V.nupkg (runtimes/linux-x64 + runtimes/linux-arm64, lib/net8.0 + lib/net10.0), .snupkg
Each package's native directory comes from bundle_natives.py: the glue, libsftpkit.so.1 and every
non-glibc library they need, RUNPATH $ORIGIN, with natives.json and the third-party notices.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUNDLE = os.path.join(HERE, "bundle_natives.py")
# Debian's interpreter: the one the binding is built for, with Debian's setuptools and wheel.
PYTHON = "/usr/bin/python3"
DOTNET_RID = {"x86_64": "linux-x64", "aarch64": "linux-arm64"}

# What the Python sdist needs to build the extension from source (and nothing of the tests).
SDIST_TREE = ["CMakeLists.txt", "core", "swig", "spec", "tools/gen", "bindings/CMakeLists.txt",
              "bindings/python", "LICENSE"]


def sh(*cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def version():
    return json.load(open(os.path.join(REPO, "spec", "sftpkit.json")))["version"]


def bundle(arch, out, *elf):
    shutil.rmtree(out, ignore_errors=True)
    sh(sys.executable, BUNDLE, "--arch", arch, "--out", out, *elf)
    return json.load(open(os.path.join(out, "natives.json")))


def glues(build, arch):
    """Each binding's native glue in one build tree."""
    py = glob.glob(os.path.join(build, "python", "sftpkit", "_sftpkit_native*.so"))
    if len(py) != 1:
        raise SystemExit("build_packages: expected one Python extension in %s/python/sftpkit, found %s" % (build, py))
    return {
        "python": py[0],
        "java": os.path.join(build, "java", "natives", "linux-" + arch, "libsftpkit_java.so"),
        "csharp": os.path.join(build, "lib", "libsftpkit_csharp.so"),
    }


def split_bundle(all_dir, manifest, glue, others, out):
    """One binding's native directory from the bundle of all three: everything but the other glues."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(all_dir, out, ignore=shutil.ignore_patterns(*others))
    m = dict(manifest)
    m["project_libraries"] = [f for f in manifest["project_libraries"] if f not in others]
    m["load_order"] = [f for f in manifest["load_order"] if f not in others]
    with open(os.path.join(out, "natives.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    return m


# ---- Python ------------------------------------------------------------------------------------
def python_wheel(build, arch, bundle_dir, manifest, out):
    stage = os.path.join(out, "stage", "python-" + arch)
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(os.path.join(REPO, "bindings", "python"), stage,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    shutil.copy2(os.path.join(REPO, "LICENSE"), stage)  # setuptools puts LICENSE* into the wheel's dist-info
    pkg = os.path.join(stage, "pkg", "sftpkit")
    os.makedirs(pkg)
    # The pure-Python half (hand-written + generated) from the x86_64 tree: it is the same for both.
    for f in os.listdir(os.path.join(build, "python", "sftpkit")):
        if f.endswith((".py", ".pyi")) or f == "py.typed":
            shutil.copy2(os.path.join(build, "python", "sftpkit", f), pkg)
    for f in os.listdir(bundle_dir):
        src = os.path.join(bundle_dir, f)
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(pkg, f))
    env = dict(os.environ, SFTPKIT_PACKAGE_DIR=pkg)
    dist = os.path.join(out, "python")
    sh(PYTHON, "setup.py", "-q", "bdist_wheel", "--plat-name", manifest["manylinux_tag"],
       "--dist-dir", dist, cwd=stage, env=env)


def python_sdist(out):
    stage = os.path.join(out, "stage", "python-sdist")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(os.path.join(REPO, "bindings", "python"), stage,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    tracked = subprocess.run(["git", "-C", REPO, "ls-files", "--", *SDIST_TREE], check=True,
                             capture_output=True, text=True).stdout.split()
    for rel in tracked:
        dest = os.path.join(stage, "sftpkit-src", rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(REPO, rel), dest)
    with open(os.path.join(stage, "MANIFEST.in"), "w") as f:
        f.write("graft sftpkit-src\ngraft sftpkit\ninclude README.md LICENSE\nglobal-exclude *.pyc\n")
    if os.path.exists(os.path.join(REPO, "LICENSE")):
        shutil.copy2(os.path.join(REPO, "LICENSE"), stage)
    sh(PYTHON, "setup.py", "-q", "sdist", "--formats=gztar", "--dist-dir", os.path.join(out, "python"),
       cwd=stage)


# ---- Java --------------------------------------------------------------------------------------
def java_packages(build, bundles, out):
    v = version()
    dist = os.path.join(out, "java")
    os.makedirs(dist, exist_ok=True)
    jar = os.path.join(dist, "sftpkit-%s.jar" % v)
    shutil.copyfile(os.path.join(build, "java", "sftpkit.jar"), jar)
    stage = os.path.join(out, "stage", "java")
    shutil.rmtree(stage, ignore_errors=True)
    for arch, (bdir, manifest) in bundles.items():
        dest = os.path.join(stage, "natives", manifest["platform"])
        shutil.copytree(bdir, dest)
        # The loader's list: every file to extract, dependencies first, the JNI glue last.
        with open(os.path.join(dest, "natives.list"), "w") as f:
            f.write("\n".join(manifest["load_order"]) + "\n")
    os.makedirs(os.path.join(stage, "META-INF"))
    shutil.copy2(os.path.join(REPO, "LICENSE"), os.path.join(stage, "META-INF", "LICENSE"))
    sh("jar", "--update", "--file", jar, "-C", stage, "natives", "-C", stage, "META-INF/LICENSE")
    shutil.copyfile(os.path.join(build, "java", "sftpkit-sources.jar"), os.path.join(dist, "sftpkit-%s-sources.jar" % v))
    shutil.copyfile(os.path.join(build, "java", "sftpkit-javadoc.jar"), os.path.join(dist, "sftpkit-%s-javadoc.jar" % v))
    shutil.copyfile(os.path.join(REPO, "bindings", "java", "pom.xml"), os.path.join(dist, "sftpkit-%s.pom" % v))


# ---- .NET --------------------------------------------------------------------------------------
def dotnet_packages(build, bundles, out):
    dist = os.path.join(out, "dotnet")
    os.makedirs(dist, exist_ok=True)
    props = ["-p:Version=" + version(), "-p:SfkBuildDir=" + os.path.abspath(build),
             "-p:PackageOutputPath=" + dist, "-p:SfkReleasePackage=true"]
    for arch, (bdir, _) in bundles.items():
        props.append("-p:SfkNatives_%s=%s" % (DOTNET_RID[arch].replace("-", "_"), bdir))
    env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    sh("dotnet", "pack", os.path.join(REPO, "bindings", "csharp", "SFTPKit.csproj"), "-c", "Release", "--nologo",
       "--verbosity", "quiet", "--artifacts-path", os.path.join(out, "stage", "dotnet-artifacts"), *props, env=env)


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    build = os.path.abspath(sys.argv[1])
    arm = os.path.abspath(sys.argv[2]) if len(sys.argv) == 4 else None
    out = os.path.abspath(sys.argv[-1])
    for sub in ("python", "java", "dotnet"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    trees = {"x86_64": build}
    if arm:
        trees["aarch64"] = arm
    bundles = {"python": {}, "java": {}, "csharp": {}}
    for arch, tree in trees.items():
        g = glues(tree, arch)
        all_dir = os.path.join(out, "stage", "natives", arch, "all")
        manifest = bundle(arch, all_dir, *g.values(), os.path.join(tree, "lib", "libsftpkit.so.1"))
        for lang, glue in g.items():
            others = [os.path.basename(o) for l, o in g.items() if l != lang]
            bdir = os.path.join(out, "stage", "natives", arch, lang)
            bundles[lang][arch] = (bdir, split_bundle(all_dir, manifest, glue, others, bdir))
    for arch, (bdir, manifest) in bundles["python"].items():
        python_wheel(build, arch, bdir, manifest, out)
    python_sdist(out)
    java_packages(build, bundles["java"], out)
    dotnet_packages(build, bundles["csharp"], out)
    for sub in ("python", "java", "dotnet"):
        for f in sorted(os.listdir(os.path.join(out, sub))):
            print("package: %s/%s" % (sub, f))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Makes a directory of native libraries that runs on a Linux machine which has only glibc.

    bundle_natives.py --arch x86_64|aarch64 --out DIR [--keep-name SONAME]... ELF...

Copies each ELF given (the binding's glue library and libsftpkit.so.1) into DIR, then follows
their DT_NEEDED entries and copies every library that is not part of glibc (libssh, libcrypto,
zlib, the Kerberos libraries libssh links, ...) from Debian's multiarch directory of that
architecture. Every copy gets RUNPATH $ORIGIN (patchelf), so the dynamic linker finds them beside
each other wherever a package unpacks them.

The third-party copies are renamed libNAME-<hash>.so.N (SONAME and the DT_NEEDED entries that
name them): a process that already has the system's libcrypto.so.3 or libssh.so.4 loaded (Python's
_ssl, a JVM with another native library) would otherwise make the dynamic linker reuse that one
for its SONAME instead of the bundled one, which is exactly the version mix bundling is meant to
avoid. The same scheme as auditwheel, the tool PyPI's manylinux wheels are made with.

Writes DIR/natives.json (architecture, glibc floor, each library with its Debian package, version
and upstream license, and the load order) and DIR/THIRD-PARTY-NOTICES.txt plus
DIR/licenses/<package>.copyright, Debian's copyright file of each bundled package.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

TRIPLETS = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
STRIP = {"x86_64": "strip", "aarch64": "aarch64-linux-gnu-strip"}
ELF_MACHINE = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}

# glibc's own libraries: every Linux machine has them (the platform floor is stated instead).
GLIBC = re.compile(r"^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libnsl|"
                   r"libcrypt)\.so\.\d+$|^ld-linux[-a-z0-9_.]*\.so\.\d+$")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def dynamic(path):
    """(needed sonames, soname) of an ELF file."""
    out = run("readelf", "-dW", path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return needed, (soname[0] if soname else None)


def machine(path):
    m = re.search(r"Machine:\s+(.+)", run("readelf", "-hW", path))
    return m.group(1).strip() if m else "?"


def glibc_versions(path):
    """The GLIBC_x.y symbol versions an ELF file needs from glibc."""
    out = run("readelf", "-VW", path)
    return {tuple(int(p) for p in v.split(".")) for v in re.findall(r"Name: GLIBC_([0-9.]+)", out)}


def find_library(soname, arch):
    for d in ("/lib/" + TRIPLETS[arch], "/usr/lib/" + TRIPLETS[arch]):
        p = os.path.join(d, soname)
        if os.path.exists(p):
            return os.path.realpath(p)
    raise SystemExit("bundle_natives: %s (%s) not found in Debian's multiarch directories; install the "
                     "%s package that carries it" % (soname, arch, DEB_ARCH[arch]))


def debian_packages(paths, arch):
    """{path: (package, version)} for library files, asked of dpkg in one call (dpkg -S is slow).
    A file can be recorded under /lib or /usr/lib (merged /usr), so both spellings are asked."""
    variants = {}
    for p in paths:
        for v in (p, p.replace("/usr/lib/", "/lib/", 1), p.replace("/lib/", "/usr/lib/", 1)):
            variants.setdefault(v, p)
    res = subprocess.run(["dpkg", "-S", *sorted(variants)], capture_output=True, text=True)
    owners = {}
    for line in res.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        if path in variants and "," not in pkgs:
            owners[variants[path]] = pkgs.split(":")[0]
    out = {}
    for p in paths:
        pkg = owners.get(p)
        version = run("dpkg-query", "-W", "-f=${Version}", "%s:%s" % (pkg, DEB_ARCH[arch])) if pkg else None
        out[p] = (pkg, version)
    return out


# The upstream license of each library the Debian 12 build of libssh pulls in, read from the
# copyright files: the 'Files: *' stanza of a few of them covers a whole source package (e2fsprogs
# for com_err, keyutils' tools) rather than the library, and krb5's file is not machine-readable.
LIBRARY_LICENSES = {
    "libssh": "LGPL-2.1-or-later (with the OpenSSL linking exception)",
    "libcrypto": "Apache-2.0",
    "libz": "Zlib",
    "libgssapi_krb5": "MIT (MIT Kerberos license)",
    "libkrb5": "MIT (MIT Kerberos license)",
    "libk5crypto": "MIT (MIT Kerberos license)",
    "libkrb5support": "MIT (MIT Kerberos license)",
    "libcom_err": "MIT-style (MIT SIPB notice in e2fsprogs' lib/et)",
    "libkeyutils": "LGPL-2.0-or-later",
}


def main_license(copyright_text):
    """The license of the 'Files: *' stanza of a machine-readable Debian copyright file."""
    for stanza in re.split(r"\n\s*\n", copyright_text):
        if re.search(r"^Files:\s*\*\s*$", stanza, re.M):
            m = re.search(r"^License:\s*(.+)$", stanza, re.M)
            if m:
                return m.group(1).strip()
    licenses = sorted(set(re.findall(r"^License:\s*(\S.*)$", copyright_text, re.M)))
    return " / ".join(licenses) if licenses else "see licenses/ (Debian copyright file)"


def hashed_name(soname, path):
    """libssh.so.4 -> libssh-1a2b3c4d.so.4 (hash of the file, so two builds never share a name)."""
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()[:8]
    stem, _, version = soname.partition(".so")
    return "%s-%s.so%s" % (stem, digest, version)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(TRIPLETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("elf", nargs="+", help="the project's libraries (glue first or last, any order)")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    own = {}        # file name in out -> source (the project's libraries, names kept)
    third = {}      # original soname -> {"file": new name, "source": real path}
    for path in args.elf:
        if machine(path) != ELF_MACHINE[args.arch]:
            raise SystemExit("bundle_natives: %s is %s, not %s" % (path, machine(path), args.arch))
        own[os.path.basename(path)] = path
    own_sonames = {dynamic(p)[1] or n for n, p in own.items()}

    # Breadth-first over DT_NEEDED, from the project's libraries down.
    pending = list(own.values())
    graph = {}      # source path -> needed sonames
    while pending:
        path = pending.pop(0)
        needed, _ = dynamic(path)
        graph[path] = needed
        for so in needed:
            if GLIBC.match(so) or so in own_sonames or so in third:
                continue
            src = find_library(so, args.arch)
            third[so] = {"source": src, "file": hashed_name(so, src)}
            pending.append(src)

    renames = {so: t["file"] for so, t in third.items()}
    copies = {}     # out file -> source
    for name, src in own.items():
        copies[name] = src
    for so, t in third.items():
        copies[t["file"]] = t["source"]
    for name, src in copies.items():
        dest = os.path.join(args.out, name)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o755)
        if name in own:
            # a build tree's RelWithDebInfo libraries: the DWARF doubles their size and no
            # package's user needs it (Debian's copies come stripped already)
            run(STRIP[args.arch], "--strip-debug", dest)
        # One patchelf call per change: Debian 12's patchelf 0.14 corrupts the string table when
        # one call combines --set-soname, --replace-needed and --set-rpath.
        if src in (t["source"] for t in third.values()):
            run("patchelf", "--set-soname", name, dest)
        for so in graph[src]:
            if so in renames:
                run("patchelf", "--replace-needed", so, renames[so], dest)
        run("patchelf", "--set-rpath", "$ORIGIN", dest)

    # Load order: dependencies before dependents (what a loader that loads each file itself needs).
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        src = copies[name]
        for so in graph[src]:
            if so in renames:
                visit(renames[so])
            elif so in own_sonames:
                visit(next(n for n, p in own.items() if (dynamic(p)[1] or n) == so))
        order.append(name)

    for name in sorted(copies):
        visit(name)

    floor = max(v for name in copies for v in glibc_versions(os.path.join(args.out, name)))
    lic_dir = os.path.join(args.out, "licenses")
    os.makedirs(lic_dir, exist_ok=True)
    libraries = []
    packages = debian_packages([t["source"] for t in third.values()], args.arch)
    for so, t in sorted(third.items()):
        pkg, version = packages[t["source"]]
        entry = {"file": t["file"], "replaces_soname": so, "from": t["source"],
                 "debian_package": pkg, "version": version, "license": None}
        if pkg:
            cp = "/usr/share/doc/%s/copyright" % pkg
            if os.path.exists(cp):
                text = open(cp, encoding="utf-8", errors="replace").read()
                entry["license"] = LIBRARY_LICENSES.get(so.split(".so")[0]) or main_license(text)
                shutil.copyfile(cp, os.path.join(lic_dir, pkg + ".copyright"))
        libraries.append(entry)

    manifest = {
        "arch": args.arch,
        "platform": "linux-" + args.arch,
        "glibc_floor": "%d.%d" % floor[:2],
        "manylinux_tag": "manylinux_%d_%d_%s" % (floor[0], floor[1], args.arch),
        "project_libraries": sorted(own),
        "bundled_libraries": libraries,
        "load_order": order,
    }
    with open(os.path.join(args.out, "natives.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "THIRD-PARTY-NOTICES.txt"), "w") as f:
        f.write("Native libraries bundled with sftpkit for %s (needs glibc >= %s; nothing else from the system).\n"
                "Each is a copy of Debian 12's build, renamed with a hash so it never clashes with the\n"
                "system's copy. Full license texts: licenses/<package>.copyright.\n\n" % (manifest["platform"], manifest["glibc_floor"]))
        for e in libraries:
            f.write("%-32s %-22s Debian %s %s\n    license: %s\n" % (e["file"], "(" + e["replaces_soname"] + ")",
                                                                  e["debian_package"], e["version"], e["license"]))
    print("bundle_natives: %s: %d project + %d bundled libraries, glibc >= %s -> %s" % (
        args.arch, len(own), len(third), manifest["glibc_floor"], args.out))


if __name__ == "__main__":
    sys.exit(main())

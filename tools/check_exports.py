#!/usr/bin/env python3
"""Fails when the shared library exports a symbol the spec does not name, or lacks one it does.

usage: check_exports.py LIBRARY EXPECTED_LIST   (the list is generated: build/generated/exports.txt)"""
import subprocess
import sys

lib, expected_path = sys.argv[1], sys.argv[2]
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines()
            if line.split() and line.split()[-2] in ("T", "W", "D", "B", "R")}
exported.discard("SFTPKIT_1.0")
expected = {line.strip() for line in open(expected_path) if line.strip()}
missing, unexpected = sorted(expected - exported), sorted(exported - expected)
for s in missing:
    print("missing export:", s)
for s in unexpected:
    print("unexpected export:", s)
versioned = subprocess.run(["objdump", "-T", lib], capture_output=True, text=True, check=True).stdout
unversioned = [l for l in versioned.splitlines() if " sftpkit_" in l and "SFTPKIT_1.0" not in l]
for l in unversioned:
    print("export without the SFTPKIT_1.0 version node:", l.split()[-1])
print("abi: %d exported, %d expected, %d missing, %d unexpected" % (len(exported), len(expected), len(missing), len(unexpected)))
sys.exit(1 if missing or unexpected or unversioned else 0)

#!/usr/bin/env python3
"""Generates every spec-driven file of sftpkit.

usage: generate.py --build DIR     write the built outputs under DIR and the committed ones in the tree
       generate.py --check         fail if a committed output differs from what the spec gives

Committed outputs (reviewed like code, and needed without a build): the public generated headers
under core/include/sftpkit/ and the API reference under docs/api/. Everything else (internal C
tables and accessors, the version script, generated tests, the bindings' generated layers) is
written into the build tree only.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_model  # noqa: E402
import gen_c  # noqa: E402

GENERATORS = [gen_c]
for optional in ("gen_docs", "gen_tests", "gen_swig", "gen_python", "gen_java", "gen_csharp", "gen_conformance"):
    try:
        GENERATORS.append(__import__(optional))
    except ImportError:
        pass


def all_outputs(model):
    out = {}
    for g in GENERATORS:
        out.update(g.outputs(model))
    return out


def write_if_changed(path, text):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="build directory for the non-committed outputs")
    ap.add_argument("--check", action="store_true", help="compare the committed outputs with the spec")
    args = ap.parse_args()
    model = spec_model.load()
    outs = all_outputs(model)
    root = spec_model.ROOT
    if args.check:
        stale = []
        for rel, (text, committed) in sorted(outs.items()):
            if committed:
                path = os.path.join(root, rel)
                if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                    stale.append(rel)
        if stale:
            print("generate: out of date with spec/ (run make generate):\n  " + "\n  ".join(stale))
            return 1
        print("generate: committed outputs match the spec (%d files)" % sum(1 for v in outs.values() if v[1]))
        return 0
    if not args.build:
        ap.error("--build DIR or --check")
    for rel, (text, committed) in sorted(outs.items()):
        path = os.path.join(root, rel) if committed else os.path.join(args.build, rel)
        write_if_changed(path, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generates every spec-driven file of sftpkit.

usage: generate.py --build DIR            write every output under DIR only (what the build runs)
       generate.py --build DIR --commit   the same, and rewrite the committed outputs in the tree
                                          (`make generate`, after a spec change)
       generate.py --check --build DIR    fail unless every generator ran in DIR's last build and
                                          the committed outputs equal what that build generated

Committed outputs (reviewed like code, and needed without a build): the public generated headers
under core/include/sftpkit/, the API reference under docs/api/ and the generated conformance
cases. A build never writes into the source tree: it writes the committed outputs as a mirror
under DIR/generated/committed/, so the check can tell "the tree is stale" from "the tree is
fresh" after a spec edit (when the build rewrote the tree itself, the check could never fail).
Everything else (internal C tables, the version script, generated tests, the bindings' layers)
lives only in the build tree.
"""
import argparse
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_model  # noqa: E402

# Every generator is required: a module that fails to import or raises is an error naming it,
# never a silent skip (a skipped gen_docs once let the check compare 4 files instead of 11).
GENERATOR_NAMES = ("gen_c", "gen_docs", "gen_tests", "gen_python", "gen_java", "gen_csharp", "gen_conformance")

MIRROR = os.path.join("generated", "committed")
MANIFEST = os.path.join("generated", "manifest.json")


class GeneratorError(Exception):
    pass


def run_generators(model):
    """{relative path: (text, committed?)} and the names of the generators that produced them."""
    out, ran = {}, []
    for name in GENERATOR_NAMES:
        try:
            mod = importlib.import_module(name)
            produced = mod.outputs(model)
        except Exception as e:  # any failure of a generator must stop the build and the check
            raise GeneratorError("generate: generator %s failed: %s: %s" % (name, type(e).__name__, e)) from e
        if not produced:
            raise GeneratorError("generate: generator %s produced no files" % name)
        for rel in produced:
            if rel in out:
                raise GeneratorError("generate: %s is produced twice (second time by %s)" % (rel, name))
        out.update(produced)
        ran.append(name)
    return out, ran


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_if_changed(path, text):
    if read(path) == text:
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # a reader (a parallel compile) never sees half a file
    return True


def committed_paths(outs):
    return sorted(rel for rel, (_, committed) in outs.items() if committed)


def stale_in_tree(outs, root):
    return [rel for rel in committed_paths(outs) if read(os.path.join(root, rel)) != outs[rel][0]]


def build(outs, ran, build_dir, root, commit):
    for rel, (text, committed) in sorted(outs.items()):
        write_if_changed(os.path.join(build_dir, MIRROR if committed else "", rel), text)
        if committed and commit:
            if write_if_changed(os.path.join(root, rel), text):
                print("generate: rewrote %s" % rel)
    manifest = {"generators": ran, "committed": committed_paths(outs)}
    write_if_changed(os.path.join(build_dir, MANIFEST), json.dumps(manifest, indent=1) + "\n")
    if not commit:
        stale = stale_in_tree(outs, root)
        if stale:  # a hint only: the build goes on, generated_up_to_date is what fails
            sys.stderr.write("generate: committed files differ from spec/ (run make generate):\n  %s\n"
                             % "\n  ".join(stale))
    return 0


def check(outs, ran, build_dir, root):
    """Fails on: a generator missing from the build's manifest, a mirror file the build did not
    write or that differs from the spec now (stale build tree), a committed file that differs."""
    problems = []
    manifest = read(os.path.join(build_dir, MANIFEST))
    if manifest is None:
        problems.append("%s missing: the build did not run the generators" % MANIFEST)
        manifest = {"generators": [], "committed": []}
    else:
        manifest = json.loads(manifest)
    for name in ran:
        if name not in manifest["generators"]:
            problems.append("generator %s did not run in the build" % name)
    expected = committed_paths(outs)
    if manifest["committed"] != expected:
        problems.append("the build's committed-file list differs from the generators' (%d vs %d files)"
                        % (len(manifest["committed"]), len(expected)))
    for rel in expected:
        built = read(os.path.join(build_dir, MIRROR, rel))
        tree = read(os.path.join(root, rel))
        if built is None:
            problems.append("%s: not generated by the build" % rel)
        elif built != outs[rel][0]:
            problems.append("%s: the build tree is older than spec/ (rebuild)" % rel)
        if tree is None:
            problems.append("%s: missing from the source tree (run make generate)" % rel)
        elif tree != outs[rel][0]:
            problems.append("%s: committed file differs from spec/ (run make generate)" % rel)
    if problems:
        print("generate: check failed:\n  " + "\n  ".join(problems))
        return 1
    print("generate: %d generators ran; the %d committed outputs match the build's and the spec's"
          % (len(ran), len(expected)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="build directory (all outputs go under it)")
    ap.add_argument("--commit", action="store_true", help="also rewrite the committed outputs in the tree")
    ap.add_argument("--check", action="store_true", help="compare the committed outputs with the build's")
    args = ap.parse_args()
    try:
        outs, ran = run_generators(spec_model.load())
    except GeneratorError as e:
        print(e, file=sys.stderr)
        return 1
    root = spec_model.ROOT
    build_dir = os.path.abspath(args.build)
    if args.check:
        return check(outs, ran, build_dir, root)
    return build(outs, ran, build_dir, root, args.commit)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The Python conformance runner: interprets tests/conformance/cases/*.json (FORMAT.md) with the
sftpkit Python binding and drives each server with the common client driver.

usage: run.py [FILTER]        (or SFTPKIT_CONFORMANCE_FILTER=substring)
The binding is imported from PYTHONPATH (the build tree's <build>/python, or an installed copy).
Each case runs in a forked child (its own process group, killed on timeout). Prints one line per
case, the count by kind, and ends with `python: N passed, N failed`.
"""
import asyncio
import binascii
import datetime
import json
import os
import posixpath
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import time
import traceback

import sftpkit
from sftpkit import FileAttributes, FileSystem, SFTPError, SFTPKitError, SFTPServer, SSHKey

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(CONF, "client", "driver.py")
CLIENT_PYTHON = os.environ.get("SFTPKIT_CLIENT_PYTHON", "/usr/bin/python3")
CASE_TIMEOUT = 60.0
CLIENT_TIMEOUT = 120.0
TEXT_MATCHERS = ("regex", "starts_with", "ends_with", "contains")


class CaseFail(Exception):
    """The case did not hold (or could not be interpreted)."""


_LOOP = None


def runner_loop():
    """The event loop the runner gives servers with async handlers/providers ("async": true):
    one per case process, on its own thread, as an application would run it."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
        threading.Thread(target=_LOOP.run_forever, name="runner-loop", daemon=True).start()
    return _LOOP


# ---- types of the binding's API (from the generated annotations) ------------------------------

def prop_type(prop):
    fn = getattr(SFTPServer, "get_" + prop, None)
    if fn is None:
        raise CaseFail("unknown property %r" % prop)
    return fn.__annotations__.get("return")


def method_types(name):
    fn = getattr(SFTPServer, name, None)
    if fn is None or name.startswith("_") or not callable(fn):
        raise CaseFail("unknown method %r" % name)
    ann = dict(fn.__annotations__)
    ann.pop("return", None)
    return list(ann.values())


def convert(value, ty, what):
    if ty is bool:
        if not isinstance(value, bool):
            raise CaseFail("%s: bool expected, got %r" % (what, value))
        return value
    if ty is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CaseFail("%s: integer expected, got %r" % (what, value))
        return value
    if ty is str:
        if not isinstance(value, str):
            raise CaseFail("%s: string expected, got %r" % (what, value))
        return value
    if ty is bytes:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise CaseFail("%s: bytes expected, got %r" % (what, value))
    return value


def jsonable(v):
    if isinstance(v, bytes):
        return {"hex": binascii.hexlify(v).decode()}
    return v


def show(v, limit=80):
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + "..."


# ---- one case ---------------------------------------------------------------------------------

class Case:
    def __init__(self, case):
        self.case = case
        self.name = case["name"]
        self.vars = {}
        self.records = []
        self.cond = threading.Condition()
        self.handler_failures = []
        self.keys = {}
        self.background = []
        self.srv = None
        self.tmp = None
        self.once_done = set()
        self.listing_state = {}
        self.vfs = None
        self.provider = None

    # values and matchers
    def value(self, v, params=None):
        if isinstance(v, dict):
            if "repeat" in v:
                return str(v["repeat"]) * int(v["count"])
            if len(v) != 1:
                raise CaseFail("value object must have one key: %r" % (v,))
            k, a = next(iter(v.items()))
            if k == "hex":
                return binascii.unhexlify(a)
            if k == "var":
                if a not in self.vars:
                    raise CaseFail("variable %r was never set" % a)
                return self.vars[a]
            if k == "param":
                if params is None or a not in params:
                    raise CaseFail("no event parameter %r here" % a)
                return params[a]
            if k == "concat":
                parts = []
                for x in a:
                    x = self.value(x, params)
                    parts.append(("true" if x else "false") if isinstance(x, bool) else
                                 x.decode("utf-8") if isinstance(x, bytes) else str(x))
                return "".join(parts)
            if k == "path":
                return os.path.join(CONF, a)
            if k == "file":
                with open(os.path.join(CONF, a), encoding="utf-8") as f:
                    return f.read().rstrip("\n")
            raise CaseFail("unknown value %r" % (v,))
        if isinstance(v, list):
            raise CaseFail("a list is not a value: %r" % (v,))
        return v

    def matches(self, m, actual, params=None):
        if isinstance(m, dict) and len(m) == 1:
            k, a = next(iter(m.items()))
            if k in ("hex", "var", "param", "concat", "path", "file"):
                want = self.value(m, params)
                return self.matches(want, actual) if not isinstance(want, dict) else False
            if k in TEXT_MATCHERS:
                a = self.value(a, params)
                if not isinstance(a, str):
                    raise CaseFail("%s needs a string, not %r" % (k, a))
                if isinstance(actual, bytes):
                    actual = actual.decode("utf-8", "replace")
                if not isinstance(actual, str):
                    return False
                return {"regex": lambda: re.fullmatch(a, actual) is not None,
                        "starts_with": lambda: actual.startswith(a),
                        "ends_with": lambda: actual.endswith(a),
                        "contains": lambda: a in actual}[k]()
            if k in ("ge", "gt", "le", "lt"):
                if isinstance(actual, bool) or not isinstance(actual, int):
                    return False
                return {"ge": actual >= a, "gt": actual > a, "le": actual <= a, "lt": actual < a}[k]
            if k == "not":
                return not self.matches(a, actual, params)
            if k == "any_of":
                return any(self.matches(x, actual, params) for x in a)
            if k == "any":
                return actual is not None
        if isinstance(m, (dict, list)):
            raise CaseFail("unknown matcher %r" % (m,))
        if isinstance(m, bool) or isinstance(actual, bool):
            return isinstance(m, bool) and isinstance(actual, bool) and m == actual
        if isinstance(actual, bytes):
            if isinstance(m, str):
                return actual == m.encode("utf-8")
            return isinstance(m, bytes) and actual == m
        return m == actual

    # API steps
    def api_step(self, step, params=None):
        """Runs a set/get/call/key step; returns (done, value)."""
        srv = self.srv
        err = step.get("error")
        try:
            if "set" in step:
                prop = step["set"]
                setter = getattr(srv, "set_" + prop, None)
                if setter is None:
                    raise CaseFail("property %r has no setter" % prop)
                v = self.value(step.get("value"), params)
                if not (v is None and prop_type(prop) in (str, bytes)):  # null: the C NULL
                    v = convert(v, prop_type(prop), "set " + prop)
                result = setter(self.value(step["index"], params), v) if "index" in step else setter(v)
            elif "get" in step:
                prop = step["get"]
                getter = getattr(srv, "get_" + prop, None)
                if getter is None:
                    raise CaseFail("unknown property %r" % prop)
                result = getter(self.value(step["index"], params)) if "index" in step else getter()
                if prop.endswith("_time") and (result is None or isinstance(result, datetime.datetime)):
                    # the binding reads time properties as datetimes; cases state the library's text
                    result = "" if result is None else result.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif "call" in step:
                name = step["call"]
                types = method_types(name)
                args = step.get("args", [])
                if len(args) != len(types):
                    raise CaseFail("%s takes %d arguments, %d given" % (name, len(types), len(args)))
                conv = [convert(self.value(a, params), t, "%s arg %d" % (name, i))
                        for i, (a, t) in enumerate(zip(args, types))]
                result = getattr(srv, name)(*conv)
            elif "key" in step:
                result = self.key_step(step, params)
            elif "refused_handler_forms" in step:
                result = self.refused_handler_forms()
            else:
                raise CaseFail("unknown step %r" % (step,))
        except SFTPKitError as e:
            if err is None:
                raise CaseFail("%s: %s" % (self.step_label(step), e))
            if e.code != err:
                raise CaseFail("%s: error %d (%s), expected error %d" % (self.step_label(step), e.code, e.message, err))
            return
        except TypeError as e:
            raise CaseFail("%s: %s" % (self.step_label(step), e))
        if err is not None:
            raise CaseFail("%s: succeeded, expected error %d" % (self.step_label(step), err))
        if "expect" in step and not self.matches(step["expect"], result, params):
            raise CaseFail("%s: got %s, expected %s" % (self.step_label(step), show(result), show(step["expect"])))
        if "save" in step:
            self.vars[step["save"]] = result

    def key_step(self, step, params):
        k = self.keys.get(step["key"])
        if k is None:
            k = self.keys[step["key"]] = SSHKey()
        op = step.get("op")
        args = [self.value(a, params) for a in step.get("args", [])]
        if op == "generate":
            return k.generate(*args)
        if op == "import_file":
            return k.import_file(*args)
        if op == "import_bytes":
            if args and isinstance(args[0], str):
                args[0] = args[0].encode("utf-8")
            return k.import_bytes(*args)
        if op == "import_external":
            return k.import_external(*args)
        if op == "export_public":
            return k.export_public()
        if op == "handle":
            return k.handle
        raise CaseFail("unknown key op %r" % op)

    @staticmethod
    def step_label(step):
        for k in ("set", "get", "call"):
            if k in step:
                return "%s %s%s" % (k, step[k], "[%s]" % step["index"] if "index" in step else "")
        return "key %s %s" % (step.get("key"), step.get("op"))

    # events
    def install_handlers(self):
        skipped = set(self.case.get("unsubscribed", []))
        for name in sorted(skipped - set(sftpkit.EVENT_IDS)):
            raise CaseFail("unsubscribed: unknown event %r" % name)
        for name in sftpkit.EVENT_IDS:
            if name not in skipped:  # the binding then tells the core: no handler for it
                if self.vfs is not None and self.vfs.async_ and name in ("on_read_file", "on_write_file"):
                    setattr(self.srv, name, self.make_async_handler(name))
                else:
                    setattr(self.srv, name, self.make_handler(name))

    def make_async_handler(self, name):
        """FORMAT.md vfs "async": an async def that awaits the back-end's latency on the runner's
        loop, then does the vfs handling; CancelledError there counts as a cancellation."""
        async def handler(p):
            params = p.as_dict()
            # the record is "finished" at once: like a deferred handler, the event's own call is over
            # when the coroutine starts waiting (wait_event then sees it)
            rec = [name, params, True]
            with self.cond:
                self.records.append(rec)
                self.cond.notify_all()
            vfs = self.vfs
            with vfs.lock:
                vfs.inflight += 1
            try:
                try:
                    await asyncio.sleep(vfs.latency_ms / 1000.0)
                except asyncio.CancelledError:
                    with vfs.lock:
                        vfs.cancelled += 1
                    raise
                with vfs.lock:
                    getattr(vfs, name)(params, p)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - recorded; the case fails
                self.handler_failures.append("%s handler: %s" % (name, e if isinstance(e, CaseFail) else
                                                                 traceback.format_exc(limit=3)))
            finally:
                with vfs.lock:
                    vfs.inflight -= 1
        return handler

    def make_handler(self, name):
        def handler(p):
            rec = None
            try:
                params = p.as_dict()
                rec = [name, params, False]
                with self.cond:
                    self.records.append(rec)
                if self.vfs is not None:
                    self.vfs.handle(name, params, p)
                if "listing" in self.case:
                    self.listing(name, params, p)
                if "external_signer" in self.case and name == "on_external_sign":
                    self.external_sign(params, p)
                for i, rule in enumerate(self.case.get("handlers", [])):
                    self.apply_rule(i, rule, name, params, p)
            except Exception as e:  # noqa: BLE001 - recorded; the case fails
                self.handler_failures.append("%s handler: %s" % (name, e if isinstance(e, CaseFail) else
                                                                 traceback.format_exc(limit=3)))
            finally:
                if rec is not None:
                    with self.cond:
                        rec[2] = True  # wait_event only sees events whose handler finished
                        self.cond.notify_all()
        return handler

    def refused_handler_forms(self):
        """FORMAT.md: every handler form the binding refuses at assignment (bindings/python/README.md
        lists them), each on on_read_file with a TypeError naming it; the installed handler stays."""
        srv = self.srv
        installed = srv.on_read_file
        if installed is None:
            raise CaseFail("refused_handler_forms: no on_read_file handler installed")

        async def coroutine_fn(p):
            return None

        def generator_fn(p):
            yield p

        async def async_generator_fn(p):
            yield p

        forms = [("a coroutine object (the handler called, not assigned)", coroutine_fn(None)),
                 ("an asyncio Future", asyncio.Future(loop=runner_loop())),
                 ("a generator function", generator_fn),
                 ("an async generator function", async_generator_fn),
                 ("a callable taking no argument", lambda: None),
                 ("a non-callable value", "not a function")]
        for what, form in forms:
            try:
                srv.on_read_file = form
            except (TypeError, ValueError) as e:
                if "on_read_file" not in str(e):
                    raise CaseFail("refused_handler_forms: %s was refused, but the error does not name "
                                   "on_read_file: %s" % (what, e))
            else:
                raise CaseFail("refused_handler_forms: %s was accepted as on_read_file" % what)
            if srv.on_read_file is not installed:
                raise CaseFail("refused_handler_forms: after refusing %s the installed handler changed" % what)
        return None

    def apply_rule(self, i, rule, name, params, p):
        if rule.get("event") != name:
            return
        for pname, m in (rule.get("when") or {}).items():
            if pname not in params:
                raise CaseFail("rule %d: %s has no parameter %r" % (i, name, pname))
            if not self.matches(m, params[pname], params):
                return
        if rule.get("once"):
            with self.cond:
                if i in self.once_done:
                    return
                self.once_done.add(i)
        if rule.get("sleep_ms"):
            time.sleep(rule["sleep_ms"] / 1000.0)  # a slow handler (a database lookup)
        for step in rule.get("calls", []):
            self.api_step(step, params)
        for pname, v in (rule.get("set") or {}).items():
            setattr(p, pname, self.value(v, params))
        for var, pname in (rule.get("save") or {}).items():
            self.vars[var] = params[pname]

    def external_sign(self, params, p):
        """The external_signer behaviour: the platform's crypto (Debian's python3-cryptography)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
        key_id = params["operation_id"].split(":", 1)[1]
        spec = self.case["external_signer"]["keys"].get(key_id)
        if spec is None:
            raise CaseFail("external_signer: no key %r" % key_id)
        with open(self.value(spec, params), "rb") as f:
            priv = serialization.load_pem_private_key(f.read(), None)
        scheme = binascii.unhexlify(params["pars"]).decode().split(";")[1]
        data = binascii.unhexlify(params["data"])
        if scheme == "ed25519":
            sig = priv.sign(data)
        else:
            h = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}[
                params["hash_algorithm"]]
            if scheme == "ecdsa-der":
                sig = priv.sign(data, ec.ECDSA(utils.Prehashed(h)))
            elif scheme == "rsa-pkcs1v15":
                sig = priv.sign(data, padding.PKCS1v15(), utils.Prehashed(h))
            else:
                raise CaseFail("external_signer: unknown scheme %r" % scheme)
        p.signed_data = binascii.hexlify(sig).decode()

    def listing(self, name, params, p):
        spec = self.case["listing"]
        if name == "on_find_first":
            if "path" in spec and not self.matches(spec["path"], params["path"], params):
                return
            if "handle" in spec:
                p.handle = spec["handle"]
            handle = p.handle
            self.listing_state[handle] = 0
            self.serve_entry(spec["entries"], handle, params, p)
        elif name == "on_find_next" and params["handle"] in self.listing_state:
            self.serve_entry(spec["entries"], params["handle"], params, p)
        elif name == "on_find_close" and params["handle"] in self.listing_state:
            del self.listing_state[params["handle"]]
            p.operation_status = 1

    def serve_entry(self, entries, handle, params, p):
        n = self.listing_state[handle]
        if n >= len(entries):
            p.operation_status = 7
            return
        self.listing_state[handle] = n + 1
        for k, v in entries[n].items():
            prop = "client_file_entry_" + k
            getattr(self.srv, "set_" + prop)(convert(self.value(v, params), prop_type(prop), prop))
        self.srv.set_client_file_entry(params["connection_id"], handle)
        p.operation_status = 1

    # expectations
    def check_expect(self):
        exp = self.case.get("expect") or {}
        with self.cond:
            records = [(n, p) for n, p, _ in self.records]
        pos = 0
        for want in exp.get("events", []):
            found = False
            while pos < len(records):
                name, params = records[pos]
                pos += 1
                if self.event_matches(want, name, params):
                    found = True
                    break
            if not found:
                seen = [r[0] for r in records]
                raise CaseFail("expected event %s %s not found in order (recorded: %s)" % (
                    want["event"], show(want.get("params", {})), show(seen, 300)))
        for want in exp.get("events_absent", []):
            for name, params in records:
                if self.event_matches(want, name, params):
                    raise CaseFail("event %s %s must not occur, but did: %s" % (want["event"], show(
                        want.get("params", {})), show(params)))
        for ev, m in (exp.get("event_counts") or {}).items():
            if ev not in sftpkit.EVENT_IDS:
                raise CaseFail("unknown event %r" % ev)
            n = sum(1 for r in records if r[0] == ev)
            if not self.matches(m, n):
                raise CaseFail("%s fired %d times, expected %s" % (ev, n, show(m)))
        for rel, m in (exp.get("files") or {}).items():
            self.check_file(rel, m)
        if "vfs" in exp:
            if self.vfs is None:
                raise CaseFail("expect.vfs without a vfs behaviour")
            self.vfs.check(exp["vfs"])
        if "vfs_cancelled_at_least" in exp:
            if self.vfs is None or not (self.vfs.deferred or self.vfs.async_):
                raise CaseFail("expect.vfs_cancelled_at_least without a deferred or async vfs behaviour")
            with self.vfs.lock:
                n = self.vfs.cancelled
            if n < exp["vfs_cancelled_at_least"]:
                raise CaseFail("%d deferred requests were cancelled, expected at least %d" % (
                    n, exp["vfs_cancelled_at_least"]))
        if "provider" in exp or "provider_sessions" in exp:
            if self.provider is None:
                raise CaseFail("expect.provider without a provider behaviour")
            self.provider.check(exp)
        for var, m in (exp.get("vars") or {}).items():
            if var not in self.vars:
                raise CaseFail("variable %r was never saved" % var)
            if not self.matches(m, self.vars[var]):
                raise CaseFail("variable %s is %s, expected %s" % (var, show(self.vars[var]), show(m)))

    def event_matches(self, want, name, params):
        if want.get("event") != name:
            return False
        for pname, m in (want.get("params") or {}).items():
            if pname not in params:
                raise CaseFail("%s has no parameter %r" % (name, pname))
            if not self.matches(m, params[pname]):
                return False
        return True

    def check_file(self, rel, m):
        path = os.path.join(self.tmp, rel)
        if m is None:
            if os.path.lexists(path):
                raise CaseFail("file %s exists, expected absent" % rel)
            return
        if isinstance(m, dict) and m.get("dir") is True:
            if not os.path.isdir(path):
                raise CaseFail("%s is not a directory" % rel)
            return
        if not os.path.isfile(path):
            raise CaseFail("file %s does not exist" % rel)
        if isinstance(m, dict) and "size" in m:
            if not self.matches(m["size"], os.path.getsize(path)):
                raise CaseFail("file %s has size %d, expected %s" % (rel, os.path.getsize(path), m["size"]))
            return
        with open(path, "rb") as f:
            data = f.read()
        want = self.value(m)
        if isinstance(want, str):
            want = want.encode("utf-8")
        if data != want:
            raise CaseFail("file %s contains %s, expected %s" % (rel, show(data), show(want)))

    # the client
    def start_client(self, script):
        doc = {"host": "127.0.0.1", "port": self.vars.get("port"), "base": CONF,
               "vars": {k: jsonable(v) for k, v in self.vars.items()}, "script": script}
        proc = subprocess.Popen([CLIENT_PYTHON, DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        # The driver reads all of stdin before it does anything: writing it all here cannot block.
        try:
            proc.stdin.write(json.dumps(doc).encode())
            proc.stdin.close()
        except OSError:
            pass
        proc.stdin = None
        return proc

    @staticmethod
    def finish_client(proc):
        try:
            out, err = proc.communicate(timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise CaseFail("client driver timed out")
        line = out.decode("utf-8", "replace").strip().splitlines()
        try:
            res = json.loads(line[-1]) if line else {}
        except ValueError:
            res = {}
        if proc.returncode != 0 or not res.get("ok"):
            raise CaseFail("client: %s" % (res.get("error") or "driver exit %d: %s" % (
                proc.returncode, err.decode("utf-8", "replace").strip()[-300:])))

    def wait_event(self, step):
        deadline = time.monotonic() + step.get("timeout_ms", 5000) / 1000.0
        want = {"event": step["wait_event"], "params": step.get("params") or {}}
        count = step.get("count", 1)
        with self.cond:
            while True:
                if sum(1 for n, p, done in self.records if done and self.event_matches(want, n, p)) >= count:
                    return
                left = deadline - time.monotonic()
                if left <= 0:  # what did arrive, for the reader of a failure that happens once in a while
                    seen = ["%s%s" % (n, "" if done else " (running)") for n, p, done in self.records[-8:]]
                    raise CaseFail("timed out waiting for %s %s; the last events: %s" % (
                        step["wait_event"], show(want["params"]), ", ".join(seen) or "none"))
                self.cond.wait(left)

    # fixture and the whole run
    def fixture(self):
        fx = self.case.get("fixture") or {}
        srv = self.srv
        hk = fx.get("host_key", {"algorithm": "ssh-ed25519"})
        if hk is not None:
            k = self.keys["__host"] = SSHKey()
            k.generate(hk.get("algorithm", "ssh-ed25519"), hk.get("bits", 0))
            srv.server_key_count = 1
            srv.set_server_key_handle(0, k.handle)
        srv.host = "127.0.0.1"
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        srv.port = port
        self.vars["port"] = port
        self.vars["host"] = "127.0.0.1"
        if fx.get("base_dir", True):
            srv.base_dir = self.tmp

    def make_root(self):
        root = (self.case.get("fixture") or {}).get("root") or {}
        for d in root.get("dirs", []):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        for rel, v in (root.get("files") or {}).items():
            path = os.path.join(self.tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = self.value(v)
            with open(path, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)

    def run(self):
        self.tmp = tempfile.mkdtemp(prefix="sftpkit-conf-")
        try:
            self._run()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self):
        self.vars["root"] = self.tmp
        failure = None
        try:
            self.srv = SFTPServer()
            self.make_root()
            if self.case.get("server"):
                try:
                    self.fixture()
                except SFTPKitError as e:
                    raise CaseFail("fixture: %s" % e)
            if "vfs" in self.case:
                self.vfs = Vfs(self, self.case["vfs"])
            if "provider" in self.case:
                self.provider = ProviderBehaviour(self, self.case["provider"])
                self.srv.set_provider(self.provider.factory)  # the binding's provider layer
            self.install_handlers()
            for i, step in enumerate(self.case.get("steps", [])):
                try:
                    self.run_step(step)
                except CaseFail as e:
                    failure = CaseFail("step %d: %s" % (i, e))
                    break
        finally:
            errors = self.teardown()
        if failure is not None:
            raise failure
        if errors:
            raise CaseFail(errors[0])
        if self.handler_failures:
            raise CaseFail(self.handler_failures[0])
        self.check_expect()

    def run_step(self, step):
        if "client" in step:
            proc = self.start_client(step["client"])
            if step.get("background"):
                self.background.append(proc)
            else:
                self.finish_client(proc)
        elif "wait_client" in step:
            procs, self.background = self.background, []
            for proc in procs:
                self.finish_client(proc)
        elif "wait_event" in step:
            self.wait_event(step)
        else:
            self.api_step(step)

    def teardown(self):
        errors = []
        srv = self.srv
        if srv is not None and not srv.closed:
            try:
                if srv.active:
                    srv.stop()
            except SFTPKitError as e:
                errors.append("stop: %s" % e)
        procs, self.background = self.background, []
        for proc in procs:
            try:
                self.finish_client(proc)
            except CaseFail as e:
                errors.append(str(e))
        if self.vfs is not None:
            self.vfs.join_completers()  # every deferred token completed before the server goes
        if srv is not None:
            srv.close()
        for k in self.keys.values():
            k.close()
        return errors


# ---- the vfs behaviour ------------------------------------------------------------------------

def norm(path):
    parts = []
    for c in (path or "").split("/"):
        if c in ("", "."):
            continue
        if c == "..":
            if parts:
                parts.pop()
            continue
        parts.append(c)
    return "/" + "/".join(parts)


def parent(path):
    return norm(path.rsplit("/", 1)[0]) if path != "/" else "/"


class Vfs:
    WRITE_MODES = 2 | 8 | 128 | 4 | 16

    def __init__(self, case, spec):
        self.case = case
        for k in spec:
            if k not in ("files", "dirs", "latency_ms", "deferred", "async"):
                raise CaseFail("vfs: %r is not supported by the Python runner" % k)
        # a slow back-end's round trip for every read/write (FORMAT.md "latency_ms"); with
        # "deferred" the handler returns at once and a thread completes the request later
        self.latency_ms = int(spec.get("latency_ms") or 0)
        self.deferred = bool(spec.get("deferred"))
        # "async": on_read_file / on_write_file are async def handlers on the runner's loop
        self.async_ = bool(spec.get("async"))
        if self.async_ and self.deferred:
            raise CaseFail("vfs: async and deferred together")
        if self.async_:
            case.srv.event_loop = runner_loop()
        self.inflight = 0  # async handlers still running
        self.cancelled = 0  # deferred requests told of their cancellation
        self.completers = []  # the completion threads, joined before the server is freed
        self.lock = threading.Lock()
        self.files = {norm(k): self._bytes(case.value(v)) for k, v in (spec.get("files") or {}).items()}
        self.dirs = {"/"} | {norm(d) for d in spec.get("dirs", [])}
        self.handles = {}
        self.finds = {}
        self.opens = 0
        self.find_count = 0

    @staticmethod
    def _bytes(v):
        return v.encode("utf-8") if isinstance(v, str) else bytes(v)

    def exists(self, path):
        return path in self.files or path in self.dirs

    def handle(self, name, params, p):
        if name.startswith("on_before_"):
            p.action = 2
            return
        fn = getattr(self, name, None)
        if fn is not None and name.startswith("on_"):
            data_event = name in ("on_read_file", "on_write_file")
            if data_event and self.deferred:
                with self.lock:
                    self.defer(name == "on_write_file", params)
                return
            if data_event and self.latency_ms:
                # outside the lock: handlers on the server's worker threads must overlap
                time.sleep(self.latency_ms / 1000.0)
            with self.lock:
                fn(params, p)

    # ---- "deferred": take the request's token, complete it latency_ms later on a thread ----
    def defer(self, is_write, params):
        """(lock held) A read's answer is taken now, when the request came; a write lands in
        the file when it completes (the engine starts a handle's next WRITE only after that)."""
        path = self.handles.get(params["handle"])
        off, status, answer = params["offset"], 1, b""
        if path is None:
            status = 2
        elif not is_write:
            data = self.files.get(path)
            if data is None or off >= len(data):
                status = 7
            else:
                answer = data[off:off + params["size"]]
        req = self.case.srv.defer_request(params["connection_id"], params["handle"])
        t = threading.Thread(target=self.complete_later, args=(req, is_write, path, off, status, answer),
                             daemon=True)
        self.completers.append(t)
        t.start()

    def complete_later(self, req, is_write, path, off, status, answer):
        # short naps, so a cancellation (disconnect, stop) ends the wait early
        left, cancelled = self.latency_ms, False
        while left > 0 and not cancelled:
            time.sleep(min(left, 10) / 1000.0)
            left -= 10
            cancelled = req.cancelled != 0
        with self.lock:
            if cancelled:
                self.cancelled += 1
                status = 3  # discarded by the server anyway
            if is_write and status == 1:
                if path not in self.files:
                    status = 2
                else:
                    buf = req.data
                    data = bytearray(self.files[path])
                    if len(data) < off:
                        data.extend(b"\0" * (off - len(data)))
                    data[off:off + len(buf)] = buf
                    self.files[path] = bytes(data)
        req.complete(status, b"" if is_write else answer)

    def join_completers(self):
        with self.lock:
            threads, self.completers = self.completers, []
        for t in threads:
            t.join()
        # async handlers: their cancellation (a queued task.cancel) must have reached them
        until = time.monotonic() + 10
        while time.monotonic() < until:
            with self.lock:
                if self.inflight == 0:
                    break
            time.sleep(0.01)

    def on_open_file(self, params, p):
        path, modes = norm(params["path"]), params["modes"]
        if modes & self.WRITE_MODES:
            if parent(path) not in self.dirs:
                p.operation_status = 2
                return
            if path in self.dirs or (modes & 32 and path in self.files):
                p.operation_status = 3
                return
            if path not in self.files or modes & 16:
                self.files[path] = b""
        else:
            if path in self.dirs:
                p.operation_status = 3
                return
            if path not in self.files:
                p.operation_status = 2
                return
        self.opens += 1
        handle = "vfs%d" % self.opens
        p.handle = handle
        self.handles[handle] = path
        p.operation_status = 1

    def on_read_file(self, params, p):
        path = self.handles.get(params["handle"])
        if path is None:
            p.operation_status = 2
            return
        data, off = self.files.get(path, b""), params["offset"]
        if off >= len(data):
            p.operation_status = 7
            return
        self.case.srv.set_client_buffer(params["connection_id"], params["handle"], data[off:off + params["size"]])
        p.operation_status = 1

    def on_write_file(self, params, p):
        path = self.handles.get(params["handle"])
        if path is None:
            p.operation_status = 2
            return
        buf = self.case.srv.get_client_buffer(params["connection_id"], params["handle"])
        data, off = bytearray(self.files.get(path, b"")), params["offset"]
        if len(data) < off:
            data.extend(b"\0" * (off - len(data)))
        data[off:off + len(buf)] = buf
        self.files[path] = bytes(data)
        p.operation_status = 1

    def on_close_file(self, params, p):
        p.operation_status = 1 if self.handles.pop(params["handle"], None) is not None else 2

    def on_create_directory(self, params, p):
        path = norm(params["path"])
        if self.exists(path):
            p.operation_status = 3
        elif parent(path) not in self.dirs:
            p.operation_status = 2
        else:
            self.dirs.add(path)
            p.operation_status = 1

    def on_remove(self, params, p):
        path = norm(params["path"])
        if path == "/":
            p.operation_status = 3
        elif path in self.files:
            del self.files[path]
            p.operation_status = 1
        elif path in self.dirs:
            if any(x.startswith(path + "/") for x in list(self.files) + list(self.dirs)):
                p.operation_status = 3
            else:
                self.dirs.discard(path)
                p.operation_status = 1
        else:
            p.operation_status = 2

    def on_rename_file(self, params, p):
        old, new = norm(params["old_path"]), norm(params["new_path"])
        if not self.exists(old) or parent(new) not in self.dirs:
            p.operation_status = 2
            return
        if self.exists(new):
            p.operation_status = 3
            return
        if old in self.files:
            self.files[new] = self.files.pop(old)
        else:
            pre = old + "/"
            self.dirs = {new + d[len(old):] if d == old or d.startswith(pre) else d for d in self.dirs}
            self.files = {(new + f[len(old):] if f.startswith(pre) else f): v for f, v in self.files.items()}
        p.operation_status = 1

    def lookup(self, params):
        if params.get("path"):
            return norm(params["path"])
        return self.handles.get(params.get("handle"))

    def put_entry(self, path, connection_id, handle):
        srv = self.case.srv
        is_dir = path in self.dirs
        srv.client_file_entry_name = "/" if path == "/" else path.rsplit("/", 1)[1]
        srv.client_file_entry_path = path
        srv.client_file_entry_size = 0 if is_dir else len(self.files[path])
        srv.client_file_entry_directory = is_dir
        srv.client_file_entry_file_type = 1 if is_dir else 0
        srv.set_client_file_entry(connection_id, handle)

    def on_request_attributes(self, params, p):
        path = self.lookup(params)
        if path is None or not self.exists(path):
            p.operation_status = 2
            return
        self.put_entry(path, params["connection_id"], params["handle"])
        p.operation_status = 1

    def on_set_attributes(self, params, p):
        path = self.lookup(params)
        p.operation_status = 1 if path is not None and self.exists(path) else 2

    def on_find_first(self, params, p):
        path = norm(params["path"])
        if path not in self.dirs:
            p.operation_status = 2
            return
        self.find_count += 1
        handle = "find%d" % self.find_count
        p.handle = handle
        pre = "/" if path == "/" else path + "/"
        kids = sorted({x for x in list(self.files) + list(self.dirs)
                       if x != path and x.startswith(pre) and "/" not in x[len(pre):]})
        self.finds[handle] = kids
        self.serve(handle, params, p)

    def on_find_next(self, params, p):
        if params["handle"] not in self.finds:
            p.operation_status = 2
            return
        self.serve(params["handle"], params, p)

    def serve(self, handle, params, p):
        kids = self.finds[handle]
        if not kids:
            p.operation_status = 7
            return
        self.put_entry(kids.pop(0), params["connection_id"], handle)
        p.operation_status = 1

    def on_find_close(self, params, p):
        p.operation_status = 1 if self.finds.pop(params["handle"], None) is not None else 2

    def check(self, want):
        files = {norm(k): self._bytes(self.case.value(v)) for k, v in (want.get("files") or {}).items()}
        dirs = {"/"} | {norm(d) for d in want.get("dirs", [])}
        if self.files != files:
            raise CaseFail("vfs files %s, expected %s" % (show(self.files, 200), show(files, 200)))
        if self.dirs != dirs:
            raise CaseFail("vfs dirs %s, expected %s" % (sorted(self.dirs), sorted(dirs)))


# ---- the provider behaviour (FORMAT.md): the binding's FileSystem over an in-memory tree -------

class ProviderTree:
    def __init__(self, case, spec):
        self.lock = threading.Lock()
        self.files = {norm(k): Vfs._bytes(case.value(v)) for k, v in (spec.get("files") or {}).items()}
        self.dirs = {"/"} | {norm(d) for d in spec.get("dirs", [])}

    def copy(self):
        other = ProviderTree.__new__(ProviderTree)
        other.lock = threading.Lock()
        other.files = dict(self.files)
        other.dirs = set(self.dirs)
        return other


class RunnerFS(FileSystem):
    """FORMAT.md's provider method table, with the case's `errors` rules."""
    WRITE_MODES = Vfs.WRITE_MODES

    def __init__(self, behaviour, tree):
        self.b = behaviour
        self.t = tree

    def _rule(self, op, path):
        for r in self.b.errors:
            if r.get("op") == op and ("path" not in r or self.b.case.matches(r["path"], path)):
                if r.get("status") == "crash":
                    raise RuntimeError("internal-detail of %s(%s)" % (op, path))
                raise SFTPError(int(r["status"]), self.b.case.value(r.get("message", "")) or "")

    def _attrs(self, path):
        t = self.t
        if path in t.dirs:
            return FileAttributes.directory(posixpath.basename(path) or "/", permissions=0o755)
        if path in t.files:
            return FileAttributes.file(posixpath.basename(path), size=len(t.files[path]), permissions=0o644)
        raise SFTPError(2, "")

    def open(self, path, flags):
        self._rule("open", path)
        path, t = norm(path), self.t
        with t.lock:
            if flags & self.WRITE_MODES:
                if parent(path) not in t.dirs:
                    raise SFTPError(2, "")
                if path in t.dirs or (flags & 32 and path in t.files):
                    raise SFTPError(3, "")
                if path not in t.files or flags & 16:
                    t.files[path] = b""
            elif path not in t.files:
                raise SFTPError(3 if path in t.dirs else 2, "")
        return {"path": path, "append": bool(flags & 4)}

    def read(self, h, offset, size):
        self._rule("read", h["path"])
        with self.t.lock:
            return self.t.files.get(h["path"], b"")[offset:offset + size]

    def write(self, h, offset, data):
        self._rule("write", h["path"])
        with self.t.lock:
            cur = bytearray(self.t.files.get(h["path"], b""))
            if h["append"]:
                offset = len(cur)
            if len(cur) < offset:
                cur.extend(b"\0" * (offset - len(cur)))
            cur[offset:offset + len(data)] = data
            self.t.files[h["path"]] = bytes(cur)

    def close(self, h):
        self._rule("close", h["path"])

    def stat(self, path):
        self._rule("stat", path)
        with self.t.lock:
            return self._attrs(norm(path))

    def list(self, path):
        self._rule("list", path)
        path, t = norm(path), self.t
        with t.lock:
            if path not in t.dirs:
                raise SFTPError(2, "")
            prefix = path.rstrip("/") + "/"
            kids = sorted(p for p in set(t.files) | t.dirs
                          if p != path and p.startswith(prefix) and "/" not in p[len(prefix):])
            return [self._attrs(k) for k in kids]

    def mkdir(self, path):
        self._rule("mkdir", path)
        path, t = norm(path), self.t
        with t.lock:
            if path in t.dirs or path in t.files:
                raise SFTPError(3, "")
            if parent(path) not in t.dirs:
                raise SFTPError(2, "")
            t.dirs.add(path)

    def _delete(self, op, path):
        self._rule(op, path)
        path, t = norm(path), self.t
        with t.lock:
            if path == "/":
                raise SFTPError(3, "")
            if path in t.files:
                del t.files[path]
            elif path in t.dirs:
                prefix = path + "/"
                if any(p.startswith(prefix) for p in set(t.files) | t.dirs):
                    raise SFTPError(3, "")
                t.dirs.discard(path)
            else:
                raise SFTPError(2, "")

    def rmdir(self, path):
        self._delete("rmdir", path)

    def remove(self, path):
        self._delete("remove", path)

    def rename(self, old, new):
        self._rule("rename", old)
        old, new, t = norm(old), norm(new), self.t
        with t.lock:
            if old not in t.files and old not in t.dirs:
                raise SFTPError(2, "")
            if parent(new) not in t.dirs:
                raise SFTPError(2, "")
            if new in t.files or new in t.dirs:
                raise SFTPError(3, "")

            def move(p):
                return new + p[len(old):] if p == old or p.startswith(old + "/") else p
            t.files = {move(k): v for k, v in t.files.items()}
            t.dirs = {move(d) for d in t.dirs}

    def setstat(self, path, attrs):
        self._rule("setstat", path)
        with self.t.lock:
            self._attrs(norm(path))


class AsyncRunnerFS(RunnerFS):
    """FORMAT.md provider "async": every method an async def waiting latency_ms on the loop
    (asyncio.sleep), then the same behaviour and error rules as RunnerFS."""

    async def _later(self, method, *args):
        await asyncio.sleep(self.b.latency_ms / 1000.0)
        return method(self, *args)

    async def open(self, path, flags):
        return await self._later(RunnerFS.open, path, flags)

    async def read(self, h, offset, size):
        return await self._later(RunnerFS.read, h, offset, size)

    async def write(self, h, offset, data):
        data = bytes(data)  # the view is only promised for the call; copy before the wait
        return await self._later(RunnerFS.write, h, offset, data)

    async def close(self, h):
        return await self._later(RunnerFS.close, h)

    async def stat(self, path):
        return await self._later(RunnerFS.stat, path)

    async def list(self, path):
        return await self._later(RunnerFS.list, path)

    async def mkdir(self, path):
        return await self._later(RunnerFS.mkdir, path)

    async def rmdir(self, path):
        return await self._later(RunnerFS.rmdir, path)

    async def remove(self, path):
        return await self._later(RunnerFS.remove, path)

    async def rename(self, old, new):
        return await self._later(RunnerFS.rename, old, new)

    async def setstat(self, path, attrs):
        return await self._later(RunnerFS.setstat, path, attrs)


class ProviderBehaviour:
    KNOWN = {"files", "dirs", "per_session", "errors", "async", "latency_ms"}

    def __init__(self, case, spec):
        unknown = set(spec) - self.KNOWN
        if unknown:
            raise CaseFail("provider: unknown members %s" % sorted(unknown))
        self.case = case
        self.errors = list(spec.get("errors", []))
        self.per_session = bool(spec.get("per_session", False))
        self.async_ = bool(spec.get("async", False))
        self.latency_ms = int(spec.get("latency_ms") or 0)
        if self.latency_ms and not self.async_:
            raise CaseFail("provider: latency_ms is only supported with async")
        if self.async_:
            case.srv.event_loop = runner_loop()
        self.tree = ProviderTree(case, spec)
        self.sessions = []
        self.lock = threading.Lock()

    def factory(self, session):
        with self.lock:
            self.sessions.append({"user": session.user, "connection_id": session.connection_id,
                                  "remote_address": session.remote_address, "remote_port": session.remote_port})
        cls = AsyncRunnerFS if self.async_ else RunnerFS
        return cls(self, self.tree.copy() if self.per_session else self.tree)

    def check(self, exp):
        if "provider" in exp:
            want = exp["provider"]
            files = {norm(k): Vfs._bytes(self.case.value(v)) for k, v in (want.get("files") or {}).items()}
            dirs = {"/"} | {norm(d) for d in want.get("dirs", [])}
            if self.tree.files != files:
                raise CaseFail("provider files %s, expected %s" % (show(self.tree.files, 200), show(files, 200)))
            if self.tree.dirs != dirs:
                raise CaseFail("provider dirs %s, expected %s" % (sorted(self.tree.dirs), sorted(dirs)))
        if "provider_sessions" in exp:
            want = exp["provider_sessions"]
            if len(self.sessions) != len(want):
                raise CaseFail("the provider factory ran %d times, expected %d (%s)" % (
                    len(self.sessions), len(want), show(self.sessions, 200)))
            for i, (w, got) in enumerate(zip(want, self.sessions)):
                for k, m in w.items():
                    if k not in got:
                        raise CaseFail("provider_sessions[%d]: unknown field %r" % (i, k))
                    if not self.case.matches(m, got[k]):
                        raise CaseFail("provider_sessions[%d].%s is %s, expected %s" % (i, k, show(got[k]), show(m)))


# ---- main -------------------------------------------------------------------------------------

def load_cases():
    cases_dir = os.path.join(CONF, "cases")
    out, names = [], set()
    for fname in sorted(os.listdir(cases_dir)):
        if not fname.endswith(".json"):
            continue
        with open(os.path.join(cases_dir, fname), encoding="utf-8") as f:
            doc = json.load(f)
        for c in doc.get("cases", []):
            if c.get("name") in names:
                raise SystemExit("duplicate case name %r in %s" % (c.get("name"), fname))
            names.add(c.get("name"))
            out.append(c)
    return out


def case_kind(case):
    """FORMAT.md "Kinds": behaviour when a step runs the client driver (a real connection)."""
    return "behaviour" if any("client" in step for step in case.get("steps", [])) else "storage"


def run_case_here(case):
    try:
        Case(case).run()
        return None
    except CaseFail as e:
        return str(e)
    except Exception:  # noqa: BLE001 - a runner bug fails the case, loudly
        return "runner error: " + traceback.format_exc(limit=4).strip().replace("\n", "\n  ")


def run_case(case):
    """Runs the case in a forked child (its own process group) and waits up to CASE_TIMEOUT.
    A case that times out is killed with everything it started (server threads, client drivers),
    so it cannot keep running into later cases the way a timed-out thread did. The parent never
    creates a server, so it forks with only its main thread."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, exit without running the parent's cleanup
        os.close(rfd)
        code = 0
        try:
            os.setpgid(0, 0)
            err = run_case_here(case)
            os.write(wfd, json.dumps({"error": err}).encode("utf-8"))
        except BaseException:  # noqa: BLE001 - whatever happens, the child must not return
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    try:
        os.setpgid(pid, pid)  # also here: no race with the child's own call
    except OSError:
        pass
    data, deadline, timed_out = b"", time.monotonic() + CASE_TIMEOUT, False
    with os.fdopen(rfd, "rb") as r:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if ready:
                chunk = os.read(r.fileno(), 65536)
                if not chunk:
                    break
                data += chunk
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return "timed out after %ds (the case's processes were killed)" % CASE_TIMEOUT
    try:
        return json.loads(data.decode("utf-8"))["error"]
    except (ValueError, KeyError):
        how = ("signal %d" % os.WTERMSIG(status)) if os.WIFSIGNALED(status) else \
            ("exit status %d" % os.WEXITSTATUS(status))
        return "the case's process died without a result (%s)" % how


def main(argv):
    flt = argv[1] if len(argv) > 1 else os.environ.get("SFTPKIT_CONFORMANCE_FILTER", "")
    passed = failed = 0
    by_kind = {"behaviour": [0, 0], "storage": [0, 0]}
    for case in load_cases():
        if flt and flt not in case["name"]:
            continue
        err = run_case(case)
        kind = by_kind[case_kind(case)]
        if err is None:
            passed += 1
            kind[0] += 1
            print("PASS %s" % case["name"], flush=True)
        else:
            failed += 1
            kind[1] += 1
            first, _, rest = err.partition("\n")
            print("FAIL %s: %s" % (case["name"], first), flush=True)
            if rest:
                print("  " + rest, flush=True)
    print("python by kind: behaviour %d passed, %d failed; storage %d passed, %d failed"
          % tuple(by_kind["behaviour"] + by_kind["storage"]), flush=True)
    print("python: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

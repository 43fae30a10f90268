"""Shared fixtures of the Python binding's tests (run with Debian's /usr/bin/python3 -m pytest).

The binding comes from PYTHONPATH (ctest sets it to <build>/python). Events are fired without a
network through a test-only native library (tests/python/native/fire_hooks.c) that dispatches
exactly as the transport and the engine do; SFTPKIT_PY_TEST_HOOKS names it.
"""
import ctypes
import json
import os
import socket

import pytest

import sftpkit
from sftpkit import _sftpkit_native as native

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server under test)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def host_keyed_server():
    """A server with a fresh ed25519 host key, on 127.0.0.1 and a free port (nothing else set)."""
    key = sftpkit.SSHKey()
    key.generate("ssh-ed25519")
    srv = sftpkit.SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.host = "127.0.0.1"
    srv.port = free_port()
    return srv


def keyed_server(users=(("alice", "pw"),)):
    """host_keyed_server() with these users (name, password): what every real-connection test
    starts from."""
    srv = host_keyed_server()
    srv.user_count = len(users)
    for i, (name, password) in enumerate(users):
        srv.set_user_username(i, name)
        srv.set_user_password(i, password)
    return srv


def _hooks_path():
    p = os.environ.get("SFTPKIT_PY_TEST_HOOKS")
    if p:
        return p
    build = os.environ.get("SFTPKIT_BUILD_DIR") or os.path.join(ROOT, "build")
    return os.path.join(build, "lib", "libsftpkit_py_testhooks.so")


class Hooks:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.sfkt_fire.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                                       ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_int64),
                                       ctypes.POINTER(ctypes.c_void_p)]
        self.lib.sfkt_fire.restype = ctypes.c_int
        self.lib.sfkt_free.argtypes = [ctypes.c_void_p]
        self.lib.sfkt_fire_threads.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.sfkt_fire_threads.restype = ctypes.c_int

    @staticmethod
    def params(event):
        eid = sftpkit.EVENT_IDS[event]
        return [native.sftpkit_event_param_info(eid, i) for i in range(native.sftpkit_event_param_count(eid))]

    def fire(self, srv, event, **values):
        """Fires `event` on srv with the given parameter values (others 0 / ""); returns
        (handler_ran, {param: final value})."""
        eid = sftpkit.EVENT_IDS[event]
        info = self.params(event)
        n = len(info)
        ints = (ctypes.c_int64 * 8)()
        strs = (ctypes.c_char_p * 8)()
        keep = []
        for i, (name, ptype, _) in enumerate(info):
            v = values.pop(name, None)
            if ptype == 2:
                b = (v or "").encode("utf-8")
                keep.append(b)
                strs[i] = b
            else:
                ints[i] = int(v or 0)
        if values:
            raise KeyError("%s has no parameters %s" % (event, sorted(values)))
        ints_out = (ctypes.c_int64 * 8)()
        strs_out = (ctypes.c_void_p * 8)()
        ran = self.lib.sfkt_fire(int(srv._h), eid, ints, strs, ints_out, strs_out)
        out = {}
        for i, (name, ptype, _) in enumerate(info[:n]):
            s = ctypes.string_at(strs_out[i]).decode("utf-8")
            self.lib.sfkt_free(strs_out[i])
            out[name] = s if ptype == 2 else (bool(ints_out[i]) if ptype == 0 else ints_out[i])
        return ran, out

    def fire_threads(self, srv, event, threads, per_thread):
        return self.lib.sfkt_fire_threads(int(srv._h), sftpkit.EVENT_IDS[event], threads, per_thread)


@pytest.fixture(scope="session")
def hooks():
    path = _hooks_path()
    if not os.path.exists(path):
        pytest.fail("test hooks library missing: %s (build the sftpkit_py_testhooks target)" % path)
    return Hooks(path)


@pytest.fixture
def srv():
    s = sftpkit.SFTPServer()
    yield s
    s.close()


@pytest.fixture(scope="session")
def spec():
    with open(os.path.join(ROOT, "spec", "sftpserver.json"), encoding="utf-8") as f:
        return json.load(f)

"""SFTPServer.defer_request / PendingRequest (deferred completion) with a real client: a READ and a
WRITE completed later from another thread reach paramiko intact, a pending READ learns of the
client's disconnect through .cancelled, and the token refuses misuse (outside a handler, a second
complete)."""
import logging
import os
import threading
import time

import paramiko
import pytest
from paramiko.py3compat import long
from paramiko.sftp import CMD_READ

import sftpkit
from sftpkit import PendingRequest, SFTPKitError, SFTPServer

from conftest import host_keyed_server

logging.getLogger("paramiko").setLevel(logging.CRITICAL)

OK, NO_SUCH_FILE, EOF = 1, 2, 7


@pytest.fixture
def server():
    srv = host_keyed_server()
    srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "pw")
    for name in ("on_before_download_file", "on_before_upload_file"):
        setattr(srv, name, lambda p: setattr(p, "action", sftpkit.fraCustom))
    srv.on_close_file = lambda p: None
    yield srv
    srv.close()


def connect(srv):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username="u", password="pw")
    return t, paramiko.SFTPClient.from_transport(t)


def test_read_and_write_completed_from_another_thread(server):
    files = {"/r.bin": os.urandom(300000), "/w.bin": b""}
    handler_threads, completer_threads = set(), set()
    lock = threading.Lock()

    def on_open(p):
        p.handle = "h:" + p.path

    def later(req, status, data=b"", write_to=None, offset=0):
        time.sleep(0.005)  # a slow back-end: the handler has long returned
        with lock:
            completer_threads.add(threading.get_ident())
            if write_to is not None:
                buf = bytearray(files[write_to])
                got = req.data
                buf[offset:offset + len(got)] = got
                files[write_to] = bytes(buf)
        req.complete(status, data)

    def on_read(p):
        handler_threads.add(threading.get_ident())
        data = files[p.handle[2:]][p.offset:p.offset + p.size]
        req = server.defer_request(p.connection_id, p.handle)
        p.operation_status = NO_SUCH_FILE  # ignored once deferred: the completion answers
        threading.Thread(target=later, args=(req, OK if data else EOF, data)).start()

    def on_write(p):
        handler_threads.add(threading.get_ident())
        req = server.defer_request(p.connection_id, p.handle)
        threading.Thread(target=later, args=(req, OK), kwargs={"write_to": p.handle[2:], "offset": p.offset}).start()

    server.on_open_file, server.on_read_file, server.on_write_file = on_open, on_read, on_write
    server.start()
    t, c = connect(server)
    try:
        with c.open("/r.bin", "rb") as f:
            assert f.read() == files["/r.bin"]
        payload = os.urandom(100000)
        with c.open("/w.bin", "wb") as f:
            f.write(payload)
        assert files["/w.bin"] == payload
    finally:
        t.close()
    assert completer_threads and not (completer_threads & handler_threads)


def test_pending_read_is_cancelled_on_disconnect(server):
    taken = []
    deferred = threading.Event()

    def on_open(p):
        p.handle = "h1"

    def on_read(p):
        taken.append(server.defer_request(p.connection_id, p.handle))
        deferred.set()

    server.on_open_file, server.on_read_file = on_open, on_read
    server.start()
    t, c = connect(server)
    f = c.open("/x", "rb")
    c._async_request(type(None), CMD_READ, f.handle, long(0), int(10))  # sent, never awaited
    assert deferred.wait(10)
    req = taken[0]
    assert isinstance(req, PendingRequest)
    assert req.cancelled == 0  # still wanted
    t.close()
    deadline = time.monotonic() + 10
    while req.cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert req.cancelled == sftpkit.REQUEST_CANCEL_DISCONNECT
    req.complete(OK, b"too late")  # must still be completed; the answer is dropped
    assert req.done
    with pytest.raises(SFTPKitError):
        req.complete(OK)  # exactly once


def test_defer_request_outside_a_handler_is_refused(server):
    with pytest.raises(SFTPKitError):
        server.defer_request(1, "h1")

"""async def handlers and async providers (issue 14 items 2-3, issue 15) against real clients:
a slow asynchronous back-end serves downloads and uploads intact (paramiko, OpenSSH sftp), many
requests of one session and of two sessions wait at once on the loop, a client that hangs up and
stop() cancel the coroutines (CancelledError inside them) and stop() returns in bounded time, an
SFTPError raised after an await reaches the client with its text, other exceptions do not, the
handler forms that cannot work are refused at assignment, and non-deferrable events are awaited."""
import asyncio
import hashlib
import logging
import os
import shutil
import subprocess
import threading
import time

import paramiko
import pytest

import sftpkit
from sftpkit import FileAttributes, FileSystem, SFTPError

from conftest import host_keyed_server

logging.getLogger("paramiko").setLevel(logging.CRITICAL)

OK, NO_SUCH_FILE, ACCESS_DENIED, EOF = 1, 2, 3, 7


@pytest.fixture
def loop():
    """An application's event loop, running on its own thread."""
    lp = asyncio.new_event_loop()
    t = threading.Thread(target=lp.run_forever, daemon=True)
    t.start()
    yield lp

    async def drain():  # what the closed server cancelled finishes before the loop goes
        tasks = [x for x in asyncio.all_tasks() if x is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
    asyncio.run_coroutine_threadsafe(drain(), lp).result(10)
    lp.call_soon_threadsafe(lp.stop)
    t.join(5)
    lp.close()


@pytest.fixture
def server(loop):  # the loop outlives the server: closing the server cancels what runs on it
    srv = host_keyed_server()
    srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "pw")
    yield srv
    srv.close()


def connect(srv, password="pw"):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username="u", password=password)
    return t, paramiko.SFTPClient.from_transport(t)


class SlowStore:
    """The event form of a virtual file system whose back-end answers `latency` seconds later
    (an object store): on_read_file / on_write_file are async def, the rest plain."""

    def __init__(self, srv, files, latency, sessions_to_meet=0):
        self.srv, self.files, self.latency = srv, files, latency
        # > 0: a request waits (up to 20 s) until that many sessions have requests waiting, which
        # only happens if one session's pending requests never hold up another's
        self.sessions_to_meet = sessions_to_meet
        self.met = None
        self.lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0
        self.waiting_sessions = {}
        self.most_sessions = 0
        self.threads = set()
        self.cancelled = 0
        self.entered = threading.Event()
        for name in ("on_before_download_file", "on_before_upload_file", "on_before_request_attributes"):
            setattr(srv, name, lambda p: setattr(p, "action", sftpkit.fraCustom))
        srv.on_request_attributes = self.on_stat
        srv.on_open_file = self.on_open
        srv.on_close_file = lambda p: setattr(p, "operation_status", OK)
        srv.on_read_file = self.on_read
        srv.on_write_file = self.on_write

    def on_stat(self, p):  # a plain handler: paramiko's prefetch asks for the size first
        path = p.handle[2:] if p.handle else p.path
        if path not in self.files:
            p.operation_status = NO_SUCH_FILE
            return
        self.srv.client_file_entry_name = path.rsplit("/", 1)[-1]
        self.srv.client_file_entry_size = len(self.files[path])
        self.srv.client_file_entry_file_type = sftpkit.cftFile
        self.srv.set_client_file_entry(p.connection_id, p.handle)
        p.operation_status = OK

    def on_open(self, p):
        if p.modes & sftpkit.cfmWrite:
            self.files.setdefault(p.path, b"")
            if p.modes & sftpkit.cfmTruncate:
                self.files[p.path] = b""
        elif p.path not in self.files:
            p.operation_status = NO_SUCH_FILE
            return
        p.handle = "h:" + p.path
        p.operation_status = OK

    async def _backend(self, conn):
        with self.lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            self.waiting_sessions[conn] = self.waiting_sessions.get(conn, 0) + 1
            self.most_sessions = max(self.most_sessions, sum(1 for n in self.waiting_sessions.values() if n))
            self.threads.add(threading.get_ident())
        self.entered.set()
        if self.sessions_to_meet:
            if self.met is None:
                self.met = asyncio.Event()  # (on the loop thread only)
            if self.most_sessions >= self.sessions_to_meet:
                self.met.set()
            try:
                await asyncio.wait_for(self.met.wait(), 20)
            except asyncio.TimeoutError:
                pass  # the assertion on most_sessions reports it
        try:
            await asyncio.sleep(self.latency)
        except asyncio.CancelledError:
            with self.lock:
                self.cancelled += 1
            raise
        finally:
            with self.lock:
                self.waiting -= 1
                self.waiting_sessions[conn] -= 1

    async def on_read(self, p):
        await self._backend(p.connection_id)
        data = self.files[p.handle[2:]][p.offset:p.offset + p.size]
        if not data:
            p.operation_status = EOF
            return
        self.srv.set_client_buffer(p.connection_id, p.handle, data)  # the deferred request's answer
        p.operation_status = OK

    async def on_write(self, p):
        data = self.srv.get_client_buffer(p.connection_id, p.handle)  # before the wait: it is there
        await self._backend(p.connection_id)
        path = p.handle[2:]
        with self.lock:
            buf = bytearray(self.files[path])
            if len(buf) < p.offset:
                buf.extend(b"\0" * (p.offset - len(buf)))
            buf[p.offset:p.offset + len(data)] = data
            self.files[path] = bytes(buf)
        p.operation_status = OK


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_download_and_upload_through_async_handlers_on_the_applications_loop(server, loop):
    big = os.urandom(1 << 20)
    store = SlowStore(server, {"/big.bin": big}, 0.05)
    server.event_loop = loop
    assert server.event_loop is loop
    server.start()
    t, c = connect(server)
    try:
        with c.open("/big.bin", "rb") as f:
            f.prefetch()
            got = f.read()
        assert sha(got) == sha(big)
        up = os.urandom(700000)
        with c.open("/up.bin", "wb") as f:
            f.set_pipelined(True)
            f.write(up)
        assert sha(store.files["/up.bin"]) == sha(up)
    finally:
        t.close()
    # the coroutines ran on the application's loop, many of one session's requests at once
    assert store.threads == {loop._thread_id}
    assert store.most_waiting >= 4, store.most_waiting


def test_openssh_sftp_through_async_handlers_on_the_bindings_own_loop(server, tmp_path):
    if not shutil.which("sftp"):
        pytest.skip("OpenSSH sftp not installed")
    big = os.urandom(3 << 20)
    store = SlowStore(server, {"/big.bin": big}, 0.03)
    assert server.event_loop is None  # nothing given: the binding runs its own loop
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "id.pub").read_text().split()[1]
    server.on_auth_public_key = lambda p: setattr(p, "accept", public in p.public_key)
    (tmp_path / "up.bin").write_bytes(big[::-1])
    (tmp_path / "batch").write_text("get /big.bin %s\nput %s /up.bin\n" % (tmp_path / "down.bin", tmp_path / "up.bin"))
    server.start()
    r = subprocess.run(["sftp", "-b", str(tmp_path / "batch"), "-P", str(server.port), "-F", "/dev/null",
                        "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "u@127.0.0.1"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sha((tmp_path / "down.bin").read_bytes()) == sha(big)
    assert sha(store.files["/up.bin"]) == sha(big[::-1])
    assert len(store.threads) == 1 and threading.get_ident() not in store.threads
    assert store.most_waiting >= 4, store.most_waiting


def test_two_sessions_wait_on_the_loop_at_once(server, loop):
    big = os.urandom(600000)
    store = SlowStore(server, {"/big.bin": big}, 0.03, sessions_to_meet=2)
    server.event_loop = loop
    server.start()
    results, errors = [], []

    def client():
        try:
            t, c = connect(server)
            try:
                with c.open("/big.bin", "rb") as f:
                    f.prefetch()
                    results.append(sha(f.read()))
            finally:
                t.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert results == [sha(big)] * 2
    assert store.most_sessions == 2  # both sessions had requests waiting at the same time


def _start_abandoned_download(server, store):
    t, c = connect(server)
    f = c.open("/big.bin", "rb")
    f.prefetch()  # every READ of the file goes out at once
    assert store.entered.wait(10), "no async handler started"
    time.sleep(0.3)
    return t


def test_disconnect_cancels_the_waiting_coroutines(server, loop):
    store = SlowStore(server, {"/big.bin": os.urandom(2 << 20)}, 60)
    gone = threading.Event()
    server.on_disconnect = lambda p: gone.set()
    server.event_loop = loop
    server.start()
    t = _start_abandoned_download(server, store)
    waiting = store.waiting
    assert waiting >= 2
    t.close()
    assert gone.wait(10), "the session did not end"
    deadline = time.monotonic() + 10
    while store.cancelled < waiting and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.cancelled == waiting, (store.cancelled, waiting)
    assert store.waiting == 0
    # the server goes on serving
    store.latency = 0
    t, c = connect(server)
    assert c.stat("/big.bin").st_size == 2 << 20
    t.close()


def test_stop_cancels_async_handlers_and_returns_in_bounded_time(server):
    store = SlowStore(server, {"/big.bin": os.urandom(1 << 20)}, 60)
    server.start()
    t = _start_abandoned_download(server, store)  # the binding's own loop
    waiting = store.waiting
    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started
    assert took < 6, took
    deadline = time.monotonic() + 10
    while store.cancelled < waiting and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.cancelled >= waiting >= 1
    t.close()


def test_sftp_error_after_an_await_reaches_the_client_with_its_text(server, loop, caplog):
    store = SlowStore(server, {"/gone.bin": b"x" * 10, "/bad.bin": b"y" * 10, "/ok.bin": b"fine"}, 0.01)

    async def on_read(p):
        await asyncio.sleep(0.01)
        if p.handle == "h:/gone.bin":
            raise SFTPError(NO_SUCH_FILE, "object vanished from the store")
        if p.handle == "h:/bad.bin":
            raise RuntimeError("internal-detail of the back-end")
        await store.on_read(p)

    server.on_read_file = on_read
    server.event_loop = loop
    server.start()
    t, c = connect(server)
    try:
        with caplog.at_level(logging.ERROR, logger="sftpkit"):
            with pytest.raises(IOError) as e:
                with c.open("/gone.bin", "rb") as f:
                    f.read()
            assert "object vanished from the store" in str(e.value)
            with pytest.raises(IOError) as e:
                with c.open("/bad.bin", "rb") as f:
                    f.read()
            assert "internal-detail" not in str(e.value)
        with c.open("/ok.bin", "rb") as f:
            assert f.read() == b"fine"
    finally:
        t.close()
    logged = " ".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "on_read_file handler raised" in logged and "internal-detail of the back-end" in logged


def test_forms_that_cannot_work_are_refused_at_assignment(server, loop):
    async def handler(p):
        pass

    def generator(p):
        yield

    async def async_generator(p):
        yield

    server.on_read_file = handler
    coro = handler(None)
    cases = [(coro, "awaitable"), (asyncio.Future(loop=loop), "awaitable"),
             (generator, "generator function"), (async_generator, "async generator function"),
             (lambda: None, "one argument"), (lambda a, b: None, "one argument"), (42, "callable")]
    for form, text in cases:
        with pytest.raises(TypeError) as e:
            server.on_read_file = form
        assert "on_read_file" in str(e.value) and text in str(e.value)
        assert server.on_read_file is handler
    assert coro.cr_frame is None  # the refused coroutine object was closed, not left to warn
    with pytest.raises(TypeError, match="asyncio event loop"):
        server.event_loop = "loop"

    class AsyncListing(FileSystem):
        async def list(self, path):
            yield FileAttributes.file("a")

    with pytest.raises(TypeError, match="AsyncListing.list: an async generator method"):
        server.set_provider(AsyncListing)


def test_async_handler_of_an_event_that_cannot_defer_is_awaited(server, loop):
    seen = []

    async def auth(p):
        await asyncio.sleep(0.05)  # the server thread waits: the answer is the coroutine's
        seen.append(threading.get_ident())
        p.accept = p.password == "right"
        if not p.accept:
            p.set_status_message("ignored for auth")

    server.on_auth_password = auth
    server.event_loop = loop
    server.start()
    with pytest.raises(paramiko.AuthenticationException):
        connect(server, password="wrong")
    t, c = connect(server, password="right")
    t.close()
    assert seen and set(seen) == {loop._thread_id}


def test_stop_cancels_an_awaited_handler_of_an_event_that_cannot_defer(server, loop):
    entered, cancelled = threading.Event(), threading.Event()

    async def auth(p):
        entered.set()
        try:
            await asyncio.sleep(60)  # a password back-end that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise
        p.accept = True

    server.on_auth_password = auth
    server.event_loop = loop
    server.start()
    errors = []

    def client():
        try:
            connect(server)
        except Exception as e:  # noqa: BLE001 - expected: the server went away
            errors.append(e)
    th = threading.Thread(target=client, daemon=True)
    th.start()
    assert entered.wait(10)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 6
    assert cancelled.wait(5), "CancelledError never reached the handler"
    th.join(30)
    assert errors  # the login never succeeded


def test_plain_function_returning_a_coroutine_fails_closed_and_says_why(server, caplog):
    async def veto(p):
        p.action = sftpkit.fraCustom

    server.on_before_upload_file = lambda p: veto(p)  # cannot be told from a plain def at assignment
    server.start()
    t, c = connect(server)
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        with pytest.raises(IOError):
            c.open("/up", "wb")
    t.close()
    logged = " ".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "on_before_upload_file: the handler returned coroutine; assign the async def function itself" in logged


# ---- async providers --------------------------------------------------------------------------

class AsyncStore(FileSystem):
    """Every method an async def on a slow back-end (issue 15's async provider form)."""
    cancelled = []
    reading = most_reading = 0

    def __init__(self, tree, latency=0.005):
        self.t, self.latency = tree, latency

    async def _wait(self):
        await asyncio.sleep(self.latency)

    async def stat(self, path):
        await self._wait()
        if path in self.t["dirs"]:
            return FileAttributes.directory(path.rsplit("/", 1)[-1] or "/")
        if path in self.t["files"]:
            return FileAttributes.file(path.rsplit("/", 1)[-1], size=len(self.t["files"][path]))
        raise SFTPError(NO_SUCH_FILE, "no %s here" % path)

    async def list(self, path):
        await self._wait()
        pre = path.rstrip("/") + "/"
        return [await self.stat(p) for p in sorted(set(self.t["files"]) | self.t["dirs"])
                if p != path and p.startswith(pre) and "/" not in p[len(pre):]]

    async def mkdir(self, path):
        await self._wait()
        self.t["dirs"].add(path)

    async def open(self, path, flags):
        await self._wait()
        if flags & sftpkit.cfmWrite:
            self.t["files"][path] = b""
        elif path not in self.t["files"]:
            raise SFTPError(NO_SUCH_FILE, "no %s here" % path)
        return path

    async def read(self, h, offset, size):
        AsyncStore.reading += 1
        AsyncStore.most_reading = max(AsyncStore.most_reading, AsyncStore.reading)
        try:
            await self._wait()
        except asyncio.CancelledError:
            AsyncStore.cancelled.append(h)
            raise
        finally:
            AsyncStore.reading -= 1  # (on the loop thread only: no lock needed)
        if h.endswith(".secret"):
            raise SFTPError(ACCESS_DENIED, "the store refuses " + h)
        return self.t["files"][h][offset:offset + size]

    async def write(self, h, offset, data):
        data = bytes(data)
        await self._wait()
        buf = bytearray(self.t["files"][h])
        buf[offset:offset + len(data)] = data
        self.t["files"][h] = bytes(buf)

    async def close(self, h):
        await asyncio.sleep(0)  # also at the session's end: never waits for the slow back-end

    async def remove(self, path):
        await self._wait()
        del self.t["files"][path]


def test_async_provider_serves_a_session(server, loop):
    tree = {"files": {"/a.secret": b"s"}, "dirs": {"/"}}
    server.set_provider(lambda session: AsyncStore(tree))
    server.event_loop = loop
    server.start()
    t, c = connect(server)
    try:
        c.mkdir("/docs")
        data = os.urandom(400000)
        with c.open("/docs/f.bin", "wb") as f:
            f.write(data)
        assert c.listdir("/docs") == ["f.bin"]
        assert c.stat("/docs/f.bin").st_size == len(data)
        AsyncStore.most_reading = 0
        with c.open("/docs/f.bin", "rb") as f:
            f.prefetch()
            assert sha(f.read()) == sha(data)
        assert AsyncStore.most_reading >= 2  # reads of one handle overlap as coroutines
        with pytest.raises(IOError) as e:
            with c.open("/a.secret", "rb") as f:
                f.read()
        assert "the store refuses /a.secret" in str(e.value)
        with pytest.raises(IOError) as e:
            c.stat("/nope")
        assert "no /nope here" in str(e.value)
        c.remove("/docs/f.bin")
        assert "/docs/f.bin" not in tree["files"]
    finally:
        t.close()


def test_async_provider_read_is_cancelled_on_disconnect(server, loop):
    AsyncStore.cancelled = []
    tree = {"files": {"/big.bin": os.urandom(1 << 20)}, "dirs": {"/"}}
    stores = []

    def factory(session):
        stores.append(AsyncStore(tree))
        return stores[-1]
    server.set_provider(factory)
    server.event_loop = loop
    server.start()
    t, c = connect(server)
    f = c.open("/big.bin", "rb")
    stores[0].latency = 60
    f.prefetch(1 << 20)  # the size given: no FSTAT first (that one would wait the 60 s)
    time.sleep(0.5)
    t.close()
    deadline = time.monotonic() + 10
    while not AsyncStore.cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert AsyncStore.cancelled and set(AsyncStore.cancelled) == {"/big.bin"}


def test_the_readme_async_example_serves_as_printed(server, loop):
    import re
    from conftest import ROOT
    text = open(os.path.join(ROOT, "bindings", "python", "README.md"), encoding="utf-8").read()
    section = text.split("## Async handlers and async file systems", 1)[1]
    src = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    store = {"/a.txt": b"hello from the bucket", "/b.bin": os.urandom(300000)}
    exec(compile(src, "README.md", "exec"), {"STORE": store, "srv": server, "loop": loop})
    assert server.event_loop is loop
    server.start()
    t, c = connect(server)
    try:
        assert sorted(c.listdir("/")) == ["a.txt", "b.bin"]
        with c.open("/b.bin", "rb") as f:
            f.prefetch()
            assert sha(f.read()) == sha(store["/b.bin"])
        with pytest.raises(IOError) as e:
            c.stat("/missing")
        assert "no object /missing" in str(e.value)
    finally:
        t.close()


def test_a_program_running_asyncio_run_gives_its_own_loop(server):
    # the usual shape of an asyncio application: the loop is the main thread's, the server's
    # blocking calls go through an executor
    data = os.urandom(300000)

    async def main():
        loop = asyncio.get_running_loop()
        store = SlowStore(server, {"/f.bin": data}, 0.01)
        server.event_loop = loop
        await loop.run_in_executor(None, server.start)

        def download():
            t, c = connect(server)
            try:
                with c.open("/f.bin", "rb") as f:
                    f.prefetch()
                    return f.read()
            finally:
                t.close()
        got = await loop.run_in_executor(None, download)
        await loop.run_in_executor(None, server.stop)
        return got, store.threads

    got, threads = asyncio.run(main())
    assert sha(got) == sha(data)
    assert threads == {threading.get_ident()}  # the coroutines ran on this (the loop's) thread

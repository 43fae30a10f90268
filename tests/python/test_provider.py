"""The provider layer (sftpkit.provider, sftpkit.fsspec_fs) against real clients: a FileSystem
subclass with per-session state under concurrent paramiko sessions, SFTPError's status and message
reaching the client, OSError mapping, the fsspec adapter over fsspec's memory and local file
systems with paramiko and OpenSSH's sftp, and user handlers layered over a provider."""
import datetime
import logging
import os
import shutil
import subprocess
import threading
import time

import fsspec
import paramiko
import pytest

import sftpkit
from sftpkit import FileAttributes, FileSystem, FsspecFileSystem, OperationStatus, SFTPError

from conftest import free_port, host_keyed_server

logging.getLogger("paramiko").setLevel(logging.CRITICAL)


@pytest.fixture
def server():
    srv = host_keyed_server()
    srv.config("MaxStartups=0")
    srv.config("PerSourceMaxStartups=0")
    srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "pw-" + p.username)
    yield srv
    srv.close()


def connect(srv, user):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username=user, password="pw-" + user)
    return t, paramiko.SFTPClient.from_transport(t)


class DictFS(FileSystem):
    """A per-session in-memory tree: every session gets its own, so sessions cannot see each
    other's files (what the concurrency test checks)."""
    made = []
    lock = threading.Lock()

    def __init__(self, session):
        with DictFS.lock:
            DictFS.made.append(session)
        self.session = session
        self.files = {"/whoami": session.user.encode()}
        self.dirs = {"/"}
        self.closed = 0

    def stat(self, path):
        if path in self.dirs:
            return FileAttributes.directory(mtime=datetime.datetime(2020, 1, 2, 3, 4, 5))
        if path in self.files:
            return FileAttributes.file(size=len(self.files[path]), permissions=0o600,
                                       mtime=datetime.datetime(2021, 6, 7, 8, 9, 10, tzinfo=datetime.timezone.utc))
        raise SFTPError(OperationStatus.NO_SUCH_FILE, "no %s in %s's tree" % (path, self.session.user))

    def list(self, path):
        if path not in self.dirs:
            raise FileNotFoundError(path)
        prefix = path.rstrip("/") + "/"
        for p in sorted(set(self.files) | self.dirs):
            if p != path and p.startswith(prefix) and "/" not in p[len(prefix):]:
                a = self.stat(p)
                a.name = p[len(prefix):]
                yield a

    def open(self, path, flags):
        if flags & sftpkit.FileOpenMode.WRITE:
            if flags & sftpkit.FileOpenMode.TRUNCATE or path not in self.files:
                self.files[path] = b""
            return [path, bytearray(self.files[path])]
        if path not in self.files:
            raise FileNotFoundError(path)
        return [path, bytearray(self.files[path])]

    def read(self, h, offset, size):
        return memoryview(h[1])[offset:offset + size]  # a view: no copy on the way out

    def write(self, h, offset, data):
        assert isinstance(data, memoryview)
        buf = h[1]
        if len(buf) < offset:
            buf.extend(b"\0" * (offset - len(buf)))
        buf[offset:offset + len(data)] = data

    def close(self, h):
        self.files[h[0]] = bytes(h[1])
        self.closed += 1

    def mkdir(self, path):
        if path in self.dirs or path in self.files:
            raise SFTPError(OperationStatus.ACCESS_DENIED, "exists already")
        self.dirs.add(path)

    def rmdir(self, path):
        self.dirs.discard(path)

    def remove(self, path):
        if path == "/whoami":
            raise PermissionError(path)
        del self.files[path]

    def rename(self, old, new):
        self.files[new] = self.files.pop(old)


def test_concurrent_sessions_each_get_their_own_file_system(server):
    DictFS.made.clear()
    server.set_provider(DictFS)
    server.start()
    errors = []

    def client(i):
        try:
            user = "user%d" % i
            t, c = connect(server, user)
            with c.open("/whoami") as f:
                assert f.read() == user.encode()
            payload = os.urandom(300000 + i)
            with c.open("/data.bin", "wb") as f:
                f.write(payload)
            with c.open("/data.bin", "rb") as f:
                assert f.read() == payload
            assert sorted(c.listdir("/")) == ["data.bin", "whoami"]
            st = c.stat("/data.bin")
            assert st.st_size == len(payload) and st.st_mode & 0o777 == 0o600
            assert st.st_mtime == int(datetime.datetime(2021, 6, 7, 8, 9, 10, tzinfo=datetime.timezone.utc).timestamp())
            c.mkdir("/sub")
            c.rename("/data.bin", "/sub/moved.bin")
            assert c.listdir("/sub") == ["moved.bin"]
            c.remove("/sub/moved.bin")
            c.rmdir("/sub")
            t.close()
        except Exception as e:  # noqa: BLE001 - reported below with the client's number
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    users = sorted(s.user for s in DictFS.made)
    assert users == sorted("user%d" % i for i in range(8))  # one FileSystem per session, with its user
    assert len({s.connection_id for s in DictFS.made}) == 8
    assert all(s.remote_address == "127.0.0.1" and s.remote_port > 0 for s in DictFS.made)
    deadline = threading.Event()
    for _ in range(100):  # sessions are dropped when their connections end
        if server.provider.session_count() == 0:
            break
        deadline.wait(0.05)
    assert server.provider.session_count() == 0


def test_sftp_error_status_and_message_reach_the_client(server):
    server.set_provider(DictFS)
    server.start()
    t, c = connect(server, "alice")
    with pytest.raises(FileNotFoundError) as e:
        c.stat("/missing")
    assert "no /missing in alice's tree" in str(e.value)  # the handler's own text
    with pytest.raises(PermissionError) as e:
        c.remove("/whoami")  # PermissionError from the provider -> permission denied
    with pytest.raises(PermissionError) as e:
        c.mkdir("/")  # SFTPError(ACCESS_DENIED, ...)
    assert "exists already" in str(e.value)
    with pytest.raises(IOError) as e:
        c.symlink("/whoami", "/link")  # no link(): unsupported, with the default's message
    assert "links are not supported" in str(e.value)
    t.close()


def test_unexpected_exception_is_logged_and_the_client_gets_a_plain_failure(server, caplog):
    class Broken(DictFS):
        def stat(self, path):
            raise RuntimeError("internal detail that must not leak")

    server.set_provider(Broken)
    server.start()
    t, c = connect(server, "bob")
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        with pytest.raises(IOError) as e:
            c.stat("/whoami")
    assert "internal detail" not in str(e.value) and "server error" in str(e.value)
    assert any("internal detail that must not leak" in (r.exc_text or "") or
               (r.exc_info and "internal detail" in str(r.exc_info[1])) for r in caplog.records)
    t.close()


def in_threads(fn, items, timeout=60):
    """fn(item) for every item at once, each on its own thread (concurrent clients)."""
    threads = [threading.Thread(target=fn, args=(item,)) for item in items]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout)


class _Listing:
    """An iterator that records close(); with fail=True its first item raises (a back-end that
    fails after list() returned, as a lazy cursor does)."""

    def __init__(self, items, fail, closed):
        self.items, self.fail, self.closed = iter(items), fail, closed

    def __iter__(self):
        return self

    def __next__(self):
        if self.fail:
            raise OSError("the back-end went away")
        return next(self.items)

    def close(self):
        self.closed.append(self)


def test_a_listing_ends_when_it_fails_or_is_empty_while_the_session_lasts(server):
    # No on_find_close follows a failed first batch: before, each failing OPENDIR left its
    # iterator in the session until the client disconnected (a client could grow it without end).
    closed = []

    class Lazy(DictFS):
        def __init__(self, session):
            super().__init__(session)
            self.dirs |= {"/broken", "/empty"}

        def list(self, path):
            return _Listing(list(super().list(path)), path == "/broken", closed)

    server.set_provider(Lazy)
    server.start()
    clients = [connect(server, user) for user in ("alice", "bob")]
    errors = []

    def hammer(c):
        for _ in range(20):
            try:
                c.listdir("/broken")
                errors.append("a failing listing succeeded")
            except IOError:
                pass
            if c.listdir("/empty") != []:
                errors.append("/empty was not empty")

    in_threads(hammer, [c for _, c in clients])
    assert not errors
    # 2 clients x 20 x (a failed and an empty listing), each closed once, both sessions still open
    assert len(closed) == 80 and len({id(x) for x in closed}) == 80
    assert all(t.is_active() for t, _ in clients)
    for t, _ in clients:
        t.close()


def test_a_users_veto_after_the_provider_closes_what_the_provider_opened(server):
    # The engine releases the handle of a failed OPEN/OPENDIR and sends no close event: the
    # provider's file and listing used to stay in the session until disconnect, one per request.
    closed = []

    class Counting(DictFS):
        def list(self, path):
            return _Listing(list(super().list(path)), False, closed)

        def close(self, h):
            closed.append(h[0])
            super().close(h)

    server.set_provider(Counting)
    server.on_open_file = lambda p: setattr(p, "operation_status", OperationStatus.ACCESS_DENIED)
    server.on_find_first = lambda p: setattr(p, "operation_status", OperationStatus.ACCESS_DENIED)
    server.start()
    clients = [connect(server, user) for user in ("alice", "bob")]
    errors = []

    def hammer(c):
        for _ in range(10):
            for attempt in (lambda: c.open("/whoami", "r"), lambda: c.listdir("/")):
                try:
                    attempt()
                    errors.append("the veto did not hold")
                except IOError:
                    pass

    in_threads(hammer, [c for _, c in clients])
    assert not errors
    assert closed.count("/whoami") == 20  # every vetoed OPEN's file, while both sessions last
    assert sum(isinstance(x, _Listing) for x in closed) == 20  # and every vetoed listing
    assert all(t.is_active() for t, _ in clients)
    for t, _ in clients:
        t.close()


def test_user_handler_after_the_provider_can_veto(server):
    server.set_provider(DictFS)
    server.on_before_download_file = lambda p: setattr(p, "action", sftpkit.fraAbort) \
        if p.path == "/whoami" else None
    server.start()
    t, c = connect(server, "carol")
    with pytest.raises(PermissionError):
        c.open("/whoami", "rb")
    with c.open("/other", "wb") as f:
        f.write(b"x")
    with c.open("/other", "rb") as f:
        assert f.read() == b"x"
    t.close()


def test_removing_the_provider_removes_its_events(server):
    server.set_provider(DictFS)
    assert server.provider is not None
    server.set_provider(None)
    assert server.provider is None
    server.start()
    t, c = connect(server, "dave")
    with pytest.raises(IOError):  # no base_dir, no provider: nothing to serve
        c.stat("/whoami")
    t.close()


# ---- fsspec -------------------------------------------------------------------------------------

@pytest.fixture
def memory_store():
    store = fsspec.filesystem("memory")
    root = "/sftpkit-test-%d" % free_port()
    store.mkdir(root)
    yield store, root
    store.rm(root, recursive=True)


def exercise(c, big):
    c.mkdir("/dir")
    with c.open("/dir/big.bin", "wb") as f:
        f.write(big)
    with c.open("/dir/big.bin", "rb") as f:
        assert f.read() == big
    with c.open("/dir/big.bin", "r+b") as f:  # a write in the middle keeps the rest
        f.seek(10)
        f.write(b"PATCH")
    with c.open("/dir/big.bin", "rb") as f:
        assert f.read() == big[:10] + b"PATCH" + big[15:]
    assert c.stat("/dir/big.bin").st_size == len(big)
    assert c.listdir("/") == ["dir"]
    c.rename("/dir/big.bin", "/dir/renamed.bin")
    with pytest.raises(IOError):
        c.rename("/dir/renamed.bin", "/dir")  # v3 RENAME never replaces
    with pytest.raises(IOError):
        c.rmdir("/dir")  # not empty
    c.remove("/dir/renamed.bin")
    c.rmdir("/dir")
    with pytest.raises(FileNotFoundError):
        c.stat("/dir")


def test_fsspec_memory_with_paramiko(server, memory_store):
    store, root = memory_store
    server.set_provider(lambda session: FsspecFileSystem(store, root=root))
    server.start()
    t, c = connect(server, "erin")
    exercise(c, os.urandom(700000))
    t.close()


def test_fsspec_local_with_paramiko(server, tmp_path):
    local = fsspec.filesystem("file")
    server.set_provider(lambda session: FsspecFileSystem(local, root=str(tmp_path)))
    server.start()
    t, c = connect(server, "frank")
    exercise(c, os.urandom(500000))
    with c.open("/kept.txt", "wb") as f:
        f.write(b"on disk")
    t.close()
    assert (tmp_path / "kept.txt").read_bytes() == b"on disk"


def openssh_sftp(srv, user, commands, tmp_path):
    """Runs OpenSSH's sftp in batch mode (-b allows no password prompt) with a fresh key that the
    server's on_auth_public_key accepts for that user."""
    key = tmp_path / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "id_ed25519.pub").read_text().split()[1]
    srv.on_auth_public_key = lambda p: setattr(p, "accept", p.username == user and public in p.public_key)
    batch = tmp_path / "batch"
    batch.write_text("\n".join(commands) + "\n")
    return subprocess.run(
        ["sftp", "-b", str(batch), "-P", str(srv.port), "-F", "/dev/null", "-i", str(key),
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "%s@127.0.0.1" % user],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("backend", ["memory", "local"])
def test_fsspec_with_openssh_sftp(server, memory_store, tmp_path, backend):
    if not shutil.which("sftp"):
        pytest.fail("OpenSSH's sftp is missing (scripts/install-deps installs openssh-client)")
    if backend == "memory":
        store, root = memory_store
    else:
        store, root = fsspec.filesystem("file"), str(tmp_path / "served")
        os.mkdir(root)
    server.set_provider(lambda session: FsspecFileSystem(store, root=root))
    server.start()
    src = tmp_path / "src.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # many WRITEs and READs in flight
    src.write_bytes(payload)
    back = tmp_path / "back.bin"
    r = openssh_sftp(server, "gina", ["mkdir up", "put %s up/file.bin" % src, "ls -l up",
                                      "get up/file.bin %s" % back, "rename up/file.bin up/f2.bin",
                                      "rm up/f2.bin", "rmdir up"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "file.bin" in r.stdout
    assert back.read_bytes() == payload
    assert store.ls(root, detail=False) == []


def test_fsspec_error_reaches_openssh_sftp(server, memory_store, tmp_path):
    store, root = memory_store
    server.set_provider(lambda session: FsspecFileSystem(store, root=root))
    server.start()
    # OpenSSH's client prints its own text for a status (paramiko shows the server's message,
    # tested above), so the status is what this checks
    r = openssh_sftp(server, "hal", ["rm /no/such/file"], tmp_path)
    assert r.returncode != 0
    assert "no such file" in r.stderr.lower(), r.stderr


def test_default_realpath_is_lexical_with_home_at_the_root(server):
    server.set_provider(DictFS)
    server.start()
    t, c = connect(server, "ivan")
    assert c.normalize(".") == "/"
    assert c.normalize("a/../b/./c") == "/b/c"
    assert c.normalize("/../..") == "/"
    t.close()
    fs = FileSystem()
    assert fs.realpath("~") == "/" and fs.realpath("~ivan/x") == "/x" and fs.realpath("") == "/"


def test_a_kept_write_view_never_sees_another_sessions_data(server):
    kept = []

    class Keeper(DictFS):
        def write(self, h, offset, data):
            kept.append(data[0:4])  # the bug the docs warn about: a view kept past the call
            super().write(h, offset, data)

    server.set_provider(Keeper)
    server.start()
    for user in ("k1", "k2"):
        t, c = connect(server, user)
        with c.open("/f", "wb") as f:
            f.write(user.encode() * 10)
        t.close()
    # the first session's view still shows its own bytes: its buffer was never handed out again
    assert bytes(kept[0]) == b"k1k1"
    assert bytes(kept[-1]) == b"k2k2"


def test_provider_forms_that_cannot_work_are_refused_clearly(server, caplog):
    # async def methods work (tests/python/test_async_handlers.py); an async generator cannot
    class AsyncGenFS(DictFS):
        async def list(self, path):
            yield FileAttributes.file("a")

    with pytest.raises(TypeError, match="AsyncGenFS.list: an async generator method"):
        server.set_provider(AsyncGenFS)
    # a factory function: known at the session's first request, which then fails (never an empty answer)
    server.set_provider(lambda session: AsyncGenFS(session))
    server.start()
    t, c = connect(server, "judy")
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        with pytest.raises(IOError):
            c.stat("/whoami")
    t.close()
    text = " ".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "AsyncGenFS.list: an async generator method" in text


def test_fsspec_concurrent_openssh_sessions_each_in_their_own_root(server, memory_store, tmp_path):
    store, root = memory_store
    server.set_provider(lambda session: FsspecFileSystem(store, root="%s/%s" % (root, session.user)))
    users = ["u%d" % i for i in range(4)]
    for u in users:
        store.mkdir("%s/%s" % (root, u))
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "id_ed25519.pub").read_text().split()[1]
    server.on_auth_public_key = lambda p: setattr(p, "accept", p.username in users and public in p.public_key)
    server.start()
    procs, payloads = [], {}
    for u in users:
        payloads[u] = os.urandom(1024 * 1024 + len(u))
        (tmp_path / (u + ".src")).write_bytes(payloads[u])
        batch = tmp_path / (u + ".batch")
        batch.write_text("put %s mine.bin\nget mine.bin %s\nls\n" % (tmp_path / (u + ".src"), tmp_path / (u + ".back")))
        procs.append((u, subprocess.Popen(
            ["sftp", "-b", str(batch), "-P", str(server.port), "-F", "/dev/null", "-i", str(key),
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
             "-o", "LogLevel=ERROR", "%s@127.0.0.1" % u],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for u, p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (u, err)
        assert (tmp_path / (u + ".back")).read_bytes() == payloads[u]
    for u in users:  # each session wrote only inside its own root
        assert store.ls("%s/%s" % (root, u), detail=False) == ["%s/%s/mine.bin" % (root, u)]
        assert store.cat_file("%s/%s/mine.bin" % (root, u)) == payloads[u]


def test_reads_of_one_handle_overlap_on_the_worker_threads(server):
    # a slow back-end must not be served one READ at a time per file (issue 14's target): the
    # provider holds no per-handle lock (it did once: this test then saw at most 1)
    data = os.urandom(1 << 20)
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    class Slow(FileSystem):
        def __init__(self, session):
            pass

        def stat(self, path):
            return FileAttributes.file(path[1:], size=len(data))

        def open(self, path, flags):
            return path

        def read(self, h, offset, size):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
            time.sleep(0.02)
            with lock:
                state["now"] -= 1
            return data[offset:offset + size]

    server.set_provider(Slow)
    server.start()
    t, c = connect(server, "kim")
    try:
        with c.open("/f.bin", "rb") as f:
            f.prefetch(len(data))
            assert f.read() == data
    finally:
        t.close()
    assert state["most"] >= 4, state

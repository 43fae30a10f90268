"""Virtual file systems the Python way: subclass FileSystem, return data or raise SFTPError.

    from sftpkit import SFTPServer, FileSystem, FileAttributes, SFTPError, OperationStatus

    class Mine(FileSystem):
        def __init__(self, session):
            self.user = session.user             # one object per session: keep its state here
        def stat(self, path):
            if path == "/":
                return FileAttributes.directory()
            raise SFTPError(OperationStatus.NO_SUCH_FILE, "nothing here but /")
        def list(self, path):
            return []

    srv.set_provider(Mine)                       # a factory: called with the Session

How it maps onto the reference document's events (which stay the C-level truth): set_provider
installs on_before_* answering fraCustom and the custom events (on_open_file, on_read_file, ...,
on_translate_path), each calling the session's FileSystem method and turning its return value
into the event's result (set_client_buffer, client_file_entry_* + set_client_file_entry,
OperationStatus). An SFTPError's status and message reach the client; OSError subclasses map to
the matching status (FileNotFoundError -> no such file, PermissionError -> permission denied,
NotImplementedError -> unsupported); anything else is logged on the "sftpkit" logger and the
client gets a plain failure with no detail. The application's own handlers of the same events run
after the provider's and may overrule it (a veto in on_before_*: fraAbort).

Sessions: the factory runs at a session's first file request, with a Session that says who it is
(user, connection id, remote address and port). Its FileSystem object, its open files and its
listings belong to that session only and are dropped when the connection ends (open files closed
first). Many sessions run at once, each on its own server thread: state shared between sessions
is yours to lock; a FileSystem object is never shared between sessions. One session's requests may
run at once on the server's worker threads (config WorkerThreads): read() calls of one handle may
run concurrently with each other (a handle with a single file position must lock its seek + read,
as FsspecFileSystem does); a write() never overlaps any other call on its handle, and writes take
effect in arrival order; calls for different handles may overlap. The same holds for async def
read/write: their coroutines overlap the same way.

Async: any method may be an `async def` (awaited on SFTPServer.event_loop, or the binding's own
loop). read and write are deferred: the server thread returns at once and the request completes
when the coroutine finishes (a client that goes away cancels it: CancelledError in the method).
The other methods run on the loop while their server thread waits, and their result is applied
on that thread. Errors work as in the plain form. Async generator methods are refused.
"""
import dataclasses
import datetime
import errno
import inspect
import logging
import posixpath
import threading
from typing import Any, Iterable, Optional

from . import _sftpkit_native as _n
from . import _async
from ._runtime import SFTPKitError, _time_text, parse_time

_log = logging.getLogger("sftpkit")

# OperationStatus values (the generated enum lives in _generated, which imports this package's
# runtime; plain numbers here keep the import order simple and the values are the document's).
_OK, _NO_SUCH_FILE, _ACCESS_DENIED, _WRITE_PROTECT, _UNSUPPORTED, _INVALID_PARAMETER, _EOF = 1, 2, 3, 4, 5, 6, 7
_FAILURE = 0  # no OperationStatus member: the engine sends SSH_FX_FAILURE
_FRA_CUSTOM, _FRA_ABORT = 2, 3
_CFT_FILE, _CFT_DIRECTORY, _CFT_UNKNOWN = 0, 1, 4

# A WRITE carries at most this many bytes (the engine's limit, limits@openssh.com).
MAX_WRITE = 261120
# Entries committed per listing event: the engine collects up to 1024 per READDIR reply; a few
# hundred per event keeps the reply large without holding the GIL for long.
_LIST_BATCH = 256


class SFTPError(Exception):
    """Raise it from a FileSystem method (or any handler): the client receives ``status`` (an
    OperationStatus) and ``message`` as the reply's text."""

    def __init__(self, status: int, message: str = ""):
        super().__init__(int(status), message)
        self.status = int(status)
        self.message = str(message or "")

    def __str__(self):
        return "%s (status %d)" % (self.message or "SFTP error", self.status)


@dataclasses.dataclass(frozen=True)
class Session:
    """Who a FileSystem serves. ``user`` is the authenticated user name ("" when the file
    system was asked for before any login was seen)."""
    connection_id: int
    user: str
    remote_address: str
    remote_port: int


@dataclasses.dataclass
class FileAttributes:
    """A file's attributes, as stat() returns them and list() yields them. ``permissions`` are
    the nine rwx bits (0o644); None: 0o755 for directories, 0o644 for files. Times are datetimes
    (naive ones are taken as UTC); None: not sent. In setstat(), None means "not part of the
    request"."""
    name: str = ""
    size: Optional[int] = None
    is_dir: bool = False
    permissions: Optional[int] = None
    mtime: Optional[datetime.datetime] = None
    atime: Optional[datetime.datetime] = None
    owner: str = ""
    long_name: str = ""

    @classmethod
    def directory(cls, name: str = "", **kw: Any) -> "FileAttributes":
        return cls(name=name, is_dir=True, **kw)

    @classmethod
    def file(cls, name: str = "", size: int = 0, **kw: Any) -> "FileAttributes":
        return cls(name=name, size=size, **kw)


class FileSystem:
    """One session's view of a file system. Override what you serve; the defaults answer
    "operation unsupported" (realpath normalizes lexically, fstat/fsetstat use the open file's
    path). Paths are absolute client paths, already normalized ("/a/b"), except realpath's,
    which is the client's text as sent. Every method may raise SFTPError(status, message)."""

    def open(self, path: str, flags: int) -> Any:
        """Opens path (flags: FileOpenMode bits, e.g. cfmRead, cfmWrite | cfmCreate | cfmTruncate).
        Returns any object: it is handed back to read/write/close/fstat/fsetstat."""
        raise SFTPError(_UNSUPPORTED, "open is not supported")

    def read(self, handle: Any, offset: int, size: int) -> Any:
        """Up to size bytes at offset, as any buffer (bytes, bytearray, memoryview: no copy is
        made on the way); empty at the end of the file. Several reads of one handle may run at
        once (on worker threads, or as overlapping coroutines): lock a shared file position."""
        raise SFTPError(_UNSUPPORTED, "read is not supported")

    def write(self, handle: Any, offset: int, data: memoryview) -> None:
        """Writes data at offset. data is a memoryview of a reused buffer: valid only during this
        call (copy it, e.g. bytes(data), to keep it)."""
        raise SFTPError(_UNSUPPORTED, "write is not supported")

    def close(self, handle: Any) -> None:
        """The client closed the file (or the session ended with it open)."""

    def stat(self, path: str) -> FileAttributes:
        raise SFTPError(_UNSUPPORTED, "stat is not supported")

    def fstat(self, handle: Any, path: str) -> FileAttributes:
        return self.stat(path)

    def setstat(self, path: str, attrs: FileAttributes) -> None:
        raise SFTPError(_UNSUPPORTED, "setstat is not supported")

    def fsetstat(self, handle: Any, path: str, attrs: FileAttributes) -> None:
        self.setstat(path, attrs)

    def list(self, path: str) -> Iterable[FileAttributes]:
        """The entries of directory path (FileAttributes with name set), lazily if you like."""
        raise SFTPError(_UNSUPPORTED, "list is not supported")

    def mkdir(self, path: str) -> None:
        raise SFTPError(_UNSUPPORTED, "mkdir is not supported")

    def rmdir(self, path: str) -> None:
        raise SFTPError(_UNSUPPORTED, "rmdir is not supported")

    def remove(self, path: str) -> None:
        raise SFTPError(_UNSUPPORTED, "remove is not supported")

    def rename(self, old_path: str, new_path: str) -> None:
        raise SFTPError(_UNSUPPORTED, "rename is not supported")

    def link(self, link_path: str, target_path: str, hard: bool) -> None:
        raise SFTPError(_UNSUPPORTED, "links are not supported")

    def realpath(self, path: str) -> str:
        """The canonical absolute form of path as the client sent it (REALPATH, expand-path):
        relative to "/" (the session's home), "~" and "~user" mean "/". Lexical by default."""
        path = path or ""
        if path.startswith("~"):
            path = path.split("/", 1)[1] if "/" in path else ""
        return posixpath.normpath("/" + path).replace("//", "/")

    def session_closed(self) -> None:
        """The session ended (after its open files were closed)."""


# ---- errors -------------------------------------------------------------------------------------

_ERRNO_STATUS = {errno.ENOENT: _NO_SUCH_FILE, errno.ENOTDIR: _NO_SUCH_FILE, errno.EACCES: _ACCESS_DENIED,
                 errno.EPERM: _ACCESS_DENIED, errno.EROFS: _WRITE_PROTECT, errno.ENOSYS: _UNSUPPORTED,
                 errno.EOPNOTSUPP: _UNSUPPORTED, errno.EINVAL: _INVALID_PARAMETER}


def status_of(exc: BaseException):
    """(status, message for the client) for an exception a FileSystem method raised."""
    if isinstance(exc, SFTPError):
        return exc.status, exc.message
    if isinstance(exc, FileNotFoundError):
        return _NO_SUCH_FILE, "no such file"
    if isinstance(exc, PermissionError):
        return _ACCESS_DENIED, "permission denied"
    if isinstance(exc, NotImplementedError):
        return _UNSUPPORTED, "operation unsupported"
    if isinstance(exc, FileExistsError):
        return _FAILURE, "file exists"
    if isinstance(exc, IsADirectoryError):
        return _FAILURE, "is a directory"
    if isinstance(exc, OSError) and exc.errno in _ERRNO_STATUS:
        return _ERRNO_STATUS[exc.errno], exc.strerror or ""
    return None


# ---- per-session state --------------------------------------------------------------------------

class _SessionState:
    __slots__ = ("session", "fs", "files", "listings")

    def __init__(self, session, fs):
        self.session = session
        self.fs = fs
        self.files = {}     # handle -> (object open() returned, path)
        self.listings = {}  # handle -> iterator of FileAttributes


class _WriteBuffers:
    """Reused buffers for WRITE data (get_client_buffer_into). A pool, not one per thread: with
    a thread per session, per-thread buffers would cost 255 KiB per uploading session; the pool
    grows only to the number of writes in progress at once. A buffer goes back only when nothing
    still refers to it: a provider that kept a view of its data (a bug the docs warn about) keeps
    that buffer for good, so it can never see another session's data through it."""
    _KEEP = 32

    def __init__(self):
        self._lock = threading.Lock()
        self._free = []

    def take(self):
        with self._lock:
            if self._free:
                return self._free.pop()
        return bytearray(MAX_WRITE)

    def give(self, buf):
        try:  # resizing fails while any memoryview of buf is alive (BufferError)
            buf.append(0)
            del buf[-1]
        except BufferError:
            return
        with self._lock:
            if len(self._free) < self._KEEP:
                self._free.append(buf)


class ProviderHost:
    """What set_provider installs: the events, the sessions' FileSystem objects and their
    tables, keyed by connection id (a session's state is only reached through its own id)."""

    _BEFORE = ("on_before_create_directory", "on_before_download_file", "on_before_find", "on_before_remove",
               "on_before_rename_file", "on_before_request_attributes", "on_before_set_attributes",
               "on_before_upload_file")

    def __init__(self, server, factory):
        if not callable(factory):
            raise TypeError("the provider factory must be callable (a FileSystem subclass or a function)")
        self._srv = server
        self._factory = factory
        self._lock = threading.Lock()  # guards the tables below, never held while user code runs
        self._sessions = {}            # connection id -> _SessionState
        self._seen = {}                # connection id -> [user, address, port] before a file request
        self._wbufs = _WriteBuffers()

    def handlers(self):
        h = {name: self._custom for name in self._BEFORE}
        h.update(on_connect=self._on_connect, on_auth_succeeded=self._on_auth_succeeded,
                 on_disconnect=self._on_end, on_session_closed=self._on_end,
                 on_open_file=self._on_open, on_read_file=self._on_read, on_write_file=self._on_write,
                 on_close_file=self._on_close, on_request_attributes=self._on_stat,
                 on_set_attributes=self._on_setstat, on_find_first=self._on_find_first,
                 on_find_next=self._on_find_next, on_find_close=self._on_find_close,
                 on_create_directory=self._on_mkdir, on_remove=self._on_remove,
                 on_rename_file=self._on_rename, on_before_create_link=self._on_link,
                 on_translate_path=self._on_realpath)
        return h

    def settlers(self):
        """Run after the user's handler of the same event: what the provider stored for a request
        the user's handler then failed is closed at once, since the engine releases the handle and
        no on_close_file / on_find_close follows a failed OPEN or OPENDIR."""
        return {"on_open_file": self._settle_open, "on_find_first": self._settle_find_first}

    # ---- sessions --------------------------------------------------------------------------
    def _on_connect(self, p):
        with self._lock:
            self._seen[p.connection_id] = [self._seen.get(p.connection_id, [""])[0], p.remote_address, p.remote_port]

    def _on_auth_succeeded(self, p):
        with self._lock:
            seen = self._seen.setdefault(p.connection_id, ["", "", 0])
            seen[0] = p.username

    def _state(self, conn):
        with self._lock:
            st = self._sessions.get(conn)
            if st is not None:
                return st
            user, address, port = self._seen.get(conn, ["", "", 0])
        session = Session(conn, user, address, port)
        fs = self._sync(self._factory(session), "the provider factory")  # user code: no lock held
        if fs is None:
            raise SFTPError(_ACCESS_DENIED, "no file system for this session")
        check_methods(fs)
        with self._lock:
            # another request of the same session cannot race here today (one request at a time
            # per session); keep the first object if it ever does
            return self._sessions.setdefault(conn, _SessionState(session, fs))

    def _on_end(self, p):
        with self._lock:
            st = self._sessions.pop(p.connection_id, None)
            self._seen.pop(p.connection_id, None)
        if st is None:
            return
        for obj, *_ in list(st.files.values()):
            try:
                self._sync(st.fs.close(obj), "close")
            except Exception:  # noqa: BLE001 - the client is gone; report, go on with the rest
                _log.exception("closing a file the session left open")
        st.files.clear()
        for handle in list(st.listings):
            self._end_listing(st, handle)
        try:
            self._sync(st.fs.session_closed(), "session_closed")
        except Exception:  # noqa: BLE001
            _log.exception("session_closed raised")

    def session_count(self):
        """How many sessions have a live FileSystem (for tests and monitoring)."""
        with self._lock:
            return len(self._sessions)

    # ---- calling the file system and answering ---------------------------------------------
    def _fail(self, p, exc, what):
        mapped = status_of(exc)
        if mapped is None:
            _log.error("%s raised; the client gets a failure", what, exc_info=exc)
            mapped = (_FAILURE, "server error")
        else:
            _log.debug("%s: status %d %s", what, mapped[0], mapped[1])
        status, message = mapped
        if "operation_status" in p._param_names:
            p.operation_status = status
        else:
            p.action = _FRA_ABORT
        if message:
            p.set_status_message(message)

    def _call(self, p, what, fn, *args):
        """Runs one FileSystem method; (True, result) or (False, None) after answering the error."""
        try:
            return True, self._sync(fn(*args), what)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the client's answer
            self._fail(p, exc, what)
            return False, None

    def _sync(self, result, what):
        """An async method's coroutine runs on the loop while this server thread waits (GIL
        released); a plain method's result passes through."""
        if inspect.isawaitable(result):
            if not inspect.iscoroutine(result):
                result = _awaiting(result)
            return _async.wait_on_loop(self._srv._dispatcher.loops, result, what)
        return result

    def _custom(self, p):
        p.action = _FRA_CUSTOM

    def _session_or_fail(self, p):
        try:
            return self._state(p.connection_id)
        except Exception as exc:  # noqa: BLE001 - a factory that refuses or fails
            self._fail(p, exc, "the provider factory")
            return None

    # ---- files ------------------------------------------------------------------------------
    def _on_open(self, p):
        st = self._session_or_fail(p)
        if st is None:
            return
        path = p.path
        ok, obj = self._call(p, "open(%r)" % path, st.fs.open, path, p.modes)
        if ok:
            # No lock per handle: READs of one handle may overlap on the server's worker threads
            # (the engine never lets a WRITE overlap anything on its handle); a FileSystem whose
            # handle has one position (seek + read) serializes that itself, as FsspecFileSystem does.
            st.files[p.handle] = (obj, path)
            p.operation_status = _OK

    def _settle_open(self, p):
        if p.operation_status == _OK:
            return
        with self._lock:
            st = self._sessions.get(p.connection_id)
        entry = st.files.pop(p.handle, None) if st else None
        if entry is not None:
            try:
                self._sync(st.fs.close(entry[0]), "close")
            except Exception:  # noqa: BLE001 - the request failed already; report, go on
                _log.exception("closing a file whose OPEN a handler refused")

    def _settle_find_first(self, p):
        if p.operation_status == _OK:
            return
        with self._lock:
            st = self._sessions.get(p.connection_id)
        if st is not None:
            self._end_listing(st, p.handle)

    def _file(self, p):
        with self._lock:
            st = self._sessions.get(p.connection_id)
        entry = st.files.get(p.handle) if st else None
        if entry is None:
            p.operation_status = _FAILURE
            p.set_status_message("unknown handle")
        return st, entry

    def _on_read(self, p):
        st, entry = self._file(p)
        if entry is None:
            return
        if _async.is_coroutine_method(st.fs.read):
            obj, offset, size = entry[0], p.offset, p.size
            self._defer(p, False, lambda req: st.fs.read(obj, offset, size), "read")
            return
        ok, data = self._call(p, "read", st.fs.read, entry[0], p.offset, p.size)
        if not ok:
            return
        if data is None or len(data) == 0:
            p.operation_status = _EOF
            return
        self._srv.set_client_buffer(p.connection_id, p.handle, data)  # buffer protocol: no copy here
        p.operation_status = _OK

    def _on_write(self, p):
        st, entry = self._file(p)
        if entry is None:
            return
        if _async.is_coroutine_method(st.fs.write):
            obj, offset = entry[0], p.offset
            # the data lives in the deferred request until it completes: no copy into a pool buffer
            self._defer(p, True, lambda req: st.fs.write(obj, offset, memoryview(req.get_client_buffer())), "write")
            return
        buf = self._wbufs.take()
        try:
            n = _n.sftpkit_server_get_client_buffer_into(self._srv._s(), p.connection_id, p.handle, buf)
            with memoryview(buf) as whole:
                view = whole[:n]
                try:
                    ok, _ = self._call(p, "write", st.fs.write, entry[0], p.offset, view)
                finally:
                    view.release()
        finally:
            self._wbufs.give(buf)
        if ok:
            p.operation_status = _OK

    def _defer(self, p, is_write, make_coro, what):
        """An async read/write: the request leaves this handler (deferred) and is completed by
        the coroutine's outcome on the loop; a cancellation cancels the coroutine's task."""
        req = _async.defer(self._srv._s(), self._srv._dispatcher.loops, p.connection_id, p.handle, is_write, what)
        try:
            coro = make_coro(req)
        except Exception as exc:  # noqa: BLE001 - the method raised before returning its coroutine
            req.complete(*_outcome_of(exc, what))
            return
        if not inspect.iscoroutine(coro):
            coro = _awaiting(coro)

        def outcome(task):
            if task.cancelled():
                return _ACCESS_DENIED, b"", ""  # dropped by the server anyway
            exc = task.exception()
            if exc is not None:
                return _outcome_of(exc, what)
            if is_write:
                return _OK, b"", ""
            data = task.result()
            if data is None or len(data) == 0:
                return _EOF, b"", ""
            return _OK, data, ""
        req.outcome = outcome
        req.schedule(coro)

    def _on_close(self, p):
        st, entry = self._file(p)
        if entry is None:
            return
        st.files.pop(p.handle, None)
        ok, _ = self._call(p, "close", st.fs.close, entry[0])
        if ok:
            p.operation_status = _OK

    # ---- attributes -------------------------------------------------------------------------
    def _commit(self, attrs, conn, handle, fallback_name=""):
        srv = self._srv
        if not isinstance(attrs, FileAttributes):
            raise TypeError("stat()/list() must give FileAttributes, not %s" % type(attrs).__name__)
        perms = attrs.permissions
        if perms is None:
            perms = 0o755 if attrs.is_dir else 0o644
        srv.client_file_entry_name = attrs.name or fallback_name
        srv.client_file_entry_path = ""
        srv.client_file_entry_directory = attrs.is_dir
        srv.client_file_entry_file_type = _CFT_DIRECTORY if attrs.is_dir else _CFT_FILE
        srv.client_file_entry_size = -1 if attrs.size is None else attrs.size
        srv.client_file_entry_user_read = bool(perms & 0o400)
        srv.client_file_entry_user_write = bool(perms & 0o200)
        srv.client_file_entry_user_execute = bool(perms & 0o100)
        srv.client_file_entry_group_read = bool(perms & 0o040)
        srv.client_file_entry_group_write = bool(perms & 0o020)
        srv.client_file_entry_group_execute = bool(perms & 0o010)
        srv.client_file_entry_other_read = bool(perms & 0o004)
        srv.client_file_entry_other_write = bool(perms & 0o002)
        srv.client_file_entry_other_execute = bool(perms & 0o001)
        srv.client_file_entry_m_time = _time_text(attrs.mtime) or ""
        srv.client_file_entry_a_time = _time_text(attrs.atime) or ""
        srv.client_file_entry_owner = attrs.owner
        srv.client_file_entry_long_name = attrs.long_name
        srv.set_client_file_entry(conn, handle)

    def _on_stat(self, p):
        st = self._session_or_fail(p)
        if st is None:
            return
        handle, path = p.handle, p.path
        if handle:
            entry = st.files.get(handle)
            if entry is None:
                p.operation_status = _FAILURE
                return
            ok, attrs = self._call(p, "fstat", st.fs.fstat, entry[0], entry[1])
            path = entry[1]
        else:
            ok, attrs = self._call(p, "stat(%r)" % path, st.fs.stat, path)
        if not ok:
            return
        try:
            self._commit(attrs, p.connection_id, handle, posixpath.basename(path) or "/")
        except Exception as exc:  # noqa: BLE001 - a bad return value is the provider's bug
            self._fail(p, exc, "stat")
            return
        p.operation_status = _OK

    def _requested_change(self, conn, handle):
        """The attributes a SETSTAT asks for (None = not part of the request)."""
        srv = self._srv
        srv.get_client_file_entry(conn, handle)
        size = srv.client_file_entry_size
        bits = (srv.client_file_entry_user_read, srv.client_file_entry_user_write,
                srv.client_file_entry_user_execute, srv.client_file_entry_group_read,
                srv.client_file_entry_group_write, srv.client_file_entry_group_execute,
                srv.client_file_entry_other_read, srv.client_file_entry_other_write,
                srv.client_file_entry_other_execute)
        perms = None
        if srv.client_file_entry_file_type != _CFT_UNKNOWN or any(bits):
            perms = sum(1 << (8 - i) for i, b in enumerate(bits) if b)
        return FileAttributes(size=None if size < 0 else size, permissions=perms,
                              mtime=parse_time(srv.client_file_entry_m_time),
                              atime=parse_time(srv.client_file_entry_a_time))

    def _on_setstat(self, p):
        st = self._session_or_fail(p)
        if st is None:
            return
        handle, path = p.handle, p.path
        try:
            attrs = self._requested_change(p.connection_id, handle)
        except SFTPKitError as exc:
            self._fail(p, exc, "setstat")
            return
        if handle:
            entry = st.files.get(handle)
            if entry is None:
                p.operation_status = _FAILURE
                return
            ok, _ = self._call(p, "fsetstat", st.fs.fsetstat, entry[0], entry[1], attrs)
        else:
            ok, _ = self._call(p, "setstat(%r)" % path, st.fs.setstat, path, attrs)
        if ok:
            p.operation_status = _OK

    # ---- listings ---------------------------------------------------------------------------
    def _on_find_first(self, p):
        st = self._session_or_fail(p)
        if st is None:
            return
        ok, entries = self._call(p, "list(%r)" % p.path, st.fs.list, p.path)
        if not ok:
            return
        st.listings[p.handle] = iter(entries)
        self._next_batch(p, st)
        if p.operation_status != _OK:
            # An empty directory has nothing more to give, and after a failure no on_find_close
            # follows at all: either way the listing ends now (a generator may hold a cursor; a
            # client repeating a failing OPENDIR must not grow the session).
            self._end_listing(st, p.handle)

    def _on_find_next(self, p):
        with self._lock:
            st = self._sessions.get(p.connection_id)
        if st is None or p.handle not in st.listings:
            p.operation_status = _FAILURE
            return
        self._next_batch(p, st)

    def _next_batch(self, p, st):
        it = st.listings[p.handle]
        conn, handle = p.connection_id, p.handle
        sent = 0
        try:
            for attrs in it:
                self._commit(attrs, conn, handle)
                sent += 1
                if sent >= _LIST_BATCH:
                    break
        except Exception as exc:  # noqa: BLE001 - a listing that fails half way
            self._fail(p, exc, "list")
            return
        p.operation_status = _OK if sent else _EOF

    def _on_find_close(self, p):
        with self._lock:
            st = self._sessions.get(p.connection_id)
        if st is not None:
            self._end_listing(st, p.handle)
        p.operation_status = _OK

    @staticmethod
    def _end_listing(st, handle):
        """Forgets a listing and closes its iterator when it can be closed (a generator's finally runs)."""
        it = st.listings.pop(handle, None)
        close = getattr(it, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - the listing is over either way
                pass

    # ---- names ------------------------------------------------------------------------------
    def _simple(self, p, what, method, *args):
        st = self._session_or_fail(p)
        if st is None:
            return
        ok, _ = self._call(p, what, getattr(st.fs, method), *args)
        if ok:
            p.operation_status = _OK

    def _on_mkdir(self, p):
        self._simple(p, "mkdir(%r)" % p.path, "mkdir", p.path)

    def _on_remove(self, p):
        # REMOVE and RMDIR both arrive as on_remove: the file system's own answer tells them apart
        st = self._session_or_fail(p)
        if st is None:
            return
        path = p.path
        try:
            is_dir = self._sync(st.fs.stat(path), "stat").is_dir
        except Exception as exc:  # noqa: BLE001
            self._fail(p, exc, "stat(%r) before remove" % path)
            return
        ok, _ = self._call(p, "%s(%r)" % ("rmdir" if is_dir else "remove", path),
                           st.fs.rmdir if is_dir else st.fs.remove, path)
        if ok:
            p.operation_status = _OK

    def _on_rename(self, p):
        self._simple(p, "rename(%r, %r)" % (p.old_path, p.new_path), "rename", p.old_path, p.new_path)

    def _on_link(self, p):
        # on_before_create_link has no custom event: fraCustom means "the application made it"
        st = self._session_or_fail(p)
        if st is None:
            return
        ok, _ = self._call(p, "link", st.fs.link, p.link_path, p.target_path, p.hard_link)
        if ok:
            p.action = _FRA_CUSTOM

    def _on_realpath(self, p):
        st = self._session_or_fail(p)
        if st is None:
            return
        ok, answer = self._call(p, "realpath(%r)" % p.path, st.fs.realpath, p.path)
        if ok:
            p.absolute_path = answer
            p.action = _FRA_CUSTOM


# every event a provider handles (the keys of ProviderHost.handlers())
_HANDLED = tuple(sorted(ProviderHost(None, object).handlers()))


_METHODS = ("open", "read", "write", "close", "stat", "fstat", "setstat", "fsetstat", "list", "mkdir", "rmdir",
            "remove", "rename", "link", "realpath", "session_closed")


def check_methods(fs):
    """Method forms that cannot work (async generators) are refused, naming them."""
    _async.check_provider(fs, _METHODS)


async def _awaiting(awaitable):
    return await awaitable


def _outcome_of(exc, what):
    """(status, data, message) of an async read/write that raised, as _fail answers the others."""
    mapped = status_of(exc)
    if mapped is None:
        _log.error("%s raised; the client gets a failure", what, exc_info=exc)
        return _FAILURE, b"", "server error"
    _log.debug("%s: status %d %s", what, mapped[0], mapped[1])
    return mapped[0], b"", mapped[1]


def install_provider(server, factory):
    """SFTPServer.set_provider: (re)installs the provider's handlers as the server's internal ones."""
    from ._generated import EVENT_IDS, SFTPServer
    if inspect.isclass(factory):
        check_methods(factory)  # a FileSystem subclass as the factory: known now
    host = ProviderHost(server, factory) if factory is not None else None
    table = host.handlers() if host else {}
    names = _HANDLED if (host or server._provider) else ()
    for name in names:
        prop = getattr(SFTPServer, name)
        server._set_handler(EVENT_IDS[name], name, table.get(name), prop.cls, prop.deny, internal=True)
    settlers = host.settlers() if host else {}
    for name in ("on_open_file", "on_find_first"):
        if name in settlers:
            server._dispatcher.settle[EVENT_IDS[name]] = settlers[name]
        else:
            server._dispatcher.settle.pop(EVENT_IDS[name], None)
    server._provider = host

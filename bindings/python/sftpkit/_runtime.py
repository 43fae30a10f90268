"""The hand-written half of the sftpkit package: the exception type, the event dispatcher that
native server threads call, the base classes the generated layer (_generated.py) builds on, and
SSHKey. Everything spec-driven (every property, method, event and constant) is generated.

Threading model: events fire on the server's own threads. The native trampoline takes the GIL
(PyGILState_Ensure) and calls the server's _Dispatcher, which calls the user's handler with a
params object. The dispatcher holds no reference to its server, so a server that is no longer
referenced is collected (and stopped) even while handlers are installed.
"""
import atexit
import datetime
import inspect
import logging
import operator
import os
import threading
import weakref
from typing import Union

try:
    from . import _sftpkit_native as _n
except ImportError as _e:  # a missing or unloadable native library: name the platform and what is missing
    from ._native_error import explain as _explain
    raise ImportError(_explain(_e)) from _e
from ._logging import LOG as _log, level_name_for, native_log
from . import _async

# What the native layer reads in place (set_client_buffer, byte properties): any object with the
# buffer protocol. bytes is never required; a memoryview of your own buffer avoids a copy.
ReadableBuffer = Union[bytes, bytearray, memoryview]

ERROR_INVALID_PARAMETER = 1048577
ERROR_INVALID_STATE = 1048579


class SFTPKitError(Exception):
    """An sftpkit call failed. ``code`` is the library's error code (see ``ErrorCode``) and
    ``message`` says what was wrong."""

    def __init__(self, code, message=""):
        super().__init__(code, message)
        self.code = _error_code(int(code))
        self.message = str(message)

    def __str__(self):
        return "%s (error %d)" % (self.message, self.code)

    def __repr__(self):
        return "SFTPKitError(%d, %r)" % (self.code, self.message)


def _error_code(code):
    """The code as an ErrorCode member when it is one (the generated enum; a plain int before the
    package finished importing, or for a code the spec does not list)."""
    from . import _generated  # late: _generated imports this module
    cls = getattr(_generated, "ErrorCode", None)
    return _as_enum(cls, code) if cls is not None else code


_n.sfk_py_set_error_class(SFTPKitError)


def version():
    """The version of the loaded native library ("MAJOR.MINOR.PATCH")."""
    return _n.sftpkit_version()


# ---- typed values -------------------------------------------------------------------------------

def _as_enum(cls, value):
    """value as a member of cls (IntEnum/IntFlag); a value outside the set stays a plain int (an
    on_after_* status of 0, "failed in some other way", has no member)."""
    try:
        return cls(value)
    except ValueError:
        return value


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _time_text(value):
    """A time property's value from a datetime (naive = UTC), seconds since 1970, or the
    library's own text ("YYYY-MM-DDTHH:MM:SSZ"; "" clears). None passes through: like every
    string property, the library refuses it (1048577)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _time_text(_EPOCH + datetime.timedelta(seconds=int(value)))
    raise TypeError("a time must be a datetime, seconds since 1970 or str, not %s" % type(value).__name__)


def _time_value(text):
    """A time property's getter: an aware UTC datetime, None when not set; text the library holds
    that is no time at all (it does not check what a handler stored) stays text."""
    try:
        return parse_time(text)
    except ValueError:
        return text


def parse_time(text):
    """The library's UTC time text as an aware datetime; None for "" (not set). A datetime passes
    through (time properties already read as datetimes)."""
    if isinstance(text, datetime.datetime):
        return text
    if not text:
        return None
    t = text.strip().replace(" ", "T").rstrip("Z")
    if t.isdigit():
        return _EPOCH + datetime.timedelta(seconds=int(t))
    if "." in t:
        t = t.split(".", 1)[0]
    fmt = "%Y-%m-%dT%H:%M:%S" if "T" in t else "%Y-%m-%d"
    return datetime.datetime.strptime(t, fmt).replace(tzinfo=datetime.timezone.utc)


# ---- events -------------------------------------------------------------------------------------

# Which servers' handlers the current thread is inside (tokens, not servers): close() and __del__
# must not free a server from inside its own handler.
_tls = threading.local()


def _in_handler_of(token):
    return token in getattr(_tls, "tokens", ())


class EventParams:
    """Base of the per-event params classes. A params object is only valid while its handler
    runs: its by-ref fields write straight through to the pending request, and using it after
    the handler returned raises SFTPKitError."""

    __slots__ = ("_ev",)
    _event_name = ""
    _param_names = ()

    def __init__(self, ev):
        self._ev = ev

    def _live(self):
        ev = self._ev
        if ev is None:
            raise SFTPKitError(ERROR_INVALID_STATE,
                               "%s used after its handler returned" % type(self).__name__)
        return ev

    def _get_int(self, name):
        return _n.sftpkit_event_get_int(self._live(), name)

    def _get_bool(self, name):
        return bool(_n.sftpkit_event_get_int(self._live(), name))

    def _get_str(self, name):
        return _n.sftpkit_event_get_str(self._live(), name)

    def _set_int(self, name, value):
        _n.sftpkit_event_set_int(self._live(), name, operator.index(value))

    def _set_bool(self, name, value):
        _n.sftpkit_event_set_int(self._live(), name, 1 if value else 0)

    def _set_str(self, name, value):
        if not isinstance(value, str):
            raise TypeError("%s.%s must be str, not %s" % (self._event_name, name, type(value).__name__))
        _n.sftpkit_event_set_str(self._live(), name, value)

    def set_status_message(self, message):
        """The text the client receives with this request's reply when it is a failure status
        (an OK reply carries none). At most 1024 bytes are kept; None or "" clears."""
        _n.sftpkit_event_set_status_message(self._live(), message or "")

    def as_dict(self):
        """Every parameter's current value, by name."""
        return {n: getattr(self, n) for n in self._param_names}

    def __repr__(self):
        if self._ev is None:
            return "<%s (handler returned)>" % type(self).__name__
        # never put a password into a log line by accident
        shown = {k: ("***" if k == "password" else v) for k, v in self.as_dict().items()}
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in shown.items()))


class _Dispatcher:
    """Called by the native trampoline (with the GIL) for every subscribed event. Never lets an
    exception reach C: a handler that raises is logged on the "sftpkit" logger and its event's
    decision fails closed (the `deny` values: accept=False, action=fraAbort,
    operation_status=ostAccessDenied, as the generated layer lists per event)."""

    __slots__ = ("handlers", "internal", "settle", "token", "h", "loops", "__weakref__")

    def __init__(self, token, h):
        self.handlers = {}  # event id -> (fn, params class, deny pairs, event name, is async def)
        # event id -> the same tuple, for the package's own handlers (a provider): they run before
        # the user's handler of that event, which may then overrule them (a veto in on_before_*)
        self.internal = {}
        # event id -> fn(params): the package's own handler's look at the event's final answer,
        # after the user's handler ran (a provider closes what it opened when the user vetoed)
        self.settle = {}
        self.token = token
        self.h = h  # the native server (not the SFTPServer: no reference back to it)
        self.loops = _async.EventLoops()  # where async def handlers run (SFTPServer.event_loop)

    def __call__(self, event_id, ev):
        inner = self.internal.get(event_id)
        entry = self.handlers.get(event_id)
        if entry is None and inner is None:
            return 0
        tokens = getattr(_tls, "tokens", None)
        if tokens is None:
            tokens = _tls.tokens = []
        tokens.append(self.token)
        try:
            for e in (inner, entry):
                if e is not None:
                    self._run(e, ev)
            settle = self.settle.get(event_id) if inner is not None and entry is not None else None
            if settle is not None:
                try:
                    settle(inner[1](ev))
                except Exception:  # noqa: BLE001 - never reaches C; the answer stays as given
                    _log.exception("%s: settling the provider's state failed", inner[3])
        finally:
            tokens.pop()
        return 0

    def _run(self, entry, ev):
        fn, cls, deny, name, is_async = entry
        params = cls(ev)
        try:
            if is_async:
                self._run_async(fn, params, name)
                return
            result = fn(params)
            if inspect.isawaitable(result):
                # a plain function that returned an awaitable (a lambda calling an async def): it
                # cannot be told from a plain one at assignment, and its params would be used from
                # the loop thread. Refuse it, closed: it should be the async def itself.
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError("%s: the handler returned %s; assign the async def function itself so the "
                                "binding awaits it" % (name, type(result).__name__))
        except _sftp_error_class() as err:  # the handler's answer for the client: status and text
            _log.debug("%s: %s", name, err)
            _answer_error(ev, params, err.status, err.message)
        except BaseException as exc:  # noqa: B902 - nothing may unwind into the server thread
            if isinstance(exc, _async.CANCELLED):  # stop() cancelled the coroutine it waited for
                _log.debug("%s: the async handler was cancelled (the server stops)", name)
            else:
                _log.exception("%s handler raised%s", name,
                               "; the request is denied" if deny else "")
            for pname, value in deny:
                try:
                    _n.sftpkit_event_set_int(ev, pname, value)
                except SFTPKitError:
                    pass
        finally:
            params._ev = None

    def _run_async(self, fn, params, name):
        kind = _async.deferred_kind(name)
        if kind is not None:
            self._defer_async(fn, params, name, kind == "write")
        else:
            self._await_result(fn, params, name)

    def _await_result(self, fn, params, name):
        """A non-deferrable event: this server thread waits for the coroutine (GIL released). It
        runs on the loop thread with a detached copy of the params; the by-ref values it set are
        applied to the live event here, on the event's own thread, after it finished."""
        d = _async.detach(params)
        _async.wait_on_loop(self.loops, fn(d), name)
        _async.write_back(d, params)

    def _defer_async(self, fn, params, name, is_write):
        """on_read_file / on_write_file: the request completes when the coroutine finishes."""
        conn, handle = params.connection_id, params.handle
        req = _async.defer(self.h, self.loops, conn, handle, is_write, name)
        d = _async.detach(params)
        try:
            coro = fn(d)
        except BaseException as exc:  # noqa: B902 - raised before it could be awaited
            req.complete(*_async_outcome_of_exception(exc, name))
            return

        def outcome(task):
            if task.cancelled():
                return _async._ACCESS_DENIED, b"", ""  # the client is gone: the answer is dropped
            exc = task.exception()
            if exc is not None:
                return _async_outcome_of_exception(exc, name)
            return d._vals["operation_status"], req.buffer, d._message
        req.outcome = outcome
        req.schedule(coro)


def _async_outcome_of_exception(exc, name):
    """(status, data, message) for an exception of an async READ/WRITE handler: an SFTPError is
    the client's answer; anything else is logged and the client gets a plain failure."""
    if isinstance(exc, _sftp_error_class()):
        _log.debug("%s: %s", name, exc)
        return exc.status, b"", exc.message
    _log.error("%s handler raised; the request fails", name, exc_info=exc)
    return _async._FAILURE, b"", ""


def _sftp_error_class():
    from .provider import SFTPError  # late: provider imports this module
    return SFTPError


def _answer_error(ev, params, status, message):
    """A handler raised SFTPError: its status becomes the event's verdict (operation_status, or
    fraAbort for an event that only has an action) and its message the reply's text."""
    names = params._param_names
    try:
        if "operation_status" in names:
            _n.sftpkit_event_set_int(ev, "operation_status", int(status))
        elif "action" in names:
            _n.sftpkit_event_set_int(ev, "action", 3)  # fraAbort: the only refusal an action has
        elif "accept" in names:
            _n.sftpkit_event_set_int(ev, "accept", 0)
        if message:
            _n.sftpkit_event_set_status_message(ev, message)
    except SFTPKitError:
        pass


class _DispatchRef:
    """What the native side holds: a weak reference to the server's dispatcher. A strong one
    would be invisible to the garbage collector, so a handler that refers back to its server
    (a bound method of an object owning the server) would keep both alive forever."""

    __slots__ = ("_ref",)

    def __init__(self, dispatcher):
        self._ref = weakref.ref(dispatcher)

    def __call__(self, event_id, ev):
        d = self._ref()
        return d(event_id, ev) if d is not None else 0


class _EventProperty:
    """srv.on_x = fn installs fn (called with the event's params object); None removes it."""

    def __init__(self, event_id, name, cls, deny, doc):
        self.event_id, self.name, self.cls, self.deny, self.__doc__ = event_id, name, cls, deny, doc

    def __get__(self, srv, owner=None):
        if srv is None:
            return self
        entry = srv._dispatcher.handlers.get(self.event_id)
        return entry[0] if entry else None

    def __set__(self, srv, fn):
        srv._set_handler(self.event_id, self.name, fn, self.cls, self.deny)

    def __delete__(self, srv):
        srv._set_handler(self.event_id, self.name, None, self.cls, self.deny)


# Servers still open at interpreter exit are closed first, while Python is fully alive: a server
# thread entering a finalizing interpreter would hang.
_live_servers = weakref.WeakSet()


@atexit.register
def _close_all():
    for srv in list(_live_servers):
        try:
            srv.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass



# Why a pending request was cancelled (PendingRequest.cancelled); 0 = still wanted.
REQUEST_CANCEL_DISCONNECT = 1  # the client closed the connection or the link was lost
REQUEST_CANCEL_DROPPED = 2  # the server dropped the connection (drop_client, a timeout)
REQUEST_CANCEL_STOPPING = 3  # stop() or close()


class PendingRequest:
    """A READ or WRITE taken out of its handler by SFTPServer.defer_request.

    complete(status, data=b"") answers it from any thread (the GIL is released during the call):
    status is an OperationStatus value; data is a READ's answer (at most the size asked for is
    sent; b"" with ok is the end of the file) and must be empty for a WRITE. Only the first
    complete counts; later ones raise SFTPKitError. .data is a WRITE's bytes (b"" for a READ),
    readable until complete. .cancelled is 0 while the client still wants the answer, else a
    REQUEST_CANCEL_* reason; a cancelled request must still be completed (its answer is dropped).
    A PendingRequest garbage-collected uncompleted is completed with access denied, so the session
    never waits forever."""

    __slots__ = ("_token", "_lock", "__weakref__")

    def __init__(self, token):
        self._token = token
        self._lock = threading.Lock()

    def complete(self, status, data=b""):
        with self._lock:  # the C token dies on complete: never hand it over twice
            token, self._token = self._token, 0
        if not token:
            raise SFTPKitError(ERROR_INVALID_PARAMETER, "the request is already completed")
        _n.sfk_py_request_complete(token, operator.index(status), data)

    @property
    def data(self):
        with self._lock:
            if not self._token:
                raise SFTPKitError(ERROR_INVALID_PARAMETER, "the request is already completed")
            return _n.sfk_py_request_data(self._token)

    @property
    def cancelled(self):
        with self._lock:
            return _n.sfk_py_request_cancelled(self._token) if self._token else 0

    @property
    def done(self):
        """True once complete() was called."""
        return not self._token

    def __del__(self):
        token, self._token = getattr(self, "_token", 0), 0
        if token:
            try:
                _n.sfk_py_request_complete(token, 3, b"")  # ostAccessDenied: a plain failure
            except Exception:
                pass

def _async_request(connection_id, handle):
    """For the generated set_client_buffer / get_client_buffer: the deferred request the calling
    coroutine (an async on_read_file / on_write_file) serves, or None."""
    return _async.current_request(connection_id, handle)


class ServerBase:
    """Lifetime and event plumbing of SFTPServer (the generated subclass adds the API)."""

    def __init__(self):
        h = _n.sftpkit_server_new()
        if h is None:
            raise MemoryError("sftpkit_server_new failed")
        self._h = h
        self._token = object()
        self._dispatcher = _Dispatcher(self._token, h)
        self._dispatch_ref = _DispatchRef(self._dispatcher)
        self._mask = 0
        self._lock = threading.Lock()
        self._provider = None
        self._log_to_python = True
        _n.sfk_py_set_log_handler(h, native_log)
        _live_servers.add(self)

    def _s(self):
        h = self._h
        if h is None:
            raise SFTPKitError(ERROR_INVALID_STATE, "the server is closed")
        return h

    def _set_handler(self, event_id, name, fn, cls, deny, internal=False):
        # a form that cannot work is refused now, naming the event (_async.check_handler)
        is_async = _async.check_handler(name, fn) if fn is not None else False
        with self._lock:
            h = self._s()
            d = self._dispatcher
            table = d.internal if internal else d.handlers
            other = d.handlers if internal else d.internal
            bit = 1 << event_id
            old = table.get(event_id)
            if fn is None:
                table.pop(event_id, None)
                mask = self._mask if event_id in other else self._mask & ~bit
            else:
                table[event_id] = (fn, cls, deny, name, is_async)
                mask = self._mask | bit
            if mask != self._mask:
                try:
                    _n.sfk_py_set_dispatcher(h, self._dispatch_ref, mask)
                except BaseException:
                    # the old registration stays in force: make the table say so again
                    if old is not None:
                        table[event_id] = old
                    else:
                        table.pop(event_id, None)
                    raise
                self._mask = mask

    # ---- providers, logging, buffers (hand-written API beyond the reference document) ----------

    def set_provider(self, factory):
        """Serves every session's files from a FileSystem (sftpkit.provider) that factory(session)
        makes, once per session. Installs the file events itself; your own handlers of the same
        events still run after the provider's (an on_before_* handler may veto with fraAbort).
        None removes the provider."""
        from .provider import install_provider  # late: provider imports this module
        install_provider(self, factory)

    @property
    def provider(self):
        """The installed provider (sftpkit.provider.ProviderHost), or None."""
        return self._provider

    def log_to_python(self, enabled=True):
        """True (the default): the native log goes to the "sftpkit" logger (children
        "sftpkit.server", "sftpkit.ssh", "sftpkit.sftp", "sftpkit.auth"), and when the application
        has configured logging (a handler on "sftpkit" or an ancestor, e.g. logging.basicConfig),
        start() sets LogLevel from that logger's level unless LogLevel was set to something other
        than "none". False: the native log goes where LogDestination says."""
        with self._lock:
            _n.sfk_py_set_log_handler(self._s(), native_log if enabled else None)
            self._log_to_python = bool(enabled)

    def _before_stop(self):
        # coroutines that server threads wait for would hold stop() up: cancel them first (the
        # deferred READ/WRITE ones are cancelled by the core, through their cancel handlers)
        self._dispatcher.loops.cancel_waits()

    def _before_start(self):
        self._dispatcher.loops.stopping = False
        # Only an application that configured logging (a handler on "sftpkit" or above it) gets
        # the library's log by default: an unconfigured one would otherwise see libssh's warnings
        # on stderr through logging's last-resort handler, which it never asked for.
        if self._log_to_python and _log.hasHandlers() and \
                _n.sftpkit_server_config(self._s(), "LogLevel") == "none":
            level = level_name_for(_log)
            if level != "none":
                _n.sftpkit_server_config(self._s(), "LogLevel=" + level)

    @property
    def event_loop(self):
        """The asyncio loop that runs this server's async def handlers and async provider methods.
        None (the default): the binding runs its own loop on a daemon thread, started at the first
        async handler and stopped by close(). Assign your application's loop (it must be running,
        on another thread than the server's calls to stop()/close()) to share its resources, such
        as aiohttp sessions or database pools, with the handlers."""
        return self._dispatcher.loops.given

    @event_loop.setter
    def event_loop(self, loop):
        self._dispatcher.loops.set(loop)

    def set_event_loop(self, loop):
        """Same as ``srv.event_loop = loop``."""
        self._dispatcher.loops.set(loop)

    def get_client_buffer_into(self, connection_id, handle, buffer):
        """Copies the data of the WRITE in progress (inside on_write_file) into buffer (any
        writable buffer: bytearray, memoryview, array, numpy array) without allocating, and returns
        its size; buffer None only returns the size. A buffer smaller than the data raises
        SFTPKitError and receives nothing; a WRITE carries at most 261120 bytes."""
        req = _async.current_request(connection_id, handle)
        if req is not None:  # inside an async on_write_file: the deferred request's data
            data = req.get_client_buffer()
            if buffer is not None:
                if len(memoryview(buffer).cast("B")) < len(data):
                    raise SFTPKitError(ERROR_INVALID_PARAMETER, "get_client_buffer_into: the buffer holds fewer "
                                       "than the %d bytes of the WRITE" % len(data))
                memoryview(buffer).cast("B")[:len(data)] = data
            return len(data)
        return _n.sftpkit_server_get_client_buffer_into(self._s(), operator.index(connection_id), handle, buffer)

    def defer_request(self, connection_id, handle=None):
        """Only inside on_read_file / on_write_file: takes the firing request out of the handler
        and returns a PendingRequest. The handler then returns at once (its operation_status and
        any set_client_buffer are ignored); the client gets its answer when the PendingRequest is
        completed, from any thread, exactly once (also after a cancellation). Raises SFTPKitError
        outside such a handler or when called twice for one request."""
        token = _n.sfk_py_defer_request(self._s(), operator.index(connection_id), handle)
        return PendingRequest(token)

    def close(self):
        """Stops the server (closing every connection) and releases it. Idempotent. Not allowed
        from inside one of this server's own handlers (stop() is)."""
        if _in_handler_of(self._token):
            raise SFTPKitError(ERROR_INVALID_STATE,
                               "close() called from inside this server's own event handler")
        with self._lock:
            h, self._h = self._h, None
        if h is not None:
            self._before_stop()
            _n.sftpkit_server_free(h)
        self._dispatcher.loops.close()  # the binding's own loop, if it started one

    @property
    def closed(self):
        """True once close() ran."""
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # `with SFTPServer() as srv:` owns the server: leaving the block stops it (closing every
        # connection) and releases it, like a file object. Inside one of its own handlers close()
        # is not allowed; stopping is, and the release then happens when the object goes.
        if _in_handler_of(self._token):
            if self._h is not None and self.get_active():
                self.stop()
        else:
            self.close()
        return False

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is None:
            return
        self._h = None
        try:
            if _in_handler_of(getattr(self, "_token", None)):
                # The last reference went away inside this server's own handler: freeing here
                # would wait for this very thread. Another thread does it once the handler returns.
                threading.Thread(target=_n.sftpkit_server_free, args=(h,), daemon=True).start()
            else:
                _n.sftpkit_server_free(h)
            self._dispatcher.loops.close()
        except Exception:  # noqa: BLE001 - interpreter teardown: module globals may be gone
            pass


# ---- keys ---------------------------------------------------------------------------------------

class SSHKey:
    """An SSH key pair (or public key). Install one as a host key with
    ``srv.server_key_count = 1; srv.set_server_key_handle(0, key.handle)`` (the server copies it,
    so the key may be closed afterwards)."""

    def __init__(self):
        k = _n.sftpkit_key_new()
        if k is None:
            raise MemoryError("sftpkit_key_new failed")
        self._k = k

    def _key(self):
        k = self._k
        if k is None:
            raise SFTPKitError(ERROR_INVALID_STATE, "the key is closed")
        return k

    def generate(self, algorithm="ssh-ed25519", bits=0):
        """Generates a new key pair: "ssh-ed25519", "ssh-rsa" (bits 2048..8192, 0 = 3072),
        "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384" or "ecdsa-sha2-nistp521"."""
        _n.sftpkit_key_generate(self._key(), algorithm, operator.index(bits))

    def import_file(self, path, passphrase=""):
        """Loads a private key (OpenSSH or PEM format) or a public key from a file."""
        _n.sftpkit_key_import_file(self._key(), os.fspath(path), passphrase)

    def import_bytes(self, data, passphrase=""):
        """Loads a key from its file content (bytes, or str)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        _n.sftpkit_key_import_bytes(self._key(), data, passphrase)

    def import_external(self, public_key, key_id):
        """An external host key: only its public half (an OpenSSH public key line) and an id. Its
        signatures are made by the server's on_external_sign handler (external_crypto_mode = 2);
        the handler is called from many connection threads at once. docs/external-signing.md."""
        _n.sftpkit_key_import_external(self._key(), public_key, key_id)

    def export_public(self):
        """The public key as an OpenSSH line: "ssh-ed25519 AAAA... comment"."""
        return _n.sftpkit_key_export_public(self._key())

    def get_handle(self):
        """The key's handle, for server_key_handle."""
        return _n.sftpkit_key_get_handle(self._key())

    handle = property(get_handle, None, None, "The key's handle, for server_key_handle.")

    def close(self):
        """Frees the key. Idempotent."""
        k, self._k = self._k, None
        if k is not None:
            _n.sftpkit_key_free(k)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __del__(self):
        if getattr(self, "_k", None) is not None:
            try:
                self.close()
            except Exception:  # noqa: BLE001 - interpreter teardown
                pass

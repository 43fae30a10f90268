"""The hand-written half of the sftpkit package: the exception type, the event dispatcher that
native server threads call, the base classes the generated layer (_generated.py) builds on, and
SSHKey. Everything spec-driven (every property, method, event and constant) is generated.

Threading model: events fire on the server's own threads. The native trampoline takes the GIL
(PyGILState_Ensure) and calls the server's _Dispatcher, which calls the user's handler with a
params object. The dispatcher holds no reference to its server, so a server that is no longer
referenced is collected (and stopped) even while handlers are installed.
"""
import atexit
import logging
import operator
import os
import threading
import weakref

from . import _sftpkit_native as _n

_log = logging.getLogger("sftpkit")

ERROR_INVALID_PARAMETER = 1048577
ERROR_INVALID_STATE = 1048579


class SFTPKitError(Exception):
    """An sftpkit call failed. ``code`` is the library's error code (see ``ErrorCode``) and
    ``message`` says what was wrong."""

    def __init__(self, code, message=""):
        super().__init__(code, message)
        self.code = int(code)
        self.message = str(message)

    def __str__(self):
        return "%s (error %d)" % (self.message, self.code)

    def __repr__(self):
        return "SFTPKitError(%d, %r)" % (self.code, self.message)


_n.sfk_py_set_error_class(SFTPKitError)


def version():
    """The version of the loaded native library ("MAJOR.MINOR.PATCH")."""
    return _n.sftpkit_version()


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

    __slots__ = ("handlers", "token", "__weakref__")

    def __init__(self, token):
        self.handlers = {}  # event id -> (fn, params class, deny pairs, event name)
        self.token = token

    def __call__(self, event_id, ev):
        entry = self.handlers.get(event_id)
        if entry is None:
            return 0
        fn, cls, deny, name = entry
        params = cls(ev)
        tokens = getattr(_tls, "tokens", None)
        if tokens is None:
            tokens = _tls.tokens = []
        tokens.append(self.token)
        try:
            fn(params)
        except BaseException:  # noqa: B902 - nothing may unwind into the server thread
            _log.exception("%s handler raised%s", name,
                           "; the request is denied" if deny else "")
            for pname, value in deny:
                try:
                    _n.sftpkit_event_set_int(ev, pname, value)
                except SFTPKitError:
                    pass
        finally:
            params._ev = None
            tokens.pop()
        return 0


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


class ServerBase:
    """Lifetime and event plumbing of SFTPServer (the generated subclass adds the API)."""

    def __init__(self):
        h = _n.sftpkit_server_new()
        if h is None:
            raise MemoryError("sftpkit_server_new failed")
        self._h = h
        self._token = object()
        self._dispatcher = _Dispatcher(self._token)
        self._dispatch_ref = _DispatchRef(self._dispatcher)
        self._mask = 0
        self._lock = threading.Lock()
        _live_servers.add(self)

    def _s(self):
        h = self._h
        if h is None:
            raise SFTPKitError(ERROR_INVALID_STATE, "the server is closed")
        return h

    def _set_handler(self, event_id, name, fn, cls, deny):
        if fn is not None and not callable(fn):
            raise TypeError("%s handler must be callable or None, not %s" % (name, type(fn).__name__))
        with self._lock:
            h = self._s()
            handlers = self._dispatcher.handlers
            bit = 1 << event_id
            old = handlers.get(event_id)
            if fn is None:
                handlers.pop(event_id, None)
                mask = self._mask & ~bit
            else:
                handlers[event_id] = (fn, cls, deny, name)
                mask = self._mask | bit
            if mask != self._mask:
                try:
                    _n.sfk_py_set_dispatcher(h, self._dispatch_ref, mask)
                except BaseException:
                    # the old registration stays in force: make the table say so again
                    if self._mask & bit:
                        handlers[event_id] = old
                    else:
                        handlers.pop(event_id, None)
                    raise
                self._mask = mask

    def close(self):
        """Stops the server (closing every connection) and releases it. Idempotent. Not allowed
        from inside one of this server's own handlers (stop() is)."""
        if _in_handler_of(self._token):
            raise SFTPKitError(ERROR_INVALID_STATE,
                               "close() called from inside this server's own event handler")
        with self._lock:
            h, self._h = self._h, None
        if h is not None:
            _n.sftpkit_server_free(h)

    @property
    def closed(self):
        """True once close() ran."""
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._h is not None and self.get_active():
            self.stop()
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

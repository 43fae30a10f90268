"""async def handlers and async providers (issue 14 items 2-3, issue 15): which handler forms can
work, the event loop a server's coroutines run on, and the deferred request that a coroutine of
on_read_file / on_write_file completes when it finishes.

Threads: an event fires on a server thread, which holds the GIL inside the dispatcher. For the two
deferrable events (READ/WRITE) the dispatcher takes the request out of the handler
(sftpkit_server_defer_request), schedules the coroutine on the loop and returns at once; the
task's done-callback completes the request on the loop thread (the C call drops the GIL). Every
other event cannot be deferred in the C ABI, so its server thread waits for the coroutine (a
threading wait: the GIL is released while it blocks). Nothing here ever blocks the loop thread.

Cancellation: each deferred request carries a C cancel handler (swig/python.i) that calls
AsyncRequest._cancelled on the session-ending thread; that only queues task.cancel on the loop.
"""
import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import operator
import threading

from . import _sftpkit_native as _n
from ._logging import LOG as _log

# What a server thread's wait raises when stop() cancelled the coroutine (both kinds, to be sure).
CANCELLED = (concurrent.futures.CancelledError, asyncio.CancelledError)

def deferred_kind(name):
    """"read" / "write" for an event whose request the C ABI can complete later (the spec's
    deferrable_events, generated into _generated.DEFERRABLE_EVENTS), else None."""
    from . import _generated  # late: _generated imports _runtime, which imports this module
    return _generated.DEFERRABLE_EVENTS.get(name)
_OK, _ACCESS_DENIED, _EOF = 1, 3, 7
_FAILURE = 0  # no OperationStatus member: the client gets SSH_FX_FAILURE

# The deferred request the running coroutine serves: set_client_buffer / get_client_buffer /
# get_client_buffer_into called inside it (same connection and handle) act on that request.
_CURRENT = contextvars.ContextVar("sftpkit_async_request", default=None)


# ---- handler forms ------------------------------------------------------------------------------

def _target(fn):
    """The function whose kind decides: fn itself, or a callable object's __call__."""
    if inspect.isroutine(fn) or isinstance(fn, functools.partial):
        return fn
    return getattr(fn, "__call__", fn)


def check_handler(name, fn):
    """Validates an event handler at assignment; True when it is an async def (to be awaited).
    Refused (TypeError naming the event): a coroutine object or other awaitable (the result of
    calling a handler, not the handler), anything not callable, a generator function or an async
    generator function (calling either only builds an iterator: the body would never run), and a
    callable that cannot take the one params argument."""
    if inspect.isawaitable(fn) and not callable(fn):
        if inspect.iscoroutine(fn):
            fn.close()  # never awaited by anyone now: close it instead of a RuntimeWarning later
        raise TypeError("%s: got %s, which is an awaitable, not a handler: assign the async def function "
                        "itself (srv.%s = handler, not handler(...))" % (name, type(fn).__name__, name))
    if not callable(fn):
        raise TypeError("%s handler must be callable (a def or async def function) or None, not %s"
                        % (name, type(fn).__name__))
    target = _target(fn)
    if inspect.isasyncgenfunction(target):
        raise TypeError("%s: an async generator function cannot be a handler (calling it only creates an "
                        "async iterator, so its body would never answer the request): use async def without "
                        "yield" % name)
    if inspect.isgeneratorfunction(target):
        raise TypeError("%s: a generator function cannot be a handler (calling it only creates a generator, "
                        "so its body would never run): use def or async def without yield" % name)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        sig = None
    if sig is not None:
        try:
            sig.bind(None)
        except TypeError:
            raise TypeError("%s handler must take exactly one argument (the event's params object); "
                            "its signature is %s" % (name, sig)) from None
    return inspect.iscoroutinefunction(target)


def check_provider(fs, methods):
    """A FileSystem (class or object) whose methods cannot work: async generator methods (a list
    that yields asynchronously is not supported; return a list from an async def)."""
    bad = [m for m in methods if inspect.isasyncgenfunction(getattr(fs, m, None))]
    if bad:
        raise TypeError("%s.%s: an async generator method cannot serve a provider call: use async def "
                        "returning the result (list(): return the entries as a list)"
                        % (getattr(fs, "__name__", type(fs).__name__), ", ".join(bad)))


def is_coroutine_method(fn):
    return inspect.iscoroutinefunction(fn)


# ---- the loop -----------------------------------------------------------------------------------

class EventLoops:
    """The loop a server's coroutines run on: the application's (SFTPServer.event_loop), or, while
    none is given, one the binding starts on a daemon thread at the first async handler and stops
    at close()."""

    def __init__(self):
        self._lock = threading.Lock()
        self.given = None
        self._own = None
        self._thread = None
        # coroutines that server threads wait for (events that cannot defer): stop() cancels them,
        # so it never waits for a slow back-end (a set of futures, not of requests' state)
        self._waits = set()
        self.stopping = False  # from stop() until the next start(): new waits are cancelled at once

    def cancel_waits(self):
        with self._lock:
            self.stopping = True
            waits = list(self._waits)
        for fut in waits:
            fut.cancel()  # the task is cancelled on its loop: CancelledError in the coroutine

    def set(self, loop):
        if loop is not None:
            if not isinstance(loop, asyncio.AbstractEventLoop):
                raise TypeError("event_loop must be an asyncio event loop or None, not %s" % type(loop).__name__)
            if loop.is_closed():
                raise ValueError("event_loop: the loop is closed")
        self.given = loop

    def get(self):
        loop = self.given
        if loop is not None:
            return loop
        with self._lock:
            if self._own is None:
                own = asyncio.new_event_loop()
                t = threading.Thread(target=own.run_forever, name="sftpkit-asyncio", daemon=True)
                t.start()
                self._own, self._thread = own, t
            return self._own

    def close(self):
        with self._lock:
            own, t, self._own, self._thread = self._own, self._thread, None, None
        if own is None:
            return
        if t is not threading.current_thread():
            # finish what is still on it first (cancelled: the server is gone), so every deferred
            # request is completed and no task is destroyed pending
            try:
                asyncio.run_coroutine_threadsafe(_cancel_all_tasks(), own).result(3)
            except Exception:  # noqa: BLE001 - best effort: a task that ignores cancellation
                pass
        try:
            own.call_soon_threadsafe(own.stop)
        except RuntimeError:
            return
        if t is not threading.current_thread():
            t.join(5)
            if not t.is_alive():
                own.close()


async def _cancel_all_tasks():
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)


def on_loop_thread(loop):
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def wait_on_loop(loops, coro, what):
    """Runs coro on the server's loop and waits for it on this (server) thread, the GIL released
    while it waits; returns its result or raises its exception (concurrent.futures.CancelledError
    when stop() cancelled it)."""
    loop = loops.get()
    if on_loop_thread(loop):
        coro.close()
        raise RuntimeError("%s: an async handler cannot be awaited on the event loop's own thread (a blocking "
                           "server call such as stop() was made from a coroutine: run it with "
                           "loop.run_in_executor)" % what)
    with loops._lock:  # submitted and registered in one step: cancel_waits sees it or it never ran
        try:
            fut = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # the loop is closed
            coro.close()
            raise RuntimeError("%s: the event loop is closed (set SFTPServer.event_loop to a running loop, "
                               "or stop the server before closing its loop)" % what) from None
        loops._waits.add(fut)
        if loops.stopping:
            fut.cancel()
    try:
        while True:
            try:
                return fut.result(1.0)
            except concurrent.futures.TimeoutError:
                if loop.is_closed():
                    fut.cancel()
                    raise RuntimeError("%s: the event loop was closed while the handler waited" % what) from None
    finally:
        with loops._lock:
            loops._waits.discard(fut)
        # a coroutine that never started on a loop that no longer runs (stopped or closed with it
        # still queued) would warn "never awaited" at the GC: close it (not running: safe here)
        if not loop.is_running() and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
            coro.close()


# ---- params of an async handler -------------------------------------------------------------------

_DETACHED = {}


def _detached_class(cls):
    d = _DETACHED.get(cls)
    if d is not None:
        return d

    def _live(self):
        return self

    def _get(self, name):
        return self._vals[name]

    def _get_bool(self, name):
        return bool(self._vals[name])

    def _set_int(self, name, value):
        self._vals[name] = operator.index(value)

    def _set_bool(self, name, value):
        self._vals[name] = bool(value)

    def _set_str(self, name, value):
        if not isinstance(value, str):
            raise TypeError("%s.%s must be str, not %s" % (self._event_name, name, type(value).__name__))
        self._vals[name] = value

    def set_status_message(self, message):
        self._message = message or ""

    d = type(cls.__name__, (cls,), {
        "__slots__": ("_vals", "_message"), "__module__": cls.__module__, "__doc__": cls.__doc__,
        "_live": _live, "_get_int": _get, "_get_str": _get, "_get_bool": _get_bool,
        "_set_int": _set_int, "_set_bool": _set_bool, "_set_str": _set_str,
        "set_status_message": set_status_message})
    _DETACHED[cls] = d
    return d


def detach(live):
    """A copy of a params object that stays valid after its handler returned (a coroutine reads
    and sets it later, on the loop thread): by-ref fields are stored in it; write_back applies
    them to the live event, where there still is one."""
    d = _detached_class(type(live)).__new__(_detached_class(type(live)))
    d._ev = live  # only a marker that it is usable (repr); never passed to C
    d._vals = {n: getattr(live, n) for n in live._param_names}
    d._message = ""
    return d


def write_back(detached, live):
    start = detach(live)._vals
    for name, value in detached._vals.items():
        if value != start[name] and getattr(type(live), name).fset is not None:
            setattr(live, name, value)
    if detached._message:
        live.set_status_message(detached._message)


# ---- deferred READ / WRITE ------------------------------------------------------------------------

class AsyncRequest:
    """One READ or WRITE served by a coroutine. start() (on the loop) creates the task; its
    done-callback completes the C token with outcome(task) = (status, data, message). The token is
    completed exactly once, also after a cancellation, and the C cancel handler's reference is
    taken back before that (swig/python.i sfk_py_request_drop_cancel_handler)."""

    __slots__ = ("_token", "conn", "handle", "is_write", "loop", "task", "cancel_reason", "buffer",
                 "outcome", "_coro", "_cancel_fn", "_lock", "what")

    def __init__(self, token, conn, handle, is_write, loop, what):
        self._token = token
        self.conn, self.handle, self.is_write, self.loop, self.what = conn, handle, is_write, loop, what
        self.task = None
        self.cancel_reason = 0
        self.buffer = b""
        self.outcome = None
        self._coro = None
        self._lock = threading.Lock()
        self._cancel_fn = self._cancelled  # the one bound method the C side holds a reference to
        _n.sfk_py_request_set_cancel_handler(token, self._cancel_fn)

    # called by the C trampoline on the session-ending thread (or at once): must not block
    def _cancelled(self, reason):
        self.cancel_reason = reason
        try:
            self.loop.call_soon_threadsafe(self._cancel_task)
        except RuntimeError:  # the loop is closed: nothing runs the coroutine any more
            self.complete(_ACCESS_DENIED)

    def _cancel_task(self):
        if self.task is not None:
            self.task.cancel()

    def schedule(self, coro):
        """From the server thread: the coroutine goes to the loop; a closed loop fails the request."""
        self._coro = coro
        try:
            self.loop.call_soon_threadsafe(self._start)
        except RuntimeError:
            coro.close()
            _log.error("%s: the event loop is closed; the request fails", self.what)
            self.complete(_FAILURE)

    def _start(self):
        self.task = self.loop.create_task(self._run())
        self.task.add_done_callback(self._done)
        if self.cancel_reason:
            self.task.cancel()

    async def _run(self):
        _CURRENT.set(self)  # the task's own context: only this coroutine sees it
        return await self._coro

    def _done(self, task):
        if self._coro is not None:
            self._coro.close()  # a task cancelled before its first step never started the coroutine
        try:
            status, data, message = self.outcome(task)
        except BaseException:  # noqa: B902 - the request must still be answered
            _log.exception("%s: answering the request failed", self.what)
            status, data, message = _FAILURE, b"", ""
        self.complete(status, data, message)
        # break task -> callback -> self -> task at once: the result (often a memoryview of the
        # application's buffer, which pins that bytearray's size) must not wait for the GC
        self.task = self._coro = self.outcome = None
        self.buffer = b""

    def complete(self, status, data=b"", message=""):
        with self._lock:
            token, self._token = self._token, 0
        if not token:
            return
        _n.sfk_py_request_drop_cancel_handler(token, self._cancel_fn)
        try:
            if message and int(status) != _OK:
                _n.sfk_py_request_set_status_message(token, message)
        except Exception:  # noqa: BLE001 - the status still goes out
            _log.exception("%s: the status message was refused", self.what)
        try:
            if self.is_write or data is None:
                data = b""
            _n.sfk_py_request_complete(token, int(status), data)
        except Exception:  # noqa: BLE001 - e.g. a result that is no buffer: fail the request instead
            _log.exception("%s: completing the request failed", self.what)
            try:
                _n.sfk_py_request_complete(token, _FAILURE, b"")
            except Exception:  # noqa: BLE001
                pass

    # the buffer calls of SFTPServer, inside the coroutine
    def set_client_buffer(self, value):
        self.buffer = bytes(memoryview(value))

    def get_client_buffer(self):
        with self._lock:
            token = self._token
        if not token:
            return b""
        return _n.sfk_py_request_data(token)

    def __del__(self):
        # never leave the session waiting (a loop that was stopped with the task pending)
        if getattr(self, "_token", 0):
            try:
                self.complete(_ACCESS_DENIED)
            except Exception:  # noqa: BLE001
                pass


def current_request(connection_id, handle):
    """The deferred request the calling coroutine serves, if it is this connection's and handle's."""
    r = _CURRENT.get()
    if r is None or r.conn != connection_id or (handle and handle != r.handle):
        return None
    return r


def defer(server_handle, loops, conn, handle, is_write, what):
    """Inside on_read_file / on_write_file (server thread, GIL held): the request's AsyncRequest."""
    loop = loops.get()
    token = _n.sfk_py_defer_request(server_handle, conn, handle)
    return AsyncRequest(token, conn, handle, is_write, loop, what)

/*
 * Python typemaps and the event trampoline (swig -python -threads). Included by swig/sftpkit.i
 * before the declarations of the C ABI.
 *
 * The extension module (sftpkit._sftpkit_native) is the flat 1:1 layer: status functions return
 * None or their out-parameters, and raise the package's SFTPKitError on failure. The idiomatic
 * layer (sftpkit.SFTPServer, generated from spec/ by tools/gen/gen_python.py) calls it.
 *
 * Threads: the module is built with -threads, so the GIL is released around every C call (a
 * call like stop() waits for server threads that may be running a Python handler). Code below
 * that touches Python objects without the GIL's protection from SWIG is marked nothreadallow.
 * Server threads enter Python through PyGILState_Ensure in the trampoline.
 */

#define SFK_SWIG_STATUS_EXCEPTIONS

%{
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------------------------ */

/* sftpkit.SFTPKitError, registered by the package at import (sfk_py_set_error_class); until
 * then RuntimeError with (code, message). */
static PyObject *sfk_py_error_class = NULL;

static void sfk_py_raise(int code, const char *msg)
{
    PyObject *cls = sfk_py_error_class ? sfk_py_error_class : PyExc_RuntimeError;
    PyObject *text = PyUnicode_DecodeUTF8(msg ? msg : "", (Py_ssize_t)strlen(msg ? msg : ""), "replace");
    PyObject *exc = text ? PyObject_CallFunction(cls, "iO", code, text) : NULL;
    Py_XDECREF(text);
    if (exc) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    /* else: the constructor's own exception stays set */
}

#define SFK_RAISE(code, msg) sfk_py_raise((code), (msg))
#define SFK_FAIL SWIG_fail

/* ---- text -------------------------------------------------------------------------------- */

/* UTF-8 text from the library. Invalid sequences (a client's non-UTF-8 file name) survive as
 * surrogate escapes instead of failing the call. */
static PyObject *sfk_py_text(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

/* str (UTF-8, surrogate escapes restored), bytes, or None -> char*. *keep holds the bytes object
 * that owns the buffer. Embedded NULs are refused: C would silently cut the string there. */
static int sfk_py_cstring(PyObject *o, const char **out, PyObject **keep, const char *what)
{
    *keep = NULL;
    if (o == Py_None) {
        *out = NULL;
        return 0;
    }
    if (PyUnicode_Check(o)) {
        *keep = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
        if (!*keep)
            return -1;
    } else if (PyBytes_Check(o)) {
        Py_INCREF(o);
        *keep = o;
    } else {
        PyErr_Format(PyExc_TypeError, "argument %s must be str, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    char *buf = PyBytes_AS_STRING(*keep);
    if ((size_t)PyBytes_GET_SIZE(*keep) != strlen(buf)) {
        PyErr_Format(PyExc_ValueError, "argument %s contains a NUL character", what);
        Py_CLEAR(*keep);
        return -1;
    }
    *out = buf;
    return 0;
}

/* ---- events ------------------------------------------------------------------------------ */

/* One registration of a Python dispatcher: `fn(event_id, ev)` for the events in `mask` only,
 * so servers with few handlers never take the GIL for the others. A new registration replaces
 * the old (the core releases the old one once no call to it is in flight). */
typedef struct {
    PyObject *fn;
    uint64_t mask;
} sfk_py_dispatch;

static int sfk_py_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Only reached when the dispatcher itself failed (it catches handler exceptions): deny what can
 * be denied so an auth or file decision never defaults to "allowed" by accident. */
static void sfk_py_deny(int event_id, sftpkit_event *ev)
{
    int n = sftpkit_event_param_count(event_id);
    for (int i = 0; i < n; i++) {
        const char *name = NULL;
        int type = 0, byref = 0;
        if (sftpkit_event_param_info(event_id, i, &name, &type, &byref) != 0 || !byref)
            continue;
        if (!strcmp(name, "accept"))
            sftpkit_event_set_int(ev, name, 0);
        else if (!strcmp(name, "action"))
            sftpkit_event_set_int(ev, name, 3); /* fraAbort */
    }
}

static int sfk_py_trampoline(void *user, sftpkit_server *s, int event_id, sftpkit_event *ev)
{
    sfk_py_dispatch *d = (sfk_py_dispatch *)user;
    (void)s;
    if (event_id < 1 || event_id > 63 || !(d->mask & ((uint64_t)1 << event_id)))
        return 0;
    /* A server left running at interpreter exit: entering Python now would hang the thread. */
    if (!Py_IsInitialized() || sfk_py_finalizing()) {
        sfk_py_deny(event_id, ev);
        return 0;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *evobj = SWIG_NewPointerObj(SWIG_as_voidptr(ev), SWIGTYPE_p_sftpkit_event, 0);
    PyObject *r = evobj ? PyObject_CallFunction(d->fn, "iO", event_id, evobj) : NULL;
    if (!r) {
        PyErr_WriteUnraisable(d->fn);
        sfk_py_deny(event_id, ev);
    }
    Py_XDECREF(r);
    Py_XDECREF(evobj);
    PyGILState_Release(g);
    return 0;
}

/* The native log into Python: fn(level, module, message) with the GIL; never raises into C. */
static void sfk_py_log_trampoline(void *user, sftpkit_server *s, int level, const char *module, const char *message)
{
    (void)s;
    if (!Py_IsInitialized() || sfk_py_finalizing())
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *m = sfk_py_text(module), *t = sfk_py_text(message);
    PyObject *r = m && t ? PyObject_CallFunction((PyObject *)user, "iOO", level, m, t) : NULL;
    if (!r)
        PyErr_WriteUnraisable((PyObject *)user);
    Py_XDECREF(r);
    Py_XDECREF(m);
    Py_XDECREF(t);
    PyGILState_Release(g);
}

static void sfk_py_release_ref(void *user)
{
    if (Py_IsInitialized() && !sfk_py_finalizing()) {
        PyGILState_STATE g = PyGILState_Ensure();
        Py_DECREF((PyObject *)user);
        PyGILState_Release(g);
    }
}

static void sfk_py_release(void *user)
{
    sfk_py_dispatch *d = (sfk_py_dispatch *)user;
    if (Py_IsInitialized() && !sfk_py_finalizing()) {
        PyGILState_STATE g = PyGILState_Ensure();
        Py_DECREF(d->fn);
        PyGILState_Release(g);
    } /* else the interpreter is going away: leaking one reference is the safe choice */
    free(d);
}
%}

/* ---- typemaps: strings in ---------------------------------------------------------------- */
%typemap(in) const char * (PyObject *keep = NULL) {
  if (sfk_py_cstring($input, (const char **)&$1, &keep, "$1_name") != 0) SWIG_fail;
}
%typemap(freearg) const char * { Py_XDECREF(keep$argnum); }
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) const char * {
  $1 = PyUnicode_Check($input) || PyBytes_Check($input) || $input == Py_None;
}
/* library-owned static strings out */
%typemap(out) const char * { $result = sfk_py_text($1); }

/* ---- typemaps: bytes in (buffer protocol: bytes, bytearray, memoryview) --------------------- */
%typemap(in) (const uint8_t *v, size_t len) (Py_buffer view, int have_view = 0),
             (const uint8_t *data, size_t len) (Py_buffer view, int have_view = 0) {
  if (PyUnicode_Check($input)) {
    PyErr_SetString(PyExc_TypeError, "bytes expected, not str (encode it first)");
    SWIG_fail;
  }
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
  have_view = 1;
  $1 = (uint8_t *)view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const uint8_t *v, size_t len), (const uint8_t *data, size_t len) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}

/* ---- typemaps: caller memory to fill (get_client_buffer_into): any writable buffer --------- */
%typemap(in) (uint8_t *dst, size_t cap) (Py_buffer view, int have_view = 0) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else {
    if (PyObject_GetBuffer($input, &view, PyBUF_WRITABLE) != 0) SWIG_fail;
    have_view = 1;
    $1 = (uint8_t *)view.buf;
    $2 = (size_t)view.len;
  }
}
%typemap(freearg) (uint8_t *dst, size_t cap) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}
%typemap(in, numinputs=0) size_t *len (size_t temp = 0) { $1 = &temp; }
%typemap(argout) size_t *len { $result = SWIG_Python_AppendOutput($result, PyLong_FromSize_t(*$1)); }

/* ---- typemaps: out-parameters become return values ---------------------------------------- */
%typemap(in, numinputs=0) int *out (int temp = 0) { $1 = &temp; }
%typemap(argout) int *out { $result = SWIG_Python_AppendOutput($result, PyBool_FromLong(*$1)); }

%typemap(in, numinputs=0) int64_t *out (int64_t temp = 0) { $1 = &temp; }
%typemap(argout) int64_t *out { $result = SWIG_Python_AppendOutput($result, PyLong_FromLongLong((long long)*$1)); }

%typemap(in, numinputs=0) char **out (char *temp = NULL), char **openssh_line (char *temp = NULL) {
  $1 = &temp;
}
%typemap(argout) char **out, char **openssh_line {
  PyObject *o_ = sfk_py_text(*$1 ? *$1 : "");
  sftpkit_free(*$1);
  *$1 = NULL;
  if (!o_) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, o_);
}
%typemap(freearg) char **out, char **openssh_line { sftpkit_free(*$1); }

%typemap(in, numinputs=0) (uint8_t **out, size_t *len) (uint8_t *temp = NULL, size_t tlen = 0) {
  $1 = &temp;
  $2 = &tlen;
}
%typemap(argout) (uint8_t **out, size_t *len) {
  PyObject *o_ = PyBytes_FromStringAndSize((const char *)*$1, (Py_ssize_t)*$2);
  sftpkit_free(*$1);
  *$1 = NULL;
  if (!o_) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, o_);
}
%typemap(freearg) (uint8_t **out, size_t *len) { sftpkit_free(*$1); }

/* event_param_info -> (name, type, byref) */
%typemap(in, numinputs=0) (const char **name, int *type, int *byref)
    (const char *n = NULL, int t = 0, int b = 0) {
  $1 = ($1_ltype)&n; $2 = &t; $3 = &b;
}
%typemap(argout) (const char **name, int *type, int *byref) {
  $result = SWIG_Python_AppendOutput($result, Py_BuildValue("(sii)", *$1, *$2, *$3));
}

/* Status ints are not returned (failures raise); these few return a real int. */
%typemap(out) int { $result = SWIG_Py_Void(); }
%typemap(out) int sftpkit_last_error_code, int sftpkit_event_id, int sftpkit_event_param_count {
  $result = PyLong_FromLong((long)$1);
}

/* ---- what Python does not call ----------------------------------------------------------- */
/* Buffers are freed by the typemaps; the handler is installed through sfk_py_set_dispatcher. */
%ignore sftpkit_free;
%ignore sftpkit_server_set_event_handler;
%ignore sftpkit_server_set_log_handler;

/* Event parameter access is lock-free and fast; keep the GIL (handlers call these a lot). */
%feature("nothreadallow") sftpkit_event_get_int;
%feature("nothreadallow") sftpkit_event_get_str;
%feature("nothreadallow") sftpkit_event_set_int;
%feature("nothreadallow") sftpkit_event_set_str;
%feature("nothreadallow") sftpkit_event_id;
%feature("nothreadallow") sftpkit_event_name;
%feature("nothreadallow") sftpkit_event_param_count;
%feature("nothreadallow") sftpkit_event_param_info;
%feature("nothreadallow") sftpkit_last_error_code;
%feature("nothreadallow") sftpkit_last_error_message;
%feature("nothreadallow") sftpkit_version;
%feature("nothreadallow") sftpkit_event_set_status_message;
/* The buffer calls are a lookup and one memcpy under the engine's context lock, which no thread
 * ever holds while waiting for Python: dropping and retaking the GIL around them cost more than
 * the copy itself (bench/python-buffers). */
%feature("nothreadallow") sftpkit_server_set_client_buffer;
%feature("nothreadallow") sftpkit_server_get_client_buffer_into;

/* ---- Python-only entry points -------------------------------------------------------------- */
%feature("nothreadallow") sfk_py_set_dispatcher;
%feature("nothreadallow") sfk_py_set_error_class;
%feature("nothreadallow") sfk_py_set_log_handler;
%exception sfk_py_set_error_class "$action"
%exception sfk_py_set_log_handler {
  $action
  if (result != 0) {
    if (!PyErr_Occurred())
      SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%exception sfk_py_set_dispatcher {
  $action
  if (result != 0) {
    if (!PyErr_Occurred())
      SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%typemap(in) PyObject *fn "$1 = $input;"
%typemap(in) PyObject *cls "$1 = $input;"

%inline %{
/* Installs fn(event_id, ev) as the server's handler for the events whose bit (1 << id) is set
 * in mask; fn None or mask 0 removes the handler (the core then builds no events at all).
 * Runs with the GIL held (nothreadallow): it takes a reference to fn. */
int sfk_py_set_dispatcher(sftpkit_server *s, PyObject *fn, unsigned long long mask)
{
    if (!s) {
        sftpkit_server_set_event_handler(s, NULL, NULL, NULL); /* records the error */
        return sftpkit_last_error_code();
    }
    if (fn == Py_None || mask == 0)
        return sftpkit_server_set_event_handler(s, NULL, NULL, NULL);
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "dispatcher must be callable");
        return -1;
    }
    sfk_py_dispatch *d = (sfk_py_dispatch *)calloc(1, sizeof *d);
    if (!d) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(fn);
    d->fn = fn;
    d->mask = (uint64_t)mask;
    /* The core learns the mask too: an event without a Python handler is then, to the core, an
     * event without a handler (no event built; fraCustom answers OP_UNSUPPORTED). Subscribing
     * before the handler goes in means no unsubscribed event reaches the new registration. */
    for (int id = 1; id <= SFTPKIT_EVENT_COUNT; id++)
        sftpkit_server_set_event_subscribed(s, id, id <= 63 && ((uint64_t)mask & ((uint64_t)1 << id)) != 0);
    int rc = sftpkit_server_set_event_handler(s, sfk_py_trampoline, d, sfk_py_release);
    if (rc != 0) { /* the core did not take d */
        Py_DECREF(fn);
        free(d);
    }
    return rc;
}

/* Installs fn(level, module, message) as the server's log handler (None removes it): the package
 * passes a function that forwards to the "sftpkit" logger. Runs with the GIL (nothreadallow). */
int sfk_py_set_log_handler(sftpkit_server *s, PyObject *fn)
{
    if (fn == Py_None)
        return sftpkit_server_set_log_handler(s, NULL, NULL, NULL);
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "log handler must be callable");
        return -1;
    }
    Py_INCREF(fn);
    int rc = sftpkit_server_set_log_handler(s, sfk_py_log_trampoline, fn, sfk_py_release_ref);
    if (rc != 0)
        Py_DECREF(fn);
    return rc;
}

/* The exception class status failures raise: called once by the package at import. */
void sfk_py_set_error_class(PyObject *cls)
{
    Py_XINCREF(cls);
    Py_XDECREF(sfk_py_error_class);
    sfk_py_error_class = cls;
}
%}

/* ---- deferred completion (Python form: sftpkit.PendingRequest wraps these) ----------------- */
/* The token travels as an integer address: PendingRequest owns it and guarantees the single
 * complete the C API demands (a lock and a flag), so no raw pointer reaches user code. The GIL
 * is released around complete (-threads): completing from any thread must not stall handlers. */
%feature("nothreadallow") sfk_py_request_cancelled;
%exception sfk_py_request_cancelled {
  $action
  if (!result) SWIG_fail;
}
%exception sfk_py_defer_request {
  $action
  if (result == 0) {
    SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%exception sfk_py_request_complete {
  $action
  if (result != 0) {
    SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%exception sfk_py_request_data {
  $action
  if (!result) SWIG_fail;
}
%feature("nothreadallow") sfk_py_request_data;
%inline %{
/* Inside on_read_file / on_write_file: the firing request's token (0 with the last error set). */
unsigned long long sfk_py_defer_request(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    return (unsigned long long)(uintptr_t)sftpkit_server_defer_request(s, connection_id, handle);
}

/* Completes and releases the token (data: a READ's answer; empty for a WRITE). */
int sfk_py_request_complete(unsigned long long token, int operation_status, const uint8_t *data, size_t len)
{
    return sftpkit_request_complete((sftpkit_request *)(uintptr_t)token, operation_status, len ? data : NULL, len);
}

/* 0 while wanted, else an SFTPKIT_REQUEST_CANCEL_* reason. Lock-free read: keeps the GIL.
 * A Python int rather than int: int results are status codes in this module (raised, not returned). */
PyObject *sfk_py_request_cancelled(unsigned long long token)
{
    return PyLong_FromLong(sftpkit_request_cancelled((const sftpkit_request *)(uintptr_t)token));
}

/* A WRITE's bytes as a new bytes object (b"" for a READ). */
PyObject *sfk_py_request_data(unsigned long long token)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    if (sftpkit_request_get_data((const sftpkit_request *)(uintptr_t)token, &d, &n) != 0) {
        SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
        return NULL;
    }
    return PyBytes_FromStringAndSize(d ? (const char *)d : "", (Py_ssize_t)n);
}
%}

/* ---- cancellation of a deferred request (the Python form: the coroutine's task is cancelled) -- */
/* sftpkit_request_set_cancel_handler with a Python callable fn(reason). The core calls the
 * trampoline at most once, on the thread that ends the session (or at once, inside
 * sfk_py_request_set_cancel_handler, when the request was already cancelled). It must not block:
 * fn only queues task.cancel on the event loop (call_soon_threadsafe). The C side owns one
 * reference to fn from here on; exactly one of the trampoline or sfk_py_request_drop_cancel_handler
 * releases it (see the latter for how it knows which). */
%{
/* Set by sfk_py_cancel_probe when the core calls it at once (the request was already cancelled).
 * Per thread: the probe may also fire later on a session-ending thread, harmlessly. */
static _Thread_local int sfk_py_probe_hit;

static void sfk_py_cancel_probe(void *user, sftpkit_request *r, int reason)
{
    (void)user;
    (void)r;
    (void)reason;
    sfk_py_probe_hit = 1;
}

static void sfk_py_cancel_trampoline(void *user, sftpkit_request *r, int reason)
{
    (void)r;
    /* At interpreter exit nothing may enter Python (the thread would hang): leak one reference. */
    if (!Py_IsInitialized() || sfk_py_finalizing())
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *res = PyObject_CallFunction((PyObject *)user, "i", reason);
    if (!res)
        PyErr_WriteUnraisable((PyObject *)user);
    Py_XDECREF(res);
    Py_DECREF((PyObject *)user);
    PyGILState_Release(g);
}
%}
%feature("nothreadallow") sfk_py_request_set_cancel_handler;
%feature("nothreadallow") sfk_py_request_drop_cancel_handler;
%feature("nothreadallow") sfk_py_request_set_status_message;
%exception sfk_py_request_set_cancel_handler {
  $action
  if (result != 0) {
    if (!PyErr_Occurred())
      SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%exception sfk_py_request_set_status_message {
  $action
  if (result != 0) {
    SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SWIG_fail;
  }
}
%exception sfk_py_request_drop_cancel_handler "$action"
%inline %{
/* Installs fn(reason) as the token's cancel handler (GIL held). */
int sfk_py_request_set_cancel_handler(unsigned long long token, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "cancel handler must be callable");
        return -1;
    }
    Py_INCREF(fn); /* the core's reference, released by the trampoline or by drop below */
    int rc = sftpkit_request_set_cancel_handler((sftpkit_request *)(uintptr_t)token, sfk_py_cancel_trampoline, fn);
    if (rc != 0)
        Py_DECREF(fn);
    return rc;
}

/* Before completing: takes the handler fn (installed above) back. The core calls a cancel
 * handler once iff the request is cancelled while it is installed, and replacing it is refused
 * after a cancellation, with the new handler then called at once. So replacing it by a probe
 * tells, atomically, which case this is: the probe fired now = cancelled before, the trampoline
 * runs (or ran) and releases fn itself; it did not = fn can never be called, release it here.
 * (A later cancellation calls only the probe, which touches nothing of fn.) */
void sfk_py_request_drop_cancel_handler(unsigned long long token, PyObject *fn)
{
    sfk_py_probe_hit = 0;
    if (sftpkit_request_set_cancel_handler((sftpkit_request *)(uintptr_t)token, sfk_py_cancel_probe, NULL) != 0)
        return; /* NULL token only: nothing was installed */
    if (!sfk_py_probe_hit)
        Py_DECREF(fn);
    sfk_py_probe_hit = 0;
}

/* A failure's text for the client (before complete); None or "" sends the standard text. */
int sfk_py_request_set_status_message(unsigned long long token, const char *message)
{
    return sftpkit_request_set_status_message((sftpkit_request *)(uintptr_t)token, message);
}
%}

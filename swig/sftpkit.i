/*
 * sftpkit.i — the one SWIG interface shared by every language binding (Python, Java, C#).
 *
 * What SWIG sees is the pure C ABI of core/include/sftpkit/sftpkit.h (and the generated
 * sftpkit_props.h), wrapped 1:1: one native function per C function. Nothing idiomatic lives
 * here or in the per-language files; each language's idiomatic layer (SFTPServer with properties,
 * events as callables/listeners/C# events, SSHKey, the exception type) is generated from spec/
 * by tools/gen/gen_<lang>.py and calls these 1:1 functions.
 *
 * Layout (the GDAL/libSBML pattern):
 *   swig/sftpkit.i    this file: module name per language, the header, the shared rules below
 *   swig/python.i     Python typemaps + the event trampoline (PyGILState_Ensure)
 *   swig/java.i       Java typemaps + the event trampoline (AttachCurrentThreadAsDaemon)
 *   swig/csharp.i     C# typemaps (IntPtr handles, explicit UTF-8, raw statuses)
 * The language file is included BEFORE the declarations, so its typemaps apply to all of them.
 *
 * Shared rules every language file follows (the C ABI is the contract, see api-contract.md):
 *  - Handles (sftpkit_server*, sftpkit_key*, sftpkit_event*) are opaque: never a SWIG proxy
 *    class with a destructor; the idiomatic layer owns their lifetime (close/free explicitly).
 *  - Out-parameters: `int *out` (bool 0/1), `int64_t *out`, `char **out` (UTF-8, freed with
 *    sftpkit_free after conversion), `uint8_t **out, size_t *len` (bytes, freed likewise) become
 *    return values. `const char **name` (static strings) only occurs in event_param_info.
 *  - In-parameters: `const char *` is UTF-8 text; `const uint8_t *v, size_t len` is one bytes
 *    argument.
 *  - Status returns: every `int` function listed under "status functions" returns 0 or an error
 *    code with the thread's last error set. A language that defines SFK_SWIG_STATUS_EXCEPTIONS
 *    (SWIG-level #define in its .i) and the C macros SFK_RAISE(code, msg) and SFK_FAIL gets the
 *    %exception below: a non-zero status becomes the language's exception carrying code and
 *    message, read from sftpkit_last_error_code()/sftpkit_last_error_message() on the same thread
 *    right after the call. C# keeps raw statuses (its generated layer throws).
 *  - Events: one sftpkit_event_handler per server; each language supplies ONE trampoline that
 *    enters its runtime from a native server thread, and releases its callable in destroy_user.
 */

#if defined(SWIGPYTHON)
%module(package="sftpkit") sftpkit_native
#elif defined(SWIGJAVA)
%module SFTPKitNative
#elif defined(SWIGCSHARP)
%module SFTPKitNative
#else
%module sftpkit_native
#endif

%{
#include "sftpkit/sftpkit.h"
%}

%include <stdint.i>

/* SFTPKIT_API is an export attribute for the C compiler only. */
#define SFTPKIT_API

/* ---- the language's typemaps and trampoline ---------------------------------------------- */
#if defined(SWIGPYTHON)
%include "python.i"
#elif defined(SWIGJAVA)
%include "java.i"
#elif defined(SWIGCSHARP)
%include "csharp.i"
#endif

/* ---- status → exception (languages that opt in) ------------------------------------------- */
#if defined(SFK_SWIG_STATUS_EXCEPTIONS)
/* Default for every wrapped function: `result` is an int status. */
%exception {
  $action
  if (result != 0) {
    int sfk_code_ = sftpkit_last_error_code();
    SFK_RAISE(sfk_code_ != 0 ? sfk_code_ : result, sftpkit_last_error_message());
    SFK_FAIL;
  }
}
/* Functions that do not return a status: plain calls. (Keep this list in sync with sftpkit.h;
 * anything new that returns int is a status unless added here.) */
%exception sftpkit_version "$action"
%exception sftpkit_free "$action"
%exception sftpkit_last_error_code "$action"
%exception sftpkit_last_error_message "$action"
%exception sftpkit_server_new "$action"
%exception sftpkit_server_free "$action"
%exception sftpkit_event_id "$action"
%exception sftpkit_event_name "$action"
%exception sftpkit_key_new "$action"
%exception sftpkit_key_free "$action"
/* -1 with the last error set when the id is unknown */
%exception sftpkit_event_param_count {
  $action
  if (result < 0) {
    SFK_RAISE(sftpkit_last_error_code(), sftpkit_last_error_message());
    SFK_FAIL;
  }
}
#endif

/* ---- deferred completion ------------------------------------------------------------------- */
/* The token API (sftpkit_server_defer_request ...) returns a pointer or a reason rather than a
 * status, and takes a C callback, so no language gets it raw: Python wraps it in python.i
 * (sfk_py_* helpers behind sftpkit.PendingRequest), Java in java.i (org.sftpkit.PendingRequest),
 * C# by direct P/Invoke (PendingRequest.cs). The cancel-handler callback is a C function pointer:
 * Java gives it a JNI trampoline (java.i), Python a GIL-taking one (python.i); C# polls so far.
 * See docs/file-system.md. */
#ifndef SWIGJAVA
/* Java wraps these five in org.sftpkit.PendingRequest (the token crosses as a long, java.i), and
 * the cancel handler through its own trampoline (sfk_java_request_watch_cancel in java.i). */
%ignore sftpkit_server_defer_request;
%ignore sftpkit_request_complete;
%ignore sftpkit_request_get_data;
%ignore sftpkit_request_cancelled;
%ignore sftpkit_request_set_status_message;
#endif
%ignore sftpkit_request_set_cancel_handler;
%ignore sftpkit_request_cancel_fn;
%ignore SFTPKIT_REQUEST_CANCEL_DISCONNECT;
%ignore SFTPKIT_REQUEST_CANCEL_DROPPED;
%ignore SFTPKIT_REQUEST_CANCEL_STOPPING;

/* ---- the C ABI ---------------------------------------------------------------------------- */
/* sftpkit.h includes these with #include, which SWIG does not follow; name them explicitly.
 * Constants (sftpkit_consts.h) are not wrapped: each idiomatic layer generates its own from
 * spec/, with the document's names. */
#if !defined(SWIGPYTHON) && !defined(SWIGCSHARP)
/* A raw C function pointer means nothing to Java: a binding wraps it with its own trampoline
 * (as python.i does; csharp.i passes an [UnmanagedCallersOnly] pointer) and then drops this line. */
%ignore sftpkit_server_set_log_handler;
#endif
#ifndef SWIGPYTHON
/* Caller memory as uint8_t*: Java wraps it with its own buffer types (ByteBuffer) and then drops
 * this line; C# calls it through a direct P/Invoke with a pinned Span (SFTPServer.Buffers.cs).
 * The bare pointer type would only be an unusable proxy. */
%ignore sftpkit_server_get_client_buffer_into;
#endif
%include "sftpkit/sftpkit.h"
%include "sftpkit/sftpkit_props.h"

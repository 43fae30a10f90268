/*
 * C# typemaps for the sftpkit C ABI (swig -csharp). Included by swig/sftpkit.i when SWIGCSHARP is
 * defined, before the API declarations, so every declaration below it is wrapped with these rules.
 *
 * The SWIG layer for C# is deliberately thin: every C function is exposed 1:1 as an internal static
 * method that returns the raw int status; the generated idiomatic layer (tools/gen/gen_csharp.py)
 * turns statuses into SFTPKitException and owns naming, events and lifetimes. Rules here:
 *
 *  - Handles (sftpkit_server*, sftpkit_key*, sftpkit_event*) cross as IntPtr: the managed side owns
 *    their lifetime through SFTPServer / SSHKey (IDisposable), not through SWIG proxy objects.
 *  - Strings never use SWIG's default marshalling (the platform's "ANSI" code page on some
 *    runtimes). Input strings cross as NUL-terminated UTF-8 byte[] made by SFTPKit.Utf8.Encode;
 *    output strings cross as IntPtr and are decoded with Marshal.PtrToStringUTF8 (library-owned
 *    const char*) or decoded and released with sftpkit_free (char** out-parameters).
 *  - Out-parameters become C# `out` parameters; byte inputs are byte[] pinned by the marshaller;
 *    size_t is 64-bit (ulong), int64_t is long.
 *  - The event handler and its destroy-notify are plain function pointers (IntPtr); the managed
 *    side passes [UnmanagedCallersOnly] methods, so no delegate has to be kept alive at all.
 */

%pragma(csharp) moduleclassmodifiers="internal static class"
%pragma(csharp) imclassclassmodifiers="internal class"
%pragma(csharp) moduleimports=%{
using global::System;
using global::System.Runtime.InteropServices;
%}

/* ---- opaque handles as IntPtr ------------------------------------------------------------- */
%define SFK_CS_HANDLE(TYPE)
%typemap(ctype) TYPE *, const TYPE * "void *"
%typemap(imtype) TYPE *, const TYPE * "global::System.IntPtr"
%typemap(cstype) TYPE *, const TYPE * "global::System.IntPtr"
%typemap(in) TYPE *, const TYPE * %{ $1 = ($1_ltype)$input; %}
%typemap(out) TYPE *, const TYPE * %{ $result = (void *)$1; %}
%typemap(csin) TYPE *, const TYPE * "$csinput"
%typemap(csout, excode=SWIGEXCODE) TYPE *, const TYPE * { global::System.IntPtr ret = $imcall;$excode return ret; }
%enddef
SFK_CS_HANDLE(sftpkit_server)
SFK_CS_HANDLE(sftpkit_key)
SFK_CS_HANDLE(sftpkit_event)
SFK_CS_HANDLE(void)

/* function pointers (handler, destroy-notify) */
%typemap(ctype) sftpkit_event_handler, sftpkit_log_handler, void (*)(void *) "void *"
%typemap(imtype) sftpkit_event_handler, sftpkit_log_handler, void (*)(void *) "global::System.IntPtr"
%typemap(cstype) sftpkit_event_handler, sftpkit_log_handler, void (*)(void *) "global::System.IntPtr"
%typemap(in) sftpkit_event_handler %{ $1 = (sftpkit_event_handler)$input; %}
%typemap(in) sftpkit_log_handler %{ $1 = (sftpkit_log_handler)$input; %}
%typemap(in) void (*)(void *) %{ $1 = ($1_ltype)$input; %}
%typemap(csin) sftpkit_event_handler, sftpkit_log_handler, void (*)(void *) "$csinput"

/* ---- scalars ------------------------------------------------------------------------------ */
%typemap(ctype) size_t "uint64_t"
%typemap(imtype) size_t "ulong"
%typemap(cstype) size_t "ulong"
%typemap(in) size_t %{ $1 = (size_t)$input; %}
%typemap(csin) size_t "$csinput"

/* ---- UTF-8 strings in --------------------------------------------------------------------- */
%typemap(ctype) const char * "const char *"
%typemap(imtype) const char * "byte[]"
%typemap(cstype) const char * "byte[]"
%typemap(in) const char * %{ $1 = ($1_ltype)$input; %}
%typemap(csin) const char * "$csinput"

/* const char* results are library-owned static/thread-local strings: decode, never free. */
%typemap(out) const char * %{ $result = (const char *)$1; %}
%typemap(imtype, out="global::System.IntPtr") const char * "byte[]"
%typemap(cstype, out="string") const char * "byte[]"
%typemap(csout, excode=SWIGEXCODE) const char * {
    string ret = global::System.Runtime.InteropServices.Marshal.PtrToStringUTF8($imcall);$excode
    return ret;
  }

/* ---- out-parameters ----------------------------------------------------------------------- */
%define SFK_CS_OUT(CTYPE, CSTYPE)
%typemap(ctype) CTYPE "CTYPE"
%typemap(imtype) CTYPE "out CSTYPE"
%typemap(cstype) CTYPE "out CSTYPE"
%typemap(in) CTYPE %{ $1 = ($1_ltype)$input; %}
%typemap(csin) CTYPE "out $csinput"
%enddef
SFK_CS_OUT(int *, int)
SFK_CS_OUT(int64_t *, long)
SFK_CS_OUT(size_t *, ulong)
/* char** (caller frees with sftpkit_free), uint8_t** buffers and const char** (static) as IntPtr */
SFK_CS_OUT(char **, global::System.IntPtr)
SFK_CS_OUT(uint8_t **, global::System.IntPtr)
SFK_CS_OUT(const uint8_t **, global::System.IntPtr)
SFK_CS_OUT(const char **, global::System.IntPtr)

/* ---- bytes in: byte[] pinned for the call ------------------------------------------------- */
%typemap(ctype) const uint8_t * "const uint8_t *"
%typemap(imtype) const uint8_t * "byte[]"
%typemap(cstype) const uint8_t * "byte[]"
%typemap(in) const uint8_t * %{ $1 = ($1_ltype)$input; %}
%typemap(csin) const uint8_t * "$csinput"

/* sftpkit_free takes any buffer the library returned */
%typemap(ctype) void *p "void *"
%typemap(imtype) void *p "global::System.IntPtr"
%typemap(cstype) void *p "global::System.IntPtr"
%typemap(in) void *p %{ $1 = $input; %}
%typemap(csin) void *p "$csinput"

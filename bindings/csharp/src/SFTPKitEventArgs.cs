#nullable enable
using System;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// Base of every event's arguments. The parameters are read from the library when the event
    /// fires; by-ref ones (settable properties) are written back when the last handler returns. The
    /// object is valid only during the handler call: setting a by-ref parameter afterwards throws.
    /// </summary>
    public abstract class SFTPKitEventArgs : EventArgs
    {
        private IntPtr _ev;

        internal SFTPKitEventArgs(IntPtr ev, string eventName)
        {
            _ev = ev;
            EventName = eventName;
        }

        /// <summary>The event's spec name, for example "on_auth_password".</summary>
        public string EventName { get; }

        internal IntPtr Native => _ev;

        internal void Close() => _ev = IntPtr.Zero;

        // Set when an async handler's request was deferred: the native event is gone once the
        // handler's synchronous part returns, but its by-ref parameters and SetStatusMessage keep
        // working (they become the deferred request's answer).
        internal DeferredCall? Deferred { get; set; }

        /// <summary>
        /// Run (on the server thread) once every handler of the event, its async handler included,
        /// has returned, before the by-ref parameters go back: a handler that acted for the request
        /// learns the final verdict, which a handler after it may have overruled. The file system
        /// adapter closes the stream or listing it opened for an OPEN or OPENDIR that a later
        /// handler failed (the engine then drops the handle and no close event follows). Not run
        /// for a deferred request.
        /// </summary>
        internal Action? AfterHandlers { get; set; }

        /// <summary>Sets operation_status for a failure (SftpException); false when the event has none.</summary>
        internal virtual bool SetFailureStatus(OperationStatus status) => false;

        /// <summary>The operation_status a handler set, or null (none set, or the event has none).</summary>
        internal virtual OperationStatus? AssignedStatus => null;

        /// <summary>Copies the by-ref parameters a handler set back into the native event.</summary>
        internal abstract void WriteBack(IntPtr ev);

        /// <summary>After a handler threw: deny (accept=false, action=fraAbort, operation_status=ostAccessDenied; on_after_* events keep the library's status).</summary>
        internal abstract void FailClosed();

        /// <summary>
        /// The text the client receives with this request's reply when it is a failure status (the
        /// status is the handler's OperationStatus or Action); an OK reply keeps no text. For the
        /// custom file events, on_before_* answering fraAbort and on_after_*. At most 1024 bytes are
        /// kept. A file system provider's SftpException sets it for you.
        /// </summary>
        public void SetStatusMessage(string message)
        {
            if (_ev == IntPtr.Zero && Deferred is DeferredCall call)
            {
                call.Message = message;
                return;
            }
            EnsureOpen(nameof(SetStatusMessage));
            SFTPKitException.Check(N.sftpkit_event_set_status_message(_ev, Utf8.Encode(message ?? "")));
        }

        private protected void EnsureOpen(string property)
        {
            if (_ev == IntPtr.Zero && Deferred == null)
                throw new InvalidOperationException(
                    EventName + "." + property + " was set after the handler returned; event arguments are valid only during the handler call");
        }

        private protected static long ReadInt(IntPtr ev, byte[] name)
        {
            SFTPKitException.Check(N.sftpkit_event_get_int(ev, name, out long v));
            return v;
        }

        private protected static string ReadString(IntPtr ev, byte[] name)
        {
            SFTPKitException.Check(N.sftpkit_event_get_str(ev, name, out IntPtr p));
            return Utf8.Take(p);
        }

        private protected static void WriteInt(IntPtr ev, byte[] name, long value)
        {
            SFTPKitException.Check(N.sftpkit_event_set_int(ev, name, value));
        }

        private protected static void WriteString(IntPtr ev, byte[] name, string value)
        {
            SFTPKitException.Check(N.sftpkit_event_set_str(ev, name, Utf8.Encode(value)));
        }
    }

    /// <summary>An exception thrown by an event handler, reported through <see cref="SFTPServer.HandlerException"/>.</summary>
    public sealed class HandlerExceptionEventArgs : EventArgs
    {
        internal HandlerExceptionEventArgs(string eventName, Exception exception)
        {
            EventName = eventName;
            Exception = exception;
        }

        /// <summary>The event whose handler threw, for example "on_auth_password".</summary>
        public string EventName { get; }

        /// <summary>What the handler threw.</summary>
        public Exception Exception { get; }
    }
}

#nullable enable
using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace SFTPKit
{
    /// <summary>Why a <see cref="PendingRequest"/> was cancelled (C: SFTPKIT_REQUEST_CANCEL_*).</summary>
    public enum RequestCancelReason
    {
        /// <summary>The request is still wanted.</summary>
        None = 0,
        /// <summary>The client closed the connection or the link was lost.</summary>
        Disconnect = 1,
        /// <summary>The server dropped the connection (DropClient, a timeout).</summary>
        Dropped = 2,
        /// <summary>Stop() or Dispose of the server.</summary>
        Stopping = 3,
    }

    public sealed partial class SFTPServer
    {
        /// <summary>
        /// Defers the READ or WRITE in progress: call it only inside OnReadFile / OnWriteFile, for the
        /// firing request (an empty or null handle means "the current one"), and return from the
        /// handler at once. The event's OperationStatus and any SetClientBuffer of that call are then
        /// ignored; the request stays pending until <see cref="PendingRequest.Complete"/> is called,
        /// from any thread, while the session goes on serving other requests (replies on one handle
        /// still leave in arrival order). Throws SFTPKitException outside such a handler or when the
        /// request was already deferred.
        /// </summary>
        public unsafe PendingRequest DeferRequest(long connectionId, string? handle)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            IntPtr r;
            fixed (byte* n = EncodeHandle(handle, name))
                r = PendingNative.defer_request(h.Ptr, connectionId, n);
            if (r == IntPtr.Zero)
            {
                int code = PendingNative.last_error_code();
                throw SFTPKitException.FromLastError(code != 0 ? code : -1);
            }
            return new PendingRequest(r);
        }
    }

    /// <summary>
    /// A READ or WRITE whose handler completes it later (<see cref="SFTPServer.DeferRequest"/>).
    /// <see cref="Complete"/> must be called exactly once, also after a cancellation (the result is
    /// then discarded): an uncompleted request keeps its session's slot and memory. Every member may
    /// be called from any thread; the token stays valid until Complete even if the server is
    /// stopped or disposed meanwhile.
    /// </summary>
    public sealed unsafe class PendingRequest
    {
        private readonly object _lock = new object();
        private IntPtr _r; // Zero once completed: the native token is released then
        private readonly CancellationTokenSource _cts = new CancellationTokenSource();
        private readonly long _id;

        // Live requests by id: the native cancel handler gets the id, never a GCHandle, so a
        // cancellation that races with Complete (the core may call the handler after it) finds
        // nothing instead of a freed handle.
        private static readonly ConcurrentDictionary<long, PendingRequest> s_live = new ConcurrentDictionary<long, PendingRequest>();
        private static long s_nextId;

        internal PendingRequest(IntPtr r)
        {
            _r = r;
            _id = Interlocked.Increment(ref s_nextId);
            s_live[_id] = this;
            // Already cancelled: the core calls the handler at once, on this thread.
            int rc = PendingNative.set_cancel_handler(r,
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, void>)&OnNativeCancel, (IntPtr)_id);
            if (rc != 0)
                s_live.TryRemove(_id, out _); // only a NULL token fails; Cancelled can still be polled
        }

        /// <summary>
        /// Cancelled when the request is: the client disconnected, the connection was dropped or the
        /// server is stopping (<see cref="Cancelled"/> says which). Its callbacks run on a thread-pool
        /// thread, never on the server's. Complete must still be called (the result is discarded).
        /// </summary>
        public CancellationToken CancellationToken => _cts.Token;

        // Called by the library on the thread that ends the session: must not block and must not
        // throw. CancellationTokenSource.Cancel runs the token's callbacks inline (user code), so it
        // is queued to the thread pool instead.
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
        private static void OnNativeCancel(IntPtr user, IntPtr request, int reason)
        {
            try
            {
                if (s_live.TryGetValue((long)user, out PendingRequest? p))
                    ThreadPool.UnsafeQueueUserWorkItem(static cts =>
                    {
                        try
                        {
                            cts.Cancel();
                        }
                        catch
                        {
                            // a callback's exception must not end the process
                        }
                    }, p._cts, preferLocal: false);
            }
            catch
            {
                // nothing may unwind into native code
            }
        }

        /// <summary>
        /// The text the client gets with a failure status: call before <see cref="Complete"/>. At
        /// most 1024 bytes are sent; null or "" sends the standard text.
        /// </summary>
        public void SetStatusMessage(string? message)
        {
            lock (_lock)
            {
                if (_r == IntPtr.Zero)
                    throw new InvalidOperationException("the request was already completed");
                if (message != null && message.IndexOf('\0') >= 0)
                    throw new ArgumentException("a status message must not contain NUL characters", nameof(message));
                byte[] text = Utf8.Encode(message ?? "");
                fixed (byte* t = text)
                    SFTPKitException.Check(PendingNative.set_status_message(_r, t));
            }
        }

        internal void TrySetStatusMessage(string message)
        {
            try
            {
                SetStatusMessage(message);
            }
            catch (Exception ex) when (ex is SFTPKitException or ArgumentException or InvalidOperationException)
            {
                // the status goes with the standard text
            }
        }

        /// <summary>Copies a WRITE's data into destination (no allocation); returns its length.</summary>
        internal int CopyData(Span<byte> destination)
        {
            lock (_lock)
            {
                if (_r == IntPtr.Zero)
                    throw new InvalidOperationException("the request was already completed");
                byte* d;
                nuint len;
                SFTPKitException.Check(PendingNative.get_data(_r, &d, &len));
                if ((ulong)len > (ulong)destination.Length)
                    throw new SFTPKitException(ErrorCode.InvalidParameter, "the destination is smaller than the WRITE's data");
                new ReadOnlySpan<byte>(d, checked((int)len)).CopyTo(destination);
                return (int)len;
            }
        }

        /// <summary>True once <see cref="Complete"/> ran.</summary>
        public bool IsCompleted
        {
            get { lock (_lock) return _r == IntPtr.Zero; }
        }

        /// <summary>
        /// Whether (and why) the request was cancelled; poll it while waiting for a slow back-end and
        /// complete at once when it is not <see cref="RequestCancelReason.None"/>. After Complete:
        /// None.
        /// </summary>
        public RequestCancelReason Cancelled
        {
            get
            {
                lock (_lock)
                    return _r == IntPtr.Zero ? RequestCancelReason.None : (RequestCancelReason)PendingNative.cancelled(_r);
            }
        }

        /// <summary>
        /// A WRITE's data (empty for a READ), copied into a new array so it outlives the token.
        /// Throws InvalidOperationException after Complete.
        /// </summary>
        public byte[] Data
        {
            get
            {
                lock (_lock)
                {
                    if (_r == IntPtr.Zero)
                        throw new InvalidOperationException("the request was already completed");
                    byte* d;
                    nuint len;
                    SFTPKitException.Check(PendingNative.get_data(_r, &d, &len));
                    return len == 0 ? Array.Empty<byte>() : new ReadOnlySpan<byte>(d, checked((int)len)).ToArray();
                }
            }
        }

        /// <summary>
        /// Completes the request and releases the token. For a READ, <paramref name="data"/> is what
        /// was read (at most the Size asked for is sent; empty with ostOk is the end of the file);
        /// for a WRITE it must be empty. Throws InvalidOperationException when called twice.
        /// </summary>
        public void Complete(OperationStatus status, ReadOnlySpan<byte> data = default)
        {
            lock (_lock)
            {
                if (_r == IntPtr.Zero)
                    throw new InvalidOperationException("the request was already completed");
                int rc;
                fixed (byte* p = data)
                    rc = PendingNative.complete(_r, (int)status, data.IsEmpty ? null : p, (nuint)data.Length);
                SFTPKitException.Check(rc); // only bad arguments fail, and the token is kept then
                _r = IntPtr.Zero;
                s_live.TryRemove(_id, out _);
            }
        }
    }

    /// <summary>Direct P/Invokes of the deferred-completion C ABI (%ignore'd by the SWIG layer).</summary>
    internal static unsafe class PendingNative
    {
        private const string Lib = "sftpkit_csharp";

        [DllImport(Lib, EntryPoint = "sftpkit_server_defer_request", CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr defer_request(IntPtr s, long connectionId, byte* handle);

        [DllImport(Lib, EntryPoint = "sftpkit_request_complete", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int complete(IntPtr r, int operationStatus, byte* data, nuint len);

        [DllImport(Lib, EntryPoint = "sftpkit_request_get_data", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int get_data(IntPtr r, byte** data, nuint* len);

        [DllImport(Lib, EntryPoint = "sftpkit_request_set_cancel_handler", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int set_cancel_handler(IntPtr r, IntPtr fn, IntPtr user);

        [DllImport(Lib, EntryPoint = "sftpkit_request_set_status_message", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int set_status_message(IntPtr r, byte* message);

        [DllImport(Lib, EntryPoint = "sftpkit_request_cancelled", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int cancelled(IntPtr r);

        [DllImport(Lib, EntryPoint = "sftpkit_last_error_code", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int last_error_code();
    }
}

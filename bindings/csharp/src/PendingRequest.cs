#nullable enable
using System;
using System.Runtime.InteropServices;

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

        internal PendingRequest(IntPtr r) => _r = r;

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

        [DllImport(Lib, EntryPoint = "sftpkit_request_cancelled", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int cancelled(IntPtr r);

        [DllImport(Lib, EntryPoint = "sftpkit_last_error_code", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int last_error_code();
    }
}

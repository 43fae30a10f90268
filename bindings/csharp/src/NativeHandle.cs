#nullable enable
using System;
using System.Runtime.InteropServices;
using System.Threading;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// Owns one native object. SafeHandle gives two things the binding needs: a call in progress holds
    /// a reference (DangerousAddRef), so Dispose on another thread can never free the object under it;
    /// and its critical finalizer is the safety net for objects the user never disposed.
    /// </summary>
    internal abstract class NativeHandle : SafeHandle
    {
        protected NativeHandle(IntPtr p) : base(IntPtr.Zero, true)
        {
            SetHandle(p);
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        /// <summary>Pins the handle for the duration of one call (use with `using`).</summary>
        internal HandleLease Acquire(string what)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException(what);
            }
            return new HandleLease(this, DangerousGetHandle());
        }
    }

    /// <summary>A held reference on a NativeHandle; Dispose releases it.</summary>
    internal readonly ref struct HandleLease
    {
        private readonly SafeHandle _owner;

        internal HandleLease(SafeHandle owner, IntPtr ptr)
        {
            _owner = owner;
            Ptr = ptr;
        }

        internal IntPtr Ptr { get; }

        public void Dispose() => _owner?.DangerousRelease();
    }

    internal sealed class ServerHandle : NativeHandle
    {
        internal ServerHandle(IntPtr p) : base(p) { }

        /// <summary>
        /// The server whose event handler is running on this thread (null outside handlers). Freeing a
        /// server joins its threads, so it must never happen on one of them.
        /// </summary>
        [ThreadStatic]
        internal static ServerHandle? InHandlerOf;

        // Stops the server (closing every connection, joining its threads) and frees it; the native
        // side then calls the handler's destroy-notify, which frees the GCHandle it held. When the
        // last reference goes away on one of the server's own threads (Dispose called from a handler,
        // or a handler's call still in flight when another thread disposed), the free is handed to
        // the thread pool instead of joining the current thread.
        protected override bool ReleaseHandle()
        {
            IntPtr p = handle;
            if (InHandlerOf == this)
                ThreadPool.UnsafeQueueUserWorkItem(_ => N.sftpkit_server_free(p), null);
            else
                N.sftpkit_server_free(p);
            return true;
        }
    }

    internal sealed class KeyHandle : NativeHandle
    {
        internal KeyHandle(IntPtr p) : base(p) { }

        protected override bool ReleaseHandle()
        {
            N.sftpkit_key_free(handle);
            return true;
        }
    }
}

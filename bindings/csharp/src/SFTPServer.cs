#nullable enable
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// An embeddable SFTP server. Properties, methods and events are generated from the reference
    /// document (see SFTPServer.g.cs); this half owns the native handle, the event trampoline and
    /// the lifetime rules:
    /// <list type="bullet">
    /// <item>Event handlers run on the server's own threads, synchronously.</item>
    /// <item>An exception thrown by a handler never reaches native code: the by-ref decision is set to
    /// deny (accept=false, action=fraAbort, operation_status=ostAccessDenied) and the exception is
    /// reported through <see cref="HandlerException"/> (or standard error when nobody listens).</item>
    /// <item><see cref="Dispose"/> stops the server, closes every connection and frees everything. A
    /// started server stays alive until <see cref="Stop"/> or Dispose even if the program drops its
    /// last reference; the finalizer of the native handle is only a safety net for servers that were
    /// never disposed. Servers still running when the process exits are disposed by a ProcessExit hook.</item>
    /// </list>
    /// </summary>
    public sealed partial class SFTPServer : IDisposable, IAsyncDisposable
    {
        // Started servers, so the GC cannot finalize (and so stop) a server that is serving clients.
        private static readonly HashSet<SFTPServer> s_running = new HashSet<SFTPServer>();

        private readonly ServerHandle _handle;
        private readonly object _eventLock = new object();
        private volatile bool _handlerInstalled;
        private long _handlerExceptions;

        /// <summary>Creates a server with every property at its documented default.</summary>
        public SFTPServer()
        {
            IntPtr p = N.sftpkit_server_new();
            if (p == IntPtr.Zero)
                throw new OutOfMemoryException("sftpkit_server_new failed");
            _handle = new ServerHandle(p);
        }

        /// <summary>
        /// Raised (on the server thread) when an event handler throws. The event's by-ref decision has
        /// already been set to deny. When nobody subscribes, the exception is written to standard error.
        /// </summary>
        public event EventHandler<HandlerExceptionEventArgs>? HandlerException;

        /// <summary>The last exception an event handler threw, or null.</summary>
        public Exception? LastHandlerException { get; private set; }

        /// <summary>How many times an event handler threw since the server was created.</summary>
        public long HandlerExceptionCount => Interlocked.Read(ref _handlerExceptions);

        /// <summary>True once <see cref="Dispose"/> ran.</summary>
        public bool IsDisposed => _handle.IsClosed;

        /// <summary>
        /// Stops the server (closing every connection and joining its threads) and frees the native
        /// server. Safe to call more than once and from any thread, including from inside an event
        /// handler (the native free then happens on a thread-pool thread once the handler returns).
        /// </summary>
        public void Dispose()
        {
            _handle.Dispose(); // marks the handle closed first, so a racing Start() unroots itself
            Unroot();
        }

        /// <summary>
        /// <see cref="Dispose"/> on a thread-pool thread: stopping joins the server's threads, which
        /// can take as long as the slowest handler in progress.
        /// </summary>
        public ValueTask DisposeAsync()
        {
            if (IsDisposed)
                return ValueTask.CompletedTask;
            return new ValueTask(Task.Run(Dispose));
        }

        /// <summary>Starts the server (Start on a thread-pool thread: binding the port and loading keys).</summary>
        public Task StartAsync(CancellationToken cancellationToken = default) =>
            Task.Run(Start, cancellationToken);

        /// <summary>Stops the server (Stop on a thread-pool thread: it closes every connection and joins their threads).</summary>
        public Task StopAsync(CancellationToken cancellationToken = default) =>
            Task.Run(Stop, cancellationToken);

        // ---- helpers used by the generated half ------------------------------------------------------

        private HandleLease Lease() => _handle.Acquire(nameof(SFTPServer));

        private static void Check(int rc) => SFTPKitException.Check(rc);

        private void BeforeStart()
        {
            lock (s_running)
            {
                if (!s_exitHooked)
                {
                    // Servers still running when the process exits are stopped while the runtime can
                    // still take their threads' last events, instead of at exit() under them.
                    AppDomain.CurrentDomain.ProcessExit += (sender, e) => StopAllAtExit();
                    s_exitHooked = true;
                }
                s_running.Add(this);
                if (_handle.IsClosed)
                    s_running.Remove(this);
            }
        }

        private void AfterStop() => Unroot();

        private static bool s_exitHooked;

        private static void StopAllAtExit()
        {
            SFTPServer[] running;
            lock (s_running)
                running = new List<SFTPServer>(s_running).ToArray();
            foreach (SFTPServer srv in running)
            {
                try
                {
                    srv.Dispose();
                }
                catch (Exception ex)
                {
                    WriteStandardError("sftpkit: stopping a server at exit failed: " + ex.Message);
                }
            }
        }

        // A failed Start() unroots the server unless it is serving anyway (Start on a started server).
        private void StartFailed(IntPtr p)
        {
            if (N.sftpkit_server_get_active(p, out int active) != 0 || active == 0)
                Unroot();
        }

        private void Unroot()
        {
            lock (s_running)
                s_running.Remove(this);
        }

        // ---- events: one native handler per server, installed with the first subscription -----------

        private unsafe void EnsureHandlerInstalled()
        {
            if (_handlerInstalled)
                return;
            lock (_eventLock)
            {
                if (_handlerInstalled)
                    return;
                using var h = Lease();
                // The native side holds only a weak handle: it must not keep the server alive (a
                // started server is rooted by s_running instead). It frees the GCHandle through
                // ReleaseUser once no call is in flight and the handler is gone.
                GCHandle self = GCHandle.Alloc(this, GCHandleType.Weak);
                int rc = N.sftpkit_server_set_event_handler(h.Ptr,
                    (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, IntPtr, int>)&Trampoline,
                    GCHandle.ToIntPtr(self),
                    (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&ReleaseUser);
                if (rc != 0)
                {
                    self.Free();
                    throw SFTPKitException.FromLastError(rc);
                }
                // The core starts with every event subscribed; from here it hears only of the
                // events that have a .NET subscriber (each event's add/remove keeps it current).
                for (int id = 1; id <= EventCount; id++)
                    Check(N.sftpkit_server_set_event_subscribed(h.Ptr, id, 0));
                _handlerInstalled = true;
            }
        }

        /// <summary>Tells the core whether event <paramref name="eventId"/> has subscribers (called under _eventLock).</summary>
        private void SetSubscribed(int eventId, bool on)
        {
            using var h = Lease();
            Check(N.sftpkit_server_set_event_subscribed(h.Ptr, eventId, on ? 1 : 0));
        }

        // Called by the library on a server thread. Nothing may unwind out of here: an exception
        // crossing an UnmanagedCallersOnly boundary terminates the process.
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
        private static int Trampoline(IntPtr user, IntPtr server, int eventId, IntPtr ev)
        {
            try
            {
                if (GCHandle.FromIntPtr(user).Target is SFTPServer srv)
                    srv.DispatchGuarded(eventId, ev);
            }
            catch (Exception ex)
            {
                WriteStandardError("sftpkit: event " + eventId + " could not be delivered: " + ex);
            }
            return 0;
        }

        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
        private static void ReleaseUser(IntPtr user)
        {
            try
            {
                GCHandle.FromIntPtr(user).Free();
            }
            catch (Exception ex)
            {
                WriteStandardError("sftpkit: releasing an event handler failed: " + ex);
            }
        }

        private void DispatchGuarded(int eventId, IntPtr ev)
        {
            ServerHandle? previous = ServerHandle.InHandlerOf;
            ServerHandle.InHandlerOf = _handle;
            try
            {
                DispatchEvent(eventId, ev);
            }
            catch (Exception ex)
            {
                // Reading the parameters failed before any handler ran; the library's verdict stands.
                Report(ex, SFTPKitNameOf(eventId));
            }
            finally
            {
                ServerHandle.InHandlerOf = previous;
            }
        }

        private static string SFTPKitNameOf(int eventId) => N.sftpkit_event_name(eventId) ?? ("event " + eventId);

        /// <summary>
        /// Runs the subscribers, then the async handler (awaited here: this event cannot be deferred),
        /// with one args object; by-ref results go back to the library.
        /// </summary>
        private void Raise<T>(EventHandler<T>? handlers, Func<T, CancellationToken, Task>? asyncHandler, T args)
            where T : SFTPKitEventArgs
        {
            try
            {
                try
                {
                    handlers?.Invoke(this, args);
                    if (asyncHandler != null)
                        AwaitHere(() => asyncHandler(args, CancellationToken.None));
                }
                catch (Exception ex)
                {
                    Failed(args, ex);
                }
                if (args.AfterHandlers is Action after)
                {
                    try
                    {
                        after();
                    }
                    catch (Exception ex)
                    {
                        Report(ex, args.EventName);
                    }
                }
                try
                {
                    args.WriteBack(args.Native);
                }
                catch (Exception ex)
                {
                    Report(ex, args.EventName);
                }
            }
            finally
            {
                args.Close();
            }
        }

        private void Report(Exception ex, string eventName)
        {
            Interlocked.Increment(ref _handlerExceptions);
            LastHandlerException = ex;
            bool logged = LogHandlerError(ex, eventName);
            EventHandler<HandlerExceptionEventArgs>? listeners = HandlerException;
            if (listeners == null)
            {
                if (!logged)
                    WriteStandardError("sftpkit: the " + eventName + " handler threw (request denied): " + ex);
                return;
            }
            try
            {
                listeners(this, new HandlerExceptionEventArgs(eventName, ex));
            }
            catch (Exception inner)
            {
                WriteStandardError("sftpkit: the HandlerException handler threw: " + inner);
            }
        }

        private static void WriteStandardError(string line)
        {
            try
            {
                Console.Error.WriteLine(line);
            }
            catch
            {
                // Nowhere left to report to; never let this escape into native code.
            }
        }
    }
}

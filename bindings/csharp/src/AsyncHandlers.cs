#nullable enable
using System;
using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace SFTPKit
{
    // The asynchronous handler forms (issue 14): OnXAsync properties (generated per event from the
    // spec) hold a Func<XEventArgs, CancellationToken, Task>. For the events the C ABI can complete
    // later (spec deferrable_events: on_read_file, on_write_file) the request is deferred and the
    // task's end completes it, off the native thread; every other event's task is awaited on the
    // server thread. Nothing thrown by user code ever unwinds into native code or onto a pool thread
    // unobserved: an exception there terminates the process (the exit-134 crash of issue 14).
    public sealed partial class SFTPServer
    {
        // The deferred request whose async handler is running on this logical flow: SetClientBuffer /
        // GetClientBuffer after an await have no native context left and go to it instead. An
        // AsyncLocal flows into the handler's continuations (captured at its first await) and into
        // nothing else, so two requests' handlers never see each other's.
        private static readonly AsyncLocal<DeferredCall?> s_deferred = new AsyncLocal<DeferredCall?>();

        /// <summary>
        /// Refuses a handler form that cannot work, at assignment: an async void method or lambda
        /// returns to the library at its first await, so the request is answered before the work is
        /// done (an empty file) and whatever it touches later is gone (the process crashed).
        /// </summary>
        private static void RefuseAsyncVoid(Delegate? handler, string eventName, string asyncForm)
        {
            if (handler == null)
                return;
            foreach (Delegate d in handler.GetInvocationList())
            {
                if (d.Method.ReturnType == typeof(void) && d.Method.IsDefined(typeof(AsyncStateMachineAttribute), false))
                    throw new ArgumentException(
                        $"{eventName}: an async void handler ({d.Method.Name}) cannot be used: it returns before its work is done. " +
                        $"Assign a Task-returning handler to {asyncForm} instead, or make the handler synchronous.",
                        nameof(handler));
            }
        }

        /// <summary>Runs an async handler and waits for it on this (server) thread.</summary>
        private static void AwaitHere(Func<Task> start)
        {
            // Continuations must not be posted to a context this very thread would have to pump:
            // run the synchronous part with none, so GetResult cannot deadlock.
            SynchronizationContext? previous = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            Task? task;
            try
            {
                task = start();
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }
            task?.GetAwaiter().GetResult();
        }

        /// <summary>A handler (sync or async) failed: SftpException is its answer, anything else denies and is reported.</summary>
        private void Failed(SFTPKitEventArgs args, Exception ex)
        {
            if (ex is SftpException se && args.SetFailureStatus(se.Status))
            {
                try
                {
                    args.SetStatusMessage(se.Message);
                }
                catch (Exception inner) when (inner is SFTPKitException or ArgumentException or InvalidOperationException)
                {
                    // a text the library refuses: the status goes with the standard text
                }
                return;
            }
            args.FailClosed();
            Report(ex, args.EventName);
        }

        /// <summary>
        /// Dispatch of a deferrable event: the subscribers run as usual; an async handler gets the
        /// request deferred, and the task's end completes it (<see cref="DeferredCall.Finish"/>).
        /// </summary>
        private void RaiseDeferrable<T>(EventHandler<T>? handlers, Func<T, CancellationToken, Task>? asyncHandler, T args,
                                        long connectionId, string handle) where T : SFTPKitEventArgs
        {
            if (asyncHandler == null)
            {
                Raise(handlers, null, args);
                return;
            }
            if (handlers != null)
            {
                try
                {
                    handlers(this, args);
                }
                catch (Exception ex)
                {
                    Failed(args, ex); // a subscriber's failure is the answer; the async handler does not run
                    Raise(null, null, args);
                    return;
                }
            }
            PendingRequest pending;
            try
            {
                pending = DeferRequest(connectionId, handle);
            }
            catch (SFTPKitException ex) when (ex.Code == ErrorCode.InvalidState)
            {
                // A request the engine serves inline (one it cannot defer, e.g. a zero-length READ):
                // the task is awaited here instead.
                Raise(null, asyncHandler, args);
                return;
            }
            catch (Exception ex)
            {
                Raise(null, null, args); // writes back what the subscribers set
                Report(ex, args.EventName);
                return;
            }
            var call = new DeferredCall(this, pending, connectionId, handle, args);
            args.Deferred = call;
            args.Close(); // the native event ends when this returns; the args now answer the deferred request
            Task task;
            DeferredCall? outer = s_deferred.Value;
            SynchronizationContext? context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            s_deferred.Value = call;
            try
            {
                task = asyncHandler(args, pending.CancellationToken) ?? Task.CompletedTask;
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }
            finally
            {
                s_deferred.Value = outer;
                SynchronizationContext.SetSynchronizationContext(context);
            }
            // ExecuteSynchronously: a task already done completes the request right here (the core
            // accepts a completion before the handler returns); otherwise on the thread that ends it.
            task.ContinueWith(static (t, state) => ((DeferredCall)state!).Finish(t), call, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        /// <summary>The deferred request of the running async handler for this connection and handle, or null.</summary>
        private static DeferredCall? DeferredFor(long connectionId, string? handle)
        {
            DeferredCall? call = s_deferred.Value;
            if (call == null || call.ConnectionId != connectionId)
                return null;
            if (!string.IsNullOrEmpty(handle) && !string.Equals(handle, call.Handle, StringComparison.Ordinal))
                return null;
            return call;
        }

        /// <summary>The deferred request the running async handler answers (the providers' adapter reads into its buffer).</summary>
        internal static DeferredCall? CurrentDeferred(long connectionId, string? handle) => DeferredFor(connectionId, handle);

        private static bool TrySetDeferredData(long connectionId, string? handle, ReadOnlySpan<byte> data)
        {
            DeferredCall? call = DeferredFor(connectionId, handle);
            if (call == null)
                return false;
            call.SetReadData(data);
            return true;
        }

        private static bool TrySetDeferredData(long connectionId, string? handle, byte[]? data) =>
            TrySetDeferredData(connectionId, handle, (ReadOnlySpan<byte>)(data ?? Array.Empty<byte>()));

        private static byte[]? TryGetDeferredData(long connectionId, string? handle) =>
            DeferredFor(connectionId, handle)?.Pending.Data;

        private static int? TryGetDeferredData(long connectionId, string? handle, Span<byte> destination) =>
            DeferredFor(connectionId, handle)?.Pending.CopyData(destination);

        internal void ReportHandlerError(Exception ex, string eventName) => Report(ex, eventName);
    }

    /// <summary>One deferred request of an async handler: its token, its args and the READ data so far.</summary>
    internal sealed class DeferredCall
    {
        private readonly SFTPServer _srv;
        private readonly SFTPKitEventArgs _args;
        private byte[]? _data; // rented: a READ's answer
        private int _length;

        internal DeferredCall(SFTPServer srv, PendingRequest pending, long connectionId, string handle, SFTPKitEventArgs args)
        {
            _srv = srv;
            Pending = pending;
            ConnectionId = connectionId;
            Handle = handle;
            _args = args;
        }

        internal PendingRequest Pending { get; }
        internal long ConnectionId { get; }
        internal string Handle { get; }
        internal string? Message { get; set; }

        /// <summary>
        /// The READ's answer buffer itself, so a provider reads straight into it (no second copy);
        /// <see cref="ReadDone"/> then says how much it holds. Valid until the handler's task ends.
        /// </summary>
        internal Memory<byte> ReadBuffer(int size)
        {
            lock (this)
            {
                if (Pending.IsCompleted)
                    throw new InvalidOperationException(_args.EventName + ": the request was already answered");
                if (_data == null || _data.Length < size)
                {
                    if (_data != null)
                        ArrayPool<byte>.Shared.Return(_data);
                    _data = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
                }
                _length = 0;
                return _data.AsMemory(0, size);
            }
        }

        internal void ReadDone(int length)
        {
            lock (this)
                _length = _data == null ? 0 : Math.Clamp(length, 0, _data.Length);
        }

        internal void SetReadData(ReadOnlySpan<byte> data)
        {
            lock (this)
            {
                if (Pending.IsCompleted)
                    throw new InvalidOperationException(_args.EventName + ": the request was already answered");
                if (_data == null || _data.Length < data.Length)
                {
                    if (_data != null)
                        ArrayPool<byte>.Shared.Return(_data);
                    _data = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, 1));
                }
                data.CopyTo(_data);
                _length = data.Length;
            }
        }

        /// <summary>The handler's task ended: answer the request. Runs on any thread; never throws.</summary>
        internal void Finish(Task task)
        {
            OperationStatus status;
            try
            {
                if (task.IsCompletedSuccessfully)
                {
                    status = _args.AssignedStatus ?? OperationStatus.ostOk;
                }
                else
                {
                    Exception? ex = task.Exception?.InnerException;
                    if (ex is SftpException se)
                    {
                        status = se.Status;
                        Message = se.Message;
                    }
                    else if (Pending.CancellationToken.IsCancellationRequested &&
                             (task.IsCanceled || ex is OperationCanceledException))
                    {
                        status = SftpException.Failure; // the request is gone: the library discards it
                    }
                    else
                    {
                        status = SftpException.Failure; // the text stays in the server's log
                        Message = null;
                        _srv.ReportHandlerError(ex ?? new TaskCanceledException(task), _args.EventName);
                    }
                }
            }
            catch (Exception ex)
            {
                status = SftpException.Failure;
                SafeReport(ex);
            }
            try
            {
                lock (this)
                {
                    if (status != OperationStatus.ostOk && status != OperationStatus.ostEOF && !string.IsNullOrEmpty(Message))
                        Pending.TrySetStatusMessage(Message!);
                    bool ok = status == OperationStatus.ostOk;
                    Pending.Complete(status, ok && _data != null ? _data.AsSpan(0, _length) : default);
                    if (_data != null)
                        ArrayPool<byte>.Shared.Return(_data);
                    _data = null;
                }
            }
            catch (Exception ex)
            {
                SafeReport(ex);
                try
                {
                    if (!Pending.IsCompleted)
                        Pending.Complete(SftpException.Failure);
                }
                catch
                {
                    // nothing left to do; never let it escape onto a pool thread
                }
            }
        }

        private void SafeReport(Exception ex)
        {
            try
            {
                _srv.ReportHandlerError(ex, _args.EventName);
            }
            catch
            {
                // Report itself guards its listeners; this is the last line
            }
        }
    }
}

#nullable enable
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace SFTPKit
{
    public sealed partial class SFTPServer
    {
        private AsyncFileSystemAdapter? _asyncFileSystem;

        /// <summary>
        /// Serves every file operation from asynchronous file system objects the factory makes, one
        /// per session (on its first file request). As <see cref="UseFileSystem(Func{SftpSession, ISftpFileSystem})"/>,
        /// but READ and WRITE are deferred (OnReadFileAsync / OnWriteFileAsync): they hold no server
        /// thread while the back-end answers, and READs of one file overlap. Call once, before Start.
        /// </summary>
        public void UseAsyncFileSystem(Func<SftpSession, IAsyncSftpFileSystem> factory)
        {
            if (factory == null)
                throw new ArgumentNullException(nameof(factory));
            lock (_eventLock)
            {
                if (_fileSystem != null || _asyncFileSystem != null)
                    throw new InvalidOperationException("UseFileSystem was already called on this server");
                _asyncFileSystem = new AsyncFileSystemAdapter(this, factory);
            }
            _asyncFileSystem.Install();
        }

        /// <summary>One asynchronous file system object for every session (it must be thread-safe).</summary>
        public void UseAsyncFileSystem(IAsyncSftpFileSystem shared)
        {
            if (shared == null)
                throw new ArgumentNullException(nameof(shared));
            UseAsyncFileSystem(_ => shared);
        }
    }

    /// <summary>
    /// Maps the file events onto <see cref="IAsyncSftpFileSystem"/> (the shared part is
    /// <see cref="FileSystemAdapterBase{TFs, TFile, TListing}"/>): READ/WRITE through the deferred
    /// async handler forms, every other provider call awaited on the server thread.
    /// </summary>
    internal sealed class AsyncFileSystemAdapter
        : FileSystemAdapterBase<IAsyncSftpFileSystem, AsyncFileSystemAdapter.OpenFile, IAsyncEnumerator<SftpFileInfo>>
    {
        internal AsyncFileSystemAdapter(SFTPServer srv, Func<SftpSession, IAsyncSftpFileSystem> factory) : base(srv, factory)
        {
        }

        internal sealed record OpenFile(string Path, IAsyncSftpFile File, bool Append);

        // ---- the provider calls: awaited on the server thread ---------------------------------

        protected override OpenFile Open(IAsyncSftpFileSystem fs, string path, FileOpenMode modes, CancellationToken ct) =>
            new(path, Wait(fs.OpenFileAsync(path, modes, ct)), (modes & FileOpenMode.cfmAppend) != 0);

        protected override string PathOf(OpenFile f) => f.Path;

        protected override void Close(OpenFile f) => Wait(f.File.DisposeAsync());

        protected override bool TrySetLength(OpenFile f, long size, CancellationToken ct)
        {
            Wait(f.File.SetLengthAsync(size, ct));
            return true;
        }

        protected override IAsyncEnumerator<SftpFileInfo> List(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            fs.ListAsync(path, ct).GetAsyncEnumerator(ct);

        protected override bool Next(IAsyncEnumerator<SftpFileInfo> it, out SftpFileInfo info)
        {
            bool more = Wait(it.MoveNextAsync());
            info = more ? it.Current : null!;
            return more;
        }

        protected override void DisposeListing(IAsyncEnumerator<SftpFileInfo> it) => Wait(it.DisposeAsync());

        protected override SftpFileInfo GetInfo(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            Wait(fs.GetInfoAsync(path, ct));
        protected override void SetInfo(IAsyncSftpFileSystem fs, string path, SftpFileChange change, CancellationToken ct) =>
            Wait(fs.SetInfoAsync(path, change, ct));
        protected override void CreateDirectory(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            Wait(fs.CreateDirectoryAsync(path, ct));
        protected override void RemoveDirectory(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            Wait(fs.RemoveDirectoryAsync(path, ct));
        protected override void RemoveFile(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            Wait(fs.RemoveFileAsync(path, ct));
        protected override void Rename(IAsyncSftpFileSystem fs, string oldPath, string newPath, CancellationToken ct) =>
            Wait(fs.RenameAsync(oldPath, newPath, ct));
        protected override void CreateLink(IAsyncSftpFileSystem fs, string linkPath, string targetPath, bool hard, CancellationToken ct) =>
            Wait(fs.CreateLinkAsync(linkPath, targetPath, hard, ct));
        protected override string RealPath(IAsyncSftpFileSystem fs, string path, CancellationToken ct) =>
            Wait(fs.RealPathAsync(path, ct));

        /// <summary>Waits for a provider call on the server thread (no synchronization context: no deadlock).</summary>
        private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

        private static void Wait(ValueTask task)
        {
            if (!task.IsCompletedSuccessfully)
                task.AsTask().GetAwaiter().GetResult();
        }

        protected override OperationStatus Guard(SFTPKitEventArgs e, long connectionId,
                                                 Func<Session, CancellationToken, OperationStatus> body)
        {
            // the awaited provider calls must not post their continuations to a context this thread waits on
            SynchronizationContext? context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                return base.Guard(e, connectionId, body);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }
        }

        protected override void InstallSpecific(SFTPServer s)
        {
            s.OnReadFileAsync = ReadAsync;
            s.OnWriteFileAsync = WriteAsync;
            s.OnFindClose += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                if (st.Listings.TryRemove(e.Handle, out var it))
                    Wait(it.DisposeAsync());
                return OperationStatus.ostOk;
            });
        }

        protected override void Release(Session st)
        {
            // What the client left open is closed (in the background: nothing here may block the
            // thread that ends the session; deferred READ/WRITEs were cancelled already).
            var files = new List<OpenFile>(st.Files.Values);
            var listings = new List<IAsyncEnumerator<SftpFileInfo>>(st.Listings.Values);
            IAsyncSftpFileSystem? fs = st.Fs;
            if (files.Count == 0 && listings.Count == 0 && fs is not (IAsyncDisposable or IDisposable))
                return;
            _ = Task.Run(async () =>
            {
                foreach (OpenFile f in files)
                    await QuietlyAsync(() => f.File.DisposeAsync()).ConfigureAwait(false);
                foreach (var it in listings)
                    await QuietlyAsync(() => it.DisposeAsync()).ConfigureAwait(false);
                if (fs is IAsyncDisposable ad)
                    await QuietlyAsync(() => ad.DisposeAsync()).ConfigureAwait(false);
                else if (fs is IDisposable d)
                    Quietly(d.Dispose);
            });
        }

        private async Task QuietlyAsync(Func<ValueTask> a)
        {
            try
            {
                await a().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _srv.ReportProviderError(ex, "on_disconnect");
            }
        }

        // ---- READ / WRITE: deferred, positional ------------------------------------------------

        private async Task ReadAsync(ReadFileEventArgs e, CancellationToken ct)
        {
            if (!TryFile(e.ConnectionId, e.Handle, out OpenFile? f))
            {
                e.OperationStatus = OperationStatus.ostInvalidParameter;
                return;
            }
            int size = (int)Math.Min(Math.Max(e.Size, 0), SFTPServer.MaxWriteLength);
            // Deferred (the usual case): the provider reads straight into the reply's buffer. Else
            // (a request served inline) a rented buffer and SetClientBuffer.
            DeferredCall? call = SFTPServer.CurrentDeferred(e.ConnectionId, e.Handle);
            byte[]? buffer = call == null ? ArrayPool<byte>.Shared.Rent(Math.Max(size, 1)) : null;
            try
            {
                Memory<byte> room = call != null ? call.ReadBuffer(size) : buffer.AsMemory(0, size);
                int n = await f!.File.ReadAsync(e.Offset, room, ct).ConfigureAwait(false);
                if (n <= 0 && size > 0)
                {
                    e.OperationStatus = OperationStatus.ostEOF;
                    return;
                }
                n = Math.Min(n, size);
                if (call != null)
                    call.ReadDone(n);
                else
                    _srv.SetClientBuffer(e.ConnectionId, e.Handle, room.Span[..n]);
                e.OperationStatus = OperationStatus.ostOk;
            }
            catch (Exception ex) when (ex is not SftpException && !(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                e.OperationStatus = Unexpected(ex, e.EventName);
            }
            finally
            {
                if (buffer != null)
                    ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private async Task WriteAsync(WriteFileEventArgs e, CancellationToken ct)
        {
            if (!TryFile(e.ConnectionId, e.Handle, out OpenFile? f))
            {
                e.OperationStatus = OperationStatus.ostInvalidParameter;
                return;
            }
            // The data is copied out of the request before the first await (the request keeps it
            // until it is completed, but a copy lets the back-end keep it past that).
            byte[] data = _srv.GetClientBuffer(e.ConnectionId, e.Handle);
            try
            {
                await f!.File.WriteAsync(e.Offset, data, ct).ConfigureAwait(false);
                e.OperationStatus = OperationStatus.ostOk;
            }
            catch (Exception ex) when (ex is not SftpException && !(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                e.OperationStatus = Unexpected(ex, e.EventName);
            }
        }

        private bool TryFile(long connectionId, string handle, out OpenFile? f)
        {
            f = null;
            return Of(connectionId) is Session st && st.Files.TryGetValue(handle, out f);
        }
    }
}

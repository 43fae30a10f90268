#nullable enable
using System;
using System.Buffers;
using System.Collections.Concurrent;
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
    /// Maps the file events onto <see cref="IAsyncSftpFileSystem"/>: READ/WRITE through the deferred
    /// async handler forms, everything else awaited on the server thread. Per-session state only.
    /// </summary>
    internal sealed class AsyncFileSystemAdapter
    {
        private const int EntriesPerEvent = 128;

        private readonly SFTPServer _srv;
        private readonly Func<SftpSession, IAsyncSftpFileSystem> _factory;
        private readonly ConcurrentDictionary<long, Session> _sessions = new();

        internal AsyncFileSystemAdapter(SFTPServer srv, Func<SftpSession, IAsyncSftpFileSystem> factory)
        {
            _srv = srv;
            _factory = factory;
        }

        private sealed class Session
        {
            internal readonly long Id;
            internal string Address = "";
            internal int Port;
            internal string User = "";
            internal IAsyncSftpFileSystem? Fs;
            // cancelled when the session ends: the token of the methods awaited on the server thread
            internal readonly CancellationTokenSource Ended = new();
            internal readonly ConcurrentDictionary<string, OpenFile> Files = new(StringComparer.Ordinal);
            internal readonly ConcurrentDictionary<string, IAsyncEnumerator<SftpFileInfo>> Listings = new(StringComparer.Ordinal);
            internal OperationStatus? LinkFailure;

            internal Session(long id) => Id = id;
        }

        private sealed record OpenFile(string Path, IAsyncSftpFile File, bool Append);

        internal void Install()
        {
            SFTPServer s = _srv;
            s.OnConnect += (_, e) =>
            {
                Session st = SessionOf(e.ConnectionId);
                st.Address = e.RemoteAddress;
                st.Port = (int)e.RemotePort;
            };
            s.OnAuthSucceeded += (_, e) => SessionOf(e.ConnectionId).User = e.Username;
            s.OnDisconnect += (_, e) => EndSession(e.ConnectionId);

            s.OnBeforeDownloadFile += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeUploadFile += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeFind += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeRequestAttributes += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeSetAttributes += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeRemove += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeRenameFile += (_, e) => e.Action = FileRequestAction.fraCustom;
            s.OnBeforeCreateDirectory += (_, e) => e.Action = FileRequestAction.fraCustom;

            s.OnOpenFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                IAsyncSftpFile file = Wait(FsOf(st).OpenFileAsync(e.Path, e.Modes, ct));
                if (!st.Files.TryAdd(e.Handle, new OpenFile(e.Path, file, (e.Modes & FileOpenMode.cfmAppend) != 0)))
                {
                    Wait(file.DisposeAsync());
                    throw new InvalidOperationException("duplicate handle " + e.Handle);
                }
                return OperationStatus.ostOk;
            });
            s.OnReadFileAsync = ReadAsync;
            s.OnWriteFileAsync = WriteAsync;
            s.OnCloseFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                if (!st.Files.TryRemove(e.Handle, out OpenFile? f))
                    throw new SftpException(OperationStatus.ostInvalidParameter, "not an open file: " + e.Handle);
                Wait(f.File.DisposeAsync()); // an upload's commit; its failure is CLOSE's status
                return OperationStatus.ostOk;
            });
            s.OnFindFirst += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                IAsyncEnumerator<SftpFileInfo> it = FsOf(st).ListAsync(e.Path, ct).GetAsyncEnumerator(ct);
                if (!st.Listings.TryAdd(e.Handle, it))
                {
                    Wait(it.DisposeAsync());
                    throw new InvalidOperationException("duplicate handle " + e.Handle);
                }
                OperationStatus first = NextEntries(st, e.Handle);
                if (first != OperationStatus.ostOk && st.Listings.TryRemove(e.Handle, out var gone))
                    Wait(gone.DisposeAsync()); // no on_find_close follows a failure or an empty directory
                return first;
            });
            s.OnFindNext += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) => NextEntries(st, e.Handle));
            s.OnFindClose += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                if (st.Listings.TryRemove(e.Handle, out var it))
                    Wait(it.DisposeAsync());
                return OperationStatus.ostOk;
            });
            s.OnRequestAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                string path = !string.IsNullOrEmpty(e.Handle) && st.Files.TryGetValue(e.Handle, out OpenFile? f) ? f.Path : e.Path;
                FileSystemAdapter.CommitEntry(_srv, st.Id, e.Handle, Wait(FsOf(st).GetInfoAsync(path, ct)));
                return OperationStatus.ostOk;
            });
            s.OnSetAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                SftpFileChange change = FileSystemAdapter.ReadChange(_srv, st.Id, e.Handle);
                OpenFile? f = null;
                if (!string.IsNullOrEmpty(e.Handle))
                    st.Files.TryGetValue(e.Handle, out f);
                if (f != null && change.Length is long size)
                {
                    Wait(f.File.SetLengthAsync(size, ct));
                    change = change with { Length = null };
                    if (change == new SftpFileChange())
                        return OperationStatus.ostOk;
                }
                Wait(FsOf(st).SetInfoAsync(f != null ? f.Path : e.Path, change, ct));
                return OperationStatus.ostOk;
            });
            s.OnRemove += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                IAsyncSftpFileSystem fs = FsOf(st);
                if (Wait(fs.GetInfoAsync(e.Path, ct)).IsDirectory)
                    Wait(fs.RemoveDirectoryAsync(e.Path, ct));
                else
                    Wait(fs.RemoveFileAsync(e.Path, ct));
                return OperationStatus.ostOk;
            });
            s.OnRenameFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                Wait(FsOf(st).RenameAsync(e.OldPath, e.NewPath, ct));
                return OperationStatus.ostOk;
            });
            s.OnCreateDirectory += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                Wait(FsOf(st).CreateDirectoryAsync(e.Path, ct));
                return OperationStatus.ostOk;
            });
            s.OnBeforeCreateLink += (_, e) =>
            {
                e.Action = FileRequestAction.fraCustom;
                OperationStatus result = Guard(e, e.ConnectionId, (st, ct) =>
                {
                    Wait(FsOf(st).CreateLinkAsync(e.LinkPath, e.TargetPath, e.HardLink, ct));
                    return OperationStatus.ostOk;
                });
                SessionOf(e.ConnectionId).LinkFailure = result == OperationStatus.ostOk ? null : result;
            };
            s.OnAfterCreateLink += (_, e) =>
            {
                if (_sessions.TryGetValue(e.ConnectionId, out Session? st) && st.LinkFailure is OperationStatus failed)
                {
                    e.OperationStatus = failed;
                    st.LinkFailure = null;
                }
            };
            s.OnTranslatePath += (_, e) =>
            {
                string? answer = null;
                OperationStatus result = Guard(e, e.ConnectionId, (st, ct) =>
                {
                    answer = Wait(FsOf(st).RealPathAsync(e.Path, ct));
                    return OperationStatus.ostOk;
                });
                e.Action = FileRequestAction.fraCustom;
                e.AbsolutePath = result == OperationStatus.ostOk ? answer ?? "" : "";
            };
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
            return _sessions.TryGetValue(connectionId, out Session? st) && st.Files.TryGetValue(handle, out f);
        }

        private OperationStatus Unexpected(Exception ex, string eventName)
        {
            _srv.ReportProviderError(ex, eventName); // logged; the client gets the standard text
            return FileSystemAdapter.StatusOf(ex);
        }

        // ---- the other requests: awaited on the server thread ---------------------------------

        /// <summary>Waits for a provider call on the server thread (no synchronization context: no deadlock).</summary>
        private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

        private static void Wait(ValueTask task)
        {
            if (!task.IsCompletedSuccessfully)
                task.AsTask().GetAwaiter().GetResult();
        }

        private OperationStatus Guard(SFTPKitEventArgs e, long connectionId, Func<Session, CancellationToken, OperationStatus> body)
        {
            SynchronizationContext? context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                Session st = SessionOf(connectionId);
                return body(st, st.Ended.Token);
            }
            catch (SftpException se)
            {
                try
                {
                    e.SetStatusMessage(se.Message);
                }
                catch (Exception ex) when (ex is SFTPKitException or ArgumentException)
                {
                    // the status stands with its standard text
                }
                return se.Status;
            }
            catch (Exception ex)
            {
                return Unexpected(ex, e.EventName);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }
        }

        private OperationStatus NextEntries(Session st, string handle)
        {
            if (!st.Listings.TryGetValue(handle, out IAsyncEnumerator<SftpFileInfo>? it))
                return OperationStatus.ostEOF;
            int n = 0;
            lock (it)
            {
                while (n < EntriesPerEvent && Wait(it.MoveNextAsync()))
                {
                    FileSystemAdapter.CommitEntry(_srv, st.Id, handle, it.Current);
                    n++;
                }
            }
            return n > 0 ? OperationStatus.ostOk : OperationStatus.ostEOF;
        }

        // ---- sessions ---------------------------------------------------------------------------

        private Session SessionOf(long connectionId) => _sessions.GetOrAdd(connectionId, id => new Session(id));

        private IAsyncSftpFileSystem FsOf(Session st)
        {
            IAsyncSftpFileSystem? fs = Volatile.Read(ref st.Fs);
            if (fs != null)
                return fs;
            lock (st)
            {
                if (st.Fs == null)
                {
                    IAsyncSftpFileSystem made = _factory(new SftpSession(_srv, st.Id, st.User, st.Address, st.Port))
                        ?? throw new InvalidOperationException("the file system factory returned null");
                    Volatile.Write(ref st.Fs, made);
                }
                return st.Fs;
            }
        }

        private void EndSession(long connectionId)
        {
            if (!_sessions.TryRemove(connectionId, out Session? st))
                return;
            Quietly(st.Ended.Cancel);
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

        private void Quietly(Action a)
        {
            try
            {
                a();
            }
            catch (Exception ex)
            {
                _srv.ReportProviderError(ex, "on_disconnect");
            }
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
    }
}

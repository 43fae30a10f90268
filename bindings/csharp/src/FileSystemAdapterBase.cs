#nullable enable
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace SFTPKit
{
    /// <summary>
    /// What <see cref="FileSystemAdapter"/> (Stream-based provider) and
    /// <see cref="AsyncFileSystemAdapter"/> (positional async provider) share: per-session state
    /// (a <see cref="Session"/> per connection id: its file system object, open files, listings),
    /// the events that route every request to the provider, error mapping and READDIR paging. A
    /// subclass says how one provider call is made (the primitives below: a direct call, or a
    /// ValueTask awaited on the server thread) and installs READ/WRITE and what else differs.
    /// </summary>
    internal abstract class FileSystemAdapterBase<TFs, TFile, TListing>
        where TFs : class
        where TFile : class
        where TListing : class
    {
        // Entries committed per on_find_first/next call: the engine gathers up to 1024 per READDIR.
        private const int EntriesPerEvent = 128;

        protected readonly SFTPServer _srv;
        private readonly Func<SftpSession, TFs> _factory;
        private readonly ConcurrentDictionary<long, Session> _sessions = new();

        protected FileSystemAdapterBase(SFTPServer srv, Func<SftpSession, TFs> factory)
        {
            _srv = srv;
            _factory = factory;
        }

        protected sealed class Session
        {
            internal readonly long Id;
            internal string Address = "";
            internal int Port;
            internal string User = "";
            internal TFs? Fs;
            // cancelled when the session ends: the token of the provider calls made on the server thread
            internal readonly CancellationTokenSource Ended = new();
            internal readonly CancellationToken EndedToken; // Ended's, taken once: still usable once Ended is disposed
            internal readonly ConcurrentDictionary<string, TFile> Files = new(StringComparer.Ordinal);
            internal readonly ConcurrentDictionary<string, TListing> Listings = new(StringComparer.Ordinal);
            internal OperationStatus? LinkFailure; // on_before_create_link's outcome for on_after_create_link

            internal Session(long id)
            {
                Id = id;
                EndedToken = Ended.Token;
            }
        }

        // ---- the provider calls, one per request kind ------------------------------------------

        protected abstract TFile Open(TFs fs, string path, FileOpenMode modes, CancellationToken ct);
        protected abstract string PathOf(TFile f);
        /// <summary>CLOSE (and a file opened under a handle already taken): its failure is CLOSE's status.</summary>
        protected abstract void Close(TFile f);
        /// <summary>FSETSTAT with a size on an open file: false when the file cannot (then SETSTAT on its path).</summary>
        protected abstract bool TrySetLength(TFile f, long size, CancellationToken ct);
        /// <summary>FSTAT: the provider's attributes of the open file's path, adjusted by what the open file knows.</summary>
        protected virtual SftpFileInfo InfoOfOpen(TFile f, SftpFileInfo info) => info;

        protected abstract TListing List(TFs fs, string path, CancellationToken ct);
        protected abstract bool Next(TListing it, out SftpFileInfo info);
        protected abstract void DisposeListing(TListing it);

        protected abstract SftpFileInfo GetInfo(TFs fs, string path, CancellationToken ct);
        protected abstract void SetInfo(TFs fs, string path, SftpFileChange change, CancellationToken ct);
        protected abstract void CreateDirectory(TFs fs, string path, CancellationToken ct);
        protected abstract void RemoveDirectory(TFs fs, string path, CancellationToken ct);
        protected abstract void RemoveFile(TFs fs, string path, CancellationToken ct);
        protected abstract void Rename(TFs fs, string oldPath, string newPath, CancellationToken ct);
        protected abstract void CreateLink(TFs fs, string linkPath, string targetPath, bool hard, CancellationToken ct);
        protected abstract string RealPath(TFs fs, string path, CancellationToken ct);

        /// <summary>READ, WRITE, FINDCLOSE: the events whose handling differs between the forms.</summary>
        protected abstract void InstallSpecific(SFTPServer s);

        /// <summary>The session is gone (disconnect): close what the client left open.</summary>
        protected abstract void Release(Session st);

        // ---- the events -------------------------------------------------------------------------

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

            // Who does the work: the provider, for everything.
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
                TFile f = Open(FsOf(st), e.Path, e.Modes, ct);
                string handle = e.Handle;
                if (!st.Files.TryAdd(handle, f))
                {
                    Close(f);
                    throw new InvalidOperationException("duplicate handle " + handle);
                }
                // A handler subscribed after this one may still fail the OPEN: the engine then drops
                // the handle and no on_close_file follows, so the file is closed here.
                e.AfterHandlers = () =>
                {
                    if (e.OperationStatus != OperationStatus.ostOk)
                        Forget(st.Files, handle, f, Close, e.EventName);
                };
                return OperationStatus.ostOk;
            });
            s.OnCloseFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                if (!st.Files.TryRemove(e.Handle, out TFile? f))
                    throw new SftpException(OperationStatus.ostInvalidParameter, "not an open file: " + e.Handle);
                Close(f); // an upload's commit happens here; its failure is CLOSE's status
                return OperationStatus.ostOk;
            });
            s.OnFindFirst += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                TListing it = List(FsOf(st), e.Path, ct);
                string handle = e.Handle;
                if (!st.Listings.TryAdd(handle, it))
                {
                    DisposeListing(it);
                    throw new InvalidOperationException("duplicate handle " + handle);
                }
                // As OPEN's: a later handler's failure (anything but ostOk or ostEOF, which both
                // leave the handle open) ends the listing, since no on_find_close will.
                e.AfterHandlers = () =>
                {
                    if (e.OperationStatus is not (OperationStatus.ostOk or OperationStatus.ostEOF))
                        Forget(st.Listings, handle, it, DisposeListing, e.EventName);
                };
                // ostEOF from on_find_first is an empty directory: nothing more to list (on_find_close
                // comes only at the client's CLOSE), so the listing ends here; a provider's enumerator
                // may hold a connection. A first batch that throws is a failure status (Guard), which
                // AfterHandlers above ends.
                OperationStatus first = NextEntries(st, e.Handle);
                if (first == OperationStatus.ostEOF && st.Listings.TryRemove(e.Handle, out TListing? gone))
                    DisposeListing(gone);
                return first;
            });
            s.OnFindNext += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) => NextEntries(st, e.Handle));
            s.OnRequestAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                SftpFileInfo info;
                if (OpenFileOf(st, e.Handle) is TFile f)
                    info = InfoOfOpen(f, GetInfo(FsOf(st), PathOf(f), ct));
                else
                    info = GetInfo(FsOf(st), e.Path, ct);
                FileSystemAdapterBase.CommitEntry(_srv, st.Id, e.Handle, info);
                return OperationStatus.ostOk;
            });
            s.OnSetAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                SftpFileChange change = FileSystemAdapterBase.ReadChange(_srv, st.Id, e.Handle);
                TFile? f = OpenFileOf(st, e.Handle);
                if (f != null && change.Length is long size && TrySetLength(f, size, ct))
                {
                    change = change with { Length = null }; // FSETSTAT size on an open file: the file's own
                    if (change == new SftpFileChange())
                        return OperationStatus.ostOk;
                }
                SetInfo(FsOf(st), f != null ? PathOf(f) : e.Path, change, ct);
                return OperationStatus.ostOk;
            });
            s.OnRemove += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                // REMOVE and RMDIR share the event: the entry itself says which it is.
                TFs fs = FsOf(st);
                if (GetInfo(fs, e.Path, ct).IsDirectory)
                    RemoveDirectory(fs, e.Path, ct);
                else
                    RemoveFile(fs, e.Path, ct);
                return OperationStatus.ostOk;
            });
            s.OnRenameFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                Rename(FsOf(st), e.OldPath, e.NewPath, ct);
                return OperationStatus.ostOk;
            });
            s.OnCreateDirectory += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, (st, ct) =>
            {
                CreateDirectory(FsOf(st), e.Path, ct);
                return OperationStatus.ostOk;
            });
            // Links: on_before_create_link has only an Action, so the provider runs there (fraCustom:
            // "the application made the link") and its failure status is given in on_after_create_link.
            s.OnBeforeCreateLink += (_, e) =>
            {
                e.Action = FileRequestAction.fraCustom;
                OperationStatus result = Guard(e, e.ConnectionId, (st, ct) =>
                {
                    CreateLink(FsOf(st), e.LinkPath, e.TargetPath, e.HardLink, ct);
                    return OperationStatus.ostOk;
                });
                if (Of(e.ConnectionId) is Session ses)
                    ses.LinkFailure = result == OperationStatus.ostOk ? null : result;
            };
            s.OnAfterCreateLink += (_, e) =>
            {
                if (Of(e.ConnectionId) is Session ses && ses.LinkFailure is OperationStatus failed)
                {
                    e.OperationStatus = failed;
                    ses.LinkFailure = null;
                }
            };
            s.OnTranslatePath += (_, e) =>
            {
                string? answer = null;
                OperationStatus result = Guard(e, e.ConnectionId, (st, ct) =>
                {
                    answer = RealPath(FsOf(st), e.Path, ct);
                    return OperationStatus.ostOk;
                });
                e.Action = FileRequestAction.fraCustom;
                e.AbsolutePath = result == OperationStatus.ostOk ? answer ?? "" : ""; // "": no such file
            };
            InstallSpecific(s);
        }

        // ---- sessions ---------------------------------------------------------------------------

        protected Session? Of(long connectionId) =>
            _sessions.TryGetValue(connectionId, out Session? st) ? st : null;

        protected Session SessionOf(long connectionId) => _sessions.GetOrAdd(connectionId, id => new Session(id));

        private static TFile? OpenFileOf(Session st, string? handle) =>
            !string.IsNullOrEmpty(handle) && st.Files.TryGetValue(handle, out TFile? f) ? f : null;

        protected TFs FsOf(Session st)
        {
            TFs? fs = Volatile.Read(ref st.Fs);
            if (fs != null)
                return fs;
            lock (st)
            {
                if (st.Fs == null)
                {
                    TFs made = _factory(new SftpSession(_srv, st.Id, st.User, st.Address, st.Port))
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
            Release(st);
            Quietly(st.Ended.Dispose); // cancelled first: a token still held sees the cancellation
        }

        /// <summary>
        /// Drops what was stored under handle for a request that failed after the adapter served
        /// it (<see cref="SFTPKitEventArgs.AfterHandlers"/>), and closes it; only that object, in
        /// case the handle was taken again meanwhile.
        /// </summary>
        private void Forget<T>(ConcurrentDictionary<string, T> stored, string handle, T item, Action<T> close, string eventName)
            where T : class
        {
            if (!stored.TryRemove(new KeyValuePair<string, T>(handle, item)))
                return;
            // as in Guard: the async adapter waits for the provider here
            SynchronizationContext? context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                close(item);
            }
            catch (Exception ex)
            {
                _srv.ReportProviderError(ex, eventName);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }
        }

        protected void Quietly(Action a)
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

        // ---- errors: the provider's exception -> the client's status and text ------------------

        /// <summary>Runs a request's provider work on the server thread; a failure becomes its status.</summary>
        protected virtual OperationStatus Guard(SFTPKitEventArgs e, long connectionId,
                                                Func<Session, CancellationToken, OperationStatus> body)
        {
            try
            {
                Session st = SessionOf(connectionId);
                return body(st, st.EndedToken);
            }
            catch (Exception ex)
            {
                return Fail(e, ex);
            }
        }

        protected OperationStatus Fail(SFTPKitEventArgs e, Exception ex)
        {
            if (ex is SftpException se)
            {
                TrySetMessage(e, se.Message);
                return se.Status;
            }
            return Unexpected(ex, e.EventName);
        }

        /// <summary>An exception that is not an SftpException: logged, the client gets the standard text.</summary>
        protected OperationStatus Unexpected(Exception ex, string eventName)
        {
            _srv.ReportProviderError(ex, eventName);
            return FileSystemAdapterBase.StatusOf(ex);
        }

        private static void TrySetMessage(SFTPKitEventArgs e, string message)
        {
            try
            {
                e.SetStatusMessage(message);
            }
            catch (Exception ex) when (ex is SFTPKitException or ArgumentException)
            {
                // a text with a NUL, or the event already gone: the status stands with its standard text
            }
        }

        // ---- listings ---------------------------------------------------------------------------

        protected OperationStatus NextEntries(Session st, string handle)
        {
            if (!st.Listings.TryGetValue(handle, out TListing? it))
                return OperationStatus.ostEOF;
            int n = 0;
            lock (it)
            {
                while (n < EntriesPerEvent && Next(it, out SftpFileInfo info))
                {
                    FileSystemAdapterBase.CommitEntry(_srv, st.Id, handle, info);
                    n++;
                }
            }
            return n > 0 ? OperationStatus.ostOk : OperationStatus.ostEOF;
        }
    }

    /// <summary>The adapters' helpers that depend on no provider form: statuses and attribute mapping.</summary>
    internal static class FileSystemAdapterBase
    {
        /// <summary>The status an unexpected exception of a provider answers with.</summary>
        internal static OperationStatus StatusOf(Exception ex)
        {
            return ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => OperationStatus.ostNoSuchFile,
                UnauthorizedAccessException => OperationStatus.ostAccessDenied,
                NotSupportedException or NotImplementedException => OperationStatus.ostUnsupported,
                _ => SftpException.Failure,
            };
        }

        /// <summary>Fills client_file_entry_* (this handler call's own context) and commits it.</summary>
        internal static void CommitEntry(SFTPServer s, long connectionId, string handle, SftpFileInfo info)
        {
            UnixFileMode mode = info.Permissions ?? (info.IsDirectory
                ? (UnixFileMode)0b111_101_101   // 0755
                : (UnixFileMode)0b110_100_100); // 0644
            s.ClientFileEntryName = info.Name;
            s.ClientFileEntryDirectory = info.IsDirectory;
            s.ClientFileEntryFileType = info.IsDirectory ? FileType.cftDirectory : FileType.cftFile;
            s.ClientFileEntrySize = info.Length;
            s.ClientFileEntryMTime = info.LastWriteTime;
            s.ClientFileEntryATime = info.LastAccessTime ?? info.LastWriteTime;
            s.ClientFileEntryUserRead = (mode & UnixFileMode.UserRead) != 0;
            s.ClientFileEntryUserWrite = (mode & UnixFileMode.UserWrite) != 0;
            s.ClientFileEntryUserExecute = (mode & UnixFileMode.UserExecute) != 0;
            s.ClientFileEntryGroupRead = (mode & UnixFileMode.GroupRead) != 0;
            s.ClientFileEntryGroupWrite = (mode & UnixFileMode.GroupWrite) != 0;
            s.ClientFileEntryGroupExecute = (mode & UnixFileMode.GroupExecute) != 0;
            s.ClientFileEntryOtherRead = (mode & UnixFileMode.OtherRead) != 0;
            s.ClientFileEntryOtherWrite = (mode & UnixFileMode.OtherWrite) != 0;
            s.ClientFileEntryOtherExecute = (mode & UnixFileMode.OtherExecute) != 0;
            s.ClientFileEntryOwner = info.Owner ?? "";
            s.ClientFileEntryLongName = "";
            s.SetClientFileEntry(connectionId, handle);
        }

        /// <summary>The change a SETSTAT asks for, read through get_client_file_entry.</summary>
        internal static SftpFileChange ReadChange(SFTPServer s, long connectionId, string handle)
        {
            s.GetClientFileEntry(connectionId, handle);
            long size = s.ClientFileEntrySize;
            UnixFileMode? perms = null;
            bool any = s.ClientFileEntryUserRead || s.ClientFileEntryUserWrite || s.ClientFileEntryUserExecute ||
                       s.ClientFileEntryGroupRead || s.ClientFileEntryGroupWrite || s.ClientFileEntryGroupExecute ||
                       s.ClientFileEntryOtherRead || s.ClientFileEntryOtherWrite || s.ClientFileEntryOtherExecute;
            if (s.ClientFileEntryFileType != FileType.cftUnknown || any)
            {
                UnixFileMode m = 0;
                if (s.ClientFileEntryUserRead) m |= UnixFileMode.UserRead;
                if (s.ClientFileEntryUserWrite) m |= UnixFileMode.UserWrite;
                if (s.ClientFileEntryUserExecute) m |= UnixFileMode.UserExecute;
                if (s.ClientFileEntryGroupRead) m |= UnixFileMode.GroupRead;
                if (s.ClientFileEntryGroupWrite) m |= UnixFileMode.GroupWrite;
                if (s.ClientFileEntryGroupExecute) m |= UnixFileMode.GroupExecute;
                if (s.ClientFileEntryOtherRead) m |= UnixFileMode.OtherRead;
                if (s.ClientFileEntryOtherWrite) m |= UnixFileMode.OtherWrite;
                if (s.ClientFileEntryOtherExecute) m |= UnixFileMode.OtherExecute;
                perms = m;
            }
            return new SftpFileChange
            {
                Length = size >= 0 ? size : null,
                LastWriteTime = s.ClientFileEntryMTime,
                LastAccessTime = s.ClientFileEntryATime,
                Permissions = perms,
            };
        }
    }
}

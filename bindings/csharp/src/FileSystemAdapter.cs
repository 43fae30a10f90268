#nullable enable
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace SFTPKit
{
    public sealed partial class SFTPServer
    {
        private FileSystemAdapter? _fileSystem;

        /// <summary>
        /// Serves every file operation from file system objects the factory makes, one per session
        /// (called on the session's first file request, with the logged-in user and the client's
        /// address). Installs the events itself: every on_before_* answers fraCustom and the custom
        /// events call the object; nothing touches <see cref="BaseDir"/>. Call once, before Start.
        /// The events stay what they are: handlers of your own still run (for example an
        /// OnBeforeDownloadFile that sets fraAbort for a policy, or OnAfter* auditing), and ones
        /// added after this call see the provider's verdicts.
        /// </summary>
        public void UseFileSystem(Func<SftpSession, ISftpFileSystem> factory)
        {
            if (factory == null)
                throw new ArgumentNullException(nameof(factory));
            lock (_eventLock)
            {
                if (_fileSystem != null || _asyncFileSystem != null)
                    throw new InvalidOperationException("UseFileSystem was already called on this server");
                _fileSystem = new FileSystemAdapter(this, factory);
            }
            _fileSystem.Install();
        }

        /// <summary>One file system object for every session (it must be thread-safe).</summary>
        public void UseFileSystem(ISftpFileSystem shared)
        {
            if (shared == null)
                throw new ArgumentNullException(nameof(shared));
            UseFileSystem(_ => shared);
        }

        internal void ReportProviderError(Exception ex, string eventName) => Report(ex, eventName);
    }

    /// <summary>
    /// Maps the document's file events onto <see cref="ISftpFileSystem"/> calls. State is per
    /// session (a <see cref="Session"/> per connection id: its file system object, its open files and
    /// listings), never server-wide, so sessions never see each other's handles.
    /// </summary>
    internal sealed class FileSystemAdapter
    {
        // Entries committed per on_find_first/next call: the engine gathers up to 1024 per READDIR.
        private const int EntriesPerEvent = 128;

        private readonly SFTPServer _srv;
        private readonly Func<SftpSession, ISftpFileSystem> _factory;
        private readonly ConcurrentDictionary<long, Session> _sessions = new();


        internal FileSystemAdapter(SFTPServer srv, Func<SftpSession, ISftpFileSystem> factory)
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
            internal ISftpFileSystem? Fs;
            internal readonly ConcurrentDictionary<string, OpenFile> Files = new(StringComparer.Ordinal);
            internal readonly ConcurrentDictionary<string, IEnumerator<SftpFileInfo>> Listings = new(StringComparer.Ordinal);
            internal OperationStatus? LinkFailure; // on_before_create_link's outcome for on_after_create_link

            internal Session(long id) => Id = id;
        }

        private sealed class OpenFile
        {
            internal readonly string Path;
            internal readonly Stream Stream;
            internal long Position; // for streams that cannot seek: where the next transfer must start
            internal bool AtEnd;    // a read came back short: later reads past Position are EOF

            internal OpenFile(string path, Stream stream)
            {
                Path = path;
                Stream = stream;
            }
        }

        internal void Install()
        {
            SFTPServer s = _srv;
            s.OnConnect += (_, e) =>
            {
                Session st = _sessions.GetOrAdd(e.ConnectionId, id => new Session(id));
                st.Address = e.RemoteAddress;
                st.Port = (int)e.RemotePort;
            };
            s.OnAuthSucceeded += (_, e) => _sessions.GetOrAdd(e.ConnectionId, id => new Session(id)).User = e.Username;
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

            s.OnOpenFile += (_, e) => OnOpen(e);
            s.OnReadFile += (_, e) => OnRead(e);
            s.OnWriteFile += (_, e) => OnWrite(e);
            s.OnCloseFile += (_, e) => OnClose(e);
            s.OnFindFirst += (_, e) => OnFindFirst(e);
            s.OnFindNext += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st => NextEntries(st, e.Handle));
            s.OnFindClose += (_, e) =>
            {
                if (Of(e.ConnectionId) is Session st && st.Listings.TryRemove(e.Handle, out var it))
                    it.Dispose();
                e.OperationStatus = OperationStatus.ostOk;
            };
            s.OnRequestAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                SftpFileInfo info;
                if (!string.IsNullOrEmpty(e.Handle) && st.Files.TryGetValue(e.Handle, out OpenFile? f))
                {
                    info = FsOf(st).GetInfo(f.Path);
                    lock (f)
                    {
                        if (f.Stream.CanSeek) // an upload in progress: its size so far
                            info = info with { Length = f.Stream.Length };
                    }
                }
                else
                {
                    info = FsOf(st).GetInfo(e.Path);
                }
                CommitEntry(_srv, st.Id, e.Handle, info);
                return OperationStatus.ostOk;
            });
            s.OnSetAttributes += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                SftpFileChange change = ReadChange(_srv, st.Id, e.Handle);
                OpenFile? f = null;
                if (!string.IsNullOrEmpty(e.Handle))
                    st.Files.TryGetValue(e.Handle, out f);
                if (f != null && change.Length is long size && f.Stream.CanSeek)
                {
                    lock (f)
                        f.Stream.SetLength(size); // FSETSTAT size on an open file: its stream
                    change = change with { Length = null };
                    if (change == new SftpFileChange())
                        return OperationStatus.ostOk;
                }
                FsOf(st).SetInfo(f != null ? f.Path : e.Path, change);
                return OperationStatus.ostOk;
            });
            s.OnRemove += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                // REMOVE and RMDIR share the event: the entry itself says which it is.
                ISftpFileSystem fs = FsOf(st);
                if (fs.GetInfo(e.Path).IsDirectory)
                    fs.RemoveDirectory(e.Path);
                else
                    fs.RemoveFile(e.Path);
                return OperationStatus.ostOk;
            });
            s.OnRenameFile += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                FsOf(st).Rename(e.OldPath, e.NewPath);
                return OperationStatus.ostOk;
            });
            s.OnCreateDirectory += (_, e) => e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                FsOf(st).CreateDirectory(e.Path);
                return OperationStatus.ostOk;
            });
            // Links: on_before_create_link has only an Action, so the provider runs there (fraCustom:
            // "the application made the link") and its failure status is given in on_after_create_link.
            s.OnBeforeCreateLink += (_, e) =>
            {
                e.Action = FileRequestAction.fraCustom;
                OperationStatus st = Guard(e, e.ConnectionId, ss =>
                {
                    FsOf(ss).CreateLink(e.LinkPath, e.TargetPath, e.HardLink);
                    return OperationStatus.ostOk;
                });
                if (Of(e.ConnectionId) is Session ses)
                    ses.LinkFailure = st == OperationStatus.ostOk ? null : st;
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
                OperationStatus st = Guard(e, e.ConnectionId, ss =>
                {
                    answer = FsOf(ss).RealPath(e.Path);
                    return OperationStatus.ostOk;
                });
                e.Action = FileRequestAction.fraCustom;
                e.AbsolutePath = st == OperationStatus.ostOk ? answer ?? "" : ""; // "": no such file
            };
        }

        // ---- sessions ---------------------------------------------------------------------------

        private Session? Of(long connectionId) =>
            _sessions.TryGetValue(connectionId, out Session? st) ? st : null;

        private Session SessionOf(long connectionId) => _sessions.GetOrAdd(connectionId, id => new Session(id));

        private ISftpFileSystem FsOf(Session st)
        {
            ISftpFileSystem? fs = Volatile.Read(ref st.Fs);
            if (fs != null)
                return fs;
            lock (st)
            {
                if (st.Fs == null)
                {
                    ISftpFileSystem made = _factory(new SftpSession(_srv, st.Id, st.User, st.Address, st.Port))
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
            // What the client left open is closed (an upload cut off still ends its stream).
            foreach (var f in st.Files.Values)
                Quietly(() => f.Stream.Dispose(), "on_disconnect");
            foreach (var it in st.Listings.Values)
                Quietly(it.Dispose, "on_disconnect");
            if (st.Fs is IDisposable d)
                Quietly(d.Dispose, "on_disconnect");
        }

        private void Quietly(Action a, string eventName)
        {
            try
            {
                a();
            }
            catch (Exception ex)
            {
                _srv.ReportProviderError(ex, eventName);
            }
        }

        // ---- errors: the provider's exception -> the client's status and text ------------------

        private OperationStatus Guard(SFTPKitEventArgs e, long connectionId, Func<Session, OperationStatus> body)
        {
            try
            {
                return body(SessionOf(connectionId));
            }
            catch (Exception ex)
            {
                return Fail(e, ex);
            }
        }

        private OperationStatus Fail(SFTPKitEventArgs e, Exception ex)
        {
            if (ex is SftpException se)
            {
                TrySetMessage(e, se.Message);
                return se.Status;
            }
            _srv.ReportProviderError(ex, e.EventName); // unexpected: logged, the client gets the standard text
            return StatusOf(ex);
        }

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

        private void TrySetMessage(SFTPKitEventArgs e, string message)
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

        // ---- files ------------------------------------------------------------------------------

        private void OnOpen(OpenFileEventArgs e)
        {
            e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                Stream stream = FsOf(st).OpenFile(e.Path, e.Modes);
                var f = new OpenFile(e.Path, stream);
                if ((e.Modes & FileOpenMode.cfmAppend) != 0 && stream.CanSeek)
                    f.Position = stream.Length;
                if (!st.Files.TryAdd(e.Handle, f))
                {
                    stream.Dispose();
                    throw new InvalidOperationException("duplicate handle " + e.Handle);
                }
                return OperationStatus.ostOk;
            });
        }

        private void OnRead(ReadFileEventArgs e)
        {
            try
            {
                Session st = SessionOf(e.ConnectionId);
                if (!st.Files.TryGetValue(e.Handle, out OpenFile? f))
                    throw new SftpException(OperationStatus.ostInvalidParameter, "not an open file: " + e.Handle);
                // The stream reads into this thread's buffer, which then goes into the reply: one
                // copy, no allocation per event.
                Span<byte> room = Scratch();
                if (room.Length > e.Size)
                    room = room[..(int)e.Size];
                int n;
                lock (f)
                {
                    AwaitTurn(f, e.Offset);
                    if (!f.Stream.CanSeek && f.AtEnd && e.Offset >= f.Position)
                    {
                        // clients read ahead past the end of a file: those are EOF, not out-of-order
                        e.OperationStatus = OperationStatus.ostEOF;
                        return;
                    }
                    Seek(f, e.Offset);
                    n = ReadFully(f.Stream, room);
                    f.Position = e.Offset + n;
                    f.AtEnd = n < room.Length;
                    Monitor.PulseAll(f); // the read of the next offset may be waiting (AwaitTurn)
                }
                if (n == 0 && room.Length > 0)
                {
                    e.OperationStatus = OperationStatus.ostEOF;
                    return;
                }
                _srv.SetClientBuffer(e.ConnectionId, null, (ReadOnlySpan<byte>)room[..n]);
                e.OperationStatus = OperationStatus.ostOk;
            }
            catch (Exception ex)
            {
                e.OperationStatus = Fail(e, ex);
            }
        }

        private void OnWrite(WriteFileEventArgs e)
        {
            try
            {
                Session st = SessionOf(e.ConnectionId);
                if (!st.Files.TryGetValue(e.Handle, out OpenFile? f))
                    throw new SftpException(OperationStatus.ostInvalidParameter, "not an open file: " + e.Handle);
                Span<byte> scratch = Scratch();
                ReadOnlySpan<byte> data = scratch[.._srv.GetClientBuffer(e.ConnectionId, null, scratch)]; // no allocation
                lock (f)
                {
                    Seek(f, e.Offset);
                    f.Stream.Write(data);
                    f.Position = e.Offset + data.Length;
                }
                e.OperationStatus = OperationStatus.ostOk;
            }
            catch (Exception ex)
            {
                e.OperationStatus = Fail(e, ex);
            }
        }

        // One buffer per server thread for READ and WRITE data (a request's data never outlives its
        // handler call, and one thread runs one handler at a time).
        [ThreadStatic]
        private static byte[]? t_scratch;

        private static Span<byte> Scratch() => t_scratch ??= GC.AllocateUninitializedArray<byte>(SFTPServer.MaxWriteLength);

        // READs of one handle run in parallel on the server's worker threads (config WorkerThreads)
        // and may reach a sequential stream out of order: a read waits, bounded, until the reads
        // before it are done. The pool takes requests in arrival order, so for a client that reads
        // in order the read it waits for is already running.
        private static readonly TimeSpan TurnTimeout = TimeSpan.FromSeconds(10);

        private static void AwaitTurn(OpenFile f, long offset)
        {
            if (f.Stream.CanSeek)
                return;
            var deadline = DateTime.UtcNow + TurnTimeout;
            while (!f.AtEnd && f.Position < offset)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(f, left))
                    return; // Seek then reports the gap
            }
        }

        private static void Seek(OpenFile f, long offset)
        {
            if (f.Stream.CanSeek)
            {
                if (f.Stream.Position != offset)
                    f.Stream.Position = offset;
            }
            else if (offset != f.Position)
            {
                throw new SftpException(OperationStatus.ostUnsupported,
                    $"this file is sequential: the transfer is at {f.Position}, the request at {offset}");
            }
        }

        private static int ReadFully(Stream stream, Span<byte> room)
        {
            int total = 0;
            while (total < room.Length)
            {
                int n = stream.Read(room[total..]);
                if (n <= 0)
                    break;
                total += n;
            }
            return total;
        }

        private void OnClose(CloseFileEventArgs e)
        {
            e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                if (!st.Files.TryRemove(e.Handle, out OpenFile? f))
                    throw new SftpException(OperationStatus.ostInvalidParameter, "not an open file: " + e.Handle);
                lock (f)
                    f.Stream.Dispose(); // an upload's commit happens here; its failure is CLOSE's status
                return OperationStatus.ostOk;
            });
        }

        // ---- listings and attributes -----------------------------------------------------------

        private void OnFindFirst(FindFirstEventArgs e)
        {
            e.OperationStatus = Guard(e, e.ConnectionId, st =>
            {
                IEnumerator<SftpFileInfo> it = FsOf(st).List(e.Path).GetEnumerator();
                if (!st.Listings.TryAdd(e.Handle, it))
                {
                    it.Dispose();
                    throw new InvalidOperationException("duplicate handle " + e.Handle);
                }
                // ostEOF from on_find_first is an empty directory; no on_find_close follows a failure.
                OperationStatus first = NextEntries(st, e.Handle);
                if (first != OperationStatus.ostOk && st.Listings.TryRemove(e.Handle, out var gone) &&
                    first != OperationStatus.ostEOF)
                    gone.Dispose();
                return first;
            });
        }

        private OperationStatus NextEntries(Session st, string handle)
        {
            if (!st.Listings.TryGetValue(handle, out IEnumerator<SftpFileInfo>? it))
                return OperationStatus.ostEOF;
            int n = 0;
            lock (it)
            {
                while (n < EntriesPerEvent && it.MoveNext())
                {
                    CommitEntry(_srv, st.Id, handle, it.Current);
                    n++;
                }
            }
            return n > 0 ? OperationStatus.ostOk : OperationStatus.ostEOF;
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

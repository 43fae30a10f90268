#nullable enable
using System;
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
    /// Maps the document's file events onto <see cref="ISftpFileSystem"/> calls (the shared part is
    /// <see cref="FileSystemAdapterBase{TFs, TFile, TListing}"/>): here, what Streams need (one
    /// request at a time per stream, a position to seek to, sequential streams served in order).
    /// </summary>
    internal sealed class FileSystemAdapter : FileSystemAdapterBase<ISftpFileSystem, FileSystemAdapter.OpenFile, IEnumerator<SftpFileInfo>>
    {
        internal FileSystemAdapter(SFTPServer srv, Func<SftpSession, ISftpFileSystem> factory) : base(srv, factory)
        {
        }

        internal sealed class OpenFile
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

        // ---- the provider calls: direct ---------------------------------------------------------

        protected override OpenFile Open(ISftpFileSystem fs, string path, FileOpenMode modes, CancellationToken ct)
        {
            Stream stream = fs.OpenFile(path, modes);
            var f = new OpenFile(path, stream);
            try
            {
                if ((modes & FileOpenMode.cfmAppend) != 0 && stream.CanSeek)
                    f.Position = stream.Length;
            }
            catch
            {
                stream.Dispose(); // the OPEN fails: nothing will close it later
                throw;
            }
            return f;
        }

        protected override string PathOf(OpenFile f) => f.Path;

        protected override void Close(OpenFile f)
        {
            lock (f)
                f.Stream.Dispose();
        }

        protected override bool TrySetLength(OpenFile f, long size, CancellationToken ct)
        {
            if (!f.Stream.CanSeek)
                return false;
            lock (f)
                f.Stream.SetLength(size); // FSETSTAT size on an open file: its stream
            return true;
        }

        protected override SftpFileInfo InfoOfOpen(OpenFile f, SftpFileInfo info)
        {
            lock (f)
            {
                if (f.Stream.CanSeek) // an upload in progress: its size so far
                    info = info with { Length = f.Stream.Length };
            }
            return info;
        }

        protected override IEnumerator<SftpFileInfo> List(ISftpFileSystem fs, string path, CancellationToken ct) =>
            fs.List(path).GetEnumerator();

        protected override bool Next(IEnumerator<SftpFileInfo> it, out SftpFileInfo info)
        {
            bool more = it.MoveNext();
            info = more ? it.Current : null!;
            return more;
        }

        protected override void DisposeListing(IEnumerator<SftpFileInfo> it) => it.Dispose();

        protected override SftpFileInfo GetInfo(ISftpFileSystem fs, string path, CancellationToken ct) => fs.GetInfo(path);
        protected override void SetInfo(ISftpFileSystem fs, string path, SftpFileChange change, CancellationToken ct) => fs.SetInfo(path, change);
        protected override void CreateDirectory(ISftpFileSystem fs, string path, CancellationToken ct) => fs.CreateDirectory(path);
        protected override void RemoveDirectory(ISftpFileSystem fs, string path, CancellationToken ct) => fs.RemoveDirectory(path);
        protected override void RemoveFile(ISftpFileSystem fs, string path, CancellationToken ct) => fs.RemoveFile(path);
        protected override void Rename(ISftpFileSystem fs, string oldPath, string newPath, CancellationToken ct) => fs.Rename(oldPath, newPath);
        protected override void CreateLink(ISftpFileSystem fs, string linkPath, string targetPath, bool hard, CancellationToken ct) =>
            fs.CreateLink(linkPath, targetPath, hard);
        protected override string RealPath(ISftpFileSystem fs, string path, CancellationToken ct) => fs.RealPath(path);

        protected override void InstallSpecific(SFTPServer s)
        {
            s.OnReadFile += (_, e) => OnRead(e);
            s.OnWriteFile += (_, e) => OnWrite(e);
            s.OnFindClose += (_, e) =>
            {
                if (Of(e.ConnectionId) is Session st && st.Listings.TryRemove(e.Handle, out var it))
                    it.Dispose();
                e.OperationStatus = OperationStatus.ostOk;
            };
        }

        protected override void Release(Session st)
        {
            // What the client left open is closed (an upload cut off still ends its stream).
            foreach (var f in st.Files.Values)
                Quietly(() => f.Stream.Dispose());
            foreach (var it in st.Listings.Values)
                Quietly(it.Dispose);
            if (st.Fs is IDisposable d)
                Quietly(d.Dispose);
        }

        // ---- READ / WRITE: through the stream, on the server thread ---------------------------

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
                if (f.Stream is IPositionalRead positional)
                {
                    n = positional.ReadAt(e.Offset, room); // no shared position: READs of the file overlap
                }
                else lock (f)
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
    }
}

#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;

namespace SFTPKit
{
    /// <summary>
    /// A file system in memory, thread-safe, for tests, demos and as a starting point: share one
    /// instance between sessions (<c>srv.UseFileSystem(new MemoryFileSystem())</c>) or make one per
    /// user in the factory. Files opened for writing are visible to readers as they are written.
    /// What a client can make it hold is capped by <see cref="MaxTotalBytes"/> (a hostile client must
    /// not be able to fill the server's memory): the quota counts every file's length (holes
    /// included) and every file and directory at 512 bytes plus the UTF-8 length of its name (the
    /// last path component; the root is free), so endless MKDIRs or empty files run into it too.
    /// A write, a size change, a create (OPEN, MKDIR) or a rename to a longer name past the quota
    /// fails with "quota exceeded" and changes nothing; removing an entry gives its bytes back.
    /// </summary>
    public partial class MemoryFileSystem : ISftpFileSystem
    {
        private readonly object _lock = new();
        private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
        private long _totalBytes;
        private readonly PagePool _spare;

        // Spare pages kept for reuse (PagePool): at most this much, and never more than the quota.
        private const long SpareBytes = 128L << 20;

        // What a file or directory costs beyond its data (with its name's UTF-8 bytes): about what
        // its node, page table and tree entry hold, so entries without data are not free. The
        // Java and Python stores charge the same.
        private const int EntryOverhead = 512;

        /// <summary>An empty file system (just "/"), holding at most <paramref name="maxTotalBytes"/> bytes (see <see cref="MaxTotalBytes"/>).</summary>
        public MemoryFileSystem(long maxTotalBytes = 1L << 30)
        {
            MaxTotalBytes = maxTotalBytes;
            _spare = new PagePool((int)(Math.Clamp(maxTotalBytes, 0, SpareBytes) / PagedBytes.PageSize));
            _nodes["/"] = new Node(true, _spare);
        }

        /// <summary>The quota: the most bytes the file system holds, file data (every file's length) and
        /// entries (each file and directory: 512 bytes plus the UTF-8 length of its name) together.</summary>
        public long MaxTotalBytes { get; }

        /// <summary>Bytes charged against <see cref="MaxTotalBytes"/> now: file lengths plus entry costs.</summary>
        public long TotalBytes => Interlocked.Read(ref _totalBytes);

        // What the entry (file or directory) at path costs against the quota beyond its data.
        private static long EntryCost(string path) => EntryOverhead + Encoding.UTF8.GetByteCount(SftpPath.Name(path));

        private sealed class Node
        {
            internal readonly bool IsDirectory;
            internal readonly PagedBytes Data; // its Length is the file's size
            internal DateTimeOffset MTime = DateTimeOffset.UtcNow, ATime = DateTimeOffset.UtcNow;
            internal UnixFileMode Mode;
            // Out of the tree (RemoveFile; under the node's lock): its bytes went back to the quota,
            // and handles still open can no longer write or resize it, which would charge the quota
            // for a file nobody can reach and never give it back.
            internal bool Removed;

            internal Node(bool dir, PagePool pool)
            {
                IsDirectory = dir;
                Data = new PagedBytes(pool);
                Mode = dir ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100;
            }
        }

        // ---- convenience for the application ------------------------------------------------

        /// <summary>Creates or replaces a file (parent directories are created).</summary>
        public void WriteAllBytes(string path, ReadOnlySpan<byte> data)
        {
            path = SftpPath.Normalize(path);
            lock (_lock)
            {
                EnsureDirectories(SftpPath.Parent(path));
                if (_nodes.TryGetValue(path, out Node? n) && n.IsDirectory)
                    throw new SftpException(SftpException.Failure, "is a directory: " + path);
                n ??= AddNode(path, false);
                lock (n)
                {
                    SetLength(n, 0);
                    WriteAt(n, 0, data);
                }
            }
        }

        /// <summary>The content of a file (a copy).</summary>
        public byte[] ReadAllBytes(string path)
        {
            Node n = Get(SftpPath.Normalize(path));
            if (n.IsDirectory)
                throw new SftpException(SftpException.Failure, "is a directory: " + path);
            lock (n)
                return n.Data.ToArray();
        }

        /// <summary>Whether a file or directory exists.</summary>
        public bool Exists(string path)
        {
            lock (_lock)
                return _nodes.ContainsKey(SftpPath.Normalize(path));
        }

        private void EnsureDirectories(string dir)
        {
            if (_nodes.TryGetValue(dir, out Node? n))
            {
                if (!n.IsDirectory)
                    throw new SftpException(SftpException.Failure, "not a directory: " + dir);
                return;
            }
            EnsureDirectories(SftpPath.Parent(dir));
            AddNode(dir, true);
        }

        // ---- ISftpFileSystem --------------------------------------------------------------------

        /// <inheritdoc/>
        public virtual Stream OpenFile(string path, FileOpenMode mode) =>
            new NodeStream(this, OpenNode(path, mode, out bool write), write);

        /// <summary>OPEN's checks and effects (create, truncate): the node, and whether it is a write open.</summary>
        private Node OpenNode(string path, FileOpenMode mode, out bool write)
        {
            write = (mode & (FileOpenMode.cfmWrite | FileOpenMode.cfmAppend | FileOpenMode.cfmCreate |
                                  FileOpenMode.cfmTruncate | FileOpenMode.cfmOpenOrCreate)) != 0;
            Node n;
            lock (_lock)
            {
                if (_nodes.TryGetValue(path, out Node? found))
                {
                    if ((mode & FileOpenMode.cfmExcl) != 0 && (mode & FileOpenMode.cfmCreate) != 0)
                        throw new SftpException(SftpException.Failure, "file exists: " + path);
                    if (found.IsDirectory)
                        throw new SftpException(SftpException.Failure, "is a directory: " + path);
                    n = found;
                }
                else
                {
                    if ((mode & (FileOpenMode.cfmCreate | FileOpenMode.cfmOpenOrCreate)) == 0)
                        throw SftpException.NoSuchFile(path);
                    if (!_nodes.TryGetValue(SftpPath.Parent(path), out Node? parent) || !parent.IsDirectory)
                        throw SftpException.NoSuchFile(SftpPath.Parent(path));
                    n = AddNode(path, false);
                }
            }
            if ((mode & FileOpenMode.cfmTruncate) != 0)
                lock (n)
                    SetLength(n, 0);
            return n;
        }

        /// <inheritdoc/>
        public virtual SftpFileInfo GetInfo(string path)
        {
            Node n = Get(path);
            lock (n)
                return Info(SftpPath.Name(path), n);
        }

        /// <inheritdoc/>
        public virtual IEnumerable<SftpFileInfo> List(string path)
        {
            List<SftpFileInfo> entries;
            lock (_lock)
            {
                if (!_nodes.TryGetValue(path, out Node? dir))
                    throw SftpException.NoSuchFile(path);
                if (!dir.IsDirectory)
                    throw new SftpException(SftpException.Failure, "not a directory: " + path);
                // a snapshot: the listing does not change under the client while it reads it
                entries = ChildrenOf(path).Select(kv => Info(SftpPath.Name(kv.Key), kv.Value)).ToList();
            }
            return entries;
        }

        /// <inheritdoc/>
        public virtual void CreateDirectory(string path)
        {
            lock (_lock)
            {
                if (_nodes.ContainsKey(path))
                    throw new SftpException(SftpException.Failure, "exists: " + path);
                if (!_nodes.TryGetValue(SftpPath.Parent(path), out Node? parent) || !parent.IsDirectory)
                    throw SftpException.NoSuchFile(SftpPath.Parent(path));
                AddNode(path, true);
            }
        }

        /// <inheritdoc/>
        public virtual void RemoveDirectory(string path)
        {
            lock (_lock)
            {
                if (path == "/")
                    throw SftpException.AccessDenied("the root cannot be removed");
                if (!_nodes.TryGetValue(path, out Node? n))
                    throw SftpException.NoSuchFile(path);
                if (!n.IsDirectory)
                    throw new SftpException(SftpException.Failure, "not a directory: " + path);
                if (ChildrenOf(path).Any())
                    throw new SftpException(SftpException.Failure, "directory not empty: " + path);
                _nodes.Remove(path);
                Reserve(-EntryCost(path));
            }
        }

        /// <inheritdoc/>
        public virtual void RemoveFile(string path)
        {
            lock (_lock)
            {
                if (!_nodes.TryGetValue(path, out Node? n))
                    throw SftpException.NoSuchFile(path);
                if (n.IsDirectory)
                    throw new SftpException(SftpException.Failure, "is a directory: " + path);
                _nodes.Remove(path);
                Reserve(-EntryCost(path));
                lock (n)
                {
                    SetLength(n, 0); // give its bytes back to the quota
                    n.Removed = true; // after: SetLength refuses a removed node
                }
            }
        }

        /// <inheritdoc/>
        public virtual void Rename(string oldPath, string newPath)
        {
            lock (_lock)
            {
                if (oldPath == "/")
                    throw SftpException.AccessDenied("the root cannot be renamed");
                if (!_nodes.TryGetValue(oldPath, out Node? n))
                    throw SftpException.NoSuchFile(oldPath);
                if (_nodes.ContainsKey(newPath))
                    throw new SftpException(SftpException.Failure, "exists: " + newPath);
                if (!_nodes.TryGetValue(SftpPath.Parent(newPath), out Node? parent) || !parent.IsDirectory)
                    throw SftpException.NoSuchFile(SftpPath.Parent(newPath));
                if (n.IsDirectory && newPath.StartsWith(oldPath + "/", StringComparison.Ordinal))
                    throw new SftpException(SftpException.Failure, "a directory cannot move into itself");
                // the renamed entry's name changes (what it contains keeps its names): refused, with
                // nothing moved, when a longer name does not fit
                Reserve(EntryCost(newPath) - EntryCost(oldPath));
                string prefix = oldPath + "/";
                var moved = _nodes.Where(kv => kv.Key == oldPath || kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
                foreach (var kv in moved)
                    _nodes.Remove(kv.Key);
                foreach (var kv in moved)
                    _nodes[newPath + kv.Key[oldPath.Length..]] = kv.Value;
            }
        }

        /// <inheritdoc/>
        public virtual void SetInfo(string path, SftpFileChange change)
        {
            Node n = Get(path);
            lock (n)
            {
                if (change.Length is long size)
                {
                    if (n.IsDirectory)
                        throw new SftpException(SftpException.Failure, "is a directory: " + path);
                    SetLength(n, size);
                }
                if (change.LastWriteTime is DateTimeOffset m)
                    n.MTime = m;
                if (change.LastAccessTime is DateTimeOffset a)
                    n.ATime = a;
                if (change.Permissions is UnixFileMode p)
                    n.Mode = p;
            }
        }

        // ---- internals -----------------------------------------------------------------------

        /// <summary>A new entry, charged to the quota first (a create past it changes nothing). Callers hold the tree's lock.</summary>
        private Node AddNode(string path, bool directory)
        {
            Reserve(EntryCost(path));
            return _nodes[path] = new Node(directory, _spare);
        }

        private Node Get(string path)
        {
            lock (_lock)
                return _nodes.TryGetValue(path, out Node? n) ? n : throw SftpException.NoSuchFile(path);
        }

        private IEnumerable<KeyValuePair<string, Node>> ChildrenOf(string dir)
        {
            string prefix = dir == "/" ? "/" : dir + "/";
            return _nodes.Where(kv => kv.Key != "/" && kv.Key.StartsWith(prefix, StringComparison.Ordinal) &&
                                      kv.Key.IndexOf('/', prefix.Length) < 0)
                         .OrderBy(kv => kv.Key, StringComparer.Ordinal);
        }

        private static SftpFileInfo Info(string name, Node n) => new()
        {
            Name = name,
            IsDirectory = n.IsDirectory,
            Length = n.IsDirectory ? 0 : n.Data.Length,
            LastWriteTime = n.MTime,
            LastAccessTime = n.ATime,
            Permissions = n.Mode,
        };

        // Callers hold the node's lock.
        private void SetLength(Node n, long length)
        {
            if (length < 0)
                throw new SftpException(OperationStatus.ostInvalidParameter, "negative size");
            if (length > int.MaxValue) // checked before the quota is charged, so a refusal charges nothing
                throw new SftpException(SftpException.Failure, "a file in memory holds at most 2 GiB");
            if (n.Removed)
                throw new SftpException(OperationStatus.ostNoSuchFile, "the file was removed");
            Reserve(length - n.Data.Length);
            n.Data.SetLength(length); // pages past the end go back to the spare pool
            n.MTime = DateTimeOffset.UtcNow;
        }

        private void WriteAt(Node n, long offset, ReadOnlySpan<byte> data)
        {
            long end = offset + data.Length;
            if (end > int.MaxValue)
                throw new SftpException(SftpException.Failure, "a file in memory holds at most 2 GiB");
            if (n.Removed)
                throw new SftpException(OperationStatus.ostNoSuchFile, "the file was removed");
            if (end > n.Data.Length)
                Reserve(end - n.Data.Length); // the quota counts the file's size, holes included
            n.Data.Write(offset, data); // straight into the pages: no regrowth, no copy of what is there
            n.MTime = DateTimeOffset.UtcNow;
        }

        private void Reserve(long delta)
        {
            if (delta <= 0)
            {
                Interlocked.Add(ref _totalBytes, delta);
                return;
            }
            if (Interlocked.Add(ref _totalBytes, delta) > MaxTotalBytes)
            {
                Interlocked.Add(ref _totalBytes, -delta);
                throw new SftpException(SftpException.Failure, "quota exceeded");
            }
        }

        /// <summary>A stream over one file's bytes with its own position; every call locks the file.
        /// Positional (IPositionalRead): the provider layer overlaps READs of one file.</summary>
        private sealed class NodeStream : Stream, IPositionalRead
        {
            private readonly MemoryFileSystem _fs;
            private readonly Node _n;
            private readonly bool _write;
            private long _pos;
            private bool _closed;

            internal NodeStream(MemoryFileSystem fs, Node n, bool write)
            {
                _fs = fs;
                _n = n;
                _write = write;
            }

            public override bool CanRead => !_closed;
            public override bool CanSeek => !_closed;
            public override bool CanWrite => !_closed && _write;

            public override long Length
            {
                get
                {
                    lock (_n)
                        return _n.Data.Length;
                }
            }

            public override long Position
            {
                get => _pos;
                set => _pos = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
            }

            public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

            public override int Read(Span<byte> buffer)
            {
                lock (_n)
                {
                    if (_pos >= _n.Data.Length)
                        return 0;
                    int n = _n.Data.Read(_pos, buffer);
                    _pos += n;
                    _n.ATime = DateTimeOffset.UtcNow;
                    return n;
                }
            }

            public int ReadAt(long offset, Span<byte> buffer)
            {
                if (_closed)
                    throw new ObjectDisposedException(nameof(NodeStream));
                lock (_n)
                {
                    if (offset >= _n.Data.Length)
                        return 0;
                    int n = _n.Data.Read(offset, buffer);
                    _n.ATime = DateTimeOffset.UtcNow;
                    return n;
                }
            }

            public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                if (!CanWrite)
                    throw SftpException.AccessDenied("the file is open for reading only");
                lock (_n)
                {
                    _fs.WriteAt(_n, _pos, buffer);
                    _pos += buffer.Length;
                }
            }

            public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _pos + offset,
                _ => Length + offset,
            };

            public override void SetLength(long value)
            {
                if (!CanWrite)
                    throw SftpException.AccessDenied("the file is open for reading only");
                lock (_n)
                    _fs.SetLength(_n, value);
            }

            public override void Flush() { }

            protected override void Dispose(bool disposing)
            {
                _closed = true;
                base.Dispose(disposing);
            }
        }
    }
}

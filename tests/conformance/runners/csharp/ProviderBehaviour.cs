using System.Text.Json;
using SFTPKit;

namespace SFTPKit.Conformance;

/// <summary>
/// The `provider` behaviour (FORMAT.md): the binding's provider layer (SFTPServer.UseFileSystem with an
/// ISftpFileSystem per session) over an in-memory tree, never hand-written file events.
/// </summary>
sealed class ProviderBehaviour
{
    public readonly Vfs Shared;
    public readonly List<Dictionary<string, object>> Sessions = new();
    private readonly JsonElement _spec;
    private readonly CaseContext _ctx;
    private readonly bool _perSession;

    public ProviderBehaviour(JsonElement spec, CaseContext ctx)
    {
        _spec = spec;
        _ctx = ctx;
        Shared = new Vfs(spec, ctx, tree: true);
        _perSession = spec.TryGetProperty("per_session", out var ps) && ps.ValueKind == JsonValueKind.True;
        foreach (var m in spec.EnumerateObject())
            if (m.Name is not ("files" or "dirs" or "per_session" or "errors" or "async" or "latency_ms"))
                throw new CaseFailure($"provider: \"{m.Name}\" is not supported by the C# runner");
        _async = spec.TryGetProperty("async", out var a) && a.ValueKind == JsonValueKind.True;
        if (spec.TryGetProperty("latency_ms", out var l)) _latencyMs = l.GetInt32();
        if (_latencyMs > 0 && !_async) throw new CaseFailure("provider: latency_ms without async");
    }

    private readonly bool _async;
    private readonly int _latencyMs;

    public void Install(SFTPServer srv)
    {
        if (_async)
            srv.UseAsyncFileSystem(session => new AsyncTree(MakeTree(session), _latencyMs));
        else
            srv.UseFileSystem(MakeTree);
    }

    private Tree MakeTree(SftpSession session)
    {
        lock (Sessions)
            Sessions.Add(new Dictionary<string, object>
            {
                ["user"] = session.User, ["connection_id"] = session.ConnectionId,
                ["remote_address"] = session.RemoteAddress, ["remote_port"] = (long)session.RemotePort,
            });
        return new Tree(_perSession ? new Vfs(_spec, _ctx, tree: true) : Shared, _spec, _ctx);
    }

    /// <summary>
    /// The asynchronous provider form (FORMAT.md provider `async`): every method waits latency_ms
    /// with Task.Delay, then does what the synchronous tree does (its `errors` rules included, so
    /// they fail after the wait); files are positional (IAsyncSftpFile).
    /// </summary>
    private sealed class AsyncTree : IAsyncSftpFileSystem
    {
        private readonly Tree _t;
        private readonly int _latencyMs;

        public AsyncTree(Tree t, int latencyMs) { _t = t; _latencyMs = latencyMs; }

        private Task Latency(CancellationToken ct) => _latencyMs > 0 ? Task.Delay(_latencyMs, ct) : Task.CompletedTask;

        public async ValueTask<IAsyncSftpFile> OpenFileAsync(string path, FileOpenMode mode, CancellationToken ct)
        {
            await Latency(ct);
            _ = _t.OpenFile(path, mode); // the checks and effects of OPEN (not disposed: that is the close rule)
            return new File(this, path, (mode & (FileOpenMode.cfmWrite | FileOpenMode.cfmCreate | FileOpenMode.cfmOpenOrCreate |
                                                 FileOpenMode.cfmAppend | FileOpenMode.cfmTruncate)) != 0);
        }

        public async ValueTask<SftpFileInfo> GetInfoAsync(string path, CancellationToken ct) { await Latency(ct); return _t.GetInfo(path); }

        public async IAsyncEnumerable<SftpFileInfo> ListAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            await Latency(ct);
            foreach (var e in _t.List(path)) yield return e;
        }

        public async ValueTask CreateDirectoryAsync(string path, CancellationToken ct) { await Latency(ct); _t.CreateDirectory(path); }
        public async ValueTask RemoveDirectoryAsync(string path, CancellationToken ct) { await Latency(ct); _t.RemoveDirectory(path); }
        public async ValueTask RemoveFileAsync(string path, CancellationToken ct) { await Latency(ct); _t.RemoveFile(path); }
        public async ValueTask RenameAsync(string o, string n, CancellationToken ct) { await Latency(ct); _t.Rename(o, n); }
        public async ValueTask SetInfoAsync(string path, SftpFileChange c, CancellationToken ct) { await Latency(ct); _t.SetInfo(path, c); }

        private sealed class File : IAsyncSftpFile
        {
            private readonly AsyncTree _owner;
            private readonly string _path;
            private readonly bool _write;

            public File(AsyncTree owner, string path, bool write) { _owner = owner; _path = path; _write = write; }

            public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
            {
                await _owner.Latency(ct);
                return _owner._t.ReadAt(_path, offset, buffer.Span);
            }

            public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
            {
                await _owner.Latency(ct);
                if (!_write) throw new SFTPKit.SftpException((OperationStatus)3, "");
                _owner._t.WriteAt(_path, offset, data.Span);
            }

            public async ValueTask DisposeAsync()
            {
                await _owner.Latency(CancellationToken.None);
                _owner._t.CloseRules(_path);
            }
        }
    }

    private sealed class Tree : ISftpFileSystem
    {
        private readonly Vfs _t;
        private readonly JsonElement _spec;
        private readonly CaseContext _ctx;

        public Tree(Vfs t, JsonElement spec, CaseContext ctx) { _t = t; _spec = spec; _ctx = ctx; }

        private static SFTPKit.SftpException Fail(long status, string msg = "") => new((OperationStatus)status, msg);

        // The first `errors` rule for this method and path fails it (or crashes it).
        private void Rules(string op, string path)
        {
            if (!_spec.TryGetProperty("errors", out var errors)) return;
            foreach (var r in errors.EnumerateArray())
            {
                if (r.GetProperty("op").GetString() != op) continue;
                if (r.TryGetProperty("path", out var m) && !Values.Match(m, path, _ctx)) continue;
                var st = r.GetProperty("status");
                if (st.ValueKind == JsonValueKind.String && st.GetString() == "crash")
                    throw new InvalidOperationException("internal-detail: the provider crashed on " + path);
                throw Fail(st.GetInt64(), r.TryGetProperty("message", out var msg) ? msg.GetString() ?? "" : "");
            }
        }

        /// <summary>The method table's read, positional (the async form's files).</summary>
        public int ReadAt(string path, long offset, Span<byte> buffer)
        {
            Rules("read", path);
            lock (_t)
            {
                var d = _t.Files.TryGetValue(path, out var b) ? b : Array.Empty<byte>();
                if (offset >= d.Length) return 0;
                int n = (int)Math.Min(buffer.Length, d.Length - offset);
                d.AsSpan((int)offset, n).CopyTo(buffer);
                return n;
            }
        }

        /// <summary>The method table's write, positional (a gap is zero-filled).</summary>
        public void WriteAt(string path, long offset, ReadOnlySpan<byte> data)
        {
            Rules("write", path);
            lock (_t)
            {
                var d = _t.Files.TryGetValue(path, out var b) ? b : Array.Empty<byte>();
                if (offset + data.Length > d.Length) Array.Resize(ref d, (int)(offset + data.Length));
                data.CopyTo(d.AsSpan((int)offset));
                _t.Files[path] = d;
            }
        }

        public void CloseRules(string path) => Rules("close", path);

        private bool IsDir(string p) => _t.Dirs.Contains(p);
        private bool IsFile(string p) => _t.Files.ContainsKey(p);
        private IEnumerable<string> Children(string d) =>
            _t.Files.Keys.Concat(_t.Dirs).Where(p => p != "/" && SftpPath.Parent(p) == d);

        public Stream OpenFile(string path, FileOpenMode mode)
        {
            Rules("open", path);
            lock (_t)
            {
                bool write = (mode & (FileOpenMode.cfmWrite | FileOpenMode.cfmCreate | FileOpenMode.cfmOpenOrCreate |
                                      FileOpenMode.cfmAppend | FileOpenMode.cfmTruncate)) != 0;
                if (IsDir(path)) throw Fail(3);
                if (!write)
                    return IsFile(path) ? new Handle(this, path, false) : throw Fail(2);
                if (!IsDir(SftpPath.Parent(path))) throw Fail(2);
                if ((mode & FileOpenMode.cfmExcl) != 0 && IsFile(path)) throw Fail(3);
                if (!IsFile(path) || (mode & FileOpenMode.cfmTruncate) != 0) _t.Files[path] = Array.Empty<byte>();
                return new Handle(this, path, true);
            }
        }

        public SftpFileInfo GetInfo(string path)
        {
            Rules("stat", path);
            lock (_t) return Info(path);
        }

        private SftpFileInfo Info(string path) =>
            IsDir(path) ? SftpFileInfo.Directory(SftpPath.Name(path)) with { Permissions = (UnixFileMode)0b111_101_101 }
            : IsFile(path) ? SftpFileInfo.File(SftpPath.Name(path), _t.Files[path].Length) with { Permissions = (UnixFileMode)0b110_100_100 }
            : throw Fail(2);

        public IEnumerable<SftpFileInfo> List(string path)
        {
            Rules("list", path);
            lock (_t)
            {
                if (!IsDir(path)) throw Fail(2);
                return Children(path).OrderBy(p => p, StringComparer.Ordinal).Select(Info).ToList();
            }
        }

        public void CreateDirectory(string path)
        {
            Rules("mkdir", path);
            lock (_t)
            {
                if (IsDir(path) || IsFile(path)) throw Fail(3);
                if (!IsDir(SftpPath.Parent(path))) throw Fail(2);
                _t.Dirs.Add(path);
            }
        }

        public void RemoveDirectory(string path) => Remove("rmdir", path);
        public void RemoveFile(string path) => Remove("remove", path);

        private void Remove(string op, string path)
        {
            Rules(op, path);
            lock (_t)
            {
                if (path == "/") throw Fail(3);
                if (_t.Files.Remove(path)) return;
                if (!IsDir(path)) throw Fail(2);
                if (Children(path).Any()) throw Fail(3);
                _t.Dirs.Remove(path);
            }
        }

        public void Rename(string oldPath, string newPath)
        {
            Rules("rename", oldPath);
            lock (_t)
            {
                if (!IsDir(oldPath) && !IsFile(oldPath)) throw Fail(2);
                if (!IsDir(SftpPath.Parent(newPath))) throw Fail(2);
                if (IsDir(newPath) || IsFile(newPath)) throw Fail(3);
                string prefix = oldPath + "/";
                foreach (var f in _t.Files.Keys.Where(k => k == oldPath || k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
                {
                    _t.Files[newPath + f[oldPath.Length..]] = _t.Files[f];
                    _t.Files.Remove(f);
                }
                foreach (var d in _t.Dirs.Where(k => k == oldPath || k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
                {
                    _t.Dirs.Remove(d);
                    _t.Dirs.Add(newPath + d[oldPath.Length..]);
                }
            }
        }

        public void SetInfo(string path, SftpFileChange change)
        {
            Rules("setstat", path);
            lock (_t)
                if (!IsDir(path) && !IsFile(path)) throw Fail(2);
        }

        /// <summary>The open file: reads and writes go to the tree's bytes (the method table's read/write/close).</summary>
        private sealed class Handle : Stream
        {
            private readonly Tree _tree;
            private readonly string _path;
            private readonly bool _write;
            private long _pos;

            public Handle(Tree tree, string path, bool write) { _tree = tree; _path = path; _write = write; }
            public override bool CanRead => true;
            public override bool CanSeek => true;
            public override bool CanWrite => _write;
            public override long Length { get { lock (_tree._t) return _tree._t.Files.TryGetValue(_path, out var d) ? d.Length : 0; } }
            public override long Position { get => _pos; set => _pos = value; }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => _pos = origin == SeekOrigin.Begin ? offset : origin == SeekOrigin.Current ? _pos + offset : Length + offset;
            public override void SetLength(long value) { lock (_tree._t) { var d = _tree._t.Files[_path]; Array.Resize(ref d, (int)value); _tree._t.Files[_path] = d; } }

            public override int Read(byte[] buffer, int offset, int count)
            {
                _tree.Rules("read", _path);
                lock (_tree._t)
                {
                    var d = _tree._t.Files.TryGetValue(_path, out var b) ? b : Array.Empty<byte>();
                    if (_pos >= d.Length) return 0;
                    int n = (int)Math.Min(count, d.Length - _pos);
                    Array.Copy(d, _pos, buffer, offset, n);
                    _pos += n;
                    return n;
                }
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                _tree.Rules("write", _path);
                if (!_write) throw Fail(3);
                lock (_tree._t)
                {
                    var d = _tree._t.Files.TryGetValue(_path, out var b) ? b : Array.Empty<byte>();
                    if (_pos + count > d.Length) Array.Resize(ref d, (int)(_pos + count)); // a gap is zero-filled
                    Array.Copy(buffer, offset, d, _pos, count);
                    _tree._t.Files[_path] = d;
                    _pos += count;
                }
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) _tree.Rules("close", _path);
                base.Dispose(disposing);
            }
        }
    }
}

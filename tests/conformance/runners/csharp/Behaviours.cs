using System.Text.Json;

namespace SFTPKit.Conformance;

static class Entry
{
    /// <summary>Fills client_file_entry_* and commits it; the properties are server-wide, so one lock.</summary>
    public static void Commit(SFTPServer srv, long connectionId, string handle, IEnumerable<(string Key, object Value)> fields)
    {
        lock (srv)
        {
            foreach (var (k, v) in fields)
                Api.SetProperty(srv, "client_file_entry_" + k, null, v);
            srv.SetClientFileEntry(connectionId, handle);
        }
    }
}

/// <summary>The `listing` behaviour: serve on_find_* from a fixed list.</summary>
sealed class Listing
{
    private readonly JsonElement? _path;
    private readonly string _handle;
    private readonly List<List<(string, object)>> _entries = new();
    private readonly Dictionary<string, int> _next = new();
    private readonly CaseContext _ctx;

    public Listing(JsonElement spec, CaseContext ctx)
    {
        _ctx = ctx;
        if (spec.TryGetProperty("path", out var p)) _path = p;
        if (spec.TryGetProperty("handle", out var h)) _handle = h.GetString();
        foreach (var e in spec.GetProperty("entries").EnumerateArray())
            _entries.Add(e.EnumerateObject().Select(f => (f.Name, Values.Eval(f.Value, ctx))).ToList());
    }

    public void Handle(SFTPKitEventArgs e, Dictionary<string, object> p)
    {
        var srv = _ctx.Server;
        switch (e)
        {
            case FindFirstEventArgs f:
                if (_path is { } pm && !Values.Match(pm, p["path"], _ctx)) return;
                if (_handle != null) f.Handle = _handle;
                lock (_next) _next[f.Handle] = 0;
                f.OperationStatus = (OperationStatus)(Serve(srv, f.ConnectionId, f.Handle));
                break;
            case FindNextEventArgs n:
                lock (_next) if (!_next.ContainsKey(n.Handle)) return;
                n.OperationStatus = (OperationStatus)(Serve(srv, n.ConnectionId, n.Handle));
                break;
            case FindCloseEventArgs c:
                lock (_next) if (!_next.Remove(c.Handle)) return;
                c.OperationStatus = (OperationStatus)(1);
                break;
        }
    }

    private long Serve(SFTPServer srv, long cid, string handle)
    {
        int i;
        lock (_next) i = _next[handle]++;
        if (i >= _entries.Count) return 7;
        Entry.Commit(srv, cid, handle, _entries[i]);
        return 1;
    }
}

/// <summary>The `vfs` behaviour: an in-memory file system, exactly as FORMAT.md's table says.</summary>
sealed class Vfs
{
    public readonly Dictionary<string, byte[]> Files = new(StringComparer.Ordinal);
    public readonly HashSet<string> Dirs = new(StringComparer.Ordinal) { "/" };
    private readonly Dictionary<string, string> _open = new();
    private readonly Dictionary<string, (List<string> Names, string Dir, int Next)> _finds = new();
    private int _opens, _findCount;
    private readonly CaseContext _ctx;
    /// <summary>`latency_ms`: how long each on_read_file / on_write_file takes (FORMAT.md).</summary>
    public readonly int LatencyMs;
    /// <summary>`deferred`: those handlers defer their request and a thread completes it later.</summary>
    public readonly bool Deferred;
    private int _outstanding, _cancelled; // deferred completions still asleep; those told of a cancellation
    /// <summary>`async`: on_read_file / on_write_file are OnReadFileAsync / OnWriteFileAsync Task handlers.</summary>
    public readonly bool Async;

    /// <summary>
    /// The async form (FORMAT.md vfs `async`): wait latency_ms with Task.Delay on the request's
    /// token (a cancellation counts and fails the task), then the handling of the table, whose
    /// SetClientBuffer / GetClientBuffer / OperationStatus the binding routes to the deferred request.
    /// </summary>
    private async Task ServeAsync(SFTPKitEventArgs e, CancellationToken ct)
    {
        lock (this) _outstanding++;
        try
        {
            try
            {
                if (LatencyMs > 0) await Task.Delay(LatencyMs, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                lock (this) _cancelled++;
                throw;
            }
            Serve(_ctx.Server, e);
        }
        finally
        {
            lock (this)
            {
                _outstanding--;
                Monitor.PulseAll(this);
            }
        }
    }

    /// <summary>Deferred requests that learnt of their cancellation, once every completion ended.</summary>
    public int CancelledCount(int timeoutMs = 10000)
    {
        lock (this)
        {
            var until = Environment.TickCount64 + timeoutMs;
            while (_outstanding > 0 && Environment.TickCount64 < until)
                Monitor.Wait(this, 100);
            return _cancelled;
        }
    }

    /// <summary>
    /// on_read_file / on_write_file with `deferred` (under the lock): takes the token and returns; a
    /// read's answer is taken now, a write lands when it completes (as the C runner does).
    /// </summary>
    private void Defer(SFTPServer srv, SFTPKitEventArgs e)
    {
        long cid, off;
        string handle;
        bool write = e is WriteFileEventArgs;
        if (e is ReadFileEventArgs r) (cid, handle, off) = (r.ConnectionId, r.Handle, r.Offset);
        else { var w = (WriteFileEventArgs)e; (cid, handle, off) = (w.ConnectionId, w.Handle, w.Offset); }
        var status = OperationStatus.ostOk;
        byte[] answer = Array.Empty<byte>();
        string path = _open.TryGetValue(handle, out var p) ? p : null;
        if (path == null) status = OperationStatus.ostNoSuchFile;
        else if (!write)
        {
            var size = ((ReadFileEventArgs)e).Size;
            if (!Files.TryGetValue(path, out var data) || off >= data.Length) status = OperationStatus.ostEOF;
            else answer = data.AsSpan((int)off, (int)Math.Min(size, data.Length - off)).ToArray();
        }
        var pending = srv.DeferRequest(cid, handle);
        _outstanding++;
        var t = new Thread(() => CompleteLater(pending, write, path, off, status, answer)) { IsBackground = true };
        t.Start();
    }

    private void CompleteLater(PendingRequest r, bool write, string path, long off, OperationStatus status, byte[] answer)
    {
        try
        {
            // short naps, so a cancellation (disconnect, stop) ends the wait early
            bool cancelled = false;
            for (int left = LatencyMs; left > 0 && !cancelled; left -= 10)
            {
                Thread.Sleep(Math.Min(left, 10));
                cancelled = r.Cancelled != RequestCancelReason.None;
            }
            lock (this)
            {
                if (cancelled)
                {
                    _cancelled++;
                    status = OperationStatus.ostAccessDenied; // discarded by the server anyway
                }
                if (write && status == OperationStatus.ostOk)
                {
                    var chunk = r.Data;
                    if (!Files.TryGetValue(path, out var old)) status = OperationStatus.ostNoSuchFile;
                    else
                    {
                        var buf = new byte[Math.Max(old.Length, off + chunk.Length)];
                        old.CopyTo(buf, 0);
                        chunk.CopyTo(buf, (int)off);
                        Files[path] = buf;
                    }
                }
            }
            r.Complete(status, write ? default : answer);
        }
        catch (Exception ex)
        {
            _ctx.HandlerFailures.Enqueue($"vfs: deferred completion: {ex.GetType().Name}: {ex.Message}");
            if (!r.IsCompleted) try { r.Complete(OperationStatus.ostAccessDenied); } catch { }
        }
        finally
        {
            lock (this)
            {
                _outstanding--;
                Monitor.PulseAll(this);
            }
        }
    }

    /// <param name="tree">the `provider` behaviour's tree: its spec has members of its own
    /// (per_session, errors) and only files/dirs are read here</param>
    public Vfs(JsonElement spec, CaseContext ctx, bool tree = false)
    {
        _ctx = ctx;
        foreach (var m in spec.EnumerateObject())
            if (!tree && m.Name is not ("files" or "dirs" or "latency_ms" or "deferred" or "async"))
                throw new CaseFailure($"vfs: \"{m.Name}\" is not supported by the C# runner yet");
        if (!tree && spec.TryGetProperty("latency_ms", out var lat)) LatencyMs = lat.GetInt32();
        Deferred = !tree && spec.TryGetProperty("deferred", out var def) && def.ValueKind == JsonValueKind.True;
        Async = !tree && spec.TryGetProperty("async", out var asy) && asy.ValueKind == JsonValueKind.True;
        if (Async && Deferred) throw new CaseFailure("vfs: \"async\" and \"deferred\" together");
        if (Async)
        {
            // the binding's asynchronous handler form: Task handlers awaiting the back-end
            ctx.Server.OnReadFileAsync = (e, ct) => ServeAsync(e, ct);
            ctx.Server.OnWriteFileAsync = (e, ct) => ServeAsync(e, ct);
        }
        if (spec.TryGetProperty("files", out var files))
            foreach (var f in files.EnumerateObject())
            {
                var v = Values.Eval(f.Value, ctx);
                Files[Norm(f.Name)] = v is byte[] b ? b : System.Text.Encoding.UTF8.GetBytes(Values.Text(v));
            }
        if (spec.TryGetProperty("dirs", out var dirs))
            foreach (var d in dirs.EnumerateArray())
                Dirs.Add(Norm(d.GetString()));
    }

    public static string Norm(string path)
    {
        var parts = new List<string>();
        foreach (var p in (path ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    private static string Parent(string p) => p == "/" ? "/" : Norm(p[..p.LastIndexOf('/')]);
    private static string Name(string p) => p == "/" ? "/" : p[(p.LastIndexOf('/') + 1)..];
    private bool Exists(string p) => Files.ContainsKey(p) || Dirs.Contains(p);
    private IEnumerable<string> Children(string dir) =>
        Files.Keys.Concat(Dirs).Where(p => p != "/" && Parent(p) == dir).Select(Name).OrderBy(n => n, StringComparer.Ordinal);

    public void Handle(SFTPKitEventArgs e, Dictionary<string, object> p)
    {
        var srv = _ctx.Server;
        // the slow back-end's round trip, outside the lock: READ/WRITE handlers on the server's
        // worker threads overlap (a lock around the sleep would serialize them and hide that)
        bool dataEvent = e is ReadFileEventArgs or WriteFileEventArgs;
        if (dataEvent && Deferred)
        {
            lock (this) Defer(srv, e);
            return;
        }
        if (dataEvent && Async) return; // ServeAsync answers them
        if (dataEvent && LatencyMs > 0) Thread.Sleep(LatencyMs);
        Serve(srv, e);
    }

    private void Serve(SFTPServer srv, SFTPKitEventArgs e)
    {
        lock (this)
        {
            switch (e)
            {
                case BeforeCreateDirectoryEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeDownloadFileEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeFindEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeRemoveEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeRenameFileEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeRequestAttributesEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeSetAttributesEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case BeforeUploadFileEventArgs a: a.Action = FileRequestAction.fraCustom; break;
                case OpenFileEventArgs o: o.OperationStatus = (OperationStatus)(Open(o)); break;
                case ReadFileEventArgs r:
                    if (!_open.TryGetValue(r.Handle, out var rp) || !Files.TryGetValue(rp, out var data)) { r.OperationStatus = (OperationStatus)(2); break; }
                    if (r.Offset >= data.Length) { r.OperationStatus = (OperationStatus)(7); break; }
                    int n = (int)Math.Min(r.Size, data.Length - r.Offset);
                    srv.SetClientBuffer(r.ConnectionId, r.Handle, data.AsSpan((int)r.Offset, n).ToArray());
                    r.OperationStatus = (OperationStatus)(1);
                    break;
                case WriteFileEventArgs w:
                    if (!_open.TryGetValue(w.Handle, out var wp)) { w.OperationStatus = (OperationStatus)(2); break; }
                    var chunk = srv.GetClientBuffer(w.ConnectionId, w.Handle);
                    var old = Files.TryGetValue(wp, out var cur) ? cur : Array.Empty<byte>();
                    long end = Math.Max(old.Length, w.Offset + chunk.Length);
                    var buf = new byte[end];
                    old.CopyTo(buf, 0);
                    chunk.CopyTo(buf, (int)w.Offset);
                    Files[wp] = buf;
                    w.OperationStatus = (OperationStatus)(1);
                    break;
                case CloseFileEventArgs c: c.OperationStatus = (OperationStatus)(_open.Remove(c.Handle) ? 1 : 2); break;
                case CreateDirectoryEventArgs m:
                {
                    string path = Norm(m.Path);
                    m.OperationStatus = (OperationStatus)(Exists(path) ? 3 : !Dirs.Contains(Parent(path)) ? 2 : Add(path));
                    break;
                }
                case RemoveEventArgs rm:
                {
                    string path = Norm(rm.Path);
                    if (path == "/") rm.OperationStatus = (OperationStatus)(3);
                    else if (Files.Remove(path)) rm.OperationStatus = (OperationStatus)(1);
                    else if (Dirs.Contains(path)) rm.OperationStatus = (OperationStatus)(Children(path).Any() ? 3 : Dirs.Remove(path) ? 1 : 2);
                    else rm.OperationStatus = (OperationStatus)(2);
                    break;
                }
                case RenameFileEventArgs rn: rn.OperationStatus = (OperationStatus)(Rename(Norm(rn.OldPath), Norm(rn.NewPath))); break;
                case RequestAttributesEventArgs ra:
                {
                    string path = Lookup(ra.Path, ra.Handle);
                    if (path == null || !Exists(path)) { ra.OperationStatus = (OperationStatus)(2); break; }
                    Entry.Commit(srv, ra.ConnectionId, ra.Handle, Fields(path));
                    ra.OperationStatus = (OperationStatus)(1);
                    break;
                }
                case SetAttributesEventArgs sa:
                {
                    string path = Lookup(sa.Path, sa.Handle);
                    sa.OperationStatus = (OperationStatus)(path != null && Exists(path) ? 1 : 2);
                    break;
                }
                case FindFirstEventArgs ff:
                {
                    string dir = Norm(ff.Path);
                    if (!Dirs.Contains(dir)) { ff.OperationStatus = (OperationStatus)(2); break; }
                    string h = "find" + (++_findCount);
                    ff.Handle = h;
                    _finds[h] = (Children(dir).ToList(), dir, 0);
                    ff.OperationStatus = (OperationStatus)(Serve(srv, ff.ConnectionId, h));
                    break;
                }
                case FindNextEventArgs fn: fn.OperationStatus = (OperationStatus)(_finds.ContainsKey(fn.Handle) ? Serve(srv, fn.ConnectionId, fn.Handle) : 2); break;
                case FindCloseEventArgs fc: fc.OperationStatus = (OperationStatus)(_finds.Remove(fc.Handle) ? 1 : 2); break;
            }
        }
    }

    private long Add(string dir)
    {
        Dirs.Add(dir);
        return 1;
    }

    private string Lookup(string path, string handle)
    {
        if (!string.IsNullOrEmpty(path)) return Norm(path);
        return handle != null && _open.TryGetValue(handle, out var p) ? p : null;
    }

    private IEnumerable<(string, object)> Fields(string path)
    {
        bool dir = Dirs.Contains(path);
        yield return ("name", Name(path));
        yield return ("path", path);
        yield return ("size", dir ? 0L : (long)Files[path].Length);
        yield return ("directory", dir);
        yield return ("file_type", dir ? 1L : 0L);
    }

    private long Serve(SFTPServer srv, long cid, string handle)
    {
        var f = _finds[handle];
        if (f.Next >= f.Names.Count) return 7;
        string child = f.Dir == "/" ? "/" + f.Names[f.Next] : f.Dir + "/" + f.Names[f.Next];
        _finds[handle] = (f.Names, f.Dir, f.Next + 1);
        Entry.Commit(srv, cid, handle, Fields(child));
        return 1;
    }

    private long Open(OpenFileEventArgs o)
    {
        string path = Norm(o.Path);
        long modes = (long)o.Modes;
        bool write = (modes & (2 | 8 | 128 | 4 | 16)) != 0;
        if (write)
        {
            if (!Dirs.Contains(Parent(path))) return 2;
            if (Dirs.Contains(path)) return 3;
            if ((modes & 32) != 0 && Files.ContainsKey(path)) return 3;
            if (!Files.ContainsKey(path) || (modes & 16) != 0) Files[path] = Array.Empty<byte>();
        }
        else
        {
            if (Dirs.Contains(path)) return 3;
            if (!Files.ContainsKey(path)) return 2;
        }
        string h = "vfs" + (++_opens);
        _open[h] = path;
        o.Handle = h;
        return 1;
    }

    private long Rename(string from, string to)
    {
        if (!Exists(from)) return 2;
        if (!Dirs.Contains(Parent(to))) return 2;
        if (Exists(to)) return 3;
        if (Files.Remove(from, out var data)) { Files[to] = data; return 1; }
        string prefix = from + "/";
        foreach (var f in Files.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            Files[to + f[from.Length..]] = Files[f];
            Files.Remove(f);
        }
        foreach (var d in Dirs.Where(k => k == from || k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            Dirs.Remove(d);
            Dirs.Add(to + d[from.Length..]);
        }
        return 1;
    }
}

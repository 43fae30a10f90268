// A virtual file system: nothing touches the disk. Files live in a ConcurrentDictionary; every file
// operation is taken over with Action = fraCustom in the OnBefore* events and served from memory by
// the matching event (OnOpenFile / OnReadFile / OnWriteFile / OnCloseFile, OnFindFirst/Next/Close,
// OnRequestAttributes, OnRemove, OnRenameFile, OnCreateDirectory). Handlers run on server threads,
// concurrently for different clients, hence the concurrent collections.
//
//   dotnet run -- [--host 127.0.0.1] [--port 2222] [--user NAME:PASSWORD]
//   sftp -P 2222 demo@127.0.0.1      (password: demo; try put, get, ls, rm, mkdir, rename)
using System.Collections.Concurrent;
using System.Text;
using SFTPKit;

string host = "127.0.0.1", user = "demo", password = "demo";
int port = 2222;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--host": host = args[i + 1]; break;
        case "--port": port = int.Parse(args[i + 1]); break;
        case "--user": (user, password) = (args[i + 1].Split(':', 2)[0], args[i + 1].Split(':', 2)[1]); break;
        default: throw new ArgumentException($"unknown option {args[i]}");
    }
}

var fs = new MemoryFileSystem();
fs.Files["/README.txt"] = Encoding.UTF8.GetBytes("This file lives in a ConcurrentDictionary.\n");

using var hostKey = new SSHKey();
hostKey.Generate("ssh-ed25519", 0);
using var server = new SFTPServer { Host = host, Port = port, ServerKeyCount = 1, UserCount = 1 };
server.SetServerKeyHandle(0, hostKey.Handle);
server.SetUserUsername(0, user);
server.SetUserPassword(0, password);
fs.Attach(server);

server.Start();
Console.WriteLine($"virtual file system on {host}:{port}, user {user}/{password}. Ctrl+C stops.");
using var stop = new ManualResetEventSlim();
Console.CancelKeyPress += (sender, e) => { e.Cancel = true; stop.Set(); };
AppDomain.CurrentDomain.ProcessExit += (sender, e) => stop.Set();
stop.Wait();
server.Stop();

/// <summary>The whole file system: paths are absolute and normalized ("/dir/name").</summary>
sealed class MemoryFileSystem
{
    public readonly ConcurrentDictionary<string, byte[]> Files = new(StringComparer.Ordinal);
    public readonly ConcurrentDictionary<string, DateTime> Directories = new(StringComparer.Ordinal) { ["/"] = DateTime.UtcNow };

    private sealed class OpenFile
    {
        public required string Path;
        public required bool Writable;
        public MemoryStream Data = new();
    }

    private readonly ConcurrentDictionary<string, OpenFile> _open = new();
    private readonly ConcurrentDictionary<string, Queue<(string Name, bool Dir, long Size)>> _listings = new();
    private long _nextHandle;
    // client_file_entry_* are properties of the server: fill and commit them as one unit.
    private readonly object _entryLock = new();

    public void Attach(SFTPServer srv)
    {
        // Take over every operation (the default, fraAuto, would use the real disk under BaseDir).
        srv.OnBeforeDownloadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeUploadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeFind += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeRequestAttributes += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeSetAttributes += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeRemove += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeRenameFile += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnBeforeCreateDirectory += (s, e) => e.Action = FileRequestAction.fraCustom;
        srv.OnTranslatePath += (s, e) =>
        {
            e.Action = FileRequestAction.fraCustom;
            e.AbsolutePath = Normalize(e.Path);
        };

        srv.OnOpenFile += (s, e) =>
        {
            string path = Normalize(e.Path);
            bool write = (e.Modes & (FileOpenMode.cfmWrite | FileOpenMode.cfmAppend | FileOpenMode.cfmCreate)) != 0;
            var file = new OpenFile { Path = path, Writable = write };
            if (Files.TryGetValue(path, out var existing) && (e.Modes & FileOpenMode.cfmTruncate) == 0)
                file.Data.Write(existing);
            else if (!write && existing == null)
            {
                e.OperationStatus = OperationStatus.ostNoSuchFile;
                return;
            }
            if (!Directories.ContainsKey(Parent(path)))
            {
                e.OperationStatus = OperationStatus.ostNoSuchFile;
                return;
            }
            string handle = "v" + Interlocked.Increment(ref _nextHandle);
            _open[handle] = file;
            e.Handle = handle;
            e.OperationStatus = OperationStatus.ostOk;
        };
        srv.OnReadFile += (s, e) =>
        {
            if (!_open.TryGetValue(e.Handle, out var f)) { e.OperationStatus = OperationStatus.ostInvalidParameter; return; }
            byte[] data = f.Data.GetBuffer();
            long length = f.Data.Length;
            if (e.Offset >= length) { e.OperationStatus = OperationStatus.ostEOF; return; }
            int n = (int)Math.Min(e.Size, length - e.Offset);
            srv.SetClientBuffer(e.ConnectionId, e.Handle, data.AsSpan((int)e.Offset, n).ToArray());
            e.OperationStatus = OperationStatus.ostOk;
        };
        srv.OnWriteFile += (s, e) =>
        {
            if (!_open.TryGetValue(e.Handle, out var f) || !f.Writable) { e.OperationStatus = OperationStatus.ostAccessDenied; return; }
            byte[] chunk = srv.GetClientBuffer(e.ConnectionId, e.Handle);
            lock (f)
            {
                f.Data.Position = e.Offset;
                f.Data.Write(chunk);
            }
            e.OperationStatus = OperationStatus.ostOk;
        };
        srv.OnCloseFile += (s, e) =>
        {
            if (_open.TryRemove(e.Handle, out var f) && f.Writable)
                Files[f.Path] = f.Data.ToArray();
            e.OperationStatus = OperationStatus.ostOk;
        };

        srv.OnFindFirst += (s, e) =>
        {
            string dir = Normalize(e.Path);
            if (!Directories.ContainsKey(dir)) { e.OperationStatus = OperationStatus.ostNoSuchFile; return; }
            var entries = new Queue<(string, bool, long)>(List(dir));
            string handle = "d" + Interlocked.Increment(ref _nextHandle);
            _listings[handle] = entries;
            e.Handle = handle;
            e.OperationStatus = NextEntry(srv, e.ConnectionId, handle);
        };
        srv.OnFindNext += (s, e) => e.OperationStatus = NextEntry(srv, e.ConnectionId, e.Handle);
        srv.OnFindClose += (s, e) =>
        {
            _listings.TryRemove(e.Handle, out _);
            e.OperationStatus = OperationStatus.ostOk;
        };

        srv.OnRequestAttributes += (s, e) =>
        {
            string path = Normalize(e.Path);
            if (Files.TryGetValue(path, out var data))
                e.OperationStatus = Commit(srv, e.ConnectionId, e.Handle, Name(path), false, data.Length);
            else if (Directories.ContainsKey(path))
                e.OperationStatus = Commit(srv, e.ConnectionId, e.Handle, Name(path), true, 0);
            else
                e.OperationStatus = OperationStatus.ostNoSuchFile;
        };
        srv.OnSetAttributes += (s, e) => e.OperationStatus = OperationStatus.ostOk;
        srv.OnRemove += (s, e) =>
        {
            string path = Normalize(e.Path);
            bool removed = Files.TryRemove(path, out _)
                           || (path != "/" && !List(path).Any() && Directories.TryRemove(path, out _));
            e.OperationStatus = removed ? OperationStatus.ostOk : OperationStatus.ostNoSuchFile;
        };
        srv.OnRenameFile += (s, e) =>
        {
            string from = Normalize(e.OldPath), to = Normalize(e.NewPath);
            if (Files.TryRemove(from, out var data)) { Files[to] = data; e.OperationStatus = OperationStatus.ostOk; }
            else e.OperationStatus = OperationStatus.ostNoSuchFile;
        };
        srv.OnCreateDirectory += (s, e) =>
        {
            string path = Normalize(e.Path);
            e.OperationStatus = Directories.ContainsKey(Parent(path)) && Directories.TryAdd(path, DateTime.UtcNow)
                ? OperationStatus.ostOk : OperationStatus.ostAccessDenied;
        };
    }

    private long NextEntry(SFTPServer srv, long connectionId, string handle)
    {
        if (!_listings.TryGetValue(handle, out var q) || q.Count == 0)
            return OperationStatus.ostEOF;
        var (name, dir, size) = q.Dequeue();
        return Commit(srv, connectionId, handle, name, dir, size);
    }

    private long Commit(SFTPServer srv, long connectionId, string handle, string name, bool dir, long size)
    {
        lock (_entryLock)
        {
            srv.ClientFileEntryName = name;
            srv.ClientFileEntryDirectory = dir;
            srv.ClientFileEntryFileType = dir ? FileType.cftDirectory : FileType.cftFile;
            srv.ClientFileEntrySize = size;
            srv.ClientFileEntryMTime = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss");
            srv.ClientFileEntryUserRead = srv.ClientFileEntryGroupRead = srv.ClientFileEntryOtherRead = true;
            srv.ClientFileEntryUserWrite = true;
            srv.ClientFileEntryUserExecute = dir;
            srv.SetClientFileEntry(connectionId, handle);
        }
        return OperationStatus.ostOk;
    }

    private IEnumerable<(string Name, bool Dir, long Size)> List(string dir)
    {
        string prefix = dir == "/" ? "/" : dir + "/";
        foreach (var d in Directories.Keys)
            if (d != dir && d.StartsWith(prefix, StringComparison.Ordinal) && d.IndexOf('/', prefix.Length) < 0)
                yield return (d[prefix.Length..], true, 0);
        foreach (var (path, data) in Files)
            if (path.StartsWith(prefix, StringComparison.Ordinal) && path.IndexOf('/', prefix.Length) < 0)
                yield return (path[prefix.Length..], false, data.Length);
    }

    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var p in (path ?? "").Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    private static string Parent(string path) => path == "/" ? "/" : Normalize(path[..path.LastIndexOf('/')] + "/");

    private static string Name(string path) => path == "/" ? "/" : path[(path.LastIndexOf('/') + 1)..];
}

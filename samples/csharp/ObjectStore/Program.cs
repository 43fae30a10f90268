// An object-store-style back-end behind SFTP: a flat bucket of keys ("docs/a.txt") and blobs, as S3,
// Azure Blob or GCS keep them, with directories implied by key prefixes. Uploads are buffered and
// stored with one PUT when the client closes the file; downloads stream one GET. The bucket here is a
// ConcurrentDictionary standing in for the store's client. One ObjectStoreFileSystem per session,
// made by the factory with the session's user: each user sees the keys under their own prefix.
//
//   dotnet run -- [--host 127.0.0.1] [--port 2222] [--user NAME:PASSWORD]
//   sftp -P 2222 demo@127.0.0.1      (password: demo)
using System.Collections.Concurrent;
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

var bucket = new ConcurrentDictionary<string, (byte[] Data, DateTimeOffset Modified)>();
bucket[$"{user}/welcome.txt"] = ("Stored as one object.\n"u8.ToArray(), DateTimeOffset.UtcNow);

using var hostKey = new SSHKey();
hostKey.Generate("ssh-ed25519", 0);
using var server = new SFTPServer { Host = host, Port = port, ServerKeyCount = 1 };
server.SetServerKeyHandle(0, hostKey.Handle);
server.OnAuthPassword += (s, e) => e.Accept = e.Username == user && e.Password == password;
server.UseFileSystem(session => new ObjectStoreFileSystem(bucket, session.User + "/"));

server.Start();
Console.WriteLine($"object store on {host}:{port}, user {user}/{password}. Ctrl+C stops.");
using var stop = new ManualResetEventSlim();
Console.CancelKeyPress += (sender, e) => { e.Cancel = true; stop.Set(); };
AppDomain.CurrentDomain.ProcessExit += (sender, e) => stop.Set();
stop.Wait();
server.Stop();

/// <summary>Keys under one prefix as a file tree. Errors are SftpExceptions: the client reads their text.</summary>
sealed class ObjectStoreFileSystem(ConcurrentDictionary<string, (byte[] Data, DateTimeOffset Modified)> bucket, string prefix)
    : ISftpFileSystem
{
    private string Key(string path) => prefix + path.TrimStart('/');
    private string DirKey(string path) => path == "/" ? prefix : Key(path) + "/";

    public Stream OpenFile(string path, FileOpenMode mode)
    {
        if ((mode & (FileOpenMode.cfmWrite | FileOpenMode.cfmAppend)) == 0) // a download: one GET
            return bucket.TryGetValue(Key(path), out var o) ? new MemoryStream(o.Data, writable: false) : throw SftpException.NoSuchFile(path);
        if ((mode & FileOpenMode.cfmAppend) != 0)
            throw SftpException.Unsupported("appending to an object");
        return new PutOnClose(data => bucket[Key(path)] = (data, DateTimeOffset.UtcNow)); // an upload: one PUT at close
    }

    public SftpFileInfo GetInfo(string path)
    {
        if (bucket.TryGetValue(Key(path), out var o))
            return SftpFileInfo.File(SftpPath.Name(path), o.Data.Length, o.Modified);
        if (path == "/" || bucket.Keys.Any(k => k.StartsWith(DirKey(path), StringComparison.Ordinal)))
            return SftpFileInfo.Directory(SftpPath.Name(path));
        throw SftpException.NoSuchFile(path);
    }

    public IEnumerable<SftpFileInfo> List(string path)
    {
        string dir = DirKey(path);
        var seen = new HashSet<string>();
        foreach (var (key, o) in bucket.Where(kv => kv.Key.StartsWith(dir, StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string rest = key[dir.Length..];
            if (rest == ".keep")
                continue;
            int slash = rest.IndexOf('/');
            if (slash < 0)
                yield return SftpFileInfo.File(rest, o.Data.Length, o.Modified);
            else if (seen.Add(rest[..slash]))
                yield return SftpFileInfo.Directory(rest[..slash]); // a "directory": a common key prefix
        }
    }

    // A directory exists while a key lies under it: MKDIR stores an empty marker object.
    public void CreateDirectory(string path) => bucket.TryAdd(DirKey(path) + ".keep", (Array.Empty<byte>(), DateTimeOffset.UtcNow));

    public void RemoveDirectory(string path)
    {
        if (bucket.Keys.Any(k => k.StartsWith(DirKey(path), StringComparison.Ordinal) && k != DirKey(path) + ".keep"))
            throw SftpException.Failed("directory not empty: " + path);
        bucket.TryRemove(DirKey(path) + ".keep", out _);
    }

    public void RemoveFile(string path)
    {
        if (!bucket.TryRemove(Key(path), out _))
            throw SftpException.NoSuchFile(path);
    }

    public void Rename(string oldPath, string newPath) // object stores copy, then delete
    {
        if (!bucket.TryGetValue(Key(oldPath), out var o))
            throw SftpException.NoSuchFile(oldPath);
        if (!bucket.TryAdd(Key(newPath), o))
            throw SftpException.Failed("exists: " + newPath);
        bucket.TryRemove(Key(oldPath), out _);
    }

    private sealed class PutOnClose(Action<byte[]> put) : MemoryStream
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                put(ToArray());
            base.Dispose(disposing);
        }
    }
}

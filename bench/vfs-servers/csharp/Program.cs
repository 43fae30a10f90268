// The C# binding's in-memory file system for bench/vfs-bench (issue 14 item 6), with the command
// line of the C sample sftpkit-memfs so the bench drives every language alike:
//   dotnet MemfsServer.dll --port P --user U:PW --seed /data.bin:MIB [--latency-ms N]
//       [--workers N] [--native ROOT]
// Files live in SFTPKit's MemoryFileSystem behind the provider interface; --latency-ms makes
// every read and write of a file wait (a remote back-end); --native serves ROOT through BaseDir
// in the same process. --async (or --deferred) serves the same files through the asynchronous
// provider form (UseAsyncFileSystem, positional reads: one file's READs overlap), the latency then
// awaited with Task.Delay instead of a blocked thread. SIGTERM stops it.
using SFTPKit;

int port = 0, workers = -1, latencyMs = 0;
bool useAsync = false;
string user = "", password = "";
string? nativeRoot = null;
var fs = new MemoryFileSystem(maxTotalBytes: 1L << 30);
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port": port = int.Parse(args[++i]); break;
        case "--user": (user, password) = (args[++i].Split(':', 2)[0], args[i].Split(':', 2)[1]); break;
        case "--seed":
            var seed = args[++i].Split(':');
            var data = new byte[int.Parse(seed[1]) << 20];
            for (int k = 0; k < data.Length; k++)
                data[k] = (byte)k;
            fs.WriteAllBytes(seed[0], data);
            break;
        case "--latency-ms": latencyMs = int.Parse(args[++i]); break;
        case "--workers": workers = int.Parse(args[++i]); break;
        case "--native": nativeRoot = args[++i]; break;
        case "--deferred":
        case "--async": useAsync = true; break;
        default:
            Console.Error.WriteLine($"MemfsServer: unknown option {args[i]}");
            return 2;
    }
}

using var hostKey = new SSHKey();
hostKey.Generate("ssh-ed25519", 0);
using var server = new SFTPServer { Host = "127.0.0.1", Port = port, ServerKeyCount = 1, UserCount = 1 };
server.SetServerKeyHandle(0, hostKey.Handle);
server.SetUserUsername(0, user);
server.SetUserPassword(0, password);
if (workers >= 0)
    server.Config($"WorkerThreads={workers}");
if (nativeRoot != null)
    server.BaseDir = nativeRoot;
else if (useAsync)
    server.UseAsyncFileSystem(latencyMs > 0 ? new SlowAsyncFileSystem(fs, latencyMs) : fs);
else
    server.UseFileSystem(latencyMs > 0 ? new SlowFileSystem(fs, latencyMs) : fs);
server.Start();
using var stop = new ManualResetEventSlim();
AppDomain.CurrentDomain.ProcessExit += (sender, e) => stop.Set();
Console.CancelKeyPress += (sender, e) => { e.Cancel = true; stop.Set(); };
stop.Wait();
server.Stop();
return 0;

/// <summary>A remote back-end's latency in front of another file system: every read and write waits.</summary>
sealed class SlowFileSystem(ISftpFileSystem inner, int latencyMs) : ISftpFileSystem
{
    public Stream OpenFile(string path, FileOpenMode mode) => new SlowStream(inner.OpenFile(path, mode), latencyMs);
    public SftpFileInfo GetInfo(string path) => inner.GetInfo(path);
    public IEnumerable<SftpFileInfo> List(string path) => inner.List(path);
    public void CreateDirectory(string path) => inner.CreateDirectory(path);
    public void RemoveDirectory(string path) => inner.RemoveDirectory(path);
    public void RemoveFile(string path) => inner.RemoveFile(path);
    public void Rename(string oldPath, string newPath) => inner.Rename(oldPath, newPath);
}

sealed class SlowStream(Stream inner, int latencyMs) : Stream, IPositionalRead
{
    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => inner.SetLength(value);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Thread.Sleep(latencyMs);
        return inner.Read(buffer);
    }

    // positional when the store's stream is (MemoryFileSystem's is): one file's slow READs overlap
    public int ReadAt(long offset, Span<byte> buffer)
    {
        Thread.Sleep(latencyMs);
        if (inner is IPositionalRead p)
            return p.ReadAt(offset, buffer);
        lock (inner)
        {
            inner.Position = offset;
            return inner.Read(buffer);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Thread.Sleep(latencyMs);
        inner.Write(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>The same latency in the asynchronous form: reads and writes await it, holding no thread.</summary>
sealed class SlowAsyncFileSystem(IAsyncSftpFileSystem inner, int latencyMs) : IAsyncSftpFileSystem
{
    public async ValueTask<IAsyncSftpFile> OpenFileAsync(string path, FileOpenMode mode, CancellationToken ct) =>
        new SlowFile(await inner.OpenFileAsync(path, mode, ct), latencyMs);
    public ValueTask<SftpFileInfo> GetInfoAsync(string path, CancellationToken ct) => inner.GetInfoAsync(path, ct);
    public IAsyncEnumerable<SftpFileInfo> ListAsync(string path, CancellationToken ct) => inner.ListAsync(path, ct);
    public ValueTask CreateDirectoryAsync(string path, CancellationToken ct) => inner.CreateDirectoryAsync(path, ct);
    public ValueTask RemoveDirectoryAsync(string path, CancellationToken ct) => inner.RemoveDirectoryAsync(path, ct);
    public ValueTask RemoveFileAsync(string path, CancellationToken ct) => inner.RemoveFileAsync(path, ct);
    public ValueTask RenameAsync(string oldPath, string newPath, CancellationToken ct) => inner.RenameAsync(oldPath, newPath, ct);
    public ValueTask SetInfoAsync(string path, SftpFileChange change, CancellationToken ct) => inner.SetInfoAsync(path, change, ct);

    private sealed class SlowFile(IAsyncSftpFile file, int latencyMs) : IAsyncSftpFile
    {
        public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
        {
            await Task.Delay(latencyMs, ct);
            return await file.ReadAsync(offset, buffer, ct);
        }

        public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            await Task.Delay(latencyMs, ct);
            await file.WriteAsync(offset, data, ct);
        }

        public ValueTask SetLengthAsync(long length, CancellationToken ct) => file.SetLengthAsync(length, ct);
        public ValueTask DisposeAsync() => file.DisposeAsync();
    }
}

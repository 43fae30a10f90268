#nullable enable
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// The asynchronous handler forms (issue 14 items 2 and 3) and the asynchronous provider (issue 15)
/// against a real client (SSH.NET): Task handlers on a slow back-end, cancellation on disconnect and
/// on stop, errors with their text, and the async void refusal.
/// </summary>
[Collection("server")]
public class AsyncHandlerTests
{
    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>
    /// A virtual file system in the event form: the open/close events are synchronous, READ and
    /// WRITE are Task handlers waiting <paramref name="latencyMs"/> (a slow back-end) before they
    /// answer through SetClientBuffer / GetClientBuffer and OperationStatus after the await.
    /// </summary>
    private sealed class SlowEventFs
    {
        public readonly ConcurrentDictionary<string, byte[]> Files = new();
        private readonly ConcurrentDictionary<string, string> _open = new();
        public string PathOf(string handle) => _open[handle];
        private int _inFlight, _next;
        public int MaxInFlight;
        public int Cancelled;
        public readonly TaskCompletionSource FirstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource TokenFired = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Install(SFTPServer srv, int latencyMs, Func<ReadFileEventArgs, Exception?>? fail = null)
        {
            srv.BaseDir = "";
            srv.OnBeforeDownloadFile += (_, e) => e.Action = FileRequestAction.fraCustom;
            srv.OnBeforeUploadFile += (_, e) => e.Action = FileRequestAction.fraCustom;
            srv.OnOpenFile += (_, e) =>
            {
                bool write = (e.Modes & (FileOpenMode.cfmWrite | FileOpenMode.cfmCreate | FileOpenMode.cfmTruncate)) != 0;
                if (write) Files[e.Path] = Array.Empty<byte>();
                else if (!Files.ContainsKey(e.Path)) { e.OperationStatus = OperationStatus.ostNoSuchFile; return; }
                e.Handle = "h" + Interlocked.Increment(ref _next);
                _open[e.Handle] = e.Path;
                e.OperationStatus = OperationStatus.ostOk;
            };
            srv.OnCloseFile += (_, e) => e.OperationStatus = _open.TryRemove(e.Handle, out string? _) ? OperationStatus.ostOk : OperationStatus.ostInvalidParameter;
            srv.OnReadFileAsync = async (e, ct) =>
            {
                Track(+1);
                FirstRead.TrySetResult();
                try
                {
                    await Wait(latencyMs, ct);
                    if (fail?.Invoke(e) is Exception ex) throw ex;
                    byte[] data = Files[_open[e.Handle]];
                    if (e.Offset >= data.Length) { e.OperationStatus = OperationStatus.ostEOF; return; }
                    int n = (int)Math.Min(e.Size, data.Length - e.Offset);
                    srv.SetClientBuffer(e.ConnectionId, e.Handle, data.AsSpan((int)e.Offset, n)); // after the await
                    e.OperationStatus = OperationStatus.ostOk;
                }
                finally
                {
                    Track(-1);
                }
            };
            srv.OnWriteFileAsync = async (e, ct) =>
            {
                await Wait(latencyMs, ct);
                byte[] chunk = srv.GetClientBuffer(e.ConnectionId, e.Handle); // after the await
                string path = _open[e.Handle];
                lock (Files)
                {
                    byte[] old = Files[path];
                    var buf = new byte[Math.Max(old.Length, e.Offset + chunk.Length)];
                    old.CopyTo(buf, 0);
                    chunk.CopyTo(buf, (int)e.Offset);
                    Files[path] = buf;
                }
                e.OperationStatus = OperationStatus.ostOk;
            };
        }

        private async Task Wait(int ms, CancellationToken ct)
        {
            try
            {
                await Task.Delay(ms, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref Cancelled);
                TokenFired.TrySetResult();
                throw;
            }
        }

        private void Track(int d)
        {
            int now = Interlocked.Add(ref _inFlight, d);
            int max;
            while (now > (max = Volatile.Read(ref MaxInFlight)) && Interlocked.CompareExchange(ref MaxInFlight, now, max) != max) { }
        }
    }

    [Fact]
    public void AsyncDownloadAndUploadOnASlowBackEndArriveIntact()
    {
        var fs = new SlowEventFs();
        byte[] original = Random(1_200_000, 7);
        fs.Files["/big.bin"] = original;
        // One worker thread: synchronous handlers could never overlap, deferred ones must.
        using var t = new TestServer(srv => { srv.Config("WorkerThreads=1"); fs.Install(srv, 20); });
        using var c = t.Client();
        c.Connect();
        var back = new MemoryStream();
        c.DownloadFile("/big.bin", back);
        Assert.Equal(SHA256.HashData(original), SHA256.HashData(back.ToArray()));
        Assert.True(fs.MaxInFlight >= 2, $"at most {fs.MaxInFlight} READ handler(s) were waiting at once: the requests were not deferred");

        byte[] up = Random(900_000, 8);
        c.UploadFile(new MemoryStream(up), "/up.bin");
        Assert.Equal(SHA256.HashData(up), SHA256.HashData(fs.Files["/up.bin"]));
    }

    [Fact]
    public void TwoSessionsDownloadAtOnceThroughAnAsyncProvider()
    {
        var mem = new MemoryFileSystem();
        byte[] original = Random(800_000, 9);
        mem.WriteAllBytes("/f.bin", original);
        var slow = new SlowProvider(mem, 15);
        using var t = new TestServer(srv => { srv.BaseDir = ""; srv.UseAsyncFileSystem(slow); });
        var results = new byte[2][];
        Parallel.For(0, 2, i =>
        {
            using var c = t.Client();
            c.Connect();
            var ms = new MemoryStream();
            c.DownloadFile("/f.bin", ms);
            results[i] = ms.ToArray();
        });
        Assert.All(results, r => Assert.Equal(SHA256.HashData(original), SHA256.HashData(r)));

        using var c2 = t.Client();
        c2.Connect();
        byte[] up = Random(500_000, 10);
        c2.UploadFile(new MemoryStream(up), "/up.bin");
        Assert.Equal(up, mem.ReadAllBytes("/up.bin"));
        Assert.True(slow.Reads > 0 && slow.Writes > 0, "the provider's async methods were not used");
    }

    [Fact]
    public void OneFilesReadsOverlapInTheAsyncProvider()
    {
        // Positional IAsyncSftpFile reads: one handle's READs wait at the same time (the Stream-based
        // synchronous provider serves them one by one). One worker thread, so only deferral allows it.
        var mem = new MemoryFileSystem();
        byte[] original = Random(1_000_000, 16);
        mem.WriteAllBytes("/one.bin", original);
        var slow = new SlowProvider(mem, 20);
        using var t = new TestServer(srv => { srv.Config("WorkerThreads=1"); srv.BaseDir = ""; srv.UseAsyncFileSystem(slow); });
        using var c = t.Client();
        c.Connect();
        var ms = new MemoryStream();
        c.DownloadFile("/one.bin", ms);
        Assert.Equal(SHA256.HashData(original), SHA256.HashData(ms.ToArray()));
        Assert.True(slow.MaxReadsAtOnce >= 2, $"at most {slow.MaxReadsAtOnce} read(s) of the file were waiting at once");
    }

    [Fact]
    public void ADisconnectCancelsTheHandlersToken()
    {
        var fs = new SlowEventFs();
        fs.Files["/f.bin"] = Random(100_000, 11);
        using var t = new TestServer(srv => fs.Install(srv, 600_000));
        var c = t.Client();
        c.Connect();
        var stream = c.OpenRead("/f.bin");
        var reading = Task.Run(() => stream.Read(new byte[1000], 0, 1000));
        Assert.True(fs.FirstRead.Task.Wait(TimeSpan.FromSeconds(20)), "the READ handler never ran");
        c.Dispose(); // the client goes away with the READ pending
        Assert.True(fs.TokenFired.Task.Wait(TimeSpan.FromSeconds(10)), "the handler's CancellationToken did not fire after the disconnect");
        Assert.True(fs.Cancelled >= 1);
        try { reading.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { } // the client side fails: expected
    }

    [Fact]
    public void StopWithHandlersInFlightReturnsAndCancelsThem()
    {
        var fs = new SlowEventFs();
        fs.Files["/f.bin"] = Random(100_000, 12);
        using var t = new TestServer(srv => fs.Install(srv, 600_000));
        using var c = t.Client();
        c.Connect();
        var stream = c.OpenRead("/f.bin");
        var reading = Task.Run(() => stream.Read(new byte[1000], 0, 1000));
        Assert.True(fs.FirstRead.Task.Wait(TimeSpan.FromSeconds(20)), "the READ handler never ran");
        var sw = Stopwatch.StartNew();
        t.Server.Stop();
        sw.Stop();
        // Bounded, not a speed measurement: the handler would wait ten minutes.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"Stop took {sw.Elapsed}");
        Assert.True(fs.TokenFired.Task.Wait(TimeSpan.FromSeconds(10)), "the handler's CancellationToken did not fire on Stop");
        try { reading.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }

    [Fact]
    public void AnSftpExceptionAfterTheAwaitReachesTheClientWithItsText()
    {
        var fs = new SlowEventFs();
        fs.Files["/gone.bin"] = Random(1000, 13);
        fs.Files["/crash.bin"] = Random(1000, 14);
        fs.Files["/ok.bin"] = Random(1000, 15);
        var errors = new ConcurrentQueue<Exception>();
        using var t = new TestServer(srv =>
        {
            fs.Install(srv, 5, e => fs.PathOf(e.Handle) switch
            {
                "/gone.bin" => new SFTPKit.SftpException(OperationStatus.ostNoSuchFile, "object vanished from the store"),
                "/crash.bin" => new InvalidOperationException("internal-detail of the back-end"),
                _ => null,
            });
            srv.HandlerException += (_, e) => errors.Enqueue(e.Exception);
        });
        using var c = t.Client();
        c.Connect();
        var gone = Assert.Throws<SftpPathNotFoundException>(() => c.ReadAllBytes("/gone.bin"));
        Assert.Contains("object vanished from the store", gone.Message);
        Assert.Empty(errors); // an SftpException is an answer, not a handler error

        var crash = Assert.ThrowsAny<SshException>(() => c.ReadAllBytes("/crash.bin"));
        Assert.DoesNotContain("internal-detail", crash.Message);
        Assert.Contains(errors, e => e.Message.Contains("internal-detail")); // reported on the server side
        Assert.Equal(fs.Files["/ok.bin"], c.ReadAllBytes("/ok.bin")); // the session still serves
    }

    [Fact]
    public void AsyncVoidHandlersAreRefusedAtAssignment()
    {
        using var srv = new SFTPServer();
        var read = Assert.Throws<ArgumentException>(() => srv.OnReadFile += async (s, e) => await Task.Yield());
        Assert.Contains("on_read_file", read.Message);
        Assert.Contains("OnReadFileAsync", read.Message);
        var connect = Assert.Throws<ArgumentException>(() => srv.OnConnect += AsyncVoidConnect);
        Assert.Contains("on_connect", connect.Message);
        // a synchronous handler and a Task handler are fine
        srv.OnReadFile += (s, e) => { };
        srv.OnReadFileAsync = async (e, ct) => await Task.Yield();
    }

    private static async void AsyncVoidConnect(object? sender, ConnectEventArgs e) => await Task.Yield();

    [Fact]
    public void ATaskHandlerOfASynchronousEventIsAwaitedOnTheServerThread()
    {
        using var t = new TestServer(srv =>
        {
            srv.OnAuthPasswordAsync = async (e, ct) =>
            {
                await Task.Delay(50, ct); // e.g. a directory lookup
                if (e.Username == "late" && e.Password == "pw") e.Accept = true;
            };
        }, withDemoUser: false);
        using (var ok = t.Client("late", "pw"))
            ok.Connect();
        using var bad = t.Client("late", "wrong");
        Assert.ThrowsAny<SshAuthenticationException>(() => bad.Connect());
    }

    /// <summary>An asynchronous provider over a MemoryFileSystem whose reads and writes take a while.</summary>
    private sealed class SlowProvider : IAsyncSftpFileSystem
    {
        private readonly IAsyncSftpFileSystem _inner;
        private readonly int _ms;
        public int Reads, Writes, MaxReadsAtOnce;
        private int _reading;

        public SlowProvider(MemoryFileSystem inner, int ms) { _inner = inner; _ms = ms; }

        public async ValueTask<IAsyncSftpFile> OpenFileAsync(string path, FileOpenMode mode, CancellationToken ct) =>
            new File(this, await _inner.OpenFileAsync(path, mode, ct));
        public ValueTask<SftpFileInfo> GetInfoAsync(string path, CancellationToken ct) => _inner.GetInfoAsync(path, ct);
        public IAsyncEnumerable<SftpFileInfo> ListAsync(string path, CancellationToken ct) => _inner.ListAsync(path, ct);
        public ValueTask CreateDirectoryAsync(string path, CancellationToken ct) => _inner.CreateDirectoryAsync(path, ct);
        public ValueTask RemoveDirectoryAsync(string path, CancellationToken ct) => _inner.RemoveDirectoryAsync(path, ct);
        public ValueTask RemoveFileAsync(string path, CancellationToken ct) => _inner.RemoveFileAsync(path, ct);
        public ValueTask RenameAsync(string o, string n, CancellationToken ct) => _inner.RenameAsync(o, n, ct);
        public ValueTask SetInfoAsync(string path, SftpFileChange c, CancellationToken ct) => _inner.SetInfoAsync(path, c, ct);

        private sealed class File : IAsyncSftpFile
        {
            private readonly SlowProvider _p;
            private readonly IAsyncSftpFile _f;
            public File(SlowProvider p, IAsyncSftpFile f) { _p = p; _f = f; }

            public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
            {
                Interlocked.Increment(ref _p.Reads);
                int now = Interlocked.Increment(ref _p._reading);
                int max;
                while (now > (max = Volatile.Read(ref _p.MaxReadsAtOnce)) && Interlocked.CompareExchange(ref _p.MaxReadsAtOnce, now, max) != max) { }
                try
                {
                    await Task.Delay(_p._ms, ct);
                    return await _f.ReadAsync(offset, buffer, ct);
                }
                finally
                {
                    Interlocked.Decrement(ref _p._reading);
                }
            }

            public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
            {
                Interlocked.Increment(ref _p.Writes);
                await Task.Delay(_p._ms, ct);
                await _f.WriteAsync(offset, data, ct);
            }

            public ValueTask SetLengthAsync(long length, CancellationToken ct) => _f.SetLengthAsync(length, ct);
            public ValueTask DisposeAsync() => _f.DisposeAsync();
        }
    }
}

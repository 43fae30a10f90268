using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// A server in this process, SSH.NET as the client: interop, events on server threads, handler
/// exceptions, 20 concurrent clients, Dispose while serving.
/// </summary>
[Collection("server")]
public class ServerTests
{
    [Fact]
    public void SshNetUploadsListsAndDownloads()
    {
        using var t = new TestServer();
        using var c = t.Client();
        c.Connect();
        byte[] payload = new byte[300_000];
        new Random(7).NextBytes(payload);
        c.UploadFile(new MemoryStream(payload), "/data.bin");
        c.CreateDirectory("/sub");
        c.UploadFile(new MemoryStream(Encoding.UTF8.GetBytes("grüße")), "/sub/ü.txt");
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(t.Root, "data.bin")));
        var names = c.ListDirectory("/").Select(f => f.Name).ToHashSet();
        Assert.Contains("data.bin", names);
        Assert.Contains("sub", names);
        var back = new MemoryStream();
        c.DownloadFile("/data.bin", back);
        Assert.Equal(payload, back.ToArray());
        Assert.Equal("grüße", c.ReadAllText("/sub/ü.txt"));
        c.DeleteFile("/sub/ü.txt");
        Assert.False(File.Exists(Path.Combine(t.Root, "sub", "ü.txt")));
        c.Disconnect();
    }

    [Fact]
    public void CallbackAuthenticationRunsOnAServerThreadWithUtf8Credentials()
    {
        int testThread = Environment.CurrentManagedThreadId;
        var seen = new ConcurrentQueue<(string User, string Password, int Thread)>();
        using var t = new TestServer(srv =>
        {
            srv.OnAuthPassword += (sender, e) =>
            {
                Assert.Same(srv, sender);
                seen.Enqueue((e.Username, e.Password, Environment.CurrentManagedThreadId));
                Assert.False(e.Accept); // the library's verdict: no such user in its list
                e.Accept = e.Username == "alice" && e.Password == "s3cret-ü😀";
            };
        }, withDemoUser: false);
        using (var ok = t.Client("alice", "s3cret-ü😀"))
        {
            ok.Connect();
            Assert.True(ok.Exists("/"));
        }
        using (var bad = t.Client("alice", "wrong"))
            Assert.Throws<SshAuthenticationException>(() => bad.Connect());
        Assert.Contains(seen, s => s.User == "alice" && s.Password == "s3cret-ü😀");
        Assert.All(seen, s => Assert.NotEqual(testThread, s.Thread));
    }

    [Fact]
    public void AHandlerThatThrowsDeniesTheLoginAndIsReported()
    {
        var reported = new ConcurrentQueue<HandlerExceptionEventArgs>();
        using var t = new TestServer(srv =>
        {
            srv.OnAuthPassword += (sender, e) =>
            {
                e.Accept = true; // then fails: the decision must not stay "yes"
                throw new InvalidOperationException("user store unavailable");
            };
            srv.HandlerException += (sender, e) => reported.Enqueue(e);
        });
        // demo/demo is in the server's own list, so the library's verdict was "accept": still denied.
        using (var c = t.Client())
            Assert.Throws<SshAuthenticationException>(() => c.Connect());
        Assert.True(t.Server.HandlerExceptionCount >= 1);
        Assert.Contains(reported, r => r.EventName == "on_auth_password" && r.Exception.Message == "user store unavailable");
        Assert.IsType<InvalidOperationException>(t.Server.LastHandlerException);
    }

    [Fact]
    public void EventArgsCannotBeChangedAfterTheHandlerReturned()
    {
        AuthPasswordEventArgs kept = null;
        using var t = new TestServer(srv => srv.OnAuthPassword += (s, e) => kept = e);
        using (var c = t.Client())
            c.Connect();
        Assert.NotNull(kept);
        Assert.Equal("demo", kept.Username);
        Assert.True(kept.Accept);
        Assert.Throws<InvalidOperationException>(() => kept.Accept = false);
    }

    [Fact]
    public void TwentyConcurrentClientsFireEveryEventAndHandlersSurviveGC()
    {
        const int clients = 20;
        var connects = new ConcurrentDictionary<long, int>();
        var disconnects = new ConcurrentDictionary<long, int>();
        var auths = new ConcurrentDictionary<long, string>();
        var uploads = new ConcurrentBag<string>();
        var threads = new ConcurrentDictionary<int, bool>();
        using var allGone = new CountdownEvent(clients);
        using var t = new TestServer(srv =>
        {
            // 20 handshakes at once from one address is a burst the default admission control
            // (PerSourceMaxStartups 8, MaxStartups 10:30:100) refuses in part, by design.
            srv.Config("MaxStartups=0");
            srv.Config("PerSourceMaxStartups=0");
            srv.OnConnect += (s, e) => { connects[e.ConnectionId] = 1; threads[Environment.CurrentManagedThreadId] = true; };
            srv.OnAuthPassword += (s, e) =>
            {
                GC.Collect(); // delegates and args must survive collections mid-event
                auths[e.ConnectionId] = e.Username;
                e.Accept = e.Username.StartsWith("user") && e.Password == "pw-" + e.Username;
            };
            srv.OnBeforeUploadFile += (s, e) => uploads.Add(e.Path);
            srv.OnDisconnect += (s, e) =>
            {
                if (disconnects.TryAdd(e.ConnectionId, 1))
                    allGone.Signal();
            };
        }, withDemoUser: false);
        var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(() =>
        {
            start.Wait();
            using var c = t.Client("user" + i, "pw-user" + i);
            c.Connect();
            c.UploadFile(new MemoryStream(Encoding.ASCII.GetBytes("client " + i)), "/f" + i + ".txt");
            Assert.Equal("client " + i, c.ReadAllText("/f" + i + ".txt"));
            c.Disconnect();
        })).ToArray();
        start.Set();
        Assert.True(Task.WaitAll(tasks, TimeSpan.FromSeconds(120)), "clients did not finish");
        Assert.True(allGone.Wait(TimeSpan.FromSeconds(30)), "not every disconnect was reported");
        Assert.Equal(clients, connects.Count);
        Assert.Equal(clients, auths.Count);
        Assert.Equal(clients, disconnects.Count);
        Assert.Equal(clients, uploads.Distinct().Count());
        Assert.Equal(clients, auths.Values.Distinct().Count());
        Assert.True(connects.Keys.ToHashSet().SetEquals(disconnects.Keys));
        Assert.Equal(0, t.Server.HandlerExceptionCount);
    }

    [Fact]
    public void DisposeStopsTheServerAndClosesConnections()
    {
        var t = new TestServer();
        var c = t.Client();
        c.Connect();
        Assert.True(t.Server.Active);
        t.Dispose();
        Assert.True(t.Server.IsDisposed);
        Assert.Throws<SocketException>(() => new TcpClient("127.0.0.1", t.Port).Dispose());
        Assert.ThrowsAny<Exception>(() => c.ListDirectory("/").ToList());
        c.Dispose();
    }

    [Fact]
    public void DisposeFromInsideAHandlerDoesNotDeadlock()
    {
        var t = new TestServer();
        using var disposed = new ManualResetEventSlim();
        t.Server.OnAuthSucceeded += (s, e) =>
        {
            t.Server.Dispose();
            disposed.Set();
        };
        var c = t.Client();
        try { c.Connect(); c.ListDirectory("/").ToList(); } catch (Exception) { /* the server went away */ }
        Assert.True(disposed.Wait(TimeSpan.FromSeconds(20)));
        // The native free runs on the thread pool once the handler returned; the port closes.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        bool closed = false;
        while (!closed && DateTime.UtcNow < deadline)
        {
            try { new TcpClient("127.0.0.1", t.Port).Dispose(); Thread.Sleep(100); }
            catch (SocketException) { closed = true; }
        }
        Assert.True(closed, "the server still listens after Dispose from a handler");
        c.Dispose();
        t.Dispose();
    }

    [Fact]
    public void AStartedServerIsNotCollectedWhenTheProgramDropsItsReference()
    {
        int port = TestServer.FreePort();
        WeakReference weak = StartAndForget(port);
        for (int i = 0; i < 3; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        Assert.True(weak.IsAlive);
        using (var c = new SftpClient("127.0.0.1", port, "demo", "demo"))
        {
            c.HostKeyReceived += (s, e) => e.CanTrust = true;
            c.Connect();
            Assert.True(c.Exists("/"));
        }
        DisposeTarget(weak);
        for (int i = 0; i < 3 && weak.IsAlive; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        Assert.False(weak.IsAlive);
    }

    // Separate frames: a debug-compiled test method keeps its temporaries alive to the end.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void DisposeTarget(WeakReference weak) => ((SFTPServer)weak.Target!).Dispose();

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference StartAndForget(int port)
    {
        var srv = new SFTPServer();
        using var key = new SSHKey();
        key.Generate("ssh-ed25519", 0);
        srv.ServerKeyCount = 1;
        srv.SetServerKeyHandle(0, key.Handle);
        srv.Host = "127.0.0.1";
        srv.Port = port;
        srv.BaseDir = Path.GetTempPath();
        srv.UserCount = 1;
        srv.SetUserUsername(0, "demo");
        srv.SetUserPassword(0, "demo");
        srv.OnConnect += (s, e) => { };
        srv.Start();
        return new WeakReference(srv);
    }
}

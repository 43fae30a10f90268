using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>Dispose, finalizer safety net, concurrent use, keys.</summary>
public class LifetimeTests
{
    [Fact]
    public void DisposeIsIdempotentAndLaterUseThrowsObjectDisposed()
    {
        var srv = new SFTPServer();
        srv.Port = 2022;
        Assert.False(srv.IsDisposed);
        srv.Dispose();
        srv.Dispose();
        Assert.True(srv.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => srv.Port);
        Assert.Throws<ObjectDisposedException>(() => srv.Port = 1);
        Assert.Throws<ObjectDisposedException>(() => srv.Start());
        Assert.Throws<ObjectDisposedException>(() => srv.OnConnect += (s, e) => { });
    }

    [Fact]
    public void DisposeWhileOtherThreadsUseTheServerNeverCrashes()
    {
        for (int round = 0; round < 20; round++)
        {
            var srv = new SFTPServer();
            srv.UserCount = 1;
            using var go = new ManualResetEventSlim();
            var workers = Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            {
                go.Wait();
                try
                {
                    for (int n = 0; n < 2000; n++)
                    {
                        srv.SetUserPassword(0, "p" + n);
                        _ = srv.GetUserPassword(0);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // expected once Dispose won the race
                }
            })).ToArray();
            go.Set();
            Thread.Sleep(round % 3);
            srv.Dispose();
            Task.WaitAll(workers);
            Assert.True(srv.IsDisposed);
        }
    }

    [Fact]
    public void UndisposedServersAreReleasedByTheFinalizerSafetyNet()
    {
        // Not the mechanism (Dispose is), but servers that are never disposed must not crash or
        // leak handlers: subscribe, drop, collect.
        WeakReference[] refs = MakeGarbage(200);
        for (int i = 0; i < 5 && refs.Any(r => r.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.DoesNotContain(refs, r => r.IsAlive);
    }

    private static WeakReference[] MakeGarbage(int n)
    {
        var refs = new WeakReference[n];
        for (int i = 0; i < n; i++)
        {
            var srv = new SFTPServer();
            srv.BaseDir = "/tmp/x" + i;
            srv.OnConnect += (s, e) => { };
            refs[i] = new WeakReference(srv);
        }
        return refs;
    }

    [Fact]
    public void ExceptionsCarryCodeAndMessage()
    {
        using var srv = new SFTPServer();
        var e = Assert.Throws<SFTPKitException>(() => srv.MinSftpVersion = 99);
        Assert.Equal(1048580, e.Code);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.Contains("1048580", e.ToString());
    }
}

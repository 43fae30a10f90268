using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// Event dispatch driven by native test hooks (tests/csharp/native/fire_hooks.c) that fire events
/// through the core's own sfk_fire_on_X helpers, from this thread or from new native threads:
/// by-ref write-back, the library's initial verdict, fail-closed on exceptions, UTF-8, threads.
/// </summary>
public unsafe class DispatchTests
{
    private static readonly IntPtr Hooks = NativeLibrary.Load(
        Environment.GetEnvironmentVariable("SFTPKIT_CS_TEST_HOOKS")
        ?? throw new InvalidOperationException("SFTPKIT_CS_TEST_HOOKS is not set (run tests/csharp/run-tests)"));

    private static T* Fn<T>(string name) where T : unmanaged => (T*)NativeLibrary.GetExport(Hooks, name);

    private static IntPtr NativeOf(SFTPServer srv)
    {
        var h = (SafeHandle)typeof(SFTPServer).GetField("_handle", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(srv)!;
        return h.DangerousGetHandle();
    }

    private static byte[] Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

    private static (int Ran, bool Accept) FireAuthPassword(SFTPServer srv, string user, string password, bool acceptIn)
    {
        var fire = (delegate* unmanaged<IntPtr, long, byte*, byte*, int, int*, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_auth_password");
        int accept;
        fixed (byte* u = Z(user), p = Z(password))
        {
            int ran = fire(NativeOf(srv), 7, u, p, acceptIn ? 1 : 0, &accept);
            return (ran, accept != 0);
        }
    }

    [Fact]
    public void NoSubscriberNoNativeHandler()
    {
        using var srv = new SFTPServer();
        Assert.Equal((0, true), FireAuthPassword(srv, "u", "p", true)); // nothing installed, verdict kept
    }

    [Fact]
    public void ByRefParametersStartAtTheLibraryVerdictAndAreWrittenBack()
    {
        using var srv = new SFTPServer();
        var initial = new ConcurrentQueue<bool>();
        srv.OnAuthPassword += (s, e) =>
        {
            initial.Enqueue(e.Accept);
            Assert.Equal(7L, e.ConnectionId);
            if (e.Username == "deny") e.Accept = false;
            if (e.Username == "allow") e.Accept = true;
        };
        Assert.Equal((1, true), FireAuthPassword(srv, "keep", "x", true));    // untouched: verdict stays
        Assert.Equal((1, false), FireAuthPassword(srv, "keep", "x", false));
        Assert.Equal((1, false), FireAuthPassword(srv, "deny", "x", true));   // overruled either way
        Assert.Equal((1, true), FireAuthPassword(srv, "allow", "x", false));
        Assert.Equal(new[] { true, false, true, false }, initial.ToArray());
    }

    [Fact]
    public void MultipleSubscribersShareOneArgsObject()
    {
        using var srv = new SFTPServer();
        srv.OnAuthPassword += (s, e) => e.Accept = true;
        srv.OnAuthPassword += (s, e) => e.Accept = e.Accept && e.Password == "ok";
        Assert.True(FireAuthPassword(srv, "u", "ok", false).Accept);
        Assert.False(FireAuthPassword(srv, "u", "no", false).Accept);
    }

    [Fact]
    public void AThrowingHandlerFailsClosedAndIsReported()
    {
        using var srv = new SFTPServer();
        var reported = new ConcurrentQueue<HandlerExceptionEventArgs>();
        srv.HandlerException += (s, e) => reported.Enqueue(e);
        srv.OnAuthPassword += (s, e) =>
        {
            e.Accept = true;
            throw new InvalidOperationException("boom");
        };
        Assert.Equal((1, false), FireAuthPassword(srv, "u", "p", true)); // library said yes: still denied
        Assert.Single(reported);
        Assert.Equal("on_auth_password", reported.First().EventName);
        Assert.Equal("boom", reported.First().Exception.Message);
        Assert.Equal(1, srv.HandlerExceptionCount);
        Assert.IsType<InvalidOperationException>(srv.LastHandlerException);
    }

    [Fact]
    public void AThrowingHandlerWithoutListenersGoesToStandardErrorNotIntoC()
    {
        using var srv = new SFTPServer();
        srv.OnAuthPassword += (s, e) => throw new StackOverflowGuardException();
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            Assert.False(FireAuthPassword(srv, "u", "p", true).Accept);
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains("on_auth_password", err.ToString());
        Assert.Contains(nameof(StackOverflowGuardException), err.ToString());
    }

    private sealed class StackOverflowGuardException : Exception { }

    [Fact]
    public void StringByRefParametersRoundTripAsUtf8()
    {
        using var srv = new SFTPServer();
        srv.OnOpenFile += (s, e) =>
        {
            Assert.Equal("/dír/😀.txt", e.Path);
            e.Handle = "hándle-" + e.Path;
            e.OperationStatus = OperationStatus.ostOk;
        };
        srv.OnTranslatePath += (s, e) =>
        {
            e.AbsolutePath = "/virtual" + e.Path;
            e.Action = FileRequestAction.fraCustom;
        };
        var open = (delegate* unmanaged<IntPtr, long, byte*, long*, IntPtr*, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_open_file");
        var translate = (delegate* unmanaged<IntPtr, long, byte*, IntPtr*, long*, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_translate_path");
        var free = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(Hooks, "sfkt_free");
        long status = (long)OperationStatus.ostNoSuchFile, action = (long)FileRequestAction.fraAuto;
        IntPtr handle, abs;
        fixed (byte* p = Z("/dír/😀.txt"))
        {
            Assert.Equal(1, open(NativeOf(srv), 1, p, &status, &handle));
            Assert.Equal(1, translate(NativeOf(srv), 1, p, &abs, &action));
        }
        Assert.Equal(OperationStatus.ostOk, (OperationStatus)status);
        Assert.Equal(FileRequestAction.fraCustom, (FileRequestAction)action);
        Assert.Equal("hándle-/dír/😀.txt", Marshal.PtrToStringUTF8(handle));
        Assert.Equal("/virtual/dír/😀.txt", Marshal.PtrToStringUTF8(abs));
        free(handle);
        free(abs);
    }

    [Fact]
    public void FailClosedSetsActionAbortAndAccessDenied()
    {
        using var srv = new SFTPServer();
        srv.HandlerException += (s, e) => { };
        srv.OnOpenFile += (s, e) => throw new IOException("disk gone");
        srv.OnTranslatePath += (s, e) => throw new IOException("disk gone");
        var open = (delegate* unmanaged<IntPtr, long, byte*, long*, IntPtr*, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_open_file");
        var translate = (delegate* unmanaged<IntPtr, long, byte*, IntPtr*, long*, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_translate_path");
        long status = (long)OperationStatus.ostOk, action = (long)FileRequestAction.fraAuto;
        IntPtr handle, abs;
        fixed (byte* p = Z("/a"))
        {
            open(NativeOf(srv), 1, p, &status, &handle);
            translate(NativeOf(srv), 1, p, &abs, &action);
        }
        Assert.Equal(OperationStatus.ostAccessDenied, (OperationStatus)status);
        Assert.Equal(FileRequestAction.fraAbort, (FileRequestAction)action);
        Assert.Equal(2, srv.HandlerExceptionCount);
    }

    [Fact]
    public void EventsFromTwentyNativeThreadsAllArriveWithLiveDelegates()
    {
        using var srv = new SFTPServer();
        var ids = new ConcurrentDictionary<long, int>();
        var threads = new ConcurrentDictionary<int, bool>();
        int mainThread = Environment.CurrentManagedThreadId;
        srv.OnConnect += (s, e) =>
        {
            if (e.ConnectionId % 50 == 0)
                GC.Collect(); // the native thread re-enters after collections: nothing may have moved or died
            ids.AddOrUpdate(e.ConnectionId, 1, (_, n) => n + 1);
            threads[Environment.CurrentManagedThreadId] = true;
            Assert.Equal("127.0.0.1", e.RemoteAddress);
        };
        var fire = (delegate* unmanaged<IntPtr, int, int, int>)NativeLibrary.GetExport(Hooks, "sfkt_fire_connect_threads");
        int ran = fire(NativeOf(srv), 20, 200);
        Assert.Equal(4000, ran);
        Assert.Equal(4000, ids.Count);
        Assert.All(ids.Values, n => Assert.Equal(1, n));
        Assert.DoesNotContain(mainThread, threads.Keys);
        Assert.True(threads.Count >= 2);
        Assert.Equal(0, srv.HandlerExceptionCount);
    }

    [Fact]
    public void UnsubscribedHandlersStopRunning()
    {
        using var srv = new SFTPServer();
        int calls = 0;
        EventHandler<AuthPasswordEventArgs> h = (s, e) => { calls++; e.Accept = true; };
        srv.OnAuthPassword += h;
        Assert.True(FireAuthPassword(srv, "u", "p", false).Accept);
        srv.OnAuthPassword -= h;
        Assert.False(FireAuthPassword(srv, "u", "p", false).Accept);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void DisposeFromInsideAHandlerIsDeferredNotDeadlocked()
    {
        var srv = new SFTPServer();
        srv.OnAuthPassword += (s, e) =>
        {
            srv.Dispose();           // joins nothing on this thread: the free is handed to the pool
            Assert.True(srv.IsDisposed);
            e.Accept = true;         // the args stay valid until the handler returns
        };
        var t = Task.Run(() => FireAuthPassword(srv, "u", "p", false));
        Assert.True(t.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(t.Result.Accept);
        Assert.Throws<ObjectDisposedException>(() => srv.Port);
    }
}

using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// SFTPServer.DeferRequest / PendingRequest (the deferred-completion C ABI). Completion across
/// threads, ordering and cancellation are proven over real connections by the conformance cases
/// fs_parallel.deferred.* (tests/conformance/runners/csharp/run BUILD fs_parallel).
/// </summary>
public class DeferredTests
{
    [Fact]
    public void DeferRequestOutsideAReadOrWriteHandlerThrowsTheLibrarysReason()
    {
        // The P/Invoke must reach sftpkit_server_defer_request and turn its NULL into the thread's
        // last error: a wrong entry point would throw EntryPointNotFoundException instead, and a
        // NULL taken for a token would return a PendingRequest.
        using var srv = new SFTPServer();
        var ex = Assert.Throws<SFTPKitException>(() => srv.DeferRequest(1, "h"));
        Assert.NotEqual(0, ex.Code);
        Assert.Contains("on_read_file", ex.Message);
    }

    [Fact]
    public void DeferRequestAfterDisposeThrowsObjectDisposed()
    {
        var srv = new SFTPServer();
        srv.Dispose();
        Assert.Throws<ObjectDisposedException>(() => srv.DeferRequest(1, null));
    }
}

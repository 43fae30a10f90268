#nullable enable
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>ILogger, the .NET host integration, typed values and the span/memory buffer calls.</summary>
[Collection("server")]
public class IntegrationTests
{
    /// <summary>An ILogger that keeps what it gets, enabled from a minimum level.</summary>
    internal sealed class ListLogger : ILogger
    {
        public readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Error)> Lines = new();
        private readonly LogLevel _min;

        public ListLogger(LogLevel min) => _min = min;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= _min && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception), exception));
    }

    [Fact]
    public void TheNativeLogAndHandlerErrorsGoToTheILogger()
    {
        var log = new ListLogger(LogLevel.Debug);
        using var t = new TestServer(srv =>
        {
            srv.Logger = log;
            srv.OnAuthPassword += (s, e) =>
            {
                if (e.Username == "boom")
                    throw new InvalidOperationException("user store down");
            };
        });
        Assert.Equal("debug", t.Server.Config("LogLevel").ToLowerInvariant()); // the logger's own minimum
        using (var c = t.Client())
            c.Connect();
        using (var bad = t.Client("boom", "x"))
            Assert.ThrowsAny<Exception>(() => bad.Connect());
        // native lines arrive with their level mapped and their module; nothing below Debug
        Assert.Contains(log.Lines, l => l.Level is LogLevel.Information or LogLevel.Debug && l.Message.Contains(": "));
        Assert.DoesNotContain(log.Lines, l => l.Level == LogLevel.Trace);
        var err = Assert.Single(log.Lines, l => l.Error is InvalidOperationException);
        Assert.Equal(LogLevel.Error, err.Level);
        Assert.Contains("on_auth_password", err.Message);
        Assert.Equal("user store down", err.Error!.Message);
    }

    [Fact]
    public void ALoggerFromWarningSetsTheNativeLevelAndNullRestoresIt()
    {
        using var srv = new SFTPServer();
        srv.Logger = new ListLogger(LogLevel.Warning);
        Assert.Equal("warning", srv.Config("LogLevel").ToLowerInvariant());
        srv.Logger = new ListLogger(LogLevel.Critical);
        Assert.Equal("fatal", srv.Config("LogLevel").ToLowerInvariant());
        srv.Logger = null;
        Assert.Equal("none", srv.Config("LogLevel").ToLowerInvariant());
    }

    [Fact]
    public async Task AddSftpServerRunsTheServerAsAHostedService()
    {
        int port = TestServer.FreePort();
        var log = new ListLogger(LogLevel.Information);
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(new OneLoggerFactory(log));
        services.AddSingleton(new MemoryFileSystem());
        services.AddSftpServer((sp, srv) =>
        {
            using var key = new SSHKey();
            key.Generate("ssh-ed25519", 0);
            srv.Host = "127.0.0.1";
            srv.Port = port;
            srv.ServerKeyCount = 1;
            srv.SetServerKeyHandle(0, key.Handle);
            srv.OnAuthPassword += (s, e) => e.Accept = e.Username == "host" && e.Password == "pw";
            srv.UseFileSystem(sp.GetRequiredService<MemoryFileSystem>());
        });
        SFTPServer server;
        await using (var provider = services.BuildServiceProvider())
        {
            var hosted = Assert.Single(provider.GetServices<IHostedService>());
            server = provider.GetRequiredService<SFTPServer>();
            Assert.NotNull(server.Logger); // ILogger<SFTPServer> over the container's factory
            await hosted.StartAsync(CancellationToken.None);
            Assert.True(server.Active);
            using (var c = new Renci.SshNet.SftpClient("127.0.0.1", port, "host", "pw"))
            {
                c.HostKeyReceived += (s, e) => e.CanTrust = true;
                c.Connect();
                c.WriteAllText("/hosted.txt", "via the host");
            }
            Assert.Equal("via the host", Encoding.UTF8.GetString(provider.GetRequiredService<MemoryFileSystem>().ReadAllBytes("/hosted.txt")));
            await hosted.StopAsync(CancellationToken.None);
            Assert.False(server.Active);
        }
        Assert.True(server.IsDisposed); // the container disposed its singleton
        Assert.NotEmpty(log.Lines);
    }

    private sealed class OneLoggerFactory : ILoggerFactory
    {
        private readonly ILogger _log;
        public OneLoggerFactory(ILogger log) => _log = log;
        public void AddProvider(ILoggerProvider provider) { }
        public ILogger CreateLogger(string categoryName) => _log;
        public void Dispose() { }
    }

    [Fact]
    public async Task DisposeAsyncStopsAndFrees()
    {
        var srv = new SFTPServer();
        await srv.DisposeAsync();
        Assert.True(srv.IsDisposed);
        await srv.DisposeAsync(); // twice is fine
    }

    [Fact]
    public void ValueSetsAreEnumsAndTimesAreDateTimeOffsets()
    {
        Assert.True(typeof(FileOpenMode).IsDefined(typeof(FlagsAttribute), false));
        Assert.True(typeof(AuthType).IsDefined(typeof(FlagsAttribute), false));
        Assert.False(typeof(OperationStatus).IsDefined(typeof(FlagsAttribute), false));
        Assert.Equal(typeof(long), Enum.GetUnderlyingType(typeof(OperationStatus)));
        Assert.Equal(26L, (long)(FileOpenMode.cfmWrite | FileOpenMode.cfmCreate | FileOpenMode.cfmTruncate));
        using var srv = new SFTPServer();
        Assert.Equal(AuthType.atPublicKey | AuthType.atPassword | AuthType.atHostbased | AuthType.atKeyboard, srv.AuthTypes);
        srv.AuthTypes = AuthType.atPassword;
        Assert.Equal(AuthType.atPassword, srv.AuthTypes);
        // client_file_entry_* times: null = not set; a value round-trips at second precision (UTC)
        Assert.Null(srv.ClientFileEntryMTime);
        var when = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.FromHours(2));
        srv.ClientFileEntryMTime = when;
        Assert.Equal(when, srv.ClientFileEntryMTime);
        Assert.Equal(TimeSpan.Zero, srv.ClientFileEntryMTime!.Value.Offset);
        srv.ClientFileEntryMTime = null;
        Assert.Null(srv.ClientFileEntryMTime);
        Assert.Equal(FileType.cftUnknown, srv.ClientFileEntryFileType);
    }

    [Fact]
    public void SpanBuffersServeReadsAndWritesWithoutByteArrays()
    {
        var files = new ConcurrentDictionary<string, byte[]>();
        var open = new ConcurrentDictionary<string, (string Path, MemoryStream Data)>();
        Exception? outside = null;
        int reads = 0, writes = 0;
        byte[] scratch = new byte[SFTPServer.MaxWriteLength];
        using var t = new TestServer(srv =>
        {
            srv.BaseDir = "";
            srv.OnBeforeDownloadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
            srv.OnBeforeUploadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
            srv.OnOpenFile += (s, e) =>
            {
                var ms = new MemoryStream();
                if (files.TryGetValue(e.Path, out var have) && (e.Modes & FileOpenMode.cfmTruncate) == 0)
                    ms.Write(have);
                open[e.Handle] = (e.Path, ms);
            };
            srv.OnWriteFile += (s, e) =>
            {
                var f = open[e.Handle].Data;
                // into memory the handler owns (no byte[] from the binding), Span or Memory
                int n = Interlocked.Increment(ref writes) % 2 == 0
                    ? srv.GetClientBuffer(e.ConnectionId, e.Handle, scratch.AsSpan())
                    : srv.GetClientBuffer(e.ConnectionId, null, scratch.AsMemory());
                Assert.True(n > 0);
                // a destination too small copies nothing and says so
                var tooSmall = Assert.Throws<SFTPKitException>(() => srv.GetClientBuffer(e.ConnectionId, null, new Span<byte>(scratch, 0, n - 1)));
                Assert.Equal(ErrorCode.InvalidParameter, tooSmall.Code);
                f.Position = e.Offset;
                f.Write(scratch, 0, n);
            };
            srv.OnReadFile += (s, e) =>
            {
                var f = open[e.Handle].Data;
                if (e.Offset >= f.Length) { e.OperationStatus = OperationStatus.ostEOF; return; }
                int n = (int)Math.Min(e.Size, f.Length - e.Offset);
                if (Interlocked.Increment(ref reads) % 2 == 0) // both forms, alternately
                    srv.SetClientBuffer(e.ConnectionId, e.Handle, f.GetBuffer().AsSpan((int)e.Offset, n));
                else
                    srv.SetClientBuffer(e.ConnectionId, null, new ReadOnlyMemory<byte>(f.GetBuffer(), (int)e.Offset, n));
            };
            srv.OnCloseFile += (s, e) =>
            {
                if (open.TryRemove(e.Handle, out var f))
                    files[f.Path] = f.Data.ToArray();
            };
        });
        try
        {
            t.Server.GetClientBuffer(1, null, scratch.AsSpan());
        }
        catch (SFTPKitException ex)
        {
            outside = ex;
        }
        Assert.Equal(ErrorCode.InvalidParameter, Assert.IsType<SFTPKitException>(outside).Code);
        using var c = t.Client();
        c.Connect();
        byte[] data = new byte[333_333];
        new Random(9).NextBytes(data);
        c.UploadFile(new MemoryStream(data), "/x.bin");
        Assert.Equal(data, files["/x.bin"]);
        var back = new MemoryStream();
        c.DownloadFile("/x.bin", back);
        Assert.Equal(data, back.ToArray());
    }
}

using System.Reflection;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>The generated surface: names, types, defaults, errors and UTF-8 crossing.</summary>
public class PropertyTests
{
    [Theory]
    [InlineData("Port", 22L)]
    [InlineData("AuthTypes", 30L)]
    [InlineData("CompressionLevel", 9L)]
    [InlineData("MaxSftpVersion", 6L)]
    [InlineData("SocketTimeout", 60000L)]
    [InlineData("UserCount", 0L)]
    [InlineData("ServerKeyCount", 0L)]
    [InlineData("PinnedClientId", -1L)]
    [InlineData("SshSettingsDefaultWindowSize", 2048000L)]
    public void IntegerDefaultsAreTheDocuments(string name, long expected)
    {
        using var srv = new SFTPServer();
        Assert.Equal(expected, (long)typeof(SFTPServer).GetProperty(name)!.GetValue(srv)!);
    }

    [Fact]
    public void OtherDefaults()
    {
        using var srv = new SFTPServer();
        Assert.False(srv.Active);
        Assert.False(srv.ReadOnly);
        Assert.True(srv.SshSettingsAutoAdjustCiphers);
        Assert.Equal("", srv.BaseDir);
        Assert.Equal("SHA256", srv.ExternalCryptoHashAlgorithm);
        Assert.Equal("sftpkit_" + SFTPKitInfo.BindingVersion, srv.SshSettingsSoftwareName);
        Assert.Equal(SFTPKitInfo.BindingVersion, SFTPKitInfo.LibraryVersion);
    }

    private static bool IsAsyncHandler(PropertyInfo p) =>
        p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(Func<,,>)
        && p.Name.StartsWith("On") && p.Name.EndsWith("Async");

    [Fact]
    public void SurfaceIsGeneratedFromTheWholeSpec()
    {
        var t = typeof(SFTPServer);
        // 124 properties: the scalar ones as C# properties, the 20 indexed ones as GetX(int).
        var indexed = t.GetMethods().Where(m => m.Name.StartsWith("Get") && m.GetParameters().Length == 1
                                                && m.GetParameters()[0].ParameterType == typeof(int)).ToList();
        Assert.Equal(20, indexed.Count);
        Assert.Contains(indexed, m => m.Name == "GetUserPassword" && m.ReturnType == typeof(string));
        Assert.Contains(indexed, m => m.Name == "GetUserSshKey" && m.ReturnType == typeof(byte[]));
        var setter = t.GetMethod("SetUserPassword", new[] { typeof(int), typeof(string) });
        Assert.NotNull(setter);
        Assert.Null(t.GetMethod("SetServerKeyFingerprintMd5")); // read-only indexed: no setter
        var props = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.DeclaringType == t && p.Name != "LastHandlerException" && p.Name != "HandlerExceptionCount"
                        && p.Name != "IsDisposed" && p.Name != "Logger" && !IsAsyncHandler(p)).ToList();
        Assert.Equal(104, props.Count);
        // Each event's asynchronous form: OnXAsync, a Func<XEventArgs, CancellationToken, Task>.
        var asyncForms = t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(IsAsyncHandler).ToList();
        Assert.Equal(42, asyncForms.Count);
        Assert.Equal(typeof(Func<ReadFileEventArgs, CancellationToken, Task>), t.GetProperty("OnReadFileAsync")!.PropertyType);
        Assert.All(asyncForms, p => Assert.NotNull(t.GetEvent(p.Name[..^"Async".Length])));
        Assert.False(t.GetProperty("Active")!.CanWrite);
        Assert.Equal(typeof(long), t.GetProperty("Port")!.PropertyType);
        // 42 events (the document's 39, sftpkit's link pair and on_auth_password_change), each EventHandler<XEventArgs> named OnX.
        var events = t.GetEvents().Where(e => e.Name.StartsWith("On")).ToList();
        Assert.Equal(42, events.Count);
        Assert.Equal(typeof(EventHandler<AuthPasswordEventArgs>), t.GetEvent("OnAuthPassword")!.EventHandlerType);
        Assert.True(typeof(AuthPasswordEventArgs).GetProperty("Accept")!.CanWrite);
        Assert.False(typeof(AuthPasswordEventArgs).GetProperty("Username")!.CanWrite);
        // 11 methods of the document.
        foreach (var m in new[] { "Config", "DoAction", "Start", "Stop", "DropClient", "ListClients", "PinClient",
                                  "GetClientBuffer", "SetClientBuffer", "GetClientFileEntry", "SetClientFileEntry" })
            Assert.Contains(t.GetMethods(), x => x.Name == m);
        Assert.Equal(4L, (long)AuthType.atPassword);
        Assert.Equal(3L, (long)FileRequestAction.fraAbort);
        Assert.Equal(1048580, ErrorCode.InvalidValue);
    }

    [Fact]
    public void EveryScalarGetterWorksOnAFreshServer()
    {
        // Each of the 104 generated properties reads (a failing native getter throws
        // TargetInvocationException) and gives a non-null value of its declared type: a string
        // getter that returned null for "" or a getter that read the wrong C type would fail here.
        using var srv = new SFTPServer();
        var props = typeof(SFTPServer).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.DeclaringType == typeof(SFTPServer) && p.Name != "LastHandlerException" && p.Name != "Logger"
                        && !IsAsyncHandler(p)).ToList();
        Assert.Equal(104 + 2, props.Count); // + HandlerExceptionCount and IsDisposed
        foreach (var p in props)
        {
            var value = p.GetValue(srv);
            if (Nullable.GetUnderlyingType(p.PropertyType) is Type inner) // the date-times: null = not set
            {
                Assert.True(value == null || value.GetType() == inner, p.Name);
                continue;
            }
            Assert.True(value != null, p.Name + " read null on a fresh server");
            Assert.IsType(p.PropertyType, value);
        }
        Assert.Null(srv.LastHandlerException); // null until a handler throws
        Assert.Null(srv.Logger);                // null until the application gives one
    }

    [Fact]
    public void InvalidValueThrowsWithCodeAndLeavesTheValue()
    {
        using var srv = new SFTPServer();
        srv.Port = 2222;
        var e = Assert.Throws<SFTPKitException>(() => srv.Port = 70000);
        Assert.Equal(ErrorCode.InvalidValue, e.Code);
        Assert.Contains("port", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2222L, srv.Port);
        Assert.Throws<SFTPKitException>(() => srv.CompressionLevel = -1);
        Assert.Equal(9L, srv.CompressionLevel);
    }

    [Fact]
    public void IndexOutsideTheListIsInvalidParameter()
    {
        using var srv = new SFTPServer();
        var e = Assert.Throws<SFTPKitException>(() => srv.GetUserUsername(0));
        Assert.Equal(ErrorCode.InvalidParameter, e.Code);
        srv.UserCount = 2;
        srv.SetUserUsername(1, "bob");
        Assert.Equal("bob", srv.GetUserUsername(1));
        Assert.Equal("", srv.GetUserUsername(0));
        Assert.Equal(ErrorCode.InvalidParameter, Assert.Throws<SFTPKitException>(() => srv.SetUserPassword(2, "x")).Code);
        Assert.Equal(ErrorCode.InvalidParameter, Assert.Throws<SFTPKitException>(() => srv.GetUserPassword(-1)).Code);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("Grüße/日本語/😀 emoji")]
    [InlineData("")]
    public void StringsCrossAsUtf8(string value)
    {
        using var srv = new SFTPServer();
        srv.UserCount = 1;
        srv.SetUserPassword(0, value);
        Assert.Equal(value, srv.GetUserPassword(0));
        srv.SshSettingsObfuscationPassword = value;
        Assert.Equal(value, srv.SshSettingsObfuscationPassword);
    }

    [Fact]
    public void NulInsideAStringIsRefusedNotTruncated()
    {
        using var srv = new SFTPServer();
        Assert.Throws<ArgumentException>(() => srv.BaseDir = "/tmp/a\0b");
    }

    [Fact]
    public void BytesRoundTrip()
    {
        using var srv = new SFTPServer();
        srv.UserCount = 1;
        var data = new byte[] { 0, 1, 2, 0xff, 0, 0x80 };
        srv.SetUserAssociatedData(0, data);
        Assert.Equal(data, srv.GetUserAssociatedData(0));
        srv.SetUserAssociatedData(0, Array.Empty<byte>());
        Assert.Empty(srv.GetUserAssociatedData(0));
    }

    [Fact]
    public void ConfigSetsAndReadsBack()
    {
        using var srv = new SFTPServer();
        var before = srv.Config("MaxDHGroupSize");
        Assert.False(string.IsNullOrEmpty(before));
        srv.Config("LogLevel=Debug");
        Assert.Equal(ErrorCode.InvalidValue, Assert.Throws<SFTPKitException>(() => srv.Config("MaxDHGroupSize=abc")).Code);
        Assert.Equal(before, srv.Config("MaxDHGroupSize"));
        var e = Assert.Throws<SFTPKitException>(() => srv.Config("NoSuchSetting=1"));
        Assert.Equal(ErrorCode.InvalidParameter, e.Code);
        Assert.Equal("", srv.ListClients());
    }
}

using System.Net;
using System.Net.Sockets;
using Renci.SshNet;
using SFTPKit;

namespace SFTPKit.Tests;

/// <summary>A server on 127.0.0.1 and a free port, with a fresh host key and a temporary root.</summary>
internal sealed class TestServer : IDisposable
{
    public SFTPServer Server { get; }
    public string Root { get; }
    public int Port { get; }

    public TestServer(Action<SFTPServer> configure = null, bool withDemoUser = true, bool start = true)
    {
        Root = Directory.CreateTempSubdirectory("sftpkit-cs-").FullName;
        Port = FreePort();
        Server = new SFTPServer();
        using (var key = new SSHKey())
        {
            key.Generate("ssh-ed25519", 0);
            Server.ServerKeyCount = 1;
            Server.SetServerKeyHandle(0, key.Handle); // copied: the key object may go
        }
        Server.Host = "127.0.0.1";
        Server.Port = Port;
        Server.BaseDir = Root;
        if (withDemoUser)
        {
            Server.UserCount = 1;
            Server.SetUserUsername(0, "demo");
            Server.SetUserPassword(0, "demo");
        }
        configure?.Invoke(Server);
        if (start)
            Server.Start();
    }

    public SftpClient Client(string user = "demo", string password = "demo")
    {
        var c = new SftpClient("127.0.0.1", Port, user, password);
        c.HostKeyReceived += (s, e) => e.CanTrust = true;
        c.ConnectionInfo.Timeout = TimeSpan.FromSeconds(20);
        return c;
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        Server.Dispose();
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}

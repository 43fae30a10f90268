// A virtual file system: nothing touches the disk. SFTPKit's MemoryFileSystem serves every file
// operation (UseFileSystem installs the events); one instance is shared by every session, so what
// one client uploads the next one sees. For a back-end of your own, implement ISftpFileSystem (see
// ../ObjectStore) or derive from MemoryFileSystem and override what differs.
//
//   dotnet run -- [--host 127.0.0.1] [--port 2222] [--user NAME:PASSWORD]
//   sftp -P 2222 demo@127.0.0.1      (password: demo; try put, get, ls, rm, mkdir, rename)
using System.Text;
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

var fs = new MemoryFileSystem(maxTotalBytes: 256L << 20); // at most 256 MiB of uploads in memory
fs.WriteAllBytes("/README.txt", Encoding.UTF8.GetBytes("This file lives in memory.\n"));

using var hostKey = new SSHKey();
hostKey.Generate("ssh-ed25519", 0);
using var server = new SFTPServer { Host = host, Port = port, ServerKeyCount = 1, UserCount = 1 };
server.SetServerKeyHandle(0, hostKey.Handle);
server.SetUserUsername(0, user);
server.SetUserPassword(0, password);
server.UseFileSystem(fs);

server.Start();
Console.WriteLine($"virtual file system on {host}:{port}, user {user}/{password}. Ctrl+C stops.");
using var stop = new ManualResetEventSlim();
Console.CancelKeyPress += (sender, e) => { e.Cancel = true; stop.Set(); };
AppDomain.CurrentDomain.ProcessExit += (sender, e) => stop.Set();
stop.Wait();
server.Stop();

// The README's 30-line server: a virtual file system, your own password check, .NET logging.
//   dotnet run -- [--port 2222]        then: sftp -P 2222 demo@127.0.0.1 (password demo)
using Microsoft.Extensions.Logging;
using SFTPKit;

int port = args.Length > 1 && args[0] == "--port" ? int.Parse(args[1]) : 2222;
var users = new Dictionary<string, string> { ["demo"] = "demo" }; // your user store
using var logging = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));

using var key = new SSHKey();
key.Generate("ssh-ed25519", 0);                                 // or key.ImportFile("host_key", "")
using var server = new SFTPServer { Host = "127.0.0.1", Port = port, ServerKeyCount = 1 };
server.SetServerKeyHandle(0, key.Handle);
server.Logger = logging.CreateLogger("sftp");                   // native log + handler errors
server.OnAuthPassword += (s, e) =>
    e.Accept = users.TryGetValue(e.Username, out var pw) && pw == e.Password;
server.UseFileSystem(new MemoryFileSystem());                  // or session => new YourFileSystem(session.User)

server.Start();
Console.WriteLine($"serving on 127.0.0.1:{port}; Ctrl+C stops.");
using var stop = new ManualResetEventSlim();
Console.CancelKeyPress += (s, e) => { e.Cancel = true; stop.Set(); };
stop.Wait();

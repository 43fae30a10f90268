// Callback authentication: the application decides who may log in, per attempt, in OnAuthPassword.
// Users live in the application (here a dictionary with salted PBKDF2 hashes), not in the server's
// user_* list. Files are served from a real directory.
//
//   dotnet run -- [--root DIR] [--host 127.0.0.1] [--port 2222] [--user NAME:PASSWORD]...
//   sftp -P 2222 demo@127.0.0.1      (password: demo)
using System.Security.Cryptography;
using System.Text;
using SFTPKit;

var opts = Options.Parse(args);
Directory.CreateDirectory(opts.Root);

var users = new Dictionary<string, (byte[] Salt, byte[] Hash)>(StringComparer.Ordinal);
foreach (var (name, password) in opts.Users)
{
    byte[] salt = RandomNumberGenerator.GetBytes(16);
    users[name] = (salt, Hash(password, salt));
}

using var hostKey = LoadOrCreateHostKey(opts.HostKeyFile);
using var server = new SFTPServer
{
    Host = opts.Host,
    Port = opts.Port,
    BaseDir = Path.GetFullPath(opts.Root),
    AuthTypes = AuthType.atPassword,
    ServerKeyCount = 1,
};
server.SetServerKeyHandle(0, hostKey.Handle);

// Runs on a server thread for every password attempt. e.Accept starts as the library's own verdict
// (false here: the server has no user list); the handler overrules it.
server.OnAuthPassword += (sender, e) =>
{
    e.Accept = users.TryGetValue(e.Username, out var u)
               && CryptographicOperations.FixedTimeEquals(u.Hash, Hash(e.Password, u.Salt));
    Console.WriteLine($"auth: connection {e.ConnectionId} user '{e.Username}' -> {(e.Accept ? "accepted" : "refused")}");
};
server.OnConnect += (sender, e) => Console.WriteLine($"connect: {e.ConnectionId} from {e.RemoteAddress}:{e.RemotePort}");
server.OnDisconnect += (sender, e) => Console.WriteLine($"disconnect: {e.ConnectionId}");
server.HandlerException += (sender, e) => Console.Error.WriteLine($"handler for {e.EventName} threw: {e.Exception.Message}");

server.Start();
Console.WriteLine($"serving {server.BaseDir} on {opts.Host}:{opts.Port}; host key {hostKey.ExportPublic()}");
Console.WriteLine($"users: {string.Join(", ", users.Keys)}. Ctrl+C stops.");

using var stop = new ManualResetEventSlim();
Console.CancelKeyPress += (sender, e) => { e.Cancel = true; stop.Set(); };
AppDomain.CurrentDomain.ProcessExit += (sender, e) => stop.Set();
stop.Wait();
server.Stop();
Console.WriteLine("stopped");

static byte[] Hash(string password, byte[] salt) =>
    Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, 100_000, HashAlgorithmName.SHA256, 32);

static SSHKey LoadOrCreateHostKey(string path)
{
    var key = new SSHKey();
    if (File.Exists(path))
    {
        key.ImportFile(path, "");
        return key;
    }
    key.Generate("ssh-ed25519", 0);
    Console.WriteLine($"generated a new host key (not persisted): {path} does not exist");
    return key;
}

sealed class Options
{
    public string Root = "sftp-root";
    public string Host = "127.0.0.1";
    public int Port = 2222;
    public string HostKeyFile = "host.key";
    public List<(string, string)> Users = new();

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--root": o.Root = Next(); break;
                case "--host": o.Host = Next(); break;
                case "--port": o.Port = int.Parse(Next()); break;
                case "--host-key": o.HostKeyFile = Next(); break;
                case "--user":
                    var parts = Next().Split(':', 2);
                    if (parts.Length != 2) throw new ArgumentException("--user NAME:PASSWORD");
                    o.Users.Add((parts[0], parts[1]));
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (o.Users.Count == 0)
            o.Users.Add(("demo", "demo"));
        return o;
    }
}

// SSH.NET against the server: symlink, what a link looks like through SSH.NET's canonical paths
// (it sends REALPATH before most requests), realpath of a directory link, rename and the root's
// listing. Prints one JSON object; the Python test checks it and the disk.
//   SshNetClient PORT USER PASSWORD DIR     (DIR: the client path of the prepared directory)
using System.Text.Json;
using Renci.SshNet;

var port = int.Parse(args[0]);
var dir = args[3];
var result = new Dictionary<string, object>();
using var c = new SftpClient("127.0.0.1", port, args[1], args[2]);
c.HostKeyReceived += (s, e) => e.CanTrust = true;
c.ConnectionInfo.Timeout = TimeSpan.FromSeconds(20);
c.OperationTimeout = TimeSpan.FromSeconds(20);
c.Connect();
result["server"] = c.ConnectionInfo.ServerVersion;

c.SymbolicLink(dir + "/target.txt", dir + "/link"); // SSH.NET: (existing path, new link path)
result["link_size"] = c.GetAttributes(dir + "/link").Size; // stat follows the link
result["link_text"] = c.ReadAllText(dir + "/link");
result["link_full_name"] = c.Get(dir + "/link").FullName; // SSH.NET resolves it with REALPATH

c.ChangeDirectory(dir + "/dlink");
result["cd_dlink"] = c.WorkingDirectory;
c.ChangeDirectory("/");

c.RenameFile(dir + "/a.txt", dir + "/b.txt");

var root = c.ListDirectory("/").ToDictionary(f => f.Name);
result["root_names"] = root.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();
string Describe(string name)
{
    if (!root.TryGetValue(name, out var f))
        return "";
    bool[] bits = {f.OwnerCanRead, f.OwnerCanWrite, f.OwnerCanExecute, f.GroupCanRead, f.GroupCanWrite,
                   f.GroupCanExecute, f.OthersCanRead, f.OthersCanWrite, f.OthersCanExecute};
    var mode = new string(bits.Select((on, i) => on ? "rwx"[i % 3] : '-').ToArray());
    return $"{mode} {f.UserId}:{f.GroupId} {f.LastWriteTimeUtc:O}";
}
result["dot"] = Describe(".");
result["dotdot"] = Describe("..");

c.Disconnect();
Console.WriteLine(JsonSerializer.Serialize(result));

// The smallest real use of the SFTPKit package: one SFTP server with user demo/demo on
// 127.0.0.1:PORT serving ROOT, until standard input closes (packaging/test_no_deps.py builds this
// in a new net8.0 and a new net10.0 project against the package from a local source).
using System;
using SFTPKit;

int port = int.Parse(args[0]);
using var key = new SSHKey();
key.Generate("ssh-ed25519", 0);
using var server = new SFTPServer();
server.ServerKeyCount = 1;
server.SetServerKeyHandle(0, key.Handle);
server.Host = "127.0.0.1";
server.Port = port;
server.BaseDir = args[1];
server.UserCount = 1;
server.SetUserUsername(0, "demo");
server.SetUserPassword(0, "demo");
server.Start();
Console.WriteLine($"READY SFTPKit on {Environment.Version} {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}");
Console.Out.Flush();
Console.In.ReadToEnd();
server.Stop();

// One server, one way of serving READ/WRITE events, measured inside the process: the time spent in
// the data handlers (buffer call included) and the bytes the process allocated, per event.
//   bytes    : the byte[] API (GetClientBuffer returns a new array, SetClientBuffer takes an exact-size
//              array: what the binding offered before #14 item 4)
//   span     : the Span/Memory overloads into one reusable buffer
//   provider : UseFileSystem(MemoryFileSystem) (the provider layer, Stream-based)
// Prints "ready PORT", serves until a line on stdin, then prints one JSON line of figures.
using System.Diagnostics;
using System.Text.Json;
using SFTPKit;

string mode = args[0];
int port = int.Parse(args[1]);
long events = 0, ticks = 0;
byte[] content = new byte[64 << 20];
new Random(1).NextBytes(content);
byte[] upload = new byte[content.Length];
byte[] scratch = new byte[SFTPServer.MaxWriteLength];

using var key = new SSHKey();
key.Generate("ssh-ed25519", 0);
using var srv = new SFTPServer { Host = "127.0.0.1", Port = port, ServerKeyCount = 1 };
srv.SetServerKeyHandle(0, key.Handle);
srv.OnAuthPassword += (s, e) => e.Accept = e.Username == "bench" && e.Password == "bench";
if (mode == "provider")
{
    var fs = new MemoryFileSystem(maxTotalBytes: 1L << 31);
    fs.WriteAllBytes("/data.bin", content);
    srv.UseFileSystem(fs);
    srv.OnReadFile += (s, e) => Interlocked.Increment(ref events);
    srv.OnWriteFile += (s, e) => Interlocked.Increment(ref events);
}
else
{
    srv.OnBeforeDownloadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
    srv.OnBeforeUploadFile += (s, e) => e.Action = FileRequestAction.fraCustom;
    srv.OnBeforeRequestAttributes += (s, e) => e.Action = FileRequestAction.fraCustom;
    srv.OnRequestAttributes += (s, e) =>
    {
        srv.ClientFileEntryName = "data.bin";
        srv.ClientFileEntrySize = content.Length;
        srv.SetClientFileEntry(e.ConnectionId, e.Handle);
    };
    srv.OnOpenFile += (s, e) => { };
    srv.OnCloseFile += (s, e) => { };
    srv.OnReadFile += (s, e) =>
    {
        long t0 = Stopwatch.GetTimestamp();
        if (e.Offset >= content.Length) { e.OperationStatus = OperationStatus.ostEOF; return; }
        int n = (int)Math.Min(e.Size, content.Length - e.Offset);
        if (mode == "bytes")
            srv.SetClientBuffer(e.ConnectionId, e.Handle, content.AsSpan((int)e.Offset, n).ToArray());
        else
            srv.SetClientBuffer(e.ConnectionId, null, content.AsSpan((int)e.Offset, n));
        Interlocked.Add(ref ticks, Stopwatch.GetTimestamp() - t0);
        Interlocked.Increment(ref events);
    };
    srv.OnWriteFile += (s, e) =>
    {
        long t0 = Stopwatch.GetTimestamp();
        if (mode == "bytes")
        {
            byte[] data = srv.GetClientBuffer(e.ConnectionId, e.Handle);
            data.CopyTo(upload.AsSpan((int)e.Offset));
        }
        else
        {
            int n = srv.GetClientBuffer(e.ConnectionId, null, scratch.AsSpan());
            scratch.AsSpan(0, n).CopyTo(upload.AsSpan((int)e.Offset));
        }
        Interlocked.Add(ref ticks, Stopwatch.GetTimestamp() - t0);
        Interlocked.Increment(ref events);
    };
}
srv.Start();
Console.WriteLine($"ready {port}");
GC.Collect();
long alloc0 = GC.GetTotalAllocatedBytes(true);
TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
Console.ReadLine();
long allocated = GC.GetTotalAllocatedBytes(true) - alloc0;
TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
long ev = Interlocked.Read(ref events);
Console.WriteLine(JsonSerializer.Serialize(new
{
    mode,
    events = ev,
    handler_us_per_event = mode == "provider" ? -1 : ticks * 1e6 / Stopwatch.Frequency / Math.Max(ev, 1),
    process_cpu_us_per_event = cpu.TotalMilliseconds * 1000 / Math.Max(ev, 1),
    allocated_bytes_per_event = (double)allocated / Math.Max(ev, 1),
}));
srv.Stop();

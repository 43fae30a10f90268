using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SFTPKit.Conformance;

sealed record EventRecord(string Event, Dictionary<string, object> Params)
{
    /// <summary>Set once the behaviours and rules ran, so wait_event sees their effects (saved variables).</summary>
    public volatile bool Handled;
}

/// <summary>One case's world: the server, keys, variables, the event record, background clients.</summary>
sealed class CaseContext : IDisposable
{
    public readonly string SuiteDir;
    public readonly string Root;
    public int Port;
    public SFTPServer Server;
    public readonly Dictionary<string, SSHKey> Keys = new();
    private readonly ConcurrentDictionary<string, object> _vars = new();
    private readonly List<EventRecord> _records = new();
    public readonly ConcurrentQueue<string> HandlerFailures = new();
    public readonly List<Task<string>> Background = new();

    public CaseContext(string suiteDir)
    {
        SuiteDir = suiteDir;
        Root = Directory.CreateTempSubdirectory("sftpkit-conf-cs-").FullName;
        _vars["root"] = Root;
        _vars["host"] = "127.0.0.1";
    }

    public string SuitePath(string rel) => Path.GetFullPath(Path.Combine(SuiteDir, rel));

    public object GetVar(string name)
    {
        if (_vars.TryGetValue(name, out var v)) return v;
        lock (Keys)
            if (Keys.TryGetValue(name, out var k)) return k.Handle;
        throw new CaseFailure($"variable {name} was never set");
    }

    public bool HasVar(string name) => _vars.ContainsKey(name);

    public void SetVar(string name, object value) => _vars[name] = value;

    public Dictionary<string, object> VarsForClient() => _vars.ToDictionary(kv => kv.Key, kv => Values.ToJson(kv.Value));

    public SSHKey Key(string name)
    {
        lock (Keys)
        {
            if (!Keys.TryGetValue(name, out var k))
                Keys[name] = k = new SSHKey();
            return k;
        }
    }

    /// <summary>Adds the record in arrival order (before the handling, as FORMAT.md says).</summary>
    public void Record(EventRecord r)
    {
        lock (_records)
            _records.Add(r);
    }

    /// <summary>Marks a record handled and wakes wait_event.</summary>
    public void Handled(EventRecord r)
    {
        lock (_records)
        {
            r.Handled = true;
            Monitor.PulseAll(_records);
        }
    }

    public List<EventRecord> Records()
    {
        lock (_records)
            return _records.ToList();
    }

    public bool WaitFor(Func<EventRecord, bool> match, TimeSpan timeout, long count = 1)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_records)
        {
            while (true)
            {
                if (_records.Count(r => r.Handled && match(r)) >= count) return true;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_records, left);
            }
        }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Runs the one client driver with a script; returns null when it reported ok, else the error.</summary>
    public string RunClient(JsonElement script)
    {
        var doc = new Dictionary<string, object>
        {
            ["host"] = "127.0.0.1", ["port"] = Port, ["base"] = SuiteDir, ["vars"] = VarsForClient(), ["script"] = script,
        };
        var psi = new ProcessStartInfo("/usr/bin/python3", Path.Combine(SuiteDir, "client", "driver.py"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false), StandardOutputEncoding = Encoding.UTF8,
        };
        using var p = Process.Start(psi) ?? throw new CaseFailure("could not start the client driver");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.StandardInput.Write(JsonSerializer.Serialize(doc));
        p.StandardInput.Close();
        if (!p.WaitForExit(120_000))
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            return "client driver timed out";
        }
        string line = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        try
        {
            using var r = JsonDocument.Parse(line);
            if (r.RootElement.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True && p.ExitCode == 0)
                return null;
            if (r.RootElement.TryGetProperty("error", out var err))
                return "client: " + err.GetString();
        }
        catch (JsonException)
        {
        }
        return $"client driver exit {p.ExitCode}: {line} {stderr.Result.Trim().Split('\n').LastOrDefault()}";
    }

    public void Dispose()
    {
        try { Server?.Dispose(); } catch (Exception) { }
        lock (Keys)
            foreach (var k in Keys.Values)
                k.Dispose();
        try { Directory.Delete(Root, true); } catch (Exception) { }
    }
}

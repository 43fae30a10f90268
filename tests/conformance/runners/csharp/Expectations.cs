using System.Text;
using System.Text.Json;

namespace SFTPKit.Conformance;

/// <summary>`expect`, checked after teardown.</summary>
static class Expectations
{
    public static bool ParamsMatch(JsonElement? want, EventRecord r, CaseContext ctx) =>
        want is not { } w || w.EnumerateObject().All(p => r.Params.TryGetValue(p.Name, out var v) && Values.Match(p.Value, v, ctx));

    private static bool EventMatch(JsonElement spec, EventRecord r, CaseContext ctx) =>
        r.Event == spec.GetProperty("event").GetString()
        && ParamsMatch(spec.TryGetProperty("params", out var ps) ? ps : null, r, ctx);

    public static void Check(JsonElement expect, CaseContext ctx, Vfs vfs, ProviderBehaviour provider = null)
    {
        var records = ctx.Records();
        foreach (var m in expect.EnumerateObject())
        {
            switch (m.Name)
            {
                case "events":
                {
                    int at = 0;
                    foreach (var want in m.Value.EnumerateArray())
                    {
                        while (at < records.Count && !EventMatch(want, records[at], ctx)) at++;
                        if (at == records.Count)
                            throw new CaseFailure($"expected event {want.GetRawText()} (in order) did not occur; got {Summary(records)}");
                        at++;
                    }
                    break;
                }
                case "events_absent":
                    foreach (var bad in m.Value.EnumerateArray())
                        if (records.FirstOrDefault(r => EventMatch(bad, r, ctx)) is { } hit)
                            throw new CaseFailure($"event {bad.GetRawText()} occurred: {hit.Event} {Show(hit.Params)}");
                    break;
                case "event_counts":
                    foreach (var c in m.Value.EnumerateObject())
                    {
                        long n = records.Count(r => r.Event == c.Name);
                        if (!Values.Match(c.Value, n, ctx))
                            throw new CaseFailure($"{c.Name} fired {n} times, expected {c.Value.GetRawText()}");
                    }
                    break;
                case "files":
                    foreach (var f in m.Value.EnumerateObject())
                        CheckFile(Path.Combine(ctx.Root, f.Name), f.Name, f.Value, ctx);
                    break;
                case "vfs":
                    CheckVfs(m.Value, vfs, ctx);
                    break;
                case "provider":
                    if (provider == null) throw new CaseFailure("expect.provider without a provider behaviour");
                    lock (provider.Shared) CheckVfs(m.Value, provider.Shared, ctx);
                    break;
                case "provider_sessions":
                {
                    if (provider == null) throw new CaseFailure("expect.provider_sessions without a provider behaviour");
                    var want = m.Value.EnumerateArray().ToList();
                    List<Dictionary<string, object>> got;
                    lock (provider.Sessions) got = provider.Sessions.ToList();
                    if (got.Count != want.Count) throw new CaseFailure($"the factory ran {got.Count} times, expected {want.Count}");
                    for (int i = 0; i < want.Count; i++)
                        foreach (var f in want[i].EnumerateObject())
                            if (!got[i].TryGetValue(f.Name, out var v) || !Values.Match(f.Value, v, ctx))
                                throw new CaseFailure($"factory call {i}: {f.Name} is {(got[i].TryGetValue(f.Name, out var g) ? g : "missing")}, expected {f.Value.GetRawText()}");
                    break;
                }
                case "vfs_cancelled_at_least":
                {
                    if (vfs == null) throw new CaseFailure("expect.vfs_cancelled_at_least without a vfs behaviour");
                    int n = vfs.CancelledCount();
                    if (n < m.Value.GetInt32())
                        throw new CaseFailure($"{n} deferred requests were told of their cancellation, expected at least {m.Value.GetInt32()}");
                    break;
                }
                case "vars":
                    foreach (var v in m.Value.EnumerateObject())
                    {
                        if (!ctx.HasVar(v.Name)) throw new CaseFailure($"variable {v.Name} was never saved");
                        var actual = ctx.GetVar(v.Name);
                        if (!Values.Match(v.Value, actual, ctx))
                            throw new CaseFailure($"variable {v.Name} = {Values.Show(actual)}, expected {v.Value.GetRawText()}");
                    }
                    break;
                default:
                    throw new CaseFailure($"unknown expectation {m.Name}");
            }
        }
    }

    private static void CheckFile(string path, string rel, JsonElement want, CaseContext ctx)
    {
        if (want.ValueKind == JsonValueKind.Null)
        {
            if (File.Exists(path) || Directory.Exists(path)) throw new CaseFailure($"{rel} exists but must not");
            return;
        }
        if (want.ValueKind == JsonValueKind.Object && want.TryGetProperty("dir", out var d))
        {
            if (Directory.Exists(path) != (d.ValueKind == JsonValueKind.True)) throw new CaseFailure($"{rel}: directory expected {d}");
            return;
        }
        if (!File.Exists(path)) throw new CaseFailure($"{rel} does not exist");
        var content = File.ReadAllBytes(path);
        if (want.ValueKind == JsonValueKind.Object && want.TryGetProperty("size", out var size))
        {
            if (content.Length != size.GetInt64()) throw new CaseFailure($"{rel}: size {content.Length}, expected {size}");
            return;
        }
        var v = Values.Eval(want, ctx);
        var bytes = v is byte[] b ? b : Encoding.UTF8.GetBytes(Values.Text(v));
        if (!content.AsSpan().SequenceEqual(bytes))
            throw new CaseFailure($"{rel}: content {Values.Show(content)}, expected {Values.Show(bytes)}");
    }

    private static void CheckVfs(JsonElement want, Vfs vfs, CaseContext ctx)
    {
        if (vfs == null) throw new CaseFailure("expect.vfs without a vfs behaviour");
        lock (vfs)
        {
            var files = want.TryGetProperty("files", out var f) ? f.EnumerateObject().ToList() : new List<JsonProperty>();
            var wantPaths = files.Select(x => Vfs.Norm(x.Name)).ToHashSet();
            foreach (var extra in vfs.Files.Keys.Where(k => !wantPaths.Contains(k)))
                throw new CaseFailure($"vfs has an unexpected file {extra}");
            foreach (var x in files)
            {
                if (!vfs.Files.TryGetValue(Vfs.Norm(x.Name), out var data)) throw new CaseFailure($"vfs lacks file {x.Name}");
                var v = Values.Eval(x.Value, ctx);
                if (!Values.Same(data, v is byte[] ? v : Values.Text(v)))
                    throw new CaseFailure($"vfs {x.Name}: {Values.Show(data)}, expected {Values.Show(v)}");
            }
            var wantDirs = new HashSet<string>(StringComparer.Ordinal) { "/" };
            if (want.TryGetProperty("dirs", out var dirs))
                foreach (var d in dirs.EnumerateArray()) wantDirs.Add(Vfs.Norm(d.GetString()));
            if (!wantDirs.SetEquals(vfs.Dirs))
                throw new CaseFailure($"vfs dirs [{string.Join(", ", vfs.Dirs.OrderBy(x => x))}], expected [{string.Join(", ", wantDirs.OrderBy(x => x))}]");
        }
    }

    private static string Show(Dictionary<string, object> p) => "{" + string.Join(", ", p.Select(kv => kv.Key + "=" + Values.Show(kv.Value))) + "}";

    private static string Summary(List<EventRecord> records)
    {
        var s = string.Join(" ", records.Take(40).Select(r => r.Event.StartsWith("on_") ? r.Event[3..] : r.Event));
        return records.Count > 40 ? s + " ..." : s;
    }
}

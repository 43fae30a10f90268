// The C# runner of the sftpkit conformance suite (tests/conformance/FORMAT.md).
//   sftpkit-conformance-csharp SUITE_DIR [FILTER]
// Prints `PASS name` / `FAIL name: reason` per case and closes with `csharp: N passed, N failed`.
using System.Text.Json;
using SFTPKit.Conformance;

string suite = Path.GetFullPath(args.Length > 0 ? args[0] : ".");
string filter = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("SFTPKIT_CONFORMANCE_FILTER") ?? "";
int passed = 0, failed = 0;
var byKind = new Dictionary<string, int[]> { ["behaviour"] = new int[2], ["storage"] = new int[2] };
var seen = new HashSet<string>();
string casesDir = Path.Combine(suite, "cases");
if (!Directory.Exists(casesDir))
{
    Console.WriteLine($"FAIL cases: {casesDir} does not exist");
    Console.WriteLine("csharp: 0 passed, 1 failed");
    return 1;
}
foreach (var file in Directory.GetFiles(casesDir, "*.json").OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal))
{
    JsonDocument doc;
    try
    {
        doc = JsonDocument.Parse(File.ReadAllText(file));
    }
    catch (JsonException e)
    {
        Console.WriteLine($"FAIL {Path.GetFileName(file)}: not valid JSON: {e.Message}");
        failed++;
        continue;
    }
    foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
    {
        string name = c.TryGetProperty("name", out var n) ? n.GetString() : "(unnamed case in " + Path.GetFileName(file) + ")";
        if (!name.Contains(filter, StringComparison.Ordinal)) continue;
        string failure = seen.Add(name) ? RunOne(c, suite) : "duplicate case name";
        byKind[KindOf(c)][failure == null ? 0 : 1]++;
        if (failure == null)
        {
            passed++;
            Console.WriteLine("PASS " + name);
        }
        else
        {
            failed++;
            var lines = failure.Split('\n');
            Console.WriteLine($"FAIL {name}: {lines[0]}");
            foreach (var more in lines.Skip(1).Where(l => l.Length > 0))
                Console.WriteLine("  " + more);
        }
    }
}
Console.WriteLine($"csharp by kind: behaviour {byKind["behaviour"][0]} passed, {byKind["behaviour"][1]} failed; " +
                  $"storage {byKind["storage"][0]} passed, {byKind["storage"][1]} failed");
Console.WriteLine($"csharp: {passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

// FORMAT.md "Kinds": behaviour when a step runs the client driver (a real connection).
static string KindOf(JsonElement c) =>
    c.TryGetProperty("steps", out var steps) && steps.ValueKind == JsonValueKind.Array &&
    steps.EnumerateArray().Any(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("client", out _))
        ? "behaviour" : "storage";

static string RunOne(JsonElement c, string suite)
{
    var ctx = new CaseContext(suite);
    var work = Task.Run(() =>
    {
        try
        {
            new CaseRunner(c, ctx).Run();
            return null;
        }
        catch (CaseFailure e)
        {
            return e.Message;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }
    });
    if (!work.Wait(TimeSpan.FromSeconds(60)))
        return "timed out after 60 s";
    ctx.Dispose();
    return work.Result;
}

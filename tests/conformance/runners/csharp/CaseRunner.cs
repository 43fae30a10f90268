using System.Text;
using System.Text.Json;

namespace SFTPKit.Conformance;

/// <summary>Executes one case in the order FORMAT.md prescribes.</summary>
sealed class CaseRunner
{
    private readonly JsonElement _case;
    private readonly CaseContext _ctx;
    private readonly List<Rule> _rules = new();
    private Vfs _vfs;
    private ProviderBehaviour _provider;
    private Listing _listing;
    private ExternalSigner _externalSigner;

    private sealed class Rule
    {
        public string Event;
        public JsonElement? When, Set, Save, Calls;
        public bool Once;
        public int SleepMs; // a slow handler (a database lookup)
        public int Fired;
    }

    public CaseRunner(JsonElement c, CaseContext ctx)
    {
        _case = c;
        _ctx = ctx;
    }

    private JsonElement? Member(string name) => _case.TryGetProperty(name, out var v) ? v : null;

    public void Run()
    {
        foreach (var m in _case.EnumerateObject())
            if (m.Name is not ("name" or "doc" or "server" or "fixture" or "handlers" or "listing" or "vfs" or "external_signer" or "steps" or "expect" or "unsubscribed" or "provider"))
                throw new CaseFailure($"unknown case member {m.Name}");
        _ctx.Server = new SFTPServer();
        if (Member("server") is { ValueKind: JsonValueKind.True })
        {
            try
            {
                ApplyFixture(Member("fixture"));
            }
            catch (SFTPKitException e)
            {
                throw new CaseFailure($"fixture: error {e.Code}: {e.Message}");
            }
        }
        InstallHandlers();
        string failure = null;
        try
        {
            if (Member("steps") is { } steps)
            {
                int i = 0;
                foreach (var step in steps.EnumerateArray())
                {
                    i++;
                    try
                    {
                        Steps.Run(step, _ctx, null);
                    }
                    catch (CaseFailure e)
                    {
                        failure = $"step {i} ({Values.Single(step).Item1}): {e.Message}";
                        break;
                    }
                }
            }
        }
        finally
        {
            string teardown = Teardown();
            failure ??= teardown;
        }
        if (failure != null) throw new CaseFailure(failure);
        if (_ctx.HandlerFailures.TryPeek(out var hf)) throw new CaseFailure("handler: " + hf);
        if (Member("expect") is { } expect) Expectations.Check(expect, _ctx, _vfs, _provider);
    }

    private string Teardown()
    {
        string failure = null;
        try
        {
            if (_ctx.Server.Active) _ctx.Server.Stop();
        }
        catch (Exception e)
        {
            failure = "teardown stop: " + e.Message;
        }
        foreach (var t in _ctx.Background)
        {
            if (!t.Wait(TimeSpan.FromSeconds(60))) failure ??= "a background client did not finish";
            else if (t.Result != null) failure ??= "background " + t.Result;
        }
        _ctx.Server.Dispose();
        return failure;
    }

    private void ApplyFixture(JsonElement? fixture)
    {
        var srv = _ctx.Server;
        JsonElement f = fixture ?? default;
        bool has(string n, out JsonElement v)
        {
            v = default;
            return fixture is { ValueKind: JsonValueKind.Object } && f.TryGetProperty(n, out v);
        }
        foreach (var m in fixture is { ValueKind: JsonValueKind.Object } ? f.EnumerateObject() : Enumerable.Empty<JsonProperty>())
            if (m.Name is not ("host_key" or "root" or "base_dir"))
                throw new CaseFailure($"unknown fixture option {m.Name}");
        if (!has("host_key", out var hk) || hk.ValueKind != JsonValueKind.Null)
        {
            string alg = "ssh-ed25519";
            long bits = 0;
            if (hk.ValueKind == JsonValueKind.Object)
            {
                if (hk.TryGetProperty("algorithm", out var a)) alg = a.GetString();
                if (hk.TryGetProperty("bits", out var b)) bits = b.GetInt64();
            }
            var key = _ctx.Key("__host_key");
            key.Generate(alg, bits);
            srv.ServerKeyCount = 1;
            srv.SetServerKeyHandle(0, key.Handle);
        }
        _ctx.Port = CaseContext.FreePort();
        _ctx.SetVar("port", (long)_ctx.Port);
        srv.Host = "127.0.0.1";
        srv.Port = _ctx.Port;
        if (has("root", out var root))
        {
            if (root.TryGetProperty("dirs", out var dirs))
                foreach (var d in dirs.EnumerateArray())
                    Directory.CreateDirectory(Path.Combine(_ctx.Root, d.GetString()!));
            if (root.TryGetProperty("files", out var files))
                foreach (var file in files.EnumerateObject())
                {
                    string path = Path.Combine(_ctx.Root, file.Name);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    object v = Values.Eval(file.Value, _ctx);
                    File.WriteAllBytes(path, v is byte[] b ? b : Encoding.UTF8.GetBytes(Values.Text(v)));
                }
        }
        if (!has("base_dir", out var bd) || bd.ValueKind != JsonValueKind.False)
            srv.BaseDir = _ctx.Root;
    }

    private void InstallHandlers()
    {
        if (Member("handlers") is { } handlers)
            foreach (var h in handlers.EnumerateArray())
            {
                var r = new Rule { Event = h.GetProperty("event").GetString() };
                if (h.TryGetProperty("when", out var w)) r.When = w;
                if (h.TryGetProperty("set", out var s)) r.Set = s;
                if (h.TryGetProperty("save", out var sv)) r.Save = sv;
                if (h.TryGetProperty("calls", out var c)) r.Calls = c;
                r.Once = h.TryGetProperty("once", out var o) && o.ValueKind == JsonValueKind.True;
                if (h.TryGetProperty("sleep_ms", out var sl)) r.SleepMs = sl.GetInt32();
                _rules.Add(r);
            }
        if (Member("vfs") is { } vfs) _vfs = new Vfs(vfs, _ctx);
        if (Member("provider") is { } prov)
        {
            // installed before the recorder and the rules: they run after the provider answered
            _provider = new ProviderBehaviour(prov, _ctx);
            _provider.Install(_ctx.Server);
        }
        if (Member("listing") is { } listing) _listing = new Listing(listing, _ctx);
        if (Member("external_signer") is { } signer) _externalSigner = new ExternalSigner(signer, _ctx);
        // Subscribe to every public OnX event of SFTPServer (the document's 39 and sftpkit's extra
        // events) except the case's "unsubscribed" ones (spec names, on_x_y -> OnXY).
        var skipped = new HashSet<string>();
        if (Member("unsubscribed") is { } off)
            foreach (var u in off.EnumerateArray())
                skipped.Add(string.Concat(u.GetString()!.Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..])));
        var subscribe = typeof(CaseRunner).GetMethod(nameof(Subscribe), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        int n = 0;
        foreach (var ev in typeof(SFTPServer).GetEvents())
        {
            if (!ev.Name.StartsWith("On") || !ev.EventHandlerType!.IsGenericType) continue;
            var argsType = ev.EventHandlerType.GetGenericArguments()[0];
            if (!typeof(SFTPKitEventArgs).IsAssignableFrom(argsType)) continue;
            n++;
            if (skipped.Remove(ev.Name)) continue; // no handler: the binding tells the core so
            subscribe.MakeGenericMethod(argsType).Invoke(this, new object[] { ev });
        }
        if (n != ExpectedEvents(_ctx)) throw new CaseFailure($"the binding exposes {n} events, not {ExpectedEvents(_ctx)}");
        if (skipped.Count > 0) throw new CaseFailure($"unsubscribed: unknown event {skipped.First()}");
    }

    // The document's 39 events plus sftpkit's extra_events, read from spec/sftpkit.json, so a new
    // extra event (on_auth_password_change made it 42) does not need this runner edited.
    private static int ExpectedEvents(CaseContext ctx)
    {
        using var spec = JsonDocument.Parse(File.ReadAllText(ctx.SuitePath("../../spec/sftpkit.json")));
        return 39 + spec.RootElement.GetProperty("extra_events").GetProperty("events").GetArrayLength();
    }

    private void Subscribe<T>(System.Reflection.EventInfo ev) where T : SFTPKitEventArgs
    {
        ev.AddEventHandler(_ctx.Server, new EventHandler<T>((sender, e) => OnEvent(e)));
    }

    private void OnEvent(SFTPKitEventArgs e)
    {
        Dictionary<string, object> received;
        try
        {
            received = Api.ReadParams(e);
        }
        catch (Exception ex)
        {
            _ctx.HandlerFailures.Enqueue($"{e.EventName}: reading parameters: {ex.Message}");
            return;
        }
        var record = new EventRecord(e.EventName, received);
        _ctx.Record(record);
        try
        {
            _vfs?.Handle(e, received);
            _listing?.Handle(e, received);
            _externalSigner?.Handle(e);
            foreach (var r in _rules)
            {
                if (r.Event != e.EventName) continue;
                if (r.When is { } when && !when.EnumerateObject().All(w =>
                        received.TryGetValue(w.Name, out var v) && Values.Match(w.Value, v, _ctx, received)))
                    continue;
                if (r.Once && Interlocked.Exchange(ref r.Fired, 1) != 0) continue;
                if (r.SleepMs > 0) Thread.Sleep(r.SleepMs);
                if (r.Calls is { } calls)
                    foreach (var step in calls.EnumerateArray())
                        Steps.Run(step, _ctx, received);
                if (r.Set is { } set)
                    foreach (var s in set.EnumerateObject())
                        Api.SetParam(e, s.Name, Values.Eval(s.Value, _ctx, received));
                if (r.Save is { } save)
                    foreach (var s in save.EnumerateObject())
                    {
                        string param = s.Value.GetString();
                        if (!received.TryGetValue(param, out var pv))
                            throw new CaseFailure($"{e.EventName} has no parameter {param} to save");
                        _ctx.SetVar(s.Name, pv);
                    }
            }
        }
        catch (Exception ex)
        {
            _ctx.HandlerFailures.Enqueue($"{e.EventName}: {(ex is CaseFailure ? ex.Message : ex.GetType().Name + ": " + ex.Message)}");
        }
        finally
        {
            _ctx.Handled(record);
        }
    }
}

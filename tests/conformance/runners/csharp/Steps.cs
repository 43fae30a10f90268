using System.Text.Json;

namespace SFTPKit.Conformance;

/// <summary>The steps of FORMAT.md; API steps also run inside handler rules (`calls`).</summary>
static class Steps
{
    public static void Run(JsonElement step, CaseContext ctx, IReadOnlyDictionary<string, object> param)
    {
        var (kind, arg) = Values.Single(step);
        switch (kind)
        {
            case "set":
            case "get":
            case "call":
            case "key":
                Api(kind, step, ctx, param);
                return;
            case "client":
                if (param != null) throw new CaseFailure("client steps cannot run inside a handler");
                bool background = step.TryGetProperty("background", out var bg) && bg.ValueKind == JsonValueKind.True;
                var script = arg.Clone();
                if (background)
                {
                    ctx.Background.Add(Task.Run(() => ctx.RunClient(script)));
                    return;
                }
                string err = ctx.RunClient(script);
                if (err != null) throw new CaseFailure(err);
                return;
            case "wait_client":
                foreach (var t in ctx.Background.ToList())
                {
                    if (!t.Wait(TimeSpan.FromSeconds(60))) throw new CaseFailure("a background client did not finish");
                    if (t.Result != null) throw new CaseFailure("background " + t.Result);
                }
                return;
            case "wait_event":
                string name = arg.GetString();
                long timeout = step.TryGetProperty("timeout_ms", out var to) ? to.GetInt64() : 5000;
                long count = step.TryGetProperty("count", out var cnt) ? cnt.GetInt64() : 1;
                JsonElement? want = step.TryGetProperty("params", out var ps) ? ps : null;
                if (!ctx.WaitFor(r => r.Event == name && Expectations.ParamsMatch(want, r, ctx), TimeSpan.FromMilliseconds(timeout), count))
                    throw new CaseFailure($"fewer than {count} {name} event(s){(want != null ? " with " + want : "")} within {timeout} ms");
                return;
            case "refused_handler_forms":
                if (param != null) throw new CaseFailure("refused_handler_forms cannot run inside a handler");
                RefusedForms.Check(ctx.Server);
                return;
            default:
                throw new CaseFailure($"unknown step {kind}");
        }
    }

    private static void Api(string kind, JsonElement step, CaseContext ctx, IReadOnlyDictionary<string, object> param)
    {
        foreach (var m in step.EnumerateObject())
            if (m.Name is not ("set" or "get" or "call" or "key" or "op" or "args" or "value" or "index" or "expect" or "save" or "error"))
                throw new CaseFailure($"unknown step member {m.Name}");
        long? wantError = step.TryGetProperty("error", out var e) ? e.GetInt64() : null;
        long? index = null;
        if (step.TryGetProperty("index", out var ix))
            index = Values.Eval(ix, ctx, param) as long? ?? throw new CaseFailure("index must be an integer");
        var args = step.TryGetProperty("args", out var a) ? a.EnumerateArray().Select(x => Values.Eval(x, ctx, param)).ToList() : new List<object>();
        object result;
        string what = kind + " " + Values.Single(step).Item2.ToString();
        try
        {
            var srv = ctx.Server;
            result = kind switch
            {
                "set" => Set(srv, step, index, ctx, param),
                "get" => SFTPKit.Conformance.Api.GetProperty(srv, step.GetProperty("get").GetString(), index),
                "call" => SFTPKit.Conformance.Api.CallMethod(srv, step.GetProperty("call").GetString(), args),
                _ => SFTPKit.Conformance.Api.KeyOp(ctx.Key(step.GetProperty("key").GetString()),
                                                   step.TryGetProperty("op", out var op) ? op.GetString() : throw new CaseFailure("key step without op"), args),
            };
        }
        catch (SFTPKitException ex)
        {
            if (wantError == ex.Code) return;
            throw new CaseFailure(wantError.HasValue
                ? $"{what}: expected error {wantError}, got {ex.Code} ({ex.Message})"
                : $"{what}: unexpected error {ex.Code}: {ex.Message}");
        }
        catch (CaseFailure)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new CaseFailure($"{what}: {ex.GetType().Name}: {ex.Message}");
        }
        if (wantError.HasValue) throw new CaseFailure($"{what}: expected error {wantError}, but it succeeded{(result != null ? " with " + Values.Show(result) : "")}");
        if (step.TryGetProperty("expect", out var expect) && !Values.Match(expect, result, ctx, param))
            throw new CaseFailure($"{what}: expected {expect.GetRawText()}, got {Values.Show(result)}");
        if (step.TryGetProperty("save", out var save))
            ctx.SetVar(save.GetString(), result);
    }

    private static object Set(SFTPServer srv, JsonElement step, long? index, CaseContext ctx, IReadOnlyDictionary<string, object> param)
    {
        if (!step.TryGetProperty("value", out var v)) throw new CaseFailure("set without value");
        SFTPKit.Conformance.Api.SetProperty(srv, step.GetProperty("set").GetString(), index, Values.Eval(v, ctx, param));
        return null;
    }
}

/// <summary>
/// FORMAT.md `refused_handler_forms`: every handler form the C# binding refuses at assignment
/// (bindings/csharp/README.md "Refused handler forms"): an async void lambda and an async void
/// method, on a deferrable event (on_read_file) and on a synchronous one (on_connect).
/// </summary>
static class RefusedForms
{
    public static void Check(SFTPServer srv)
    {
        Expect("on_read_file", "an async void lambda", () => srv.OnReadFile += async (s, e) => await Task.Yield());
        Expect("on_read_file", "an async void method", () => srv.OnReadFile += AsyncVoidRead);
        Expect("on_connect", "an async void lambda", () => srv.OnConnect += async (s, e) => await Task.Delay(1));
        Expect("on_write_file", "a multicast delegate holding an async void method",
            () => srv.OnWriteFile += (EventHandler<WriteFileEventArgs>)Delegate.Combine(
                new EventHandler<WriteFileEventArgs>((s, e) => { }), new EventHandler<WriteFileEventArgs>(AsyncVoidWrite)));
    }

    private static async void AsyncVoidRead(object sender, ReadFileEventArgs e) => await Task.Yield();

    private static async void AsyncVoidWrite(object sender, WriteFileEventArgs e) => await Task.Yield();

    private static void Expect(string eventName, string form, Action assign)
    {
        try
        {
            assign();
        }
        catch (ArgumentException ex)
        {
            if (!ex.Message.Contains(eventName))
                throw new CaseFailure($"{form} on {eventName}: the ArgumentException does not name the event: {ex.Message}");
            return;
        }
        catch (Exception ex)
        {
            throw new CaseFailure($"{form} on {eventName}: {ex.GetType().Name} instead of ArgumentException: {ex.Message}");
        }
        throw new CaseFailure($"{form} on {eventName} was accepted");
    }
}

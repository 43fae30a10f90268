using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SFTPKit.Conformance;

/// <summary>A case that cannot be interpreted, or a step whose outcome is wrong.</summary>
sealed class CaseFailure : Exception
{
    public CaseFailure(string message) : base(message) { }
}

/// <summary>Values and matchers of FORMAT.md. Runtime values are null, bool, long, string or byte[].</summary>
static class Values
{
    public static object Eval(JsonElement v, CaseContext ctx, IReadOnlyDictionary<string, object> param = null)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null: return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return v.GetString();
            case JsonValueKind.Number:
                if (!v.TryGetInt64(out long n)) throw new CaseFailure($"number {v} is not a 64-bit integer");
                return n;
            case JsonValueKind.Object:
                if (v.TryGetProperty("repeat", out var rep))
                {
                    var s = Eval(rep, ctx, param) as string ?? throw new CaseFailure("repeat needs a string");
                    long count = v.TryGetProperty("count", out var c) ? c.GetInt64() : 1;
                    return string.Concat(Enumerable.Repeat(s, (int)count));
                }
                var (key, arg) = Single(v);
                switch (key)
                {
                    case "hex": return Convert.FromHexString(arg.GetString() ?? "");
                    case "var": return ctx.GetVar(arg.GetString());
                    case "param":
                        if (param == null) throw new CaseFailure("{\"param\"} outside a handler rule");
                        if (!param.TryGetValue(arg.GetString()!, out var pv))
                            throw new CaseFailure($"the event has no parameter {arg.GetString()}");
                        return pv;
                    case "concat":
                        var sb = new StringBuilder();
                        foreach (var part in arg.EnumerateArray())
                            sb.Append(Text(Eval(part, ctx, param)));
                        return sb.ToString();
                    case "path": return ctx.SuitePath(arg.GetString());
                    case "file":
                        var text = File.ReadAllText(ctx.SuitePath(arg.GetString()));
                        return text.EndsWith("\r\n") ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
                    default: throw new CaseFailure($"unknown value form {{\"{key}\"}}");
                }
            default: throw new CaseFailure($"cannot use {v.ValueKind} as a value");
        }
    }

    public static (string, JsonElement) Single(JsonElement obj)
    {
        var props = obj.EnumerateObject().ToList();
        if (props.Count == 0) throw new CaseFailure("empty object where a value or matcher was expected");
        return (props[0].Name, props[0].Value);
    }

    public static string Text(object v) => v switch
    {
        null => "",
        bool b => b ? "true" : "false",
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => v.ToString(),
    };

    public static string Show(object v) => v switch
    {
        null => "null",
        string s => JsonSerializer.Serialize(s),
        byte[] b => "hex:" + Convert.ToHexString(b).ToLowerInvariant(),
        bool b => b ? "true" : "false",
        _ => v.ToString(),
    };

    public static bool Same(object a, object b)
    {
        if (a is byte[] x && b is byte[] y) return x.AsSpan().SequenceEqual(y);
        if (a is byte[] xa && b is string ys) return xa.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(ys));
        if (a is string xs && b is byte[] yb) return yb.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(xs));
        if (a is int i) a = (long)i;
        if (b is int j) b = (long)j;
        return Equals(a, b);
    }

    /// <summary>True when actual matches the matcher m.</summary>
    public static bool Match(JsonElement m, object actual, CaseContext ctx, IReadOnlyDictionary<string, object> param = null)
    {
        switch (m.ValueKind)
        {
            case JsonValueKind.Null: return actual == null;
            case JsonValueKind.True: return actual is true;
            case JsonValueKind.False: return actual is false;
            case JsonValueKind.Number: return actual is long l && m.TryGetInt64(out long n) && l == n;
            case JsonValueKind.String: return actual is string s ? s == m.GetString() : Same(actual, m.GetString());
            case JsonValueKind.Object:
                var (key, arg) = Single(m);
                switch (key)
                {
                    case "hex": return Same(actual, Convert.FromHexString(arg.GetString() ?? ""));
                    case "var": return Same(actual, ctx.GetVar(arg.GetString()));
                    case "param": return Same(actual, Eval(m, ctx, param));
                    case "regex":
                        return actual is string rs && Regex.IsMatch(rs, "^(?:" + arg.GetString() + ")$", RegexOptions.CultureInvariant);
                    case "starts_with": return actual is string a1 && a1.StartsWith(Text(Eval(arg, ctx, param)), StringComparison.Ordinal);
                    case "ends_with": return actual is string a2 && a2.EndsWith(Text(Eval(arg, ctx, param)), StringComparison.Ordinal);
                    case "contains": return actual is string a3 && a3.Contains(Text(Eval(arg, ctx, param)), StringComparison.Ordinal);
                    case "ge": return actual is long g1 && g1 >= arg.GetInt64();
                    case "gt": return actual is long g2 && g2 > arg.GetInt64();
                    case "le": return actual is long g3 && g3 <= arg.GetInt64();
                    case "lt": return actual is long g4 && g4 < arg.GetInt64();
                    case "not": return !Match(arg, actual, ctx, param);
                    case "any_of": return arg.EnumerateArray().Any(x => Match(x, actual, ctx, param));
                    case "any": return true;
                    case "repeat": case "concat": case "path": case "file":
                        return Same(actual, Eval(m, ctx, param));
                    default: throw new CaseFailure($"unknown matcher {{\"{key}\"}}");
                }
            default: throw new CaseFailure($"cannot use {m.ValueKind} as a matcher");
        }
    }

    /// <summary>A runtime value as JSON for the client driver (bytes as {"hex"}).</summary>
    public static object ToJson(object v) => v is byte[] b ? new Dictionary<string, string> { ["hex"] = Convert.ToHexString(b).ToLowerInvariant() } : v;
}

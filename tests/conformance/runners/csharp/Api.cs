using System.Reflection;
using System.Text;

namespace SFTPKit.Conformance;

/// <summary>Spec names to the binding's C# spelling, through reflection on the public surface only.</summary>
static class Api
{
    public static string Pascal(string name) =>
        string.Concat(name.Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    public static string Snake(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(pascal[i]));
        }
        return sb.ToString();
    }

    /// <summary>Converts a case value to the binding's parameter type; a wrong kind is a case error.</summary>
    public static object To(Type t, object v, string what)
    {
        if (t == typeof(string))
        {
            if (v == null || v is string) return v;
        }
        else if (t == typeof(long))
        {
            if (v is long) return v;
        }
        else if (t == typeof(int))
        {
            if (v is long l && l >= int.MinValue && l <= int.MaxValue) return (int)l;
        }
        else if (t == typeof(bool))
        {
            if (v is bool) return v;
        }
        else if (t.IsEnum) // the spec's value sets are enums in C#; the cases carry their numbers
        {
            if (v is long l) return Enum.ToObject(t, l);
        }
        else if (t == typeof(DateTimeOffset?)) // the spec's date-time strings
        {
            if (v == null || v is string { Length: 0 }) return null;
            if (v is string s && DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var when)) return when;
        }
        else if (t == typeof(byte[]))
        {
            if (v is byte[]) return v;
            if (v is string s) return Encoding.UTF8.GetBytes(s);
            if (v == null) return null;
        }
        throw new CaseFailure($"{what}: a {(v == null ? "null" : v.GetType().Name)} value does not fit {t.Name}");
    }

    /// <summary>The binding's typed values back as the cases' JSON values: numbers, and date-times as the library's strings.</summary>
    public static object FromBinding(object v) => v switch
    {
        int i => (long)i,
        Enum e => Convert.ToInt64(e),
        DateTimeOffset d => d.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        null => "", // only a date-time that is not set reads null
        _ => v,
    };

    // The cases call the document's forms (byte[] buffers), not the Span/Memory overloads.
    private static bool PlainParameters(MethodInfo m) => m.GetParameters().All(p =>
        p.ParameterType == typeof(long) || p.ParameterType == typeof(int) || p.ParameterType == typeof(string) ||
        p.ParameterType == typeof(bool) || p.ParameterType == typeof(byte[]) || p.ParameterType.IsEnum);

    /// <summary>Runs a binding call; TargetInvocationException is unwrapped so SFTPKitException surfaces.</summary>
    public static object Invoke(MethodInfo m, object target, object[] args)
    {
        try
        {
            return m.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public static void SetProperty(SFTPServer srv, string name, long? index, object value)
    {
        string p = Pascal(name);
        if (index.HasValue)
        {
            var m = typeof(SFTPServer).GetMethods().FirstOrDefault(x => x.Name == "Set" + p && x.GetParameters().Length == 2
                                                                         && x.GetParameters()[0].ParameterType == typeof(int))
                    ?? throw new CaseFailure($"no indexed writable property {name}");
            Invoke(m, srv, new[] { To(typeof(int), index.Value, name + " index"), To(m.GetParameters()[1].ParameterType, value, name) });
            return;
        }
        var prop = typeof(SFTPServer).GetProperty(p) ?? throw new CaseFailure($"no property {name}");
        if (!prop.CanWrite) throw new CaseFailure($"property {name} is read-only in the binding");
        Invoke(prop.SetMethod!, srv, new[] { To(prop.PropertyType, value, name) });
    }

    public static object GetProperty(SFTPServer srv, string name, long? index)
    {
        string p = Pascal(name);
        if (index.HasValue)
        {
            var m = typeof(SFTPServer).GetMethod("Get" + p, new[] { typeof(int) }) ?? throw new CaseFailure($"no indexed property {name}");
            return FromBinding(Invoke(m, srv, new[] { To(typeof(int), index.Value, name + " index") }));
        }
        var prop = typeof(SFTPServer).GetProperty(p) ?? throw new CaseFailure($"no property {name}");
        return FromBinding(Invoke(prop.GetMethod!, srv, Array.Empty<object>()));
    }

    public static object CallMethod(SFTPServer srv, string name, IReadOnlyList<object> args)
    {
        var m = typeof(SFTPServer).GetMethods().FirstOrDefault(x => x.Name == Pascal(name) && x.GetParameters().Length == args.Count
                                                                     && PlainParameters(x))
                ?? throw new CaseFailure($"no method {name} taking {args.Count} argument(s)");
        var ps = m.GetParameters();
        var conv = new object[args.Count];
        for (int i = 0; i < args.Count; i++)
            conv[i] = To(ps[i].ParameterType, args[i], name + " argument " + (i + 1));
        return FromBinding(Invoke(m, srv, conv));
    }

    public static object KeyOp(SSHKey key, string op, IReadOnlyList<object> args)
    {
        switch (op)
        {
            case "generate":
                key.Generate((string)To(typeof(string), args[0], "generate algorithm"), (long)To(typeof(long), args[1], "generate bits"));
                return null;
            case "import_file":
                key.ImportFile((string)To(typeof(string), args[0], "import_file path"),
                               args.Count > 1 ? (string)To(typeof(string), args[1], "passphrase") : "");
                return null;
            case "import_bytes":
                key.ImportBytes((byte[])To(typeof(byte[]), args[0], "import_bytes data"),
                                args.Count > 1 ? (string)To(typeof(string), args[1], "passphrase") : "");
                return null;
            case "import_external":
                key.ImportExternal((string)To(typeof(string), args[0], "import_external public key"),
                                   (string)To(typeof(string), args[1], "import_external key id"));
                return null;
            case "export_public": return key.ExportPublic();
            case "handle": return key.Handle;
            default: throw new CaseFailure($"unknown key op {op}");
        }
    }

    /// <summary>Every parameter of an event, by spec name, as the handler received it.</summary>
    public static Dictionary<string, object> ReadParams(SFTPKitEventArgs e)
    {
        var d = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var p in e.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.DeclaringType == e.GetType())
                d[Snake(p.Name)] = FromBinding(p.GetValue(e));
        return d;
    }

    public static void SetParam(SFTPKitEventArgs e, string name, object value)
    {
        var p = e.GetType().GetProperty(Pascal(name));
        if (p == null || !p.CanWrite) throw new CaseFailure($"{e.EventName} has no by-ref parameter {name}");
        p.SetValue(e, To(p.PropertyType, value, e.EventName + "." + name));
    }
}

package org.sftpkit.conformance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * FORMAT.md's values ({"hex"}, {"var"}, {"param"}, {"concat"}, {"path"}, {"file"}, {"repeat"})
 * and matchers ({"regex"}, {"starts_with"}, {"ge"}, {"not"}, {"any_of"}, ...). Runtime values are
 * Boolean, Long, String, byte[] or Json.NULL.
 */
final class Values {
    private Values() {
    }

    /** Where {"var"} and {"param"} come from. */
    interface Scope {
        Object var(String name);

        /** The current event's parameter as received; null outside a handler rule. */
        Object param(String name);

        Path suite();
    }

    @SuppressWarnings("unchecked")
    static Object eval(Object v, Scope scope) {
        if (!(v instanceof Map)) {
            return v;
        }
        Map<String, Object> m = (Map<String, Object>) v;
        if (m.containsKey("repeat")) {
            return text(eval(m.get("repeat"), scope)).repeat((int) (long) (Long) m.get("count"));
        }
        if (m.size() != 1) {
            throw new CaseError("a value object has exactly one key: " + Json.write(v));
        }
        Map.Entry<String, Object> e = m.entrySet().iterator().next();
        Object a = e.getValue();
        switch (e.getKey()) {
            case "hex":
                return HexFormat.of().parseHex((String) a);
            case "var":
                return scope.var((String) a);
            case "param": {
                Object p = scope.param((String) a);
                if (p == null) {
                    throw new CaseError("{\"param\": \"" + a + "\"} outside a handler or unknown parameter");
                }
                return p;
            }
            case "concat": {
                StringBuilder b = new StringBuilder();
                for (Object x : (List<Object>) a) {
                    b.append(text(eval(x, scope)));
                }
                return b.toString();
            }
            case "path":
                return scope.suite().resolve((String) a).toAbsolutePath().normalize().toString();
            case "file":
                try {
                    String t = Files.readString(scope.suite().resolve((String) a), StandardCharsets.UTF_8);
                    return t.endsWith("\n") ? t.substring(0, t.length() - 1) : t;
                } catch (java.io.IOException ex) {
                    throw new CaseError("cannot read " + a + ": " + ex.getMessage());
                }
            default:
                throw new CaseError("unknown value " + Json.write(v));
        }
    }

    /** String form used by {"concat"} and {"repeat"}: ints in decimal, bools as true/false. */
    static String text(Object v) {
        if (v instanceof byte[]) {
            return new String((byte[]) v, StandardCharsets.UTF_8);
        }
        return String.valueOf(v);
    }

    /** Converts an evaluated value to a Java parameter type of the binding. */
    static Object convert(Object v, Class<?> type, String what) {
        if (type == boolean.class) {
            if (v instanceof Boolean) {
                return v;
            }
        } else if (type == long.class || type == int.class) {
            if (v instanceof Long) {
                long l = (Long) v;
                if (type == int.class) {
                    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
                        throw new CaseError(what + ": " + l + " does not fit an int index");
                    }
                    return (int) l;
                }
                return l;
            }
        } else if (type == String.class) {
            if (v instanceof String) {
                return v;
            }
            if (v == Json.NULL) {
                return null;
            }
        } else if (type == byte[].class) {
            if (v instanceof byte[]) {
                return v;
            }
            if (v instanceof String) {
                return ((String) v).getBytes(StandardCharsets.UTF_8);
            }
        }
        throw new CaseError(what + ": a " + kind(v) + " cannot be a " + type.getSimpleName());
    }

    static String kind(Object v) {
        if (v == Json.NULL || v == null) {
            return "null";
        }
        if (v instanceof byte[]) {
            return "bytes";
        }
        return v.getClass().getSimpleName().toLowerCase();
    }

    static String show(Object v) {
        if (v instanceof byte[]) {
            return "hex:" + HexFormat.of().formatHex((byte[]) v);
        }
        if (v instanceof String) {
            return Json.write(v);
        }
        return String.valueOf(v);
    }

    private static final Map<String, String> POSIX_CLASSES = Map.of(
            "[:digit:]", "\\p{Digit}", "[:alpha:]", "\\p{Alpha}", "[:alnum:]", "\\p{Alnum}",
            "[:upper:]", "\\p{Upper}", "[:lower:]", "\\p{Lower}", "[:space:]", "\\s",
            "[:xdigit:]", "\\p{XDigit}", "[:punct:]", "\\p{Punct}", "[:print:]", "\\p{Print}");

    /** A POSIX extended regular expression as a java.util.regex one (the suite's subset). */
    static Pattern posix(String ere) {
        String j = ere;
        for (Map.Entry<String, String> e : POSIX_CLASSES.entrySet()) {
            j = j.replace(e.getKey(), e.getValue());
        }
        return Pattern.compile("^(" + j + ")$", Pattern.DOTALL);
    }

    @SuppressWarnings("unchecked")
    static boolean matches(Object m, Object actual, Scope scope) {
        if (m instanceof Map) {
            Map<String, Object> mm = (Map<String, Object>) m;
            if (mm.size() != 1) {
                throw new CaseError("a matcher object has exactly one key: " + Json.write(m));
            }
            Map.Entry<String, Object> e = mm.entrySet().iterator().next();
            Object a = e.getValue();
            switch (e.getKey()) {
                case "hex":
                    return actual instanceof byte[] && Arrays.equals((byte[]) actual, HexFormat.of().parseHex((String) a));
                case "var":
                    return equal(scope.var((String) a), actual);
                case "regex":
                    return actual instanceof String && posix((String) a).matcher((String) actual).matches();
                case "starts_with":
                    return actual instanceof String && ((String) actual).startsWith(text(eval(a, scope)));
                case "ends_with":
                    return actual instanceof String && ((String) actual).endsWith(text(eval(a, scope)));
                case "contains":
                    return actual instanceof String && ((String) actual).contains(text(eval(a, scope)));
                case "ge":
                    return actual instanceof Long && (Long) actual >= (Long) eval(a, scope);
                case "gt":
                    return actual instanceof Long && (Long) actual > (Long) eval(a, scope);
                case "le":
                    return actual instanceof Long && (Long) actual <= (Long) eval(a, scope);
                case "lt":
                    return actual instanceof Long && (Long) actual < (Long) eval(a, scope);
                case "not":
                    return !matches(a, actual, scope);
                case "any_of":
                    for (Object x : (List<Object>) a) {
                        if (matches(x, actual, scope)) {
                            return true;
                        }
                    }
                    return false;
                case "any":
                    return actual != null;
                default:
                    // a value object used as an expected value ({"concat"}, {"path"}, ...)
                    return equal(eval(m, scope), actual);
            }
        }
        return equal(m, actual);
    }

    static boolean equal(Object want, Object actual) {
        if (want instanceof byte[] || actual instanceof byte[]) {
            return want instanceof byte[] && actual instanceof byte[] && Arrays.equals((byte[]) want, (byte[]) actual);
        }
        if (want == Json.NULL) {
            return actual == null || actual == Json.NULL;
        }
        if (want instanceof Integer) {
            want = (long) (Integer) want;
        }
        if (actual instanceof Integer) {
            actual = (long) (Integer) actual;
        }
        return want != null && want.equals(actual);
    }
}

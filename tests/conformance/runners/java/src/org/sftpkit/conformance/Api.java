package org.sftpkit.conformance;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import org.sftpkit.SFTPKitException;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;

/**
 * Spec names to the Java binding's spelling, through its public API only (reflection):
 * property {@code base_dir} is {@code getBaseDir()} / {@code setBaseDir(v)}, indexed ones take an
 * int first; method {@code list_clients} is {@code listClients()}; key operations are SSHKey's.
 */
final class Api {
    private Api() {
    }

    static String pascal(String spec) {
        StringBuilder b = new StringBuilder();
        for (String w : spec.split("_")) {
            if (!w.isEmpty()) {
                b.append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
            }
        }
        return b.toString();
    }

    static String camel(String spec) {
        String p = pascal(spec);
        return Character.toLowerCase(p.charAt(0)) + p.substring(1);
    }

    /**
     * The C-level accessor's name: an enum-typed or Instant-typed property or parameter keeps its
     * number / text as getXValue / getXText (the cases speak the C ABI's values), others getX.
     */
    static String rawName(Class<?> cls, String name, int arity) {
        for (String suffix : new String[] {"Value", "Text"}) {
            for (Method m : cls.getMethods()) {
                if (m.getName().equals(name + suffix) && m.getParameterCount() == arity) {
                    return name + suffix;
                }
            }
        }
        return name;
    }

    static Method rawGetter(Class<?> cls, String name, int arity) throws NoSuchMethodException {
        String raw = rawName(cls, name, arity);
        for (Method m : cls.getMethods()) {
            if (m.getName().equals(raw) && m.getParameterCount() == arity) {
                return m;
            }
        }
        throw new NoSuchMethodException(name);
    }

    private static Method find(Class<?> cls, String name, int arity, String what) {
        name = rawName(cls, name, arity);
        for (Method m : cls.getMethods()) {
            // the ByteBuffer overloads of get/set_client_buffer are the binding's own, not the spec's
            if (m.getName().equals(name) && m.getParameterCount() == arity
                    && !java.util.Arrays.asList(m.getParameterTypes()).contains(java.nio.ByteBuffer.class)) {
                return m;
            }
        }
        throw new CaseError(what + " is not in the Java binding (" + cls.getSimpleName() + "." + name + "/" + arity + ")");
    }

    /** Invokes, unwrapping the binding's exceptions (SFTPKitException passes through). */
    private static Object invoke(Method m, Object target, Object... args) {
        try {
            return normalize(m.invoke(target, args));
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            if (c instanceof Error) {
                throw (Error) c;
            }
            throw new CaseError(m.getName() + " threw " + c);
        } catch (IllegalAccessException e) {
            throw new CaseError(m.getName() + ": " + e);
        }
    }

    static Object normalize(Object r) {
        if (r instanceof Integer) {
            return (long) (Integer) r;
        }
        return r;
    }

    static Object getProperty(SFTPServer s, String name, Long index) {
        String what = "property " + name;
        if (index == null) {
            return invoke(find(SFTPServer.class, "get" + pascal(name), 0, what), s);
        }
        Method m = find(SFTPServer.class, "get" + pascal(name), 1, "indexed " + what);
        return invoke(m, s, Values.convert(index, int.class, what + " index"));
    }

    static void setProperty(SFTPServer s, String name, Long index, Object value) {
        String what = "property " + name;
        if (index == null) {
            Method m = find(SFTPServer.class, "set" + pascal(name), 1, "setter of " + what);
            invoke(m, s, Values.convert(value, m.getParameterTypes()[0], what));
        } else {
            Method m = find(SFTPServer.class, "set" + pascal(name), 2, "indexed setter of " + what);
            invoke(m, s, Values.convert(index, int.class, what + " index"),
                    Values.convert(value, m.getParameterTypes()[1], what));
        }
    }

    /** A method of the reference document by its spec name; args already evaluated. */
    static Object call(SFTPServer s, String name, List<Object> args) {
        Method m = find(SFTPServer.class, camel(name), args.size(), "method " + name);
        return invoke(m, s, convertAll(m, args, name));
    }

    private static Object[] convertAll(Method m, List<Object> args, String what) {
        Class<?>[] types = m.getParameterTypes();
        Object[] out = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            out[i] = Values.convert(args.get(i), types[i], what + " argument " + (i + 1));
        }
        return out;
    }

    static Object key(SSHKey k, String op, List<Object> args) {
        String java;
        switch (op) {
            case "generate": java = "generate"; break;
            case "import_file": java = "importFile"; break;
            case "import_bytes": java = "importBytes"; break;
            case "import_external": java = "importExternal"; break;
            case "export_public": java = "exportPublic"; break;
            case "handle": java = "getHandle"; break;
            default: throw new CaseError("unknown key op " + op);
        }
        Method m = find(SSHKey.class, java, args.size(), "key op " + op);
        return invoke(m, k, convertAll(m, args, "key " + op));
    }

    /** The binding's error code of a failure, or null when it is not the binding's exception. */
    static Integer code(Throwable t) {
        return t instanceof SFTPKitException ? ((SFTPKitException) t).getCode() : null;
    }
}

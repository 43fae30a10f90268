package org.sftpkit.conformance;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import org.sftpkit.SFTPKitEvent;

/** Reads and writes an event object's parameters by spec name (getX / setX of the binding). */
final class EventAccess {
    private EventAccess() {
    }

    static Object get(SFTPKitEvent e, String param) {
        try {
            return Api.normalize(Api.rawGetter(e.getClass(), "get" + Api.pascal(param), 0).invoke(e));
        } catch (NoSuchMethodException ex) {
            throw new CaseError(e.getEventName() + " has no parameter " + param);
        } catch (InvocationTargetException ex) {
            throw new CaseError(e.getEventName() + "." + param + ": " + ex.getCause());
        } catch (IllegalAccessException ex) {
            throw new CaseError(ex.toString());
        }
    }

    /** Sets a by-ref parameter (the binding has setters only for those). */
    static void set(SFTPKitEvent e, String param, Object value) {
        String name = Api.rawName(e.getClass(), "set" + Api.pascal(param), 1);
        for (Method m : e.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == 1) {
                try {
                    m.invoke(e, Values.convert(value, m.getParameterTypes()[0], e.getEventName() + "." + param));
                    return;
                } catch (InvocationTargetException ex) {
                    throw new CaseError(e.getEventName() + "." + param + " = " + Values.show(value) + ": " + ex.getCause());
                } catch (IllegalAccessException ex) {
                    throw new CaseError(ex.toString());
                }
            }
        }
        throw new CaseError(e.getEventName() + "." + param + " is not a by-ref parameter (no setter)");
    }

    static long getLong(Map<String, Object> params, String name) {
        return (Long) params.get(name);
    }

    static String getString(Map<String, Object> params, String name) {
        return (String) params.get(name);
    }
}

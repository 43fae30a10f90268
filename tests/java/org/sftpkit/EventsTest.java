package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Events through the generated layer, fired by the native hooks exactly as the core fires them:
 * every event's getters, every by-ref setter written back, the lambda and listener forms, their
 * order, replacement and removal, and event objects that refuse writes after delivery.
 */
class EventsTest {
    /** One event's shape, read from the library's own parameter table. */
    static final class Shape {
        final int id;
        final String name;
        final String[] params;
        final int[] types; // 0 bool, 1 int, 2 string
        final boolean[] byref;

        Shape(int id) {
            this.id = id;
            this.name = Utf8.decode(SFTPKitNative.sftpkit_event_name(id));
            int n = SFTPKitNative.sftpkit_event_param_count(id);
            params = new String[n];
            types = new int[n];
            byref = new boolean[n];
            for (int i = 0; i < n; i++) {
                byte[][] pn = new byte[1][];
                int[] t = new int[1];
                int[] r = new int[1];
                assertEquals(0, SFTPKitNative.sftpkit_event_param_info(id, i, pn, t, r));
                params[i] = Utf8.decode(pn[0]);
                types[i] = t[0];
                byref[i] = r[0] != 0;
            }
        }

        String pascalShort() {
            StringBuilder b = new StringBuilder();
            for (String w : name.substring(3).split("_")) {
                b.append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
            }
            return b.toString();
        }

        static String pascal(String specName) {
            StringBuilder b = new StringBuilder();
            for (String w : specName.split("_")) {
                b.append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
            }
            return b.toString();
        }

        Object input(int i) {
            switch (types[i]) {
                case 0: return i % 2 == 0;
                case 1: return 100L + i;
                default: return "in-" + params[i] + "-\u00e9\ud83d\ude00";
            }
        }

        Object output(int i) {
            switch (types[i]) {
                case 0: return !(Boolean) input(i);
                case 1: return 5000L + i;
                default: return "out-" + params[i] + "-\u00fc\ud83d\ude03";
            }
        }
    }

    static List<Shape> allEvents() {
        List<Shape> out = new ArrayList<>();
        for (int id = 1; id <= EventTable.MAX_ID; id++) {
            out.add(new Shape(id));
        }
        return out;
    }

    /** Fires shape's event with its inputs; returns the parameters' values afterwards. */
    static Object[] fire(SFTPServer s, Shape sh) {
        int n = sh.params.length;
        long[] ints = new long[n];
        byte[][] strs = new byte[n][];
        for (int i = 0; i < n; i++) {
            Object v = sh.input(i);
            if (sh.types[i] == 2) {
                strs[i] = FireHooks.utf8((String) v);
            } else {
                ints[i] = sh.types[i] == 0 ? ((Boolean) v ? 1 : 0) : (Long) v;
            }
        }
        assertEquals(1, FireHooks.fire(FireHooks.ptr(s), sh.id, ints, strs), sh.name + ": a handler ran");
        Object[] after = new Object[n];
        for (int i = 0; i < n; i++) {
            after[i] = sh.types[i] == 2 ? FireHooks.str(strs[i]) : sh.types[i] == 0 ? (Object) (ints[i] != 0)
                    : (Object) ints[i];
        }
        return after;
    }

    /** The C-level value: getXValue() where a typed getX() (an enum) takes the plain name. */
    static Object get(Object event, String param) throws Exception {
        try {
            return event.getClass().getMethod("get" + Shape.pascal(param) + "Value").invoke(event);
        } catch (NoSuchMethodException plain) {
            return event.getClass().getMethod("get" + Shape.pascal(param)).invoke(event);
        }
    }

    static void set(Object event, Shape sh, int i, Object v) throws Throwable {
        Class<?> t = sh.types[i] == 0 ? boolean.class : sh.types[i] == 1 ? long.class : String.class;
        try {
            Method m;
            try {
                m = event.getClass().getMethod("set" + Shape.pascal(sh.params[i]), t);
            } catch (NoSuchMethodException typed) { // an enum-typed setX: the number is setXValue
                m = event.getClass().getMethod("set" + Shape.pascal(sh.params[i]) + "Value", t);
            }
            m.invoke(event, v);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Test
    void everyEventDeliversEveryParameterAndWritesBackEveryByRef() throws Throwable {
        List<Shape> shapes = allEvents();
        assertEquals(42, shapes.size()); // the document's 39, sftpkit's link pair, on_auth_password_change
        try (SFTPServer s = new SFTPServer()) {
            for (Shape sh : shapes) {
                Class<?> handlerType = Class.forName("org.sftpkit." + sh.pascalShort() + "Handler");
                assertTrue(handlerType.isAnnotationPresent(FunctionalInterface.class), handlerType + " is functional");
                AtomicReference<Object> seen = new AtomicReference<>();
                List<Object> received = Collections.synchronizedList(new ArrayList<>());
                Object handler = Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {handlerType},
                        (proxy, method, args) -> {
                            if (!method.getName().equals("handle")) {
                                return method.getName().equals("hashCode") ? 0 : method.getName().equals("equals")
                                        ? proxy == args[0] : "proxy";
                            }
                            Object e = args[0];
                            seen.set(e);
                            for (int i = 0; i < sh.params.length; i++) {
                                received.add(get(e, sh.params[i]));
                            }
                            for (int i = 0; i < sh.params.length; i++) {
                                if (sh.byref[i]) {
                                    set(e, sh, i, sh.output(i));
                                }
                            }
                            return null;
                        });
                Method setter = SFTPServer.class.getMethod("setOn" + sh.pascalShort(), handlerType);
                setter.invoke(s, handler);
                assertSame(handler, SFTPServer.class.getMethod("getOn" + sh.pascalShort()).invoke(s));

                Object[] after = fire(s, sh);

                SFTPKitEvent e = (SFTPKitEvent) seen.get();
                assertNotNull(e, sh.name + " reached the handler");
                assertEquals(sh.name, e.getEventName());
                assertSame(s, e.getServer());
                for (int i = 0; i < sh.params.length; i++) {
                    assertEquals(sh.input(i), received.get(i), sh.name + "." + sh.params[i] + " as received");
                    Object want = sh.byref[i] ? sh.output(i) : sh.input(i);
                    assertEquals(want, after[i], sh.name + "." + sh.params[i] + " after the handler");
                    assertEquals(want, get(e, sh.params[i]), sh.name + "." + sh.params[i] + " getter afterwards");
                }
                assertTrue(!e.isOpen(), "closed after delivery");
                for (int i = 0; i < sh.params.length; i++) {
                    if (sh.byref[i]) {
                        final int k = i;
                        assertThrows(IllegalStateException.class, () -> set(e, sh, k, sh.output(k)),
                                sh.name + "." + sh.params[i] + " set after delivery");
                    }
                }
                setter.invoke(s, (Object) null);
            }
        }
    }

    @Test
    void aHandlerThatSetsNothingKeepsTheLibrarysVerdict() {
        try (SFTPServer s = new SFTPServer()) {
            s.setOnAuthPassword(e -> { });
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 1, out);
            assertEquals(1, out[0], "accept stays yes");
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(0, out[0], "accept stays no");
        }
    }

    @Test
    void lambdaOverrulesEitherWayAndSeesExactUtf8() {
        String user = "J\u00fcrgen\ud83d\ude00";
        String password = "p\u00e4ss \u2603 \ud834\udd1e";
        try (SFTPServer s = new SFTPServer()) {
            List<String> seen = new ArrayList<>();
            s.setOnAuthPassword(e -> {
                seen.add(e.getUsername() + "|" + e.getPassword() + "|" + e.getAccept() + "|" + e.getConnectionId());
                e.setAccept(e.getUsername().equals(user) && e.getPassword().equals(password));
                e.setForceChangePassword(true);
            });
            int[] out = new int[2];
            assertEquals(1, FireHooks.authPassword(FireHooks.ptr(s), 7, FireHooks.utf8(user), FireHooks.utf8(password),
                    0, out));
            assertArrayEquals(new int[] {1, 1}, out, "accepted, password change requested");
            FireHooks.authPassword(FireHooks.ptr(s), 8, FireHooks.utf8(user), FireHooks.utf8("wrong"), 1, out);
            assertEquals(0, out[0], "refused although the library said yes");
            assertEquals(List.of(user + "|" + password + "|false|7", user + "|wrong|true|8"), seen);
        }
    }

    @Test
    void byRefStringsGoBackAsExactUtf8() {
        Shape sh = new Shape(SFTPKitNative.sftpkit_event_id(Utf8.z("on_translate_path")));
        try (SFTPServer s = new SFTPServer()) {
            s.setOnTranslatePath(e -> {
                e.setAbsolutePath("/srv/\u00fc/\ud83d\ude00/" + e.getPath());
                e.setAction(FileRequestAction.fraCustom);
            });
            long[] ints = new long[sh.params.length];
            byte[][] strs = new byte[sh.params.length][];
            strs[1] = FireHooks.utf8("a\u00e9.txt");
            strs[2] = FireHooks.utf8("");
            ints[3] = FileRequestAction.fraAuto.value();
            FireHooks.fire(FireHooks.ptr(s), sh.id, ints, strs);
            assertArrayEquals(FireHooks.utf8("/srv/\u00fc/\ud83d\ude00/a\u00e9.txt"), strs[2]);
            assertEquals(FileRequestAction.fraCustom.value(), ints[3]);
        }
    }

    @Test
    void listenerFormHandlerFirstThenListenersInOrder() {
        try (SFTPServer s = new SFTPServer()) {
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            s.setOnAuthPassword(e -> order.add("lambda"));
            SFTPServerListener first = new SFTPServerListener() {
                @Override
                public void onAuthPassword(AuthPasswordEvent e) {
                    order.add("first:" + e.getAccept());
                    e.setAccept(true);
                }
            };
            SFTPServerListener second = new SFTPServerListener() {
                @Override
                public void onAuthPassword(AuthPasswordEvent e) {
                    order.add("second:" + e.getAccept());
                }

                @Override
                public void onConnect(ConnectEvent e) {
                    order.add("connect");
                }
            };
            s.addListener(first);
            s.addListener(second);
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(List.of("lambda", "first:false", "second:true"), order);
            assertEquals(1, out[0]);

            order.clear();
            assertTrue(s.removeListener(first));
            assertTrue(!s.removeListener(first), "second removal reports false");
            s.setOnAuthPassword(null);
            assertNull(s.getOnAuthPassword());
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(List.of("second:false"), order);
            assertEquals(0, out[0]);

            order.clear();
            assertTrue(s.removeListener(second));
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(List.of(), order, "nothing left to call");
        }
    }

    @Test
    void replacingAHandlerTakesEffectForTheNextEvent() {
        try (SFTPServer s = new SFTPServer()) {
            s.setOnAuthPassword(e -> e.setAccept(true));
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(1, out[0]);
            s.setOnAuthPassword(e -> e.setAccept(false));
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 1, out);
            assertEquals(0, out[0]);
        }
    }

    @Test
    void handlersMayCallBackIntoTheServer() {
        try (SFTPServer s = new SFTPServer()) {
            s.setUserCount(1);
            s.setUserUsername(0, "alice");
            s.setUserPassword(0, "secret");
            s.setOnAuthPassword(e -> {
                SFTPServer srv = e.getServer();
                boolean ok = false;
                for (int i = 0; i < srv.getUserCount(); i++) {
                    ok |= srv.getUserUsername(i).equals(e.getUsername()) && srv.getUserPassword(i).equals(e.getPassword());
                }
                srv.setPort(2000 + (int) e.getConnectionId()); // a write from inside the handler
                e.setAccept(ok);
            });
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 5, FireHooks.utf8("alice"), FireHooks.utf8("secret"), 0, out);
            assertEquals(1, out[0]);
            assertEquals(2005, s.getPort());
            FireHooks.authPassword(FireHooks.ptr(s), 6, FireHooks.utf8("alice"), FireHooks.utf8("nope"), 1, out);
            assertEquals(0, out[0]);
        }
    }

    @Test
    void eventObjectsDescribeThemselves() {
        try (SFTPServer s = new SFTPServer()) {
            AtomicReference<String> text = new AtomicReference<>();
            s.setOnAuthPassword(e -> text.set(e.toString()));
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 3, FireHooks.utf8("bob"), FireHooks.utf8("pw"), 0, out);
            assertTrue(text.get().startsWith("AuthPasswordEvent[connectionId=3, username=bob, password=***"), text.get());
            assertTrue(!text.get().contains("pw"), "the password never shows: " + text.get());
        }
    }
}

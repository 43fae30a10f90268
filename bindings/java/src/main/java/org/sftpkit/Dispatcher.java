package org.sftpkit;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;

/**
 * The object native code calls for every event a Java handler wants (through the JNI trampoline in
 * swig/java.i, which holds it by a global reference until the library releases the handler).
 *
 * <p>It holds its server only weakly: a global reference is a GC root, and a strong one would keep
 * every server with a handler alive forever (handlers usually capture their server). Started
 * servers are kept alive by SFTPServer itself until stop() or close().
 */
final class Dispatcher {
    /** The native objects whose handlers are running on this thread (innermost last). */
    private static final ThreadLocal<ArrayDeque<NativeHandle>> ACTIVE = ThreadLocal.withInitial(ArrayDeque::new);

    private final WeakReference<SFTPServer> server;
    private final NativeHandle handle;

    Dispatcher(SFTPServer server, NativeHandle handle) {
        this.server = new WeakReference<>(server);
        this.handle = handle;
    }

    /** True while the calling thread runs an event handler of h (close() must then defer the free). */
    static boolean inHandlerOf(NativeHandle h) {
        ArrayDeque<NativeHandle> active = ACTIVE.get();
        return !active.isEmpty() && active.contains(h);
    }

    /** Called by native code on a server thread. Nothing may propagate out of here. */
    void dispatch(int eventId, long ev) {
        SFTPServer s = null;
        try {
            s = server.get();
            if (s == null) {
                return;
            }
            ArrayDeque<NativeHandle> active = ACTIVE.get();
            active.addLast(handle);
            try {
                s.dispatchEvent(eventId, ev);
            } finally {
                active.removeLast();
            }
        } catch (Throwable t) {
            // Reading the parameters failed before any handler ran: the library's verdict stands.
            String name = eventId > 0 && eventId <= EventTable.MAX_ID ? EventTable.NAME[eventId] : "event " + eventId;
            if (s != null) {
                s.eventHub().report(name, t);
            } else {
                EventHub.printReport(name, t);
            }
        }
    }
}

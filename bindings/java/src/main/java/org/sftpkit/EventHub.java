package org.sftpkit;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The event side of one SFTPServer: the handler per event, the listeners, the native registration
 * and its event mask, and the handler-exception policy.
 *
 * <p>The native dispatcher is installed with the first handler or listener and stays until the
 * server is freed (which releases its global reference). The mask tells the native trampoline
 * which event ids have a Java receiver, so events nobody handles in Java never enter the JVM.
 */
final class EventHub {
    private static final SFTPServerListener[] NONE = new SFTPServerListener[0];

    private final NativeHandle handle;
    private final Dispatcher dispatcher;
    private final AtomicReferenceArray<Object> handlers = new AtomicReferenceArray<>(EventTable.MAX_ID + 1);
    private final List<SFTPServerListener> listeners = new ArrayList<>(); // guarded by this
    private volatile SFTPServerListener[][] listenersById;
    private long registration; // guarded by this; native sfk_java_user*, valid while the server lives
    private volatile HandlerExceptionHandler exceptionHandler;
    private volatile System.Logger logger = Logging.defaultLogger();
    private final NativeLog nativeLog;
    private volatile Throwable lastException;
    private final AtomicLong exceptions = new AtomicLong();

    EventHub(SFTPServer server, NativeHandle handle) {
        this.handle = handle;
        this.dispatcher = new Dispatcher(server, handle);
        this.nativeLog = NativeLog.install(handle, logger);
        SFTPServerListener[][] byId = new SFTPServerListener[EventTable.MAX_ID + 1][];
        java.util.Arrays.fill(byId, NONE);
        this.listenersById = byId;
    }

    Object handler(int id) {
        return handlers.get(id);
    }

    SFTPServerListener[] listeners(int id) {
        return listenersById[id];
    }

    synchronized void setHandler(int id, Object h) {
        long p = handle.acquire();
        try {
            Object old = handlers.getAndSet(id, h);
            try {
                updateMask(p);
            } catch (RuntimeException | Error e) {
                handlers.set(id, old);
                throw e;
            }
        } finally {
            handle.release();
        }
    }

    synchronized void addListener(SFTPServerListener l) {
        if (l == null) {
            throw new NullPointerException("listener");
        }
        long p = handle.acquire();
        try {
            listeners.add(l);
            try {
                rebuildListeners();
                updateMask(p);
            } catch (RuntimeException | Error e) {
                listeners.remove(listeners.size() - 1);
                rebuildListeners();
                throw e;
            }
        } finally {
            handle.release();
        }
    }

    synchronized boolean removeListener(SFTPServerListener l) {
        int i = listeners.indexOf(l);
        if (i < 0) {
            return false;
        }
        listeners.remove(i);
        rebuildListeners();
        long p;
        try {
            p = handle.acquire();
        } catch (SFTPKitException closed) {
            return true; // a closed server delivers nothing anyway
        }
        try {
            updateMask(p);
        } finally {
            handle.release();
        }
        return true;
    }

    /** Per event id, the listeners that override its method (the others would be no-ops). */
    private void rebuildListeners() {
        SFTPServerListener[][] byId = new SFTPServerListener[EventTable.MAX_ID + 1][];
        for (int id = 0; id <= EventTable.MAX_ID; id++) {
            List<SFTPServerListener> ls = new ArrayList<>();
            if (id > 0) {
                for (SFTPServerListener l : listeners) {
                    if (overrides(l, id)) {
                        ls.add(l);
                    }
                }
            }
            byId[id] = ls.isEmpty() ? NONE : ls.toArray(NONE);
        }
        listenersById = byId;
    }

    private static boolean overrides(SFTPServerListener l, int id) {
        try {
            Method m = l.getClass().getMethod(EventTable.LISTENER_METHOD[id], EventTable.EVENT_CLASS[id]);
            return m.getDeclaringClass() != SFTPServerListener.class;
        } catch (NoSuchMethodException | SecurityException e) {
            return true; // cannot tell: deliver, the default method is a no-op anyway
        }
    }

    private void updateMask(long p) {
        long mask = 0;
        SFTPServerListener[][] byId = listenersById;
        for (int id = 1; id <= EventTable.MAX_ID; id++) {
            if (handlers.get(id) != null || byId[id].length > 0) {
                mask |= 1L << id;
            }
        }
        if (mask != 0 && registration == 0) {
            long r = SFTPKitNative.sfk_java_install(p, dispatcher);
            if (r == 0) {
                throw SFTPKitException.fromLastError(ErrorCode.INVALID_STATE);
            }
            registration = r;
        }
        if (registration != 0) {
            SFTPKitNative.sfk_java_set_mask(p, registration, mask);
        }
    }

    // ---- delivery ----------------------------------------------------------------------------------

    /** A handler threw: deny, then report. */
    void handlerFailed(SFTPKitEvent e, Throwable t) {
        try {
            e.failClosed();
        } finally {
            report(e.getEventName(), t);
        }
    }

    /** After the handlers: write the by-ref parameters back and close the event object. */
    void finish(SFTPKitEvent e, long ev) {
        try {
            e.writeBack(ev);
        } catch (Throwable t) {
            report(e.getEventName(), t);
        } finally {
            e.close();
        }
    }

    System.Logger logger() {
        return logger;
    }

    void setLogger(System.Logger l) {
        logger = l != null ? l : Logging.defaultLogger();
        NativeLog sink = nativeLog;
        if (sink != null) {
            sink.setLogger(logger);
        }
    }

    void setExceptionHandler(HandlerExceptionHandler h) {
        exceptionHandler = h;
    }

    Throwable lastException() {
        return lastException;
    }

    long exceptionCount() {
        return exceptions.get();
    }

    /** Records and reports a handler failure; never throws. */
    void report(String eventName, Throwable t) {
        try {
            exceptions.incrementAndGet();
            lastException = t;
            HandlerExceptionHandler h = exceptionHandler;
            if (h == null) {
                logReport(logger, eventName, t);
                return;
            }
            try {
                h.onHandlerException(eventName, t);
            } catch (Throwable inner) {
                logReport(logger, "the HandlerExceptionHandler of " + eventName, inner);
            }
        } catch (Throwable ignored) {
            // Nowhere left to report to; never let anything escape into native code.
        }
    }

    static void printReport(String eventName, Throwable t) {
        logReport(Logging.defaultLogger(), eventName, t);
    }

    /** Handler failures are errors of the application: ERROR with the stack trace. */
    static void logReport(System.Logger to, String eventName, Throwable t) {
        try {
            to.log(System.Logger.Level.ERROR, "the " + eventName + " handler threw (request denied)", t);
        } catch (Throwable ignored) {
            // as above
        }
    }
}

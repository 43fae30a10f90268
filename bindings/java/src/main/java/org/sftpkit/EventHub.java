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
    private static final boolean[] SYNC = new boolean[0];

    /** The listeners of one event, in the order added; async[i]: listener i overrides onXAsync. */
    static final class Listeners {
        static final Listeners EMPTY = new Listeners(NONE, SYNC);
        final SFTPServerListener[] all;
        final boolean[] async;

        Listeners(SFTPServerListener[] all, boolean[] async) {
            this.all = all;
            this.async = async;
        }

        boolean anyAsync() {
            return firstAsync() != null;
        }

        SFTPServerListener firstAsync() {
            for (int i = 0; i < async.length; i++) {
                if (async[i]) {
                    return all[i];
                }
            }
            return null;
        }
    }

    private final NativeHandle handle;
    private final Dispatcher dispatcher;
    private final AtomicReferenceArray<Object> handlers = new AtomicReferenceArray<>(EventTable.MAX_ID + 1);
    private final AtomicReferenceArray<Object> asyncHandlers = new AtomicReferenceArray<>(EventTable.MAX_ID + 1);
    private final List<SFTPServerListener> listeners = new ArrayList<>(); // guarded by this
    private volatile Listeners[] listenersById;
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
        Listeners[] byId = new Listeners[EventTable.MAX_ID + 1];
        java.util.Arrays.fill(byId, Listeners.EMPTY);
        this.listenersById = byId;
    }

    Object handler(int id) {
        return handlers.get(id);
    }

    Object asyncHandler(int id) {
        return asyncHandlers.get(id);
    }

    Listeners listeners(int id) {
        return listenersById[id];
    }

    synchronized void setHandler(int id, Object h) {
        if (h != null) {
            refuseMixedForms(id, asyncHandlers.get(id) != null, "setOn" + EventTable.PASCAL[id]);
        }
        install(handlers, id, h);
    }

    synchronized void setAsyncHandler(int id, Object h) {
        if (h != null) {
            refuseMixedForms(id, handlers.get(id) != null, "setOn" + EventTable.PASCAL[id] + "Async");
            refuseBesideDeferred(id, true, null, asyncHandlers);
        }
        install(asyncHandlers, id, h);
    }

    private void install(AtomicReferenceArray<Object> slots, int id, Object h) {
        long p = handle.acquire();
        try {
            Object old = slots.getAndSet(id, h);
            try {
                updateMask(p);
            } catch (RuntimeException | Error e) {
                slots.set(id, old);
                throw e;
            }
        } finally {
            handle.release();
        }
    }

    // ---- handler forms that cannot work, refused when they are assigned (bindings/java/README.md) ----

    /** One handler per event, in one form: setOnX and setOnXAsync both set would be ambiguous. */
    private static void refuseMixedForms(int id, boolean otherFormSet, String setter) {
        if (otherFormSet) {
            throw new IllegalArgumentException(EventTable.NAME[id] + ": " + setter + " refused: the event already has a "
                    + (setter.endsWith("Async") ? "synchronous" : "asynchronous") + " handler (one form per event;"
                    + " remove the other one first with null)");
        }
    }

    /**
     * A deferrable event (on_read_file, on_write_file) has at most one asynchronous receiver: the
     * deferred reply is that receiver's stage, so a second one could neither add to it nor answer
     * first. (Synchronous receivers may sit beside it: they run first, as observers or to refuse.)
     *
     * @param async whether the receiver being added is asynchronous
     * @param adding the listener being added (not counted yet), or null for a handler
     * @param replacing the handler slot being set (its old value is replaced, so not counted), or null
     */
    private void refuseBesideDeferred(int id, boolean async, SFTPServerListener adding,
                                      AtomicReferenceArray<Object> replacing) {
        if (EventTable.DEFERRED[id] == 0 || !async) {
            return;
        }
        boolean asyncHandler = replacing != asyncHandlers && asyncHandlers.get(id) != null;
        if (asyncHandler || listenersById[id].anyAsync()) {
            throw new IllegalArgumentException(EventTable.NAME[id] + ": "
                    + (adding != null ? "the listener " + adding.getClass().getName() : "the asynchronous handler")
                    + " refused: the event already has an asynchronous receiver (a handler, a listener or"
                    + " setAsyncFileSystem), and a deferred " + EventTable.NAME[id] + " reply comes from one only");
        }
    }

    synchronized void addListener(SFTPServerListener l) {
        if (l == null) {
            throw new IllegalArgumentException("addListener: null listener");
        }
        for (int id = 1; id <= EventTable.MAX_ID; id++) {
            boolean sync = overrides(l, id, false);
            boolean async = overrides(l, id, true);
            if (sync && async) {
                throw new IllegalArgumentException(EventTable.NAME[id] + ": the listener " + l.getClass().getName()
                        + " refused: it implements both " + EventTable.LISTENER_METHOD[id] + " and "
                        + EventTable.LISTENER_METHOD[id] + "Async (one form per event)");
            }
            if (sync || async) {
                refuseBesideDeferred(id, async, l, null);
            }
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

    /** Per event id, the listeners that override one of its methods (the others would be no-ops). */
    private void rebuildListeners() {
        Listeners[] byId = new Listeners[EventTable.MAX_ID + 1];
        byId[0] = Listeners.EMPTY;
        for (int id = 1; id <= EventTable.MAX_ID; id++) {
            List<SFTPServerListener> ls = new ArrayList<>();
            List<Boolean> as = new ArrayList<>();
            for (SFTPServerListener l : listeners) {
                boolean async = overrides(l, id, true);
                if (async || overrides(l, id, false)) {
                    ls.add(l);
                    as.add(async);
                }
            }
            boolean[] a = new boolean[as.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = as.get(i);
            }
            byId[id] = ls.isEmpty() ? Listeners.EMPTY : new Listeners(ls.toArray(NONE), a);
        }
        listenersById = byId;
    }

    private static boolean overrides(SFTPServerListener l, int id, boolean async) {
        String name = EventTable.LISTENER_METHOD[id] + (async ? "Async" : "");
        try {
            Method m = l.getClass().getMethod(name, EventTable.EVENT_CLASS[id]);
            return m.getDeclaringClass() != SFTPServerListener.class;
        } catch (NoSuchMethodException | SecurityException e) {
            return !async; // cannot tell: deliver the synchronous form, its default is a no-op anyway
        }
    }

    private void updateMask(long p) {
        long mask = 0;
        Listeners[] byId = listenersById;
        for (int id = 1; id <= EventTable.MAX_ID; id++) {
            if (handlers.get(id) != null || asyncHandlers.get(id) != null || byId[id].all.length > 0) {
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

    /**
     * A handler threw (or its stage failed): an {@link SftpException} on an event with an
     * OperationStatus answers with its status and message (meant for the client); anything else
     * denies and is reported (its text never reaches the client).
     */
    void handlerFailed(SFTPKitEvent e, Throwable t) {
        t = AsyncCalls.unwrap(t);
        if (t instanceof SftpException && e.isOpen() && e.setOutcome(AsyncCalls.statusOf(t))) {
            StatusMessages.set(e, t.getMessage());
            logger.log(System.Logger.Level.DEBUG, e.getEventName() + ": " + t);
            return;
        }
        try {
            e.failClosed();
        } finally {
            report(e.getEventName(), t);
        }
    }

    /**
     * After the handlers: write the by-ref parameters back, close the event object, then run its
     * follow-up (SFTPKitEvent.afterDelivery), which sees the final by-ref values.
     */
    void finish(SFTPKitEvent e, long ev) {
        try {
            e.writeBack(ev);
        } catch (Throwable t) {
            report(e.getEventName(), t);
        } finally {
            e.close();
        }
        Runnable after = e.takeAfterDelivery();
        if (after != null) {
            try {
                after.run();
            } catch (Throwable t) {
                report(e.getEventName(), t);
            }
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

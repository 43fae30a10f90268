package org.sftpkit;

/**
 * The base of every event object: the server that fired it and the event's name. The subclasses
 * (one per event, generated from the spec) read every parameter when the event arrives and keep
 * by-ref values until the handlers return, when they are written back to the library.
 */
public abstract class SFTPKitEvent {
    private final SFTPServer server;
    private final String eventName;
    private volatile boolean open = true;
    /** The native event, valid only while the handlers run (0 afterwards). */
    private volatile long ev;
    /** What runs once every receiver has returned (the provider layer's follow-up); server thread only. */
    private Runnable afterDelivery;

    SFTPKitEvent(SFTPServer server, String eventName, long ev) {
        this.server = server;
        this.eventName = eventName;
        this.ev = ev;
    }

    /**
     * The text the client receives with this request's reply when the reply is a failure status
     * (custom file events, on_before_* answering fraAbort, on_after_*); an OK reply carries none.
     * The last call wins; {@code null} or "" clears; at most 1024 bytes are kept.
     *
     * @param message the text (UTF-8 on the wire)
     * @throws IllegalStateException if called after the event was delivered
     */
    public void setStatusMessage(String message) {
        ensureOpen("status message");
        int rc = SFTPKitNative.sftpkit_event_set_status_message(ev, Utf8.z(message == null ? "" : message));
        if (rc != 0) {
            throw SFTPKitException.fromLastError(rc);
        }
    }

    /**
     * The server that fired the event (handlers may call back into it).
     *
     * @return the server
     */
    public SFTPServer getServer() {
        return server;
    }

    /**
     * The event's spec name, for example {@code "on_auth_password"}.
     *
     * @return the name
     */
    public String getEventName() {
        return eventName;
    }

    /**
     * Whether by-ref parameters can still be set (true while the handlers run).
     *
     * @return true until the event has been delivered
     */
    public boolean isOpen() {
        return open;
    }

    final void ensureOpen(String param) {
        if (!open) {
            throw new IllegalStateException(eventName + "." + param
                    + " was set after the event was delivered; by-ref parameters count only while the handler runs");
        }
    }

    final void close() {
        open = false;
        ev = 0;
    }

    /**
     * Runs r once the last handler and listener returned and the by-ref values were written back,
     * so r sees the library's final answer: a receiver that runs after the provider layer may
     * still refuse what it did (EventHub.finish runs it; a throw is reported like a handler's).
     */
    final void afterDelivery(Runnable r) {
        Runnable before = afterDelivery;
        afterDelivery = before == null ? r : () -> {
            before.run();
            r.run();
        };
    }

    /** The follow-up set with afterDelivery (null: none), once. */
    final Runnable takeAfterDelivery() {
        Runnable r = afterDelivery;
        afterDelivery = null;
        return r;
    }

    /** Writes the by-ref parameters a handler set back into the native event. */
    abstract void writeBack(long ev);

    /** Sets every by-ref decision to deny (a handler threw). */
    abstract void failClosed();

    /**
     * Sets the by-ref OperationStatus (a value; 0 = a generic failure) of an event that has one and
     * reports a request's outcome through it (not the on_after_* events, which report what already
     * happened). Returns false, changing nothing, for every other event.
     */
    abstract boolean setOutcome(long status);

    /** Whether a handler set that OperationStatus to something other than ostOk (false without one). */
    abstract boolean outcomeFailed();

    static long readInt(long ev, byte[] name) {
        long[] v = new long[1];
        check(SFTPKitNative.sftpkit_event_get_int(ev, name, v));
        return v[0];
    }

    static String readString(long ev, byte[] name) {
        byte[][] v = new byte[1][];
        check(SFTPKitNative.sftpkit_event_get_str(ev, name, v));
        return Utf8.decode(v[0]);
    }

    static void writeInt(long ev, byte[] name, long value) {
        check(SFTPKitNative.sftpkit_event_set_int(ev, name, value));
    }

    static void writeString(long ev, byte[] name, String value) {
        check(SFTPKitNative.sftpkit_event_set_str(ev, name, Utf8.z(value)));
    }

    private static void check(int rc) {
        if (rc != 0) {
            throw SFTPKitException.fromLastError(rc);
        }
    }
}

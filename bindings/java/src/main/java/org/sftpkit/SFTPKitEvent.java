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

    SFTPKitEvent(SFTPServer server, String eventName) {
        this.server = server;
        this.eventName = eventName;
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
    }

    /** Writes the by-ref parameters a handler set back into the native event. */
    abstract void writeBack(long ev);

    /** Sets every by-ref decision to deny (a handler threw). */
    abstract void failClosed();

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

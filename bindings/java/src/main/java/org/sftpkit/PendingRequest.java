package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

/**
 * A READ or WRITE whose handler answers it later, from any thread (the C ABI's deferred completion,
 * {@code sftpkit_server_defer_request}). Inside {@code onReadFile} / {@code onWriteFile} call
 * {@link #defer(SFTPServer, long, String)} and return at once: the event's OperationStatus and any
 * setClientBuffer of that call are then ignored, and the session keeps serving other requests
 * (replies on one handle still leave in arrival order). Later, exactly once, call
 * {@link #complete(OperationStatus, byte[])} (also after a cancellation: it releases the request).
 *
 * <p>While it waits, {@link #cancelled()} tells whether the client is still there, and
 * {@link #onCancel(IntConsumer)} is told the moment it stops being (client gone, connection
 * dropped, server stopping); a cancelled request should be completed at once (its result is
 * discarded). The asynchronous handler forms ({@code setOnReadFileAsync}, ...) use this class
 * underneath: most applications never call it themselves.
 */
public final class PendingRequest {
    /** {@link #cancelled()}: the client closed the connection or the link was lost. */
    public static final int CANCEL_DISCONNECT = 1;
    /** {@link #cancelled()}: the server dropped the connection (dropClient, a timeout). */
    public static final int CANCEL_DROPPED = 2;
    /** {@link #cancelled()}: the server is stopping. */
    public static final int CANCEL_STOPPING = 3;

    /** Requests watched for cancellation, by the key the native cancel callback carries. */
    private static final Map<Long, PendingRequest> WATCHED = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT_KEY = new AtomicLong();

    /** The native token; 0 once completed (the C token is released by complete). */
    private final AtomicLong token;
    private final byte[] data;
    private volatile IntConsumer cancelListener;
    private long key; // guarded by this; 0 while not watched

    private PendingRequest(long token, byte[] data) {
        this.token = new AtomicLong(token);
        this.data = data;
    }

    /**
     * Takes the firing READ/WRITE's completion over. Only inside onReadFile / onWriteFile, on the
     * thread that fired it.
     *
     * @param server the server whose event is firing
     * @param connectionId the event's ConnectionId
     * @param handle the event's Handle (null or empty: the request in progress)
     * @return the pending request, to be completed exactly once
     * @throws SFTPKitException when not inside such a handler, or when the request was already deferred
     */
    public static PendingRequest defer(SFTPServer server, long connectionId, String handle) {
        NativeHandle nh = server.nativeHandle();
        long p = nh.acquire();
        long r;
        try {
            r = SFTPKitNative.sftpkit_server_defer_request(p, connectionId, ClientBuffers.handleZ(handle));
        } finally {
            nh.release();
        }
        if (r == 0) {
            throw SFTPKitException.fromLastError(SFTPKitNative.sftpkit_last_error_code());
        }
        // a WRITE's data is only valid until complete: copy it now, so data() works from any thread
        byte[][] out = new byte[1][];
        int rc = SFTPKitNative.sftpkit_request_get_data(r, out);
        byte[] d = rc == 0 && out[0] != null ? out[0] : new byte[0];
        return new PendingRequest(r, d);
    }

    /**
     * The WRITE's data (a copy taken when the request was deferred); empty for a READ.
     *
     * @return the bytes the client wrote
     */
    public byte[] data() {
        return data.clone();
    }

    /**
     * Whether the request is still wanted.
     *
     * @return 0 while it is, else {@link #CANCEL_DISCONNECT}, {@link #CANCEL_DROPPED} or
     *     {@link #CANCEL_STOPPING}; 0 after completion too
     */
    public int cancelled() {
        // synchronized with complete: the token must not be released while it is read
        synchronized (this) {
            long r = token.get();
            return r == 0 ? 0 : SFTPKitNative.sftpkit_request_cancelled(r);
        }
    }

    /**
     * Tells listener (once, with a CANCEL_* reason) when the request is cancelled: at once on this
     * thread if it already was, else on the thread that ends the session. The listener must not
     * block (it runs while the library ends a session or stops); it typically cancels the
     * back-end's work. Nothing is told after completion. One listener per request.
     *
     * @param listener receives the reason
     * @throws IllegalStateException when a listener is already set or the request is completed
     * @throws SFTPKitException when the library refuses
     */
    public void onCancel(IntConsumer listener) {
        java.util.Objects.requireNonNull(listener, "listener");
        long k;
        long r;
        synchronized (this) {
            r = token.get();
            if (r == 0) {
                throw new IllegalStateException("PendingRequest: already completed");
            }
            if (cancelListener != null) {
                throw new IllegalStateException("PendingRequest: a cancel listener is already set");
            }
            cancelListener = listener;
            k = NEXT_KEY.incrementAndGet();
            key = k;
            WATCHED.put(k, this);
            // Under the lock: complete() cannot release the token meanwhile. An already-cancelled
            // request calls back at once, on this thread (the lock is reentrant).
            int rc = SFTPKitNative.sfk_java_request_watch_cancel(r, k);
            if (rc != 0) {
                WATCHED.remove(k);
                key = 0;
                cancelListener = null;
                throw SFTPKitException.fromLastError(rc);
            }
        }
    }

    /** Called by the native cancel trampoline (java.i). Never throws into native code. */
    static void nativeCancelled(long key, int reason) {
        PendingRequest p = WATCHED.remove(key);
        if (p == null) {
            return; // completed meanwhile
        }
        IntConsumer l = p.cancelListener;
        if (l == null) {
            return;
        }
        try {
            l.accept(reason);
        } catch (Throwable t) {
            Logging.defaultLogger().log(System.Logger.Level.ERROR, "a PendingRequest cancel listener threw", t);
        }
    }

    /**
     * Answers the request with a failure status and the text the client receives with it
     * ({@code sftpkit_request_set_status_message}), and releases it.
     *
     * @param status the reply's OperationStatus (not ostOk)
     * @param message the text for the client ({@code null} or "": the standard text)
     * @throws IllegalStateException when already completed
     * @throws SFTPKitException when the library rejects the completion
     */
    public void fail(OperationStatus status, String message) {
        finish((int) status.value(), null, message);
    }

    /**
     * Whether {@link #complete(OperationStatus, byte[])} has been called.
     *
     * @return true once completed
     */
    public boolean isCompleted() {
        return token.get() == 0;
    }

    /**
     * Answers the request and releases it. For a READ, data is what was read (at most the size asked
     * for is sent; empty with ostOk is the end of the file); for a WRITE pass null.
     *
     * @param status the reply's OperationStatus
     * @param data a READ's bytes, or null
     * @throws IllegalStateException when already completed
     * @throws SFTPKitException when the library rejects the completion
     */
    public void complete(OperationStatus status, byte[] data) {
        finish((int) status.value(), data, null);
    }

    /** Completes with a raw OperationStatus value (0 = a generic failure) and an optional text. */
    void finish(int status, byte[] data, String message) {
        int rc;
        synchronized (this) {
            long r = token.getAndSet(0);
            if (r == 0) {
                throw new IllegalStateException("PendingRequest: already completed");
            }
            if (key != 0) {
                WATCHED.remove(key); // a cancellation from now on finds nothing to tell
                key = 0;
            }
            rc = 0;
            if (message != null && !message.isEmpty()) {
                rc = SFTPKitNative.sftpkit_request_set_status_message(r, Utf8.z(message));
            }
            // complete even when the text was refused: the token must be released exactly once
            int rc2 = SFTPKitNative.sftpkit_request_complete(r, status, data);
            if (rc == 0) {
                rc = rc2;
            }
        }
        if (rc != 0) {
            throw SFTPKitException.fromLastError(rc);
        }
    }

    /**
     * {@link #complete(OperationStatus, byte[])} with a buffer's remaining bytes (its position moves
     * past them).
     *
     * @param status the reply's OperationStatus
     * @param data a READ's bytes, or null
     */
    public void complete(OperationStatus status, ByteBuffer data) {
        byte[] b = null;
        if (data != null) {
            b = new byte[data.remaining()];
            data.get(b);
        }
        complete(status, b);
    }
}

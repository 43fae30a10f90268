package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A READ or WRITE whose handler answers it later, from any thread (the C ABI's deferred completion,
 * {@code sftpkit_server_defer_request}). Inside {@code onReadFile} / {@code onWriteFile} call
 * {@link #defer(SFTPServer, long, String)} and return at once: the event's OperationStatus and any
 * setClientBuffer of that call are then ignored, and the session keeps serving other requests
 * (replies on one handle still leave in arrival order). Later, exactly once, call
 * {@link #complete(OperationStatus, byte[])} (also after a cancellation: it releases the request).
 *
 * <p>While it waits, {@link #cancelled()} tells whether the client is still there; a cancelled
 * request should be completed at once (its result is discarded).
 */
public final class PendingRequest {
    /** {@link #cancelled()}: the client closed the connection or the link was lost. */
    public static final int CANCEL_DISCONNECT = 1;
    /** {@link #cancelled()}: the server dropped the connection (dropClient, a timeout). */
    public static final int CANCEL_DROPPED = 2;
    /** {@link #cancelled()}: the server is stopping. */
    public static final int CANCEL_STOPPING = 3;

    /** The native token; 0 once completed (the C token is released by complete). */
    private final AtomicLong token;
    private final byte[] data;

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
        int rc;
        synchronized (this) {
            long r = token.getAndSet(0);
            if (r == 0) {
                throw new IllegalStateException("PendingRequest: already completed");
            }
            rc = SFTPKitNative.sftpkit_request_complete(r, (int) status.value(), data);
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

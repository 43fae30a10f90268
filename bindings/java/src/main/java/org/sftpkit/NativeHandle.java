package org.sftpkit;

import java.lang.ref.Cleaner;
import java.util.function.LongConsumer;

/**
 * A native object (server or key) and the rule that it is never freed while a call uses it.
 *
 * <p>Every call leases the pointer ({@link #acquire()} / {@link #release()}). {@link #close(boolean)}
 * refuses new leases at once, waits for the running ones to end and frees the object exactly once.
 * Waiting instead of failing is what makes close() safe from any thread while handlers on server
 * threads still call into the server (their new calls fail with INVALID_STATE; calls already
 * inside the library finish first). The same free runs from a Cleaner when the owner becomes
 * unreachable without close(): a safety net, not the way to release servers.
 *
 * <p>This object must never reference its owner, or the Cleaner could not run.
 */
final class NativeHandle {
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "sftpkit-cleaner");
        t.setDaemon(true);
        return t;
    });

    private final long ptr;
    private final String what;
    private final LongConsumer free;
    private Cleaner.Cleanable cleanable;
    private int users; // guarded by this
    private boolean closed; // guarded by this

    private NativeHandle(long ptr, String what, LongConsumer free) {
        this.ptr = ptr;
        this.what = what;
        this.free = free;
    }

    /** Wraps ptr, owned by owner; free releases it (once). */
    static NativeHandle register(Object owner, long ptr, String what, LongConsumer free) {
        NativeHandle h = new NativeHandle(ptr, what, free);
        h.cleanable = CLEANER.register(owner, h::dispose);
        return h;
    }

    /** The pointer, leased until {@link #release()}; throws INVALID_STATE once closed. */
    synchronized long acquire() {
        if (closed) {
            throw new SFTPKitException(ErrorCode.INVALID_STATE, what + " is closed");
        }
        users++;
        return ptr;
    }

    synchronized void release() {
        if (--users == 0 && closed) {
            notifyAll();
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Closes: no new leases from now on; the object is freed once the current ones end. With
     * deferred (the caller runs inside an event handler of this object, where the library must not
     * be freed), the free happens on a new thread and this returns at once.
     */
    void close(boolean deferred) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (deferred) {
            Thread t = new Thread(cleanable::clean, "sftpkit-close");
            t.start();
        } else {
            cleanable.clean();
        }
    }

    /** The cleaning action: runs at most once (close() or the Cleaner). */
    private void dispose() {
        boolean interrupted = false;
        synchronized (this) {
            closed = true;
            while (users > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        free.accept(ptr);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

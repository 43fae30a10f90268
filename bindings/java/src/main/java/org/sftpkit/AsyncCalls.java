package org.sftpkit;

import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;

/**
 * Runs the asynchronous handler forms for the generated dispatcher: {@link #await} for events the
 * library cannot answer later (the server thread waits for the stage), {@link #defer} for
 * on_read_file / on_write_file (spec "deferrable_events"): the request is deferred through
 * {@link PendingRequest} and answered from whenComplete, on whatever thread completes the stage.
 */
final class AsyncCalls {
    /** What a deferred reply carries (spec deferrable_events): a READ's data, or nothing. */
    static final int READ = 1;
    static final int WRITE = 2;

    /** The start of an asynchronous handler call (the generated dispatcher passes a lambda). */
    @FunctionalInterface
    interface Start {
        CompletionStage<?> start() throws Exception;
    }

    private AsyncCalls() {
    }

    /**
     * Waits for stage (null: nothing to wait for). An exceptional completion is thrown as its cause,
     * for the dispatcher's handler-failure path.
     */
    static void await(CompletionStage<?> stage) throws Throwable {
        if (stage == null) {
            return;
        }
        CompletableFuture<?> f = stage.toCompletableFuture();
        boolean interrupted = false;
        try {
            for (;;) {
                try {
                    f.get(); // never return before the handler's work is done
                    return;
                } catch (InterruptedException e) {
                    interrupted = true; // a server thread: keep waiting, restore the flag after
                } catch (ExecutionException | CompletionException e) {
                    throw unwrap(e);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The cause the application meant (CompletableFuture wraps it). */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * Serves a deferrable event through its one asynchronous receiver. Returns after the handler
     * returned its stage: at once when the stage is already complete (answered like a synchronous
     * handler, through the event), else after deferring the request.
     */
    static void defer(EventHub hub, SFTPKitEvent e, long connectionId, String handle, int kind, Start start) {
        CompletionStage<?> stage;
        CompletableFuture<?> f;
        try {
            stage = start.start();
            if (stage == null) {
                throw new NullPointerException("the asynchronous " + e.getEventName()
                        + " handler returned null instead of a CompletionStage");
            }
            f = stage.toCompletableFuture();
        } catch (Throwable t) {
            failedNow(hub, e, t);
            return;
        }
        if (f.isDone()) { // already answered: no deferral, the event carries the answer
            answerNow(hub, e, connectionId, kind, f);
            return;
        }
        PendingRequest p;
        try {
            p = PendingRequest.defer(e.getServer(), connectionId, handle);
        } catch (RuntimeException notDeferrable) {
            // This request cannot be answered later (the library refused the token): wait for it.
            awaitThenAnswer(hub, e, connectionId, kind, f);
            return;
        }
        try {
            p.onCancel(reason -> f.cancel(true));
        } catch (RuntimeException cannotWatch) {
            hub.logger().log(Level.WARNING, e.getEventName() + ": cancellation cannot be watched", cannotWatch);
        }
        String name = e.getEventName();
        // on f, not stage: for a stage that is not a CompletableFuture, f is a copy, and only f sees the cancel
        f.whenComplete((value, failure) -> complete(hub, name, p, kind, value, failure));
    }

    private static void awaitThenAnswer(EventHub hub, SFTPKitEvent e, long connectionId, int kind,
                                        CompletableFuture<?> f) {
        try {
            await(f);
        } catch (Throwable ignored) {
            // answerNow reads the outcome from f
        }
        answerNow(hub, e, connectionId, kind, f);
    }

    /** The stage is done while the handler's event is still open: answer through the event. */
    private static void answerNow(EventHub hub, SFTPKitEvent e, long connectionId, int kind, CompletableFuture<?> f) {
        Object value;
        try {
            value = f.join();
        } catch (Throwable t) {
            failedNow(hub, e, t);
            return;
        }
        try {
            if (kind == READ) {
                ByteBuffer b = readData(value);
                if (b == null || !b.hasRemaining()) {
                    e.setOutcome(OperationStatus.ostEOF.value());
                    return;
                }
                ClientBuffers.set(e.getServer().nativeHandle(), connectionId, ClientBuffers.CURRENT, b);
            }
            e.setOutcome(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            hub.handlerFailed(e, t);
        }
    }

    /**
     * A deferrable event's asynchronous receiver failed while its event is still open: the same
     * answer as a failure after deferral (SftpException: status and text; NIO exceptions: their
     * status; anything else: a plain failure, reported), whichever came first.
     */
    private static void failedNow(EventHub hub, SFTPKitEvent e, Throwable t) {
        t = unwrap(t);
        if (t instanceof SftpException || t instanceof CancellationException || !e.setOutcome(statusOf(t))) {
            hub.handlerFailed(e, t);
            return;
        }
        if (t instanceof FileSystemException) {
            hub.logger().log(Level.DEBUG, e.getEventName() + ": " + t);
        } else {
            hub.report(e.getEventName(), t);
        }
    }

    private static ByteBuffer readData(Object value) {
        if (value == null || value instanceof ByteBuffer) {
            return value == null ? null : ((ByteBuffer) value).duplicate();
        }
        if (value instanceof byte[]) { // for listeners typed loosely
            return ByteBuffer.wrap((byte[]) value);
        }
        throw new ClassCastException("an asynchronous on_read_file handler must deliver a ByteBuffer, not "
                + value.getClass().getName());
    }

    /** whenComplete of a deferred request: answer the client (on the completing thread). */
    private static void complete(EventHub hub, String eventName, PendingRequest p, int kind, Object value,
                                 Throwable failure) {
        try {
            if (failure == null) {
                byte[] data = null;
                if (kind == READ) {
                    ByteBuffer b;
                    try {
                        b = readData(value);
                    } catch (ClassCastException wrongType) {
                        hub.report(eventName, wrongType);
                        p.finish(0, null, null);
                        return;
                    }
                    data = new byte[b == null ? 0 : b.remaining()];
                    if (b != null) {
                        b.get(data); // an empty read with ostOk is the end of the file
                    }
                }
                p.finish((int) OperationStatus.ostOk.value(), data, null);
                return;
            }
            Throwable t = unwrap(failure);
            if (t instanceof CancellationException) {
                p.finish(0, null, null); // cancelled: the library discards the reply
                return;
            }
            long status = statusOf(t);
            if (t instanceof SftpException) { // meant for the client: status and text
                hub.logger().log(Level.DEBUG, eventName + ": " + t);
                p.finish((int) status, null, t.getMessage());
            } else if (t instanceof FileSystemException) { // the status only: its text names host paths
                hub.logger().log(Level.DEBUG, eventName + ": " + t);
                p.finish((int) status, null, null);
            } else { // a bug or an outage: the operator's business, never the client's text
                hub.report(eventName, t);
                p.finish((int) status, null, null);
            }
        } catch (Throwable t) {
            hub.report(eventName, t);
        }
    }

    /** The OperationStatus value for a failure (0: a generic failure, SSH_FX_FAILURE). */
    static long statusOf(Throwable t) {
        return ProviderBridge.statusOf(t);
    }
}

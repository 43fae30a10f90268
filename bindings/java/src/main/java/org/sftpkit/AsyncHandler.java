package org.sftpkit;

import java.util.concurrent.CompletionStage;

/**
 * The asynchronous form of an event handler: it starts the work and returns a {@link CompletionStage}
 * that completes when the work is done, set with {@code SFTPServer.setOnXAsync(...)} (or written as
 * an {@code onXAsync} method of an {@link SFTPServerListener}).
 *
 * <p>{@code on_read_file} and {@code on_write_file} are really asynchronous: the binding defers the
 * request (the server thread goes back to serving the session) and answers the client when the
 * stage completes — a read with the stage's {@link java.nio.ByteBuffer} (its remaining bytes;
 * {@code null} or empty = end of file), a write with success. Every other event cannot be answered
 * later by the library: its server thread waits for the stage, and the event's by-ref parameters
 * may be set until the stage completes.
 *
 * <p>Failures: a stage completed exceptionally with {@link SftpException} (or the handler throwing
 * it) gives the client that status and that message; {@link java.util.concurrent.CancellationException}
 * after a cancellation is silent; any other exception is a plain failure whose text stays in the
 * server (it is reported like a handler exception, see
 * {@link SFTPServer#setOnHandlerException(HandlerExceptionHandler)} and {@link SFTPServer#setLogger}).
 *
 * <p>Cancellation: when the client disconnects, the connection is dropped or the server stops while a
 * deferred read or write is pending, the binding calls {@code toCompletableFuture().cancel(true)}
 * on the stage the handler returned (on the thread that ends the session: do not block in what
 * depends on it).
 *
 * @param <E> the event type
 * @param <R> what the stage delivers ({@link java.nio.ByteBuffer} for on_read_file; ignored elsewhere)
 */
@FunctionalInterface
public interface AsyncHandler<E extends SFTPKitEvent, R> {
    /**
     * Starts handling one event, on the server thread that fired it. Read the event's parameters
     * (and, for on_write_file, the data with {@code getClientBuffer}) before returning.
     *
     * @param e the event's parameters
     * @return the stage that completes when the event has been handled ({@code null}: done already)
     * @throws Exception as a stage completed exceptionally with it
     */
    CompletionStage<? extends R> handle(E e) throws Exception;
}

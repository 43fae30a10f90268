package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * An open file of an {@link AsyncSftpFileSystem}: the provider's own object, handed back to its
 * methods. {@link #read} and {@link #write} are truly asynchronous (the request is deferred; the
 * server thread serves the session meanwhile, and the stage's future is cancelled if the client
 * goes away first); {@link #stat}, {@link #setStat} and {@link #close} are awaited by the server thread.
 * A stage completed exceptionally with {@link SftpException} gives the client that status and text.
 */
public interface AsyncSftpFile {
    /**
     * Reads up to length bytes at offset (fewer is fine: a short read).
     *
     * @param offset where to start
     * @param length the most the client asked for
     * @return the bytes (their remaining part is sent); {@code null} or empty = the end of the file
     */
    CompletionStage<ByteBuffer> read(long offset, int length);

    /**
     * Writes data at offset.
     *
     * @param offset where to write
     * @param data the client's bytes (the provider's own copy)
     * @return completes when written
     */
    default CompletionStage<Void> write(long offset, ByteBuffer data) {
        return CompletableFuture.failedFuture(SftpException.unsupported("writing"));
    }

    /**
     * The open file's attributes (fstat). Unsupported by default: the file system's stat of its
     * path answers then.
     *
     * @return the attributes
     */
    default CompletionStage<SftpAttributes> stat() {
        return CompletableFuture.failedFuture(SftpException.unsupported("fstat"));
    }

    /**
     * Changes the open file's attributes (fsetstat). Unsupported by default: the file system's
     * setStat of its path is used then.
     *
     * @param changes what the client set
     * @return completes when done
     */
    default CompletionStage<Void> setStat(SftpAttributes changes) {
        return CompletableFuture.failedFuture(SftpException.unsupported("fsetstat"));
    }

    /**
     * Closes the file (the client's CLOSE, or the session's end).
     *
     * @return completes when closed
     */
    default CompletionStage<Void> close() {
        return CompletableFuture.completedFuture(null);
    }
}

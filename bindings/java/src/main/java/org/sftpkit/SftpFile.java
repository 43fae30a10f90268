package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An open file, as {@link SftpFileSystem#open} returned it: your own object, handed back for every
 * READ, WRITE, FSTAT, FSETSTAT and the CLOSE of its handle.
 *
 * <p>Calls for one handle come in the order the client sent them. Buffers belong to the binding
 * and are reused: never keep them past the call.
 */
public interface SftpFile extends AutoCloseable {
    /**
     * Reads up to {@code dst.remaining()} bytes at offset into dst (advancing its position).
     * A short read is fine; the binding asks again for the rest of the client's request. 0 with
     * room left stops there (nothing read at all is end of file for the client).
     *
     * @param offset where to read
     * @param dst where to put the bytes (a direct buffer of at most the client's read size)
     * @return the bytes read, or -1 at end of file
     * @throws IOException to fail the READ (an {@link SftpException} picks the status)
     */
    int read(long offset, ByteBuffer dst) throws IOException;

    /**
     * Writes every remaining byte of src at offset.
     *
     * @param offset where to write
     * @param src the client's data
     * @throws IOException to fail the WRITE
     */
    default void write(long offset, ByteBuffer src) throws IOException {
        throw SftpException.unsupported("writing");
    }

    /**
     * The open file's attributes (FSTAT). The default says unsupported.
     *
     * @return the attributes
     * @throws IOException to fail the request
     */
    default SftpAttributes stat() throws IOException {
        throw SftpException.unsupported("fstat");
    }

    /**
     * Changes the open file's attributes (FSETSTAT): only the fields that are set.
     *
     * @param changes what the client asked for
     * @throws IOException to fail the request
     */
    default void setStat(SftpAttributes changes) throws IOException {
        throw SftpException.unsupported("fsetstat");
    }

    /**
     * The client closed the handle (also called for handles still open when the session ends).
     *
     * @throws IOException to fail the CLOSE (the handle is gone anyway)
     */
    @Override
    default void close() throws IOException {
    }
}

package org.sftpkit;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The asynchronous form of {@link SftpFileSystem}: every method returns a {@link CompletionStage}.
 * Installed with {@link SFTPServer#setAsyncFileSystem(AsyncSftpFileSystemFactory)}, one object per
 * session.
 *
 * <p>Threads: the READ and WRITE of an open {@link AsyncSftpFile} are deferred (the library answers
 * them when the stage completes, from whatever thread completes it). The library cannot answer the
 * other requests later, so the server thread waits for their stages — return quickly-completing
 * stages there, or accept that a session's path requests wait for the back-end. Methods of one
 * session may run concurrently on different handles (the server's worker pool).
 *
 * <p>Errors: complete the stage exceptionally (or throw) with {@link SftpException}: the client gets
 * its status and message. NIO exceptions are mapped as for {@link SftpFileSystem}; any other
 * exception is a plain failure whose text stays in the server's log.
 */
public interface AsyncSftpFileSystem {
    /**
     * Opens a file.
     *
     * @param path the client's path
     * @param modes how (read, write, create, truncate, append, exclusive)
     * @return the open file
     */
    CompletionStage<? extends AsyncSftpFile> open(String path, Set<FileOpenMode> modes);

    /**
     * A path's attributes.
     *
     * @param path the client's path
     * @return the attributes (null: no such file)
     */
    CompletionStage<SftpAttributes> stat(String path);

    /**
     * A directory's entries (each with its name and attributes). When the iterable is also
     * AutoCloseable it is closed with the listing.
     *
     * @param path the directory
     * @return the entries
     */
    CompletionStage<? extends Iterable<SftpAttributes>> list(String path);

    /**
     * Changes a path's attributes.
     *
     * @param path the client's path
     * @param changes what the client set
     * @return completes when done
     */
    default CompletionStage<Void> setStat(String path, SftpAttributes changes) {
        return CompletableFuture.failedFuture(SftpException.unsupported("setstat"));
    }

    /**
     * Creates a directory.
     *
     * @param path the new directory
     * @return completes when done
     */
    default CompletionStage<Void> mkdir(String path) {
        return CompletableFuture.failedFuture(SftpException.unsupported("mkdir"));
    }

    /**
     * Removes an empty directory.
     *
     * @param path the directory
     * @return completes when done
     */
    default CompletionStage<Void> rmdir(String path) {
        return CompletableFuture.failedFuture(SftpException.unsupported("rmdir"));
    }

    /**
     * Removes a file.
     *
     * @param path the file
     * @return completes when done
     */
    default CompletionStage<Void> remove(String path) {
        return CompletableFuture.failedFuture(SftpException.unsupported("remove"));
    }

    /**
     * Renames a file or directory.
     *
     * @param from the old path
     * @param to the new path
     * @return completes when done
     */
    default CompletionStage<Void> rename(String from, String to) {
        return CompletableFuture.failedFuture(SftpException.unsupported("rename"));
    }

    /**
     * Creates a link.
     *
     * @param linkPath the new link
     * @param target what it points to
     * @param hard a hard link rather than a symbolic one
     * @return completes when done
     */
    default CompletionStage<Void> link(String linkPath, String target, boolean hard) {
        return CompletableFuture.failedFuture(SftpException.unsupported("links"));
    }

    /**
     * The canonical form of a path (REALPATH). Default: lexical normalization.
     *
     * @param path the client's path
     * @return the absolute path
     */
    default CompletionStage<String> realpath(String path) {
        return CompletableFuture.completedFuture(Paths.normalize(path));
    }

    /**
     * The session ended: release what the file system holds. Not awaited.
     *
     * @return completes when released
     */
    default CompletionStage<Void> close() {
        return CompletableFuture.completedFuture(null);
    }
}

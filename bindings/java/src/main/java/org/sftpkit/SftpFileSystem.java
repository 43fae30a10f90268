package org.sftpkit;

import java.io.IOException;
import java.util.Set;

/**
 * The file system one session sees: what an application implements to serve files from anywhere
 * (memory, a database, an object store). Made per session by an {@link SftpFileSystemFactory}
 * installed with {@link SFTPServer#setFileSystem(SftpFileSystemFactory)}, which claims every file
 * request (the {@code on_before_*} events answer fraCustom) and calls these methods from the
 * custom events ({@code on_open_file}, {@code on_read_file}, ...). The events stay the C-level
 * truth: this is a layer over them.
 *
 * <p>Paths are the client's, normalized: absolute, "/"-separated, no "." or ".." ("/" is the
 * session's root and home). Methods return data or throw: an {@link SftpException} carries the
 * SFTP status (and a message) the client receives; other exceptions map as SftpException says.
 * Methods a file system does not override answer "operation unsupported".
 *
 * <p>Threads: methods run on the server's threads, synchronously (the client's request waits).
 * One session's requests may run concurrently on different handles (requests on one handle stay
 * in order), so keep shared state thread-safe; state of this object alone is per session.
 * {@link #close()} runs once, when the client disconnects, after every open file was closed.
 */
public interface SftpFileSystem extends AutoCloseable {
    /**
     * Opens a file (OPEN).
     *
     * @param path the file
     * @param modes the client's open flags (cfmRead, cfmWrite, cfmCreate, cfmTruncate, cfmExcl, cfmAppend)
     * @return your object for the open file
     * @throws IOException to fail the OPEN
     */
    SftpFile open(String path, Set<FileOpenMode> modes) throws IOException;

    /**
     * A file's attributes (STAT, LSTAT; FSTAT when the open file does not answer itself).
     *
     * @param path the file or directory
     * @return its attributes
     * @throws IOException to fail the request ({@link SftpException#noSuchFile}: it does not exist)
     */
    SftpAttributes stat(String path) throws IOException;

    /**
     * A directory's entries (OPENDIR/READDIR). Each entry needs a name; it is read lazily, a few
     * at a time as the client asks. If the Iterable is also {@link AutoCloseable} (a
     * {@link java.nio.file.DirectoryStream} wrapper, say), it is closed when the client closes the
     * listing or the session ends.
     *
     * @param path the directory
     * @return the entries (without "." and "..")
     * @throws IOException to fail the OPENDIR
     */
    Iterable<SftpAttributes> list(String path) throws IOException;

    /**
     * Changes a file's attributes (SETSTAT): only the fields that are set.
     *
     * @param path the file
     * @param changes what the client asked for
     * @throws IOException to fail the request
     */
    default void setStat(String path, SftpAttributes changes) throws IOException {
        throw SftpException.unsupported("setstat");
    }

    /**
     * Creates a directory (MKDIR).
     *
     * @param path the new directory
     * @throws IOException to fail the request
     */
    default void mkdir(String path) throws IOException {
        throw SftpException.unsupported("mkdir");
    }

    /**
     * Removes a directory (RMDIR, or REMOVE of a path that {@link #stat} says is a directory: the
     * engine reports both as one event).
     *
     * @param path the directory
     * @throws IOException to fail the request
     */
    default void rmdir(String path) throws IOException {
        throw SftpException.unsupported("rmdir");
    }

    /**
     * Removes a file (REMOVE).
     *
     * @param path the file
     * @throws IOException to fail the request
     */
    default void remove(String path) throws IOException {
        throw SftpException.unsupported("remove");
    }

    /**
     * Renames (RENAME, posix-rename@openssh.com).
     *
     * @param from the current path
     * @param to the new path
     * @throws IOException to fail the request
     */
    default void rename(String from, String to) throws IOException {
        throw SftpException.unsupported("rename");
    }

    /**
     * Makes a link (SYMLINK, hardlink@openssh.com). A failure reaches the client as permission
     * denied (the link event has no status of its own).
     *
     * @param linkPath the link to create
     * @param target what it points to (a symbolic link's target as the client wrote it)
     * @param hard true for a hard link
     * @throws IOException to refuse
     */
    default void link(String linkPath, String target, boolean hard) throws IOException {
        throw SftpException.unsupported("links");
    }

    /**
     * The canonical absolute form of a client path (REALPATH, expand-path). The default
     * normalizes lexically ("." and ".." resolved, relative paths from "/").
     *
     * @param path the path as the client sent it
     * @return the absolute path
     * @throws IOException to fail the request
     */
    default String realpath(String path) throws IOException {
        return Paths.normalize(path);
    }

    /**
     * The session ended. The default does nothing.
     *
     * @throws IOException reported to the log only
     */
    @Override
    default void close() throws IOException {
    }
}

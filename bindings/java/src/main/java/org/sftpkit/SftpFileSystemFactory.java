package org.sftpkit;

import java.io.IOException;

/**
 * Makes the file system one session sees. Installed with
 * {@link SFTPServer#setFileSystem(SftpFileSystemFactory)}; called once per session, on the server
 * thread of that session, when its SFTP subsystem starts (or at its first file request).
 */
@FunctionalInterface
public interface SftpFileSystemFactory {
    /**
     * Creates the session's file system. Keep per-session state in the object returned: it is
     * closed when the client disconnects.
     *
     * @param session who, from where, which connection
     * @return the file system for this session
     * @throws IOException to refuse the session's file requests (an {@link SftpException}'s status
     *     is what each request then gets)
     */
    SftpFileSystem create(SftpSession session) throws IOException;
}

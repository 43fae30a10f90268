package org.sftpkit;

import java.io.IOException;

/**
 * Makes the {@link AsyncSftpFileSystem} of each session, for
 * {@link SFTPServer#setAsyncFileSystem(AsyncSftpFileSystemFactory)}: called once per session, when
 * it is established, on a server thread (keep it quick: connect to the back-end lazily).
 */
@FunctionalInterface
public interface AsyncSftpFileSystemFactory {
    /**
     * The file system of one session.
     *
     * @param session who logged in, from where
     * @return the session's file system (null refuses the session's file requests)
     * @throws IOException to refuse the session's file requests ({@link SftpException}: with that status)
     */
    AsyncSftpFileSystem create(SftpSession session) throws IOException;
}

package org.sftpkit;

import java.io.IOException;

/**
 * A failure a file-system provider reports to the client: the SFTP status it gets and a message.
 *
 * <p>Throw it from any {@link SftpFileSystem} or {@link SftpFile} method. The status becomes the
 * reply's status (an {@link OperationStatus}, mapped to the SFTP code as docs/file-system.md
 * says); a {@code null} status is a generic failure ({@code SSH_FX_FAILURE}). Other exceptions
 * are mapped too: {@link java.nio.file.NoSuchFileException} and
 * {@link java.nio.file.NotDirectoryException} to no such file, {@link java.nio.file.AccessDeniedException}
 * to permission denied, {@link java.nio.file.ReadOnlyFileSystemException} to write-protect,
 * {@link UnsupportedOperationException} to operation unsupported, any other to a failure.
 */
public class SftpException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The status, or null for a generic failure. */
    private final OperationStatus status;

    /**
     * Creates an exception.
     *
     * @param status the status the client receives ({@code null}: a generic failure)
     * @param message the text for the client and the log
     */
    public SftpException(OperationStatus status, String message) {
        super(message);
        this.status = status;
    }

    /**
     * Creates an exception with a cause (for the log; the client sees status and message only).
     *
     * @param status the status the client receives ({@code null}: a generic failure)
     * @param message the text for the client and the log
     * @param cause what went wrong underneath
     */
    public SftpException(OperationStatus status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /**
     * The status the client receives.
     *
     * @return the status, or {@code null} for a generic failure
     */
    public OperationStatus getStatus() {
        return status;
    }

    /**
     * "No such file" for path.
     *
     * @param path the client's path
     * @return the exception
     */
    public static SftpException noSuchFile(String path) {
        return new SftpException(OperationStatus.ostNoSuchFile, "No such file: " + path);
    }

    /**
     * "Permission denied" with a reason.
     *
     * @param message the reason
     * @return the exception
     */
    public static SftpException denied(String message) {
        return new SftpException(OperationStatus.ostAccessDenied, message);
    }

    /**
     * "Operation unsupported" for what.
     *
     * @param what the operation
     * @return the exception
     */
    public static SftpException unsupported(String what) {
        return new SftpException(OperationStatus.ostUnsupported, what + " is not supported here");
    }
}

package org.sftpkit;

/**
 * An error reported by the sftpkit library: the numeric code (see {@link ErrorCode}; the reference
 * document's numbers, for example 1048577 for an invalid parameter) and a message naming what was wrong.
 * Unchecked: every call of {@link SFTPServer} and {@link SSHKey} may throw it. When a call throws,
 * nothing was changed.
 */
public class SFTPKitException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The library's error code. */
    private final int code;

    /**
     * Creates an exception.
     *
     * @param code the error code (see {@link ErrorCode})
     * @param message what was wrong
     */
    public SFTPKitException(int code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * The library's error code (see {@link ErrorCode}).
     *
     * @return the code
     */
    public int getCode() {
        return code;
    }

    /**
     * The code as an enum constant ({@link SFTPKitError}), for switch statements and EnumSets.
     *
     * @return the constant, or {@code null} for a code the spec does not list
     */
    public SFTPKitError getError() {
        return SFTPKitError.of(code);
    }

    @Override
    public String toString() {
        return getClass().getName() + " (" + code + "): " + getMessage();
    }

    /** The calling thread's last library error, for a call that just returned rc. */
    static SFTPKitException fromLastError(int rc) {
        int code = SFTPKitNative.sftpkit_last_error_code();
        String message = Utf8.decode(SFTPKitNative.sftpkit_last_error_message());
        if (code == 0 || code != rc) {
            code = rc;
            if (message.isEmpty()) {
                message = "sftpkit call failed with code " + rc;
            }
        }
        return new SFTPKitException(code, message);
    }
}

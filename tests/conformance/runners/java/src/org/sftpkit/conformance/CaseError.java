package org.sftpkit.conformance;

/** A case (or a step of it) failed; the message is the FAIL line's reason. */
final class CaseError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CaseError(String message) {
        super(message);
    }
}

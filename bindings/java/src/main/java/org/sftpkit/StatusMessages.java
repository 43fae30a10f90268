package org.sftpkit;

/**
 * The message text that goes with a failed reply. The C library has no call for it yet on this
 * branch (being added for all bindings; see docs/vfs/java.md), so the provider layer only logs the
 * message and the client gets the status code with the library's standard text.
 */
final class StatusMessages {
    private StatusMessages() {
    }

    static void set(SFTPKitEvent e, String message) {
        // no C entry point yet: the status code still reaches the client
    }
}

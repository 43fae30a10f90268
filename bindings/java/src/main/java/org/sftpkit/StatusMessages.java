package org.sftpkit;

/**
 * The message text that goes with a failed reply (sftpkit_event_set_status_message), set by the
 * provider layer from the exception's message. Never fails the request itself.
 */
final class StatusMessages {
    private StatusMessages() {
    }

    static void set(SFTPKitEvent e, String message) {
        if (message == null || message.isEmpty() || !e.isOpen()) {
            return;
        }
        try {
            e.setStatusMessage(message);
        } catch (RuntimeException ignored) {
            // the status code still reaches the client
        }
    }
}

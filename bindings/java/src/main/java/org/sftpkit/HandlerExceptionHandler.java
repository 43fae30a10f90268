package org.sftpkit;

/**
 * Told when an event handler or listener throws. The event's by-ref decision has already been set
 * to deny (accept = false, action = fraAbort, operationStatus = ostAccessDenied; on_after_* events
 * keep the library's status, the operation having happened) when this runs.
 * Set with {@link SFTPServer#setOnHandlerException(HandlerExceptionHandler)}; runs on the server thread.
 */
@FunctionalInterface
public interface HandlerExceptionHandler {
    /**
     * Reports one handler failure.
     *
     * @param eventName the event's spec name, for example {@code "on_auth_password"}
     * @param error what the handler threw
     */
    void onHandlerException(String eventName, Throwable error);
}

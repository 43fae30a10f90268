package org.sftpkit;

/**
 * The native log to the server's System.Logger. The C library has no log callback on this
 * branch yet (being added for all bindings), so only the Java side's own messages reach the
 * logger; native lines still go where the Log* config settings send them.
 */
final class NativeLog {
    private NativeLog() {
    }

    static void loggerChanged(SFTPServer server) {
        // nothing to install until the C log handler exists
    }
}

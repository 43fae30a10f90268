package org.sftpkit;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * The native log to the server's System.Logger: installed with every server, so the library's
 * lines (as many as the LogLevel config setting lets through; "none" by default) reach the
 * application's logger instead of the console, at the mapped level, with the module ("ssh",
 * "sftp", "server", "auth") in front. {@link SFTPServer#setLogger(System.Logger)} also sets
 * LogLevel to what that logger has enabled, so the native side produces just what will be kept.
 *
 * <p>The C library holds this object by a global reference until the server is freed; it holds no
 * reference to the server itself (that would keep every server alive).
 */
final class NativeLog {
    private volatile Logger logger;

    private NativeLog(Logger logger) {
        this.logger = logger;
    }

    /** Installs the sink for a new server; false if the library refused (the console stays). */
    static NativeLog install(NativeHandle handle, Logger logger) {
        NativeLog sink = new NativeLog(logger);
        long p = handle.acquire();
        try {
            return SFTPKitNative.sfk_java_set_log_sink(p, sink) == 0 ? sink : null;
        } finally {
            handle.release();
        }
    }

    void setLogger(Logger l) {
        logger = l;
    }

    /** Called by native code (any thread). Never throws. */
    void line(int level, byte[] module, byte[] message) {
        try {
            Logger l = logger;
            Level lv = Logging.level(level);
            if (l.isLoggable(lv)) {
                l.log(lv, "[" + Utf8.decode(module) + "] " + Utf8.decode(message));
            }
        } catch (Throwable ignored) {
            // a broken logger must not reach native code
        }
    }

    /** setLogger(): LogLevel follows the new logger's threshold. */
    static void loggerChanged(SFTPServer server) {
        server.config("LogLevel=" + Logging.nativeLevelFor(server.getLogger()));
    }
}

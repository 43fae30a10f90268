package org.sftpkit;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * Where sftpkit's Java side logs: a {@link System.Logger} per server (default
 * {@code System.getLogger("org.sftpkit")}, which goes to java.util.logging unless the application
 * plugs in SLF4J/Log4j through a LoggerFinder). Handler errors and provider failures go here.
 */
final class Logging {
    static final String NAME = "org.sftpkit";

    private Logging() {
    }

    static Logger defaultLogger() {
        return System.getLogger(NAME);
    }

    static Logger of(SFTPServer server) {
        return server.eventHub().logger();
    }

    /** The native log level (1 fatal .. 6 trace, LogLevel's order) as a System.Logger level. */
    static Level level(int nativeLevel) {
        switch (nativeLevel) {
            case 1:
            case 2:
                return Level.ERROR;
            case 3:
                return Level.WARNING;
            case 4:
                return Level.INFO;
            case 5:
                return Level.DEBUG;
            default:
                return Level.TRACE;
        }
    }

    /** The LogLevel setting that produces what logger has enabled (the native side filters first). */
    static String nativeLevelFor(Logger logger) {
        if (logger.isLoggable(Level.TRACE)) {
            return "trace";
        }
        if (logger.isLoggable(Level.DEBUG)) {
            return "debug";
        }
        if (logger.isLoggable(Level.INFO)) {
            return "info";
        }
        if (logger.isLoggable(Level.WARNING)) {
            return "warning";
        }
        if (logger.isLoggable(Level.ERROR)) {
            return "error";
        }
        return "none";
    }
}

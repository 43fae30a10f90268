package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The native log through System.Logger: setLogger() makes LogLevel follow the logger's threshold,
 * native lines arrive with their module and a mapped level, and a provider's unexpected failure
 * is a WARNING with the exception.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoggingTest {
    /** A capturing logger that lets through only levels from min up. */
    static final class Threshold extends HandlerExceptionsTest.CapturingLogger {
        final Level min;

        Threshold(Level min) {
            this.min = min;
        }

        @Override
        public boolean isLoggable(Level level) {
            return level.getSeverity() >= min.getSeverity();
        }
    }

    @Test
    void levelsFollowTheLoggerAndNativeLinesArrive() throws Exception {
        Threshold log = new Threshold(Level.DEBUG);
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setLogger(log);
            assertEquals("debug", s.config("LogLevel"), "LogLevel follows the logger");
            s.setFileSystem(MemoryFs::new);
            s.start();
            ProviderTest.run(String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "try: s.open('/boom', 'rb')",
                    "except IOError: pass",
                    "s.close(); t.close()"), "" + port);
        }
        String text = log.text();
        assertTrue(text.matches("(?s).*(DEBUG|INFO) \\[(ssh|sftp|server|auth)\\] .*"), "native lines: " + text);
        assertTrue(text.contains("WARNING on_open_file: open /boom failed | java.lang.IllegalStateException"), text);
        for (String line : log.lines) {
            assertTrue(!line.startsWith("TRACE"), "nothing below the threshold: " + line);
        }
        try (SFTPServer s = new SFTPServer()) {
            s.setLogger(new Threshold(Level.WARNING));
            assertEquals("warning", s.config("LogLevel"));
            s.setLogger(null);
            assertTrue(s.getLogger().getName().equals("org.sftpkit"));
        }
    }
}

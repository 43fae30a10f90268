package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A handler's exception never reaches C: the by-ref decision fails closed (accept = false, action =
 * fraAbort, operation_status = ostAccessDenied), the exception is counted, kept and reported.
 * Also the library's own errors as SFTPKitException.
 */
class HandlerExceptionsTest {
    private static int[] auth(SFTPServer s, int acceptIn) {
        int[] out = new int[2];
        assertEquals(1, FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), acceptIn, out));
        return out;
    }

    /** Fires event `name` with all-default inputs except by-ref ints set to `byRefIn`; returns the ints after. */
    private static long[] fireInts(SFTPServer s, String name, long byRefIn) {
        EventsTest.Shape sh = new EventsTest.Shape(SFTPKitNative.sftpkit_event_id(Utf8.z(name)));
        long[] ints = new long[sh.params.length];
        byte[][] strs = new byte[sh.params.length][];
        for (int i = 0; i < sh.params.length; i++) {
            if (sh.byref[i] && sh.types[i] != 2) {
                ints[i] = byRefIn;
            }
        }
        FireHooks.fire(FireHooks.ptr(s), sh.id, ints, strs);
        return ints;
    }

    @Test
    void authFailsClosedAndTheExceptionIsReported() {
        try (SFTPServer s = new SFTPServer()) {
            List<String> reports = Collections.synchronizedList(new ArrayList<>());
            RuntimeException boom = new IllegalStateException("boom");
            s.setOnHandlerException((event, error) -> reports.add(event + ":" + error.getMessage()));
            s.setOnAuthPassword(e -> {
                e.setAccept(true); // set, then throw: the throw wins
                throw boom;
            });
            assertEquals(0, auth(s, 1)[0], "denied although the library and the handler said yes");
            assertEquals(1, s.getHandlerExceptionCount());
            assertSame(boom, s.getLastHandlerException());
            assertEquals(List.of("on_auth_password:boom"), reports);
        }
    }

    @Test
    void checkedExceptionsAndErrorsFailClosedToo() {
        try (SFTPServer s = new SFTPServer()) {
            s.setOnHandlerException((event, error) -> { });
            s.setOnAuthPassword(e -> {
                throw new IOException("disk on fire");
            });
            assertEquals(0, auth(s, 1)[0]);
            s.setOnAuthPassword(e -> recurse(0));
            assertEquals(0, auth(s, 1)[0]);
            assertTrue(s.getLastHandlerException() instanceof StackOverflowError, "" + s.getLastHandlerException());
            assertEquals(2, s.getHandlerExceptionCount());
        }
    }

    private static int recurse(int n) {
        return recurse(n + 1) + 1;
    }

    @Test
    void actionsAbortAndStatusesDeny() {
        try (SFTPServer s = new SFTPServer()) {
            s.setOnHandlerException((event, error) -> { });
            s.setOnBeforeUploadFile(e -> {
                throw new RuntimeException("no");
            });
            s.setOnOpenFile(e -> {
                e.setOperationStatus(OperationStatus.ostOk);
                throw new RuntimeException("no");
            });
            s.setOnAccept(e -> {
                throw new RuntimeException("no");
            });
            assertEquals(FileRequestAction.fraAbort.value(), fireInts(s, "on_before_upload_file", FileRequestAction.fraAuto.value())[2]);
            assertEquals(OperationStatus.ostAccessDenied.value(), fireInts(s, "on_open_file", OperationStatus.ostOk.value())[4]);
            assertEquals(0, fireInts(s, "on_accept", 1)[2], "on_accept: accept fails closed");
            s.setOnAfterRemove(e -> {
                throw new RuntimeException("no");
            });
            assertEquals(OperationStatus.ostOk.value(), fireInts(s, "on_after_remove", OperationStatus.ostOk.value())[2],
                    "on_after_* keep the library's status: the operation already happened");
            assertEquals(4, s.getHandlerExceptionCount());
        }
    }

    @Test
    void listenerExceptionsFailClosedAndStopLaterListeners() {
        try (SFTPServer s = new SFTPServer()) {
            List<String> calls = new ArrayList<>();
            s.setOnHandlerException((event, error) -> calls.add("reported:" + event));
            s.addListener(new SFTPServerListener() {
                @Override
                public void onAuthPassword(AuthPasswordEvent e) {
                    calls.add("first");
                    throw new UnsupportedOperationException("listener");
                }
            });
            s.addListener(new SFTPServerListener() {
                @Override
                public void onAuthPassword(AuthPasswordEvent e) {
                    calls.add("second");
                }
            });
            assertEquals(0, auth(s, 1)[0]);
            assertEquals(List.of("first", "reported:on_auth_password"), calls);
        }
    }

    @Test
    void aLibraryErrorInsideAHandlerIsAHandlerFailure() {
        try (SFTPServer s = new SFTPServer()) {
            s.setOnHandlerException((event, error) -> { });
            s.setOnAuthPassword(e -> e.setAccept(!e.getServer().getUserPassword(99).isEmpty()));
            assertEquals(0, auth(s, 1)[0]);
            SFTPKitException ex = (SFTPKitException) s.getLastHandlerException();
            assertEquals(ErrorCode.INVALID_PARAMETER, ex.getCode());
        }
    }

    /** A System.Logger that keeps what it is given. */
    static class CapturingLogger implements System.Logger {
        final java.util.List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String getName() {
            return "capture";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, java.util.ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(level + " " + msg + (thrown != null ? " | " + thrown : ""));
        }

        @Override
        public void log(Level level, java.util.ResourceBundle bundle, String format, Object... params) {
            lines.add(level + " " + java.text.MessageFormat.format(format, params));
        }

        String text() {
            return String.join("\n", lines);
        }
    }

    @Test
    void withoutAReporterTheExceptionGoesToTheLogger() {
        CapturingLogger log = new CapturingLogger();
        try (SFTPServer s = new SFTPServer()) {
            s.setLogger(log);
            s.setOnAuthPassword(e -> {
                throw new IllegalArgumentException("visible in the log");
            });
            assertEquals(0, auth(s, 1)[0]);
        }
        String text = log.text();
        assertTrue(text.startsWith("ERROR ") && text.contains("on_auth_password") && text.contains("visible in the log"), text);
    }

    @Test
    void aThrowingReporterIsContained() {
        CapturingLogger log = new CapturingLogger();
        try (SFTPServer s = new SFTPServer()) {
            s.setLogger(log);
            s.setOnHandlerException((event, error) -> {
                throw new RuntimeException("reporter broke");
            });
            s.setOnAuthPassword(e -> {
                throw new RuntimeException("handler broke");
            });
            assertEquals(0, auth(s, 1)[0]);
            s.setOnAuthPassword(e -> e.setAccept(true));
            assertEquals(1, auth(s, 0)[0], "the next event is handled normally");
        }
        assertTrue(log.text().contains("reporter broke"), log.text());
    }

    @Test
    void libraryErrorsAreUncheckedWithCodeAndMessage() {
        try (SFTPServer s = new SFTPServer()) {
            SFTPKitException e = assertThrows(SFTPKitException.class, () -> s.setPort(70000));
            assertEquals(ErrorCode.INVALID_VALUE, e.getCode());
            assertTrue(e.getMessage().contains("port"), e.getMessage());
            assertTrue(RuntimeException.class.isAssignableFrom(SFTPKitException.class));
            assertEquals(22, s.getPort(), "nothing changed");
            e = assertThrows(SFTPKitException.class, () -> s.getServerKeyAlgorithm(0));
            assertEquals(ErrorCode.INVALID_PARAMETER, e.getCode());
            e = assertThrows(SFTPKitException.class, () -> s.config("NoSuchSetting"));
            assertEquals(ErrorCode.INVALID_PARAMETER, e.getCode());
            assertTrue(e.getMessage().contains("NoSuchSetting"), e.getMessage());
            assertTrue(e.toString().contains("(" + ErrorCode.INVALID_PARAMETER + ")"), e.toString());
        }
    }

    @Test
    void stringsWithNulAreRefusedBeforeReachingC() {
        try (SFTPServer s = new SFTPServer()) {
            assertThrows(IllegalArgumentException.class, () -> s.setBaseDir("/tmp\0/etc"));
            assertEquals("", s.getBaseDir());
        }
    }
}

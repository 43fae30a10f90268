package org.sftpkit.conformance;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.sftpkit.AsyncHandler;
import org.sftpkit.ReadFileEvent;
import org.sftpkit.SFTPServer;
import org.sftpkit.SFTPServerListener;
import org.sftpkit.WriteFileEvent;

/**
 * FORMAT.md's {@code refused_handler_forms} step for Java: every handler form the binding refuses
 * at assignment (bindings/java/README.md "Handler forms refused"), tried against the installed
 * async vfs handlers. Each must throw IllegalArgumentException naming the event, and the installed
 * handlers must be the same objects afterwards (the case's later download proves they serve).
 */
final class RefusedForms {
    private RefusedForms() {
    }

    /** A listener with both forms of on_read_file: the binding could not tell which one answers. */
    static final class BothForms implements SFTPServerListener {
        @Override
        public void onReadFile(ReadFileEvent e) {
        }

        @Override
        public CompletionStage<ByteBuffer> onReadFileAsync(ReadFileEvent e) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** A second asynchronous on_write_file receiver: a deferred reply has one answerer only. */
    static final class SecondAsyncWriter implements SFTPServerListener {
        @Override
        public CompletionStage<?> onWriteFileAsync(WriteFileEvent e) {
            return CompletableFuture.completedFuture(null);
        }
    }

    interface Form {
        void assign() throws Exception;
    }

    static void check(SFTPServer srv, Vfs vfs, boolean provider) {
        if (vfs == null || !vfs.async) {
            throw new CaseError("refused_handler_forms: the Java runner tries its forms against a vfs with \"async\": true");
        }
        AsyncHandler<ReadFileEvent, ByteBuffer> reader = srv.getOnReadFileAsync();
        AsyncHandler<WriteFileEvent, Object> writer = srv.getOnWriteFileAsync();
        if (reader == null || writer == null) {
            throw new CaseError("refused_handler_forms: the async vfs handlers are not installed");
        }
        List<String> wrong = new ArrayList<>();
        try (SFTPServer other = new SFTPServer()) {
            // on a fresh server too: a listener with both forms is refused whatever else is installed
            tryForm(wrong, "addListener(both forms) on a fresh server", "on_read_file",
                    () -> other.addListener(new BothForms()));
        }
        tryForm(wrong, "setOnReadFile(sync) beside setOnReadFileAsync", "on_read_file",
                () -> srv.setOnReadFile(e -> { }));
        tryForm(wrong, "addListener(onReadFile and onReadFileAsync)", "on_read_file",
                () -> srv.addListener(new BothForms()));
        tryForm(wrong, "addListener(a second async on_write_file receiver)", "on_write_file",
                () -> srv.addListener(new SecondAsyncWriter()));
        if (!provider) {
            tryForm(wrong, "setAsyncFileSystem beside async read/write handlers", "on_read_file",
                    () -> srv.setAsyncFileSystem(session -> {
                        throw new IllegalStateException("never called");
                    }));
        }
        if (srv.getOnReadFileAsync() != reader || srv.getOnWriteFileAsync() != writer || srv.getOnReadFile() != null) {
            wrong.add("the installed handlers changed after the refusals");
        }
        if (!wrong.isEmpty()) {
            throw new CaseError("refused_handler_forms: " + String.join("; ", wrong));
        }
    }

    private static void tryForm(List<String> wrong, String what, String event, Form f) {
        try {
            f.assign();
            wrong.add(what + " was accepted");
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || !e.getMessage().contains(event)) {
                wrong.add(what + ": the error does not name " + event + ": " + e.getMessage());
            }
        } catch (Exception e) {
            wrong.add(what + ": " + e + " instead of IllegalArgumentException");
        }
    }
}

package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The CompletionStage handler forms (setOnReadFileAsync / setOnWriteFileAsync, and the awaited form
 * of other events) against paramiko: a slow back-end answering from a scheduled executor, checked
 * with SHA-256 both ways; two sessions at once; cancellation of the stages when the client
 * disconnects and when the server stops; SftpException text reaching the client; the refused forms.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AsyncHandlersTest {
    private static final ScheduledExecutorService LATER = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "test-back-end");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void stopClock() {
        LATER.shutdownNow();
    }

    /** A slow object store: one file per path, every read and write answered latencyMs later. */
    static final class SlowStore {
        final Map<String, byte[]> files = new ConcurrentHashMap<>();
        final Map<String, String> handles = new ConcurrentHashMap<>();
        final long latencyMs;
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger maxInFlight = new AtomicInteger();
        final AtomicInteger cancelled = new AtomicInteger();
        final ConcurrentLinkedQueue<CompletableFuture<?>> stages = new ConcurrentLinkedQueue<>();
        final CountDownLatch firstRead = new CountDownLatch(1);
        private int opens;

        SlowStore(long latencyMs) {
            this.latencyMs = latencyMs;
        }

        void install(SFTPServer s) {
            s.setOnBeforeDownloadFile(e -> e.setAction(FileRequestAction.fraCustom));
            s.setOnBeforeUploadFile(e -> e.setAction(FileRequestAction.fraCustom));
            s.setOnBeforeRequestAttributes(e -> e.setAction(FileRequestAction.fraCustom));
            s.setOnOpenFile(e -> {
                String path = e.getPath();
                boolean write = (e.getModesValue() & (2 | 8 | 16 | 128)) != 0;
                if (write) {
                    files.put(path, new byte[0]);
                } else if (!files.containsKey(path)) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                    return;
                }
                String h;
                synchronized (this) {
                    h = "h" + (++opens);
                }
                handles.put(h, path);
                e.setHandle(h);
                e.setOperationStatus(OperationStatus.ostOk);
            });
            s.setOnCloseFile(e -> e.setOperationStatus(
                    handles.remove(e.getHandle()) != null ? OperationStatus.ostOk : OperationStatus.ostNoSuchFile));
            s.setOnRequestAttributes(e -> {
                String path = e.getPath().isEmpty() ? handles.get(e.getHandle()) : e.getPath();
                byte[] d = path == null ? null : files.get(path);
                if (d == null) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                    return;
                }
                synchronized (s) { // client_file_entry_* are server-wide properties
                    s.setClientFileEntryName(path.substring(path.lastIndexOf('/') + 1));
                    s.setClientFileEntryPath(path);
                    s.setClientFileEntrySize(d.length);
                    s.setClientFileEntryDirectory(false);
                    s.setClientFileEntry(e.getConnectionId(), e.getHandle());
                }
                e.setOperationStatus(OperationStatus.ostOk);
            });
            s.setOnReadFileAsync(e -> {
                firstRead.countDown();
                String path = handles.get(e.getHandle());
                long off = e.getOffset();
                int size = (int) e.getSize();
                return later(() -> {
                    byte[] d = files.get(path);
                    if (off >= d.length) {
                        return ByteBuffer.allocate(0); // the end of the file
                    }
                    return ByteBuffer.wrap(d, (int) off, (int) Math.min(size, d.length - off));
                });
            });
            s.setOnWriteFileAsync(e -> {
                String path = handles.get(e.getHandle());
                long off = e.getOffset();
                byte[] chunk = s.getClientBuffer(e.getConnectionId(), e.getHandle()); // only while the handler runs
                return later(() -> {
                    synchronized (files) {
                        byte[] old = files.get(path);
                        byte[] n = Arrays.copyOf(old, (int) Math.max(old.length, off + chunk.length));
                        System.arraycopy(chunk, 0, n, (int) off, chunk.length);
                        files.put(path, n);
                    }
                    return null;
                });
            });
        }

        interface Work<T> {
            T run() throws Exception;
        }

        /** A stage completed latencyMs later by the back-end's clock; cancellations counted. */
        <T> CompletableFuture<T> later(Work<T> w) {
            CompletableFuture<T> f = new CompletableFuture<>();
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            stages.add(f);
            var task = LATER.schedule(() -> {
                try {
                    f.complete(w.run());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            }, latencyMs, TimeUnit.MILLISECONDS);
            f.whenComplete((v, t) -> {
                inFlight.decrementAndGet();
                if (f.isCancelled()) {
                    cancelled.incrementAndGet();
                    task.cancel(false);
                }
            });
            return f;
        }
    }

    static byte[] content(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ((i * 131 + i / 977) & 0xff);
        }
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** paramiko: N sessions at once, each downloads /big.bin (prefetch) and uploads /up<i>.bin. */
    static final String TRANSFER = String.join("\n",
            "import sys, io, hashlib, threading, paramiko",
            "port, n, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]",
            "up = bytes((i * 7 + i // 1013) % 256 for i in range(700000))",
            "errors = []",
            "def one(i):",
            "    try:",
            "        t = paramiko.Transport(('127.0.0.1', port)); t.banner_timeout = t.auth_timeout = 30",
            "        t.connect(username='u', password='pw')",
            "        s = paramiko.SFTPClient.from_transport(t)",
            "        buf = io.BytesIO(); s.getfo('/big.bin', buf)",
            "        got = hashlib.sha256(buf.getvalue()).hexdigest()",
            "        assert got == want, 'session %d: download %s != %s' % (i, got, want)",
            "        s.putfo(io.BytesIO(up), '/up%d.bin' % i)",
            "        s.close(); t.close()",
            "    except Exception as e: errors.append('%d: %r' % (i, e))",
            "ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]",
            "[t.start() for t in ts]; [t.join() for t in ts]",
            "print('up ' + hashlib.sha256(up).hexdigest()); [print(e) for e in errors]",
            "sys.exit(1 if errors else 0)");

    private void transfer(int sessions) throws Exception {
        int port = ServerTest.freePort();
        SlowStore store = new SlowStore(20);
        byte[] big = content(1 << 20);
        store.files.put("/big.bin", big);
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.config("WorkerThreads=2"); // deferral, not the pool, must carry the overlap
            store.install(s);
            s.start();
            String out = ProviderTest.run(TRANSFER, "" + port, "" + sessions, sha256(big));
            String upSha = out.substring(out.indexOf("up ") + 3).trim();
            for (int i = 0; i < sessions; i++) {
                byte[] got = store.files.get("/up" + i + ".bin");
                assertNotNull(got, "upload " + i + " arrived");
                assertEquals(upSha, sha256(got), "upload " + i + " intact");
            }
        }
        // 2 worker threads, yet many requests waited at once: the server threads did not block on them
        assertTrue(store.maxInFlight.get() >= 8, "requests pending at once: " + store.maxInFlight.get());
        assertEquals(0, store.cancelled.get(), "nothing cancelled in a clean transfer");
    }

    @Test
    void downloadAndUploadThroughASlowBackEndArriveIntact() throws Exception {
        transfer(1);
    }

    @Test
    void twoSessionsAtOnce() throws Exception {
        transfer(2);
    }

    /** paramiko: start a prefetched download, then drop the connection without closing the file. */
    static final String ABANDON = String.join("\n",
            "import sys, time, paramiko",
            "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1]))); t.banner_timeout = t.auth_timeout = 30",
            "t.connect(username='u', password='pw')",
            "s = paramiko.SFTPClient.from_transport(t)",
            "f = s.open('/big.bin', 'rb'); f.prefetch()",
            "time.sleep(0.5)",
            "t.sock.close()",
            "print('dropped', flush=True)",
            "import os; os._exit(0)  # no paramiko clean-up noise after the drop");

    @Test
    void disconnectCancelsThePendingStages() throws Exception {
        int port = ServerTest.freePort();
        SlowStore store = new SlowStore(40_000);
        store.files.put("/big.bin", content(2 << 20));
        CountDownLatch gone = new CountDownLatch(1);
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            store.install(s);
            s.setOnDisconnect(e -> gone.countDown());
            s.start();
            assertEquals("dropped", ProviderTest.run(ABANDON, "" + port));
            assertTrue(gone.await(15, TimeUnit.SECONDS), "on_disconnect without waiting for the 40 s back-end");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (store.inFlight.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(store.cancelled.get() >= 1, "stages cancelled: " + store.cancelled.get());
            assertEquals(0, store.inFlight.get(), "every pending stage was cancelled");
            for (CompletableFuture<?> f : store.stages) {
                assertTrue(f.isCancelled(), "a stage was left waiting");
            }
        }
    }

    @Test
    void stopCancelsThePendingStagesAndReturns() throws Exception {
        int port = ServerTest.freePort();
        SlowStore store = new SlowStore(40_000);
        store.files.put("/big.bin", content(1 << 20));
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            store.install(s);
            s.start();
            Process client = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                    "import sys, io, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1]))); t.banner_timeout = t.auth_timeout = 30",
                    "t.connect(username='u', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "try: s.getfo('/big.bin', io.BytesIO()); print('downloaded?!')",
                    "except Exception as e: print('failed as expected')"), "" + port).redirectErrorStream(true).start();
            try {
                assertTrue(store.firstRead.await(30, TimeUnit.SECONDS), "the download started");
                Thread.sleep(200);
                long t0 = System.nanoTime();
                s.stop();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                // a hang guard, not a speed test: without cancellation stop() would wait for 40 s stages
                assertTrue(ms < 20_000, "stop() took " + ms + " ms");
                assertTrue(store.cancelled.get() >= 1, "stages cancelled: " + store.cancelled.get());
                assertTrue(client.waitFor(30, TimeUnit.SECONDS));
                String out = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(out.contains("failed as expected"), out);
            } finally {
                client.destroyForcibly();
            }
        }
    }

    /** paramiko: the error texts a client sees. */
    static final String ERRORS = String.join("\n",
            "import sys, io, paramiko",
            "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1]))); t.banner_timeout = t.auth_timeout = 30",
            "t.connect(username='u', password='pw')",
            "s = paramiko.SFTPClient.from_transport(t)",
            "for p in ('/vanished.bin', '/thrown.bin', '/bug.bin'):",
            "    try: s.getfo(p, io.BytesIO()); print(p, 'OK')",
            "    except Exception as e: print(p, type(e).__name__, str(e))",
            "buf = io.BytesIO(); s.getfo('/fine.bin', buf); print('/fine.bin', buf.getvalue().decode())",
            "s.close(); t.close()");

    @Test
    void failuresReachTheClientWithTheirTextAndBugsDoNot() throws Exception {
        int port = ServerTest.freePort();
        SlowStore store = new SlowStore(5);
        for (String p : new String[] {"/vanished.bin", "/thrown.bin", "/bug.bin", "/fine.bin"}) {
            store.files.put(p, "fine".getBytes(StandardCharsets.UTF_8));
        }
        ConcurrentLinkedQueue<String> reported = new ConcurrentLinkedQueue<>();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            store.install(s);
            AsyncHandler<ReadFileEvent, ByteBuffer> served = s.getOnReadFileAsync();
            s.setOnReadFileAsync(null);
            s.setOnReadFileAsync(e -> {
                String path = store.handles.get(e.getHandle());
                switch (path) {
                    case "/vanished.bin": // fails after the back-end answered
                        return store.later(() -> {
                            throw new SftpException(OperationStatus.ostNoSuchFile, "object vanished from the store");
                        });
                    case "/thrown.bin": // thrown by the handler itself
                        throw new SftpException(OperationStatus.ostAccessDenied, "quota exceeded for u");
                    case "/bug.bin":
                        return store.later(() -> {
                            throw new IllegalStateException("internal-detail: connection pool exhausted");
                        });
                    default:
                        return served.handle(e);
                }
            });
            s.setOnHandlerException((event, t) -> reported.add(event + ": " + t.getMessage()));
            s.start();
            String out = ProviderTest.run(ERRORS, "" + port);
            assertTrue(out.contains("/vanished.bin FileNotFoundError") && out.contains("object vanished from the store"), out);
            assertTrue(out.contains("/thrown.bin PermissionError") && out.contains("quota exceeded for u"), out);
            assertTrue(out.contains("/bug.bin IOError") || out.contains("/bug.bin OSError"), out);
            assertTrue(!out.contains("internal-detail"), "a bug's text reached the client: " + out);
            assertTrue(out.contains("/fine.bin fine"), out);
            assertTrue(reported.stream().anyMatch(r -> r.startsWith("on_read_file: internal-detail")),
                    "the bug was reported to the application: " + reported);
            assertTrue(reported.stream().noneMatch(r -> r.contains("vanished") || r.contains("quota")),
                    "SftpExceptions are answers, not reports: " + reported);
        }
    }

    @Test
    void anAwaitedEventWaitsForItsStage() throws Exception {
        int port = ServerTest.freePort();
        SlowStore store = new SlowStore(5);
        store.files.put("/big.bin", content(1000));
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            store.install(s);
            s.setOnAuthPassword(null);
            // on_auth_password cannot be deferred: the server thread waits, and accept counts until then
            s.setOnAuthPasswordAsync(e -> store.later(() -> {
                e.setAccept("pw".equals(e.getPassword()));
                return null;
            }));
            s.start();
            String out = ProviderTest.run(TRANSFER, "" + port, "1", sha256(content(1000)));
            assertTrue(out.startsWith("up "), out);
        }
    }

    static final class BothForms implements SFTPServerListener {
        @Override
        public void onReadFile(ReadFileEvent e) {
        }

        @Override
        public CompletionStage<ByteBuffer> onReadFileAsync(ReadFileEvent e) {
            return null;
        }
    }

    static final class AsyncWriter implements SFTPServerListener {
        @Override
        public CompletionStage<?> onWriteFileAsync(WriteFileEvent e) {
            return null;
        }
    }

    static void refused(String event, org.junit.jupiter.api.function.Executable assign) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, assign);
        assertTrue(e.getMessage().contains(event), "names " + event + ": " + e.getMessage());
    }

    @Test
    void formsThatCannotWorkAreRefusedWhenAssigned() {
        try (SFTPServer s = new SFTPServer()) {
            refused("on_read_file", () -> s.addListener(new BothForms()));
            AsyncHandler<ReadFileEvent, ByteBuffer> reader = e -> null;
            s.setOnReadFileAsync(reader);
            refused("on_read_file", () -> s.setOnReadFile(e -> { }));
            s.setOnWriteFile(e -> { });
            refused("on_write_file", () -> s.setOnWriteFileAsync(e -> null));
            s.setOnWriteFile(null);
            s.setOnWriteFileAsync(e -> null);
            refused("on_write_file", () -> s.addListener(new AsyncWriter()));
            refused("on_read_file", () -> s.setAsyncFileSystem(session -> null));
            refused("on_auth_password", () -> {
                s.setOnAuthPassword(e -> { });
                s.setOnAuthPasswordAsync(e -> null);
            });
            // what was installed stays installed; replacing a handler in its own form is fine
            assertSame(reader, s.getOnReadFileAsync());
            assertEquals(null, s.getOnReadFile());
            s.setOnReadFileAsync(e -> null);
            s.setOnReadFileAsync(null);
            // a synchronous observer beside the asynchronous writer is allowed (it runs first)
            s.addListener(new SFTPServerListener() {
                @Override
                public void onWriteFile(WriteFileEvent e) {
                }
            });
            refused("addListener", () -> s.addListener(null));
        }
    }
}

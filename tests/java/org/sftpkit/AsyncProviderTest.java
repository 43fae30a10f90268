package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The asynchronous provider form (SFTPServer.setAsyncFileSystem): ProviderTest's eight concurrent
 * paramiko sessions, against MemoryFs seen through an AsyncSftpFileSystem whose every method
 * answers 5 ms later from a scheduled executor — contents, attributes, listings, renames, the
 * SftpException texts and the hidden bug text all as with the synchronous form, and each session's
 * file system closed at its end.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AsyncProviderTest {
    private static final ScheduledExecutorService LATER = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "test-async-provider");
        t.setDaemon(true);
        return t;
    });
    private static final AtomicInteger DEFERRED = new AtomicInteger();

    @AfterAll
    static void stopClock() {
        LATER.shutdownNow();
    }

    interface Call<T> {
        T run() throws Exception;
    }

    static <T> CompletionStage<T> later(Call<T> c) {
        CompletableFuture<T> f = new CompletableFuture<>();
        LATER.schedule(() -> {
            try {
                f.complete(c.run());
            } catch (Throwable t) {
                f.completeExceptionally(t); // SftpException and the "/boom" bug alike, after the wait
            }
        }, 5, TimeUnit.MILLISECONDS);
        return f;
    }

    /** A synchronous SftpFileSystem made slow and asynchronous. */
    static final class Slow implements AsyncSftpFileSystem {
        final MemoryFs fs;

        Slow(MemoryFs fs) {
            this.fs = fs;
        }

        @Override
        public CompletionStage<AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
            return later(() -> {
                SftpFile f = fs.open(path, modes);
                return new AsyncSftpFile() {
                    @Override
                    public CompletionStage<ByteBuffer> read(long offset, int length) {
                        DEFERRED.incrementAndGet();
                        return later(() -> {
                            ByteBuffer b = ByteBuffer.allocate(length);
                            int n = f.read(offset, b);
                            return n < 0 ? null : b.flip();
                        });
                    }

                    @Override
                    public CompletionStage<Void> write(long offset, ByteBuffer data) {
                        DEFERRED.incrementAndGet();
                        return later(() -> {
                            f.write(offset, data);
                            return null;
                        });
                    }

                    @Override
                    public CompletionStage<SftpAttributes> stat() {
                        return later(f::stat);
                    }

                    @Override
                    public CompletionStage<Void> setStat(SftpAttributes changes) {
                        return later(() -> {
                            f.setStat(changes);
                            return null;
                        });
                    }

                    @Override
                    public CompletionStage<Void> close() {
                        return later(() -> {
                            f.close();
                            return null;
                        });
                    }
                };
            });
        }

        @Override
        public CompletionStage<SftpAttributes> stat(String path) {
            return later(() -> fs.stat(path));
        }

        @Override
        public CompletionStage<Iterable<SftpAttributes>> list(String path) {
            return later(() -> fs.list(path));
        }

        @Override
        public CompletionStage<Void> setStat(String path, SftpAttributes changes) {
            return later(() -> {
                fs.setStat(path, changes);
                return null;
            });
        }

        @Override
        public CompletionStage<Void> mkdir(String path) {
            return later(() -> {
                fs.mkdir(path);
                return null;
            });
        }

        @Override
        public CompletionStage<Void> rmdir(String path) {
            return later(() -> {
                fs.rmdir(path);
                return null;
            });
        }

        @Override
        public CompletionStage<Void> remove(String path) {
            return later(() -> {
                fs.remove(path);
                return null;
            });
        }

        @Override
        public CompletionStage<Void> rename(String from, String to) {
            return later(() -> {
                fs.rename(from, to);
                return null;
            });
        }

        @Override
        public CompletionStage<String> realpath(String path) {
            return later(() -> fs.realpath(path));
        }

        @Override
        public CompletionStage<Void> close() {
            return later(() -> {
                fs.close();
                return null;
            });
        }
    }

    @Test
    void concurrentSessionsThroughTheAsynchronousForm() throws Exception {
        int n = 8;
        int port = ServerTest.freePort();
        ConcurrentLinkedQueue<MemoryFs> made = new ConcurrentLinkedQueue<>();
        DEFERRED.set(0);
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setAsyncFileSystem(session -> {
                MemoryFs fs = new MemoryFs(session);
                made.add(fs);
                return new Slow(fs);
            });
            s.start();
            assertEquals("ok " + n, ProviderTest.run(ProviderTest.CLIENTS, "" + port, "" + n));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (made.stream().anyMatch(f -> !f.closed) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(n, made.size(), "one file system per session");
            for (MemoryFs fs : made) {
                assertTrue(fs.closed, "closed when the client left: " + fs.session);
            }
        }
        assertTrue(DEFERRED.get() >= 2 * n, "reads and writes went through the async file: " + DEFERRED.get());
    }

    /** READs of one handle overlap in the async form: a prefetched download keeps many pending at once. */
    @Test
    void readsOfOneHandleOverlap() throws Exception {
        int port = ServerTest.freePort();
        byte[] big = AsyncHandlersTest.content(1 << 20);
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AsyncSftpFile file = new AsyncSftpFile() {
            @Override
            public CompletionStage<ByteBuffer> read(long offset, int length) {
                most.accumulateAndGet(now.incrementAndGet(), Math::max);
                return later(() -> {
                    now.decrementAndGet();
                    return offset >= big.length ? null
                            : ByteBuffer.wrap(big, (int) offset, (int) Math.min(length, big.length - offset));
                });
            }
        };
        SftpAttributes size = SftpAttributes.file("big.bin", big.length);
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.config("WorkerThreads=2");
            s.setAsyncFileSystem(session -> new AsyncSftpFileSystem() {
                @Override
                public CompletionStage<? extends AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
                    return CompletableFuture.completedFuture(file);
                }

                @Override
                public CompletionStage<SftpAttributes> stat(String path) {
                    return CompletableFuture.completedFuture(size);
                }

                @Override
                public CompletionStage<? extends Iterable<SftpAttributes>> list(String path) {
                    return CompletableFuture.completedFuture(java.util.List.of());
                }
            });
            s.start();
            String out = ProviderTest.run(String.join("\n",
                    "import sys, io, hashlib, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1]))); t.banner_timeout = t.auth_timeout = 30",
                    "t.connect(username='u', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "b = io.BytesIO(); s.getfo('/big.bin', b); print(hashlib.sha256(b.getvalue()).hexdigest())",
                    "s.close(); t.close()"), "" + port);
            assertEquals(AsyncHandlersTest.sha256(big), out);
        }
        assertTrue(most.get() >= 8, "reads of one handle pending at once: " + most.get());
    }

    @Test
    void anAsyncProviderAndAnAsyncReadHandlerAreRefusedTogether() {
        try (SFTPServer s = new SFTPServer()) {
            s.setAsyncFileSystem(session -> new Slow(new MemoryFs(session)));
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> s.setOnReadFileAsync(ev -> null));
            assertTrue(e.getMessage().contains("on_read_file"), e.getMessage());
            s.setFileSystem(MemoryFs::new); // the synchronous form replaces it
            s.setOnReadFile(ev -> { }); // and a synchronous handler may sit beside that, as before
        }
    }
}

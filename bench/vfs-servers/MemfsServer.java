import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.sftpkit.AsyncSftpFile;
import org.sftpkit.AsyncSftpFileSystem;
import org.sftpkit.FileOpenMode;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpException;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;

/**
 * The Java binding's in-memory file system for bench/vfs-bench (issue 14 item 6), with the
 * command line of the C sample sftpkit-memfs so the bench drives every language alike:
 * <pre>
 *   java -cp build/java/sftpkit.jar MemfsServer.java --port P --user U:PW --seed /data.bin:MIB
 *        [--latency-ms N] [--workers N] [--native ROOT]
 * </pre>
 * Files live in a map behind the provider interface (SftpFileSystem); --latency-ms makes every
 * read and write sleep (a remote back-end; the handlers overlap on the worker pool), or with
 * --async (alias --deferred) complete latency later from a scheduled executor through the
 * asynchronous provider form (AsyncSftpFileSystem, no thread waits); --native serves ROOT through
 * base_dir in the same process. SIGTERM stops it.
 */
public final class MemfsServer {
    static final Map<String, byte[]> FILES = new ConcurrentHashMap<>();

    static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    static SftpFileSystem memfs(long latencyMs) {
        return new SftpFileSystem() {
            @Override
            public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
                if (modes.contains(FileOpenMode.cfmTruncate) || (modes.contains(FileOpenMode.cfmCreate) && !FILES.containsKey(path))) {
                    FILES.put(path, new byte[0]);
                }
                if (!FILES.containsKey(path)) {
                    throw SftpException.noSuchFile(path);
                }
                return new SftpFile() {
                    @Override
                    public int read(long offset, ByteBuffer dst) throws IOException {
                        if (latencyMs > 0) {
                            sleep(latencyMs);
                        }
                        byte[] d = FILES.get(path);
                        if (offset >= d.length) {
                            return -1;
                        }
                        int n = (int) Math.min(dst.remaining(), d.length - offset);
                        dst.put(d, (int) offset, n);
                        return n;
                    }

                    @Override
                    public void write(long offset, ByteBuffer src) throws IOException {
                        if (latencyMs > 0) {
                            sleep(latencyMs);
                        }
                        synchronized (FILES) {
                            byte[] d = FILES.get(path);
                            int end = (int) offset + src.remaining();
                            if (d.length < end) {
                                d = Arrays.copyOf(d, Math.max(end, d.length * 2)); // amortized growth
                                FILES.put(path, d);
                            }
                            src.get(d, (int) offset, src.remaining());
                        }
                    }
                };
            }

            @Override
            public SftpAttributes stat(String path) throws IOException {
                if (path.equals("/")) {
                    return SftpAttributes.directory("/");
                }
                byte[] d = FILES.get(path);
                if (d == null) {
                    throw SftpException.noSuchFile(path);
                }
                return SftpAttributes.file(path.substring(1), d.length);
            }

            @Override
            public Iterable<SftpAttributes> list(String path) throws IOException {
                List<SftpAttributes> out = new ArrayList<>();
                for (String p : FILES.keySet()) {
                    out.add(stat(p));
                }
                return out;
            }
        };
    }

    static byte[] lookup(String path) {
        byte[] d = FILES.get(path);
        if (d == null) {
            throw new java.util.concurrent.CompletionException(SftpException.noSuchFile(path));
        }
        return d;
    }

    /** The same tree through CompletionStage methods: each read/write answers latencyMs later. */
    static AsyncSftpFileSystem asyncMemfs(ScheduledExecutorService timer, long latencyMs) {
        SftpFileSystem sync = memfs(0);
        return new AsyncSftpFileSystem() {
            <T> CompletionStage<T> later(java.util.function.Supplier<T> answer) {
                CompletableFuture<T> f = new CompletableFuture<>();
                timer.schedule(() -> {
                    try {
                        f.complete(answer.get());
                    } catch (RuntimeException e) {
                        f.completeExceptionally(e);
                    }
                }, latencyMs, TimeUnit.MILLISECONDS);
                return f;
            }

            @Override
            public CompletionStage<? extends AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
                try {
                    sync.open(path, modes); // creates/truncates as the sync form does
                } catch (IOException e) {
                    return CompletableFuture.failedFuture(e);
                }
                return CompletableFuture.completedFuture(new AsyncSftpFile() {
                    @Override
                    public CompletionStage<ByteBuffer> read(long offset, int length) {
                        return later(() -> {
                            byte[] d = lookup(path);
                            if (offset >= d.length) {
                                return null;
                            }
                            return ByteBuffer.wrap(d, (int) offset, (int) Math.min(length, d.length - offset));
                        });
                    }

                    @Override
                    public CompletionStage<Void> write(long offset, ByteBuffer data) {
                        return later(() -> {
                            synchronized (FILES) {
                                byte[] d = lookup(path);
                                int end = (int) offset + data.remaining();
                                if (d.length < end) {
                                    d = Arrays.copyOf(d, Math.max(end, d.length * 2));
                                    FILES.put(path, d);
                                }
                                data.get(d, (int) offset, data.remaining());
                            }
                            return null;
                        });
                    }
                });
            }

            @Override
            public CompletionStage<SftpAttributes> stat(String path) {
                try {
                    return CompletableFuture.completedFuture(sync.stat(path));
                } catch (IOException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }

            @Override
            public CompletionStage<? extends Iterable<SftpAttributes>> list(String path) {
                try {
                    return CompletableFuture.completedFuture(sync.list(path));
                } catch (IOException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
        };
    }

    public static void main(String[] args) throws Exception {
        int port = 0, workers = -1;
        long latency = 0;
        boolean async = false;
        String user = null, nativeRoot = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port": port = Integer.parseInt(args[++i]); break;
                case "--user": user = args[++i]; break;
                case "--seed": {
                    String[] s = args[++i].split(":");
                    byte[] d = new byte[Integer.parseInt(s[1]) << 20];
                    for (int k = 0; k < d.length; k++) {
                        d[k] = (byte) k;
                    }
                    FILES.put(s[0], d);
                    break;
                }
                case "--latency-ms": latency = Long.parseLong(args[++i]); break;
                case "--workers": workers = Integer.parseInt(args[++i]); break;
                case "--native": nativeRoot = args[++i]; break;
                case "--deferred":
                case "--async": async = true; break;
                default: System.err.println("MemfsServer: unknown option " + args[i]); System.exit(2);
            }
        }
        String name = user.substring(0, user.indexOf(':')), password = user.substring(user.indexOf(':') + 1);
        CountDownLatch stop = new CountDownLatch(1), closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                closed.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        try (SFTPServer srv = new SFTPServer(); SSHKey key = new SSHKey()) {
            key.generate("ssh-ed25519", 0);
            srv.setServerKeyCount(1);
            srv.setServerKeyHandle(0, key.getHandle());
            srv.setHost("127.0.0.1");
            srv.setPort(port);
            if (workers >= 0) {
                srv.config("WorkerThreads=" + workers);
            }
            srv.setOnAuthPassword(e -> e.setAccept(e.getUsername().equals(name) && e.getPassword().equals(password)));
            if (nativeRoot != null) {
                srv.setBaseDir(nativeRoot);
            } else if (async) {
                ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
                long lat = latency;
                srv.setAsyncFileSystem(session -> asyncMemfs(timer, lat));
            } else {
                long lat = latency;
                srv.setFileSystem(session -> memfs(lat));
            }
            srv.start();
            stop.await();
        } finally {
            closed.countDown();
        }
    }
}

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.sftpkit.AsyncSftpFile;
import org.sftpkit.AsyncSftpFileSystem;
import org.sftpkit.FileOpenMode;
import org.sftpkit.MemoryFileSystem;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;

/**
 * The Java binding's in-memory file system for bench/vfs-bench (issue 14 item 6), with the
 * command line of the C sample sftpkit-memfs so the bench drives every language alike:
 * <pre>
 *   java -cp build/java/sftpkit.jar MemfsServer.java --port P --user U:PW --seed /data.bin:MIB
 *        [--latency-ms N] [--workers N] [--native ROOT]
 * </pre>
 * Files live in the binding's own MemoryFileSystem (64 KiB pages, one instance shared by every
 * session) behind the provider interface (SftpFileSystem); --latency-ms makes every read and write
 * sleep (a remote back-end; the handlers overlap on the worker pool), or with --async (alias
 * --deferred) complete latency later from a scheduled executor through the asynchronous provider
 * form (MemoryFileSystem.async(), no thread waits; only reads and writes wait, as before);
 * --native serves ROOT through base_dir in the same process. SIGTERM stops it.
 */
public final class MemfsServer {
    /** Room for the seeds and the bench's uploads (each upload truncates the one before). */
    static final MemoryFileSystem FILES = new MemoryFileSystem(4L << 30);

    static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /** FILES whose reads and writes first sleep latencyMs (the synchronous slow rows). */
    static SftpFileSystem slow(long latencyMs) {
        return new SftpFileSystem() {
            @Override
            public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
                SftpFile f = FILES.open(path, modes);
                return new SftpFile() {
                    @Override
                    public int read(long offset, ByteBuffer dst) throws IOException {
                        sleep(latencyMs);
                        return f.read(offset, dst);
                    }

                    @Override
                    public void write(long offset, ByteBuffer src) throws IOException {
                        sleep(latencyMs);
                        f.write(offset, src);
                    }
                };
            }

            @Override
            public SftpAttributes stat(String path) throws IOException {
                return FILES.stat(path);
            }

            @Override
            public Iterable<SftpAttributes> list(String path) throws IOException {
                return FILES.list(path);
            }
        };
    }

    /** FILES through CompletionStage methods: each read/write answers latencyMs later, from the timer. */
    static AsyncSftpFileSystem asyncMemfs(ScheduledExecutorService timer, long latencyMs) {
        AsyncSftpFileSystem now = FILES.async();
        Executor later = CompletableFuture.delayedExecutor(latencyMs, TimeUnit.MILLISECONDS, timer);
        return new AsyncSftpFileSystem() {
            @Override
            public CompletionStage<? extends AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
                return now.open(path, modes).thenApply(f -> new AsyncSftpFile() {
                    @Override
                    public CompletionStage<ByteBuffer> read(long offset, int length) {
                        return CompletableFuture.runAsync(() -> { }, later).thenCompose(x -> f.read(offset, length));
                    }

                    @Override
                    public CompletionStage<Void> write(long offset, ByteBuffer data) {
                        return CompletableFuture.runAsync(() -> { }, later).thenCompose(x -> f.write(offset, data));
                    }
                });
            }

            @Override
            public CompletionStage<SftpAttributes> stat(String path) {
                return now.stat(path);
            }

            @Override
            public CompletionStage<? extends Iterable<SftpAttributes>> list(String path) {
                return now.list(path);
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
                    FILES.writeAllBytes(s[0], d);
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
                SftpFileSystem fs = latency > 0 ? slow(latency) : FILES;
                srv.setFileSystem(session -> fs);
            }
            srv.start();
            stop.await();
        } finally {
            closed.countDown();
        }
    }
}

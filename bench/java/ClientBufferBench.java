import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.sftpkit.FileOpenMode;
import org.sftpkit.FileRequestAction;
import org.sftpkit.FileType;
import org.sftpkit.OperationStatus;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;

/**
 * Cost of get/set_client_buffer per READ/WRITE event through the Java binding (issue 14 item 4),
 * measured on a real transfer (OpenSSH sftp, -B 32768) against one virtual file:
 *   copy     - before: setClientBuffer(conn, handle, Arrays.copyOfRange(...)) and
 *              getClientBuffer(conn, handle) returning a fresh byte[] (the only API before)
 *   region   - after: setClientBuffer(conn, "", data, off, len) / getClientBuffer(conn, "", scratch, 0, n)
 *   provider - setFileSystem(...): the binding's pooled direct buffers, SftpFile.read/write
 * Per mode and direction: events, server process CPU per event, and (copy/region) the time and
 * bytes allocated inside the buffer call per event. Not a test: numbers for docs/performance.md.
 *   java -cp build/java/sftpkit.jar bench/java/ClientBufferBench.java KEYFILE SIZE_MIB
 */
public final class ClientBufferBench {
    static byte[] data;
    static final AtomicLong EVENTS = new AtomicLong(), CALL_NS = new AtomicLong(), CALL_BYTES = new AtomicLong();
    static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[1 << 20]);
    static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    static void timed(Runnable call) {
        long b0 = THREADS.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        call.run();
        CALL_NS.addAndGet(System.nanoTime() - t0);
        CALL_BYTES.addAndGet(THREADS.getCurrentThreadAllocatedBytes() - b0);
        EVENTS.incrementAndGet();
    }

    /** The events by hand, the way a handler had to do it. */
    static void handlers(SFTPServer s, boolean region) {
        s.setOnBeforeDownloadFile(e -> e.setAction(FileRequestAction.fraCustom));
        s.setOnBeforeUploadFile(e -> e.setAction(FileRequestAction.fraCustom));
        s.setOnBeforeRequestAttributes(e -> e.setAction(FileRequestAction.fraCustom));
        s.setOnOpenFile(e -> e.setOperationStatus(OperationStatus.ostOk));
        s.setOnCloseFile(e -> e.setOperationStatus(OperationStatus.ostOk));
        s.setOnRequestAttributes(e -> {
            SFTPServer srv = e.getServer();
            srv.setClientFileEntryName("big.bin");
            srv.setClientFileEntryFileType(FileType.cftFile);
            srv.setClientFileEntrySize(data.length);
            srv.setClientFileEntryUserRead(true);
            srv.setClientFileEntryUserWrite(true);
            srv.setClientFileEntry(e.getConnectionId(), e.getHandle());
        });
        s.setOnReadFile(e -> {
            int off = (int) Math.min(e.getOffset(), data.length);
            int n = (int) Math.min(e.getSize(), data.length - off);
            if (n == 0) {
                e.setOperationStatus(OperationStatus.ostEOF);
                return;
            }
            SFTPServer srv = e.getServer();
            long conn = e.getConnectionId();
            String h = e.getHandle();
            timed(region ? () -> srv.setClientBuffer(conn, "", data, off, n)
                    : () -> srv.setClientBuffer(conn, h, Arrays.copyOfRange(data, off, off + n)));
        });
        s.setOnWriteFile(e -> {
            SFTPServer srv = e.getServer();
            long conn = e.getConnectionId();
            String h = e.getHandle();
            timed(region ? () -> srv.getClientBuffer(conn, "", SCRATCH.get(), 0, 1 << 20)
                    : () -> srv.getClientBuffer(conn, h));
        });
    }

    static final class Fs implements SftpFileSystem {
        @Override
        public SftpFile open(String path, Set<FileOpenMode> modes) {
            return new SftpFile() {
                @Override
                public int read(long offset, ByteBuffer dst) {
                    if (offset >= data.length) {
                        return -1;
                    }
                    int n = (int) Math.min(dst.remaining(), data.length - offset);
                    dst.put(data, (int) offset, n);
                    EVENTS.incrementAndGet();
                    return n;
                }

                @Override
                public void write(long offset, ByteBuffer src) {
                    src.position(src.limit()); // discarded: the cost of the layer, not of storing
                    EVENTS.incrementAndGet();
                }
            };
        }

        @Override
        public SftpAttributes stat(String path) {
            return SftpAttributes.file("big.bin", data.length);
        }

        @Override
        public Iterable<SftpAttributes> list(String path) {
            return java.util.List.of(stat("/big.bin"));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static void sftp(int port, String key, Path work, String command) throws Exception {
        Path batch = work.resolve("batch");
        Files.writeString(batch, command + "\n");
        Process p = new ProcessBuilder("sftp", "-B", "32768", "-R", "64", "-b", batch.toString(), "-P", "" + port,
                "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "bench@127.0.0.1").inheritIO().start();
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("sftp failed: " + command);
        }
    }

    public static void main(String[] args) throws Exception {
        String key = args[0];
        int mib = Integer.parseInt(args[1]);
        data = new byte[mib << 20];
        new java.util.Random(1).nextBytes(data);
        Path work = Files.createTempDirectory(Path.of("/dev/shm"), "sfk-jbench");
        Path local = work.resolve("up.bin");
        Files.write(local, data);
        System.out.printf("%-9s %-9s %8s %16s %16s %18s%n", "mode", "direction", "events", "server CPU us/ev",
                "buffer call us/ev", "call bytes alloc/ev");
        try (SSHKey hostKey = new SSHKey()) {
            hostKey.generate("ssh-ed25519", 0);
            for (String mode : new String[] {"copy", "region", "provider"}) {
                for (String dir : new String[] {"download", "upload"}) {
                    int port = freePort();
                    try (SFTPServer s = new SFTPServer()) {
                        s.setServerKeyCount(1);
                        s.setServerKeyHandle(0, hostKey.getHandle());
                        s.setHost("127.0.0.1");
                        s.setPort(port);
                        s.setOnAuthPublicKey(e -> e.setAccept(true));
                        if (mode.equals("provider")) {
                            s.setFileSystem(session -> new Fs());
                        } else {
                            handlers(s, mode.equals("region"));
                        }
                        s.start();
                        EVENTS.set(0);
                        CALL_NS.set(0);
                        CALL_BYTES.set(0);
                        long cpu0 = OS.getProcessCpuTime();
                        sftp(port, key, work, dir.equals("download") ? "get /big.bin /dev/null" : "put " + local + " /big.bin");
                        long cpu = OS.getProcessCpuTime() - cpu0;
                        long ev = Math.max(1, EVENTS.get());
                        boolean measured = !mode.equals("provider");
                        System.out.printf("%-9s %-9s %8d %16.1f %16s %18s%n", mode, dir, EVENTS.get(), cpu / 1000.0 / ev,
                                measured ? String.format("%.2f", CALL_NS.get() / 1000.0 / ev) : "-",
                                measured ? String.format("%d", CALL_BYTES.get() / ev) : "-");
                    }
                }
            }
        } finally {
            Files.deleteIfExists(local);
            Files.deleteIfExists(work.resolve("batch"));
            Files.deleteIfExists(work);
        }
    }
}

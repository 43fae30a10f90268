import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.sftpkit.FileOpenMode;
import org.sftpkit.OperationStatus;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpException;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;
import org.sftpkit.SftpSession;

/**
 * An SFTP server with no disk behind it: every file lives in one map shared by all sessions,
 * served through the provider interface (SftpFileSystem): methods return data or throw
 * SftpException, and the binding does the events.
 *
 * <p>Run (after the build, from the repository root):
 * <pre>
 *   java -cp build/java/sftpkit.jar samples/java/VirtualFsServer.java
 *   sftp -P 2222 demo@127.0.0.1        (password demo)
 * </pre>
 * Options: --host ADDR (127.0.0.1), --port N (2222), --user NAME:PASSWORD (demo:demo). Ctrl-C stops it.
 */
public final class VirtualFsServer implements SftpFileSystem {
    /** path -> content, or DIR for a directory; shared by every session ("/" always there). */
    private static final byte[] DIR = new byte[0];
    private static final Map<String, byte[]> TREE = new ConcurrentSkipListMap<>();

    private final SftpSession session; // per session: who is asking (for the log line)

    VirtualFsServer(SftpSession session) {
        this.session = session;
        System.out.println("[vfs] " + session.getUsername() + " from " + session.getRemoteAddress());
    }

    static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "/" : p.substring(0, i);
    }

    static byte[] get(String path) throws SftpException {
        byte[] d = TREE.get(path);
        if (d == null) {
            throw SftpException.noSuchFile(path);
        }
        return d;
    }

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        synchronized (TREE) {
            if (get(parent(path)) != DIR || TREE.get(path) == DIR) {
                throw new SftpException(OperationStatus.ostNoSuchFile, "no such file or not a file: " + path);
            }
            if (modes.contains(FileOpenMode.cfmTruncate) || (modes.contains(FileOpenMode.cfmCreate) && !TREE.containsKey(path))) {
                TREE.put(path, new byte[0]);
            }
            get(path);
        }
        return new SftpFile() {
            @Override
            public int read(long offset, ByteBuffer dst) throws IOException {
                byte[] d = get(path);
                if (offset >= d.length) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), d.length - offset);
                dst.put(d, (int) offset, n);
                return n;
            }

            @Override
            public void write(long offset, ByteBuffer src) throws IOException {
                synchronized (TREE) {
                    byte[] d = get(path);
                    d = Arrays.copyOf(d, Math.max(d.length, (int) offset + src.remaining()));
                    src.get(d, (int) offset, src.remaining());
                    TREE.put(path, d);
                }
            }
        };
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        byte[] d = get(path);
        String name = path.substring(path.lastIndexOf('/') + 1);
        return d == DIR ? SftpAttributes.directory(name) : SftpAttributes.file(name, d.length);
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        if (get(path) != DIR) {
            throw new SftpException(OperationStatus.ostNoSuchFile, path + " is not a directory");
        }
        List<SftpAttributes> out = new ArrayList<>();
        for (String p : TREE.keySet()) {
            if (!p.equals("/") && parent(p).equals(path)) {
                out.add(stat(p));
            }
        }
        return out;
    }

    @Override
    public void mkdir(String path) throws IOException {
        synchronized (TREE) {
            if (get(parent(path)) != DIR || TREE.putIfAbsent(path, DIR) != null) {
                throw new FileAlreadyExistsException(path);
            }
        }
    }

    @Override
    public void rmdir(String path) throws IOException {
        synchronized (TREE) {
            if (path.equals("/") || list(path).iterator().hasNext()) {
                throw SftpException.denied("not empty (or the root): " + path);
            }
            TREE.remove(path);
        }
    }

    @Override
    public void remove(String path) throws IOException {
        synchronized (TREE) {
            if (get(path) == DIR) {
                throw SftpException.denied(path + " is a directory");
            }
            TREE.remove(path);
        }
    }

    @Override
    public void rename(String from, String to) throws IOException {
        synchronized (TREE) {
            byte[] d = get(from);
            if (d == DIR || TREE.containsKey(to) || get(parent(to)) != DIR) {
                throw SftpException.denied("cannot rename " + from + " to " + to);
            }
            TREE.put(to, TREE.remove(from));
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1", user = "demo:demo";
        int port = 2222;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host": host = args[i + 1]; break;
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--user": user = args[i + 1]; break;
                default: System.err.println("usage: VirtualFsServer [--host ADDR] [--port N] [--user NAME:PASSWORD]"); System.exit(2);
            }
        }
        TREE.put("/", DIR);
        TREE.put("/docs", DIR);
        TREE.put("/README.txt", "Everything here lives in a map in memory.\n".getBytes(StandardCharsets.UTF_8));
        String name = user.substring(0, user.indexOf(':')), password = user.substring(user.indexOf(':') + 1);
        CountDownLatch stop = new CountDownLatch(1), closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> { // Ctrl-C: close() runs before the JVM goes
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
            srv.setHost(host);
            srv.setPort(port);
            srv.setOnAuthPassword(e -> e.setAccept(e.getUsername().equals(name) && e.getPassword().equals(password)));
            srv.setFileSystem(VirtualFsServer::new); // one file-system object per session
            srv.start();
            System.out.println("[vfs] serving an in-memory file system on " + host + ":" + port + " for " + name);
            System.out.flush();
            stop.await();
        } finally {
            closed.countDown();
        }
    }
}

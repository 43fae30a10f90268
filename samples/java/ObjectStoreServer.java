import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.sftpkit.FileOpenMode;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpException;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;

/**
 * SFTP in front of an object store: flat keys in a bucket per user, "directories" are key
 * prefixes (as S3 shows them), an upload is buffered and stored in one PUT when the client closes
 * the file, a download is ranged GETs. The store here is a map with an optional delay per call
 * (--latency-ms) to feel like a remote one; swap Store for a real client.
 *
 * <p>Run: {@code java -cp build/java/sftpkit.jar samples/java/ObjectStoreServer.java}, then
 * {@code sftp -P 2222 demo@127.0.0.1} (password demo). Options: --host, --port, --user NAME:PASSWORD,
 * --latency-ms N.
 */
public final class ObjectStoreServer implements SftpFileSystem {
    /** The "remote" store: bucket/key -> object. */
    static final class Store {
        final Map<String, byte[]> objects = new ConcurrentSkipListMap<>();
        final long latencyMs;

        Store(long latencyMs) {
            this.latencyMs = latencyMs;
        }

        void delay() throws IOException {
            try {
                Thread.sleep(latencyMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }

        byte[] get(String key) throws IOException {
            delay();
            return objects.get(key);
        }

        void put(String key, byte[] data) throws IOException {
            delay();
            objects.put(key, data);
        }

        boolean delete(String key) throws IOException {
            delay();
            return objects.remove(key) != null;
        }

        List<String> keys(String prefix) throws IOException {
            delay();
            return new ArrayList<>(((ConcurrentSkipListMap<String, byte[]>) objects).subMap(prefix, prefix + '\uffff').keySet());
        }
    }

    private final Store store;
    private final String bucket; // per session: the user's own bucket

    ObjectStoreServer(Store store, String user) {
        this.store = store;
        this.bucket = user + "/";
    }

    private String key(String path) {
        return bucket + path.substring(1); // "/a/b.txt" -> "alice/a/b.txt"
    }

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        String key = key(path);
        if (modes.contains(FileOpenMode.cfmWrite)) { // buffer, then one PUT at close
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            return new SftpFile() {
                @Override
                public int read(long offset, ByteBuffer dst) throws IOException {
                    throw SftpException.unsupported("reading an upload in progress");
                }

                @Override
                public synchronized void write(long offset, ByteBuffer src) throws IOException {
                    if (offset != body.size()) {
                        throw SftpException.unsupported("writing out of order to an object");
                    }
                    byte[] chunk = new byte[src.remaining()];
                    src.get(chunk);
                    body.writeBytes(chunk);
                }

                @Override
                public void close() throws IOException {
                    store.put(key, body.toByteArray());
                }
            };
        }
        byte[] object = store.get(key);
        if (object == null) {
            throw SftpException.noSuchFile(path);
        }
        return (offset, dst) -> { // a ranged GET of the object fetched at OPEN
            if (offset >= object.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), object.length - offset);
            dst.put(object, (int) offset, n);
            return n;
        };
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        String name = path.substring(path.lastIndexOf('/') + 1);
        byte[] object = path.equals("/") ? null : store.get(key(path));
        if (object != null) {
            return SftpAttributes.file(name, object.length);
        }
        String prefix = path.equals("/") ? bucket : key(path) + "/";
        if (path.equals("/") || !store.keys(prefix).isEmpty()) {
            return SftpAttributes.directory(name);
        }
        throw SftpException.noSuchFile(path);
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        String prefix = path.equals("/") ? bucket : key(path) + "/";
        Set<String> dirs = new TreeSet<>();
        List<SftpAttributes> out = new ArrayList<>();
        for (String k : store.keys(prefix)) {
            String rest = k.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash >= 0) {
                dirs.add(rest.substring(0, slash)); // a common prefix, shown as a directory
            } else if (!rest.isEmpty()) {
                out.add(SftpAttributes.file(rest, store.objects.get(k).length));
            }
        }
        dirs.forEach(d -> out.add(SftpAttributes.directory(d)));
        return out;
    }

    @Override
    public void mkdir(String path) throws IOException {
        store.put(key(path) + "/", new byte[0]); // a "folder" marker object, as consoles make
    }

    @Override
    public void rmdir(String path) throws IOException {
        List<String> keys = store.keys(key(path) + "/");
        if (keys.size() > 1 || (keys.size() == 1 && !keys.get(0).equals(key(path) + "/"))) {
            throw SftpException.denied("not empty: " + path);
        }
        store.delete(key(path) + "/");
    }

    @Override
    public void remove(String path) throws IOException {
        if (!store.delete(key(path))) {
            throw SftpException.noSuchFile(path);
        }
    }

    @Override
    public void rename(String from, String to) throws IOException { // copy + delete: objects have no rename
        byte[] object = store.get(key(from));
        if (object == null) {
            throw SftpException.noSuchFile(from);
        }
        store.put(key(to), object);
        store.delete(key(from));
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1", user = "demo:demo";
        int port = 2222;
        long latency = 0;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host": host = args[i + 1]; break;
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--user": user = args[i + 1]; break;
                case "--latency-ms": latency = Long.parseLong(args[i + 1]); break;
                default: System.err.println("usage: ObjectStoreServer [--host A] [--port N] [--user N:P] [--latency-ms N]"); System.exit(2);
            }
        }
        String name = user.substring(0, user.indexOf(':')), password = user.substring(user.indexOf(':') + 1);
        Store store = new Store(latency);
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
            srv.setFileSystem(session -> new ObjectStoreServer(store, session.getUsername()));
            srv.start();
            System.out.println("[objects] serving bucket " + name + "/ on " + host + ":" + port);
            System.out.flush();
            stop.await();
        } finally {
            closed.countDown();
        }
    }
}

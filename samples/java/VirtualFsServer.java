import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.sftpkit.FileRequestAction;
import org.sftpkit.FileType;
import org.sftpkit.OperationStatus;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;

/**
 * An SFTP server with no disk behind it: every file lives in a ConcurrentHashMap. The handlers
 * claim each operation (on_before_* with action = fraCustom) and then serve it from the map: open,
 * read, write, close, listings, attributes, mkdir, remove, rename.
 *
 * <p>Run (after the build, from the repository root):
 * <pre>
 *   java -cp build/java/sftpkit.jar samples/java/VirtualFsServer.java
 *   sftp -P 2222 demo@127.0.0.1        (password demo)
 * </pre>
 * Options: --host ADDR (127.0.0.1), --port N (2222), --user NAME:PASSWORD (demo:demo). Ctrl-C stops
 * it; the files are gone then.
 */
public final class VirtualFsServer {
    /** path -> content. Paths are absolute, normalized, "/" separated. */
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    /** every directory, "/" included. */
    private final Set<String> dirs = ConcurrentHashMap.newKeySet();
    /** open file handle -> path */
    private final Map<String, String> open = new ConcurrentHashMap<>();
    /** listing handle -> the names still to send */
    private final Map<String, Listing> listings = new ConcurrentHashMap<>();
    /** mkdir / remove / rename change several entries at once: one structural lock. */
    private final Object tree = new Object();
    /** client_file_entry_* are server-wide properties: fill and commit them under one lock. */
    private final Object entry = new Object();
    private final SFTPServer srv;

    private static final class Listing {
        final String dir;
        final List<String> names;
        int next;

        Listing(String dir, List<String> names) {
            this.dir = dir;
            this.names = names;
        }
    }

    VirtualFsServer(SFTPServer srv) {
        this.srv = srv;
        dirs.add("/");
        dirs.add("/docs");
        files.put("/README.txt", "Everything here lives in a ConcurrentHashMap.\n".getBytes(StandardCharsets.UTF_8));
    }

    static String norm(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.remove(parts.size() - 1);
                }
            } else {
                parts.add(p);
            }
        }
        return "/" + String.join("/", parts);
    }

    static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "/" : p.substring(0, i);
    }

    static String name(String p) {
        return p.equals("/") ? "/" : p.substring(p.lastIndexOf('/') + 1);
    }

    boolean exists(String p) {
        return files.containsKey(p) || dirs.contains(p);
    }

    List<String> children(String dir) {
        Set<String> names = new TreeSet<>();
        for (String p : files.keySet()) {
            if (parent(p).equals(dir)) {
                names.add(name(p));
            }
        }
        for (String p : dirs) {
            if (!p.equals("/") && parent(p).equals(dir)) {
                names.add(name(p));
            }
        }
        return new ArrayList<>(names);
    }

    /** Hands one entry to the engine (a listing line or an attributes reply). */
    void sendEntry(long connectionId, String handle, String path) {
        boolean dir = dirs.contains(path);
        byte[] data = files.get(path);
        synchronized (entry) {
            srv.setClientFileEntryName(name(path));
            srv.setClientFileEntryPath(path);
            srv.setClientFileEntryDirectory(dir);
            srv.setClientFileEntryFileType(dir ? FileType.cftDirectory : FileType.cftFile);
            srv.setClientFileEntrySize(dir || data == null ? 0 : data.length);
            srv.setClientFileEntryMTime(Instant.ofEpochSecond(Instant.now().getEpochSecond()).toString());
            srv.setClientFileEntryUserRead(true);
            srv.setClientFileEntryUserWrite(true);
            srv.setClientFileEntryUserExecute(dir);
            srv.setClientFileEntry(connectionId, handle);
        }
    }

    void install() {
        // Claim every operation: the server would otherwise use base_dir (empty here: nothing).
        srv.setOnBeforeDownloadFile(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeUploadFile(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeFind(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeRequestAttributes(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeSetAttributes(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeCreateDirectory(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeRemove(e -> e.setAction(FileRequestAction.fraCustom));
        srv.setOnBeforeRenameFile(e -> e.setAction(FileRequestAction.fraCustom));

        srv.setOnOpenFile(e -> {
            String path = norm(e.getPath());
            boolean write = (e.getModes() & (2 | 4 | 8 | 16 | 128)) != 0; // cfmWrite|Append|Create|Truncate|OpenOrCreate
            synchronized (tree) {
                if (dirs.contains(path)) {
                    e.setOperationStatus(OperationStatus.ostAccessDenied);
                    return;
                }
                if (write) {
                    if (!dirs.contains(parent(path))) {
                        e.setOperationStatus(OperationStatus.ostNoSuchFile);
                        return;
                    }
                    if ((e.getModes() & 32) != 0 && files.containsKey(path)) { // cfmExcl
                        e.setOperationStatus(OperationStatus.ostAccessDenied);
                        return;
                    }
                    if ((e.getModes() & 16) != 0) { // cfmTruncate
                        files.put(path, new byte[0]);
                    } else {
                        files.putIfAbsent(path, new byte[0]);
                    }
                } else if (!files.containsKey(path)) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                    return;
                }
            }
            open.put(e.getHandle(), path); // the engine's handle names are unique server-wide: safe as keys
            e.setOperationStatus(OperationStatus.ostOk);
        });
        srv.setOnReadFile(e -> {
            String path = open.get(e.getHandle());
            byte[] data = path == null ? null : files.get(path);
            if (data == null) {
                e.setOperationStatus(OperationStatus.ostNoSuchFile);
            } else if (e.getOffset() >= data.length) {
                e.setOperationStatus(OperationStatus.ostEOF);
            } else {
                int from = (int) e.getOffset();
                int to = (int) Math.min(data.length, e.getOffset() + e.getSize());
                e.getServer().setClientBuffer(e.getConnectionId(), e.getHandle(), Arrays.copyOfRange(data, from, to));
                e.setOperationStatus(OperationStatus.ostOk);
            }
        });
        srv.setOnWriteFile(e -> {
            String path = open.get(e.getHandle());
            if (path == null) {
                e.setOperationStatus(OperationStatus.ostNoSuchFile);
                return;
            }
            byte[] chunk = e.getServer().getClientBuffer(e.getConnectionId(), e.getHandle());
            int at = (int) e.getOffset();
            files.compute(path, (p, old) -> { // atomic per file
                byte[] cur = old == null ? new byte[0] : old;
                byte[] out = Arrays.copyOf(cur, Math.max(cur.length, at + chunk.length));
                System.arraycopy(chunk, 0, out, at, chunk.length);
                return out;
            });
            e.setOperationStatus(OperationStatus.ostOk);
        });
        srv.setOnCloseFile(e -> e.setOperationStatus(open.remove(e.getHandle()) != null
                ? OperationStatus.ostOk : OperationStatus.ostNoSuchFile));

        srv.setOnFindFirst(e -> {
            String dir = norm(e.getPath());
            if (!dirs.contains(dir)) {
                e.setOperationStatus(OperationStatus.ostNoSuchFile);
                return;
            }
            Listing l = new Listing(dir, children(dir));
            listings.put(e.getHandle(), l);
            e.setOperationStatus(sendNext(e.getConnectionId(), e.getHandle(), l));
        });
        srv.setOnFindNext(e -> {
            Listing l = listings.get(e.getHandle());
            e.setOperationStatus(l == null ? OperationStatus.ostNoSuchFile : sendNext(e.getConnectionId(), e.getHandle(), l));
        });
        srv.setOnFindClose(e -> {
            listings.remove(e.getHandle());
            e.setOperationStatus(OperationStatus.ostOk);
        });

        srv.setOnRequestAttributes(e -> {
            String path = e.getPath().isEmpty() ? open.get(e.getHandle()) : norm(e.getPath());
            if (path == null || !exists(path)) {
                e.setOperationStatus(OperationStatus.ostNoSuchFile);
                return;
            }
            sendEntry(e.getConnectionId(), e.getHandle(), path);
            e.setOperationStatus(OperationStatus.ostOk);
        });
        srv.setOnSetAttributes(e -> { // accepted and ignored: the map keeps no attributes
            String path = e.getPath().isEmpty() ? open.get(e.getHandle()) : norm(e.getPath());
            e.setOperationStatus(path != null && exists(path) ? OperationStatus.ostOk : OperationStatus.ostNoSuchFile);
        });
        srv.setOnCreateDirectory(e -> {
            String path = norm(e.getPath());
            synchronized (tree) {
                if (exists(path)) {
                    e.setOperationStatus(OperationStatus.ostAccessDenied);
                } else if (!dirs.contains(parent(path))) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                } else {
                    dirs.add(path);
                    e.setOperationStatus(OperationStatus.ostOk);
                }
            }
        });
        srv.setOnRemove(e -> {
            String path = norm(e.getPath());
            synchronized (tree) {
                if (files.remove(path) != null) {
                    e.setOperationStatus(OperationStatus.ostOk);
                } else if (!dirs.contains(path)) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                } else if (path.equals("/") || !children(path).isEmpty()) {
                    e.setOperationStatus(OperationStatus.ostAccessDenied);
                } else {
                    dirs.remove(path);
                    e.setOperationStatus(OperationStatus.ostOk);
                }
            }
        });
        srv.setOnRenameFile(e -> {
            String from = norm(e.getOldPath());
            String to = norm(e.getNewPath());
            synchronized (tree) {
                if (!exists(from) || !dirs.contains(parent(to))) {
                    e.setOperationStatus(OperationStatus.ostNoSuchFile);
                    return;
                }
                if (exists(to) || to.startsWith(from + "/")) {
                    e.setOperationStatus(OperationStatus.ostAccessDenied);
                    return;
                }
                byte[] data = files.remove(from);
                if (data != null) {
                    files.put(to, data);
                } else { // a directory moves with everything under it
                    for (String f : new ArrayList<>(files.keySet())) {
                        if (f.startsWith(from + "/")) {
                            files.put(to + f.substring(from.length()), files.remove(f));
                        }
                    }
                    for (String d : new ArrayList<>(dirs)) {
                        if (d.equals(from) || d.startsWith(from + "/")) {
                            dirs.remove(d);
                            dirs.add(to + d.substring(from.length()));
                        }
                    }
                }
                e.setOperationStatus(OperationStatus.ostOk);
            }
        });
        srv.setOnHandlerException((event, error) -> System.err.println("[vfs] " + event + " failed: " + error));
    }

    private long sendNext(long connectionId, String handle, Listing l) {
        synchronized (l) {
            if (l.next >= l.names.size()) {
                return OperationStatus.ostEOF;
            }
            String n = l.names.get(l.next++);
            sendEntry(connectionId, handle, l.dir.equals("/") ? "/" + n : l.dir + "/" + n);
            return OperationStatus.ostOk;
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 2222;
        String user = "demo:demo";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host": host = args[i + 1]; break;
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--user": user = args[i + 1]; break;
                default:
                    System.err.println("usage: VirtualFsServer [--host ADDR] [--port N] [--user NAME:PASSWORD]");
                    System.exit(2);
            }
        }
        int colon = user.indexOf(':');
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        try (SFTPServer srv = new SFTPServer(); SSHKey key = new SSHKey()) {
            key.generate("ssh-ed25519", 0);
            srv.setServerKeyCount(1);
            srv.setServerKeyHandle(0, key.getHandle());
            srv.setHost(host);
            srv.setPort(port);
            // The built-in user table this time (the other sample checks passwords in a callback).
            srv.setUserCount(1);
            srv.setUserUsername(0, user.substring(0, colon));
            srv.setUserPassword(0, user.substring(colon + 1));
            new VirtualFsServer(srv).install();
            srv.start();
            System.out.println("[vfs] serving an in-memory file system on " + host + ":" + port + " for "
                    + user.substring(0, colon));
            System.out.println("[vfs] host key: " + key.exportPublic());
            System.out.flush();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.countDown();
                try {
                    closed.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }));
            stop.await();
        } finally {
            closed.countDown();
        }
    }
}

package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file system in memory, thread-safe: share one instance between sessions
 * ({@code srv.setFileSystem(session -> fs)}), or make one per user in the factory. For tests,
 * demos, caches and as a starting point for your own provider.
 *
 * <p>File data lives in 64 KiB pages allocated as they are first written, so a growing file never
 * copies what it holds, and a sparse write leaves a hole that reads as zeros and takes no memory.
 * A READ copies straight from the pages into the binding's buffer. Files opened for writing are
 * visible to readers as they are written; requests on different files run in parallel (each file
 * has its own lock), those on one file read in parallel and write one at a time.
 *
 * <p>The store is capped ({@link #getMaxTotalBytes()}, 1 GiB by default): a hostile client must
 * not be able to fill the server's memory. The quota counts the files' sizes (holes at their
 * length) and every file and directory at {@link #ENTRY_COST} bytes plus the UTF-8 length of its
 * name (charged when it is created, given back when it is removed, adjusted when it is renamed),
 * so neither data nor empty files nor MKDIR loops grow memory without bound. A write, a size
 * change or a creation past it fails with a plain failure (SSH_FX_FAILURE) whose message is
 * "quota exceeded", and changes nothing; removing or truncating gives the bytes back. The root
 * costs nothing.
 * Freed whole pages (up to the smaller of the cap and 128 MiB) are kept for the next writes, so a
 * steady upload/delete cycle does not make the collector copy each upload's data again.
 *
 * <p>Errors: a missing path is "no such file" ({@link OperationStatus#ostNoSuchFile}); a path that
 * exists where it must not (mkdir, rename's target, an exclusive create), a directory where a file
 * is needed or the reverse, and a non-empty directory are failures with a message; the root cannot
 * be removed or renamed (permission denied); writing a file opened for reading only is permission
 * denied. Links are not supported. {@link #close()} (the end of a session) keeps the files.
 *
 * <p>{@link #async()} is the same store as an {@link AsyncSftpFileSystem}, for
 * {@link SFTPServer#setAsyncFileSystem(AsyncSftpFileSystemFactory)}.
 */
public class MemoryFileSystem implements SftpFileSystem {
    /** The default quota (files' data and entries together): 1 GiB. */
    public static final long DEFAULT_MAX_TOTAL_BYTES = 1L << 30;
    /** The page size: file data is allocated in pieces of this many bytes. */
    public static final int PAGE_SIZE = MemoryNode.PAGE;
    /**
     * What each file and directory costs against the quota besides its data and the UTF-8 bytes
     * of its name: about what the entry and its node hold in memory.
     */
    public static final int ENTRY_COST = 512;

    /** Path to node; guarded by itself. Sorted, so a directory's children are one sub-map. */
    private final TreeMap<String, MemoryNode> nodes = new TreeMap<>();
    private final long maxTotalBytes;
    private final AtomicLong totalBytes = new AtomicLong();
    private final SparePages spare;

    /** An empty file system (just "/") holding at most {@link #DEFAULT_MAX_TOTAL_BYTES}. */
    public MemoryFileSystem() {
        this(DEFAULT_MAX_TOTAL_BYTES);
    }

    /**
     * An empty file system (just "/").
     *
     * @param maxTotalBytes the most bytes it holds: all files' data, and each entry's cost
     */
    public MemoryFileSystem(long maxTotalBytes) {
        if (maxTotalBytes < 0) {
            throw new IllegalArgumentException("maxTotalBytes must not be negative: " + maxTotalBytes);
        }
        this.maxTotalBytes = maxTotalBytes;
        this.spare = new SparePages(maxTotalBytes);
        nodes.put("/", new MemoryNode(true));
    }

    /** Freed whole pages kept for the next writes (at most min(quota, 128 MiB)). */
    SparePages spare() {
        return spare;
    }

    /**
     * The quota.
     *
     * @return the most bytes all files' data and every entry's cost together may take
     */
    public long getMaxTotalBytes() {
        return maxTotalBytes;
    }

    /**
     * What the quota counts now: the sum of the files' sizes, plus {@link #ENTRY_COST} and the
     * UTF-8 length of the name of every file and directory but the root.
     *
     * @return bytes
     */
    public long getTotalBytes() {
        return totalBytes.get();
    }

    /**
     * An asynchronous view of this store whose stages are already complete when returned.
     *
     * @return the view (for {@code srv.setAsyncFileSystem(session -> fs.async())})
     */
    public AsyncSftpFileSystem async() {
        return new MemoryAsyncFileSystem(this, null);
    }

    /**
     * An asynchronous view of this store whose every call runs on executor and completes its
     * stage there (a thread pool, or {@code CompletableFuture.delayedExecutor} to act as a slow
     * back-end).
     *
     * @param executor where the calls run
     * @return the view
     */
    public AsyncSftpFileSystem async(Executor executor) {
        if (executor == null) {
            throw new IllegalArgumentException("executor is null: use async() for stages completed at once");
        }
        return new MemoryAsyncFileSystem(this, executor);
    }

    // ---- convenience for the application -------------------------------------------------------

    /**
     * Creates or replaces a file, creating its parent directories. The content changes in one
     * step: readers see the old or the new bytes, and past the quota the old ones stay.
     *
     * @param path the file
     * @param data its new content (copied)
     * @throws IOException quota exceeded, or a path component is a file, or path is a directory
     */
    public void writeAllBytes(String path, byte[] data) throws IOException {
        String p = Paths.normalize(path);
        MemoryNode n;
        synchronized (nodes) {
            createDirectoriesLocked(parent(p));
            n = nodes.get(p);
            if (n == null) {
                n = createLocked(p, false);
            } else if (n.directory) {
                throw new SftpException(null, "is a directory: " + p);
            }
        }
        n.replace(data, this);
    }

    /**
     * A file's content.
     *
     * @param path the file
     * @return a copy of its bytes
     * @throws IOException no such file, or a directory
     */
    public byte[] readAllBytes(String path) throws IOException {
        String p = Paths.normalize(path);
        MemoryNode n = node(p);
        if (n.directory) {
            throw new SftpException(null, "is a directory: " + p);
        }
        n.lock.readLock().lock(); // length and data from one moment
        try {
            long len = n.length();
            if (len > Integer.MAX_VALUE - 8) {
                throw new SftpException(null, "too large for one array: " + p);
            }
            ByteBuffer b = ByteBuffer.allocate((int) len);
            n.read(0, b);
            return b.array();
        } finally {
            n.lock.readLock().unlock();
        }
    }

    /**
     * Whether a file or directory exists.
     *
     * @param path the path
     * @return true if it does
     */
    public boolean exists(String path) {
        synchronized (nodes) {
            return nodes.containsKey(Paths.normalize(path));
        }
    }

    /**
     * Creates a directory and any missing parents (nothing if it exists).
     *
     * @param path the directory
     * @throws IOException a component is a file, or quota exceeded (the parents made so far stay)
     */
    public void createDirectories(String path) throws IOException {
        synchronized (nodes) {
            createDirectoriesLocked(Paths.normalize(path));
        }
    }

    private void createDirectoriesLocked(String dir) throws SftpException {
        MemoryNode n = nodes.get(dir);
        if (n != null) {
            if (!n.directory) {
                throw new SftpException(null, "not a directory: " + dir);
            }
            return;
        }
        createDirectoriesLocked(parent(dir));
        createLocked(dir, true);
    }

    // ---- SftpFileSystem ------------------------------------------------------------------------

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        String p = Paths.normalize(path);
        boolean write = modes.contains(FileOpenMode.cfmWrite) || modes.contains(FileOpenMode.cfmAppend)
                || modes.contains(FileOpenMode.cfmCreate) || modes.contains(FileOpenMode.cfmTruncate)
                || modes.contains(FileOpenMode.cfmOpenOrCreate);
        boolean create = modes.contains(FileOpenMode.cfmCreate) || modes.contains(FileOpenMode.cfmOpenOrCreate);
        MemoryNode n;
        synchronized (nodes) {
            n = nodes.get(p);
            if (n != null) {
                if (create && modes.contains(FileOpenMode.cfmExcl)) {
                    throw new SftpException(null, "file exists: " + p);
                }
                if (n.directory) {
                    throw new SftpException(null, "is a directory: " + p);
                }
            } else {
                if (!create) {
                    throw SftpException.noSuchFile(p);
                }
                MemoryNode dir = nodes.get(parent(p));
                if (dir == null || !dir.directory) {
                    throw SftpException.noSuchFile(parent(p));
                }
                n = createLocked(p, false);
            }
        }
        if (modes.contains(FileOpenMode.cfmTruncate)) {
            n.setLength(0, this);
        }
        return new MemoryOpenFile(this, n, Paths.name(p), write, modes.contains(FileOpenMode.cfmAppend));
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        String p = Paths.normalize(path);
        return node(p).attributes(Paths.name(p));
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        String p = Paths.normalize(path);
        List<SftpAttributes> out = new ArrayList<>();
        synchronized (nodes) { // a snapshot: the listing does not change under the client while it reads it
            MemoryNode dir = nodes.get(p);
            if (dir == null) {
                throw SftpException.noSuchFile(p);
            }
            if (!dir.directory) {
                throw new SftpException(null, "not a directory: " + p);
            }
            String prefix = p.equals("/") ? "/" : p + "/";
            for (Map.Entry<String, MemoryNode> e : under(p).entrySet()) {
                String name = e.getKey().substring(prefix.length());
                if (!name.isEmpty() && name.indexOf('/') < 0) {
                    out.add(e.getValue().attributes(name));
                }
            }
        }
        return out;
    }

    @Override
    public void setStat(String path, SftpAttributes changes) throws IOException {
        node(Paths.normalize(path)).setStat(changes, this);
    }

    @Override
    public void mkdir(String path) throws IOException {
        String p = Paths.normalize(path);
        synchronized (nodes) {
            if (nodes.containsKey(p)) {
                throw new SftpException(null, "exists: " + p);
            }
            MemoryNode dir = nodes.get(parent(p));
            if (dir == null || !dir.directory) {
                throw SftpException.noSuchFile(parent(p));
            }
            createLocked(p, true);
        }
    }

    @Override
    public void rmdir(String path) throws IOException {
        String p = Paths.normalize(path);
        synchronized (nodes) {
            if (p.equals("/")) {
                throw SftpException.denied("the root cannot be removed");
            }
            MemoryNode n = nodes.get(p);
            if (n == null) {
                throw SftpException.noSuchFile(p);
            }
            if (!n.directory) {
                throw new SftpException(null, "not a directory: " + p);
            }
            if (!under(p).isEmpty()) {
                throw new SftpException(null, "directory not empty: " + p);
            }
            nodes.remove(p);
            release(entryCost(p));
        }
    }

    @Override
    public void remove(String path) throws IOException {
        String p = Paths.normalize(path);
        MemoryNode n;
        synchronized (nodes) {
            n = nodes.get(p);
            if (n == null) {
                throw SftpException.noSuchFile(p);
            }
            if (n.directory) {
                throw new SftpException(null, "is a directory: " + p);
            }
            nodes.remove(p);
            release(entryCost(p));
        }
        n.discard(this); // its data back to the quota
    }

    @Override
    public void rename(String from, String to) throws IOException {
        String f = Paths.normalize(from);
        String t = Paths.normalize(to);
        synchronized (nodes) {
            if (f.equals("/")) {
                throw SftpException.denied("the root cannot be renamed");
            }
            MemoryNode n = nodes.get(f);
            if (n == null) {
                throw SftpException.noSuchFile(f);
            }
            MemoryNode dir = nodes.get(parent(t));
            if (dir == null || !dir.directory) {
                throw SftpException.noSuchFile(parent(t));
            }
            if (nodes.containsKey(t)) {
                throw new SftpException(null, "exists: " + t);
            }
            if (n.directory && t.startsWith(f + "/")) {
                throw new SftpException(null, "a directory cannot move into itself");
            }
            // only the renamed entry's name changes (what is under it keeps its names)
            long grows = entryCost(t) - entryCost(f);
            if (grows > 0) {
                reserve(grows); // past the quota: nothing moved
            } else {
                release(-grows);
            }
            Map<String, MemoryNode> moved = new TreeMap<>(under(f));
            under(f).clear();
            nodes.remove(f);
            nodes.put(t, n);
            for (Map.Entry<String, MemoryNode> e : moved.entrySet()) {
                nodes.put(t + e.getKey().substring(f.length()), e.getValue());
            }
        }
    }

    // ---- internals -----------------------------------------------------------------------------

    /** Everything below dir (not dir itself), as a live view; caller holds the nodes lock. */
    private NavigableMap<String, MemoryNode> under(String dir) {
        if (dir.equals("/")) {
            return nodes.tailMap("/", false);
        }
        return nodes.subMap(dir + "/", true, dir + "0", false); // '0' is the character after '/'
    }

    private MemoryNode node(String p) throws SftpException {
        synchronized (nodes) {
            MemoryNode n = nodes.get(p);
            if (n == null) {
                throw SftpException.noSuchFile(p);
            }
            return n;
        }
    }

    private static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "/" : p.substring(0, i);
    }

    /** A new node at p, its entry cost charged first (caller holds the nodes lock; past the quota nothing is added). */
    private MemoryNode createLocked(String p, boolean directory) throws SftpException {
        reserve(entryCost(p));
        MemoryNode n = new MemoryNode(directory);
        nodes.put(p, n);
        return n;
    }

    /** What the entry at p costs against the quota: ENTRY_COST and its name's UTF-8 bytes. */
    private static long entryCost(String p) {
        return ENTRY_COST + Paths.name(p).getBytes(StandardCharsets.UTF_8).length;
    }

    /** Charges delta more bytes to the quota, or fails changing nothing. */
    void reserve(long delta) throws SftpException {
        if (totalBytes.addAndGet(delta) > maxTotalBytes) {
            totalBytes.addAndGet(-delta);
            throw new SftpException(null, "quota exceeded");
        }
    }

    void release(long delta) {
        totalBytes.addAndGet(-delta);
    }
}

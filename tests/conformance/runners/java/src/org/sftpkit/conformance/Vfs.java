package org.sftpkit.conformance;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.sftpkit.OperationStatus;
import org.sftpkit.PendingRequest;
import org.sftpkit.SFTPKitEvent;
import org.sftpkit.SFTPServer;
import org.sftpkit.SftpException;

/** The "vfs" behaviour: an in-memory file system answering the engine's events (FORMAT.md's table). */
final class Vfs {
    final TreeMap<String, byte[]> files = new TreeMap<>();
    final TreeSet<String> dirs = new TreeSet<>();
    private final Map<String, String> open = new HashMap<>();
    private final Map<String, Find> finds = new HashMap<>();
    private int opens;
    private int findCount;
    private final Case ctx;
    /** FORMAT.md's "latency_ms": every read/write waits this long before it is handled. */
    private final long latencyMs;
    /** FORMAT.md's "deferred": reads/writes are completed latencyMs later by another thread. */
    private final boolean deferred;
    /** FORMAT.md's "async": reads/writes are CompletionStage handlers completed latencyMs later. */
    final boolean async;
    /** The back-end's clock for "async" (shared by every case: daemon threads, cancelled tasks removed). */
    static final ScheduledThreadPoolExecutor LATER = later();
    /** Deferred completions still waiting, and how many of them saw a cancellation (guarded by this). */
    private int outstanding;
    private int cancelledCount;

    private static final class Find {
        final String dir;
        final List<String> names;
        int next;

        Find(String dir, List<String> names) {
            this.dir = dir;
            this.names = names;
        }
    }

    @SuppressWarnings("unchecked")
    Vfs(Map<String, Object> spec, Case ctx) {
        this.ctx = ctx;
        // an unknown member fails the case rather than passing as if it were honoured
        for (String k : spec.keySet()) {
            if (!k.equals("files") && !k.equals("dirs") && !k.equals("latency_ms")
                    && !k.equals("deferred") && !k.equals("async")) {
                throw new CaseError("vfs: \"" + k + "\" is not supported by the Java runner yet");
            }
        }
        latencyMs = spec.containsKey("latency_ms") ? ((Number) spec.get("latency_ms")).longValue() : 0;
        deferred = Boolean.TRUE.equals(spec.get("deferred"));
        async = Boolean.TRUE.equals(spec.get("async"));
        if (async && deferred) {
            throw new CaseError("vfs: \"async\" and \"deferred\" are never combined");
        }
        dirs.add("/");
        for (Map.Entry<String, Object> f : ((Map<String, Object>) spec.getOrDefault("files", Map.of())).entrySet()) {
            files.put(norm(f.getKey()), bytes(Values.eval(f.getValue(), ctx)));
        }
        for (Object d : (List<Object>) spec.getOrDefault("dirs", List.of())) {
            dirs.add(norm((String) d));
        }
    }

    static byte[] bytes(Object v) {
        if (v instanceof byte[]) {
            return (byte[]) v;
        }
        if (v instanceof String) {
            return ((String) v).getBytes(StandardCharsets.UTF_8);
        }
        throw new CaseError("vfs content must be text or bytes, not " + Values.kind(v));
    }

    /** FORMAT.md's normalization: leading '/', no repeated or trailing '/', '.' and '..' lexically. */
    static String norm(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : (path == null ? "" : path).split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.remove(parts.size() - 1);
                }
                continue;
            }
            parts.add(p);
        }
        return "/" + String.join("/", parts);
    }

    static String parent(String p) {
        return p.equals("/") ? "/" : norm(p.substring(0, p.lastIndexOf('/')));
    }

    static String name(String p) {
        return p.equals("/") ? "/" : p.substring(p.lastIndexOf('/') + 1);
    }

    private boolean exists(String p) {
        return files.containsKey(p) || dirs.contains(p);
    }

    private List<String> children(String dir) {
        TreeSet<String> names = new TreeSet<>();
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

    /**
     * The slow back-end's wait happens here, OUTSIDE the vfs lock: reads and writes on the server's
     * worker threads must overlap, as they would against a real remote store.
     */
    void handle(SFTPKitEvent e, Map<String, Object> p) {
        String ev = e.getEventName();
        boolean data = ev.equals("on_read_file") || ev.equals("on_write_file");
        if (data && deferred) {
            defer(ev.equals("on_write_file"), p);
            return;
        }
        if (data && latencyMs > 0) {
            nap(latencyMs);
        }
        handleLocked(e, p);
    }

    /**
     * "deferred": the reply is decided now for a read (its data is taken when the request came) and
     * when the completion runs for a write (it lands in the file then), on a thread of its own that
     * sleeps latencyMs in 10 ms naps so a cancellation (disconnect, stop) ends the wait early.
     */
    private void defer(boolean write, Map<String, Object> p) {
        String handle = EventAccess.getString(p, "handle");
        long off = EventAccess.getLong(p, "offset");
        String path;
        OperationStatus status = OperationStatus.ostOk;
        byte[] reply = null;
        synchronized (this) {
            path = open.get(handle);
            if (path == null) {
                status = OperationStatus.ostNoSuchFile;
            } else if (!write) {
                byte[] f = files.get(path);
                if (f == null || off >= f.length) {
                    status = OperationStatus.ostEOF;
                } else {
                    long end = Math.min((long) f.length, off + EventAccess.getLong(p, "size"));
                    reply = Arrays.copyOfRange(f, (int) off, (int) end);
                }
            }
            outstanding++;
        }
        PendingRequest req;
        try {
            req = PendingRequest.defer(ctx.server(), EventAccess.getLong(p, "connection_id"), handle);
        } catch (RuntimeException ex) {
            finished(false);
            throw ex;
        }
        final OperationStatus first = status;
        final byte[] readData = reply;
        Thread t = new Thread(() -> completeLater(req, write, path, off, first, readData), "vfs-deferred");
        t.setDaemon(true);
        t.start();
    }

    private void completeLater(PendingRequest req, boolean write, String path, long off, OperationStatus status,
            byte[] readData) {
        boolean cancelled = false;
        for (long left = latencyMs; left > 0 && !cancelled; left -= 10) {
            nap(Math.min(left, 10));
            cancelled = req.cancelled() != 0;
        }
        OperationStatus st = cancelled ? OperationStatus.ostAccessDenied : status; // discarded anyway
        if (write && st == OperationStatus.ostOk) {
            synchronized (this) {
                byte[] old = files.get(path);
                if (old == null) {
                    st = OperationStatus.ostNoSuchFile;
                } else {
                    byte[] chunk = req.data();
                    byte[] buf = Arrays.copyOf(old, (int) Math.max(old.length, off + chunk.length)); // zero-fills a gap
                    System.arraycopy(chunk, 0, buf, (int) off, chunk.length);
                    files.put(path, buf);
                }
            }
        }
        try {
            req.complete(st, write ? null : readData);
        } finally {
            finished(cancelled);
        }
    }

    private synchronized void finished(boolean cancelled) {
        outstanding--;
        cancelledCount += cancelled ? 1 : 0;
        notifyAll();
    }

    /**
     * How many deferred (or async) requests saw their cancellation: waits (bounded) until at least want did or
     * none is outstanding, since a completion thread notices a cancellation within its 10 ms nap.
     */
    synchronized int cancelledAtLeast(long want, long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (cancelledCount < want && outstanding > 0) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                break;
            }
            try {
                wait(left);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return cancelledCount;
    }

    private static ScheduledThreadPoolExecutor later() {
        ScheduledThreadPoolExecutor x = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "vfs-async");
            t.setDaemon(true);
            return t;
        });
        x.setRemoveOnCancelPolicy(true);
        return x;
    }

    /**
     * "async": on_read_file / on_write_file in the binding's CompletionStage form. The handler takes
     * a write's data now (getClientBuffer works only while it runs) and returns a future that a
     * scheduled task completes latencyMs later, doing FORMAT.md's handling then (a read reads the
     * file as it is at that moment). A cancellation (the binding cancels the future on disconnect,
     * drop or stop) is counted and cancels the scheduled task.
     */
    CompletionStage<ByteBuffer> handleAsync(SFTPKitEvent e, Map<String, Object> p) {
        boolean write = e.getEventName().equals("on_write_file");
        String handle = EventAccess.getString(p, "handle");
        long off = EventAccess.getLong(p, "offset");
        long size = write ? 0 : EventAccess.getLong(p, "size");
        byte[] chunk = write ? ctx.server().getClientBuffer(EventAccess.getLong(p, "connection_id"), handle) : null;
        CompletableFuture<ByteBuffer> f = new CompletableFuture<>();
        synchronized (this) {
            outstanding++;
        }
        ScheduledFuture<?> task = LATER.schedule(() -> {
            try {
                f.complete(write ? writeNow(handle, off, chunk) : readNow(handle, off, size));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        }, latencyMs, TimeUnit.MILLISECONDS);
        f.whenComplete((v, t) -> {
            boolean cancelled = t instanceof CancellationException;
            if (cancelled) {
                task.cancel(false);
            }
            finished(cancelled);
        });
        return f;
    }

    private synchronized ByteBuffer readNow(String handle, long off, long size) throws SftpException {
        String path = open.get(handle);
        byte[] data = path == null ? null : files.get(path);
        if (data == null) {
            throw new SftpException(OperationStatus.ostNoSuchFile, null);
        }
        if (off >= data.length) {
            return ByteBuffer.allocate(0); // the end of the file
        }
        long end = Math.min((long) data.length, off + size);
        return ByteBuffer.wrap(Arrays.copyOfRange(data, (int) off, (int) end));
    }

    private synchronized ByteBuffer writeNow(String handle, long off, byte[] chunk) throws SftpException {
        String path = open.get(handle);
        if (path == null) {
            throw new SftpException(OperationStatus.ostNoSuchFile, null);
        }
        byte[] old = files.getOrDefault(path, new byte[0]);
        byte[] buf = Arrays.copyOf(old, (int) Math.max(old.length, off + chunk.length)); // zero-fills a gap
        System.arraycopy(chunk, 0, buf, (int) off, chunk.length);
        files.put(path, buf);
        return null;
    }

    static void nap(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void handleLocked(SFTPKitEvent e, Map<String, Object> p) {
        String ev = e.getEventName();
        if (ev.startsWith("on_before_")) {
            EventAccess.set(e, "action", 2L);
            return;
        }
        SFTPServer srv = ctx.server();
        switch (ev) {
            case "on_open_file":
                status(e, openFile(e, norm(EventAccess.getString(p, "path")), EventAccess.getLong(p, "modes")));
                break;
            case "on_read_file": {
                String path = open.get(EventAccess.getString(p, "handle"));
                byte[] data = path == null ? null : files.get(path);
                long off = EventAccess.getLong(p, "offset");
                if (data == null) {
                    status(e, 2);
                } else if (off >= data.length) {
                    status(e, 7);
                } else {
                    long end = Math.min((long) data.length, off + EventAccess.getLong(p, "size"));
                    srv.setClientBuffer(EventAccess.getLong(p, "connection_id"), EventAccess.getString(p, "handle"),
                            Arrays.copyOfRange(data, (int) off, (int) end));
                    status(e, 1);
                }
                break;
            }
            case "on_write_file": {
                String path = open.get(EventAccess.getString(p, "handle"));
                if (path == null) {
                    status(e, 2);
                    break;
                }
                byte[] chunk = srv.getClientBuffer(EventAccess.getLong(p, "connection_id"),
                        EventAccess.getString(p, "handle"));
                byte[] old = files.getOrDefault(path, new byte[0]);
                int off = (int) EventAccess.getLong(p, "offset");
                byte[] buf = Arrays.copyOf(old, Math.max(old.length, off + chunk.length)); // zero-fills a gap
                System.arraycopy(chunk, 0, buf, off, chunk.length);
                files.put(path, buf);
                status(e, 1);
                break;
            }
            case "on_close_file":
                status(e, open.remove(EventAccess.getString(p, "handle")) != null ? 1 : 2);
                break;
            case "on_create_directory": {
                String path = norm(EventAccess.getString(p, "path"));
                if (exists(path)) {
                    status(e, 3);
                } else if (!dirs.contains(parent(path))) {
                    status(e, 2);
                } else {
                    dirs.add(path);
                    status(e, 1);
                }
                break;
            }
            case "on_remove": {
                String path = norm(EventAccess.getString(p, "path"));
                if (path.equals("/")) {
                    status(e, 3);
                } else if (files.remove(path) != null) {
                    status(e, 1);
                } else if (dirs.contains(path)) {
                    if (!children(path).isEmpty()) {
                        status(e, 3);
                    } else {
                        dirs.remove(path);
                        status(e, 1);
                    }
                } else {
                    status(e, 2);
                }
                break;
            }
            case "on_rename_file":
                status(e, rename(norm(EventAccess.getString(p, "old_path")), norm(EventAccess.getString(p, "new_path"))));
                break;
            case "on_request_attributes": {
                String path = lookup(EventAccess.getString(p, "path"), EventAccess.getString(p, "handle"));
                if (path == null || !exists(path)) {
                    status(e, 2);
                } else {
                    ctx.commitEntry(EventAccess.getLong(p, "connection_id"), EventAccess.getString(p, "handle"),
                            fields(path));
                    status(e, 1);
                }
                break;
            }
            case "on_set_attributes": {
                String path = lookup(EventAccess.getString(p, "path"), EventAccess.getString(p, "handle"));
                status(e, path != null && exists(path) ? 1 : 2);
                break;
            }
            case "on_find_first": {
                String dir = norm(EventAccess.getString(p, "path"));
                if (!dirs.contains(dir)) {
                    status(e, 2);
                    break;
                }
                String h = "find" + (++findCount);
                EventAccess.set(e, "handle", h);
                finds.put(h, new Find(dir, children(dir)));
                status(e, serve(EventAccess.getLong(p, "connection_id"), h));
                break;
            }
            case "on_find_next": {
                String h = EventAccess.getString(p, "handle");
                status(e, finds.containsKey(h) ? serve(EventAccess.getLong(p, "connection_id"), h) : 2);
                break;
            }
            case "on_find_close":
                status(e, finds.remove(EventAccess.getString(p, "handle")) != null ? 1 : 2);
                break;
            default:
                break;
        }
    }

    private static void status(SFTPKitEvent e, long s) {
        EventAccess.set(e, "operation_status", s);
    }

    private long openFile(SFTPKitEvent e, String path, long modes) {
        boolean write = (modes & (2 | 8 | 128 | 4 | 16)) != 0;
        if (write) {
            if (!dirs.contains(parent(path))) {
                return 2;
            }
            if (dirs.contains(path)) {
                return 3;
            }
            if ((modes & 32) != 0 && files.containsKey(path)) {
                return 3;
            }
            if (!files.containsKey(path) || (modes & 16) != 0) {
                files.put(path, new byte[0]);
            }
        } else {
            if (dirs.contains(path)) {
                return 3;
            }
            if (!files.containsKey(path)) {
                return 2;
            }
        }
        String h = "vfs" + (++opens);
        open.put(h, path);
        EventAccess.set(e, "handle", h);
        return 1;
    }

    private long rename(String from, String to) {
        if (!exists(from) || !dirs.contains(parent(to))) {
            return 2;
        }
        if (exists(to)) {
            return 3;
        }
        byte[] data = files.remove(from);
        if (data != null) {
            files.put(to, data);
            return 1;
        }
        String prefix = from + "/";
        for (String f : new ArrayList<>(files.keySet())) {
            if (f.startsWith(prefix)) {
                files.put(to + f.substring(from.length()), files.remove(f));
            }
        }
        for (String d : new ArrayList<>(dirs)) {
            if (d.equals(from) || d.startsWith(prefix)) {
                dirs.remove(d);
                dirs.add(to + d.substring(from.length()));
            }
        }
        return 1;
    }

    private String lookup(String path, String handle) {
        if (path != null && !path.isEmpty()) {
            return norm(path);
        }
        return handle == null ? null : open.get(handle);
    }

    private Map<String, Object> fields(String path) {
        boolean dir = dirs.contains(path);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("name", name(path));
        f.put("path", path);
        f.put("size", dir ? 0L : (long) files.get(path).length);
        f.put("directory", dir);
        f.put("file_type", dir ? 1L : 0L);
        return f;
    }

    private long serve(long cid, String h) {
        Find f = finds.get(h);
        if (f.next >= f.names.size()) {
            return 7;
        }
        String n = f.names.get(f.next++);
        ctx.commitEntry(cid, h, fields(f.dir.equals("/") ? "/" + n : f.dir + "/" + n));
        return 1;
    }

    /** The final state compared by expect.vfs. */
    synchronized Map<String, byte[]> snapshotFiles() {
        return new TreeMap<>(files);
    }

    synchronized TreeSet<String> snapshotDirs() {
        return new TreeSet<>(dirs);
    }
}

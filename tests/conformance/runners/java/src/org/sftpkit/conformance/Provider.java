package org.sftpkit.conformance;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.sftpkit.AsyncSftpFile;
import org.sftpkit.AsyncSftpFileSystem;
import org.sftpkit.AsyncSftpFileSystemFactory;
import org.sftpkit.FileOpenMode;
import org.sftpkit.MemoryFileSystem;
import org.sftpkit.OperationStatus;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpException;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;
import org.sftpkit.SftpFileSystemFactory;

/**
 * The "provider" behaviour (FORMAT.md): an in-memory tree served through the Java binding's
 * provider layer (SFTPServer.setFileSystem with an SftpFileSystem per session), never through
 * hand-written events. The tree is the binding's MemoryFileSystem (shared, or one per session);
 * this records every factory call and applies the case's error rules and FORMAT.md's statuses.
 */
final class Provider {
    /** The tree's state at one moment (expect.provider compares it): files and dirs. */
    static final class Tree {
        final TreeMap<String, byte[]> files = new TreeMap<>();
        final TreeSet<String> dirs = new TreeSet<>(Set.of("/"));

        /** Everything under "/" of fs, walked through its own listing. */
        static Tree of(MemoryFileSystem fs) {
            Tree t = new Tree();
            try {
                t.walk(fs, "/");
            } catch (IOException e) {
                throw new CaseError("provider: the tree changed while it was read: " + e.getMessage());
            }
            return t;
        }

        private void walk(MemoryFileSystem fs, String dir) throws IOException {
            for (SftpAttributes a : fs.list(dir)) {
                String p = dir.equals("/") ? "/" + a.getName() : dir + "/" + a.getName();
                if (a.isDirectory()) {
                    dirs.add(p);
                    walk(fs, p);
                } else {
                    files.put(p, fs.readAllBytes(p));
                }
            }
        }
    }

    private final Case ctx;
    /** The case's initial tree, for the shared store and for each per-session copy. */
    private final Map<String, byte[]> seedFiles = new TreeMap<>();
    private final List<String> seedDirs = new ArrayList<>();
    /** The binding's MemoryFileSystem is the store; this runner adds the case's rules and statuses. */
    private final MemoryFileSystem shared;
    private final boolean perSession;
    /** FORMAT.md provider "async": the CompletionStage provider form, each method latencyMs later. */
    final boolean async;
    private final long latencyMs;
    private final List<Map<String, Object>> errors = new ArrayList<>();
    private final List<Map<String, Object>> sessions = new ArrayList<>(); // guarded by itself

    @SuppressWarnings("unchecked")
    Provider(Map<String, Object> spec, Case ctx) {
        this.ctx = ctx;
        for (String m : spec.keySet()) {
            if (!Set.of("files", "dirs", "per_session", "errors", "async", "latency_ms").contains(m)) {
                throw new CaseError("unknown provider member \"" + m + "\"");
            }
        }
        for (Map.Entry<String, Object> f : ((Map<String, Object>) spec.getOrDefault("files", Map.of())).entrySet()) {
            seedFiles.put(Vfs.norm(f.getKey()), Vfs.bytes(Values.eval(f.getValue(), ctx)));
        }
        for (Object d : (List<Object>) spec.getOrDefault("dirs", List.of())) {
            seedDirs.add(Vfs.norm((String) d));
        }
        shared = seeded();
        perSession = Boolean.TRUE.equals(spec.get("per_session"));
        async = Boolean.TRUE.equals(spec.get("async"));
        latencyMs = spec.containsKey("latency_ms") ? ((Number) spec.get("latency_ms")).longValue() : 0;
        if (latencyMs > 0 && !async) {
            throw new CaseError("provider: \"latency_ms\" is for \"async\": true");
        }
        for (Object e : (List<Object>) spec.getOrDefault("errors", List.of())) {
            errors.add(Case.map(e, "provider error rule"));
        }
    }

    /** The asynchronous form: the same tree and rules, each method run latencyMs later by a scheduler. */
    AsyncSftpFileSystemFactory asyncFactory() {
        SftpFileSystemFactory sync = factory();
        return session -> new AsyncFs(sync.create(session));
    }

    /** A call of the synchronous tree, run when the back-end's latency has passed. */
    interface Later<T> {
        T run() throws Exception;
    }

    <T> CompletionStage<T> later(Later<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        ScheduledFuture<?> task = Vfs.LATER.schedule(() -> {
            try {
                f.complete(call.run()); // the rules apply here, after the wait (FORMAT.md)
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        }, latencyMs, TimeUnit.MILLISECONDS);
        f.whenComplete((v, t) -> {
            if (t instanceof CancellationException) {
                task.cancel(false);
            }
        });
        return f;
    }

    private final class AsyncFs implements AsyncSftpFileSystem {
        private final SftpFileSystem fs;

        AsyncFs(SftpFileSystem fs) {
            this.fs = fs;
        }

        @Override
        public CompletionStage<AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
            return later(() -> {
                SftpFile f = fs.open(path, modes);
                return new AsyncSftpFile() {
                    @Override
                    public CompletionStage<ByteBuffer> read(long offset, int length) {
                        return later(() -> {
                            ByteBuffer b = ByteBuffer.allocate(length);
                            int n = f.read(offset, b);
                            b.flip();
                            return n < 0 ? ByteBuffer.allocate(0) : b;
                        });
                    }

                    @Override
                    public CompletionStage<Void> write(long offset, ByteBuffer data) {
                        return later(() -> {
                            f.write(offset, data);
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
    }

    SftpFileSystemFactory factory() {
        return session -> {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("user", session.getUsername());
            rec.put("connection_id", session.getConnectionId());
            rec.put("remote_address", session.getRemoteAddress());
            rec.put("remote_port", (long) session.getRemotePort());
            synchronized (sessions) {
                sessions.add(rec);
            }
            return new Fs(perSession ? seeded() : shared);
        };
    }

    private MemoryFileSystem seeded() {
        MemoryFileSystem fs = new MemoryFileSystem();
        try {
            for (String d : seedDirs) {
                fs.createDirectories(d);
            }
            for (Map.Entry<String, byte[]> f : seedFiles.entrySet()) {
                fs.writeAllBytes(f.getKey(), f.getValue());
            }
        } catch (IOException e) {
            throw new CaseError("provider: the initial tree does not fit: " + e.getMessage());
        }
        return fs;
    }

    List<Map<String, Object>> sessions() {
        synchronized (sessions) {
            return new ArrayList<>(sessions);
        }
    }

    Tree tree() {
        return Tree.of(shared);
    }

    /** The first error rule for op and path: thrown as the case says. */
    private void rule(String op, String path) throws IOException {
        for (Map<String, Object> r : errors) {
            if (!op.equals(r.get("op")) || (r.containsKey("path") && !Values.matches(r.get("path"), path, ctx))) {
                continue;
            }
            Object st = r.get("status");
            if ("crash".equals(st)) {
                throw new IllegalStateException("provider crashed (internal-detail: " + op + " " + path + ")");
            }
            long v = (Long) st;
            String msg = (String) r.getOrDefault("message", "");
            throw new SftpException(v == 0 ? null : OperationStatus.of(v), msg);
        }
    }

    private static SftpException fail(OperationStatus s) {
        return new SftpException(s, "");
    }

    /** FORMAT.md's statuses: the store's plain failures (exists, not empty, a directory) are 3, with no message. */
    interface StoreCall<T> {
        T run() throws IOException;
    }

    private static <T> T store(StoreCall<T> c) throws IOException {
        try {
            return c.run();
        } catch (SftpException e) {
            throw fail(e.getStatus() == null ? OperationStatus.ostAccessDenied : e.getStatus());
        }
    }

    /** One session's view: the case's error rules first, then the store, with FORMAT.md's statuses. */
    private final class Fs implements SftpFileSystem {
        private final MemoryFileSystem t;

        Fs(MemoryFileSystem t) {
            this.t = t;
        }

        @Override
        public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
            rule("open", path);
            boolean write = modes.contains(FileOpenMode.cfmWrite) || modes.contains(FileOpenMode.cfmCreate)
                    || modes.contains(FileOpenMode.cfmOpenOrCreate) || modes.contains(FileOpenMode.cfmAppend)
                    || modes.contains(FileOpenMode.cfmTruncate);
            EnumSet<FileOpenMode> m = EnumSet.noneOf(FileOpenMode.class);
            m.addAll(modes);
            if (write) {
                m.add(FileOpenMode.cfmCreate); // FORMAT.md: every write open creates a missing file
            }
            SftpFile f = store(() -> t.open(path, m));
            return new SftpFile() {
                @Override
                public int read(long offset, ByteBuffer dst) throws IOException {
                    rule("read", path);
                    return store(() -> f.read(offset, dst));
                }

                @Override
                public void write(long offset, ByteBuffer src) throws IOException {
                    rule("write", path);
                    store(() -> {
                        f.write(offset, src);
                        return null;
                    });
                }

                @Override
                public void close() throws IOException {
                    rule("close", path);
                }
            };
        }

        @Override
        public SftpAttributes stat(String path) throws IOException {
            rule("stat", path);
            return store(() -> t.stat(path));
        }

        @Override
        public Iterable<SftpAttributes> list(String path) throws IOException {
            rule("list", path);
            if (!store(() -> t.stat(path)).isDirectory()) {
                throw fail(OperationStatus.ostNoSuchFile);
            }
            return store(() -> t.list(path));
        }

        @Override
        public void setStat(String path, SftpAttributes changes) throws IOException {
            rule("setstat", path);
            store(() -> t.stat(path)); // FORMAT.md: attributes are not kept
        }

        @Override
        public void mkdir(String path) throws IOException {
            rule("mkdir", path);
            store(() -> {
                t.mkdir(path);
                return null;
            });
        }

        /** REMOVE and RMDIR alike (FORMAT.md): a file or an empty directory goes. */
        private void delete(String op, String path) throws IOException {
            rule(op, path);
            store(() -> {
                if (t.stat(path).isDirectory()) {
                    t.rmdir(path);
                } else {
                    t.remove(path);
                }
                return null;
            });
        }

        @Override
        public void rmdir(String path) throws IOException {
            delete("rmdir", path);
        }

        @Override
        public void remove(String path) throws IOException {
            delete("remove", path);
        }

        @Override
        public void rename(String from, String to) throws IOException {
            rule("rename", from);
            if (from.equals("/")) {
                throw fail(OperationStatus.ostNoSuchFile); // as before the store: "/" is no file to move
            }
            store(() -> {
                t.rename(from, to);
                return null;
            });
        }
    }
}

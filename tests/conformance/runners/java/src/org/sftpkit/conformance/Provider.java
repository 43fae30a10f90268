package org.sftpkit.conformance;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
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
import org.sftpkit.OperationStatus;
import org.sftpkit.SftpAttributes;
import org.sftpkit.SftpException;
import org.sftpkit.SftpFile;
import org.sftpkit.SftpFileSystem;
import org.sftpkit.SftpFileSystemFactory;
import org.sftpkit.SftpSession;

/**
 * The "provider" behaviour (FORMAT.md): an in-memory tree served through the Java binding's
 * provider layer (SFTPServer.setFileSystem with an SftpFileSystem per session), never through
 * hand-written events. Records every factory call; applies the case's error rules.
 */
final class Provider {
    /** One tree: files and dirs, guarded by itself. */
    static final class Tree {
        final TreeMap<String, byte[]> files = new TreeMap<>();
        final TreeSet<String> dirs = new TreeSet<>(Set.of("/"));

        synchronized Tree copy() {
            Tree t = new Tree();
            t.files.putAll(files);
            t.dirs.addAll(dirs);
            return t;
        }
    }

    private final Case ctx;
    private final Tree shared = new Tree();
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
            shared.files.put(Vfs.norm(f.getKey()), Vfs.bytes(Values.eval(f.getValue(), ctx)));
        }
        for (Object d : (List<Object>) spec.getOrDefault("dirs", List.of())) {
            shared.dirs.add(Vfs.norm((String) d));
        }
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
            return new Fs(perSession ? shared.copy() : shared, session);
        };
    }

    List<Map<String, Object>> sessions() {
        synchronized (sessions) {
            return new ArrayList<>(sessions);
        }
    }

    Tree tree() {
        return shared;
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

    private final class Fs implements SftpFileSystem {
        private final Tree t;

        Fs(Tree t, SftpSession session) {
            this.t = t;
        }

        private byte[] data(String path) throws SftpException {
            byte[] d = t.files.get(path);
            if (d == null) {
                throw fail(OperationStatus.ostNoSuchFile);
            }
            return d;
        }

        @Override
        public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
            rule("open", path);
            boolean write = modes.contains(FileOpenMode.cfmWrite) || modes.contains(FileOpenMode.cfmCreate)
                    || modes.contains(FileOpenMode.cfmOpenOrCreate) || modes.contains(FileOpenMode.cfmAppend)
                    || modes.contains(FileOpenMode.cfmTruncate);
            boolean append = modes.contains(FileOpenMode.cfmAppend);
            synchronized (t) {
                if (t.dirs.contains(path)) {
                    throw fail(OperationStatus.ostAccessDenied);
                }
                if (write) {
                    if (!t.dirs.contains(Vfs.parent(path))) {
                        throw fail(OperationStatus.ostNoSuchFile);
                    }
                    if (modes.contains(FileOpenMode.cfmExcl) && t.files.containsKey(path)) {
                        throw fail(OperationStatus.ostAccessDenied);
                    }
                    t.files.putIfAbsent(path, new byte[0]);
                    if (modes.contains(FileOpenMode.cfmTruncate)) {
                        t.files.put(path, new byte[0]);
                    }
                } else {
                    data(path);
                }
            }
            return new SftpFile() {
                @Override
                public int read(long offset, ByteBuffer dst) throws IOException {
                    rule("read", path);
                    synchronized (t) {
                        byte[] d = data(path);
                        if (offset >= d.length) {
                            return -1;
                        }
                        int n = (int) Math.min(dst.remaining(), d.length - offset);
                        dst.put(d, (int) offset, n);
                        return n;
                    }
                }

                @Override
                public void write(long offset, ByteBuffer src) throws IOException {
                    rule("write", path);
                    synchronized (t) {
                        byte[] d = data(path);
                        int at = append ? d.length : (int) offset;
                        byte[] next = Arrays.copyOf(d, Math.max(d.length, at + src.remaining()));
                        src.get(next, at, src.remaining());
                        t.files.put(path, next);
                    }
                }

                @Override
                public void close() throws IOException {
                    rule("close", path);
                }
            };
        }

        private SftpAttributes attrs(String path) throws SftpException {
            if (t.dirs.contains(path)) {
                return SftpAttributes.directory(Vfs.name(path)).permissions(0755);
            }
            return SftpAttributes.file(Vfs.name(path), data(path).length).permissions(0644);
        }

        @Override
        public SftpAttributes stat(String path) throws IOException {
            rule("stat", path);
            synchronized (t) {
                return attrs(path);
            }
        }

        @Override
        public Iterable<SftpAttributes> list(String path) throws IOException {
            rule("list", path);
            synchronized (t) {
                if (!t.dirs.contains(path)) {
                    throw fail(OperationStatus.ostNoSuchFile);
                }
                TreeMap<String, SftpAttributes> out = new TreeMap<>();
                for (String d : t.dirs) {
                    if (!d.equals("/") && Vfs.parent(d).equals(path)) {
                        out.put(Vfs.name(d), attrs(d));
                    }
                }
                for (String f : t.files.keySet()) {
                    if (Vfs.parent(f).equals(path)) {
                        out.put(Vfs.name(f), attrs(f));
                    }
                }
                return new ArrayList<>(out.values());
            }
        }

        @Override
        public void setStat(String path, SftpAttributes changes) throws IOException {
            rule("setstat", path);
            synchronized (t) {
                attrs(path);
            }
        }

        @Override
        public void mkdir(String path) throws IOException {
            rule("mkdir", path);
            synchronized (t) {
                if (t.dirs.contains(path) || t.files.containsKey(path)) {
                    throw fail(OperationStatus.ostAccessDenied);
                }
                if (!t.dirs.contains(Vfs.parent(path))) {
                    throw fail(OperationStatus.ostNoSuchFile);
                }
                t.dirs.add(path);
            }
        }

        private void delete(String op, String path) throws IOException {
            rule(op, path);
            synchronized (t) {
                if (path.equals("/")) {
                    throw fail(OperationStatus.ostAccessDenied);
                }
                if (t.files.remove(path) != null) {
                    return;
                }
                if (!t.dirs.contains(path)) {
                    throw fail(OperationStatus.ostNoSuchFile);
                }
                String prefix = path + "/";
                if (t.files.keySet().stream().anyMatch(f -> f.startsWith(prefix))
                        || t.dirs.stream().anyMatch(d -> d.startsWith(prefix))) {
                    throw fail(OperationStatus.ostAccessDenied);
                }
                t.dirs.remove(path);
            }
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
            synchronized (t) {
                boolean dir = t.dirs.contains(from) && !from.equals("/");
                if (!dir && !t.files.containsKey(from)) {
                    throw fail(OperationStatus.ostNoSuchFile);
                }
                if (!t.dirs.contains(Vfs.parent(to))) {
                    throw fail(OperationStatus.ostNoSuchFile);
                }
                if (t.files.containsKey(to) || t.dirs.contains(to)) {
                    throw fail(OperationStatus.ostAccessDenied);
                }
                if (!dir) {
                    t.files.put(to, t.files.remove(from));
                    return;
                }
                String prefix = from + "/";
                for (String f : new ArrayList<>(t.files.keySet())) {
                    if (f.startsWith(prefix)) {
                        t.files.put(to + f.substring(from.length()), t.files.remove(f));
                    }
                }
                for (String d : new ArrayList<>(t.dirs)) {
                    if (d.equals(from) || d.startsWith(prefix)) {
                        t.dirs.remove(d);
                        t.dirs.add(to + d.substring(from.length()));
                    }
                }
            }
        }
    }
}

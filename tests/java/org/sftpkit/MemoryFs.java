package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A small in-memory SftpFileSystem for the provider tests: one per session (so what one client
 * writes another never sees), every operation under one lock. "/denied" refuses to open with a
 * message; "/boom" throws an unexpected RuntimeException.
 */
final class MemoryFs implements SftpFileSystem {
    final SftpSession session;
    private final Map<String, byte[]> files = new TreeMap<>();
    private final Set<String> dirs = new java.util.TreeSet<>(List.of("/"));
    volatile boolean closed;

    MemoryFs(SftpSession session) {
        this.session = session;
    }

    private static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "/" : p.substring(0, i);
    }

    @Override
    public synchronized SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        if (path.equals("/denied")) {
            throw new SftpException(OperationStatus.ostAccessDenied, "denied by the test provider");
        }
        if (path.equals("/boom")) {
            throw new IllegalStateException("a bug in the provider: internal-detail");
        }
        if (dirs.contains(path)) {
            throw new SftpException(null, path + " is a directory");
        }
        if (modes.contains(FileOpenMode.cfmCreate)) {
            if (!dirs.contains(parent(path))) {
                throw SftpException.noSuchFile(parent(path));
            }
            if (modes.contains(FileOpenMode.cfmExcl) && files.containsKey(path)) {
                throw new FileAlreadyExistsException(path);
            }
            if (modes.contains(FileOpenMode.cfmTruncate) || !files.containsKey(path)) {
                files.put(path, new byte[0]);
            }
        } else if (!files.containsKey(path)) {
            throw SftpException.noSuchFile(path);
        }
        return new SftpFile() {
            @Override
            public int read(long offset, ByteBuffer dst) throws IOException {
                synchronized (MemoryFs.this) {
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
                synchronized (MemoryFs.this) {
                    byte[] d = data(path);
                    int end = (int) offset + src.remaining();
                    if (end > d.length) {
                        d = Arrays.copyOf(d, end);
                    }
                    src.get(d, (int) offset, src.remaining());
                    files.put(path, d);
                }
            }
        };
    }

    private byte[] data(String path) throws SftpException {
        byte[] d = files.get(path);
        if (d == null) {
            throw SftpException.noSuchFile(path);
        }
        return d;
    }

    @Override
    public synchronized SftpAttributes stat(String path) throws IOException {
        if (dirs.contains(path)) {
            return SftpAttributes.directory(Paths.name(path)).modified(Instant.ofEpochSecond(1_700_000_000L));
        }
        return SftpAttributes.file(Paths.name(path), data(path).length).permissions(0640)
                .modified(Instant.ofEpochSecond(1_700_000_000L));
    }

    @Override
    public synchronized Iterable<SftpAttributes> list(String path) throws IOException {
        if (!dirs.contains(path)) {
            throw SftpException.noSuchFile(path);
        }
        List<SftpAttributes> out = new ArrayList<>();
        for (String d : dirs) {
            if (!d.equals("/") && parent(d).equals(path)) {
                out.add(stat(d));
            }
        }
        for (String f : files.keySet()) {
            if (parent(f).equals(path)) {
                out.add(stat(f));
            }
        }
        return out;
    }

    @Override
    public synchronized void setStat(String path, SftpAttributes changes) throws IOException {
        byte[] d = data(path);
        if (changes.getSize() >= 0) {
            files.put(path, Arrays.copyOf(d, (int) changes.getSize()));
        }
    }

    @Override
    public synchronized void mkdir(String path) throws IOException {
        if (dirs.contains(path) || files.containsKey(path)) {
            throw new FileAlreadyExistsException(path);
        }
        dirs.add(path);
    }

    @Override
    public synchronized void rmdir(String path) throws IOException {
        if (path.equals("/") || !dirs.contains(path)) {
            throw SftpException.noSuchFile(path);
        }
        for (String p : files.keySet()) {
            if (parent(p).equals(path)) {
                throw new SftpException(null, "not empty");
            }
        }
        dirs.remove(path);
    }

    @Override
    public synchronized void remove(String path) throws IOException {
        if (files.remove(path) == null) {
            throw SftpException.noSuchFile(path);
        }
    }

    @Override
    public synchronized void rename(String from, String to) throws IOException {
        if (files.containsKey(to) || dirs.contains(to)) {
            throw new FileAlreadyExistsException(to);
        }
        byte[] d = files.remove(from);
        if (d == null) {
            throw SftpException.noSuchFile(from);
        }
        files.put(to, d);
    }

    @Override
    public void close() {
        closed = true;
    }
}

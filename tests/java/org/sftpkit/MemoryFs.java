package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The provider tests' file system: the shipped MemoryFileSystem, one per session (so what one
 * client writes another never sees), with what the tests check on top: "/denied" refuses to open
 * with a message, "/boom" throws an unexpected RuntimeException, stat reports files as 0640 and
 * every entry at a fixed time (so a client can tell the provider answered), close is recorded.
 */
final class MemoryFs extends MemoryFileSystem {
    static final Instant TIME = Instant.ofEpochSecond(1_700_000_000L);
    final SftpSession session;
    volatile boolean closed;

    MemoryFs(SftpSession session) {
        this.session = session;
    }

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        if (path.equals("/denied")) {
            throw new SftpException(OperationStatus.ostAccessDenied, "denied by the test provider");
        }
        if (path.equals("/boom")) {
            throw new IllegalStateException("a bug in the provider: internal-detail");
        }
        SftpFile f = super.open(path, modes);
        return new SftpFile() { // FSTAT marked as STAT is
            @Override
            public int read(long offset, ByteBuffer dst) throws IOException {
                return f.read(offset, dst);
            }

            @Override
            public void write(long offset, ByteBuffer src) throws IOException {
                f.write(offset, src);
            }

            @Override
            public SftpAttributes stat() throws IOException {
                return marked(f.stat());
            }

            @Override
            public void setStat(SftpAttributes changes) throws IOException {
                f.setStat(changes);
            }
        };
    }

    private static SftpAttributes marked(SftpAttributes a) {
        return a.isDirectory() ? a.modified(TIME) : a.permissions(0640).modified(TIME);
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        return marked(super.stat(path));
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        List<SftpAttributes> out = new ArrayList<>();
        for (SftpAttributes a : super.list(path)) {
            out.add(marked(a));
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
    }
}

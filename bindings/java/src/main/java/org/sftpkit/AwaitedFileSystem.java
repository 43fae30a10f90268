package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * An {@link AsyncSftpFileSystem} seen as an {@link SftpFileSystem}, so the provider bridge keeps one
 * path for both forms: each method waits for its stage on the server thread (the library cannot
 * answer those requests later). READ and WRITE do not come through here: the asynchronous bridge
 * defers them with the {@link AsyncSftpFile} itself ({@link AwaitedFile#async()}).
 */
final class AwaitedFileSystem implements SftpFileSystem {
    private final AsyncSftpFileSystem fs;

    AwaitedFileSystem(AsyncSftpFileSystem fs) {
        this.fs = fs;
    }

    static <T> CompletionStage<T> nonNull(CompletionStage<T> stage, String method) throws SftpException {
        if (stage == null) {
            throw new SftpException(null, "the asynchronous provider's " + method + " returned no CompletionStage");
        }
        return stage;
    }

    /** The stage's value once it completed; its failure rethrown as the provider's exception. */
    static <T> T await(CompletionStage<T> stage, String method) throws IOException {
        try {
            AsyncCalls.await(nonNull(stage, method));
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new SftpException(null, method + " failed", t);
        }
        return stage.toCompletableFuture().join(); // done: no wait
    }

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        AsyncSftpFile f = await(fs.open(path, modes), "open");
        if (f == null) {
            throw new SftpException(null, "open returned no file");
        }
        return new AwaitedFile(f);
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        return await(fs.stat(path), "stat");
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        return await(fs.list(path), "list");
    }

    @Override
    public void setStat(String path, SftpAttributes changes) throws IOException {
        await(fs.setStat(path, changes), "setStat");
    }

    @Override
    public void mkdir(String path) throws IOException {
        await(fs.mkdir(path), "mkdir");
    }

    @Override
    public void rmdir(String path) throws IOException {
        await(fs.rmdir(path), "rmdir");
    }

    @Override
    public void remove(String path) throws IOException {
        await(fs.remove(path), "remove");
    }

    @Override
    public void rename(String from, String to) throws IOException {
        await(fs.rename(from, to), "rename");
    }

    @Override
    public void link(String linkPath, String target, boolean hard) throws IOException {
        await(fs.link(linkPath, target, hard), "link");
    }

    @Override
    public String realpath(String path) throws IOException {
        return await(fs.realpath(path), "realpath");
    }

    @Override
    public void close() throws IOException {
        CompletionStage<Void> c = fs.close(); // not awaited: the session is over
        if (c == null) {
            return;
        }
        c.whenComplete((v, t) -> {
            if (t != null) {
                Logging.defaultLogger().log(System.Logger.Level.WARNING, "closing an asynchronous file system failed", t);
            }
        });
    }

    /** An open AsyncSftpFile; stat/setStat/close awaited, read/write through {@link #async()}. */
    static final class AwaitedFile implements SftpFile {
        private final AsyncSftpFile f;

        AwaitedFile(AsyncSftpFile f) {
            this.f = f;
        }

        AsyncSftpFile async() {
            return f;
        }

        @Override
        public int read(long offset, ByteBuffer dst) throws IOException {
            ByteBuffer b = await(f.read(offset, dst.remaining()), "read");
            if (b == null || !b.hasRemaining()) {
                return -1;
            }
            int n = Math.min(b.remaining(), dst.remaining());
            ByteBuffer part = b.duplicate();
            part.limit(part.position() + n);
            dst.put(part);
            return n;
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            await(f.write(offset, src), "write");
        }

        @Override
        public SftpAttributes stat() throws IOException {
            return await(f.stat(), "fstat");
        }

        @Override
        public void setStat(SftpAttributes changes) throws IOException {
            await(f.setStat(changes), "fsetstat");
        }

        @Override
        public void close() throws IOException {
            await(f.close(), "close");
        }
    }
}

package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * {@link MemoryFileSystem#async()}: the same store through CompletionStage methods. Without an
 * executor each stage is complete when returned; with one, each call runs there and completes its
 * stage on that thread.
 */
final class MemoryAsyncFileSystem implements AsyncSftpFileSystem {
    private final MemoryFileSystem fs;
    private final Executor executor;

    MemoryAsyncFileSystem(MemoryFileSystem fs, Executor executor) {
        this.fs = fs;
        this.executor = executor;
    }

    /** A call of the synchronous store; its exception fails the stage. */
    interface Call<T> {
        T run() throws Exception;
    }

    <T> CompletionStage<T> call(Call<T> c) {
        if (executor == null) {
            try {
                return CompletableFuture.completedFuture(c.run());
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                if (f.isDone()) { // cancelled while it waited (the client went away)
                    return;
                }
                try {
                    f.complete(c.run());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        } catch (RuntimeException rejected) {
            f.completeExceptionally(rejected);
        }
        return f;
    }

    @Override
    public CompletionStage<AsyncSftpFile> open(String path, Set<FileOpenMode> modes) {
        return call(() -> new File(fs.open(path, modes))); // a subclass's open may wrap the file
    }

    @Override
    public CompletionStage<SftpAttributes> stat(String path) {
        return call(() -> fs.stat(path));
    }

    @Override
    public CompletionStage<Iterable<SftpAttributes>> list(String path) {
        return call(() -> fs.list(path));
    }

    @Override
    public CompletionStage<Void> setStat(String path, SftpAttributes changes) {
        return call(() -> {
            fs.setStat(path, changes);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> mkdir(String path) {
        return call(() -> {
            fs.mkdir(path);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> rmdir(String path) {
        return call(() -> {
            fs.rmdir(path);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> remove(String path) {
        return call(() -> {
            fs.remove(path);
            return null;
        });
    }

    @Override
    public CompletionStage<Void> rename(String from, String to) {
        return call(() -> {
            fs.rename(from, to);
            return null;
        });
    }

    @Override
    public CompletionStage<String> realpath(String path) {
        return call(() -> fs.realpath(path));
    }

    /** An open file: read copies the pages into a buffer of its own (the store keeps changing). */
    private final class File implements AsyncSftpFile {
        private final SftpFile f;

        File(SftpFile f) {
            this.f = f;
        }

        @Override
        public CompletionStage<ByteBuffer> read(long offset, int length) {
            return call(() -> {
                int room = length;
                if (f instanceof MemoryOpenFile) { // no bigger than what is there
                    room = (int) Math.min(length, Math.max(0, ((MemoryOpenFile) f).node.length() - offset));
                }
                ByteBuffer b = ByteBuffer.allocate(room);
                while (b.hasRemaining() && f.read(offset + b.position(), b) > 0) {
                    // a short read asks again for the rest
                }
                return b.flip();
            });
        }

        @Override
        public CompletionStage<Void> write(long offset, ByteBuffer data) {
            return call(() -> {
                f.write(offset, data);
                return null;
            });
        }

        @Override
        public CompletionStage<SftpAttributes> stat() {
            return call(f::stat);
        }

        @Override
        public CompletionStage<Void> setStat(SftpAttributes changes) {
            return call(() -> {
                f.setStat(changes);
                return null;
            });
        }

        @Override
        public CompletionStage<Void> close() {
            return call(() -> {
                f.close();
                return null;
            });
        }
    }
}

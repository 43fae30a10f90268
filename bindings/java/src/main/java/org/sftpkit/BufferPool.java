package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Direct buffers the provider layer lends to SftpFile.read/write, so a READ or WRITE event
 * allocates nothing in the steady state. Bounded: at most KEEP buffers stay pooled (16 MiB), the
 * rest are left to the GC; one per thread would pin a buffer per session thread (thousands of
 * sessions). ArrayBlockingQueue, not a linked queue: offer() must not allocate a node.
 */
final class BufferPool {
    /** The largest READ the engine serves (261120) fits; a WRITE larger than this gets its own. */
    static final int SIZE = 256 * 1024;
    private static final int KEEP = 64;
    private static final ArrayBlockingQueue<ByteBuffer> FREE = new ArrayBlockingQueue<>(KEEP);

    private BufferPool() {
    }

    static ByteBuffer take(int atLeast) {
        if (atLeast > SIZE) {
            return ByteBuffer.allocateDirect(atLeast);
        }
        ByteBuffer b = FREE.poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(SIZE);
        }
        b.clear();
        return b;
    }

    static void give(ByteBuffer b) {
        if (b.capacity() == SIZE) {
            FREE.offer(b); // full: dropped
        }
    }
}

package org.sftpkit;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.function.IntFunction;

/**
 * Direct buffers the provider layer lends to SftpFile.read/write, so a READ or WRITE event
 * allocates nothing in the steady state. Bounded: at most KEEP buffers stay pooled (16 MiB), the
 * rest are left to the GC; one per thread would pin a buffer per session thread (thousands of
 * sessions). ArrayBlockingQueue, not a linked queue: offer() must not allocate a node.
 *
 * <p>Two sizes: SIZE holds every READ the engine serves and the WRITEs of clients that follow
 * limits@openssh.com; LARGE holds any WRITE the engine accepts (clients that ignore the limit
 * send up to 1 MiB packets), with a pool of its own of KEEP_LARGE (4 MiB), so such a client
 * does not cost a fresh 1 MiB of direct memory per request (freed only when the GC gets to it).
 *
 * <p>Every buffer taken must be given back at most once: a buffer given twice sits in the pool
 * twice and two requests (of any sessions) would share it.
 */
final class BufferPool {
    /** The largest READ the engine serves (261120) fits; a WRITE larger than this gets a LARGE one. */
    static final int SIZE = 256 * 1024;
    /** The engine's largest SFTP packet (core/src/sftp/protocol.h SFK_SFTP_MAX_PACKET_ACCEPTED) bounds a WRITE's data. */
    static final int LARGE = 1024 * 1024;
    private static final int KEEP = 64;
    private static final int KEEP_LARGE = 4;
    private static final ArrayBlockingQueue<ByteBuffer> FREE = new ArrayBlockingQueue<>(KEEP);
    private static final ArrayBlockingQueue<ByteBuffer> FREE_LARGE = new ArrayBlockingQueue<>(KEEP_LARGE);
    /** Makes a new direct buffer of that capacity; the tests swap it to make allocation fail. */
    static volatile IntFunction<ByteBuffer> allocator = ByteBuffer::allocateDirect;

    private BufferPool() {
    }

    /** A cleared buffer of at least atLeast bytes (the pooled sizes up to LARGE, then its own). */
    static ByteBuffer take(int atLeast) {
        if (atLeast > LARGE) {
            return allocator.apply(atLeast); // nothing the engine delivers: an application's own oversized buffer
        }
        ArrayBlockingQueue<ByteBuffer> free = atLeast > SIZE ? FREE_LARGE : FREE;
        ByteBuffer b = free.poll();
        if (b == null) {
            b = allocator.apply(atLeast > SIZE ? LARGE : SIZE);
        }
        b.clear();
        return b;
    }

    /** Back to its pool (once per take); other sizes, and any past the pool's bound, are dropped. */
    static void give(ByteBuffer b) {
        if (b.capacity() == SIZE) {
            FREE.offer(b); // full: dropped
        } else if (b.capacity() == LARGE) {
            FREE_LARGE.offer(b);
        }
    }
}

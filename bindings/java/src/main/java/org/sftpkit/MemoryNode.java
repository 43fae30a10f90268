package org.sftpkit;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One file or directory of a {@link MemoryFileSystem}. A file's data is a list of 64 KiB pages
 * allocated as they are first written, so a growing file never copies what it already holds (the
 * old byte[]-per-file stores copied and regrew the whole array: 25 s of server CPU per GiB
 * uploaded). A missing page, and every byte of a page at or past the file's length, reads as
 * zero: sparse writes leave holes that cost nothing.
 *
 * <p>Page 0 alone starts at the size the first write needs and doubles up to 64 KiB: the quota
 * charges a file's length, and a 1-byte file holding a whole page would let a client keep 64 times
 * its quota in memory with many small files. Its growth copies at most 32 KiB, once per file.
 *
 * <p>Locking: data, length and the attributes under {@link #lock} (reads share it); the namespace
 * (which path names this node) is the file system's business, never this lock's.
 */
final class MemoryNode {
    static final int PAGE_SHIFT = 16;
    static final int PAGE = 1 << PAGE_SHIFT;
    private static final int MASK = PAGE - 1;
    private static final int SMALLEST = 64;
    /** The page index is an int. */
    static final long MAX_LENGTH = (long) Integer.MAX_VALUE << PAGE_SHIFT;
    /** A source of zeros for holes (never written). */
    private static final byte[] ZEROS = new byte[PAGE];

    final boolean directory;
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final ArrayList<byte[]> pages = new ArrayList<>(); // null entries are holes
    private long length;
    private boolean removed;
    private int permissions;
    private Instant modified;
    /** Written by readers under the shared lock: the last reader's time wins, which is all atime means. */
    private volatile Instant accessed;

    MemoryNode(boolean directory) {
        this.directory = directory;
        permissions = directory ? 0755 : 0644;
        modified = Instant.now();
        accessed = modified;
    }

    /** Copies from offset into dst (up to its remaining room); -1 at or past the end. */
    int read(long offset, ByteBuffer dst) {
        lock.readLock().lock();
        try {
            if (offset >= length) {
                return dst.hasRemaining() ? -1 : 0;
            }
            int n = (int) Math.min(dst.remaining(), length - offset);
            long pos = offset;
            for (int left = n; left > 0;) {
                int idx = (int) (pos >>> PAGE_SHIFT);
                int in = (int) (pos & MASK);
                int chunk = Math.min(PAGE - in, left);
                byte[] page = idx < pages.size() ? pages.get(idx) : null;
                int real = page == null ? 0 : Math.max(0, Math.min(chunk, page.length - in));
                if (real > 0) {
                    dst.put(page, in, real); // straight from the page into the caller's buffer
                }
                if (chunk > real) {
                    dst.put(ZEROS, 0, chunk - real);
                }
                pos += chunk;
                left -= chunk;
            }
            accessed = Instant.now();
            return n;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Writes src's remaining bytes at offset (at the end when append), moving src's position. The
     * growth is charged to fs's quota first: a write past it changes nothing.
     */
    void write(long offset, ByteBuffer src, boolean append, MemoryFileSystem fs) throws SftpException {
        lock.writeLock().lock();
        try {
            if (removed) {
                throw new SftpException(OperationStatus.ostNoSuchFile, "the file was removed");
            }
            long at = append ? length : offset;
            long end = checkedEnd(at, src.remaining());
            if (end > length) {
                fs.reserve(end - length);
            }
            put(at, src, fs.spare());
            length = Math.max(length, end);
            modified = Instant.now();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Replaces the whole content with data, in one step: a quota failure keeps the old content. */
    void replace(byte[] data, MemoryFileSystem fs) throws SftpException {
        lock.writeLock().lock();
        try {
            if (removed) {
                throw new SftpException(OperationStatus.ostNoSuchFile, "the file was removed");
            }
            if (data.length > length) {
                fs.reserve(data.length - length);
            } else {
                fs.release(length - data.length);
            }
            fs.spare().give(pages);
            pages.clear();
            put(0, ByteBuffer.wrap(data), fs.spare());
            length = data.length;
            modified = Instant.now();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The end of n bytes at offset, refused when negative or past what the page list can index. */
    private static long checkedEnd(long offset, long n) throws SftpException {
        long end = offset + n;
        if (offset < 0 || end < offset) {
            throw new SftpException(OperationStatus.ostInvalidParameter, "offset out of range: " + offset);
        }
        if (end > MAX_LENGTH) {
            throw new SftpException(null, "a file in memory holds at most " + MAX_LENGTH + " bytes");
        }
        return end;
    }

    /** Copies src into the pages at at (caller holds the write lock, length and quota are its business). */
    private void put(long at, ByteBuffer src, SparePages spare) {
        while (src.hasRemaining()) {
            int idx = (int) (at >>> PAGE_SHIFT);
            int in = (int) (at & MASK);
            int chunk = Math.min(PAGE - in, src.remaining());
            src.get(page(idx, in + chunk, spare), in, chunk);
            at += chunk;
        }
    }

    /** Page idx with room for need bytes (caller holds the write lock). */
    private byte[] page(int idx, int need, SparePages spare) {
        while (pages.size() <= idx) {
            pages.add(null);
        }
        byte[] p = pages.get(idx);
        if (p != null && p.length >= need) {
            return p;
        }
        if (idx != 0) {
            byte[] whole = spare.take();
            pages.set(idx, whole);
            return whole;
        }
        // the first page (see the class comment) starts small and doubles up to a whole page
        int size = Math.max(SMALLEST, Integer.highestOneBit(Math.max(1, need - 1)) << 1);
        if (p != null) {
            size = Math.max(size, p.length * 2);
        }
        size = Math.min(PAGE, size);
        byte[] grown = size == PAGE ? spare.take() : new byte[size];
        if (p != null) {
            System.arraycopy(p, 0, grown, 0, p.length);
        }
        pages.set(idx, grown);
        return grown;
    }

    /**
     * Truncates or extends (with a hole) to newLength, charging or refunding the quota. A removed
     * node refuses, as write does: discard has already given its bytes back, so a charge now
     * would never be refunded (an FSETSTAT size on a handle of a removed file could pin the
     * whole shared quota).
     */
    void setLength(long newLength, MemoryFileSystem fs) throws SftpException {
        checkedEnd(newLength, 0);
        lock.writeLock().lock();
        try {
            if (removed) {
                throw new SftpException(OperationStatus.ostNoSuchFile, "the file was removed");
            }
            if (newLength > length) {
                fs.reserve(newLength - length);
            } else if (newLength < length) {
                int keep = (int) ((newLength + MASK) >>> PAGE_SHIFT);
                if (keep < pages.size()) {
                    fs.spare().give(pages.subList(keep, pages.size()));
                    pages.subList(keep, pages.size()).clear();
                }
                int tail = (int) (newLength & MASK);
                byte[] last = keep > 0 && tail != 0 && keep - 1 < pages.size() ? pages.get(keep - 1) : null;
                if (last != null && tail < last.length) {
                    java.util.Arrays.fill(last, tail, last.length, (byte) 0); // past the end reads as zero
                }
                fs.release(length - newLength);
            }
            length = newLength;
            modified = Instant.now();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The node left the tree: its bytes go back to the quota, and open handles can no longer write. */
    void discard(MemoryFileSystem fs) {
        lock.writeLock().lock();
        try {
            if (!removed) {
                removed = true;
                fs.release(length);
                fs.spare().give(pages);
                pages.clear();
                length = 0;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    long length() {
        lock.readLock().lock();
        try {
            return length;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Applies a SETSTAT: size, times, permissions (the fields that are set). */
    void setStat(SftpAttributes changes, MemoryFileSystem fs) throws SftpException {
        if (changes.getSize() >= 0) {
            if (directory) {
                throw new SftpException(null, "a directory has no size to set");
            }
            setLength(changes.getSize(), fs);
        }
        lock.writeLock().lock();
        try {
            if (changes.getModified() != null) {
                modified = changes.getModified();
            }
            if (changes.getAccessed() != null) {
                accessed = changes.getAccessed();
            }
            if (changes.getPermissions() != null) {
                permissions = changes.getPermissions();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    SftpAttributes attributes(String name) {
        lock.readLock().lock();
        try {
            SftpAttributes a = directory ? SftpAttributes.directory(name) : SftpAttributes.file(name, length);
            return a.permissions(permissions).modified(modified).accessed(accessed);
        } finally {
            lock.readLock().unlock();
        }
    }
}

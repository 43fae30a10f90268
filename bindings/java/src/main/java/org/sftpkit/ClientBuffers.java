package org.sftpkit;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;

/**
 * get/set_client_buffer on caller-owned memory (issue 14 item 4): direct ByteBuffers by address,
 * heap buffers and byte[] regions through the array (JNI critical access / region copy), so the
 * only copy is the one into or out of the SFTP packet. Used by SFTPServer's public overloads and
 * by the provider layer.
 */
final class ClientBuffers {
    /** The NUL-terminated empty handle: "the request in progress" without encoding anything. */
    static final byte[] CURRENT = {0};

    private ClientBuffers() {
    }

    static byte[] handleZ(String handle) {
        return handle == null || handle.isEmpty() ? CURRENT : Utf8.z(handle);
    }

    /** Supplies src's remaining bytes as the READ's data; src's position moves past them. */
    static void set(NativeHandle nh, long conn, byte[] handleZ, ByteBuffer src) {
        int n = src.remaining();
        int rc;
        long p = nh.acquire();
        try {
            if (src.isDirect()) {
                rc = SFTPKitNative.sfk_java_set_client_buffer_direct(p, conn, handleZ, src, src.position(), n);
            } else if (src.hasArray()) {
                rc = SFTPKitNative.sfk_java_set_client_buffer_array(p, conn, handleZ, src.array(),
                        src.arrayOffset() + src.position(), n);
            } else { // a read-only heap buffer: no array to pin, one copy through a pooled buffer
                ByteBuffer tmp = BufferPool.take(n);
                try {
                    tmp.put(src.duplicate()).flip();
                    rc = SFTPKitNative.sfk_java_set_client_buffer_direct(p, conn, handleZ, tmp, 0, n);
                } finally {
                    BufferPool.give(tmp);
                }
            }
        } finally {
            nh.release();
        }
        check(rc);
        src.position(src.position() + n);
    }

    static void set(NativeHandle nh, long conn, byte[] handleZ, byte[] data, int offset, int length) {
        int rc;
        long p = nh.acquire();
        try {
            rc = SFTPKitNative.sfk_java_set_client_buffer_array(p, conn, handleZ, data, offset, length);
        } finally {
            nh.release();
        }
        check(rc);
    }

    /** Copies the WRITE's data into dst at its position (moved past it); returns the byte count. */
    static int get(NativeHandle nh, long conn, byte[] handleZ, ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int room = dst.remaining();
        long n;
        long p = nh.acquire();
        try {
            if (dst.isDirect()) {
                n = SFTPKitNative.sfk_java_get_client_buffer_direct(p, conn, handleZ, dst, dst.position(), room);
            } else {
                n = SFTPKitNative.sfk_java_get_client_buffer_array(p, conn, handleZ, dst.array(),
                        dst.arrayOffset() + dst.position(), room);
            }
        } finally {
            nh.release();
        }
        int got = fitted(n, room);
        dst.position(dst.position() + got);
        return got;
    }

    static int get(NativeHandle nh, long conn, byte[] handleZ, byte[] data, int offset, int length) {
        long n;
        long p = nh.acquire();
        try {
            n = SFTPKitNative.sfk_java_get_client_buffer_array(p, conn, handleZ, data, offset, length);
        } finally {
            nh.release();
        }
        return fitted(n, length);
    }

    private static int fitted(long n, int room) {
        if (n < 0) {
            throw SFTPKitException.fromLastError((int) -n);
        }
        if (n > room) {
            throw new SFTPKitException(ErrorCode.INVALID_PARAMETER, "get_client_buffer: the write carries " + n
                    + " bytes, the buffer has room for " + room + " (nothing was copied)");
        }
        return (int) n;
    }

    private static void check(int rc) {
        if (rc != 0) {
            throw SFTPKitException.fromLastError(rc);
        }
    }
}

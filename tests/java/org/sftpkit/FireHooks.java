package org.sftpkit;

/**
 * Test-only native hooks (tests/java/native/fire_hooks.c): fire events on a server the way the
 * transport and engine do, from this thread or from new native threads. The library's path comes
 * from -Dsftpkit.test.hooks (set by tests/java/run-tests).
 */
final class FireHooks {
    static {
        String path = System.getProperty("sftpkit.test.hooks");
        if (path == null) {
            throw new IllegalStateException("-Dsftpkit.test.hooks=<libsftpkit_java_testhooks.so> is not set");
        }
        SFTPKitInfo.libraryVersion(); // the binding's natives first
        System.load(path);
    }

    private FireHooks() {
    }

    /** Fires event id: parameter i takes ints[i] or strs[i] (UTF-8); both are updated afterwards. */
    static native int fire(long server, int id, long[] ints, byte[][] strs);

    /** on_auth_password through the typed helper; out = {accept, force_change_password}. */
    static native int authPassword(long server, long conn, byte[] user, byte[] password, int acceptIn, int[] out);

    /** threads new native threads each fire perThread events (kind 0 on_connect, 1 on_auth_password). */
    static native int burst(long server, int kind, int threads, int perThread, int[] out);

    /** The native pointer of s for the duration of the call (the test keeps s open). */
    static long ptr(SFTPServer s) {
        long p = s.nativeHandle().acquire();
        s.nativeHandle().release();
        return p;
    }

    static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return b == null ? null : new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Live native dispatcher registrations (global references held by native code). */
    static int liveRegistrations() {
        return SFTPKitNative.sfk_java_live_registrations();
    }
}

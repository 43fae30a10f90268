package org.sftpkit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Strings at the native boundary are exact UTF-8, never JNI's Modified UTF-8 (which would send
 * non-BMP characters such as emoji in passwords or paths as CESU-8 surrogate pairs).
 */
final class Utf8 {
    private Utf8() {
    }

    /** s as NUL-terminated UTF-8 for a const char* parameter; null stays null (the C NULL). */
    static byte[] z(String s) {
        if (s == null) {
            return null;
        }
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("sftpkit: strings cannot contain NUL characters");
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    /** A library string (UTF-8, no terminator); null (no value) reads as "". */
    static String decode(byte[] b) {
        return b == null ? "" : new String(b, StandardCharsets.UTF_8);
    }
}
